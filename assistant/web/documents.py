"""Event handlers of the documents: the document view, the overview with the facts cards,
upload, «Oppdater» (pick up changes in the corpus folder) and removing a document."""

from __future__ import annotations

import logging
import re
from html import escape
from pathlib import Path

import gradio as gr

from ..errors import AssistantError
from .messages import api_endpoint, document_error_text, public_text
from .render import (
    DOC_PLACEHOLDER,
    render_document,
    render_documents,
    render_facts,
    render_notice,
    render_skipped,
    render_summary,
)

__all__ = ["DocumentHandlers"]

log = logging.getLogger("avtaleassistenten.app")
_REF = re.compile(r"^(f?)(\d+)$")


def _reporter(progress, prefix: str):
    """An indexing progress callback that drives Gradio's progress bar."""
    def report(message: str, fraction: float) -> None:
        try:
            progress(max(0.0, min(1.0, float(fraction))), desc=prefix + message)
        except Exception:  # progress is cosmetic
            pass

    return report


def _check_doc_id(doc_id) -> None:
    if not isinstance(doc_id, str) or not doc_id.strip():
        raise gr.Error("doc_id må være teksten doc_id fra /documents.", print_exception=False)


def _status(ok: bool, message: str) -> str:
    return f"<p class='upload-{'ok' if ok else 'error'}'>{'✓' if ok else '⚠'} {escape(str(message))}</p>"


class DocumentHandlers:
    """Mixed into `Handlers`; needs `self.assistant`."""

    assistant = None

    # -- the document view ------------------------------------------------------------------
    def open_ref(self, ref, targets, fact_targets=None) -> str:
        """The document view for button `ref`: "N" is card N of the chat, "fN" row N of the facts cards."""
        m = _REF.match(str(ref).strip()) if ref is not None else None
        try:
            pool = fact_targets if m and m.group(1) else targets
            doc_id, start, end, ordinal = (pool or [])[int(m.group(2))]
        except (AttributeError, ValueError, TypeError, IndexError):
            return DOC_PLACEHOLDER
        return self.open_document(doc_id, start, end, ordinal)

    def open_document(self, doc_id: str, start: int = -1, end: int = -1, ordinal: int | None = None) -> str:
        try:
            doc = self.assistant.document(str(doc_id))
        except AssistantError as exc:
            return render_notice(public_text(f"Dokumentet kan ikke vises: {exc}"))
        return render_document(doc, int(start), int(end), ordinal)

    def open_clause(self, doc: str, avsnitt=None) -> str:
        """The document view for a link `?doc=…&avsnitt=N` (doc: the document id or its file name)."""
        doc_id = Path(str(doc)).stem if str(doc).strip() else ""
        try:
            document = self.assistant.document(doc_id)
        except AssistantError:
            return render_notice(f"Lenken viser til et dokument som ikke finnes her: «{doc}».")
        try:
            n = int(str(avsnitt).strip()) if avsnitt not in (None, "") else None
        except ValueError:
            n = None
        if n is None:
            return render_document(document)
        clause = next((c for c in self.assistant.data.clauses if c.doc_id == doc_id and c.ordinal == n), None)
        if clause is None:
            return render_notice(f"«{document.title}» har ikke noe avsnitt {n}.") + render_document(document)
        return render_document(document, clause.start, clause.end, clause.ordinal)

    # -- the overview -----------------------------------------------------------------------
    def documents(self) -> list[dict]:
        try:
            return self.assistant.documents()
        except AssistantError:
            log.exception("could not list the documents")
            return []

    def facts_cards(self, docs: list[dict]) -> tuple[str, list[list]]:
        """The facts cards of all documents for the Dokumenter tab, and their targets ("fN" buttons)."""
        cards, targets = [], []
        for d in docs:
            try:
                card, new = render_facts(self.assistant.document(d["doc_id"]), self.assistant.facts(d["doc_id"]),
                                         first_ref=len(targets), ref_prefix="fref")
            except AssistantError:
                log.exception("no facts for %s", d.get("doc_id"))
                continue
            cards.append(card)
            targets.extend(new)
        return "".join(cards) or "<p class='doc-empty'>Ingen dokumenter ennå.</p>", targets

    def overview(self):
        """Overview table, summary line, facts cards, the removal choices and the facts cards' targets."""
        self.assistant.sync()
        docs = self.documents()
        cards, targets = self.facts_cards(docs)
        choices = [(f"{d['title']} ({d['file']})", d["doc_id"]) for d in docs]
        skipped = {name: document_error_text(why) for name, why in self.assistant.skipped().items()}
        return (render_documents(docs) + render_skipped(skipped), render_summary(docs), cards,
                gr.update(choices=choices, value=None), targets)

    def scope_choices(self, current=None):
        """The «Søk i» choices: each kind of document, then each document (newest first)."""
        docs = self.documents()
        kinds = sorted({d["kind"] for d in docs if d.get("kind")})
        choices = [(f"Alle av typen «{k}»", f"kind:{k}") for k in kinds]
        choices += [(f"{d['title']}" + (f" ({d['date']})" if d.get("date") else ""), f"doc:{d['doc_id']}")
                    for d in docs]
        valid = {v for _, v in choices}
        kept = [v for v in (current or []) if v in valid]
        return gr.update(choices=choices, value=kept)

    def search_only(self, doc_id):
        """«Søk bare i dette dokumentet»: the chat's scope becomes this document, and the chat tab opens."""
        if not doc_id:
            return gr.skip(), gr.skip()
        return gr.update(value=[f"doc:{doc_id}"]), gr.Tabs(selected="chat-tab")

    # -- changing the corpus ----------------------------------------------------------------
    def upload(self, file, progress=gr.Progress()) -> dict:
        """Add an uploaded file; a dict with ok, message, document and documents."""
        if not file:
            return {"ok": False, "message": "Ingen fil valgt.", "document": None, "documents": self.documents()}
        path = Path(file if isinstance(file, (str, Path)) else getattr(file, "name", None) or file["path"])
        name = path.name

        report = _reporter(progress, f"Indekserer {name}: ")
        try:
            self.assistant.add_document(path, name=name, progress=report)
        except AssistantError as exc:
            return {"ok": False, "message": public_text(f"Kunne ikke legge til «{name}»: {document_error_text(exc)}"),
                    "document": None,
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
        docs = result.get("documents") or self.documents()
        return _status(bool(result.get("ok")), str(result.get("message", ""))), render_documents(docs), \
            render_summary(docs), None

    def refresh(self, progress=gr.Progress()) -> dict:
        """«Oppdater»: take up added, changed and removed files of the corpus folder."""
        report = _reporter(progress, "Oppdaterer: ")
        try:
            r = self.assistant.refresh(progress=report)
        except AssistantError as exc:
            return {"ok": False, "message": public_text(f"Kunne ikke oppdatere: {document_error_text(exc)}")}
        except Exception:
            log.exception("refresh failed")
            return {"ok": False, "message": "Kunne ikke oppdatere: en uventet feil oppstod."}
        if not r.changed:
            message = "Ingen endringer i dokumentmappen."
        else:
            message = (f"Oppdatert: {len(r.added)} lagt til, {len(r.updated)} endret, {len(r.removed)} fjernet.")
        if r.skipped:
            message += " Hoppet over: " + "; ".join(f"{name} ({document_error_text(why)})"
                                                     for name, why in list(r.skipped.items())[:3])
        return {"ok": True, "message": public_text(message), "added": r.added, "updated": r.updated,
                "removed": r.removed, "skipped": {name: public_text(why) for name, why in r.skipped.items()}}

    def confirm_remove(self, doc_id):
        """The confirmation row for removing `doc_id` (shown), with its question."""
        try:
            doc = self.assistant.document(str(doc_id or ""))
        except AssistantError:
            return gr.update(visible=False), "<p class='upload-error'>⚠ Velg dokumentet som skal fjernes.</p>"
        return gr.update(visible=True), (
            f"<p class='remove-question'>Fjerne «{escape(doc.title)}»? Filen <b>{escape(doc.file)}</b> flyttes til "
            "<b>.trash/</b> i dokumentmappen (den slettes ikke), og avsnittene forsvinner fra søket.</p>")

    def remove(self, doc_id) -> dict:
        """Remove a document (after the confirmation): file to corpus/.trash/, clauses out of the index."""
        try:
            doc = self.assistant.document(str(doc_id or ""))
            self.assistant.remove_document(doc.doc_id)
        except AssistantError as exc:
            return {"ok": False, "message": public_text(f"Kunne ikke fjerne dokumentet: {document_error_text(exc)}")}
        except Exception:
            log.exception("remove failed")
            return {"ok": False, "message": "Kunne ikke fjerne dokumentet: en uventet feil oppstod."}
        return {"ok": True, "message": f"«{doc.title}» er fjernet; filen ligger i .trash/ i dokumentmappen.",
                "removed": doc.doc_id}

    def after_change(self, result):
        """Status line and a hidden confirmation row after «Oppdater» or a removal."""
        result = result or {}
        return _status(bool(result.get("ok")), str(result.get("message", ""))), gr.update(visible=False)

    # -- API --------------------------------------------------------------------------------
    @api_endpoint
    def api_document(self, doc_id: str) -> dict:
        _check_doc_id(doc_id)
        try:
            doc = self.assistant.document(doc_id)
        except AssistantError as exc:
            raise gr.Error(public_text(exc), print_exception=False) from None
        return {"doc_id": doc.doc_id, "file": doc.file, "title": doc.title, "date": doc.date, "kind": doc.kind,
                "text": doc.text}

    @api_endpoint
    def api_facts(self, doc_id: str) -> dict:
        _check_doc_id(doc_id)
        try:
            doc = self.assistant.document(doc_id)
            rows = self.assistant.facts(doc.doc_id)
        except AssistantError as exc:
            raise gr.Error(public_text(exc), print_exception=False) from None
        return {"doc_id": doc.doc_id, "title": doc.title, "date": doc.date, "rows": rows}

    @api_endpoint
    def api_refresh(self) -> dict:
        return self.refresh(progress=None)

    @api_endpoint
    def api_remove(self, doc_id: str) -> dict:
        _check_doc_id(doc_id)
        result = self.remove(doc_id)
        if not result["ok"]:
            raise gr.Error(result["message"], print_exception=False)
        return {**result, "documents": self.documents()}
