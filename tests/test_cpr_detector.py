"""The one CPR detector (pbr_rules.personal_data): what it finds, what it leaves alone, and the log filter."""

from __future__ import annotations

import logging
from datetime import date

import pytest

from pbr_rules.errors import HistoryInvalid
from pbr_rules.language import Source, history_from_data
from pbr_rules.personal_data import CPR_MASK, CprLogFilter, find_cpr, mask_cpr

# Worked by hand: 010190-0002: 0*4+1*3+0*2+1*7+9*6+0*5+0*4+0*3+0*2+2*1 = 66 = 6*11 -> passes modulus 11.
# 010190-1234: 3+7+54+4+6+6+4 = 84 = 7*11+7 -> fails modulus 11 (as a number issued since 2007 may); refused all the same.
CPR_LIKE = [
    ("010190-1234", date(1990, 1, 1), False),
    ("0101901234", date(1990, 1, 1), False),
    ("010190_1234", date(1990, 1, 1), False),
    ("010190 1234", date(1990, 1, 1), False),
    ("010190.1234", date(1990, 1, 1), False),
    ("p-010190-1234", date(1990, 1, 1), False),
    ("x0101901234y", date(1990, 1, 1), False),
    ("010190-0002", date(1990, 1, 1), True),
    ("290200-4234", date(2000, 2, 29), False),  # seventh digit 4, YY 00 <= 36: 2000, a leap year
    ("311257-5000", date(2057, 12, 31), False),  # 5-8 with YY <= 57: the 2000s
    ("311258-5000", date(1858, 12, 31), True),  # 5-8 with YY > 57: the 1800s; 12+3+2+14+30+40+20 = 121 = 11*11
    ("０１０１９０１２３４", date(1990, 1, 1), False),  # fullwidth digits are digits
]

HARMLESS = [
    "1000000000",  # month 00
    "1234567890",  # month 34
    "290200-1234",  # 29 February 1900: not a date (seventh digit 1: the 1900s)
    "320190-1234",  # day 32
    "20190101-1234",  # an 8-digit run then 4
    "12345678901",  # 11 digits
    "010190-12345",  # the four are five
    "2018-W01..2019-W19",
    "2019-05-08",
    "the history has 2,000 records; the limit is 1,000,000",
    "12000.00",
    "+45 12 34 56 78",
    "010190--1234",  # two separators
]


@pytest.mark.parametrize("text, born, mod11", CPR_LIKE)
def test_cpr_numbers_are_found_with_their_birth_date_and_the_modulus_11_result(text, born, mod11):
    (found,) = find_cpr(text)
    assert (found.birth_date, found.mod11) == (born, mod11)
    masked = mask_cpr(text)
    assert CPR_MASK in masked and "1234" not in masked.replace(CPR_MASK, "")


@pytest.mark.parametrize("text", HARMLESS)
def test_harmless_numbers_are_neither_found_nor_masked(text):
    assert find_cpr(text) == []
    assert mask_cpr(text) == text


def test_mask_keeps_the_text_around_each_number():
    assert mask_cpr("a 010190-1234 b 0101900002 c 1234567890") == f"a {CPR_MASK} b {CPR_MASK} c 1234567890"


def test_the_log_filter_masks_message_arguments_and_tracebacks():
    logger = logging.getLogger("pbr_rules.test.cpr")
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Keep()
    logger.addHandler(handler)
    logger.addFilter(CprLogFilter())
    try:
        logger.warning("id=%s limit=%d", "p-010190-1234", 1000000000)
        try:
            raise ValueError("bad 0101901234")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    text = "\n".join(r.getMessage() + (r.exc_text or "") for r in records)
    assert f"id=p-{CPR_MASK} limit=1000000000" in text
    assert "0101901234" not in text and "010190-1234" not in text and "bad " + CPR_MASK in text


PARTICIPANT = {
    "participant": "p-1", "municipality": "101", "birth_date": "1985-03-01", "target_group": "cash_benefit",
    "enrolment": "2019-04-03", "extracted": "2020-06-30",
}


@pytest.mark.parametrize(
    "change, path",
    [
        ({"participant": "p-010190-1234"}, "participant"),
        ({"employment": [{"start": "2019-05-08", "hours_per_week": 20, "monthly_earnings": "100", "employer": "010190_1234"}]}, "employment[0].employer"),
        ({"events": [{"date": "2019-06-01", "kind": "qualification", "name": "cert 0101901234"}]}, "events[0].name"),
        ({"events": [{"date": "2019-06-01", "kind": "qualification", "evidence": "doc/010190-0002.pdf"}]}, "events[0].evidence"),
    ],
)
def test_histories_loaded_by_the_cli_refuse_cpr_numbers_in_ids_and_free_text(change, path):
    data = {**PARTICIPANT, **change}
    with pytest.raises(HistoryInvalid) as err:
        history_from_data(data, Source(file="h.yaml", data=data), None)
    (d,) = err.value.diagnostics
    assert d.path == path and "CPR" in d.message
    assert "1234" not in str(err.value) and "0002" not in str(err.value)


def test_company_ids_refuse_cpr_numbers():
    data = {"kind": "company", "company": "c-010190-1234", "municipality": "101", "size_band": "small", "partner": True,
            "start": "2019-03-01", "extracted": "2020-06-30"}
    with pytest.raises(HistoryInvalid) as err:
        history_from_data(data, Source(file="c.yaml", data=data), None)
    assert [d.path for d in err.value.diagnostics] == ["company"]
