"""``AnswerStream``: an answer as it is written, then the checked ``Answer``.

Modelled on simonw/llm's ``Response``: iterate it for the text pieces (an LLM
writing), then call ``answer()`` for the final ``Answer``, whose text is the
checked one and may differ from the pieces. An answerer that has its answer at
once gives a stream with no pieces. ``answer()`` drains what is left, so callers
that only want the result never loop themselves.

Example:
    >>> stream = answerer.stream(question, passages)
    >>> for piece in stream:
    ...     print(piece, end="")
    >>> stream.answer().citations
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator

from core.types import Answer

# What an answerer writes: text pieces, then it returns the Answer.
Pieces = Generator[str, None, Answer]


class AnswerStream:
    """Text pieces as they are written (iterate), then the final ``Answer`` (``answer()``)."""

    def __init__(self, pieces: Pieces) -> None:
        self._pieces = pieces
        self._answer: Answer | None = None

    @classmethod
    def of(cls, answer: Answer) -> AnswerStream:
        """A stream with no pieces: the answer was ready at once."""
        return cls(_ready(answer))

    def __iter__(self) -> Iterator[str]:
        if self._answer is None:
            self._answer = yield from self._pieces

    def answer(self) -> Answer:
        """The final Answer, after the pieces not yet read."""
        for _ in self:
            pass
        assert self._answer is not None  # a Pieces generator always returns the Answer
        return self._answer

    def then(self, change: Callable[[Answer], Answer]) -> AnswerStream:
        """The same pieces, with ``change`` applied to the final Answer."""

        def changed() -> Pieces:
            yield from self
            return change(self.answer())

        return AnswerStream(changed())


def _ready(answer: Answer) -> Pieces:
    return answer
    yield  # unreachable, but it makes this a generator that writes no pieces
