"""The keyword retriever: BM25 (bm25s) over the clauses' indexed text, with compound expansion.

Terms come from the Analyzer (Snowball Norwegian stems). A question word the corpus never uses is
split into corpus words when it is a compound the corpus spells apart, or replaced by the corpus
compounds that contain it ("heltid" -> "heltidsstillinger"): Norwegian writes compounds as one word.
Before that, a word typed without æ, ø and å (a keyboard without them: «statsradene», «pa»,
«foerste») finds the corpus word it spells that way («statsrådene»). The whole word is compared,
not its stem: «varer» and «våren» have stems that fold alike («var», «vår»), but «varer» is not
«våren» typed without «å».
"""

from __future__ import annotations

import bisect

import numpy as np

from .analyzer import Analyzer

__all__ = ["Lexical", "fold", "top"]

_FOLDS = (str.maketrans({"æ": "a", "ø": "o", "å": "a"}), str.maketrans({"æ": "ae", "ø": "oe", "å": "aa"}))


def fold(word: str) -> set[str]:
    """How the word is written without æ, ø and å: «å» as «a» or as «aa» (and «ø» as «o»/«oe», «æ» as «a»/«ae»)."""
    return {word.translate(t) for t in _FOLDS} - {word}


def folds(analyzer: Analyzer, words: list[list[str]]) -> dict[str, list[str]]:
    """Each corpus word with æ, ø or å as typed without them -> the stems of the corpus words written so."""
    out: dict[str, set[str]] = {}
    for w in {w for ws in words for w in ws}:
        for f in fold(w):  # nothing for a word without æ, ø and å
            out.setdefault(f, set()).add(analyzer.stem(w))
    return {f: sorted(s) for f, s in out.items()}


class Lexical:
    def __init__(self, analyzer: Analyzer, texts: list[str]):
        import bm25s

        self.analyzer = analyzer
        words = [analyzer.words(t) for t in texts]
        corpus = [[analyzer.stem(w) for w in ws] for ws in words]
        self.folds = folds(analyzer, words)
        self.vocab: dict[str, int] = {}
        for terms in corpus:
            for t in set(terms):
                self.vocab[t] = self.vocab.get(t, 0) + 1
        self.n = len(texts)
        self.bm25 = bm25s.BM25(k1=0.9, b=0.4)  # Anserini's defaults; suit short clauses
        if self.n:
            self.bm25.index([t or ["\u2205"] for t in corpus], show_progress=False)
        self._sorted_vocab = sorted(self.vocab)

    @classmethod
    def from_state(cls, analyzer: Analyzer, vocab: dict[str, int], n: int, bm25,
                   folds: dict[str, list[str]]) -> Lexical:
        """The same object rebuilt from saved state (see lexical_store.py), without re-analysing the texts."""
        self = cls.__new__(cls)
        self.analyzer, self.vocab, self.n, self.bm25, self.folds = analyzer, vocab, n, bm25, folds
        self._sorted_vocab = sorted(vocab)
        return self

    def expand(self, words: list[str]) -> list[str]:
        """Search terms for the question's words.

        Known stems stay. An unknown word is split into known parts when it is a compound
        the corpus spells apart («oppsigelsestid» -> oppsigelse + tid), else replaced by
        corpus compounds that contain it («heltid» -> heltidsstillinger).
        """
        out = []
        for w in words:
            t = self.analyzer.stem(w)
            if t in self.vocab:
                out.append(t)
                continue
            folded = self.folds.get(w)
            if folded:
                out.extend(folded)
                continue
            parts = self._decompound(w)
            if parts:
                out.extend(parts)
            elif len(t) >= 5:
                found = [v for v in self._compounds(t) if v != t]
                out.extend(sorted(found, key=lambda v: -self.vocab[v])[:5])
        return out

    def _decompound(self, word: str) -> list[str]:
        stem = self.analyzer.stem
        if len(word) < 8:
            return []
        best: list[str] = []
        for i in range(len(word) - 3, 3, -1):
            head, tail = word[:i], word[i:]
            heads = [head] + ([head[:-1]] if head[-1] in "se" and len(head) > 5 else [])
            for h in heads:
                hs = stem(h)
                if hs in self.vocab and len(h) >= 4:
                    ts = stem(tail)
                    if ts in self.vocab and len(tail) >= 3:
                        return [hs, ts]
                    if not best and len(h) >= 5:
                        best = [hs]
        return best

    def _compounds(self, t: str):
        i = bisect.bisect_left(self._sorted_vocab, t)
        n = 0
        while i < len(self._sorted_vocab) and self._sorted_vocab[i].startswith(t) and n < 50:
            yield self._sorted_vocab[i]
            i += 1
            n += 1
        if len(t) >= 6:
            yield from (v for v in self.vocab if len(v) > len(t) + 2 and v.endswith(t))

    def scores(self, terms: list[str]) -> np.ndarray:
        known = [t for t in terms if t in self.vocab]
        if not self.n or not known:
            return np.zeros(self.n, dtype=np.float32)
        return np.asarray(self.bm25.get_scores(known), dtype=np.float32)



def top(scores: np.ndarray, ids: list[str], k: int) -> dict[str, float]:
    """The `k` best clauses by BM25 `scores` (over catalogue rows) that match at all, keyed by clause_id."""
    n = len(scores)
    if not n or k <= 0:
        return {}
    rows = np.argpartition(-scores, k - 1)[:k] if k < n else np.arange(n)
    return {ids[r]: float(scores[r]) for r in rows.tolist() if scores[r] > 0}
