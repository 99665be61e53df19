"""Bad input: hostile or broken questions, documents and file names (issue 5).

Every case ends in a one-line AssistantError or a normal answer, never a traceback, and a
rejected document changes nothing: same manifest, same clauses, still answerable.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from assistant import Assistant, AssistantError, Config, DocumentError, QuestionError
from assistant.core import clean_question, safe_filename
from assistant.index import MANIFEST, build_index, load_index
from assistant.loaders import load_document
from tests.conftest import ROOT, FakeEmbedder

# -- questions ---------------------------------------------------------------------------

REJECTED = {
    "empty": "",
    "whitespace": " \t\n\r\u00a0\u3000 ",
    "too long": "heltid " * 15_000,  # 105,000 characters
    "only controls": "\x00\x01\x07\x1b\x7f\x9b\x85",
    "only emoji": "😀🎉👍🏽",
    "only punctuation": "?!.,;:-–«»<>/\\",
    "lone surrogates": "\ud800\udfff",
    "zero-width only": "\u200b\u200d\u2060\ufeff",
}
ANSWERED = {
    "NUL inside": "Hva sier avtalen om\x00 heltid?",
    "ANSI escape": "\x1b[31mheltid\x1b[0m i kommunene",
    "Cyrillic": "Что говорит соглашение о здоровье?",
    "Arabic": "ماذا تقول الاتفاقية عن الصحة؟",
    "CJK": "协议关于医疗保健说了什么？ 協定",
    "mixed scripts": "heltid Что 協定 الصحة ÆØÅ",
    "emoji with words": "Hva sier avtalen om heltid? 🤔👍",
    "html/js": "<img src=x onerror=alert(1)><script>alert('x')</script> heltid",
    "markdown injection": "[klikk](javascript:alert(1)) ![x](http://evil/x.png) **heltid** # Overskrift\n| a | b |",
    "sql-ish": "heltid'; DROP TABLE clauses; --",
    "template": "{{7*7}} ${jndi:ldap://x} %s %n heltid",
    "right-to-left override": "\u202eheltid\u202c kvalitet",
    "surrogate with words": "\udcff\udcfe heltid",
    "combining marks": "he\u0301ltid" + "\u0301" * 500,
    "at the limit": ("heltid " * 400)[:2000],
    "one letter": "a",
    "digits": "2015",
}


@pytest.mark.parametrize("question", REJECTED.values(), ids=REJECTED.keys())
def test_bad_question_gives_a_clear_question_error(fake_assistant, question):
    with pytest.raises(QuestionError) as err:
        fake_assistant.ask(question)
    message = str(err.value)
    assert message and "\n" not in message and len(message) < 200
    with pytest.raises(QuestionError):
        fake_assistant.retrieve(question)


@pytest.mark.parametrize("question", ANSWERED.values(), ids=ANSWERED.keys())
def test_odd_question_gets_a_normal_answer(fake_assistant, question):
    answer = fake_assistant.ask(question, history=["Hva sier avtalen om heltid?"])
    data = answer.to_json()
    text = json.dumps(data, ensure_ascii=False)
    text.encode("utf-8")  # strict: no lone surrogates reach the output
    assert "\x00" not in data["question"] and "\x1b" not in data["question"]
    assert isinstance(data["answered"], bool)
    for clause in data["clauses"]:
        doc = fake_assistant.document(Path(clause["doc"]).stem)
        assert doc.text[clause["start"]:clause["end"]] == clause["text"]


def test_non_text_question_is_rejected(fake_assistant):
    for bad in (None, 42, b"heltid", ["heltid"]):
        with pytest.raises(QuestionError, match="must be text"):
            fake_assistant.ask(bad)


HOSTILE_HISTORY = [None, "", "\x00", "😀", "a" * 100_000, 7, "\ud800", b"heltid", ["liste"], {"q": 1}]


def test_hostile_history_is_ignored_not_fatal(fake_assistant):
    """History entries that are not questions change nothing: the answer is the one without
    history, whichever of them comes last. A real question among them is still followed up."""
    question = "og når utløper den?"
    alone = fake_assistant.ask(question)
    for last in range(len(HOSTILE_HISTORY)):
        history = HOSTILE_HISTORY[: last + 1]
        assert fake_assistant.ask(question, history=history).to_json() == alone.to_json(), repr(history[-1])[:40]
    assert {h.clause.doc_id for h in alone.hits} != {"ks-leve-hele-livet-2018"}  # else the follow-up below shows nothing

    earlier = "Hva er målet med Leve hele livet?"
    followed = fake_assistant.ask(question, history=[earlier])
    assert followed.follow_up and {h.clause.doc_id for h in followed.hits} == {"ks-leve-hele-livet-2018"}
    among_hostile = fake_assistant.ask(question, history=[*HOSTILE_HISTORY, earlier])
    assert among_hostile.to_json() == followed.to_json()


def test_clean_question_removes_controls_and_surrogates():
    assert clean_question("  hei\x00\u200b der\ud800 ", 100) == "hei der"


# -- the command line --------------------------------------------------------------------


@pytest.fixture
def cli(monkeypatch, corpus_dir, tmp_path):
    """Run assistant.cli.main in-process with the fake embedder; returns (code, stdout, stderr)."""
    import assistant.core
    from assistant import cli as cli_module

    monkeypatch.setattr(assistant.core, "load_embedder", lambda *a, **k: FakeEmbedder())
    monkeypatch.delenv("ASSISTANT_DEBUG", raising=False)

    def run(*argv, capsys=None):
        args = ["--corpus", str(corpus_dir), "--index", str(tmp_path / "cli-index")]
        code = cli_module.main([argv[0], *args, *argv[1:]])
        return code

    return run


@pytest.mark.parametrize("question", ["", "   ", "\x00\x01", "😀", "x" * 100_000], ids=["empty", "blank", "controls", "emoji", "huge"])
def test_cli_bad_question_prints_one_error_line(cli, capsys, question):
    code = cli("ask", "--", question)
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err


@pytest.mark.parametrize("question", ["<img src=x onerror=alert(1)>", "Что говорит соглашение?", "heltid \udcff 😀"])
def test_cli_odd_question_answers(cli, capsys, question):
    assert cli("index") == 0  # `ask` reads an index, never builds one
    capsys.readouterr()
    code = cli("ask", "--json", "--", question)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "question" in json.loads(out)


def test_cli_unexpected_failure_is_one_line(cli, capsys, monkeypatch):
    import assistant.core

    def boom(*a, **k):
        raise RuntimeError("simulated\nfailure")

    monkeypatch.setattr(assistant.core.Assistant, "ask", boom)
    code = cli("ask", "heltid")
    _, err = capsys.readouterr()
    assert code == 1 and err.count("\n") == 1 and err.startswith("error: unexpected RuntimeError")


def test_cli_subprocess_empty_question(tmp_path):
    """The real entry point, once: no model is loaded for a question that is rejected first."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ASSISTANT_INDEX": str(tmp_path / "idx")}
    proc = subprocess.run([sys.executable, "-m", "assistant", "ask", " \t "], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("error: the question is empty") and proc.stderr.count("\n") == 1


# -- documents ---------------------------------------------------------------------------


def _pdf_with_text(text: str) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    y = 800
    for line in text.splitlines():
        c.drawString(50, y, line)
        y -= 16
    c.save()
    return buf.getvalue()


def _encrypted_pdf(user_password: str = "hemmelig") -> bytes:
    """RC4: pypdf decrypts it without the optional `cryptography` package (AES needs it)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_pdf_with_text("Hemmelig avtale om heltid."))))
    writer.encrypt(user_password=user_password, owner_password="eier", algorithm="RC4-128")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def _zip_bomb(member_bytes: int = 60 * 1024 * 1024) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        with zf.open("word/document.xml", "w", force_zip64=True) as f:
            chunk = b"\0" * (1 << 20)
            for _ in range(member_bytes // len(chunk)):
                f.write(chunk)
    return buf.getvalue()


BAD_DOCUMENTS = {
    "empty.txt": (b"", "is empty"),
    "blank.md": (b" \n\t\n", "is empty"),
    "only-bom.txt": (b"\xef\xbb\xbf", "is empty"),
    "binary.txt": (bytes(range(256)) * 40, "binary"),
    "elf.txt": (b"\x7fELF\x02\x01\x01\x00" + os.urandom(4000), "binary"),
    "random.txt": (bytes((b % 95) + 0x80 for b in os.urandom(30_000)) + b"\x81\x8d", "not UTF-8"),
    "corrupt.pdf": (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer <<>>\n%%EOF", "PDF"),
    "not-really.pdf": (b"Hei, dette er ikke en PDF.\n", "PDF"),
    "truncated.pdf": (None, "PDF"),  # filled in below: a real PDF cut in half
    "encrypted.pdf": (None, "password-protected"),
    "scanned.pdf": (None, "no extractable text"),
    "bomb.docx": (None, "too large to read safely"),
    "not-a-zip.docx": (b"PK\x03\x04 but not really a zip", "not a valid .docx"),
    "empty-zip.docx": (None, "not a readable .docx"),
    "script-only.html": (b"<html><script>alert(1)</script><style>p{}</style></html>", "has no text"),
}


def _bad_document_bytes(name: str) -> bytes:
    raw, _ = BAD_DOCUMENTS[name]
    if raw is not None:
        return raw
    if name == "truncated.pdf":
        full = _pdf_with_text("Avtale om heltid.\nPartene er enige.")
        return full[: len(full) // 2]
    if name == "encrypted.pdf":
        return _encrypted_pdf()
    if name == "scanned.pdf":
        from pypdf import PdfWriter

        writer = PdfWriter()
        writer.add_blank_page(595, 842)
        buf = io.BytesIO()
        writer.write(buf)
        return buf.getvalue()
    if name == "bomb.docx":
        return _zip_bomb()
    if name == "empty-zip.docx":
        buf = io.BytesIO()
        zipfile.ZipFile(buf, "w").close()
        return buf.getvalue()
    raise KeyError(name)


@pytest.fixture
def indexed(fake_assistant):
    """The fake assistant with its index built; returns (assistant, snapshot function)."""
    fake_assistant.index()

    def snapshot():
        index_dir = fake_assistant.config.index_dir
        return ((index_dir / MANIFEST).read_bytes(), sorted(p.name for p in index_dir.iterdir()),
                sorted(p.name for p in fake_assistant.config.corpus_dir.iterdir()),
                len(fake_assistant.data.clauses))

    return fake_assistant, snapshot


def _still_answers(assistant: Assistant) -> None:
    answer = assistant.ask("Hvor lenge gjelder kvalitetsavtalen?")
    assert answer.hits
    assert len(load_index(assistant.config.index_dir).clauses) == len(assistant.data.clauses)


@pytest.mark.parametrize("name", BAD_DOCUMENTS)
def test_bad_upload_is_rejected_and_changes_nothing(indexed, tmp_path, name):
    assistant, snapshot = indexed
    src = tmp_path / "uploads" / name
    src.parent.mkdir(exist_ok=True)
    src.write_bytes(_bad_document_bytes(name))
    before = snapshot()
    with pytest.raises(DocumentError, match=BAD_DOCUMENTS[name][1]) as err:
        assistant.add_document(src)
    assert "\n" not in str(err.value)
    assert snapshot() == before
    _still_answers(assistant)


def test_bad_files_in_the_folder_are_skipped_with_reasons(corpus_dir, tmp_path, fake_embedder):
    data0, _ = build_index(corpus_dir, tmp_path / "idx", fake_embedder)
    for name in BAD_DOCUMENTS:
        (corpus_dir / name).write_bytes(_bad_document_bytes(name))
    data, report = build_index(corpus_dir, tmp_path / "idx", fake_embedder)
    assert sorted(report.skipped) == sorted(BAD_DOCUMENTS)
    for name, (_, reason) in BAD_DOCUMENTS.items():
        assert reason in report.skipped[name], (name, report.skipped[name])
    assert [c.clause_id for c in data.clauses] == [c.clause_id for c in data0.clauses]
    assert report.embedded_clauses == 0 and not report.changed


def test_oversized_file_is_rejected_before_reading(indexed, tmp_path):
    assistant, snapshot = indexed
    small = Assistant(assistant.config.with_(max_file_bytes=1000), embedder=assistant.embedder)
    small.index()
    src = tmp_path / "stor.txt"
    src.write_text("Partene er enige om heltid. " * 100, encoding="utf-8")
    before = snapshot()
    with pytest.raises(DocumentError, match=r"stor.txt is 0.0 MB; the limit is 0 MB"):
        small.add_document(src)
    assert snapshot() == before
    # dropped in the folder: skipped, the rest indexed
    (assistant.config.corpus_dir / "stor.txt").write_bytes(src.read_bytes())
    _, report = build_index(assistant.config.corpus_dir, tmp_path / "idx2", assistant.embedder, max_file_bytes=1000)
    assert "limit" in report.skipped["stor.txt"]


@pytest.mark.parametrize("name", ["program.exe", "arkiv.zip", "bilde.png", "noext", "skript.sh", "x.txt.exe", "data.json"])
def test_unsupported_type_is_rejected_clearly(indexed, tmp_path, name):
    assistant, snapshot = indexed
    src = tmp_path / name
    src.write_text("Partene er enige om heltid.\n", encoding="utf-8")
    before = snapshot()
    with pytest.raises(DocumentError, match=r"unsupported file type|has no file type") as err:
        assistant.add_document(src)
    assert ".txt" in str(err.value)  # names what is supported
    assert snapshot() == before
    with pytest.raises(DocumentError, match="unsupported file type"):
        load_document(src)


def test_legacy_encodings_load_correctly(tmp_path):
    cases = {
        "latin1.txt": ("Oppskrift på blåbærsyltetøy.\n", "latin-1"),
        "cp1252.txt": ("Avtale om «blåbærsyltetøy» – ÆØÅ æøå – 5 €.\n", "cp1252"),
        "utf16.txt": ("Avtale om blåbærsyltetøy.\n", "utf-16"),
        "utf8-bom.md": ("# Blåbærsyltetøy\n\nPå Røros.\n", "utf-8-sig"),
        "cyrillic.txt": ("Соглашение о качестве медицинской помощи в муниципалитетах.\n", "cp1251"),
    }
    for name, (text, encoding) in cases.items():
        (tmp_path / name).write_bytes(text.encode(encoding))
        assert load_document(tmp_path / name).text == text, name


def test_pdf_uploads_that_should_work(indexed, tmp_path):
    assistant, _ = indexed
    (tmp_path / "tekst.pdf").write_bytes(_pdf_with_text("Avtale om lesbar PDF\nPartene er enige om kaffe."))
    (tmp_path / "eierpassord.pdf").write_bytes(_encrypted_pdf(user_password=""))  # opens without a password
    assert assistant.add_document(tmp_path / "tekst.pdf").added == ["tekst"]
    assert assistant.add_document(tmp_path / "eierpassord.pdf").added == ["eierpassord"]
    assert "Hemmelig avtale" in assistant.document("eierpassord").text


def test_html_document_loads(tmp_path):
    (tmp_path / "side.html").write_text(
        "<html><head><title>Avtale</title><script>alert(1)</script></head><body><h1>Heltid</h1>"
        "<p>Partene er enige om <b>heltid</b>.</p><ul><li>Ett</li><li>To</li></ul></body></html>", encoding="utf-8")
    doc = load_document(tmp_path / "side.html")
    assert doc.title == "Avtale"
    assert "# Heltid" in doc.text and "- Ett\n- To" in doc.text and "heltid" in doc.text
    assert "alert" not in doc.text


def test_latin1_upload_is_searchable(indexed, tmp_path):
    assistant, _ = indexed
    src = tmp_path / "syltetoy.txt"
    src.write_bytes("Avtale om blåbærsyltetøy\n\nPartene skal servere blåbærsyltetøy på sykehjem.\n".encode("latin-1"))
    report = assistant.add_document(src)
    assert report.added == ["syltetoy"]
    answer = assistant.ask("blåbærsyltetøy")
    assert answer.hits[0].clause.doc_id == "syltetoy"
    assert "blåbærsyltetøy" in answer.hits[0].clause.text


# -- file names --------------------------------------------------------------------------

TRAVERSAL = [
    "../../x.txt", "../x.txt", "..\\..\\x.txt", "/etc/x.txt", "/tmp/../../x.txt", "C:\\Windows\\x.txt",
    "x\x00.txt", "a/b/../../../x.txt", ".x.txt", "....txt", "x.txt\n", " x .txt", "~/x.txt",
    "%2e%2e%2fx.txt", "x" * 300 + ".txt", "con.txt", "x\u202etxt.exe",
]


@pytest.mark.parametrize("name", TRAVERSAL)
def test_hostile_file_name_never_escapes_the_corpus(indexed, tmp_path, name):
    assistant, snapshot = indexed
    corpus = assistant.config.corpus_dir.resolve()
    src = tmp_path / "upload.bin"
    src.write_text("Avtale om hemmelige ting\n\nPartene er enige om hemmelighold.\n", encoding="utf-8")
    index_dir = assistant.config.index_dir.resolve()

    def outside():
        files = [*tmp_path.rglob("*"), *tmp_path.parent.iterdir()]
        return sorted({str(p) for p in files if corpus not in p.resolve().parents and index_dir not in p.resolve().parents})

    outside_before = outside()
    before = snapshot()
    try:
        report = assistant.add_document(src, name=name)
    except DocumentError as exc:
        assert "\n" not in str(exc)
        assert snapshot() == before
    else:
        (stored,) = report.added
        path = corpus / assistant.document(stored).file
        assert path.is_file() and path.parent == corpus
        assert not path.name.startswith(".") and "\x00" not in path.name and len(path.name) <= 130
    assert outside() == outside_before
    assert not Path("/etc/x.txt").exists() and not Path("/tmp/x.txt").exists()
    assert not list(corpus.glob(".upload-*"))
    _still_answers(assistant)


def test_safe_filename_examples():
    assert safe_filename("../../x.txt") == "x.txt"
    assert safe_filename("..\\..\\x.TXT") == "x.txt"
    assert safe_filename("/etc/x.txt") == "x.txt"
    assert safe_filename("x\x00y.md") == "x-y.md"
    assert safe_filename(".skjult.txt") == "skjult.txt"
    for bad in ("", "..", "....txt", "noext", "/"):
        with pytest.raises(DocumentError):
            safe_filename(bad)


def test_upload_with_the_name_of_another_document_is_refused(indexed, tmp_path):
    """x.md beside x.txt would silently replace x.txt's clauses (documents are keyed by stem)."""
    assistant, snapshot = indexed
    src = tmp_path / "ks-leve-hele-livet-2018.md"
    src.write_text("# Noe helt annet\n\nPartene er enige om ingenting.\n", encoding="utf-8")
    before = snapshot()
    with pytest.raises(DocumentError, match="already exists"):
        assistant.add_document(src)
    assert snapshot() == before
    assert assistant.document("ks-leve-hele-livet-2018").file == "ks-leve-hele-livet-2018.txt"


def test_upload_of_a_missing_source_is_a_document_error(indexed, tmp_path):
    assistant, snapshot = indexed
    before = snapshot()
    with pytest.raises(DocumentError, match="not a readable file"):
        assistant.add_document(tmp_path / "finnes-ikke.txt")
    with pytest.raises(DocumentError):
        assistant.add_document(tmp_path)  # a folder
    assert snapshot() == before


def test_replacing_a_document_with_a_bad_version_keeps_the_old_one(indexed, tmp_path):
    assistant, snapshot = indexed
    src = tmp_path / "ks-leve-hele-livet-2018.txt"
    src.write_bytes(b"\x00\x01\x02 binary")
    before = snapshot()
    original = (assistant.config.corpus_dir / src.name).read_bytes()
    with pytest.raises(DocumentError, match="binary"):
        assistant.add_document(src)
    assert snapshot() == before
    assert (assistant.config.corpus_dir / src.name).read_bytes() == original


def test_errors_are_assistant_errors():
    assert issubclass(QuestionError, AssistantError) and issubclass(DocumentError, AssistantError)
    assert Config().max_question_chars < 100_000
