"""Command line: one command per action, human output by default, --json for machines."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .config import Config
from .errors import AssistantError
from .progress import progress_printer

__all__ = ["main"]

EPILOG = {
    "index": "example:\n  assistant index\n  assistant index --corpus ../shared/eval/norquad-dev/corpus --index /tmp/nq-index",
    "ask": ('example:\n  assistant ask "Hvor lenge gjelder kvalitetsavtalen?"\n  assistant ask --json "Hva sier avtalen om heltid?"\n'
            '  assistant ask --kind avtale "Hvem signerte?"\n  assistant ask --doc ks-leve-hele-livet-2018.txt "Hva er formålet?"'),
    "retrieve": "example:\n  assistant retrieve --questions ../shared/eval/seed-dev/questions.jsonl --out results.jsonl",
    "eval": ("example:\n  assistant eval ../shared/eval/seed-dev\n"
             "  assistant eval ../shared/eval/seed-dev --with ../shared/eval/extra-docs-dev   # 2 seeds + 2 related pages\n"
             "  assistant eval ../shared/eval/norquad-dev --out /tmp/nq.jsonl"),
    "serve": ("example:\n  assistant serve --port 7860\n  assistant serve --reindex      # take up changed files of corpus/ first\n"
              "  ASSISTANT_AUTH=user:secret assistant serve --host 0.0.0.0"),
    "feedback": ("example:\n  assistant feedback                       # list the votes, newest first\n"
                 "  assistant feedback --down --json\n"
                 "  assistant feedback --export draft-questions.jsonl   # down-voted questions for the eval set"),
}


def _config(args) -> Config:
    return Config.from_env(
        corpus_dir=Path(args.corpus) if args.corpus else None,
        index_dir=Path(args.index) if args.index else None,
        model=args.model,
        top_k=getattr(args, "top_k", None),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
    )


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
        for name in report.rolled_back:
            print(f"  rolled back {name}: its upload was cut off before it was indexed")
        for name, reason in report.skipped.items():
            print(f"  skipped {name}: {reason}")
    return 0


def cmd_ask(args) -> int:
    from .answer import format_answer_text
    from .core import Assistant

    # one question: translated only if nynorsk; reading never writes the index (none there: an error)
    assistant = Assistant(_config(args), warm_translator=False, build_missing=False)
    answer = assistant.ask(" ".join(args.question), docs=args.doc or None, kinds=args.kind or None)
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False, indent=1))
    else:
        print(format_answer_text(answer), end="")
    return 0


def cmd_retrieve(args) -> int:
    from .core import Assistant
    from .evaluate import read_questions, timed_run

    assistant = Assistant(_config(args), build_missing=False)  # reads the index, never writes it
    questions = read_questions(Path(args.questions))
    assistant.load()
    rows, seconds = timed_run(assistant, questions, top_k=args.top_k, clauses_only=args.clauses_only)
    _write_rows(Path(args.out), rows)
    print(f"Wrote {len(rows)} results to {args.out} in {seconds:.1f} s.", file=sys.stderr)
    return 0


def _write_rows(out: Path, rows: list[dict]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def cmd_eval(args) -> int:
    from .core import Assistant
    from .e5convert import DEFAULT_MODEL
    from .evaluate import format_report, load_scorer, read_questions, refusals, score_by_slice, timed_run
    from .retrieve.calibration import calibration_file

    set_dir = Path(args.set_dir)
    questions = read_questions(set_dir / "questions.jsonl")
    scorer = load_scorer(Path(args.scorer) if args.scorer else set_dir.parent / "score_retrieval.py")
    overrides = {}
    base = _config(args)
    cache = base.cache_dir
    # each model's evaluation indexes in their own folders: an index of another model is never replaced
    own = "" if base.model == DEFAULT_MODEL else "-" + calibration_file(base.model).stem
    if not args.corpus and (set_dir / "corpus").is_dir():  # the set brings its own documents
        overrides["corpus_dir"] = set_dir / "corpus"
        if not args.index:
            overrides["index_dir"] = cache / "eval" / f"{set_dir.resolve().name}-index{own}"
    config = base.with_(**overrides)
    if args.mix_in:
        from .evaluate import mixed_corpus

        mixed = mixed_corpus(config.corpus_dir, [Path(p) for p in args.mix_in], cache / "eval")
        config = config.with_(corpus_dir=mixed, index_dir=args.index or mixed.with_name(f"{mixed.name}-index{own}"))
    assistant = Assistant(config)
    assistant.index(progress=progress_printer(args.json))
    rows, seconds = timed_run(assistant, questions, top_k=args.top_k, clauses_only=args.clauses_only)
    if args.out:
        _write_rows(Path(args.out), rows)
    metrics = score_by_slice(scorer, questions, rows)
    if args.json:
        print(json.dumps(metrics, ensure_ascii=False, indent=1))
    else:
        print(format_report(metrics, f"{set_dir.name} ({len(questions)} questions, {seconds:.1f} s, "
                                     f"corpus {config.corpus_dir})", refusals(scorer, questions, rows)), end="")
    return 0


def cmd_serve(args) -> int:
    """Serve the index as it is: a missing one is built (a fresh clone serves corpus/ at once);
    a stale (splitter version), damaged or other model's index is refused with the fix, unless
    --reindex brings it up to date first (an other model's index is refused even then)."""
    config = _config(args)
    if not args.reindex:
        check_servable(config)
    from .web import launch

    launch(config, host=config.host, port=config.port, auth=config.auth, reindex=args.reindex)
    return 0


def check_servable(config: Config) -> None:
    """IndexError_ (with the fix) unless the index folder holds an index `serve` can read as it
    is, or none at all (then it is built); reads the manifest only, loads no model."""
    from .errors import IndexError_
    from .index import SPLITTER_VERSION, current_splitter, model_mismatch, read_manifest

    index_dir = config.index_dir
    try:
        manifest = read_manifest(index_dir)
    except IndexError_ as exc:
        raise IndexError_(f"{exc}; rebuild it: assistant index --index {index_dir} (or serve --reindex)") from None
    if manifest is None:
        return
    from .core import Assistant

    model = Assistant(config).embedder.name  # the name only: the model loads on first use
    if manifest["model"] != model:
        raise model_mismatch(index_dir, manifest["model"], model)
    if not current_splitter(manifest.get("splitter_version")):
        raise IndexError_(f"the index in {index_dir} was split by splitter version "
                          f"{manifest.get('splitter_version')!r}, not {SPLITTER_VERSION}; rebuild it: "
                          f"assistant index --index {index_dir} (or serve --reindex)")


def cmd_feedback(args) -> int:
    from .feedback import FeedbackStore

    config = _config(args)
    store = FeedbackStore(args.db or config.votes_db, legacy_jsonl=config.feedback_file)
    if args.export:
        n = store.export_questions(args.export)
        print(f"Wrote {n} down-voted question(s) to {args.export}: fill in each row's answers "
              "(the clauses that answer it, or [] if the agreements do not) and drop its 'draft' key.",
              file=sys.stderr)
        return 0
    votes = store.votes("down" if args.down else None, limit=args.limit)
    if args.json:
        print(json.dumps(votes, ensure_ascii=False, indent=1))
        return 0
    counts = store.counts()
    print(f"{counts['up']} up, {counts['down']} down in {store.path}")
    for v in votes:
        mark = "+" if v["vote"] == "up" else "-"
        comment = f"  # {v['comment']}" if v["comment"] else ""
        print(f"{v['time'][:19]}  {mark}  {' '.join(v['question'].split())}{comment}")
    return 0


def _scope_args(p) -> None:
    p.add_argument("--doc", action="append", default=[], metavar="DOC",
                   help="search only this document (file name or id; repeatable)")
    p.add_argument("--kind", action="append", default=[], metavar="KIND",
                   help="search only documents of this kind, e.g. avtale, pressemelding (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant",
        description="Avtaleassistenten: find the clauses of the KS agreements that answer a question.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--corpus", help="folder of documents (env ASSISTANT_CORPUS; default ./corpus if it exists, "
                                         "else ~/.local/share/avtaleassistenten/corpus)")
    common.add_argument("--index", help="index folder (env ASSISTANT_INDEX; default embeddings/ beside the corpus folder)")
    common.add_argument("--model", help="sentence-transformers model name or folder (env ASSISTANT_MODEL)")
    common.add_argument("--json", action="store_true", help="machine-readable output")
    sub = parser.add_subparsers(dest="command", required=True)
    fmt = argparse.RawDescriptionHelpFormatter

    p = sub.add_parser("index", parents=[common], help="build or update the index", epilog=EPILOG["index"], formatter_class=fmt)
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("ask", parents=[common], help="answer a question", epilog=EPILOG["ask"], formatter_class=fmt)
    p.add_argument("question", nargs="+")
    p.add_argument("--top-k", type=int, dest="top_k")
    _scope_args(p)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("retrieve", parents=[common], help="write ranked results for a question file",
                       epilog=EPILOG["retrieve"], formatter_class=fmt)
    p.add_argument("--questions", required=True, help="JSON lines with id and question")
    p.add_argument("--out", required=True, help="results file (format of score_retrieval.py)")
    p.add_argument("--top-k", type=int, default=10, dest="top_k")
    p.add_argument("--clauses-only", action="store_true",
                   help="return the bare clauses instead of each clause with its neighbours (~600 chars)")
    p.set_defaults(func=cmd_retrieve)

    p = sub.add_parser("eval", parents=[common], help="score a question set (retrieve + ask, by lang and kind)",
                       epilog=EPILOG["eval"], formatter_class=fmt)
    p.add_argument("set_dir", help="folder with questions.jsonl (and corpus/ if it brings its own documents)")
    p.add_argument("--scorer", help="score_retrieval.py (default: beside the set folder)")
    p.add_argument("--out", help="also write the results here (scorer format)")
    p.add_argument("--top-k", type=int, default=10, dest="top_k")
    p.add_argument("--clauses-only", action="store_true", help="score bare clauses instead of clauses in context")
    p.add_argument("--with", dest="mix_in", action="append", default=[], metavar="FOLDER",
                   help="also index the documents of FOLDER (repeatable): the set's questions over a larger corpus")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("serve", parents=[common], help="run the web app", epilog=EPILOG["serve"], formatter_class=fmt)
    p.add_argument("--host", help="address to listen on (env ASSISTANT_HOST; default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (env ASSISTANT_PORT; default 7860)")
    p.add_argument("--reindex", action="store_true",
                   help="bring the index up to date with the corpus folder first (build, update, or rebuild a "
                        "stale or damaged one); an index of another model is refused: use another --index")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("feedback", parents=[common], help="list the votes; export down-voted questions",
                       epilog=EPILOG["feedback"], formatter_class=fmt)
    p.add_argument("--db", help="votes database (env ASSISTANT_FEEDBACK_DB; default feedback.sqlite3 beside the index)")
    p.add_argument("--down", action="store_true", help="only the down votes")
    p.add_argument("--limit", type=int, help="at most this many votes")
    p.add_argument("--export", metavar="QUESTIONS_JSONL",
                   help="write the down-voted questions as a draft questions.jsonl (answers to be filled in)")
    p.set_defaults(func=cmd_feedback)
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
        if _debug():
            raise
        print(f"error: unexpected {type(exc).__name__}: {_one_line(exc)} (set ASSISTANT_DEBUG=1 for details)",
              file=sys.stderr)
        return 1


def _debug() -> bool:
    """ASSISTANT_DEBUG (Config.debug): unexpected errors show their traceback."""
    try:
        return Config.from_env().debug
    except AssistantError:
        return False


def _one_line(exc: BaseException) -> str:
    """The message on one line, printable whatever the terminal's encoding."""
    return " ".join(str(exc).split()).encode("utf-8", "backslashreplace").decode("utf-8")
