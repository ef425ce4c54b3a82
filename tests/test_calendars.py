"""Working days by jurisdiction (pbr_rules.periods.Calendar, from the ``holidays`` package).

1. The Danish calendar gives exactly the due dates of the hand-written list of helligdage
   pbr-rules used before (kept below as the reference), day by day, for every year dates
   may have.
2. England (GB-ENG) and Finland (FI), with due dates worked out by hand around their holidays.
3. The calendars are computed once per (country, subdivision, year).
4. An unknown country or subdivision in an agreement is refused at its line, with a hint.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import pytest

from pbr_rules.errors import ContractInvalid
from pbr_rules.language.loader import load_contract
from pbr_rules.periods import DANISH, MAX_YEAR, MIN_YEAR, Calendar, _working_days, add_days, easter_sunday

ROOT = Path(__file__).resolve().parents[1]
ENGLAND = Calendar("GB", "ENG")
FINLAND = Calendar("FI")


# --- 1. Denmark: exactly the hand-written helligdage --------------------------------------------


@lru_cache(maxsize=None)
def handwritten_danish_holidays(year: int) -> frozenset[date]:
    """The list pbr-rules kept by hand until the calendars came from ``holidays`` (periods.py before it).

    Store bededag until 2023 (abolished from 2024, lov nr. 54 af 28/02/2023); grundlovsdag,
    juleaftensdag and nytårsaftensdag are customary days off, not public holidays.
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


def handwritten_due(start: date, days: int) -> date:
    current, left = start, days
    while left > 0:
        current += timedelta(days=1)
        if current.weekday() < 5 and current not in handwritten_danish_holidays(current.year):
            left -= 1
    return current


def test_the_danish_calendar_is_the_handwritten_one_day_by_day_in_every_year_dates_may_have():
    day, last = date(MIN_YEAR, 1, 1), date(MAX_YEAR, 12, 31)
    differ = []
    while day <= last:
        expected = day.weekday() < 5 and day not in handwritten_danish_holidays(day.year)
        if DANISH.is_working_day(day) != expected:
            differ.append(day)
        day += timedelta(days=1)
    assert differ == [], f"the DK calendar differs from the hand-written helligdage on {differ[:10]}"
    for year in range(MIN_YEAR, MAX_YEAR + 1):
        assert DANISH.public_holidays(year) == handwritten_danish_holidays(year), year


@pytest.mark.parametrize("lag", [1, 5, 10, 15, 20])
def test_every_danish_due_date_from_2015_to_2040_is_todays(lag):
    day = date(2015, 1, 1)
    while day <= date(2040, 12, 31):
        assert add_days(day, lag, working=True) == handwritten_due(day, lag), (day, lag)
        day += timedelta(days=1)


# --- 2. England and Finland, worked by hand ---------------------------------------------------


@pytest.mark.parametrize(
    "start, days, expected, why",
    [
        # Easter 2024: Good Friday 29 March and Easter Monday 1 April are bank holidays; Maundy
        # Thursday (28 March) is a working day in England, unlike in Denmark.
        (date(2024, 3, 27), 1, date(2024, 3, 28), "Maundy Thursday works"),
        (date(2024, 3, 28), 1, date(2024, 4, 2), "Good Friday and Easter Monday"),
        # Early May bank holiday Mon 6 May 2024; Ascension Day (Thu 9 May) works in England.
        (date(2024, 5, 3), 1, date(2024, 5, 7), "early May bank holiday"),
        (date(2024, 5, 8), 1, date(2024, 5, 9), "Ascension Day works"),
        # Spring bank holiday Mon 27 May 2024; summer bank holiday Mon 26 August 2024.
        (date(2024, 5, 24), 1, date(2024, 5, 28), "spring bank holiday"),
        (date(2024, 8, 23), 1, date(2024, 8, 27), "summer bank holiday"),
        # 2020: the early May bank holiday moved to Friday 8 May (VE Day); Monday 4 May worked.
        (date(2020, 5, 1), 1, date(2020, 5, 4), "4 May 2020 was a working day"),
        (date(2020, 5, 7), 1, date(2020, 5, 11), "VE Day bank holiday, Friday 8 May 2020"),
        # Substitute days: Christmas Day (Sat) and Boxing Day (Sun) 2021 are taken on Mon 27 and
        # Tue 28 December; New Year's Day 2022 (Sat) on Mon 3 January.
        (date(2021, 12, 24), 1, date(2021, 12, 29), "Christmas substitute days 27 and 28 December 2021"),
        (date(2021, 12, 24), 3, date(2021, 12, 31), "then Wed 29, Thu 30, Fri 31"),
        (date(2021, 12, 24), 4, date(2022, 1, 4), "New Year substitute day Mon 3 January 2022"),
        # One-off bank holidays: the Platinum Jubilee (Thu 2 and Fri 3 June 2022), the Queen's
        # state funeral (Mon 19 September 2022), the King's coronation (Mon 8 May 2023).
        (date(2022, 6, 1), 1, date(2022, 6, 6), "Platinum Jubilee bank holidays"),
        (date(2022, 9, 16), 1, date(2022, 9, 20), "state funeral bank holiday"),
        (date(2023, 5, 5), 1, date(2023, 5, 9), "coronation bank holiday"),
        # The claim lag of the test agreement (10 working days) around the early May bank holiday.
        (date(2024, 5, 3), 10, date(2024, 5, 20), "tests/contracts/gb-eng-calendar.scenarios.yaml"),
    ],
)
def test_england_due_dates_worked_by_hand(start, days, expected, why):
    assert add_days(start, days, working=True, calendar=ENGLAND) == expected, why


def test_the_same_lag_in_denmark_and_england_differs_where_their_holidays_do():
    # 10 working days from Friday 3 May 2024: in Denmark 6 May works, but Ascension Day (9 May)
    # and Whit Monday (20 May) do not; in England the reverse.
    assert add_days(date(2024, 5, 3), 10, working=True, calendar=ENGLAND) == date(2024, 5, 20)
    assert add_days(date(2024, 5, 3), 10, working=True, calendar=DANISH) == date(2024, 5, 21)


@pytest.mark.parametrize(
    "start, days, expected, why",
    [
        # Loppiainen (Epiphany) Saturday 6 January 2024 is a weekend anyway; in 2025 it is a Monday.
        (date(2025, 1, 3), 1, date(2025, 1, 7), "Epiphany, Monday 6 January 2025"),
        # Easter 2024: Good Friday 29 March and Easter Monday 1 April; Maundy Thursday works.
        (date(2024, 3, 27), 1, date(2024, 3, 28), "Maundy Thursday works in Finland"),
        (date(2024, 3, 28), 1, date(2024, 4, 2), "Good Friday and Easter Monday"),
        # Vappu (May Day, Wednesday 1 May 2024) and Ascension Day (Thursday 9 May 2024).
        (date(2024, 4, 30), 1, date(2024, 5, 2), "May Day"),
        (date(2024, 5, 8), 1, date(2024, 5, 10), "Ascension Day"),
        # Juhannusaatto (Midsummer Eve), Friday 21 June 2024.
        (date(2024, 6, 20), 1, date(2024, 6, 24), "Midsummer Eve"),
        # Itsenäisyyspäivä (Independence Day), Friday 6 December 2024.
        (date(2024, 12, 5), 1, date(2024, 12, 9), "Independence Day"),
        # Christmas Eve, Christmas Day and St Stephen's Day: Tue 24 to Thu 26 December 2024.
        (date(2024, 12, 23), 1, date(2024, 12, 27), "Christmas Eve, Christmas, St Stephen's Day"),
        (date(2024, 12, 23), 3, date(2024, 12, 31), "then Fri 27, Mon 30, Tue 31"),
        (date(2024, 12, 23), 4, date(2025, 1, 2), "New Year's Day off"),
    ],
)
def test_finland_due_dates_worked_by_hand(start, days, expected, why):
    assert add_days(start, days, working=True, calendar=FINLAND) == expected, why


def test_a_lag_of_zero_working_days_leaves_the_day_as_it_is():
    assert add_days(date(2024, 5, 6), 0, working=True, calendar=ENGLAND) == date(2024, 5, 6)


# --- 3. computed once per (country, subdivision, year) ---------------------------------------------


def test_each_calendar_year_is_computed_once():
    _working_days.cache_clear()
    for _ in range(1000):
        add_days(date(2024, 12, 20), 10, working=True, calendar=ENGLAND)
    info = _working_days.cache_info()
    assert info.misses == 2  # 2024 and 2025 of GB-ENG, once each
    assert info.hits >= 1998


# --- 4. an unknown calendar in an agreement ----------------------------------------------------------


def _agreement(tmp_path: Path, jurisdiction: str) -> Path:
    text = (ROOT / "tests/contracts/gb-eng-calendar.yaml").read_text(encoding="utf-8")
    text = text.replace("jurisdiction: {country: GB, subdivision: ENG}", jurisdiction)
    text = text.replace("../../contracts/data/", str(ROOT / "contracts/data") + "/")
    path = tmp_path / "agreement.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _problems(path: Path) -> list[str]:
    with pytest.raises(ContractInvalid) as info:
        load_contract(path)
    return [str(d).replace(str(path), "agreement.yaml") for d in info.value.diagnostics]


def test_an_unknown_subdivision_is_refused_at_its_line_with_the_supported_ones(tmp_path):
    path = _agreement(tmp_path, "jurisdiction:\n  country: GB\n  subdivision: EN")
    assert _problems(path) == [
        "agreement.yaml:10:16: jurisdiction.subdivision: no working-day calendar for subdivision 'EN' of GB"
        " (did you mean ENG, NIR? subdivisions of GB: ENG, NIR, SCT, WLS)"
    ]


def test_an_unknown_country_is_refused_at_its_line_with_the_nearest_codes(tmp_path):
    path = _agreement(tmp_path, "jurisdiction: {country: UK, subdivision: ENG}")
    assert _problems(path) == [
        "agreement.yaml:8:25: jurisdiction.country: no working-day calendar for country 'UK'"
        " (did you mean GB? a country is its ISO 3166-1 code in capitals, e.g. DK, GB, FI)"
    ]
    path = _agreement(tmp_path, "jurisdiction: {country: DN}")
    assert _problems(path) == [
        "agreement.yaml:8:25: jurisdiction.country: no working-day calendar for country 'DN'"
        " (did you mean one of DE, DJ, DK, DM, DO, DZ? a country is its ISO 3166-1 code in capitals, e.g. DK, GB, FI)"
    ]


def test_a_vocabulary_of_another_jurisdiction_is_refused(tmp_path):
    path = _agreement(tmp_path, "jurisdiction: {country: FI}")
    assert _problems(path) == [
        "agreement.yaml:8:1: jurisdiction: the agreement's jurisdiction is FI, but its benefit codes "
        f"{ROOT}/contracts/data/gb-eng/benefit-codes.yaml and the vocabulary.yaml beside them are for GB-ENG"
        f" (name the benefit-code file of FI in benefit_codes, or write jurisdiction: {{country: GB, subdivision: ENG}})"
    ]
