"""has_type keeps what a text holds (features._found) across questions: the same answers as
scanning the text every time, and a person or place still judged against each question."""

from assistant.retrieve import features
from assistant.retrieve.features import TYPED, has_type

TEXTS = [
    "Avtalen gjelder frem til 31. desember 2015.",
    "Partene vil bidra til at 75 prosent av stillingene er heltid.",
    "Avtalen ble signert i Oslo av Bent Høie og Gunn Marit Helgesen.",
    "Kommunene skal ha planer for dette.",
    "The agreement runs for three years, until June.",
    "",
]


def _scan(text: str, kind: str, question: str) -> float:
    """has_type as it was before the cache: the pattern over the text, every time."""
    pattern = features._TYPE_RE[kind]
    if kind in ("person", "place"):
        named = question.casefold()
        return float(any(m.group(0).casefold() not in named for m in pattern.finditer(text)))
    return float(pattern.search(text) is not None)


def test_has_type_answers_as_a_fresh_scan_for_every_kind_and_question():
    features._found.cache_clear()
    questions = ["Hvem signerte avtalen?", "Hva sa Bent Høie og Gunn Marit Helgesen i Oslo?", "When?"]
    for _ in range(2):  # the second round is answered from the cache
        for text in TEXTS:
            for kind in TYPED:
                for q in questions:
                    assert has_type(text, kind, q) == _scan(text, kind, q), (text, kind, q)
    assert features._found.cache_info().hits > 0
    assert has_type(TEXTS[0], "no-such-kind") == 0.0


def test_a_person_named_by_the_question_does_not_count_even_when_cached():
    text = TEXTS[2]
    assert has_type(text, "person", "Hvem signerte?") == 1.0
    assert has_type(text, "person", "Signerte Bent Høie og Gunn Marit Helgesen i Oslo?") == 0.0
    assert has_type(text, "person", "Hvem signerte?") == 1.0


def test_an_organisation_in_capitals_is_a_who_answer_even_at_the_sentence_start():
    text = "KS og regjeringen undertegnet fredag 29. juni en avtale om hvordan «Leve hele livet» skal gjennomføres."
    assert has_type(text, "person", "Hvem har inngått avtalen om Leve hele livet?") == 1.0
    assert has_type(text, "person", "Når undertegnet KS avtalen?") == 0.0  # the question names it
    assert has_type("Kommunene skal ha planer for dette.", "person", "Hvem?") == 0.0
