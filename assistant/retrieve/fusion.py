"""Fusion: the candidates of both retrievers ranked by the fitted ranker, then the answer sentence.

    candidates (dense top k ∪ BM25 top k, by clause_id) -> clause features -> ranker -> top clauses
      -> their sentences -> sentence features -> sentence model -> the answer sentence

Pure functions of the searcher's read-only state and the question. The models are fitted by
`fitting/fit_models.py` (calibration.py); that script calls these same functions, so what is fitted
is what runs. Whether to answer at all is abstain.py's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..query import Query
from . import lexical
from .calibration import Calibration
from .features import (
    RANK_FEATURES,
    SENTENCE_FEATURES,
    TYPED,
    QueryTerms,
    type_vector,
)

__all__ = ["Ranked", "Chosen", "candidates", "clause_features", "rank", "sentence_features", "choose_sentence",
           "softmax", "SENTENCE_CLAUSES"]

SENTENCE_CLAUSES = 3  # the answer sentence is chosen among the sentences of the top clauses


def softmax(s: np.ndarray) -> np.ndarray:
    if not len(s):
        return s
    e = np.exp(s - s.max())
    return e / e.sum()


@dataclass
class Ranked:
    rows: np.ndarray  # candidate clause rows, best first
    scores: np.ndarray  # ranker scores, same order
    X: np.ndarray  # clause features, same order
    cos: np.ndarray
    lex: np.ndarray  # BM25 of every clause (for passages and matched terms)
    lmax: float

    @cached_property
    def probs(self) -> np.ndarray:  # the ranker's softmax shares, used by the hits, sentences and abstention
        return softmax(self.scores)


@dataclass
class Chosen:
    sentence: int  # row in data.sentences
    clause_rank: int  # position of its clause in Ranked.rows
    prob: float
    X: np.ndarray  # its features
    runner_up: Chosen | None = None  # the sentence the model ranks next (a second quote when the first is unsure)


def candidates(searcher, qvec: np.ndarray, qt: QueryTerms, restrict_doc: str | None = None,
               exclude: set[int] | frozenset[int] = frozenset(), within: np.ndarray | None = None,
               ) -> tuple[np.ndarray, np.ndarray, float]:
    """Candidate rows: the dense retriever's top k ∪ the keyword retriever's top k, both keyed by
    clause_id; every clause of `restrict_doc` (a follow-up) or of the documents in `within`
    (document positions; fitting uses it to simulate small corpora). `exclude` drops rows (fitting)."""
    cat = searcher.catalogue
    n = len(cat)
    k = min(searcher.params.candidates, n)
    lex = searcher.lexical.scores(qt.flat)
    if restrict_doc is not None and within is None and restrict_doc in cat.doc_pos:
        within = np.array([cat.doc_pos[restrict_doc]])
    if within is not None:
        rows = cat.rows_of_docs(within)
        if len(rows) > 4 * k:  # many documents: the best of each retriever among their clauses
            docs = frozenset(cat.doc_ids[int(p)] for p in within)
            found = {**searcher.dense.top(qvec, k, docs), **lexical.top(lex[rows], [cat.ids[r] for r in rows], k)}
            rows = np.unique(cat.rows(found))
    else:
        found = {**searcher.dense.top(qvec, k + len(exclude)), **lexical.top(lex, cat.ids, k)}
        rows = np.unique(cat.rows(found))
    if exclude:
        rows = rows[~np.isin(rows, list(exclude))]
    lmax = float(lex[rows].max()) if len(rows) else 0.0  # BM25 is scaled by the best candidate
    return rows, lex, lmax


def clause_features(searcher, query: Query, qvec: np.ndarray, qt: QueryTerms, rows: np.ndarray,
                    lex: np.ndarray, lmax: float) -> tuple[np.ndarray, np.ndarray]:
    data = searcher.data
    cat = searcher.catalogue
    prev_rows, next_rows = cat.prev[rows], cat.next[rows]
    has_prev, has_next = prev_rows >= 0, next_rows >= 0
    around = np.concatenate([prev_rows[has_prev], next_rows[has_next]])
    sims = searcher.dense.similarity(qvec, np.concatenate([rows, around]))  # one request to the store
    cos = sims[: len(rows)]
    cos_prev, cos_next = cos.copy(), cos.copy()
    cos_prev[has_prev] = sims[len(rows) : len(rows) + int(has_prev.sum())]
    cos_next[has_next] = sims[len(rows) + int(has_prev.sum()) :]
    scos = searcher.best_sentence_cos(rows, cos, qvec)
    top_cos = float(cos.max())
    bm = lex[rows] / lmax if lmax > 0 else np.zeros(len(rows))
    doc_lex = searcher.doc_lexical.scores(qt.flat)
    docs = cat.clause_doc[rows]
    dmax = float(doc_lex[docs].max())  # the best document among the candidates
    doc_best = {}
    for d, c in zip(docs.tolist(), cos.tolist()):
        doc_best[d] = max(doc_best.get(d, -1.0), c)
    bm_prev = np.where(has_prev, lex[np.maximum(prev_rows, 0)], 0.0)
    bm_next = np.where(has_next, lex[np.maximum(next_rows, 0)], 0.0)
    X = np.zeros((len(rows), len(RANK_FEATURES)))
    X[:, 0] = cos
    X[:, 1] = cos - top_cos
    X[:, 2] = scos
    X[:, 3] = scos - float(scos.max())
    X[:, 4] = bm
    X[:, 7] = doc_lex[docs] / dmax if dmax > 0 else 0.0
    X[:, 9] = np.array([doc_best[d] for d in docs.tolist()]) - top_cos
    X[:, 10] = np.maximum(cos_prev, cos_next) - top_cos
    X[:, 11] = (np.maximum(bm_prev, bm_next) / lmax) if lmax > 0 else 0.0
    doc_cov: dict[int, float] = {}
    for i, row in enumerate(rows.tolist()):
        c = data.clauses[row]
        X[i, 5] = qt.coverage(searcher.clause_terms(row))
        X[i, 6] = qt.coverage(searcher.text_terms(row))
        d = int(docs[i])
        if d not in doc_cov:
            doc_cov[d] = qt.coverage(searcher.doc_terms(d))
        X[i, 8] = doc_cov[d]
        X[i, 12] = c.kind == "heading"
        X[i, 13] = c.kind == "signature"
        X[i, 14] = math.log1p(len(c.text))
        if query.answer_type in TYPED:
            X[i, 15:20] = type_vector((c.leadin + " " + c.text) if c.leadin else c.text, query)
    X[:, 20] = searcher.doc_about[docs]
    return X, cos


def rank(searcher, query: Query, qvec: np.ndarray, qt: QueryTerms, models: Calibration | None,
         restrict_doc: str | None = None, exclude=frozenset(), within: np.ndarray | None = None) -> Ranked:
    rows, lex, lmax = candidates(searcher, qvec, qt, restrict_doc, exclude, within)
    if not len(rows):
        empty = np.zeros(0)
        return Ranked(rows, empty, np.zeros((0, len(RANK_FEATURES))), empty, lex, lmax)
    X, cos = clause_features(searcher, query, qvec, qt, rows, lex, lmax)
    scores = models.pick("ranker", query.language).score(X) if models is not None else X[:, 0]
    order = np.argsort(-scores, kind="stable")
    return Ranked(rows[order], scores[order], X[order], cos[order], lex, lmax)


def sentence_features(searcher, query: Query, qvec: np.ndarray, qt: QueryTerms, ranked: Ranked,
                      top: int = SENTENCE_CLAUSES) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features of every sentence of the top clauses: (sentence rows, clause ranks, X)."""
    data = searcher.data
    probs = ranked.probs
    ids, ranks = [], []
    for j, row in enumerate(ranked.rows[:top].tolist()):
        lo, hi = searcher.sentence_range(row)
        ids.extend(range(lo, hi))
        ranks.extend([j] * (hi - lo))
    ids_a = np.asarray(ids, dtype=np.int64)
    if not len(ids_a):
        return ids_a, ids_a, np.zeros((0, len(SENTENCE_FEATURES)))
    scos = data.sentence_vectors[ids_a] @ qvec
    asked = frozenset().union(*qt.groups) if qt.groups else frozenset()
    X = np.zeros((len(ids_a), len(SENTENCE_FEATURES)))
    X[:, 0] = scos
    X[:, 1] = scos - float(scos.max())
    for i, (s, j) in enumerate(zip(ids_a.tolist(), ranks)):
        row = int(ranked.rows[j])
        c = data.clauses[row]
        terms = searcher.sentence_terms(s)
        X[i, 2] = probs[j]
        X[i, 3] = j == 0
        X[i, 4] = qt.coverage(terms)
        X[i, 5] = qt.coverage(terms | searcher.context_terms(row))
        text = searcher.sentence_text(s)
        X[i, 6] = math.log1p(len(text))
        X[i, 7] = s == searcher.sentence_range(row)[0]
        X[i, 8] = (len(terms - asked) / len(terms)) if terms else 0.0
        X[i, 9] = c.kind == "heading"
        if query.answer_type in TYPED:
            X[i, 10:15] = type_vector(text, query)
    return ids_a, np.asarray(ranks, dtype=np.int64), X


def choose_sentence(searcher, query: Query, qvec: np.ndarray, qt: QueryTerms, ranked: Ranked,
                    models: Calibration | None) -> Chosen | None:
    ids, ranks, X = sentence_features(searcher, query, qvec, qt, ranked)
    if not len(ids):
        return None
    scores = models.pick("sentence", query.language).score(X) if models is not None else X[:, 0]
    p = softmax(scores)
    order = np.argsort(-scores, kind="stable")
    best = int(order[0])
    second = None
    if len(order) > 1:
        j = int(order[1])
        second = Chosen(int(ids[j]), int(ranks[j]), float(p[j]), X[j])
    return Chosen(int(ids[best]), int(ranks[best]), float(p[best]), X[best], second)
