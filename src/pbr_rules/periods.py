"""Dates, ISO weeks, working days and effective-dated lookups.

Conventions (see docs/semantics.md):
- dates are ISO strings ``YYYY-MM-DD`` in files and JSON; ``datetime.date`` inside;
- a week is an ISO week ``YYYY-Www`` (Monday to Sunday); its index is a plain integer
  so the rules engine, which has no date type, can compare weeks and days as numbers;
- working days are Monday to Friday except Danish public holidays (helligdage).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from datetime import date, timedelta
from functools import lru_cache

MIN_YEAR, MAX_YEAR = 1900, 2199  # far enough; keeps week and claim-lag arithmetic inside date's range
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def parse_iso_date(value: object) -> date:
    """A date from an ISO string ``YYYY-MM-DD``; other shapes are refused."""
    if isinstance(value, date):
        day = value
    elif not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError(f"{value!r} is not an ISO date; write it as YYYY-MM-DD, e.g. '2019-03-01'")
    else:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a calendar date") from None
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise ValueError(f"{day.isoformat()!r} is outside the years {MIN_YEAR}-{MAX_YEAR} that agreements and histories use")
    return day


def week_index(day: date) -> int:
    """The number of the ISO week containing ``day`` (0 = the week of 0001-01-01, a Monday)."""
    return (day.toordinal() - 1) // 7


def week_monday(index: int) -> date:
    return date.fromordinal(index * 7 + 1)


def week_sunday(index: int) -> date:
    return date.fromordinal(index * 7 + 7)


def parse_iso_week(value: str) -> int:
    """The index of an ISO week written ``YYYY-Www``."""
    m = _ISO_WEEK.match(value) if isinstance(value, str) else None
    if not m:
        raise ValueError(f"{value!r} is not an ISO week; write it as YYYY-Www, e.g. '2019-W05'")
    year, week = int(m.group(1)), int(m.group(2))
    try:
        return week_index(date.fromisocalendar(year, week, 1))
    except ValueError:
        raise ValueError(f"{value!r} does not exist: {year} has no week {week}") from None


@lru_cache(maxsize=8192)
def format_iso_week(index: int) -> str:
    y, w, _ = week_monday(index).isocalendar()
    return f"{y}-W{w:02d}"


def parse_week_range(value: str) -> tuple[int, int]:
    """``2019-W01..2019-W40`` (inclusive) or a single ``2019-W05``, as week indexes."""
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a week or week range such as '2019-W01..2019-W40'")
    return _parse_week_range(value)


@lru_cache(maxsize=65536)
def _parse_week_range(value: str) -> tuple[int, int]:
    if ".." in value:
        first, _, last = value.partition("..")
        a, b = parse_iso_week(first.strip()), parse_iso_week(last.strip())
        if b < a:
            raise ValueError(f"week range {value!r} ends before it starts")
        return a, b
    w = parse_iso_week(value.strip())
    return w, w


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (the anonymous Gregorian algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l) // 451
    month, day = divmod(h + l - 7 * m + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=256)
def danish_public_holidays(year: int) -> frozenset[date]:
    """Danish public holidays (helligdage) of ``year``.

    Store bededag is a holiday until 2023; it was abolished from 2024 (lov nr. 54 af 28/02/2023).
    Grundlovsdag, juleaftensdag and nytårsaftensdag are customary days off, not public
    holidays, and are working days here.
    """
    e = easter_sunday(year)
    days = {
        date(year, 1, 1),  # Nytårsdag
        e - timedelta(days=3),  # Skærtorsdag
        e - timedelta(days=2),  # Langfredag
        e,  # Påskedag
        e + timedelta(days=1),  # 2. påskedag
        e + timedelta(days=39),  # Kristi himmelfartsdag
        e + timedelta(days=49),  # Pinsedag
        e + timedelta(days=50),  # 2. pinsedag
        date(year, 12, 25),  # Juledag
        date(year, 12, 26),  # 2. juledag
    }
    if year <= 2023:
        days.add(e + timedelta(days=26))  # Store bededag
    return frozenset(days)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in danish_public_holidays(day.year)


def add_days(start: date, days: int, *, working: bool) -> date:
    """``start`` plus ``days`` calendar days, or plus ``days`` working days.

    Working days are counted from the day after ``start``: with a lag of 15 working
    days, a claim for an outcome met on Friday 2019-03-01 is due on Friday 2019-03-22.
    """
    if not working:
        return start + timedelta(days=days)
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current


def add_months(day: date, months: int) -> date:
    """The same day of the month ``months`` later; a day the month lacks becomes its last day
    (31 January + 1 month = 28 or 29 February)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = (date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(day.day, last))


def latest_on_or_before(effective_dates: list[date], day: date) -> int | None:
    """Index of the latest of the sorted ``effective_dates`` on or before ``day``, or None."""
    i = bisect_right(effective_dates, day)
    return i - 1 if i else None
