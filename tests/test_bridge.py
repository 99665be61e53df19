"""The English bridge: FreeDict's dictd files read, words and phrases translated into corpus words."""

from __future__ import annotations

import gzip
import logging

import pytest

from assistant import bridge
from assistant.bridge import Dictionary, english_dictionary, translate

# three entries as FreeDict's English-Norwegian dictionary writes them (headword, translations, glosses)
ENTRIES = {
    "sign": "sign //saɪn// <v>\nsignere 2.\nto write one's signature on a document\n 3.\nto make (a document) official\n",
    "water": "water //ˈwɔːtə// <n>\n1. vann\nbody of water\n2. vann, vatn 2.\nclear liquid H₂O\n 3.\nmineral water\n",
    "white paper": "white paper /wˈaɪt pˈeɪpə/ <n>\nstortingsmelding\n",
}
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _b64(n: int) -> str:
    out = ""
    while True:
        out = _B64[n % 64] + out
        n //= 64
        if not n:
            return out


def write_dictd(base, entries=ENTRIES) -> None:
    """A dictd database (.index with base64 offsets, .dict.dz gzip) in FreeDict's layout."""
    body, index = b"00-database-info\nEnglish-Norsk test dictionary\n", []
    index.append(f"00-database-info\t{_b64(0)}\t{_b64(len(body))}")
    for head, text in sorted(entries.items()):
        data = text.encode("utf-8")
        index.append(f"{head}\t{_b64(len(body))}\t{_b64(len(data))}")
        body += data
    base.with_name(base.name + ".index").write_text("\n".join(index) + "\n", encoding="utf-8")
    base.with_name(base.name + ".dict.dz").write_bytes(gzip.compress(body))


def test_reads_translations_not_glosses(tmp_path):
    write_dictd(tmp_path / "eng-nor")
    d = Dictionary.read(tmp_path / "eng-nor")
    assert d.entries["sign"] == ("signere",)
    assert d.entries["water"] == ("vann", "vatn")  # numbered senses, no sense numbers, no English glosses
    assert d.entries["white paper"] == ("stortingsmelding",)
    assert "00-database-info" not in d.entries


def test_lookup_finds_inflected_forms_and_phrases(tmp_path):
    write_dictd(tmp_path / "eng-nor")
    d = Dictionary.read(tmp_path / "eng-nor")
    assert d.lookup(["signed"]) == ("signere",)
    assert d.lookup(["signing"]) == ("signere",)
    assert d.lookup(["waters"]) == ("vann", "vatn")
    assert d.lookup(["white", "papers"]) == ("stortingsmelding",)
    assert d.lookup(["volunteer"]) == ()


def test_translate_keeps_corpus_words_and_falls_back_to_the_nearest(tmp_path):
    write_dictd(tmp_path / "eng-nor")
    d = Dictionary.read(tmp_path / "eng-nor")
    corpus = {"signere", "stortingsmelding", "vann"}
    words = ["signed", "white", "paper", "volunteers", "water"]
    nearest = ["signert", "hvit", "papir", "frivillig", "vannet"]
    out = translate(words, nearest, d, corpus.__contains__)
    # a translated word: its corpus translations alone (the nearest word of «signed» may be «skille»);
    # a phrase: one term for both words; a word the dictionary lacks: its nearest word; translations
    # the corpus never uses are not searched
    assert out == [("signere",), ("stortingsmelding",), "frivillig", ("vann",)]
    assert translate(words, nearest, None, corpus.__contains__) == nearest


def test_missing_dictionary_is_one_notice_and_no_dictionary(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(bridge, "_LOADED", {})
    with caplog.at_level(logging.WARNING, logger="assistant.bridge"):
        assert english_dictionary(True, tmp_path / "none") is None
        assert english_dictionary(True, tmp_path / "none") is None
    assert len([r for r in caplog.records if "dict-freedict-eng-nor" in r.getMessage()]) == 1
    assert english_dictionary(False) is None


def test_damaged_dictionary_is_no_dictionary(tmp_path, monkeypatch):
    monkeypatch.setattr(bridge, "_LOADED", {})
    write_dictd(tmp_path / "eng-nor")
    (tmp_path / "eng-nor.dict.dz").write_bytes(b"not gzip")
    assert english_dictionary(True, tmp_path / "eng-nor") is None


@pytest.mark.skipif(not bridge.FREEDICT.with_name(bridge.FREEDICT.name + ".index").exists(),
                    reason="dict-freedict-eng-nor is not installed (scripts/setup.sh installs it)")
def test_the_installed_dictionary_reads():
    d = Dictionary.read(bridge.FREEDICT)
    assert len(d.entries) > 10_000
    assert "regjering" in d.lookup(["government"])
    assert "helse" in d.lookup(["health"])


def test_english_question_terms_hold_the_alternatives(fake_assistant):
    """On the seed corpus: one keyword term per English word, found by its translation or its
    nearest corpus word (the fake embedder's nearest word is arbitrary; the translation is not)."""
    from assistant.query import parse_query
    from assistant.retrieve.features import query_terms

    if english_dictionary() is None:
        pytest.skip("dict-freedict-eng-nor is not installed (scripts/setup.sh installs it)")
    fake_assistant.index()
    searcher = fake_assistant.load()
    english = parse_query("Who signed for the government?")
    assert english.language == "en"
    qt = query_terms(searcher, english)
    assert len(qt.groups) == 2  # «signed» and «government»: one term each
    assert any(searcher.analyzer.stem("regjering") in group for group in qt.groups)


class TableEmbedder:
    """Vectors from a table: the similarities a test needs, exactly."""

    dim = 3

    def __init__(self, table):
        self.table = table
        self.embedded: list[str] = []

    def embed_queries(self, texts):
        import numpy as np

        self.embedded += texts
        return np.array([self.table[t] for t in texts], dtype=np.float32)


def test_two_english_words_may_find_one_norwegian_compound():
    import numpy as np

    vocab = np.array(["veiledning", "teknologi", "velferdsteknologi"])
    vectors = np.eye(3, dtype=np.float32)
    emb = TableEmbedder({
        "welfare": [0.70, 0.0, 0.60],  # alone: nearest «veiledning» (0.70)
        "technology": [0.0, 0.95, 0.30],  # alone: «teknologi» (0.95), nearer than the pair's best
        "welfare technology": [0.0, 0.4, 0.90],  # together: «velferdsteknologi» (0.90)
        "agreement": [0.5, 0.5, 0.5],
    })
    words = ["agreement", "welfare", "technology"]
    assert bridge.nearest_words(emb, words, vocab, vectors) == ["veiledning", "veiledning", "teknologi"]
    question = "what does the agreement say about welfare technology".split()
    # «welfare» takes the pair's nearer word; «technology» keeps its own; «agreement» is not next to them
    assert bridge.nearest_words(emb, words, vocab, vectors, question) == ["veiledning", "velferdsteknologi", "teknologi"]


def test_word_vectors_are_embedded_once_and_the_cache_is_bounded():
    import numpy as np

    table = {w: [float(i), 1.0, 0.0] for i, w in enumerate(["agreement", "welfare", "technology", "care", "dental"])}
    emb, cache = TableEmbedder(table), bridge.VectorCache(size=3)
    first = cache.embed(emb, ["agreement", "welfare", "agreement"])
    assert np.array_equal(first, np.array([table["agreement"], table["welfare"], table["agreement"]], dtype=np.float32))
    assert emb.embedded == ["agreement", "welfare"]  # a text once, however often asked for
    again = cache.embed(emb, ["welfare", "technology"])
    assert emb.embedded == ["agreement", "welfare", "technology"]  # only the new one
    assert np.array_equal(again[0], first[1])
    cache.embed(emb, ["care"])  # a fourth text: the least recently used («agreement») goes
    assert len(cache) == 3
    cache.embed(emb, ["agreement"])
    assert emb.embedded[-1] == "agreement"
    assert cache.embed(emb, []).shape == (0, 3)
    # nearest_words gives the same words with and without the cache
    vocab, vectors = np.array(["avtale", "velferd", "teknologi"]), np.eye(3, dtype=np.float32)
    words = ["agreement", "welfare", "technology"]
    assert (bridge.nearest_words(emb, words, vocab, vectors, cache=cache)
            == bridge.nearest_words(emb, words, vocab, vectors))


def test_a_word_with_alternatives_is_one_keyword_term(fake_assistant):
    """Coverage finds the word by any alternative; BM25, which sums its terms, gets one of them."""
    from assistant.query import parse_query
    from assistant.retrieve.features import query_terms

    fake_assistant.index()
    searcher = fake_assistant.load()
    stem = searcher.analyzer.stem
    qt = query_terms(searcher, parse_query("x"), [("regjeringen", "partene"), "kommunene"])
    assert len(qt.groups) == 2 and {stem("regjeringen"), stem("partene")} <= qt.groups[0]
    assert qt.flat == [stem("regjeringen"), stem("kommunene")]
