import pytest

from assistant import DocumentError, QuestionError
from assistant.core import clean_question, safe_filename


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
