"""Rendering: library objects in, escaped HTML out (pure functions, no Gradio).

Every piece of text that comes from a question or a document is escaped with `html.escape`
before it is put into HTML; the only markup is the markup built here.
"""

from __future__ import annotations

import html
import re
import unicodedata
from urllib.parse import urlencode

from ..answer import Answer, section_path
from ..search import Analyzer
from ..types import Document, Hit

# Texts inside a reply follow the language of the question; the rest of the UI is bokmål.
CARD_TEXTS = {
    "nb": {
        "show": "Vis i dokumentet",
        "high": "Høy relevans",
        "medium": "Middels relevans",
        "low": "Lav relevans",
        "related": "Mulig relatert",
        "relevance": "Relevans",
        "more": "Flere kilder",
        "follow_up": "Tolket som oppfølging av det forrige spørsmålet.",
        "source": "Kilde",
        "nearest": "Nærmeste",
        "vote_up": "✓ Hjalp",
        "vote_down": "✗ Hjalp ikke",
        "voted_up": "Takk! Lagret: svaret hjalp.",
        "voted_down": "Takk! Lagret: svaret hjalp ikke.",
        "copy_link": "Kopier lenke",
    },
    "nn": {
        "show": "Vis i dokumentet",
        "high": "Høg relevans",
        "medium": "Middels relevans",
        "low": "Låg relevans",
        "related": "Mogleg relatert",
        "relevance": "Relevans",
        "more": "Fleire kjelder",
        "follow_up": "Tolka som oppfølging av det førre spørsmålet.",
        "source": "Kjelde",
        "nearest": "Nærmaste",
        "vote_up": "✓ Hjelpte",
        "vote_down": "✗ Hjelpte ikkje",
        "voted_up": "Takk! Lagra: svaret hjelpte.",
        "voted_down": "Takk! Lagra: svaret hjelpte ikkje.",
        "copy_link": "Kopier lenke",
    },
    "en": {
        "show": "Show in document",
        "high": "High relevance",
        "medium": "Medium relevance",
        "low": "Low relevance",
        "related": "Possibly related",
        "relevance": "Relevance",
        "more": "More sources",
        "follow_up": "Read as a follow-up to the previous question.",
        "source": "Source",
        "nearest": "Nearest",
        "vote_up": "✓ Helpful",
        "vote_down": "✗ Not helpful",
        "voted_up": "Thank you! Saved: the answer helped.",
        "voted_down": "Thank you! Saved: the answer did not help.",
        "copy_link": "Copy link",
    },
}
CARDS_OPEN = 3  # cards shown at once; the rest are folded under "Flere kilder"

WELCOME = (
    "<div class='welcome'><h3>Velkommen til Avtaleassistenten</h3>"
    "<p>Still et spørsmål om avtalene mellom regjeringen og KS – på bokmål, nynorsk eller engelsk. "
    "Svaret er alltid et <b>sitat fra avtalene</b>, med dokument, dato og avsnitt, "
    "så du kan sjekke kilden selv. Finner ikke assistenten noe som svarer, sier den det.</p>"
    "<p>Prøv et av eksemplene under, eller skriv et eget spørsmål.</p></div>"
)
DOC_PLACEHOLDER = (
    "<div class='doc-empty'><p><b>Dokumentvisning</b></p>"
    "<p>Klikk «Vis i dokumentet» på et kildekort for å se avsnittet i sammenheng med resten av dokumentet.</p></div>"
)

_WORD = re.compile(r"\w+", re.UNICODE)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _wanted(terms) -> tuple[set[str], tuple[str, ...]]:
    exact = {t for t in terms if t}
    prefixes = tuple(sorted(t for t in exact if len(t) >= 6))
    return exact, prefixes


def highlight(text: str, terms, analyzer: Analyzer) -> str:
    """`text` HTML-escaped, with the words whose stem is one of `terms` wrapped in <mark>.

    A word also matches when its stem starts with a term of six letters or more (Norwegian
    compounds: «velferdsteknologien», «heltidsstillinger»).
    """
    exact, prefixes = _wanted(terms)
    if not exact:
        return _e(text)
    out, pos = [], 0
    for m in _WORD.finditer(text):
        word = unicodedata.normalize("NFKC", m.group()).lower()
        stems = analyzer.terms(word)
        if not stems:
            continue
        stem = stems[0]
        if stem in exact or (prefixes and stem.startswith(prefixes)):
            out.append(_e(text[pos:m.start()]))
            out.append(f"<mark>{_e(m.group())}</mark>")
            pos = m.end()
    out.append(_e(text[pos:]))
    return "".join(out)


def _terms_for(answer: Answer, analyzer: Analyzer, hit: Hit | None = None) -> set[str]:
    terms = set(analyzer.terms(answer.question))
    if hit is not None:
        terms |= set(hit.matched_terms)
    return terms


RELEVANCE_BANDS = (0.5, 0.2)  # a hit's score is the probability that it holds the answer: high from even odds


def _relevance(hit: Hit, answered: bool, language: str) -> tuple[str, int]:
    t = CARD_TEXTS[language]
    score = max(0.0, min(1.0, float(hit.score)))
    if not answered:
        label = t["related"]
    elif score >= RELEVANCE_BANDS[0]:
        label = t["high"]
    elif score >= RELEVANCE_BANDS[1]:
        label = t["medium"]
    else:
        label = t["low"]
    return label, round(score * 10)


def render_card(n: int, hit: Hit, doc: Document, answer: Answer, ref: int, analyzer: Analyzer) -> str:
    """One source: title, date, section path, clause number, relevance, the clause with highlights."""
    t, ct = answer.texts, CARD_TEXTS[answer.language]
    label, tenth = _relevance(hit, answer.answered, answer.language)
    section = section_path(hit, doc)
    meta = [_e(section)] if section else []
    meta.append(f"{_e(t['clause'])} {hit.clause.ordinal}")
    terms = _terms_for(answer, analyzer, hit)
    leadin = f"<p class='card-leadin'>{highlight(hit.clause.leadin, terms, analyzer)}</p>" if hit.clause.leadin else ""
    date = f"<span class='card-date'>{_e(doc.date)}</span>" if doc.date else ""
    kind = "source-card" if answer.answered else "source-card related"
    return (
        f"<div class='{kind}'>"
        f"<div class='card-head'><span class='card-num'>[{n}]</span>"
        f"<span class='card-title'>{_e(doc.title)}</span>{date}</div>"
        f"<div class='card-meta'>{' · '.join(meta)}</div>"
        f"{leadin}<div class='card-text'>{highlight(hit.clause.text, terms, analyzer)}</div>"
        f"<div class='card-foot'>"
        f"<span class='relevance' title='{_e(ct['relevance'])} {hit.score:.2f}'>"
        f"<span class='rel-bar'><span class='rel-fill rel-{tenth}'></span></span>{_e(label)}</span>"
        f"<button type='button' class='show-doc ref-{int(ref)}'>{_e(ct['show'])}</button>"
        f"</div></div>"
    )


def share_query(**params) -> str:
    """The query string of a shareable link (`?q=…` asks, `?doc=…&avsnitt=N` opens a clause)."""
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


def render_tools(number: int, share: str, language: str = "nb", voted: str | None = None) -> str:
    """Vote and «Kopier lenke» buttons of answer `number`; the page script handles their clicks (assets.JS)."""
    ct = CARD_TEXTS.get(language, CARD_TEXTS["nb"])
    n = int(number)
    up = " voted" if voted == "up" else ""
    down = " voted" if voted == "down" else ""
    state = _e(ct[f"voted_{voted}"]) if voted in ("up", "down") else ""
    return (f"<div class='answer-tools ans-{n}'>"
            f"<button type='button' class='vote vote-up ans-{n}{up}'>{_e(ct['vote_up'])}</button>"
            f"<button type='button' class='vote vote-down ans-{n}{down}'>{_e(ct['vote_down'])}</button>"
            f"<button type='button' class='copy-link'>{_e(ct['copy_link'])}</button>"
            f"<span class='share-link'>{_e(share)}</span><span class='vote-state'>{state}</span></div>")


_TOOLS = re.compile(r"<div class='answer-tools ans-(\d+)'>.*?</div>", re.S)


def mark_voted(content: str, number: int, vote: str, language: str = "nb") -> str:
    """`content` (a chat message) with the tools of answer `number` showing `vote`."""
    def swap(m: re.Match) -> str:
        if int(m.group(1)) != int(number):
            return m.group(0)
        share = re.search(r"<span class='share-link'>(.*?)</span>", m.group(0), re.S)
        return render_tools(number, html.unescape(share.group(1)) if share else "", language, vote)

    return _TOOLS.sub(swap, content)


def _source_bits(answer: Answer, title: str, date: str, hit: Hit) -> str:
    """«title · avsnitt N · date»: a quote's source in one line."""
    return " · ".join([title, f"{answer.texts['clause']} {hit.clause.ordinal}"] + ([date] if date else []))


def render_source_line(hit: Hit, doc: Document, answer: Answer, ref: int) -> str:
    """One line naming the first source (what the compact view shows under the lead)."""
    ct = CARD_TEXTS[answer.language]
    word = ct["source"] if answer.answered else ct["nearest"]
    return (f"<p class='source-line'><b>{_e(word)}:</b> {_e(_source_bits(answer, doc.title, doc.date, hit))} "
            f"<button type='button' class='show-doc ref-{int(ref)}'>{_e(ct['show'])}</button></p>")


def render_answer(answer: Answer, analyzer: Analyzer, first_ref: int = 0,
                  number: int | None = None) -> tuple[str, list[list]]:
    """The reply as HTML, and the document targets [doc_id, start, end, ordinal] of its cards.

    Card n opens target `first_ref + n - 1` (the chat keeps one list of targets per session).
    With `number` (the answer's place in the conversation) the reply ends with one source
    line (for the compact view) and the vote and «Kopier lenke» buttons.
    """
    t, ct = answer.texts, CARD_TEXTS[answer.language]
    parts = [f"<div class='answer{'' if answer.answered else ' no-answer'}' lang='{_e(answer.language)}'>"]
    if answer.follow_up:
        parts.append(f"<p class='note'>{_e(ct['follow_up'])}</p>")
    parts.extend(f"<p class='note'>{_e(n)}</p>" for n in answer.notes)
    targets: list[list] = []
    if answer.answered and answer.groups:  # several agreements answer: one quote each, newest first
        parts.append(f"<p class='answer-label'>{_e(t['grouped'])}</p>")
        for g in answer.groups:
            terms = _terms_for(answer, analyzer, g.hit)
            c = g.hit.clause
            ref = first_ref + len(targets)
            targets.append([c.doc_id, c.start, c.end, c.ordinal])
            parts.append(f"<div class='group'><p class='group-title'><b>{_e(g.title)}</b>"
                         + (f" · {_e(g.date)}" if g.date else "")
                         + f" <button type='button' class='show-doc ref-{int(ref)}'>{_e(ct['show'])}</button></p>"
                         + "<blockquote class='lead'>"
                         + "".join(f"<p>«{highlight(s, terms, analyzer)}»</p>" for s in g.lead)
                         + "</blockquote></div>")
    elif answer.answered:
        terms = _terms_for(answer, analyzer, answer.hits[0] if answer.hits else None)
        parts.append(f"<p class='answer-label'>{_e(t['answer'])}</p><blockquote class='lead'>")
        parts.extend(f"<p>«{highlight(s, terms, analyzer)}»</p>" for s in answer.lead)
        parts.append("</blockquote>")
        if answer.also:  # the lead alone is less likely than not to answer: the next sentence, with its source
            a, c = answer.also, answer.also.hit.clause
            ref = first_ref + len(targets)
            targets.append([c.doc_id, c.start, c.end, c.ordinal])
            also_terms = _terms_for(answer, analyzer, a.hit)
            parts.append(f"<p class='answer-label also'>{_e(t['also'])} <span class='also-source'>"
                         f"{_e(_source_bits(answer, a.title, a.date, a.hit))}</span> "
                         f"<button type='button' class='show-doc ref-{int(ref)}'>{_e(ct['show'])}</button></p>"
                         "<blockquote class='lead also'>"
                         + "".join(f"<p>«{highlight(s, also_terms, analyzer)}»</p>" for s in a.lead)
                         + "</blockquote>")
    else:
        label, related = answer.refusal_keys
        parts.append(f"<p class='answer-label none{' unsure' if answer.unsure else ''}'><b>{_e(t[label])}</b></p>"
                     + (f"<p class='note'>{_e(t[related])}</p>" if answer.hits else ""))
    cards = []
    first_card = first_ref + len(targets)
    for n, hit in enumerate(answer.hits, 1):
        doc = answer.documents[hit.clause.doc_id]
        ref = first_ref + len(targets)
        targets.append([hit.clause.doc_id, hit.clause.start, hit.clause.end, hit.clause.ordinal])
        cards.append(render_card(n, hit, doc, answer, ref, analyzer))
    if cards:
        if answer.answered:
            parts.append(f"<p class='sources-label'>{_e(t['sources'])}</p>")
        parts.extend(cards[:CARDS_OPEN])
        if len(cards) > CARDS_OPEN:
            parts.append(f"<details><summary>{_e(ct['more'])} ({len(cards) - CARDS_OPEN})</summary>")
            parts.extend(cards[CARDS_OPEN:])
            parts.append("</details>")
    if number is not None:
        if answer.hits:
            hit = answer.hits[0]
            parts.append(render_source_line(hit, answer.documents[hit.clause.doc_id], answer, first_card))
        parts.append(render_tools(number, share_query(q=answer.question), answer.language))
    parts.append("</div>")
    return "".join(parts), targets


def render_question(question: str) -> str:
    """A user's question for the chat: whitespace collapsed, escaped."""
    return _e(" ".join(str(question).split()))


def render_notice(message: str) -> str:
    return f"<div class='notice'>{_e(message)}</div>"


def render_document(doc: Document, start: int = -1, end: int = -1, ordinal: int | None = None) -> str:
    """The whole document text, escaped, with characters [start, end) marked as the clause."""
    text = doc.text
    head = [f"<div class='doc-head'><h3>{_e(doc.title)}</h3><p>"]
    meta = [m for m in (doc.date, doc.kind, doc.file) if m]
    if ordinal:
        meta.append(f"avsnitt {int(ordinal)}")
    head.append(" · ".join(_e(m) for m in meta))
    head.append("</p>")
    if ordinal:
        head.append(f"<p class='doc-tools'><button type='button' class='copy-link'>Kopier lenke til avsnittet</button>"
                    f"<span class='share-link'>{_e(share_query(doc=doc.doc_id, avsnitt=int(ordinal)))}</span></p>")
    head.append("</div>")
    if 0 <= start < end <= len(text):
        body = (f"{_e(text[:start])}<mark class='doc-target' id='doc-target'>{_e(text[start:end])}</mark>"
                f"{_e(text[end:])}")
    else:
        body = _e(text)
    return "".join(head) + f"<div class='doc-scroll'>{body}</div>"


def render_documents(docs: list[dict]) -> str:
    """The overview of loaded documents as an HTML table."""
    if not docs:
        return "<p class='doc-empty'>Ingen dokumenter er lastet inn ennå. Last opp et dokument under.</p>"
    rows = "".join(
        f"<tr><td>{_e(d.get('title', ''))}</td><td class='date'>{_e(d.get('date', ''))}</td><td>{_e(d.get('kind', ''))}</td>"
        f"<td class='num'>{int(d.get('clauses', 0))}</td><td>{_e(d.get('file', ''))}</td></tr>"
        for d in docs
    )
    return ("<table class='doc-table' id='doc-table'><thead><tr><th>Tittel</th><th>Dato</th><th>Type</th>"
            f"<th>Avsnitt</th><th>Fil</th></tr></thead><tbody>{rows}</tbody></table>")


def render_skipped(reasons: dict[str, str]) -> str:
    """The files of the corpus folder that are not indexed, each with its reason (already bokmål)."""
    if not reasons:
        return ""
    items = "".join(f"<li><b>{_e(name)}</b>: {_e(why)}</li>" for name, why in sorted(reasons.items())[:50])
    more = f"<li>… og {len(reasons) - 50} til</li>" if len(reasons) > 50 else ""
    return (f"<div class='doc-skipped' id='doc-skipped'><p>Ikke tatt med i søket ({len(reasons)}):</p>"
            f"<ul>{items}{more}</ul></div>")


def render_summary(docs: list[dict]) -> str:
    """One line for the chat tab: how many documents and clauses the answers come from."""
    n, clauses = len(docs), sum(int(d.get("clauses", 0)) for d in docs)
    if not n:
        return "<p>Ingen dokumenter er lastet inn ennå. Legg til et under «Dokumenter».</p>"
    word = "dokument" if n == 1 else "dokumenter"
    newest = max(docs, key=lambda d: str(d.get("date", "")))
    return (f"<p>Svarer ut fra {n} {word} ({clauses} avsnitt), nyeste: «{_e(newest.get('title', ''))}»"
            f"{' (' + _e(newest['date']) + ')' if newest.get('date') else ''}. Se fanen «Dokumenter».</p>")



def facts_slug(doc_id: str) -> str:
    """A document id as one class name (the chat's sanitizer keeps classes, not ids)."""
    return re.sub(r"[^\w-]+", "-", doc_id)


def render_facts(doc: Document, rows: list[dict], first_ref: int = 0, ref_prefix: str = "ref") -> tuple[str, list[list]]:
    """«Avtalen i korte trekk» for one document, and the targets of its «Vis i dokumentet» buttons.

    Each row quotes a clause of the document; button k opens target `first_ref + k`
    (`ref_prefix` "ref" inside the chat, "fref" on the Dokumenter tab).
    """
    targets: list[list] = []
    slug = _e(facts_slug(doc.doc_id))
    out = [f"<div class='facts-card facts-for-{slug}' id='facts-{slug}'><p class='facts-title'><b>{_e(doc.title)}</b>"
           f"{' · ' + _e(doc.date) if doc.date else ''}</p>"]
    if not rows:
        out.append("<p class='note'>Fant ingen avsnitt som sier hvem partene er, når avtalen gjelder eller hva den skal. "
                   "Still et spørsmål om dokumentet i stedet.</p>")
    for row in rows:
        out.append(f"<div class='fact fact-{_e(row.get('row', ''))}'><span class='fact-label'>{_e(row.get('label', ''))}</span>"
                   f"<div class='fact-body'>")
        for q in row.get("quotes", []):
            ref = first_ref + len(targets)
            targets.append([doc.doc_id, int(q.get("start", -1)), int(q.get("end", -1)), int(q.get("ordinal", 0))])
            heading = f"<b>{_e(q['heading'])}:</b> " if q.get("heading") else ""
            out.append(f"<p class='fact-quote'>{heading}«{_e(q.get('text', ''))}» "
                       f"<span class='fact-meta'>avsnitt {int(q.get('ordinal', 0))}</span> "
                       f"<button type='button' class='show-doc {ref_prefix}-{ref}'>Vis i dokumentet</button></p>")
        out.append("</div></div>")
    out.append("</div>")
    return "".join(out), targets


def render_facts_reply(cards: list[str], number: int, question: str) -> str:
    """The chat reply to «Hva er denne avtalen?»: the facts card(s), then the answer tools."""
    return ("<div class='answer facts-reply' lang='nb'><p class='answer-label'>Avtalen i korte trekk</p>"
            + "".join(cards) + render_tools(number, share_query(q=question)) + "</div>")


def facts_text(doc: Document, rows: list[dict]) -> str:
    """The facts card as plain text (copy and download)."""
    lines = [f"Avtalen i korte trekk: {doc.title}" + (f" ({doc.date})" if doc.date else "")]
    for row in rows:
        for q in row.get("quotes", []):
            heading = f"{q['heading']}: " if q.get("heading") else ""
            lines.append(f"- {row.get('label', '')}: {heading}«{q.get('text', '')}» (avsnitt {q.get('ordinal', 0)})")
    return "\n".join(lines) + "\n"
