"""Load documents from files: one small reader per format, picked from a table.

Every reader returns the document's text; offsets of clauses point into that text.
For .txt the text is the file's content exactly (no newline translation). Formats with
markup (md, html, docx) become light Markdown (``# heading``, ``- item``, paragraphs
separated by blank lines) so that one splitter serves them all (html and docx: markup.py).
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import re
import stat
import unicodedata
from collections.abc import Callable
from pathlib import Path

from .errors import DocumentError, Message
from .markup import html_text, read_docx
from .types import Document

__all__ = ["SUPPORTED", "is_supported", "list_documents", "load_document", "read_metadata", "read_own_file"]

META_SUFFIX = ".meta.json"


def _decode(raw: bytes, name: str) -> str:
    if not raw.strip():
        raise DocumentError(f"{name} is empty", "document.empty", name=name)
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 with a byte-order mark (Windows "Unicode")
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError:
            raise DocumentError(f"{name} is not valid UTF-16 text", "document.encoding", name=name) from None
    elif b"\x00" in raw[:65536]:
        raise DocumentError(f"{name} looks like a binary file, not text", "document.binary", name=name)
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = _decode_legacy(raw, name)
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise DocumentError(f"{name} is empty", "document.empty", name=name)
    controls = sum(1 for c in text[:65536] if unicodedata.category(c) == "Cc" and c not in "\r\n\t\f")
    if controls > 0.01 * min(len(text), 65536):
        raise DocumentError(f"{name} looks like a binary file, not text", "document.binary", name=name)
    return text


def _decode_legacy(raw: bytes, name: str) -> str:
    """Text that is not UTF-8: accept Windows-1252/Latin-1 (old Norwegian files), else refuse.

    Windows-1252 is tried first: charset detection guesses wildly on short texts (it reads
    Latin-1 "blåbærsyltetøy" as Baltic or Chinese). Text in another script read as 1252
    is mostly accented letters, so 1252 is kept only when few letters are non-ASCII.
    """
    from charset_normalizer import from_bytes

    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        letters = [c for c in text[:200_000] if c.isalpha()]
        foreign = sum(1 for c in letters if ord(c) > 127)
        if letters and foreign <= 0.5 * len(letters):
            return text
    best = from_bytes(raw[:1_000_000]).best()
    encoding = best.encoding if best is not None else None
    if encoding is None:
        raise DocumentError(f"{name} is not UTF-8 and its encoding could not be detected", "document.encoding", name=name)
    try:
        return raw.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        raise DocumentError(f"{name} is not UTF-8 and not readable as {encoding}", "document.encoding",
                            name=name, encoding=encoding) from None


_FRONT_MATTER = re.compile(r"\A---\r?\n(.*?)\r?\n---\r?\n", re.S)


def _front_matter(text: str) -> tuple[dict, str]:
    m = _FRONT_MATTER.match(text)
    if not m:
        return {}, text
    meta = {}
    for line in m.group(1).splitlines():
        key, sep, value = line.partition(":")
        if sep:
            meta[key.strip().lower()] = value.strip().strip("\"'")
    return meta, text[m.end() :]


def _read_txt(raw: bytes, name: str) -> tuple[str, dict]:
    return _decode(raw, name), {}


def _read_md(raw: bytes, name: str) -> tuple[str, dict]:
    meta, text = _front_matter(_decode(raw, name))
    return text, meta


def _read_pdf(raw: bytes, name: str) -> tuple[str, dict]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            try:
                if not reader.decrypt(""):
                    raise DocumentError(f"{name} is a password-protected PDF", "document.pdf_password", name=name)
            except DocumentError:
                raise
            except Exception:
                raise DocumentError(f"{name} is a password-protected PDF", "document.pdf_password", name=name) from None
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
        info = reader.metadata or {}
        meta = {"title": str(info.get("/Title") or "").strip()}
    except DocumentError:
        raise
    except (PdfReadError, Exception) as exc:  # pypdf raises many kinds on broken files
        raise DocumentError(f"{name} is not a readable PDF ({type(exc).__name__})", "document.pdf_unreadable",
                            name=name) from None
    text = "\n\n".join(p for p in pages if p)
    if not text.strip():
        raise DocumentError(f"{name} has no extractable text (a scanned PDF needs OCR first)", "document.pdf_no_text",
                            name=name)
    return text, meta


def _read_html(raw: bytes, name: str) -> tuple[str, dict]:
    return html_text(_decode(raw, name), name)


READERS: dict[str, Callable[[bytes, str], tuple[str, dict]]] = {
    ".txt": _read_txt,
    ".md": _read_md,
    ".markdown": _read_md,
    ".pdf": _read_pdf,
    ".docx": read_docx,
    ".html": _read_html,
    ".htm": _read_html,
}
SUPPORTED = tuple(READERS)


def is_supported(path: Path | str) -> bool:
    name = Path(path).name
    return not name.startswith(".") and Path(name).suffix.lower() in READERS


def list_documents(corpus_dir: Path, skipped: dict[str, str] | None = None) -> list[Path]:
    """The supported document files directly inside `corpus_dir`, sorted by name.

    Not recursive, and hidden names are skipped: `.trash/` (removed documents) and `.upload-*`
    (uploads being checked) are never indexed. The folder holds its own files only: a symbolic
    link (to a file or a folder), or anything that is not a regular file, is left out, with a
    one-line reason in `skipped` (name -> reason) when given.
    """
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise DocumentError(f"corpus folder {corpus_dir.name or corpus_dir} does not exist", "document.no_corpus",
                            folder=str(corpus_dir))
    root = corpus_dir.resolve()
    found = []
    for p in sorted(corpus_dir.iterdir()):
        if p.name.startswith("."):
            continue
        reason = _foreign(p, root)
        if reason is None and p.is_file() and is_supported(p):
            found.append(p)
        elif reason is not None and (is_supported(p) or p.name.endswith(META_SUFFIX) or _is_dir(p)):
            if skipped is not None:
                skipped[p.name] = reason
    return found


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


def _foreign(path: Path, root: Path) -> str | None:
    """Why `path` (an entry of the corpus folder `root`) is not one of its own files; None if it is.

    Only regular files count: a symbolic link is never followed, wherever it points (the
    check and the read would otherwise race: a link can be swapped between them).
    """
    try:
        st = path.lstat()
    except OSError as exc:
        return Message(f"{path.name} cannot be read ({exc.strerror})", "document.unreadable", name=path.name)
    if stat.S_ISLNK(st.st_mode):
        try:
            inside = path.resolve(strict=True).is_relative_to(root)
        except (OSError, RuntimeError):  # a dangling or looping link
            inside = False
        what = "folder" if _is_dir(path) else "file"
        where = "inside" if inside else "outside"
        return Message(f"{path.name} is a link to a {what} {where} the corpus folder; links are not followed",
                       "document.link", name=path.name, outside=not inside)
    if stat.S_ISDIR(st.st_mode):
        return None  # a plain subfolder: not read (the corpus is not recursive)
    if not stat.S_ISREG(st.st_mode):
        return Message(f"{path.name} is not a regular file (a pipe, socket or device)", "document.not_regular", name=path.name)
    return None


def read_own_file(path: Path, max_bytes: int | None = None) -> bytes:
    """The bytes of `path`, refusing a symbolic link (O_NOFOLLOW) or anything but a regular file.

    Opened without following a link and without blocking (a FIFO swapped in must not hang the
    read), then checked on the open descriptor: what is read is what was checked.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP or Path(path).is_symlink():
            raise DocumentError(f"{Path(path).name} is a link; links are not followed", "document.link",
                                name=Path(path).name) from None
        raise
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise DocumentError(f"{Path(path).name} is not a regular file", "document.not_regular", name=Path(path).name)
        if max_bytes is not None and st.st_size > max_bytes:
            raise DocumentError(f"{Path(path).name} is {st.st_size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB",
                                "document.too_large", name=Path(path).name, size_mb=st.st_size / 1e6, limit_mb=max_bytes / 1e6)
        return f.read()


def _sidecar(path: Path) -> Path | None:
    """The sidecar `<stem>.meta.json` of `path` if there is one; DocumentError if it is not a file of its own."""
    side = path.with_name(path.stem + META_SUFFIX)
    try:
        st = side.lstat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise DocumentError(f"{side.name} cannot be read ({exc.strerror})", "document.unreadable", name=side.name) from None
    if stat.S_ISLNK(st.st_mode):
        raise DocumentError(f"{side.name} is a link; links are not followed, so {path.name} is not indexed",
                            "document.link", name=side.name, document=path.name)
    if not stat.S_ISREG(st.st_mode):
        return None
    return side


def read_metadata(path: Path) -> dict:
    """Sidecar metadata `<stem>.meta.json` (title, date, kind), if present."""
    side = _sidecar(path)
    if side is None:
        return {}
    try:
        data = json.loads(read_own_file(side, max_bytes=1_000_000).decode("utf-8"))
    except OSError as exc:
        raise DocumentError(f"{side.name} cannot be read ({exc.strerror})", "document.unreadable", name=side.name) from None
    except ValueError as exc:
        raise DocumentError(f"{side.name} is not valid JSON ({exc})", "document.bad_metadata", name=side.name) from None
    if not isinstance(data, dict):
        raise DocumentError(f"{side.name} must hold a JSON object", "document.bad_metadata", name=side.name)
    return {k: str(v) for k, v in data.items() if k in ("title", "date", "kind")}


def _title_from_text(text: str, stem: str) -> str:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if re.match(r"(?i)(kilde|source)\s*:\s*\S+$", line):  # a saved web page's address line
            continue
        if line:
            return line[:120] if len(line) <= 120 else stem
    return stem


def file_hash(path: Path, raw: bytes | None = None) -> str:
    h = hashlib.sha256(raw if raw is not None else read_own_file(path))
    side = _sidecar(path)
    if side is not None:
        h.update(read_own_file(side))
    return h.hexdigest()


def load_document(path: Path, max_bytes: int = 20 * 1024 * 1024) -> Document:
    """Read one file into a Document. Raises DocumentError with a one-line reason."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise DocumentError(f"{path.name}: unsupported file type {suffix or '(none)'}; use {', '.join(SUPPORTED)}",
                            "document.unsupported_type", name=path.name, suffix=suffix, supported=SUPPORTED)
    try:
        raw = read_own_file(path, max_bytes=max_bytes)
    except OSError as exc:
        raise DocumentError(f"{path.name} cannot be read ({exc.strerror})", "document.unreadable", name=path.name) from None
    try:
        text, meta = READERS[suffix](raw, path.name)
    except DocumentError:
        raise
    except Exception as exc:  # a reader bug or a library fault must not stop the whole index
        raise DocumentError(f"{path.name} could not be read ({type(exc).__name__})", "document.unreadable",
                            name=path.name) from None
    meta = {**{k: v for k, v in meta.items() if v}, **read_metadata(path)}
    return Document(
        doc_id=path.stem,
        file=path.name,
        text=text,
        title=meta.get("title") or _title_from_text(text, path.stem),
        date=meta.get("date", ""),
        kind=meta.get("kind", ""),
        sha256=file_hash(path, raw),
    )
