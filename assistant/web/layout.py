"""The page: components and the wiring of their events to `Handlers` (no formatting here)."""

from __future__ import annotations

import inspect
import os
import secrets
import warnings
from pathlib import Path

import gradio as gr

from ..feedback import MAX_COMMENT
from ..loaders import SUPPORTED
from .assets import (
    COMPACT_JS,
    COMPACT_STORED_JS,
    CSS,
    FORGET_QUERY_JS,
    JS,
    PICK_REF_JS,
    PICK_VOTE_JS,
    SCROLL_CHAT_JS,
    SCROLL_JS,
)
from .handlers import EMPTY_CONVERSATION, Handlers
from .render import DOC_PLACEHOLDER, WELCOME

__all__ = ["EXAMPLES", "build_app"]

EXAMPLES = [
    "Hva sier avtalen om velferdsteknologi?",
    "Hvor lenge gjelder kvalitetsavtalen?",
    "Kva er målet med Leve hele livet?",
    "What does the agreement say about competence and training?",
    "Hva er denne avtalen?",
]

# Questions run in parallel (the searcher and the model are safe to share for reads; see
# docs/ui.md, «Questions in parallel»); changes to the corpus (upload, «Oppdater», removal, their
# API endpoints) run one at a time, in one queue of their own, and under Assistant's lock.
# (Config.ask_concurrency, env ASSISTANT_ASK_CONCURRENCY, sets how many questions at once.)
_CORPUS = {"concurrency_limit": 1, "concurrency_id": "corpus"}

_PRIVATE = (
    {"api_visibility": "private"}
    if "api_visibility" in inspect.signature(gr.Button.click).parameters
    else {"show_api": False}
)

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


def _chatbot():
    kwargs = dict(value=[], label="Samtale", elem_id="chat", height=470, render_markdown=False, sanitize_html=True,
                  placeholder=WELCOME, show_label=False)
    if "buttons" in inspect.signature(gr.Chatbot.__init__).parameters:
        return gr.Chatbot(buttons=[], autoscroll=False, **kwargs)
    return gr.Chatbot(type="messages", **kwargs)


def _hidden_trigger(box_id: str, button_id: str):
    """A hidden textbox and button: the page script puts a value in one and presses the other."""
    box = gr.Textbox(value="", elem_id=box_id, elem_classes=["visually-hidden"], show_label=False, container=False)
    return box, gr.Button("Åpne", elem_id=button_id, elem_classes=["visually-hidden"])


def browser_secret(cache_dir) -> str | None:
    """The key that encrypts the conversation kept in the browser, the same across server restarts
    (kept in the cache folder `cache_dir`, readable only by its owner); None lets Gradio make one per start."""
    if cache_dir is None:
        return None
    path = Path(cache_dir) / "browser-state.key"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
        key = path.read_text(encoding="utf-8").strip()
        return key if len(key) >= 32 else None
    except OSError:  # e.g. a read-only cache: the conversation then lasts until the server restarts
        return None


def build_app(assistant) -> gr.Blocks:
    """The Gradio app over `assistant`. Nothing is loaded here; the first question loads the index."""
    h = Handlers(assistant)
    _ASK = {"concurrency_limit": getattr(assistant.config, "ask_concurrency", 8), "concurrency_id": "ask"}
    supported = ", ".join(SUPPORTED)
    with warnings.catch_warnings():  # gradio 6 moved css/js/theme to launch(); both keep working
        warnings.simplefilter("ignore")
        demo = gr.Blocks(title="Avtaleassistenten", css=CSS, js=JS, theme=_theme(), analytics_enabled=False)
    with demo:
        conversation = gr.BrowserState(EMPTY_CONVERSATION, storage_key="avtaleassistenten-samtale",
                                       secret=browser_secret(getattr(assistant.config, "cache_dir", None)))
        questions, targets, answers = gr.State([]), gr.State([]), gr.State([])
        last_answer, fact_targets, change_result = gr.State(None), gr.State([]), gr.State(None)

        gr.HTML(
            "<div class='hdr'><h1>Avtaleassistenten</h1><p>Spør om avtalene mellom regjeringen og KS. "
            "Svarene siterer avtalene ordrett, med kilde.</p></div>",
            elem_id="app-header",
        )
        with gr.Tabs(elem_id="tabs") as tabs:
            with gr.Tab("Spør", id="chat-tab", elem_id="chat-tab"):
                summary = gr.HTML("<p>Laster dokumentoversikten …</p>", elem_id="doc-summary")
                with gr.Row(equal_height=False, elem_id="main-row"):
                    with gr.Column(scale=3, min_width=300):
                        chat = _chatbot()
                        with gr.Row(equal_height=True):
                            question = gr.Textbox(
                                placeholder="Skriv et spørsmål om avtalene, f.eks. «Hva sier avtalen om heltid?» (/ for å skrive)",
                                show_label=False, lines=1, max_lines=4, scale=5, elem_id="question", autofocus=True,
                                min_width=160,
                            )
                            ask_btn = gr.Button("Spør", variant="primary", scale=1, min_width=70, elem_id="ask-btn")
                        scope = gr.Dropdown(choices=[], value=[], multiselect=True, label="Søk i",
                                            info="Tomt: alle dokumenter. Velg dokumenter eller typer for å søke bare i dem.",
                                            elem_id="scope", allow_custom_value=False)
                        gr.Markdown("**Eksempler** – klikk for å spørre:", elem_id="examples-label")
                        with gr.Row(elem_id="examples"):
                            example_btns = [gr.Button(q, size="sm", elem_classes=["example-q"]) for q in EXAMPLES]
                        with gr.Row(equal_height=True, elem_id="answer-tools"):
                            compact = gr.Checkbox(label="Kort visning", value=False, elem_id="compact", min_width=120,
                                                  container=False)
                            up_btn = gr.Button("✓ Svaret hjalp", size="sm", elem_id="fb-up", min_width=120)
                            down_btn = gr.Button("✗ Svaret hjalp ikke", size="sm", elem_id="fb-down", min_width=140)
                            comment = gr.Textbox(placeholder="Valgfri kommentar til svaret …", show_label=False,
                                                 lines=1, scale=3, elem_id="fb-comment", min_width=160,
                                                 max_length=MAX_COMMENT)
                            new_btn = gr.Button("Ny samtale", size="sm", elem_id="new-chat", min_width=110)
                        fb_status = gr.Markdown("", elem_id="fb-status")
                        gr.HTML("<p id='share-out-text' aria-live='polite'></p>", elem_id="share-out")
                        with gr.Accordion("Kopier eller last ned svaret (med kilder)", open=False, elem_id="export"):
                            export_text = _copy_buttons(gr.Textbox, label="Svaret som tekst", lines=8, max_lines=20,
                                                        interactive=False, elem_id="export-text")
                            export_file = gr.DownloadButton("Last ned som .txt", value=None, size="sm",
                                                            elem_id="export-file")
                    with gr.Column(scale=2, min_width=300):
                        doc_view = gr.HTML(DOC_PLACEHOLDER, elem_id="doc-view")
                ref_box, ref_btn = _hidden_trigger("open-doc-ref", "open-doc-trigger")
                vote_box, vote_btn = _hidden_trigger("vote-ref", "vote-trigger")
            with gr.Tab("Dokumenter", id="docs-tab", elem_id="docs-tab"):
                gr.Markdown("### Avtalen i korte trekk\nHvert punkt er et sitat fra dokumentet; bare det dokumentet "
                            "selv sier, vises.")
                facts = gr.HTML("<p>Laster …</p>", elem_id="facts-cards")
                gr.Markdown("### Dokumenter som er lastet inn")
                overview = gr.HTML("<p>Laster …</p>", elem_id="doc-overview")
                with gr.Row(equal_height=True, elem_id="corpus-tools"):
                    refresh_btn = gr.Button("Oppdater", size="sm", elem_id="refresh-btn", min_width=110)
                    remove_doc = gr.Dropdown(choices=[], label="Dokument", show_label=False, elem_id="remove-doc",
                                             scale=3, min_width=200, allow_custom_value=False)
                    only_btn = gr.Button("Søk bare i dette", size="sm", elem_id="search-only-btn", min_width=140)
                    remove_btn = gr.Button("Fjern dokumentet …", size="sm", elem_id="remove-btn", min_width=140)
                with gr.Group(visible=False, elem_id="remove-confirm") as confirm:
                    confirm_text = gr.HTML("", elem_id="remove-question")
                    with gr.Row():
                        yes_btn = gr.Button("Ja, fjern", variant="stop", size="sm", elem_id="remove-yes")
                        no_btn = gr.Button("Avbryt", size="sm", elem_id="remove-no")
                corpus_status = gr.HTML("", elem_id="corpus-status")
                gr.Markdown(
                    f"### Legg til et dokument\nFiltyper: {supported}. Dokumentet blir lest, delt i avsnitt og "
                    "indeksert; deretter kan du stille spørsmål om det. En fil som ikke kan leses, endrer ingenting. "
                    "Filer som legges rett i dokumentmappen, tas med når du trykker «Oppdater»."
                )
                upload_file = gr.File(label=f"Last opp dokument ({supported})", file_count="single",
                                      type="filepath", elem_id="upload-file", height=140)
                upload_status = gr.HTML("", elem_id="upload-status")
                upload_result = gr.JSON(visible=False)

        # the API endpoints first, so that they get these names (UI events are private)
        gr.api(h.api_ask, api_name="ask", **_ASK)
        gr.api(h.documents, api_name="documents")
        gr.api(h.api_document, api_name="document")
        gr.api(h.api_facts, api_name="facts")
        gr.api(h.api_feedback, api_name="feedback")
        gr.api(h.api_votes, api_name="votes")
        gr.api(h.api_refresh, api_name="refresh", **_CORPUS)
        gr.api(h.api_remove, api_name="remove", **_CORPUS)

        def then_save(event):
            return event.then(h.save, [chat, questions, targets, answers], [conversation], **_PRIVATE)

        # the conversation is stored in the browser in the same update that shows it
        def ask(*args):
            out = h.ask(*args)
            return (*out, h.save(out[0], out[2], out[3], out[8]))

        def clear():
            return (*h.clear(), EMPTY_CONVERSATION)

        ask_outputs = [chat, question, questions, targets, last_answer, export_text, export_file, fb_status, answers,
                       conversation]
        ask_inputs = [question, chat, questions, targets, last_answer, answers, scope]
        for event in (question.submit, ask_btn.click):
            event(ask, ask_inputs, ask_outputs, **_ASK, **_PRIVATE).then(None, js=SCROLL_CHAT_JS, **_PRIVATE)
        for btn, text in zip(example_btns, EXAMPLES):
            btn.click(lambda c, q, t, la, a, sc, text=text: ask(text, c, q, t, la, a, sc),
                      [chat, questions, targets, last_answer, answers, scope], ask_outputs, **_ASK, **_PRIVATE).then(
                None, js=SCROLL_CHAT_JS, **_PRIVATE)
        clear_outputs = [chat, question, questions, targets, last_answer, export_text, export_file, fb_status, doc_view,
                         answers, conversation]
        new_btn.click(clear, None, clear_outputs, **_PRIVATE)
        chat.clear(lambda: clear()[1:], None, clear_outputs[1:], **_PRIVATE)

        vote_outputs = [fb_status, chat, comment]
        for btn, vote in ((up_btn, "up"), (down_btn, "down")):  # the last answer
            then_save(btn.click(lambda a, c, cm, vote=vote: h.vote(f"{vote}:{len(a or []) - 1}", a, c, cm),
                                [answers, chat, comment], vote_outputs, **_PRIVATE))
        then_save(vote_btn.click(None, None, [vote_box], js=PICK_VOTE_JS, **_PRIVATE).then(
            h.vote, [vote_box, answers, chat, comment], vote_outputs, **_PRIVATE))
        ref_btn.click(None, None, [ref_box], js=PICK_REF_JS, **_PRIVATE).then(
            h.open_ref, [ref_box, targets, fact_targets], [doc_view], **_PRIVATE
        ).then(lambda: gr.Tabs(selected="chat-tab"), None, [tabs], **_PRIVATE).then(None, js=SCROLL_JS, **_PRIVATE)
        compact.change(None, [compact], None, js=COMPACT_JS, **_PRIVATE)

        overview_outputs = [overview, summary, facts, remove_doc, fact_targets]
        upload_file.upload(h.upload, [upload_file], [upload_result], api_name="upload",
                           show_progress_on=[upload_status], **_CORPUS).then(
            h.after_upload, [upload_result], [upload_status, overview, summary, upload_file], **_PRIVATE
        ).then(h.overview, None, overview_outputs, **_PRIVATE).then(h.scope_choices, [scope], [scope], **_PRIVATE)
        refresh_btn.click(h.refresh, None, [change_result], show_progress_on=[corpus_status], **_CORPUS,
                          **_PRIVATE).then(
            h.after_change, [change_result], [corpus_status, confirm], **_PRIVATE
        ).then(h.overview, None, overview_outputs, **_PRIVATE).then(h.scope_choices, [scope], [scope], **_PRIVATE)
        remove_btn.click(h.confirm_remove, [remove_doc], [confirm, confirm_text], **_PRIVATE)
        no_btn.click(lambda: gr.update(visible=False), None, [confirm], **_PRIVATE)
        yes_btn.click(h.remove, [remove_doc], [change_result], show_progress_on=[corpus_status], **_CORPUS,
                      **_PRIVATE).then(
            h.after_change, [change_result], [corpus_status, confirm], **_PRIVATE
        ).then(h.overview, None, overview_outputs, **_PRIVATE).then(h.scope_choices, [scope], [scope], **_PRIVATE)

        then_save(demo.load(h.start, [conversation], [chat, questions, targets, last_answer, answers, doc_view,
                                                       export_text, export_file], **_PRIVATE)).then(
            None, js=FORGET_QUERY_JS, **_PRIVATE).then(None, js=SCROLL_JS, **_PRIVATE)
        demo.load(h.overview, None, overview_outputs, **_PRIVATE).then(h.scope_choices, [scope], [scope], **_PRIVATE)
        only_btn.click(h.search_only, [remove_doc], [scope, tabs], **_PRIVATE)
        demo.load(None, None, [compact], js=COMPACT_STORED_JS, **_PRIVATE)

    return demo
