"""The app in a real browser: Playwright driving Debian's chromium against the app served in-process.

Run alone:  python -m pytest -q tests/test_app_browser.py
Screenshots for docs/ui.md:  python tests/test_app_browser.py --screenshots  (writes docs/screenshots/*.png)
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("ASSISTANT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
MODEL_WAIT = 60_000  # ms, for steps that run the model (a question, indexing an upload)
UI_WAIT = 20_000
VIEWPORT = {"width": 1280, "height": 900}

NIGHT_DOC = (
    "# Avtale om nattevakt i hjemmetjenesten\n\n"
    "Nattevakt i hjemmetjenesten skal alltid bemannes med minst to ansatte, og turnusen settes opp "
    "i samråd med de tillitsvalgte.\n\n"
    "Denne linjen prøver å lure visningen: <img src=x onerror=alert('doc')> <script>alert('doc')</script> "
    "[klikk](javascript:alert('doc')).\n"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(assistant):
    """Start the app on a free 127.0.0.1 port; returns (demo, url)."""
    import app

    demo = app.build_app(assistant)
    port = free_port()
    demo.queue().launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    return demo, f"http://127.0.0.1:{port}/"


def copy_assistant(source, embedder, base: Path):
    """An Assistant over a copy of `source`'s corpus and index (uploads then change only the copy)."""
    from assistant import Assistant

    shutil.copytree(source.config.corpus_dir, base / "corpus")
    shutil.copytree(source.config.index_dir, base / "index")
    config = source.config.with_(corpus_dir=base / "corpus", index_dir=base / "index",
                                 feedback_file=base / "feedback.jsonl")
    assistant = Assistant(config, embedder=embedder)
    assistant.load(rebuild_if_needed=False)
    return assistant


def ask(page, question: str) -> None:
    """Type a question, send it, and wait for its reply (the number of answers grows by one)."""
    before = page.locator("#chat .answer, #chat .notice").count()
    page.fill("#question textarea", question)
    page.click("#ask-btn")
    page.wait_for_function(
        "n => document.querySelectorAll('#chat .answer, #chat .notice').length > n", arg=before, timeout=MODEL_WAIT
    )


def last_answer(page):
    return page.locator("#chat .answer").last


def upload(page, path: Path, expect: str) -> None:
    page.get_by_role("tab", name="Dokumenter").click()
    page.wait_for_selector("#upload-file", state="visible", timeout=UI_WAIT)
    page.set_input_files("#upload-file input[type=file]", str(path))
    page.wait_for_function(
        "t => (document.querySelector('#upload-status')?.innerText || '').includes(t)", arg=expect, timeout=MODEL_WAIT
    )


# -- fixtures --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(real_assistant, real_embedder, tmp_path_factory):
    assistant = copy_assistant(real_assistant, real_embedder, tmp_path_factory.mktemp("app-browser"))
    demo, url = serve(assistant)
    try:
        yield url, assistant
    finally:
        demo.close()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def ready(pg):
    """Wait until the page has its question box and has loaded the documents' summary."""
    pg.wait_for_selector("#question textarea", timeout=UI_WAIT)
    pg.wait_for_function("() => (document.querySelector('#doc-summary')?.innerText || '').includes('Svarer ut fra')",
                         timeout=UI_WAIT)


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport=VIEWPORT, locale="nb-NO")
    yield ctx
    ctx.close()


@pytest.fixture
def page(context, server):
    """The app, loaded; dialogs are dismissed and their messages kept in `page.dialogs`."""
    url, _ = server
    pg = context.new_page()
    pg.dialogs = []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    pg.goto(url)
    ready(pg)
    return pg


# -- tests -----------------------------------------------------------------------------------

def test_answer_cards_document_view_feedback_and_export(page, server):
    _, assistant = server
    assert "Svarer ut fra 2 dokumenter" in page.inner_text("#doc-summary")
    ask(page, "Hva sier avtalen om velferdsteknologi?")
    answer = last_answer(page)
    assert "Dette står i avtalene:" in answer.inner_text()
    assert "velferdsteknologi" in answer.locator("blockquote.lead").inner_text()
    card = answer.locator(".source-card").first
    head = card.locator(".card-head").inner_text()
    assert "Avtale mellom regjeringen og KS" in head and "2012-12-19" in head
    assert "avsnitt" in card.locator(".card-meta").inner_text()
    assert card.locator(".card-text mark").first.inner_text().lower() == "velferdsteknologi"
    assert "relevans" in card.locator(".relevance").inner_text()
    # the question and the start of its answer are in view
    assert page.locator("#chat .user-row").last.is_visible()

    card.locator("button.show-doc").click()
    target = page.locator("#doc-view mark.doc-target")
    target.wait_for(timeout=UI_WAIT)
    assert "velferdsteknologi" in target.inner_text()
    assert "Avtale mellom regjeringen og KS" in page.inner_text("#doc-view .doc-head")
    page.wait_for_function(  # scrolled so that the marked clause is inside the view box
        """() => { const b = document.querySelector('#doc-view .doc-scroll').getBoundingClientRect();
                   const m = document.querySelector('#doc-view mark.doc-target').getBoundingClientRect();
                   return m.top >= b.top && m.bottom <= b.bottom; }""",
        timeout=UI_WAIT,
    )

    page.click("#fb-up")
    page.wait_for_function("() => (document.querySelector('#fb-status')?.innerText || '').includes('Takk')",
                           timeout=UI_WAIT)
    rows = assistant.feedback.votes()
    assert rows[0]["vote"] == "up"
    assert rows[0]["question"] == "Hva sier avtalen om velferdsteknologi?"

    page.locator("#export").get_by_text("Kopier eller last ned svaret").click()
    export = page.locator("#export-text textarea")
    export.wait_for(timeout=UI_WAIT)
    assert "Kilder:" in export.input_value() and "[1]" in export.input_value()
    assert page.dialogs == []


def test_out_of_scope_and_follow_up(page):
    ask(page, "Hvor mye koster en pizza i Oslo?")
    answer = last_answer(page)
    assert "Avtalene sier ikke noe om dette." in answer.inner_text()
    assert answer.locator(".source-card.related").count() >= 1
    # a refusal between the firm level and the boundary says «not sure» and shows the closest clauses
    ask(page, "Kan en av partene avslutte avtalen før tiden?")
    answer = last_answer(page)
    assert answer.locator(".answer-label.none.unsure").count() == 1
    assert "Jeg er ikke sikker på at avtalene svarer på dette." in answer.inner_text()
    assert "Avtalene sier ikke noe om dette." not in answer.inner_text()
    assert answer.locator(".source-card.related").count() >= 1
    ask(page, "Hvor lenge gjelder kvalitetsavtalen?")
    ask(page, "og når utløper den?")
    assert "oppfølging" in last_answer(page).inner_text()
    page.click("#new-chat")
    page.wait_for_function("() => !document.querySelector('#chat .answer')", timeout=UI_WAIT)


def test_example_question_and_empty_question(page):
    page.locator(".example-q").first.click()
    page.wait_for_selector("#chat .answer .source-card", timeout=MODEL_WAIT)
    page.fill("#question textarea", "   ")
    page.click("#ask-btn")
    page.wait_for_selector("#chat .notice", timeout=UI_WAIT)
    assert "Spørsmålet er tomt" in page.inner_text("#chat .notice")
    assert "Traceback" not in page.inner_text("body")


def test_upload_then_ask_about_it(page, tmp_path):
    bad = tmp_path / "notater.exe"
    bad.write_bytes(b"MZ\x00")
    upload(page, bad, "Kunne ikke legge til")
    assert "notater.exe" in page.inner_text("#upload-status")

    src = tmp_path / "Nattevakt i hjemmetjenesten.md"
    src.write_text(NIGHT_DOC, encoding="utf-8")
    upload(page, src, "er lagt til")
    page.wait_for_function(
        "() => (document.querySelector('#doc-overview')?.innerText || '').includes('Avtale om nattevakt')",
        timeout=UI_WAIT,
    )
    assert "3 dokumenter" in page.inner_text("#doc-summary")
    page.get_by_role("tab", name="Spør").click()
    ask(page, "Hvor mange skal ha nattevakt i hjemmetjenesten?")
    card = last_answer(page).locator(".source-card").first
    assert "Avtale om nattevakt i hjemmetjenesten" in card.locator(".card-title").inner_text()
    assert "minst to ansatte" in card.locator(".card-text").inner_text()
    card.locator("button.show-doc").click()
    page.locator("#doc-view mark.doc-target").wait_for(timeout=UI_WAIT)
    view = page.inner_text("#doc-view")
    assert "<img src=x onerror=alert('doc')>" in view  # shown as text ...
    assert page.locator("#doc-view img, #doc-view script, #doc-view a").count() == 0  # ... not as markup
    assert page.dialogs == []


@pytest.mark.parametrize("question", [
    "<img src=x onerror=alert(1)>",
    "Hva sier avtalen om <script>window.__xss = 1; alert(2)</script> velferdsteknologi?",
    "[klikk](javascript:alert(3)) velferdsteknologi <b id=injected>fet</b>",
])
def test_hostile_questions_render_as_text(page, question):
    ask(page, question)
    page.wait_for_timeout(300)  # give an injected handler the chance to fire
    user = page.locator("#chat .user-row .message-content").last
    assert user.inner_text().strip() == question  # the question is shown as text ...
    assert not re.search(r"<(img|script|b|a|svg)\b", user.inner_html(), re.I)  # ... and not as markup
    assert page.dialogs == []
    assert page.locator("#chat img[src='x'], #chat script, #chat a, #injected, #chat b#injected").count() == 0
    assert page.evaluate("() => window.__xss") is None
    links = page.eval_on_selector_all("#chat [href]", "els => els.map(e => e.getAttribute('href'))")
    assert not [h for h in links if h and h.lower().startswith("javascript")]


# -- screenshots for docs/ui.md --------------------------------------------------------------

def take_screenshots(out_dir: Path = ROOT / "docs" / "screenshots") -> list[Path]:
    """Serve the app over a temporary copy of corpus/ with the real model and photograph its views."""
    import tempfile

    from playwright.sync_api import sync_playwright

    from assistant import Assistant, Config

    out_dir.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="avtale-shots-"))
    shutil.copytree(ROOT / "corpus", base / "corpus")
    assistant = Assistant(Config(corpus_dir=base / "corpus", index_dir=base / "index",
                                 feedback_file=base / "feedback.jsonl"))
    assistant.index()
    demo, url = serve(assistant)
    shots = []

    def shot(pg, name: str, settle_ms: int) -> None:
        pg.wait_for_timeout(settle_ms)  # let transitions finish
        shots.append(out_dir / name)
        pg.screenshot(path=shots[-1])

    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            pg = b.new_page(viewport=VIEWPORT, locale="nb-NO")
            pg.goto(url)
            pg.wait_for_selector("#question textarea", timeout=UI_WAIT)
            pg.wait_for_function("() => (document.querySelector('#doc-summary')?.innerText || '').includes('Svarer ut fra')")
            shot(pg, "start.png", settle_ms=500)

            ask(pg, "Hva sier avtalen om velferdsteknologi?")
            shot(pg, "answer.png", settle_ms=500)

            last_answer(pg).locator(".source-card button.show-doc").first.click()
            pg.locator("#doc-view mark.doc-target").wait_for(timeout=UI_WAIT)
            shot(pg, "document.png", settle_ms=600)

            ask(pg, "Hvor mye koster en pizza i Oslo?")
            shot(pg, "out-of-scope.png", settle_ms=500)

            ask(pg, "Hva handler kvalitetsavtalen om?")
            shot(pg, "facts-reply.png", settle_ms=500)

            ask(pg, "Hvem signerte avtalen?")
            last_answer(pg).locator(".group").first.wait_for(timeout=UI_WAIT)
            shot(pg, "grouped.png", settle_ms=500)

            pg.locator("#compact input[type=checkbox]").check()
            ask(pg, "Hvor lenge gjelder kvalitetsavtalen?")
            shot(pg, "compact.png", settle_ms=500)
            pg.locator("#compact input[type=checkbox]").uncheck()

            pg.get_by_role("tab", name="Dokumenter").click()
            pg.locator("#facts-cards .facts-card").first.wait_for(timeout=UI_WAIT)
            shot(pg, "facts.png", settle_ms=500)

            src = base / "Nattevakt i hjemmetjenesten.md"
            src.write_text(NIGHT_DOC.split("\n\nDenne linjen")[0] + "\n", encoding="utf-8")
            upload(pg, src, "er lagt til")
            pg.locator("#upload-status").scroll_into_view_if_needed()
            shot(pg, "upload.png", settle_ms=500)

            phone = b.new_page(viewport={"width": 390, "height": 844}, locale="nb-NO", is_mobile=True,
                               device_scale_factor=1)
            phone.goto(url)
            phone.wait_for_selector("#question textarea", timeout=UI_WAIT)
            ask(phone, "Hva sier avtalen om velferdsteknologi?")
            last_answer(phone).scroll_into_view_if_needed()
            shot(phone, "phone.png", settle_ms=500)
            b.close()
    finally:
        demo.close()
        shutil.rmtree(base, ignore_errors=True)
    return shots

def test_an_unsure_answer_shows_a_second_quote_that_opens_its_clause(page, server):
    """The sentence model's runner-up under the lead, with its own source and «Vis i dokumentet»
    (every lead counts as unsure here, so that the test does not rest on one question's odds)."""
    import dataclasses

    questions = ["Hva skal kommunene og staten gjøre sammen for de eldre?", "Hvordan skal de ansatte få mer kunnskap?",
                 "Hva sier avtalen om ny teknologi i omsorgen?", "Hvem skal følge med på at avtalen blir fulgt opp?"]
    _, assistant = server
    searcher = assistant.load()
    saved = searcher.params
    searcher.params = dataclasses.replace(saved, lead_coverage=1.01)
    try:
        question, reply = next((q, a) for q, a in ((q, assistant.ask(q)) for q in questions)
                               if a.answered and a.also and not a.groups)
        ask(page, question)
        answer = last_answer(page)
        second = answer.locator("blockquote.lead.also")
        assert second.is_visible()
        assert reply.also.lead[0][:40] in " ".join(second.inner_text().split())
        assert "Kanskje også dette:" in answer.locator(".answer-label.also").inner_text()
        answer.locator(".answer-label.also button.show-doc").click()
        target = page.locator("#doc-view mark.doc-target")
        target.wait_for(timeout=UI_WAIT)
        assert " ".join(reply.also.hit.clause.text.split())[:40] in " ".join(target.inner_text().split())
    finally:
        searcher.params = saved


if __name__ == "__main__":
    if "--screenshots" in sys.argv:
        sys.path.insert(0, str(ROOT))
        for path in take_screenshots():
            print(path)
    else:
        print(__doc__)

