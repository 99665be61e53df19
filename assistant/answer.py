"""Present: turn search hits into an answer that quotes the agreements, and format it.

Nothing here invents text: the lead of an answer is the sentence the fitted sentence model
chose among the top clauses (with its list's lead-in, or a lead-in with its items), quoted,
and every clause is shown with its source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .lang import detect_language
from .search import SearchResult
from .types import Document, Hit

__all__ = ["Answer", "Group", "answers_question", "build_answer", "detect_language", "format_answer_text",
           "lead_first", "result_row", "section_path", "source_label"]

TEXTS = {
    "nb": {
        "no_answer": "Avtalene sier ikke noe om dette.",
        "related": "Disse avsnittene ligner mest, men svarer ikke direkte:",
        "unsure": "Jeg er ikke sikker på at avtalene svarer på dette.",
        "related_unsure": "Disse avsnittene ligner mest – se om de svarer:",
        "answer": "Dette står i avtalene:",
        "grouped": "Flere avtaler svarer på dette, den nyeste først:",
        "also": "Kanskje også dette:",
        "about_note": "Avtaleteksten svarer ikke på dette; svaret er hentet fra en side om avtalen ({kind}).",
        "uncalibrated": "Modellen {model} har ingen egen kalibrering: rekkefølgen og «sier ikke noe om» er mindre sikre.",
        "sources": "Kilder",
        "clause": "avsnitt",
        "chars": "tegn",
        "of": "av",
    },
    "nn": {
        "no_answer": "Avtalane seier ikkje noko om dette.",
        "related": "Desse avsnitta liknar mest, men svarer ikkje direkte:",
        "unsure": "Eg er ikkje sikker på at avtalane svarer på dette.",
        "related_unsure": "Desse avsnitta liknar mest – sjå om dei svarer:",
        "answer": "Dette står i avtalane:",
        "grouped": "Fleire avtalar svarer på dette, den nyaste først:",
        "also": "Kanskje også dette:",
        "about_note": "Avtaleteksten svarer ikkje på dette; svaret er henta frå ei side om avtalen ({kind}).",
        "uncalibrated": "Modellen {model} har ikkje eiga kalibrering: rekkjefølgja og «seier ikkje noko om» er mindre sikre.",
        "sources": "Kjelder",
        "clause": "avsnitt",
        "chars": "teikn",
        "of": "av",
    },
    "en": {
        "no_answer": "The agreements do not say anything about this.",
        "related": "These clauses are the closest, but do not answer it directly:",
        "unsure": "I am not sure that the agreements answer this.",
        "related_unsure": "These clauses are the closest – see whether they answer it:",
        "answer": "This is what the agreements say:",
        "grouped": "Several agreements answer this, the newest first:",
        "also": "Perhaps also this:",
        "about_note": "The agreement's own text does not answer this; the answer is from a page about it ({kind}).",
        "uncalibrated": "The model {model} has no calibration of its own: the order and «not covered» are less sure.",
        "sources": "Sources",
        "clause": "clause",
        "chars": "characters",
        "of": "of",
    },
}


@dataclass
class Group:
    """What one agreement says, in a reply grouped by agreement."""

    doc_id: str
    title: str
    date: str
    lead: list[str]
    hit: Hit  # the clause the lead is quoted from, with its source

    def to_json(self) -> dict:
        c = self.hit.clause
        return {"doc_id": self.doc_id, "title": self.title, "date": self.date, "lead": self.lead,
                "ordinal": c.ordinal, "start": c.start, "end": c.end}


@dataclass
class Answer:
    question: str
    search_query: str  # the question as searched (with conversation context for follow-ups)
    answered: bool
    language: str
    lead: list[str]  # sentences quoted from the best clause (empty when not answered)
    hits: list[Hit]
    documents: dict[str, Document]
    answerable: float = 0.0
    follow_up: bool = False
    notes: list[str] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)  # one per agreement that answers, newest first
    also: Group | None = None  # a second quote, when the lead alone is less likely than not to answer
    unsure: bool = False  # not answered, but above the firm level: «not sure», not «the agreements do not say»

    @property
    def read_first(self) -> str:
        """The text a person reads first: the quoted lead, or each agreement's quote when grouped."""
        if self.groups:
            return " ".join(" ".join(g.lead) for g in self.groups)
        return " ".join([*self.lead, *(self.also.lead if self.also else [])])

    @property
    def texts(self) -> dict[str, str]:
        return TEXTS[self.language]

    @property
    def refusal_keys(self) -> tuple[str, str]:
        """The TEXTS keys of a refusal's first line and of the line above its closest clauses."""
        return ("unsure", "related_unsure") if self.unsure else ("no_answer", "related")

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "search_query": self.search_query,
            "answered": self.answered,
            "answerable": round(self.answerable, 4),
            "unsure": self.unsure,
            "language": self.language,
            "lead": self.lead,
            "groups": [g.to_json() for g in self.groups],
            "also": self.also.to_json() if self.also else None,
            "notes": self.notes,
            "clauses": [
                {
                    "doc": self.documents[h.clause.doc_id].file,
                    "title": self.documents[h.clause.doc_id].title,
                    "date": self.documents[h.clause.doc_id].date,
                    "section": section_path(h, self.documents[h.clause.doc_id]),
                    "ordinal": h.clause.ordinal,
                    "kind": h.clause.kind,
                    "leadin": h.clause.leadin,
                    "text": h.clause.text,
                    "start": h.clause.start,
                    "end": h.clause.end,
                    "score": round(h.score, 4),
                    "clause_id": h.clause.clause_id,
                }
                for h in self.hits
            ],
        }


def _same(a: str, b: str) -> bool:
    return re.sub(r"\W", "", a.casefold()) == re.sub(r"\W", "", b.casefold())


def section_path(hit: Hit, doc: Document) -> str:
    """The clause's heading path, without a heading that only repeats the document title."""
    return " › ".join(h for h in hit.clause.headings if not _same(h, doc.title))


def source_label(hit: Hit, doc: Document, language: str = "nb") -> str:
    t = TEXTS[language]
    parts = [doc.title]
    if doc.date:
        parts.append(doc.date)
    section = section_path(hit, doc)
    if section:
        parts.append(section)
    parts.append(f"{t['clause']} {hit.clause.ordinal}")
    return " · ".join(parts)


def answers_question(result: SearchResult, threshold: float) -> bool:
    """The search found a sentence to quote and the abstention model says the documents answer."""
    return bool(result.hits) and bool(result.lead) and result.answerable >= threshold


def build_answer(question: str, search_query: str, result: SearchResult, documents: dict[str, Document],
                 threshold: float, follow_up: bool = False) -> Answer:
    """The answer: the quoted lead (chosen by the sentence model) when the abstention model says
    the documents answer, else «not covered» with the nearest clauses. When the lead alone is less
    likely than not to hold the answer, the model's next sentence follows as a second quote with
    its own source (`Answer.also`)."""
    language = result.language if result.language in TEXTS else "nb"
    answered = answers_question(result, threshold)
    hits = lead_first(result) if answered else result.hits
    also = None
    if answered and result.also and result.also_clause is not None:
        c = result.also_clause
        doc = documents[c.doc_id]
        also = Group(c.doc_id, doc.title, doc.date, list(result.also), Hit(c, 0.0))
    unsure = not answered and bool(hits) and 0 < result.firm <= result.answerable
    return Answer(question, search_query, answered, language, list(result.lead) if answered else [], hits,
                  documents, result.answerable, follow_up, also=also, unsure=unsure)


def lead_first(result: SearchResult) -> list[Hit]:
    """The hits with the one whose passage holds the quoted lead first (the answer's own source)."""
    lead = result.lead_clause
    if lead is None:
        return result.hits
    for i, h in enumerate(result.hits):
        if h.clause.doc_id == lead.doc_id and h.passage_start <= lead.start and lead.end <= h.passage_end:
            return [h, *result.hits[:i], *result.hits[i + 1 :]]
    return result.hits


def result_row(hit: Hit, doc: Document, clauses_only: bool = False) -> dict:
    """One result in the format of the evaluation scorer (`assistant retrieve`, the benchmark)."""
    start, end = (hit.clause.start, hit.clause.end) if clauses_only else (hit.passage_start, hit.passage_end)
    return {"doc": doc.file, "text": doc.text[start:end], "start": start, "end": end,
            "clause_start": hit.clause.start, "clause_end": hit.clause.end, "ordinal": hit.clause.ordinal}


def format_answer_text(answer: Answer) -> str:
    """Plain text with citations: for the terminal, for copying and for export."""
    t = answer.texts
    lines = [f"Question: {answer.question}" if answer.language == "en" else f"Spørsmål: {answer.question}", ""]
    if answer.answered and answer.groups:
        lines.append(t["grouped"])
        for g in answer.groups:
            lines.append(f"  {g.title}" + (f" ({g.date})" if g.date else "") + ":")
            lines.extend(f"    «{s}»" for s in g.lead)
    elif answer.answered:
        lines.append(t["answer"])
        lines.extend(f"  «{s}»" for s in answer.lead)
        if answer.also:
            a = answer.also
            lines.append(f"{t['also']} ({source_label(a.hit, answer.documents[a.doc_id], answer.language)})")
            lines.extend(f"  «{s}»" for s in a.lead)
    else:
        label, related = answer.refusal_keys
        lines.append(t[label])
        if answer.hits:
            lines.append(t[related])
    lines.extend(f"({n})" for n in answer.notes)
    lines.append("")
    lines.append(f"{t['sources']}:")
    for n, hit in enumerate(answer.hits, 1):
        doc = answer.documents[hit.clause.doc_id]
        lines.append(f"[{n}] {source_label(hit, doc, answer.language)} ({doc.file}, "
                     f"{t['chars']} {hit.clause.start}-{hit.clause.end})")
        if hit.clause.leadin:
            lines.append(f"    {hit.clause.leadin}")
        for ln in " ".join(hit.clause.text.split()).splitlines() or [""]:
            lines.append(f"    {ln}")
    return "\n".join(lines).rstrip() + "\n"
