"""Adversarial cases of issue 11, each reproduced against real files in temporary folders:

1. links out of the corpus folder (a file, a folder, a sidecar, a link swapped in after listing, a FIFO);
2. forged, unbounded or malformed feedback, and server paths in replies;
3. uploads cut off by SIGKILL at each stage;
4. questions asked in parallel (results identical to one at a time).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from assistant import Assistant, Config, DocumentError
from assistant.index import load_index
from tests.conftest import ROOT, FakeEmbedder

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
    proc = subprocess.Popen([sys.executable, str(script), str(corpus), str(index_dir), str(marker), stage, str(source)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while not (marker.exists() and marker.read_text() == stage):
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the child never reached the stage"
            time.sleep(0.05)
        if while_alive is not None:
            while_alive()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL


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
        assert "rolled back" in restarted.skipped()[name]
    if stage == "indexing":
        assert alive_checked
    assert restarted.add_document(source).changed  # the same upload works now


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
