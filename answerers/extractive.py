"""The default answerer: the sentence a fitted model picks, led by the reader's short answer.

No LLM and no network. For each sentence of the top passages, ``Grounding``
measures how it matches the question and the trained reader (``reader.py``)
finds its best answer span; the fitted ranker (``ranker.py``) turns those
signals into the probability that the sentence answers the question. The
answer is the most probable sentence (and a second one when it is nearly as
probable), quoted and cited, led by the reader's span inside it when the reader
is confident enough: "412 — Volunteers counted 412 otters on the river Tweed
this year. [1]". When no sentence
reaches the threshold chosen on training articles, the articles do not answer
the question. A question that asks what several articles say ("Which groups do
these articles say ...") gets one cited claim per article.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from answerers.grounding import Grounding
from answerers.ranker import Candidate, Ranker, candidates
from answerers.reader import Reader
from answerers.yesno import held, is_polar, verdict
from core.dates import dates_in
from core.stream import AnswerStream
from core.timescope import time_scope
from core.types import Answer, AnswerSpan, Citation, Message, Passage

# A question that wants every article's answer, not the best one.
_LIST_QUESTION = re.compile(
    r"\b(articles|sources|reports|outlets)\b.*\b(say|says|said|mention|report|name|list)"
    r"|^\W*(which|what|who)\b.*\b(articles|all|each|every|various)\b"
    r"|^\W*(list|name)\b",
    re.I,
)


# A yes/no question no sentence settles: the closest sentence (one the ranker accepts) is
# quoted if it holds this share of the question's words; with less, it is refused.
CLOSE = 0.5


class ExtractiveAnswerer:
    """Answers with the sentences the ranker picks, each led by the reader's span in it.

    Example:
        >>> answerer = ExtractiveAnswerer(grounding, Reader(), Ranker())
        >>> answer = answerer.answer("Who leads the MIA?", passages)
        >>> answer.span.text, answer.citations[0].quote
        ('Alghabass Ag Intallah', '... would be led by ..., Alghabass Ag Intallah.')
    """

    mode = "extractive"

    def __init__(
        self,
        grounding: Grounding,
        reader: Reader,
        ranker: Ranker,
        *,
        passages_read: int = 3,
        articles_listed: int = 4,
        polar_considered: int = 5,
    ) -> None:
        if passages_read < 1:
            raise ValueError(f"passages_read must be positive, got {passages_read}")
        if polar_considered < 1:
            raise ValueError(f"polar_considered must be positive, got {polar_considered}")
        self.grounding = grounding
        self.reader = reader
        self.ranker = ranker
        self.passages_read = passages_read
        self.articles_listed = articles_listed
        self.polar_considered = polar_considered

    def condense(self, question: str, history: Sequence[Message]) -> str | None:
        return None  # no model to rewrite with: the service folds in the previous question

    def stream(
        self,
        question: str,
        passages: Sequence[Passage],
        *,
        query: str | None = None,
        said: Sequence[str] = (),
    ) -> AnswerStream:
        return AnswerStream.of(self.answer(question, passages, query=query, said=said))

    def rank(self, question: str, passages: Sequence[Passage]) -> list[tuple[float, Candidate]]:
        """Every candidate sentence with its probability of answering, most probable first."""
        self.ranker.check_reader(self.reader.config["sha256"])
        read = list(passages[: self.passages_read])
        scored = self.grounding.score_sentences(question, read, considered=len(read))
        spans = self.reader.read(question, [p.text for p in read])
        found = candidates(scored, spans, read)
        probabilities = self.ranker.probabilities(found)
        return sorted(zip(probabilities.tolist(), found, strict=True), key=lambda pc: -pc[0])

    def _one_per_article(self, question: str, read: list[Passage]) -> list[tuple[float, Candidate]]:
        """Each article's most probable sentence, where it reaches the threshold.

        Each article is ranked on its own: whether it answers does not depend on
        how well another article does.
        """
        articles: dict[str, list[Passage]] = {}
        for passage in read:
            articles.setdefault(passage.source_id or passage.source, []).append(passage)
        chosen = []
        for passages in articles.values():
            ranked = self.rank(question, passages)
            if ranked and ranked[0][0] >= self.ranker.threshold:
                chosen.append(ranked[0])
        return chosen

    def _yes_or_no(
        self,
        question: str,
        ranked: list[tuple[float, Candidate]],
        passages: Sequence[Passage],
        *,
        recent: bool,
    ) -> Answer:
        """Yes or No with the sentence that settles it, from the likeliest few.

        ``verdict`` settles a question only from a sentence that holds all of the
        question's words; asked for the latest, the newest article that settles it
        answers. When none settles it, the likeliest sentence is quoted as the closest
        the articles come if the ranker accepts it and it holds at least half of the
        question's words; otherwise the articles do not answer.
        """
        considered = ranked[: self.polar_considered]
        settling = [(c, v) for _, c in considered if (v := verdict(question, c.sentence.text))]
        if settling:
            candidate, settled = (
                max(settling, key=lambda cv: cv[0].sentence.passage.date or "")
                if recent
                else settling[0]
            )
            lead: str = settled.capitalize()
        else:
            close = [
                c
                for p, c in considered
                if p >= self.ranker.threshold and held(question, c.sentence.text) >= CLOSE
            ]
            if not close:
                return Answer.refusal(question, passages, mode=self.mode)
            candidate, settled = close[0], None
            lead = "The articles do not say yes or no; the closest they come"
        s = candidate.sentence
        citation = Citation.of(1, s.passage, s.start, s.end, s.score)
        return Answer.cited(
            question,
            [f"{lead}: {s.text} [1]" if settled is None else f"{lead} — {s.text} [1]"],
            [citation],
            passages,
            mode=self.mode,
            verdict=settled,
        )

    def answer(
        self,
        question: str,
        passages: Sequence[Passage],
        *,
        query: str | None = None,
        said: Sequence[str] = (),
    ) -> Answer:
        """Answer ``question`` from ``passages``; ``query`` is the question with its chat context.

        A sentence an earlier answer in ``said`` already quoted gives way to the next
        one when that is nearly as probable (``Ranker.second``); otherwise it is repeated.
        """
        listing = bool(_LIST_QUESTION.search(question))
        # "Latest" needs dates to go by: among undated articles it changes nothing.
        recent = time_scope(question).recent and any(p.date for p in passages)
        # A list question reads more passages: its answers are spread over articles; so
        # does one that asks for the latest: the newest answer need not be the best match.
        read = list(passages[: self.passages_read * (2 if listing or recent else 1)])
        ranked = self.rank(query or question, read) if read else []
        if is_polar(question) and not listing:
            return self._yes_or_no(question, ranked, passages, recent=recent)
        threshold = self.ranker.threshold
        if not ranked or ranked[0][0] < threshold:
            return Answer.refusal(question, passages, mode=self.mode)
        if said:
            earlier = " ".join(" ".join(text.split()) for text in said)
            new = [(p, c) for p, c in ranked if " ".join(c.sentence.text.split()) not in earlier]
            # Only for a sentence nearly as probable (the second-sentence ratio): a follow-up
            # that asks the same thing again gets the same answer.
            if new and new[0][0] >= max(threshold, self.ranker.second * ranked[0][0]):
                ranked = new
        if listing:
            chosen = [c for _, c in self._one_per_article(query or question, read)]
            chosen = chosen[: self.articles_listed]
        elif recent:
            # Each article on its own, as for a list: an older article that matches the
            # question's words better must not push a newer one's answer below the threshold.
            # An earlier answer is not avoided here: the newest fact is the answer however
            # often it was asked for. None passing alone: the newest the reading accepts.
            accepted = self._one_per_article(query or question, read)
            chosen = [newest(accepted or [(p, c) for p, c in ranked if p >= threshold])]
        else:
            best = ranked[0][0]
            chosen = [ranked[0][1]] + [
                c
                for p, c in ranked[1:2]
                if p >= max(threshold, self.ranker.second * best)
                and not c.sentence.overlaps(ranked[0][1].sentence)
            ]
        # Read in article order, sources in retrieval order.
        chosen.sort(key=lambda c: (c.sentence.rank, c.sentence.start))
        citations: list[Citation] = []
        short: list[AnswerSpan] = []
        parts: list[str] = []
        numbers: dict[str, int] = {}  # story -> its number: one source, however many quotes
        for candidate in chosen:
            s = candidate.sentence
            number = numbers.setdefault(s.passage.story, len(numbers) + 1)
            citations.append(Citation.of(number, s.passage, s.start, s.end, s.score))
            lead = ""
            span = candidate.span
            # The reader's span leads only where it is usually right (see Ranker.span_margin).
            if span is not None and span.score - span.no_answer >= self.ranker.span_margin:
                p = candidate.span_passage
                text = p.text[span.start : span.end]
                start = p.start + span.start
                short.append(AnswerSpan(text, number, p.source, start, start + len(text)))
                if len(text) < 0.8 * len(s.text):
                    lead = f"{with_date(text.rstrip('.,;:'), p.date)} — "
            parts.append(f"{lead}{s.text} [{number}]")
        return Answer.cited(question, parts, citations, passages, mode=self.mode, spans=short)


def newest(accepted: Sequence[tuple[float, Candidate]]) -> Candidate:
    """The answer of the newest article among ``accepted`` (each article's best sentence).

    For "Who currently leads ...?": every accepted sentence answers the question as
    it stood on its article's date, so the newest one answers it now. Undated
    articles come last; among one day's articles, the most probable sentence wins.
    """
    return max(accepted, key=lambda pc: (pc[1].sentence.passage.date or "", pc[0]))[1]


def with_date(span: str, article_date: str | None) -> str:
    """A short answer that is a relative date ("Thursday") with the day it means.

    Example:
        >>> with_date("on Thursday", "2022-07-16")
        'on Thursday (2022-07-14)'
    """
    mentions = dates_in(span, article_date)
    if len(mentions) == 1 and mentions[0].relative and len(mentions[0].text) >= len(span) - 4:
        return f"{span} ({mentions[0].iso})"
    return span
