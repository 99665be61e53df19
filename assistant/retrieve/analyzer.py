"""Text -> search terms: NFKC, lower case, stop words out (bokmål, nynorsk, English), Snowball Norwegian stems."""

from __future__ import annotations

import re
import threading
import unicodedata
from difflib import SequenceMatcher
from functools import lru_cache

from .. import lexical_store

__all__ = ["Analyzer"]


_EXTRA_STOP = {
    # nynorsk and common question words not in the bokmål list
    "kva", "kven", "kvar", "korleis", "kvifor", "kor", "seier", "ikkje", "eg", "dei", "ho", "vere",
    "hvilke", "hvilken", "hvilket", "hvordan", "hvorfor", "hvor", "når", "sier", "står", "nevnes",
    "finnes", "noe", "noen", "mye", "mange", "lenge", "blir", "ble", "bli",
}
_EN_STOP = {
    "what", "when", "who", "whom", "whose", "which", "where", "why", "how", "does", "do", "did",
    "done", "say", "says", "said", "about", "is", "are", "was", "were", "been", "has", "have", "had",
    "can", "could", "should", "would", "will", "shall", "may", "must", "there", "their", "they",
    "them", "it", "its", "this", "that", "these", "those", "from", "into", "than", "then", "any",
    "some", "all", "our", "your", "my", "me", "we", "you", "he", "she", "his", "her", "i", "an",
    "the", "of", "to", "in", "on", "at", "with", "as", "or", "and", "not", "no", "be", "if",
}
_EN_KEEP = {"by", "man", "so", "sin", "a"}  # English stop words that are Norwegian content words


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    STOPWORDS_EN, STOPWORDS_NORWEGIAN = lexical_store.bm25s_stopwords()  # without importing bm25s

    return frozenset(STOPWORDS_NORWEGIAN) | _EXTRA_STOP | ((frozenset(STOPWORDS_EN) | _EN_STOP) - _EN_KEEP)


_WORD = re.compile(r"\w+", re.UNICODE)
# adverbs of Norwegian particle verbs («si opp», «følge opp», «legge ned»), which the language
# also writes in front of the verb in compounds and nouns («oppsigelse», «oppfølging», «nedleggelse»)
PARTICLES = frozenset("opp ut inn av ned fram frem over på til om bort".split())


class Analyzer:
    """Text -> search terms: NFKC, lower case, stop words out, Snowball Norwegian stems."""

    def __init__(self):
        import Stemmer

        self._stem = Stemmer.Stemmer("norwegian").stemWord
        self._stem_lock = threading.Lock()  # a Stemmer is for one thread at a time (PyStemmer's docs)
        self._stop = _stopwords()
        self._cache: dict[str, str] = {}

    def stem(self, word: str) -> str:
        s = self._cache.get(word)
        if s is None:
            with self._stem_lock:
                s = self._stem(word)
            if len(self._cache) < 500_000:
                self._cache[word] = s
        return s

    def tokens(self, text: str) -> list[str]:
        """Every word of `text`, NFKC-normalised and lower-cased, stop words included."""
        return _WORD.findall(unicodedata.normalize("NFKC", text).lower())

    def words(self, text: str) -> list[str]:
        return [w for w in self.tokens(text) if self._content(w)]

    def _content(self, word: str) -> bool:
        return (len(word) > 1 or word.isdigit()) and word not in self._stop

    def aligned_words(self, translation: str, text: str) -> list[str | tuple[str, ...]]:
        """The words of a translated question, each with the original word it translates as an
        alternative: one word of the question, found by either («ansatte» ~ «tilsette»), not two, one
        of which the corpus lacks. The two token sequences are aligned (difflib); a word replaced one
        for one is paired with its original (and left out with it when its translation is a stop word),
        the words of an uneven replacement are kept one by one."""
        a, b = self.tokens(translation), self.tokens(text)
        out: list[str | tuple[str, ...]] = []
        for op, i1, i2, j1, j2 in SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
            if op == "replace" and i2 - i1 == j2 - j1:
                for x, y in zip(a[i1:i2], b[j1:j2]):
                    if self._content(x):  # a word whose translation is a stop word is one («frå» -> «fra»)
                        out.append((x, y) if self._content(y) and y != x else x)
            else:
                out.extend(w for w in (a[i1:i2] if op == "equal" else [*a[i1:i2], *b[j1:j2]]) if self._content(w))
        return list(dict.fromkeys(out))

    def particle_verbs(self, text: str) -> dict[str, list[str]]:
        """A verb followed by its particle, with at most one word between («sies opp», «si den opp»)
        -> the particle written in front of the verb's stem («oppsi»), for the keyword side's compound
        search to find «oppsigelse». A passive or present «-s» / «-es» is also tried without it."""
        tokens = self.tokens(text)
        out: dict[str, list[str]] = {}
        for i, verb in enumerate(tokens):
            if verb in PARTICLES or verb in self._stop or len(verb) < 2:
                continue
            after = tokens[i + 1 : i + 3]  # the particle next, or after a pronoun («si den opp»)
            if after and after[0] in PARTICLES:
                particle = after[0]
            elif len(after) == 2 and after[0] in self._stop and after[1] in PARTICLES:
                particle = after[1]
            else:
                continue
            bases = [verb] + ([verb[:-1]] if verb.endswith("s") else []) + ([verb[:-2]] if verb.endswith("es") else [])
            out.setdefault(verb, []).extend(dict.fromkeys(particle + self.stem(b) for b in bases))
        return out

    def terms(self, text: str) -> list[str]:
        return [self.stem(w) for w in self.words(text)]


