"""Dossier: question answering over news articles, every claim cited to its passage.

This package is the service floor: ``Assistant`` wires the parts (ingest/,
vectorstore/, answerers/) together and owns the data directory; the front ends
(ui/: the web app and the ``dossier`` command) talk only to it.

Example:
    >>> from assistant import Assistant, answer
    >>> bot = Assistant(data_dir="data")
    >>> bot.ingest(["seeds/"])
    >>> print(bot.answer("Who leads the Islamic Movement for Azawad?").text)
"""

from assistant.service import Assistant, answer
from core.errors import DossierError
from core.settings import Settings
from core.stream import AnswerStream
from core.types import Answer, Citation, Passage, SourceInfo, SyncReport

__all__ = [
    "Answer",
    "AnswerStream",
    "Assistant",
    "Citation",
    "DossierError",
    "Passage",
    "Settings",
    "SourceInfo",
    "SyncReport",
    "answer",
]
