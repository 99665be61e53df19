"""Avtaleassistenten web app: the thin entry point. The UI itself lives in `assistant/web/`.

    build_app(assistant) -> gr.Blocks      # no model or index is loaded here
    launch(config, host, port, auth)       # builds the Assistant, brings the index up to date, serves

`python app.py` serves with the settings of the environment, as `Config.from_env` reads them
(ASSISTANT_HOST, ASSISTANT_PORT, ASSISTANT_AUTH, ...: the README's «Settings»). API endpoints: see docs/ui.md.
"""

from assistant import web
from assistant.web import *  # noqa: F403 - the public names of the web UI

__all__ = list(web.__all__)

if __name__ == "__main__":
    from assistant.config import Config

    config = Config.from_env()
    web.launch(config, host=config.host, port=config.port, auth=config.auth)
