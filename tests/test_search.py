"""Retrieval through Assistant: each retrieval test runs with the FAISS store (the index folder's file)
and with the NumPy store (store.py), through the same VectorStore protocol."""

import pytest

from assistant import Assistant, Config, DocumentError, QuestionError
from assistant.core import clean_question, safe_filename


@pytest.fixture(params=["faiss", "numpy"])
def fake_assistant(request, corpus_dir, tmp_path, fake_embedder):
    """The fake-embedder assistant over the seed corpus, its vectors in the store `request.param`."""
    config = Config(corpus_dir=corpus_dir, index_dir=tmp_path / "index", feedback_file=tmp_path / "fb.jsonl",
                    vector_store=request.param)
    assistant = Assistant(config, embedder=fake_embedder)
    assert assistant.load().dense.store.meta["kind"].startswith(request.param)
    return assistant


QUESTIONS = ["Hvor lenge gjelder kvalitetsavtalen?", "heltidsstillinger", "Hva sier avtalen om velferdsteknologi?",
             "Who signed the agreement?", "Kva seier avtalen om frivilligheit?", "barnehager"]


def test_both_stores_rank_alike(fake_assistant, tmp_path, fake_embedder):
    other = Assistant(fake_assistant.config.with_(vector_store="faiss" if fake_assistant.config.vector_store == "numpy"
                                                  else "numpy"), embedder=fake_embedder)
    for q in QUESTIONS:
        a, b = fake_assistant.ask(q), other.ask(q)
        assert [h.clause.clause_id for h in a.hits] == [h.clause.clause_id for h in b.hits], q
        assert [round(h.score, 5) for h in a.hits] == [round(h.score, 5) for h in b.hits], q
        assert (a.answered, a.lead) == (b.answered, b.lead), q


def test_a_document_filter_keeps_the_search_inside(fake_assistant):
    answer = fake_assistant.ask("Hva sier avtalen om samarbeid?", docs=["ks-leve-hele-livet-2018"])
    assert answer.hits and {h.clause.doc_id for h in answer.hits} == {"ks-leve-hele-livet-2018"}


def test_keyword_question_finds_the_clause(fake_assistant):
    result = fake_assistant.retrieve("heltidsstillinger")
    assert "heltidsstillinger" in result.hits[0].clause.text


def test_compound_word_matches_its_parts(fake_assistant):
    searcher = fake_assistant.load()
    assert set(searcher.lexical.expand(["oppsigelsestid"])) >= {searcher.analyzer.stem("oppsigelse")}
    assert any(t.startswith("heltidsstilling") for t in searcher.lexical.expand(["heltid"]))


def test_hits_carry_a_passage_around_the_clause(fake_assistant):
    result = fake_assistant.retrieve("velferdsteknologi opplæring")
    hit = result.hits[0]
    assert hit.passage_start <= hit.clause.start < hit.clause.end <= hit.passage_end
    assert hit.passage_end - hit.passage_start <= fake_assistant.config.context_chars or (
        hit.passage_start == hit.clause.start and hit.passage_end == hit.clause.end
    )


def test_results_do_not_repeat_a_clause(fake_assistant):
    result = fake_assistant.retrieve("bidra til å sikre", top_k=10)
    ids = [h.clause.clause_id for h in result.hits]
    assert len(ids) == len(set(ids))
    for i, hit in enumerate(result.hits):
        for earlier in result.hits[:i]:
            if earlier.clause.doc_id == hit.clause.doc_id:
                assert not (earlier.passage_start <= hit.clause.start < earlier.passage_end)


@pytest.mark.parametrize("bad", ["", "   ", "\x00\x01", "?!.", None, 42])
def test_bad_questions_raise_a_clear_error(bad):
    with pytest.raises(QuestionError):
        clean_question(bad, 2000)


def test_overlong_question_is_refused():
    with pytest.raises(QuestionError, match="limit is 2,000"):
        clean_question("ord " * 1000, 2000)


def test_control_characters_are_removed():
    assert clean_question("Hva\x00 sier\u200b avtalen?\n", 100) == "Hva sier avtalen?"


@pytest.mark.parametrize(
    "name,expected",
    [("avtale.PDF", "avtale.pdf"), ("../../x.txt", "x.txt"), ("a/b\\c.md", "c.md"), ("ny avtale (2).docx", "ny avtale -2.docx")],
)
def test_safe_filename(name, expected):
    assert safe_filename(name) == expected


@pytest.mark.parametrize("name", ["..", ".txt", "noext", "///"])
def test_unsafe_filenames_are_refused(name):
    with pytest.raises(DocumentError):
        safe_filename(name)


def test_follow_up_uses_previous_question(fake_assistant):
    first = "Hva sier avtalen om heltidsstillinger?"
    answer = fake_assistant.ask("og når utløper den?", history=[first])
    assert answer.follow_up and answer.search_query.startswith("og når utløper den?")
    assert "Avtale mellom regjeringen og KS" in answer.search_query  # the previous answer's document
    standalone = fake_assistant.ask("Hva sier avtalen om velferdsteknologi og opplæring?", history=[first])
    assert not standalone.follow_up
