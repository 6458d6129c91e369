"""Files in, cleaned ``Article`` out: size, encoding and binary checks, HTML and Markdown.

Every refusal is a ``RejectedFile`` whose message says what is wrong with the
file and what to do about it; the caller reports it and goes on with the batch.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from core.errors import RejectedFile
from core.types import Article
from ingest.clean import clean_article, normalize

TEXT_SUFFIXES = {
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
}
SUPPORTED = ", ".join(sorted(TEXT_SUFFIXES))

_MAGIC = {
    b"\x89PNG": "a PNG image",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a ZIP archive (or .docx/.xlsx)",
    b"GIF8": "a GIF image",
    b"\xff\xd8\xff": "a JPEG image",
    b"\x1f\x8b": "a gzip archive",
    b"\x7fELF": "an executable",
    b"SQLite format 3": "an SQLite database",
    b"\xd0\xcf\x11\xe0": "an old Microsoft Office document",
}
_MIN_WORDS = 3


def find_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Expand files and folders into the article files to ingest.

    Folders are walked recursively without following links to folders (so a
    link loop cannot trap the walk); hidden entries and files of other types
    inside folders are ignored. Returns the files and ``(path, reason)`` for
    each named path that cannot be used.
    """
    files: list[Path] = []
    problems: list[tuple[str, str]] = []
    seen: set[Path] = set()

    def add(path: Path) -> None:
        resolved = path.resolve()
        if resolved not in seen:
            seen.add(resolved)
            files.append(resolved)

    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            problems.append((str(raw), "no such file or folder; check the path"))
        elif path.is_dir():
            for root, dirs, names in os.walk(path, followlinks=False):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(names):
                    candidate = Path(root) / name
                    if name.startswith(".") or candidate.suffix.lower() not in TEXT_SUFFIXES:
                        continue
                    if candidate.is_file():
                        add(candidate)
        elif path.suffix.lower() not in TEXT_SUFFIXES:
            problems.append(
                (
                    str(raw),
                    f"unsupported file type {path.suffix or '(none)'!r}; Dossier reads {SUPPORTED}",
                )
            )
        elif not path.is_file():
            problems.append((str(raw), "not a regular file"))
        else:
            add(path)
    return files, problems


def read_text(path: Path, max_bytes: int) -> str:
    """Read a text file, refusing empty, oversized, binary and undecodable ones."""
    try:
        size = path.stat().st_size
        if size == 0:
            raise RejectedFile("the file is empty")
        if size > max_bytes:
            raise RejectedFile(
                f"the file is {size / 1048576:.1f} MB, over the {max_bytes / 1048576:g} MB limit; "
                "split it or raise DOSSIER_MAX_FILE_MB"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise RejectedFile(f"cannot be read: {exc.strerror or exc}") from None
    return decode(data)


def decode(data: bytes) -> str:
    """Bytes to text: UTF-8 (with or without BOM), UTF-16 with a BOM, else Windows-1252."""
    for magic, what in _MAGIC.items():
        if data.startswith(magic):
            raise RejectedFile(f"this is {what}, not a text article; convert it to .txt or .html")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise RejectedFile(
                "the file starts like UTF-16 but does not decode; re-save it as UTF-8"
            ) from None
    if b"\x00" in data[:65536]:
        raise RejectedFile(
            "the file contains NUL bytes, so it is binary, not text; "
            "if it is text, re-save it as UTF-8"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            # Old news archives are often Windows-1252 (a superset of Latin-1's printable range).
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise RejectedFile(
                "the text is neither UTF-8 nor Windows-1252; re-save it as UTF-8"
            ) from None
    controls = sum(1 for ch in text[:65536] if ord(ch) < 32 and ch not in "\t\n\r\f\v")
    if controls > max(8, len(text[:65536]) // 200):
        raise RejectedFile("the file is full of control characters, so it is binary, not text")
    return text


def load_article(path: Path, max_bytes: int) -> Article:
    """Read, extract and clean one article file."""
    kind = TEXT_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise RejectedFile(f"unsupported file type {path.suffix!r}; Dossier reads {SUPPORTED}")
    raw = read_text(path, max_bytes)
    if not raw.strip():
        raise RejectedFile("the file holds only whitespace")
    meta: dict[str, str | None] = {}
    if kind == "html":
        raw, meta = html_to_text(raw)
    elif kind == "markdown":
        raw = markdown_to_text(raw)
    cleaned = clean_article(
        raw, title=meta.get("title"), outlet=meta.get("outlet"), date_hint=meta.get("date")
    )
    if len(cleaned.text.split()) < _MIN_WORDS:
        raise RejectedFile(
            "no article text is left after removing page furniture "
            "(menus, ads, captions); is this really an article?"
        )
    title = cleaned.title or _first_words(cleaned.text) or path.stem
    return Article(
        source_id=str(path),
        source=path.name,
        title=title,
        text=cleaned.text,
        content_hash=hashlib.sha256(cleaned.text.encode("utf-8")).hexdigest(),
        outlet=cleaned.outlet,
        date=cleaned.date,
    )


def html_to_text(html: str) -> tuple[str, dict[str, str | None]]:
    """The article text of an HTML page and its metadata (title, outlet, date).

    trafilatura finds the main content and drops scripts, styles, menus and
    boilerplate; its metadata reader looks at <title>, OpenGraph and JSON-LD.
    """
    import trafilatura

    doc = trafilatura.bare_extraction(
        html,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        include_images=False,
        include_links=False,
        deduplicate=True,
        favor_recall=True,
    )
    found: dict[str, Any] = {}
    if isinstance(doc, dict):
        found = doc
    elif doc is not None:
        found = doc.as_dict()
    body = found.get("text") or ""
    if not body.strip():
        # Very short pages fall below trafilatura's main-content thresholds.
        body = trafilatura.html2txt(html) or ""
    title = found.get("title")
    meta = {
        "title": title,
        "outlet": found.get("sitename"),
        "date": found.get("date"),
    }
    if title and not normalize(body).lstrip().startswith(title):
        body = f"{title}\n\n{body}"
    # trafilatura separates paragraphs with single newlines; make them blank-line paragraphs.
    return "\n\n".join(line for line in body.split("\n") if line.strip()), meta


def markdown_to_text(markdown: str) -> str:
    """Plain text of a Markdown article: one paragraph per block, no markup.

    Links keep their text, images and raw HTML are dropped, so nothing from the
    file can later render as a link or a remote image.
    """
    from markdown_it import MarkdownIt

    blocks: list[str] = []
    for token in MarkdownIt("commonmark").parse(markdown):
        if token.type in ("fence", "code_block"):
            blocks.append(token.content.strip())
        elif token.type == "inline" and token.children is not None:
            parts: list[str] = []
            for child in token.children:
                if child.type in ("text", "code_inline"):
                    parts.append(child.content)
                elif child.type == "softbreak":
                    parts.append(" ")
                elif child.type == "hardbreak":
                    parts.append("\n")
            text = "".join(parts).strip()
            if text:
                blocks.append(text)
    return "\n\n".join(blocks)


def _first_words(text: str, limit: int = 80) -> str:
    first = text.split("\n", 1)[0].strip()
    if len(first) <= limit:
        return first
    cut = first[:limit].rsplit(" ", 1)[0]
    return re.sub(r"[,;:]$", "", cut) + "…"
