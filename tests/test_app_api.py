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


def test_twenty_concurrent_voters_each_vote_stored_once(client, app_assistant):
    """20 gradio_client users at once, each asking and voting (and sending its vote twice, as a retry would)."""
    import threading

    from gradio_client import Client

    url = client.src
    before = {v["answer_id"] for v in app_assistant.feedback.votes()}
    results, errors = {}, []
    start = threading.Barrier(20)

    def voter(n: int) -> None:
        try:
            c = Client(url, verbose=False)
            answer = c.predict(f"Hva sier avtalen om velferdsteknologi? ({n})", [], api_name="/ask")
            start.wait(timeout=60)  # all vote at the same moment
            vote = "up" if n % 2 else "down"
            first = c.predict(answer, vote, f"stemme {n}", api_name="/feedback")
            again = c.predict(answer, vote, f"stemme {n}", api_name="/feedback")
            assert first["ok"] and first["answer_id"] == again["answer_id"] == answer["answer_id"]
            results[n] = (answer["answer_id"], vote)
        except Exception as exc:  # noqa: BLE001 - any failure is a finding
            errors.append(f"{n}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=voter, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert errors == [] and len(results) == 20
    stored = [v for v in app_assistant.feedback.votes() if v["answer_id"] not in before]
    assert len(stored) == 20  # every vote once: none lost, none doubled
    assert {v["answer_id"]: v["vote"] for v in stored} == dict(results.values())
    assert {v["comment"] for v in stored} == {f"stemme {n}" for n in range(20)}
    listed = client.predict("down", api_name="/votes")
    assert {v["answer_id"] for v in listed} >= {a for a, vote in results.values() if vote == "down"}


def test_facts_refresh_and_remove_endpoints(client, app_assistant):
    facts = client.predict("avtale-kvalitet-helse-omsorg-2012-2015", api_name="/facts")
    by_row = {r["row"]: r for r in facts["rows"]}
    assert "31. desember 2015" in by_row["validity"]["quotes"][0]["text"]
    assert by_row["signed"]["quotes"][0]["text"] == "Oslo, 19. desember 2012"
    corpus = app_assistant.config.corpus_dir
    (corpus / "fjernes.md").write_text("# Avtale om fjerning\n\nDenne avtalen skal fjernes igjen.\n", encoding="utf-8")
    assert client.predict(api_name="/refresh")["added"] == ["fjernes"]
    result = client.predict("fjernes", api_name="/remove")
    assert result["ok"] and "fjernes" not in {d["doc_id"] for d in result["documents"]}
    assert (corpus / ".trash" / "fjernes.md").exists()
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="Kunne ikke fjerne"):
        client.predict("fjernes", api_name="/remove")
