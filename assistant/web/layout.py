"""The page: components and the wiring of their events to `Handlers` (no formatting here)."""

from __future__ import annotations

import inspect
import warnings

import gradio as gr

from ..loaders import SUPPORTED
from .assets import CSS, JS, PICK_REF_JS, SCROLL_CHAT_JS, SCROLL_JS
from .handlers import Handlers
from .render import DOC_PLACEHOLDER, WELCOME

__all__ = ["EXAMPLES", "build_app"]

EXAMPLES = [
    "Hva sier avtalen om velferdsteknologi?",
    "Hvor lenge gjelder kvalitetsavtalen?",
    "Kva er målet med Leve hele livet?",
    "What does the agreement say about competence and training?",
]

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

