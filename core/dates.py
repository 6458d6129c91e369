"""Dates: one representation for every floor, and the dates written in text.

Articles carry ISO dates (YYYY-MM-DD); the store filters on the same day as an
int (YYYYMMDD, 0 for undated) because Chroma compares numbers, not strings.

``parse_date`` reads the first absolute calendar date in a line ("Updated 3:12 PM
ET, Thu July 14, 2022"); ``dates_in`` finds every date a text mentions, relative
ones ("on Thursday", "last week") resolved against the article's own date.

The rules, so that nothing is guessed silently:

- A bare number, a year alone without a preposition ("2021 people") and a time
  ("3:12 PM") are not dates.
- Numeric dates need a four-digit year. Two-digit years ("3/4/21") are not read:
  they are as often scores, ratios or versions as dates.
- ``a/b/YYYY`` is month/day (US news style) unless ``a`` is over 12, then day/month;
  ``a.b.YYYY`` is day.month (European style). ISO ``YYYY-MM-DD`` is always read.
- A month without a day ("in March 2021", "last month") stands for its first day,
  a year ("in 2019", "last year") for 1 January, a week ("last week") for the day
  seven days before the anchor; ``DateMention.precision`` says which.
- A day and month without a year ("Jan 5", "5 March") is relative: it needs an
  anchor and is the latest such day on or before it, or the next one when that
  comes within a month after it ("due on 3 January" in a December story).
- A weekday ("Thursday", "on Thursday") is the latest such day on or before the
  anchor; "last Thursday" is strictly before it, "next Thursday" strictly after.

Every pattern is a linear-time regular expression over bounded repetitions, so a
huge or hostile text costs time in proportion to its length.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from dateutil.relativedelta import relativedelta
from dateutil.relativedelta import weekday as _Weekday
from dateutil.rrule import FR, MO, SA, SU, TH, TU, WE

Precision = Literal["day", "week", "month", "year"]


def day_number(iso: str | None) -> int:
    """``"2022-07-14"`` -> ``20220714``; None, "" or a malformed date -> 0 (undated).

    Example:
        >>> day_number("2022-07-14"), day_number(None)
        (20220714, 0)
    """
    if not iso:
        return 0
    try:
        d = date.fromisoformat(iso[:10])
    except ValueError:
        return 0
    return d.year * 10000 + d.month * 100 + d.day


@dataclass(frozen=True)
class DateMention:
    """One date written in a text: its ISO day and where it was written.

    ``start``/``end`` index into the text searched; ``relative`` says the date was
    resolved against an anchor ("yesterday", "Jan 5"); ``precision`` says how much
    of ``iso`` the text gave ("month": ``iso`` is the month's first day).
    """

    iso: str
    text: str
    start: int
    end: int
    relative: bool
    precision: Precision = "day"


_MONTH_NUMBERS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
# "May" is matched only capitalised: "may" is far more often the verb.
_MONTH = (
    r"(?P<mon>(?i:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)|May|MAY)\.?"
)
_WEEKDAYS: dict[str, _Weekday] = {
    "mon": MO,
    "tue": TU,
    "wed": WE,
    "thu": TH,
    "fri": FR,
    "sat": SA,
    "sun": SU,
}
_WEEKDAY = r"(?P<wd>(?i:mon|tues|wednes|thurs|fri|satur|sun)day)"
# A weekday written just before a date belongs to it: "Thu July 14, 2022".
_WEEKDAY_PREFIX = r"(?:(?i:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]{0,6})\.?,?\s{1,3})?"
_DAY = r"(?P<d>[0-3]?\d)(?i:st|nd|rd|th)?"
_YEAR = r"(?P<y>(?:1[89]|2\d)\d\d)"  # 1800-2999: four digits, never a count like 5000
_SP = r"[ \t\u00a0]{1,3}"  # a few spaces, never a line break

_ABSOLUTE: list[tuple[re.Pattern[str], Precision]] = [
    # 2022-07-14, 2022-07-14T15:12:00Z
    (re.compile(rf"(?<![\d-]){_YEAR}-(?P<m>\d{{1,2}})-(?P<d>\d{{1,2}})(?![\d-])"), "day"),
    # July 14, 2022 / Thu July 14, 2022 / Jul. 14th 2022
    (
        re.compile(rf"(?<!\w){_WEEKDAY_PREFIX}{_MONTH}{_SP}{_DAY},?{_SP}(?:of{_SP})?{_YEAR}(?!\w)"),
        "day",
    ),
    # 5 March 2021 / Friday 5th of March, 2021
    (
        re.compile(rf"(?<!\w){_WEEKDAY_PREFIX}{_DAY}{_SP}(?:of{_SP})?{_MONTH},?{_SP}{_YEAR}(?!\w)"),
        "day",
    ),
    # 07/14/2022, 14/07/2022 (see the module's rule) and 14.07.2022
    (
        re.compile(
            r"(?<![\d/.])(?P<a>\d{1,2})(?P<sep>[/.])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4})(?![\w/])"
        ),
        "day",
    ),
    # March 2021
    (re.compile(rf"(?<!\w){_MONTH},?{_SP}{_YEAR}(?!\w)"), "month"),
    # in 2019, since 2019 (a year alone is a date only after such a word)
    (
        re.compile(
            rf"(?<!\w)(?i:in|since|during|until|till|by|before|after|early|late|mid-?)"
            rf"(?:{_SP})?{_YEAR}(?![\w-])"
        ),
        "year",
    ),
]

_NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}
_RELATIVE_WORD = re.compile(
    r"(?<!\w)(?i:(?P<word>today|tonight|yesterday|tomorrow)"
    r"|(?P<dir>last|this|next|earlier\ this|later\ this)\ (?P<unit>week|month|year)"
    r"|(?P<count>\d{1,3}|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
    r"\ (?P<agounit>day|week|month|year)s?\ ago)(?!\w)"
)
_RELATIVE_WEEKDAY = re.compile(rf"(?<!\w)(?:(?P<which>(?i:last|next|this|on))\s)?{_WEEKDAY}(?!\w)")
# A day and month without a year: "Jan 5", "5 March".
_LOOK_AHEAD_DAYS = 31
_DAY_MONTH = [
    re.compile(rf"(?<!\w){_MONTH}{_SP}{_DAY}(?![\w:])"),
    re.compile(rf"(?<![\w:]){_DAY}{_SP}(?:of{_SP})?{_MONTH}(?!\w)"),
]


def parse_date(text: str) -> str | None:
    """The first absolute calendar date (year, month and day) written in ``text``, as ISO.

    Example:
        >>> parse_date("Updated 3:12 PM ET, Thu July 14, 2022")
        '2022-07-14'
        >>> parse_date("Posted: 2021-03-04"), parse_date("5 March 2021")
        ('2021-03-04', '2021-03-05')
        >>> parse_date("At 3:12 PM, 42 people"), parse_date("March 2021")
        (None, None)
    """
    for mention in _absolute_mentions(text):
        if mention.precision == "day":
            return mention.iso
    return None


def read_date(text: str) -> str:
    """A date someone typed (``--date``, the upload form) as ISO; ValueError naming the format.

    The whole of ``text`` must be one calendar date: ``2022-07-14`` or a written
    one such as ``14 July 2022``.

    Example:
        >>> read_date("2022-07-14"), read_date(" July 14, 2022 ")
        ('2022-07-14', '2022-07-14')
    """
    written = text.strip()
    mentions = _absolute_mentions(written[:100])
    if (
        len(written) <= 100
        and len(mentions) == 1
        and mentions[0].precision == "day"
        and mentions[0].text == written
    ):
        return mentions[0].iso
    shown = repr(written[:40]) + ("…" if len(written) > 40 else "")
    raise ValueError(f"{shown} is not a calendar date; write it as YYYY-MM-DD, e.g. 2022-07-14")


def dates_in(text: str, anchor: str | None) -> list[DateMention]:
    """Every date ``text`` mentions, in order; relative ones resolved against ``anchor``.

    ``anchor`` is the article's ISO date; without it relative mentions ("last
    week", "on Thursday", "Jan 5") are skipped, because nothing says which week.

    Example:
        >>> [(m.iso, m.text) for m in dates_in("On Thursday, a week after July 7, 2022.", "2022-07-16")]
        [('2022-07-14', 'On Thursday'), ('2022-07-07', 'July 7, 2022')]
        >>> [m.iso for m in dates_in("He spoke yesterday and last month.", "2022-07-14")]
        ['2022-07-13', '2022-06-01']
        >>> dates_in("He spoke yesterday.", None)
        []
    """
    found = _absolute_mentions(text)
    day = _to_date(anchor) if anchor else None
    if day is not None:
        found += _relative_mentions(text, day)
    return _without_overlaps(found)


def days_covered(mention: DateMention) -> tuple[str, str]:
    """The first and last day (ISO) a mention stands for, by its precision.

    Example:
        >>> days_covered(dates_in("in March 2021", None)[0])
        ('2021-03-01', '2021-03-31')
    """
    first = date.fromisoformat(mention.iso)
    length = {
        "day": relativedelta(days=1),
        "week": relativedelta(weeks=1),
        "month": relativedelta(months=1),
        "year": relativedelta(years=1),
    }[mention.precision]
    return first.isoformat(), (first + length - timedelta(days=1)).isoformat()


def _absolute_mentions(text: str) -> list[DateMention]:
    found: list[DateMention] = []
    for pattern, precision in _ABSOLUTE:
        for match in pattern.finditer(text):
            iso = _absolute_iso(match, precision)
            if iso is not None:
                found.append(
                    DateMention(iso, match.group(), match.start(), match.end(), False, precision)
                )
    return _without_overlaps(found)


def _absolute_iso(match: re.Match[str], precision: Precision) -> str | None:
    parts = match.groupdict()
    year = int(parts["y"])
    if parts.get("a"):
        first, second = int(parts["a"]), int(parts["b"])
        us_order = parts["sep"] == "/" and first <= 12
        month, day = (first, second) if us_order else (second, first)
    else:
        month = _month_number(parts["mon"]) if parts.get("mon") else int(parts.get("m") or 1)
        day = int(parts.get("d") or 1)
    return _iso(year, month, day)


def _relative_mentions(text: str, anchor: date) -> list[DateMention]:
    found: list[DateMention] = []
    # A day counted from the anchor can fall off the calendar (an anchor of 9999-12-31 and
    # "tomorrow"): such a mention is left out, not raised.
    for match in _RELATIVE_WORD.finditer(text):
        try:
            resolved = _resolve_word(match, anchor)
        except (ValueError, OverflowError):
            continue
        if resolved is not None:
            found.append(_mention(match, resolved[0].isoformat(), resolved[1]))
    for match in _RELATIVE_WEEKDAY.finditer(text):
        try:
            day = _resolve_weekday(match, anchor)
        except (ValueError, OverflowError):
            continue
        found.append(_mention(match, day.isoformat(), "day"))
    for pattern in _DAY_MONTH:
        for match in pattern.finditer(text):
            resolved_day = _closest_year(match, anchor)
            if resolved_day is not None:
                found.append(_mention(match, resolved_day, "day"))
    return found


def _mention(match: re.Match[str], iso: str, precision: Precision) -> DateMention:
    return DateMention(iso, match.group(), match.start(), match.end(), True, precision)


def _resolve_word(match: re.Match[str], anchor: date) -> tuple[date, Precision] | None:
    """The day a relative phrase ("yesterday", "last month", "two weeks ago") stands for."""
    word = (match.group("word") or "").lower()
    if word:
        shift = {"today": 0, "tonight": 0, "yesterday": -1, "tomorrow": 1}[word]
        return anchor + timedelta(days=shift), "day"
    if match.group("agounit"):
        count = match.group("count").lower()
        amount = int(count) if count.isdigit() else _NUMBER_WORDS[count]
        unit = match.group("agounit").lower()
        steps: dict[str, tuple[relativedelta, Precision]] = {
            "day": (relativedelta(days=amount), "day"),
            "week": (relativedelta(weeks=amount), "week"),
            "month": (relativedelta(months=amount), "month"),
            "year": (relativedelta(years=amount), "year"),
        }
        step, precision = steps[unit]
        try:
            return anchor - step, precision
        except (ValueError, OverflowError):
            return None
    direction = match.group("dir").lower()
    unit = match.group("unit").lower()
    step = {"last": -1, "next": 1}.get(direction, 0)
    if unit == "week":
        # "last week" is seven days back; "earlier this week" is the week's Monday.
        return (
            anchor + timedelta(days=7 * step) if step else anchor - timedelta(anchor.weekday())
        ), "week"
    if unit == "month":
        return (anchor + relativedelta(months=step)).replace(day=1), "month"
    return date(anchor.year + step, 1, 1), "year"


def _resolve_weekday(match: re.Match[str], anchor: date) -> date:
    weekday = _WEEKDAYS[match.group("wd")[:3].lower()]
    which = (match.group("which") or "").lower()
    if which == "next":
        return anchor + relativedelta(days=1, weekday=weekday(+1))
    if which == "last":
        return anchor + relativedelta(days=-1, weekday=weekday(-1))
    return anchor + relativedelta(weekday=weekday(-1))


def _closest_year(match: re.Match[str], anchor: date) -> str | None:
    """A day and month without a year: the latest one on or before ``anchor``, or the next
    one when it comes within a month (news looks back, and only a little ahead)."""
    month, day = _month_number(match.group("mon")), int(match.group("d"))
    for year in range(anchor.year + 1, anchor.year - 4, -1):
        iso = _iso(year, month, day)  # 29 February exists in some years only
        if iso is not None and (date.fromisoformat(iso) - anchor).days <= _LOOK_AHEAD_DAYS:
            return iso
    return None


def _without_overlaps(mentions: list[DateMention]) -> list[DateMention]:
    """Mentions in text order; of two that overlap, the longer (then the absolute) stays."""
    ranked = sorted(mentions, key=lambda m: (-(m.end - m.start), m.relative, m.start))
    # The kept spans, sorted and disjoint: only the neighbours of a new one can overlap it.
    starts: list[int] = []
    kept: list[DateMention] = []
    for mention in ranked:
        at = bisect.bisect_left(starts, mention.start)
        before_free = at == 0 or kept[at - 1].end <= mention.start
        after_free = at == len(kept) or mention.end <= kept[at].start
        if before_free and after_free:
            starts.insert(at, mention.start)
            kept.insert(at, mention)
    return kept


def _month_number(name: str) -> int:
    return _MONTH_NUMBERS[name.lower().rstrip(".")]


def _iso(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def _to_date(iso: str) -> date | None:
    try:
        return date.fromisoformat(iso[:10])
    except ValueError:
        return None
