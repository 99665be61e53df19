"""The keyword side's word handling: words typed without æ, ø and å find the corpus's words."""

from __future__ import annotations

from assistant.retrieve.analyzer import Analyzer
from assistant.retrieve.lexical import Lexical, fold

TEXTS = ["Eide understreket overfor statsrådene at kvaliteten bygges nedenfra.",
         "Avtalen gjelder for første gang på særskilte områder.", "Partene vil øke andelen heltidsstillinger."]


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


def test_known_words_and_compounds_are_unchanged():
    lexical = Lexical(Analyzer(), TEXTS)
    stem = lexical.analyzer.stem
    assert lexical.expand(["statsrådene"]) == [stem("statsrådene")]
    assert stem("heltidsstillinger") in lexical.expand(["heltid"])  # a compound that contains the word
    assert lexical.expand(["barnehage"]) == []  # nothing like it in the corpus
