"""Avtaleassistenten web app (Gradio): chat, source cards, document view, upload, feedback.

A thin layer over `assistant.Assistant`: the handlers call the library and format what it
returns as HTML. Every piece of text that comes from a question or a document is escaped
with `html.escape` before it is put into HTML; the only markup is the markup built here.

    build_app(assistant) -> gr.Blocks      # no model or index is loaded here
    launch(config, host, port, auth)       # builds the Assistant, brings the index up to date, serves

API endpoints (gradio_client): /ask, /documents, /document, /feedback, /upload (see docs/ui.md).
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import html  # noqa: E402
import inspect  # noqa: E402
import logging  # noqa: E402
import re  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import unicodedata  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import gradio as gr  # noqa: E402

from assistant.answer import Answer, format_answer_text, section_path  # noqa: E402
from assistant.cli import progress_printer  # noqa: E402
from assistant.config import Config  # noqa: E402
from assistant.errors import AssistantError, ConfigError, QuestionError  # noqa: E402
from assistant.loaders import SUPPORTED  # noqa: E402
from assistant.search import Analyzer  # noqa: E402
from assistant.types import Document, Hit  # noqa: E402

__all__ = [
    "EXAMPLES",
    "Handlers",
    "build_app",
    "highlight",
    "launch",
    "parse_auth",
    "render_answer",
    "render_document",
    "render_documents",
    "render_question",
]

log = logging.getLogger("avtaleassistenten.app")

EXAMPLES = [
    "Hva sier avtalen om velferdsteknologi?",
    "Hvor lenge gjelder kvalitetsavtalen?",
    "Kva er målet med Leve hele livet?",
    "What does the agreement say about competence and training?",
]

# Texts inside a reply follow the language of the question; the rest of the UI is bokmål.
CARD_TEXTS = {
    "nb": {
        "show": "Vis i dokumentet",
        "high": "Høy relevans",
        "medium": "Middels relevans",
        "low": "Lav relevans",
        "related": "Mulig relatert",
        "relevance": "Relevans",
        "more": "Flere kilder",
        "follow_up": "Tolket som oppfølging av det forrige spørsmålet.",
    },
    "en": {
        "show": "Show in document",
        "high": "High relevance",
        "medium": "Medium relevance",
        "low": "Low relevance",
        "related": "Possibly related",
        "relevance": "Relevance",
        "more": "More sources",
        "follow_up": "Read as a follow-up to the previous question.",
    },
}
CARDS_OPEN = 3  # cards shown at once; the rest are folded under "Flere kilder"

WELCOME = (
    "<div class='welcome'><h3>Velkommen til Avtaleassistenten</h3>"
    "<p>Still et spørsmål om avtalene mellom regjeringen og KS – på bokmål, nynorsk eller engelsk. "
    "Svaret er alltid et <b>sitat fra avtalene</b>, med dokument, dato og avsnitt, "
    "så du kan sjekke kilden selv. Finner ikke assistenten noe som svarer, sier den det.</p>"
    "<p>Prøv et av eksemplene under, eller skriv et eget spørsmål.</p></div>"
)
DOC_PLACEHOLDER = (
    "<div class='doc-empty'><p><b>Dokumentvisning</b></p>"
    "<p>Klikk «Vis i dokumentet» på et kildekort for å se avsnittet i sammenheng med resten av dokumentet.</p></div>"
)

CSS = """
.visually-hidden { position: absolute !important; width: 1px !important; height: 1px !important;
  overflow: hidden !important; clip: rect(0 0 0 0) !important; white-space: nowrap !important;
  padding: 0 !important; margin: -1px !important; border: 0 !important; }
#app-header .hdr { display: flex; align-items: baseline; gap: 1rem; flex-wrap: wrap; }
#app-header h1 { margin: 0; font-size: 1.5rem; }
#app-header p { margin: 0; color: var(--body-text-color-subdued); }
#doc-summary { color: var(--body-text-color-subdued); font-size: .88rem; }
#doc-summary p { margin: 0; }
.welcome h3 { margin-top: 0; }
.answer { line-height: 1.5; }
.answer .answer-label { font-weight: 600; margin: 0 0 .3rem 0; }
.answer .lead { margin: 0 0 .8rem 0; padding: .5rem .8rem; border-left: 4px solid var(--color-accent);
  background: var(--background-fill-secondary); border-radius: 4px; font-size: 1.02rem; }
.answer .lead p { margin: .15rem 0; }
.answer.no-answer .answer-label.none { font-size: 1.05rem; }
.answer .note { font-size: .85rem; color: var(--body-text-color-subdued); margin: 0 0 .5rem 0; }
.answer .sources-label { font-weight: 600; margin: .6rem 0 .3rem 0; }
.source-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .6rem .8rem;
  margin: 0 0 .55rem 0; background: var(--background-fill-primary); }
.source-card.related { border-style: dashed; }
.card-head { line-height: 1.35; }
.card-num { font-weight: 700; color: var(--color-accent); margin-right: .35rem; }
.card-title { font-weight: 600; }
.card-date { color: var(--body-text-color-subdued); font-size: .85rem; margin-left: .5rem; white-space: nowrap; }
.card-meta { color: var(--body-text-color-subdued); font-size: .85rem; margin: .1rem 0 .3rem 0; }
.card-leadin { font-style: italic; margin: 0; }
.card-text { white-space: pre-line; margin: .1rem 0 .4rem 0; }
.card-foot { display: flex; justify-content: space-between; align-items: center; gap: .6rem; flex-wrap: wrap; }
.relevance { display: inline-flex; align-items: center; gap: .4rem; font-size: .8rem;
  color: var(--body-text-color-subdued); }
.rel-bar { display: inline-block; width: 70px; height: 7px; border-radius: 4px; background: var(--border-color-primary);
  overflow: hidden; }
.rel-fill { display: block; height: 100%; background: var(--color-accent); }
.rel-0 { width: 4%; } .rel-1 { width: 10%; } .rel-2 { width: 20%; } .rel-3 { width: 30%; } .rel-4 { width: 40%; }
.rel-5 { width: 50%; } .rel-6 { width: 60%; } .rel-7 { width: 70%; } .rel-8 { width: 80%; } .rel-9 { width: 90%; }
.rel-10 { width: 100%; }
button.show-doc { font-size: .82rem; padding: .2rem .6rem; border-radius: 6px; cursor: pointer;
  border: 1px solid var(--color-accent); color: var(--color-accent); background: transparent; }
button.show-doc:hover { background: var(--color-accent-soft); }
.answer details > summary { cursor: pointer; margin: .2rem 0 .5rem 0; color: var(--body-text-color-subdued); }
.answer mark, #doc-view mark { background: #fde68a; color: #1f2937; padding: 0 .1em; border-radius: 2px; }
.notice { padding: .4rem .6rem; border-left: 4px solid #d97706; background: var(--background-fill-secondary); }
#doc-view .doc-head h3 { margin: 0 0 .2rem 0; font-size: 1.05rem; }
#doc-view .doc-head p { margin: 0 0 .5rem 0; color: var(--body-text-color-subdued); font-size: .85rem; }
#doc-view .doc-scroll { position: relative; max-height: 420px; overflow-y: auto; white-space: pre-wrap;
  line-height: 1.5; padding: .6rem .8rem; border: 1px solid var(--border-color-primary); border-radius: 8px;
  background: var(--background-fill-primary); font-size: .92rem; }
#doc-view mark.doc-target { background: #fde68a; outline: 2px solid #f59e0b; }
.doc-empty { color: var(--body-text-color-subdued); padding: .5rem; }
#upload-status .upload-ok { color: #15803d; font-weight: 600; }
#upload-status .upload-error { color: #b45309; font-weight: 600; }
table.doc-table { width: 100%; border-collapse: collapse; font-size: .92rem; }
table.doc-table th, table.doc-table td { text-align: left; padding: .35rem .5rem;
  border-bottom: 1px solid var(--border-color-primary); vertical-align: top; }
table.doc-table td.num { text-align: right; }
table.doc-table td.date { white-space: nowrap; }
.example-q { text-align: left !important; }
"""

# A delegated click handler: a «Vis i dokumentet» button inside a chat message carries the
# number of its source as a class (ref-N; the chat's sanitizer drops data attributes). The
# number goes to a hidden textbox via a hidden button whose event opens the document.
JS = """
() => {
  if (window.__avtaleInit) return;
  window.__avtaleInit = true;
  document.addEventListener('click', (ev) => {
    const btn = ev.target && ev.target.closest ? ev.target.closest('button.show-doc') : null;
    if (!btn) return;
    const ref = Array.from(btn.classList).find((c) => /^ref-\\d+$/.test(c));
    if (!ref) return;
    ev.preventDefault();
    window.__avtaleRef = ref.slice(4);
    const trigger = document.querySelector('#open-doc-trigger');
    if (trigger) trigger.click();
  });
}
"""
# After an answer: scroll the chat so the new question and the start of its answer are in view
# (the chat's own autoscroll would show the end of the last source card instead).
SCROLL_CHAT_JS = """
() => {
  setTimeout(() => {
    const rows = document.querySelectorAll('#chat .message-row');
    if (!rows.length) return;
    let row = rows[rows.length - 1];
    const users = document.querySelectorAll('#chat .user-row');
    if (users.length) row = users[users.length - 1];
    let box = row.parentElement;
    while (box && box !== document.body) {
      const style = getComputedStyle(box);
      if (/(auto|scroll)/.test(style.overflowY) && box.scrollHeight > box.clientHeight) break;
      box = box.parentElement;
    }
    if (!box || box === document.body) return;
    box.scrollTop += row.getBoundingClientRect().top - box.getBoundingClientRect().top - 8;
  }, 60);
}
"""
PICK_REF_JS = "() => (window.__avtaleRef || '')"
SCROLL_JS = """
() => {
  let tries = 0;
  const go = () => {
    const box = document.querySelector('#doc-view .doc-scroll');
    const mark = document.querySelector('#doc-view mark.doc-target');
    if (!box || !mark) { if (tries++ < 20) setTimeout(go, 50); return; }
    box.scrollTop = Math.max(0, mark.offsetTop - box.clientHeight / 3);
    const panel = document.querySelector('#doc-view');
    if (panel) {
      const r = panel.getBoundingClientRect();
      if (r.top > window.innerHeight * 0.6 || r.bottom < 80) panel.scrollIntoView({block: 'start'});
    }
  };
  setTimeout(go, 30);
}
"""

_WORD = re.compile(r"\w+", re.UNICODE)
_PRIVATE = (
    {"api_visibility": "private"}
    if "api_visibility" in inspect.signature(gr.Button.click).parameters
    else {"show_api": False}
)


# -- formatting (pure functions: text in, escaped HTML out) ---------------------------------

def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _wanted(terms) -> tuple[set[str], tuple[str, ...]]:
    exact = {t for t in terms if t}
    prefixes = tuple(sorted(t for t in exact if len(t) >= 6))
    return exact, prefixes


def highlight(text: str, terms, analyzer: Analyzer) -> str:
    """`text` HTML-escaped, with the words whose stem is one of `terms` wrapped in <mark>.

    A word also matches when its stem starts with a term of six letters or more (Norwegian
    compounds: «velferdsteknologien», «heltidsstillinger»).
    """
    exact, prefixes = _wanted(terms)
    if not exact:
        return _e(text)
    out, pos = [], 0
    for m in _WORD.finditer(text):
        word = unicodedata.normalize("NFKC", m.group()).lower()
        stems = analyzer.terms(word)
        if not stems:
            continue
        stem = stems[0]
        if stem in exact or (prefixes and stem.startswith(prefixes)):
            out.append(_e(text[pos:m.start()]))
            out.append(f"<mark>{_e(m.group())}</mark>")
            pos = m.end()
    out.append(_e(text[pos:]))
    return "".join(out)


def _terms_for(answer: Answer, analyzer: Analyzer, hit: Hit | None = None) -> set[str]:
    terms = set(analyzer.terms(answer.question))
    if hit is not None:
        terms |= set(hit.matched_terms)
    return terms


def _relevance(hit: Hit, answered: bool, language: str) -> tuple[str, int]:
    t = CARD_TEXTS[language]
    score = max(0.0, min(1.0, float(hit.score)))
    if not answered:
        label = t["related"]
    elif score >= 0.75:
        label = t["high"]
    elif score >= 0.5:
        label = t["medium"]
    else:
        label = t["low"]
    return label, round(score * 10)


def render_card(n: int, hit: Hit, doc: Document, answer: Answer, ref: int, analyzer: Analyzer) -> str:
    """One source: title, date, section path, clause number, relevance, the clause with highlights."""
    t, ct = answer.texts, CARD_TEXTS[answer.language]
    label, tenth = _relevance(hit, answer.answered, answer.language)
    section = section_path(hit, doc)
    meta = [_e(section)] if section else []
    meta.append(f"{_e(t['clause'])} {hit.clause.ordinal}")
    terms = _terms_for(answer, analyzer, hit)
    leadin = f"<p class='card-leadin'>{highlight(hit.clause.leadin, terms, analyzer)}</p>" if hit.clause.leadin else ""
    date = f"<span class='card-date'>{_e(doc.date)}</span>" if doc.date else ""
    kind = "source-card" if answer.answered else "source-card related"
    return (
        f"<div class='{kind}'>"
        f"<div class='card-head'><span class='card-num'>[{n}]</span>"
        f"<span class='card-title'>{_e(doc.title)}</span>{date}</div>"
        f"<div class='card-meta'>{' · '.join(meta)}</div>"
        f"{leadin}<div class='card-text'>{highlight(hit.clause.text, terms, analyzer)}</div>"
        f"<div class='card-foot'>"
        f"<span class='relevance' title='{_e(ct['relevance'])} {hit.score:.2f}'>"
        f"<span class='rel-bar'><span class='rel-fill rel-{tenth}'></span></span>{_e(label)}</span>"
        f"<button type='button' class='show-doc ref-{int(ref)}'>{_e(ct['show'])}</button>"
        f"</div></div>"
    )


def render_answer(answer: Answer, analyzer: Analyzer, first_ref: int = 0) -> tuple[str, list[list]]:
    """The reply as HTML, and the document targets [doc_id, start, end, ordinal] of its cards.

    Card n opens target `first_ref + n - 1` (the chat keeps one list of targets per session).
    """
    t, ct = answer.texts, CARD_TEXTS[answer.language]
    parts = [f"<div class='answer{'' if answer.answered else ' no-answer'}' lang='{_e(answer.language)}'>"]
    if answer.follow_up:
        parts.append(f"<p class='note'>{_e(ct['follow_up'])}</p>")
    if answer.answered:
        terms = _terms_for(answer, analyzer, answer.hits[0] if answer.hits else None)
        parts.append(f"<p class='answer-label'>{_e(t['answer'])}</p><blockquote class='lead'>")
        parts.extend(f"<p>«{highlight(s, terms, analyzer)}»</p>" for s in answer.lead)
        parts.append("</blockquote>")
    else:
        parts.append(f"<p class='answer-label none'><b>{_e(t['no_answer'])}</b></p>")
        if answer.hits:
            parts.append(f"<p class='note'>{_e(t['related'])}</p>")
    targets: list[list] = []
    cards = []
    for n, hit in enumerate(answer.hits, 1):
        doc = answer.documents[hit.clause.doc_id]
        ref = first_ref + len(targets)
        targets.append([hit.clause.doc_id, hit.clause.start, hit.clause.end, hit.clause.ordinal])
        cards.append(render_card(n, hit, doc, answer, ref, analyzer))
    if cards:
        if answer.answered:
            parts.append(f"<p class='sources-label'>{_e(t['sources'])}</p>")
        parts.extend(cards[:CARDS_OPEN])
        if len(cards) > CARDS_OPEN:
            parts.append(f"<details><summary>{_e(ct['more'])} ({len(cards) - CARDS_OPEN})</summary>")
            parts.extend(cards[CARDS_OPEN:])
            parts.append("</details>")
    parts.append("</div>")
    return "".join(parts), targets


def render_question(question: str) -> str:
    """A user's question for the chat: whitespace collapsed, escaped."""
    return _e(" ".join(str(question).split()))


def render_notice(message: str) -> str:
    return f"<div class='notice'>{_e(message)}</div>"


def render_document(doc: Document, start: int = -1, end: int = -1, ordinal: int | None = None) -> str:
    """The whole document text, escaped, with characters [start, end) marked as the clause."""
    text = doc.text
    head = [f"<div class='doc-head'><h3>{_e(doc.title)}</h3><p>"]
    meta = [m for m in (doc.date, doc.kind, doc.file) if m]
    if ordinal:
        meta.append(f"avsnitt {int(ordinal)}")
    head.append(" · ".join(_e(m) for m in meta))
    head.append("</p></div>")
    if 0 <= start < end <= len(text):
        body = (f"{_e(text[:start])}<mark class='doc-target' id='doc-target'>{_e(text[start:end])}</mark>"
                f"{_e(text[end:])}")
    else:
        body = _e(text)
    return "".join(head) + f"<div class='doc-scroll'>{body}</div>"


def render_documents(docs: list[dict]) -> str:
    """The overview of loaded documents as an HTML table."""
    if not docs:
        return "<p class='doc-empty'>Ingen dokumenter er lastet inn ennå. Last opp et dokument under.</p>"
    rows = "".join(
        f"<tr><td>{_e(d.get('title', ''))}</td><td class='date'>{_e(d.get('date', ''))}</td><td>{_e(d.get('kind', ''))}</td>"
        f"<td class='num'>{int(d.get('clauses', 0))}</td><td>{_e(d.get('file', ''))}</td></tr>"
        for d in docs
    )
    return ("<table class='doc-table' id='doc-table'><thead><tr><th>Tittel</th><th>Dato</th><th>Type</th>"
            f"<th>Avsnitt</th><th>Fil</th></tr></thead><tbody>{rows}</tbody></table>")


def render_summary(docs: list[dict]) -> str:
    """One line for the chat tab: how many documents and clauses the answers come from."""
    n, clauses = len(docs), sum(int(d.get("clauses", 0)) for d in docs)
    if not n:
        return "<p>Ingen dokumenter er lastet inn ennå. Legg til et under «Dokumenter».</p>"
    word = "dokument" if n == 1 else "dokumenter"
    newest = max(docs, key=lambda d: str(d.get("date", "")))
    return (f"<p>Svarer ut fra {n} {word} ({clauses} avsnitt), nyeste: «{_e(newest.get('title', ''))}»"
            f"{' (' + _e(newest['date']) + ')' if newest.get('date') else ''}. Se fanen «Dokumenter».</p>")


_Q_ERRORS = [
    (re.compile(r"empty"), lambda m: "Spørsmålet er tomt. Skriv et spørsmål om avtalene."),
    (re.compile(r"is ([\d,]+) characters; the limit is ([\d,]+)"),
     lambda m: f"Spørsmålet er {m.group(1).replace(',', ' ')} tegn langt; grensen er "
               f"{m.group(2).replace(',', ' ')} tegn. Gjør det kortere."),
    (re.compile(r"no words"), lambda m: "Spørsmålet har ingen ord å søke etter. Skriv et spørsmål med ord."),
    (re.compile(r"must be text"), lambda m: "Spørsmålet må være tekst."),
]


def _in_bokmal(exc: Exception, table) -> str:
    """The library's (English) message as bokmål by the first matching pattern; else as it is."""
    message = str(exc)
    for pattern, make in table:
        m = pattern.search(message)
        if m:
            return make(m)
    return message


def question_error_text(exc: Exception) -> str:
    """A QuestionError as one line of bokmål."""
    return _in_bokmal(exc, _Q_ERRORS)


_DOC_ERRORS = [
    (re.compile(r"unsupported file type|has no file type"),
     lambda m: "filtypen støttes ikke; bruk .txt, .md, .pdf, .docx eller .html."),
    (re.compile(r"is ([\d.]+) MB; the limit is ([\d.]+) MB"),
     lambda m: f"filen er {m.group(1)} MB; grensen er {m.group(2)} MB."),
    (re.compile(r"password-protected PDF"), lambda m: "PDF-en er passordbeskyttet."),
    (re.compile(r"no extractable text"),
     lambda m: "PDF-en har ingen tekst som kan hentes ut (en skannet PDF må tekstgjenkjennes først)."),
    (re.compile(r"not a readable PDF"), lambda m: "PDF-en er skadet eller kan ikke leses."),
    (re.compile(r"unpacks to ([\d,]+) bytes"),
     lambda m: f"filen pakkes ut til {m.group(1).replace(',', ' ')} byte, for mye til å leses trygt."),
    (re.compile(r"\.docx file"), lambda m: "Word-filen er skadet eller kan ikke leses."),
    (re.compile(r"looks like a binary file"), lambda m: "filen ser ut som en binærfil, ikke tekst."),
    (re.compile(r"not UTF-8|not valid UTF-16"), lambda m: "tegnkodingen i teksten kunne ikke gjenkjennes (lagre filen som UTF-8)."),
    (re.compile(r"is empty$"), lambda m: "filen er tom."),
    (re.compile(r"has no text$"), lambda m: "filen har ingen tekst."),
    (re.compile(r"a document named (.+) already exists"),
     lambda m: f"et dokument med samme navn ({m.group(1)}) finnes allerede; gi filen et annet navn."),
    (re.compile(r"not a usable file name|would be stored outside"), lambda m: "filnavnet kan ikke brukes."),
    (re.compile(r"cannot be read|could not be read|not a readable file|cannot be stored"),
     lambda m: "filen kunne ikke leses eller lagres."),
]


def document_error_text(exc: Exception) -> str:
    """A DocumentError's reason as bokmål."""
    return _in_bokmal(exc, _DOC_ERRORS)


# -- handlers --------------------------------------------------------------------------------

class Handlers:
    """The app's event handlers over one Assistant. Plain values in, plain values out."""

    def __init__(self, assistant, export_dir: Path | None = None):
        self.assistant = assistant
        self.analyzer = Analyzer()
        self.export_dir = Path(export_dir or tempfile.mkdtemp(prefix="avtaleassistenten-"))

    # chat
    def ask(self, question, chat, questions, targets, last_answer):
        """Returns chat, question box, questions, targets, last answer, export text, export file, feedback status."""
        chat, questions, targets = list(chat or []), list(questions or []), list(targets or [])
        text = question if isinstance(question, str) else ""
        try:
            answer = self.assistant.ask(text, history=questions)
        except QuestionError as exc:
            if text.strip():
                chat.append({"role": "user", "content": render_question(text)})
            chat.append({"role": "assistant", "content": render_notice(question_error_text(exc))})
            return chat, text, questions, targets, last_answer, gr.skip(), gr.skip(), ""
        except AssistantError as exc:
            chat.append({"role": "user", "content": render_question(text)})
            chat.append({"role": "assistant", "content": render_notice(str(exc))})
            return chat, text, questions, targets, last_answer, gr.skip(), gr.skip(), ""
        except Exception:
            log.exception("ask failed")
            chat.append({"role": "user", "content": render_question(text)})
            chat.append({"role": "assistant", "content": render_notice(
                "Noe gikk galt under søket. Prøv igjen om litt.")})
            return chat, text, questions, targets, last_answer, gr.skip(), gr.skip(), ""
        body, new_targets = render_answer(answer, self.analyzer, first_ref=len(targets))
        chat.append({"role": "user", "content": render_question(answer.question)})
        chat.append({"role": "assistant", "content": body})
        questions.append(answer.question)
        export = format_answer_text(answer)
        return (chat, "", questions, targets + new_targets, answer.to_json(), export,
                self._export_file(export), "")

    def _export_file(self, text: str) -> str | None:
        try:
            self.export_dir.mkdir(parents=True, exist_ok=True)
            path = Path(tempfile.mkstemp(prefix="svar-", suffix=".txt", dir=self.export_dir)[1])
            path.write_text(text, encoding="utf-8")
            return str(path)
        except OSError:
            log.exception("could not write the export file")
            return None

    def clear(self):
        """A new conversation: chat, question box, questions, targets, last answer, export text, file, status, doc view."""
        return [], "", [], [], None, "", None, "", DOC_PLACEHOLDER

    # documents
    def open_ref(self, ref, targets) -> str:
        """The document view for card `ref` of this session's answers."""
        try:
            n = int(str(ref).strip())
            doc_id, start, end, ordinal = (targets or [])[n]
        except (ValueError, TypeError, IndexError):
            return DOC_PLACEHOLDER
        return self.open_document(doc_id, start, end, ordinal)

    def open_document(self, doc_id: str, start: int = -1, end: int = -1, ordinal: int | None = None) -> str:
        try:
            doc = self.assistant.document(str(doc_id))
        except AssistantError as exc:
            return render_notice(f"Dokumentet kan ikke vises: {exc}")
        return render_document(doc, int(start), int(end), ordinal)

    def documents(self) -> list[dict]:
        try:
            return self.assistant.documents()
        except AssistantError:
            log.exception("could not list the documents")
            return []

    def overview(self):
        docs = self.documents()
        return render_documents(docs), render_summary(docs)

    def upload(self, file, progress=gr.Progress()) -> dict:
        """Add an uploaded file; a dict with ok, message, document and documents."""
        if not file:
            return {"ok": False, "message": "Ingen fil valgt.", "document": None, "documents": self.documents()}
        path = Path(file if isinstance(file, (str, Path)) else getattr(file, "name", None) or file["path"])
        name = path.name

        def report(message: str, fraction: float) -> None:
            try:
                progress(max(0.0, min(1.0, float(fraction))), desc=f"Indekserer {name}: {message}")
            except Exception:  # progress is cosmetic
                pass

        try:
            self.assistant.add_document(path, name=name, progress=report)
        except AssistantError as exc:
            return {"ok": False, "message": f"Kunne ikke legge til «{name}»: {document_error_text(exc)}", "document": None,
                    "documents": self.documents()}
        except Exception:
            log.exception("upload failed")
            return {"ok": False, "message": f"Kunne ikke legge til «{name}»: en uventet feil oppstod.",
                    "document": None, "documents": self.documents()}
        docs = self.documents()
        from assistant.core import safe_filename

        stored = safe_filename(name)
        doc = next((d for d in docs if d.get("file") == stored), None)
        if doc is None:
            message = f"«{name}» er lagt til."
        else:
            message = (f"«{doc['title']}» er lagt til ({doc['clauses']} avsnitt). "
                       "Du kan nå stille spørsmål om dokumentet.")
        return {"ok": True, "message": message, "document": doc, "documents": docs}

    def after_upload(self, result):
        """Status line, overview table, summary and an emptied file box after an upload."""
        result = result or {}
        message = str(result.get("message", ""))
        status = f"<p class='upload-{'ok' if result.get('ok') else 'error'}'>{'✓' if result.get('ok') else '⚠'} " \
                 f"{_e(message)}</p>"
        docs = result.get("documents") or self.documents()
        return status, render_documents(docs), render_summary(docs), None

    # feedback
    def feedback(self, vote: str, last_answer, comment: str = ""):
        """Store a vote on the last answer; returns the status line and an emptied comment box."""
        if not last_answer:
            return "Still et spørsmål først, så kan du gi tilbakemelding på svaret.", comment
        try:
            self.assistant.record_feedback(last_answer, vote, (comment or "").strip())
        except (AssistantError, OSError) as exc:
            return f"Tilbakemeldingen ble ikke lagret: {exc}", comment
        return "Takk! Tilbakemeldingen er lagret.", ""

    # API (gradio_client)
    def api_ask(self, question: str, history: list[str] | None = None) -> dict:
        try:
            answer = self.assistant.ask(question, history=[h for h in (history or []) if isinstance(h, str)])
        except QuestionError as exc:
            raise gr.Error(question_error_text(exc), print_exception=False) from None
        except AssistantError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        data = answer.to_json()
        data["text"] = format_answer_text(answer)
        return data

    def api_document(self, doc_id: str) -> dict:
        try:
            doc = self.assistant.document(doc_id)
        except AssistantError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        return {"doc_id": doc.doc_id, "file": doc.file, "title": doc.title, "date": doc.date, "kind": doc.kind,
                "text": doc.text}

    def api_feedback(self, answer: dict, vote: str, comment: str = "") -> dict:
        try:
            path = self.assistant.record_feedback(answer or {}, vote, comment or "")
        except (AssistantError, OSError) as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        return {"ok": True, "file": str(path)}


# -- the app ---------------------------------------------------------------------------------

def _copy_buttons(component, **kwargs):
    params = inspect.signature(component.__init__).parameters
    if "buttons" in params:
        kwargs["buttons"] = ["copy"]
    elif "show_copy_button" in params:
        kwargs["show_copy_button"] = True
    return component(**kwargs)


def _theme():
    return gr.themes.Soft(
        primary_hue="blue",
        font=["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"],
        font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"],
    )


def build_app(assistant) -> gr.Blocks:
    """The Gradio app over `assistant`. Nothing is loaded here; the first question loads the index."""
    h = Handlers(assistant)
    supported = ", ".join(SUPPORTED)
    with warnings.catch_warnings():  # gradio 6 moved css/js/theme to launch(); both keep working
        warnings.simplefilter("ignore")
        demo = gr.Blocks(title="Avtaleassistenten", css=CSS, js=JS, theme=_theme(), analytics_enabled=False)
    with demo:
        questions = gr.State([])
        targets = gr.State([])
        last_answer = gr.State(None)

        gr.HTML(
            "<div class='hdr'><h1>Avtaleassistenten</h1><p>Spør om avtalene mellom regjeringen og KS. "
            "Svarene siterer avtalene ordrett, med kilde.</p></div>",
            elem_id="app-header",
        )
        with gr.Tabs(elem_id="tabs"):
            with gr.Tab("Spør", id="chat-tab", elem_id="chat-tab"):
                summary = gr.HTML("<p>Laster dokumentoversikten …</p>", elem_id="doc-summary")
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=420):
                        chat = gr.Chatbot(
                            value=[], label="Samtale", elem_id="chat", height=470, render_markdown=False,
                            sanitize_html=True, placeholder=WELCOME, buttons=[], show_label=False, autoscroll=False,
                        ) if "buttons" in inspect.signature(gr.Chatbot.__init__).parameters else gr.Chatbot(
                            value=[], label="Samtale", elem_id="chat", height=470, render_markdown=False,
                            sanitize_html=True, placeholder=WELCOME, show_label=False, type="messages",
                        )
                        with gr.Row(equal_height=True):
                            question = gr.Textbox(
                                placeholder="Skriv et spørsmål om avtalene, f.eks. «Hva sier avtalen om heltid?»",
                                show_label=False, lines=1, max_lines=4, scale=5, elem_id="question", autofocus=True,
                            )
                            ask_btn = gr.Button("Spør", variant="primary", scale=1, min_width=90, elem_id="ask-btn")
                        gr.Markdown("**Eksempler** – klikk for å spørre:", elem_id="examples-label")
                        with gr.Row(elem_id="examples"):
                            example_btns = [gr.Button(q, size="sm", elem_classes=["example-q"]) for q in EXAMPLES]
                        with gr.Row(equal_height=True, elem_id="answer-tools"):
                            up_btn = gr.Button("✓ Svaret hjalp", size="sm", elem_id="fb-up", min_width=120)
                            down_btn = gr.Button("✗ Svaret hjalp ikke", size="sm", elem_id="fb-down", min_width=140)
                            comment = gr.Textbox(placeholder="Valgfri kommentar til svaret …", show_label=False,
                                                 lines=1, scale=3, elem_id="fb-comment")
                            new_btn = gr.Button("Ny samtale", size="sm", elem_id="new-chat", min_width=110)
                        fb_status = gr.Markdown("", elem_id="fb-status")
                        with gr.Accordion("Kopier eller last ned svaret (med kilder)", open=False, elem_id="export"):
                            export_text = _copy_buttons(gr.Textbox, label="Svaret som tekst", lines=8, max_lines=20,
                                                        interactive=False, elem_id="export-text")
                            export_file = gr.DownloadButton("Last ned som .txt", value=None, size="sm",
                                                            elem_id="export-file")
                    with gr.Column(scale=2, min_width=340):
                        doc_view = gr.HTML(DOC_PLACEHOLDER, elem_id="doc-view")
                # hidden plumbing for the cards' «Vis i dokumentet» buttons (see JS)
                ref_box = gr.Textbox(value="", elem_id="open-doc-ref", elem_classes=["visually-hidden"],
                                     show_label=False, container=False)
                ref_btn = gr.Button("Åpne", elem_id="open-doc-trigger", elem_classes=["visually-hidden"])
            with gr.Tab("Dokumenter", id="docs-tab", elem_id="docs-tab"):
                gr.Markdown("### Dokumenter som er lastet inn")
                overview = gr.HTML("<p>Laster …</p>", elem_id="doc-overview")
                gr.Markdown(
                    f"### Legg til et dokument\nFiltyper: {supported}. Dokumentet blir lest, delt i avsnitt og "
                    "indeksert; deretter kan du stille spørsmål om det. En fil som ikke kan leses, endrer ingenting."
                )
                upload_file = gr.File(label=f"Last opp dokument ({supported})", file_count="single",
                                      type="filepath", elem_id="upload-file", height=140)
                upload_status = gr.HTML("", elem_id="upload-status")
                upload_result = gr.JSON(visible=False)

        # the API endpoints first, so that they get these names (UI events are private)
        gr.api(h.api_ask, api_name="ask")
        gr.api(h.documents, api_name="documents")
        gr.api(h.api_document, api_name="document")
        gr.api(h.api_feedback, api_name="feedback")

        ask_outputs = [chat, question, questions, targets, last_answer, export_text, export_file, fb_status]
        ask_inputs = [question, chat, questions, targets, last_answer]
        question.submit(h.ask, ask_inputs, ask_outputs, **_PRIVATE).then(None, js=SCROLL_CHAT_JS, **_PRIVATE)
        ask_btn.click(h.ask, ask_inputs, ask_outputs, **_PRIVATE).then(None, js=SCROLL_CHAT_JS, **_PRIVATE)
        for btn, text in zip(example_btns, EXAMPLES):
            btn.click(lambda c, q, t, la, text=text: h.ask(text, c, q, t, la),
                      [chat, questions, targets, last_answer], ask_outputs, **_PRIVATE).then(
                None, js=SCROLL_CHAT_JS, **_PRIVATE)
        new_btn.click(h.clear, None, [*ask_outputs, doc_view], **_PRIVATE)
        chat.clear(lambda: h.clear()[1:], None, [*ask_outputs[1:], doc_view], **_PRIVATE)
        up_btn.click(lambda la, c: h.feedback("up", la, c), [last_answer, comment], [fb_status, comment], **_PRIVATE)
        down_btn.click(lambda la, c: h.feedback("down", la, c), [last_answer, comment], [fb_status, comment],
                       **_PRIVATE)
        ref_btn.click(None, None, [ref_box], js=PICK_REF_JS, **_PRIVATE).then(
            h.open_ref, [ref_box, targets], [doc_view], **_PRIVATE
        ).then(None, None, None, js=SCROLL_JS, **_PRIVATE)

        upload_file.upload(h.upload, [upload_file], [upload_result], api_name="upload",
                           show_progress_on=[upload_status]).then(
            h.after_upload, [upload_result], [upload_status, overview, summary, upload_file], **_PRIVATE
        )
        demo.load(h.overview, None, [overview, summary], **_PRIVATE)

    return demo


# -- launching -------------------------------------------------------------------------------

def parse_auth(auth) -> tuple[str, str] | None:
    """"user:password" (or a (user, password) pair) -> the pair gradio wants; None for no login."""
    if auth is None or auth == "":
        return None
    if isinstance(auth, (tuple, list)) and len(auth) == 2:
        user, password = str(auth[0]), str(auth[1])
    else:
        user, sep, password = str(auth).partition(":")
        if not sep:
            raise ConfigError("ASSISTANT_AUTH must be 'user:password'")
    if not user or not password:
        raise ConfigError("ASSISTANT_AUTH must be 'user:password' with a user name and a password")
    return user, password


def launch(config: Config | None = None, host: str = "127.0.0.1", port: int = 7860, auth=None, **launch_kwargs):
    """Build the Assistant, bring the index up to date with the corpus folder, and serve the app."""
    from assistant.core import Assistant

    config = config or Config.from_env()
    credentials = parse_auth(auth)
    assistant = Assistant(config)
    print(f"Avtaleassistenten: laster modellen og indeksen ({config.index_dir}) …", flush=True)
    t0 = time.perf_counter()
    report = assistant.index(progress=progress_printer(interval=1.0))
    assistant.retrieve("avtale", top_k=1)  # loads the model now, so that the first question is quick
    docs = assistant.documents()
    print(f"Indeksen er klar: {len(docs)} dokumenter, {sum(d['clauses'] for d in docs)} avsnitt "
          f"fra {config.corpus_dir} ({time.perf_counter() - t0:.1f} s; {report.summary()}).", flush=True)
    for name, reason in report.skipped.items():
        print(f"  hoppet over {name}: {reason}", flush=True)
    if host not in ("127.0.0.1", "localhost", "::1") and credentials is None:
        print(f"Advarsel: appen lytter på {host} uten innlogging. Sett ASSISTANT_AUTH=bruker:passord for å kreve det.",
              flush=True)
    demo = build_app(assistant)
    demo.queue(default_concurrency_limit=2)
    kwargs = dict(server_name=host, server_port=int(port), auth=credentials, show_error=False,
                  max_file_size=config.max_file_bytes + 1024 * 1024)
    if credentials:
        kwargs["auth_message"] = "Logg inn for å bruke Avtaleassistenten."
    kwargs.update(launch_kwargs)
    return demo.launch(**kwargs)


if __name__ == "__main__":
    launch(Config.from_env(), host=os.environ.get("ASSISTANT_HOST", "127.0.0.1"),
           port=int(os.environ.get("ASSISTANT_PORT", "7860")), auth=os.environ.get("ASSISTANT_AUTH"))
