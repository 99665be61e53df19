"""Adversarial cases of issue 11, each reproduced against real files in temporary folders:

1. links out of the corpus folder (a file, a folder, a sidecar, a link swapped in after listing, a FIFO);
2. forged, unbounded or malformed feedback, and server paths in replies;
3. uploads cut off by SIGKILL at each stage;
4. questions asked in parallel (results identical to one at a time).
"""

from __future__ import annotations

import json
import os
import re
import textwrap
import threading
import time
from pathlib import Path

import pytest

from assistant import Assistant, Config, DocumentError
from assistant.index import load_index
from tests.conftest import ROOT, FakeEmbedder, kill_child_at

KVALITET = "avtale-kvalitet-helse-omsorg-2012-2015"
SECRET = "root:x:0:0:root:/root:/bin/bash\nhemmeligord nologin daemon\n"


def _assistant(corpus: Path, tmp_path: Path) -> Assistant:
    return Assistant(Config(corpus_dir=corpus, index_dir=tmp_path / "idx", feedback_file=tmp_path / "fb.jsonl"),
                     embedder=FakeEmbedder())


def _indexed_text(a: Assistant) -> str:
    return "\n".join(c.text for c in a.data.clauses) + "\n".join(d.title for d in a.data.documents.values())


# -- 1. the corpus folder holds its own files only ----------------------------------------------

@pytest.fixture
def outside(tmp_path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "passwd").write_text(SECRET, encoding="utf-8")
    (folder / "hemmelig.txt").write_text(SECRET, encoding="utf-8")
    (folder / "meta.json").write_text(json.dumps({"title": "LEKKET TITTEL hemmeligord"}), encoding="utf-8")
    return folder


def test_symlink_to_an_outside_file_is_skipped_with_a_reason(corpus_dir, tmp_path, outside, monkeypatch, capsys):
    os.symlink(outside / "passwd", corpus_dir / "passwd.txt")
    a = _assistant(corpus_dir, tmp_path)
    report = a.index()
    assert "passwd" not in a.data.documents
    assert "hemmeligord" not in _indexed_text(a)
    assert report.skipped["passwd.txt"] == ("passwd.txt is a link to a file outside the corpus folder; "
                                            "links are not followed")
    assert all(h.clause.doc_id != "passwd" for h in a.ask("root bash nologin hemmeligord").hits)
    assert str(outside) not in report.skipped["passwd.txt"]  # the reason names no path

    # the CLI's index report
    import assistant.core
    from assistant.cli import main

    monkeypatch.setattr(assistant.core, "load_embedder", lambda *a, **k: FakeEmbedder())
    assert main(["index", "--corpus", str(corpus_dir), "--index", str(tmp_path / "idx")]) == 0
    assert "  skipped passwd.txt: passwd.txt is a link to a file outside the corpus folder" in capsys.readouterr().out

    # the Dokumenter tab
    from assistant.web import Handlers

    table = Handlers(a).overview()[0]
    assert "passwd.txt" in table and "lenke til noe utenfor dokumentmappen" in table


def test_symlinked_folder_is_not_followed(corpus_dir, tmp_path, outside):
    os.symlink(outside, corpus_dir / "delt-mappe", target_is_directory=True)
    a = _assistant(corpus_dir, tmp_path)
    report = a.index()
    assert set(a.data.documents) == {KVALITET, "ks-leve-hele-livet-2018"}
    assert "hemmeligord" not in _indexed_text(a)
    assert "a link to a folder outside the corpus folder" in report.skipped["delt-mappe"]
    from assistant.web import Handlers

    assert "delt-mappe" in Handlers(a).overview()[0]


def test_link_inside_the_corpus_is_not_followed_either(corpus_dir, tmp_path):
    os.symlink(corpus_dir / f"{KVALITET}.txt", corpus_dir / "alias.txt")
    a = _assistant(corpus_dir, tmp_path)
    report = a.index()
    assert "alias" not in a.data.documents and KVALITET in a.data.documents
    assert "link to a file inside the corpus folder" in report.skipped["alias.txt"]


@pytest.mark.parametrize("target", ["absolute", "dotdot"])
def test_sidecar_linking_out_skips_its_document(corpus_dir, tmp_path, outside, target):
    side = corpus_dir / f"{KVALITET}.meta.json"
    side.unlink()
    os.symlink(outside / "meta.json" if target == "absolute" else Path("..") / "outside" / "meta.json", side)
    a = _assistant(corpus_dir, tmp_path)
    report = a.index()
    assert KVALITET not in a.data.documents
    assert "LEKKET" not in _indexed_text(a)
    assert f"{KVALITET}.meta.json is a link" in report.skipped[f"{KVALITET}.txt"]


def test_a_link_swapped_in_after_listing_is_not_read(corpus_dir, tmp_path, outside):
    from assistant.loaders import file_hash, load_document

    path = corpus_dir / "byttet.txt"
    os.symlink(outside / "passwd", path)  # what a race between listing and reading would meet
    with pytest.raises(DocumentError, match="link"):
        load_document(path)
    with pytest.raises(DocumentError, match="link"):
        file_hash(path)


def test_fifo_in_the_corpus_does_not_hang_the_index(corpus_dir, tmp_path):
    os.mkfifo(corpus_dir / "rør.txt")
    a = _assistant(corpus_dir, tmp_path)
    t0 = time.monotonic()
    report = a.index()
    assert time.monotonic() - t0 < 30
    assert "not a regular file" in report.skipped["rør.txt"]
    from assistant.loaders import load_document

    with pytest.raises(DocumentError, match="not a regular file"):
        load_document(corpus_dir / "rør.txt")  # opened without blocking, then refused


def test_upload_over_a_planted_link_replaces_the_link_not_its_target(corpus_dir, tmp_path, outside):
    a = _assistant(corpus_dir, tmp_path)
    a.index()
    victim = outside / "hemmelig.txt"
    os.symlink(victim, corpus_dir / "notat.txt")
    src = tmp_path / "notat.txt"
    src.write_text("# Notat\n\nPartene er enige om brøyting av fortau.\n", encoding="utf-8")
    a.add_document(src)
    assert victim.read_text(encoding="utf-8") == SECRET  # the outside file is untouched
    assert not (corpus_dir / "notat.txt").is_symlink()
    assert "brøyting" in a.document("notat").text and "hemmeligord" not in _indexed_text(a)


# -- 3. uploads are whole or absent across a SIGKILL --------------------------------------------

NEW_DOC = "# Ny avtale om kantiner\n\n" + "\n\n".join(
    f"Punkt {n}: Partene er enige om at kantina skal servere blåbærsyltetøy på dag {n}." for n in range(1, 60)) + "\n"

UPLOAD_CHILD = textwrap.dedent('''
    import sys, time
    from pathlib import Path
    sys.path.insert(0, {root!r})
    import assistant.uploads as up
    from assistant import Assistant, Config
    from tests.conftest import FakeEmbedder

    corpus, index_dir, marker, stage, source = (Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]),
                                                sys.argv[4], Path(sys.argv[5]))

    def hang(what):
        marker.write_text(what)
        time.sleep(60)

    class Slow(FakeEmbedder):
        def embed_passages(self, texts):
            if stage == "indexing":
                hang(stage)
            return super().embed_passages(texts)

    def before(name, at):
        real = getattr(up.Upload, name)
        def wrapped(self, *a, **k):
            if stage == at:
                hang(stage)
            return real(self, *a, **k)
        setattr(up.Upload, name, wrapped)

    before("write_intent", "staged")   # copied into .upload-*, no intent yet
    before("place", "intent")          # intent written, the file not yet in corpus/
    before("mark_done", "indexed")     # the index (manifest too) holds the upload; no completion mark
    before("close", "done")            # complete; the journal folder not yet removed
    a = Assistant(Config(corpus_dir=corpus, index_dir=index_dir), embedder=Slow())
    a.load(rebuild_if_needed=False)
    a.add_document(source)
    marker.write_text("finished")
''')


def _kill_upload_at(stage: str, corpus: Path, index_dir: Path, source: Path, tmp_path: Path,
                    while_alive=None) -> None:
    script = tmp_path / "upload_child.py"
    script.write_text(UPLOAD_CHILD.format(root=str(ROOT)), encoding="utf-8")
    marker = tmp_path / "marker"
    marker.unlink(missing_ok=True)
    kill_child_at([str(script), str(corpus), str(index_dir), str(marker), stage, str(source)], marker, stage,
                  timeout=90, before_kill=while_alive)


@pytest.mark.parametrize("stage, replace", [
    ("staged", False), ("intent", False), ("indexing", False), ("indexed", False), ("done", False),
    ("indexing", True), ("indexed", True),
])
def test_sigkill_during_upload_leaves_it_whole_or_absent(corpus_dir, tmp_path, stage, replace):
    index_dir = tmp_path / "idx"
    config = Config(corpus_dir=corpus_dir, index_dir=index_dir, feedback_file=tmp_path / "fb.jsonl")
    Assistant(config, embedder=FakeEmbedder()).index()
    name = f"{KVALITET}.txt" if replace else "kantine.md"
    before = (corpus_dir / name).read_bytes() if replace else None
    source = tmp_path / "upload" / name
    source.parent.mkdir()
    source.write_text(NEW_DOC, encoding="utf-8")

    alive_checked = []

    def another_process_starts():  # a live upload is never rolled back by someone else's start
        other = Assistant(config, embedder=FakeEmbedder())
        assert other.recover_uploads() == []
        assert list(corpus_dir.glob(".upload-*"))
        alive_checked.append(True)

    _kill_upload_at(stage, corpus_dir, index_dir, source, tmp_path,
                    while_alive=another_process_starts if stage == "indexing" else None)
    assert list(corpus_dir.glob(".upload-*")), "the killed upload left its journal folder"
    if stage in ("indexed", "done"):  # the index on disk already holds the upload
        assert "blåbærsyltetøy" in load_index(index_dir).documents[Path(name).stem].text

    restarted = Assistant(config, embedder=FakeEmbedder())
    data = restarted.load(rebuild_if_needed=False).data
    assert not list(corpus_dir.glob(".upload-*"))  # the journal folder is gone at start
    on_disk = load_index(index_dir)
    stem = Path(name).stem
    if stage == "done":  # complete: kept
        assert "blåbærsyltetøy" in data.documents[stem].text and (corpus_dir / name).exists()
        assert restarted.last_report is None or restarted.last_report.rolled_back == []
        return
    placed = stage in ("indexing", "indexed")
    assert restarted.recover_uploads() == ([name] if placed else [])
    if replace:
        assert (corpus_dir / name).read_bytes() == before
        assert "blåbærsyltetøy" not in data.documents[stem].text
        assert "blåbærsyltetøy" not in on_disk.documents[stem].text
    else:
        assert not (corpus_dir / name).exists()
        assert stem not in data.documents and stem not in on_disk.documents
    assert all("blåbærsyltetøy" not in c.text for c in data.clauses)
    if placed:
        assert restarted.last_report.rolled_back == [name]  # said by the start's index report
        assert "rolled back" in restarted.skipped()[name]
    if stage == "indexing":
        assert alive_checked
    assert restarted.add_document(source).changed  # the same upload works now
    assert name not in restarted.skipped()


def test_stale_upload_folders_are_removed_at_start(fake_assistant):
    corpus = fake_assistant.config.corpus_dir
    stale = corpus / ".upload-abc123"
    stale.mkdir()
    (stale / "halv.md").write_text("# halv\n", encoding="utf-8")
    fake_assistant.index()
    assert not stale.exists()


def test_a_forged_intent_touches_nothing_outside(corpus_dir, tmp_path, outside):
    victim = outside / "hemmelig.txt"
    forged = corpus_dir / ".upload-forged"
    forged.mkdir()
    import hashlib

    for name in ("../outside/hemmelig.txt", str(victim), ".trash", ""):
        (forged / "intent.json").write_text(json.dumps(
            {"file": name, "sha256": hashlib.sha256(SECRET.encode()).hexdigest(), "replaces": False}))
        from assistant.uploads import recover

        assert recover(corpus_dir) == []
        assert victim.read_text(encoding="utf-8") == SECRET
        forged.mkdir(exist_ok=True)
    assert sorted(p.name for p in corpus_dir.iterdir() if not p.name.startswith(".")) == sorted(
        p.name for p in (ROOT / "corpus").iterdir())


# -- 2. feedback refers to answers the server gave ----------------------------------------------

def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The app over a FakeEmbedder assistant, served on loopback, and a gradio_client for it."""
    import shutil

    from gradio_client import Client

    from assistant.web import build_app

    base = tmp_path_factory.mktemp("served")
    shutil.copytree(ROOT / "corpus", base / "corpus")
    a = Assistant(Config(corpus_dir=base / "corpus", index_dir=base / "index", feedback_file=base / "fb.jsonl"),
                  embedder=FakeEmbedder())
    a.index()
    demo = build_app(a)
    port = _free_port()
    demo.queue(default_concurrency_limit=2).launch(prevent_thread_lock=True, server_name="127.0.0.1",
                                                   server_port=port, quiet=True, show_error=False)
    try:
        yield a, Client(f"http://127.0.0.1:{port}/", verbose=False), base
    finally:
        demo.close()


def _app_error(client, *args, api_name: str) -> str:
    """The one-line message of the AppError an API call raises (fails if it does not raise one)."""
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as err:
        client.predict(*args, api_name=api_name)
    message = str(err.value)
    assert "\n" not in message.strip() and message.strip() not in ("", "Error", "None"), message
    return message


def test_forged_clauses_are_not_stored_the_servers_copy_is(served):
    a, client, base = served
    answer = client.predict("Hva sier avtalen om velferdsteknologi?", [], api_name="/ask")
    shown = [c["text"] for c in answer["clauses"]]
    forged = {**answer, "question": "FORFALSKET spørsmål", "language": "en",
              "clauses": [{"doc": "passwd.txt", "text": "x" * 1_000_000, "start": 0, "end": 1}] * 50}
    before = (base / "feedback.sqlite3").stat().st_size
    reply = client.predict(forged, "down", "feil", api_name="/feedback")
    assert reply == {"ok": True, "answer_id": answer["answer_id"], "vote": "down"}
    stored = next(v for v in a.feedback.votes() if v["answer_id"] == answer["answer_id"])
    assert stored["question"] == "Hva sier avtalen om velferdsteknologi?" and stored["language"] == "nb"
    assert [c["text"] for c in stored["clauses"]] == shown
    assert stored["comment"] == "feil"
    wal = base / "feedback.sqlite3-wal"
    grown = (base / "feedback.sqlite3").stat().st_size + (wal.stat().st_size if wal.exists() else 0) - before
    assert grown < 1_000_000  # the 50 MB of made-up clauses never reached the disk


def test_a_vote_by_id_alone_works(served):
    a, client, _ = served
    answer = client.predict("Hvor lenge gjelder kvalitetsavtalen?", [], api_name="/ask")
    assert client.predict(answer["answer_id"], "up", "", api_name="/feedback")["ok"] is True
    assert any(v["answer_id"] == answer["answer_id"] and v["vote"] == "up" for v in a.feedback.votes())


def test_unknown_ids_are_refused_in_one_line(served):
    a, client, _ = served
    n = len(a.feedback.votes())
    assert "no answer with this id is known" in _app_error(client, "0" * 32, "up", "", api_name="/feedback")
    made_up = {"answer_id": "f" * 32, "question": "Hvem vant?", "clauses": []}
    assert "no answer with this id is known" in _app_error(client, made_up, "up", "", api_name="/feedback")
    assert len(a.feedback.votes()) == n


@pytest.mark.parametrize("answer, vote, comment, expected", [
    ("not a dict", "up", "", "answer_id that /ask returned"),
    (42, "up", "", "answer_id that /ask returned"),
    ([1, 2, 3], "up", "", "answer_id that /ask returned"),
    (None, "up", "", "answer_id that /ask returned"),
    ({}, "up", "", "answer_id that /ask returned"),
    ({"answer_id": ["x"]}, "up", "", "answer_id that /ask returned"),
    ({"answer_id": "'; DROP TABLE votes; --"}, "up", "", "answer_id that /ask returned"),
    ("ID", "maybe", "", "vote must be"),
    ("ID", ["up"], "", "vote must be"),
    ("ID", 1, "", "vote must be"),
    ("ID", "up", {"x": 1}, "comment must be text"),
    ("ID", "up", "k" * 2001, "the limit is 2,000"),
])
def test_malformed_votes_get_one_line(served, answer, vote, comment, expected):
    a, client, _ = served
    if "ID" in (answer,):
        answer = client.predict("Hva sier avtalen om heltid?", [], api_name="/ask")["answer_id"]
    n = len(a.feedback.votes())
    assert expected in _app_error(client, answer, vote, comment, api_name="/feedback")
    assert len(a.feedback.votes()) == n
    assert a.feedback.votes() is not None  # the votes table is still there


def test_votes_per_answer_are_bounded(served):
    from assistant.feedback import MAX_VOTES_PER_ANSWER

    _, client, _ = served
    answer = client.predict("Hva sier avtalen om heltid?", [], api_name="/ask")
    for i in range(MAX_VOTES_PER_ANSWER):
        client.predict(answer["answer_id"], "up" if i % 2 else "down", "", api_name="/feedback")
    assert f"has had {MAX_VOTES_PER_ANSWER} votes" in _app_error(client, answer["answer_id"], "up", "",
                                                                 api_name="/feedback")


def test_kept_answers_are_pruned(tmp_path, monkeypatch):
    import assistant.feedback as fb
    from assistant.errors import FeedbackError

    monkeypatch.setattr(fb, "MAX_ANSWERS", 5)
    store = fb.FeedbackStore(tmp_path / "fb.sqlite3")
    ids = [store.remember({"question": f"spørsmål {i}", "clauses": [{"text": "t" * 10_000}] * 30}) for i in range(12)]
    import sqlite3

    with sqlite3.connect(tmp_path / "fb.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 5
        kept = json.loads(db.execute("SELECT clauses FROM answers").fetchone()[0])
    assert len(kept) == fb.MAX_CLAUSES and all(len(c["text"]) == fb.MAX_CLAUSE_TEXT for c in kept)
    with pytest.raises(FeedbackError, match="no answer with this id"):
        store.vote(ids[0], "up")
    assert store.vote(ids[-1], "up")["question"] == "spørsmål 11"


def test_the_ui_vote_stores_the_servers_copy_not_the_browsers(fake_assistant):
    """The answers kept in the browser can be edited there; a vote still names only the id."""
    from assistant.web import Handlers

    h = Handlers(fake_assistant)
    chat, _, questions, targets, last, _, _, _, answers = h.ask("Hva sier avtalen om heltid?", [], [], [], None, [])
    answers[0] = {**answers[0], "question": "FORFALSKET", "clauses": [{"text": "x" * 100_000}]}
    status, _, _ = h.vote("up:0", answers, chat, "bra")
    assert status.startswith("Takk")
    stored = fake_assistant.feedback.votes()[0]
    assert stored["question"] == "Hva sier avtalen om heltid?" and "x" * 100 not in json.dumps(stored)
    long = h.vote("down:0", answers, chat, "k" * 2001)[0]
    assert "ble ikke lagret" in long and "grensen er 2 000 tegn" in long
    forged_id = [{**answers[0], "answer_id": "e" * 32}]
    assert "for gammelt" in h.vote("up:0", forged_id, chat, "")[0]


def _no_paths(reply, *paths: Path) -> None:
    text = json.dumps(reply, ensure_ascii=False) if not isinstance(reply, str) else reply
    for p in paths:
        assert str(p) not in text, text
    assert not re.search(r"(?<![\w.:/])/(?:tmp|home|root|etc|work|usr|var)/", text), text


def test_no_reply_reveals_a_server_path(served, tmp_path):
    from gradio_client import handle_file

    a, client, base = served
    paths = (base, a.config.corpus_dir.resolve(), a.config.index_dir.resolve(), ROOT)
    answer = client.predict("Hva sier avtalen om heltid?", [], api_name="/ask")
    _no_paths(answer, *paths)
    _no_paths(client.predict(answer, "up", "", api_name="/feedback"), *paths)
    _no_paths(client.predict("", api_name="/votes"), *paths)
    _no_paths(client.predict(api_name="/documents"), *paths)
    _no_paths(client.predict(KVALITET, api_name="/document"), *paths)
    _no_paths(client.predict(KVALITET, api_name="/facts"), *paths)
    _no_paths(client.predict(api_name="/refresh"), *paths)
    for endpoint, args in (("/document", ("x" * 5000,)), ("/facts", ({"a": 1},)), ("/remove", ("finnes-ikke",)),
                           ("/document", (None,)), ("/ask", ("",)), ("/ask", ({"q": 1}, "ikke en liste")),
                           ("/feedback", ("0" * 32, "up", ""))):
        message = _app_error(client, *args, api_name=endpoint)
        _no_paths(message, *paths)
        assert len(message) < 600
    bad = tmp_path / "ødelagt.pdf"
    bad.write_bytes(b"%PDF-1.4 not really")
    _no_paths(client.predict(handle_file(str(bad)), api_name="/upload"), *paths)

    # a corpus folder gone, and an index folder that cannot be written: the library names them in full
    corpus = a.config.corpus_dir
    corpus.rename(corpus.with_name("borte"))
    try:
        reply = client.predict(api_name="/refresh")
        assert reply["ok"] is False and "corpus" in reply["message"]
        _no_paths(reply, *paths)
    finally:
        corpus.with_name("borte").rename(corpus)


def test_library_messages_with_paths_are_cut_at_the_edge():
    from assistant.web.messages import public_text

    for raw in ("cannot write the index in /work/x/embeddings (No space left on device); the previous index is unchanged",
                "the index in /home/ola/.cache/avtaleassistenten/eval/x-index was built with model 'a', not 'b'",
                "the feedback database C:\\Users\\ola\\fb.sqlite3 cannot be opened"):
        out = public_text(raw)
        assert "/" not in out.replace("/ask", "") and "\\" not in out, out
    assert public_text("vote on an answer returned by /ask") == "vote on an answer returned by /ask"


# -- 4. questions in parallel -----------------------------------------------------------------

QUESTIONS = ["Hvor lenge gjelder kvalitetsavtalen?", "Hva sier avtalen om velferdsteknologi?",
             "Kva er målet med Leve hele livet?", "Kven har skrive under avtala?", "Hva sier avtalen om heltid?",
             "What does the agreement say about competence and training?", "Hvor mye koster en pizza i Oslo?"]


def _fingerprint(answer) -> tuple:
    return (answer.answered, tuple((h.clause.clause_id, round(float(h.score), 6)) for h in answer.hits),
            tuple(answer.lead))


def _parallel_equals_serial(a: Assistant, threads: int, rounds: int) -> None:
    serial = {q: _fingerprint(a.ask(q)) for q in QUESTIONS}
    problems = []
    start = threading.Barrier(threads)

    def worker(n: int) -> None:
        start.wait()
        for r in range(rounds):
            q = QUESTIONS[(n + r) % len(QUESTIONS)]
            try:
                got = _fingerprint(a.ask(q))
            except Exception as exc:  # noqa: BLE001 - any failure is a finding
                problems.append(f"{q}: {type(exc).__name__}: {exc}")
                continue
            if got != serial[q]:
                problems.append(f"{q}: differs when asked in parallel")

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=120)
    assert not problems, problems[:5]


def test_parallel_questions_answer_as_serial_ones(fake_assistant):
    fake_assistant.index()
    _parallel_equals_serial(fake_assistant, threads=8, rounds=20)


@pytest.mark.slow
def test_parallel_questions_with_the_real_model(real_assistant):
    """The ONNX session, the tokenizer, the word-embedding rows (pread) and apertium shared by 6 threads."""
    _parallel_equals_serial(real_assistant, threads=6, rounds=8)


def test_one_translator_pipeline_however_many_first_questions(monkeypatch):
    import assistant.query as q

    made = []

    class Counting(q._Apertium):
        def __init__(self, *args, **kwargs):
            made.append(self)
            time.sleep(0.05)  # a slow first start widens the race
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(q, "_Apertium", Counting)
    monkeypatch.setattr(Counting, "available", staticmethod(lambda folder=None: True))
    q._make_translator.cache_clear()
    try:
        pool = [threading.Thread(target=q._translator) for _ in range(8)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        assert len(made) == 1
    finally:
        q._make_translator.cache_clear()


def test_app_runs_questions_at_once_and_corpus_changes_one_at_a_time(fake_assistant):
    from assistant.web import build_app

    demo = build_app(fake_assistant)
    fns = {fn.api_name: fn for fn in demo.fns.values() if fn.api_name}
    assert fns["ask"].concurrency_limit == fake_assistant.config.ask_concurrency > 1
    for name in ("upload", "refresh", "remove"):
        assert fns[name].concurrency_limit == 1 and fns[name].concurrency_id == "corpus", name
    ui_asks = [fn for fn in demo.fns.values() if fn.concurrency_id == "ask"]
    assert len(ui_asks) >= 3  # the API, Enter, the button (and the examples)
    changes = [fn for fn in demo.fns.values() if fn.concurrency_id == "corpus"]
    assert len(changes) >= 5  # upload, «Oppdater», removal, and their API endpoints


def test_served_questions_overlap_and_uploads_do_not(served, tmp_path, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client, handle_file

    a, client, _ = served
    real_ask, real_add = a.ask, a.add_document
    running, most, lock = [0], [0], threading.Lock()

    def track(fn, key):
        def call(*args, **kwargs):
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0]) if key == "ask" else most[0]
                inside[key] = inside.get(key, 0) + 1
                peak[key] = max(peak.get(key, 0), inside[key])
            try:
                time.sleep(0.4)
                return fn(*args, **kwargs)
            finally:
                with lock:
                    running[0] -= 1
                    inside[key] -= 1
        return call

    inside, peak = {}, {}
    monkeypatch.setattr(a, "ask", track(real_ask, "ask"))
    monkeypatch.setattr(a, "add_document", track(real_add, "upload"))
    url = client.src
    clients = [Client(url, verbose=False) for _ in range(4)]
    t0 = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda c: c.predict("Hva sier avtalen om heltid?", [], api_name="/ask"), clients))
    assert peak["ask"] >= 3 and time.monotonic() - t0 < 4 * 0.4 + 1.0

    files = []
    for i in range(3):
        f = tmp_path / f"samtidig-{i}.md"
        f.write_text(f"# Samtidig {i}\n\nPartene er enige om samtidighetsord{i}.\n", encoding="utf-8")
        files.append(f)
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda cf: cf[0].predict(handle_file(str(cf[1])), api_name="/upload"),
                                zip(clients, files)))
    assert all(r["ok"] for r in results), results
    assert peak["upload"] == 1
