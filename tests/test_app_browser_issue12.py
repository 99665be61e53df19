"""Issue 12 in a real browser (Playwright + Debian chromium, the real model): limiting the search
to chosen documents from the chat («Søk i») and from the Dokumenter tab («Søk bare i dette»), and
a reply grouped by agreement.

Run alone:  python -m pytest -q tests/test_app_browser_issue12.py
"""

from __future__ import annotations

import pytest

from tests.test_app_browser import UI_WAIT, ask, browser, context, last_answer, page, server  # noqa: F401 (fixtures)
from tests.test_app_browser_issue9 import KVALITET, LEVE

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def card_titles(pg) -> list[str]:
    return last_answer(pg).locator(".source-card .card-title").all_text_contents()


def test_search_only_in_a_document_from_the_documents_tab(page, server):
    _, assistant = server
    title = assistant.document(LEVE).title
    page.get_by_role("tab", name="Dokumenter").click()
    page.locator("#remove-doc input").click()
    page.get_by_role("option", name="Leve hele livet", exact=False).first.click()
    page.click("#search-only-btn")
    page.wait_for_selector("#question textarea", state="visible", timeout=UI_WAIT)  # the chat tab is open
    assert "Leve hele livet" in page.inner_text("#scope")
    ask(page, "Hva sier avtalen om kvalitet?")
    titles = card_titles(page)
    assert titles and all(title in t for t in titles)


def test_search_in_a_document_chosen_in_the_chat(page, server):
    _, assistant = server
    title = assistant.document(KVALITET).title
    page.locator("#scope input").click()
    page.get_by_role("option", name="utvikling av kvalitet", exact=False).first.click()
    page.keyboard.press("Escape")
    ask(page, "Hva sier avtalen om kvalitet?")
    titles = card_titles(page)
    assert titles and all(title in t for t in titles)


def test_a_question_two_agreements_answer_is_grouped_in_the_chat(page):
    ask(page, "Hvem signerte avtalen?")
    groups = last_answer(page).locator(".group")
    assert groups.count() == 2
    assert "den nyeste først" in last_answer(page).inner_text()
    assert "2018" in groups.nth(0).locator(".group-title").inner_text()
    assert "2012" in groups.nth(1).locator(".group-title").inner_text()
