import re

import pytest

from assistant.loaders import load_document
from assistant.split import MAX_CHARS, split_document
from assistant.types import Document
from tests.conftest import SEED_CORPUS


def _doc(text: str, doc_id: str = "d") -> Document:
    return Document(doc_id=doc_id, file=f"{doc_id}.txt", text=text, title="T")


def assert_rebuilds(doc: Document, clauses) -> None:
    """Every clause is exactly its span of the source, and the spans cover all of its text."""
    pos = 0
    for c in clauses:
        assert doc.text[c.start : c.end] == c.text
        gap = doc.text[pos : c.start]
        assert re.fullmatch(r"[\s#\-*•–·▪0-9a-zA-Z.)]*", gap), repr(gap)
        assert re.fullmatch(r"\s*", gap) or len(gap.strip()) <= 4, repr(gap)
        pos = c.end
    assert doc.text[pos:].strip() == ""
    rebuilt = list(doc.text)
    for c in clauses:
        rebuilt[c.start : c.end] = ["\0"] * (c.end - c.start)
    leftover = "".join(ch for ch in rebuilt if ch != "\0")
    assert re.fullmatch(r"[\s#\-*•–·▪0-9a-zA-Z.)]*", leftover)


@pytest.mark.parametrize("path", sorted(SEED_CORPUS.glob("*.txt")), ids=lambda p: p.stem)
def test_seed_documents_rebuild_from_offsets(path):
    doc = load_document(path)
    clauses = split_document(doc)
    assert len(clauses) > 10
    assert_rebuilds(doc, clauses)
    assert [c.ordinal for c in clauses] == list(range(1, len(clauses) + 1))


def test_list_items_keep_leadin_and_heading():
    doc = load_document(SEED_CORPUS / "avtale-kvalitet-helse-omsorg-2012-2015.txt")
    clauses = split_document(doc)
    item = next(c for c in clauses if "heltidsstillinger" in c.text)
    assert item.kind == "item"
    assert item.leadin == "Partene vil i fellesskap:"
    assert item.headings[-1] == "Personell og kompetanse"
    assert item.text == "bidra til å øke andelen heltidsstillinger i sektoren"


def test_items_across_blank_line_keep_their_leadin():
    text = "Tiltak\n\nPartene vil:\n\n- gjøre a\n- gjøre b\n\n- gjøre c\n\nNytt avsnitt her som er langt nok til å være et avsnitt.\n"
    clauses = split_document(_doc(text))
    items = [c for c in clauses if c.kind == "item"]
    assert [c.text for c in items] == ["gjøre a", "gjøre b", "gjøre c"]
    assert all(c.leadin == "Partene vil:" for c in items)
    assert clauses[-1].kind == "paragraph" and clauses[-1].leadin == ""


def test_markdown_headings_build_a_path():
    text = "# Avtale\n\n## Del 1\n\nFørste ledd.\n\n### Underpunkt\n\nAndre ledd.\n\n## Del 2\n\nTredje ledd.\n"
    clauses = split_document(_doc(text))
    by_text = {c.text: c for c in clauses}
    assert by_text["Andre ledd."].headings == ("Avtale", "Del 1", "Underpunkt")
    assert by_text["Tredje ledd."].headings == ("Avtale", "Del 2")
    assert_rebuilds(_doc(text), clauses)


def test_long_paragraph_is_cut_at_sentence_ends():
    sentence = "Dette er en setning om kommunale helse- og omsorgstjenester som gjentas. "
    text = sentence * 40
    doc = _doc(text)
    clauses = split_document(doc)
    assert len(clauses) > 1
    assert all(len(c.text) <= MAX_CHARS + len(sentence) for c in clauses)
    assert all(c.text.endswith(".") for c in clauses)
    assert_rebuilds(doc, clauses)


def test_signature_lines_stay_together():
    doc = load_document(SEED_CORPUS / "avtale-kvalitet-helse-omsorg-2012-2015.txt")
    *_, place, first, last = split_document(doc)
    assert place.text == "Oslo, 19. desember 2012" and place.kind == "signature"
    assert last.kind == "signature" and first.kind == "signature"
    assert last.text == "Gunn Marit Helgesen\nStyreleder KS"
    assert last.leadin == "Signert (underskrift), Oslo, 19. desember 2012" and last.headings == ()


def test_clause_ids_are_stable_and_distinct():
    doc = load_document(SEED_CORPUS / "avtale-kvalitet-helse-omsorg-2012-2015.txt")
    a, b = split_document(doc), split_document(doc)
    assert [c.clause_id for c in a] == [c.clause_id for c in b]
    assert len({c.clause_id for c in a}) == len(a)


def test_crlf_text_keeps_exact_offsets():
    text = "Overskrift\r\n\r\nEt avsnitt som er langt nok til å telle som tekst i et dokument, med mer.\r\n- punkt en\r\n- punkt to\r\n"
    doc = _doc(text)
    clauses = split_document(doc)
    assert_rebuilds(doc, clauses)
    assert [c.text for c in clauses if c.kind == "item"] == ["punkt en", "punkt to"]


def test_a_signature_line_is_quoted_with_the_whole_signature():
    from assistant.retrieve.catalogue import Catalogue
    from assistant.retrieve.passages import quote

    clauses = split_document(load_document(SEED_CORPUS / "avtale-kvalitet-helse-omsorg-2012-2015.txt"))
    catalogue = Catalogue(clauses)
    row = next(r for r, c in enumerate(clauses) if c.text.startswith("Jonas Gahr Støre"))
    lead, clause = quote(row, "Jonas Gahr Støre", catalogue)
    assert lead == ["Oslo, 19. desember 2012", "Jonas Gahr Støre", "Helse- og omsorgsminister",
                    "Gunn Marit Helgesen", "Styreleder KS"]  # each line as written
    assert clause is clauses[row]
    other = next(r for r, c in enumerate(clauses) if c.kind == "paragraph")  # a paragraph: the sentence alone
    assert quote(other, "En setning.", catalogue)[0] == ["En setning."]
