"""The app's event handlers: plain values in, plain values out, over one Assistant.

The conversation is four lists that travel together (and are kept in the browser,
`gr.BrowserState`, so that a reload keeps them): the chat messages, the questions (the
history `Assistant.ask` gets), the document targets of the «Vis i dokumentet» buttons, and
the answers as JSON (what a vote on answer N stores). Answer N is `answers[N]`.
"""

from __future__ import annotations

import logging
import re
import tempfile
import uuid
from pathlib import Path

import gradio as gr

from ..answer import format_answer_text
from ..errors import AssistantError, FeedbackError, QuestionError
from ..facts import is_overview_question
from ..search import Analyzer
from .documents import DocumentHandlers
from .messages import api_endpoint, feedback_error_text, public_text, question_error_text
from .render import (
    CARD_TEXTS,
    DOC_PLACEHOLDER,
    facts_text,
    mark_voted,
    render_answer,
    render_facts,
    render_facts_reply,
    render_notice,
    render_question,
)

__all__ = ["EMPTY_CONVERSATION", "Handlers"]

log = logging.getLogger("avtaleassistenten.app")
EMPTY_CONVERSATION = {"chat": [], "questions": [], "targets": [], "answers": []}
MAX_KEPT_ANSWERS = 50  # the browser keeps the last 50 answers of a conversation (localStorage holds ~5 MB)
MAX_OVERVIEW_DOCS = 5  # «Hva er denne avtalen?» with no document in view: the cards of at most this many
MAX_LISTED_VOTES = 1000  # /votes lists the newest this many (the full list: `assistant feedback`)
_VOTE_REF = re.compile(r"^(up|down):(\d+)$")


def _text(message: dict) -> str:
    """A chat message's text, whether Gradio sends it as a string or as a list of parts."""
    content = message.get("content", "")
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def _scope(scope) -> tuple[list[str] | None, list[str] | None]:
    """The «Søk i» choices as (documents, kinds); (None, None) searches everything."""
    values = [v for v in (scope or []) if isinstance(v, str)]
    docs = [v[4:] for v in values if v.startswith("doc:")]
    kinds = [v[5:] for v in values if v.startswith("kind:")]
    return docs or None, kinds or None


def _names(value) -> list[str] | None:
    """A list of names from an API argument: a list of strings, or one comma-separated string."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise gr.Error("docs and kinds must be lists of names", print_exception=False)
    return [v.strip() for v in value if v.strip()] or None


def plain_chat(chat) -> list[dict]:
    return [{"role": m.get("role"), "content": _text(m)} for m in (chat or []) if isinstance(m, dict)
            and m.get("role") in ("user", "assistant")]


class Handlers(DocumentHandlers):
    """The app's event handlers over one Assistant."""

    def __init__(self, assistant, export_dir: Path | None = None):
        self.assistant = assistant
        self.analyzer = Analyzer()
        self.export_dir = Path(export_dir or tempfile.mkdtemp(prefix="avtaleassistenten-"))

    # -- chat -------------------------------------------------------------------------------
    def ask(self, question, chat, questions, targets, last_answer, answers=None, scope=None):
        """Returns chat, question box, questions, targets, last answer, export text, export file,
        feedback status, answers. `scope` holds the «Søk i» choices («doc:ID», «kind:KIND»)."""
        docs, kinds = _scope(scope)
        chat, questions, targets = plain_chat(chat), list(questions or []), list(targets or [])
        answers = list(answers or [])
        text = question if isinstance(question, str) else ""

        def refuse(message: str, show_question: bool = True):
            if show_question:
                chat.append({"role": "user", "content": render_question(text)})
            chat.append({"role": "assistant", "content": render_notice(public_text(message))})
            return chat, text, questions, targets, last_answer, gr.skip(), gr.skip(), "", answers

        try:
            self.assistant.sync()  # an index rebuilt by `assistant index` meanwhile
            if is_overview_question(text):
                reply = self._overview(text, last_answer, first_ref=len(targets), number=len(answers))
                if reply is not None:
                    body, new_targets, data, export = reply
                    return self._answered(chat, questions, targets, answers, text, body, new_targets, data, export)
            answer = self.assistant.ask(text, history=questions, docs=docs, kinds=kinds)
        except QuestionError as exc:
            return refuse(question_error_text(exc), bool(text.strip()))
        except AssistantError as exc:
            return refuse(str(exc))
        except Exception:
            log.exception("ask failed")
            return refuse("Noe gikk galt under søket. Prøv igjen om litt.")
        body, new_targets = render_answer(answer, self.analyzer, first_ref=len(targets), number=len(answers))
        data = {**answer.to_json(), "answer_id": uuid.uuid4().hex}
        return self._answered(chat, questions, targets, answers, answer.question, body, new_targets, data,
                              format_answer_text(answer))

    def _remember(self, data: dict) -> None:
        """Keep what this answer showed, so that a vote on it stores the server's copy (feedback.py)."""
        try:
            self.assistant.remember_answer(data)
        except (AssistantError, OSError) as exc:  # the answer is still shown; a vote on it is refused
            log.warning("could not keep answer %s for votes: %s", data.get("answer_id"), exc)

    def _answered(self, chat, questions, targets, answers, question, body, new_targets, data, export):
        self._remember(data)
        chat.append({"role": "user", "content": render_question(question)})
        chat.append({"role": "assistant", "content": body})
        questions.append(question)
        answers.append(data)
        return chat, "", questions, targets + new_targets, data, export, self._export_file(export), "", answers

    def _overview(self, text: str, last_answer, first_ref: int, number: int):
        """The facts card(s) as the reply to «Hva er denne avtalen?»; None when no document is loaded."""
        docs = [d["doc_id"] for d in self.assistant.documents()]
        if not docs:
            return None
        named = self.assistant.named_documents(text)
        if len(docs) > 1 and named:  # the question names a document («kvalitetsavtalen»): profile.py
            docs = [d for d in docs if d in named]
        elif len(docs) > 1 and last_answer and (last_answer.get("clauses") or []):
            previous = Path(str(last_answer["clauses"][0].get("doc", ""))).stem
            docs = [previous] if previous in docs else docs
        elif len(docs) > 1:  # «Hva er denne avtalen?» with several loaded: the agreements, newest first
            docs = self.assistant.agreements() or docs
        cards, targets, clauses, texts = [], [], [], []
        for doc_id in docs[:MAX_OVERVIEW_DOCS]:
            doc = self.assistant.document(doc_id)
            rows = self.assistant.facts(doc_id)
            card, new = render_facts(doc, rows, first_ref=first_ref + len(targets))
            cards.append(card)
            targets.extend(new)
            texts.append(facts_text(doc, rows))
            clauses.extend({"doc": doc.file, "title": doc.title, "date": doc.date, "ordinal": q.get("ordinal"),
                            "text": q.get("text"), "start": q.get("start"), "end": q.get("end"), "score": None}
                           for row in rows for q in row.get("quotes", []))
        question = " ".join(text.split())
        data = {"question": question, "answer_id": uuid.uuid4().hex, "answered": True, "language": "nb",
                "kind": "facts", "lead": [], "clauses": clauses}
        return render_facts_reply(cards, number, question), targets, data, "\n".join(texts)

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
        """A new conversation: chat, question box, questions, targets, last answer, export text, file, status,
        doc view, answers."""
        return [], "", [], [], None, "", None, "", DOC_PLACEHOLDER, []

    # -- the conversation in the browser ----------------------------------------------------
    @staticmethod
    def save(chat, questions, targets, answers) -> dict:
        """The conversation as stored in the browser (gr.BrowserState): the last MAX_KEPT_ANSWERS answers.

        Older answers leave the chat and become None in `answers`, so that answer N and card N
        keep their numbers.
        """
        chat, answers = plain_chat(chat), list(answers or [])
        cut = len(answers) - MAX_KEPT_ANSWERS
        if cut > 0 and answers[cut - 1] is not None:
            answers[:cut] = [None] * cut
            first = next((i for i, m in enumerate(chat) if f"answer-tools ans-{cut}'" in m["content"]), len(chat))
            if first > 0 and chat[first - 1]["role"] == "user":
                first -= 1
            chat = chat[first:]
        return {"chat": chat, "questions": list(questions or []), "targets": list(targets or []), "answers": answers}

    def start(self, conversation, request: gr.Request = None):
        """On page load: the stored conversation back, then `?q=` asked and `?doc=…&avsnitt=N` opened.

        Returns chat, questions, targets, last answer, answers, doc view, export text, export file.
        """
        conv = conversation if isinstance(conversation, dict) else {}
        lists = [conv.get(k) if isinstance(conv.get(k), list) else [] for k in ("chat", "questions", "targets", "answers")]
        chat, questions, targets, answers = plain_chat(lists[0]), *lists[1:]
        last = answers[-1] if answers and isinstance(answers[-1], dict) else None
        params = dict(request.query_params) if request is not None else {}
        doc_view = self.open_clause(params["doc"], params.get("avsnitt")) if params.get("doc") else gr.skip()
        export, export_file = gr.skip(), gr.skip()
        if (params.get("q") or "").strip():
            chat, _, questions, targets, last, export, export_file, _, answers = self.ask(
                params["q"], chat, questions, targets, last, answers)
        return chat, questions, targets, last, answers, doc_view, export, export_file

    # -- feedback ---------------------------------------------------------------------------
    def vote(self, ref, answers, chat, comment: str = ""):
        """A click on answer N's vote button (`ref` "up:N" / "down:N"): store it, show it on the answer.

        Returns the feedback status line, the chat and the comment box (emptied once stored).
        """
        m = _VOTE_REF.match(str(ref or "").strip())
        answers = list(answers or [])
        if not any(answers):
            return "Still et spørsmål først, så kan du gi tilbakemelding på svaret.", gr.skip(), comment
        if not m or int(m.group(2)) >= len(answers) or not answers[int(m.group(2))]:
            return "Fant ikke svaret du stemte på. Last siden på nytt og prøv igjen.", gr.skip(), comment
        vote, n = m.group(1), int(m.group(2))
        status, comment = self.feedback(vote, answers[n], comment)
        if not status.startswith("Takk"):
            return status, gr.skip(), comment
        language = answers[n].get("language") if answers[n].get("language") in CARD_TEXTS else "nb"
        chat = [{**msg, "content": mark_voted(msg["content"], n, vote, language)} if msg["role"] == "assistant" else msg
                for msg in plain_chat(chat)]
        return status, chat, comment

    def feedback(self, vote: str, last_answer, comment: str = ""):
        """Store a vote on an answer (by its id: the server's own copy is stored); returns the status
        line and an emptied comment box."""
        if not last_answer:
            return "Still et spørsmål først, så kan du gi tilbakemelding på svaret.", comment
        answer_id = last_answer.get("answer_id") if isinstance(last_answer, dict) else None
        try:
            self.assistant.vote(answer_id, vote, comment or "")
        except (AssistantError, OSError) as exc:
            return f"Tilbakemeldingen ble ikke lagret: {feedback_error_text(exc)}", comment
        return "Takk! Tilbakemeldingen er lagret.", ""

    # -- API (gradio_client) ----------------------------------------------------------------
    @api_endpoint
    def api_ask(self, question: str, history: list[str] | None = None, docs: list[str] | None = None,
                kinds: list[str] | None = None) -> dict:
        """`docs` (document ids or file names) and `kinds` («avtale», «pressemelding») limit the search."""
        try:
            self.assistant.sync()
            answer = self.assistant.ask(question, history=[h for h in (history or []) if isinstance(h, str)]
                                        if isinstance(history, list) else [],
                                        docs=_names(docs), kinds=_names(kinds))
        except QuestionError as exc:
            raise gr.Error(public_text(question_error_text(exc)), print_exception=False) from None
        except AssistantError as exc:
            raise gr.Error(public_text(exc), print_exception=False) from None
        data = answer.to_json()
        data["text"] = format_answer_text(answer)
        data["answer_id"] = uuid.uuid4().hex
        self._remember(data)
        return data

    @api_endpoint
    def api_feedback(self, answer: dict | str, vote: str, comment: str = "") -> dict:
        """A vote on an answer /ask gave: `answer` is that answer (only its answer_id is read) or the id."""
        answer_id = answer.get("answer_id") if isinstance(answer, dict) else answer
        try:
            stored = self.assistant.vote(answer_id, vote, comment)
        except (AssistantError, OSError) as exc:
            raise gr.Error(public_text(exc), print_exception=False) from None
        return {"ok": True, "answer_id": stored["answer_id"], "vote": stored["vote"]}

    @api_endpoint
    def api_votes(self, vote: str = "") -> list[dict]:
        try:
            return self.assistant.feedback.votes(vote if vote in ("up", "down") else None, limit=MAX_LISTED_VOTES)
        except FeedbackError as exc:
            raise gr.Error(public_text(exc), print_exception=False) from None
