"""The app's API through gradio_client, against the app served in-process with the real model."""

from __future__ import annotations

import shutil
import socket

import pytest

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_assistant(real_assistant, real_embedder, tmp_path_factory):
    """A copy of the session's real assistant (corpus and index), so that uploads stay in this module."""
    from assistant import Assistant

    base = tmp_path_factory.mktemp("app-api")
    src = real_assistant.config
    shutil.copytree(src.corpus_dir, base / "corpus")
    shutil.copytree(src.index_dir, base / "index")
    config = src.with_(corpus_dir=base / "corpus", index_dir=base / "index", feedback_file=base / "feedback.jsonl")
    assistant = Assistant(config, embedder=real_embedder)
    assistant.load(rebuild_if_needed=False)
    return assistant


@pytest.fixture(scope="module")
def client(app_assistant):
    from gradio_client import Client

    import app

    demo = app.build_app(app_assistant)
    port = free_port()
    demo.queue().launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    try:
        yield Client(f"http://127.0.0.1:{port}/", verbose=False)
    finally:
        demo.close()


def test_api_lists_the_named_endpoints(client):
    info = client.view_api(print_info=False, return_format="dict")
    named = set(info["named_endpoints"])
    assert {"/ask", "/documents", "/document", "/feedback", "/upload"} <= named
    assert not info["unnamed_endpoints"]


def test_ask(client):
    answer = client.predict("Hva sier avtalen om velferdsteknologi?", [], api_name="/ask")
    assert answer["answered"] is True and answer["language"] == "nb"
    assert "velferdsteknologi" in " ".join(answer["lead"])
    top = answer["clauses"][0]
    assert "velferdsteknologi" in top["text"] and top["doc"].endswith(".txt") and top["ordinal"] > 0
    assert {"title", "date", "section", "start", "end", "score"} <= set(top)
    assert answer["text"].startswith("Spørsmål: Hva sier avtalen om velferdsteknologi?")


def test_ask_follow_up_and_out_of_scope(client):
    follow = client.predict("og når utløper den?", ["Hvor lenge gjelder kvalitetsavtalen?"], api_name="/ask")
    assert follow["search_query"] != follow["question"]  # searched with the earlier question's document
    none = client.predict("Hvor mye koster en pizza i Oslo?", [], api_name="/ask")
    assert none["answered"] is False and none["lead"] == [] and none["clauses"]
    assert "Avtalene sier ikke noe om dette." in none["text"]


def test_ask_error_is_one_line(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="Spørsmålet er tomt"):
        client.predict("   ", [], api_name="/ask")


def test_documents_and_document(client):
    docs = client.predict(api_name="/documents")
    assert len(docs) >= 2 and all({"doc_id", "title", "date", "clauses", "file"} <= set(d) for d in docs)
    doc = client.predict(docs[0]["doc_id"], api_name="/document")
    assert doc["title"] == docs[0]["title"] and len(doc["text"]) > 100


def test_feedback(client, app_assistant):
    answer = client.predict("Hva sier avtalen om velferdsteknologi?", [], api_name="/ask")
    assert client.predict(answer, "up", "fint", api_name="/feedback")["ok"] is True
    rows = app_assistant.feedback.votes()
    assert rows[0]["vote"] == "up" and rows[0]["comment"] == "fint" and rows[0]["question"] == answer["question"]
    assert rows[0]["answer_id"] == answer["answer_id"]


def test_upload_then_ask(client, tmp_path):
    from gradio_client import handle_file

    bad = tmp_path / "notater.exe"
    bad.write_bytes(b"MZ")
    result = client.predict(handle_file(str(bad)), api_name="/upload")
    assert result["ok"] is False and "notater.exe" in result["message"]

    src = tmp_path / "Turnusavtale for nattevakt.md"
    src.write_text(
        "# Turnusavtale for nattevakt\n\n"
        "Nattevakt i hjemmetjenesten skal alltid bemannes med minst to ansatte, og turnusen "
        "skal settes opp i samråd med de tillitsvalgte.\n",
        encoding="utf-8",
    )
    result = client.predict(handle_file(str(src)), api_name="/upload")
    assert result["ok"] is True, result["message"]
    assert result["document"]["file"] == "Turnusavtale for nattevakt.md"
    assert any(d["title"] == "Turnusavtale for nattevakt" for d in client.predict(api_name="/documents"))
    answer = client.predict("Hvor mange skal ha nattevakt i hjemmetjenesten?", [], api_name="/ask")
    assert answer["clauses"][0]["doc"] == "Turnusavtale for nattevakt.md"
    assert "minst to ansatte" in answer["clauses"][0]["text"]
