"""The index: the clauses of a corpus folder, their vectors and the model that made them.

A build is a plan, then its application:

    plan_build(corpus_dir, index_dir, model)   which documents are added, updated, removed and
                                               unchanged (file hashes, the splitter version)
    apply(plan, store, embedder)               the clauses of removed and updated documents leave
                                               the vector store, those of new ones are embedded
                                               and upserted -> IndexData
    write_generation(...)                      the folder's files, manifest last (index_files.py)

`build_index` does all three; `load_index` reads and verifies a folder. An index is never
replaced by one of another model: that is refused (build it in another folder, `--index`).
An index whose splitter version differs is stale: reading it is refused with the fix, and the
next build re-splits and re-embeds every document. Unreadable or damaged index files are
rebuilt by the next build (nothing usable is lost). The files: see index_files.py.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .bridge import word_vectors
from .errors import DocumentError, IndexError_, Message
from .index_files import FORMAT_VERSION, MANIFEST, read_generation, read_manifest, read_manifest_safely, write_generation
from .loaders import file_hash, list_documents, load_document
from .split import split_document
from .store import FaissStore, VectorStore, filled
from .types import Clause, Document
from .vectors import clause_sentences, embed_in_batches, sentence_vectors

__all__ = ["BuildPlan", "BuildReport", "FORMAT_VERSION", "IndexData", "MANIFEST", "SPLITTER_VERSION", "apply", "write_index",
           "build_index", "load_index", "plan_build", "read_manifest", "read_manifest_safely"]

# The version of what makes a document's clauses: the loaders' text and title (loaders.py), the
# cutting into clauses and their indexed text (split.py, types.py). Bump it when a change there
# changes any clause (ids, offsets, headings, text, kind) or a loaded text or title: every index
# is then re-split and re-embedded by its next `assistant index`. tests/test_splitter_version.py
# pins the output on sample documents and fails until the number is bumped and its hash updated.
SPLITTER_VERSION = 6  # 6: no sentence end after an initial («D.W. Griffith»)


def current_splitter(version) -> bool:
    """True if an index of splitter version `version` (a manifest's) splits as this code does."""
    return str(version) == str(SPLITTER_VERSION)


@dataclass
class IndexData:
    model: str
    dim: int
    documents: dict[str, Document]
    clauses: list[Clause]
    vectors: np.ndarray  # (n_clauses, dim) float32, L2-normalised, in clause order (the store's rows)
    sentences: np.ndarray | None = None  # (n_sentences, 3) int64: clause row, start, end
    sentence_vectors: np.ndarray | None = None  # (n_sentences, dim) float32, L2-normalised
    words: np.ndarray | None = None  # the corpus's words (bridge.py), sorted
    word_vectors: np.ndarray | None = None  # (n_words, dim) float16

    index_dir: Path | None = None  # the folder it lives in
    checksums: dict[str, str] | None = None  # role -> SHA-256 of the files it was read from or written to
    store: VectorStore | None = None  # the clause vectors keyed by clause_id (a FaissStore unless given)
    save_state: bool = False  # True for a build's data: derived state (keyword index) may be saved in index_dir

    def __post_init__(self):
        if self.store is None:
            self.vectors = np.ascontiguousarray(self.vectors, dtype=np.float32).reshape(-1, self.dim)
            self.store = filled(FaissStore(self.dim), self.clauses, self.vectors)
            self.vectors = self.store.vectors
        if self.sentences is None:
            self.sentences, self.sentence_vectors = clause_sentences(self.clauses, self.vectors)
        if self.words is None:
            self.words, self.word_vectors = np.array([], dtype=str), np.zeros((0, self.dim), np.float16)

    def with_store(self, store: VectorStore) -> IndexData:
        """The same index searched through `store` (e.g. make_store("numpy", data.dim)): an empty
        store is filled with the clause vectors; `vectors` stays the same array."""
        if len(store) == 0:
            filled(store, self.clauses, self.vectors)
        if len(store) != len(self.clauses):
            raise IndexError_(f"a store of {len(store)} vectors for an index of {len(self.clauses)} clauses")
        return dataclasses.replace(self, store=store)


@dataclass
class BuildReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # file -> reason
    embedded_clauses: int = 0
    embedded_sentences: int = 0
    total_clauses: int = 0
    seconds: float = 0.0
    rebuilt_because: str = ""
    rolled_back: list[str] = field(default_factory=list)  # unfinished uploads undone at start (uploads.py)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        n_docs = len(self.added) + len(self.updated) + len(self.unchanged)
        parts = [f"{self.total_clauses} clauses from {n_docs} documents"]
        if self.added:
            parts.append(f"added {len(self.added)}")
        if self.updated:
            parts.append(f"updated {len(self.updated)}")
        if self.removed:
            parts.append(f"removed {len(self.removed)}")
        parts.append(f"embedded {self.embedded_clauses} clauses in {self.seconds:.1f} s")
        if self.skipped:
            parts.append(f"skipped {len(self.skipped)} unreadable file(s)")
        return ", ".join(parts)


def model_mismatch(index_dir: Path, built_with: str, asked: str) -> IndexError_:
    """The one-line refusal of an index built with another model, with the ways out."""
    return IndexError_(
        f"the index in {index_dir} was built with model {built_with!r}, not {asked!r}; use --model {built_with}, "
        f"or build an index for {asked!r} in another folder: assistant index --model {asked} --index <folder>")


def load_index(index_dir: Path, model: str | None = None, hnsw_cache: Path | None = None,
               stale_ok: bool = False) -> IndexData:
    """Load and verify an index folder; never writes. Raises IndexError_ with the reason (and the
    fix) if it cannot be used: none there, another model, a stale splitter version, damaged files.
    `stale_ok` reads an index of another splitter version (a build reuses what it can)."""
    index_dir = Path(index_dir)
    manifest = read_manifest(index_dir)
    if manifest is None:
        raise IndexError_(f"no index in {index_dir}; build it with: assistant index --index {index_dir}")
    if model is not None and manifest.get("model") != model:
        raise model_mismatch(index_dir, manifest.get("model"), model)
    if not stale_ok and not current_splitter(manifest.get("splitter_version")):
        raise IndexError_(f"the index in {index_dir} was split by splitter version "
                          f"{manifest.get('splitter_version')!r}, not {SPLITTER_VERSION} (this code's); "
                          f"rebuild it: assistant index --index {index_dir}")
    docs, clauses, store, spans, svecs, words, wvecs = read_generation(index_dir, manifest, hnsw_cache)
    vectors = store.vectors
    if (len(clauses) != len(vectors) or (len(vectors) and vectors.shape[1] != manifest.get("dim"))
            or spans.ndim != 2 or spans.shape[1] != 3 or len(spans) != len(svecs)
            or (len(spans) and (spans[:, 0].max() >= len(clauses) or spans[:, 0].min() < 0))):
        raise IndexError_(f"the index in {index_dir} is inconsistent (clauses and vectors differ)")
    files = manifest["files"]
    store.vectors_key = files["vectors"]["sha256"]  # names the vectors for the HNSW cache (verified above)
    return IndexData(manifest["model"], manifest["dim"], {d.doc_id: d for d in docs}, clauses, vectors,
                     sentences=spans, sentence_vectors=svecs, words=words, word_vectors=wvecs, index_dir=index_dir,
                     checksums={role: files[role]["sha256"] for role in ("documents", "clauses", "vectors")},
                     store=store)


@dataclass
class BuildPlan:
    """What a build will do: each readable document of the corpus folder (in folder order) with its
    key (file hash and splitter version), and what became of it against the previous index."""

    index_dir: Path
    model: str
    old: IndexData | None  # the previous index (None: build from nothing)
    old_format: int
    files: list[tuple[str, Path, str]]  # (doc_id, path, key) in corpus order
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    rebuilt_because: str = ""


def _doc_key(doc_sha: str) -> str:
    return f"{doc_sha}:{SPLITTER_VERSION}"


def _same_key(key) -> str | None:
    """A document key of a manifest, its splitter version written as the current one if it splits the same."""
    sha, _, version = str(key).rpartition(":")
    return _doc_key(sha) if sha and current_splitter(version) else key


def plan_build(corpus_dir: Path, index_dir: Path, model: str, previous: IndexData | None = None,
               hnsw_cache: Path | None = None) -> BuildPlan:
    """Decide what a build of `index_dir` from `corpus_dir` does; reads file hashes, embeds nothing.
    Raises IndexError_ if the index there was built with another model (it is never replaced)."""
    index_dir = Path(index_dir)
    manifest = read_manifest_safely(index_dir)
    if manifest and manifest.get("model") != model:
        raise model_mismatch(index_dir, manifest.get("model"), model)
    old, because = previous, ""
    if old is None:
        try:
            old = load_index(index_dir, model=model, hnsw_cache=hnsw_cache, stale_ok=True)
        except IndexError_ as exc:
            if manifest is not None:
                because = str(exc)
            old = None
    if old is not None and old.model != model:
        raise model_mismatch(index_dir, old.model, model)
    manifest = manifest or {}
    if old is not None and not current_splitter(manifest.get("splitter_version")):
        because = (f"the index was split by splitter version {manifest.get('splitter_version')!r}, "
                   f"not {SPLITTER_VERSION}")
    old_keys = {k: _same_key(v.get("key")) for k, v in manifest.get("documents", {}).items()} if old is not None else {}
    plan = BuildPlan(index_dir, model, old, manifest.get("format", FORMAT_VERSION) if old else FORMAT_VERSION,
                     [], rebuilt_because=because)
    seen: set[str] = set()
    for path in list_documents(corpus_dir, skipped=plan.skipped):
        try:
            key = _doc_key(file_hash(path))
        except OSError as exc:
            plan.skipped[path.name] = Message(f"{path.name} cannot be read ({exc.strerror})", "document.unreadable",
                                              name=path.name)
            continue
        except DocumentError as exc:  # a link swapped in, a sidecar that is a link
            plan.skipped[path.name] = str(exc)
            continue
        stem = path.stem
        if stem in seen:
            plan.skipped[path.name] = Message(f"{path.name}: another file is already named {stem}", "document.same_stem",
                                              name=path.name, stem=stem)
            continue
        seen.add(stem)
        plan.files.append((stem, path, key))
        if old is not None and old_keys.get(stem) == key and stem in old.documents:
            plan.unchanged.append(stem)
        else:
            (plan.updated if old is not None and stem in old.documents else plan.added).append(stem)
    if old is not None:
        plan.removed = sorted(set(old.documents) - seen)
    return plan


def apply(plan: BuildPlan, store: VectorStore, embedder, max_file_bytes: int = 20 * 1024 * 1024,
          say: Callable[[str, float], None] = lambda msg, frac: None) -> tuple[IndexData, BuildReport]:
    """Carry out `plan` on `store` (the previous index's vectors, or empty): the clauses of removed
    and updated documents are deleted, the new documents read, split, embedded and upserted.
    A document that cannot be read is skipped (and, if it was indexed, removed)."""
    old = plan.old
    report = BuildReport(unchanged=list(plan.unchanged), skipped=dict(plan.skipped),
                         rebuilt_because=plan.rebuilt_because)
    fresh = set(plan.added) | set(plan.updated)
    docs: dict[str, Document] = {}
    parts: dict[str, list[Clause]] = {}
    for n, (stem, path, _key) in enumerate(plan.files):
        say(f"reading {path.name}", 0.1 * n / max(len(plan.files), 1))
        if stem not in fresh:
            docs[stem] = old.documents[stem]
            continue
        try:
            docs[stem] = load_document(path, max_bytes=max_file_bytes)
        except DocumentError as exc:
            report.skipped[path.name] = str(exc)
            continue
        parts[stem] = split_document(docs[stem])
        (report.updated if stem in plan.updated else report.added).append(stem)
    if old is not None:
        report.removed = sorted(set(old.documents) - set(docs))
        gone = set(report.removed) | set(report.updated)
        store.delete(c.clause_id for c in old.clauses if c.doc_id in gone)

    new = [(c, docs[stem].title) for stem, cl in parts.items() for c in cl]
    if new:
        vectors = embed_in_batches(embedder, [c.indexed_text(title) for c, title in new], say)
        store.upsert([c.clause_id for c, _ in new], vectors, [c.doc_id for c, _ in new])
    report.embedded_clauses = len(new)

    old_rows: dict[str, list[Clause]] = {}
    for c in old.clauses if old is not None else ():
        old_rows.setdefault(c.doc_id, []).append(c)
    clauses = [c for stem in docs for c in (parts[stem] if stem in parts else old_rows.get(stem, []))]
    ids = [c.clause_id for c in clauses]
    if hasattr(store, "arrange"):
        store.arrange(ids)
        vectors = store.vectors
    else:
        vectors = store.fetch(ids) if ids else np.zeros((0, store.meta["dim"]), np.float32)
    dim = vectors.shape[1] if len(vectors) else (old.dim if old is not None else embedder.dim)
    spans, svecs, report.embedded_sentences = sentence_vectors(clauses, vectors, old, embedder, say)
    say("embedding words", 0.93)
    words, wvecs = word_vectors(clauses, embedder, *((old.words, old.word_vectors) if old is not None else ()))
    data = IndexData(plan.model, dim, docs, clauses, vectors, sentences=spans, sentence_vectors=svecs,
                     words=words, word_vectors=wvecs, index_dir=plan.index_dir, store=store, save_state=True)
    data.checksums = old.checksums if old is not None else None
    report.total_clauses = len(clauses)
    return data, report


def build_index(
    corpus_dir: Path,
    index_dir: Path,
    embedder,
    max_file_bytes: int = 20 * 1024 * 1024,
    progress: Callable[[str, float], None] | None = None,
    previous: IndexData | None = None,
    hnsw_cache: Path | None = None,
) -> tuple[IndexData, BuildReport]:
    """Bring the index in `index_dir` up to date with `corpus_dir`, embedding only what changed.

    Unreadable documents are skipped and reported; the rest of the index is kept. The files are
    written only when something changed (or the folder holds an older format or no index).
    """
    t0 = time.perf_counter()
    say = progress or (lambda msg, frac: None)
    index_dir = Path(index_dir)
    plan = plan_build(corpus_dir, index_dir, embedder.name, previous=previous, hnsw_cache=hnsw_cache)
    old = plan.old
    if old is None:
        store = FaissStore(embedder.dim, hnsw_cache=hnsw_cache)
    elif hasattr(old.store, "copy"):
        store = old.store.copy()  # the running searcher keeps reading the old one
    else:
        store = filled(FaissStore(old.dim, hnsw_cache=hnsw_cache), old.clauses, old.vectors)
    data, report = apply(plan, store, embedder, max_file_bytes=max_file_bytes, say=say)
    if (report.changed or old is None or report.rebuilt_because or (data.clauses and not len(old.words))
            or plan.old_format != FORMAT_VERSION):  # an older format is rewritten in place (nothing re-embedded)
        say("writing index", 0.95)
        try:
            index_dir.mkdir(parents=True, exist_ok=True)
            data.checksums = write_index(index_dir, data, {stem: key for stem, _, key in plan.files})
        except OSError as exc:  # disk full, read-only folder: the previous index is still in place
            raise IndexError_(f"cannot write the index in {index_dir} ({exc.strerror or exc}); "
                              "the previous index is unchanged") from None
        if isinstance(data.store, FaissStore):
            data.store.vectors_key = data.checksums.get("vectors")
    report.seconds = time.perf_counter() - t0
    say("done", 1.0)
    return data, report


def write_index(index_dir: Path, data: IndexData, keys: dict[str, str]) -> dict[str, str]:
    """Write `data` as the folder's new generation, `keys` naming its documents (benchmarks/suite.py's generated indexes)."""
    return write_generation(Path(index_dir), data, keys, SPLITTER_VERSION)
