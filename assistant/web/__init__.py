"""The web UI (Gradio) over `assistant.Assistant`, split by job:

    layout.py    build_app(assistant) -> gr.Blocks: components and event wiring
    handlers.py  Handlers: the events, plain values in and out
    render.py    library objects -> escaped HTML (pure functions)
    messages.py  library errors -> one line of bokmål
    assets.py    CSS and the page scripts
    serve.py     launch(config, host, port, auth), parse_auth

Importing this package imports Gradio (set HF_HUB_OFFLINE / GRADIO_ANALYTICS_ENABLED first);
nothing here loads a model or an index.
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from .handlers import Handlers  # noqa: E402
from .layout import EXAMPLES, build_app  # noqa: E402
from .messages import document_error_text, question_error_text  # noqa: E402
from .render import (  # noqa: E402
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
from .serve import launch, parse_auth  # noqa: E402

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
