"""Composing the reply from a search: the seam between finding clauses and saying what they say.

`Extractive` (the default) quotes the sentence the fitted sentence model chose (answer.py's
`build_answer`). Another composer, e.g. a generative step added later, implements `Composer`; whatever
it returns passes `check_answer` before anyone sees it: every clause it cites is one of the search's
hits (by clause_id) and every quote is a substring of its source document, whitespace aside. A reply
that fails is refused with an AnswerError, never shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Protocol, runtime_checkable

from .answer import Answer, build_answer
from .errors import AnswerError
from .search import SearchResult
from .types import Document

__all__ = ["Composer", "Extractive", "check_answer"]


@runtime_checkable
class Composer(Protocol):
    def compose(self, question: str, search_query: str, result: SearchResult, documents: dict[str, Document],
                threshold: float, follow_up: bool = False) -> Answer: ...


class Extractive:
    """Quote the chosen sentence (with its lead-in or items) and show the hits with their sources."""

    def compose(self, question: str, search_query: str, result: SearchResult, documents: dict[str, Document],
                threshold: float, follow_up: bool = False) -> Answer:
        return build_answer(question, search_query, result, documents, threshold, follow_up=follow_up)


def _flat(text: str) -> str:
    return " ".join(text.split())


_flat_document = lru_cache(maxsize=32)(_flat)  # a cited document once, not at every answer (~8 ms at 400 kB)


def check_answer(answer: Answer, results: Iterable[SearchResult]) -> Answer:
    """`answer` unchanged when every clause it cites is a hit (or the quoted clause) of one of the
    searches `results` it was composed from, and every quote is in a cited document; else AnswerError."""
    found = set()
    for r in results:
        found |= {h.clause.clause_id for h in r.hits}
        found |= {c.clause_id for c in (r.lead_clause, r.also_clause) if c is not None}
    quoted = [*answer.groups, *([answer.also] if answer.also else [])]
    cited = [h.clause for h in answer.hits] + [g.hit.clause for g in quoted]
    for c in cited:
        if c.clause_id not in found:
            raise AnswerError(f"the reply cites clause {c.clause_id}, which the search did not find",
                              "answer.unknown_citation", clause_id=c.clause_id)
    texts = [_flat_document(answer.documents[d].text) for d in {c.doc_id for c in cited} if d in answer.documents]
    for q in list(answer.lead) + [s for g in quoted for s in g.lead]:
        q = _flat(q.removeprefix("– "))
        if q and not any(q in t for t in texts):
            raise AnswerError(f"the reply quotes text that is not in its sources: {q[:60]!r}", "answer.not_quoted")
    return answer
