"""Issue 9 in a real browser (Playwright + Debian chromium, the real model): the facts cards,
the conversation kept across reloads, shareable links, votes on every answer in SQLite, the
live corpus («Oppdater», removal), the phone viewport and the keyboard.

Run alone:  python -m pytest -q tests/test_app_browser_issue9.py
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.test_app_browser import (  # noqa: F401 (browser, context, page, server: fixtures)
    MODEL_WAIT,
    UI_WAIT,
    ask,
    browser,
    context,
    last_answer,
    page,
    ready,
    server,
    upload,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser]

KVALITET = "avtale-kvalitet-helse-omsorg-2012-2015"
LEVE = "ks-leve-hele-livet-2018"
PHONE = {"width": 390, "height": 844}
LIVE_DOC = (
    "# Avtale om snøbrøyting ved sykehjemmene\n\n"
    "Kommunen skal brøyte innkjørselen til alle sykehjem før klokken seks hver morgen når det har snødd.\n"
)
AGREEMENT = (
    "Avtale mellom Eksempel kommune og Eksempel legesenter om legevakt\n\n"
    "Formålet med avtalen er å sikre innbyggerne legevakt hele døgnet.\n\n"
    "Avtalen gjelder fra 1. januar 2025 til 31. desember 2027.\n\n"
    "Oslo, 2. desember 2024\n\n"
    "Kari Nordmann\nOrdfører\n\n"
    "Ola Nordmann\nDaglig leder\n"
)


def facts_card(pg, doc_id: str):
    return pg.locator(f"#facts-cards #facts-{doc_id}")


def test_facts_cards_on_both_seeds(page):
    page.get_by_role("tab", name="Dokumenter").click()
    facts_card(page, KVALITET).wait_for(timeout=UI_WAIT)
    kvalitet = facts_card(page, KVALITET)
    rows = {r: kvalitet.locator(f".fact-{r}").inner_text() for r in
            ("parties", "signed", "signatories", "validity", "termination", "purpose", "commitments")}
    assert "MELLOM REGJERINGEN OG KS" in rows["parties"]
    assert "Oslo, 19. desember 2012" in rows["signed"]
    assert "Jonas Gahr Støre" in rows["signatories"] and "Gunn Marit Helgesen" in rows["signatories"]
    assert "31. desember 2015" in rows["validity"]
    assert "Oppsigelse skal gis med minst én måneds varsel" in rows["termination"]
    assert "Personell og kompetanse" in rows["commitments"] and "Tjenesteutvikling" in rows["commitments"]
    leve = facts_card(page, LEVE)
    assert "29. juni" in leve.locator(".fact-signed").inner_text()
    assert "KS og regjeringen undertegnet" in leve.locator(".fact-parties").inner_text()
    assert "Aldersvennlig Norge" in leve.locator(".fact-commitments").inner_text()
    # only the rows the document answers: the news article names no period and no termination
    assert leve.locator(".fact-validity, .fact-termination, .fact-signatories").count() == 0

    kvalitet.locator(".fact-validity button.show-doc").click()
    target = page.locator("#doc-view mark.doc-target")
    target.wait_for(timeout=UI_WAIT)
    assert "31. desember 2015" in target.inner_text()
    assert page.locator("#doc-view .doc-head").inner_text().count("avsnitt") >= 1


def test_overview_questions_get_the_facts_card(page):
    ask(page, "Hva handler kvalitetsavtalen om?")
    reply = last_answer(page)
    assert reply.locator(f".facts-card.facts-for-{KVALITET}").count() == 1
    assert "Avtalen i korte trekk" in reply.inner_text()
    ask(page, "Når ble avtalen om Leve hele livet undertegnet?")
    ask(page, "Hva er denne avtalen?")  # «denne»: the agreement the conversation is about
    reply = last_answer(page)
    assert reply.locator(f".facts-card.facts-for-{LEVE}").count() == 1 and reply.locator(".facts-card").count() == 1
    reply.locator(".fact-signed button.show-doc").click()
    page.locator("#doc-view mark.doc-target").wait_for(timeout=UI_WAIT)
    assert "undertegnet fredag 29. juni" in page.inner_text("#doc-view mark.doc-target")


def test_history_survives_a_reload_and_ny_samtale_clears_it(page, server):
    url, _ = server
    ask(page, "Hvor lenge gjelder kvalitetsavtalen?")
    ask(page, "og når utløper den?")
    page.reload()
    ready(page)
    page.wait_for_function("() => document.querySelectorAll('#chat .answer').length === 2", timeout=UI_WAIT)
    users = page.locator("#chat .user-row").all_inner_texts()
    assert [u.strip() for u in users] == ["Hvor lenge gjelder kvalitetsavtalen?", "og når utløper den?"]
    # the restored conversation still works: the cards open, and a follow-up uses the history
    last_answer(page).locator("button.show-doc").first.click()
    page.locator("#doc-view mark.doc-target").wait_for(timeout=UI_WAIT)
    ask(page, "og hvordan kan den sies opp?")
    assert "oppfølging" in last_answer(page).inner_text()
    page.click("#new-chat")
    page.wait_for_function("() => !document.querySelector('#chat .answer')", timeout=UI_WAIT)
    page.wait_for_timeout(500)  # the emptied conversation is stored
    page.reload()
    ready(page)
    page.wait_for_timeout(1000)
    assert page.locator("#chat .answer").count() == 0


def test_links_ask_and_open_a_clause(context, server):
    url, _ = server
    pg = context.new_page()
    pg.goto(url + "?q=" + quote("Hva sier avtalen om velferdsteknologi?"))
    pg.wait_for_selector("#chat .answer .source-card", timeout=MODEL_WAIT)
    assert "velferdsteknologi" in last_answer(pg).locator("blockquote.lead").inner_text()
    pg.wait_for_function("() => !location.search.includes('q=')", timeout=UI_WAIT)  # a reload does not ask again
    # «Kopier lenke» gives the link that asks the same question
    last_answer(pg).locator("button.copy-link").click()
    pg.wait_for_function("() => (document.querySelector('#share-out-text')?.innerText || '').includes('?q=')",
                         timeout=UI_WAIT)
    link = pg.evaluate("() => window.__avtaleLink")
    assert link.startswith(url) and "velferdsteknologi" in link.replace("+", " ")

    other = context.new_page()
    other.goto(url + f"?doc={KVALITET}&avsnitt=47")
    mark = other.locator("#doc-view mark.doc-target")
    mark.wait_for(timeout=UI_WAIT)
    assert "Avtalen gjelder frem til 31. desember 2015" in mark.inner_text()
    assert "avsnitt 47" in other.inner_text("#doc-view .doc-head")
    other.wait_for_function(  # scrolled into the view box
        """() => { const b = document.querySelector('#doc-view .doc-scroll').getBoundingClientRect();
                   const m = document.querySelector('#doc-view mark.doc-target').getBoundingClientRect();
                   return m.top >= b.top && m.bottom <= b.bottom; }""", timeout=UI_WAIT)
    other.locator("#doc-view button.copy-link").click()  # «Kopier lenke til avsnittet»
    other.wait_for_function("() => (document.querySelector('#share-out-text')?.innerText || '').includes('avsnitt=47')",
                            timeout=UI_WAIT)
    assert other.evaluate("() => window.__avtaleLink") == url + f"?doc={KVALITET}&avsnitt=47"
    # the copied question link asks the same question on another page
    other.goto(link)
    other.wait_for_selector("#chat .answer .source-card", timeout=MODEL_WAIT)
    assert other.locator("#chat .user-row").last.inner_text().strip() == "Hva sier avtalen om velferdsteknologi?"
    other.goto(url + "?doc=finnes-ikke&avsnitt=3")
    other.wait_for_selector("#doc-view .notice", timeout=UI_WAIT)
    assert "ikke finnes her" in other.inner_text("#doc-view") and "Traceback" not in other.inner_text("body")


def test_votes_on_two_answers_land_in_sqlite(page, server):
    _, assistant = server
    before = {v["answer_id"] for v in assistant.feedback.votes()}
    ask(page, "Hva sier avtalen om heltid?")
    ask(page, "Kva er målet med Leve hele livet?")
    answers = page.locator("#chat .answer")
    answers.nth(0).locator("button.vote-up").click()
    page.wait_for_function("() => document.querySelectorAll('#chat .answer')[0].querySelector('button.vote-up.voted')",
                           timeout=UI_WAIT)
    answers.nth(1).locator("button.vote-down").click()
    page.wait_for_function("() => document.querySelectorAll('#chat .answer')[1].querySelector('button.vote-down.voted')",
                           timeout=UI_WAIT)
    new = [v for v in assistant.feedback.votes() if v["answer_id"] not in before]
    assert sorted((v["question"], v["vote"]) for v in new) == [
        ("Hva sier avtalen om heltid?", "up"), ("Kva er målet med Leve hele livet?", "down")]
    assert all(v["clauses"] and v["clauses"][0]["text"] for v in new)
    # a changed mind replaces the vote instead of adding one
    answers.nth(0).locator("button.vote-down").click()
    page.wait_for_function("() => document.querySelectorAll('#chat .answer')[0].querySelector('button.vote-down.voted')",
                           timeout=UI_WAIT)
    new = [v for v in assistant.feedback.votes() if v["answer_id"] not in before]
    assert len(new) == 2 and {v["vote"] for v in new} == {"down"}


def test_phone_viewport_has_no_sideways_scroll(browser, server):
    url, _ = server
    ctx = browser.new_context(viewport=PHONE, locale="nb-NO", is_mobile=True, has_touch=True, device_scale_factor=2)
    try:
        pg = ctx.new_page()
        pg.goto(url)
        ready(pg)
        ask(pg, "Hva sier avtalen om velferdsteknologi?")
        answer = last_answer(pg)
        for el in (answer.locator("blockquote.lead"), answer.locator(".source-card").first):
            el.scroll_into_view_if_needed()
            box = el.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 0.5, box
        widths = pg.evaluate("() => [document.documentElement.scrollWidth, document.body.scrollWidth, innerWidth]")
        assert max(widths[:2]) <= widths[2], widths
        pg.get_by_role("tab", name="Dokumenter").click()
        facts_card(pg, KVALITET).wait_for(timeout=UI_WAIT)
        widths = pg.evaluate("() => [document.documentElement.scrollWidth, document.body.scrollWidth, innerWidth]")
        assert max(widths[:2]) <= widths[2], widths
    finally:
        ctx.close()


def test_slash_focuses_the_box_enter_asks_and_compact_view(page):
    page.locator("#app-header").click()
    assert page.evaluate("() => document.activeElement?.closest('#question') === null")
    page.keyboard.press("/")
    assert page.evaluate("() => !!document.activeElement?.closest('#question')")
    assert page.input_value("#question textarea") == ""  # the «/» is not typed into the box
    page.keyboard.type("Hvor lenge gjelder kvalitetsavtalen?")
    page.keyboard.press("Enter")
    page.wait_for_selector("#chat .answer .source-card", timeout=MODEL_WAIT)
    answer = last_answer(page)
    assert answer.locator(".source-card").first.is_visible() and not answer.locator(".source-line").is_visible()
    page.locator("#compact input[type=checkbox]").check()
    page.wait_for_function("() => document.body.classList.contains('compact-mode')", timeout=UI_WAIT)
    assert answer.locator("blockquote.lead").is_visible() and answer.locator(".source-line").is_visible()
    assert answer.locator(".source-card").first.is_hidden()
    assert "avsnitt" in answer.locator(".source-line").inner_text()
    page.reload()  # the choice is kept
    ready(page)
    page.wait_for_function("() => document.body.classList.contains('compact-mode')", timeout=UI_WAIT)
    assert page.locator("#compact input[type=checkbox]").is_checked()
    page.locator("#compact input[type=checkbox]").uncheck()
    page.wait_for_function("() => !document.body.classList.contains('compact-mode')", timeout=UI_WAIT)


def test_live_corpus_oppdater_upload_and_remove(page, server, tmp_path):
    """Runs last: it changes the corpus (and puts it back)."""
    url, assistant = server
    corpus = assistant.config.corpus_dir
    question = "Når skal innkjørselen til sykehjemmene brøytes?"
    (corpus / "snobroyting.md").write_text(LIVE_DOC, encoding="utf-8")  # dropped into corpus/ while the app runs
    page.get_by_role("tab", name="Dokumenter").click()
    page.click("#refresh-btn")
    page.wait_for_function("() => (document.querySelector('#corpus-status')?.innerText || '').includes('1 lagt til')",
                           timeout=MODEL_WAIT)
    page.wait_for_function("() => (document.querySelector('#doc-overview')?.innerText || '').includes('snøbrøyting')",
                           timeout=UI_WAIT)
    page.get_by_role("tab", name="Spør").click()
    ask(page, question)
    card = last_answer(page).locator(".source-card").first
    assert "snøbrøyting" in card.locator(".card-title").inner_text() and "klokken seks" in card.inner_text()

    # an uploaded agreement gets its facts card
    src = tmp_path / "Legevaktavtale.txt"
    src.write_text(AGREEMENT, encoding="utf-8")
    upload(page, src, "er lagt til")
    card = facts_card(page, "Legevaktavtale")
    card.wait_for(timeout=UI_WAIT)
    assert "Eksempel kommune og Eksempel legesenter" in card.locator(".fact-parties").inner_text()
    assert "31. desember 2027" in card.locator(".fact-validity").inner_text()
    assert "Kari Nordmann" in card.locator(".fact-signatories").inner_text()

    # removal: asks first, then moves the file to corpus/.trash/ and drops its clauses
    page.locator("#remove-doc input").click()
    page.get_by_role("option", name="snøbrøyting", exact=False).first.click()
    page.click("#remove-btn")
    page.wait_for_selector("#remove-confirm", state="visible", timeout=UI_WAIT)
    assert "flyttes til" in page.inner_text("#remove-confirm")
    page.click("#remove-no")
    page.wait_for_selector("#remove-confirm", state="hidden", timeout=UI_WAIT)
    assert (corpus / "snobroyting.md").exists()
    page.click("#remove-btn")
    page.click("#remove-yes")
    page.wait_for_function("() => (document.querySelector('#corpus-status')?.innerText || '').includes('er fjernet')",
                           timeout=MODEL_WAIT)
    assert not (corpus / "snobroyting.md").exists() and (corpus / ".trash" / "snobroyting.md").exists()
    page.get_by_role("tab", name="Spør").click()
    ask(page, question)
    assert "snøbrøyting" not in last_answer(page).inner_text()
    assert "snobroyting" not in {c.doc_id for c in assistant.data.clauses}

    # `assistant index` in another process while the app runs: the app takes up its index
    from assistant import Assistant

    (corpus / "Legevaktavtale.txt").unlink()
    other = Assistant(assistant.config, embedder=assistant.embedder)
    assert other.index().removed == ["Legevaktavtale"]
    ask(page, "Hvem har legevakt hele døgnet i Eksempel kommune?")
    assert "Legevakt" not in last_answer(page).locator(".source-card").first.locator(".card-title").inner_text()
    assert "Legevaktavtale" not in assistant.data.documents
    assert page.dialogs == []
