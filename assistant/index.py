"""The index folder: plain files that know the model that built them.

    embeddings/
      manifest.json            model, dimension, per-document hashes, file checksums
      documents-<gen>.jsonl    one line per document: metadata and extracted text
      clauses-<gen>.jsonl      one line per clause, in vector order
      vectors-<gen>.faiss      FAISS flat inner-product index of the clause vectors
      sentences-<gen>.npy      every clause's sentences: (clause row, start, end), int64
      sentence_vectors-<gen>.npy  a vector per sentence, float32 (a one-sentence clause reuses
                               its clause vector); both memory-mapped when read
      words-<gen>.npz          the corpus's words and their vectors (English questions, bridge.py)

A build writes a new generation of files, then replaces manifest.json atomically (it is
written last), then removes the old generation: a crash at any point leaves a complete
index. Loading checks every file against the manifest's SHA-256 (in threads, while the files
are parsed; a mismatch is reported before any parse error). No pickle anywhere.

Format 3 kept the sentences in one .npz (read whole and copied: ~2 s at 100k clauses); it is
still read, and the next build rewrites it as format 4.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .bridge import word_vectors
from .errors import DocumentError, IndexError_
from .loaders import file_hash, list_documents, load_document
from .split import split_document
from .types import Clause, Document
from .vectors import clause_sentences, embed_in_batches, sentence_vectors

__all__ = ["BuildReport", "IndexData", "build_index", "load_index", "SPLITTER_VERSION"]

FORMAT_VERSION = 4  # 2: sentence vectors; 3: word vectors; 4: sentences as .npy, memory-mapped
READABLE_FORMATS = (2, 3, 4)  # an older index is read and rewritten (word vectors added) on the next build
# Documents are re-read, re-split and re-embedded when the code that reads them (loaders.py: the
# text and the title), cuts clauses or composes their indexed text changes (split.py, types.py),
# or the model does.
SPLITTER_VERSION = hashlib.sha256(
    b"".join(Path(__file__).with_name(n).read_bytes() for n in ("loaders.py", "split.py", "types.py"))
).hexdigest()[:12]
MANIFEST = "manifest.json"
ROLES = ("documents", "clauses", "vectors", "sentences", "sentence_vectors", "words")


def _roles(fmt: int) -> tuple[str, ...]:
    """The files an index of format `fmt` has (format 3 keeps the sentence vectors in sentences-*.npz)."""
    return tuple(r for r in ROLES if not (r == "sentence_vectors" and fmt < 4) and not (r == "words" and fmt < 3))


@dataclass
class IndexData:
    model: str
    dim: int
    documents: dict[str, Document]
    clauses: list[Clause]
    vectors: np.ndarray  # (n_clauses, dim) float32, L2-normalised
    sentences: np.ndarray | None = None  # (n_sentences, 3) int64: clause row, start, end
    sentence_vectors: np.ndarray | None = None  # (n_sentences, dim) float32, L2-normalised
    words: np.ndarray | None = None  # the corpus's words (bridge.py), sorted
    word_vectors: np.ndarray | None = None  # (n_words, dim) float16

    index_dir: Path | None = None  # the folder it lives in (derived search state is kept there too)
    checksums: dict[str, str] | None = None  # role -> SHA-256 of the files it was read from or written to

    def __post_init__(self):
        if self.sentences is None:
            self.sentences, self.sentence_vectors = clause_sentences(self.clauses, self.vectors)
        if self.words is None:
            self.words, self.word_vectors = np.array([], dtype=str), np.zeros((0, self.dim), np.float16)


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


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_jsonl(path: Path, rows) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _read_jsonl(path: Path) -> list[dict]:
    try:  # orjson (a gradio dependency) parses ~3x faster: 100k clauses load in ~1 s less
        from orjson import loads
    except ImportError:  # pragma: no cover
        loads = json.loads
    with open(path, encoding="utf-8", newline="") as f:
        return [loads(line) for line in f if line.strip()]


def _write_vectors(path: Path, vectors: np.ndarray) -> None:
    import faiss

    index = faiss.IndexFlatIP(vectors.shape[1])
    if len(vectors):
        index.add(vectors)
    faiss.write_index(index, str(path))


def _write_npz(path: Path, **arrays) -> None:
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def _write_npy(path: Path, array: np.ndarray, dtype) -> None:
    with open(path, "wb") as f:
        np.save(f, np.ascontiguousarray(array, dtype=dtype), allow_pickle=False)


def _read_vectors(path: Path) -> np.ndarray:
    import faiss

    index = faiss.read_index(str(path))
    if index.ntotal == 0:
        return np.zeros((0, index.d), dtype=np.float32)
    return faiss.rev_swig_ptr(index.get_xb(), index.ntotal * index.d).reshape(index.ntotal, index.d).copy()


def read_manifest(index_dir: Path) -> dict | None:
    path = Path(index_dir) / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise IndexError_(f"the index manifest {path} is unreadable") from None
    if not isinstance(manifest, dict) or manifest.get("format") not in READABLE_FORMATS:
        raise IndexError_(f"the index in {index_dir} has an unknown format")
    files, docs = manifest.get("files"), manifest.get("documents", {})
    if (not isinstance(files, dict) or not all(isinstance(v, dict) for v in files.values())
            or not isinstance(docs, dict) or not all(isinstance(v, dict) for v in docs.values())
            or not isinstance(manifest.get("dim"), int) or not isinstance(manifest.get("model"), str)):
        raise IndexError_(f"the index manifest {path} is damaged")
    if "checksum" in manifest and manifest["checksum"] != _manifest_checksum(manifest):
        raise IndexError_(f"the index manifest {path} is damaged (checksum mismatch)")
    return manifest


def _manifest_checksum(manifest: dict) -> str:
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def load_index(index_dir: Path, model: str | None = None) -> IndexData:
    """Load and verify an index folder. Raises IndexError_ with the reason if it cannot be used."""
    index_dir = Path(index_dir)
    manifest = read_manifest(index_dir)
    if manifest is None:
        raise IndexError_(f"no index in {index_dir}")
    if model is not None and manifest.get("model") != model:
        raise IndexError_(
            f"the index in {index_dir} was built with model {manifest.get('model')!r}, not {model!r}"
        )
    files = manifest.get("files", {})
    paths = {}
    for role in _roles(manifest["format"]):
        name = files.get(role, {}).get("name", "")
        path = index_dir / name
        if not name or not path.is_file():
            raise IndexError_(f"the index file {name or role} is missing from {index_dir}")
        paths[role] = path
    # the checksums are computed in threads (hashlib lets go of the GIL) while the files are parsed
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="index-sha256") as pool:
        digests = {role: pool.submit(_sha256, path) for role, path in paths.items()}
        try:
            with _gc_paused():
                parsed, failed = _read_files(paths), None
        except (OSError, ValueError, TypeError, KeyError, RuntimeError) as exc:
            parsed, failed = None, exc
        for role, digest in digests.items():
            if digest.result() != files[role].get("sha256"):
                raise IndexError_(f"the index file {paths[role].name} is damaged (checksum mismatch)")
    if failed is not None:
        raise IndexError_(f"the index in {index_dir} is unreadable ({type(failed).__name__})") from None
    docs, clauses, vectors, spans, svecs, words, wvecs = parsed
    if (len(clauses) != len(vectors) or (len(vectors) and vectors.shape[1] != manifest.get("dim"))
            or spans.ndim != 2 or spans.shape[1] != 3 or len(spans) != len(svecs)
            or (len(spans) and (spans[:, 0].max() >= len(clauses) or spans[:, 0].min() < 0))):
        raise IndexError_(f"the index in {index_dir} is inconsistent (clauses and vectors differ)")
    return IndexData(manifest["model"], manifest["dim"], {d.doc_id: d for d in docs}, clauses, vectors,
                     sentences=spans, sentence_vectors=svecs, words=words, word_vectors=wvecs, index_dir=index_dir,
                     checksums={role: files[role]["sha256"] for role in ("documents", "clauses", "vectors")})


@contextmanager
def _gc_paused():
    """No cyclic garbage collection while ~10 objects a clause are made (they hold no cycles):
    its passes over the growing heap cost ~0.4 s of a 100k-clause load."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _read_files(paths: dict[str, Path]):
    docs = [Document(**d) for d in _read_jsonl(paths["documents"])]
    clauses = [_clause(d) for d in _read_jsonl(paths["clauses"])]
    vectors = _read_vectors(paths["vectors"])
    if "sentence_vectors" in paths:  # format 4: memory-mapped, only the rows a search reads become resident
        spans = _read_npy(paths["sentences"], np.int64)
        svecs = _read_npy(paths["sentence_vectors"], np.float32)
    else:
        with np.load(paths["sentences"], allow_pickle=False) as z:
            spans, svecs = z["spans"].astype(np.int64), z["vectors"].astype(np.float32)
    words = wvecs = None
    if "words" in paths:
        with np.load(paths["words"], allow_pickle=False) as z:
            words, wvecs = z["words"], z["vectors"]
    return docs, clauses, vectors, spans, svecs, words, wvecs


_CLAUSE_FIELDS = set(Clause.__dataclass_fields__)


def _clause(d: dict) -> Clause:
    """`Clause.from_json`, with the fields set directly when the row is as `to_json` wrote it: the
    frozen __init__ costs ~40 % more (0.2 s of a 100k-clause start). Here rather than in types.py,
    whose source is part of SPLITTER_VERSION (a change there re-embeds every index)."""
    if d.keys() == _CLAUSE_FIELDS and d["clause_id"] and isinstance(d["headings"], list):
        c = object.__new__(Clause)
        c.__dict__.update(d, headings=tuple(d["headings"]))
        return c
    return Clause.from_json(d)


def _read_npy(path: Path, dtype) -> np.ndarray:
    array = np.load(path, mmap_mode="r", allow_pickle=False)
    if array.dtype != dtype or array.ndim != 2:
        raise ValueError(f"{path.name} holds {array.dtype} of {array.ndim} dimensions")
    return np.asarray(array)  # a plain (read-only) ndarray over the map


def _doc_key(doc_sha: str) -> str:
    return f"{doc_sha}:{SPLITTER_VERSION}"


def build_index(
    corpus_dir: Path,
    index_dir: Path,
    embedder,
    max_file_bytes: int = 20 * 1024 * 1024,
    progress: Callable[[str, float], None] | None = None,
    previous: IndexData | None = None,
) -> tuple[IndexData, BuildReport]:
    """Bring the index in `index_dir` up to date with `corpus_dir`, embedding only what changed.

    Unreadable documents are skipped and reported; the rest of the index is kept.
    """
    t0 = time.perf_counter()
    report = BuildReport()
    say = progress or (lambda msg, frac: None)
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)

    old: IndexData | None = previous
    if old is None:
        try:
            old = load_index(index_dir, model=embedder.name)
        except IndexError_ as exc:
            if read_manifest_safely(index_dir) is not None:
                report.rebuilt_because = str(exc)
            old = None
    if old is not None and old.model != embedder.name:
        report.rebuilt_because = f"the index was built with model {old.model!r}, not {embedder.name!r}"
        old = None
    old_keys, old_format = {}, FORMAT_VERSION
    if old is not None:
        manifest = read_manifest_safely(index_dir) or {}
        old_keys = {k: v.get("key") for k, v in manifest.get("documents", {}).items()}
        old_format = manifest.get("format", FORMAT_VERSION)
    old_rows: dict[str, list[int]] = {}
    if old is not None:
        for row, c in enumerate(old.clauses):
            old_rows.setdefault(c.doc_id, []).append(row)

    paths = list_documents(corpus_dir, skipped=report.skipped)
    docs: list[Document] = []
    keys: dict[str, str] = {}
    parts: list[tuple[list[Clause], np.ndarray | None]] = []
    todo: list[int] = []  # positions in parts that need embedding
    for n, path in enumerate(paths):
        say(f"reading {path.name}", 0.1 * n / max(len(paths), 1))
        try:
            key = _doc_key(file_hash(path))
        except OSError as exc:
            report.skipped[path.name] = f"{path.name} cannot be read ({exc.strerror})"
            continue
        except DocumentError as exc:  # a link swapped in, a sidecar that is a link
            report.skipped[path.name] = str(exc)
            continue
        stem = path.stem
        if stem in keys:
            report.skipped[path.name] = f"{path.name}: another file is already named {stem}"
            continue
        if old is not None and old_keys.get(stem) == key and stem in old.documents:
            rows = old_rows.get(stem, [])
            docs.append(old.documents[stem])
            parts.append(([old.clauses[r] for r in rows], old.vectors[rows] if rows else None))
            report.unchanged.append(stem)
        else:
            try:
                doc = load_document(path, max_bytes=max_file_bytes)
            except DocumentError as exc:
                report.skipped[path.name] = str(exc)
                continue
            docs.append(doc)
            parts.append((split_document(doc), None))
            todo.append(len(parts) - 1)
            (report.updated if old is not None and stem in old.documents else report.added).append(stem)
        keys[stem] = key
    if old is not None:
        report.removed = sorted(set(old.documents) - set(keys))

    dim = None
    texts = []
    for pos in todo:
        doc = docs[pos]
        texts.extend(c.indexed_text(doc.title) for c in parts[pos][0])
    new_vectors = embed_in_batches(embedder, texts, say) if texts else None
    report.embedded_clauses = len(texts)
    offset = 0
    for pos in todo:
        n = len(parts[pos][0])
        parts[pos] = (parts[pos][0], new_vectors[offset : offset + n] if n else None)
        offset += n

    clauses = [c for cl, _ in parts for c in cl]
    vec_parts = [v for _, v in parts if v is not None and len(v)]
    if vec_parts:
        vectors = np.ascontiguousarray(np.vstack(vec_parts), dtype=np.float32)
        dim = vectors.shape[1]
    else:
        dim = old.dim if old is not None else embedder.dim
        vectors = np.zeros((0, dim), dtype=np.float32)
    spans, svecs, report.embedded_sentences = sentence_vectors(clauses, vectors, old, embedder, say)
    say("embedding words", 0.93)
    words, wvecs = word_vectors(clauses, embedder, *((old.words, old.word_vectors) if old is not None else ()))
    data = IndexData(embedder.name, dim, {d.doc_id: d for d in docs}, clauses, vectors, sentences=spans,
                     sentence_vectors=svecs, words=words, word_vectors=wvecs, index_dir=index_dir)
    report.total_clauses = len(clauses)
    data.checksums = old.checksums if old is not None else None
    if (report.changed or old is None or report.rebuilt_because or (clauses and not len(old.words))
            or old_format != FORMAT_VERSION):  # an older format is rewritten in place (nothing re-embedded)
        say("writing index", 0.95)
        try:
            data.checksums = _write_generation(index_dir, data, keys)
        except OSError as exc:  # disk full, read-only folder: the previous index is still in place
            raise IndexError_(f"cannot write the index in {index_dir} ({exc.strerror or exc}); "
                              "the previous index is unchanged") from None
    report.seconds = time.perf_counter() - t0
    say("done", 1.0)
    return data, report


def read_manifest_safely(index_dir: Path) -> dict | None:
    try:
        return read_manifest(index_dir)
    except IndexError_:
        return {}


def _write_generation(index_dir: Path, data: IndexData, keys: dict[str, str]) -> dict[str, str]:
    """Write the files and the manifest; returns the SHA-256 per role."""
    gen = time.strftime("%Y%m%d%H%M%S") + "-" + uuid.uuid4().hex[:6]
    names = {
        "documents": f"documents-{gen}.jsonl",
        "clauses": f"clauses-{gen}.jsonl",
        "vectors": f"vectors-{gen}.faiss",
        "sentences": f"sentences-{gen}.npy",
        "sentence_vectors": f"sentence_vectors-{gen}.npy",
        "words": f"words-{gen}.npz",
    }
    try:
        checksums = _write_files(index_dir, data, keys, names)
    except BaseException:  # e.g. disk full: drop this generation, the previous one stays in use
        current = (read_manifest_safely(index_dir) or {}).get("files", {})
        if current.get("documents", {}).get("name") != names["documents"]:  # not yet in use
            for name in names.values():
                (index_dir / name).unlink(missing_ok=True)
        raise
    keep = set(names.values()) | {MANIFEST}
    for path in index_dir.iterdir():
        if path.name not in keep and _is_index_file(path.name):
            path.unlink(missing_ok=True)
    return checksums


def _is_index_file(name: str) -> bool:
    """A data file of some generation, or a temporary file left by an interrupted write."""
    if name.split("-")[0] in ROLES:
        return True
    return name.startswith(".") and name[1:].split("-")[0].split(".")[0] in (*ROLES, "manifest")


def _write_files(index_dir: Path, data: IndexData, keys: dict[str, str], names: dict[str, str]) -> dict[str, str]:
    docs_rows = [d.__dict__ for d in data.documents.values()]
    _write_atomic(index_dir / names["documents"], lambda p: _write_jsonl(p, docs_rows))
    _write_atomic(index_dir / names["clauses"], lambda p: _write_jsonl(p, (c.to_json() for c in data.clauses)))
    _write_atomic(index_dir / names["vectors"], lambda p: _write_vectors(p, data.vectors))
    _write_atomic(index_dir / names["sentences"], lambda p: _write_npy(p, data.sentences.reshape(-1, 3), np.int64))
    _write_atomic(index_dir / names["sentence_vectors"],
                  lambda p: _write_npy(p, data.sentence_vectors.reshape(len(data.sentences), data.dim), np.float32))
    _write_atomic(index_dir / names["words"], lambda p: _write_npz(p, words=data.words, vectors=data.word_vectors))
    counts = Counter(c.doc_id for c in data.clauses)
    manifest = {
        "format": FORMAT_VERSION,
        "model": data.model,
        "dim": data.dim,
        "splitter_version": SPLITTER_VERSION,
        "built": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "documents": {
            d.doc_id: {"file": d.file, "sha256": d.sha256, "key": keys[d.doc_id], "title": d.title,
                       "clauses": counts[d.doc_id]}
            for d in data.documents.values()
        },
        "files": {role: {"name": name, "sha256": _sha256(index_dir / name)} for role, name in names.items()},
    }
    manifest["checksum"] = _manifest_checksum(manifest)
    _write_atomic(
        index_dir / MANIFEST,
        lambda p: p.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8"),
    )
    return {role: f["sha256"] for role, f in manifest["files"].items()}
