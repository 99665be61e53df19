"""Launching: build the Assistant, read the index (build a missing one; `reindex` first brings it up to
date with the corpus folder), say what waits to be indexed, serve the page."""

from __future__ import annotations

import time

from ..config import Config
from ..errors import ConfigError
from ..progress import progress_printer

__all__ = ["configure_queue", "launch", "parse_auth", "quiet_queue_analytics"]

STATUS_UPDATE_S = 3.0
ANALYTICS_EVERY = 1_000_000  # Gradio's queue summary for /monitoring, which is off: in effect never

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


def quiet_queue_analytics(demo) -> None:
    """Stop Gradio's queue from summarising its event log after every answer.

    Gradio's queue keeps a record of the last 10,000 events and, after each event finishes,
    rebuilds a pandas DataFrame of all of them, grouped and with percentiles, for its
    /monitoring page (GRADIO_ANALYTICS_CACHE_FREQUENCY defaults to every event): ~3 ms of CPU an
    answer at 2,000 events, ~11 ms at 10,000, all under the GIL. The app launches with
    monitoring off (`enable_monitoring=False`), so nothing reads that summary; it is computed
    once per `ANALYTICS_EVERY` events instead. A Gradio without these attributes is left as it is.
    """
    queue = getattr(demo, "_queue", None)
    if queue is not None and hasattr(queue, "ANAYLTICS_CACHE_FREQUENCY"):  # sic, Gradio's spelling
        queue.ANAYLTICS_CACHE_FREQUENCY = ANALYTICS_EVERY


def configure_queue(demo) -> None:
    """The queue every served app gets (the assistant's, and the benchmark's floor app)."""
    # the queue's position and wait estimates go to every waiting user every few seconds, not
    # after every answer ("auto": with 50 waiting, each answer sent ~50 messages: CPU for nothing)
    demo.queue(default_concurrency_limit=2, status_update_rate=STATUS_UPDATE_S)
    quiet_queue_analytics(demo)


def launch(config: Config | None = None, host: str = "127.0.0.1", port: int = 7860, auth=None,
           reindex: bool = False, **launch_kwargs):
    """Build the Assistant, read its index (a missing one is built; `reindex`: brought up to date with
    the corpus folder first), and serve the app. Reading writes nothing in the index folder."""
    from ..core import Assistant
    from .layout import build_app

    config = config or Config.from_env()
    credentials = parse_auth(auth)
    assistant = Assistant(config)
    print(f"Avtaleassistenten: laster modellen og indeksen ({config.index_dir}) …", flush=True)
    t0 = time.perf_counter()
    if reindex:
        assistant.index(progress=progress_printer(interval=1.0))
    assistant.retrieve("avtale", top_k=1)  # loads the index and the model now, so that the first question is quick
    report = assistant.last_report  # None when the index was read as it was
    docs = assistant.documents()
    print(f"Indeksen er klar: {len(docs)} dokumenter, {sum(d['clauses'] for d in docs)} avsnitt "
          f"fra {config.corpus_dir} ({time.perf_counter() - t0:.1f} s"
          + (f"; {report.summary()}" if report is not None else "") + ").", flush=True)
    waiting = assistant.pending()
    if waiting:
        print(f"  {waiting} fil(er) i {config.corpus_dir} er nye, endret eller fjernet siden indeksen ble laget; "
              "ta dem inn med «Oppdater» under Dokumenter eller: assistant serve --reindex", flush=True)
    for name in report.rolled_back if report is not None else ():
        print(f"  rullet tilbake {name}: opplastingen ble avbrutt før filen var indeksert", flush=True)
    for name, reason in assistant.skipped().items():
        print(f"  hoppet over {name}: {reason}", flush=True)
    if host not in ("127.0.0.1", "localhost", "::1") and credentials is None:
        print(f"Advarsel: appen lytter på {host} uten innlogging. Sett ASSISTANT_AUTH=bruker:passord for å kreve det.",
              flush=True)
    demo = build_app(assistant)
    configure_queue(demo)
    kwargs = dict(server_name=host, server_port=int(port), auth=credentials, show_error=False,
                  max_file_size=config.max_file_bytes + 1024 * 1024, enable_monitoring=False)
    if credentials:
        kwargs["auth_message"] = "Logg inn for å bruke Avtaleassistenten."
    kwargs.update(launch_kwargs)
    return demo.launch(**kwargs)

