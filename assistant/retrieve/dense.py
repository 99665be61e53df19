"""The dense retriever: nearest clauses by inner product of L2-normalised vectors, asked of a VectorStore.

Every clause cosine the search uses (candidates, their neighbours, passage growth) comes from the
store: `top` searches it, `similarity` scores given clauses (found by the keyword side) against the
question from the store's vectors. The store is the index folder's FAISS index by default (store.py);
any implementation of the protocol plugs in.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from .catalogue import Catalogue

__all__ = ["DenseRetriever"]


class DenseRetriever:
    def __init__(self, store, catalogue: Catalogue):
        self.store = store
        self.catalogue = catalogue

    def top(self, qvec: np.ndarray, k: int, docs: Collection[str] | None = None) -> dict[str, float]:
        """The `k` nearest clauses (of the documents `docs`, None: all), keyed by clause_id."""
        if k <= 0 or not len(self.catalogue):
            return {}
        ids, scores = self.store.search(qvec, k, docs)
        return dict(zip(ids, np.asarray(scores, dtype=np.float64).tolist()))

    def similarity(self, qvec: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Cosine of the question and each clause at `rows`."""
        rows = np.asarray(rows, dtype=np.int64)
        if not len(rows):
            return np.zeros(0, dtype=np.float64)
        ids = self.catalogue.ids
        vectors = self.store.fetch([ids[r] for r in rows.tolist()])
        return (np.asarray(vectors, dtype=np.float32) @ qvec).astype(np.float64)
