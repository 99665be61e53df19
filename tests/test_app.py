"""Fast tests of the web app's formatting and handlers (fake embedder, no server, no browser)."""

from __future__ import annotations

import dataclasses
import html
import json
import re

import pytest

import app
from assistant import Assistant
from assistant.core import clean_question, safe_filename
from assistant.errors import DocumentError
from assistant.loaders import load_document, read_own_file
from assistant.search import Analyzer

HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "Hva med <script>alert('x')</script> velferdsteknologi?",
    "[klikk](javascript:alert(1)) velferdsteknologi",
    "\"><svg onload=alert(1)> avtalen",
]
# the only tags the app writes itself
OUR_TAGS = {"div", "p", "span", "b", "mark", "blockquote", "button", "details", "summary", "h3", "table", "thead",
            "tbody", "tr", "th", "td"}


def tags(markup: str) -> set[str]:
    return {t.lower() for t in re.findall(r"<\s*/?\s*([a-zA-Z][\w-]*)", markup)}


def assert_safe(markup: str) -> None:
    """Only the app's own tags, and none of them carries a handler, a link or a source."""
    assert tags(markup) <= OUR_TAGS, tags(markup) - OUR_TAGS
    for tag in re.findall(r"<[^>]*>", markup):
        assert not re.search(r"\bon\w+\s*=|javascript:|href|src\s*=", tag, re.I), tag


@pytest.fixture
def answering(fake_assistant, fake_embedder):
    """The fake assistant with abstention off: the fake embedder's cosines never pass the real rule."""
    return Assistant(fake_assistant.config.with_(abstain_threshold=0.0), embedder=fake_embedder)


@pytest.fixture
def handlers(answering, tmp_path):
    return app.Handlers(answering, export_dir=tmp_path / "export")


def ask(h: app.Handlers, question: str, state=None):
    """chat, question box, questions, targets, last answer, export text, export file, status (answers left out)."""
    chat, questions, targets, last = state or ([], [], [], None)
    out = h.ask(question, chat, questions, targets, last)
    assert len(out) == 9 and out[8] == ([] if isinstance(out[4], type(None)) else [out[4]])
    return out[:8]


# -- formatting ------------------------------------------------------------------------------

def test_highlight_escapes_and_marks_stems():
    a = Analyzer()
    out = app.highlight("<b>Velferdsteknologien</b> & «avtalen» <img src=x onerror=alert(1)>",
                        set(a.terms("velferdsteknologi avtale")), a)
    assert "<mark>Velferdsteknologien</mark>" in out
    assert "<mark>avtalen</mark>" in out
    assert "&lt;b&gt;" in out and "&amp;" in out and "&lt;img src=x onerror=alert(1)&gt;" in out
    assert tags(out) == {"mark"}


def test_highlight_without_terms_is_plain_escaped_text():
    assert app.highlight("a < b", set(), Analyzer()) == "a &lt; b"


@pytest.mark.parametrize("question", HOSTILE)
def test_render_question_escapes(question):
    out = app.render_question(question)
    assert out == html.escape(" ".join(question.split()))
    assert "<" not in out and ">" not in out


def test_card_contents(answering):
    answer = answering.ask("Hva sier avtalen om velferdsteknologi?")
    assert answer.answered
    body, targets = app.render_answer(answer, Analyzer(), first_ref=7)
    hit = answer.hits[0]
    doc = answer.documents[hit.clause.doc_id]
    assert "velferdsteknologi" in hit.clause.text
    assert html.escape(doc.title) in body and doc.date in body
    assert f"avsnitt {hit.clause.ordinal}" in body
    assert "Bærekraft og nye løsninger" in body  # section path
    assert "Dette står i avtalene:" in body and "<blockquote class='lead'>" in body
    assert "<mark>velferdsteknologi</mark>" in body
    band = "Høy" if hit.score >= 0.5 else "Middels" if hit.score >= 0.2 else "Lav"
    assert f"{band} relevans" in body and f"rel-fill rel-{round(hit.score * 10)}" in body  # the probability, not 1
    assert "class='show-doc ref-7'" in body and "Vis i dokumentet" in body
    assert len(targets) == len(answer.hits)
    assert targets[0] == [hit.clause.doc_id, hit.clause.start, hit.clause.end, hit.clause.ordinal]
    assert body.count("class='source-card'") == len(answer.hits)
    assert "Flere kilder (2)" in body  # five hits: three open, two folded
    assert_safe(body)


def test_english_question_gets_english_reply_texts(answering):
    answer = answering.ask("What does the agreement say about welfare technology?")
    body, _ = app.render_answer(answer, Analyzer())
    assert answer.language == "en"
    assert ("This is what the agreements say:" in body or "Several agreements answer this" in body)
    assert "Show in document" in body and "clause " in body


def test_out_of_scope_says_so_and_shows_related(fake_assistant):
    answer = fake_assistant.ask("Hvor mye koster en pizza i Oslo?")
    assert not answer.answered
    body, targets = app.render_answer(answer, Analyzer())
    assert "Avtalene sier ikke noe om dette." in body
    assert "Disse avsnittene ligner mest" in body
    assert "Mulig relatert" in body and "source-card related" in body
    assert "<blockquote" not in body and "Dette står i avtalene" not in body
    assert len(targets) == len(answer.hits)
    en = dataclasses.replace(answer, language="en")
    assert "The agreements do not say anything about this." in app.render_answer(en, Analyzer())[0]


def test_hostile_document_text_is_escaped_everywhere(answering, tmp_path):
    src = tmp_path / "farlig.md"
    src.write_text(
        "# Avtale om <script>alert('tittel')</script> nattevakt\n\n"
        "Nattevakt i hjemmetjenesten skal ha <img src=x onerror=alert(1)> og [lenke](javascript:alert(2)) "
        "samt \"><svg onload=alert(3)>.\n",
        encoding="utf-8",
    )
    answering.add_document(src)
    answer = answering.ask("nattevakt i hjemmetjenesten")
    assert answer.hits[0].clause.doc_id == "farlig"
    body, targets = app.render_answer(answer, Analyzer())
    assert "&lt;img src=x onerror=alert(1)&gt;" in body
    assert_safe(body)
    doc_html = app.render_document(answering.document("farlig"), *targets[0][1:3])
    assert "&lt;script&gt;" in doc_html and "&lt;img src=x" in doc_html
    assert_safe(doc_html)
    overview = app.render_documents(answering.documents())
    assert_safe(overview)
    assert_safe(app.render_summary(answering.documents()))


def test_render_document_marks_the_clause(answering):
    answer = answering.ask("velferdsteknologi")
    clause = answer.hits[0].clause
    doc = answering.document(clause.doc_id)
    out = app.render_document(doc, clause.start, clause.end, clause.ordinal)
    marked = re.search(r"<mark class='doc-target' id='doc-target'>(.*?)</mark>", out, re.S).group(1)
    assert html.unescape(marked) == clause.text
    assert f"avsnitt {clause.ordinal}" in out and html.escape(doc.title) in out
    # bad offsets show the document without a mark instead of failing
    assert "doc-target" not in app.render_document(doc, 10, 5)
    assert "doc-target" not in app.render_document(doc, 0, len(doc.text) + 1)


def test_render_documents_overview(answering):
    docs = answering.documents()
    out = app.render_documents(docs)
    for d in docs:
        assert html.escape(d["title"]) in out and d["date"] in out and f">{d['clauses']}<" in out
    assert "Ingen dokumenter" in app.render_documents([])
    assert "2 dokumenter (63 avsnitt)" in app.render_summary(docs)


# -- handlers --------------------------------------------------------------------------------

def test_ask_handler_updates_chat_state_and_export(handlers):
    chat, box, questions, targets, last, export, path, status = ask(handlers, "Hva sier avtalen om velferdsteknologi?")
    assert box == "" and status == ""
    assert [m["role"] for m in chat] == ["user", "assistant"]
    assert chat[0]["content"] == "Hva sier avtalen om velferdsteknologi?"
    assert "source-card" in chat[1]["content"]
    assert questions == ["Hva sier avtalen om velferdsteknologi?"]
    assert len(targets) == 5 and last["question"] == questions[0] and last["answered"] is True
    json.dumps(last)  # JSON-able
    assert export.startswith("Spørsmål: Hva sier avtalen om velferdsteknologi?") and "Kilder:" in export
    with open(path, encoding="utf-8") as f:
        assert f.read() == export
    # a second answer numbers its cards after the first one's
    chat2, _, questions2, targets2, *_ = ask(handlers, "Hvor lenge gjelder avtalen?", (chat, questions, targets, last))
    # a card per clause, and a «Vis i dokumentet» per agreement when the reply is grouped by agreement
    groups = handlers.assistant.ask("Hvor lenge gjelder avtalen?", history=questions).groups
    assert len(chat2) == 4 and len(targets2) == 10 + len(groups) and questions2[-1] == "Hvor lenge gjelder avtalen?"
    assert "show-doc ref-5" in chat2[3]["content"] and "show-doc ref-0" not in chat2[3]["content"]


def test_follow_up_passes_earlier_questions_as_history(handlers, monkeypatch):
    seen = []
    real = handlers.assistant.ask

    def spy(question, history=(), **scope):
        seen.append(list(history))
        return real(question, history=history, **scope)

    monkeypatch.setattr(handlers.assistant, "ask", spy)
    state = ask(handlers, "Hvor lenge gjelder kvalitetsavtalen?")
    chat, _, questions, targets, last = state[:5]
    ask(handlers, "og når utløper den?", (chat, questions, targets, last))
    assert seen == [[], ["Hvor lenge gjelder kvalitetsavtalen?"]]


@pytest.mark.parametrize("question", HOSTILE)
def test_ask_handler_escapes_hostile_questions(handlers, question):
    chat, *_ = ask(handlers, question)
    for message in chat:
        assert_safe(message["content"])
    assert chat[0]["content"] == html.escape(" ".join(question.split()))


@pytest.mark.parametrize("question, expected", [
    ("", "Spørsmålet er tomt"),
    ("   \n\t ", "Spørsmålet er tomt"),
    ("?!.,", "ingen ord å søke etter"),
    ("x" * 3000, "grensen er 2 000 tegn"),
    (None, "Spørsmålet er tomt"),  # an emptied textbox sends None
])
def test_question_errors_are_shown_in_the_chat(handlers, question, expected):
    chat, box, questions, targets, last, *_ = ask(handlers, question)
    assert expected in chat[-1]["content"] and "notice" in chat[-1]["content"]
    assert "Traceback" not in chat[-1]["content"]
    assert questions == [] and targets == [] and last is None
    assert [m["role"] for m in chat] == (["assistant"] if not (question or "").strip() else ["user", "assistant"])


def test_unexpected_error_shows_no_traceback(handlers, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(handlers.assistant, "ask", boom)
    chat, *_ = ask(handlers, "Hva sier avtalen?")
    assert "Noe gikk galt" in chat[-1]["content"] and "secret" not in chat[-1]["content"]


def test_open_ref_shows_the_clause_in_the_document(handlers):
    _, _, _, targets, *_ = ask(handlers, "Hva sier avtalen om velferdsteknologi?")
    out = handlers.open_ref("0", targets)
    assert "mark class='doc-target'" in out and "velferdsteknologi" in out
    for bad in ("", "abc", "99", None, "-100"):
        assert handlers.open_ref(bad, targets) == app.DOC_PLACEHOLDER
    assert "kan ikke vises" in handlers.open_document("finnes-ikke", 0, 1)


def test_feedback_is_written(handlers):
    assert "Still et spørsmål først" in handlers.feedback("up", None, "")[0]
    _, _, _, _, last, *_ = ask(handlers, "Hva sier avtalen om velferdsteknologi?")
    status, comment = handlers.feedback("up", last, "  Nyttig!  ")
    assert status.startswith("Takk") and comment == ""
    rows = handlers.assistant.feedback.votes()
    assert [r["vote"] for r in rows] == ["up"]
    assert rows[0]["question"] == "Hva sier avtalen om velferdsteknologi?" and rows[0]["comment"] == "Nyttig!"
    assert rows[0]["clauses"] and rows[0]["clauses"][0]["text"]
    handlers.feedback("down", last, "")  # a changed vote on the same answer replaces the first one
    rows = handlers.assistant.feedback.votes()
    assert [r["vote"] for r in rows] == ["down"] and rows[0]["comment"] == "Nyttig!"
    assert rows[0]["answer_id"] == last["answer_id"]


def test_upload_adds_a_document_and_a_bad_file_changes_nothing(handlers, tmp_path):
    before = handlers.documents()
    corpus = sorted(p.name for p in handlers.assistant.config.corpus_dir.iterdir())
    bad = tmp_path / "program.exe"
    bad.write_bytes(b"MZ\x00\x01")
    result = handlers.upload(str(bad), progress=lambda *a, **k: None)
    assert result["ok"] is False and "program.exe" in result["message"] and "\n" not in result["message"]
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 not really")
    result = handlers.upload(str(broken), progress=lambda *a, **k: None)
    assert result["ok"] is False and "broken.pdf" in result["message"]
    assert handlers.documents() == before
    assert sorted(p.name for p in handlers.assistant.config.corpus_dir.iterdir()) == corpus

    calls = []
    good = tmp_path / "Nattevakt i hjemmetjenesten.md"
    good.write_text("# Avtale om nattevakt\n\nNattevakt i hjemmetjenesten skal ha to ansatte på vakt.\n", encoding="utf-8")
    result = handlers.upload(str(good), progress=lambda frac, desc=None: calls.append((frac, desc)))
    assert result["ok"] is True and "er lagt til" in result["message"]
    assert result["document"]["file"] == "Nattevakt i hjemmetjenesten.md"
    assert len(result["documents"]) == len(before) + 1
    assert calls and all(0 <= f <= 1 for f, _ in calls)
    status, table, summary, emptied = handlers.after_upload(result)
    assert "✓" in status and "Avtale om nattevakt" in table and emptied is None
    assert "3 dokumenter" in summary
    status, *_ = handlers.after_upload({"ok": False, "message": "<b>nei</b>"})
    assert "&lt;b&gt;nei" in status and "⚠" in status


def test_upload_without_file(handlers):
    assert handlers.upload(None)["ok"] is False


def test_clear_resets_everything(handlers):
    out = handlers.clear()
    assert out[0] == [] and out[2] == [] and out[3] == [] and out[4] is None and out[8] == app.DOC_PLACEHOLDER
    assert out[9] == []  # the answers


def test_api_functions(handlers):
    import gradio as gr

    data = handlers.api_ask("Hva sier avtalen om velferdsteknologi?", [])
    json.dumps(data)
    assert data["answered"] is True and data["clauses"] and "Kilder:" in data["text"]
    with pytest.raises(gr.Error, match="tomt"):
        handlers.api_ask("  ")
    doc = handlers.api_document(data["clauses"][0]["doc"].rsplit(".", 1)[0])
    assert doc["text"] and doc["title"]
    with pytest.raises(gr.Error):
        handlers.api_document("finnes-ikke")
    assert handlers.api_feedback(data, "down", "")["ok"] is True
    with pytest.raises(gr.Error):
        handlers.api_feedback(data, "maybe", "")


# -- the app ---------------------------------------------------------------------------------

def test_build_app_loads_nothing_and_names_the_api(fake_assistant):
    demo = app.build_app(fake_assistant)
    assert fake_assistant._searcher is None  # no index loaded while building
    names = {fn.api_name for fn in demo.fns.values() if getattr(fn, "api_visibility", "public") == "public"}
    assert {"ask", "documents", "document", "feedback", "upload", "facts", "votes", "refresh", "remove"} <= names
    config = demo.get_config_file()
    ids = {c.get("props", {}).get("elem_id") for c in config["components"]}
    assert {"chat", "question", "ask-btn", "doc-view", "upload-file", "fb-up", "fb-down", "export-text", "facts-cards",
            "refresh-btn", "remove-doc", "remove-btn", "remove-yes", "remove-no", "compact", "share-out",
            "vote-trigger"} <= ids
    assert any(c.get("type") == "browserstate" for c in config["components"])  # the conversation survives reloads


@pytest.mark.parametrize("value, expected", [
    (None, None), ("", None), ("anne:hemmelig", ("anne", "hemmelig")), ("a:b:c", ("a", "b:c")),
    (("u", "p"), ("u", "p")),
])
def test_parse_auth(value, expected):
    assert app.parse_auth(value) == expected


@pytest.mark.parametrize("value", ["nocolon", ":pw", "user:"])
def test_parse_auth_rejects(value):
    from assistant.errors import ConfigError

    with pytest.raises(ConfigError):
        app.parse_auth(value)


def _file(path, data: bytes):
    path.write_bytes(data)
    return path


def _raised(fn, *args, **kwargs):
    from assistant.errors import AssistantError

    with pytest.raises(AssistantError) as err:
        fn(*args, **kwargs)
    return err.value


def _encrypted_pdf(path):
    from pypdf import PdfWriter

    w = PdfWriter()
    w.add_blank_page(100, 100)
    w.encrypt("hemmelig")
    with open(path, "wb") as f:
        w.write(f)
    return path


def _zip_bomb(path):
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/document.xml", b"\0" * 1_000_000)
    return path


@pytest.mark.parametrize("make,expected", [
    (lambda d: _raised(load_document, d / "x.exe"), "filtypen støttes ikke; bruk .txt, .md, .pdf, .docx eller .html."),
    (lambda d: _raised(load_document, _encrypted_pdf(d / "a.pdf")), "PDF-en er passordbeskyttet."),
    (lambda d: _raised(read_own_file, _file(d / "big.txt", b"x" * 2_500_000), max_bytes=2_000_000),
     "filen er 2.5 MB; grensen er 2 MB."),
    (lambda d: _raised(load_document, _zip_bomb(d / "bomb.docx")), "filen pakkes ut til 1 000 000 byte, for mye til å leses trygt."),
    (lambda d: _raised(load_document, _file(d / "e.txt", b"  \n")), "filen er tom."),
    (lambda d: _raised(load_document, _file(d / "b.txt", b"\0\1binary")), "filen ser ut som en binærfil, ikke tekst."),
    (lambda d: _raised(safe_filename, "....txt"), "filnavnet kan ikke brukes."),
    (lambda d: _raised(clean_question, "a" * 2500, 2000), "Spørsmålet er 2 500 tegn langt; grensen er 2 000 tegn. Gjør det kortere."),
    (lambda d: _raised(clean_question, " \x00 ", 2000), "Spørsmålet er tomt. Skriv et spørsmål om avtalene."),
    (lambda d: DocumentError("something entirely new"), "something entirely new"),
    (lambda d: DocumentError("a new one", "document.not_yet_translated", name="x"), "a new one"),
    (lambda d: DocumentError("too large", "document.too_large", size="wrong params"), "too large"),
], ids=["type", "password", "size", "zip-bomb", "empty", "binary", "name", "long-question", "empty-question",
        "no-code", "unknown-code", "bad-params"])
def test_errors_are_shown_in_bokmal_by_their_code(tmp_path, make, expected):
    """Raised by the library, said in bokmål by code and params; an unknown code in its English words."""
    error = make(tmp_path)
    assert app.document_error_text(error) == expected
    assert "\n" not in str(error) and str(error).isascii()  # the message itself stays one line of English


def test_reasons_kept_as_text_keep_their_code(tmp_path, fake_embedder):
    """A skipped file's reason passes through the build report as text and is still translated."""
    from assistant import Assistant, Config

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "ok.txt").write_text("Partene er enige om heltid.\n", encoding="utf-8")
    (corpus / "tom.txt").write_text("\n", encoding="utf-8")
    (tmp_path / "ute.txt").write_text("utenfor\n", encoding="utf-8")
    (corpus / "lenke.txt").symlink_to(tmp_path / "ute.txt")
    a = Assistant(Config(corpus_dir=corpus, index_dir=tmp_path / "idx", feedback_file=tmp_path / "fb.jsonl"),
                  embedder=fake_embedder)
    a.index()
    shown = {name: app.document_error_text(why) for name, why in a.skipped().items()}
    assert shown == {"tom.txt": "filen er tom.",
                     "lenke.txt": "filen er en lenke til noe utenfor dokumentmappen; lenker følges ikke."}


def test_browser_state_key_is_stable_and_private(tmp_path, monkeypatch):
    from assistant.web.layout import browser_secret

    first, second = browser_secret(tmp_path / "cache"), browser_secret(tmp_path / "cache")
    assert first and first == second  # the same key after a restart: the stored conversation stays readable
    key = tmp_path / "cache" / "browser-state.key"
    assert key.stat().st_mode & 0o077 == 0
