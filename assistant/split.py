"""Structure-aware splitting of a document into clauses.

Headings (Markdown ``#`` or a short line introducing longer text), paragraphs, list items
(with the lead-in line that introduces their list, e.g. «Partene vil i fellesskap:») and
runs of short lines (signatures, addresses) each become a Clause that knows its heading
path and its exact character offsets into the document text. Paragraphs longer than
MAX_CHARS are cut at sentence ends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .types import Clause, Document

__all__ = ["MAX_CHARS", "sentence_spans", "sentences", "split_document"]

MAX_CHARS = 900  # longer paragraphs are cut at sentence ends into pieces of about this size
SHORT_LINE = 60

_MD_HEADING = re.compile(r"^(#{1,6})[ \t]+(?=\S)")
_BULLET = re.compile(r"^(?:[-*•–·▪]|\d{1,3}[.)]|[a-zA-Z][.)])[ \t]+(?=\S)")
_END_PUNCT = tuple(".,;:!?…")
# a sentence ends at . ! ? … before a capital or digit, but not after an initial («D.W. Griffith»,
# «J. Trump»: one capital letter standing alone before its full stop)
_SENTENCE_END = re.compile(
    r"(?<=[.!?…])(?<!(?<![^\W\d_])[A-ZÆØÅÄÖÜÉ]\.)[»”\"')]*\s+(?=[«\"“(–-]?[A-ZÆØÅÄÖÜÉ0-9])")


@dataclass
class _Line:
    start: int  # offset of the content (after any marker)
    end: int  # offset after the content (trailing blanks excluded)
    text: str
    kind: str  # heading | item | text
    level: int = 0
    blank_before: bool = False

    @property
    def length(self) -> int:
        return self.end - self.start


def _lines(text: str) -> list[_Line]:
    out, pos, blank = [], 0, False
    for raw in text.splitlines(keepends=True):
        body = raw.rstrip("\r\n")
        stripped = body.strip()
        if not stripped:
            blank = True
            pos += len(raw)
            continue
        lead = len(body) - len(body.lstrip())
        content = body[lead:]
        kind, level = "text", 0
        m = _MD_HEADING.match(content)
        if m:
            kind, level = "heading", len(m.group(1))
        else:
            m = _BULLET.match(content)
            if m:
                kind = "item"
        skip = m.end() if m else 0
        start = pos + lead + skip
        end = pos + lead + len(content.rstrip())
        out.append(_Line(start, end, text[start:end], kind, level, blank))
        blank = False
        pos += len(raw)
    return out


def _is_caps(s: str) -> bool:
    letters = [c for c in s if c.isalpha()]
    return len(letters) >= 4 and sum(c.isupper() for c in letters) >= 0.9 * len(letters)


def _looks_like_heading(line: _Line, nxt: _Line | None) -> bool:
    s = line.text
    if line.kind != "text" or nxt is None or not any(c.isalpha() for c in s):
        return False
    if _is_caps(s) and line.length <= 200 and not s.endswith((".", ",", ";")):
        return True
    if line.length > 120 or s.endswith(_END_PUNCT) or not (s[0].isupper() or s[0].isdigit() or s[0] in "«\""):
        return False
    return nxt.kind == "heading" or nxt.length >= max(80, 2 * line.length) or (
        nxt.kind == "item" and nxt.blank_before is False and line.blank_before
    )


def _continues(prev: _Line, line: _Line) -> bool:
    """A hard-wrapped line that carries on the previous paragraph or item."""
    return (
        line.kind == "text"
        and not line.blank_before
        and not prev.text.endswith((".", "!", "?", ":", "…"))
        and (line.text[0].islower() or line.text[0] in ",;)")
        and prev.length >= 40
    )


def _sentence_pieces(text: str, start: int) -> list[tuple[int, int]]:
    """Cut [start, start+len(text)) at sentence ends into spans of at most ~MAX_CHARS."""
    if len(text) <= MAX_CHARS:
        return [(start, start + len(text))]
    cuts = [m.end() for m in _SENTENCE_END.finditer(text)]
    spans, a = [], 0
    for i, c in enumerate(cuts):
        nxt = cuts[i + 1] if i + 1 < len(cuts) else len(text)
        if nxt - a > MAX_CHARS and c - a >= 200:
            spans.append((a, c))
            a = c
    spans.append((a, len(text)))
    out = []
    for a, b in spans:
        seg = text[a:b]
        seg_end = a + len(seg.rstrip())
        out.extend(_hard_cut(text, a, seg_end, start))
    return out


def _hard_cut(text: str, a: int, b: int, base: int) -> list[tuple[int, int]]:
    """A sentence with no usable ends (e.g. a table dump) is cut at spaces."""
    out = []
    while b - a > 2 * MAX_CHARS:
        cut = text.rfind(" ", a + MAX_CHARS // 2, a + MAX_CHARS)
        cut = cut if cut > a else a + MAX_CHARS
        out.append((base + a, base + len(text[:cut].rstrip())))
        a = cut
        while a < b and text[a].isspace():
            a += 1
    out.append((base + a, base + b))
    return out


class _Builder:
    def __init__(self, doc: Document):
        self.doc = doc
        self.clauses: list[Clause] = []
        self.path: list[tuple[int, str]] = []
        self.leadin = ""

    def add(self, kind: str, start: int, end: int, headings=None) -> None:
        text = self.doc.text[start:end]
        if not text.strip():
            return
        self.clauses.append(Clause(
            doc_id=self.doc.doc_id,
            ordinal=len(self.clauses) + 1,
            kind=kind,
            text=text,
            start=start,
            end=end,
            headings=tuple(h for _, h in self.path) if headings is None else headings,
            leadin=self.leadin if kind == "item" else "",
        ))

    def heading(self, level: int, line: _Line) -> None:
        self.path = [(lv, h) for lv, h in self.path if lv < level]
        self.add("heading", line.start, line.end, headings=tuple(h for _, h in self.path))
        self.path.append((level, " ".join(line.text.split())))
        self.leadin = ""


def split_document(doc: Document) -> list[Clause]:
    """Split a document into clauses, in document order."""
    lines = _lines(doc.text)
    b = _Builder(doc)
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else None
        if line.kind == "heading":
            b.heading(line.level, line)
            i += 1
            continue
        if _looks_like_heading(line, nxt):
            b.heading(1 if _is_caps(line.text) else 2, line)
            i += 1
            continue
        # gather the unit: the line plus hard-wrapped continuation lines
        j = i + 1
        while j < len(lines) and _continues(lines[j - 1], lines[j]):
            j += 1
        start, end = line.start, lines[j - 1].end
        text = doc.text[start:end]
        is_list = line.kind == "item" and (
            b.leadin or (nxt is not None and nxt.kind == "item") or (i > 0 and lines[i - 1].kind == "item")
        )
        if is_list:
            b.add("item", start, end)
        elif text.rstrip().endswith(":") and j < len(lines) and lines[j].kind == "item":
            b.leadin = ""
            b.add("leadin", start, end)
            b.leadin = " ".join(text.split())
        elif _is_short_run_start(lines, i, j):
            k = j
            while k < len(lines) and _short_plain(lines[k]) and not lines[k].blank_before:
                k += 1
            b.leadin = ""
            b.add("lines", start, lines[k - 1].end)
            j = k
        else:
            b.leadin = ""
            for a, z in _sentence_pieces(text, start):
                b.add("paragraph", a, z)
        i = j
    return _mark_signatures(b.clauses)


_PLACE_DATE = re.compile(
    r"^[A-ZÆØÅ][\w .\-]{1,40},?\s+(den\s+)?\d{1,2}\.\s*\w+\s+\d{4}\.?$|^[A-ZÆØÅ][\w .\-]{1,40},\s*\d{1,2}\.\d{1,2}\.\d{2,4}$"
)


def _mark_signatures(clauses: list[Clause]) -> list[Clause]:
    """A place-and-date line followed only by short name/role blocks is the signature block.

    Its clauses become kind "signature" with the place and date as their lead-in, so that
    «who signed?» finds them and the card says what they are.
    """
    from dataclasses import replace

    for i, c in enumerate(clauses):
        if c.kind in ("paragraph", "lines") and _PLACE_DATE.match(" ".join(c.text.split())):
            rest = clauses[i + 1 :]
            if rest and all(r.kind == "lines" or (r.kind == "paragraph" and len(r.text) < SHORT_LINE) for r in rest):
                label = f"Signert (underskrift), {' '.join(c.text.split())}"
                return clauses[:i] + [replace(c, kind="signature", headings=())] + [
                    replace(r, kind="signature", leadin=label, headings=()) for r in rest
                ]
    return clauses


def _short_plain(line: _Line) -> bool:
    return line.kind == "text" and line.length < SHORT_LINE and not line.text.endswith(".")


def _is_short_run_start(lines: list[_Line], i: int, j: int) -> bool:
    return (
        j == i + 1
        and _short_plain(lines[i])
        and j < len(lines)
        and _short_plain(lines[j])
        and not lines[j].blank_before
    )


def sentence_spans(text: str, base: int = 0) -> list[tuple[int, int]]:
    """Sentences of a clause as (start, end) offsets (plus `base`): cut at . ! ? … before a capital
    or digit (not «31. desember», not after an initial: «D.W. Griffith»), and at line ends; blanks around each sentence excluded."""
    spans = []
    pos = 0
    for line in text.splitlines(keepends=True):
        cuts = [m.start() + len(m.group(0).rstrip()) for m in _SENTENCE_END.finditer(line)]
        a = 0
        for c in cuts + [len(line)]:
            seg = line[a:c]
            lead = len(seg) - len(seg.lstrip())
            body = seg.strip()
            if body:
                spans.append((base + pos + a + lead, base + pos + a + lead + len(body)))
            a = c
        pos += len(line)
    return spans


def sentences(text: str) -> list[str]:
    """The sentences of a clause, each on one line."""
    return [" ".join(text[a:b].split()) for a, b in sentence_spans(text)]
