"""Paths and small helpers shared by the benchmarks."""

from __future__ import annotations

import json
import os
from pathlib import Path

from assistant.config import PROJECT_ROOT

__all__ = ["EVAL_DIR", "SEED_CORPUS", "read_jsonl", "write_jsonl"]

EVAL_DIR = Path(os.environ.get("ASSISTANT_EVAL", PROJECT_ROOT.parent / "shared" / "eval"))
SEED_CORPUS = PROJECT_ROOT / "corpus"


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(path: Path, rows) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
