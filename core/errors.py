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


class IngestInProgress(DossierError):
    """Another process holds the data directory's ingest lock."""
