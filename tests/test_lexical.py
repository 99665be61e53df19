"""The keyword side's word handling: words typed without æ, ø and å find the corpus's words."""

from __future__ import annotations

from assistant.retrieve.analyzer import Analyzer
from assistant.retrieve.lexical import Lexical, fold

TEXTS = ["Eide understreket overfor statsrådene at kvaliteten bygges nedenfra.",
         "Avtalen gjelder for første gang på særskilte områder.", "Partene vil øke andelen heltidsstillinger.",
         "Bakgrunnen er stortingsmeldingen fra våren 2018."]


def test_fold_writes_the_letters_both_ways():
    assert fold("statsråd") == {"statsrad", "statsraad"}
    assert fold("særskilt") == {"sarskilt", "saerskilt"}
    assert fold("helse") == set()


def test_a_word_typed_without_the_letters_finds_the_corpus_word():
    lexical = Lexical(Analyzer(), TEXTS)
    stem = lexical.analyzer.stem
    assert lexical.expand(["statsradene"]) == [stem("statsrådene")]
    assert lexical.expand(["forste"]) == [stem("første")]
    assert lexical.expand(["saerskilte"]) == [stem("særskilte")]
    assert lexical.scores(lexical.expand(["statsradene"]))[0] > 0


def test_a_word_is_folded_whole_not_by_its_stem():
    lexical = Lexical(Analyzer(), TEXTS)
    stem = lexical.analyzer.stem
    assert fold(stem("våren")) & {stem("varer")}  # the stems fold alike («vår», «var») ...
    assert lexical.expand(["varer"]) == []  # ... but «varer» (lasts) is not «våren» typed without «å»
    assert lexical.expand(["varen"]) == [stem("våren")]


def test_known_words_and_compounds_are_unchanged():
    lexical = Lexical(Analyzer(), TEXTS)
    stem = lexical.analyzer.stem
    assert lexical.expand(["statsrådene"]) == [stem("statsrådene")]
    assert stem("heltidsstillinger") in lexical.expand(["heltid"])  # a compound that contains the word
    assert lexical.expand(["barnehage"]) == []  # nothing like it in the corpus


def test_a_particle_verb_also_searches_its_compound():
    analyzer = Analyzer()
    pv = analyzer.particle_verbs("Kan avtalen sies opp? Hvem skal følge den opp, og legges noe ned?")
    assert pv["sies"][-1] == "opp" + analyzer.stem("si")  # the passive «-es» dropped: «oppsi»
    assert pv["følge"] == ["opp" + analyzer.stem("følge")]  # a pronoun between verb and particle
    assert "avtalen" not in pv  # «avtalen sies opp»: a verb, not a pronoun, between
    lexical = Lexical(analyzer, ["Oppsigelse skal gis med minst én måneds varsel.", "Partene sikrer oppfølging."])
    assert analyzer.stem("oppsigelse") in lexical.expand(pv["sies"])
    assert lexical.expand(pv["følge"]) == [analyzer.stem("oppfølging")]


def test_question_terms_join_the_verb_and_its_compound(fake_assistant):
    from assistant.query import parse_query
    from assistant.retrieve.features import query_terms

    fake_assistant.index()
    searcher = fake_assistant.load()
    qt = query_terms(searcher, parse_query("Kan avtalen sies opp?"))
    stem = searcher.analyzer.stem
    group = next(g for g in qt.groups if stem("sies") in g)
    assert stem("oppsigelse") in group  # one term, found by «sies» or by «Oppsigelse»


def test_a_translated_word_and_its_original_are_one_word():
    # apertium's bokmål for «Kva seier avtalen om kompetansen til dei tilsette?», with the nynorsk question
    analyzer = Analyzer()
    words = analyzer.aligned_words("Hva sier avtalen om kompetansen til de ansatte?",
                                   "Kva seier avtalen om kompetansen til dei tilsette?")
    assert words == ["avtalen", "kompetansen", ("ansatte", "tilsette")]  # «kva», «seier», «dei» are stop words
    # «frå» is not in the stop words, but its translation «fra» is
    assert analyzer.aligned_words("Hvem skrev under avtalen fra 2012?", "Kven skreiv under avtalen frå 2012?") == [
        ("skrev", "skreiv"), "under", "avtalen", "2012"]
    # a replacement of another length keeps every word, each on its own
    assert analyzer.aligned_words("De eldre skal bo hjemme", "Dei eldre skal bu heime lenger") == [
        "eldre", "bo", "hjemme", "bu", "heime", "lenger"]


def test_a_nynorsk_word_the_corpus_lacks_is_not_a_word_missing(fake_assistant):
    from assistant.query import Query
    from assistant.retrieve.features import query_terms

    fake_assistant.index()
    searcher = fake_assistant.load()
    stem = searcher.analyzer.stem
    query = Query("Kva seier avtalen om dei tilsette?", "nn", "Hva sier avtalen om de ansatte?", "what")
    qt = query_terms(searcher, query)
    group = next(g for g in qt.groups if stem("ansatte") in g)
    assert stem("tilsette") in group and len(qt.groups) == 2  # «avtalen», and «ansatte» found by either
