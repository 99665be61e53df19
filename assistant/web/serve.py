"""Launching: build the Assistant, bring the index up to date, serve the page."""

from __future__ import annotations

import time

from ..config import Config
from ..errors import ConfigError
from ..progress import progress_printer

__all__ = ["launch", "parse_auth"]

STATUS_UPDATE_S = 3.0

def parse_auth(auth) -> tuple[str, str] | None:
    """"user:password" (or a (user, password) pair) -> the pair gradio wants; None for no login."""
    if auth is None or auth == "":
        return None
    if isinstance(auth, (tuple, list)) and len(auth) == 2:
        user, password = str(auth[0]), str(auth[1])
    else:
        user, sep, password = str(auth).partition(":")
        if not sep:
            raise ConfigError("ASSISTANT_AUTH must be 'user:password'", "config.invalid", name="auth")
    if not user or not password:
        raise ConfigError("ASSISTANT_AUTH must be 'user:password' with a user name and a password", "config.invalid",
                          name="auth")
    return user, password


def launch(config: Config | None = None, host: str = "127.0.0.1", port: int = 7860, auth=None, **launch_kwargs):
    """Build the Assistant, bring the index up to date with the corpus folder, and serve the app."""
    from ..core import Assistant
    from .layout import build_app

    config = config or Config.from_env()
    credentials = parse_auth(auth)
    assistant = Assistant(config)
    print(f"Avtaleassistenten: laster modellen og indeksen ({config.index_dir}) …", flush=True)
    t0 = time.perf_counter()
    report = assistant.index(progress=progress_printer(interval=1.0))
    assistant.retrieve("avtale", top_k=1)  # loads the model now, so that the first question is quick
    docs = assistant.documents()
    print(f"Indeksen er klar: {len(docs)} dokumenter, {sum(d['clauses'] for d in docs)} avsnitt "
          f"fra {config.corpus_dir} ({time.perf_counter() - t0:.1f} s; {report.summary()}).", flush=True)
    for name in report.rolled_back:
        print(f"  rullet tilbake {name}: opplastingen ble avbrutt før filen var indeksert", flush=True)
    for name, reason in report.skipped.items():
        print(f"  hoppet over {name}: {reason}", flush=True)
    if host not in ("127.0.0.1", "localhost", "::1") and credentials is None:
        print(f"Advarsel: appen lytter på {host} uten innlogging. Sett ASSISTANT_AUTH=bruker:passord for å kreve det.",
              flush=True)
    demo = build_app(assistant)
    # the queue's position and wait estimates go to every waiting user every few seconds, not
    # after every answer ("auto": with 50 waiting, each answer sent ~50 messages: CPU for nothing)
    demo.queue(default_concurrency_limit=2, status_update_rate=STATUS_UPDATE_S)
    kwargs = dict(server_name=host, server_port=int(port), auth=credentials, show_error=False,
                  max_file_size=config.max_file_bytes + 1024 * 1024)
    if credentials:
        kwargs["auth_message"] = "Logg inn for å bruke Avtaleassistenten."
    kwargs.update(launch_kwargs)
    return demo.launch(**kwargs)

