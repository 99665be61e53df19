"""Load (issue 5): 20 concurrent gradio_client users for ~10 s, with uploads during the load.

The full 60-second run is `python scripts/loadtest.py`; this is its short form.
"""

from __future__ import annotations

import importlib.util
import shutil

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def _loadtest():
    spec = importlib.util.spec_from_file_location("loadtest", ROOT / "scripts" / "loadtest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def load_assistant(real_assistant, real_embedder, tmp_path):
    """A copy of the session's real assistant, so that the uploads stay in this test."""
    from assistant import Assistant

    src = real_assistant.config
    shutil.copytree(src.corpus_dir, tmp_path / "corpus")
    shutil.copytree(src.index_dir, tmp_path / "index")
    config = src.with_(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index",
                       feedback_file=tmp_path / "feedback.jsonl")
    assistant = Assistant(config, embedder=real_embedder)
    assistant.load(rebuild_if_needed=False)
    return assistant


def test_twenty_users_with_uploads(load_assistant):
    assert (ROOT / "app.py").is_file(), "app.py is missing: the load test serves the app"
    loadtest = _loadtest()  # its run_load imports app: an import error fails the test, it does not skip it
    clauses_before = len(load_assistant.data.clauses)
    stats = loadtest.run_load(load_assistant, users=20, seconds=10, uploads=2)
    print("\n" + loadtest.summary(stats))
    assert not loadtest.failed(stats), loadtest.summary(stats)
    assert stats["requests"] >= 20  # every user was served at least about once
    assert stats["lost"] == 0 and stats["broken"] == 0 and stats["errors"] == 0
    assert stats["uploads_ok"] == 2 and stats["uploaded_found"] == 2 and stats["uploads_refused"] == 1
    assert len(load_assistant.data.clauses) > clauses_before
    assert sorted(p.name for p in load_assistant.config.corpus_dir.glob(".upload-*")) == []
    assert stats["p95_s"] < 30
