"""The web app's library: uploaded articles are kept in the data directory and ingested.

An uploaded file is checked (type, size, encoding, article text) before it is
stored, so a bad upload never replaces a good article of the same name. Stored
uploads live in ``DATA_DIR/uploads`` under a sanitised name, which keeps them
across restarts and lets ``dossier ingest --prune`` see them as ordinary files.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from collections.abc import Sequence
from pathlib import Path

from assistant.errors import RejectedFile
from assistant.service import Assistant
from assistant.types import FileResult, SyncReport
from ingest.loaders import SUPPORTED, TEXT_SUFFIXES, load_article
from ingest.sync import Progress

MAX_NAME_CHARS = 120
_UNSAFE = re.compile(r"[^\w .()\-]+")


def uploads_dir(bot: Assistant) -> Path:
    return bot.settings.data_dir / "uploads"


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


def add_uploads(
    bot: Assistant,
    files: Sequence[tuple[str, str | Path]],
    progress: Progress | None = None,
) -> SyncReport:
    """Store and ingest uploaded files, given as ``(original name, temporary path)``.

    Every file gets a result: added, updated, unchanged, or failed with the reason.
    """
    folder = uploads_dir(bot)
    folder.mkdir(parents=True, exist_ok=True)
    refused: list[FileResult] = []
    stored: list[Path] = []
    for original, temp_path in files:
        try:
            name = safe_name(original)
            load_article(Path(temp_path), bot.settings.max_file_bytes)  # refuse before storing
            data = Path(temp_path).read_bytes()
        except RejectedFile as exc:
            refused.append(FileResult(original, "failed", str(exc)))
            continue
        except OSError as exc:
            refused.append(FileResult(original, "failed", f"could not be read ({exc.strerror})"))
            continue
        target = folder / name
        _write_atomically(target, data)
        stored.append(target)
    report = bot.ingest(stored, progress=progress) if stored else SyncReport()
    return SyncReport(
        files=tuple(refused) + report.files,
        chunks_embedded=report.chunks_embedded,
        chunks_deleted=report.chunks_deleted,
        seconds=report.seconds,
    )


def delete_articles(bot: Assistant, sources: Sequence[str]) -> int:
    """Remove articles (file names or paths); uploaded ones also leave the uploads folder.

    Files ingested from elsewhere (``dossier ingest PATH``) are the user's own and
    are never touched. Returns the number of chunks removed.
    """
    wanted = set(sources)
    source_ids = [s.source_id for s in bot.sources() if wanted & {s.source, s.source_id}]
    removed = bot.delete(source_ids)
    folder = uploads_dir(bot).resolve()
    for source_id in source_ids:
        path = Path(source_id)
        if path.parent == folder and path.is_file():
            path.unlink()
    return removed


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
