"""One `assistant serve` process under gradio_client load: RSS after 100 questions, then throughput.

    python -m benchmarks.serve --users 50 --seconds 60

Starts `assistant serve` on 127.0.0.1 (a free port) over a temporary copy of the seed corpus
and index, asks 100 questions one at a time through /ask and reads the server's RSS, then lets
`users` gradio_client users (threads of this process, on the same 2 cores) ask for `seconds`.
Every call has a timeout and the run a deadline; the server is stopped at the end.

`--no-ssl-verify` makes the users `Client(url, ssl_verify=False)`: on plain http (loopback)
that changes nothing but the client's cost, since gradio_client otherwise builds an httpx
client that loads the CA bundle for every call (~70 ms of CPU a call, measured), so that
clients on the same 2 cores measure mostly themselves.

`--questions FILE` (a questions.jsonl, e.g. ../shared/eval/seed-dev/questions.jsonl) makes the
users cycle through its questions (each user from another starting point) instead of the 8
below, so that nothing the server keeps between questions is measured on 8 repeated ones.
`--code DIR` runs the server from another checkout of the project (a before/after comparison
from one benchmark script).

`--floor` serves, instead of the assistant, a Gradio app with one /ask endpoint that returns a
fixed answer of a real answer's size (~6 KB: five 600-character clauses and the text) at once,
with the same queue settings: what Gradio and gradio_client alone cost on this machine, the
floor under any figure of the real server.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .common import SEED_CORPUS

__all__ = ["run_serve"]

QUESTIONS = [
    "Hvor lenge gjelder kvalitetsavtalen?", "Hva sier avtalen om velferdsteknologi?",
    "Kva er målet med Leve hele livet?", "Hva sier avtalen om heltid?", "Hvem har signert avtalen?",
    "What does the agreement say about competence and training?", "Hvor mye koster en pizza i Oslo?",
    "Når utløper avtalen mellom regjeringen og KS?",
]
CALL_TIMEOUT = 60.0
FLOOR_ANSWER = {"answered": True, "answerable": 0.9, "language": "nb", "lead": "x" * 90, "groups": [], "notes": [],
                "clauses": [{"doc_id": "doc", "file": "doc.txt", "section": "1", "text": "x" * 600, "score": 0.5}
                            for _ in range(5)], "text": "x" * 2800}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mb(pid: int) -> float:
    import psutil

    return round(psutil.Process(pid).memory_info().rss / 2**20, 1)


def _wait_until_up(proc: subprocess.Popen, url: str, timeout: float) -> float:
    import urllib.request

    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"assistant serve exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "config", timeout=2):
                return time.monotonic() - t0
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"assistant serve did not answer within {timeout:.0f} s")


def read_questions(path: Path | None) -> list[str]:
    """The questions of a questions.jsonl (read as `assistant eval` reads it), or the built-in 8."""
    if path is None:
        return list(QUESTIONS)
    from assistant.errors import AssistantError
    from assistant.evaluate import read_questions as read_set

    try:
        found = [r["question"] for r in read_set(Path(path)) if r["question"].strip()]
    except AssistantError as exc:
        raise SystemExit(str(exc)) from None
    if not found:
        raise SystemExit(f"{path} holds no questions")
    return found


def _ask(client, question: str):
    """One /ask call with a timeout (gradio_client's predict has none of its own)."""
    job = client.submit(question, [], api_name="/ask")
    return job.result(timeout=CALL_TIMEOUT)


def run_serve(index_src: Path | None, model: str, users: int = 50, seconds: float = 60.0, warm_questions: int = 100,
              corpus: Path = SEED_CORPUS, log=print, ssl_verify: bool = True, questions: list[str] | None = None,
              code: Path | None = None, floor: bool = False) -> dict:
    from gradio_client import Client

    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    shutil.copytree(corpus, work / "corpus")
    if index_src is not None and (Path(index_src) / "manifest.json").is_file():
        shutil.copytree(index_src, work / "index")
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {**os.environ, "ASSISTANT_MODEL": model, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1",
           "ASSISTANT_FEEDBACK": str(work / "feedback.jsonl")}
    if code is not None:
        env["PYTHONPATH"] = str(code)
    questions = questions or list(QUESTIONS)
    cmd = [sys.executable, "-m", "assistant", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--corpus", str(work / "corpus"), "--index", str(work / "index")]
    if floor:
        cmd = [sys.executable, "-m", "benchmarks.serve", "--_floor-server", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            cwd=str(code) if code is not None else None)
    out: dict = {"model": "floor (fixed answer)" if floor else model, "users": users, "seconds": seconds,
                 "ssl_verify": ssl_verify, "questions": len(questions), "code": str(code) if code is not None else None}
    try:
        out["start_s"] = round(_wait_until_up(proc, url, 300), 2)
        out["rss_ready_mb"] = _rss_mb(proc.pid)
        client = Client(url, verbose=False, ssl_verify=ssl_verify)
        for i in range(warm_questions):
            _ask(client, f"{questions[i % len(questions)]} ({i})")
        out["rss_after_100_mb"] = _rss_mb(proc.pid)
        log(f"  serve: ready in {out['start_s']} s, RSS {out['rss_ready_mb']} MB, "
            f"after {warm_questions} questions {out['rss_after_100_mb']} MB")
        out.update(_load(url, users, seconds, ssl_verify, questions, server_pid=proc.pid))
        out["server_cpu_ms_per_answer"] = round(1000 * out.pop("server_cpu_s") / max(out["answered"], 1), 1)
        out["rss_after_load_mb"] = _rss_mb(proc.pid)
        log(f"  serve: {users} users x {seconds:.0f} s: {out['per_second']} questions/s, errors {out['errors']}, "
            f"p50 {out['p50_ms']} ms, p95 {out['p95_ms']} ms, RSS {out['rss_after_load_mb']} MB")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)
    return out


def _cpu_s(pid: int) -> float:
    import psutil

    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


def _load(url: str, users: int, seconds: float, ssl_verify: bool = True, questions: list[str] | None = None,
          server_pid: int | None = None) -> dict:
    """`users` clients asking for `seconds`; with `server_pid`, also the server's CPU seconds from
    the start signal to the end (not the users' connecting: each Client reads the app's /config)."""
    from gradio_client import Client

    questions = questions or list(QUESTIONS)
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []
    clients = list(ThreadPoolExecutor(max_workers=8).map(lambda _: Client(url, verbose=False, ssl_verify=ssl_verify),
                                                         range(users)))
    gate = threading.Barrier(users + 1)
    deadline = [0.0]

    def user(n: int) -> None:
        client = clients[n]
        gate.wait()
        k = 0
        while time.monotonic() < deadline[0]:
            k += 1
            question = f"{questions[(n * 7 + k) % len(questions)]} [{n}-{k}]"
            t0 = time.perf_counter()
            try:
                answer = _ask(client, question)
                ok = isinstance(answer, dict) and answer.get("question") == question
            except Exception as exc:  # timeouts and server errors are counted, not raised
                ok, answer = False, f"{type(exc).__name__}: {str(exc)[:120]}"
            with lock:
                if ok:
                    latencies.append(time.perf_counter() - t0)
                else:
                    errors.append(str(answer)[:200])

    threads = [threading.Thread(target=user, args=(n,), daemon=True) for n in range(users)]
    for t in threads:
        t.start()
    cpu0 = _cpu_s(server_pid) if server_pid is not None else 0.0
    deadline[0] = time.monotonic() + seconds
    gate.wait(timeout=60)
    t0 = time.monotonic()
    for t in threads:
        t.join(timeout=max(0.0, deadline[0] - time.monotonic()) + CALL_TIMEOUT + 5)
    wall = time.monotonic() - t0
    cpu = _cpu_s(server_pid) - cpu0 if server_pid is not None else None
    ms = sorted(x * 1000 for x in latencies)
    q = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else (ms * 99 or [0.0] * 99)
    return {"answered": len(ms), "errors": len(errors), "error_examples": errors[:3], "wall_s": round(wall, 1),
            "per_second": round(len(ms) / wall, 2), "p50_ms": round(q[49], 1), "p95_ms": round(q[94], 1),
            "hung_users": sum(t.is_alive() for t in threads), **({"server_cpu_s": cpu} if cpu is not None else {})}


def serve_floor(port: int) -> None:
    """The `--floor` server: one /ask endpoint with the real app's signature and queue settings."""
    import gradio as gr

    from assistant import Config
    from assistant.web.serve import configure_queue

    def ask(question: str, history: list[str] | None = None) -> dict:
        return {"question": question, "search_query": question, **FLOOR_ANSWER}

    with gr.Blocks(analytics_enabled=False) as demo:
        gr.api(ask, api_name="ask", concurrency_limit=Config.from_env().ask_concurrency, concurrency_id="ask")
    configure_queue(demo)
    demo.launch(server_name="127.0.0.1", server_port=port, show_error=False, enable_monitoring=False)


def main(argv: list[str] | None = None) -> int:
    from assistant import Config

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=Config().model)
    p.add_argument("--users", type=int, default=50)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--index", help="an up-to-date index of the seed corpus to copy (else it is built)")
    p.add_argument("--no-ssl-verify", dest="ssl_verify", action="store_false",
                   help="users as Client(url, ssl_verify=False): no CA bundle loaded per call (plain http anyway)")
    p.add_argument("--questions", help="a questions.jsonl whose questions the users cycle through (else 8 built-in ones)")
    p.add_argument("--code", help="run the server from this checkout of the project (before/after comparisons)")
    p.add_argument("--floor", action="store_true", help="serve a fixed answer instead (Gradio's own cost)")
    p.add_argument("--_floor-server", dest="floor_server", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.floor_server:
        serve_floor(args.floor_server)
        return 0
    print(json.dumps(run_serve(Path(args.index) if args.index else None, args.model, args.users, args.seconds,
                               ssl_verify=args.ssl_verify, questions=read_questions(args.questions),
                               code=Path(args.code).resolve() if args.code else None, floor=args.floor), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
