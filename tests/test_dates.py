"""Dates written in news text: absolute ones read strictly, relative ones resolved."""

from __future__ import annotations

import time

import pytest

from core.dates import DateMention, dates_in, days_covered, parse_date, read_date


@pytest.mark.parametrize(
    ("line", "iso"),
    [
        ("Updated 3:12 PM ET, Thu July 14, 2022", "2022-07-14"),
        ("Published 10:02 AM EDT, Mon June 6, 2022", "2022-06-06"),
        ("Posted: 2021-03-04", "2021-03-04"),
        ("5 March 2021", "2021-03-05"),
        ("Friday 5th of March, 2021", "2021-03-05"),
        ("Sept. 30th, 2019", "2019-09-30"),
        ("2022-07-14T15:12:00Z", "2022-07-14"),
        ("07/14/2022", "2022-07-14"),  # month first ...
        ("14/07/2022", "2022-07-14"),  # ... unless the first number cannot be a month
        ("04/03/2021", "2021-04-03"),
        ("04.03.2021", "2021-03-04"),  # dots: day first
        ("MAY 5, 2020", "2020-05-05"),
    ],
)
def test_parse_date_reads_news_formats(line, iso):
    assert parse_date(line) == iso


@pytest.mark.parametrize(
    "line",
    [
        "",
        "3:12 PM ET",
        "42",
        "2021 people were evacuated",
        "3/4/21",  # two-digit years are not read
        "March 2021",  # no day: not a calendar date
        "Jan 5",  # no year
        "February 30, 2022",  # no such day
        "2022-13-01",
        "They may 5, 2020 say",  # "may" the verb
        "version 1.2.2021x",
    ],
)
def test_parse_date_refuses_what_is_not_a_full_date(line):
    assert parse_date(line) is None


def _found(text: str, anchor: str | None) -> list[tuple[str, str, bool]]:
    return [(m.iso, m.text, m.relative) for m in dates_in(text, anchor)]


def test_absolute_mentions_with_their_offsets_and_precision():
    text = "Talks began on 5 March 2021, stalled in June 2021 and had started in 2019."
    found = dates_in(text, None)
    assert [(m.iso, m.text, m.precision) for m in found] == [
        ("2021-03-05", "5 March 2021", "day"),
        ("2021-06-01", "June 2021", "month"),
        ("2019-01-01", "in 2019", "year"),
    ]
    assert all(text[m.start : m.end] == m.text for m in found)
    assert not any(m.relative for m in found)


def test_weekdays_resolve_to_the_latest_such_day_on_or_before_the_anchor():
    # 2022-07-14 is a Thursday.
    anchor = "2022-07-14"
    assert _found("He resigned on Thursday.", anchor) == [("2022-07-14", "on Thursday", True)]
    assert _found("Talks failed on Monday.", anchor) == [("2022-07-11", "on Monday", True)]
    assert _found("Friday was calm.", anchor) == [("2022-07-08", "Friday", True)]
    assert _found("since last Thursday", anchor) == [("2022-07-07", "last Thursday", True)]
    assert _found("until next Thursday", anchor) == [("2022-07-21", "next Thursday", True)]


def test_relative_words_resolve_against_the_anchor():
    anchor = "2022-07-14"
    text = (
        "Today he left; yesterday he wavered; last week he won a vote; last month he lost "
        "one; last year he won; earlier this week aides quit; two weeks ago he denied it; "
        "3 days ago he met them; Jan 5 was the start."
    )
    found = {m.text: (m.iso, m.precision) for m in dates_in(text, anchor)}
    assert found == {
        "Today": ("2022-07-14", "day"),
        "yesterday": ("2022-07-13", "day"),
        "last week": ("2022-07-07", "week"),
        "last month": ("2022-06-01", "month"),
        "last year": ("2021-01-01", "year"),
        "earlier this week": ("2022-07-11", "week"),
        "two weeks ago": ("2022-06-30", "week"),
        "3 days ago": ("2022-07-11", "day"),
        "Jan 5": ("2022-01-05", "day"),
    }


def test_a_day_and_month_without_year_looks_back_or_a_month_ahead():
    assert _found("LONDON, Dec 30 (Reuters) -", "2022-01-02") == [("2021-12-30", "Dec 30", True)]
    assert _found("due on 3 January", "2021-12-20") == [("2022-01-03", "3 January", True)]
    assert _found("since Jan 5", "2022-07-14") == [("2022-01-05", "Jan 5", True)]
    assert _found("on Feb 29", "2023-07-14") == [("2020-02-29", "Feb 29", True)]


def test_relative_mentions_are_skipped_without_an_anchor():
    text = "On Thursday, a week after July 7, 2022, and yesterday, and Jan 5, and last week."
    assert _found(text, None) == [("2022-07-07", "July 7, 2022", False)]
    assert _found(text, "not a date") == [("2022-07-07", "July 7, 2022", False)]


def test_a_weekday_written_with_its_date_is_one_mention():
    found = dates_in("Updated Thursday, July 14, 2022 at noon", "2022-07-20")
    assert [(m.iso, m.text) for m in found] == [("2022-07-14", "Thursday, July 14, 2022")]


def test_days_covered_by_precision():
    def covered(text: str) -> tuple[str, str]:
        return days_covered(dates_in(text, "2022-07-14")[0])

    assert covered("July 7, 2022") == ("2022-07-07", "2022-07-07")
    assert covered("in February 2024") == ("2024-02-01", "2024-02-29")
    assert covered("in 2019") == ("2019-01-01", "2019-12-31")
    assert covered("last week") == ("2022-07-07", "2022-07-13")


def test_mentions_are_frozen_values():
    mention = DateMention("2022-07-14", "July 14, 2022", 0, 13, False)
    assert mention.precision == "day"
    with pytest.raises(AttributeError):
        mention.iso = "2020-01-01"  # type: ignore[misc]


@pytest.mark.parametrize(
    "hostile",
    [
        "1 " * 500_000,
        "July " * 200_000,
        "Thursday " * 100_000,
        "2022-" * 200_000,
        "1/" * 500_000,
        "in " * 300_000,
        "July 14, 2022 " * 70_000,
    ],
)
def test_huge_hostile_text_takes_linear_time(hostile):
    started = time.perf_counter()
    dates_in(hostile, "2022-07-14")
    # About a second for a megabyte on a slow shared machine; quadratic work takes minutes.
    assert time.perf_counter() - started < 20


@pytest.mark.parametrize(
    ("typed", "iso"),
    [
        ("2022-07-14", "2022-07-14"),
        (" 14 July 2022 ", "2022-07-14"),
        ("Jul 14, 2022", "2022-07-14"),
    ],
)
def test_read_date_takes_one_whole_date(typed, iso):
    assert read_date(typed) == iso


@pytest.mark.parametrize(
    "typed",
    ["", "July 2022", "yesterday", "2022-02-30", "2022-07-14 or 15", "14/07/22", "x" * 10**6],
)
def test_read_date_refuses_anything_else_naming_the_format(typed):
    with pytest.raises(ValueError, match="is not a calendar date; write it as YYYY-MM-DD"):
        read_date(typed)
