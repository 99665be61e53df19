"""Facts cards, the live corpus (refresh, sync, remove) and the web handlers over them (fake embedder)."""

from __future__ import annotations

import json
import re

import pytest

import app
from assistant import Assistant
from assistant.errors import DocumentError
from assistant.facts import FACTS_FILE, is_overview_question
from assistant.loaders import list_documents

KVALITET = "avtale-kvalitet-helse-omsorg-2012-2015"
LEVE = "ks-leve-hele-livet-2018"


@pytest.fixture
def answering(fake_assistant, fake_embedder):
    """Abstention off: the fake embedder's cosines never pass the real rule."""
    return Assistant(fake_assistant.config.with_(abstain_threshold=0.0), embedder=fake_embedder)


def rows(assistant, doc_id) -> dict:
    return {r["row"]: r["quotes"] for r in assistant.facts(doc_id)}


def test_facts_from_structure_and_retrieval_are_quotes(answering):
    answering.index()
    facts = rows(answering, KVALITET)
    assert [q["text"] for q in facts["signed"]] == ["Oslo, 19. desember 2012"]
    assert [q["text"] for q in facts["signatories"]] == ["Jonas Gahr Støre – Helse- og omsorgsminister",
                                                         "Gunn Marit Helgesen – Styreleder KS"]
    assert facts["parties"][0]["text"].startswith("AVTALE MELLOM REGJERINGEN OG KS")
    assert [q["heading"] for q in facts["commitments"]] == ["Bærekraft og nye løsninger", "Tjenesteutvikling",
                                                            "Personell og kompetanse"]
    doc = answering.document(KVALITET)
    for quotes in facts.values():  # every row quotes its clause: the text lies inside [start, end)
        for q in quotes:
            clause = doc.text[q["start"]:q["end"]]
            assert " ".join(q["text"].split(" – ")) in " ".join(clause.split()) or q["text"] in clause
    # the seed news article has no signature block; its first sentence names who signed
    leve = rows(answering, LEVE)
    assert "signatories" not in leve
    assert leve["parties"][0]["text"].startswith("KS og regjeringen undertegnet fredag 29. juni en avtale")


def test_rows_need_the_document_to_answer(fake_assistant):
    """With the real abstention rule, the fake embedder's weak matches give no retrieval rows: only structure."""
    fake_assistant.index()
    facts = rows(fake_assistant, KVALITET)
    assert {"signed", "signatories", "commitments", "parties"} <= set(facts)
    strict = Assistant(fake_assistant.config.with_(abstain_threshold=1.0), embedder=fake_assistant.embedder)
    assert not {"validity", "termination", "purpose"} & set(rows(strict, KVALITET))


def test_facts_file_is_keyed_to_the_index_and_reused(answering, fake_embedder):
    answering.index()
    path = answering.config.index_dir / FACTS_FILE
    stored = json.loads(path.read_text(encoding="utf-8"))
    manifest = json.loads((answering.config.index_dir / "manifest.json").read_text(encoding="utf-8"))
    assert stored["manifest"] == manifest["checksum"] and set(stored["documents"]) == {KVALITET, LEVE}
    calls = fake_embedder.calls
    fresh = Assistant(answering.config, embedder=fake_embedder)
    assert fresh.facts(KVALITET) == answering.facts(KVALITET)
    assert fake_embedder.calls == calls  # read from the file, nothing computed
    (answering.config.corpus_dir / "ny.md").write_text("# Ny avtale\n\nAvtalen gjelder fra 2025 til 2027.\n", "utf-8")
    answering.index()
    again = json.loads(path.read_text(encoding="utf-8"))
    assert again["manifest"] != stored["manifest"] and set(again["documents"]) == {KVALITET, LEVE, "ny"}
    assert again["documents"][KVALITET] == stored["documents"][KVALITET]  # unchanged documents reused


def test_remove_document_moves_the_file_to_trash(answering):
    answering.index()
    corpus = answering.config.corpus_dir
    report = answering.remove_document(LEVE)
    assert report.removed == [LEVE]
    assert not (corpus / f"{LEVE}.txt").exists() and not (corpus / f"{LEVE}.meta.json").exists()
    assert (corpus / ".trash" / f"{LEVE}.txt").exists() and (corpus / ".trash" / f"{LEVE}.meta.json").exists()
    assert LEVE not in answering.data.documents and all(c.doc_id != LEVE for c in answering.data.clauses)
    assert [p.name for p in list_documents(corpus)] == [f"{KVALITET}.txt"]  # the hidden .trash folder is ignored
    assert LEVE not in Assistant(answering.config, embedder=answering.embedder).data.documents  # and on disk
    with pytest.raises(DocumentError):
        answering.remove_document(LEVE)
    # the same name again later: the earlier copy in the trash is kept
    (corpus / f"{LEVE}.txt").write_text("Ny versjon av Leve hele livet.\n", encoding="utf-8")
    answering.refresh()
    answering.remove_document(LEVE)
    assert len(list((corpus / ".trash").glob(f"{LEVE}*.txt"))) == 2


def test_refresh_and_sync_pick_up_changes_from_elsewhere(answering, fake_embedder):
    answering.index()
    corpus = answering.config.corpus_dir
    (corpus / "nattevakt.md").write_text("# Nattevakt\n\n## Bemanning\n\nNattevakt skal bemannes med to ansatte.\n", "utf-8")
    assert answering.refresh().added == ["nattevakt"]
    assert rows(answering, "nattevakt")["commitments"][0]["text"] == "Nattevakt skal bemannes med to ansatte."
    (corpus / "nattevakt.md").write_text("# Nattevakt\n\n## Bemanning\n\nNattevakt skal bemannes med tre ansatte.\n", "utf-8")
    (corpus / f"{LEVE}.txt").unlink()
    other = Assistant(answering.config, embedder=fake_embedder)  # `assistant index` in another process
    report = other.index()
    assert report.updated == ["nattevakt"] and report.removed == [LEVE]
    assert LEVE in answering.data.documents  # not yet seen ...
    assert answering.sync() is True  # ... until the next question or «Oppdater»
    assert LEVE not in answering.data.documents
    assert "tre ansatte" in answering.document("nattevakt").text
    assert rows(answering, "nattevakt")["commitments"][0]["text"] == "Nattevakt skal bemannes med tre ansatte."
    assert answering.sync() is False
    assert answering.refresh().changed is False


@pytest.mark.parametrize("question", ["Hva er denne avtalen?", "Hva handler avtalen om?", "Hva handler kvalitetsavtalen om?",
                                      "Kva er Leve hele livet-avtalen?", "What is this agreement about?",
                                      "Gi meg en oversikt over avtalen", "hva går avtalen ut på"])
def test_overview_questions(question):
    assert is_overview_question(question)


@pytest.mark.parametrize("question", ["Hva er formålet med avtalen?", "Hva sier avtalen om heltid?",
                                      "Hvor lenge gjelder avtalen?", "Kva er målet med Leve hele livet?",
                                      "Hva er velferdsteknologi?", "Hvem har signert avtalen?"])
def test_not_overview_questions(question):
    assert not is_overview_question(question)


# -- the web handlers ------------------------------------------------------------------------

@pytest.fixture
def handlers(answering, tmp_path):
    return app.Handlers(answering, export_dir=tmp_path / "export")


def test_overview_question_replies_with_the_named_documents_card(handlers):
    chat, _, questions, targets, last, export, _, _, answers = handlers.ask(
        "Hva handler kvalitetsavtalen om?", [], [], [], None, [])
    body = chat[-1]["content"]
    assert f"facts-for-{KVALITET}" in body and f"facts-for-{LEVE}" not in body
    assert "Avtalen i korte trekk" in body and "Oslo, 19. desember 2012" in body
    assert last["kind"] == "facts" and last["clauses"] and answers == [last] and questions == ["Hva handler kvalitetsavtalen om?"]
    assert export.startswith("Avtalen i korte trekk:")
    refs = [int(n) for n in re.findall(r"show-doc ref-(\d+)", body)]
    assert refs == list(range(len(targets)))
    assert "doc-target" in handlers.open_ref(str(refs[-1]), targets)
    # «denne avtalen» after an answer from the other document: that document's card
    state = handlers.ask("Hva er målet med Leve hele livet?", chat, questions, targets, last, answers)
    chat, _, questions, targets, last, _, _, _, answers = state
    assert Path_stem(last["clauses"][0]["doc"]) == LEVE
    chat, *_ = handlers.ask("Hva er denne avtalen?", chat, questions, targets, last, answers)
    assert f"facts-for-{LEVE}" in chat[-1]["content"] and f"facts-for-{KVALITET}" not in chat[-1]["content"]


def Path_stem(name: str) -> str:
    return name.rsplit(".", 1)[0]


def test_votes_on_two_answers_and_the_marks_in_the_chat(handlers):
    state = handlers.ask("Hva sier avtalen om velferdsteknologi?", [], [], [], None, [])
    chat, _, questions, targets, last, _, _, _, answers = state
    chat, _, questions, targets, last, _, _, _, answers = handlers.ask(
        "Hvor lenge gjelder avtalen?", chat, questions, targets, last, answers)
    status, chat2, comment = handlers.vote("up:0", answers, chat, "presist")
    assert status.startswith("Takk") and comment == ""
    assert "vote-up ans-0 voted" in chat2[1]["content"] and "voted" not in chat2[3]["content"]
    status, chat3, _ = handlers.vote("down:1", answers, chat2, "")
    assert "vote-down ans-1 voted" in chat3[3]["content"] and "vote-up ans-0 voted" in chat3[1]["content"]
    votes = {v["question"]: v for v in handlers.assistant.feedback.votes()}
    assert votes["Hva sier avtalen om velferdsteknologi?"]["vote"] == "up"
    assert votes["Hva sier avtalen om velferdsteknologi?"]["comment"] == "presist"
    assert votes["Hvor lenge gjelder avtalen?"]["vote"] == "down"
    assert "Still et spørsmål først" in handlers.vote("up:-1", [], [], "")[0]
    for bad in ("up:7", "sideways:0", "", None):
        assert "Fant ikke svaret" in handlers.vote(bad, answers, chat, "")[0]


def test_start_restores_the_conversation_and_follows_links(handlers):
    chat, _, questions, targets, last, _, _, _, answers = handlers.ask("Hva sier avtalen om heltid?", [], [], [], None, [])
    stored = json.loads(json.dumps(handlers.save(chat, questions, targets, answers)))  # as the browser keeps it

    class Request:
        query_params = {"q": "og når utløper den?", "doc": KVALITET, "avsnitt": "47"}

    out = handlers.start(stored, Request())
    chat2, questions2, targets2, last2, answers2, doc_view = out[:6]
    assert questions2 == ["Hva sier avtalen om heltid?", "og når utløper den?"] and len(answers2) == 2
    assert chat2[:2] == chat and last2["question"] == "og når utløper den?"
    assert "Avtalen gjelder frem til 31. desember 2015" in re.search(r"<mark class='doc-target'[^>]*>(.*?)</mark>",
                                                                      doc_view, re.S).group(1)
    # a damaged or foreign stored value starts an empty conversation
    for junk in (None, "x", {"chat": "nope", "questions": 3}):
        assert handlers.start(junk, None)[:5] == ([], [], [], None, [])

    class Bad:
        query_params = {"doc": "finnes-ikke", "avsnitt": "x"}

    assert "ikke finnes her" in handlers.start(None, Bad())[5]


def test_refresh_and_remove_handlers(handlers):
    corpus = handlers.assistant.config.corpus_dir
    handlers.assistant.index()
    assert handlers.refresh(progress=None)["message"] == "Ingen endringer i dokumentmappen."
    (corpus / "ny.md").write_text("# Ny avtale om brøyting\n\nKommunen brøyter før klokken seks.\n", "utf-8")
    (corpus / "skadet.pdf").write_bytes(b"%PDF-1.4 broken")
    result = handlers.refresh(progress=None)
    assert result["ok"] and "1 lagt til" in result["message"] and "skadet.pdf" in result["message"]
    table, summary, cards, choices, fact_targets = handlers.overview()
    assert "Ny avtale om brøyting" in table and "3 dokumenter" in summary and "facts-ny" in cards
    assert ("Ny avtale om brøyting (ny.md)", "ny") in choices["choices"]
    assert "doc-target" in handlers.open_ref("f0", [], fact_targets)
    shown, question = handlers.confirm_remove("ny")
    assert shown["visible"] is True and ".trash/" in question and "Ny avtale om brøyting" in question
    assert handlers.confirm_remove(None)[0]["visible"] is False
    assert handlers.remove("ny")["ok"] and (corpus / ".trash" / "ny.md").exists()
    assert handlers.remove("ny")["ok"] is False
    status, hidden = handlers.after_change({"ok": False, "message": "<b>nei</b>"})
    assert "&lt;b&gt;" in status and hidden["visible"] is False


def test_hostile_document_facts_card_is_escaped(handlers, tmp_path):
    from tests.test_app import assert_safe

    src = tmp_path / "farlig.md"
    src.write_text(
        "# Avtale mellom <script>alert(1)</script> og KS\n\n"
        "## Formål <img src=x onerror=alert(2)>\n\n"
        "Formålet med avtalen er <svg onload=alert(3)> [lenke](javascript:alert(4)).\n\n"
        "Oslo, 1. mai 2024\n\nKari <b>Nordmann</b>\nOrdfører\n",
        encoding="utf-8",
    )
    handlers.assistant.add_document(src)
    _, _, cards, _, _ = handlers.overview()
    assert "&lt;script&gt;" in cards and "&lt;img src=x" in cards
    assert_safe(cards)
    chat, *_ = handlers.ask("Hva er farlig-avtalen?", [], [], [], None, [])
    assert "facts-for-farlig" in chat[-1]["content"]
    assert_safe(chat[-1]["content"])


def test_stored_conversation_keeps_the_last_answers_with_their_numbers(handlers, monkeypatch):
    from assistant.web import handlers as module

    monkeypatch.setattr(module, "MAX_KEPT_ANSWERS", 2)
    state = ([], [], [], None, [])
    for q in ("Hva sier avtalen om heltid?", "Hvor lenge gjelder avtalen?", "Hva sier avtalen om velferdsteknologi?"):
        chat, _, questions, targets, last, _, _, _, answers = handlers.ask(q, *state)
        state = (chat, questions, targets, last, answers)
    stored = handlers.save(chat, questions, targets, answers)
    assert stored["answers"][0] is None and stored["answers"][1:] == answers[1:]
    assert [m["content"] for m in stored["chat"] if m["role"] == "user"] == ["Hvor lenge gjelder avtalen?",
                                                                          "Hva sier avtalen om velferdsteknologi?"]
    assert stored["questions"] == questions and stored["targets"] == targets  # history and card numbers kept
    restored = handlers.start(json.loads(json.dumps(stored)), None)
    chat2, _, targets2, last2, answers2 = restored[:5]
    assert last2 == answers[-1] and targets2 == targets
    assert "Fant ikke svaret" in handlers.vote("up:0", answers2, chat2, "")[0]
    assert handlers.vote("up:2", answers2, chat2, "")[0].startswith("Takk")


def test_upload_after_an_index_written_elsewhere_keeps_its_changes(answering, fake_embedder, tmp_path):
    answering.index()
    corpus = answering.config.corpus_dir
    (corpus / f"{LEVE}.txt").write_text("Leve hele livet: en ny tekst om eldreomsorg.\n", encoding="utf-8")
    Assistant(answering.config, embedder=fake_embedder).index()  # `assistant index` elsewhere: LEVE changed
    src = tmp_path / "ny.md"
    src.write_text("# Ny\n\nEn ny avtale om brøyting.\n", encoding="utf-8")
    answering.add_document(src)  # builds on the index on disk, not on the stale one in memory
    assert answering.document(LEVE).text == "Leve hele livet: en ny tekst om eldreomsorg.\n"
    assert {c.doc_id for c in answering.data.clauses} == {KVALITET, LEVE, "ny"}
    assert all("ny tekst" in c.text for c in answering.data.clauses if c.doc_id == LEVE)
