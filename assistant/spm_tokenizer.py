"""The converted model's tokenizer as a SentencePiece model: the same ids, a fifth of the memory.

`tokenizers` builds a trie of HashMaps for the 250,002 Unigram pieces of tokenizer.json:
~270 MB resident and over a second to load, more than the int8 model itself. The same
Unigram model in SentencePiece's own format (a double-array trie) takes ~55 MB. `ensure_spm`
writes `tokenizer.spm` next to tokenizer.json once: the pieces and scores, and the very
precompiled normalisation map, serialised as a SentencePiece ModelProto by hand (no protobuf
package needed). It is used only when it gives the ids of tokenizer.json on every probe text.

Two differences of tokenizers' pipeline (Precompiled, collapse spaces, Metaspace) are
reproduced: a text whose normalised form ends in whitespace gets a final "▁" piece (tokenizers
keeps it, SentencePiece strips it), and <s>, </s>, <pad>, <mask> in the text are matched as
pieces, as tokenizers matches its added tokens (except at the very start of a text, where
SentencePiece puts a "▁" first; the encoder always starts with a "query: "/"passage: " prompt).
"""

from __future__ import annotations

import base64
import json
import os
import struct
import tempfile
from pathlib import Path

from .errors import ModelError

__all__ = ["SpmTokenizer", "ensure_spm"]

SPM_FILE = "tokenizer.spm"
SMALL = 16  # up to this many texts are encoded without the thread pool
_NORMAL, _UNKNOWN, _USER = 1, 2, 4  # SentencePiece.Type
_PROBE = [
    "Hvor lenge gjelder avtalen mellom regjeringen og KS?\n", "Kva seier avtalen om frivillig omsorg?",
    "When does the agreement on quality in municipal health care expire?",
    "«Leve hele livet» – ÆØÅ æøå, tab\tand  double  spaces ", "ﬁ ligature ① ＡＢＣ\u00a0", "x\u200b", "x\x0b",
    "emoji 😀 ok\r\n", "<s> tag </s> <mask> x", "  leading and trailing  ", "Punkt 3.2: 31. desember 2015 (§ 4-1)",
]


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _bytes(field: int, value: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(value)) + value


def _int(field: int, value: int) -> bytes:
    return _varint(field << 3) + _varint(value)


def _float(field: int, value: float) -> bytes:
    return _varint(field << 3 | 5) + struct.pack("<f", value)


def _model_proto(spec: dict, remove_extra_whitespaces: bool = True) -> bytes:
    """ModelProto {1: pieces, 2: TrainerSpec, 3: NormalizerSpec} for a tokenizer.json Unigram model."""
    model = spec["model"]
    if model.get("type") != "Unigram":
        raise ModelError("tokenizer.json is not a Unigram model")
    added = {a["id"] for a in spec.get("added_tokens", [])}
    unk = model["unk_id"]
    pieces = []
    for i, (piece, score) in enumerate(model["vocab"]):
        kind = _UNKNOWN if i == unk else _USER if i in added else _NORMAL
        pieces.append(_bytes(1, _bytes(1, piece.encode("utf-8")) + _float(2, score) + _int(3, kind)))
    charsmap = next(base64.b64decode(n["precompiled_charsmap"]) for n in spec["normalizer"]["normalizers"]
                    if n["type"] == "Precompiled")
    # model_type UNIGRAM, vocab_size, unk/bos/eos/pad ids (ids are added by hand, see SpmTokenizer)
    trainer = _int(3, 1) + _int(4, len(model["vocab"])) + _int(40, unk) + _int(41, 0) + _int(42, 2) + _int(43, 1)
    normalizer = (_bytes(1, b"user_defined") + _bytes(2, charsmap) + _int(3, 1)
                  + _int(4, int(remove_extra_whitespaces)) + _int(5, 1))
    return b"".join(pieces) + _bytes(2, trainer) + _bytes(3, normalizer)


class SpmTokenizer:
    """Ids as tokenizer.json gives them: <s> + pieces (truncated) + </s>."""

    def __init__(self, path: Path, max_length: int = 512, bos: int = 0, eos: int = 2, space: int = 6):
        import sentencepiece as spm

        proto = Path(path).read_bytes()
        self.sp = spm.SentencePieceProcessor(model_proto=proto)
        # the same normaliser without whitespace stripping: does a text's normal form end in a space?
        self._raw = spm.SentencePieceNormalizer(model_proto=proto, add_dummy_prefix=False,
                                                remove_extra_whitespaces=False, escape_whitespaces=False)
        self.max_length, self.bos, self.eos, self.space = max_length, bos, eos, space

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        out = []
        # a list goes through SentencePiece's thread pool (~1 ms a call, up to 17 ms on a busy
        # machine); a question or a few words are encoded one by one (~5 µs each)
        pieces = [self.sp.encode(t) for t in texts] if len(texts) <= SMALL else self.sp.encode(list(texts))
        for text, ids in zip(texts, pieces):
            if text and self._raw.normalize(text[-32:]).endswith(" "):
                ids.append(self.space)
            out.append([self.bos, *ids[: self.max_length - 2], self.eos])
        return out


def ensure_spm(folder: Path, max_length: int = 512) -> Path:
    """Write `<folder>/tokenizer.spm` from tokenizer.json once, checked to give the same ids."""
    folder = Path(folder)
    out = folder / SPM_FILE
    if out.is_file():
        return out
    from tokenizers import Tokenizer

    spec = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    fd, tmp = tempfile.mkstemp(prefix=".tokenizer-", suffix=".spm", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(_model_proto(spec))
        reference = Tokenizer.from_file(str(folder / "tokenizer.json"))
        reference.enable_truncation(max_length=max_length)
        ours = SpmTokenizer(Path(tmp), max_length)
        texts = [p + t for t in _PROBE for p in ("query: ", "passage: ")] + ["passage: " + " ".join(_PROBE) * 20]
        if ours.encode_batch(texts) != [e.ids for e in reference.encode_batch(texts)]:
            raise ModelError("the SentencePiece tokenizer disagrees with tokenizer.json")
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return out
