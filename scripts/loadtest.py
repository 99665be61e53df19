#!/usr/bin/env python
"""Load test: N concurrent gradio_client users ask questions while one user uploads documents.

    python scripts/loadtest.py                   # 20 users for 60 s, real model, 3 uploads
    python scripts/loadtest.py --users 5 --seconds 10 --json

Serves `app.build_app(assistant)` in-process on 127.0.0.1 (a free port), queued like
`app.launch` does, over a temporary copy of the corpus and index (the repository's own
folders are never written). Every question carries a unique tag, so each answer can be
matched to its request. Prints requests served, errors, lost or broken answers, uploads,
and p50/p95/max latency; exits 1 when anything was lost, broken or failed.

An answer is "lost" when no answer arrives or its question is not the one asked, and
"broken" when a quoted clause is not exactly the text of its document at its offsets.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUESTIONS = [
    "Hvor lenge gjelder kvalitetsavtalen?",
    "Hva sier avtalen om velferdsteknologi?",
    "Kva er målet med Leve hele livet?",
    "Hva sier avtalen om heltid?",
    "Hvem har signert avtalen?",
    "What does the agreement say about competence and training?",
    "Hvordan skal partene samarbeide om kvalitet i helse- og omsorgstjenestene?",
    "Hva er det viktigste i reformen for eldre?",
    "Hvor mye koster en pizza i Oslo?",  # out of scope: a "no answer" reply is still an answer
    "Når utløper avtalen mellom regjeringen og KS?",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def upload_documents(folder: Path, n: int) -> list[tuple[Path, str]]:
    """n small agreements, each with a made-up word found nowhere else: (file, word)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        word = f"lastprøveord{i}x"
        text = (f"# Avtale om lasttest nummer {i}\n\n"
                f"Partene er enige om at {word} skal gjelde fra 2030.\n\n"
                + "\n\n".join(f"Punkt {k}: Kommunene skal rapportere om {word} og kvalitet hvert år ({k})."
                              for k in range(1, 25)) + "\n")
        path = folder / f"lasttest-{i}.md"
        path.write_text(text, encoding="utf-8")
        out.append((path, word))
    bad = folder / "ødelagt.txt"
    bad.write_bytes(bytes(range(256)) * 8)  # binary: must be refused and change nothing
    out.append((bad, ""))
    return out


def _check_answer(answer, sent: str, assistant) -> str:
    """'' when the answer is whole and is for `sent`; otherwise what is wrong with it."""
    if not isinstance(answer, dict):
        return f"not an answer: {type(answer).__name__}"
    if answer.get("question") != sent:
        return f"answer for another question: {answer.get('question')!r} != {sent!r}"
    if not isinstance(answer.get("clauses"), list) or not answer["clauses"]:
        return "no clauses"
    docs = assistant.data.documents
    for c in answer["clauses"]:
        doc = docs.get(Path(c["doc"]).stem)
        if doc is None or doc.text[c["start"]:c["end"]] != c["text"]:
            return f"clause text does not match {c['doc']} at {c['start']}-{c['end']}"
    if answer.get("answered") and not answer.get("lead"):
        return "answered without a lead"
    return ""


def run_load(assistant, users: int = 20, seconds: float = 60.0, uploads: int = 3, concurrency: int = 2,
             seed: int = 0, log=None) -> dict:
    """Serve the app over `assistant`, run the load, close the app; returns the figures."""
    from gradio_client import Client, handle_file

    import app

    say = log or (lambda msg: None)
    demo = app.build_app(assistant)
    demo.queue(default_concurrency_limit=concurrency)
    port = free_port()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True,
                max_file_size=assistant.config.max_file_bytes + 1024 * 1024, show_error=False)
    url = f"http://127.0.0.1:{port}/"
    lock = threading.Lock()
    stats = {"users": users, "seconds": seconds, "requests": 0, "answered": 0, "no_answer": 0,
             "question_errors": 0, "errors": 0, "lost": 0, "broken": 0, "uploads_ok": 0, "uploads_refused": 0,
             "upload_errors": 0, "uploaded_found": 0, "latencies": [], "problems": []}
    workdir = Path(tempfile.mkdtemp(prefix="loadtest-"))
    docs = upload_documents(workdir / "uploads", uploads)
    deadline = [0.0]

    def set_deadline() -> None:  # runs once everyone has connected, before anyone starts
        deadline[0] = time.monotonic() + seconds

    start_gate = threading.Barrier(users + 1 + (1 if uploads else 0), action=set_deadline)

    def problem(kind: str, detail: str) -> None:
        with lock:
            stats[kind] += 1
            if len(stats["problems"]) < 20:
                stats["problems"].append(f"{kind}: {detail}")

    def asker(user: int) -> None:
        rng = random.Random(seed * 1000 + user)
        client = Client(url, verbose=False)
        start_gate.wait()
        n = 0
        while time.monotonic() < deadline[0]:
            n += 1
            base = rng.choice(QUESTIONS)
            sent = f"{base} [bruker {user} spørsmål {n}]"
            if rng.random() < 0.05:  # now and then a question the app must refuse politely
                sent_bad = rng.choice(["   ", "😀😀", "\x00\x01"])
                try:
                    client.predict(sent_bad, [], api_name="/ask")
                    problem("errors", f"bad question {sent_bad!r} was answered")
                except Exception as exc:  # gradio_client raises AppError for gr.Error
                    if "Spørsmålet" in str(exc):
                        with lock:
                            stats["question_errors"] += 1
                    else:
                        problem("errors", f"bad question: {type(exc).__name__}: {exc}")
                continue
            t0 = time.perf_counter()
            try:
                answer = client.predict(sent, [], api_name="/ask")
            except Exception as exc:
                problem("errors", f"{type(exc).__name__}: {str(exc)[:200]}")
                continue
            took = time.perf_counter() - t0
            wrong = _check_answer(answer, sent, assistant)
            with lock:
                stats["requests"] += 1
                stats["latencies"].append(took)
            if wrong.startswith(("not an answer", "answer for another")):
                problem("lost", wrong)
            elif wrong:
                problem("broken", wrong)
            else:
                with lock:
                    stats["answered" if answer["answered"] else "no_answer"] += 1

    def uploader() -> None:
        client = Client(url, verbose=False)
        start_gate.wait()
        gap = seconds / (len(docs) + 1)
        for i, (path, word) in enumerate(docs):
            while time.monotonic() < deadline[0] - seconds + gap * (i + 1):
                time.sleep(0.05)
            try:
                result = client.predict(handle_file(str(path)), api_name="/upload")
            except Exception as exc:
                problem("upload_errors", f"{path.name}: {type(exc).__name__}: {exc}")
                continue
            if not word:  # the broken file
                with lock:
                    stats["uploads_refused" if not result.get("ok") else "upload_errors"] += 1
                continue
            if not result.get("ok"):
                problem("upload_errors", f"{path.name}: {result.get('message')}")
                continue
            with lock:
                stats["uploads_ok"] += 1
            answer = client.predict(f"Hva sier avtalen om {word}?", [], api_name="/ask")
            if answer["clauses"] and answer["clauses"][0]["doc"] == path.name:
                with lock:
                    stats["uploaded_found"] += 1
            else:
                problem("upload_errors", f"{path.name} was stored but its word is not found")

    threads = [threading.Thread(target=asker, args=(u,), daemon=True) for u in range(users)]
    if uploads:
        threads.append(threading.Thread(target=uploader, daemon=True))
    try:
        info = Client(url, verbose=False).view_api(print_info=False, return_format="dict")
        missing = {"/ask", "/upload"} - set(info["named_endpoints"])
        if missing:
            raise RuntimeError(f"the app has no endpoint {sorted(missing)}")
        for t in threads:
            t.start()
        say(f"{users} users connecting to {url}; then asking for {seconds:.0f} s ({uploads} uploads) …")
        start_gate.wait(timeout=120)
        t_start = time.monotonic()
        for t in threads:
            t.join(timeout=seconds + 120)
        stats["wall_seconds"] = round(time.monotonic() - t_start, 1)
        stats["hung_threads"] = sum(t.is_alive() for t in threads)
    finally:
        demo.close()
        shutil.rmtree(workdir, ignore_errors=True)
    lat = sorted(stats.pop("latencies"))
    if lat:
        q = statistics.quantiles(lat, n=100, method="inclusive") if len(lat) > 1 else [lat[0]] * 99
        stats.update(p50_s=round(q[49], 3), p95_s=round(q[94], 3), max_s=round(lat[-1], 3),
                     per_second=round(len(lat) / max(stats["wall_seconds"], 1e-9), 1))
    return stats


def summary(stats: dict) -> str:
    lines = [
        f"users {stats['users']}, {stats['wall_seconds']} s",
        f"requests served {stats['requests']} ({stats.get('per_second', 0)}/s): answered {stats['answered']}, "
        f"no answer {stats['no_answer']}; refused bad questions {stats['question_errors']}",
        f"errors {stats['errors']}, lost {stats['lost']}, broken {stats['broken']}, hung users {stats['hung_threads']}",
        f"uploads ok {stats['uploads_ok']} (found by a question: {stats['uploaded_found']}), "
        f"refused {stats['uploads_refused']}, failed {stats['upload_errors']}",
        f"latency p50 {stats.get('p50_s', 0):.3f} s, p95 {stats.get('p95_s', 0):.3f} s, max {stats.get('max_s', 0):.3f} s",
    ]
    lines += [f"  {p}" for p in stats["problems"]]
    return "\n".join(lines)


def failed(stats: dict) -> bool:
    return bool(stats["errors"] or stats["lost"] or stats["broken"] or stats["upload_errors"]
                or stats["hung_threads"] or not stats["requests"])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--uploads", type=int, default=3, help="documents uploaded during the load (plus one bad file)")
    parser.add_argument("--concurrency", type=int, default=2, help="gradio queue concurrency (app.launch uses 2)")
    parser.add_argument("--corpus", default=str(ROOT / "corpus"))
    parser.add_argument("--index", default=str(ROOT / "embeddings"), help="an index to copy (saves building one)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    from assistant import Assistant, Config

    base = Path(tempfile.mkdtemp(prefix="loadtest-data-"))
    try:
        shutil.copytree(args.corpus, base / "corpus")
        if Path(args.index, "manifest.json").is_file():
            shutil.copytree(args.index, base / "index")
        assistant = Assistant(Config.from_env(corpus_dir=base / "corpus", index_dir=base / "index",
                                              feedback_file=base / "feedback.jsonl"))
        t0 = time.perf_counter()
        report = assistant.index()
        print(f"index ready in {time.perf_counter() - t0:.1f} s: {report.summary()}", file=sys.stderr)
        assistant.ask("Hvor lenge gjelder kvalitetsavtalen?")  # warm up the model
        stats = run_load(assistant, args.users, args.seconds, args.uploads, args.concurrency,
                         log=lambda m: print(m, file=sys.stderr))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(stats, ensure_ascii=False, indent=1) if args.json else summary(stats))
    return 1 if failed(stats) else 0


if __name__ == "__main__":
    sys.exit(main())
