"""Hybrid search: BM25 with Norwegian stemming fused with dense search, plus abstention.

Lexical side: bm25s over the clauses' indexed text (title, heading path, lead-in, clause),
tokens lower-cased, stop words removed (bokmål, nynorsk and English question words) and
stemmed with the Snowball Norwegian stemmer. A query word that the corpus never uses is
expanded to corpus words that contain it as a compound part ("heltid" ->
"heltidsstillinger"), since Norwegian writes compounds as one word.

Dense side: FAISS inner product over L2-normalised clause vectors (exact while small,
HNSW past `HNSW_THRESHOLD` clauses).

Fusion: each retriever's scores are scaled to [0, 1] over the candidates; the fused
score is a weighted sum, lifted by how well the clause's whole document matches (its
best lexical and dense match), because a question is usually about one document.
"""

from __future__ import annotations

import bisect
import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from . import lexical_store
from .e5convert import default_model_dir
from .index import IndexData, _write_atomic
from .lang import detect_language
from .types import Hit

__all__ = ["Analyzer", "SearchResult", "Searcher", "HNSW_THRESHOLD"]

HNSW_THRESHOLD = 20_000  # exact search past this costs > ~10 ms a question on 2 cores
ENGLISH_DENSE_WEIGHT = 0.7
PREFERRED_DOC_BONUS = 0.3

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
    from bm25s.tokenization import STOPWORDS_EN, STOPWORDS_NORWEGIAN

    return frozenset(STOPWORDS_NORWEGIAN) | _EXTRA_STOP | ((frozenset(STOPWORDS_EN) | _EN_STOP) - _EN_KEEP)


_WORD = re.compile(r"\w+", re.UNICODE)


class Analyzer:
    """Text -> search terms: NFKC, lower case, stop words out, Snowball Norwegian stems."""

    def __init__(self):
        import Stemmer

        self._stem = Stemmer.Stemmer("norwegian").stemWord
        self._stop = _stopwords()
        self._cache: dict[str, str] = {}

    def stem(self, word: str) -> str:
        s = self._cache.get(word)
        if s is None:
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
    matched_share: float  # share of the question's terms found in the top clauses
    language: str = "nb"


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


class _Dense:
    """Dense search: exact inner product while small, HNSW from `HNSW_THRESHOLD` vectors.

    Exact search costs ~0.5 ms per 1000 clauses per question on 2 cores (~50 ms at 100k);
    HNSW answers in under a millisecond with recall@10 of ~0.99 on real clause vectors, but
    building it takes ~30 s at 100k on 2 cores. The built graph is therefore kept in a cache
    folder (env ASSISTANT_HNSW_CACHE, default ~/.cache/avtaleassistenten/hnsw; "off" turns it
    off), named by a hash of the vectors and the parameters, so a restart over the same index
    reads it in well under a second. The newest `CACHE_KEEP` graphs are kept.
    """

    HNSW_M = 32
    HNSW_EF_CONSTRUCTION = 80
    HNSW_EF_SEARCH = 256  # >= the 100 candidates asked for; recall@10 .99 real, .96 generated 100k
    CACHE_KEEP = 4

    def __init__(self, vectors: np.ndarray):
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.n, self.dim = vectors.shape
        if self.n >= HNSW_THRESHOLD:
            index = self._hnsw(vectors)
        else:
            index = faiss.IndexFlatIP(self.dim)
            if self.n:
                index.add(vectors)
        self.index = index
        self.vectors = vectors

    def _hnsw(self, vectors: np.ndarray):
        import faiss

        path = self._cache_path(vectors)
        if path is not None and path.is_file():
            try:
                index = faiss.read_index(str(path))
                if isinstance(index, faiss.IndexHNSWFlat) and index.ntotal == self.n and index.d == self.dim:
                    index.hnsw.efSearch = self.HNSW_EF_SEARCH
                    os.utime(path)
                    return index
            except (RuntimeError, OSError):  # damaged or unreadable: build it again
                pass
        index = faiss.IndexHNSWFlat(self.dim, self.HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = self.HNSW_EF_CONSTRUCTION
        index.add(vectors)
        index.hnsw.efSearch = self.HNSW_EF_SEARCH
        if path is not None:
            self._store(index, path)
        return index

    def _cache_path(self, vectors: np.ndarray):
        """The cache file for these vectors (a pathlib.Path), or None when caching is off."""
        import faiss

        where = os.environ.get("ASSISTANT_HNSW_CACHE", "")
        if where.lower() in ("off", "0", "no", "false"):
            return None
        folder = Path(where) if where else default_model_dir().parent / "hnsw"  # beside the model cache
        h = hashlib.blake2b(digest_size=16)
        h.update(f"{self.n}:{self.dim}:{self.HNSW_M}:{self.HNSW_EF_CONSTRUCTION}:{faiss.__version__}".encode())
        h.update(memoryview(vectors).cast("B"))
        return folder / f"hnsw-{h.hexdigest()}.faiss"

    def _store(self, index, path) -> None:
        import faiss

        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_atomic(path, lambda tmp: faiss.write_index(index, str(tmp)))
            old = sorted(path.parent.glob("hnsw-*.faiss"), key=lambda p: p.stat().st_mtime, reverse=True)
            for stale in old[self.CACHE_KEEP:]:
                stale.unlink(missing_ok=True)
        except (OSError, RuntimeError):  # a read-only or full disk only costs the next start time
            pass

    def search(self, qvec: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if not self.n:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        sims, ids = self.index.search(qvec.reshape(1, -1).astype(np.float32), min(k, self.n))
        keep = ids[0] >= 0
        return sims[0][keep], ids[0][keep]


@dataclass(frozen=True)
class FusionParams:
    candidates: int = 100  # per retriever, before fusion
    dense_weight: float = 0.5  # share of dense in the fused clause score
    neighbour_weight: float = 0.2  # how much the clauses around a clause add to its score
    doc_weight: float = 0.3  # how much the whole document's BM25 match lifts its clauses
    context_chars: int = 600  # a result passage is the clause plus neighbours up to this length


class Searcher:
    """Search one loaded index. Build once per index (cheap next to embedding), reuse per query."""

    def __init__(self, data: IndexData, embedder, params: FusionParams | None = None):
        self.data = data
        self.embedder = embedder
        self.params = params or FusionParams()
        self.analyzer = Analyzer()
        titles = {d: doc.title for d, doc in data.documents.items()}
        self.texts = lexical_store.IndexedTexts(data.clauses, titles)  # computed when read (~2.5 s at 100k)
        self.dense = _Dense(data.vectors)
        doc_ids = sorted({c.doc_id for c in data.clauses})
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
        self._terms_cache: dict[int, frozenset[str]] = {}

    def embed_query(self, question: str) -> np.ndarray:
        return np.asarray(self.embedder.embed_queries([question])[0], dtype=np.float32)

    def clause_terms(self, row: int) -> frozenset[str]:
        terms = self._terms_cache.get(row)
        if terms is None:
            terms = frozenset(self.analyzer.terms(self.texts[row]))
            if len(self._terms_cache) < 100_000:
                self._terms_cache[row] = terms
        return terms

    def search(self, question: str, top_k: int = 5, qvec: np.ndarray | None = None,
               prefer_doc: str | None = None, context: bool = True) -> SearchResult:
        """Rank clauses for `question`; `prefer_doc` lifts one document (a follow-up's context)."""
        n = len(self.data.clauses)
        terms = self.analyzer.terms(question)
        if n == 0:
            return SearchResult([], 0.0, tuple(terms), 0.0)
        p = self.params
        k = min(p.candidates, n)
        if qvec is None:
            qvec = self.embed_query(question)
        dsim, dids = self.dense.search(qvec, k)
        expanded = self.lexical.expand(self.analyzer.words(question))
        lex = self.lexical.scores(expanded)
        lmax = float(lex.max())
        lex_top = np.argpartition(-lex, k - 1)[:k] if k < n else np.arange(n)
        lex_top = lex_top[lex[lex_top] > 0]
        cand = np.unique(np.concatenate([dids, lex_top])).astype(np.int64)
        # English questions against Norwegian text: lexical matches are mostly names and numbers
        w = p.dense_weight if detect_language(question) == "nb" else max(p.dense_weight, ENGLISH_DENSE_WEIGHT)
        scorer = _ClauseScorer(self, qvec, lex, lmax, dsim, w if lmax > 0 else 1.0)
        fused = scorer.fused(cand)
        if p.neighbour_weight:
            prev = np.where(self.has_prev[cand], scorer.fused(np.maximum(cand - 1, 0)), 0.0)
            nxt = np.where(self.has_next[cand], scorer.fused(np.minimum(cand + 1, n - 1)), 0.0)
            fused = fused + p.neighbour_weight * (prev + nxt) / 2
        doc_lex = self.doc_lexical.scores(expanded)
        dmax = float(doc_lex.max())
        if dmax > 0 and p.doc_weight:
            fused = fused + p.doc_weight * doc_lex[self.clause_doc[cand]] / dmax
        if prefer_doc is not None and prefer_doc in self._doc_pos:
            fused = fused + PREFERRED_DOC_BONUS * (self.clause_doc[cand] == self._doc_pos[prefer_doc])
        order = np.argsort(-fused, kind="stable")
        hits: list[Hit] = []
        covered: set[int] = set()
        best = float(fused[order[0]]) if len(order) else 1.0
        for i in order:
            row = int(cand[i])
            if row in covered:
                continue
            a, b = self._context(row, scorer, p.context_chars) if context else (row, row)
            covered.update(range(a, b + 1))
            have = self.clause_terms(row)
            hits.append(Hit(
                clause=self.data.clauses[row],
                score=float(fused[i] / best) if best > 0 else 0.0,
                dense=float(scorer.dense(np.array([row]))[0]),
                lexical=float(lex[row] / lmax) if lmax > 0 else 0.0,
                matched_terms=tuple(t for t in expanded if t in have),
                passage_start=self.data.clauses[a].start,
                passage_end=self.data.clauses[b].end,
            ))
            if len(hits) >= top_k:
                break
        share = _matched_share(terms, expanded, [self.clause_terms(int(cand[i])) for i in order[:3]])
        language = detect_language(question)
        return SearchResult(hits, _answerability(hits, share, language), tuple(terms), share, language)

    def _context(self, row: int, scorer: _ClauseScorer, limit: int) -> tuple[int, int]:
        """Grow [row, row] by neighbouring clauses of the same document, better-matching side first."""
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
            scores = scorer.fused(np.array(options, dtype=np.int64))
            grown = False
            for _, j in sorted(zip(scores.tolist(), options), reverse=True):
                na, nb = min(a, j), max(b, j)
                if clauses[nb].end - clauses[na].start <= limit:
                    a, b, grown = na, nb, True
                    break
            if not grown:
                return a, b


class _ClauseScorer:
    """Fused clause scores for one query, computed for whichever rows are asked."""

    def __init__(self, searcher: Searcher, qvec, lex, lmax, dsim, dense_weight):
        self.vectors = searcher.data.vectors
        self.qvec = qvec
        self.lex = lex
        self.lmax = lmax
        self.w = dense_weight
        self.floor = float(dsim[-1]) if len(dsim) else 0.0
        self.top = max(float(dsim[0]) if len(dsim) else 1.0, self.floor + 1e-6)

    def dense(self, rows: np.ndarray) -> np.ndarray:
        return self.vectors[rows] @ self.qvec

    def fused(self, rows: np.ndarray) -> np.ndarray:
        dn = np.clip((self.dense(rows) - self.floor) / (self.top - self.floor), 0.0, 1.0)
        ln = self.lex[rows] / self.lmax if self.lmax > 0 else np.zeros(len(rows), np.float32)
        return self.w * dn + (1 - self.w) * ln


def _matched_share(terms, expanded, term_sets) -> float:
    if not terms:
        return 0.0
    found = set()
    for ts in term_sets:
        found.update(ts)
    hit = 0
    for t in terms:
        if t in found or any(e in found and (t in e or e in t) for e in expanded):
            hit += 1
    return hit / len(terms)


# Abstention: a logistic rule on the top clause's cosine and the share of the question's
# content words found in the top clauses. Fitted once on development data that holds none of
# the evaluation questions: NorQuAD questions against their own articles (answerable, 472) and
# against the two seed agreements (not answerable, 472) gave z = 43.0 * cos + 4.56 * share - 37.81
# (abstains on 1 % of the answerable and 98 % of the others; a refit on the final ranking gave
# 40.1, 4.7, -35.2, nearly the same boundary, so the first fit stands). English questions: twelve
# hand-written Norwegian/English question pairs about everyday municipal matters scored 0.065
# lower against Norwegian text in English, and English words rarely occur in Norwegian text, so an
# English question is scored as its Norwegian twin would be with an uninformative share of 0.5.
COS_WEIGHT, SHARE_WEIGHT, BIAS = 43.0, 4.56, -37.81
ENGLISH_COS_OFFSET, ENGLISH_SHARE = 0.065, 0.5


def _answerability(hits: list[Hit], share: float, language: str = "nb") -> float:
    """Probability-like score that the top clause answers the question (0.5 is the boundary)."""
    if not hits:
        return 0.0
    cos = hits[0].dense
    if language == "en":
        cos, share = cos + ENGLISH_COS_OFFSET, ENGLISH_SHARE
    z = COS_WEIGHT * cos + SHARE_WEIGHT * share + BIAS
    return float(1.0 / (1.0 + np.exp(-z)))
