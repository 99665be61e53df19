"""Avtaleassistenten web app: the thin entry point. The UI itself lives in `assistant/web/`.

    build_app(assistant) -> gr.Blocks      # no model or index is loaded here
    launch(config, host, port, auth)       # builds the Assistant, brings the index up to date, serves

`python app.py` serves with the settings of the environment (ASSISTANT_HOST, ASSISTANT_PORT,
ASSISTANT_AUTH, and those of `Config.from_env`). API endpoints: see docs/ui.md.
"""

import os

from assistant import web
from assistant.web import *  # noqa: F403 - the public names of the web UI (its import sets HF_HUB_OFFLINE etc.)

__all__ = list(web.__all__)

if __name__ == "__main__":
    from assistant.config import Config

    web.launch(Config.from_env(), host=os.environ.get("ASSISTANT_HOST", "127.0.0.1"),
               port=int(os.environ.get("ASSISTANT_PORT", "7860")), auth=os.environ.get("ASSISTANT_AUTH"))
