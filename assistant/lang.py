"""Tell English questions from Norwegian ones (bokmål and nynorsk are treated alike)."""

from __future__ import annotations

import re

__all__ = ["detect_language"]

_EN_MARKERS = {
    "what", "when", "who", "whom", "which", "where", "why", "how", "does", "do", "is", "are",
    "the", "agreement", "about", "say", "says", "can", "should", "will", "of", "and", "with",
}
_WORD = re.compile(r"[a-zæøåäöüé]+")


def detect_language(question: str) -> str:
    """"en" when the question reads as English, else "nb"."""
    lowered = question.lower()
    words = _WORD.findall(lowered)
    if not words or any(ch in lowered for ch in "æøå"):
        return "nb"
    english = sum(w in _EN_MARKERS for w in words)
    return "en" if english >= max(1, 0.25 * len(words)) else "nb"
