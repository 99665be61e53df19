"""Hybrid search: BM25 with Norwegian stemming and dense search, ranked by fitted models.

Lexical side: bm25s over the clauses' indexed text (title, heading path, lead-in, clause),
tokens lower-cased, stop words removed (bokmål, nynorsk and English question words) and
stemmed with the Snowball Norwegian stemmer. A query word that the corpus never uses is
expanded to corpus words that contain it as a compound part ("heltid" ->
"heltidsstillinger"), since Norwegian writes compounds as one word.

Dense side: FAISS inner product over L2-normalised clause vectors (exact while small,
HNSW past `HNSW_THRESHOLD` clauses).

Ranking: the candidates (dense top k and BM25 top k) are ranked by a linear model over
retrieval features, the answer sentence is chosen by a second one and the decision to
answer is made by a third, all fitted on NorQuAD train (rank.py, features.py, models.py).
"""

from __future__ import annotations

import bisect
import re
import threading
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import numpy as np

from . import lexical_store
from .bridge import MIN_LETTERS, nearest_words
from .dense import HNSW_THRESHOLD
from .dense import Dense as _Dense
from .features import names_and_numbers, query_terms
from .index import IndexData
from .models import load_models
from .profile import DocProfile, named_documents, profile_document
from .query import Query, parse_query
from .rank import abstain_features, answerability, choose_sentence, rank
from .types import Clause, Hit

__all__ = ["Analyzer", "SearchParams", "SearchResult", "Searcher", "HNSW_THRESHOLD"]


_EXTRA_STOP = {
    # nynorsk and common question words not in the bokmål list
    "kva", "kven", "kvar", "korleis", "kvifor", "kor", "seier", "ikkje", "eg", "dei", "ho", "vere",
    "hvilke", "hvilken", "hvilket", "hvordan", "hvorfor", "hvor", "når", "sier", "står", "nevnes",
    "finnes", "noe", "noen", "mye", "mange", "lenge", "blir", "ble", "bli",
}
_EN_STOP = {
    "what", "when", "who", "whom", "whose", "which", "where", "why", "how", "does", "do", "did",
    "done", "say", "says", "said", "about", "is", "are", "was", "were", "been", "has", "have", "had",
    "can", "could", "should", "would", "will", "shall", "may", "must", "there", "their", "they",
    "them", "it", "its", "this", "that", "these", "those", "from", "into", "than", "then", "any",
    "some", "all", "our", "your", "my", "me", "we", "you", "he", "she", "his", "her", "i", "an",
    "the", "of", "to", "in", "on", "at", "with", "as", "or", "and", "not", "no", "be", "if",
}
_EN_KEEP = {"by", "man", "so", "sin", "a"}  # English stop words that are Norwegian content words


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    STOPWORDS_EN, STOPWORDS_NORWEGIAN = lexical_store.bm25s_stopwords()  # without importing bm25s

    return frozenset(STOPWORDS_NORWEGIAN) | _EXTRA_STOP | ((frozenset(STOPWORDS_EN) | _EN_STOP) - _EN_KEEP)


_WORD = re.compile(r"\w+", re.UNICODE)


class Analyzer:
    """Text -> search terms: NFKC, lower case, stop words out, Snowball Norwegian stems."""

    def __init__(self):
        import Stemmer

        self._stem = Stemmer.Stemmer("norwegian").stemWord
        self._stem_lock = threading.Lock()  # a Stemmer is for one thread at a time (PyStemmer's docs)
        self._stop = _stopwords()
        self._cache: dict[str, str] = {}

    def stem(self, word: str) -> str:
        s = self._cache.get(word)
        if s is None:
            with self._stem_lock:
                s = self._stem(word)
            if len(self._cache) < 500_000:
                self._cache[word] = s
        return s

    def words(self, text: str) -> list[str]:
        text = unicodedata.normalize("NFKC", text).lower()
        return [w for w in _WORD.findall(text) if (len(w) > 1 or w.isdigit()) and w not in self._stop]

    def terms(self, text: str) -> list[str]:
        return [self.stem(w) for w in self.words(text)]


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


class _Lexical:
    def __init__(self, analyzer: Analyzer, texts: list[str]):
        import bm25s

        self.analyzer = analyzer
        corpus = [analyzer.terms(t) for t in texts]
        self.vocab: dict[str, int] = {}
        for terms in corpus:
            for t in set(terms):
                self.vocab[t] = self.vocab.get(t, 0) + 1
        self.n = len(texts)
        self.bm25 = bm25s.BM25(k1=0.9, b=0.4)  # Anserini's defaults; suit short clauses
        if self.n:
            self.bm25.index([t or ["\u2205"] for t in corpus], show_progress=False)
        self._sorted_vocab = sorted(self.vocab)

    @classmethod
    def from_state(cls, analyzer: Analyzer, vocab: dict[str, int], n: int, bm25) -> _Lexical:
        """The same object rebuilt from saved state (see lexical_store.py), without re-analysing the texts."""
        self = cls.__new__(cls)
        self.analyzer, self.vocab, self.n, self.bm25 = analyzer, vocab, n, bm25
        self._sorted_vocab = sorted(vocab)
        return self

    def expand(self, words: list[str]) -> list[str]:
        """Search terms for the question's words.

        Known stems stay. An unknown word is split into known parts when it is a compound
        the corpus spells apart («oppsigelsestid» -> oppsigelse + tid), else replaced by
        corpus compounds that contain it («heltid» -> heltidsstillinger).
        """
        out = []
        for w in words:
            t = self.analyzer.stem(w)
            if t in self.vocab:
                out.append(t)
                continue
            parts = self._decompound(w)
            if parts:
                out.extend(parts)
            elif len(t) >= 5:
                found = [v for v in self._compounds(t) if v != t]
                out.extend(sorted(found, key=lambda v: -self.vocab[v])[:5])
        return out

    def _decompound(self, word: str) -> list[str]:
        stem = self.analyzer.stem
        if len(word) < 8:
            return []
        best: list[str] = []
        for i in range(len(word) - 3, 3, -1):
            head, tail = word[:i], word[i:]
            heads = [head] + ([head[:-1]] if head[-1] in "se" and len(head) > 5 else [])
            for h in heads:
                hs = stem(h)
                if hs in self.vocab and len(h) >= 4:
                    ts = stem(tail)
                    if ts in self.vocab and len(tail) >= 3:
                        return [hs, ts]
                    if not best and len(h) >= 5:
                        best = [hs]
        return best

    def _compounds(self, t: str):
        i = bisect.bisect_left(self._sorted_vocab, t)
        n = 0
        while i < len(self._sorted_vocab) and self._sorted_vocab[i].startswith(t) and n < 50:
            yield self._sorted_vocab[i]
            i += 1
            n += 1
        if len(t) >= 6:
            yield from (v for v in self.vocab if len(v) > len(t) + 2 and v.endswith(t))

    def scores(self, terms: list[str]) -> np.ndarray:
        known = [t for t in terms if t in self.vocab]
        if not self.n or not known:
            return np.zeros(self.n, dtype=np.float32)
        return np.asarray(self.bm25.get_scores(known), dtype=np.float32)


@dataclass(frozen=True)
class SearchParams:
    candidates: int = 100  # per retriever, before ranking
    context_chars: int = 600  # a result passage is the clause plus neighbours up to this length
    models_file: str | None = None  # fitted models (default assistant/fitted/models.json; "off": none)


class Searcher:
    """Search one loaded index. Build once per index (cheap next to embedding), reuse per query."""

    def __init__(self, data: IndexData, embedder, params: SearchParams | None = None, models=None):
        self.data = data
        self.embedder = embedder
        self.params = params or SearchParams()
        if models is None and self.params.models_file != "off":  # "off": rank by cosine (fitting uses it)
            models = load_models(self.params.models_file)
        self.models = models
        self.analyzer = Analyzer()
        titles = {d: doc.title for d, doc in data.documents.items()}
        self.titles = titles
        self.texts = lexical_store.IndexedTexts(data.clauses, titles)  # computed when read (~2.5 s at 100k)
        self.dense = _Dense(data.vectors, (getattr(data, "checksums", None) or {}).get("vectors"))
        doc_ids = sorted({c.doc_id for c in data.clauses})
        self.doc_ids = doc_ids
        self._doc_pos = {d: i for i, d in enumerate(doc_ids)}
        self.clause_doc = np.array([self._doc_pos[c.doc_id] for c in data.clauses], dtype=np.int64)
        self.n_docs = len(doc_ids)
        # read from the index folder when saved there for these texts and this analyzer, else built (and saved)
        lexical = lexical_store.load_or_build(data, self.analyzer, {
            "clauses": self.texts,
            "documents": [titles.get(d, "") + "\n" + data.documents[d].text for d in doc_ids],
        })
        self.lexical, self.doc_lexical = lexical["clauses"], lexical["documents"]
        n = len(data.clauses)
        same_prev = np.zeros(n, dtype=bool)
        if n > 1:
            same_prev[1:] = self.clause_doc[1:] == self.clause_doc[:-1]
        self.has_prev = same_prev
        self.has_next = np.append(same_prev[1:], False)
        spans = data.sentences
        self._sent_lo = np.searchsorted(spans[:, 0], np.arange(n), side="left") if n else np.zeros(0, np.int64)
        self._sent_hi = np.searchsorted(spans[:, 0], np.arange(n), side="right") if n else np.zeros(0, np.int64)
        self._cache: dict[tuple[str, int], frozenset[str]] = {}
        self._word_vectors: np.ndarray | None = None  # float32 copy, made on the first English question

    # -- which agreement: each document's kind, date and names (profile.py) ---------------
    @cached_property
    def profiles(self) -> dict[str, DocProfile]:
        """Made on first use (~80 µs a document), not at start; computing it twice in two threads is harmless."""
        return {d: profile_document(self.data.documents[d], self.analyzer) for d in self.doc_ids}

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
        d = self.doc_ids[pos]
        return self._terms("d", pos, lambda: self.titles.get(d, "") + "\n" + self.data.documents[d].text)

    def sentence_terms(self, i: int) -> frozenset[str]:
        return self._terms("s", i, lambda: self.sentence_text(i))

    # -- sentences -----------------------------------------------------------------------
    def sentence_range(self, row: int) -> tuple[int, int]:
        return int(self._sent_lo[row]), int(self._sent_hi[row])

    def sentence_text(self, i: int) -> str:
        r, a, b = (int(v) for v in self.data.sentences[i])
        return self.data.documents[self.data.clauses[r].doc_id].text[a:b]

    def best_sentence_cos(self, rows: np.ndarray, qvec: np.ndarray) -> np.ndarray:
        lo, hi = self._sent_lo[rows], self._sent_hi[rows]
        out = self.data.vectors[rows] @ qvec
        has = hi > lo
        if has.any():
            idx = np.concatenate([np.arange(a, b) for a, b in zip(lo[has], hi[has])])
            cos = self.data.sentence_vectors[idx] @ qvec
            starts = np.concatenate([[0], np.cumsum((hi - lo)[has])[:-1]])
            out[has] = np.maximum.reduceat(cos, starts)
        return out

    def english_words(self, text: str) -> list[str]:
        """Names and numbers as written, other content words mapped to their nearest corpus word."""
        names = names_and_numbers(self.analyzer, text)
        content = [w for w in dict.fromkeys(self.analyzer.words(text))
                   if w not in names and len(w) >= MIN_LETTERS and not any(ch.isdigit() for ch in w)]
        if self._word_vectors is None:
            self._word_vectors = np.asarray(self.data.word_vectors, dtype=np.float32)
        return names + nearest_words(self.embedder, content, self.data.words, self._word_vectors)

    def embed_query(self, question: str) -> np.ndarray:
        return np.asarray(self.embedder.embed_queries([question])[0], dtype=np.float32)

    # -- search --------------------------------------------------------------------------
    def scope(self, query: Query, docs=None) -> tuple[frozenset[str], frozenset[str]]:
        """(the documents searched, the documents the question names): the chosen `docs` (all when
        None), narrowed to the ones the question names when it names some of them."""
        allowed = frozenset(self.doc_ids) if docs is None else frozenset(docs) & frozenset(self.doc_ids)
        profiles = {d: self.profiles[d] for d in allowed}
        named = named_documents(query.text, profiles, self.analyzer)
        if not named and query.search_text != query.text:  # nynorsk: «Leve heile livet» is «Leve hele livet»
            named = named_documents(query.search_text, profiles, self.analyzer)
        return (named or allowed), named

    def search(self, question, top_k: int = 5, qvec: np.ndarray | None = None, restrict_doc: str | None = None,
               context: bool = True, exclude=frozenset(), models=None, docs=None) -> SearchResult:
        """Rank clauses for `question` (text or a parsed Query); `restrict_doc` keeps one
        document (a follow-up's context); `docs` keeps the chosen documents, and of those the ones
        the question names («kvalitetsavtalen»); `exclude` drops clause rows (used when fitting)."""
        query = question if isinstance(question, Query) else parse_query(question)
        models = models if models is not None else self.models
        if not len(self.data.clauses):
            return SearchResult([], 0.0, (), 0.0, query.language, query=query)
        if qvec is None:
            qvec = self.embed_query(query.text)
        qt = query_terms(self, query)
        within, named = None, frozenset()
        if restrict_doc is None:
            searched, named = self.scope(query, docs)
            if len(searched) < len(self.doc_ids):
                within = np.array(sorted(self._doc_pos[d] for d in searched), dtype=np.int64)
        ranked = rank(self, query, qvec, qt, models, restrict_doc, exclude, within)
        chosen = choose_sentence(self, query, qvec, qt, ranked, models)
        answerable = answerability(models, query, abstain_features(self, query, qt, ranked, chosen))
        hits = self._hits(ranked, qt, qvec, top_k, context)
        lead, lead_clause = self._lead(chosen)
        share = float(ranked.X[0, 5]) if len(ranked.rows) else 0.0
        return SearchResult(hits, answerable, tuple(qt.flat), share, query.language, lead, query, lead_clause,
                            tuple(sorted(named)), qvec)

    def _hits(self, ranked, qt, qvec, top_k: int, context: bool) -> list[Hit]:
        probs = ranked.probs
        best = float(probs[0]) if len(probs) else 1.0
        hits: list[Hit] = []
        covered: set[int] = set()
        for i, row in enumerate(ranked.rows.tolist()):
            if row in covered:
                continue
            a, b = self._context(row, qvec, self.params.context_chars) if context else (row, row)
            covered.update(range(a, b + 1))
            have = self.clause_terms(row)
            hits.append(Hit(
                clause=self.data.clauses[row],
                score=float(probs[i] / best) if best > 0 else 0.0,
                dense=float(ranked.cos[i]),
                lexical=float(ranked.lex[row] / ranked.lmax) if ranked.lmax > 0 else 0.0,
                matched_terms=tuple(t for t in qt.flat if t in have),
                passage_start=self.data.clauses[a].start,
                passage_end=self.data.clauses[b].end,
            ))
            if len(hits) >= top_k:
                break
        return hits

    def _lead(self, chosen) -> tuple[list[str], Clause | None]:
        """The answer sentence and its clause; a list item comes with its lead-in, a lead-in with its items."""
        if chosen is None:
            return [], None
        r = int(self.data.sentences[chosen.sentence][0])
        c = self.data.clauses[r]
        sentence = " ".join(self.sentence_text(chosen.sentence).split())
        if c.kind == "item" and c.leadin:
            return [c.leadin, sentence], c
        if c.kind == "leadin":
            items = []
            for nxt in self.data.clauses[r + 1 :]:
                if nxt.doc_id != c.doc_id or nxt.kind != "item" or nxt.leadin != " ".join(c.text.split()):
                    break
                items.append("– " + " ".join(nxt.text.split()))
            return [sentence, *items], c
        return [sentence], c

    def _context(self, row: int, qvec: np.ndarray, limit: int) -> tuple[int, int]:
        """Grow [row, row] by neighbouring clauses of the same document, the side closer to the question first."""
        clauses = self.data.clauses
        a = b = row
        while True:
            options = []
            if self.has_prev[a]:
                options.append(a - 1)
            if self.has_next[b]:
                options.append(b + 1)
            if not options:
                return a, b
            scores = self.data.vectors[options] @ qvec
            grown = False
            for _, j in sorted(zip(scores.tolist(), options), reverse=True):
                na, nb = min(a, j), max(b, j)
                if clauses[nb].end - clauses[na].start <= limit:
                    a, b, grown = na, nb, True
                    break
            if not grown:
                return a, b
