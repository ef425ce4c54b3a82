"""Dates, ISO weeks, working days and effective-dated lookups.

Conventions (see docs/semantics.md):
- dates are ISO strings ``YYYY-MM-DD`` in files and JSON; ``datetime.date`` inside;
- a week is an ISO week ``YYYY-Www`` (Monday to Sunday); its index is a plain integer
  so the rules engine, which has no date type, can compare weeks and days as numbers;
- working days are the days that are neither weekend nor public holiday in the agreement's
  jurisdiction (``Calendar``), from the ``holidays`` package by country and subdivision;
  Denmark (the bundled default) gives exactly the helligdage of the hand-written list this
  module used to hold (tests/test_calendars.py compares them day by day);
- the working days worked out are remembered between commands in a small file per calendar
  (the last section, "working days remembered between commands"), so most commands never
  import the ``holidays`` package.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import threading
import warnings
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, timedelta
from difflib import get_close_matches
from functools import lru_cache
from pathlib import Path

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


class UnknownCalendar(ValueError):
    """The ``holidays`` package has no calendar for this country or subdivision.

    ``part`` says which was wrong ('country' or 'subdivision'); ``hint`` what is supported nearby.
    """

    def __init__(self, message: str, hint: str, part: str):
        super().__init__(message)
        self.hint = hint
        self.part = part


@dataclass(frozen=True, slots=True)
class Calendar:
    """The working-day calendar of a jurisdiction: an ISO 3166-1 country and, where the
    holidays differ inside it, an ISO 3166-2 subdivision (``GB`` + ``ENG`` for England).
    ``check_calendar`` says whether the ``holidays`` package has it (the contract loader asks).

    A working day is one that is neither a weekend day nor a public holiday there, as the
    ``holidays`` package gives them (category ``public``, with the substitute days the
    package marks "observed", e.g. an English bank holiday moved off a weekend).
    """

    country: str = "DK"
    subdivision: str | None = None

    @property
    def code(self) -> str:
        """``DK``, ``GB-ENG``: how the calendar is named in messages and file names."""
        return self.country if self.subdivision is None else f"{self.country}-{self.subdivision}"

    def public_holidays(self, year: int) -> frozenset[date]:
        return _public_holidays(self.country, self.subdivision, year)

    def is_working_day(self, day: date) -> bool:
        first, table = _working_days(self.country, self.subdivision, day.year)
        return table[day.toordinal() - first] == 1

    def add_working_days(self, start: date, days: int) -> date:
        """``start`` plus ``days`` working days, counted from the day after ``start``."""
        day = start.toordinal()
        year = start.year
        first, table = _working_days(self.country, self.subdivision, year)
        remaining = days
        while remaining > 0:
            day += 1
            if day - first >= len(table):
                year += 1
                first, table = _working_days(self.country, self.subdivision, year)
            remaining -= table[day - first]
        return date.fromordinal(day)


def _package():
    """The ``holidays`` package, imported when a calendar is first worked out or checked: with
    its 250 country calendars (any use of one imports them all) 80-90 ms, which a command
    whose working days are remembered (``remembered_working_days``) no longer spends."""
    import holidays

    return holidays


@lru_cache(maxsize=1)
def supported_calendars() -> dict[str, tuple[str, ...]]:
    """Every country the ``holidays`` package knows by its ISO 3166-1 code (no aliases such as UK), with its subdivisions."""
    return {country: tuple(subs) for country, subs in _package().list_supported_countries(include_aliases=False).items()}


def _same_first_letter(code: str, known) -> list[str]:
    """Two-letter codes are too short for spelling distance: the supported ones that start alike."""
    return sorted(k for k in known if k[:1] == code[:1].upper())[:12]


def _iso_code_of(alias: str) -> list[str]:
    """The ISO code the ``holidays`` package knows another name by (UK is GB), if any."""
    if alias not in _package().list_supported_countries(include_aliases=True):
        return []
    return [_package().country_holidays(alias, years=[]).country]


def _supported(country: str, subdivision: str | None) -> bool:
    """The package has this calendar by its own ISO codes (not an alias such as UK, or England for ENG)."""
    known = supported_calendars()
    return country in known and (subdivision is None or subdivision in known[country])


@lru_cache(maxsize=1024)
def check_calendar(country: str, subdivision: str | None) -> None:
    """Raise ``UnknownCalendar`` (with a hint naming what is supported nearby) unless the
    ``holidays`` package has a calendar for the country and subdivision. A calendar whose
    working days an earlier command remembered was checked then, against the same package."""
    if _remembered(country, subdivision) is not None:
        return
    if _supported(country, subdivision):
        _remember(country, subdivision, {})
        return
    known = supported_calendars()
    if country not in known:
        near = [country.upper()] if country.upper() in known else _iso_code_of(country) or _same_first_letter(country, known)
        hint = (f"did you mean {' or '.join(near) if len(near) < 3 else 'one of ' + ', '.join(near)}? " if near else "")
        hint += "a country is its ISO 3166-1 code in capitals, e.g. DK, GB, FI"
        raise UnknownCalendar(f"no working-day calendar for country '{country}'", hint, "country")
    subs = known[country]
    if not subs:
        raise UnknownCalendar(f"{country} has no subdivisions with holidays of their own", f"leave subdivision out for {country}", "subdivision")
    near = [subdivision.upper()] if subdivision.upper() in subs else get_close_matches(subdivision, subs, n=3, cutoff=0.4)
    hint = (f"did you mean {', '.join(near)}? " if near else "") + f"subdivisions of {country}: {', '.join(subs)}"
    raise UnknownCalendar(f"no working-day calendar for subdivision '{subdivision}' of {country}", hint, "subdivision")


DANISH = Calendar("DK")


def _year_of(country: str, subdivision: str | None, year: int):
    """The package's calendar with ``year`` filled in (and only that year)."""
    entity = _package().country_holidays(country, subdiv=subdivision, categories=("public",), years=[])
    # The package stops at its DEFAULT_END_YEAR (2100): later laws are unknown. Dates here run
    # to MAX_YEAR, and the hand-written Danish list extended today's rules that far; so do we.
    entity.end_year = max(entity.end_year, MAX_YEAR + 1)
    date(year, 1, 1) in entity  # noqa: B015 - asking about a day of a year not yet filled in fills that year in
    return entity


@lru_cache(maxsize=4096)
def _public_holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    return frozenset(d for d in _year_of(country, subdivision, year) if d.year == year)


@lru_cache(maxsize=4096)
def _working_days(country: str, subdivision: str | None, year: int) -> tuple[int, bytes]:
    """The ordinal of 1 January of ``year`` and one byte per day of the year (1 = a working day).

    Computed once per (country, subdivision, year): due dates are worked out in hot paths; and
    remembered between commands (``remembered_working_days``).
    """
    first = date(year, 1, 1)
    tables = _remembered(country, subdivision)
    table = tables.get(year) if tables is not None else None
    if table is None:
        n = (date(year + 1, 1, 1) - first).days
        with _COMPUTING, warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            entity = _year_of(country, subdivision, year)
            table = bytes(1 if entity.is_working_day(first + timedelta(days=i)) else 0 for i in range(n))
        for w in said:  # shown as before (and any another thread raised meanwhile)
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
        # Remembered only for a calendar check_calendar accepts, and a year the package said
        # nothing about (e.g. "holidays are available only from 2001 to 2035": said every time).
        if not said and _supported(country, subdivision):
            _remember(country, subdivision, {year: table})
    return first.toordinal(), table


def danish_public_holidays(year: int) -> frozenset[date]:
    """Danish public holidays (helligdage) of ``year``: the DK calendar's public holidays.

    Store bededag is a holiday until 2023; it was abolished from 2024 (lov nr. 54 af 28/02/2023).
    Grundlovsdag, juleaftensdag and nytårsaftensdag are customary days off, not public
    holidays, and are working days here.
    """
    return DANISH.public_holidays(year)


def is_working_day(day: date, calendar: Calendar = DANISH) -> bool:
    return calendar.is_working_day(day)


def add_days(start: date, days: int, *, working: bool, calendar: Calendar = DANISH) -> date:
    """``start`` plus ``days`` calendar days, or plus ``days`` working days of ``calendar``.

    Working days are counted from the day after ``start``: with a lag of 15 working
    days, a claim for an outcome met on Friday 2019-03-01 is due on Friday 2019-03-22.
    """
    if not working:
        return start + timedelta(days=days)
    return calendar.add_working_days(start, days)


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


# --- working days remembered between commands -----------------------------------------------
#
# Every command that loads an agreement checks its calendar, and most work out due dates: with
# the ``holidays`` package that is about 80 ms of each command's start-up (importing it imports
# all 250 of its country calendars). What it says of a calendar's year never changes for one
# version of the package and of this module, so the working days worked out are written to a
# small file per calendar and version, and read back by later commands, which then never
# import the package. The file is only ever a copy of what the package said: one that cannot
# be read, does not hold the year, or lies where someone else could have written it, is
# worked out again; another version of the package or of this module gets files of its own.

CACHE_ENV = "PBR_CACHE_DIR"
MAX_CACHE_FILE = 1 << 20  # 300 years of days are about 110 kB
_CACHE_LOCK = threading.Lock()
_COMPUTING = threading.Lock()  # one year worked out at a time: warnings.catch_warnings is process-wide
_TABLES: dict[tuple[str, str | None], dict[int, bytes] | None] = {}


def cache_dir() -> Path | None:
    """Where pbr-rules keeps what it works out once for later commands: ``$PBR_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/pbr-rules``, else ``~/.cache/pbr-rules``. None (nothing is kept) when
    ``PBR_CACHE_DIR`` is set empty, or when no absolute folder follows from the others (no
    home folder; a relative ``XDG_CACHE_HOME`` is ignored, as its specification says)."""
    given = os.environ.get(CACHE_ENV)
    if given is not None:
        return Path(given).absolute() if given.strip() else None
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if os.path.isabs(xdg):
        return Path(xdg) / "pbr-rules"
    home = os.path.expanduser("~")
    if not os.path.isabs(home) or home == os.sep:
        return None
    return Path(home) / ".cache" / "pbr-rules"


@lru_cache(maxsize=1)
def _versions() -> str | None:
    """The installed ``holidays`` package's version (from its metadata, without importing it) and
    a digest of this module, whose rules (weekends, the category ``public``, the years past
    the package's end) make a working day as much as the package does."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        package = version("holidays")
        here = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
    except (PackageNotFoundError, OSError):
        return None
    if not re.fullmatch(r"[A-Za-z0-9._+-]{1,40}", package):
        return None  # never a path made of anything else
    return f"holidays-{package}-periods-{here}"


def remembered_working_days(country: str, subdivision: str | None = None) -> Path | None:
    """The file that keeps a calendar's working days for the installed ``holidays`` package and
    this module: ``<cache>/working-days/holidays-<version>-periods-<digest>/<code>.json``, one
    string of ``0`` and ``1`` per year, a character per day (``1`` a working day). None when
    nothing is kept."""
    folder, versions = cache_dir(), _versions()
    if folder is None or versions is None:
        return None
    code = country if subdivision is None else f"{country}-{subdivision}"
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,16}", code):
        return None  # never a path made of anything else
    return folder / "working-days" / versions / f"{code}.json"


def _private(st: os.stat_result) -> bool:
    """Owned by this user and writable by no one else (where the system has owners), as the
    file and its folder must be before what they say moves a due date."""
    return not hasattr(os, "getuid") or (st.st_uid == os.getuid() and not st.st_mode & 0o022)


def _read_tables(path: Path, country: str, subdivision: str | None) -> dict[int, bytes] | None:
    try:
        st = path.stat()
        if not (_private(path.parent.stat()) and _private(st)) or st.st_size > MAX_CACHE_FILE:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("country") != country or data.get("subdivision") != subdivision:
            return None
        tables = {}
        for key, days in data["years"].items():
            year = int(key)
            if not MIN_YEAR <= year <= MAX_YEAR + 1:
                return None
            n = (date(year + 1, 1, 1) - date(year, 1, 1)).days
            if not (isinstance(days, str) and len(days) == n and set(days) <= {"0", "1"}):
                return None
            tables[year] = days.encode("ascii").translate(_DIGITS_TO_BYTES)
        return tables
    except Exception:  # noqa: BLE001 - missing, unreadable or not what this module writes: worked out again
        return None


_DIGITS_TO_BYTES = bytes.maketrans(b"01", b"\x00\x01")
_BYTES_TO_DIGITS = bytes.maketrans(b"\x00\x01", b"01")


def _remembered(country: str, subdivision: str | None) -> dict[int, bytes] | None:
    """The years of a calendar this process knows, read once from its file; None when the
    calendar was never accepted by ``check_calendar`` here or in an earlier command."""
    key = (country, subdivision)
    if key not in _TABLES:
        path = remembered_working_days(country, subdivision)
        tables = _read_tables(path, country, subdivision) if path is not None else None
        with _CACHE_LOCK:
            _TABLES.setdefault(key, tables)
    return _TABLES[key]


def _remember(country: str, subdivision: str | None, years: dict[int, bytes]) -> None:
    """Add ``years`` to what this process knows of a calendar ``check_calendar`` accepts, and to
    its file (merged with what another process may have written meanwhile; replaced whole,
    never half-written). A cache that cannot be written is no error: the next command works
    the days out again."""
    key = (country, subdivision)
    with _CACHE_LOCK:
        known = _TABLES.get(key) or {}
        _TABLES[key] = known = {**known, **years}
        path = remembered_working_days(country, subdivision)
        if path is None:
            return
        try:
            on_disk = _read_tables(path, country, subdivision) if path.exists() else None
            if on_disk is not None and all(on_disk.get(y) == t for y, t in known.items()):
                return
            merged = {**(on_disk or {}), **known}
            body = {
                "country": country,
                "subdivision": subdivision,
                "versions": path.parent.name,
                "years": {str(y): merged[y].translate(_BYTES_TO_DIGITS).decode("ascii") for y in sorted(merged)},
            }
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not _private(path.parent.stat()):
                return
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(body, fh, indent=0, sort_keys=True)
                os.replace(tmp, path)
            except BaseException:
                os.unlink(tmp)
                raise
        except (OSError, ValueError):
            pass
