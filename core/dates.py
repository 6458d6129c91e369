"""Dates: one representation for every floor.

Articles carry ISO dates (YYYY-MM-DD); the store filters on the same day as an
int (YYYYMMDD, 0 for undated) because Chroma compares numbers, not strings.
"""

from __future__ import annotations

from datetime import date


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
