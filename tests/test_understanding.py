"""Understanding a question: language, nynorsk -> bokmål, the answer it asks for, the fitted models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.bridge import FREEDICT
from assistant.lang import detect_language
from assistant.query import _Apertium, expected_answer, parse_query
from tests.conftest import ROOT

TRAIN = ROOT.parent / "shared" / "eval" / "norquad-train"
HAS_FREEDICT = FREEDICT.with_name(FREEDICT.name + ".index").exists()  # dict-freedict-eng-nor (scripts/setup.sh)


@pytest.mark.parametrize("text,lang", [
    ("Hvor lenge gjelder kvalitetsavtalen?", "nb"),
    ("Kva seier avtalen om frivilligheit?", "nn"),
    ("Kven er partane i avtalen?", "nn"),
    ("What does the agreement say about volunteers?", "en"),
    ("Are residents expected to take more responsibility for their own health?", "en"),
    ("Hvem skrev boka A brief history of time?", "nb"),
    ("heltid", "nb"),
])
def test_language_is_told_from_function_words(text, lang):
    assert detect_language(text) == lang


@pytest.mark.parametrize("text,kind", [
    ("Hvor mange kommuner deltok?", "number"),
    ("Kor lenge gjeld avtalen?", "duration"),
    ("Når ble avtalen signert?", "date"),
    ("Who signed for the government?", "person"),
    ("Hvor ble avtalen undertegnet?", "place"),
    ("Hvorfor gikk KS inn i samarbeidet?", "reason"),
    ("Omfatter avtalen tannhelsetjenesten?", "yesno"),
    ("Hva sier avtalen om heltid?", "what"),
    ("I hvilket år ble avtalen signert?", "date"),
    ("Fram til når gjeld avtalen?", "duration"),
    ("Hva gjør kommunen når brukerne trenger hjelp?", "what"),
    ("Kan vi lage turnuser som passer med når brukerne trenger hjelp?", "yesno"),
    ("Hva er WHO?", "what"),
    ("Hva sier avtalen om frivillighet, og hvor lenge gjelder den?", "duration"),
    ("What is the agreement, and who signed it?", "person"),
])
def test_expected_answer_follows_the_question_word(text, kind):
    assert expected_answer(text) == kind


@pytest.mark.skipif(not _Apertium.available(), reason="apertium-nno-nob is not installed (scripts/setup.sh installs it)")
def test_nynorsk_is_searched_in_bokmal():
    query = parse_query("Kva seier avtalen om frivilligheit og kor lenge gjeld ho?")
    assert query.language == "nn"
    assert query.search_text.startswith("Hva sier avtalen om frivillighet og hvor lenge gjelder")
    assert query.answer_type == "duration"
    # characters that mean something in apertium's stream format come through as text
    assert "[x]" in parse_query("Kva er [x] i avtalen?").search_text


def test_a_nynorsk_question_is_embedded_as_its_bokmal_translation(fake_assistant):
    # the question's vector too, not only its words: the fitted models read bokmål questions, and
    # synthetic nynorsk dev questions (apertium nob-nno of norquad-dev) answer better (docs/quality.md)
    import numpy as np

    from assistant.query import Query

    fake_assistant.index()
    searcher = fake_assistant.load()
    query = Query("Kva seier avtalen om dei tilsette?", "nn", "Hva sier avtalen om de ansatte?", "what")
    result = searcher.search(query)
    assert np.allclose(result.qvec, searcher.embed_query("Hva sier avtalen om de ansatte?"))
    assert not np.allclose(result.qvec, searcher.embed_query(query.text))


@pytest.mark.skipif(not _Apertium.available(), reason="apertium-nno-nob is not installed (scripts/setup.sh installs it)")
def test_nynorsk_sets_are_made_from_the_bokmal_questions(tmp_path):
    """fitting/nynorsk_sets.py: the bokmål questions of a set put into nynorsk, the rest of each row kept."""
    import json
    import sys

    sys.path.insert(0, str(ROOT / "fitting"))
    from nynorsk_sets import nynorsk_set

    src = tmp_path / "small"
    (src / "corpus").mkdir(parents=True)
    rows = [{"id": "a", "question": "Hvem signerte avtalen for KS?", "lang": "nb", "answers": [{"text": "KS"}]},
            {"id": "b", "question": "Who signed it?", "lang": "en", "answers": []}]
    (src / "questions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = nynorsk_set(src, tmp_path / "out")
    got = [json.loads(line) for line in (out / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in got] == ["a"]  # the English question is left out
    assert got[0]["question"] == "Kven signerte avtalen for KS?" and got[0]["lang"] == "nn"
    assert got[0]["source_question"] == rows[0]["question"] and got[0]["answers"] == rows[0]["answers"]
    assert parse_query(got[0]["question"]).language == "nn" and (out / "corpus").is_dir()


@pytest.mark.skipif(not _Apertium.available(), reason="apertium-nno-nob is not installed (scripts/setup.sh installs it)")
@pytest.mark.parametrize("text, variant, language", [
    ("Når trefte Pegi Young og Neil Young kvarandre for første gong?", "nn", "nn"),  # no word of lang.py's list
    ("Kan me laga turnusar som passar betre med når brukarane treng hjelp?", "nn", "nn"),
    # names do not count («runar» is a nynorsk verb form, «fyllingen» a bokmål noun): a tie, the lists decide
    ("Når møtes Runar Sandefjord og Fyllingen neste gang?", None, "nb"),
    ("Hvem signerte avtalen for KS?", "nb", "nb"),
])
def test_nynorsk_is_told_from_bokmal_by_the_words_only_one_analyser_knows(text, variant, language):
    from assistant.query import norwegian_variant

    assert norwegian_variant(text) == variant
    assert parse_query(text).language == language


def test_without_the_analysers_the_word_lists_tell_nynorsk(monkeypatch):
    import assistant.query as q

    monkeypatch.setattr(q, "_analyser", lambda variant: None)
    monkeypatch.setattr(q, "_VARIANTS", {})
    assert q.norwegian_variant("Kan me laga turnusar?") is None
    assert parse_query("Når trefte dei kvarandre?").language == "nn"  # «dei» is in lang.py's list
    assert parse_query("Når trefte Pegi Young og Neil Young kvarandre for første gong?").language == "nb"


def test_without_apertium_the_question_is_searched_as_written(monkeypatch):
    import assistant.query as q

    monkeypatch.setattr(q, "_translator", lambda: None)
    monkeypatch.setattr(q, "_TRANSLATED", {})
    query = parse_query("Kva seier avtalen om tannhelse?")
    assert query.language == "nn" and query.search_text == "Kva seier avtalen om tannhelse?"


def test_a_training_question_in_other_words_keeps_drops_or_replaces_its_words():
    """fit_models.py --abstain-replace: a word not kept is left out, or stands as a word the corpus
    lacks, or as a corpus word; the random draws are the same for "drop" and "unknown"."""
    import random
    import sys

    sys.path.insert(0, str(ROOT / "fitting"))
    from fit_models import kept_words

    words = ["avtalen", "gjelder", "frem", "til", "desember", "kommunene", "partene", "oppsigelse"]
    dropped = kept_words(words, 0.5, random.Random(3))
    unknown = kept_words(words, 0.5, random.Random(3), "unknown")
    corpus = kept_words(words, 0.5, random.Random(3), "corpus", ["helse", "omsorg"])
    assert 0 < len(dropped) < len(words) and dropped == [w for w in unknown if not w.startswith("#")]
    assert len(unknown) == len(words) and len(corpus) == len(words)
    assert set(corpus) <= set(words) | {"helse", "omsorg"} and set(corpus) & {"helse", "omsorg"}
    assert kept_words(words, 1.0, random.Random(3), "unknown") == words


@pytest.mark.skipif(not HAS_FREEDICT,
                    reason="dict-freedict-eng-nor is not installed (scripts/setup.sh installs it)")
def test_an_english_twin_of_a_training_question_goes_through_the_dictionary_and_the_bridge(fake_assistant):
    """fit_models.py --english-twin: a Norwegian training question's words put into English with the
    dictionary read backwards, then mapped back by the product's own bridge: names as written, every
    other term a corpus word, the same draws every run."""
    import random
    import sys

    sys.path.insert(0, str(ROOT / "fitting"))
    from fit_models import as_query, english_twin, norwegian_to_english

    fake_assistant.index()
    s = fake_assistant.load()
    inverse = norwegian_to_english()
    assert "government" in inverse[s.analyzer.stem("regjeringen")] and "sign" in inverse[s.analyzer.stem("signere")]
    query = as_query("Hvem signerte avtalen for KS og regjeringen i Oslo?", "en")
    twin = english_twin(s, query, random.Random(5))
    assert twin.groups == english_twin(s, query, random.Random(5)).groups
    names = [g for g in twin.groups if g & {"ks", "oslo"}]
    assert len(names) == 2 and twin.known.all()  # names kept; every bridged word is a corpus word
    assert len(twin.groups) > 2  # the dictionary put the other words into English, the bridge brought them back
    untranslatable = english_twin(s, as_query("Hvorfor xqzvek Bergen?", "en"), random.Random(5))
    assert [set(g) for g in untranslatable.groups] == [{s.analyzer.stem("bergen")}]  # the name alone


def test_english_twins_without_the_dictionary_stop_the_fit_with_one_line(monkeypatch, tmp_path):
    import sys

    sys.path.insert(0, str(ROOT / "fitting"))
    import fit_models

    monkeypatch.setattr(fit_models, "norwegian_to_english", lambda: {})
    with pytest.raises(SystemExit, match="dict-freedict-eng-nor"):
        fit_models.fit(TRAIN, tmp_path, tmp_path / "m.json", embedder=object(), en_twin="ranker")


@pytest.mark.skipif(not (TRAIN / "questions.jsonl").is_file(), reason="norquad-train is not beside the project")
def test_a_changed_article_redraws_only_its_own_page_about_another(tmp_path):
    """fit_models.item_rng: each page about an article is drawn by a generator of its own, so an
    article whose sentences change (a splitter fix) changes its page and leaves the others as drawn."""
    import shutil
    import sys

    sys.path.insert(0, str(ROOT / "fitting"))
    from fit_models import about_corpus, read_jsonl

    questions = read_jsonl(TRAIN / "questions.jsonl")
    names = sorted({q["doc"] for q in questions})[:8]
    questions = [q for q in questions if q["doc"] in names]
    src = tmp_path / "src"
    src.mkdir()
    for name in names:
        shutil.copy(TRAIN / "corpus" / name, src / name)

    def pages():
        about_corpus(src, questions, tmp_path / "about", seed=13, share=0.25)
        return {p.name: p.read_text(encoding="utf-8") for p in (tmp_path / "about").glob("omtale-*.txt")}

    before = pages()
    assert len(before) == 2
    first, second = sorted(before)
    changed = first.split("-", 2)[2]  # the article the first page takes sentences from
    with open(src / changed, "a", encoding="utf-8") as f:
        f.write("\n\nEn ny setning her. Og en til der. Og en tredje setning til slutt.\n")
    after = pages()
    assert before.keys() == after.keys()
    assert before[second] == after[second]  # the other article's page: drawn as before
    assert pages() == after  # and the same draws every run


@pytest.mark.skipif(not (TRAIN / "questions.jsonl").is_file(), reason="norquad-train is not beside the project")
def test_refit_on_a_slice_writes_models_the_searcher_uses(tmp_path, fake_embedder, corpus_dir):
    import sys

    sys.path.insert(0, str(ROOT / "fitting"))
    from fit_models import fit

    from assistant import Assistant, Config
    from assistant.retrieve.calibration import load_calibration, parse_calibration

    out = tmp_path / "models.json"
    twin = "ranker" if HAS_FREEDICT else "off"  # needs the dictionary
    fit(TRAIN, corpus_dir, out, embedder=fake_embedder, limit=25, work_dir=tmp_path / "work", log=lambda *a: None,
        en_twin=twin)
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["made_by"].startswith("python fitting/fit_models.py --model fake-hash-embedder --limit 25")
    assert doc["made_by"].endswith(" --english-twin ranker") == (twin == "ranker") and doc["report"]["english_twin"] == twin
    assert doc["model"] == fake_embedder.name and len(doc["data_sha256"]) == 64
    assert set(doc["models"]) == {"ranker", "sentence", "abstain"}
    for table in doc["models"].values():
        assert set(table) == {"nb", "en"}
        for m in table.values():
            assert len(m["features"]) == len(m["mean"]) == len(m["scale"]) == len(m["weights"])
    assert doc["report"]["questions"] == 25
    assert {"nb_train_lead_with_second", "en_sentence_reliability"} <= set(doc["report"])
    assert doc["report"]["about_pages"] >= 1 and doc["report"]["questions_with_gold"] < 25  # about_corpus ran
    assert "doc_about" in doc["models"]["ranker"]["nb"]["features"]
    models = parse_calibration(doc)
    assert models.pick("ranker", "en") is models.ranker["en"]
    # the firm refusal level: under the boundary (0.5), with its share of each kind of training example
    assert set(doc["abstain_firm"]) == {"nb", "en"} and all(0 <= v <= 0.5 for v in doc["abstain_firm"].values())
    assert models.firm_level("en") == doc["abstain_firm"]["en"] and models.firm_level("nn") == doc["abstain_firm"]["nb"]
    assert 0 <= doc["report"]["nb_train_firm_answerable"] <= 0.05
    assistant = Assistant(Config(corpus_dir=corpus_dir, index_dir=tmp_path / "idx", models_file=out),
                          embedder=fake_embedder)
    answer = assistant.ask("Hva sier avtalen om heltidsstillinger?")
    assert assistant.load().calibration == load_calibration(fake_embedder.name, str(out))
    assert 0.0 <= answer.answerable <= 1.0 and answer.hits


def test_a_model_file_for_other_features_is_refused(tmp_path):
    from assistant import ModelError
    from assistant.e5convert import DEFAULT_MODEL
    from assistant.retrieve.calibration import calibration_file
    MODELS_FILE = calibration_file(DEFAULT_MODEL)
    from assistant.retrieve.calibration import parse_calibration as parse_models

    doc = json.loads(Path(MODELS_FILE).read_text(encoding="utf-8"))
    doc["models"]["ranker"]["nb"]["features"] = doc["models"]["ranker"]["nb"]["features"][:-1]
    with pytest.raises(ModelError, match="refit"):
        parse_models(doc)
    doc = json.loads(Path(MODELS_FILE).read_text(encoding="utf-8"))
    doc["models"]["abstain"]["nb"]["weights"][0] = float("nan")
    with pytest.raises(ModelError, match="damaged"):
        parse_models(doc)
    for bad in ({"nb": 1.5}, {"nb": "0.3"}, [0.3], {"nb": True}):
        doc = json.loads(Path(MODELS_FILE).read_text(encoding="utf-8"))
        doc["abstain_firm"] = bad
        with pytest.raises(ModelError, match="abstain_firm"):
            parse_models(doc)
    doc = json.loads(Path(MODELS_FILE).read_text(encoding="utf-8"))
    doc.pop("abstain_firm", None)  # a calibration from before the firm level: every refusal is firm
    assert parse_models(doc).firm_level("nb") == 0.0


GAP = "issue 8, open: the fitted abstention declines too many answerable seed questions (docs/quality.md)"


@pytest.mark.slow
def test_follow_up_is_searched_in_the_previous_answers_document(real_assistant):
    first = real_assistant.ask("Hvem signerte kvalitetsavtalen?")
    follow = real_assistant.ask("og når utløper den?", history=["Hvem signerte kvalitetsavtalen?"])
    assert follow.follow_up
    assert {h.clause.doc_id for h in follow.hits} == {first.hits[0].clause.doc_id}
    top = follow.hits[0]
    assert "31. desember 2015" in follow.documents[top.clause.doc_id].text[top.passage_start:top.passage_end]
    # declined (answerability 0.43, the xfail below), but near the boundary: «not sure», the expiry clause first
    assert follow.answered or follow.unsure


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason=GAP)
def test_follow_up_is_answered_with_the_expiry_sentence(real_assistant):
    first = real_assistant.ask("Hvem signerte kvalitetsavtalen?")
    assert first.answered
    follow = real_assistant.ask("og når utløper den?", history=["Hvem signerte kvalitetsavtalen?"])
    assert follow.follow_up and follow.answered
    assert {h.clause.doc_id for h in follow.hits} == {first.hits[0].clause.doc_id}
    assert any("31. desember 2015" in s for s in follow.lead)


@pytest.mark.slow
@pytest.mark.parametrize("question", [
    "Hva sier avtalen om barnehager?",
    "What will the weather be like in Oslo tomorrow?",
    "Hva er adressen til KS?",
])
def test_near_and_far_questions_the_agreements_do_not_answer_are_declined(real_assistant, question):
    answer = real_assistant.ask(question)
    assert not answer.answered and answer.lead == []


@pytest.mark.slow
def test_everyday_words_find_the_clause(real_assistant):
    """A particle verb finds the noun made of it: «sies opp» ~ «Oppsigelse» (analyzer.particle_verbs)."""
    answer = real_assistant.ask("Kan avtalen sies opp?")
    assert answer.answered
    assert any("si den opp" in s or "Oppsigelse" in s for s in answer.lead)


def test_a_nynorsk_answer_is_rendered_in_nynorsk(fake_assistant):
    from assistant.answer import format_answer_text
    from assistant.search import Analyzer
    from assistant.web.render import render_answer

    answer = fake_assistant.ask("Kva seier avtalen om heltidsstillingar og kor lenge gjeld ho?")
    assert answer.language == "nn"
    body, _ = render_answer(answer, Analyzer(), first_ref=0)
    assert "Vis i dokumentet" in body
    assert any(line in body for line in ("Dette står i avtalane", "Fleire avtalar svarer", "Avtalane seier ikkje",
                                         "Eg er ikkje sikker"))  # the lines of answer.TEXTS["nn"] that lead an answer
    assert "Spørsmål:" in format_answer_text(answer)


@pytest.mark.slow
def test_who_signed_is_answered_with_every_signatory_and_title(real_assistant):
    answer = real_assistant.ask("Hvem signerte kvalitetsavtalen?")
    assert answer.answered
    assert {"Jonas Gahr Støre", "Helse- og omsorgsminister", "Gunn Marit Helgesen", "Styreleder KS"} <= set(answer.lead)
