"""One configuration object, validated when built."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from .e5convert import DEFAULT_MODEL
from .errors import ConfigError

__all__ = ["Config", "PROJECT_ROOT"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value) if value else default


@dataclass(frozen=True)
class Config:
    """Settings of an assistant. Environment variables give the defaults (see `from_env`)."""

    corpus_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "corpus")
    index_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "embeddings")
    model: str = DEFAULT_MODEL
    top_k: int = 5
    candidates: int = 100  # per retriever, before ranking
    context_chars: int = 600  # result passage: the clause plus neighbours up to this length
    abstain_threshold: float = 0.5  # fitted answerability below this -> "the documents don't say"
    models_file: Path | None = None  # fitted ranking models (default assistant/fitted/models.json)
    max_question_chars: int = 2000
    max_file_bytes: int = 20 * 1024 * 1024
    batch_size: int = 16  # measured best on 2 cores (docs/benchmarks.md)
    feedback_file: Path | None = None  # votes as JSON lines (before SQLite): imported once into feedback_db
    feedback_db: Path | None = None  # SQLite database of votes; default: feedback.sqlite3 beside feedback_file
    ask_concurrency: int = 8  # questions the web app answers at once (uploads and re-indexing: one at a time)

    def __post_init__(self):
        if not isinstance(self.top_k, int) or self.top_k <= 0 or self.top_k > 100:
            raise ConfigError(f"top_k must be an integer from 1 to 100, got {self.top_k!r}")
        if self.candidates < self.top_k:
            raise ConfigError(
                f"candidates ({self.candidates}) must be at least top_k ({self.top_k})"
            )
        if not isinstance(self.context_chars, int) or self.context_chars < 0:
            raise ConfigError(f"context_chars must be a non-negative integer, got {self.context_chars!r}")
        for name in ("abstain_threshold",):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be between 0 and 1, got {value!r}")
        if not self.model or not str(self.model).strip():
            raise ConfigError("model must name a sentence-transformers model or folder")
        if self.max_question_chars < 10:
            raise ConfigError(f"max_question_chars must be at least 10, got {self.max_question_chars}")
        if self.batch_size <= 0:
            raise ConfigError(f"batch_size must be positive, got {self.batch_size}")
        if not isinstance(self.ask_concurrency, int) or not 1 <= self.ask_concurrency <= 64:
            raise ConfigError(f"ask_concurrency must be an integer from 1 to 64, got {self.ask_concurrency!r}")
        object.__setattr__(self, "corpus_dir", Path(self.corpus_dir))
        object.__setattr__(self, "index_dir", Path(self.index_dir))
        if self.feedback_file is None:
            object.__setattr__(self, "feedback_file", self.index_dir.parent / "feedback.jsonl")

    @classmethod
    def from_env(cls, **overrides) -> Config:
        """Defaults from ASSISTANT_CORPUS, ASSISTANT_INDEX, ASSISTANT_MODEL, ASSISTANT_TOP_K, ASSISTANT_FEEDBACK(_DB),
        ASSISTANT_ASK_CONCURRENCY."""
        values = {
            "corpus_dir": _env_path("ASSISTANT_CORPUS", PROJECT_ROOT / "corpus"),
            "index_dir": _env_path("ASSISTANT_INDEX", PROJECT_ROOT / "embeddings"),
            "model": os.environ.get("ASSISTANT_MODEL", DEFAULT_MODEL),
        }
        for name, key in (("ASSISTANT_TOP_K", "top_k"), ("ASSISTANT_ASK_CONCURRENCY", "ask_concurrency")):
            if os.environ.get(name):
                try:
                    values[key] = int(os.environ[name])
                except ValueError:
                    raise ConfigError(f"{name} must be an integer, got {os.environ[name]!r}") from None
        if os.environ.get("ASSISTANT_FEEDBACK"):
            values["feedback_file"] = Path(os.environ["ASSISTANT_FEEDBACK"])
        if os.environ.get("ASSISTANT_FEEDBACK_DB"):
            values["feedback_db"] = Path(os.environ["ASSISTANT_FEEDBACK_DB"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @property
    def votes_db(self) -> Path:
        """The SQLite database of votes (`feedback_db`, else feedback.sqlite3 beside `feedback_file`)."""
        return Path(self.feedback_db) if self.feedback_db else Path(self.feedback_file).with_name("feedback.sqlite3")

    def with_(self, **changes) -> Config:
        return replace(self, **changes)
