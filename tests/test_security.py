"""Security defaults (issue 5): local binding, optional login, no pickle, escaped output."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import pytest

import app
from assistant import Assistant, Config, ConfigError
from tests.conftest import ROOT, FakeEmbedder

HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "<script>alert('x')</script>",
    "\"><svg onload=alert(1)>",
    "javascript:alert(1)",
    "[klikk](javascript:alert(1)) ![x](http://evil/x.png)",
    "<a href='http://evil'>heltid</a>",
    "&lt;script&gt; heltid",
]


# -- no unsafe deserialisation -----------------------------------------------------------

UNSAFE = [
    (r"\bimport\s+pickle\b|\bfrom\s+pickle\b|\bpickle\.", "pickle"),
    (r"\bcPickle\b|\bdill\b|\bjoblib\b|\bshelve\b|\bmarshal\.loads?\b", "pickle-like modules"),
    (r"torch\.load\s*\(", "torch.load"),
    (r"allow_pickle\s*=\s*True", "np.load(allow_pickle=True)"),
    (r"\b(np|numpy)\.load\s*\((?![^)]*allow_pickle\s*=\s*False)", "np.load without allow_pickle=False"),
    (r"yaml\.load\s*\((?![^)]*SafeLoader)", "yaml.load without SafeLoader"),
    (r"(?<![\w.])eval\s*\(|(?<![\w.])exec\s*\(", "eval/exec"),
    (r"trust_remote_code\s*=\s*True", "trust_remote_code"),
]


def _sources():
    files = sorted((ROOT / "assistant").glob("*.py"))
    if (ROOT / "app.py").exists():
        files.append(ROOT / "app.py")
    return files


@pytest.mark.parametrize("pattern,what", UNSAFE, ids=[w for _, w in UNSAFE])
def test_no_unsafe_deserialisation(pattern, what):
    hits = []
    for path in _sources():
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if re.search(pattern, code):
                hits.append(f"{path.name}:{n}: {line.strip()}")
    assert not hits, f"{what} found:\n" + "\n".join(hits)


def _faiss_file(path, rows: int = 3, dim: int = 8):
    import faiss
    import numpy as np

    index = faiss.IndexFlatIP(dim)
    index.add(np.eye(rows, dim, dtype=np.float32))
    faiss.write_index(index, str(path))
    return path


@pytest.fixture
def faiss_reads(monkeypatch):
    """Every path given to faiss.read_index from now on, resolved."""
    import faiss

    seen, real = [], faiss.read_index

    def recording(path, *args):
        seen.append(Path(str(path)).resolve())
        return real(path, *args)

    monkeypatch.setattr(faiss, "read_index", recording)
    return seen


def test_faiss_reads_only_its_own_files(monkeypatch, corpus_dir, tmp_path, faiss_reads):
    """faiss.read_index (the one binary reader) is given only files that the index manifest names
    in the index folder, and HNSW graphs from its cache; never a .faiss file planted in the index
    folder, uploaded into the corpus, or put in the cache under another name."""
    from assistant import store
    from assistant.index import MANIFEST

    cache = tmp_path / "hnsw-cache"
    monkeypatch.setattr(store, "HNSW_THRESHOLD", 10)  # the small corpus gets an HNSW graph, cached
    config = Config(corpus_dir=corpus_dir, index_dir=tmp_path / "idx", feedback_file=tmp_path / "fb.jsonl",
                    hnsw_cache=cache)
    Assistant(config, embedder=FakeEmbedder()).index()
    planted = [_faiss_file(config.index_dir / "planted.faiss"), _faiss_file(config.index_dir / "vectors.faiss.old"),
               _faiss_file(corpus_dir / "upload.faiss"), _faiss_file(corpus_dir / "vectors.faiss")]
    cache.mkdir(exist_ok=True)
    planted.append(_faiss_file(cache / ("hnsw-" + "0" * 32 + ".faiss")))
    faiss_reads.clear()

    fresh = Assistant(config, embedder=FakeEmbedder())  # a new process: loads the index and the cached graph
    assert fresh.ask("Hva sier avtalen om heltid?").hits
    fresh.refresh()

    manifest = json.loads((config.index_dir / MANIFEST).read_text(encoding="utf-8"))
    named = {(config.index_dir / f["name"]).resolve() for f in manifest["files"].values()}
    for path in faiss_reads:
        assert path in named or (path.parent == cache.resolve() and path.name.startswith("hnsw-")), path
    assert not set(faiss_reads) & {p.resolve() for p in planted}


def test_faiss_never_reads_outside_the_index_folder(corpus_dir, tmp_path, faiss_reads):
    """A manifest that names a file outside its folder (../corpus/upload.faiss) is refused unread."""
    from assistant.index import MANIFEST, IndexError_, load_index
    from assistant.index_files import manifest_checksum as _manifest_checksum

    config = Config(corpus_dir=corpus_dir, index_dir=tmp_path / "idx", feedback_file=tmp_path / "fb.jsonl")
    Assistant(config, embedder=FakeEmbedder()).index()
    upload = _faiss_file(corpus_dir / "upload.faiss")
    path = config.index_dir / MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    role = next(r for r, f in manifest["files"].items() if f["name"].endswith(".faiss"))
    manifest["files"][role]["name"] = "../corpus/upload.faiss"
    manifest["checksum"] = _manifest_checksum(manifest)
    path.write_text(json.dumps(manifest), encoding="utf-8")
    faiss_reads.clear()
    with pytest.raises(IndexError_, match="not a file of"):
        load_index(config.index_dir)
    assert upload.resolve() not in faiss_reads


def test_converted_model_is_safetensors_only():
    from assistant.e5convert import _DONE, default_model_dir

    folder = default_model_dir()
    if not (folder / _DONE).is_file():
        pytest.skip("the model has not been converted on this machine")
    names = [p.name for p in folder.rglob("*") if p.is_file()]
    assert any(n.endswith(".safetensors") for n in names)
    assert not [n for n in names if n.endswith((".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt"))]


# -- binding and login -------------------------------------------------------------------

def test_cli_serve_binds_localhost_by_default(monkeypatch):
    from assistant.cli import _config, build_parser

    def host(*argv):
        return _config(build_parser().parse_args(["serve", *argv])).host

    monkeypatch.delenv("ASSISTANT_HOST", raising=False)
    monkeypatch.delenv("ASSISTANT_PORT", raising=False)
    assert host() == "127.0.0.1"
    monkeypatch.setenv("ASSISTANT_HOST", "0.0.0.0")
    assert host() == "0.0.0.0"  # only when told
    assert host("--host", "::1") == "::1"




def test_app_launch_defaults_to_localhost():
    params = inspect.signature(app.launch).parameters
    assert params["host"].default == "127.0.0.1"
    assert params["auth"].default is None


def test_parse_auth():
    assert app.parse_auth(None) is None and app.parse_auth("") is None
    assert app.parse_auth("ola:hemmelig:med:kolon") == ("ola", "hemmelig:med:kolon")
    assert app.parse_auth(("ola", "pw")) == ("ola", "pw")
    for bad in ("ola", ":pw", "ola:", ":"):
        with pytest.raises(ConfigError):
            app.parse_auth(bad)


@pytest.fixture
def captured_launch(monkeypatch, corpus_dir, tmp_path):
    """app.launch with the fake embedder and gradio's launch replaced by a recorder."""
    import gradio as gr

    import assistant.core

    seen = {}
    real = assistant.core.Assistant
    monkeypatch.setattr(assistant.core, "Assistant", lambda config: real(config, embedder=FakeEmbedder()))
    monkeypatch.setattr(gr.Blocks, "launch", lambda self, **kw: seen.update(kw) or "launched")
    config = Config(corpus_dir=corpus_dir, index_dir=tmp_path / "idx", feedback_file=tmp_path / "fb.jsonl",
                    max_file_bytes=5_000_000)
    return config, seen


def test_launch_passes_host_login_and_upload_limit(captured_launch, capsys):
    config, seen = captured_launch
    assert app.launch(config, port=7999) == "launched"
    assert seen["server_name"] == "127.0.0.1" and seen["auth"] is None
    assert seen["max_file_size"] <= config.max_file_bytes + 2 * 1024 * 1024
    assert seen.get("show_error") is False  # no tracebacks sent to browsers
    assert "Advarsel" not in capsys.readouterr().out

    seen.clear()
    app.launch(config, host="0.0.0.0", port=7999, auth="ola:hemmelig")
    assert seen["server_name"] == "0.0.0.0" and seen["auth"] == ("ola", "hemmelig")


def test_launch_turns_off_monitoring_and_its_per_answer_summary(captured_launch, monkeypatch):
    """Gradio's /monitoring is off, and its queue does not summarise its event log (a pandas
    DataFrame of up to 10,000 events) after every answer for it."""
    import gradio as gr

    from assistant.web.serve import ANALYTICS_EVERY

    config, seen = captured_launch
    demos = []
    monkeypatch.setattr(gr.Blocks, "launch", lambda self, **kw: demos.append(self) or seen.update(kw) or "launched")
    app.launch(config, port=7999)
    assert seen["enable_monitoring"] is False
    queue = demos[0]._queue
    assert queue.ANAYLTICS_CACHE_FREQUENCY == ANALYTICS_EVERY
    queue.events_recorded = 500  # 500 answers later: still the summary made at the start (none)
    records = [{"time": 0.0, "status": "success", "process_time": 0.01, "function": "ask", "session_hash": "s"}] * 500
    assert queue.compute_analytics_summary(records) == {"functions": {}}


def test_launch_warns_when_open_without_login(captured_launch, capsys):
    config, _ = captured_launch
    app.launch(config, host="0.0.0.0", port=7999)
    assert "uten innlogging" in capsys.readouterr().out


def test_cli_serve_passes_auth_from_environment(monkeypatch, tmp_path):
    from assistant import cli

    monkeypatch.setenv("ASSISTANT_INDEX", str(tmp_path / "index"))  # none yet: serve may build it (not the repo's)

    seen = {}
    import assistant.web  # cli serve launches the web package directly (no import of app.py: no circle)

    monkeypatch.setattr(assistant.web, "launch",
                        lambda config, host, port, auth, reindex: seen.update(host=host, port=port, auth=auth))
    monkeypatch.setenv("ASSISTANT_AUTH", "ola:hemmelig")
    monkeypatch.delenv("ASSISTANT_HOST", raising=False)
    assert cli.main(["serve", "--port", "7999"]) == 0
    assert seen == {"host": "127.0.0.1", "port": 7999, "auth": "ola:hemmelig"}


# -- hostile text is escaped by the app's formatting functions ---------------------------

def _no_live_markup(html: str) -> None:
    """No tag or attribute that came from the hostile text: it stayed text.

    The app's own markup (divs, marks, buttons, its own links) is allowed; scripts, images,
    frames, event handlers and links to the hostile targets are not.
    """
    from html.parser import HTMLParser

    found = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, dict(attrs)))

    Tags().feed(html)
    for tag, attrs in found:
        assert tag not in ("script", "img", "svg", "iframe", "object", "embed", "form", "base", "meta", "link"), (tag, html)
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name, html)
            assert not re.search(r"javascript:|evil|alert", str(value or ""), re.I), (tag, name, value)


@pytest.fixture
def hostile_assistant(corpus_dir, tmp_path):
    (corpus_dir / "fiendtlig.md").write_text(
        "---\ntitle: <img src=x onerror=alert('tittel')>\ndate: <script>d</script>\n---\n"
        "# <script>alert('overskrift')</script> Heltid\n\n"
        + "\n\n".join(f"Partene er enige om heltid {h}." for h in HOSTILE) + "\n",
        encoding="utf-8",
    )
    a = Assistant(Config(corpus_dir=corpus_dir, index_dir=tmp_path / "idx", feedback_file=tmp_path / "fb.jsonl"),
                  embedder=FakeEmbedder())
    a.index()
    return a


@pytest.mark.parametrize("question", HOSTILE)
def test_app_escapes_hostile_questions_and_documents(hostile_assistant, question):
    from assistant.search import Analyzer

    analyzer = Analyzer()
    answer = hostile_assistant.ask(question + " heltid")
    assert any(h.clause.doc_id == "fiendtlig" for h in answer.hits)
    body, _ = app.render_answer(answer, analyzer)
    _no_live_markup(body)
    _no_live_markup(app.render_question(question))
    _no_live_markup(app.highlight(question, {"heltid", "img", "script"}, analyzer))
    doc = hostile_assistant.document("fiendtlig")
    _no_live_markup(app.render_document(doc, 0, 20, 1))
    docs = hostile_assistant.documents()
    _no_live_markup(app.render_documents(docs))
    _no_live_markup(app.render_summary(docs))
    _no_live_markup(app.render_notice(question))


def test_handlers_ask_escapes_the_chat(hostile_assistant):
    h = app.Handlers(hostile_assistant)
    for question in HOSTILE:
        chat, *_ = h.ask(question + " heltid", [], [], [], None)
        for message in chat:
            _no_live_markup(message["content"])
    chat, *_ = h.ask("<img src=x onerror=alert(1)>", [], [], [], None)  # no words: an error notice
    for message in chat:
        _no_live_markup(message["content"])
