"""The hand-set sentence scorer: Dossier's answerer before the trained reader.

Kept here, off the product path, as the baseline the reader is measured
against (benchmarks/squad.py, benchmarks/reader.py). It takes the sentence of the retrieved passages that best matches the question
(``Grounding.score_sentences``), and a second when it scores at least 70% as
well, and cites each with an inline marker. When even the best sentence is a
weak match it says the articles do not answer the question and cites nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from answerers.grounding import Grounding
from core.stream import AnswerStream
from core.types import Answer, Citation, Message, Passage


class SentenceScorer:
    """Answers with the retrieved sentences that best match the question.

    Example:
        >>> answerer = SentenceScorer(Grounding(Embedder(), idf=keyword.idf))
        >>> answerer.answer("Who leads the MIA?", passages).citations[0].quote
        'In a statement to Radio France Internationale, ...'
    """

    mode = "scorer"

    def __init__(
        self,
        grounding: Grounding,
        *,
        max_sentences: int = 2,
        min_score: float = 0.33,
        keep_ratio: float = 0.7,
    ) -> None:
        if not 1 <= max_sentences <= 3:
            raise ValueError(f"max_sentences must be 1, 2 or 3, got {max_sentences}")
        self.grounding = grounding
        self.max_sentences = max_sentences
        self.min_score = min_score
        self.keep_ratio = keep_ratio

    def condense(self, question: str, history: Sequence[Message]) -> str | None:
        return None  # no model to rewrite with: the service folds in the previous question

    def stream(
        self, question: str, passages: Sequence[Passage], *, query: str | None = None
    ) -> AnswerStream:
        return AnswerStream.of(self.answer(question, passages, query=query))

    def answer(
        self, question: str, passages: Sequence[Passage], *, query: str | None = None
    ) -> Answer:
        """Answer ``question`` from ``passages``; ``query`` adds chat context to the scoring."""
        scored = self.grounding.score_sentences(query or question, passages)
        if not scored or scored[0].score < self.min_score:
            return Answer.refusal(question, passages, mode=self.mode)
        chosen = [scored[0]]
        for candidate in scored[1:]:
            if (
                len(chosen) >= self.max_sentences
                or candidate.score < scored[0].score * self.keep_ratio
            ):
                break
            if not any(candidate.overlaps(c) for c in chosen):
                chosen.append(candidate)
        # Read in article order, sources in retrieval order.
        chosen.sort(key=lambda s: (s.rank, s.start))
        citations = []
        parts = []
        for number, sentence in enumerate(chosen, start=1):
            citations.append(
                Citation.of(number, sentence.passage, sentence.start, sentence.end, sentence.score)
            )
            parts.append(f"{sentence.text} [{number}]")
        return Answer.cited(question, parts, citations, passages, mode=self.mode)
