"""Many agreements in one corpus: kinds, names, limiting the search, replies grouped by agreement."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.loaders import load_document
from assistant.profile import english_heads, named_documents, profile_document
from assistant.search import Analyzer

ROOT = Path(__file__).resolve().parent.parent
EXTRA = ROOT.parent / "shared" / "eval" / "extra-docs-dev"
needs_extra = pytest.mark.skipif(not EXTRA.is_dir(), reason="extra-docs-dev is not beside the project")
QUALITY = "avtale-kvalitet-helse-omsorg-2012-2015"
LHL = "ks-leve-hele-livet-2018"
PRESS = "regjeringen-2012-to-nye-avtaler-samhandling-og-kvalitet"
STORTING = "regjeringen-2018-leve-hele-livet-vedtatt-i-stortinget"


def _mixed(corpus: Path) -> Path:
    for p in EXTRA.glob("*.txt"):
        shutil.copy(p, corpus / p.name)
    return corpus


@pytest.fixture
def profiles(corpus_dir):
    analyzer = Analyzer()
    if EXTRA.is_dir():
        _mixed(corpus_dir)
    docs = [load_document(p) for p in sorted(corpus_dir.glob("*.txt"))]
    return {d.doc_id: profile_document(d, analyzer) for d in docs}, analyzer


@needs_extra
def test_kinds_and_dates_come_from_the_sidecar_or_the_page(profiles):
    p, _ = profiles
    assert p[QUALITY].kind == "avtale" and p[QUALITY].date == "2012-12-19"
    assert p[LHL].kind == "avtale"  # «avtale (omtale av KS)» in its sidecar
    assert p[PRESS].kind == "pressemelding" and p[PRESS].about  # …/pressemeldinger/… in its Kilde: line
    assert p[STORTING].kind == "nyhet" and p[STORTING].about  # …/nyheter/…
    assert p[PRESS].date.startswith("2012") and p[STORTING].date.startswith("2018")
    assert {"2012", "2013", "2014", "2015"} <= p[QUALITY].years  # the range in its title


def test_an_agreement_without_a_sidecar_is_known_by_its_title(tmp_path):
    f = tmp_path / "samarbeid.txt"
    f.write_text("Avtale om samarbeid mellom Bø kommune og Nav\n\nPartene skal møtes hver måned.\n"
                 "Oslo, 3. mars 2021\n", encoding="utf-8")
    p = profile_document(load_document(f), Analyzer())
    assert p.kind == "avtale" and p.date == "2021-03-03"


@needs_extra
@pytest.mark.parametrize("question, named", [
    ("Hvor lenge gjelder kvalitetsavtalen?", {QUALITY, PRESS}),  # both have «kvalitet» in the title
    ("Kva seier kvalitetsavtala om frivillige?", {QUALITY, PRESS}),
    ("Hva sier Leve hele livet-avtalen om mat?", {LHL}),
    ("When does the 2012 agreement expire?", {QUALITY, PRESS}),
    ("Hva sier samhandlingsavtalen?", {PRESS}),
    ("Hva sier avtalen om frivillighet?", set()),  # names none
    ("Hva sier rammeavtalen?", set()),  # a compound that names no document here
])
def test_questions_name_the_documents_they_mean(profiles, question, named):
    p, analyzer = profiles
    assert set(named_documents(question, p, analyzer)) == named


@needs_extra
def test_an_english_question_names_a_document_by_the_word_before_agreement(profiles):
    p, analyzer = profiles
    assert english_heads("Who signed the quality agreement for KS?") == ["quality"]
    assert english_heads("What does the agreement say?") == []
    # «quality» -> «kvalitet» (the dictionary's word): the documents with «kvalitet» in the title
    assert set(named_documents("Who signed the quality agreement?", p, analyzer, ["kvalitet"])) == {QUALITY, PRESS}
    assert set(named_documents("Who signed the quality agreement?", p, analyzer)) == set()


@needs_extra
def test_doc_and_kind_limit_the_search(corpus_dir, tmp_path, fake_embedder):
    from assistant import Assistant, Config, DocumentError

    _mixed(corpus_dir)
    a = Assistant(Config(corpus_dir=corpus_dir, index_dir=tmp_path / "idx"), embedder=fake_embedder)
    only = a.ask("Hva sier avtalen om frivillighet?", docs=[f"{LHL}.txt"], top_k=10)
    assert only.hits and {h.clause.doc_id for h in only.hits} == {LHL}
    press = a.ask("Hva sier avtalen om frivillighet?", kinds=["pressemelding"], top_k=10)
    assert {h.clause.doc_id for h in press.hits} == {PRESS}
    both = a.ask("Hva sier avtalen om kvalitet?", kinds=["avtale"], top_k=10)
    assert {h.clause.doc_id for h in both.hits} <= {QUALITY, LHL}
    with pytest.raises(DocumentError, match="no document named"):
        a.ask("Hva sier avtalen?", docs=["finnes-ikke.txt"])
    with pytest.raises(DocumentError, match="kinds here: avtale, nyhet, pressemelding"):
        a.ask("Hva sier avtalen?", kinds=["rapport"])


@needs_extra
def test_a_named_agreement_keeps_the_search_to_it(corpus_dir, tmp_path, fake_embedder):
    from assistant import Assistant, Config

    _mixed(corpus_dir)
    a = Assistant(Config(corpus_dir=corpus_dir, index_dir=tmp_path / "idx"), embedder=fake_embedder)
    answer = a.ask("Hva sier Leve hele livet-avtalen om kvalitetsarbeid?", top_k=10)
    assert {h.clause.doc_id for h in answer.hits} == {LHL} and not answer.groups
    assert a.named_documents("Hvor lenge gjelder kvalitetsavtalen?") == [QUALITY, PRESS]  # agreements first


def test_cli_doc_limits_the_search(corpus_dir, tmp_path, capsys, monkeypatch):
    from assistant.cli import main

    assert main(["index", "--corpus", str(corpus_dir), "--index", str(tmp_path / "idx")]) == 0  # ask only reads
    capsys.readouterr()
    code = main(["ask", "--corpus", str(corpus_dir), "--index", str(tmp_path / "idx"), "--json",
                 "--doc", f"{LHL}.txt", "Hva sier avtalen om kvalitet?"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["clauses"] and {c["doc"] for c in out["clauses"]} == {f"{LHL}.txt"}
    assert main(["ask", "--corpus", str(corpus_dir), "--index", str(tmp_path / "idx"),
                 "--kind", "rapport", "Hva sier avtalen?"]) != 0
    assert "no documents of kind rapport" in capsys.readouterr().err


# -- with the real model ------------------------------------------------------------------------

@pytest.fixture(scope="session")
def real_mixed(tmp_path_factory, real_embedder):
    """The two seeds plus the two related regjeringen.no pages, indexed with the real model."""
    from assistant import Assistant, Config

    base = tmp_path_factory.mktemp("mixed")
    shutil.copytree(ROOT / "corpus", base / "corpus")
    _mixed(base / "corpus")
    a = Assistant(Config(corpus_dir=base / "corpus", index_dir=base / "index", feedback_file=base / "fb.jsonl"),
                  embedder=real_embedder)
    a.index()
    return a


@needs_extra
def test_the_quality_agreements_duration_comes_from_the_agreement_with_pages_loaded(real_mixed):
    answer = real_mixed.ask("Hvor lenge gjelder kvalitetsavtalen?")
    assert answer.answered
    assert "31. desember 2015" in " ".join(answer.lead)
    assert answer.hits[0].clause.doc_id == QUALITY


@needs_extra
def test_the_agreements_own_text_comes_before_a_press_release_about_it(real_mixed):
    answer = real_mixed.ask("Hva sier avtalen om forskning og kompetanse?", top_k=5)
    assert answer.hits[0].clause.doc_id in (QUALITY, LHL)


@needs_extra
def test_a_question_that_two_agreements_answer_is_grouped_by_agreement(real_mixed):
    answer = real_mixed.ask("Hvem signerte avtalen?")
    assert answer.answered
    assert [g.doc_id for g in answer.groups] == [LHL, QUALITY]  # newest first
    assert all(g.lead for g in answer.groups)
    text = answer.to_json()
    assert [g["doc_id"] for g in text["groups"]] == [LHL, QUALITY]
    # a question that names one of them is answered from that one alone
    named = real_mixed.ask("Hvem signerte kvalitetsavtalen?")
    assert not named.groups and named.hits[0].clause.doc_id == QUALITY
