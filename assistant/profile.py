"""Which agreement: each document's kind, date and names, and the documents a question names.

A corpus grows with related pages (press releases, news, reports about an agreement), so the
search needs to know, for each document:

- its **kind**: the sidecar's `kind` («avtale», «pressemelding», …), else inferred from the
  text's head: a `Kilde:` address whose path says what the page is (…/pressemeldinger/…,
  …/nyheter/…), regjeringen.no's «Publisert under:» / «Utgiver:» lines, or a title that
  starts «Avtale …». Kinds that are text *about* something (`ABOUT_KINDS`) give the ranker
  its `doc_about` feature (retrieve/features.py), whose weight is fitted like every other;
- its **date**: the sidecar's, else the first full date in the text's head, else a year in the
  source address; used to order a grouped reply (newest first) and as a name («avtalen fra 2012»);
- its **names**: the «quoted» names and the content words of its title, and its years (the
  date's, and every year of a range in the title: «2012–2015»).

`named_documents` reads a question for names: a compound «kvalitetsavtalen» (a title word of
the document + «avtale»), a quoted or multi-word name («Leve hele livet»), or a year next to
«avtale». The search is then limited to the documents named (search.py).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from .types import Document

__all__ = ["DocProfile", "profile_document", "named_documents", "english_heads", "ABOUT_KINDS", "is_agreement", "kind_label",
           "mentions_agreement"]

# kinds of text that are about something else (an agreement, a reform), not the thing itself
ABOUT_KINDS = frozenset({
    "pressemelding", "nyhet", "omtale", "artikkel", "rapport", "notat", "kronikk", "referat", "brev",
    "høringssvar", "sak", "innlegg", "news", "press release", "report", "article",
})
# a source address's path segment -> kind
_URL_KINDS = (
    ("pressemelding", "pressemelding"), ("press-release", "pressemelding"), ("nyhet", "nyhet"),
    ("aktuelt", "nyhet"), ("news", "nyhet"), ("rapport", "rapport"), ("report", "rapport"),
    ("horing", "høringssvar"), ("høring", "høringssvar"),
)
_MONTHS = {m: i for i, m in enumerate(
    "januar februar mars april mai juni juli august september oktober november desember".split(), 1)}
_DATE = re.compile(r"\b(\d{1,2})\.\s*(" + "|".join(_MONTHS) + r")\s+((?:19|20)\d\d)\b", re.I)
_ISO = re.compile(r"\b((?:19|20)\d\d)-(\d\d)-(\d\d)\b")
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")
_RANGE = re.compile(r"(?<!\d)((?:19|20)\d\d)\s*[-–—]\s*((?:19|20)\d\d)(?!\d)")
_QUOTED = re.compile(r"[«\"“]([^»\"”]{3,60})[»\"”]")
_WORD = re.compile(r"\w+")
# «kvalitetsavtalen», «samhandlingsavtale», «Leve hele livet-avtalen», nynorsk «avtala»
_COMPOUND = re.compile(r"(\w+?)-?(?:avtale|avtalen|avtalene|avtaler|avtala|avtalane|avtalar)\b")
_AGREEMENT_WORD = re.compile(r"\b(avtal\w*|\w+avtal\w*|agreements?)\b", re.I)
_HEAD = 800  # characters of a text's head read for kind and date
SHORT_TITLE = 6  # words: a title this short is also a name («Leve hele livet vedtatt i Stortinget»)


@dataclass(frozen=True)
class DocProfile:
    doc_id: str
    kind: str  # normalised: «avtale», «pressemelding», … or "" when unknown
    date: str  # ISO date or year, "" when unknown
    years: frozenset[str]
    title_stems: frozenset[str]
    names: tuple[str, ...]  # casefolded «quoted» names of two words or more, and the title if short

    @property
    def about(self) -> bool:
        return self.kind in ABOUT_KINDS

    def to_json(self) -> dict:
        return {"doc_id": self.doc_id, "kind": self.kind, "date": self.date, "years": sorted(self.years),
                "title_stems": sorted(self.title_stems), "names": list(self.names)}

    @classmethod
    def from_json(cls, d: dict) -> DocProfile:
        return cls(str(d["doc_id"]), str(d["kind"]), str(d["date"]), frozenset(map(str, d["years"])),
                   frozenset(map(str, d["title_stems"])), tuple(map(str, d["names"])))


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def mentions_agreement(text: str) -> bool:
    """The text speaks of an agreement («avtalen», «kvalitetsavtalen», «the agreement»)."""
    return _AGREEMENT_WORD.search(text) is not None


def kind_label(kind: str) -> str:
    """The sidecar's kind, normalised: «avtale (omtale av KS)» -> «avtale»."""
    words = _WORD.findall(_fold(kind))
    if not words:
        return ""
    return "press release" if words[:2] == ["press", "release"] else words[0]


def is_agreement(profile: DocProfile) -> bool:
    return profile.kind == "avtale" or profile.kind == "agreement"


def _source_address(text: str) -> str:
    first = text.lstrip().split("\n", 1)[0].strip()
    m = re.match(r"(?i)(kilde|source)\s*:\s*(\S+)", first)
    return m.group(2) if m else ""


def infer_kind(doc: Document) -> str:
    """A kind for a document without one in its sidecar; "" when nothing says."""
    url = _source_address(doc.text).casefold()
    if url:
        path = url.split("://", 1)[-1]
        for key, kind in _URL_KINDS:
            if key in path:
                return kind
    head = doc.text[:_HEAD]
    if re.search(r"(?m)^\s*(Publisert under|Utgiver|Publisert)\s*:", head):
        return "nyhet"
    if re.match(r"(?i)\s*(avtale|samarbeidsavtale|rammeavtale|agreement)\b", doc.title):
        return "avtale"
    return ""


def infer_date(doc: Document) -> str:
    head = doc.text[:_HEAD]
    m = _ISO.search(head)
    if m:
        return m.group(0)
    m = _DATE.search(head)
    if m:
        return f"{m.group(3)}-{_MONTHS[m.group(2).casefold()]:02d}-{int(m.group(1)):02d}"
    m = _YEAR.search(_source_address(doc.text))
    return m.group(1) if m else ""


def _years(title: str, date: str) -> frozenset[str]:
    years = set(_YEAR.findall(date[:4]))
    for a, b in _RANGE.findall(title):
        if int(a) <= int(b) <= int(a) + 20:
            years.update(str(y) for y in range(int(a), int(b) + 1))
    years.update(_YEAR.findall(title))
    return frozenset(years)


def profile_document(doc: Document, analyzer) -> DocProfile:
    kind = kind_label(doc.kind) or infer_kind(doc)
    date = doc.date or infer_date(doc)
    title = doc.title or ""
    names = [_fold(q) for q in _QUOTED.findall(title) if len(q.split()) >= 2]
    words = _WORD.findall(_fold(title))
    if 2 <= len(words) <= SHORT_TITLE:  # a short title is a name as a whole
        names.append(" ".join(words))
    return DocProfile(doc.doc_id, kind, date, _years(title, date), frozenset(analyzer.terms(title)),
                      tuple(dict.fromkeys(n for n in names if n)))


def _compound_heads(question: str, analyzer) -> list[str]:
    """The stems of the word before «avtale» in a compound: «kvalitetsavtalen» -> «kvalitet»."""
    heads = []
    for m in _COMPOUND.finditer(question):
        head = m.group(1)
        for h in (head, head[:-1] if head.endswith(("s", "e")) and len(head) > 4 else None):
            if h and len(h) >= 4:
                heads.append(analyzer.stem(h))
    return heads


_ENGLISH_HEAD = re.compile(r"\b([^\W\d_]{4,})\s+agreements?\b", re.I)


def english_heads(question: str) -> list[str]:
    """The word before «agreement» in an English question («the quality agreement» -> «quality»),
    which Norwegian writes as the head of a compound («kvalitetsavtalen»)."""
    return [m.group(1).lower() for m in _ENGLISH_HEAD.finditer(question)]


def named_documents(question: str, profiles: dict[str, DocProfile], analyzer,
                    translated_heads: Sequence[str] = ()) -> frozenset[str]:
    """The documents a question names, or an empty set when it names none (or every one).

    Each kind of evidence (a compound, a quoted or multi-word name, a year next to «avtale»)
    gives the documents it fits; the documents that every present kind of evidence fits are
    named. `translated_heads` are Norwegian words for an English question's `english_heads`
    («quality» -> «kvalitet»), evidence of the same kind as a compound.
    """
    text = _fold(question)
    found: list[set[str]] = []
    heads = _compound_heads(text, analyzer) + [analyzer.stem(_fold(h)) for h in translated_heads]
    if heads:
        hit = {d for d, p in profiles.items() if any(h in p.title_stems for h in heads)}
        if hit:
            found.append(hit)
    spaced = f" {' '.join(_WORD.findall(text))} "
    named = {d for d, p in profiles.items()
             if any(len(n.split()) >= 2 and f" {' '.join(_WORD.findall(n))} " in spaced
                    for n in p.names if len(n.split()) <= 6)}
    if named:
        found.append(named)
    if _AGREEMENT_WORD.search(text):
        years = set(_YEAR.findall(text))
        if years:
            hit = {d for d, p in profiles.items() if years & p.years}
            if hit:
                found.append(hit)
    if not found:
        return frozenset()
    docs = set.intersection(*found) or set.union(*found)
    return frozenset(docs) if len(docs) < len(profiles) else frozenset()
