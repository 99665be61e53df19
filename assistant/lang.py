"""Tell English, nynorsk and bokmål questions apart, from their function words."""

from __future__ import annotations

import re

__all__ = ["detect_language"]

# English function words that are not Norwegian words.
_EN_MARKERS = {
    "what", "when", "who", "whom", "which", "where", "why", "how", "does", "do", "did", "is", "are", "was",
    "were", "the", "agreement", "about", "say", "says", "can", "should", "will", "would", "could", "of",
    "and", "with", "their", "they", "them", "be", "been", "this", "that", "these", "those", "from", "our",
    "your", "you", "we", "it", "its", "has", "have", "any", "there", "than", "to", "by", "on", "an", "a",
}
# Frequent nynorsk words that bokmål spells otherwise (question words, pronouns, common verbs).
_NN_ONLY = {
    "kva", "kven", "kvar", "korleis", "kvifor", "kor", "ikkje", "eg", "dei", "ho", "vere",
    "gjeld", "ein", "eit", "frå", "berre", "mykje", "noko", "nokon", "vert", "vart", "dykk", "deira",
    "hennar", "sjølv", "fleire", "medan", "sidan", "korkje", "heile", "partane", "kommunane",
    "tenestene", "tenester", "gjer", "gjekk", "byggje", "leiing", "verte", "tenesta", "regjeringa",
}
_NB_QUESTION = {"hva", "hvem", "hvor", "hvilke", "hvilken", "hvilket", "hvordan", "hvorfor", "ikke", "og", "er", "har"}
_WORD = re.compile(r"[a-zæøåäöüéò]+")


def detect_language(question: str) -> str:
    """"en", "nn" or "nb" (the default)."""
    lowered = question.lower()
    words = _WORD.findall(lowered)
    if not words:
        return "nb"
    if sum(w in _NN_ONLY for w in words) >= 1 and not any(w in ("hva", "hvem", "hvor", "ikke", "jeg", "hvordan") for w in words):
        return "nn"
    if any(ch in lowered for ch in "æøå") or any(w in _NB_QUESTION for w in words):
        return "nb"
    english = sum(w in _EN_MARKERS for w in words)
    return "en" if english >= max(1, 0.25 * len(words)) else "nb"
