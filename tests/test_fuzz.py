"""Property tests (hypothesis): the splitter, the query path, file names and the readers (issue 5)."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant import Assistant, Config, Document, DocumentError, QuestionError
from assistant.core import safe_filename
from assistant.loaders import READERS, load_document
from assistant.split import split_document
from tests.conftest import SEED_CORPUS, FakeEmbedder

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text that looks like the documents: headings, list items, short lines, long paragraphs,
# every kind of line break Python's splitlines knows, and odd characters.
_pieces = st.sampled_from([
    "# ", "## ", "###### ", "####### ", "- ", "* ", "• ", "1. ", "a) ", "12) ", "–", "  ", "\t",
    "\n", "\n\n", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u2029",
    "Partene vil i fellesskap:", "AVTALE OM KVALITET", "Kvalitetsavtalen gjelder fra 2012.",
    "heltid", "og deltid,", "Oslo, 1. mars 2015", ". ", "! ", "? ", "… ", "«Leve hele livet»", ":",
    "æøå ÆØÅ", "😀", "\u0301", "\x00", "\ufeff", "e\u0301", "Что", "الصحة", "協定",
])
_words = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
_long_sentence = st.integers(1, 60).map(lambda n: ("Partene skal arbeide for bedre kvalitet i tjenestene. " * n))
_unbroken = st.integers(1, 3000).map(lambda n: "x" * n)
document_text = st.one_of(
    st.text(max_size=3000),
    st.lists(st.one_of(_pieces, _words, _long_sentence, _unbroken), max_size=60).map("".join),
)


@FUZZ
@given(document_text)
def test_splitter_invariants(text):
    doc = Document(doc_id="d", file="d.txt", text=text, title="Tittel")
    clauses = split_document(doc)
    previous_end = 0
    for n, c in enumerate(clauses, 1):
        assert c.ordinal == n
        assert c.doc_id == "d"
        assert 0 <= c.start < c.end <= len(text)
        assert c.start >= previous_end, "clauses overlap or are out of order"
        assert c.text == text[c.start:c.end]
        assert c.text.strip(), "an empty clause"
        previous_end = c.end
    # nothing is lost: outside the clauses there is only white space and list/heading markers
    masked = list(text)
    for c in clauses:
        masked[c.start:c.end] = " " * (c.end - c.start)
    for line in "".join(masked).splitlines():
        rest = line.split()
        assert len(rest) <= 1 and all(_MARKER.fullmatch(r) for r in rest), (line, text)


_MARKER = re.compile(r"#{1,6}|[-*•–·▪]|\d{1,3}[.)]|[a-zA-Z][.)]")


@FUZZ
@given(document_text)
def test_splitter_clause_json_round_trip(text):
    from assistant.types import Clause

    for c in split_document(Document(doc_id="d", file="d.txt", text=text, title="t")):
        assert Clause.from_json(json.loads(json.dumps(c.to_json(), ensure_ascii=False))) == c


# -- the query path ------------------------------------------------------------------------

_ASSISTANT: Assistant | None = None


def _assistant() -> Assistant:
    """One indexed assistant for the module (hypothesis runs the test body many times)."""
    global _ASSISTANT
    if _ASSISTANT is None:
        base = Path(tempfile.mkdtemp(prefix="fuzz-"))
        shutil.copytree(SEED_CORPUS, base / "corpus")
        _ASSISTANT = Assistant(Config(corpus_dir=base / "corpus", index_dir=base / "index"), embedder=FakeEmbedder())
        _ASSISTANT.index()
    return _ASSISTANT


questions = st.one_of(
    st.text(max_size=300),
    st.text(st.characters(codec="utf-8"), max_size=100),  # no surrogates
    st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=100),  # surrogates too
    st.lists(st.one_of(_pieces, _words), max_size=30).map(" ".join),
    st.integers(1990, 2100).map(lambda n: f"Gjelder avtalen i {n}?"),
)


@FUZZ
@given(questions, st.lists(st.one_of(questions, st.none(), st.integers()), max_size=3))
def test_ask_answers_or_raises_question_error(question, history):
    a = _assistant()
    try:
        answer = a.ask(question, history=history)
    except QuestionError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    data = answer.to_json()
    json.dumps(data, ensure_ascii=False).encode("utf-8")  # strict UTF-8: printable, sendable
    assert isinstance(answer.answered, bool)
    assert len(answer.hits) <= a.config.top_k
    for hit in answer.hits:
        doc = a.data.documents[hit.clause.doc_id]
        assert doc.text[hit.clause.start:hit.clause.end] == hit.clause.text
        assert 0.0 <= hit.score <= 1.0 + 1e-6


@FUZZ
@given(questions, st.integers(1, 100))
def test_retrieve_returns_a_result_or_raises_question_error(question, top_k):
    a = _assistant()
    try:
        result = a.retrieve(question, top_k=top_k)
    except QuestionError:
        return
    assert len(result.hits) <= top_k
    assert len({h.clause.clause_id for h in result.hits}) == len(result.hits)


# -- file names and readers ----------------------------------------------------------------

names = st.one_of(
    st.text(max_size=80),
    st.lists(st.sampled_from(["..", "/", "\\", ".", "x", "æ", "\x00", " ", "~", ":", "txt", "md", "C:", "%2e", "\n"]),
             max_size=12).map("".join),
)


@FUZZ
@given(names)
def test_safe_filename_stays_in_the_folder(name):
    try:
        safe = safe_filename(name)
    except DocumentError as exc:
        assert "\n" not in str(exc) or "\n" in name  # the message quotes the name it refused
        return
    corpus = Path("/srv/corpus")
    assert "/" not in safe and "\\" not in safe and "\x00" not in safe
    assert not safe.startswith(".") and safe not in (".", "..")
    assert (corpus / safe).resolve().parent == corpus
    assert safe_filename(safe) == safe  # stable


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=4000), st.sampled_from(sorted(READERS)))
def test_readers_return_a_document_or_a_document_error(tmp_path, raw, suffix):
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(raw)
    try:
        doc = load_document(path, max_bytes=10_000)
    except DocumentError as exc:
        assert str(exc).startswith("fuzz") and "\n" not in str(exc)
        return
    assert doc.text.strip()
    doc.text.encode("utf-8")
    split_document(doc)


@pytest.mark.parametrize("suffix", [".md", ".html"])
@FUZZ
@given(text=document_text)
def test_markup_readers_on_text(tmp_path_factory, suffix, text):
    path = tmp_path_factory.mktemp("fuzz") / f"fuzz{suffix}"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        doc = load_document(path)
    except DocumentError:
        return
    for c in split_document(doc):
        assert doc.text[c.start:c.end] == c.text
