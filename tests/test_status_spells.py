"""General status spells (issue 11, item 3), worked by hand on tests/contracts/oracle-status.yaml
(docs/semantics.md § 4 "Status weeks" and § 5 "status_months", "status_at"). Every history:
enrolled Monday 2020-01-06 (week windows start with 2020-W03, Monday 2020-01-13), eligible.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pbr_rules.errors import ContractInvalid
from pbr_rules.evaluation import evaluate
from pbr_rules.language.loader import load_contract
from pbr_rules.models.history import ParticipantHistory
from pbr_rules.periods import add_months

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def status():
    return load_contract(ROOT / "tests/contracts/oracle-status.yaml")


def person(*spells, extracted="2022-03-31") -> ParticipantHistory:
    return ParticipantHistory.model_validate(
        {
            "participant": "status-1",
            "municipality": "157",
            "birth_date": "1990-02-02",
            "target_group": "cash_benefit",
            "enrolment": "2020-01-06",
            "extracted": extracted,
            "benefits": [{"weeks": "2019-W01..2020-W02", "code": "kontanthjaelp"}],
            "statuses": [{"kind": k, "start": a, **({"end": z} if z else {})} for k, a, z in spells],
        }
    )


def met(r, mid):
    (m,) = [m for m in r.milestones if m.milestone == mid]
    return [o.met_on for o in m.occurrences]


def test_calendar_months_same_day_rule():
    assert add_months(date(2020, 1, 6), 6) == date(2020, 7, 6)
    assert add_months(date(2020, 1, 31), 1) == date(2020, 2, 29)  # no 31 February: the month's last day
    assert add_months(date(2019, 1, 31), 1) == date(2019, 2, 28)
    assert add_months(date(2020, 8, 31), 6) == date(2021, 2, 28)
    assert add_months(date(2020, 11, 15), 14) == date(2022, 1, 15)


def test_education_weeks_and_calendar_months(status):
    # In education Monday 2020-01-13 .. Friday 2020-04-03 (W03..W14, 12 weeks), and 2020-09-01 .. 2021-01-31.
    r = evaluate(status, person(("education", "2020-01-13", "2020-04-03"), ("education", "2020-09-01", "2021-01-31")))
    assert met(r, "education_12_weeks") == [date(2020, 4, 5)]  # the 12th week W14, its Sunday
    # whole calendar months: February, March (January and April are partial); September .. December is
    # the 6th in total: met on 2020-12-31
    assert met(r, "education_6_months") == [date(2020, 12, 31)]


def test_a_tenancy_kept_for_three_months_in_a_row_twice(status):
    # from Friday 2020-01-31 (January is not whole): February, March, April; then May, June, July
    r = evaluate(status, person(("tenancy", "2020-01-31", None)))
    assert met(r, "tenancy_kept_3_months") == [date(2020, 4, 30), date(2020, 7, 31)]


def test_in_a_tenancy_at_the_measurement_points(status):
    # points 6, 12, 18, 24 months after 2020-01-06: 2020-07-06, 2021-01-06, 2021-07-06, 2022-01-06 (±14 days)
    spells = [
        ("tenancy", "2020-03-01", "2020-06-30"),  # ends 6 days before the 6-month point: within the tolerance
        ("tenancy", "2020-12-28", "2021-03-31"),  # covers the 12-month point itself
        ("tenancy", "2021-07-25", None),  # starts 19 days after the 18-month point: too late; covers the 24-month point
    ]
    r = evaluate(status, person(*spells))
    assert met(r, "tenancy_at_points") == [date(2020, 6, 30), date(2021, 1, 6), date(2022, 1, 6)]
    assert [p.amount for p in r.payments if p.milestone == "tenancy_at_points"] == [1500, 1500, 1500]
    # as of 2022-01-10 the 24-month point's tolerance (to 2022-01-20) has not passed: not measured yet
    r = evaluate(status, person(*spells, extracted="2022-01-10"))
    assert met(r, "tenancy_at_points") == [date(2020, 6, 30), date(2021, 1, 6)]


def test_an_undeclared_status_is_reported_with_the_declared_ones(tmp_path):
    text = (ROOT / "tests/contracts/oracle-status.yaml").read_text().replace("extends: ../../contracts/", f"extends: {ROOT}/contracts/")
    path = tmp_path / "bad-status.yaml"
    path.write_text(text.replace("{kind: status_months, status: tenancy, months: 3", "{kind: status_months, status: tenacy, months: 3"))
    with pytest.raises(ContractInvalid) as info:
        load_contract(path)
    (d,) = info.value.diagnostics
    assert (d.line, d.col) == (33, 44) and d.path == "milestones.tenancy_kept_3_months.measure.status"
    assert d.message == "status kind 'tenacy' is not declared in status_kinds"
    assert d.hint == "did you mean 'tenancy'?"


def test_impossible_status_spells_are_refused():
    h = person(("education", "2020-03-01", "2020-02-01"))
    assert (("statuses", 0, "end"), "the education spell ends (2020-02-01) before it starts (2020-03-01)") in h.problems()
