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
from pathlib import Path

from .errors import DocumentError
from .files import sha256

__all__ = ["PREFIX", "Upload", "recover"]

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
