"""The searcher's keyword state, kept in the index folder so that a start reads it instead of rebuilding.

    embeddings/lexical-<key>/
      clauses/      bm25s.BM25.save of the clause index, plus terms.json (term -> clauses using it)
                    and folds.json (a word with æ, ø or å as typed without them -> its stems)
      documents/    the same for the whole-document index
      profiles.json each document's kind, date and names (profile.py; ~0.1 ms a document to make)
      state.json    key, sizes and a SHA-256 per file (written last)

`<key>` hashes everything the state is computed from: the texts, named by the SHA-256 of the
index's clause and document files (which the manifest verified when they were read; an index
without them hashes the texts themselves: each clause's indexed text, each document's title
and text), the code that makes the indexed text (SPLITTER_VERSION), and the analyzer (the
source files of `Analyzer`, `Lexical` and profile.py, the stop words, the PyStemmer and bm25s
versions). Any change gives another key, so stale state is never read. A build (`assistant
index`: IndexData.save_state) saves a missing or stale state and removes older `lexical-*`
folders; a load only reads: it builds a missing state in memory and writes nothing. The folder
is written under a temporary name and renamed into place; a damaged or unreadable state is
rebuilt. Saving is best effort: a read-only or full disk costs only the next start.
The index's own files, manifest and generations are untouched. No pickle: JSON and .npy.

A start that reads the state does not import bm25s: `SavedBM25` scores a saved index exactly as
`bm25s.BM25.get_scores` does (numpy backend, the same float32 additions in the same order), and
importing bm25s (with scipy.sparse) costs ~0.5 s of CPU, a third of a one-question `assistant ask`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import json
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .files import sha256

__all__ = ["IndexedTexts", "STATE_PREFIX", "SavedBM25", "bm25s_stopwords", "load_or_build", "state_key"]

log = logging.getLogger(__name__)

STATE_PREFIX = "lexical-"
_STATE = "state.json"
_PARTS = ("clauses", "documents")
_TERMS = "terms.json"
_FOLDS = "folds.json"
_PROFILES = "profiles.json"


def _dist_version(package: str) -> str | None:
    """The version in the name of `package`'s .dist-info folder next to it, found without importing
    the package or scanning every distribution (importlib.metadata: ~25 ms of a cold start)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.origin:
        return None
    found = sorted(Path(spec.origin).parent.parent.glob(f"{package}-*.dist-info"))
    return found[0].name[len(package) + 1 : -len(".dist-info")] if len(found) == 1 else None


def _bm25s_version() -> str:
    if "bm25s" in sys.modules:
        return sys.modules["bm25s"].__version__
    found = _dist_version("bm25s")
    if found:
        return found
    from importlib.metadata import PackageNotFoundError, version  # ~30 ms to import: only when needed

    try:  # the installed distribution's version, without importing the package
        return version("bm25s")
    except PackageNotFoundError:  # pragma: no cover
        import bm25s

        return bm25s.__version__


def _code_key(analyzer) -> bytes:
    import Stemmer

    from . import profile
    from .retrieve.lexical import Lexical

    h = hashlib.blake2b(digest_size=16)
    for obj in (type(analyzer), Lexical, profile):  # their modules' source (inspect.getsource: ~65 ms of a cold start)
        h.update(Path(inspect.getsourcefile(obj)).read_bytes())
    h.update("\n".join(sorted(getattr(analyzer, "_stop", ()))).encode("utf-8"))
    h.update(f"{_bm25s_version()}:{getattr(Stemmer, '__version__', '?')}".encode())
    return h.digest()


def bm25s_stopwords() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """bm25s's English and Norwegian stop words, read from its stopwords.py without running the
    package's __init__ (which imports scipy.sparse)."""
    module = sys.modules.get("bm25s.stopwords")
    if module is None:
        try:
            spec = importlib.util.find_spec("bm25s")
            path = Path(spec.origin).with_name("stopwords.py")
            loader = importlib.util.spec_from_file_location("_assistant_bm25s_stopwords", path)
            module = importlib.util.module_from_spec(loader)
            loader.loader.exec_module(module)
        except (AttributeError, ImportError, OSError, TypeError):  # pragma: no cover
            from bm25s import stopwords as module
    return tuple(module.STOPWORDS_EN), tuple(module.STOPWORDS_NORWEGIAN)


class SavedBM25:
    """`bm25s.BM25.load(folder, mmap=True)` and its `get_scores`, for an index saved by bm25s with
    the numpy backend and a method without a non-occurrence array (lucene, robertson, atire)."""

    def __init__(self, folder: Path):
        params = json.loads((folder / "params.index.json").read_text(encoding="utf-8"))
        if params.get("backend", "numpy") != "numpy" or params.get("method") not in ("lucene", "robertson", "atire"):
            raise ValueError(f"a bm25s index of method {params.get('method')!r}, backend {params.get('backend')!r}")
        self.vocab_dict = json.loads((folder / "vocab.index.json").read_text(encoding="utf-8"))
        self.data, self.indices, self.indptr = (
            np.load(folder / f"{name}.csc.index.npy", mmap_mode="r", allow_pickle=False)
            for name in ("data", "indices", "indptr"))
        self.num_docs = int(params["num_docs"])
        self.dtype, self.int_dtype = np.dtype(params.get("dtype", "float32")), np.dtype(params.get("int_dtype", "int32"))

    def get_scores(self, query_tokens: list[str]) -> np.ndarray:
        ids = np.asarray([self.vocab_dict[t] for t in query_tokens if t in self.vocab_dict], dtype=self.int_dtype)
        if int(ids.max(initial=0)) >= len(self.indptr) - 1:
            raise ValueError("a query token id past the index")
        scores = np.zeros(self.num_docs, dtype=self.dtype)
        for start, end in zip(self.indptr[ids], self.indptr[ids + 1]):
            np.add.at(scores, self.indices[start:end], self.data[start:end])
        return scores


class IndexedTexts(Sequence):
    """Each clause's indexed text (`Clause.indexed_text`), made when read: a start that reads
    the saved state needs only the few of the top results."""

    def __init__(self, clauses, titles: dict[str, str]):
        self.clauses, self.titles = clauses, titles

    def __len__(self) -> int:
        return len(self.clauses)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        c = self.clauses[i]
        return c.indexed_text(self.titles.get(c.doc_id, ""))


def state_key(analyzer, texts: dict[str, Sequence[str]], checksums: dict[str, str] | None = None) -> str:
    """A name for the state of these texts under this analyzer.

    With `checksums` (the SHA-256 of the index's clause and document files, from which the
    texts are made) the texts are named by them instead of being read and hashed.
    """
    from .index import SPLITTER_VERSION

    h = hashlib.blake2b(_code_key(analyzer), digest_size=16)
    h.update(str(SPLITTER_VERSION).encode())
    if checksums and checksums.get("clauses") and checksums.get("documents"):
        h.update(f"files:{checksums['clauses']}:{checksums['documents']}".encode())
        return h.hexdigest()
    for part in _PARTS:
        h.update(f"\x00{part}:{len(texts[part])}\x00".encode())
        for t in texts[part]:
            h.update(t.encode("utf-8", "surrogatepass"))
            h.update(b"\x1e")
    return h.hexdigest()




def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != _STATE)


def _save(index_dir: Path, key: str, lexicals: dict, profiles: list | None) -> None:
    target = index_dir / f"{STATE_PREFIX}{key}"
    if target.exists():
        return
    tmp = Path(tempfile.mkdtemp(prefix=f".{STATE_PREFIX}", dir=index_dir))
    try:
        for part, lex in lexicals.items():
            folder = tmp / part
            folder.mkdir()
            if lex.n:
                lex.bm25.save(str(folder), show_progress=False)
            (folder / _TERMS).write_text(json.dumps(lex.vocab, ensure_ascii=False), encoding="utf-8")
            (folder / _FOLDS).write_text(json.dumps(lex.folds, ensure_ascii=False), encoding="utf-8")
        if profiles is not None:
            (tmp / _PROFILES).write_text(json.dumps([p.to_json() for p in profiles], ensure_ascii=False),
                                         encoding="utf-8")
        state = {"key": key, "sizes": {p: lex.n for p, lex in lexicals.items()},
                 "sha256": {str(p.relative_to(tmp)): sha256(p) for p in _files(tmp)}}
        (tmp / _STATE).write_text(json.dumps(state), encoding="utf-8")
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for old in index_dir.glob(f"{STATE_PREFIX}*"):
        if old.name != target.name:
            shutil.rmtree(old, ignore_errors=True)


def _load(folder: Path, key: str, analyzer) -> dict:
    from .retrieve.lexical import Lexical

    state = json.loads((folder / _STATE).read_text(encoding="utf-8"))
    if state.get("key") != key:
        raise ValueError("state of another key")
    listed = state["sha256"]
    if sorted(listed) != [str(p.relative_to(folder)) for p in _files(folder)]:
        raise ValueError("files missing or added")
    for name, digest in listed.items():
        if sha256(folder / name) != digest:
            raise ValueError(f"{name} is damaged")
    out = {}
    for part in _PARTS:
        n = int(state["sizes"][part])
        vocab = json.loads((folder / part / _TERMS).read_text(encoding="utf-8"))
        bm25 = SavedBM25(folder / part) if n else None
        folds = json.loads((folder / part / _FOLDS).read_text(encoding="utf-8"))
        out[part] = Lexical.from_state(analyzer, vocab, n, bm25, folds)
    if (folder / _PROFILES).is_file():
        from .profile import DocProfile

        profiles = [DocProfile.from_json(d) for d in json.loads((folder / _PROFILES).read_text(encoding="utf-8"))]
        out["profiles"] = {p.doc_id: p for p in profiles}
    return out


def load_or_build(data, analyzer, texts: dict[str, Sequence[str]], profiles=None) -> dict:
    """{"clauses": Lexical, "documents": Lexical} for `texts` (made from the IndexData `data`),
    read from its index folder when saved there; with "profiles" ({doc_id: DocProfile}) when they
    were read or made. `profiles` makes them (a list in document order) for a build to save."""
    from .retrieve.lexical import Lexical

    index_dir = getattr(data, "index_dir", None)
    if index_dir is None or not Path(index_dir).is_dir():
        return {part: Lexical(analyzer, list(texts[part])) for part in _PARTS}
    index_dir = Path(index_dir)
    key = state_key(analyzer, texts, getattr(data, "checksums", None))
    folder = index_dir / f"{STATE_PREFIX}{key}"
    writes = bool(getattr(data, "save_state", False))  # only a build's data: reading never writes
    if folder.is_dir():
        try:
            return _load(folder, key, analyzer)
        except (OSError, ValueError, KeyError, TypeError) as exc:  # damaged: build it again
            log.warning("the keyword index in %s is unusable (%s); rebuilding it", folder, exc)
            if writes:
                shutil.rmtree(folder, ignore_errors=True)
    lexicals = {part: Lexical(analyzer, list(texts[part])) for part in _PARTS}
    if writes:
        made = profiles() if profiles is not None else None
        try:
            _save(index_dir, key, lexicals, made)
        except OSError as exc:
            log.warning("cannot save the keyword index in %s (%s)", index_dir, exc)
        if made is not None:
            return {**lexicals, "profiles": {p.doc_id: p for p in made}}
    return lexicals
