"""Vectors of the index beyond the clauses': one per sentence, made in length-sorted batches."""

from __future__ import annotations

import numpy as np

from .split import sentence_spans
from .types import Clause

__all__ = ["clause_sentences", "embed_in_batches", "sentence_vectors"]


def embed_in_batches(embedder, texts: list[str], say) -> np.ndarray:
    # Longest first over the whole corpus, so each model batch holds texts of about one
    # length: padding drops from 8.6 % to 0.9 % of the tokens on norquad-dev at batch size 16
    # (sentence-transformers only sorts within each call of `batch` texts).
    batch = 256
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    out = []
    for i in range(0, len(texts), batch):
        say(f"embedding clauses {i + 1}-{min(i + batch, len(texts))} of {len(texts)}",
            0.1 + 0.85 * i / len(texts))
        chunk = [texts[j] for j in order[i : i + batch]]
        out.append(np.asarray(embedder.embed_passages(chunk), dtype=np.float32))
    vectors = np.empty((len(texts), out[0].shape[1]), dtype=np.float32)
    vectors[order] = np.vstack(out)
    return vectors


def clause_sentences(clauses: list[Clause], vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each clause's sentence spans, every sentence given its clause's vector."""
    rows = [(r, a, b) for r, c in enumerate(clauses) for a, b in (sentence_spans(c.text, c.start) or [(c.start, c.end)])]
    spans = np.array(rows, dtype=np.int64).reshape(-1, 3)
    return spans, np.ascontiguousarray(vectors[spans[:, 0]] if len(spans) else vectors[:0], dtype=np.float32)


def sentence_vectors(clauses, vectors, old, embedder, say) -> tuple[np.ndarray, np.ndarray, int]:
    """Sentence vectors: a clause of one sentence reuses its clause vector; the sentences of longer
    clauses are embedded on their own, or taken from the previous index when their document is unchanged."""
    spans, svecs = clause_sentences(clauses, vectors)
    known = {}
    if old is not None and old.sentences is not None:
        for (r, a, b), v in zip(old.sentences.tolist(), old.sentence_vectors):
            known[(old.clauses[r].doc_id, a, b)] = v
    counts = np.bincount(spans[:, 0], minlength=len(clauses)) if len(spans) else np.zeros(len(clauses), int)
    todo, texts = [], []
    for i, (r, a, b) in enumerate(spans.tolist()):
        if counts[r] < 2:
            continue
        c = clauses[r]
        v = known.get((c.doc_id, a, b))
        if v is not None:
            svecs[i] = v
        else:
            todo.append(i)
            texts.append(c.text[a - c.start : b - c.start])
    if texts:
        svecs[todo] = embed_in_batches(embedder, texts, lambda m, f: say("sentences: " + m, f))
    return spans, svecs, len(texts)
