"""The app's event handlers: plain values in, plain values out, over one Assistant."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import gradio as gr

from ..answer import format_answer_text
from ..errors import AssistantError, QuestionError
from ..search import Analyzer
from .messages import document_error_text, question_error_text
from .render import DOC_PLACEHOLDER, _e, render_answer, render_document, render_documents, render_notice, render_question, render_summary

__all__ = ["Handlers"]

log = logging.getLogger("avtaleassistenten.app")


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
        from ..core import safe_filename

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

