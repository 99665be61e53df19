"""«Avtalen i korte trekk»: a card of facts per document, each a clause quoted from it.

Rows: parties, signed (date and place), signatories, period of validity, termination,
purpose, main commitments. Each row is found with the assistant's own retrieval restricted
to the one document (`restrict_doc`, as for a follow-up) and a probe question, quoting the
answer sentence the assistant chooses,
and is kept only when the search says the document answers it (`answerable` at or above
`config.abstain_threshold`, the rule that decides «Avtalene sier ikke noe om dette» for a
user's question). Signature blocks (clauses of kind "signature") give the signatories and
the place and date of signing; the section headings (kind "heading") with their first line
give the main commitments.

Computed when the index is built and stored beside it in `facts.json` (written atomically),
keyed to the manifest's checksum (the index generation); a document's rows are reused
while its file hash, the model and the threshold are the same.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path

import numpy as np

from .files import write_atomic
from .index import IndexData
from .search import Analyzer, Searcher
from .split import sentences as _sentences
from .types import Clause

__all__ = ["FACTS_FILE", "ROWS", "compute_facts", "is_overview_question", "load_facts", "save_facts", "update_facts"]

log = logging.getLogger("avtaleassistenten")

FACTS_FILE = "facts.json"
FORMAT = 1

# row key -> (label, probe questions); the best-answered probe gives the row
PROBES: dict[str, tuple[str, tuple[str, ...]]] = {
    "parties": ("Parter", ("Hvem er partene i avtalen? Avtale mellom hvem?", "Who are the parties to the agreement?")),
    "signed": ("Undertegnet", ("Når og hvor ble avtalen undertegnet eller signert?",
                               "When and where was the agreement signed?")),
    "validity": ("Gyldighet", ("Hvor lenge gjelder avtalen? Avtaleperiode og varighet.",
                               "How long does the agreement last? Period of validity.")),
    "termination": ("Oppsigelse", ("Hvordan kan avtalen sies opp? Oppsigelse og varsel.",
                                   "How can the agreement be terminated? Notice of termination.")),
    "purpose": ("Formål", ("Hva er formålet med avtalen? Hva er målet?", "What is the purpose and aim of the agreement?")),
}
ROWS = ("parties", "signed", "signatories", "validity", "termination", "purpose", "commitments")
LABELS = {**{k: v[0] for k, v in PROBES.items()}, "signatories": "Undertegnet av", "commitments": "Hovedpunkter"}
MAX_COMMITMENTS = 8
# «Avtale mellom regjeringen og KS …», «Agreement between X and Y»: the parties, named where the agreement begins
# or «KS og regjeringen undertegnet … en avtale», «X and Y signed an agreement»
_BETWEEN = re.compile(r"\b(mellom|between)\s+\S.{0,80}?\s(og|and)\s+\S", re.I)
_SIGNED_BY = re.compile(r"^\S.{0,60}?\s(og|and)\s+\S.{0,40}?\s(undertegnet|underskrev|inngikk|signerte|har inngått|"
                        r"har undertegnet|signed|entered into|concluded)\b.*\b(avtale|avtala|agreement)", re.I)
FIRST_CLAUSES = 3
_DATE = re.compile(r"\b(1[89]|20)\d\d\b")
_VERSION = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]  # rows change when this file does


def _quote(clause: Clause, text: str) -> dict:
    return {"ordinal": clause.ordinal, "start": clause.start, "end": clause.end, "text": text.strip()}


def _first_line(clause: Clause) -> str:
    line = clause.text.strip().splitlines()[0] if clause.text.strip() else ""
    m = re.search(r"(?<=[.!?])\s+(?=[A-ZÆØÅ«\-–])", line)
    return line[: m.start()] if m and m.start() >= 30 else line


def _structure_rows(clauses: list[Clause]) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {}
    for c in clauses[:FIRST_CLAUSES]:
        sentence = next((x for x in _sentences(c.text) if _BETWEEN.search(x) or _SIGNED_BY.search(x)), "")
        if sentence:
            rows["parties"] = [_quote(c, sentence)]
            break
    signatures = [c for c in clauses if c.kind == "signature"]
    dated = [c for c in signatures if _DATE.search(c.text)]
    if dated:
        rows["signed"] = [_quote(dated[0], " ".join(dated[0].text.split()))]
    names = [c for c in signatures if c not in dated]
    if names:
        rows["signatories"] = [_quote(c, " – ".join(x.strip() for x in c.text.splitlines() if x.strip())) for c in names]
    headings = [c for c in clauses if c.kind == "heading"]
    parents = {h for c in clauses for h in c.headings}
    # a heading over every other heading is the document's title, not a section
    sections = [h for h in headings
                if not (h.text in parents and all(h.text in o.headings for o in headings if o is not h))]
    by_ordinal = {c.ordinal: c for c in clauses}
    commitments = []
    for h in sections[:MAX_COMMITMENTS]:
        nxt = by_ordinal.get(h.ordinal + 1)
        if nxt is not None and nxt.kind != "heading" and _first_line(nxt):
            commitments.append({**_quote(nxt, _first_line(nxt)), "heading": " ".join(h.text.split())})
    if commitments:
        rows["commitments"] = commitments
    return rows


def _answering_sentence(clause: Clause, wanted: set[str], analyzer: Analyzer, lead: str) -> str:
    """`lead` (the sentence the assistant chose) when it shares one of the probe's own words, else the
    sentence of `clause` sharing the most of them; "" if none has any.

    The probe's words that are also in the document's title («avtale», the parties' names)
    do not count: every clause of the document shares them.
    """
    def overlap(sentence: str) -> int:
        have = set(analyzer.terms(sentence))
        return sum(1 for t in wanted if t in have or (len(t) >= 5 and any(h.startswith(t) for h in have)))

    if lead and overlap(lead):
        return " ".join(lead.split())
    best, best_overlap = "", 0
    for sentence in _sentences(clause.text):
        n = overlap(sentence)
        if n > best_overlap:
            best, best_overlap = sentence, n
    return best


def _document_rows(searcher: Searcher, doc_id: str, rows_of_doc: np.ndarray,
                   probe_vectors: dict[str, np.ndarray], threshold: float) -> list[dict]:
    data = searcher.data
    clauses = [data.clauses[int(r)] for r in rows_of_doc]
    found = _structure_rows(clauses)
    if clauses:
        doc = data.documents[doc_id]
        title_terms = set(searcher.analyzer.terms(doc.title))
        for key, (_, probes) in PROBES.items():
            if key in found:
                continue
            best = None  # (answerable, clause, sentence)
            for probe in probes:
                result = searcher.search(probe, top_k=3, qvec=probe_vectors[probe], restrict_doc=doc_id, context=False)
                if (result.answerable < threshold or result.lead_clause is None
                        or (best is not None and result.answerable <= best[0])):
                    continue  # the document does not answer it (the rule that abstains for a user's question)
                # the answer sentence the assistant would quote, if it says something the probe asks about
                wanted = set(searcher.analyzer.terms(probe)) - title_terms
                sentence = _answering_sentence(result.lead_clause, wanted, searcher.analyzer, result.lead[-1])
                if sentence:
                    best = (result.answerable, result.lead_clause, sentence)
            if best is not None:
                found[key] = [{**_quote(best[1], best[2]), "answerable": round(best[0], 4)}]
    return [{"row": key, "label": LABELS[key], "quotes": found[key]} for key in ROWS if key in found]


def _doc_key(data: IndexData, doc_id: str, threshold: float) -> str:
    return f"{data.documents[doc_id].sha256}:{data.model}:{threshold}:{_VERSION}"


def compute_facts(searcher: Searcher, threshold: float, previous: dict | None = None) -> dict:
    """The facts of every document searched by `searcher`: {doc_id: {"key", "rows"}}; reuses `previous`
    rows that still fit."""
    data = searcher.data
    previous = previous or {}
    out, todo = {}, []
    for doc_id in data.documents:
        key = _doc_key(data, doc_id, threshold)
        old = previous.get(doc_id)
        if isinstance(old, dict) and old.get("key") == key and isinstance(old.get("rows"), list):
            out[doc_id] = old
        else:
            todo.append(doc_id)
    if todo:
        probes = [p for _, ps in PROBES.values() for p in ps]
        vectors = np.asarray(searcher.embedder.embed_queries(probes), dtype=np.float32)
        probe_vectors = dict(zip(probes, vectors))
        doc_of = np.array([c.doc_id for c in data.clauses], dtype=object)
        for doc_id in todo:
            rows_of_doc = np.flatnonzero(doc_of == doc_id)
            out[doc_id] = {"key": _doc_key(data, doc_id, threshold),
                           "rows": _document_rows(searcher, doc_id, rows_of_doc, probe_vectors, threshold)}
    return out


def load_facts(index_dir: Path) -> tuple[str, dict]:
    """(manifest checksum the facts were computed for, {doc_id: facts}); ("", {}) if absent or unreadable."""
    path = Path(index_dir) / FACTS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "", {}
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("documents"), dict):
        return "", {}
    return str(data.get("manifest", "")), data["documents"]


def save_facts(index_dir: Path, manifest_key: str, facts: dict) -> None:
    body = json.dumps({"format": FORMAT, "manifest": manifest_key, "documents": facts}, ensure_ascii=False, indent=1)
    write_atomic(Path(index_dir) / FACTS_FILE, lambda p: p.write_text(body, encoding="utf-8"))


# -- «Hva er denne avtalen?» --------------------------------------------------------------

# the agreement named as a whole: «avtalen», «denne avtalen», «kvalitetsavtalen», «Leve hele livet-avtalen»,
# «avtalen om Leve hele livet», «this agreement» (no other words: «formålet med avtalen» asks for one thing)
_NAME = (r"(denne\s+|dette\s+|den\s+|this\s+|that\s+|the\s+)?(([\w«»]+\s+){0,4}[\w«»]+-)?[\w«»]*"
         r"(avtalen|avtala|agreement)(\s+(om|on|about|for)\s+[\w«»\- ]+)?")
_OVERVIEW = [
    re.compile(rf"^(hva|kva|what)\s+(er|is)\s+{_NAME}$"),  # «Hva er denne avtalen?»
    re.compile(rf"^(hva|kva|what)\s+(handler|handlar|dreier|går|is|does)\s+(seg\s+)?{_NAME}\s*(om|ut\s+på|about|cover)?$"),
    re.compile(rf"^(oppsummer|samanfatt|summari[sz]e|gi\s+meg\s+(en|ei|eit|et)\s+(oversikt|oversyn|sammendrag|samandrag)"
               rf"\s+(over|av))\s+{_NAME}$"),  # «Oppsummer avtalen», «Gi meg en oversikt over avtalen»
]


def is_overview_question(question: str) -> bool:
    """True for a question that asks what an agreement is or is about as a whole."""
    text = " ".join(re.sub(r"[?!.,:;]+", " ", str(question).casefold()).split())
    return any(p.match(text) for p in _OVERVIEW)


def update_facts(index_dir: Path, key: str, searcher: Searcher, threshold: float, known: dict, write: bool) -> dict:
    """The facts of every document of `searcher` (index checksum `key`), computing only those whose
    document (or the model, threshold, facts code) changed since `known` or facts.json. Only a build
    (`write`) rewrites facts.json, when they or the index changed; a read computes in memory."""
    stored_key, stored = load_facts(index_dir)
    facts = compute_facts(searcher, threshold, {**stored, **known})
    if write and key and (stored_key != key or facts != stored):
        try:
            save_facts(index_dir, key, facts)
        except OSError as exc:  # a read-only or full disk: the facts still serve from memory
            log.warning("could not write %s: %s", FACTS_FILE, exc)
    return facts
