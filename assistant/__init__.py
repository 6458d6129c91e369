"""Dossier: question answering over news articles, every claim cited to its passage.

Example:
    >>> from assistant import Assistant, answer
    >>> bot = Assistant(data_dir="data")
    >>> bot.ingest(["seeds/"])
    >>> print(bot.answer("Who leads the Islamic Movement for Azawad?").text)
"""

from typing import TYPE_CHECKING, Any

from assistant.config import Settings
from assistant.errors import DossierError
from assistant.types import Answer, Citation, Passage, SourceInfo, SyncReport

if TYPE_CHECKING:
    from assistant.service import Assistant, answer

__all__ = [
    "Answer",
    "Assistant",
    "Citation",
    "DossierError",
    "Passage",
    "Settings",
    "SourceInfo",
    "SyncReport",
    "answer",
]


def __getattr__(name: str) -> Any:
    # The service pulls in Chroma and LangChain; import it only when it is asked for,
    # so that the light modules (types, errors, config) import without cycles or cost.
    if name in ("Assistant", "answer"):
        from assistant import service

        return getattr(service, name)
    raise AttributeError(f"module 'assistant' has no attribute {name!r}")
