"""Answerers turn a question and retrieved passages into a cited ``Answer``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from assistant.types import Answer, Passage


class Answerer(Protocol):
    """Anything that answers from passages, citing only those passages."""

    mode: str

    def answer(
        self, question: str, passages: Sequence[Passage], *, query: str | None = None
    ) -> Answer: ...
