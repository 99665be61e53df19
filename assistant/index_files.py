"""The index folder's files: one generation of data files, the manifest (written last), checksums.

    manifest.json              format, model, dimension, splitter version, per-document hashes,
                               a SHA-256 per data file, and a checksum of itself
    documents-<gen>.jsonl      one line per document: metadata and extracted text
    clauses-<gen>.jsonl        one line per clause, in vector order
    vectors-<gen>.faiss        the FAISS index that is searched (store.py; flat inner product,
                               HNSW from HNSW_THRESHOLD clauses), its rows in clause order
    sentences-<gen>.npy        every clause's sentences: (clause row, start, end), int64
    sentence_vectors-<gen>.npy a vector per sentence, float32; both memory-mapped when read
    words-<gen>.npz            the corpus's words and their vectors (English questions, bridge.py)

A generation's files are each written atomically (files.write_atomic), then the manifest, then
the files of older generations are removed: a crash at any point leaves a complete index. Reading
checks every file against the manifest's SHA-256 (in threads, while the files are parsed; a
mismatch is reported before any parse error). No pickle anywhere.
"""

from __future__ import annotations

import gc
import hashlib
import json
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .errors import IndexError_
from .files import sha256, write_atomic
from .store import FaissStore, filled
from .types import Clause, Document

__all__ = ["FORMAT_VERSION", "MANIFEST", "READABLE_FORMATS", "read_generation", "read_manifest",
           "read_manifest_safely", "write_generation"]

# 2: sentence vectors; 3: word vectors; 4: sentences as .npy, memory-mapped; 5: the vectors file is
# the searched FAISS index (HNSW from HNSW_THRESHOLD clauses, flat below: formats 2-4 were always flat)
FORMAT_VERSION = 5
READABLE_FORMATS = (2, 3, 4, 5)  # an older index is read; `assistant index` rewrites it (nothing re-embedded)
MANIFEST = "manifest.json"
ROLES = ("documents", "clauses", "vectors", "sentences", "sentence_vectors", "words")
SUFFIX = {"documents": "jsonl", "clauses": "jsonl", "vectors": "faiss", "sentences": "npy",
          "sentence_vectors": "npy", "words": "npz"}


def roles(fmt: int) -> tuple[str, ...]:
    """The files an index of format `fmt` has (format 3 keeps the sentence vectors in sentences-*.npz)."""
    return tuple(r for r in ROLES if not (r == "sentence_vectors" and fmt < 4) and not (r == "words" and fmt < 3))


# -- the manifest ------------------------------------------------------------------------------

def read_manifest(index_dir: Path) -> dict | None:
    """The manifest, checked; None if there is none; IndexError_ if it is unreadable or damaged."""
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
    if "checksum" in manifest and manifest["checksum"] != manifest_checksum(manifest):
        raise IndexError_(f"the index manifest {path} is damaged (checksum mismatch)")
    return manifest


def read_manifest_safely(index_dir: Path) -> dict | None:
    """The manifest; None if there is none, {} if it cannot be used."""
    try:
        return read_manifest(index_dir)
    except IndexError_:
        return {}


def manifest_checksum(manifest: dict) -> str:
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


# -- reading -----------------------------------------------------------------------------------

def read_generation(index_dir: Path, manifest: dict, hnsw_cache: Path | None = None):
    """The files the manifest names, verified and parsed:
    (documents, clauses, store, spans, sentence vectors, words, word vectors)."""
    files = manifest.get("files", {})
    paths = {}
    for role in roles(manifest["format"]):
        name = str(files.get(role, {}).get("name", ""))
        path = index_dir / name
        if name and (Path(name).name != name or not is_index_file(name) or path.is_symlink()):
            raise IndexError_(f"the index manifest names {name!r}, which is not a file of {index_dir}",
                              "index.foreign_file", name=name)  # refused unread
        if not name or not path.is_file():
            raise IndexError_(f"the index file {name or role} is missing from {index_dir}")
        paths[role] = path
    # the checksums are computed in threads (hashlib lets go of the GIL) while the files are parsed
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="index-sha256") as pool:
        digests = {role: pool.submit(sha256, path) for role, path in paths.items()}
        try:
            with _gc_paused():
                parsed, failed = _read_files(paths, hnsw_cache), None
        except (OSError, ValueError, TypeError, KeyError, RuntimeError, IndexError_) as exc:
            parsed, failed = None, exc
        for role, digest in digests.items():
            if digest.result() != files[role].get("sha256"):
                raise IndexError_(f"the index file {paths[role].name} is damaged (checksum mismatch)")
    if failed is not None:
        raise IndexError_(f"the index in {index_dir} is unreadable ({type(failed).__name__})") from None
    return parsed


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


def _read_files(paths: dict[str, Path], hnsw_cache: Path | None):
    docs = [Document(**d) for d in _read_jsonl(paths["documents"])]
    clauses = [_clause(d) for d in _read_jsonl(paths["clauses"])]
    store = FaissStore.load(paths["vectors"], [c.clause_id for c in clauses], [c.doc_id for c in clauses],
                            hnsw_cache=hnsw_cache)
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
    return docs, clauses, store, spans, svecs, words, wvecs


def _read_jsonl(path: Path) -> list[dict]:
    try:  # orjson (a gradio dependency) parses ~3x faster: 100k clauses load in ~1 s less
        from orjson import loads
    except ImportError:  # pragma: no cover
        loads = json.loads
    with open(path, encoding="utf-8", newline="") as f:
        return [loads(line) for line in f if line.strip()]


_CLAUSE_FIELDS = set(Clause.__dataclass_fields__)


def _clause(d: dict) -> Clause:
    """`Clause.from_json`, with the fields set directly when the row is as `to_json` wrote it: the
    frozen __init__ costs ~40 % more (0.2 s of a 100k-clause start)."""
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


# -- writing -----------------------------------------------------------------------------------

def write_generation(index_dir: Path, data, keys: dict[str, str], splitter_version: int) -> dict[str, str]:
    """Write the files of the IndexData `data` and the manifest; returns the SHA-256 per role."""
    gen = time.strftime("%Y%m%d%H%M%S") + "-" + uuid.uuid4().hex[:6]
    names = {role: f"{role}-{gen}.{SUFFIX[role]}" for role in ROLES}
    try:
        checksums = _write_files(index_dir, data, keys, names, splitter_version)
    except BaseException:  # e.g. disk full: drop this generation, the previous one stays in use
        current = (read_manifest_safely(index_dir) or {}).get("files", {})
        if current.get("documents", {}).get("name") != names["documents"]:  # not yet in use
            for name in names.values():
                (index_dir / name).unlink(missing_ok=True)
        raise
    keep = set(names.values()) | {MANIFEST}
    for path in index_dir.iterdir():
        if path.name not in keep and is_index_file(path.name):
            path.unlink(missing_ok=True)
    return checksums


def is_index_file(name: str) -> bool:
    """A data file of some generation, or a temporary file left by an interrupted write."""
    if name.split("-")[0] in ROLES:
        return True
    return name.startswith(".") and name[1:].split("-")[0].split(".")[0] in (*ROLES, "manifest")


def _write_jsonl(path: Path, rows) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _write_vectors(path: Path, data) -> None:
    """The searched FAISS index (the vectors of a store of another kind as a FAISS store's)."""
    store = data.store if isinstance(data.store, FaissStore) else filled(FaissStore(data.dim), data.clauses, data.vectors)
    store.write(path)


def _write_npz(path: Path, **arrays) -> None:
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def _write_npy(path: Path, array: np.ndarray, dtype) -> None:
    with open(path, "wb") as f:
        np.save(f, np.ascontiguousarray(array, dtype=dtype), allow_pickle=False)


def _write_files(index_dir: Path, data, keys: dict[str, str], names: dict[str, str],
                 splitter_version: int) -> dict[str, str]:
    docs_rows = [d.__dict__ for d in data.documents.values()]
    write_atomic(index_dir / names["documents"], lambda p: _write_jsonl(p, docs_rows))
    write_atomic(index_dir / names["clauses"], lambda p: _write_jsonl(p, (c.to_json() for c in data.clauses)))
    write_atomic(index_dir / names["vectors"], lambda p: _write_vectors(p, data))
    write_atomic(index_dir / names["sentences"], lambda p: _write_npy(p, data.sentences.reshape(-1, 3), np.int64))
    write_atomic(index_dir / names["sentence_vectors"],
                 lambda p: _write_npy(p, data.sentence_vectors.reshape(len(data.sentences), data.dim), np.float32))
    write_atomic(index_dir / names["words"], lambda p: _write_npz(p, words=data.words, vectors=data.word_vectors))
    counts = Counter(c.doc_id for c in data.clauses)
    manifest = {
        "format": FORMAT_VERSION,
        "model": data.model,
        "dim": data.dim,
        "splitter_version": splitter_version,
        "built": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "documents": {
            d.doc_id: {"file": d.file, "sha256": d.sha256, "key": keys[d.doc_id], "title": d.title,
                       "clauses": counts[d.doc_id]}
            for d in data.documents.values()
        },
        "files": {role: {"name": name, "sha256": sha256(index_dir / name)} for role, name in names.items()},
    }
    manifest["checksum"] = manifest_checksum(manifest)
    write_atomic(
        index_dir / MANIFEST,
        lambda p: p.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8"),
    )
    return {role: f["sha256"] for role, f in manifest["files"].items()}
