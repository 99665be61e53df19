"""English question words -> the corpus's Norwegian words, through the model's own embeddings.

At index time every distinct word of the corpus (four letters or more) is embedded once as a
query («query: helse»). An English question's content words are embedded the same way and each
is replaced, for the keyword search, by its nearest corpus word: cognates and loans find their
twin (health -> helse, technology -> teknologi, responsibility -> ansvar, patients -> pasienten),
other words find a near miss, which the fitted English ranker weighs accordingly (it is fitted
with half of the question's words kept, see fitting/fit_models.py). Debian's English-Norwegian
FreeDict has no entry for most of the words that matter here (volunteer, agreement, terminate,
dental, expire, municipality), so it is not used.
"""

from __future__ import annotations

import re

import numpy as np

__all__ = ["MIN_LETTERS", "corpus_words", "word_vectors", "nearest_words"]

MIN_LETTERS = 4
MAX_WORDS = 8_000  # the most frequent: embedding a word costs ~5 ms on 2 cores
_WORD = re.compile(rf"[^\W\d_]{{{MIN_LETTERS},}}", re.UNICODE)


def corpus_words(texts) -> list[str]:
    counts: dict[str, int] = {}
    for t in texts:
        for w in _WORD.findall(t.lower()):
            counts[w] = counts.get(w, 0) + 1
    words = sorted(counts, key=lambda w: (-counts[w], w))[:MAX_WORDS]
    return sorted(words)


def word_vectors(clauses, embedder, old_words=None, old_vectors=None) -> tuple[np.ndarray, np.ndarray]:
    """(words, vectors float16) for the corpus; words already in the previous index are reused."""
    words = corpus_words(c.text for c in clauses)
    known = {}
    if old_words is not None and old_vectors is not None:
        known = {w: i for i, w in enumerate(old_words.tolist())}
    dim = embedder.dim if old_vectors is None or not len(old_vectors) else old_vectors.shape[1]
    out = np.zeros((len(words), dim), dtype=np.float16)
    todo = [i for i, w in enumerate(words) if w not in known]
    for i, w in enumerate(words):
        if w in known:
            out[i] = old_vectors[known[w]]
    for a in range(0, len(todo), 512):
        rows = todo[a : a + 512]
        out[rows] = np.asarray(embedder.embed_queries([words[i] for i in rows]), dtype=np.float16)
    return np.array(words, dtype=str), out


def nearest_words(embedder, words: list[str], vocab: np.ndarray, vectors: np.ndarray) -> list[str]:
    """The nearest corpus word to each of `words` (one embedding call for all)."""
    if not words or not len(vocab):
        return []
    q = np.asarray(embedder.embed_queries(words), dtype=np.float32)
    sims = q @ vectors.astype(np.float32, copy=False).T  # the searcher passes a float32 copy: not copied again
    return [str(vocab[j]) for j in sims.argmax(axis=1)]
