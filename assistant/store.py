"""The vector store seam: clause vectors keyed by clause id, searched by inner product.

    VectorStore   the protocol the search code uses (upsert, delete, search, fetch, meta, len)
    FaissStore    FAISS: exact (flat inner product) below `HNSW_THRESHOLD` vectors, HNSW from there
    NumpyStore    brute force in NumPy: the reference the FAISS results are checked against
    make_store    kind ("faiss", "numpy") -> an empty store

Vectors are L2-normalised float32 rows, so inner product is cosine similarity. Each row also
knows its document (doc_id), so a search can keep only some documents (`filter`). Rows keep the
order they were first upserted in; `arrange(ids)` puts them in a given order (the index keeps
them in clause order, so that the saved file lines up with the clauses file).

FAISS: the index is (re)built on the first search after a change. HNSW answers in under a ms
(recall@10 ~0.99 on real clause vectors) but costs ~30 s to build at 100k clauses on 2 cores, so
a built graph can be kept in a cache folder (`hnsw_cache`, named by a hash of the vectors and the
parameters; None: no cache). A filtered search scores the kept rows exactly (flat, or at most
`EXACT_FILTER_ROWS` rows), else searches the HNSW graph with an IDSelector. `save(path)` writes
the FAISS index that is searched; `load(path, ids, docs)` reads it, the caller keeping the ids.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from .errors import IndexError_
from .files import write_atomic

__all__ = ["FaissStore", "HNSW_THRESHOLD", "NumpyStore", "StoreError", "VectorStore", "filled", "make_store"]

HNSW_THRESHOLD = 20_000  # exact search past this costs > ~10 ms a question on 2 cores
EXACT_FILTER_ROWS = 20_000  # a filter keeping at most this many rows is scored exactly, also on HNSW


class StoreError(IndexError_):
    """Unknown ids, vectors of the wrong shape, or a store file that cannot be used."""


@runtime_checkable
class VectorStore(Protocol):
    def upsert(self, ids: Sequence[str], vectors: np.ndarray, docs: Sequence[str]) -> None: ...
    def delete(self, ids: Iterable[str]) -> None: ...
    def search(self, query: np.ndarray, k: int, filter: Collection[str] | None = None
               ) -> tuple[list[str], np.ndarray]: ...
    def fetch(self, ids: Sequence[str]) -> np.ndarray: ...
    @property
    def meta(self) -> dict: ...
    def __len__(self) -> int: ...


class NumpyStore:
    """Brute force: every search scores every kept row. Exact, and the reference for FaissStore."""

    kind = "numpy"

    def __init__(self, dim: int):
        self.dim = int(dim)
        self._ids: list[str] = []
        self._docs: list[str] = []
        self._row: dict[str, int] = {}
        self._vectors = np.zeros((0, self.dim), np.float32)
        self._doc_rows: dict[str, np.ndarray] | None = None

    # -- the protocol ------------------------------------------------------------
    def upsert(self, ids: Sequence[str], vectors: np.ndarray, docs: Sequence[str]) -> None:
        ids, docs = list(ids), list(docs)
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise StoreError(f"vectors of shape {vectors.shape} for a store of {self.dim} dimensions")
        if len(ids) != len(docs) or len(ids) != len(vectors) or len(set(ids)) != len(ids):
            raise StoreError(f"upsert of {len(ids)} ids, {len(vectors)} vectors and {len(docs)} documents"
                             " (the ids must be distinct)")
        if not ids:
            return
        old = [(i, self._row[x]) for i, x in enumerate(ids) if x in self._row]
        new = [i for i, x in enumerate(ids) if x not in self._row]
        self._changed()
        if old:
            at, rows = map(list, zip(*old))
            changed = np.array(self._vectors)  # never write into an array handed out
            changed[rows] = vectors[at]
            self._vectors = changed
            for i, r in old:
                self._docs[r] = docs[i]
        if new:
            self._vectors = np.ascontiguousarray(np.vstack([self._vectors, vectors[new]]), dtype=np.float32)
            for i in new:
                self._row[ids[i]] = len(self._ids)
                self._ids.append(ids[i])
                self._docs.append(docs[i])

    def delete(self, ids: Iterable[str]) -> None:
        gone = {self._row[x] for x in ids if x in self._row}
        if not gone:
            return
        keep = [r for r in range(len(self._ids)) if r not in gone]
        self._set_rows(keep)

    def search(self, query: np.ndarray, k: int, filter: Collection[str] | None = None
               ) -> tuple[list[str], np.ndarray]:
        q = self._query(query)
        rows = self.rows_of(filter)
        if rows is None:
            return self._top(self.vectors @ q, None, k)
        return self._top(self.vectors[rows] @ q, rows, k)

    def fetch(self, ids: Sequence[str]) -> np.ndarray:  # StoreError (not KeyError) for an unknown id
        return self.vectors[self.rows(ids)]

    @property
    def meta(self) -> dict:
        return {"kind": self.kind, "dim": self.dim, "count": len(self._ids)}

    def __len__(self) -> int:
        return len(self._ids)

    # -- beyond the protocol -----------------------------------------------------
    @property
    def ids(self) -> list[str]:
        """The ids in row order (a copy)."""
        return list(self._ids)

    @property
    def docs(self) -> list[str]:
        return list(self._docs)

    @property
    def vectors(self) -> np.ndarray:
        """The (len, dim) float32 vectors in row order (do not write into it)."""
        return self._vectors

    def rows(self, ids: Sequence[str]) -> np.ndarray:
        """The rows of `ids`; StoreError naming the first unknown one."""
        try:
            return np.fromiter((self._row[x] for x in ids), dtype=np.int64, count=len(ids))
        except KeyError as exc:
            raise StoreError(f"no vector for id {exc.args[0]!r} in the store") from None

    def rows_of(self, docs: Collection[str] | None) -> np.ndarray | None:
        """The rows of the documents `docs` (None: all rows, given as None)."""
        if docs is None:
            return None
        if self._doc_rows is None:
            by_doc: dict[str, list[int]] = {}
            for r, d in enumerate(self._docs):
                by_doc.setdefault(d, []).append(r)
            self._doc_rows = {d: np.array(r, dtype=np.int64) for d, r in by_doc.items()}
        parts = [self._doc_rows[d] for d in set(docs) if d in self._doc_rows]
        return np.sort(np.concatenate(parts)) if parts else np.zeros(0, np.int64)

    def arrange(self, ids: Sequence[str]) -> None:
        """Put the rows in the order of `ids`, which must be exactly the ids held."""
        ids = list(ids)
        if ids == self._ids:
            return
        if len(ids) != len(self._ids) or set(ids) != self._row.keys():
            raise StoreError("arrange() needs exactly the ids the store holds")
        self._set_rows(self.rows(ids).tolist())

    def copy(self):
        """An independent store with the same rows (later changes to either leave the other alone)."""
        other = type(self).__new__(type(self))
        other.__dict__.update(self.__dict__)
        other._ids, other._docs, other._row = list(self._ids), list(self._docs), dict(self._row)
        other._doc_rows = None  # the FAISS index is shared until either changes (neither writes into it)
        return other

    def save(self, path: Path) -> None:
        """The vectors as one .npy (row order); written atomically."""
        def write(tmp: Path) -> None:
            with open(tmp, "wb") as f:
                np.save(f, self.vectors, allow_pickle=False)
        write_atomic(Path(path), write)

    @classmethod
    def load(cls, path: Path, ids: Sequence[str], docs: Sequence[str]) -> NumpyStore:
        vectors = np.load(path, allow_pickle=False)
        if vectors.dtype != np.float32 or vectors.ndim != 2:
            raise StoreError(f"{Path(path).name} holds {vectors.dtype} of {vectors.ndim} dimensions")
        store = cls(vectors.shape[1])
        store._fill(ids, vectors, docs)
        return store

    # -- inside --------------------------------------------------------------------
    def _fill(self, ids: Sequence[str], vectors: np.ndarray, docs: Sequence[str]) -> None:
        if len(ids) != len(vectors) or len(docs) != len(vectors):
            raise StoreError(f"{len(vectors)} vectors for {len(ids)} ids and {len(docs)} documents")
        self._ids, self._docs = list(ids), list(docs)
        self._row = {x: r for r, x in enumerate(self._ids)}
        if len(self._row) != len(self._ids):
            raise StoreError("the ids of a store must be distinct")
        self._vectors = vectors

    def _set_rows(self, rows: list[int]) -> None:
        self._changed()
        self._vectors = np.ascontiguousarray(self._vectors[rows], dtype=np.float32).reshape(-1, self.dim)
        self._ids = [self._ids[r] for r in rows]
        self._docs = [self._docs[r] for r in rows]
        self._row = {x: r for r, x in enumerate(self._ids)}

    def _changed(self) -> None:
        self._doc_rows = None

    def _query(self, query: np.ndarray) -> np.ndarray:
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        if q.shape[0] != self.dim:
            raise StoreError(f"a query of {q.shape[0]} dimensions for a store of {self.dim}")
        return q

    def _top(self, scores: np.ndarray, rows: np.ndarray | None, k: int) -> tuple[list[str], np.ndarray]:
        best = _best(scores, k)
        found = best if rows is None else rows[best]
        return [self._ids[r] for r in found.tolist()], np.asarray(scores[best], dtype=np.float32)


def _best(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the `k` highest `scores`, highest first (ties in position order)."""
    k = min(int(k), len(scores))
    if k <= 0:
        return np.zeros(0, np.int64)
    best = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    return best[np.argsort(-scores[best], kind="stable")]


class FaissStore(NumpyStore):
    """FAISS inner product: exact (IndexFlatIP) below `hnsw_threshold` vectors, HNSW from there.

    The FAISS index is built from the vectors on the first search after a change (or read with
    `load`); the vectors are also kept as a NumPy array, for `fetch` and exact filtered scoring.
    """

    HNSW_M = 32
    HNSW_EF_CONSTRUCTION = 80
    HNSW_EF_SEARCH = 256  # >= the 100 candidates asked for; recall@10 .99 real, .96 generated 100k
    CACHE_KEEP = 4

    def __init__(self, dim: int, hnsw_cache: Path | None = None, hnsw_threshold: int | None = None):
        super().__init__(dim)
        self.hnsw_cache = Path(hnsw_cache) if hnsw_cache is not None else None
        self.hnsw_threshold = int(HNSW_THRESHOLD if hnsw_threshold is None else hnsw_threshold)  # read now
        self._index = None  # built on first use after a change
        self.vectors_key: str | None = None  # a checksum naming the vectors (the HNSW cache file's name)

    @property
    def kind(self) -> str:
        return "faiss-hnsw" if len(self) >= self.hnsw_threshold else "faiss-flat"

    @property
    def index(self):
        """The FAISS index that is searched (built now if the rows changed since)."""
        if self._index is None:
            self._index = self._hnsw() if self.kind == "faiss-hnsw" else self._flat()
        return self._index

    def search(self, query: np.ndarray, k: int, filter: Collection[str] | None = None
               ) -> tuple[list[str], np.ndarray]:
        scores, rows = self.search_rows(query, k, self.rows_of(filter))
        return [self._ids[r] for r in rows.tolist()], scores

    def search_rows(self, query: np.ndarray, k: int, rows: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
        """(scores, rows) of the best `k`, best first, among `rows` (None: all)."""
        q = self._query(query)
        k = min(int(k), len(self) if rows is None else len(rows))
        if k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        if rows is not None and (len(rows) <= EXACT_FILTER_ROWS or self.kind == "faiss-flat"):
            scores = self.vectors[rows] @ q  # exact, and cheaper than a full search
            best = _best(scores, k)
            return np.asarray(scores[best], np.float32), rows[best]
        import faiss

        params = None
        if rows is not None:
            params = faiss.SearchParametersHNSW(sel=faiss.IDSelectorBatch(rows), efSearch=max(self.HNSW_EF_SEARCH, k))
        sims, found = self.index.search(q.reshape(1, -1), k, params=params)
        keep = found[0] >= 0
        return sims[0][keep], found[0][keep].astype(np.int64)

    def save(self, path: Path) -> None:
        """The index that is searched (flat or HNSW), rows in row order; written atomically."""
        write_atomic(Path(path), self.write)

    def write(self, path: Path) -> None:
        """faiss.write_index of the index that is searched into `path` (not atomic: see `save`)."""
        import faiss

        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path, ids: Sequence[str], docs: Sequence[str], hnsw_cache: Path | None = None,
             hnsw_threshold: int | None = None) -> FaissStore:
        """Read a file `save` wrote (or an index folder's flat vectors file of format 2-4)."""
        import faiss

        index = faiss.read_index(str(path))
        flat = faiss.downcast_index(index.storage) if isinstance(index, faiss.IndexHNSW) else index
        if not isinstance(flat, faiss.IndexFlat) or flat.metric_type != faiss.METRIC_INNER_PRODUCT:
            raise StoreError(f"{Path(path).name} is not a FAISS inner-product index of vectors")
        n, dim = flat.ntotal, flat.d
        vectors = np.zeros((0, dim), np.float32) if n == 0 else (
            faiss.rev_swig_ptr(flat.get_xb(), n * dim).reshape(n, dim).copy())
        store = cls(dim, hnsw_cache=hnsw_cache, hnsw_threshold=hnsw_threshold)
        store._fill(ids, vectors, docs)
        if isinstance(index, faiss.IndexHNSW) == (store.kind == "faiss-hnsw"):
            if isinstance(index, faiss.IndexHNSW):
                index.hnsw.efSearch = cls.HNSW_EF_SEARCH
            store._index = index  # searched as read; another kind is built on first use
        return store

    # -- inside --------------------------------------------------------------------
    def _changed(self) -> None:
        super()._changed()
        self._index, self.vectors_key = None, None

    def _flat(self):
        import faiss

        index = faiss.IndexFlatIP(self.dim)
        index.add(np.ascontiguousarray(self._vectors, dtype=np.float32))
        return index

    def _hnsw(self):
        import faiss

        path = self._cache_path()
        if path is not None and path.is_file():
            try:
                index = faiss.read_index(str(path))
                if isinstance(index, faiss.IndexHNSWFlat) and index.ntotal == len(self) and index.d == self.dim:
                    index.hnsw.efSearch = self.HNSW_EF_SEARCH
                    os.utime(path)
                    return index
            except (RuntimeError, OSError):  # damaged or unreadable: build it again
                pass
        index = faiss.IndexHNSWFlat(self.dim, self.HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = self.HNSW_EF_CONSTRUCTION
        index.add(np.ascontiguousarray(self._vectors, dtype=np.float32))
        index.hnsw.efSearch = self.HNSW_EF_SEARCH
        if path is not None:
            self._keep(index, path)
        return index

    def _cache_path(self) -> Path | None:
        """The cache file of the graph over these vectors, or None when caching is off."""
        import faiss

        if self.hnsw_cache is None:
            return None
        h = hashlib.blake2b(digest_size=16)
        h.update(f"{len(self)}:{self.dim}:{self.HNSW_M}:{self.HNSW_EF_CONSTRUCTION}:{faiss.__version__}".encode())
        if self.vectors_key:
            h.update(f"faiss-file:{self.vectors_key}".encode())
        else:
            h.update(memoryview(np.ascontiguousarray(self._vectors)).cast("B"))
        return self.hnsw_cache / f"hnsw-{h.hexdigest()}.faiss"

    def _keep(self, index, path: Path) -> None:
        import faiss

        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, lambda tmp: faiss.write_index(index, str(tmp)))
            old = sorted(path.parent.glob("hnsw-*.faiss"), key=lambda p: p.stat().st_mtime, reverse=True)
            for stale in old[self.CACHE_KEEP:]:
                stale.unlink(missing_ok=True)
        except (OSError, RuntimeError):  # a read-only or full disk only costs the next start time
            pass


def filled(store: VectorStore, clauses: Sequence, vectors: np.ndarray) -> VectorStore:
    """`store` with the vectors of `clauses` (in their order) upserted, keyed by clause_id, each
    with its doc_id."""
    if len(clauses):
        store.upsert([c.clause_id for c in clauses], vectors, [c.doc_id for c in clauses])
    return store


_KINDS = {"faiss": FaissStore, "numpy": NumpyStore}


def make_store(kind: str, dim: int, hnsw_cache: Path | None = None) -> NumpyStore:
    """An empty store: "faiss" (flat, HNSW from HNSW_THRESHOLD vectors; also "faiss-flat",
    "faiss-hnsw" as `meta` names them) or "numpy"."""
    name = "faiss" if kind in ("faiss-flat", "faiss-hnsw") else kind
    if name not in _KINDS:
        raise StoreError(f"unknown vector store {kind!r}; use one of {', '.join(sorted(_KINDS))}")
    if name == "faiss":
        threshold = 0 if kind == "faiss-hnsw" else HNSW_THRESHOLD
        return FaissStore(dim, hnsw_cache=hnsw_cache, hnsw_threshold=threshold)
    return NumpyStore(dim)
