"""Uploads that are whole or absent across crashes: one journal folder per upload, inside the corpus.

    corpus/.upload-<random>/   hidden, so never indexed; locked (flock) by the process uploading
        <file>                 the upload, copied and checked here first
        intent.json            written and synced before the file enters corpus/: its name, its
                               SHA-256 and whether it replaces a file (kept here as `previous`)
        previous               the file it replaces, if any
        done                   written once the index holds the upload

`recover(corpus)` runs when an Assistant starts: each .upload-* folder that no live process
holds (the kernel drops a dead process's lock) is finished. Without `done`, its upload is
rolled back: the file is removed, or the one it replaced is put back, provided the file in
corpus/ is still the upload (same SHA-256). Then the folder is removed. The caller re-indexes
when anything was rolled back, so the index does not keep it either.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from .errors import DocumentError
from .files import sha256
from .inputs import safe_filename
from .loaders import META_SUFFIX, SUPPORTED

__all__ = ["PREFIX", "TRASH", "Upload", "put_back", "recover", "refuse_clash", "to_trash", "upload_target"]

TRASH = ".trash"  # removed documents go here inside the corpus folder (hidden: never indexed)


def upload_target(corpus: Path, source: Path, name: str | None) -> tuple[str, Path]:
    """(the file name, the path in `corpus`) an upload of `source` (as `name`) is stored under;
    DocumentError when its type is not read, it would land outside the folder or is not a file."""
    filename = safe_filename(name or source.name)
    if Path(filename).suffix.lower() not in SUPPORTED:
        raise DocumentError(f"{filename}: unsupported file type; use {', '.join(SUPPORTED)}", "document.unsupported_type",
                            name=filename, suffix=Path(filename).suffix.lower(), supported=SUPPORTED)
    target = corpus / filename  # not resolved: an existing link of that name is replaced, never followed
    if target.parent.resolve() != corpus or target.name != filename:
        raise DocumentError(f"{filename!r} would be stored outside the corpus folder", "document.bad_name", name=filename)
    if not source.is_file():
        raise DocumentError(f"{source.name or 'the upload'} is not a readable file", "document.unreadable",
                            name=source.name)
    return filename, target


def refuse_clash(corpus: Path, filename: str) -> None:
    """DocumentError when another document of the folder has the same name (it would replace or hide it)."""
    stem = Path(filename).stem
    clash = [p.name for p in corpus.iterdir()
             if p.is_file() and p.name != filename and p.stem == stem and Path(p.name).suffix.lower() in SUPPORTED]
    if clash:
        raise DocumentError(f"{filename}: a document named {clash[0]} already exists; rename the file",
                            "document.exists", name=filename, existing=clash[0])


def to_trash(corpus: Path, file: str, moved: list[tuple[Path, Path]]) -> list[tuple[Path, Path]]:
    """Move a document (and its .meta.json) into corpus/.trash/, recording each move in `moved`
    (so that `put_back` can undo them); DocumentError when it cannot."""
    source = (corpus / file).resolve()
    if source.parent != corpus or not source.is_file():
        raise DocumentError(f"{file} is not in the corpus folder any more", "document.gone", name=file)
    trash = corpus / TRASH
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
    except OSError as exc:
        put_back(moved)
        moved.clear()
        raise DocumentError(f"{file} cannot be moved to {TRASH}/ ({exc.strerror or exc})", "document.not_moved",
                            name=file) from None
    return moved


def put_back(moved: list[tuple[Path, Path]]) -> None:
    """Undo the moves of `to_trash`, last first."""
    for path, target in reversed(moved):
        os.replace(target, path)

PREFIX = ".upload-"
INTENT, PREVIOUS, DONE = "intent.json", "previous", "done"


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _lock(folder: Path) -> int | None:
    """An exclusive lock on `folder` (its descriptor), or None when another process holds it."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return None
        raise
    return fd


class Upload:
    """One upload's journal folder (see the module docstring). Use as a context manager."""

    def __init__(self, corpus: Path):
        self.corpus = Path(corpus)
        self.folder = Path(tempfile.mkdtemp(prefix=PREFIX, dir=self.corpus))
        self._fd = _lock(self.folder)
        self.staged: Path | None = None
        self.target: Path | None = None
        self.placed = False

    def __enter__(self) -> Upload:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def stage(self, source: Path, filename: str) -> Path:
        """Copy the upload into the journal folder (not yet in the corpus)."""
        self.staged = self.folder / filename
        try:
            shutil.copyfile(source, self.staged)
        except OSError as exc:
            raise DocumentError(f"{filename} cannot be stored ({exc.strerror or type(exc).__name__})", "document.not_stored",
                                name=filename) from None
        return self.staged

    def write_intent(self, target: Path) -> None:
        """Keep the file `target` replaces (a link is kept as the link), then record the intent, synced."""
        self.target = target
        replaces = os.path.lexists(target)
        if replaces:
            shutil.copy2(target, self.folder / PREVIOUS, follow_symlinks=False)
        intent = {"file": target.name, "sha256": sha256(self.staged), "replaces": replaces}
        tmp = self.folder / (INTENT + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(intent, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.folder / INTENT)
        _fsync_dir(self.folder)

    def place(self) -> None:
        """Move the upload into the corpus folder (atomic; replaces the file of the same name)."""
        os.replace(self.staged, self.target)
        self.placed = True
        _fsync_dir(self.corpus)

    def restore(self) -> None:
        """Undo `place` in this process (indexing failed): the previous file back, or none."""
        if not self.placed:
            return
        previous = self.folder / PREVIOUS
        if os.path.lexists(previous):
            os.replace(previous, self.target)
        else:
            self.target.unlink(missing_ok=True)
        self.placed = False

    def mark_done(self) -> None:
        """The index holds the upload: it is complete, whatever happens next."""
        with open(self.folder / DONE, "w") as f:
            f.flush()
            os.fsync(f.fileno())
        _fsync_dir(self.folder)

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _read_intent(folder: Path) -> dict | None:
    try:
        intent = json.loads((folder / INTENT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    name = intent.get("file") if isinstance(intent, dict) else None
    if not isinstance(name, str) or not name or Path(name).name != name or name.startswith(".") or "/" in name:
        return None  # not one we wrote: nothing outside a plain name in the corpus folder is touched
    return intent


def _roll_back(corpus: Path, folder: Path, intent: dict) -> bool:
    """Undo an unfinished upload; True when the corpus folder changed."""
    target = corpus / intent["file"]
    previous = folder / PREVIOUS
    try:
        ours = (target.is_file() and not target.is_symlink() and sha256(target) == intent.get("sha256"))
    except OSError:
        ours = False
    if not ours:
        return False  # never placed, already restored, or changed since by someone else
    if intent.get("replaces") and os.path.lexists(previous):
        os.replace(previous, target)
    else:
        target.unlink(missing_ok=True)
    _fsync_dir(corpus)
    return True


def recover(corpus: Path) -> list[str]:
    """Finish the uploads that a dead process left in `corpus`; returns the files rolled back."""
    corpus = Path(corpus)
    if not corpus.is_dir():
        return []
    rolled = []
    for folder in sorted(corpus.glob(PREFIX + "*")):
        if folder.is_symlink() or not folder.is_dir():
            continue
        fd = _lock(folder)
        if fd is None:
            continue  # a live upload (this or another process)
        try:
            intent = _read_intent(folder)
            if intent is not None and not (folder / DONE).exists() and _roll_back(corpus, folder, intent):
                rolled.append(intent["file"])
            shutil.rmtree(folder, ignore_errors=True)
        finally:
            os.close(fd)
    return rolled
