from assistant.answer import _sentences, best_sentences, format_answer_text
from assistant.search import Analyzer
from assistant.types import Clause, Hit


def test_sentences_do_not_break_dates_or_abbreviations():
    text = "Avtalen gjelder frem til 31. desember 2015, eller til en part sier den opp. Oppsigelse skal gis skriftlig."
    assert _sentences(text) == [
        "Avtalen gjelder frem til 31. desember 2015, eller til en part sier den opp.",
        "Oppsigelse skal gis skriftlig.",
    ]


def test_best_sentence_is_quoted_from_the_clause():
    text = ("Avtalen vil bli fulgt opp jevnlig av partene i samarbeid. Arbeidet skal evalueres årlig av partene. "
            "Avtalen gjelder frem til 31. desember 2015. Partene møtes to ganger i året for å drøfte framdriften i arbeidet. "
            "Oppsigelse skal gis med minst én måneds varsel.")
    clause = Clause(doc_id="d", ordinal=1, kind="paragraph", text=text, start=0, end=len(text))
    analyzer = Analyzer()
    lead = best_sentences(Hit(clause, 1.0), analyzer, tuple(analyzer.terms("Når gjelder avtalen til, og hva med oppsigelse?")))
    assert all(s in text for s in lead)
    assert "Avtalen gjelder frem til 31. desember 2015." in lead


def test_plain_text_export_cites_sources(fake_assistant):
    answer = fake_assistant.ask("velferdsteknologi opplæring")
    text = format_answer_text(answer)
    assert "Kilder:" in text and "avsnitt" in text and ".txt" in text
    assert answer.hits[0].clause.text.split()[0] in text
