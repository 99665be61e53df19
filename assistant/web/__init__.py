"""The web UI (Gradio) over `assistant.Assistant`, split by job:

    layout.py    build_app(assistant) -> gr.Blocks: components and event wiring
    handlers.py  Handlers: the events, plain values in and out
    render.py    library objects -> escaped HTML (pure functions)
    messages.py  library errors -> one line of bokmål
    assets.py    CSS and the page scripts
    serve.py     launch(config, host, port, auth), parse_auth

Importing this package imports Gradio; nothing here loads a model or an index, and no
environment variable is set (the page is built with analytics off; a machine without network
runs with HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False, see the README's «Settings»).
"""

from .handlers import Handlers
from .layout import EXAMPLES, build_app
from .messages import document_error_text, question_error_text
from .render import (
    DOC_PLACEHOLDER,
    highlight,
    render_answer,
    render_card,
    render_document,
    render_documents,
    render_notice,
    render_question,
    render_summary,
)
from .serve import launch, parse_auth

__all__ = [
    "DOC_PLACEHOLDER",
    "EXAMPLES",
    "Handlers",
    "build_app",
    "document_error_text",
    "highlight",
    "launch",
    "parse_auth",
    "question_error_text",
    "render_answer",
    "render_card",
    "render_document",
    "render_documents",
    "render_notice",
    "render_question",
    "render_summary",
]
