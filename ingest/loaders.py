"""Files in, cleaned ``Article`` out: size, encoding and binary checks, HTML and Markdown.

Every refusal is a ``RejectedFile`` whose message says what is wrong with the
file and what to do about it; the caller reports it and goes on with the batch.
"""

from __future__ import annotations

import codecs
import datetime
import errno
import hashlib
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core.dates import parse_date
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
    inside folders are ignored. An entry of a supported type that cannot be
    read as a file (a FIFO, a device, a broken link, a link loop) is reported
    with the same reason as when it is named on its own. Returns the files and
    ``(path, reason)`` for each path that cannot be used.
    """
    files: list[Path] = []
    problems: list[tuple[str, str]] = []
    seen: set[Path] = set()

    def add(path: Path, shown: str) -> None:
        try:
            regular_file_stat(path)
        except RejectedFile as exc:
            problems.append((shown, str(exc)))
            return
        resolved = path.resolve()
        if resolved not in seen:
            seen.add(resolved)
            files.append(resolved)

    def unlistable(exc: OSError) -> None:
        problems.append((str(exc.filename), f"cannot be read: {exc.strerror or exc}"))

    for raw in paths:
        path = Path(raw).expanduser()
        if not _present(path):
            problems.append((str(raw), "no such file or folder; check the path"))
        elif path.is_dir():
            for root, dirs, names in os.walk(path, onerror=unlistable, followlinks=False):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(names):
                    if not name.startswith(".") and Path(name).suffix.lower() in TEXT_SUFFIXES:
                        candidate = Path(root) / name
                        add(candidate, str(candidate))
        elif path.suffix.lower() not in TEXT_SUFFIXES:
            problems.append(
                (
                    str(raw),
                    f"unsupported file type {path.suffix or '(none)'!r}; Dossier reads {SUPPORTED}",
                )
            )
        else:
            add(path, str(raw))
    return files, problems


def _present(path: Path) -> bool:
    """Whether anything is at ``path``, a broken link or a link loop included."""
    try:
        path.lstat()
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError:
        pass  # something is there but cannot be looked at; regular_file_stat says why
    return True


def regular_file_stat(path: Path) -> os.stat_result:
    """``stat`` an article file, refusing anything that is not a regular file.

    Decided from ``stat``/``lstat`` alone, without opening the file: reading a
    FIFO waits for a writer forever, and a device such as /dev/zero never ends.
    """
    try:
        info = path.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise RejectedFile(
                "a symbolic link loop: following it never reaches a file; fix or remove the link"
            ) from None
        if exc.errno in (errno.ENOENT, errno.ENOTDIR) and path.is_symlink():
            raise RejectedFile(
                f"a broken symbolic link: it points to {os.readlink(path)}, which does not exist; "
                "fix or remove the link"
            ) from None
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            raise RejectedFile("no such file or folder; check the path") from None
        raise RejectedFile(f"cannot be read: {exc.strerror or exc}") from None
    if stat.S_ISREG(info.st_mode):
        return info
    kind = _special_kind(info.st_mode)
    what = f"it links to {os.path.realpath(path)}, {kind}" if path.is_symlink() else f"it is {kind}"
    raise RejectedFile(f"not a regular file: {what}; save the article as a regular file")


def _special_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "a special file"


def read_text(path: Path, max_bytes: int) -> str:
    """Read a text file, refusing empty, oversized, binary and undecodable ones."""
    return decode(read_bytes(path, max_bytes), html=_kind(path) == "html").text


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """The bytes of a regular file, refusing empty and oversized ones before reading them."""
    size = regular_file_stat(path).st_size
    if size == 0:
        raise RejectedFile("the file is empty")
    if size > max_bytes:
        raise RejectedFile(
            f"the file is {size / 1048576:.1f} MB, over the {max_bytes / 1048576:g} MB limit; "
            "split it or raise DOSSIER_MAX_FILE_MB"
        )
    try:
        return path.read_bytes()
    except OSError as exc:
        raise RejectedFile(f"cannot be read: {exc.strerror or exc}") from None


@dataclass(frozen=True)
class Decoded:
    """Text decoded from a file, and how many of its bytes could not be decoded."""

    text: str
    replaced: int = 0
    encoding: str = "UTF-8"

    @property
    def note(self) -> str:
        """What the ingest report says about the decoding ("" when nothing was replaced)."""
        if not self.replaced:
            return ""
        plural = "s" if self.replaced != 1 else ""
        return f"{self.replaced} invalid byte{plural} replaced (not valid {self.encoding})"


def _mark_bad_bytes(exc: UnicodeError) -> tuple[str, int]:
    # Each undecodable byte becomes one lone surrogate U+DC00+byte, which no codec
    # produces from valid input: _decode_counting counts them, then shows them as U+FFFD.
    # Stateless, so registering it once for every thread is safe.
    assert isinstance(exc, UnicodeDecodeError)
    return "".join(chr(0xDC00 + b) for b in exc.object[exc.start : exc.end]), exc.end


codecs.register_error("dossier.mark_bad_bytes", _mark_bad_bytes)
_MARKED = re.compile("[\udc00-\udcff]")


def _decode_counting(data: bytes, encoding: str) -> tuple[str, int]:
    """``data`` decoded with each undecodable byte replaced by U+FFFD, and their count."""
    marked = data.decode(encoding, "dossier.mark_bad_bytes")
    text, replaced = _MARKED.subn("\ufffd", marked)
    return text, replaced


def _few_bad_bytes(replaced: int, data: bytes) -> bool:
    # Real pages carry a few broken bytes (a truncated character, a pasted symbol);
    # more than 1% means the file is not in this encoding at all.
    return replaced <= max(2, len(data) // 100)


def decode(data: bytes, *, html: bool = False) -> Decoded:
    """Bytes to text, refusing binary files and text that is mostly undecodable.

    The encoding is, in order: a byte order mark (UTF-8, UTF-16); for HTML, the
    page's ``<meta charset>``; UTF-8; Windows-1252. A few bytes that do not
    decode are replaced with U+FFFD and counted in ``Decoded.replaced``.
    """
    for magic, what in _MAGIC.items():
        if data.startswith(magic):
            raise RejectedFile(f"this is {what}, not a text article; convert it to .txt or .html")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text, replaced = _decode_counting(data, "utf-16")
        if not _few_bad_bytes(replaced, data):
            raise RejectedFile(
                "the file starts like UTF-16 but does not decode; re-save it as UTF-8"
            )
        return _checked(Decoded(text, replaced, "UTF-16"))
    if b"\x00" in data[:65536]:
        raise RejectedFile(
            "the file contains NUL bytes, so it is binary, not text; "
            "if it is text, re-save it as UTF-8"
        )
    if data.startswith(codecs.BOM_UTF8):
        text, replaced = _decode_counting(data, "utf-8-sig")
        if not _few_bad_bytes(replaced, data):
            raise RejectedFile(
                "the file starts with a UTF-8 byte order mark but is mostly not UTF-8; "
                "re-save it as UTF-8"
            )
        return _checked(Decoded(text, replaced))
    declared = _declared_charset(data) if html else None
    if declared is not None:
        label, encoding = declared
        text, replaced = _decode_counting(data, encoding)
        if _few_bad_bytes(replaced, data):
            return _checked(Decoded(text, replaced, label))
        # Pages that declare one encoding and hold another are common: guess instead.
    return _checked(_sniff(data, declared[0] if declared else None))


def _sniff(data: bytes, declared: str | None) -> Decoded:
    """Text of undeclared encoding: UTF-8 (a few broken bytes allowed), else Windows-1252."""
    text, replaced = _decode_counting(data, "utf-8")
    if not replaced:
        return Decoded(text)
    # Valid multi-byte characters outnumbering the broken bytes mean UTF-8 with a few
    # damaged bytes; without them the high bytes are most likely a legacy encoding.
    valid_non_ascii = sum(1 for ch in text if ord(ch) > 127) - text.count("\ufffd")
    if valid_non_ascii > replaced and _few_bad_bytes(replaced, data):
        return Decoded(text, replaced)
    try:
        # Old news archives are often Windows-1252 (a superset of Latin-1's printable range).
        return Decoded(data.decode("cp1252"), encoding="Windows-1252")
    except UnicodeDecodeError:
        pass
    if _few_bad_bytes(replaced, data):
        return Decoded(text, replaced)
    if declared is not None:
        tried = [declared] + [n for n in ("UTF-8", "Windows-1252") if n.upper() != declared]
        raise RejectedFile(
            f"the page declares {declared}, but most of it is not "
            f"{', '.join(tried[:-1])} or {tried[-1]}; re-save it as UTF-8"
        )
    raise RejectedFile("the text is neither UTF-8 nor Windows-1252; re-save it as UTF-8")


def _checked(decoded: Decoded) -> Decoded:
    """Refuse decoded "text" that is really binary: full of control characters."""
    sample = decoded.text[:65536]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\n\r\f\v")
    if controls > max(8, len(sample) // 200):
        raise RejectedFile("the file is full of control characters, so it is binary, not text")
    return decoded


# <meta charset="..."> and <meta http-equiv="Content-Type" content="text/html; charset=...">.
_META_CHARSET = re.compile(rb"<meta\b[^>]*?\bcharset\s*=\s*[\"']?\s*([A-Za-z0-9._:+-]+)", re.I)
_CHARSET_SCAN_BYTES = 4096
# The labels browsers read as a larger encoding than Python's codec of that name
# (the WHATWG Encoding Standard): pages labelled Shift_JIS routinely hold Windows-31J.
_BROWSER_ENCODINGS = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "big5": "big5hkscs",
    "tis-620": "cp874",
    "windows-874": "cp874",
    "iso-8859-9": "cp1254",
}
# Python codecs that are not character encodings of a page.
_NOT_PAGE_ENCODINGS = {"unicode-escape", "raw-unicode-escape", "idna", "punycode", "undefined"}
_ASCII_PROBE = bytes(range(0x20, 0x7F)) + b"\t\n\r"


def _declared_charset(data: bytes) -> tuple[str, str] | None:
    """The page's declared charset, as (label, Python codec), if Python can read it.

    The declaration was found by reading the page as ASCII, so an encoding that
    does not read ASCII as ASCII (UTF-16, EBCDIC) cannot be the page's; such
    and unknown labels give None, and the caller guesses.
    """
    found = _META_CHARSET.search(data[:_CHARSET_SCAN_BYTES])
    if found is None:
        return None
    label = found.group(1).decode("ascii").upper()
    encoding = _BROWSER_ENCODINGS.get(label.lower(), label)
    try:
        if codecs.lookup(encoding).name in _NOT_PAGE_ENCODINGS:
            return None
        if _ASCII_PROBE.decode(encoding) != _ASCII_PROBE.decode("ascii"):
            return None
    except (LookupError, UnicodeError):
        return None
    return label, encoding


def _kind(path: Path) -> str | None:
    return TEXT_SUFFIXES.get(path.suffix.lower())


def load_article(
    path: Path, max_bytes: int, *, date: str | None = None, outlet: str | None = None
) -> Article:
    """Read, extract and clean one article file."""
    return load_article_with_note(path, max_bytes, date=date, outlet=outlet)[0]


def load_article_with_note(
    path: Path, max_bytes: int, *, date: str | None = None, outlet: str | None = None
) -> tuple[Article, str]:
    """Read, extract and clean one article file; the note says what reading repaired.

    The note is "" for a clean file, or e.g. "3 invalid bytes replaced (not
    valid UTF-8)" for the ingest report.

    The date and outlet are, in order: ``date``/``outlet`` (an ISO date and a
    name the caller gives, e.g. ``dossier ingest --date``), the file's own
    metadata (HTML meta tags, a front-matter header), then what the text shows
    (a "Published"/"Updated" line, a dateline). Without any, the article is
    undated: the file's modification time says when it was saved, not written.
    """
    kind = _kind(path)
    if kind is None:
        raise RejectedFile(f"unsupported file type {path.suffix!r}; Dossier reads {SUPPORTED}")
    decoded = decode(read_bytes(path, max_bytes), html=kind == "html")
    raw = decoded.text
    if not raw.strip():
        raise RejectedFile("the file holds only whitespace")
    meta: dict[str, str | None] = {}
    if kind == "html":
        raw, meta = html_to_text(raw)
    else:
        raw, meta = split_front_matter(raw)
    if kind == "markdown":
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
    article = Article(
        source_id=str(path),
        source=path.name,
        title=title,
        text=cleaned.text,
        content_hash=_content_hash(cleaned.text, date=date, outlet=outlet),
        outlet=outlet or cleaned.outlet,
        date=date or cleaned.date,
        date_text=date or cleaned.date_text,
    )
    return article, decoded.note


def _content_hash(text: str, *, date: str | None, outlet: str | None) -> str:
    """The hash that decides whether an article changed: its text, and the overrides if any.

    With an override the same text ingested with another ``--date`` is a change;
    without one the hash is the text's alone, as it has always been, so stores
    made before overrides existed are not re-embedded.
    """
    key = text if not (date or outlet) else f"{text}\0date={date or ''}\0outlet={outlet or ''}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


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
        # Not deduplicate=True: its cache lives for the whole process, so after a page
        # (or a paragraph that copies of one story share) was read a few times it drops
        # those parts: the same file would read differently on its fourth ingest.
        deduplicate=False,
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


# A front-matter header opens the file: YAML between "---" lines (as static-site
# generators write it), or plain "Key: value" lines before the first blank line.
_FENCE = re.compile(r"\A---[ \t]*\n(?P<body>.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_HEADER_LINE = re.compile(r"^(?P<key>[A-Za-z][\w -]{0,30}?)[ \t]*:[ \t]*(?P<value>\S.*)$")
_HEADER_KEYS = {
    "title": "title",
    "headline": "title",
    "date": "date",
    "published": "date",
    "outlet": "outlet",
    "source": "outlet",
    "publisher": "outlet",
    "url": "url",
    "link": "url",
}
_HEADER_MAX_CHARS = 8192  # a header is a few lines; more is a story that opens with "---"


def split_front_matter(text: str) -> tuple[str, dict[str, str | None]]:
    """The text without its front-matter header, and the header's title, outlet and date.

    The header is YAML between ``---`` lines, or "Key: value" lines (Title, Date,
    Outlet, URL, ...) before the first blank line. Unknown keys are ignored; an
    outlet missing from the header is the URL's site ("cnn.com"). A YAML header
    that does not parse, or a date that is not one, is a ``RejectedFile`` naming
    the fix: the header says what the article is, so it is not guessed around.

    Example:
        >>> text, meta = split_front_matter("---\\ndate: 2023-03-02\\noutlet: CNN\\n---\\nStory.")
        >>> text, meta["date"], meta["outlet"]
        ('Story.', '2023-03-02', 'CNN')
    """
    text = text.replace("\r\n", "\n")  # files saved on Windows
    fenced = _FENCE.match(text[: _HEADER_MAX_CHARS + 16])
    if fenced:
        header = _yaml_header(fenced.group("body"))
        if header is None:  # "---" lines around prose: Markdown's thematic breaks
            return text, {}
        fields, rest = header, text[fenced.end() :]
    else:
        head, blank, rest = text.lstrip("\n").partition("\n\n")
        if not blank or len(head) > _HEADER_MAX_CHARS:
            return text, {}
        lines = [_HEADER_LINE.match(line.strip()) for line in head.splitlines()]
        known = [m for m in lines if m and m.group("key").strip().lower() in _HEADER_KEYS]
        if not known or len(known) < len(lines):
            return text, {}
        fields = {m.group("key").strip().lower(): m.group("value").strip() for m in known}
    return rest, _header_meta(fields)


def _yaml_header(body: str) -> dict[str, str] | None:
    """The scalar fields of a YAML header; None when it is no mapping (not a header)."""
    import yaml

    try:
        parsed = yaml.safe_load(body)
    except (yaml.YAMLError, RecursionError) as exc:  # RecursionError: brackets nested deep
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 2})" if where is not None else ""
        raise RejectedFile(
            f"the front-matter header between the --- lines is not valid YAML{line}; "
            "write it as 'key: value' lines (date: 2022-07-14) or remove it"
        ) from None
    if not isinstance(parsed, dict):
        return None
    # Scalars only (YAML reads 2022-07-14 as a date): a list or a mapping is not a title.
    return {
        str(key).strip().lower(): str(value).strip()
        for key, value in parsed.items()
        if isinstance(value, str | int | float | datetime.date) and str(value).strip()
    }


def _header_meta(fields: dict[str, str]) -> dict[str, str | None]:
    meta: dict[str, str | None] = {}
    for key, value in fields.items():
        name = _HEADER_KEYS.get(key)
        if name and name not in meta:
            meta[name] = value[:300]
    written = meta.get("date")
    if written and parse_date(written) is None:
        raise RejectedFile(
            f"the header's date {written[:40]!r} is not a calendar date; "
            "write it as YYYY-MM-DD, e.g. date: 2022-07-14"
        )
    url = meta.pop("url", None)
    if url and not meta.get("outlet"):
        host = urlsplit(url).hostname or ""
        meta["outlet"] = host.removeprefix("www.") or None
    return meta


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
