"""The answer Composer seam: any composer's reply is checked against the searches it came from."""

from __future__ import annotations

import dataclasses

import pytest

from assistant import Assistant
from assistant.compose import Composer, Extractive, check_answer
from assistant.errors import AnswerError


class Inventive:
    """A composer that writes its own text (as a generative step might), citing the hits."""

    def __init__(self, lead=None, drop_hits=False, foreign=None):
        self.lead, self.drop_hits, self.foreign = lead, drop_hits, foreign

    def compose(self, question, search_query, result, documents, threshold, follow_up=False):
        answer = Extractive().compose(question, search_query, result, documents, threshold, follow_up)
        if self.lead is not None:
            answer.lead = list(self.lead)
        if self.foreign is not None:
            answer.hits = [dataclasses.replace(answer.hits[0], clause=self.foreign), *answer.hits[1:]]
        return answer


def _assistant(fake_assistant, composer) -> Assistant:
    return Assistant(fake_assistant.config, embedder=fake_assistant.embedder, composer=composer)


def test_extractive_is_the_default_and_a_composer(fake_assistant):
    assert isinstance(fake_assistant.composer, Extractive) and isinstance(Extractive(), Composer)


def test_a_quote_from_the_sources_passes(fake_assistant):
    clause = fake_assistant.ask("Hva sier avtalen om heltid?").hits[0].clause
    quoted = "  ".join(clause.text.split()[:6])  # whitespace aside, a piece of a cited clause
    answer = _assistant(fake_assistant, Inventive(lead=[quoted])).ask("Hva sier avtalen om heltid?")
    assert answer.lead == [quoted]


def test_an_invented_quote_is_refused(fake_assistant):
    with pytest.raises(AnswerError, match="not in its sources"):
        _assistant(fake_assistant, Inventive(lead=["Avtalen gir alle ansatte fri på fredager."])).ask(
            "Hva sier avtalen om heltid?")


def test_a_citation_the_search_did_not_find_is_refused(fake_assistant):
    searcher = fake_assistant.load()
    found = {h.clause.clause_id for h in fake_assistant.ask("Hva sier avtalen om heltid?").hits}
    other = next(c for c in searcher.data.clauses if c.clause_id not in found)
    with pytest.raises(AnswerError, match="did not find"):
        _assistant(fake_assistant, Inventive(foreign=other)).ask("Hva sier avtalen om heltid?")


def test_check_answer_passes_every_extractive_reply(fake_assistant):
    for q in ("Hva sier avtalen om heltid?", "Hvem signerte avtalen?", "Hva er velferdsteknologi?", "barnehager"):
        result = fake_assistant.retrieve(q)
        answer = Extractive().compose(q, q, result, fake_assistant.data.documents, 0.0)
        assert check_answer(answer, [result]) is answer
