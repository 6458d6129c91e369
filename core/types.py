"""Frozen dataclasses that cross module boundaries.

LangChain ``Document`` objects never leave the modules that talk to LangChain;
everything else passes these plain, typed values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

# One chat turn, in the shape chat front ends and LLM APIs share:
# {"role": "user" | "assistant" | "system", "content": str}.
Message = dict[str, Any]


@dataclass(frozen=True)
class Article:
    """One cleaned article, ready to chunk.

    ``text`` is the cleaned text; every offset elsewhere points into it.
    """

    source_id: str  # absolute path of the file: the identity used for updates and prune
    source: str  # the file name shown to people
    title: str
    text: str
    content_hash: str
    outlet: str | None = None
    date: str | None = None  # ISO 8601 (YYYY-MM-DD) where the article shows one
    date_text: str | None = None  # the date as the article (or whoever ingested it) wrote it
    # The story group: the source_id of the first-ingested copy of this text (set at ingest;
    # "" until then). Copies of one story carried by several outlets share it.
    story_id: str = ""


@dataclass(frozen=True)
class Chunk:
    """A span of an article's cleaned text that fits the embedding model."""

    index: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its provenance and retrieval score."""

    id: str
    source: str
    title: str
    text: str
    start: int
    end: int
    score: float
    outlet: str | None = None
    date: str | None = None
    source_id: str = ""
    date_text: str | None = None
    story_id: str = ""

    @property
    def story(self) -> str:
        """The story group this passage's article is in (its own file when not grouped)."""
        return self.story_id or self.source_id or self.source


@dataclass(frozen=True)
class Citation:
    """One numbered source of an answer: the exact sentence that supports it.

    A source is a story: several sentences of one article (or of copies of one
    story) are several citations with one ``number``; ``Answer.sources`` groups them.
    """

    number: int
    source: str
    title: str
    quote: str
    passage: str
    start: int  # offsets of ``quote`` in the cleaned article
    end: int
    score: float
    outlet: str | None = None
    date: str | None = None
    passage_start: int = 0  # offsets of ``passage`` in the cleaned article
    passage_end: int = 0
    story_id: str = ""
    # Every stored copy of the story, this article's included, as "outlet" (or file name):
    # filled by the service when the story is carried by more than one.
    carried_by: tuple[str, ...] = ()

    @property
    def carried_text(self) -> str:
        """Who carries the story ("carried by 3 outlets: AP, CNN, Reuters"), "" if one."""
        if len(self.carried_by) < 2:
            return ""
        return f"carried by {len(self.carried_by)} outlets: {', '.join(self.carried_by)}"

    @classmethod
    def of(cls, number: int, passage: Passage, start: int, end: int, score: float) -> Citation:
        """Citation ``number``: the sentence at article offsets ``start:end`` of ``passage``."""
        return cls(
            number=number,
            source=passage.source,
            title=passage.title,
            quote=passage.text[start - passage.start : end - passage.start],
            passage=passage.text,
            start=start,
            end=end,
            score=round(score, 4),
            outlet=passage.outlet,
            date=passage.date,
            passage_start=passage.start,
            passage_end=passage.end,
            story_id=passage.story,
        )


NOT_ANSWERED = "The articles do not answer this question."


@dataclass(frozen=True)
class AnswerSpan:
    """A short answer ("Alghabass Ag Intallah") inside the quote of one citation.

    ``start`` and ``end`` point into the cleaned article, like a citation's:
    ``cleaned_text[start:end] == text``.
    """

    text: str
    citation: int  # the number of the citation whose quote holds it
    source: str
    start: int
    end: int


@dataclass(frozen=True)
class Answer:
    """An answer with inline markers ``[n]`` that refer to ``citations``.

    ``answered`` is False when the articles do not answer the question; such an
    answer cites nothing. ``unsupported`` lists the sentences of an LLM answer
    that no retrieved passage supports (they carry no marker); ``notice`` says
    when the answer is not what the chosen mode would normally give (e.g. the
    LLM was unreachable and the extractive answer is shown instead). ``spans``
    are the short answers, one per claim, each inside the quote of the citation
    it names (``span`` is the first); ``verdict`` is "yes" or "no" for a yes/no
    question the cited sentence settles. ``as_of`` is set for a time-sensitive question:
    the newest cited article's date (the text then opens with "As of DATE").
    """

    question: str
    text: str
    citations: tuple[Citation, ...] = ()
    passages: tuple[Passage, ...] = ()
    answered: bool = True
    mode: str = "extractive"
    unsupported: tuple[str, ...] = ()
    notice: str = ""
    spans: tuple[AnswerSpan, ...] = ()
    # For a time-sensitive question ("Who currently leads ...?", "... in 2022?"): the date
    # of the newest article it cites, the day the answer is known to hold as of.
    as_of: str | None = None
    # For a yes/no question: "yes" or "no" when the cited sentence settles it, else None
    # (set by the extractive answerer; an LLM's answer says it in its own words).
    verdict: str | None = None

    @property
    def span(self) -> AnswerSpan | None:
        """The short answer, when there is one."""
        return self.spans[0] if self.spans else None

    @property
    def sources(self) -> list[tuple[Citation, ...]]:
        """The citations grouped by number: one group (its quotes) per source, in order."""
        groups: dict[int, list[Citation]] = {}
        for citation in self.citations:
            groups.setdefault(citation.number, []).append(citation)
        return [tuple(groups[number]) for number in sorted(groups)]

    def citation_of(self, span: AnswerSpan) -> Citation | None:
        """The citation whose quote holds ``span`` (of those with its number)."""
        return next(
            (
                c
                for c in self.citations
                if c.number == span.citation and c.start <= span.start and span.end <= c.end
            ),
            None,
        )

    @classmethod
    def refusal(
        cls,
        question: str,
        passages: Sequence[Passage] = (),
        *,
        mode: str,
        text: str = NOT_ANSWERED,
    ) -> Answer:
        """The articles do not answer ``question``: say so (``text``) and cite nothing."""
        return cls(question, text, passages=tuple(passages), answered=False, mode=mode)

    @classmethod
    def cited(
        cls,
        question: str,
        parts: Sequence[str],
        citations: Sequence[Citation],
        passages: Sequence[Passage],
        *,
        mode: str,
        unsupported: Sequence[str] = (),
        spans: Sequence[AnswerSpan] = (),
        verdict: str | None = None,
    ) -> Answer:
        """An answer made of ``parts`` (sentences with their ``[n]`` markers)."""
        return cls(
            question,
            " ".join(parts),
            citations=tuple(citations),
            passages=tuple(passages),
            mode=mode,
            unsupported=tuple(unsupported),
            spans=tuple(spans),
            verdict=verdict,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# "moved": the same content was stored under a path whose file is gone; re-keyed, not re-embedded.
FileStatus = Literal["added", "updated", "moved", "unchanged", "deleted", "failed"]


@dataclass(frozen=True)
class FileResult:
    """What ingest did with one file (or, for ``deleted``, one stored article)."""

    path: str
    status: FileStatus
    reason: str = ""
    chunks: int = 0
    note: str = ""  # what reading a good file repaired, e.g. "3 invalid bytes replaced"


@dataclass(frozen=True)
class SyncReport:
    """The outcome of one ingest run, file by file."""

    files: tuple[FileResult, ...] = field(default_factory=tuple)
    chunks_embedded: int = 0
    chunks_deleted: int = 0
    seconds: float = 0.0

    def count(self, status: FileStatus) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def failures(self) -> tuple[FileResult, ...]:
        return tuple(f for f in self.files if f.status == "failed")

    def summary(self) -> str:
        statuses: tuple[FileStatus, ...] = ("added", "updated", "unchanged", "deleted", "failed")
        if self.count("moved"):  # shown only when a move happened
            statuses = ("added", "updated", "moved", "unchanged", "deleted", "failed")
        counts = ", ".join(f"{self.count(s)} {s}" for s in statuses)
        return f"{counts} ({self.chunks_embedded} chunks embedded, {self.seconds:.1f} s)"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SourceInfo:
    """One ingested article as listed by ``dossier sources``."""

    source: str
    title: str
    outlet: str | None
    date: str | None
    chunks: int
    ingested_at: str
    source_id: str
    date_text: str | None = None
    story_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        # Every field is a plain value: no deep copy (``asdict``), which an archive's
        # 250,000 articles made a second of ``dossier sources --json``.
        return dict(vars(self))
