"""The fitted models: plain JSON made by `fitting/fit_models.py`, loaded here, applied with NumPy.

    assistant/fitted/models.json
      {"made_by": "<the command>", "fitted_on": ..., "models": {
         "ranker":   {"nb": {"features": [...], "mean": [...], "scale": [...], "weights": [...], "bias": b}, "en": {...}},
         "sentence": {...}, "abstain": {...}}, "report": {...}}

Each model is linear in standardised features: score = ((x - mean) / scale) · weights + bias. The
ranker and the sentence model are listwise (softmax over the candidates of one question); the
abstention model is logistic (probability that the corpus answers the question).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import ModelError

__all__ = ["Linear", "Models", "MODELS_FILE", "load_models"]

MODELS_FILE = Path(__file__).with_name("fitted") / "models.json"
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
class Models:
    ranker: dict[str, Linear]
    sentence: dict[str, Linear]
    abstain: dict[str, Linear]

    def pick(self, kind: str, language: str) -> Linear:
        table = getattr(self, kind)
        return table["en"] if language == "en" and "en" in table else table["nb"]


def parse_models(doc: dict) -> Models:
    from .features import ABSTAIN_FEATURES, RANK_FEATURES, SENTENCE_FEATURES

    expected = {"ranker": RANK_FEATURES, "sentence": SENTENCE_FEATURES, "abstain": ABSTAIN_FEATURES}
    try:
        tables = {k: {v: Linear.from_json(m, expected[k]) for v, m in doc["models"][k].items()} for k in KINDS}
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"the fitted model file is damaged ({type(exc).__name__}: {exc})") from None
    if any("nb" not in t for t in tables.values()):
        raise ModelError("the fitted model file has no bokmål ('nb') variant")
    return Models(**tables)


@lru_cache(maxsize=4)
def load_models(path: str | None = None) -> Models:
    p = Path(path) if path else MODELS_FILE
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except OSError:
        raise ModelError(f"no fitted models at {p}; make them with: python fitting/fit_models.py") from None
    except ValueError:
        raise ModelError(f"the fitted model file {p} is not valid JSON") from None
    return parse_models(doc)
