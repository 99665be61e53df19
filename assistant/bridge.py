"""English question words -> the corpus's Norwegian words: a dictionary, and the model's own embeddings.

At index time every distinct word of the corpus (four letters or more) is embedded once as a
query («query: helse»). An English question's content words are embedded the same way and each
is replaced, for the keyword search, by its nearest corpus word: cognates and loans find their
twin (health -> helse, technology -> teknologi, responsibility -> ansvar, patients -> pasienten),
other words find a near miss, which the fitted English ranker weighs accordingly (it is fitted
on English twins of the train questions: their words put into English with the dictionary below
read backwards, and brought back by this bridge, near misses included; fitting/fit_models.py).

Debian's English-Norwegian FreeDict (`dict-freedict-eng-nor`, 11k headwords, installed by
scripts/setup.sh) adds what the embeddings miss (signed -> signere, government -> regjering,
white paper -> stortingsmelding): a word, or a phrase of two or three adjacent content words,
that the dictionary translates into words the corpus uses becomes one search term with those
words as alternatives (not its nearest corpus word too: the nearest word of «signed» is «skille»,
and a wrong alternative puts its clauses first). The dictionary is thin (no volunteer,
agreement, expire, municipality), so words it lacks keep their nearest corpus word alone, and
translations the corpus never uses are not searched. Without the package the bridge uses the
embeddings alone, after one logged notice (docs/quality.md has both figures).
"""

from __future__ import annotations

import gzip
import logging
import re
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

__all__ = ["FREEDICT", "Dictionary", "MIN_LETTERS", "VectorCache", "corpus_words", "english_dictionary", "nearest_words", "translate",
           "word_vectors"]

log = logging.getLogger(__name__)
FREEDICT = Path("/usr/share/dictd/freedict-eng-nor")  # .index and .dict.dz of Debian's dict-freedict-eng-nor
MAX_PHRASE = 3  # words in the longest headword looked up

MIN_LETTERS = 4
MAX_WORDS = 8_000  # the most frequent: embedding a word costs ~5 ms on 2 cores
CACHED_WORDS = 4_096  # English words and pairs whose query vectors a searcher keeps (~6 MB)
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


class VectorCache:
    """Query vectors of short texts already embedded (an English question's words and pairs),
    the most recently used `size` of them.

    Embedding an English question's words is most of its cost: ~9 words and pairs of ~5 tokens
    each take ~50 ms on 2 cores, against ~18 ms for the question itself (docs/benchmarks.md),
    and the same words («agreement», «municipality») come back in question after question."""

    def __init__(self, size: int = CACHED_WORDS):
        self.size = size
        self._rows: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, embedder, texts: list[str]) -> np.ndarray:
        with self._lock:
            found = {}
            for t in texts:
                if t in self._rows:
                    self._rows.move_to_end(t)
                    found[t] = self._rows[t]
        todo = [t for t in dict.fromkeys(texts) if t not in found]
        if todo:
            vectors = np.asarray(embedder.embed_queries(todo), dtype=np.float32)
            with self._lock:
                for t, v in zip(todo, vectors):
                    found[t] = self._rows[t] = v
                while len(self._rows) > self.size:
                    self._rows.popitem(last=False)
        return np.stack([found[t] for t in texts]) if texts else np.zeros((0, embedder.dim), dtype=np.float32)

    def __len__(self) -> int:
        return len(self._rows)


def nearest_words(embedder, words: list[str], vocab: np.ndarray, vectors: np.ndarray,
                  tokens: list[str] | None = None, cache: VectorCache | None = None) -> list[str]:
    """The nearest corpus word to each of `words` (one embedding call for all).

    With `tokens` (the words of the question they come from, in order: Analyzer.tokens), a word
    written next to another of `words` takes the nearest corpus word of the two together when
    that one is nearer than its own: Norwegian writes as one word what English writes as two («welfare technology» ->
    velferdsteknologi, where «welfare» alone finds «veiledning»). `cache` keeps the vectors for the next question."""
    if not words or not len(vocab):
        return []
    pairs: dict[str, list[str]] = {}
    if tokens is not None:
        known = set(words)
        for a, b in zip(tokens, tokens[1:]):
            if a in known and b in known and a != b:
                pairs.setdefault(a, []).append(f"{a} {b}")
                pairs.setdefault(b, []).append(f"{a} {b}")
    texts = list(dict.fromkeys([*words, *(p for ps in pairs.values() for p in ps)]))
    q = cache.embed(embedder, texts) if cache is not None else np.asarray(embedder.embed_queries(texts), dtype=np.float32)
    sims = q @ vectors.astype(np.float32, copy=False).T  # the searcher passes a float32 copy: not copied again
    best, score = sims.argmax(axis=1), sims.max(axis=1)
    row = {t: i for i, t in enumerate(texts)}
    out = []
    for w in words:
        chosen = max([w, *pairs.get(w, [])], key=lambda t: score[row[t]])
        out.append(str(vocab[best[row[chosen]]]))
    return out


_B64 = {ch: i for i, ch in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}
_SENSE = re.compile(r"^(?:\d+\.\s+)?(.*?)(?:\s+\d+\.)?$")  # «2. vann, vatn 3.» -> «vann, vatn»
_NUMBERED = re.compile(r"^\d+\.\s")


def _number(text: str) -> int:
    n = 0
    for ch in text:
        n = n * 64 + _B64[ch]
    return n


def _translations(entry: str) -> list[str]:
    """The Norwegian words of one dictd entry: its first line after the headword, and each numbered
    sense line («1. vann», «2. vann, vatn»); the English glosses in between are left out."""
    lines = entry.split("\n")[1:]
    out = []
    for i, line in enumerate(lines):
        if i == 0 or _NUMBERED.match(line):
            body = _SENSE.match(line.strip()).group(1)
            out.extend(t.strip() for t in body.split(",") if t.strip() and not t.strip().rstrip(".").isdigit())
    return out


def _forms(word: str) -> list[str]:
    """The word and the base forms it may be an inflection of (signed -> sign, cities -> city)."""
    forms = [word]
    if word.endswith("ies"):
        forms.append(word[:-3] + "y")
    if word.endswith("es"):
        forms.append(word[:-2])
    if word.endswith("s") and not word.endswith("ss"):
        forms.append(word[:-1])
    if word.endswith("ed"):
        forms += [word[:-2], word[:-1]] + ([word[:-3]] if len(word) > 4 and word[-3] == word[-4] else [])
    if word.endswith("ing"):
        forms += [word[:-3], word[:-3] + "e"]
    return list(dict.fromkeys(f for f in forms if f))


class Dictionary:
    """English headword -> Norwegian translations, from a dictd dictionary (FreeDict's format)."""

    def __init__(self, entries: dict[str, tuple[str, ...]]):
        self.entries = entries

    @classmethod
    def read(cls, base: Path) -> Dictionary:
        """Read `base`.index and `base`.dict.dz (gzip; dictzip is gzip with a seek table)."""
        data = gzip.decompress(Path(f"{base}.dict.dz").read_bytes())
        entries: dict[str, list[str]] = {}
        for line in Path(f"{base}.index").read_text(encoding="utf-8").splitlines():
            parts = line.split("\t")
            if len(parts) < 3 or parts[0].startswith("00-") or not parts[0].strip():
                continue  # the database's own description
            offset, length = _number(parts[1]), _number(parts[2])
            words = _translations(data[offset : offset + length].decode("utf-8", errors="replace"))
            entries.setdefault(parts[0].lower(), []).extend(words)
        return cls({k: tuple(dict.fromkeys(v)) for k, v in entries.items() if v})

    def lookup(self, words: list[str]) -> tuple[str, ...]:
        """Translations of a word or phrase (its last word may be inflected)."""
        *head, last = words
        for form in _forms(last):
            found = self.entries.get(" ".join([*head, form]))
            if found:
                return found
        return ()

    def single_words(self, words: list[str]) -> tuple[str, ...]:
        """The translations of a word or phrase that are one word (the keyword search looks for words)."""
        return tuple(t for t in self.lookup(words) if " " not in t)


_LOADED: dict[Path, Dictionary | None] = {}
_LOCK = threading.Lock()


def english_dictionary(enabled: bool = True, base: Path = FREEDICT) -> Dictionary | None:
    """The installed dictionary, read once per process; None (one notice) when it is missing."""
    if not enabled:
        return None
    with _LOCK:
        if base not in _LOADED:
            try:
                _LOADED[base] = Dictionary.read(base)
            except (OSError, ValueError, KeyError, EOFError) as exc:
                log.warning("no English-Norwegian dictionary at %s (%s): English questions use the model's "
                            "embeddings alone (install dict-freedict-eng-nor; scripts/setup.sh does)", base, exc)
                _LOADED[base] = None
        return _LOADED[base]


def translate(words: list[str], nearest: list[str], dictionary: Dictionary | None, in_corpus) -> list:
    """Search terms for English content words (in question order) and their nearest corpus words:
    a word or phrase the dictionary translates into corpus words (`in_corpus(word)`) becomes a
    tuple of alternatives, those translations; any other word its nearest corpus word. (Letting
    the model pick one translation per word was measured: no better, and an embedding call more;
    docs/quality.md.)"""
    out: list = []
    i = 0
    while i < len(words):
        for n in range(min(MAX_PHRASE, len(words) - i), 0, -1):
            found = dictionary.single_words(words[i : i + n]) if dictionary is not None else ()
            known = [t for t in found if in_corpus(t)]
            if known:
                out.append(tuple(dict.fromkeys(known)))
                i += n
                break
        else:
            out.append(nearest[i])
            i += 1
    return out
