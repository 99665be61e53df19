"""The old dense-search seam, kept for callers of `Dense` until they search `IndexData.store`.

`Dense(vectors)` searches the FaissStore that holds these very vectors (an IndexData's store,
so no second FAISS index is built), or else a FaissStore of its own over them (exact inner
product while small, HNSW from `HNSW_THRESHOLD`; see store.py). Rows are returned as numbers
(positions in `vectors`). The HNSW cache folder of a store of its own is the environment's
ASSISTANT_HNSW_CACHE (default ~/.cache/avtaleassistenten/hnsw; "off" turns it off).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .store import HNSW_THRESHOLD, FaissStore, holding

__all__ = ["Dense", "HNSW_THRESHOLD"]


def _cache_folder() -> Path | None:
    where = os.environ.get("ASSISTANT_HNSW_CACHE", "")
    if where.lower() in ("off", "0", "no", "false"):
        return None
    if where:
        return Path(where)
    from .e5convert import default_model_dir

    return default_model_dir().parent / "hnsw"  # beside the model cache


class Dense:
    """(scores, rows) of the best clauses for a query vector: see the module docstring."""

    HNSW_M, HNSW_EF_CONSTRUCTION = FaissStore.HNSW_M, FaissStore.HNSW_EF_CONSTRUCTION
    HNSW_EF_SEARCH, CACHE_KEEP = FaissStore.HNSW_EF_SEARCH, FaissStore.CACHE_KEEP

    def __init__(self, vectors: np.ndarray, vectors_sha256: str | None = None):
        store = holding(vectors)
        if store is None:
            vectors = np.ascontiguousarray(vectors, dtype=np.float32)
            store = FaissStore(vectors.shape[1], hnsw_threshold=HNSW_THRESHOLD)  # read now: tests lower it
            store._fill([str(i) for i in range(len(vectors))], vectors, [""] * len(vectors))
            store._vectors_key = vectors_sha256
        if store._index is None and store.kind == "faiss-hnsw" and store.hnsw_cache is None:
            store.hnsw_cache = _cache_folder()
        self.store = store
        self.n, self.dim = len(store), store.dim
        self.vectors = store.vectors
        if self.n:
            store.index  # built now (or read from the cache), as before: not on the first question

    @property
    def index(self):
        return self.store.index

    def search(self, qvec: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if not self.n:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        return self.store.search_rows(qvec, k)
