"""What comes in from a person: a question to search, a file name to store an upload under."""

from __future__ import annotations

import os
import re
import unicodedata

from .errors import DocumentError, QuestionError
from .loaders import SUPPORTED

__all__ = ["clean_question", "safe_filename", "CONTROL"]

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ud800-\udfff]")


def clean_question(question: object, max_chars: int) -> str:
    """Normalise a question; raise QuestionError if nothing searchable is left."""
    if not isinstance(question, str):
        raise QuestionError("the question must be text", "question.not_text")
    text = unicodedata.normalize("NFC", CONTROL.sub(" ", question))
    text = " ".join(text.split())
    if not text:
        raise QuestionError("the question is empty; type a question about the agreements", "question.empty")
    if len(text) > max_chars:
        raise QuestionError(f"the question is {len(text):,} characters; the limit is {max_chars:,}", "question.too_long",
                            length=len(text), limit=max_chars)
    if not any(ch.isalnum() for ch in text):
        raise QuestionError("the question has no words to search for", "question.no_words")
    return text


_SAFE_NAME = re.compile(r"[^\w.\- ]+", re.UNICODE)


def safe_filename(name: str) -> str:
    """A plain file name (no folders, no hidden files) for an uploaded document."""
    base = os.path.basename(str(name).replace("\\", "/")).strip()
    base = unicodedata.normalize("NFC", base)
    shown = " ".join(CONTROL.sub(" ", base).split())[:140] or "the file"  # for messages: one line
    stem, dot, suffix = base.rpartition(".")
    suffix = re.sub(r"[^0-9A-Za-z]+", "", suffix).lower()[:16]
    if not dot or not suffix:
        raise DocumentError(f"{shown} has no file type; use {', '.join(SUPPORTED)}", "document.unsupported_type",
                            name=shown, suffix="", supported=SUPPORTED)
    stem = _SAFE_NAME.sub("-", stem).strip(" .-")[:120]
    if not stem:
        raise DocumentError(f"{shown!r} is not a usable file name", "document.bad_name", name=shown)
    return f"{stem}.{suffix}"
