"""The data types that flow through the pipeline: a document and its clauses."""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field

__all__ = ["Clause", "Document", "Hit"]


@dataclass(frozen=True)
class Document:
    """A source document: its extracted text (offsets point into it) and its metadata."""

    doc_id: str  # file stem, e.g. "ks-leve-hele-livet-2018"
    file: str  # file name inside the corpus folder
    text: str
    title: str
    date: str = ""
    kind: str = ""
    sha256: str = ""  # of the raw file bytes (and metadata sidecar)


@dataclass(frozen=True)
class Clause:
    """One citable unit of a document: a paragraph, a list item, a heading or a signature."""

    doc_id: str
    ordinal: int  # 1-based position among the document's clauses, for citing
    kind: str  # heading | paragraph | item | leadin | lines | signature
    text: str  # exactly document.text[start:end]
    start: int
    end: int
    headings: tuple[str, ...] = ()
    leadin: str = ""  # e.g. "Partene vil i fellesskap:" for a list item
    clause_id: str = field(default="")

    def __post_init__(self):
        if not self.clause_id:
            digest = hashlib.sha1(
                f"{self.doc_id}\0{self.start}\0{self.text}".encode()
            ).hexdigest()[:16]
            object.__setattr__(self, "clause_id", digest)

    @property
    def section(self) -> str:
        return " › ".join(self.headings)

    def indexed_text(self, title: str) -> str:
        """Text given to the search: title, heading path and lead-in give the clause context."""
        parts = [title, *self.headings]
        if self.leadin:
            parts.append(self.leadin)
        parts.append(self.text)
        seen, out = set(), []
        for p in parts:
            key = re.sub(r"\W", "", p.casefold())  # a heading that repeats the title adds nothing
            if key and key not in seen:
                seen.add(key)
                out.append(p)
        return "\n".join(out)

    def to_json(self) -> dict:
        d = asdict(self)
        d["headings"] = list(self.headings)
        return d

    @classmethod
    def from_json(cls, d: dict) -> Clause:
        return cls(**{**d, "headings": tuple(d.get("headings", ()))})


@dataclass(frozen=True)
class Hit:
    """A clause found for a question, with the scores that ranked it."""

    clause: Clause
    score: float  # fused score in [0, 1], higher is better
    dense: float = 0.0  # cosine similarity of question and clause
    lexical: float = 0.0  # BM25 score normalised by the best in the result
    matched_terms: tuple[str, ...] = ()
    passage_start: int = -1  # the clause in context: neighbouring clauses up to ~600 characters
    passage_end: int = -1
