"""Hours bands and job starts (issue 11, items 4 and 6), worked by hand on the test agreement
tests/contracts/oracle-bands.yaml (docs/semantics.md § 4 "Hours bands" and § 5 "job_start").

Every history: enrolled Monday 2020-01-06 (ISO week 2020-W02), so week windows start with
2020-W03 (Monday 2020-01-13); extracted 2020-12-31.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pbr_rules.evaluation import evaluate
from pbr_rules.i18n import use_language
from pbr_rules.language.loader import load_contract
from pbr_rules.lawyers import render_contract
from pbr_rules.models.history import ParticipantHistory

ROOT = Path(__file__).resolve().parents[1]
NEW = ("part_time_8_weeks", "full_time_8_weeks", "any_work_4_weeks", "short_hours_4_weeks", "job_start", "paid_job_start")


@pytest.fixture(scope="module")
def bands():
    return load_contract(ROOT / "tests/contracts/oracle-bands.yaml")


def person(*jobs) -> ParticipantHistory:
    return ParticipantHistory.model_validate(
        {
            "participant": "band-1",
            "municipality": "151",
            "birth_date": "1985-04-02",
            "target_group": "cash_benefit",
            "enrolment": "2020-01-06",
            "extracted": "2020-12-31",
            "benefits": [{"weeks": "2019-W01..2020-W02", "code": "kontanthjaelp"}],
            "employment": [
                {"start": a, "end": z, "hours_per_week": hours, "monthly_earnings": pay, "employer": "acme", "kind": "ordinary"}
                for a, z, hours, pay in jobs
            ],
        }
    )


def met(result) -> dict[str, list[date]]:
    return {m.milestone: [o.met_on for o in m.occurrences] for m in result.milestones if m.milestone in NEW}


def test_a_part_time_job_meets_the_part_time_band_and_not_the_full_time_one(bands):
    # 20 hours a week from Monday 2020-01-13 to Friday 2020-03-06: weeks W03..W10 (8 weeks).
    r = evaluate(bands, person(("2020-01-13", "2020-03-06", 20, "12000")))
    assert r.eligibility.eligible
    assert met(r) == {
        "part_time_8_weeks": [date(2020, 3, 8)],  # 8th week W10, its Sunday
        "full_time_8_weeks": [],  # 20 < 30
        "any_work_4_weeks": [date(2020, 2, 9), date(2020, 3, 8)],  # W03..W06, then W07..W10
        "short_hours_4_weeks": [],  # 20 > 10
        "job_start": [date(2020, 1, 13)],
        "paid_job_start": [date(2020, 1, 13)],
    }


def test_unpaid_spells_are_not_paid_work_and_paid_ones_of_no_hours_are(bands):
    # W03..W06: 0 hours and no pay (unpaid); W07..W10: 0 hours but 3,000 a month (paid).
    r = evaluate(bands, person(("2020-01-13", "2020-02-07", 0, "0"), ("2020-02-10", "2020-03-06", 0, "3000")))
    assert met(r) == {
        "part_time_8_weeks": [],
        "full_time_8_weeks": [],
        "any_work_4_weeks": [date(2020, 3, 8)],  # only the paid weeks W07..W10
        "short_hours_4_weeks": [date(2020, 3, 8)],  # 4 of the 6 weeks W05..W10 at most 10 hours, paid
        "job_start": [],  # 0 < 15
        "paid_job_start": [date(2020, 2, 10)],  # the unpaid spell is no job start
    }


def test_a_job_already_running_at_enrolment_is_not_a_job_start(bands):
    # 37 hours from 2019-12-02 to Friday 2020-02-28 (W03..W09 counted: 7 weeks), nothing in
    # W10, 37 hours again from Monday 2020-03-09 (W11) on: 8 weeks in a row end in W18.
    r = evaluate(bands, person(("2019-12-02", "2020-02-28", 37, "30000"), ("2020-03-09", None, 37, "30000")))
    assert met(r)["job_start"] == [date(2020, 3, 9)]
    assert met(r)["paid_job_start"] == [date(2020, 3, 9)]
    assert met(r)["full_time_8_weeks"] == [date(2020, 5, 3)]
    by_id = {p.milestone: p for p in r.payments}
    assert by_id["job_start"].amount == 2500 and by_id["job_start"].reference == "§ B.5"


def test_job_starts_repeat_up_to_max_times(bands):
    jobs = [("2020-02-03", "2020-02-14", 20, "9000"), ("2020-04-06", "2020-04-17", 20, "9000"), ("2020-06-01", None, 20, "9000")]
    assert met(evaluate(bands, person(*jobs)))["job_start"] == [date(2020, 2, 3), date(2020, 4, 6)]  # at most 2


def test_the_rendered_agreement_states_each_band(bands):
    with use_language("en"):
        text = render_contract(bands, "md")
    assert "In work 15 to 29 hours a week for 8 weeks in total, within 104 weeks after the start" in text
    assert "In paid work (any hours) for 4 consecutive weeks" in text
    assert "In paid work at most 10 hours a week in 4 of any 6 consecutive weeks" in text
    assert "A job starts, within 104 weeks after the start (at least 15 hours a week; ordinary jobs and flexjobs count), met on its first day" in text
    assert "A job starts, within 52 weeks after the start (paid, any hours; ordinary jobs only)" in text
