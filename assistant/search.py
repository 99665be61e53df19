"""Search: one question through the retrieval parts (assistant/retrieve/) to ranked hits and a decision.

    question -> parse (language, nynorsk -> bokmål, answer type) -> the documents in scope
      -> candidates: lexical.py (BM25, Norwegian stems, compounds) ∪ dense.py (a VectorStore)
      -> fusion.py: features -> fitted ranker -> the answer sentence (fitted sentence model)
      -> abstain.py: fitted probability that the documents answer -> passages.py: hits in context

The fitted models come from the calibration of the embedding model in use (calibration.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from . import lexical_store
from .bridge import MIN_LETTERS, VectorCache, english_dictionary, nearest_words, translate
from .index import IndexData
from .profile import DocProfile, english_heads, named_documents, profile_document
from .query import Query, parse_query
from .retrieve.abstain import abstain_features, answerability
from .retrieve.analyzer import Analyzer
from .retrieve.calibration import Calibration, load_calibration
from .retrieve.catalogue import Catalogue
from .retrieve.dense import DenseRetriever
from .retrieve.features import names_and_numbers, query_terms
from .retrieve.fusion import choose_sentence, rank
from .retrieve.passages import grow, quote
from .types import Clause, Hit

__all__ = ["Analyzer", "SearchParams", "SearchResult", "Searcher"]


@dataclass
class SearchResult:
    hits: list[Hit]
    answerable: float  # 0..1; below the configured threshold the documents do not answer
    query_terms: tuple[str, ...]
    matched_share: float  # IDF-weighted share of the question's words found in the top clause
    language: str = "nb"
    lead: list[str] = field(default_factory=list)  # the answer sentence(s), quoted
    query: object = None  # the parsed Query
    lead_clause: Clause | None = None  # the clause the lead is quoted from
    named: tuple[str, ...] = ()  # the documents the question names, which the search kept to
    qvec: np.ndarray | None = None  # the question's vector, for further searches of the same question
    uncalibrated: str = ""  # the embedding model, when it has no calibration of its own (the fallback ranked)
    also: list[str] = field(default_factory=list)  # a second quote, when the lead alone is less likely than not to answer
    also_clause: Clause | None = None  # the clause it is quoted from
    firm: float = 0.0  # below this answerability a refusal is firm (the calibration's, by variant)


@dataclass(frozen=True)
class SearchParams:
    candidates: int = 100  # per retriever, before ranking
    context_chars: int = 600  # a result passage is the clause plus neighbours up to this length
    models_file: str | None = None  # a calibration file (default: the model's own, calibration.py; "off": none)
    english_dictionary: bool = True  # English words also through Debian's English-Norwegian FreeDict (bridge.py)
    # The lead is the fewest of the sentence model's best sentences (at most two) that together hold
    # the answer with probability >= lead_coverage, by the model's own (listwise, fitted) probabilities;
    # a second one only while both fit in lead_chars, what a person reads first.
    lead_coverage: float = 0.5
    lead_chars: int = 400


class Searcher:
    """Search one loaded index. Build once per index (cheap next to embedding), reuse per query."""

    def __init__(self, data: IndexData, embedder, params: SearchParams | None = None,
                 calibration: Calibration | None = None):
        self.data = data
        self.embedder = embedder
        self.params = params or SearchParams()
        if calibration is None and self.params.models_file != "off":  # "off": rank by cosine (fitting uses it)
            calibration = load_calibration(data.model, self.params.models_file)
        self.calibration = calibration
        self.analyzer = Analyzer()
        self.catalogue = cat = Catalogue(data.clauses)
        self.doc_ids = cat.doc_ids
        titles = {d: doc.title for d, doc in data.documents.items()}
        self.titles = titles
        self.texts = lexical_store.IndexedTexts(data.clauses, titles)  # computed when read (~2.5 s at 100k)
        self.dense = DenseRetriever(data.store, cat)
        # read from the index folder when saved there for these texts and this analyzer, else built
        lexical = lexical_store.load_or_build(data, self.analyzer, {
            "clauses": self.texts,
            "documents": [titles.get(d, "") + "\n" + data.documents[d].text for d in cat.doc_ids],
        }, profiles=self._make_profiles)
        self.lexical, self.doc_lexical = lexical["clauses"], lexical["documents"]
        saved = lexical.get("profiles")
        if saved is not None and list(saved) == self.doc_ids:
            self.__dict__["profiles"] = saved  # read with the keyword state: the cached_property is set
        n = len(data.clauses)
        spans = data.sentences
        self._sent_lo = np.searchsorted(spans[:, 0], np.arange(n), side="left") if n else np.zeros(0, np.int64)
        self._sent_hi = np.searchsorted(spans[:, 0], np.arange(n), side="right") if n else np.zeros(0, np.int64)
        self._cache: dict[tuple[str, int], frozenset[str]] = {}
        self._word_vectors: np.ndarray | None = None  # float32 copy, made on the first English question
        self._english_vectors = VectorCache()  # English words and pairs embedded before (bridge.py)

    # -- which agreement: each document's kind, date and names (profile.py) ---------------
    def _make_profiles(self) -> list[DocProfile]:
        return [profile_document(self.data.documents[d], self.analyzer) for d in self.doc_ids]

    @cached_property
    def profiles(self) -> dict[str, DocProfile]:
        """Read with the saved keyword state (lexical_store.py), else made on first use (~0.1 ms a
        document), not at start; computing it twice in two threads is harmless."""
        return {p.doc_id: p for p in self._make_profiles()}

    @cached_property
    def doc_about(self) -> np.ndarray:  # per document position: 1.0 for a page about something (a ranker feature)
        return np.array([self.profiles[d].about for d in self.doc_ids], dtype=np.float64)

    # -- cached term sets ----------------------------------------------------------------
    def _terms(self, kind: str, key: int, text) -> frozenset[str]:
        got = self._cache.get((kind, key))
        if got is None:
            got = frozenset(self.analyzer.terms(text()))
            if len(self._cache) < 400_000:
                self._cache[(kind, key)] = got
        return got

    def clause_terms(self, row: int) -> frozenset[str]:
        """Terms of the clause as indexed: title, headings, lead-in and text."""
        return self._terms("c", row, lambda: self.texts[row])

    def text_terms(self, row: int) -> frozenset[str]:
        return self._terms("t", row, lambda: self.data.clauses[row].text)

    def context_terms(self, row: int) -> frozenset[str]:
        c = self.data.clauses[row]
        return self._terms("x", row, lambda: " ".join([self.titles.get(c.doc_id, ""), *c.headings, c.leadin]))

    def doc_terms(self, pos: int) -> frozenset[str]:
        d = self.catalogue.doc_ids[pos]
        return self._terms("d", pos, lambda: self.titles.get(d, "") + "\n" + self.data.documents[d].text)

    def sentence_terms(self, i: int) -> frozenset[str]:
        return self._terms("s", i, lambda: self.sentence_text(i))

    # -- sentences -----------------------------------------------------------------------
    def sentence_range(self, row: int) -> tuple[int, int]:
        return int(self._sent_lo[row]), int(self._sent_hi[row])

    def sentence_text(self, i: int) -> str:
        r, a, b = (int(v) for v in self.data.sentences[i])
        return self.data.documents[self.data.clauses[r].doc_id].text[a:b]

    def best_sentence_cos(self, rows: np.ndarray, cos: np.ndarray, qvec: np.ndarray) -> np.ndarray:
        """Each clause's best sentence cosine (`cos`, the clause's own, when it has no sentence vectors)."""
        lo, hi = self._sent_lo[rows], self._sent_hi[rows]
        out = np.array(cos, dtype=np.float64)
        has = hi > lo
        if has.any():
            idx = np.concatenate([np.arange(a, b) for a, b in zip(lo[has], hi[has])])
            cos = self.data.sentence_vectors[idx] @ qvec
            starts = np.concatenate([[0], np.cumsum((hi - lo)[has])[:-1]])
            out[has] = np.maximum.reduceat(cos, starts)
        return out

    def english_words(self, text: str) -> list:
        """Names and numbers as written; other content words as their dictionary translations that
        the corpus uses, with their nearest corpus word, or that word alone (bridge.py)."""
        names = names_and_numbers(self.analyzer, text)
        content = [w for w in dict.fromkeys(self.analyzer.words(text))
                   if w not in names and len(w) >= MIN_LETTERS and not any(ch.isdigit() for ch in w)]
        if self._word_vectors is None:
            self._word_vectors = np.asarray(self.data.word_vectors, dtype=np.float32)
        nearest = nearest_words(self.embedder, content, self.data.words, self._word_vectors, self.analyzer.tokens(text),
                                self._english_vectors)
        vocab = self.lexical.vocab
        return names + translate(content, nearest, english_dictionary(self.params.english_dictionary),
                                 lambda word: self.analyzer.stem(word) in vocab)

    def embed_query(self, question: str) -> np.ndarray:
        return np.asarray(self.embedder.embed_queries([question])[0], dtype=np.float32)

    # -- search --------------------------------------------------------------------------
    def scope(self, query: Query, docs=None) -> tuple[frozenset[str], frozenset[str]]:
        """(the documents searched, the documents the question names): the chosen `docs` (all when
        None), narrowed to the ones the question names when it names some of them."""
        allowed = frozenset(self.doc_ids) if docs is None else frozenset(docs) & frozenset(self.doc_ids)
        profiles = {d: self.profiles[d] for d in allowed}
        heads = ()
        if query.language == "en":  # «the quality agreement»: the dictionary's «kvalitet» names «kvalitetsavtalen»
            dictionary = english_dictionary(self.params.english_dictionary)
            heads = [t for h in english_heads(query.text) for t in (dictionary.single_words([h]) if dictionary else ())]
        named = named_documents(query.text, profiles, self.analyzer, heads)
        if not named and query.search_text != query.text:  # nynorsk: «Leve heile livet» is «Leve hele livet»
            named = named_documents(query.search_text, profiles, self.analyzer)
        return (named or allowed), named

    def search(self, question, top_k: int = 5, qvec: np.ndarray | None = None, restrict_doc: str | None = None,
               context: bool = True, exclude=frozenset(), calibration=None, docs=None,
               scope: tuple[frozenset[str], frozenset[str]] | None = None) -> SearchResult:
        """Rank clauses for `question` (text or a parsed Query); `restrict_doc` keeps one
        document (a follow-up's context); `docs` keeps the chosen documents, and of those the ones
        the question names («kvalitetsavtalen»); `scope` is that choice made already (`scope()`'s
        (searched, named)); `exclude` drops clause rows (used when fitting)."""
        query = question if isinstance(question, Query) else parse_query(question)
        models = calibration if calibration is not None else self.calibration
        if not len(self.data.clauses):
            return SearchResult([], 0.0, (), 0.0, query.language, query=query)
        if qvec is None:  # a nynorsk question by its bokmål translation, as the keyword side reads it (docs/quality.md)
            qvec = self.embed_query(query.search_text)
        qt = query_terms(self, query)
        within, named = None, frozenset()
        if restrict_doc is None:
            searched, named = scope if scope is not None else self.scope(query, docs)
            if len(searched) < len(self.doc_ids):
                within = np.array(sorted(self.catalogue.doc_pos[d] for d in searched), dtype=np.int64)
        ranked = rank(self, query, qvec, qt, models, restrict_doc, exclude, within)
        chosen = choose_sentence(self, query, qvec, qt, ranked, models)
        answerable = answerability(models, query, abstain_features(self, query, qt, ranked, chosen))
        hits = self._hits(ranked, qt, qvec, top_k, context, answerable)
        lead, lead_clause = self._lead(chosen)
        also, also_clause = self._also(chosen, lead)
        share = float(ranked.X[0, 5]) if len(ranked.rows) else 0.0
        return SearchResult(hits, answerable, tuple(qt.flat), share, query.language, lead, query, lead_clause,
                            tuple(sorted(named)), qvec, models.uncalibrated if models is not None else "",
                            also, also_clause, models.firm_level(query.language) if models is not None else 0.0)

    def _hits(self, ranked, qt, qvec, top_k: int, context: bool, answerable: float) -> list[Hit]:
        """The top clauses in context. A hit's score is the probability that it holds the answer: the
        ranker's share of it among the candidates times the probability that the documents answer."""
        probs = ranked.probs
        hits: list[Hit] = []
        covered: set[int] = set()
        for i, row in enumerate(ranked.rows.tolist()):
            if row in covered:
                continue
            a, b = self._passage(row, qvec) if context else (row, row)
            covered.update(self._span_rows(a, b))
            have = self.clause_terms(row)
            hits.append(Hit(
                clause=self.data.clauses[row],
                score=float(probs[i] * answerable),
                dense=float(ranked.cos[i]),
                lexical=float(ranked.lex[row] / ranked.lmax) if ranked.lmax > 0 else 0.0,
                matched_terms=tuple(t for t in qt.flat if t in have),
                passage_start=self.data.clauses[a].start,
                passage_end=self.data.clauses[b].end,
            ))
            if len(hits) >= top_k:
                break
        return hits

    def _span_rows(self, a: int, b: int) -> list[int]:
        rows, r = [a], a
        while r != b and r >= 0:
            r = int(self.catalogue.next[r])
            rows.append(r)
        return rows

    def _passage(self, row: int, qvec: np.ndarray) -> tuple[int, int]:
        return grow(row, self.catalogue, lambda rows: self.dense.similarity(qvec, rows), self.params.context_chars)

    def _also(self, chosen, lead: list[str]) -> tuple[list[str], Clause | None]:
        """The runner-up sentence as a second quote, when the lead alone is less likely than not to hold
        the answer; nothing when it repeats the lead or the two would not fit in `lead_chars`."""
        second = chosen.runner_up if chosen is not None else None
        if second is None or chosen.prob >= self.params.lead_coverage:
            return [], None
        also, clause = self._lead(second)
        first = " ".join(lead)
        if not also or all(s in first for s in also) or len(first) + len(" ".join(also)) > self.params.lead_chars:
            return [], None
        return [s for s in also if s not in lead], clause

    def _lead(self, chosen) -> tuple[list[str], Clause | None]:
        """The answer sentence and its clause; a list item comes with its lead-in, a lead-in with its items."""
        if chosen is None:
            return [], None
        row = int(self.data.sentences[chosen.sentence][0])
        return quote(row, self.sentence_text(chosen.sentence), self.catalogue)

