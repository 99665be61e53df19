"""`assistant eval`: the scorer's figures for a question set, by lang and kind, and how firm the refusals were."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.evaluate import format_report, load_scorer, refusals, run_questions, score_by_slice

ROOT = Path(__file__).resolve().parent.parent
SCORER = ROOT.parent / "shared" / "eval" / "score_retrieval.py"
needs_scorer = pytest.mark.skipif(not SCORER.is_file(), reason="the eval sets are not beside the project")
QUALITY = "avtale-kvalitet-helse-omsorg-2012-2015"
QUESTIONS = [
    {"id": "a", "question": "Hva sier avtalen om heltidsstillinger?", "lang": "nb", "kind": "plain",
     "answers": [{"doc": QUALITY, "text": "andelen heltidsstillinger"}]},
    {"id": "b", "question": "Når gjelder avtalen til?", "lang": "nb", "kind": "keyword",
     "answers": [{"doc": QUALITY, "text": "31. desember 2015"}]},
    {"id": "c", "question": "Who signed the quality agreement?", "lang": "en", "kind": "plain",
     "answers": [{"doc": QUALITY, "text": "Jonas Gahr Støre"}]},
    {"id": "d", "question": "Hva er hovedstaden i Frankrike?", "lang": "nb", "kind": "out-of-scope-far", "answers": []},
    {"id": "e", "question": "What is the weather like in Bergen?", "lang": "en", "kind": "out-of-scope-far", "answers": []},
]


@needs_scorer
def test_rows_scores_and_refusals_follow_the_scorer(fake_assistant):
    scorer = load_scorer(SCORER)
    rows = run_questions(fake_assistant, QUESTIONS)
    assert [r["id"] for r in rows] == [q["id"] for q in QUESTIONS]
    for r in rows:
        assert {"abstained", "unsure", "answerable", "answer", "results"} <= set(r)
        assert not (r["unsure"] and not r["abstained"])  # «not sure» is a kind of refusal
    metrics = score_by_slice(scorer, QUESTIONS, rows)
    assert {"all", "lang:nb", "lang:en", "kind:plain", "kind:keyword", "kind:out-of-scope-far"} <= set(metrics)
    assert metrics["all"]["n"] == 3 and metrics["all"]["n_unanswerable"] == 2
    refused = refusals(scorer, QUESTIONS, rows)
    declined = {q["id"] for q, r in zip(QUESTIONS, rows) if r["abstained"]}
    firm = {q["id"] for q, r in zip(QUESTIONS, rows) if r["abstained"] and not r["unsure"]}
    assert refused["out_of_scope"] == (len(firm & {"d", "e"}), len(declined & {"d", "e"}))
    assert refused["answerable"] == (len(firm & {"a", "b", "c"}), len(declined & {"a", "b", "c"}))
    text = format_report(metrics, "five questions", refused)
    assert "### five questions" in text and "| lang:en | 1 |" in text and "| kind:out-of-scope-far | 0 |" in text
    assert f"{refused['out_of_scope'][0]} of {refused['out_of_scope'][1]} declined out-of-scope" in text


@needs_scorer
def test_single_answer_questions_count_as_answerable():
    """norquad's format (one "answer" per question): every question is answerable, as the scorer says."""
    scorer = load_scorer(SCORER)
    qs = [{"id": "x", "question": "Hvem vant?", "doc": "a.txt", "answer": "Ola", "start": 0, "end": 3}]
    rows = [{"id": "x", "abstained": True, "unsure": True, "answer": "", "results": []}]
    assert refusals(scorer, qs, rows) == {"out_of_scope": (0, 0), "answerable": (0, 1)}


@pytest.mark.slow
@needs_scorer
def test_assistant_eval_prints_the_tables_with_the_real_model(tmp_path, capsys):
    from assistant.cli import main

    set_dir = tmp_path / "evalsets" / "tiny"
    set_dir.mkdir(parents=True)
    shutil.copy(SCORER, set_dir.parent / "score_retrieval.py")
    (set_dir / "questions.jsonl").write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in QUESTIONS),
                                             encoding="utf-8")
    out = tmp_path / "rows.jsonl"
    code = main(["eval", str(set_dir), "--corpus", str(ROOT / "corpus"), "--index", str(tmp_path / "idx"),
                 "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "| n | hit@1 |" in text and "| lang:nb | 2 |" in text and "Declined firmly" in text
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    by_id = {r["id"]: r for r in rows}
    assert not by_id["a"]["abstained"] and "heltidsstillinger" in by_id["a"]["answer"]
    assert by_id["e"]["abstained"]  # the weather
