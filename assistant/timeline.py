"""Timelines: the dated events about an entity or a topic, in date order, each cited.

An event is one sentence of an article that is about the topic. Its date is the
first date the sentence itself writes ("on 4 March 2022", "in 2019"), with
relative ones ("on Thursday", "last week") resolved against the article's date
(``core.dates.dates_in``); a sentence that writes no date takes its article's
date, marked ``date_source="article"``. Sentences of undated articles that write
no date of their own are the undated events, listed apart.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from core.dates import dates_in, day_number
from core.text import split_sentences, tokenize
from core.timescope import ANY_TIME, DateRange
from core.types import Passage

DateSource = Literal["sentence", "article", "none"]
CSV_FIELDS = (
    "date",
    "date_text",
    "date_source",
    "resolved",
    "sentence",
    "source",
    "title",
    "outlet",
    "article_date",
    "start",
    "end",
)


@dataclass(frozen=True)
class TimelineEvent:
    """One cited sentence about the topic and the day it tells of.

    ``date`` is ISO (None: undated); ``date_text`` the date as written (the
    sentence's words, or the article's date); ``resolved`` says a relative date
    was turned into a day using the article's date; ``start``/``end`` are the
    sentence's offsets in the cleaned article.
    """

    date: str | None
    date_text: str
    date_source: DateSource
    resolved: bool
    sentence: str
    start: int
    end: int
    source: str
    title: str
    outlet: str | None
    article_date: str | None
    source_id: str = ""


@dataclass(frozen=True)
class Timeline:
    """The ``events`` about ``topic`` in date order, and the ``undated`` ones apart.

    ``message`` says why a timeline is empty.
    """

    topic: str
    events: tuple[TimelineEvent, ...] = ()
    undated: tuple[TimelineEvent, ...] = ()
    since: str | None = None
    until: str | None = None
    message: str = ""
    sources: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_csv(self) -> str:
        """Every event, dated ones first, as CSV with a header row (``CSV_FIELDS``)."""
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for event in (*self.events, *self.undated):
            writer.writerow(asdict(event))
        return out.getvalue()


def build_timeline(
    topic: str, passages: Iterable[Passage], window: DateRange = ANY_TIME
) -> Timeline:
    """The timeline of ``topic`` from ``passages``; ``window`` keeps events dated in it.

    With a window, undated events are left out (nothing says they are in it).

    Example:
        >>> p = Passage("1", "a.txt", "T", "Quint was named leader on Thursday.", 0, 35, 1.0,
        ...             date="2023-03-03")
        >>> [(e.date, e.date_text) for e in build_timeline("Quint", [p]).events]
        [('2023-03-02', 'on Thursday')]
    """
    about = _about(topic)
    seen: set[str] = set()
    dated: list[TimelineEvent] = []
    undated: list[TimelineEvent] = []
    # Oldest articles first, so the copy kept of a repeated sentence is the first report.
    for passage in sorted(passages, key=lambda p: (p.date or "9999", p.source, p.start)):
        for event in _events(passage, about):
            key = " ".join(event.sentence.lower().split())
            if key in seen:  # overlapping chunks, or the same story carried by several outlets
                continue
            seen.add(key)
            (dated if event.date else undated).append(event)
    first, last = window.days
    if window:
        dated = [e for e in dated if first <= day_number(e.date) <= last]
        undated = []
    dated.sort(key=lambda e: (e.date or "", e.article_date or "", e.source, e.start))
    message = ""
    if not dated and not undated:
        within = f" dated {window}" if window else ""
        message = f"No article sentence{within} mentions {topic!r}."
    return Timeline(
        topic,
        tuple(dated),
        tuple(undated),
        window.since,
        window.until,
        message,
        tuple(dict.fromkeys(e.source for e in (*dated, *undated))),
    )


def _events(passage: Passage, about: _Topic) -> list[TimelineEvent]:
    events = []
    for start, end in split_sentences(passage.text):
        raw = passage.text[start:end]
        sentence = raw.strip()
        if not sentence or sentence == passage.title or not about.matches(sentence):
            continue
        offset = passage.start + start + len(raw) - len(raw.lstrip())
        events.append(_event(sentence, offset, passage))
    return events


def _event(sentence: str, start: int, passage: Passage) -> TimelineEvent:
    mentions = dates_in(sentence, passage.date)
    source: DateSource = "sentence" if mentions else "article" if passage.date else "none"
    when = mentions[0] if mentions else None
    return TimelineEvent(
        date=when.iso if when else passage.date,
        date_text=when.text if when else (passage.date_text or passage.date or ""),
        date_source=source,
        resolved=bool(when and when.relative),
        sentence=sentence,
        start=start,
        end=start + len(sentence),
        source=passage.source,
        title=passage.title,
        outlet=passage.outlet,
        article_date=passage.date,
        source_id=passage.source_id,
    )


@dataclass(frozen=True)
class _Topic:
    """What a sentence must contain to be about the topic.

    Every content word of the topic; for a name ("Iyad Ag Ghaly"), its last word
    as a capitalised word is enough, since articles shorten names after the first.
    """

    words: frozenset[str]
    surname: re.Pattern[str] | None

    def matches(self, sentence: str) -> bool:
        if self.surname is not None and self.surname.search(sentence):
            return True
        return bool(self.words) and self.words <= set(tokenize(sentence))


def _about(topic: str) -> _Topic:
    parts = topic.split()
    # "Iyad Ag Ghaly", "Nolvar Front": a name starts and ends with a capital.
    is_name = len(parts) > 1 and parts[0][:1].isupper() and parts[-1][:1].isupper()
    surname = re.compile(rf"\b{re.escape(parts[-1])}\b") if is_name else None
    return _Topic(frozenset(tokenize(topic)), surname)
