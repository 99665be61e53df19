"""Abstention: the probability that the documents answer the question, from the fitted model.

The features describe the best candidate and the chosen answer sentence: the ranker's score and
share, cosines, how much of the question (weighted by how rare each word is) the clause, the
sentence and the document cover, the rarest word missing, words the corpus never uses, and whether
the answer holds the kind of thing asked for. Which model decides comes from the calibration of the
embedding model in use (calibration.py), with its documented fallback.
"""

from __future__ import annotations

import math

import numpy as np

from ..query import Query
from .calibration import Calibration
from .features import ABSTAIN_FEATURES, RANK_FEATURES, SENTENCE_FEATURES, TYPED, QueryTerms
from .fusion import Chosen, Ranked

__all__ = ["abstain_features", "answerability"]


def abstain_features(searcher, query: Query, qt: QueryTerms, ranked: Ranked, chosen: Chosen | None) -> np.ndarray:
    x = np.zeros(len(ABSTAIN_FEATURES))
    if not len(ranked.rows):
        return x
    top = int(ranked.rows[0])
    x[0] = ranked.scores[0]
    x[1] = ranked.probs[0]
    x[2] = ranked.cos[0]
    x[3] = chosen.X[0] if chosen is not None else ranked.cos[0]
    x[4] = ranked.X[0, RANK_FEATURES.index("cov")]
    x[5] = chosen.X[SENTENCE_FEATURES.index("scov_ctx")] if chosen is not None else x[4]
    x[6] = ranked.X[0, RANK_FEATURES.index("doc_cov")]
    x[7] = qt.missing_idf(searcher.doc_terms(int(searcher.catalogue.clause_doc[top])))
    x[8] = qt.unknown_share()
    x[9] = chosen.prob if chosen is not None else 1.0
    x[10] = not qt.groups
    base = 11
    for i, t in enumerate(TYPED):
        x[base + i] = query.answer_type == t
    if chosen is not None:
        x[base + len(TYPED) : base + 2 * len(TYPED)] = chosen.X[SENTENCE_FEATURES.index("type_number"):][: len(TYPED)]
    return x


def answerability(models: Calibration | None, query: Query, x: np.ndarray) -> float:
    if models is None:
        return 1.0
    z = float(models.pick("abstain", query.language).score(x)[0])
    return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))
