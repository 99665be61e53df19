"""Votes in SQLite (assistant/feedback.py) and `assistant feedback`: real files, real database."""

from __future__ import annotations

import json
import sqlite3
import threading

import pytest

from assistant import cli
from assistant.errors import FeedbackError
from assistant.feedback import FeedbackStore


def answer(question: str, answer_id: str | None = None, **extra) -> dict:
    data = {"question": question, "language": "nb", "answered": True, "answerable": 0.8,
            "clauses": [{"doc": "avtale.txt", "start": 0, "end": 5, "ordinal": 1, "text": "Avtalen gjelder", "score": 1.0,
                         "title": "not stored"}], **extra}
    if answer_id:
        data["answer_id"] = answer_id
    return data


def test_wal_and_one_vote_per_answer(tmp_path):
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    with sqlite3.connect(tmp_path / "fb.sqlite3") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.record(answer("Hvor lenge gjelder avtalen?", "a1"), "up", "bra")
    store.record(answer("Hvor lenge gjelder avtalen?", "a1"), "down")  # changed mind: replaces, keeps the comment
    store.record(answer("Hva sier avtalen om heltid?", "a2"), "up")
    votes = store.votes()
    assert len(votes) == 2 and store.counts() == {"up": 1, "down": 1}
    first = next(v for v in votes if v["answer_id"] == "a1")
    assert first["vote"] == "down" and first["comment"] == "bra" and first["answered"] is True
    assert first["clauses"] == [{"doc": "avtale.txt", "start": 0, "end": 5, "ordinal": 1, "text": "Avtalen gjelder",
                                 "score": 1.0}]
    assert store.record(answer("Uten id?"), "up") != store.record(answer("Uten id?"), "up")  # no id: a new answer


@pytest.mark.parametrize("data, vote, message", [
    (answer("x"), "maybe", "vote must be"),
    ({"clauses": []}, "up", "no question"),
    ("not a dict", "up", "must be the JSON"),
])
def test_bad_votes_are_refused_and_store_nothing(tmp_path, data, vote, message):
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    with pytest.raises(FeedbackError, match=message):
        store.record(data, vote)
    assert store.votes() == []


def test_threads_voting_at_once_store_every_vote_once(tmp_path):
    path = tmp_path / "fb.sqlite3"
    FeedbackStore(path)
    errors = []

    def voter(n: int) -> None:
        store = FeedbackStore(path)  # its own store, as another process would have
        for i in range(10):
            try:
                store.record(answer(f"spørsmål {n}-{i}", f"{n}-{i}"), "up" if i % 2 else "down")
                store.record(answer(f"spørsmål {n}-{i}", f"{n}-{i}"), "up" if i % 2 else "down")  # a retry
            except FeedbackError as exc:
                errors.append(exc)

    threads = [threading.Thread(target=voter, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    votes = FeedbackStore(path).votes()
    assert sorted(v["answer_id"] for v in votes) == sorted(f"{n}-{i}" for n in range(8) for i in range(10))


def test_jsonl_is_imported_once(tmp_path):
    legacy = tmp_path / "feedback.jsonl"
    rows = [{"time": "2026-11-20T10:00:00+0100", "vote": "down", "question": "Hva koster parkering?",
             "language": "nb", "answered": False, "clauses": [], "comment": "feil"},
            {"time": "2026-11-21T10:00:00+0100", "vote": "up", "question": "Hvor lenge gjelder avtalen?",
             "language": "nb", "answered": True, "clauses": [], "comment": ""}]
    legacy.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n{torn line\n", encoding="utf-8")
    store = FeedbackStore(tmp_path / "fb.sqlite3", legacy_jsonl=legacy)
    assert sorted(v["question"] for v in store.votes()) == ["Hva koster parkering?", "Hvor lenge gjelder avtalen?"]
    assert {v["source"] for v in store.votes()} == {"jsonl"}
    store.record(answer("Ny", "n1"), "up")
    again = FeedbackStore(tmp_path / "fb.sqlite3", legacy_jsonl=legacy)  # a restart: not imported twice
    assert len(again.votes()) == 3
    assert again.import_jsonl(legacy) == 0


def test_export_of_down_voted_questions(tmp_path):
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    store.record(answer("Hva koster parkering?", "a"), "down", "ikke relevant")
    store.record(answer("hva koster  parkering?", "b"), "down")  # the same question again: once in the export
    store.record(answer("Hvor lenge gjelder avtalen?", "c"), "up")
    out = tmp_path / "eval" / "draft.jsonl"
    assert store.export_questions(out) == 1
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 1
    row = rows[0]
    assert row["question"].lower().split() == ["hva", "koster", "parkering?"]
    assert row["answers"] == [] and row["draft"] is True and row["lang"] == "nb" and row["id"].startswith("fb-")
    assert row["shown"] == [{"doc": "avtale", "text": "Avtalen gjelder"}]


def test_cli_lists_and_exports(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("ASSISTANT_FEEDBACK", raising=False)
    db = tmp_path / "fb.sqlite3"
    store = FeedbackStore(db)
    store.record(answer("Hva koster parkering?", "a"), "down", "feil avtale")
    store.record(answer("Hvor lenge gjelder avtalen?", "b"), "up")
    assert cli.main(["feedback", "--db", str(db), "--index", str(tmp_path / "idx")]) == 0
    out = capsys.readouterr().out
    assert "1 up, 1 down" in out and "-  Hva koster parkering?  # feil avtale" in out
    assert cli.main(["feedback", "--db", str(db), "--down", "--json", "--index", str(tmp_path / "idx")]) == 0
    assert [v["question"] for v in json.loads(capsys.readouterr().out)] == ["Hva koster parkering?"]
    draft = tmp_path / "draft.jsonl"
    assert cli.main(["feedback", "--db", str(db), "--export", str(draft), "--index", str(tmp_path / "idx")]) == 0
    assert "Wrote 1 down-voted question" in capsys.readouterr().err
    assert json.loads(draft.read_text(encoding="utf-8"))["question"] == "Hva koster parkering?"


def test_unusable_database_is_one_line_error(tmp_path, capsys):
    bad = tmp_path / "fb.sqlite3"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(FeedbackError, match="cannot be opened"):
        FeedbackStore(bad)
    assert cli.main(["feedback", "--db", str(bad), "--index", str(tmp_path / "idx")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
