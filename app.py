"""Avtaleassistenten web app: the thin entry point. The UI itself lives in `assistant/web/`.

    build_app(assistant) -> gr.Blocks      # no model or index is loaded here
    launch(config, host, port, auth)       # builds the Assistant, brings the index up to date, serves

`python app.py` serves with the settings of the environment (ASSISTANT_HOST, ASSISTANT_PORT,
ASSISTANT_AUTH, and those of `Config.from_env`). API endpoints: see docs/ui.md.
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from assistant.web import (  # noqa: E402
    DOC_PLACEHOLDER,
    EXAMPLES,
    Handlers,
    build_app,
    document_error_text,
    highlight,
    launch,
    parse_auth,
    question_error_text,
    render_answer,
    render_card,
    render_document,
    render_documents,
    render_notice,
    render_question,
    render_summary,
)

__all__ = [
    "DOC_PLACEHOLDER", "EXAMPLES", "Handlers", "build_app", "document_error_text", "highlight", "launch",
    "parse_auth", "question_error_text", "render_answer", "render_card", "render_document", "render_documents",
    "render_notice", "render_question", "render_summary",
]

if __name__ == "__main__":
    from assistant.config import Config

    launch(Config.from_env(), host=os.environ.get("ASSISTANT_HOST", "127.0.0.1"),
           port=int(os.environ.get("ASSISTANT_PORT", "7860")), auth=os.environ.get("ASSISTANT_AUTH"))
