"""Nynorsk versions of the bokmål dev sets, for measuring the nynorsk path on more than seed-dev's 11.

Each bokmål question of a set is put into nynorsk with Debian's apertium-nno-nob (its `nob-nno`
mode, installed by scripts/setup.sh), and written with `lang` "nn" and the bokmål original as
`source_question`; answers, kinds and documents are kept, and a set's own corpus/ is linked. The
product then reads each question as it reads a user's nynorsk: detects the language, translates it
back to bokmål (nno-nob) and searches that, so the sets measure the round trip. They are a proxy:
a machine's nynorsk is more regular than a person's, and the way back recovers much of the
original. Nothing is fitted on them.

    python fitting/nynorsk_sets.py ../shared/eval/seed-dev ../shared/eval/norquad-dev --out /tmp/nn-sets
    assistant eval /tmp/nn-sets/norquad-dev-nn --scorer ../shared/eval/score_retrieval.py \\
        --corpus ../shared/eval/norquad-dev/corpus --index ~/.cache/avtaleassistenten/eval/norquad-dev-index
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path


def to_nynorsk(questions: list[str]) -> list[str]:
    """One apertium call for all the questions, one per line (`-u`: no marks on unknown words)."""
    if shutil.which("apertium") is None:
        sys.exit("apertium is not installed (scripts/setup.sh installs apertium-nno-nob)")
    lines = "\n".join(" ".join(q.split()) for q in questions) + "\n"
    out = subprocess.run(["apertium", "-u", "nob-nno"], input=lines, capture_output=True, text=True, check=True)
    got = out.stdout.split("\n")[: len(questions)]
    if len(got) != len(questions) or not all(g.strip() for g in got):
        sys.exit(f"apertium gave {len(got)} lines for {len(questions)} questions")
    return [g.strip() for g in got]


def nynorsk_set(set_dir: Path, out_dir: Path) -> Path:
    rows = [json.loads(line) for line in (set_dir / "questions.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if r.get("lang", "nb") == "nb"]
    target = out_dir / f"{set_dir.name}-nn"
    target.mkdir(parents=True, exist_ok=True)
    with open(target / "questions.jsonl", "w", encoding="utf-8") as f:
        for row, text in zip(rows, to_nynorsk([r["question"] for r in rows])):
            f.write(json.dumps({**row, "question": text, "lang": "nn", "source_question": row["question"]},
                               ensure_ascii=False) + "\n")
    corpus = target / "corpus"
    if (set_dir / "corpus").is_dir() and not corpus.exists():
        corpus.symlink_to((set_dir / "corpus").resolve(), target_is_directory=True)
    print(f"{target}: {len(rows)} questions")
    return target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sets", nargs="+", type=Path, help="set folders with questions.jsonl")
    parser.add_argument("--out", type=Path, required=True, help="folder for the SET-nn folders")
    args = parser.parse_args(argv)
    for set_dir in args.sets:
        nynorsk_set(set_dir, args.out)


if __name__ == "__main__":
    main()
