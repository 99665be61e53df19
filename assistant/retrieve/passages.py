"""Passages: a hit shown in context, and the answer sentence quoted with what it needs.

A hit grows from its clause by neighbouring clauses of the same document, (doc_id, ordinal ± 1)
from the catalogue, the side closer to the question first, up to `limit` characters. The answer
sentence is quoted with its lead-in when it is a list item, with its items when it is a lead-in, and
with the whole signature when it is a line of one.
"""

from __future__ import annotations

from itertools import takewhile

import numpy as np

from ..types import Clause
from .catalogue import Catalogue

__all__ = ["grow", "quote"]

MAX_SIGNATURE_PARTS = 8  # a bound on what a signature quotes (place and date, and the signatories)


def grow(row: int, catalogue: Catalogue, similarity, limit: int) -> tuple[int, int]:
    """The first and last row of the passage around `row`; `similarity(rows)` scores neighbours."""
    clauses = catalogue.clauses
    first = last = row
    while True:
        options = [int(r) for r in (catalogue.prev[first], catalogue.next[last]) if r >= 0]
        if not options:
            return first, last
        scores = similarity(np.array(options, dtype=np.int64))
        grown = False
        for _, j in sorted(zip(scores.tolist(), options), reverse=True):
            a, b = (j, last) if j == catalogue.prev[first] else (first, j)
            if clauses[b].end - clauses[a].start <= limit:
                first, last, grown = a, b, True
                break
        if not grown:
            return first, last


def quote(row: int, sentence: str, catalogue: Catalogue) -> tuple[list[str], Clause]:
    """The answer sentence (from the clause at `row`) as quoted: a list item comes with its lead-in,
    a lead-in with its items, a line of a signature with the whole signature (place and date, each
    signatory's name and title: a name says little without its title, nor one signatory without the
    others)."""
    c = catalogue.clauses[row]
    sentence = " ".join(sentence.split())
    if c.kind == "signature":
        def signed(rows):
            return takewhile(lambda r: catalogue.clauses[r].kind == "signature", rows)

        before = list(signed(catalogue.preceding(row)))[::-1]
        rows = [*before, row, *signed(catalogue.following(row))][:MAX_SIGNATURE_PARTS]
        return [" ".join(line.split()) for r in rows for line in catalogue.clauses[r].text.splitlines()
                if line.strip()], c  # each line as written (a quote is never text of our own)
    if c.kind == "item" and c.leadin:
        return [c.leadin, sentence], c
    if c.kind == "leadin":
        items = []
        for r in catalogue.following(row):
            nxt = catalogue.clauses[r]
            if nxt.kind != "item" or nxt.leadin != " ".join(c.text.split()):
                break
            items.append("– " + " ".join(nxt.text.split()))
        return [sentence, *items], c
    return [sentence], c
