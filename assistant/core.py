"""The one entry point: `Assistant` ties config, index, search and answers together."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from . import conversation
from .answer import Answer
from .compose import Composer, Extractive
from .config import Config
from .embed import load_embedder
from .errors import DocumentError, IndexError_, Message
from .facts import update_facts
from .feedback import FeedbackStore
from .index import MANIFEST, BuildReport, IndexData, build_index, load_index, plan_build, read_manifest_safely
from .inputs import clean_question, safe_filename
from .loaders import list_documents, load_document
from .profile import is_agreement
from .query import parse_query, use_apertium
from .search import Searcher, SearchParams, SearchResult
from .store import make_store
from .types import Document
from .uploads import TRASH, Upload, put_back, recover, refuse_clash, to_trash, upload_target

__all__ = ["Assistant", "TRASH", "clean_question", "safe_filename"]

log = logging.getLogger("avtaleassistenten")


def _manifest_stat(index_dir: Path) -> tuple | None:
    try:
        st = (Path(index_dir) / MANIFEST).stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size




def _warm_translator() -> None:
    """Start the nynorsk translator and the two analysers in the background: the first question costs ~1 s."""
    threading.Thread(target=parse_query, args=("Kva seier avtalen?",), daemon=True).start()


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

    def _searcher_for(self, data: IndexData) -> Searcher:
        """A searcher over `data`, its vectors in the configured store (config.vector_store)."""
        if self.config.vector_store != "faiss":  # the index folder's FAISS file is the default store
            data = data.with_store(make_store(self.config.vector_store, data.dim))
        return Searcher(data, self.embedder, self._params())

    def _params(self) -> SearchParams:
        c = self.config
        return SearchParams(candidates=c.candidates, context_chars=c.context_chars,
                            models_file=str(c.models_file) if c.models_file else None,
                            english_dictionary=c.english_dictionary)

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
            self._searcher = self._searcher_for(data)
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
                self._searcher = self._searcher_for(data)
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
            self._searcher = self._searcher_for(data)
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
        if self._facts is None or self._facts[0] != (key, id(searcher.data)):
            facts = update_facts(self.config.index_dir, key, searcher, self.config.abstain_threshold,
                                 self._facts[1] if self._facts else {}, write)
            self._facts = ((key, id(searcher.data)), facts)
        return self._facts[1]

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
        return conversation.answer(searcher, self.composer, text, self.config.abstain_threshold,
                                   top_k or self.config.top_k, self.config.max_question_chars, history, context,
                                   self.choose_documents(docs, kinds))

    def named_documents(self, question: str) -> list[str]:
        """The documents a question names («kvalitetsavtalen», «Leve hele livet-avtalen», «avtalen
        fra 2012»), agreements first and newest first; [] when it names none."""
        searcher = self.load()
        _, named = searcher.scope(parse_query(clean_question(question, self.config.max_question_chars)))
        return conversation.newest_first(searcher, named, agreements_first=True)

    def agreements(self) -> list[str]:
        """The documents that are agreements (profile.py), newest first."""
        searcher = self.load()
        return conversation.newest_first(searcher, [d for d, p in searcher.profiles.items() if is_agreement(p)])

    def choose_documents(self, docs: Sequence[str] | None = None, kinds: Sequence[str] | None = None
                         ) -> frozenset[str] | None:
        """The document ids that `docs` (ids or file names) and `kinds` name, or None for all.
        Raises DocumentError naming what is not there."""
        if not docs and not kinds:
            return None
        return conversation.choose_documents(self.load(), docs, kinds)

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
        corpus = self.config.corpus_dir.resolve()
        filename, target = upload_target(corpus, source, name)
        with self._lock:
            self.recover_uploads()
            refuse_clash(corpus, filename)
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
            moved: list[tuple[Path, Path]] = []
            try:
                moved = to_trash(self.config.corpus_dir.resolve(), doc.file, moved)
                return self.index()
            except BaseException:
                put_back(moved)
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
