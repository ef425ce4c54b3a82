"""Dates, ISO weeks, Danish public holidays and working days. Expected values read off a calendar."""

from __future__ import annotations

from datetime import date

import pytest

from pbr_rules.periods import (
    add_days,
    danish_public_holidays,
    easter_sunday,
    format_iso_week,
    is_working_day,
    latest_on_or_before,
    parse_iso_date,
    parse_iso_week,
    parse_week_range,
    week_index,
    week_monday,
    week_sunday,
)

# --- ISO dates ------------------------------------------------------------------------------------


def test_parse_iso_date():
    assert parse_iso_date("2019-03-01") == date(2019, 3, 1)
    assert parse_iso_date("2020-02-29") == date(2020, 2, 29)
    assert parse_iso_date(date(2019, 3, 1)) == date(2019, 3, 1)


@pytest.mark.parametrize("bad", ["2019-3-1", "01-03-2019", "1/3/2019", "2019-03-01T00:00", "20190301", 20190301, None])
def test_parse_iso_date_refuses_other_shapes(bad):
    with pytest.raises(ValueError, match="is not an ISO date; write it as YYYY-MM-DD"):
        parse_iso_date(bad)


@pytest.mark.parametrize("bad", ["2019-02-29", "2019-13-01", "2019-04-31", "2019-00-10"])
def test_parse_iso_date_refuses_days_not_in_the_calendar(bad):
    with pytest.raises(ValueError, match="is not a calendar date"):
        parse_iso_date(bad)


# --- ISO weeks --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "week, monday, sunday",
    [
        ("2019-W01", date(2018, 12, 31), date(2019, 1, 6)),  # week 1 of 2019 starts in 2018
        ("2019-W09", date(2019, 2, 25), date(2019, 3, 3)),
        ("2019-W52", date(2019, 12, 23), date(2019, 12, 29)),
        ("2020-W01", date(2019, 12, 30), date(2020, 1, 5)),
        ("2020-W53", date(2020, 12, 28), date(2021, 1, 3)),  # 2020 has 53 weeks
        ("2021-W01", date(2021, 1, 4), date(2021, 1, 10)),
        ("2015-W53", date(2015, 12, 28), date(2016, 1, 3)),
        ("2026-W53", date(2026, 12, 28), date(2027, 1, 3)),
    ],
)
def test_iso_week_bounds(week, monday, sunday):
    index = parse_iso_week(week)
    assert week_monday(index) == monday
    assert week_sunday(index) == sunday
    assert format_iso_week(index) == week
    assert week_index(monday) == index == week_index(sunday)


def test_week_indexes_are_consecutive_across_week_53():
    assert parse_iso_week("2020-W53") - parse_iso_week("2020-W52") == 1
    assert parse_iso_week("2021-W01") - parse_iso_week("2020-W53") == 1
    assert parse_iso_week("2020-W01") - parse_iso_week("2019-W52") == 1  # 2019 has only 52 weeks
    assert week_index(date(2021, 1, 3)) == parse_iso_week("2020-W53")
    assert week_index(date(2021, 1, 4)) == parse_iso_week("2021-W01")


@pytest.mark.parametrize(
    "week, year, number",
    [("2019-W53", 2019, 53), ("2021-W53", 2021, 53), ("2019-W00", 2019, 0), ("2020-W54", 2020, 54), ("2019-W99", 2019, 99)],
)
def test_weeks_that_do_not_exist(week, year, number):
    with pytest.raises(ValueError) as info:
        parse_iso_week(week)
    assert str(info.value) == f"{week!r} does not exist: {year} has no week {number}"


@pytest.mark.parametrize("bad", ["2019-W5", "2019W05", "2019-w05", "2019-05", "W05-2019", "2019-W05-1", "", 201905, None])
def test_weeks_in_the_wrong_form(bad):
    with pytest.raises(ValueError) as info:
        parse_iso_week(bad)
    assert str(info.value) == f"{bad!r} is not an ISO week; write it as YYYY-Www, e.g. '2019-W05'"


# --- week ranges --------------------------------------------------------------------------------------


def test_week_range_inclusive():
    a, b = parse_week_range("2019-W01..2019-W40")
    assert a == parse_iso_week("2019-W01")
    assert b - a == 39  # 40 weeks, both ends included


def test_week_range_across_week_53():
    a, b = parse_week_range("2020-W52..2021-W01")
    assert b - a == 2  # W52, W53, W01: three weeks
    assert [format_iso_week(w) for w in range(a, b + 1)] == ["2020-W52", "2020-W53", "2021-W01"]


def test_single_week_is_a_range_of_one():
    w = parse_iso_week("2019-W05")
    assert parse_week_range("2019-W05") == (w, w)
    assert parse_week_range("2019-W05..2019-W05") == (w, w)


def test_week_range_tolerates_spaces_around_the_dots():
    assert parse_week_range("2019-W01 .. 2019-W02") == parse_week_range("2019-W01..2019-W02")


def test_week_range_backwards_refused():
    with pytest.raises(ValueError) as info:
        parse_week_range("2019-W10..2019-W01")
    assert str(info.value) == "week range '2019-W10..2019-W01' ends before it starts"


def test_week_range_with_a_week_that_does_not_exist():
    with pytest.raises(ValueError) as info:
        parse_week_range("2019-W50..2019-W53")
    assert str(info.value) == "'2019-W53' does not exist: 2019 has no week 53"


@pytest.mark.parametrize("bad", [None, 5, ["2019-W01"]])
def test_week_range_not_text(bad):
    with pytest.raises(ValueError, match="is not a week or week range"):
        parse_week_range(bad)


# --- Easter and Danish public holidays ------------------------------------------------------------------


@pytest.mark.parametrize(
    "year, sunday",
    [
        (2019, date(2019, 4, 21)),
        (2020, date(2020, 4, 12)),
        (2023, date(2023, 4, 9)),
        (2024, date(2024, 3, 31)),
        (2000, date(2000, 4, 23)),
        (2038, date(2038, 4, 25)),  # the latest possible date
        (1818, date(1818, 3, 22)),  # the earliest possible date
    ],
)
def test_easter_sunday(year, sunday):
    assert easter_sunday(year) == sunday


def test_holidays_2019():
    assert danish_public_holidays(2019) == {
        date(2019, 1, 1),  # nytårsdag
        date(2019, 4, 18),  # skærtorsdag
        date(2019, 4, 19),  # langfredag
        date(2019, 4, 21),  # påskedag
        date(2019, 4, 22),  # 2. påskedag
        date(2019, 5, 17),  # store bededag (4th Friday after Easter)
        date(2019, 5, 30),  # Kristi himmelfartsdag
        date(2019, 6, 9),  # pinsedag
        date(2019, 6, 10),  # 2. pinsedag
        date(2019, 12, 25),  # juledag
        date(2019, 12, 26),  # 2. juledag
    }


def test_holidays_2023_last_year_with_store_bededag():
    assert danish_public_holidays(2023) == {
        date(2023, 1, 1),
        date(2023, 4, 6),
        date(2023, 4, 7),
        date(2023, 4, 9),
        date(2023, 4, 10),
        date(2023, 5, 5),  # store bededag, for the last time
        date(2023, 5, 18),
        date(2023, 5, 28),
        date(2023, 5, 29),
        date(2023, 12, 25),
        date(2023, 12, 26),
    }


def test_holidays_2024_without_store_bededag():
    assert danish_public_holidays(2024) == {
        date(2024, 1, 1),
        date(2024, 3, 28),
        date(2024, 3, 29),
        date(2024, 3, 31),
        date(2024, 4, 1),
        date(2024, 5, 9),
        date(2024, 5, 19),
        date(2024, 5, 20),
        date(2024, 12, 25),
        date(2024, 12, 26),
    }
    assert date(2024, 4, 26) not in danish_public_holidays(2024)  # would have been store bededag
    assert is_working_day(date(2024, 4, 26))


@pytest.mark.parametrize(
    "day",
    [
        date(2019, 6, 5),  # grundlovsdag (Wednesday): a customary day off, not a public holiday
        date(2019, 12, 24),  # juleaftensdag (Tuesday)
        date(2019, 12, 31),  # nytårsaftensdag (Tuesday)
        date(2019, 4, 17),  # the Wednesday before Easter
    ],
)
def test_customary_days_off_are_working_days(day):
    assert is_working_day(day)


@pytest.mark.parametrize(
    "day",
    [date(2019, 4, 18), date(2019, 5, 17), date(2019, 12, 25), date(2019, 3, 2), date(2019, 3, 3)],  # incl. Sat, Sun
)
def test_not_working_days(day):
    assert not is_working_day(day)


# --- add_days -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "start, days, expected",
    [
        # The docstring's example: Friday 1 March 2019 + 15 working days = Friday 22 March.
        (date(2019, 3, 1), 15, date(2019, 3, 22)),
        # Easter 2019: Thu 18, Fri 19, (Sat, Sun), Mon 22 April are all off.
        (date(2019, 4, 17), 1, date(2019, 4, 23)),
        (date(2019, 4, 17), 3, date(2019, 4, 25)),
        (date(2019, 4, 16), 2, date(2019, 4, 23)),
        # Store bededag 2019 (Fri 17 May) is off; in 2024 the same Friday (26 April) is a working day.
        (date(2019, 5, 16), 1, date(2019, 5, 20)),
        (date(2024, 4, 25), 1, date(2024, 4, 26)),
        # Christmas 2019: Mon 23 and Tue 24 work, Wed 25 and Thu 26 off, Fri 27 works.
        (date(2019, 12, 20), 3, date(2019, 12, 27)),
        (date(2019, 12, 20), 5, date(2019, 12, 31)),
        # ... and 1 January 2020 (Wednesday) is off too.
        (date(2019, 12, 20), 6, date(2020, 1, 2)),
        # Starting on a holiday: counting starts the day after.
        (date(2019, 12, 25), 1, date(2019, 12, 27)),
        (date(2019, 12, 25), 0, date(2019, 12, 25)),
    ],
)
def test_add_working_days(start, days, expected):
    assert add_days(start, days, working=True) == expected


@pytest.mark.parametrize(
    "start, days, expected",
    [
        (date(2019, 3, 1), 30, date(2019, 3, 31)),
        (date(2019, 12, 20), 15, date(2020, 1, 4)),  # holidays do not matter for calendar days
        (date(2020, 2, 28), 1, date(2020, 2, 29)),
        (date(2019, 4, 17), 0, date(2019, 4, 17)),
    ],
)
def test_add_calendar_days(start, days, expected):
    assert add_days(start, days, working=False) == expected


# --- latest_on_or_before ------------------------------------------------------------------------------

DATES = [date(2019, 1, 1), date(2020, 7, 1), date(2021, 1, 1)]


@pytest.mark.parametrize(
    "day, expected",
    [
        (date(2018, 12, 31), None),  # before the first effective date: nothing in force
        (date(2019, 1, 1), 0),  # on the date itself
        (date(2020, 6, 30), 0),
        (date(2020, 7, 1), 1),
        (date(2020, 12, 31), 1),
        (date(2021, 1, 1), 2),
        (date(2030, 1, 1), 2),
    ],
)
def test_latest_on_or_before(day, expected):
    assert latest_on_or_before(DATES, day) == expected


def test_latest_on_or_before_empty():
    assert latest_on_or_before([], date(2019, 1, 1)) is None
