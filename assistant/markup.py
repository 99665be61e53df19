"""Readers of the formats with markup, Word (.docx) and HTML: the text as light Markdown
(``# heading``, ``- item``, paragraphs separated by blank lines), so that one splitter serves
them all. Each returns (text, metadata); loaders.py picks them from its table."""

from __future__ import annotations

import io
import re
import zipfile

from .errors import DocumentError

__all__ = ["MAX_ZIP_RATIO", "html_text", "join_blocks", "read_docx"]

MAX_ZIP_RATIO = 100  # uncompressed/compressed above this is treated as a zip bomb
_HTML_BLOCKS = {"h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "td", "th", "pre", "blockquote",
                "dt", "dd", "caption", "figcaption"}


def _check_zip(raw: bytes, name: str, limit: int) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            total = sum(i.file_size for i in zf.infolist())
    except zipfile.BadZipFile:
        raise DocumentError(f"{name} is not a valid .docx file", "document.docx_unreadable", name=name) from None
    if total > limit or total > MAX_ZIP_RATIO * max(len(raw), 1):
        raise DocumentError(f"{name} unpacks to {total:,} bytes, which is too large to read safely",
                            "document.zip_bomb", name=name, size=total)


def read_docx(raw: bytes, name: str, limit: int = 200 * 1024 * 1024) -> tuple[str, dict]:
    _check_zip(raw, name, limit)
    try:
        import docx

        document = docx.Document(io.BytesIO(raw))
    except Exception as exc:
        raise DocumentError(f"{name} is not a readable .docx file ({type(exc).__name__})", "document.docx_unreadable",
                            name=name) from None
    blocks = []
    for para in document.paragraphs:
        text = " ".join(para.text.split())
        if not text:
            continue
        style = (para.style.name if para.style is not None else "") or ""
        level = re.match(r"(?:Heading|Overskrift)\s*(\d)", style, re.I)
        if style.lower() == "title":
            blocks.append(f"# {text}")
        elif level:
            blocks.append("#" * min(int(level.group(1)) + 1, 6) + " " + text)
        elif "list" in style.lower() or para._p.pPr is not None and para._p.pPr.numPr is not None:
            blocks.append(f"- {text}")
        else:
            blocks.append(text)
    for table in document.tables:
        for row in table.rows:
            cells = [" ".join(c.text.split()) for c in row.cells]
            line = " | ".join(c for c in cells if c)
            if line:
                blocks.append(line)
    text = join_blocks(blocks)
    if not text.strip():
        raise DocumentError(f"{name} has no text", "document.no_text", name=name)
    return text, {"title": (document.core_properties.title or "").strip()}


def join_blocks(blocks: list[str]) -> str:
    """Blocks as paragraphs; consecutive list items stay together as one list."""
    out = []
    for b in blocks:
        if out and b.startswith("- ") and out[-1].startswith("- "):
            out[-1] += "\n" + b
        else:
            out.append(b)
    return "\n\n".join(out) + "\n"


def html_text(html: str, name: str) -> tuple[str, dict]:
    """The text of an (already decoded) HTML page, without its scripts, navigation and footer."""
    try:
        from selectolax.lexbor import LexborHTMLParser as HTMLParser
    except ImportError:  # selectolax before lexbor; from 1.0 the Modest parser raises ImportError
        from selectolax.parser import HTMLParser

    tree = HTMLParser(html)
    title_node = tree.css_first("title")
    meta = {"title": " ".join(title_node.text().split()) if title_node else ""}
    tree.strip_tags(["script", "style", "noscript", "template", "svg", "nav", "footer", "head"])
    blocks = []
    root = tree.body or tree.root
    if root is None:
        raise DocumentError(f"{name} has no text", "document.no_text", name=name)
    for node in root.traverse(include_text=False):
        tag = node.tag
        if tag not in _HTML_BLOCKS:
            continue
        if any(p.tag in _HTML_BLOCKS for p in _parents(node)):
            continue  # text is taken once, by the outermost block
        text = " ".join(node.text(separator=" ").split())
        if not text:
            continue
        if tag[0] == "h" and tag[1:].isdigit():
            blocks.append("#" * int(tag[1]) + " " + text)
        elif tag == "li":
            blocks.append(f"- {text}")
        else:
            blocks.append(text)
    text = join_blocks(blocks)
    if not text.strip():
        raise DocumentError(f"{name} has no text", "document.no_text", name=name)
    return text, meta


def _parents(node):
    p = node.parent
    while p is not None:
        yield p
        p = p.parent
