"""The pluggable parts, as small protocols: what the service needs of each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from core.stream import AnswerStream
from core.types import Message, Passage


class Retriever(Protocol):
    """Turns a query into the ``k`` best passages, best first."""

    def retrieve(self, query: str, k: int) -> list[Passage]: ...


class Answerer(Protocol):
    """Answers a question from passages, citing only those passages.

    ``condense`` rewrites a follow-up so that it stands alone (None: the
    answerer cannot, and the service folds in the previous question instead).
    ``stream`` answers; ``query`` is the question with its chat context and
    ``said`` what the conversation's earlier answers already said (an answerer
    does not say it again when it has something else).
    """

    mode: str

    def condense(self, question: str, history: Sequence[Message]) -> str | None: ...

    def stream(
        self,
        question: str,
        passages: Sequence[Passage],
        *,
        query: str | None = None,
        said: Sequence[str] = (),
    ) -> AnswerStream: ...
