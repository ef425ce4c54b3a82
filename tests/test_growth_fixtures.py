"""The bundled agreements' company growth milestones (§§ 6.6-6.8, Bilag 3, pkt. 6-8) on the
bundled fixture companies, exactly as worked out by hand in each company file's header and in
fixtures/README.md ("Growth milestones"): which are met, on which day, and what they pay,
evaluated alone (hires unverified) and together with the participants (hires count, so the
DKK 200,000 per-company cap cuts some growth payments).

Tariffs: revenue_growth 20,000, employee_growth 20,000, target_group_held 25,000. Due dates:
15 working days (Danish calendar) in København and Aarhus, 30 calendar days in Odense.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from pbr_rules.evaluation.evaluator import evaluate, evaluate_cohort
from pbr_rules.language.loader import load_contract, load_history

ROOT = Path(__file__).resolve().parents[1]
AGREEMENTS = {"101": "101-koebenhavn.yaml", "751": "751-aarhus.yaml", "461": "461-odense.yaml"}
GROWTH = ("employee_growth", "revenue_growth", "target_group_held")

D = date
# company -> growth payments in payment order: (milestone, trigger, due, amount alone, amount with participants)
EXPECTED = {
    "c-101-01": [
        ("revenue_growth", D(2020, 12, 31), D(2021, 1, 22), "20000", "20000"),
        ("target_group_held", D(2020, 12, 31), D(2021, 1, 22), "25000", "5000"),  # cap: 195,000 + 5,000
        ("employee_growth", D(2021, 12, 31), D(2022, 1, 21), "20000", "0"),  # cap reached
    ],
    "c-101-02": [],
    "c-101-03": [],
    "c-751-01": [("target_group_held", D(2020, 12, 31), D(2021, 1, 22), "25000", "25000")],  # exactly to the cap
    "c-751-02": [
        ("employee_growth", D(2021, 12, 31), D(2022, 1, 21), "20000", "20000"),
        ("revenue_growth", D(2021, 12, 31), D(2022, 1, 21), "20000", "20000"),
    ],
    "c-751-03": [],
    "c-461-01": [
        ("employee_growth", D(2020, 12, 31), D(2021, 1, 30), "20000", "20000"),
        ("target_group_held", D(2021, 12, 31), D(2022, 1, 30), "25000", "5000"),  # cap: 195,000 + 5,000
    ],
    "c-461-02": [
        ("revenue_growth", D(2020, 12, 31), D(2021, 1, 30), "20000", "20000"),
        ("target_group_held", D(2021, 12, 31), D(2022, 1, 30), "25000", "25000"),
    ],
    "c-461-03": [],
}
# company -> (total alone, total with participants)
TOTALS = {
    "c-101-01": ("140000", "200000"),
    "c-101-02": ("50000", "120000"),
    "c-101-03": ("0", "0"),
    "c-751-01": ("100000", "200000"),
    "c-751-02": ("90000", "140000"),
    "c-751-03": ("0", "0"),
    "c-461-01": ("120000", "200000"),
    "c-461-02": ("120000", "190000"),
    "c-461-03": ("0", "0"),
}
# why a growth milestone is not met, for the eligible companies that miss one
PROGRESS = {
    ("c-101-02", "revenue_growth"): "revenue +10% over 2018: best 8.33%",
    ("c-101-02", "employee_growth"): "employees_fte +2 over 2018: best 1.5 more",
    ("c-101-02", "target_group_held"): "1 of 2 years in a row with at least 2 target-group employees",
    ("c-751-01", "revenue_growth"): "no revenue figures for the baseline year 2018",
    ("c-751-01", "employee_growth"): "no employees_fte figures for the baseline year 2018",
    ("c-751-02", "target_group_held"): "0 of 2 years in a row with at least 2 target-group employees",
    ("c-461-01", "revenue_growth"): "revenue +10% over 2018: best 9.44%",
    ("c-461-02", "employee_growth"): "employees_fte +2 over 2018: best 1.5 more",
}


def _run(code: str):
    loaded = load_contract(ROOT / "contracts/agreements" / AGREEMENTS[code])
    codes = frozenset(loaded.codes.codes)
    people = [load_history(f, codes) for f in sorted((ROOT / "fixtures/participants" / code).glob("*.yaml"))]
    firms = [load_history(f, codes) for f in sorted((ROOT / "fixtures/companies" / code).glob("*.yaml"))]
    alone = {h.company: evaluate(loaded, h, None) for h in firms}
    together = {r.subject.id: r for r in evaluate_cohort(loaded, people + firms, None, workers=1) if r.subject.kind == "company"}
    return alone, together


@pytest.fixture(scope="module")
def results():
    return {code: _run(code) for code in AGREEMENTS}


def _growth(result):
    return [(p.milestone, p.trigger_date, p.due_date, p.amount) for p in result.payments if p.milestone in GROWTH]


@pytest.mark.parametrize("company", sorted(EXPECTED))
def test_growth_payments_alone_and_with_the_participants(results, company):
    alone, together = results[company[2:5]]
    want = EXPECTED[company]
    assert _growth(alone[company]) == [(m, t, d, Decimal(a)) for m, t, d, a, _ in want]
    assert _growth(together[company]) == [(m, t, d, Decimal(w)) for m, t, d, _, w in want]
    assert (alone[company].total, together[company].total) == tuple(Decimal(t) for t in TOTALS[company])


def test_the_per_company_cap_cuts_growth_and_says_so(results):
    _, together = results["101"]
    held = next(p for p in together["c-101-01"].payments if p.milestone == "target_group_held")
    assert held.tariff.value == Decimal("25000") and held.amount == Decimal("5000")
    assert held.cap is not None and held.cap.reference == "§ 8.2"
    assert [(x.party, x.amount) for x in held.payers] == [("municipality", Decimal("3000")), ("dsk", Decimal("2000"))]
    _, together = results["461"]
    held = next(p for p in together["c-461-01"].payments if p.milestone == "target_group_held")
    assert [(x.party, x.amount) for x in held.payers] == [("municipality", Decimal("3500")), ("dsk", Decimal("1500"))]


@pytest.mark.parametrize(("company", "milestone"), sorted(PROGRESS))
def test_why_a_growth_milestone_is_not_met(results, company, milestone):
    alone, _ = results[company[2:5]]
    (m,) = [m for m in alone[company].milestones if m.milestone == milestone]
    assert not m.met
    assert m.progress == PROGRESS[(company, milestone)]


def test_growth_evidence_names_the_two_years_compared_and_their_source(results):
    alone, _ = results["101"]
    (m,) = [m for m in alone["c-101-01"].milestones if m.milestone == "revenue_growth"]
    assert [e.description for e in m.occurrences[0].evidence] == [
        "revenue 8000000.00 in 2018 (annual report 2018 and eIndkomst 2018 (illustrative))",
        "revenue 8800000.00 in 2020 (annual report 2020 and eIndkomst 2020 (illustrative))",
    ]
