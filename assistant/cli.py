"""Command line: one command per action, human output by default, --json for machines."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from .config import Config
from .errors import AssistantError

__all__ = ["main"]

EPILOG = {
    "index": "example:\n  assistant index\n  assistant index --corpus ../shared/eval/norquad-dev/corpus --index /tmp/nq-index",
    "ask": 'example:\n  assistant ask "Hvor lenge gjelder kvalitetsavtalen?"\n  assistant ask --json "Hva sier avtalen om heltid?"',
    "retrieve": "example:\n  assistant retrieve --questions ../shared/eval/seed-dev/questions.jsonl --out results.jsonl",
    "serve": "example:\n  assistant serve --port 7860\n  ASSISTANT_AUTH=user:secret assistant serve --host 0.0.0.0",
}


def _config(args) -> Config:
    return Config.from_env(
        corpus_dir=Path(args.corpus) if args.corpus else None,
        index_dir=Path(args.index) if args.index else None,
        model=args.model,
        top_k=getattr(args, "top_k", None),
    )


def progress_printer(quiet: bool = False, interval: float = 0.5):
    """A progress callback for indexing that prints a line to stderr at most every `interval` s."""
    if quiet:
        return None
    last = [0.0]

    def show(message: str, fraction: float) -> None:
        now = time.monotonic()
        if now - last[0] > interval or fraction >= 1.0:
            last[0] = now
            print(f"  [{fraction * 100:5.1f}%] {message}", file=sys.stderr, flush=True)

    return show


def cmd_index(args) -> int:
    from .core import Assistant

    assistant = Assistant(_config(args))
    report = assistant.index(progress=progress_printer(args.json))
    if args.json:
        print(json.dumps(report.__dict__, ensure_ascii=False, indent=1))
    else:
        if report.rebuilt_because:
            print(f"Rebuilt the index: {report.rebuilt_because}.")
        print(f"Index in {assistant.config.index_dir}: {report.summary()}.")
        for name, reason in report.skipped.items():
            print(f"  skipped {name}: {reason}")
    return 0


def cmd_ask(args) -> int:
    from .answer import format_answer_text
    from .core import Assistant

    assistant = Assistant(_config(args))
    answer = assistant.ask(" ".join(args.question))
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False, indent=1))
    else:
        print(format_answer_text(answer), end="")
    return 0


def cmd_retrieve(args) -> int:
    from .answer import result_row
    from .core import Assistant
    from .errors import QuestionError

    assistant = Assistant(_config(args))
    searcher = assistant.load()
    rows = []
    with open(args.questions, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except ValueError:
                    raise AssistantError(f"{args.questions}:{n} is not valid JSON") from None
    docs = searcher.data.documents
    threshold = assistant.config.abstain_threshold
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with open(out, "w", encoding="utf-8") as f:
        for row in rows:
            try:
                result = assistant.retrieve(row["question"], top_k=args.top_k, context=not args.clauses_only)
            except QuestionError:
                f.write(json.dumps({"id": row["id"], "results": [], "abstained": True}) + "\n")
                continue
            f.write(json.dumps({
                "id": row["id"],
                "abstained": result.answerable < threshold,
                "answerable": round(result.answerable, 4),
                "results": [result_row(h, docs[h.clause.doc_id], args.clauses_only) for h in result.hits],
            }, ensure_ascii=False) + "\n")
    print(f"Wrote {len(rows)} results to {out} in {time.perf_counter() - t0:.1f} s.", file=sys.stderr)
    return 0


def cmd_serve(args) -> int:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from app import launch

    launch(_config(args), host=args.host, port=args.port, auth=os.environ.get("ASSISTANT_AUTH"))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant",
        description="Avtaleassistenten: find the clauses of the KS agreements that answer a question.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--corpus", help="folder of documents (env ASSISTANT_CORPUS; default corpus/)")
    common.add_argument("--index", help="index folder (env ASSISTANT_INDEX; default embeddings/)")
    common.add_argument("--model", help="sentence-transformers model name or folder (env ASSISTANT_MODEL)")
    common.add_argument("--json", action="store_true", help="machine-readable output")
    sub = parser.add_subparsers(dest="command", required=True)
    fmt = argparse.RawDescriptionHelpFormatter

    p = sub.add_parser("index", parents=[common], help="build or update the index", epilog=EPILOG["index"], formatter_class=fmt)
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("ask", parents=[common], help="answer a question", epilog=EPILOG["ask"], formatter_class=fmt)
    p.add_argument("question", nargs="+")
    p.add_argument("--top-k", type=int, dest="top_k")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("retrieve", parents=[common], help="write ranked results for a question file",
                       epilog=EPILOG["retrieve"], formatter_class=fmt)
    p.add_argument("--questions", required=True, help="JSON lines with id and question")
    p.add_argument("--out", required=True, help="results file (format of score_retrieval.py)")
    p.add_argument("--top-k", type=int, default=10, dest="top_k")
    p.add_argument("--clauses-only", action="store_true",
                   help="return the bare clauses instead of each clause with its neighbours (~600 chars)")
    p.set_defaults(func=cmd_retrieve)

    p = sub.add_parser("serve", parents=[common], help="run the web app", epilog=EPILOG["serve"], formatter_class=fmt)
    p.add_argument("--host", default=os.environ.get("ASSISTANT_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("ASSISTANT_PORT", "7860")))
    p.set_defaults(func=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except AssistantError as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug or an environment fault: one line, not a traceback
        if os.environ.get("ASSISTANT_DEBUG"):
            raise
        print(f"error: unexpected {type(exc).__name__}: {_one_line(exc)} (set ASSISTANT_DEBUG=1 for details)",
              file=sys.stderr)
        return 1


def _one_line(exc: BaseException) -> str:
    """The message on one line, printable whatever the terminal's encoding."""
    return " ".join(str(exc).split()).encode("utf-8", "backslashreplace").decode("utf-8")
