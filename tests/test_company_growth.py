"""Company growth, the programme's second bottom line (issue 11, item 11), worked by hand on
tests/contracts/oracle-growth.yaml (docs/semantics.md § 5, "company_growth" and
"target_group_employees"). Every company: started the accelerator on 2020-03-01, eligible.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pbr_rules.errors import ContractInvalid
from pbr_rules.evaluation import evaluate
from pbr_rules.language.loader import load_contract
from pbr_rules.models.history import CompanyHistory

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def growth():
    return load_contract(ROOT / "tests/contracts/oracle-growth.yaml")


def company(*figures, extracted="2022-06-30") -> CompanyHistory:
    return CompanyHistory.model_validate(
        {
            "company": "c-996-01",
            "municipality": "155",
            "size_band": "small",
            "partner": True,
            "start": "2020-03-01",
            "extracted": extracted,
            "figures": [
                {"period": p, "revenue": rev, "employees_fte": fte, "target_group_employees": tg, "source": f"annual report {p}"}
                for p, rev, fte, tg in figures
            ],
        }
    )


def met(r, mid):
    (m,) = [m for m in r.milestones if m.milestone == mid]
    return [o.met_on for o in m.occurrences]


YEARS = [("2019", "1000000", 10, 0), ("2020", "1050000", 12, 1), ("2021", "1100000", 14, 2)]


def test_revenue_up_ten_percent_on_the_year_before_the_start(growth):
    r = evaluate(growth, company(*YEARS))
    # 1,100,000 is exactly 110 % of 2019's 1,000,000: met on the last day of 2021; 2020's +5 % is not
    assert met(r, "revenue_up_10") == [date(2021, 12, 31)]
    assert {p.milestone: p.amount for p in r.payments}["revenue_up_10"] == 20000
    (m,) = [m for m in r.milestones if m.milestone == "revenue_up_10"]
    assert [e.description for e in m.occurrences[0].evidence] == [
        "revenue 1000000.00 in 2019 (annual report 2019)",
        "revenue 1100000.00 in 2021 (annual report 2021)",
    ]


def test_two_more_employees_than_in_the_year_of_the_start(growth):
    # baseline 2020 (the year of the start): 12; 2021: 14 = 12 + 2
    assert met(evaluate(growth, company(*YEARS)), "two_more_employees") == [date(2021, 12, 31)]
    fewer = [YEARS[0], YEARS[1], ("2021", "1100000", 13.5, 2)]
    assert met(evaluate(growth, company(*fewer)), "two_more_employees") == []


def test_no_baseline_figures_no_growth(growth):
    r = evaluate(growth, company(*YEARS[1:]))  # no 2019
    assert met(r, "revenue_up_10") == []
    (m,) = [m for m in r.milestones if m.milestone == "revenue_up_10"]
    assert m.progress == "no revenue figures for the baseline year 2019"


def test_target_group_employees_held_in_two_quarters_in_a_row(growth):
    quarters = [("2020-Q2", None, None, 2), ("2020-Q3", None, None, 1), ("2020-Q4", None, None, 2), ("2021-Q1", None, None, 2)]
    # Q2 holds 2, Q3 only 1 (the run breaks), Q4 and 2021-Q1 hold 2: met on 2021-03-31
    assert met(evaluate(growth, company(*quarters)), "target_group_held") == [date(2021, 3, 31)]
    gap = [("2021-Q2", None, None, 2), ("2021-Q4", None, None, 3)]  # 2021-Q3 missing: not in a row
    assert met(evaluate(growth, company(*gap)), "target_group_held") == []
    # years when the history gives no quarters: 2020 (1) fails, 2021 and 2022 would be needed
    assert met(evaluate(growth, company(*YEARS)), "target_group_held") == []


def test_mistakes_in_growth_terms_and_figures_are_reported(tmp_path):
    text = (ROOT / "tests/contracts/oracle-growth.yaml").read_text().replace("extends: ../../contracts/", f"extends: {ROOT}/contracts/")
    path = tmp_path / "bad-growth.yaml"
    path.write_text(text.replace("figure: revenue, increase_percent: 10}", "figure: revenue, increase_percent: 10, increase_by: 5}"))
    with pytest.raises(ContractInvalid) as info:
        load_contract(path)
    (d,) = info.value.diagnostics
    assert (d.line, d.path) == (20, "milestones.revenue_up_10.measure")
    assert "give exactly one of increase_percent (e.g. 10 for +10 %) and increase_by (e.g. 2 for two more employees)" in d.message
    twice = company(("2019", "1", 1, 1), ("2019", "2", 2, 2), extracted="2020-06-30")
    assert ((("figures", 1, "period"), "figures for 2019 are given twice (also figures[0])")) in twice.problems()


def test_a_period_that_is_no_calendar_year_is_refused_not_a_crash():
    # found by the API's schema fuzzing: year 0 has no last day
    with pytest.raises(ValueError, match="period"):
        company(("0000", "1", 1, 1))
