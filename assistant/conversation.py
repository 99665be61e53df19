"""One question of a conversation, from its text to a checked reply.

    the question -> the documents chosen (ids, file names, kinds) -> a follow-up's document
      -> the documents it names -> the agreements' own text first when it asks what an agreement
         says (pages about them only when those do not answer) -> search -> compose -> one group
         per agreement when several answer -> check the reply against the searches (compose.py)

Every decision to answer is the fitted abstention model's (`answers_question`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .answer import Answer, Group, answers_question, lead_first
from .compose import Composer, check_answer
from .errors import DocumentError, QuestionError
from .inputs import clean_question
from .profile import is_agreement, kind_label, mentions_agreement
from .query import parse_query
from .search import Searcher, SearchResult

__all__ = ["MAX_GROUPS", "answer", "choose_documents", "follow_up_doc", "newest_first"]

MAX_GROUPS = 3  # agreements in a reply grouped by agreement

_PRONOUN = re.compile(r"\b(den|det|dette|denne|disse|dei|dem|hen|ho|han|it|its|that|this|they|them|those)\b", re.I)
_CONTINUES = re.compile(r"^\s*(og|men|også|enn|and|but|also|what about|hva med|kva med)\b", re.I)


def newest_first(searcher: Searcher, doc_ids, agreements_first: bool = False) -> list[str]:
    """`doc_ids` newest first (undated last); agreements before the rest when asked."""
    profiles = searcher.profiles

    def key(d):
        date = profiles[d].date
        newest = (not date, tuple(-int(p) for p in re.findall(r"\d+", date)))
        return (not is_agreement(profiles[d]), newest) if agreements_first else newest

    return sorted(doc_ids, key=key)


def answer(searcher: Searcher, composer: Composer, text: str, threshold: float, top_k: int, max_chars: int,
           history: Sequence[str] = (), context: bool = True, chosen: frozenset[str] | None = None) -> Answer:
    """The reply to `text` (a cleaned question) searched in `chosen` (None: all documents)."""
    doc_id = follow_up_doc(searcher, text, history, max_chars)
    if doc_id is not None and chosen is not None and doc_id not in chosen:
        doc_id = None
    shown = text if doc_id is None else f"{text} ({searcher.data.documents[doc_id].title})"
    about_kind = ""
    query = parse_query(text)
    searched, named = searcher.scope(query, chosen)
    result = None
    own = own_text(text, searcher, searched) if doc_id is None else None
    if own is not None:  # «Hva sier avtalen om …?»: the agreements' own text first
        result = searcher.search(query, top_k, context=context, scope=(own, named))
        if not answers_question(result, threshold):  # they do not answer: the pages about them may
            wider = searcher.search(query, top_k, qvec=result.qvec, context=context, scope=(searched, named))
            if answers_question(wider, threshold):
                result = wider
                lead = wider.lead_clause
                if lead is not None and searcher.profiles[lead.doc_id].about:
                    about_kind = searcher.profiles[lead.doc_id].kind
    if result is None:
        result = searcher.search(query, top_k, restrict_doc=doc_id, context=context, scope=(searched, named))
    reply = composer.compose(text, shown, result, searcher.data.documents, threshold, follow_up=doc_id is not None)
    searches = [result]
    if reply.answered and about_kind:
        reply.notes.append(reply.texts["about_note"].format(kind=about_kind))
    elif reply.answered and doc_id is None and not named:
        reply.groups, more = agreement_groups(searcher, result, top_k, context, threshold)
        searches += more
        if reply.groups:  # each agreement's own quote stands in for a second quote
            reply.also = None
    if result.uncalibrated:
        reply.notes.append(reply.texts["uncalibrated"].format(model=result.uncalibrated))
    return check_answer(reply, searches)


def agreement_groups(searcher: Searcher, result: SearchResult, top_k: int, context: bool, threshold: float
                     ) -> tuple[list[Group], list[SearchResult]]:
    """When the answer comes from an agreement and other agreements among the hits also answer
    the question (each searched alone, the abstention model deciding), one group per agreement,
    newest first, with the searches they come from; else [], []."""
    lead = result.lead_clause
    profiles = searcher.profiles
    if lead is None or not is_agreement(profiles[lead.doc_id]):
        return [], []
    found = [(lead.doc_id, list(result.lead), lead_first(result)[0])]
    searches = []
    for h in result.hits:
        d = h.clause.doc_id
        if len(found) >= MAX_GROUPS:
            break
        if any(d == f[0] for f in found) or not is_agreement(profiles[d]):
            continue
        alone = searcher.search(result.query, top_k, qvec=result.qvec, restrict_doc=d, context=context)
        if answers_question(alone, threshold):
            found.append((d, list(alone.lead), lead_first(alone)[0]))
            searches.append(alone)
    if len(found) < 2:
        return [], []
    docs = searcher.data.documents
    groups = [Group(d, docs[d].title, profiles[d].date, lead_, hit) for d, lead_, hit in found]
    return sorted(groups, key=lambda g: g.date, reverse=True), searches


def own_text(text: str, searcher: Searcher, docs: frozenset[str]) -> frozenset[str] | None:
    """For a question about what an agreement says, the documents it searches (`docs`: the chosen
    ones, or those it names) without the text about something else (press releases, news); None
    when that changes nothing."""
    if not mentions_agreement(text):
        return None
    own = frozenset(d for d in docs if not searcher.profiles[d].about)
    return own if own and own != docs else None


def choose_documents(searcher: Searcher, docs: Sequence[str] | None = None, kinds: Sequence[str] | None = None
                     ) -> frozenset[str] | None:
    """The document ids that `docs` (ids or file names) and `kinds` name, or None for all.
    Raises DocumentError naming what is not there."""
    if not docs and not kinds:
        return None
    by_name = {d.file: d.doc_id for d in searcher.data.documents.values()}
    chosen = set(searcher.doc_ids)
    if docs:
        ids = set()
        for name in docs:
            d = name if name in searcher.profiles else by_name.get(name)
            if d is None:
                raise DocumentError(f"no document named {name!r} is loaded; see the Dokumenter tab "
                                    "or `assistant ask --json` for the names", "document.unknown", name=name)
            ids.add(d)
        chosen &= ids
    if kinds:
        wanted = {kind_label(k) for k in kinds}
        have = {p.kind for p in searcher.profiles.values()}
        if not wanted & have:
            listed = ", ".join(sorted(k for k in have if k)) or "none known"
            raise DocumentError(f"no documents of kind {', '.join(sorted(wanted))} (kinds here: {listed})",
                                "document.unknown_kind", kinds=sorted(wanted), known=listed)
        chosen &= {d for d, p in searcher.profiles.items() if p.kind in wanted}
    if not chosen:
        raise DocumentError("no document is both among the chosen documents and of the chosen kinds",
                            "document.none_chosen")
    return frozenset(chosen)


def follow_up_doc(searcher: Searcher, text: str, history: Sequence[str], max_chars: int) -> str | None:
    """The document a short or referring follow-up is about: the one the previous answer quoted.

    «hvem signerte kvalitetsavtalen?» then «og når utløper den?»: the second is searched in
    the document that answered the first.
    """
    previous = [h for h in history if isinstance(h, str) and h.strip()]
    if not previous:
        return None
    terms = searcher.analyzer.terms(text)
    refers = bool(_CONTINUES.search(text)) or (bool(_PRONOUN.search(text)) and len(terms) <= 2)
    if not (len(terms) <= 1 or refers):
        return None
    try:
        prev = clean_question(previous[-1], max_chars)
    except QuestionError:
        return None
    found = searcher.search(prev, 1)
    if found.lead_clause is not None:
        return found.lead_clause.doc_id
    return found.hits[0].clause.doc_id if found.hits else None
