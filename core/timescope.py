"""What time a question is about: date ranges given by people, and time words in questions.

Two inputs name a time: the ``since``/``until`` bounds a person gives (CLI flags,
``answer(..., since=, until=)``, the app's settings), checked by ``date_range``;
and the words of a question, read by ``time_scope``: recency words ("latest",
"currently", "so far") ask for the newest articles, and explicit ranges ("in
2022", "before March 2021", "since 2020") become a date filter.

A month named without a year ("after June") means its latest occurrence up to
the *reference* date: the newest article's date in the collection when the
caller knows it, else today. A collection whose newest article is from
2023-03-02 reads "after June" as after June 2022.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from core.dates import day_number, read_date
from core.errors import InvalidDateRange

ACCEPTED = "YYYY-MM-DD (or YYYY-MM, or YYYY, or a written date), e.g. 2023-03-02"
_BOUND = re.compile(r"^\s*(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?\s*$")


@dataclass(frozen=True)
class DateRange:
    """Inclusive ISO bounds; either may be None (open). ``days`` gives them as YYYYMMDD ints.

    Example:
        >>> DateRange("2022-01-01", None).days
        (20220101, 99991231)
    """

    since: str | None = None
    until: str | None = None

    def __bool__(self) -> bool:
        return bool(self.since or self.until)

    @property
    def days(self) -> tuple[int, int]:
        """(first, last) day as YYYYMMDD; an open end is 1 or 99991231, so undated (0) is out."""
        return (
            day_number(self.since) if self.since else 1,
            day_number(self.until) if self.until else 99991231,
        )

    def __str__(self) -> str:
        if self.since and self.until:
            return f"{self.since} to {self.until}"
        return f"since {self.since}" if self.since else f"until {self.until}" if self.until else ""


ANY_TIME = DateRange()  # no bounds


def parse_bound(value: str, *, end: bool) -> str:
    """A ``since`` (``end=False``) or ``until`` (``end=True``) bound as an ISO day.

    A year or a month stands for its first day as a start and its last as an end; a
    written date ("14 July 2022") is read as ``--date`` reads it (``core.dates.read_date``).

    Example:
        >>> parse_bound("2022", end=True), parse_bound("2023-03", end=False)
        ('2022-12-31', '2023-03-01')
    """
    match = _BOUND.match(value or "")
    if not match:
        try:
            return read_date(value or "")
        except ValueError:
            raise InvalidDateRange(f"{value!r} is not a date; give it as {ACCEPTED}") from None
    year, month, day = (int(g) if g else None for g in match.groups())
    assert year is not None
    try:
        if month is None:
            return (date(year, 12, 31) if end else date(year, 1, 1)).isoformat()
        if day is None:
            last = calendar.monthrange(year, month)[1]
            return date(year, month, last if end else 1).isoformat()
        return date(year, month, day).isoformat()
    except ValueError as exc:  # month 13, February 30, year 0
        raise InvalidDateRange(
            f"{value!r} is not a real date ({exc}); give it as {ACCEPTED}"
        ) from None


def date_range(since: str | None = None, until: str | None = None) -> DateRange:
    """``since`` and ``until`` (inclusive, either may be None or "") checked and made ISO.

    Raises ``InvalidDateRange`` (a ``ValueError``) for a value that is not a date and
    for a ``since`` after the ``until``.

    Example:
        >>> date_range("2021", "2022-06")
        DateRange(since='2021-01-01', until='2022-06-30')
    """
    first = parse_bound(since, end=False) if since and since.strip() else None
    last = parse_bound(until, end=True) if until and until.strip() else None
    if first and last and first > last:
        raise InvalidDateRange(
            f"since ({first}) is after until ({last}): no article can be in that range; "
            "swap them or widen the range"
        )
    return DateRange(first, last)


# -- time words in questions ------------------------------------------------------------

# Words that ask for the newest state of things. "new" only when it does not start a name
# ("New York", "New Delhi").
_RECENT = re.compile(
    r"\b(latest|newest|most recent(?:ly)?|recently|lately|now|nowadays|currently|current|"
    r"at present|presently|so far|to date|this week|this month|this year|today|still)\b"
    r"|\bnew\b(?!(?-i:\s+[A-Z]))",
    re.IGNORECASE,
)
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
# "March 2021", "March", "2021", "2021-03-02"
_WHEN = rf"(?:(?P<iso>\d{{4}}-\d{{2}}-\d{{2}})|(?:(?P<month>{_MONTH})\.?\s*)?(?P<year>(?:19|20)\d{{2}})?)"
_RANGE = re.compile(
    rf"\b(?P<word>in|during|before|after|since|until|till|by|from|as of)\s+{_WHEN}\b", re.IGNORECASE
)


_WHEN_QUESTION = re.compile(r"^\W*(when|what (day|date|year|month)|since when)\b", re.IGNORECASE)


@dataclass(frozen=True)
class TimeScope:
    """What a question says about time: ``recent`` asks for the newest; ``range`` filters.

    Example:
        >>> time_scope("Who currently leads the Front?").recent
        True
        >>> time_scope("What happened in 2022?").range
        DateRange(since='2022-01-01', until='2022-12-31')
    """

    recent: bool = False
    range: DateRange = ANY_TIME
    asks_when: bool = False  # "When did ...?": the answer is a date, so say which one
    phrase: str = ""  # the words that gave ``range`` ("in 2022"), as written

    def without_range(self, question: str) -> str:
        """``question`` without the words that gave the range: they are a filter, and
        left in they only make the articles' sentences look less like answers.

        Example:
            >>> time_scope("What happened in 2022 in Brevik?").without_range(
            ...     "What happened in 2022 in Brevik?")
            'What happened in Brevik?'
        """
        if not self.phrase:
            return question
        return " ".join(question.replace(self.phrase, " ", 1).split()).replace(" ?", "?")


def time_scope(question: str, reference: date | None = None) -> TimeScope:
    """Recency words and the first explicit date range in ``question``.

    ``reference`` dates a month named without a year (see the module docstring);
    today when None.
    """
    reference = reference or date.today()
    recent = bool(_RECENT.search(question))
    asks_when = bool(_WHEN_QUESTION.search(question))
    for match in _RANGE.finditer(question):
        found = _range_of(match, reference)
        if found:
            return TimeScope(recent, found, asks_when, match.group(0))
    return TimeScope(recent, asks_when=asks_when)


def _range_of(match: re.Match[str], reference: date) -> DateRange | None:
    """The dates one "before March 2021"-like phrase covers; None if it names no date."""
    word = match["word"].lower()
    if match["iso"]:
        try:
            first = last = date.fromisoformat(match["iso"])
        except ValueError:  # "since 2022-02-30": no such day, so no range
            return None
    elif match["month"]:
        month = _MONTHS[match["month"].lower().rstrip(".")]
        year = int(match["year"]) if match["year"] else _latest_year_of(month, reference)
        first = date(year, month, 1)
        last = date(year, month, calendar.monthrange(year, month)[1])
    elif match["year"]:
        first, last = date(int(match["year"]), 1, 1), date(int(match["year"]), 12, 31)
    else:
        return None
    if word in ("in", "during"):
        return DateRange(first.isoformat(), last.isoformat())
    if word == "before":
        return DateRange(None, (first - timedelta(days=1)).isoformat())
    if word == "after":
        return DateRange((last + timedelta(days=1)).isoformat(), None)
    if word in ("since", "from"):
        return DateRange(first.isoformat(), None)
    return DateRange(None, last.isoformat())  # until, till, by, as of


def _latest_year_of(month: int, reference: date) -> int:
    """The year of the latest ``month`` that has begun by ``reference``."""
    return reference.year if month <= reference.month else reference.year - 1
