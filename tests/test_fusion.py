"""The attention-fused graph (onnx_fusion.py, onnx_backend.ensure_fused): the same vectors as the
plain export, made once, made again when stale, and the plain graph served when fusing fails."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from assistant import onnx_backend  # noqa: E402
from assistant.onnx_backend import export_pooled  # noqa: E402
from assistant.onnx_fusion import fuse_attention  # noqa: E402

HEADS, VOCAB = 4, 120


@pytest.fixture(scope="module")
def tiny_export(tmp_path_factory) -> Path:
    """A small random BERT exported by the code that exports the real one (export_pooled (encoder, mean pooling, L2)."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=HEADS,
                                     intermediate_size=64, max_position_embeddings=64)
    bert = transformers.BertModel(config).eval()
    with torch.no_grad():  # trained-looking weights: no two equal (zero biases would be shared by the exporter)
        for param in bert.parameters():
            param.normal_(0.0, 0.2)

    path = tmp_path_factory.mktemp("tiny") / "model.onnx"
    ids = torch.tensor([[0, 5, 6, 2], [0, 7, 2, 1]])
    export_pooled(bert, ids, (ids != 1).long(), path)
    return path


def _run(path: Path, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input_ids": ids, "attention_mask": mask})[0]


def _batch(seed: int = 0):
    rng = np.random.default_rng(seed)
    lengths = [9, 4, 1, 7]
    ids = np.ones((len(lengths), max(lengths)), dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, n in enumerate(lengths):  # padded rows, as the encoder batches them
        ids[row, :n] = rng.integers(3, VOCAB, n)
        mask[row, :n] = 1
    return ids, mask


def test_fused_graph_gives_the_vectors_of_the_plain_one(tiny_export, tmp_path):
    model = onnx.load(str(tiny_export))
    before = len(model.graph.node)
    assert fuse_attention(model, HEADS) == 2
    assert sum(n.op_type == "Attention" for n in model.graph.node) == 2
    assert not any(n.op_type == "Softmax" for n in model.graph.node)
    assert len(model.graph.node) < before / 2
    fused = tmp_path / "fused.onnx"
    onnx.save(model, str(fused))
    ids, mask = _batch()
    plain, ours = _run(tiny_export, ids, mask), _run(fused, ids, mask)
    assert np.min(np.sum(plain * ours, axis=1)) >= 0.99999
    np.testing.assert_allclose(ours, plain, atol=1e-5)
    # padding does not leak into the vectors: a row alone gives the same vector as in the batch
    alone = _run(fused, ids[1:2, :4], mask[1:2, :4])
    np.testing.assert_allclose(alone[0], ours[1], atol=1e-5)


def test_a_graph_without_that_attention_is_left_as_it_is(tiny_export):
    model = onnx.load(str(tiny_export))
    for node in model.graph.node:  # another export's names: nothing to recognise
        node.name = node.name.replace("/attention/self/", "/attn/")
    nodes = [n.SerializeToString() for n in model.graph.node]
    assert fuse_attention(model, HEADS) == 0
    assert [n.SerializeToString() for n in model.graph.node] == nodes


class _TinyEncoder:
    """OnnxEncoder's interface over the tiny graph: a text's characters are its token ids."""

    def __init__(self, path, st_folder, threads=None, batch_size=16, table=None):
        self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def encode(self, texts, prompt):
        rows = [[3 + ord(ch) % (VOCAB - 3) for ch in (prompt + t)[:40]] for t in texts]
        width = max(len(r) for r in rows)
        ids = np.ones((len(rows), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for i, r in enumerate(rows):
            ids[i, : len(r)], mask[i, : len(r)] = r, 1
        return self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]


@pytest.fixture
def lean(tiny_export, tmp_path, monkeypatch):
    monkeypatch.setattr(onnx_backend, "OnnxEncoder", _TinyEncoder)
    monkeypatch.setattr(onnx_backend, "NUM_HEADS", HEADS)
    path = tmp_path / "model-lean.onnx"
    path.write_bytes(tiny_export.read_bytes())
    return path


def test_fused_file_is_made_once_and_again_when_its_source_changes(lean, tmp_path):
    fused = onnx_backend.ensure_fused(lean, tmp_path)
    assert fused == lean.with_name(onnx_backend.FUSED_FILE) and fused.is_file()
    note = json.loads(fused.with_name(fused.name + ".json").read_text())
    assert note["usable"] and note["layers_fused"] == 2 and note["cosine_vs_lean"] >= 0.9999
    assert note["source"] == "model-lean.onnx" and note["source_size"] == lean.stat().st_size
    made = fused.stat().st_mtime_ns
    os.utime(fused, ns=(made - 10**9, made - 10**9))  # so that a rewrite would show
    made = fused.stat().st_mtime_ns
    assert onnx_backend.ensure_fused(lean, tmp_path) == fused and fused.stat().st_mtime_ns == made  # reused
    later = lean.stat().st_mtime_ns + 5 * 10**9
    os.utime(lean, ns=(later, later))  # another lean graph (a re-derived model): made again
    assert onnx_backend.ensure_fused(lean, tmp_path) == fused and fused.stat().st_mtime_ns != made
    assert json.loads(fused.with_name(fused.name + ".json").read_text())["source_mtime_ns"] == later


def test_a_removed_fused_file_is_made_again(lean, tmp_path):
    fused = onnx_backend.ensure_fused(lean, tmp_path)
    fused.unlink()
    assert onnx_backend.ensure_fused(lean, tmp_path) == fused and fused.is_file()


def test_fused_file_of_another_fusion_version_is_made_again(lean, tmp_path, monkeypatch):
    fused = onnx_backend.ensure_fused(lean, tmp_path)
    fused.write_bytes(b"damaged")
    assert onnx_backend.ensure_fused(lean, tmp_path) == fused and fused.read_bytes() == b"damaged"
    monkeypatch.setattr(onnx_backend, "FUSION_VERSION", 999)
    assert onnx_backend.ensure_fused(lean, tmp_path) == fused
    onnx.load(str(fused))  # a real graph again
    assert json.loads(fused.with_name(fused.name + ".json").read_text())["fusion_version"] == 999


def test_a_fused_graph_that_disagrees_is_not_served(lean, tmp_path, monkeypatch):
    monkeypatch.setattr(onnx_backend, "FUSED_MIN_COSINE", 1.5)  # no graph can pass
    assert onnx_backend.ensure_fused(lean, tmp_path) == lean
    assert not lean.with_name(onnx_backend.FUSED_FILE).exists()
    note = json.loads(lean.with_name(onnx_backend.FUSED_FILE + ".json").read_text())
    assert note["usable"] is False
    monkeypatch.setattr(onnx_backend, "FUSED_MIN_COSINE", 0.9999)
    assert onnx_backend.ensure_fused(lean, tmp_path) == lean  # recorded: not tried at every start


def test_a_fused_graph_that_onnx_runtime_refuses_is_recorded_and_not_served(lean, tmp_path, monkeypatch):
    def broken(model, num_heads):  # an Attention node ONNX Runtime cannot load
        node = next(n for n in model.graph.node if n.op_type == "MatMul")
        node.op_type, node.domain = "NoSuchOperator", "com.example"
        return 1

    monkeypatch.setattr(onnx_backend, "fuse_attention", broken)
    assert onnx_backend.ensure_fused(lean, tmp_path) == lean
    note = json.loads(lean.with_name(onnx_backend.FUSED_FILE + ".json").read_text())
    assert note["usable"] is False and note["why"]
    assert not lean.with_name(onnx_backend.FUSED_FILE).exists()
    assert not list(tmp_path.glob(".model-derived-*"))  # no temporary file left behind
