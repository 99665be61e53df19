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
        self.row_of = {cid: r for r, cid in enumerate(self.ids)}
        self.doc_ids = sorted({c.doc_id for c in clauses})
        self.doc_pos = {d: i for i, d in enumerate(self.doc_ids)}
        self.clause_doc = np.array([self.doc_pos[c.doc_id] for c in clauses], dtype=np.int64)
        at = {(c.doc_id, c.ordinal): r for r, c in enumerate(clauses)}
        n = len(clauses)
        self.prev = np.full(n, -1, dtype=np.int64)  # row of (doc_id, ordinal - 1), or -1
        self.next = np.full(n, -1, dtype=np.int64)  # row of (doc_id, ordinal + 1), or -1
        for r, c in enumerate(clauses):
            self.prev[r] = at.get((c.doc_id, c.ordinal - 1), -1)
            self.next[r] = at.get((c.doc_id, c.ordinal + 1), -1)

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
        r = int(self.next[row])
        while r >= 0:
            yield r
            r = int(self.next[r])
