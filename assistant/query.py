"""Understand a question before searching: its language, its bokmål form, the answer it expects.

- **Language**: bokmål, nynorsk or English, from function words (lang.py); bokmål and nynorsk
  then, when apertium is installed, by the words that only one of its two analysers knows
  (`norwegian_variant`: «kvarandre», «turnusar» are nynorsk only, «hvem» bokmål only).
- **Nynorsk -> bokmål**: Debian's `apertium-nno-nob`, run as one persistent pipeline with
  null-flush (a fresh `apertium` call costs ~1 s; a question through the running pipeline
  costs a few ms). Without apertium the question is searched as written, and one notice is
  logged.
- **Expected answer**: the question word says what kind of answer it asks for (a number, a
  date, a duration, a person, a place); the answer scorer and the abstention model have
  features for whether a sentence holds that kind of thing (see retrieve/features.py).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

from .lang import detect_language

__all__ = ["Query", "ANSWER_TYPES", "TYPED", "expected_answer", "norwegian_variant", "parse_query", "to_bokmal",
           "use_apertium"]

log = logging.getLogger(__name__)

# Question words -> the kind of answer asked for (bokmål, nynorsk, English). Ordered: of two that
# match at the same place, the first wins («hvor mange» before «hvor»).
_TYPE_PATTERNS: tuple[tuple[str, str], ...] = (
    ("number", r"hvor mange|hvor mye|kor mange|kor mykje|kor mye|hvor stor|kor stor|how many|how much|antall|talet på"),
    ("duration", r"hvor lenge|kor lenge|how long|hvor lang tid|kor lang tid|varighet|fram til når|frem til når|until when"),
    ("date", r"\bnår\b|\bnår\b|hvilket år|kva år|kva tid|\bwhen\b|what year|which year|what date|hvilken dato|kva dato"),
    ("person", r"\bhvem\b|\bkven\b|\bwho\b|\bwhom\b|hvilken person|hvilke personer"),
    ("place", r"\bhvor\b|\bkvar\b|\bwhere\b|hvilket sted|hvilken by|kva stad"),
    ("reason", r"\bhvorfor\b|\bkvifor\b|\bwhy\b"),
    ("how", r"\bhvordan\b|\bkorleis\b|\bhow\b"),
    ("what", r"\bhva\b|\bkva\b|\bwhat\b|\bwhich\b|\bhvilke\b|\bhvilken\b|\bhvilket\b|\bkva for\b"),
)
ANSWER_TYPES = tuple(t for t, _ in _TYPE_PATTERNS) + ("yesno",)
_COMPILED = tuple((t, re.compile(p, re.I)) for t, p in _TYPE_PATTERNS)
TYPED = ("number", "date", "duration", "person", "place")  # the kinds an answer can be checked for (features.py)
_JOINED = re.compile(r"(\b(og|and|eller|or)|,)\s*$", re.I)  # a question word right after it starts a second question
_YESNO = re.compile(r"^\s*(er|har|kan|skal|vil|blir|får|finnes|fins|gjelder|omfatter|må|bør|is|are|does|do|can|"
                    r"will|should|has|have|must|gjer|gir|tar)\b", re.I)


def expected_answer(text: str) -> str:
    """The kind of answer a question asks for: one of ANSWER_TYPES.

    A question that starts with its verb («Kan vi lage turnuser som passer med når brukerne trenger
    hjelp?») asks yes or no, whatever its subordinate clause holds. Otherwise the question word that
    comes first decides («Hva gjør pasientene når sansene svekkes?» asks what, not when; of the same
    start, the longer pattern: «hvor mange» before «hvor»), unless a second question joined by «og»,
    «and» or a comma asks for something more specific («Kva seier avtalen om frivilligheit og kor
    lenge gjeld ho?» asks how long). A question without a question word asks what."""
    if _YESNO.search(text):
        return "yesno"
    found = sorted((m.start(), i, kind) for i, (kind, pattern) in enumerate(_COMPILED) if (m := pattern.search(text)))
    if not found:
        return "what"
    first = found[0][2]
    joined = [kind for start, _, kind in found[1:] if _JOINED.search(text[:start]) and kind in TYPED]
    return joined[0] if first not in TYPED and joined else first


@dataclass(frozen=True)
class Query:
    text: str  # the question as asked (cleaned)
    language: str  # nb | nn | en
    search_text: str  # what the search reads (its words and its vector): the bokmål form of a nynorsk question
    answer_type: str  # one of ANSWER_TYPES


def parse_query(text: str, translate: bool = True) -> Query:
    language = detect_language(text)
    if language != "en" and translate:
        language = norwegian_variant(text) or language
    search_text = text
    if language == "nn" and translate:
        search_text = to_bokmal(text) or text
    return Query(text, language, search_text, expected_answer(search_text if language == "nn" else text))


# -- nynorsk -> bokmål ---------------------------------------------------------------------
_APERTIUM_DIR = "/usr/share/apertium/apertium-nno-nob"
_STAGES = (
    "lt-proc -z -w -e {d}/nno-nob.automorf.bin",
    "cg-proc -z {d}/nno-nob.seg.rlx.bin",
    "cg-proc -z -w {d}/nno-nob.rlx.bin",
    "apertium-tagger -z -g {d}/nno-nob.prob",
    "apertium-pretransfer -z",
    "lt-proc -z -b {d}/nno-nob.autobil.bin",
    "lrx-proc -z -m {d}/nno-nob.autolex.bin",
    "apertium-transfer -z -b {d}/apertium-nno-nob.nno-nob.t1x {d}/nno-nob.t1x.bin",
    "apertium-interchunk -z {d}/apertium-nno-nob.nno-nob.t2x {d}/nno-nob.t2x.bin",
    "apertium-postchunk -z {d}/apertium-nno-nob.nno-nob.t3x {d}/nno-nob.t3x.bin",
    "lt-proc -z -g {d}/nno-nob.autogen.bin",
)
_STREAM_SPECIAL = re.compile(r"([\^$\[\]{}/\\@<>*#])")
_UNKNOWN_MARK = re.compile(r"(?<![\w])[*#@~](?=\w)")
TIMEOUT_S = 3.0  # a question through the running pipeline takes a few ms
START_TIMEOUT_S = 30.0  # starting it reads the dictionaries (~1-3 s on a busy machine)
RETRY_S = 60.0


class _Apertium:
    """One running apertium pipeline (by default nno->nob); a question in, its output out (null-separated)."""

    def __init__(self, folder: str = _APERTIUM_DIR, stages: tuple[str, ...] = _STAGES, quick_start: bool = False):
        self.folder = folder
        self.stages = stages
        self.quick_start = quick_start  # one small dictionary to read: a start waits TIMEOUT_S, not START_TIMEOUT_S
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._retry_at = 0.0  # after a failure, questions are searched as written until then

    @staticmethod
    def available(folder: str = _APERTIUM_DIR) -> bool:
        return (os.path.isfile(f"{folder}/nno-nob.automorf.bin") and shutil.which("lt-proc") is not None
                and shutil.which("apertium-transfer") is not None and shutil.which("stdbuf") is not None)

    def _start(self) -> subprocess.Popen:
        # null-flush (-z) makes each stage answer at once; stdbuf for the stages that buffer anyway
        pipeline = " | ".join("stdbuf -o0 " + s.format(d=self.folder) for s in self.stages)
        return subprocess.Popen(["bash", "-c", pipeline], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, start_new_session=True)

    def translate(self, text: str) -> str | None:
        out = self.run(text)
        if out is None:
            return None
        return " ".join(_UNKNOWN_MARK.sub("", out.replace("\\", "")).split())

    def run(self, text: str) -> str | None:
        """The pipeline's output for `text` as apertium writes it (its stream format), or None."""
        payload = _STREAM_SPECIAL.sub(r"\\\1", " ".join(text.split())).encode("utf-8") + b"\0"
        with self._lock:
            if time.monotonic() < self._retry_at:
                return None
            try:
                timeout = TIMEOUT_S
                if self._proc is None or self._proc.poll() is not None:
                    self._proc = self._start()
                    timeout = TIMEOUT_S if self.quick_start else START_TIMEOUT_S  # loading the dictionaries
                self._proc.stdin.write(payload)
                self._proc.stdin.flush()
                out = self._read_until_null(self._proc, timeout)
            except (OSError, TimeoutError, ValueError) as exc:
                log.warning("apertium failed (%s); the question is read as written", exc)
                self._kill()
                self._retry_at = time.monotonic() + RETRY_S
                return None
        return out.decode("utf-8", "replace")

    @staticmethod
    def _read_until_null(proc: subprocess.Popen, timeout: float) -> bytes:
        import select

        buf = b""
        fd = proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while True:
            ready, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0.0))
            if not ready:
                raise TimeoutError("apertium did not answer")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise OSError("apertium stopped")
            buf += chunk
            if b"\0" in buf:
                return buf.split(b"\0", 1)[0]

    def _kill(self) -> None:
        if self._proc is not None:
            try:
                os.killpg(self._proc.pid, 9)
            except OSError:
                pass
            self._proc = None


_PIPELINE_LOCK = threading.Lock()  # makes the translator and the two analysers (_pipeline)
_APERTIUM = {"enabled": True}  # Config.apertium of the process's Assistant (use_apertium)


def use_apertium(enabled: bool) -> None:
    """Translate nynorsk questions with apertium (True, when it is installed) or search them as written."""
    _APERTIUM["enabled"] = bool(enabled)


def _pipeline(factory, *args) -> _Apertium | None:
    """The one pipeline of the process that `factory` makes (cached), or None when apertium is
    switched off. Made under a lock: two first questions at once must not start two pipelines
    (lru_cache alone would run the factory in both threads)."""
    if not _APERTIUM["enabled"]:
        return None
    with _PIPELINE_LOCK:
        return factory(*args)


def _translator() -> _Apertium | None:
    return _pipeline(_make_translator)


@lru_cache(maxsize=1)
def _make_translator() -> _Apertium | None:
    if not _Apertium.available():
        log.warning("apertium-nno-nob is not installed: nynorsk questions are searched as written "
                    "(install it with scripts/setup.sh for better answers)")
        return None
    return _Apertium()


_MEMO_MAX = 4096  # questions remembered by to_bokmal and norwegian_variant
_TRANSLATED: dict[str, str] = {}  # successful translations only: a failure is retried once apertium is back


def to_bokmal(text: str) -> str | None:
    """The bokmål translation of a nynorsk text, or None when apertium is not available."""
    got = _TRANSLATED.get(text)
    if got is None:
        tr = _translator()
        got = tr.translate(text) if tr is not None else None
        if got is not None and len(_TRANSLATED) < _MEMO_MAX:
            _TRANSLATED[text] = got
    return got


# apertium-nno-nob's two morphological analysers: a word one of them knows and the other does not
# is evidence for that variant («kvarandre», «me», «turnusar» nynorsk; «hvem», «hjem» bokmål)
_ANALYSERS = {"nn": ("lt-proc -z -w {d}/nno-nob.automorf.bin",), "nb": ("lt-proc -z -w {d}/nob-nno.automorf.bin",)}
_UNIT = re.compile(r"\^((?:[^/$\\]|\\.)*)/((?:[^$\\]|\\.)*)\$")
_VARIANTS: dict[str, str] = {}


@lru_cache(maxsize=2)
def _make_analyser(variant: str) -> _Apertium | None:
    return _Apertium(stages=_ANALYSERS[variant], quick_start=True) if _Apertium.available() else None


def _analyser(variant: str) -> _Apertium | None:
    return _pipeline(_make_analyser, variant)


def _known_words(stream: str) -> tuple[set[str], set[str]]:
    """(known, unknown) words of an analyser's output, lower-cased; a capitalised word after the
    first is left out (a name: the analysers know different names)."""
    known, unknown = set(), set()
    for i, (surface, analyses) in enumerate(_UNIT.findall(stream)):
        word = surface.replace("\\", "")
        if not any(ch.isalpha() for ch in word) or (i > 0 and word[:1].isupper()):
            continue
        (unknown if analyses.startswith("*") else known).add(word.lower())
    return known, unknown


def norwegian_variant(text: str) -> str | None:
    """"nn" or "nb" for a Norwegian question: the variant with more of its words that only its
    analyser knows; None when they tie or apertium is not available (lang.py's word lists decide).
    Measured on norquad-train and norquad-dev (2,146 bokmål questions) and on their nynorsk by
    apertium (docs/quality.md): no bokmål question read as nynorsk."""
    got = _VARIANTS.get(text)
    if got is not None:
        return got or None
    words = {}
    for variant in ("nn", "nb"):
        analyser = _analyser(variant)
        out = analyser.run(text) if analyser is not None else None
        if out is None:
            return None
        words[variant] = _known_words(out)
    nn = len(words["nn"][0] & words["nb"][1])
    nb = len(words["nb"][0] & words["nn"][1])
    got = "nn" if nn > nb else "nb" if nb > nn else ""
    if len(_VARIANTS) < _MEMO_MAX:
        _VARIANTS[text] = got
    return got or None
