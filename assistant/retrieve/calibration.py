"""Calibration: the fitted models of one embedding model, as plain JSON made by `fitting/fit_models.py`.

    assistant/calibration/<model>.json     (the model name with "/" as "--")
      {"model": "<the embedding model it was fitted with>", "applies_to": [<other names of that model>],
       "made_by": "<the command>", "data_sha256": "<hash of the data it was fitted on>", "fitted_on": ...,
       "models": {"ranker":   {"nb": {"features": [...], "mean": [...], "scale": [...], "weights": [...],
                                      "bias": b}, "en": {...}},
                  "sentence": {...}, "abstain": {...}},
       "report": {...}}
    assistant/calibration/fallback.json    for a model without its own file (see FALLBACK)

Each model is linear in standardised features: score = ((x - mean) / scale) · weights + bias. The
ranker and the sentence model are listwise (softmax over the candidates of one question); the
abstention model is logistic (probability that the corpus answers the question).

Cosines are on another scale for every embedding model (e5's lie in 0.7-0.9, another model's top
cosine was 0.2), so an abstention model fitted on one model's cosines declines everything with
another. FALLBACK: a model without its own file is ranked by the default model's ranker and sentence
model (their scores only compare the candidates of one question, so a shift in cosine level cancels),
and decided by an abstention model fitted on the same data without any cosine-level feature
(coverage of the question's words, the rarest word missing, the answer type). It is fitted by
`python fitting/fit_models.py --abstain-features <those>`; its figures are in docs/quality.md. The
assistant logs a notice naming the model, and each answer carries it. A model of your own gets its
own file with `python fitting/fit_models.py --model NAME`.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import ModelError

__all__ = ["Linear", "Calibration", "CALIBRATION_DIR", "FALLBACK_FILE", "calibration_file", "load_calibration",
           "parse_calibration"]

log = logging.getLogger("avtaleassistenten")
CALIBRATION_DIR = Path(__file__).resolve().parent.parent / "calibration"
FALLBACK_FILE = CALIBRATION_DIR / "fallback.json"
KINDS = ("ranker", "sentence", "abstain")


@dataclass(frozen=True)
class Linear:
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float

    def score(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64).reshape(-1, len(self.features))
        return ((x - self.mean) / self.scale) @ self.weights + self.bias

    def to_json(self) -> dict:
        return {"features": list(self.features), "mean": _r(self.mean), "scale": _r(self.scale),
                "weights": _r(self.weights), "bias": round(float(self.bias), 6)}

    @classmethod
    def from_json(cls, d: dict, expected: tuple[str, ...]) -> Linear:
        features = tuple(d["features"])
        if features != tuple(expected):
            raise ModelError(f"the fitted model expects features {features}, the code computes {tuple(expected)}; "
                             "refit with: python fitting/fit_models.py")
        arrays = [np.asarray(d[k], dtype=np.float64) for k in ("mean", "scale", "weights")]
        if any(a.shape != (len(features),) for a in arrays) or not all(np.isfinite(a).all() for a in arrays):
            raise ModelError("the fitted model file is damaged (wrong sizes or non-finite values)")
        mean, scale, weights = arrays
        return cls(features, mean, np.where(scale > 0, scale, 1.0), weights, float(d["bias"]))


def _r(a) -> list[float]:
    return [round(float(v), 6) for v in np.asarray(a).ravel()]


@dataclass(frozen=True)
class Calibration:
    ranker: dict[str, Linear]
    sentence: dict[str, Linear]
    abstain: dict[str, Linear]
    model: str = ""  # the embedding model it was fitted with
    source: str = ""  # the file it was read from
    uncalibrated: str = ""  # the model it stands in for, when it is the fallback
    # per variant, the answerability under which a refusal is firm («the agreements do not say
    # this»); between it and the boundary the reply says that no clause answers clearly
    firm: dict[str, float] = field(default_factory=dict)

    def pick(self, kind: str, language: str) -> Linear:
        table = getattr(self, kind)
        return table[_variant(table, language)]

    def firm_level(self, language: str) -> float:
        """0 when the calibration has no firm level: every refusal is firm."""
        return self.firm.get(_variant(self.firm, language), 0.0)


def _variant(table: dict, language: str) -> str:
    """English questions use the "en" variant where the table has one; every other language "nb"."""
    return "en" if language == "en" and "en" in table else "nb"


def calibration_file(model: str) -> Path:
    """Where the calibration of `model` (a name or a folder) is kept."""
    name = re.sub(r"[^\w.-]+", "-", str(model).strip().replace("/", "--")).strip("-.") or "model"
    return CALIBRATION_DIR / f"{name}.json"


def parse_calibration(doc: dict, source: str = "") -> Calibration:
    from .features import ABSTAIN_FEATURES, RANK_FEATURES, SENTENCE_FEATURES

    expected = {"ranker": RANK_FEATURES, "sentence": SENTENCE_FEATURES, "abstain": ABSTAIN_FEATURES}
    try:
        tables = {k: {v: Linear.from_json(m, expected[k]) for v, m in doc["models"][k].items()} for k in KINDS}
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"the calibration file {source or ''} is damaged ({type(exc).__name__}: {exc})") from None
    if any("nb" not in t for t in tables.values()):
        raise ModelError(f"the calibration file {source or ''} has no bokmål ('nb') variant")
    firm = doc.get("abstain_firm") or {}
    if not isinstance(firm, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1 for v in firm.values()):
        raise ModelError(f"the calibration file {source or ''} is damaged (abstain_firm is not probabilities by variant)")
    return Calibration(**tables, model=str(doc.get("model") or doc.get("embedding_model") or ""), source=source,
                       firm={str(k): float(v) for k, v in firm.items()})


def _read(path: Path) -> Calibration:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        raise ModelError(f"no calibration at {path}; make it with: python fitting/fit_models.py") from None
    except ValueError:
        raise ModelError(f"the calibration file {path} is not valid JSON") from None
    return parse_calibration(doc, str(path))


@lru_cache(maxsize=1)
def _by_model() -> dict[str, Path]:
    """Model name -> its calibration file, for every file's "model" and "applies_to" names."""
    out: dict[str, Path] = {}
    for path in sorted(CALIBRATION_DIR.glob("*.json")):
        if path == FALLBACK_FILE:
            continue
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for name in [doc.get("model") or doc.get("embedding_model"), *doc.get("applies_to", [])]:
            if name:
                out.setdefault(str(name), path)
    return out


@lru_cache(maxsize=8)
def load_calibration(model: str, path: str | None = None) -> Calibration:
    """The calibration of `model`: the file `path` when given, else the model's own file, else the
    fallback (with a notice, logged once)."""
    if path:
        return _read(Path(path))
    own = _by_model().get(model) or (calibration_file(model) if calibration_file(model).is_file() else None)
    if own is not None:
        return _read(own)
    fallback = _read(FALLBACK_FILE)
    notice = (f"no calibration for the model {model}: ranked with the default model's fitted ranker and decided "
              "without cosine levels (see docs/quality.md); fit its own with: "
              f"python fitting/fit_models.py --model {model}")
    log.warning(notice)
    return Calibration(fallback.ranker, fallback.sentence, fallback.abstain, fallback.model, fallback.source, model,
                       fallback.firm)
