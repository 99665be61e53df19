"""Paths and small helpers shared by the benchmarks. The one place they read the environment
(ASSISTANT_EVAL, ASSISTANT_BENCH_KEEP); the assistant's own settings come from `Config.from_env`."""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["PROJECT_ROOT", "SEED_CORPUS", "eval_dir", "keep_work", "read_jsonl", "write_jsonl"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SEED_CORPUS = PROJECT_ROOT / "corpus"


def eval_dir(given: str | Path | None = None, required: bool = True) -> Path | None:
    """The folder of the evaluation sets (score_retrieval.py, seed-dev/, norquad-dev/): `given`
    (--eval), else $ASSISTANT_EVAL. Neither: SystemExit with what to do (None if not `required`)."""
    value = given or os.environ.get("ASSISTANT_EVAL")
    if not value:
        if not required:
            return None
        raise SystemExit("no evaluation sets: pass --eval FOLDER or set ASSISTANT_EVAL to the folder with "
                         "score_retrieval.py, seed-dev/ and norquad-dev/")
    path = Path(value)
    if not (path / "score_retrieval.py").is_file():
        raise SystemExit(f"{path} is not an evaluation folder (no score_retrieval.py): pass --eval FOLDER or set ASSISTANT_EVAL")
    return path


def keep_work() -> bool:
    """ASSISTANT_BENCH_KEEP=1: leave the benchmark's work folder in place (to look at it)."""
    return bool(os.environ.get("ASSISTANT_BENCH_KEEP"))


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(path: Path, rows) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
