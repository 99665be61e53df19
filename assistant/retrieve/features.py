"""Features for the learned parts: ranking clauses, choosing the answer sentence, declining.

All three models (calibration.py) are linear in these features and fitted by
`fitting/fit_models.py` on NorQuAD train; the features are computed the same way when
fitting and when answering. Every feature is generic: scores from the two retrievers,
how much of the question (weighted by how rare each word is) a clause, a sentence or a
document covers, whether a sentence holds the kind of thing the question asks for
(a number, a date, a duration, a person, a place), and whether the clause's document is text
*about* something (a press release, a news page; profile.py) rather than the thing itself.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import numpy as np

from ..query import TYPED, Query

__all__ = ["RANK_FEATURES", "SENTENCE_FEATURES", "ABSTAIN_FEATURES", "QueryTerms", "TYPED", "has_type"]

RANK_FEATURES = (
    "cos", "cos_gap", "scos", "scos_gap", "bm25", "cov", "cov_text", "doc_bm25", "doc_cov", "doc_cos_gap",
    "nb_cos_gap", "nb_bm25", "is_heading", "is_signature", "log_len", *(f"type_{t}" for t in TYPED),
    "doc_about",
)
SENTENCE_FEATURES = (
    "scos", "scos_gap", "clause_prob", "clause_top", "scov", "scov_ctx", "log_len", "is_first", "novelty",
    "is_heading", *(f"type_{t}" for t in TYPED),
)
ABSTAIN_FEATURES = (
    "top_score", "top_prob", "cos", "scos", "cov", "scov", "doc_cov", "missing_idf", "unknown_share",
    "sent_prob", "no_terms", *(f"asks_{t}" for t in TYPED), *(f"type_{t}" for t in TYPED),
)

_MONTHS = ("januar|februar|mars|april|mai|juni|juli|august|september|oktober|november|desember|"
           "january|february|march|may|june|july|october|december")
_NUMBER_WORDS = ("en|ei|ett|én|to|tre|fire|fem|seks|sju|syv|åtte|ni|ti|elleve|tolv|tjue|tretti|førti|femti|hundre|"
                 "tusen|million|millioner|milliard|milliarder|prosent|halvparten|dobbelt|one|two|three|four|five|"
                 "six|seven|eight|nine|ten|hundred|thousand|percent")
_TYPE_RE = {
    "number": re.compile(rf"\d|\b({_NUMBER_WORDS})\b", re.I),
    "date": re.compile(rf"\b(1[5-9]\d\d|20\d\d)\b|\b({_MONTHS})\b|\d{{1,2}}\.\d{{1,2}}\.\d{{2,4}}|"
                       r"\b(våren|høsten|sommeren|vinteren|mandag|tirsdag|onsdag|torsdag|fredag|lørdag|søndag|"
                       r"i dag|i går|i fjor|i år)\b", re.I),
    "duration": re.compile(rf"\b(frem til|fram til|inntil|til og med|siden|varer|varte|periode|perioden|"
                           rf"år|måned|måneder|måneds|uke|uker|dag|dager|timer|minutter|sekunder|"
                           rf"years?|months?|weeks?|days?|hours?|until)\b|\d\s*[-–]\s*\d|\b({_MONTHS})\b", re.I),
    # a person or a place: a capitalised word that does not start the sentence; a person may also be
    # an organisation written in capitals anywhere («KS og regjeringen undertegnet …», «NRK»)
    "person": re.compile(r"(?<=[\w,;:)»] )[A-ZÆØÅ][a-zæøåéü]+(?:[ -][A-ZÆØÅ][a-zæøåéü]+)*|\b[A-ZÆØÅ]{2,}\b"),
    "place": re.compile(r"(?<=[\w,;:)»] )[A-ZÆØÅ][a-zæøåéü]+"),
}


def has_type(text: str, kind: str, question: str = "") -> float:
    """1.0 when `text` holds something of the kind (a person or place that the question does not
    already name), else 0.0."""
    if kind not in _TYPE_RE:
        return 0.0
    found = _found(text, kind)
    if kind in ("person", "place"):
        named = question.casefold()
        return float(any(name not in named for name in found))
    return float(bool(found))


@lru_cache(maxsize=8192)
def _found(text: str, kind: str) -> tuple[str, ...]:
    """What of the kind `text` holds, casefolded (for a number, date or duration: the first match only).

    A property of the text alone, the same for every question, so it is kept for the clauses and
    sentences that questions keep finding: the five patterns cost ~10 % of a question's Python
    time when scanned again for every candidate (docs/benchmarks.md). Bounded: ~8k texts."""
    pattern = _TYPE_RE[kind]
    if kind in ("person", "place"):
        return tuple(m.group(0).casefold() for m in pattern.finditer(text))
    first = pattern.search(text)
    return () if first is None else (first.group(0),)


@dataclass
class QueryTerms:
    """The question's search terms with their weights (inverse document frequency).

    `groups[i]` is the set of stems that count as finding word i: its own stem and the
    corpus words it expands to (compound parts or compounds that contain it).
    """

    groups: list[frozenset[str]] = field(default_factory=list)
    weights: np.ndarray = field(default_factory=lambda: np.zeros(0))
    flat: list[str] = field(default_factory=list)  # every stem, for BM25
    known: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # the corpus has the word
    idf_max: float = 1.0

    def coverage(self, terms) -> float:
        """The IDF-weighted share of the question's words found in `terms` (a set of stems)."""
        total, pairs = self._coverage_parts
        if total <= 0:
            return 0.0
        found = sum(w for g, w in pairs if not g.isdisjoint(terms))
        return found / total

    @cached_property
    def _coverage_parts(self) -> tuple[float, list[tuple[frozenset[str], float]]]:
        # computed once per question: coverage is asked ~150 times a search (the same sums, as floats)
        return float(self.weights.sum()), list(zip(self.groups, self.weights.tolist()))

    def missing_idf(self, terms) -> float:
        """The rarest question word missing from `terms`, as a share of the largest IDF (0 = none missing)."""
        miss = [w for g, w in zip(self.groups, self.weights) if g.isdisjoint(terms)]
        return max(miss) / self.idf_max if miss else 0.0

    def unknown_share(self) -> float:
        total = float(self.weights.sum())
        return float(self.weights[~self.known].sum() / total) if total > 0 else 0.0


def query_terms(searcher, query: Query, words: list | None = None) -> QueryTerms:
    """Terms for the keyword side. English questions keep only names and numbers (the words an
    English question shares with Norwegian text); `words` overrides the question's words. A word
    may be a tuple of alternatives (an English word's translations): one term, found by any of them."""
    lexical = searcher.lexical
    if words is None:
        words = lexical_words(searcher, query)
    n = max(lexical.n, 1)
    idf_max = math.log(1 + (n + 0.5) / 0.5)
    groups, weights, known, flat, seen = [], [], [], [], set()
    for w in words:
        alternatives = list(w) if isinstance(w, tuple) else [w]
        stems = {searcher.analyzer.stem(a) for a in alternatives}
        if not stems.isdisjoint(seen):
            continue
        seen |= stems
        expansions = [lexical.expand([a]) for a in alternatives]
        group = frozenset([*stems, *(t for e in expansions for t in e)])
        dfs = [lexical.vocab.get(t, 0) for t in group]
        df = max(dfs) if dfs else 0
        groups.append(group)
        weights.append(math.log(1 + (n - df + 0.5) / (df + 0.5)) if df else idf_max)
        known.append(df > 0)
        # BM25 sums its terms: a word counts once, by its first alternative that the corpus has
        flat.extend(next((e for e in expansions if e), []))
    return QueryTerms(groups, np.asarray(weights, dtype=np.float64), flat, np.asarray(known, dtype=bool), idf_max)


_NAME_OR_NUMBER = re.compile(r"(?<!^)(?<![.?!] )\b[A-ZÆØÅ][\w-]+|\d[\d.,:]*")


def lexical_words(searcher, query: Query) -> list:
    """The words the keyword search looks for: the (bokmål) question's words, a particle verb with
    its compound as an alternative («sies opp» ~ «oppsigelse»); for an English question its names
    and numbers, and its other words bridged to corpus words (bridge.py)."""
    if query.language == "en":
        return searcher.english_words(query.text)
    analyzer = searcher.analyzer
    if query.search_text != query.text:  # nynorsk: the bokmål translation's words, each with the word it translates
        words = analyzer.aligned_words(query.search_text, query.text)
    else:
        words = analyzer.words(query.search_text)
    compounds = analyzer.particle_verbs(query.search_text)  # «sies opp»: also «oppsi…» (oppsigelse)
    return [_with_compounds(w, compounds) for w in words]


def _with_compounds(word: str | tuple[str, ...], compounds: dict[str, list[str]]) -> str | tuple[str, ...]:
    """A word, or a word's alternatives, with the compound of any of them that is a particle verb."""
    alternatives = word if isinstance(word, tuple) else (word,)
    extra = [c for w in alternatives for c in compounds.get(w, ())]
    return (*alternatives, *extra) if extra or len(alternatives) > 1 else word


def names_and_numbers(analyzer, text: str) -> list[str]:
    """The words of a Norwegian question that an English twin would share with the text."""
    return analyzer.words(" ".join(m.group(0) for m in _NAME_OR_NUMBER.finditer(text)))


def type_vector(text: str, query: Query) -> list[float]:
    return [has_type(text, t, query.text) if query.answer_type == t else 0.0 for t in TYPED]
