"""The one entry point: `Assistant` ties config, index, search and answers together."""

from __future__ import annotations

import logging
import os
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path

from .answer import Answer, Group, answers_question, lead_first
from .compose import Composer, Extractive, check_answer
from .config import Config
from .embed import load_embedder
from .errors import DocumentError, IndexError_, Message, QuestionError
from .facts import FACTS_FILE, compute_facts, load_facts, save_facts
from .feedback import FeedbackStore
from .index import MANIFEST, BuildReport, IndexData, build_index, load_index, plan_build, read_manifest_safely
from .loaders import META_SUFFIX, SUPPORTED, list_documents, load_document
from .profile import is_agreement, kind_label
from .query import parse_query, to_bokmal, use_apertium
from .search import Searcher, SearchParams, SearchResult
from .types import Document
from .uploads import Upload, recover

__all__ = ["Assistant", "TRASH", "clean_question", "safe_filename"]

log = logging.getLogger("avtaleassistenten")
TRASH = ".trash"  # removed documents go here inside the corpus folder (hidden: never indexed)
MAX_GROUPS = 3  # agreements in a reply grouped by agreement


def _manifest_stat(index_dir: Path) -> tuple | None:
    try:
        st = (Path(index_dir) / MANIFEST).stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size

_PRONOUN = re.compile(r"\b(den|det|dette|denne|disse|dei|dem|hen|ho|han|it|its|that|this|they|them|those)\b", re.I)
_ASKS_AGREEMENT = re.compile(r"\b(avtal\w*|\w+avtal(e|en|ene|a)|agreements?)\b", re.I)
_CONTINUES = re.compile(r"^\s*(og|men|også|enn|and|but|also|what about|hva med|kva med)\b", re.I)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ud800-\udfff]")


def _neg_date(date: str) -> tuple:
    """A sort key that puts the newest date first (and undated documents last)."""
    return (not date, tuple(-int(p) for p in re.findall(r"\d+", date)))


def clean_question(question: object, max_chars: int) -> str:
    """Normalise a question; raise QuestionError if nothing searchable is left."""
    if not isinstance(question, str):
        raise QuestionError("the question must be text", "question.not_text")
    text = unicodedata.normalize("NFC", _CONTROL.sub(" ", question))
    text = " ".join(text.split())
    if not text:
        raise QuestionError("the question is empty; type a question about the agreements", "question.empty")
    if len(text) > max_chars:
        raise QuestionError(f"the question is {len(text):,} characters; the limit is {max_chars:,}", "question.too_long",
                            length=len(text), limit=max_chars)
    if not any(ch.isalnum() for ch in text):
        raise QuestionError("the question has no words to search for", "question.no_words")
    return text


_SAFE_NAME = re.compile(r"[^\w.\- ]+", re.UNICODE)


def safe_filename(name: str) -> str:
    """A plain file name (no folders, no hidden files) for an uploaded document."""
    base = os.path.basename(str(name).replace("\\", "/")).strip()
    base = unicodedata.normalize("NFC", base)
    shown = " ".join(_CONTROL.sub(" ", base).split())[:140] or "the file"  # for messages: one line
    stem, dot, suffix = base.rpartition(".")
    suffix = re.sub(r"[^0-9A-Za-z]+", "", suffix).lower()[:16]
    if not dot or not suffix:
        raise DocumentError(f"{shown} has no file type; use {', '.join(SUPPORTED)}", "document.unsupported_type",
                            name=shown, suffix="", supported=SUPPORTED)
    stem = _SAFE_NAME.sub("-", stem).strip(" .-")[:120]
    if not stem:
        raise DocumentError(f"{shown!r} is not a usable file name", "document.bad_name", name=shown)
    return f"{stem}.{suffix}"


def _warm_translator() -> None:
    """Start the nynorsk translator in the background: its first question costs ~1 s."""
    threading.Thread(target=to_bokmal, args=("Kva seier avtalen?",), daemon=True).start()


class Assistant:
    """Answers questions from the documents in `config.corpus_dir`.

    The model and the index load on first use. Safe to share between threads: a search
    reads one immutable Searcher; adding documents swaps in a new one under a lock.
    `warm_translator=False` leaves the nynorsk translator to start on the first nynorsk
    question (a one-question process: its start costs ~1 s of CPU on 2 cores a bokmål
    question does not need). `build_missing=False`: a folder with no index is an IndexError_
    instead of being built on first use (`assistant ask`, `retrieve`; see `load`).
    """

    def __init__(self, config: Config | None = None, embedder=None, warm_translator: bool = True,
                 composer: Composer | None = None, build_missing: bool = True):
        self.config = config or Config.from_env()
        use_apertium(self.config.apertium)
        self._embedder = embedder
        self.composer = composer or Extractive()  # what turns a search into a reply (compose.py)
        self._build_missing = build_missing
        self._warm = warm_translator
        self._searcher: Searcher | None = None
        self._lock = threading.RLock()
        self.last_report: BuildReport | None = None
        self._feedback: FeedbackStore | None = None
        self._seen_manifest: tuple | None = None  # (inode, mtime, size) of the manifest we loaded or wrote
        self._facts: tuple[tuple, dict] | None = None  # ((manifest checksum, data id), {doc_id: facts})
        self._recovered: list[str] | None = None  # uploads rolled back at start (recover_uploads)

    # -- loading -------------------------------------------------------------
    @property
    def embedder(self):
        if self._embedder is None:
            c = self.config
            self._embedder = load_embedder(c.model, batch_size=c.batch_size, backend=c.backend, cache_dir=c.cache_dir)
        return self._embedder

    def _params(self) -> SearchParams:
        c = self.config
        return SearchParams(candidates=c.candidates, context_chars=c.context_chars,
                            models_file=str(c.models_file) if c.models_file else None)

    def index(self, progress: Callable[[str, float], None] | None = None) -> BuildReport:
        """Bring the index up to date with the corpus folder (embeds only changed documents).

        Also computes the facts card of each new or changed document (facts.py). An index that
        another process wrote meanwhile is taken up first (`sync`), so it is built upon, not undone.
        """
        with self._lock:
            self.recover_uploads()
            self.sync()
            previous = self._searcher.data if self._searcher is not None else None
            data, report = build_index(
                self.config.corpus_dir, self.config.index_dir, self.embedder,
                max_file_bytes=self.config.max_file_bytes, progress=progress, previous=previous,
                hnsw_cache=self._hnsw_cache(),
            )
            self._searcher = Searcher(data, self.embedder, self._params())
            self._seen_manifest = _manifest_stat(self.config.index_dir)
            report.rolled_back = list(self._recovered or []) if self.last_report is None else []  # the first build says it
            self.last_report = report
            self._update_facts(self._searcher, write=True)
            return report

    def _hnsw_cache(self) -> Path | None:
        return getattr(self.config, "hnsw_cache", None)

    def load(self, build_missing: bool | None = None, *, rebuild_if_needed: bool | None = None) -> Searcher:
        """The searcher over the current index, read on first use. Reading never writes the index folder.

        An index built with another model or splitter version, or a damaged one, is an IndexError_
        that names the fix (`assistant index`, or another --index folder for another model). Only a
        folder with no index at all is built (`index()`), and only if `build_missing` (default:
        the Assistant's; True unless made with build_missing=False, as `assistant ask` and
        `retrieve` are). `rebuild_if_needed` is the old name of `build_missing`. An upload that a killed process left half done is rolled
        back and the index brought up to date (finishing that process's write, uploads.py).
        """
        if rebuild_if_needed is not None:
            build_missing = rebuild_if_needed
        if build_missing is None:
            build_missing = self._build_missing
        searcher = self._searcher
        if searcher is not None:
            return searcher
        with self._lock:
            if self._searcher is None:
                if self._recovered is None and self.recover_uploads():
                    self.index()  # the index may hold an upload that was just rolled back
                    return self._searcher
                if self._warm:
                    _warm_translator()
                prepare = getattr(self.embedder, "prepare", None)
                if prepare is not None:
                    prepare()  # the model loads while the index is read and the searcher built
                index_dir = self.config.index_dir
                stat = _manifest_stat(index_dir)
                if stat is None:  # no index at all
                    if not build_missing:
                        raise IndexError_(f"no index in {index_dir}; build it with: assistant index --index {index_dir}")
                    self.index()
                    return self._searcher
                try:
                    data = load_index(index_dir, model=self.embedder.name, hnsw_cache=self._hnsw_cache())
                except IndexError_ as exc:
                    if "assistant index" in str(exc):
                        raise
                    raise IndexError_(f"{exc}; rebuild it with: assistant index --index {index_dir}") from None
                self._searcher = Searcher(data, self.embedder, self._params())
                self._seen_manifest = stat
            return self._searcher

    def sync(self) -> bool:
        """Take up an index that another process (`assistant index`) wrote since we loaded ours.

        Cheap when nothing changed (one stat of the manifest). Returns True if it reloaded.
        Keeps the current index if the new one cannot be read or a build here is running.
        """
        if self._searcher is None or _manifest_stat(self.config.index_dir) == self._seen_manifest:
            return False
        if not self._lock.acquire(blocking=False):
            return False
        try:
            stat = _manifest_stat(self.config.index_dir)
            if stat == self._seen_manifest:
                return False
            try:
                data = load_index(self.config.index_dir, model=self.embedder.name, hnsw_cache=self._hnsw_cache())
            except IndexError_:
                return False
            self._searcher = Searcher(data, self.embedder, self._params())
            self._seen_manifest = stat
            return True
        finally:
            self._lock.release()

    def pending(self) -> int:
        """How many files of the corpus folder are added, changed or removed since the index was built
        (reads file hashes, embeds and writes nothing)."""
        searcher = self.load()
        plan = plan_build(self.config.corpus_dir, self.config.index_dir, searcher.data.model, previous=searcher.data)
        return len(plan.added) + len(plan.updated) + len(plan.removed)

    def refresh(self, progress: Callable[[str, float], None] | None = None) -> BuildReport:
        """Pick up added, changed and removed files of the corpus folder (and an index written elsewhere)."""
        return self.index(progress=progress)

    # -- facts («Avtalen i korte trekk») -------------------------------------
    def _update_facts(self, searcher: Searcher, write: bool = False) -> dict:
        """The facts of every document of `searcher`, computing only those whose document (or the
        model, threshold, facts code) changed. Only a build (`write`, from `index()`) rewrites
        facts.json, when they or the index changed; a read computes missing facts in memory."""
        key = (read_manifest_safely(self.config.index_dir) or {}).get("checksum", "")
        if self._facts is not None and self._facts[0] == (key, id(searcher.data)):
            return self._facts[1]
        stored_key, stored = load_facts(self.config.index_dir)
        previous = {**stored, **(self._facts[1] if self._facts else {})}
        facts = compute_facts(searcher, self.config.abstain_threshold, previous)
        if write and key and (stored_key != key or facts != stored):
            try:
                save_facts(self.config.index_dir, key, facts)
            except OSError as exc:  # a read-only or full disk: the facts still serve from memory
                log.warning("could not write %s: %s", FACTS_FILE, exc)
        self._facts = ((key, id(searcher.data)), facts)
        return facts

    def facts(self, doc_id: str) -> list[dict]:
        """The facts card of a document: rows of {row, label, quotes: [{ordinal, start, end, text}]}."""
        searcher = self.load()
        self.document(doc_id)
        with self._lock:
            facts = self._update_facts(searcher)
        return list((facts.get(doc_id) or {}).get("rows", []))

    @property
    def data(self) -> IndexData:
        return self.load().data

    # -- questions -----------------------------------------------------------
    def retrieve(self, question: str, top_k: int | None = None, context: bool = True) -> SearchResult:
        """Ranked hits; `context=False` ranks bare clauses (no neighbours merged into passages)."""
        text = clean_question(question, self.config.max_question_chars)
        return self.load().search(text, top_k or self.config.top_k, context=context)

    def ask(self, question: str, history: Sequence[str] = (), top_k: int | None = None, context: bool = True,
            docs: Sequence[str] | None = None, kinds: Sequence[str] | None = None) -> Answer:
        """Answer one question. `history` holds the earlier questions of the conversation;
        `context=False` gives bare clauses instead of clauses with their neighbours; `docs` and
        `kinds` limit the search to those documents (ids or file names) and kinds («avtale»).

        A question that names no agreement, where several agreements answer it, gets a reply
        grouped by agreement (`Answer.groups`, newest first)."""
        text = clean_question(question, self.config.max_question_chars)
        searcher = self.load()
        chosen = self.choose_documents(docs, kinds)
        doc_id = self._follow_up_doc(text, history, searcher)
        if doc_id is not None and chosen is not None and doc_id not in chosen:
            doc_id = None
        shown = text if doc_id is None else f"{text} ({searcher.data.documents[doc_id].title})"
        k = top_k or self.config.top_k
        about_kind = ""
        query = parse_query(text)
        searched, named = searcher.scope(query, chosen)
        result = None
        own = self._own_text(text, searcher, searched) if doc_id is None else None
        if own is not None:  # «Hva sier avtalen om …?»: the agreements' own text first
            result = searcher.search(query, k, context=context, docs=own)
            if not self._answers(result):  # they do not answer: the pages about them may
                wider = searcher.search(query, k, qvec=result.qvec, context=context, docs=chosen)
                if self._answers(wider):
                    result = wider
                    lead = wider.lead_clause
                    if lead is not None and searcher.profiles[lead.doc_id].about:
                        about_kind = searcher.profiles[lead.doc_id].kind
        if result is None:
            result = searcher.search(query, k, restrict_doc=doc_id, context=context, docs=chosen)
        answer = self.composer.compose(text, shown, result, searcher.data.documents, self.config.abstain_threshold,
                                       follow_up=doc_id is not None)
        searches = [result]
        if answer.answered and about_kind:
            answer.notes.append(answer.texts["about_note"].format(kind=about_kind))
        elif answer.answered and doc_id is None and not named:
            answer.groups, more = self._agreement_groups(searcher, result, k, context)
            searches += more
        if result.uncalibrated:
            answer.notes.append(answer.texts["uncalibrated"].format(model=result.uncalibrated))
        return check_answer(answer, searches)

    def named_documents(self, question: str) -> list[str]:
        """The documents a question names («kvalitetsavtalen», «Leve hele livet-avtalen», «avtalen
        fra 2012»), agreements first and newest first; [] when it names none."""
        searcher = self.load()
        _, named = searcher.scope(parse_query(clean_question(question, self.config.max_question_chars)))
        return sorted(named, key=lambda d: (not is_agreement(searcher.profiles[d]), _neg_date(searcher.profiles[d].date)))

    def agreements(self) -> list[str]:
        """The documents that are agreements (profile.py), newest first."""
        profiles = self.load().profiles
        return sorted((d for d, p in profiles.items() if is_agreement(p)), key=lambda d: _neg_date(profiles[d].date))

    def _answers(self, result: SearchResult) -> bool:
        return answers_question(result, self.config.abstain_threshold)

    def _agreement_groups(self, searcher: Searcher, result: SearchResult, top_k: int, context: bool
                          ) -> tuple[list[Group], list[SearchResult]]:
        """When the answer comes from an agreement and other agreements among the hits also answer
        the question (each searched alone, the abstention model deciding), one group per agreement,
        newest first, with the searches they come from; else [], []. The same fitted models decide as
        for any answer."""
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
            if self._answers(alone):
                found.append((d, list(alone.lead), lead_first(alone)[0]))
                searches.append(alone)
        if len(found) < 2:
            return [], []
        docs = searcher.data.documents
        groups = [Group(d, docs[d].title, profiles[d].date, lead_, hit) for d, lead_, hit in found]
        return sorted(groups, key=lambda g: g.date, reverse=True), searches

    @staticmethod
    def _own_text(text: str, searcher: Searcher, docs: frozenset[str]) -> frozenset[str] | None:
        """For a question about what an agreement says, the documents it searches (`docs`: the
        chosen ones, or those it names) without the text about something else (press releases,
        news); None when that changes nothing."""
        if not _ASKS_AGREEMENT.search(text):
            return None
        own = frozenset(d for d in docs if not searcher.profiles[d].about)
        return own if own and own != docs else None

    def choose_documents(self, docs: Sequence[str] | None = None, kinds: Sequence[str] | None = None
                         ) -> frozenset[str] | None:
        """The document ids that `docs` (ids or file names) and `kinds` name, or None for all.
        Raises DocumentError naming what is not there."""
        if not docs and not kinds:
            return None
        searcher = self.load()
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

    def _follow_up_doc(self, text: str, history: Sequence[str], searcher: Searcher) -> str | None:
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
            prev = clean_question(previous[-1], self.config.max_question_chars)
        except QuestionError:
            return None
        found = searcher.search(prev, 1)
        if found.lead_clause is not None:
            return found.lead_clause.doc_id
        return found.hits[0].clause.doc_id if found.hits else None

    # -- documents -----------------------------------------------------------
    def documents(self) -> list[dict]:
        """One row per document, newest first; a kind or date that no sidecar gives is inferred (profile.py)."""
        searcher = self.load()
        data = searcher.data
        counts: dict[str, int] = {}
        for c in data.clauses:
            counts[c.doc_id] = counts.get(c.doc_id, 0) + 1
        rows = []
        for d in data.documents.values():
            p = searcher.profiles.get(d.doc_id)
            rows.append({"doc_id": d.doc_id, "file": d.file, "title": d.title, "date": d.date or (p.date if p else ""),
                         "kind": d.kind or (p.kind if p else ""), "clauses": counts.get(d.doc_id, 0)})
        return sorted(rows, key=lambda r: (r["date"], r["title"]), reverse=True)

    def skipped(self) -> dict[str, str]:
        """Files of the corpus folder left out of the index, each with a one-line reason: the last
        build's (unreadable files) and the links and other non-files found in the folder now."""
        out = dict(self.last_report.skipped) if self.last_report is not None else {}
        try:
            list_documents(self.config.corpus_dir, skipped=out)
        except DocumentError:
            pass
        for name in self._recovered or []:  # until it is uploaded again
            out.setdefault(name, Message(f"the upload of {name} was cut off (the server stopped) and was rolled back",
                                         "document.upload_cut_off", name=name))
        return out

    def document(self, doc_id: str) -> Document:
        doc = self.data.documents.get(doc_id)
        if doc is None:
            raise DocumentError(f"no document named {doc_id!r} is loaded", "document.unknown", name=doc_id)
        return doc

    def add_document(self, source: Path | str, name: str | None = None,
                     progress: Callable[[str, float], None] | None = None) -> BuildReport:
        """Copy a file into the corpus folder and index it. A bad file changes nothing.

        Whole or absent across a crash too: the upload is journalled (uploads.py) and an
        unfinished one is rolled back when the next Assistant starts.
        """
        source = Path(source)
        filename = safe_filename(name or source.name)
        if Path(filename).suffix.lower() not in SUPPORTED:
            raise DocumentError(f"{filename}: unsupported file type; use {', '.join(SUPPORTED)}", "document.unsupported_type",
                                name=filename, suffix=Path(filename).suffix.lower(), supported=SUPPORTED)
        corpus = self.config.corpus_dir.resolve()
        target = corpus / filename  # not resolved: an existing link of that name is replaced, never followed
        if target.parent.resolve() != corpus or target.name != filename:
            raise DocumentError(f"{filename!r} would be stored outside the corpus folder", "document.bad_name", name=filename)
        if not source.is_file():
            raise DocumentError(f"{source.name or 'the upload'} is not a readable file", "document.unreadable",
                                name=source.name)
        with self._lock:
            self.recover_uploads()
            stem = Path(filename).stem
            clash = [p.name for p in corpus.iterdir()
                     if p.is_file() and p.name != filename and p.stem == stem and Path(p.name).suffix.lower() in SUPPORTED]
            if clash:  # it would replace (or be hidden by) another document with the same name
                raise DocumentError(f"{filename}: a document named {clash[0]} already exists; rename the file",
                                    "document.exists", name=filename, existing=clash[0])
            try:
                upload = Upload(corpus)
            except OSError as exc:
                raise DocumentError(f"{filename} cannot be stored ({exc.strerror or type(exc).__name__})",
                                    "document.not_stored", name=filename) from None
            with upload:
                staged = upload.stage(source, filename)
                load_document(staged, max_bytes=self.config.max_file_bytes)  # validate first
                try:
                    upload.write_intent(target)
                    upload.place()
                except OSError as exc:  # e.g. a full disk: the corpus folder is as it was
                    upload.restore()
                    raise DocumentError(f"{filename} cannot be stored ({exc.strerror or type(exc).__name__})",
                                        "document.not_stored", name=filename) from None
                report = None
                try:
                    report = self.index(progress=progress)
                    if filename in report.skipped:  # e.g. changed between validation and indexing
                        raise DocumentError(report.skipped[filename])  # the reason's code and params with it
                    try:
                        upload.mark_done()
                    except OSError as exc:  # no completion mark: undone, as if indexing had failed
                        raise DocumentError(f"{filename} cannot be stored ({exc.strerror or type(exc).__name__})",
                                            "document.not_stored", name=filename) from None
                except BaseException:
                    upload.restore()
                    if report is not None:
                        self.index()  # the index (or its skip list) took the upload in: back as it was
                    raise
            if filename in (self._recovered or []):
                self._recovered.remove(filename)  # its cut-off upload is no longer news
            return report

    def recover_uploads(self) -> list[str]:
        """Roll back the uploads that a killed process left unfinished (once per Assistant; see uploads.py).

        Returns the files rolled back; the next `index()` drops them from the index too.
        """
        if self._recovered is None:
            with self._lock:
                if self._recovered is None:
                    try:
                        self._recovered = recover(self.config.corpus_dir)
                    except OSError as exc:
                        log.warning("could not finish the unfinished uploads: %s", exc.strerror or exc)
                        self._recovered = []
                    for name in self._recovered:
                        log.warning("rolled back the unfinished upload of %s", name)
        return list(self._recovered)

    def remove_document(self, doc_id: str) -> BuildReport:
        """Move a document's file (and its .meta.json) to corpus/.trash/ and drop its clauses from the index."""
        with self._lock:
            doc = self.document(doc_id)
            corpus = self.config.corpus_dir.resolve()
            source = (corpus / doc.file).resolve()
            if source.parent != corpus or not source.is_file():
                raise DocumentError(f"{doc.file} is not in the corpus folder any more", "document.gone", name=doc.file)
            trash = corpus / TRASH
            moved: list[tuple[Path, Path]] = []
            try:
                trash.mkdir(exist_ok=True)
                stamp = time.strftime("%Y%m%d-%H%M%S")
                for path in (source, source.with_name(source.stem + META_SUFFIX)):
                    if path.is_file():
                        target = trash / path.name
                        if target.exists():
                            target = trash / f"{source.stem}.{stamp}{path.name[len(source.stem):]}"
                        os.replace(path, target)
                        moved.append((path, target))
                return self.index()
            except OSError as exc:
                for path, target in reversed(moved):
                    os.replace(target, path)
                raise DocumentError(f"{doc.file} cannot be moved to {TRASH}/ ({exc.strerror or exc})", "document.not_moved",
                                    name=doc.file) from None
            except BaseException:
                for path, target in reversed(moved):
                    os.replace(target, path)
                raise

    # -- feedback ------------------------------------------------------------
    @property
    def feedback(self) -> FeedbackStore:
        """The votes database (created on first use; an old feedback.jsonl is imported once)."""
        if self._feedback is None:
            with self._lock:
                if self._feedback is None:
                    self._feedback = FeedbackStore(self.config.votes_db, legacy_jsonl=self.config.feedback_file)
        return self._feedback

    def remember_answer(self, answer: dict) -> str:
        """Keep what was shown for an answer (its JSON) so that a vote can name it; returns its id."""
        return self.feedback.remember(answer)

    def vote(self, answer_id: str, vote: str, comment: str = "") -> dict:
        """A vote on an answer the server gave and remembered (`remember_answer`), by its id: the
        stored vote holds the server's copy of the question and clauses. {answer_id, vote, question}."""
        return self.feedback.vote(answer_id, vote, comment)

    def record_feedback(self, answer: dict, vote: str, comment: str = "", answer_id: str | None = None) -> str:
        """Store a vote on an answer (its JSON, as `Answer.to_json` gives it); returns the answer id.

        For the library's own callers, who are trusted with what they pass: the app and its API
        use `vote` (by id) instead. One vote per answer id (`answer_id`, else `answer["answer_id"]`, else a new one): voting
        again on the same answer replaces the vote.
        """
        return self.feedback.record(answer, vote, comment, answer_id=answer_id)
