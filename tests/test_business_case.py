"""The municipal business case with hand-worked numbers (tests/business/bc-small.yaml).

The test agreement extends the programme template: citizen_start 5,000 and job_13_weeks
30,000, payers municipality 0.6 / dsk 0.4, claim lag 15 working days; course costs:
citizen course 20,000 per participant at enrolment and set-up 10,000 on 2019-03-01, both
paid by the municipality at once; flat test rates: every benefit DKK 1,000 a week;
counterfactual: the participant's own baseline; long-term on benefit (80 % municipal).

One participant on kontanthjælp in all 52 weeks before enrolment (p = 1) enrols Mon
2019-04-01 (W14) and works 20 h/week from Mon 2019-04-08 (W15); benefits stop after
W14; the history is extracted Sun 2019-07-07 (W27).

Savings: weeks W15..W27 (13 complete weeks), each 1 × 1,000 × 0.8 = 800 avoided: 10,400;
by month of each week's Thursday: April W15-17 (Thu 11, 18, 25) 2,400; May W18-22
(Thu 2, 9, 16, 23, 30) 4,000; June W23-26 3,200; July W27 (Thu 4) 800.
Payments: citizen_start 5,000 due 2019-04-25 (municipality 3,000); job_13_weeks met Sun
2019-07-07 (13 of 16 from W15) 30,000 due 2019-07-26 (municipality 18,000).
Municipality: 10,400 - 21,000 - 30,000 = -40,600; course costs 30,000; savings cover
10,400 / 30,000 = 34.7 %; no break-even.
Months (costs, municipal payments, savings -> cumulative net):
  2019-03: 10,000, 0, 0 -> -10,000;   2019-04: 20,000, 3,000, 2,400 -> -30,600;
  2019-05: 0, 0, 4,000 -> -26,600;     2019-06: 0, 0, 3,200 -> -23,400;
  2019-07: 0, 18,000, 800 -> -40,600.
Verdict: the municipality paid 21,000 + 30,000 = 51,000 and saved 10,400: NO, 40,600 short.
Projection (the template's: 5 years from enrolment, persistence by outcome, last 13 weeks):
p-1 met job_13_weeks (persistence 0.6 a year); the last 13 weeks counted W15..W27 each
saved 800; projected weeks W28 .. W14+260: 247 weeks, week j saving 800 × 0.6^(j/52),
summed one by one in floats: 73,877.59; net with it -40,600 + 73,877.59 = 33,277.59: YES.
Investor (finances citizen and company costs; repaid from the municipality's payments;
return cap 0.3): invests 10,000 (Mar 1) + 20,000 (Apr 1) = 30,000; receives 3,000 (Apr 25)
+ 18,000 (Jul 26) = 21,000, all principal; capital at risk 30,000; multiple 0.7000.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest

from pbr_rules.finance.cases import business_case, municipality_case
from pbr_rules.language.loader import load_contract
from pbr_rules.models.history import ParticipantHistory
from pbr_rules.reports.text import to_json

HERE = Path(__file__).resolve().parent / "business"


@pytest.fixture(scope="module")
def contract():
    return load_contract(HERE / "bc-small.yaml")


PERSON = ParticipantHistory.model_validate(
    {
        "participant": "p-1",
        "municipality": "741",
        "birth_date": "1985-01-01",
        "target_group": "cash_benefit",
        "enrolment": "2019-04-01",
        "extracted": "2019-07-07",
        "benefits": [{"weeks": "2018-W14..2019-W14", "code": "kontanthjaelp"}],
        "employment": [{"start": "2019-04-08", "hours_per_week": 20, "monthly_earnings": "10000", "employer": "acme"}],
    }
)


def test_the_business_case_as_worked_by_hand(contract):
    case, _ = municipality_case(contract, [PERSON], date(2019, 7, 31), D("0"))
    assert (case.participants, case.companies) == (1, 0)
    assert (case.course_costs_citizen, case.course_costs_company, case.course_costs_total) == (D(30000), D(0), D(30000))
    assert case.savings == D("10400.00")
    assert case.municipal_outcome_payments == D("21000.00")
    assert case.net_result == D("-40600.00")
    assert case.npv == D("-40600.00")  # at 0 %: the plain sum
    assert case.break_even_month is None
    assert (case.savings_cover_course_costs, case.finances_the_courses) == ("34.7 %", False)
    assert [(m.month, m.course_costs, m.outcome_payments, m.savings, m.cumulative_net) for m in case.months] == [
        ("2019-03", D(10000), D(0), D(0), D(-10000)),
        ("2019-04", D(20000), D(3000), D(2400), D(-30600)),
        ("2019-05", D(0), D(0), D(4000), D(-26600)),
        ("2019-06", D(0), D(0), D(3200), D(-23400)),
        ("2019-07", D(0), D(18000), D(800), D(-40600)),
    ]
    # The verdict is worded from the numbers (it used to say "CANNOT (yet) finance" from the
    # savings against all course costs, and could say "CAN" beside a negative net).
    assert case.answer == (
        "Testrup: NO, not to 2019-07-31: savings of DKK 10,400.00 are DKK 40,600.00 short of the DKK 51,000.00"
        " the municipality's outcome payments and own course costs came to."
        " Projected to 5 years after enrolment: DKK 73,877.59 more savings, net DKK 33,277.59:"
        " YES, the savings are expected to finance the courses."
    )
    by_hand = sum(800 * 0.6 ** (j / 52) for j in range(1, 248))
    assert abs(float(case.projected_savings) - by_hand) < 0.005
    assert case.projected_net_result == case.net_result + case.projected_savings == D("33277.59")


def test_npv_discounts_each_flow_by_its_actual_days(contract):
    case, _ = municipality_case(contract, [PERSON], date(2019, 7, 31), D("0.04"))
    # Independent recomputation in floats: flows dated as the report dates them (costs on
    # their day, payments on their due date, savings on the last day of their month).
    start = date(2019, 1, 1)  # the term start
    flows = [
        (date(2019, 3, 1), -10000), (date(2019, 4, 1), -20000), (date(2019, 4, 25), -3000), (date(2019, 7, 26), -18000),
        (date(2019, 4, 30), 2400), (date(2019, 5, 31), 4000), (date(2019, 6, 30), 3200), (date(2019, 7, 31), 800),
    ]
    expected = sum(a / 1.04 ** ((d - start).days / 365) for d, a in flows)
    assert abs(float(case.npv) - expected) < 0.01


def test_the_investor_view(contract):
    case, _ = municipality_case(contract, [PERSON], date(2019, 7, 31), D("0.04"))
    inv = case.investor
    assert (inv.invested, inv.principal_repaid, inv.return_paid, inv.retained_by_payers) == (D(30000), D(21000), D(0), D(0))
    assert inv.capital_at_risk == D(30000) and inv.money_multiple == "0.7000"
    assert inv.irr is not None and D(inv.irr) < 0  # repaid less than invested


def test_histories_of_other_municipalities_are_left_out_and_said(contract):
    stranger = PERSON.model_copy(update={"participant": "p-2", "municipality": "101"})
    report = business_case([contract], [PERSON, stranger], date(2019, 7, 31), D("0.04"))
    assert report.left_out == ["participant p-2 (municipality 101)"]
    assert [m.savings for m in report.municipalities] == [D("10400.00")]


def test_same_inputs_same_bytes(contract):
    a = business_case([contract], [PERSON], date(2019, 7, 31), D("0.04"))
    b = business_case([contract], [PERSON], date(2019, 7, 31), D("0.04"))
    assert to_json(a) == to_json(b)


# --- verdicts: worded from the numbers, never "yes" beside a negative net -------------------------


@pytest.mark.parametrize(
    "savings, costs, paid, projected, expected",
    [
        # savings above the courses' whole cost but below what the municipality paid: NO (this
        # used to read "the savings CAN finance the courses" beside a negative net result)
        ("696000", "630000", "778800", None,
         "X: NO, not to 2022-09-30: savings of DKK 696,000.00 are DKK 82,800.00 short of the DKK 778,800.00"
         " the municipality's outcome payments and own course costs came to."),
        ("800000", "630000", "778800", None,
         "X: YES, the savings finance the courses: savings of DKK 800,000.00 to 2022-09-30 exceed the DKK 778,800.00"
         " the municipality's outcome payments and own course costs came to, by DKK 21,200.00; break-even 2022-01."),
        # exactly even: the savings pay for it
        ("778800", "630000", "778800", None,
         "X: YES, the savings finance the courses: savings of DKK 778,800.00 to 2022-09-30 exceed the DKK 778,800.00"
         " the municipality's outcome payments and own course costs came to, by DKK 0.00; break-even 2022-01."),
        ("100", "630000", "778800", "700000",
         "X: NO, not to 2022-09-30: savings of DKK 100.00 are DKK 778,700.00 short of the DKK 778,800.00"
         " the municipality's outcome payments and own course costs came to. Projected to 5 years after enrolment:"
         " DKK 700,000.00 more savings, net DKK -78,700.00: NO, the savings are not expected to finance the courses."),
    ],
)
def test_the_verdict_follows_the_sign_of_the_net(savings, costs, paid, projected, expected):
    from pbr_rules.finance.cases import _answer

    cover, finances, text = _answer(
        "X", "the municipality's", date(2022, 9, 30), D(savings), D(costs), D(paid), "2022-01" if D(savings) >= D(paid) else None,
        D(projected) if projected else None, 5 if projected else None, currency="DKK",
    )
    assert text == expected
    assert finances == (D(savings) >= D(paid))


def test_every_verdict_of_the_bundled_programme_agrees_with_its_numbers():
    from pbr_rules.language import load_cohorts

    root = HERE.parent.parent
    contracts = [load_contract(root / "contracts" / "agreements" / f) for f in ("101-koebenhavn.yaml", "461-odense.yaml", "751-aarhus.yaml")]
    histories = load_cohorts([str(root / "fixtures" / "participants"), str(root / "fixtures" / "companies")])
    report = business_case(contracts, histories, date(2022, 9, 30), D("0.04"))
    cases = report.municipalities + [report.programme]
    assert len(cases) == 4 and report.answer.splitlines() == [c.answer for c in cases]
    for c in cases:
        realised, _, ahead = c.answer.partition(" Projected")
        assert (": YES," in realised) == (c.net_result >= 0) and (": NO," in realised) == (c.net_result < 0)
        assert c.finances_the_courses == (c.net_result >= 0)
        assert c.projected_net_result == c.net_result + c.projected_savings
        assert ("YES" in ahead) == (c.projected_net_result >= 0)
        assert f"net DKK {c.projected_net_result:,.2f}:" in ahead
    assert report.programme.projected_savings == sum(c.projected_savings for c in report.municipalities)
