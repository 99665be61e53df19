"""The one entry point: `Assistant` ties config, index, search and answers together."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
import time
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path

from .answer import Answer, build_answer, detect_language
from .config import Config
from .embed import load_embedder
from .errors import DocumentError, IndexError_, QuestionError
from .index import BuildReport, IndexData, build_index, load_index
from .loaders import SUPPORTED, load_document
from .search import FusionParams, Searcher, SearchResult
from .types import Document

__all__ = ["Assistant", "clean_question", "safe_filename"]

_PRONOUN = re.compile(r"\b(den|det|dette|denne|disse|dei|dem|hen|ho|han|it|its|that|this|they|them|those)\b", re.I)
_CONTINUES = re.compile(r"^\s*(og|men|også|enn|and|but|also|what about|hva med|kva med)\b", re.I)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ud800-\udfff]")


def clean_question(question: object, max_chars: int) -> str:
    """Normalise a question; raise QuestionError if nothing searchable is left."""
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
    text = unicodedata.normalize("NFC", _CONTROL.sub(" ", question))
    text = " ".join(text.split())
    if not text:
        raise QuestionError("the question is empty; type a question about the agreements")
    if len(text) > max_chars:
        raise QuestionError(f"the question is {len(text):,} characters; the limit is {max_chars:,}")
    if not any(ch.isalnum() for ch in text):
        raise QuestionError("the question has no words to search for")
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
        raise DocumentError(f"{shown} has no file type; use {', '.join(SUPPORTED)}")
    stem = _SAFE_NAME.sub("-", stem).strip(" .-")[:120]
    if not stem:
        raise DocumentError(f"{shown!r} is not a usable file name")
    return f"{stem}.{suffix}"


class Assistant:
    """Answers questions from the documents in `config.corpus_dir`.

    The model and the index load on first use. Safe to share between threads: a search
    reads one immutable Searcher; adding documents swaps in a new one under a lock.
    """

    def __init__(self, config: Config | None = None, embedder=None):
        self.config = config or Config.from_env()
        self._embedder = embedder
        self._searcher: Searcher | None = None
        self._lock = threading.RLock()
        self.last_report: BuildReport | None = None

    # -- loading -------------------------------------------------------------
    @property
    def embedder(self):
        if self._embedder is None:
            self._embedder = load_embedder(self.config.model, batch_size=self.config.batch_size)
        return self._embedder

    def _params(self) -> FusionParams:
        c = self.config
        return FusionParams(candidates=c.candidates, dense_weight=c.dense_weight, doc_weight=c.doc_weight,
                            neighbour_weight=c.neighbour_weight, context_chars=c.context_chars)

    def index(self, progress: Callable[[str, float], None] | None = None) -> BuildReport:
        """Bring the index up to date with the corpus folder (embeds only changed documents)."""
        with self._lock:
            previous = self._searcher.data if self._searcher is not None else None
            data, report = build_index(
                self.config.corpus_dir, self.config.index_dir, self.embedder,
                max_file_bytes=self.config.max_file_bytes, progress=progress, previous=previous,
            )
            self._searcher = Searcher(data, self.embedder, self._params())
            self.last_report = report
            return report

    def load(self, rebuild_if_needed: bool = True) -> Searcher:
        """The searcher over the current index, loading (or building) it on first use."""
        searcher = self._searcher
        if searcher is not None:
            return searcher
        with self._lock:
            if self._searcher is None:
                prepare = getattr(self.embedder, "prepare", None)
                if prepare is not None:
                    prepare()  # the model loads while the index is read and the searcher built
                try:
                    data = load_index(self.config.index_dir, model=self.embedder.name)
                    self._searcher = Searcher(data, self.embedder, self._params())
                except IndexError_:
                    if not rebuild_if_needed:
                        raise
                    self.index()
            return self._searcher

    def refresh(self) -> BuildReport:
        """Re-index if the corpus folder changed since the index was built."""
        return self.index()

    @property
    def data(self) -> IndexData:
        return self.load().data

    # -- questions -----------------------------------------------------------
    def retrieve(self, question: str, top_k: int | None = None, context: bool = True) -> SearchResult:
        """Ranked hits; `context=False` ranks bare clauses (no neighbours merged into passages)."""
        text = clean_question(question, self.config.max_question_chars)
        return self.load().search(text, top_k or self.config.top_k, context=context)

    def ask(self, question: str, history: Sequence[str] = (), top_k: int | None = None) -> Answer:
        """Answer one question. `history` holds the earlier questions of the conversation."""
        text = clean_question(question, self.config.max_question_chars)
        searcher = self.load()
        query, prefer = self._with_context(text, history, searcher)
        follow_up = query != text
        result = searcher.search(query, top_k or self.config.top_k, prefer_doc=prefer)
        return build_answer(text, query, result, searcher.data.documents,
                            self.config.abstain_threshold, searcher.analyzer, follow_up)

    def _with_context(self, text: str, history: Sequence[str], searcher: Searcher) -> tuple[str, str | None]:
        """A short or referring follow-up is about the document the previous question found.

        It is searched with that document's title added, and that document preferred.
        """
        previous = [h for h in history if isinstance(h, str) and h.strip()]
        if not previous:
            return text, None
        terms = searcher.analyzer.terms(text)
        refers = bool(_CONTINUES.search(text)) or (bool(_PRONOUN.search(text)) and len(terms) <= 2)
        if not (len(terms) <= 1 or refers):
            return text, None
        try:
            prev = clean_question(previous[-1], self.config.max_question_chars)
        except QuestionError:
            return text, None
        found = searcher.search(prev, 1).hits
        if not found:
            return text, None
        doc = searcher.data.documents[found[0].clause.doc_id]
        return f"{text} ({doc.title})", doc.doc_id

    # -- documents -----------------------------------------------------------
    def documents(self) -> list[dict]:
        data = self.data
        counts: dict[str, int] = {}
        for c in data.clauses:
            counts[c.doc_id] = counts.get(c.doc_id, 0) + 1
        return [
            {"doc_id": d.doc_id, "file": d.file, "title": d.title, "date": d.date, "kind": d.kind,
             "clauses": counts.get(d.doc_id, 0)}
            for d in sorted(data.documents.values(), key=lambda d: (d.date, d.title), reverse=True)
        ]

    def document(self, doc_id: str) -> Document:
        doc = self.data.documents.get(doc_id)
        if doc is None:
            raise DocumentError(f"no document named {doc_id!r} is loaded")
        return doc

    def add_document(self, source: Path | str, name: str | None = None,
                     progress: Callable[[str, float], None] | None = None) -> BuildReport:
        """Copy a file into the corpus folder and index it. A bad file changes nothing."""
        source = Path(source)
        filename = safe_filename(name or source.name)
        if Path(filename).suffix.lower() not in SUPPORTED:
            raise DocumentError(
                f"{filename}: unsupported file type; use {', '.join(SUPPORTED)}"
            )
        corpus = self.config.corpus_dir.resolve()
        target = (corpus / filename).resolve()
        if target.parent != corpus:
            raise DocumentError(f"{filename!r} would be stored outside the corpus folder")
        if not source.is_file():
            raise DocumentError(f"{source.name or 'the upload'} is not a readable file")
        with self._lock:
            stem = Path(filename).stem
            clash = [p.name for p in corpus.iterdir()
                     if p.is_file() and p.name != filename and p.stem == stem and Path(p.name).suffix.lower() in SUPPORTED]
            if clash:  # it would replace (or be hidden by) another document with the same name
                raise DocumentError(f"{filename}: a document named {clash[0]} already exists; rename the file")
            tmpdir = Path(tempfile.mkdtemp(prefix=".upload-", dir=corpus))
            try:
                staged = tmpdir / filename
                try:
                    shutil.copyfile(source, staged)
                except OSError as exc:
                    raise DocumentError(f"{filename} cannot be stored ({exc.strerror or exc})") from None
                load_document(staged, max_bytes=self.config.max_file_bytes)  # validate first
                backup = None
                if target.exists():
                    backup = tmpdir / (filename + ".previous")
                    shutil.copy2(target, backup)
                os.replace(staged, target)
                def restore() -> None:
                    if backup is not None:
                        os.replace(backup, target)
                    else:
                        target.unlink(missing_ok=True)

                try:
                    report = self.index(progress=progress)
                except BaseException:
                    restore()
                    raise
                if filename in report.skipped:  # e.g. changed between validation and indexing
                    restore()
                    self.index()
                    raise DocumentError(report.skipped[filename])
            finally:
                shutil.rmtree(tmpdir, ignore_errors=True)
            return report

    # -- feedback ------------------------------------------------------------
    def record_feedback(self, answer: dict, vote: str, comment: str = "") -> Path:
        """Append a vote on an answer to the feedback file (JSON lines)."""
        if vote not in ("up", "down"):
            raise QuestionError(f"vote must be 'up' or 'down', got {vote!r}")
        path = Path(self.config.feedback_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        row = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "vote": vote,
            "question": answer.get("question", ""),
            "language": answer.get("language") or detect_language(answer.get("question", "")),
            "answered": answer.get("answered"),
            "clauses": [
                {k: c.get(k) for k in ("doc", "start", "end", "ordinal", "text", "score")}
                for c in answer.get("clauses", [])
            ],
            "comment": comment[:2000],
        }
        line = json.dumps(row, ensure_ascii=False) + "\n"
        with self._lock, open(path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
        return path
