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


def test_a_refusal_above_the_firm_level_says_not_sure_and_below_it_says_not_covered(fake_assistant):
    """Under the boundary the reply says «the agreements do not say this» only below the calibration's
    firm level; between the two it says it is not sure and shows the closest clauses to read."""
    from dataclasses import replace

    from assistant.answer import TEXTS, build_answer
    from assistant.web.render import render_answer

    searcher = fake_assistant.load()
    q = "Hva sier avtalen om heltidsstillinger?"
    result = searcher.search(q)
    assert result.hits
    for answerable, firm, answered, unsure in [(0.3, 0.2, False, True), (0.1, 0.2, False, False),
                                               (0.3, 0.0, False, False), (0.7, 0.2, True, False)]:
        answer = build_answer(q, q, replace(result, answerable=answerable, firm=firm), searcher.data.documents, 0.5)
        assert (answer.answered, answer.unsure) == (answered, unsure)
        assert answer.to_json()["unsure"] == unsure
        text = format_answer_text(answer)
        html, _ = render_answer(answer, searcher.analyzer)
        if not answered:
            said = TEXTS["nb"]["unsure" if unsure else "no_answer"]
            assert said in text and said in html
            assert TEXTS["nb"]["unsure" if not unsure else "no_answer"] not in text
            assert ("answer-label none unsure" in html) == unsure
    no_hits = build_answer(q, q, replace(result, answerable=0.3, firm=0.2, hits=[]), searcher.data.documents, 0.5)
    assert not no_hits.unsure  # nothing close to show: «not covered»
    for lang in TEXTS:
        assert TEXTS[lang]["unsure"] and TEXTS[lang]["related_unsure"]
