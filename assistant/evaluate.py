"""Run a question set through the assistant and score it with the evaluation scorer.

The results are written in the format of `score_retrieval.py` (one line per question: ranked
passages, `abstained`, and `answer`, the text a person reads first); `assistant eval` prints the
scorer's figures overall and by `lang` and `kind`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from .answer import result_row
from .errors import AssistantError, QuestionError

__all__ = ["read_questions", "run_questions", "load_scorer", "score_by_slice", "format_report", "mixed_corpus"]


def read_questions(path: Path) -> list[dict]:
    rows = []
    try:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    try:
                        row = json.loads(line)
                    except ValueError:
                        raise AssistantError(f"{path}:{n} is not valid JSON") from None
                    if not isinstance(row, dict) or "id" not in row or not isinstance(row.get("question"), str):
                        raise AssistantError(f"{path}:{n} needs an 'id' and a 'question'")
                    rows.append(row)
    except OSError as exc:
        raise AssistantError(f"cannot read {path} ({exc.strerror or exc})") from None
    return rows


def run_questions(assistant, questions: Iterable[dict], top_k: int = 10, clauses_only: bool = False) -> list[dict]:
    """One scorer-format row per question, from the same path as `Assistant.ask`."""
    docs = assistant.data.documents
    out = []
    for q in questions:
        try:
            answer = assistant.ask(q["question"], top_k=top_k, context=not clauses_only)
        except QuestionError:
            out.append({"id": q["id"], "results": [], "abstained": True, "answer": ""})
            continue
        out.append({
            "id": q["id"],
            "abstained": not answer.answered,
            "unsure": answer.unsure,  # a refusal that says «not sure», not «the agreements do not say»
            "answerable": round(answer.answerable, 4),
            "answer": answer.read_first,
            "results": [result_row(h, docs[h.clause.doc_id], clauses_only) for h in answer.hits],
        })
    return out


def mixed_corpus(corpus_dir: Path, extra_dirs: list[Path], cache_dir: Path) -> Path:
    """A corpus folder holding the documents of `corpus_dir` and of each extra folder (copies).

    Kept in `cache_dir` under a name derived from the source folders, and brought in line with
    them on every call, so its index is reused and re-embeds only what changed. A folder's
    README describes the folder and is left out.
    """
    from .loaders import META_SUFFIX, is_supported, list_documents

    sources = [Path(corpus_dir), *map(Path, extra_dirs)]
    key = hashlib.sha256("\n".join(str(p.resolve()) for p in sources).encode()).hexdigest()[:10]
    target = Path(cache_dir) / f"mixed-{'+'.join(p.resolve().name for p in sources)}-{key}"
    target.mkdir(parents=True, exist_ok=True)
    wanted: dict[str, Path] = {}
    for folder in sources:
        for doc in list_documents(folder):
            if doc.stem.lower() == "readme":
                continue
            for path in (doc, doc.with_name(doc.stem + META_SUFFIX)):
                if path.is_file():
                    if path.name in wanted:
                        raise AssistantError(f"{path.name} is in two of the folders to mix; rename one")
                    wanted[path.name] = path
    for old in target.iterdir():
        if old.is_file() and old.name not in wanted and (is_supported(old) or old.name.endswith(META_SUFFIX)):
            old.unlink()
    for name, path in wanted.items():
        dest = target / name
        if not dest.is_file() or dest.read_bytes() != path.read_bytes():
            shutil.copyfile(path, dest)
    return target


def load_scorer(path: Path):
    """The evaluation set's own scorer module (score_retrieval.py)."""
    path = Path(path)
    if not path.is_file():
        raise AssistantError(f"no scorer at {path}; pass --scorer PATH/score_retrieval.py")
    spec = importlib.util.spec_from_file_location("score_retrieval", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("score_retrieval", module)
    spec.loader.exec_module(module)
    return module


def score_by_slice(scorer, questions: list[dict], rows: list[dict]) -> dict[str, dict]:
    """The scorer's metrics for all questions and for each `lang:` and `kind:` slice."""
    results = {r["id"]: r.get("results") or [] for r in rows}
    abstained = {r["id"]: bool(r.get("abstained")) for r in rows}
    answers = {r["id"]: r["answer"] for r in rows if isinstance(r.get("answer"), str)}
    slices: dict[str, list[dict]] = {"all": questions}
    for q in questions:
        for key in ("lang", "kind"):
            if q.get(key):
                slices.setdefault(f"{key}:{q[key]}", []).append(q)
    return {name: scorer.score(qs, results, abstained, answers) for name, qs in slices.items()}


def refusals(scorer, questions: list[dict], rows: list[dict]) -> dict[str, tuple[int, int]]:
    """Of the declined questions, how many were declined firmly («the agreements do not say this»,
    not «not sure»): (firm, declined), for the out-of-scope and for the answerable questions (as
    the scorer tells them apart)."""
    by_id = {r["id"]: r for r in rows}
    out = {"out_of_scope": [0, 0], "answerable": [0, 0]}
    for q in questions:
        r = by_id.get(q["id"])
        if r is None or not r.get("abstained"):
            continue
        part = out["answerable" if scorer.gold_answers(q) else "out_of_scope"]
        part[1] += 1
        part[0] += not r.get("unsure")
    return {k: (v[0], v[1]) for k, v in out.items()}


def _f(v, digits=3) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def format_report(metrics: dict[str, dict], title: str = "", refused: dict | None = None) -> str:
    """Markdown tables: the overall figures, then one row per slice (and how firm the refusals were)."""
    m = metrics["all"]
    lines = [f"### {title}" if title else "", ""]
    lines.append("| n | hit@1 | hit@3 | hit@5 | hit@10 | MRR@10 | answer_hit | mean chars | "
                 "declined: out of scope (n) | declined: answerable |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    lines.append(f"| {m['n']} | {_f(m['hit@1'])} | {_f(m['hit@3'])} | {_f(m['hit@5'])} | {_f(m['hit@10'])} | "
                 f"{_f(m['mrr@10'])} | {_f(m.get('answer_hit'))} | {m['mean_chars']:.0f} | "
                 f"{_f(m['abstain_unanswerable'])} ({m['n_unanswerable']}) | {_f(m['abstain_answerable'])} |")
    names = sorted((k for k in metrics if k != "all"), key=lambda k: (not k.startswith("lang"), k))
    if names:
        lines += ["", "| slice | n | hit@1 | hit@3 | hit@5 | answer_hit | out of scope | declined |",
                  "|---|---|---|---|---|---|---|---|"]
        for k in names:
            s = metrics[k]
            answerable = s["n"] > 0
            lines.append(f"| {k} | {s['n']} | {_f(s['hit@1']) if answerable else '–'} | "
                         f"{_f(s['hit@3']) if answerable else '–'} | {_f(s['hit@5']) if answerable else '–'} | "
                         f"{_f(s.get('answer_hit')) if answerable else '–'} | {s['n_unanswerable']} | "
                         f"{_f(s['abstain_unanswerable'])} |")
    if refused:
        (fo, no), (fa, na) = refused["out_of_scope"], refused["answerable"]
        lines += ["", f"Declined firmly («the agreements do not say this», the rest «not sure»): {fo} of {no} "
                      f"declined out-of-scope questions, {fa} of {na} declined answerable ones."]
    return "\n".join(lines).strip() + "\n"


def timed_run(assistant, questions, **kw) -> tuple[list[dict], float]:
    t0 = time.perf_counter()
    rows = run_questions(assistant, questions, **kw)
    return rows, time.perf_counter() - t0
