"""Dossier's exception hierarchy.

Every message names the bad value and the fix. Third-party errors are
translated into these at the boundary where they happen, so callers only ever
need to catch ``DossierError``.
"""

from __future__ import annotations


class DossierError(Exception):
    """Base class of every error Dossier raises on purpose."""


class ConfigError(DossierError):
    """A setting (environment variable, flag or argument) has a bad value."""


class StoreUnavailable(DossierError):
    """Chroma or the record manager cannot be reached or opened."""


class ModelUnavailable(DossierError):
    """The embedding model (or an LLM) cannot be loaded offline."""


class RejectedFile(DossierError):
    """An input file cannot be ingested; the message says why and what to do."""


class InvalidQuestion(DossierError):
    """A question that cannot be answered as given (empty, too long, ...)."""


class InvalidDateRange(InvalidQuestion, ValueError):
    """A since/until bound that is not a date, or a since after the until."""


class InvalidOverride(DossierError, ValueError):
    """A date or outlet given for an ingest (``--date``, the upload form) that cannot be used."""


class IngestInProgress(DossierError):
    """Another process holds the data directory's ingest lock."""


class NoDataDirectory(StoreUnavailable):
    """A command that only reads was pointed at a data directory that does not exist."""


class NotWritable(StoreUnavailable):
    """A directory Dossier has to write to (the data directory, its store) is read-only."""

    @classmethod
    def at(cls, directory: object, cause: BaseException) -> NotWritable:
        """The error for ``directory``, naming what failed and the two ways out."""
        return cls(
            f"cannot write to {directory} ({type(cause).__name__}: {cause}); make {directory} "
            "writable, or set DOSSIER_DATA_DIR (or --data-dir) to a writable directory"
        )


class NotWatchable(DossierError):
    """A path given to watch does not exist, cannot be read, or is not an article file."""


class AmbiguousName(DossierError):
    """A bare file name given to delete matches more than one stored article."""


class DiskFull(StoreUnavailable):
    """The disk holding the data directory has (almost) no free space left."""

    @classmethod
    def at(cls, directory: object, free: int | None, needed: str = "") -> DiskFull:
        """The error for ``directory``: how much is free, what the ingest still needed, the fix."""
        left = f" ({size_text(free)} free)" if free is not None else ""
        return cls(
            f"the disk holding {directory} is full{left}"
            + (f"; the ingest still needed {needed}" if needed else "")
            + ". The ingest stopped; what is stored can still be asked. Free space on that disk "
            "(`dossier doctor` then checks the store), or set DOSSIER_DATA_DIR (or --data-dir) "
            "to a directory on another disk, then run the ingest again"
        )


def size_text(n: int) -> str:
    """``n`` bytes for a person: 512 B, 3.4 MB."""
    value = float(n)
    for unit in ("B", "KB", "MB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"
