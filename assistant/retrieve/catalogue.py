"""The clause catalogue: where each clause is, by id, by row and by (document, ordinal).

The retrievers return candidates keyed by `clause_id`; the features and the passages work on rows
(positions in the index's clause list, the order of its vectors). Neighbours are the clauses
(doc_id, ordinal ± 1), never just row ± 1.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from ..types import Clause

__all__ = ["Catalogue"]


class Catalogue:
    def __init__(self, clauses: Sequence[Clause]):
        self.clauses = clauses
        self.ids = [c.clause_id for c in clauses]
        self.row_of = dict(zip(self.ids, range(len(self.ids))))
        docs = [c.doc_id for c in clauses]
        self.doc_ids = sorted(set(docs))
        self.doc_pos = {d: i for i, d in enumerate(self.doc_ids)}
        self.clause_doc = np.fromiter(map(self.doc_pos.__getitem__, docs), dtype=np.int64, count=len(docs))
        ordinal = np.fromiter((c.ordinal for c in clauses), dtype=np.int64, count=len(docs))
        # neighbours: in (document, ordinal) order, the next row is (doc_id, ordinal + 1) when it is that
        order = np.lexsort((ordinal, self.clause_doc))
        a, b = order[:-1], order[1:]
        linked = (self.clause_doc[a] == self.clause_doc[b]) & (ordinal[b] == ordinal[a] + 1)
        n = len(docs)
        self.prev = np.full(n, -1, dtype=np.int64)  # row of (doc_id, ordinal - 1), or -1
        self.next = np.full(n, -1, dtype=np.int64)  # row of (doc_id, ordinal + 1), or -1
        self.next[a[linked]] = b[linked]
        self.prev[b[linked]] = a[linked]

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self, ids: Iterable[str]) -> np.ndarray:
        """Rows of the given clause ids (ids not in the catalogue are left out)."""
        return np.array([r for r in (self.row_of.get(i) for i in ids) if r is not None], dtype=np.int64)

    def rows_of_docs(self, positions: np.ndarray) -> np.ndarray:
        """The rows of every clause of the documents at `positions` (see `doc_pos`)."""
        return np.flatnonzero(np.isin(self.clause_doc, positions))

    def following(self, row: int) -> Iterator[int]:
        """The rows after `row` in its document, in order."""
        return self._walk(self.next, row)

    def preceding(self, row: int) -> Iterator[int]:
        """The rows before `row` in its document, nearest first."""
        return self._walk(self.prev, row)

    @staticmethod
    def _walk(links: np.ndarray, row: int) -> Iterator[int]:
        r = int(links[row])
        while r >= 0:
            yield r
            r = int(links[r])
