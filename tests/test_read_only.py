"""Reading never writes (issue 13): `ask`, `retrieve` and `serve` leave the index folder as it
is; only `assistant index`, `serve --reindex` (and `Assistant.index()`) write it, and an index of
another model is never replaced."""

import hashlib
import json
import os
import stat

import pytest

from assistant import Assistant, Config, IndexError_
from assistant.facts import FACTS_FILE
from assistant.index import MANIFEST
from assistant.lexical_store import STATE_PREFIX
from tests.conftest import FakeEmbedder


class OtherEmbedder(FakeEmbedder):
    name = "another-fake-embedder"


def _snapshot(folder):
    """Every file and folder below `folder`: content hash, mtime and mode."""
    if not folder.exists():
        return None
    out = {}
    for path in sorted(folder.rglob("*")):
        st = path.stat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
        out[str(path.relative_to(folder))] = (digest, st.st_mtime_ns, st.st_mode)
    return out


@pytest.fixture
def cli(monkeypatch, capsys):
    import assistant.core
    from assistant.cli import main

    def run(*args, embedder=FakeEmbedder):
        monkeypatch.setattr(assistant.core, "load_embedder", lambda *a, **k: embedder())
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def built(corpus_dir, tmp_path):
    """An index built by `Assistant.index()` (as `assistant index` does): keyword state and facts included."""
    config = Config(corpus_dir=corpus_dir, index_dir=tmp_path / "idx", feedback_file=tmp_path / "fb.jsonl")
    Assistant(config, embedder=FakeEmbedder()).index()
    return config


def _args(config):
    return ["--corpus", str(config.corpus_dir), "--index", str(config.index_dir)]


def test_the_build_writes_the_derived_state(built):
    names = [p.name for p in built.index_dir.iterdir()]
    assert FACTS_FILE in names and any(n.startswith(STATE_PREFIX) for n in names)


def test_ask_with_another_model_leaves_the_index_byte_for_byte(built, cli):
    before = _snapshot(built.index_dir)
    a = Assistant(built, embedder=OtherEmbedder())
    with pytest.raises(IndexError_) as err:
        a.ask("Hvor lenge gjelder kvalitetsavtalen?")
    message = str(err.value)
    assert "'fake-hash-embedder', not 'another-fake-embedder'" in message and "assistant index" in message
    assert "\n" not in message
    with pytest.raises(IndexError_):
        a.index()  # another model's index is never replaced, not even by a build
    assert _snapshot(built.index_dir) == before

    code, out, err = cli("ask", *_args(built), "Hvor lenge gjelder kvalitetsavtalen?", embedder=OtherEmbedder)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "built with model 'fake-hash-embedder', not 'another-fake-embedder'" in err and "assistant index" in err
    code, _, err = cli("serve", "--reindex", *_args(built), embedder=OtherEmbedder)
    assert code == 2 and "another folder" in err
    assert _snapshot(built.index_dir) == before


def test_normal_ask_and_retrieve_write_nothing(built, cli, tmp_path):
    before = _snapshot(built.index_dir)
    a = Assistant(built, embedder=FakeEmbedder())
    assert a.ask("Hvor lenge gjelder kvalitetsavtalen?").hits
    doc = a.documents()[0]["doc_id"]
    assert a.facts(doc) is not None
    code, out, _ = cli("ask", *_args(built), "Hvor lenge gjelder kvalitetsavtalen?")
    assert code == 0 and out
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "1", "question": "Hva sier avtalen om heltid?"}) + "\n", encoding="utf-8")
    code, _, _ = cli("retrieve", *_args(built), "--questions", str(questions), "--out", str(tmp_path / "out.jsonl"))
    assert code == 0
    assert _snapshot(built.index_dir) == before


def test_read_without_derived_state_computes_it_in_memory(built):
    import shutil

    for path in built.index_dir.iterdir():
        if path.name == FACTS_FILE:
            path.unlink()
        elif path.name.startswith(STATE_PREFIX):
            shutil.rmtree(path)
    before = _snapshot(built.index_dir)
    a = Assistant(built, embedder=FakeEmbedder())
    assert a.ask("Hva sier avtalen om heltid?").hits
    assert isinstance(a.facts(a.documents()[0]["doc_id"]), list)
    assert _snapshot(built.index_dir) == before
    a.index()  # the build writes them again
    names = [p.name for p in built.index_dir.iterdir()]
    assert FACTS_FILE in names and any(n.startswith(STATE_PREFIX) for n in names)


def test_a_fresh_folder_is_built_by_index_and_serve_only(corpus_dir, tmp_path, cli, monkeypatch):
    import assistant.web

    config = Config(corpus_dir=corpus_dir, index_dir=tmp_path / "fresh")
    code, _, err = cli("ask", *_args(config), "Hvor lenge gjelder kvalitetsavtalen?")
    assert code == 2 and "no index in" in err and "assistant index" in err
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "1", "question": "heltid"}) + "\n", encoding="utf-8")
    code, _, err = cli("retrieve", *_args(config), "--questions", str(questions), "--out", str(tmp_path / "o.jsonl"))
    assert code == 2 and "no index in" in err
    assert _snapshot(config.index_dir) in (None, {})

    assert cli("index", *_args(config))[0] == 0
    assert (config.index_dir / MANIFEST).is_file()

    served = []
    monkeypatch.setattr(assistant.web, "launch", lambda config, **kw: served.append((config, kw)))
    other = config.with_(index_dir=tmp_path / "fresh2")
    assert cli("serve", "--reindex", *_args(other))[0] == 0  # serve --reindex: launch indexes before serving
    assert len(served) == 1 and served[0][1]["reindex"] is True


def test_launch_builds_a_missing_index_and_takes_up_changes_only_when_told(corpus_dir, tmp_path, monkeypatch, capsys):
    import gradio as gr

    import assistant.core
    from assistant.web.serve import launch

    real = assistant.core.Assistant
    monkeypatch.setattr(assistant.core, "Assistant", lambda config: real(config, embedder=FakeEmbedder()))
    monkeypatch.setattr(gr.Blocks, "launch", lambda self, **kw: "launched")
    config = Config(corpus_dir=corpus_dir, index_dir=tmp_path / "served", feedback_file=tmp_path / "fb.jsonl")
    assert launch(config) == "launched" and (config.index_dir / MANIFEST).is_file()  # missing: built
    before = _snapshot(config.index_dir)
    (corpus_dir / "ny-avtale.md").write_text("# Ny avtale\n\nPartene skal møtes hvert år.\n", encoding="utf-8")
    capsys.readouterr()
    launch(config)
    assert _snapshot(config.index_dir) == before  # a plain start reads: the new file waits
    out = capsys.readouterr().out
    assert "1 fil(er)" in out and "serve --reindex" in out  # and says how to take it up
    launch(config, reindex=True)
    assert _snapshot(config.index_dir) != before
    assert "ny-avtale" in real(config, embedder=FakeEmbedder()).data.documents


def test_stale_splitter_version_is_reported_on_read_and_rebuilt_by_index(built, cli, monkeypatch):
    import assistant.index as index_module

    built_by = index_module.SPLITTER_VERSION
    monkeypatch.setattr(index_module, "SPLITTER_VERSION", built_by + 1)
    before = _snapshot(built.index_dir)
    with pytest.raises(IndexError_, match=f"splitter version {built_by}, not {built_by + 1}.*assistant index"):
        Assistant(built, embedder=FakeEmbedder()).load()
    code, _, err = cli("serve", *_args(built))
    assert code == 2 and "splitter version" in err and "--reindex" in err
    assert _snapshot(built.index_dir) == before
    report = Assistant(built, embedder=FakeEmbedder()).index()
    assert "splitter version" in report.rebuilt_because and report.embedded_clauses == report.total_clauses
    assert json.loads((built.index_dir / MANIFEST).read_text(encoding="utf-8"))["splitter_version"] == built_by + 1


def test_index_files_follow_the_umask(corpus_dir, tmp_path):
    old = os.umask(0o022)
    try:
        Assistant(Config(corpus_dir=corpus_dir, index_dir=tmp_path / "idx"), embedder=FakeEmbedder()).index()
    finally:
        os.umask(old)
    for path in (tmp_path / "idx").iterdir():
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) == 0o644, path.name
