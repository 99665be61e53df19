from assistant.answer import format_answer_text
from assistant.split import sentences as _sentences


def test_sentences_do_not_break_dates_or_abbreviations():
    text = "Avtalen gjelder frem til 31. desember 2015, eller til en part sier den opp. Oppsigelse skal gis skriftlig."
    assert _sentences(text) == [
        "Avtalen gjelder frem til 31. desember 2015, eller til en part sier den opp.",
        "Oppsigelse skal gis skriftlig.",
    ]


def test_an_initial_does_not_end_a_sentence():
    text = "Sammen med Mary Pickford og D.W. Griffith grunnla han United Artists. Det sa J. Trump. Han kom i 2019."
    assert _sentences(text) == [
        "Sammen med Mary Pickford og D.W. Griffith grunnla han United Artists.",
        "Det sa J. Trump.",
        "Han kom i 2019.",
    ]


def test_plain_text_export_cites_sources(fake_assistant):
    answer = fake_assistant.ask("velferdsteknologi opplæring")
    text = format_answer_text(answer)
    assert "Kilder:" in text and "avsnitt" in text and ".txt" in text
    assert answer.hits[0].clause.text.split()[0] in text
