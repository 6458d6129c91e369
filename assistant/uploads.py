"""Uploaded articles: checked, then kept in ``DATA_DIR/uploads`` under a safe name.

An uploaded file is checked (type, size, encoding, article text) before it is
stored, so a bad upload never replaces a good article of the same name. Stored
uploads keep their articles across restarts and are ordinary files to
``dossier ingest --prune``.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import RejectedFile
from core.types import FileResult
from ingest.loaders import SUPPORTED, TEXT_SUFFIXES, load_article

UPLOAD_TYPES = sorted(TEXT_SUFFIXES)
MAX_NAME_CHARS = 120
_UNSAFE = re.compile(r"[^\w .()\-]+")


def safe_name(name: str) -> str:
    """A file name that is safe to create in the uploads folder, keeping the suffix.

    Directory parts (``../``, absolute paths, Windows separators) are dropped,
    characters outside letters, digits, space and ``. ( ) - _`` become ``_``,
    and the result never starts with a dot.

    Raises:
        RejectedFile: the name has no supported suffix or nothing usable is left.
    """
    base = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    stem, dot, suffix = base.rpartition(".")
    suffix = f".{suffix.lower()}" if dot else ""
    if suffix not in TEXT_SUFFIXES:
        shown = suffix or "no suffix"
        raise RejectedFile(f"unsupported file type ({shown}); upload {SUPPORTED} files")
    stem = _UNSAFE.sub("_", stem).strip(" ._")[: MAX_NAME_CHARS - len(suffix)]
    if not stem:
        raise RejectedFile("the file name has no usable characters; rename the file")
    return stem + suffix


@dataclass
class Kept:
    """The uploads ``keep_uploads`` stored, and how to take them back out."""

    paths: list[Path] = field(default_factory=list)
    # What each kept path held before (None: it did not exist), for ``undo``.
    previous: dict[Path, bytes | None] = field(default_factory=dict)

    def undo(self) -> None:
        """Put the uploads folder back as it was: new files removed, replaced ones restored."""
        for path, data in self.previous.items():
            if data is None:
                path.unlink(missing_ok=True)
            else:
                _write_atomically(path, data)
        self.paths, self.previous = [], {}


def check_uploads(
    files: Sequence[tuple[str, str | Path]], max_bytes: int
) -> tuple[list[tuple[str, bytes]], list[FileResult]]:
    """Check ``(original name, temporary path)`` files; nothing is stored.

    Returns ``(safe name, contents)`` for each file accepted and a failed result
    for each file refused.
    """
    accepted: list[tuple[str, bytes]] = []
    refused: list[FileResult] = []
    for original, temp_path in files:
        try:
            name = safe_name(original)
            load_article(Path(temp_path), max_bytes)  # refuse before storing
            data = Path(temp_path).read_bytes()
        except RejectedFile as exc:
            refused.append(FileResult(original, "failed", str(exc)))
            continue
        except OSError as exc:
            refused.append(FileResult(original, "failed", f"could not be read ({exc.strerror})"))
            continue
        accepted.append((name, data))
    return accepted, refused


def keep_uploads(folder: Path, accepted: Sequence[tuple[str, bytes]]) -> Kept:
    """Store checked ``(safe name, contents)`` uploads in ``folder``.

    A failure part-way takes back what was stored; so does ``Kept.undo`` later
    (when the ingest of the stored files is refused).
    """
    folder.mkdir(parents=True, exist_ok=True)
    kept = Kept()
    try:
        for name, data in accepted:
            target = folder / name
            if target not in kept.previous:
                kept.previous[target] = target.read_bytes() if target.is_file() else None
                kept.paths.append(target)
            _write_atomically(target, data)
    except BaseException:
        kept.undo()
        raise
    return kept


def _write_atomically(target: Path, data: bytes) -> None:
    """Replace ``target`` with ``data`` so that a crash leaves the old or the new file."""
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        os.chmod(temp, 0o644)  # mkstemp makes it private; an article is not a secret
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
