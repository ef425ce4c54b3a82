"""Formula tariffs (issue 11, item 7; docs/semantics.md § 10), worked by hand on
tests/contracts/formula.yaml, and every mistake a contract manager can make in a formula.

The engine-vs-oracle property test (tests/test_engine_vs_oracle.py, oracle-formula.yaml)
checks the formulas over generated histories against an independent implementation.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from pbr_rules.errors import ContractInvalid
from pbr_rules.evaluation import evaluate, participant_savings, rates_for
from pbr_rules.language import FormulaError, load_contract, parse_formula
from pbr_rules.language.formula import COUNT, MONEY, RATE, WEEKS
from pbr_rules.models.history import ParticipantHistory

ROOT = Path(__file__).resolve().parents[1]
FORMULA = ROOT / "tests/contracts/formula.yaml"


def person(**extra) -> ParticipantHistory:
    data = dict(
        kind="participant", participant="p-163-001", municipality="163", birth_date="1984-06-12", target_group="cash_benefit",
        benefit_at_enrolment="kontanthjaelp", resident=True, enrolment="2019-04-03", extracted="2021-12-31",
        course=[{"date": "2019-04-26", "kind": "attendance", "sessions": 4}], events=[],
        benefits=[{"weeks": "2017-W40..2019-W19", "code": "kontanthjaelp"}, {"weeks": "2019-W26", "code": "kontanthjaelp"}],
        employment=[
            {"start": "2019-05-08", "end": "2019-06-21", "hours_per_week": 20, "monthly_earnings": "11800", "employer": "Netto (illustrative)"},
            {"start": "2019-07-01", "hours_per_week": 20, "monthly_earnings": "12100", "employer": "c-101-01", "partner_company": True},
        ],
        exits=[],
    )
    data.update(extra)
    return ParticipantHistory.model_validate(data)


def payments(result, mid):
    return [p for p in result.payments if p.milestone == mid]


@pytest.fixture(scope="module")
def formula():
    return load_contract(FORMULA)


def test_earnings_and_goals_worked_by_hand(formula):
    r = evaluate(formula, person(), date(2021, 12, 31))
    first, second = payments(r, "savings_measured")
    # The 6- and 12-month points after 2019-04-03 (same day of the month).
    assert (first.trigger_date, second.trigger_date) == (date(2019, 10, 3), date(2020, 4, 3))
    assert (first.formula.period_from, first.formula.period_to) == (date(2019, 4, 3), date(2019, 10, 3))
    assert (second.formula.period_from, second.formula.period_to) == (date(2019, 10, 4), date(2020, 4, 3))
    # Earnings 2019-04-03..2019-10-03, each month's earnings spread over its days:
    # May 8-31: 24 x 11,800/31 = 9,135.4839; June 1-21: 21 x 11,800/30 = 8,260;
    # July-September: 3 x 12,100 = 36,300; October 1-3: 3 x 12,100/31 = 1,170.9677.
    assert first.formula.values["earnings"] == "54866.45"
    # 2019-10-04..2020-04-03: Oct 4-31 28 x 12,100/31 = 10,929.0323; Nov-Mar 5 x 12,100 = 60,500;
    # April 1-3: 3 x 12,100/30 = 1,210.
    assert second.formula.values["earnings"] == "72639.03"
    # share x (savings + tax_rate x earnings), from the values the payment shows
    for p in (first, second):
        v = {k: Decimal(x) for k, x in p.formula.values.items()}
        expected = (v["share"] * (v["savings"] + v["tax_rate"] * v["earnings"])).quantize(Decimal("0.01"))
        assert p.amount == expected == p.formula.result
        assert p.formula.bound is None
    assert first.amount == Decimal("26892.49")  # 0.5 x (40,068.37 + 0.25 x 54,866.45) = 26,892.49125
    # Goals: job_13_weeks met 2019-08-18 (period 1) at DKK 2,000; earnings_60k met 2019-10-17
    # (period 2) at DKK 2,500, the price from 2020-01-01 read on the trigger date 2020-04-03.
    g1, g2 = payments(r, "goals_counted")
    assert (g1.formula.values, g1.amount) == ({"goals_met": "1", "price": "2000"}, Decimal("2000.00"))
    assert (g2.formula.values, g2.amount) == ({"goals_met": "1", "price": "2500"}, Decimal("2500.00"))
    assert g2.tariff.effective == date(2020, 1, 1)
    assert g2.tariff.reference == "Bilag 2, pkt. 11"


def test_period_savings_add_up_to_the_business_case_savings(formula):
    # The two periods together are every savings week whose Sunday is on or before the
    # 12-month point: the business case's own savings as of that day (a separate code path:
    # the whole range at once) must equal their sum, up to one øre of rounding per period.
    h = person()
    r = evaluate(formula, h, date(2021, 12, 31))
    periods = sum(Decimal(p.formula.values["savings"]) for p in payments(r, "savings_measured"))
    whole = participant_savings(formula, rates_for(formula), h, date(2020, 4, 3)).saving
    assert abs(periods - whole) <= Decimal("0.02")
    assert whole > 0


def _variant(tmp_path, old: str, new: str, name="variant.yaml"):
    text = FORMULA.read_text(encoding="utf-8").replace("extends: ../../contracts/", f"extends: {ROOT}/contracts/")
    assert old in text, old
    path = tmp_path / name
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_the_cap_and_zero_bounds(tmp_path):
    capped = load_contract(_variant(tmp_path, 'value: "0.5", reference: "Bilag 2, pkt. 10, stk. 1"', 'value: "0.9", reference: "Bilag 2, pkt. 10, stk. 1"'))
    r = evaluate(capped, person(), date(2021, 12, 31))
    p = payments(r, "savings_measured")[1]
    # 0.9 x (55,144.80 + 0.25 x 72,639.03) = 65,974.10 > the cap of 40,000
    assert p.formula.result == Decimal("65974.10") and p.amount == Decimal("40000.00") and p.formula.bound == "cap"
    # Savings turned negative (on benefit every week, a higher rate than the baseline's):
    # a formula below 0 pays nothing, and says so.
    negative = load_contract(_variant(tmp_path, 'expression: "share * (savings + tax_rate * earnings)"', 'expression: "share * (tax_rate * earnings - 10 * savings)"', "neg.yaml"))
    p = payments(evaluate(negative, person(), date(2021, 12, 31)), "savings_measured")[0]
    assert p.amount == Decimal("0.00") and p.formula.bound == "zero" and p.formula.result < 0


def test_expression_language_units_and_precedence():
    names = {"share": RATE, "savings": MONEY, "weeks": WEEKS, "goals_met": COUNT, "price": (1, 0, -1)}
    f = parse_formula("price * goals_met + 2 * savings * share - 10% * savings", names, {"share": True, "price": True})
    v = {"price": Decimal("1500"), "goals_met": Decimal(2), "savings": Decimal("1000"), "share": Decimal("0.5")}
    assert f.unit == MONEY and f.evaluate(v) == Decimal("3000") + Decimal("1000") - Decimal("100")
    assert parse_formula("-(savings - 3 * savings)", names, {}).evaluate(v) == Decimal("2000")
    assert parse_formula("max(savings, 0)", names, {}).evaluate({"savings": Decimal("-5")}) == 0
    cases = {
        "share * savngs": (9, "unknown name 'savngs'", "did you mean 'savings'?"),
        "savings + weeks": (9, "cannot add weeks to money", None),
        "savings / goals_met": (11, "a formula may divide only by a number or a parameter", None),
        "savings / (2 - 2)": (11, "division by zero", None),
        "share * (savings": (17, "expected ')'", None),
        "savings ** 2": (10, "expected a number, a name or '('", None),
        "__import__('os')": (12, "unexpected character", None),  # quotes are no part of the language
        "__import__(1)": (1, "unknown function '__import__'", None),
        "savings; 1": (8, "unexpected character ';'", None),
        "min(savings)": (1, "min(...) needs two or more values", None),
    }
    for text, (col, message, hint) in cases.items():
        with pytest.raises(FormulaError) as info:
            parse_formula(text, names, {"share": True}, lambda n, known: "savings" if n == "savngs" else None)
        assert info.value.column == col, text
        assert info.value.message.startswith(message), (text, info.value.message)
        if hint:
            assert info.value.hint.startswith(hint)


def problems(tmp_path, old, new) -> list[str]:
    with pytest.raises(ContractInvalid) as info:
        load_contract(_variant(tmp_path, old, new))
    return [str(d) for d in info.value.diagnostics]


EXPR = 'expression: "share * (savings + tax_rate * earnings)"'


@pytest.mark.parametrize(
    "old, new, expected",
    [
        (EXPR, 'expression: "share * (savngs + tax_rate * earnings)"', "unknown name 'savngs', at column 10 of the formula"),
        (EXPR, 'expression: "share * (savings + tax_rate * weeks)"', "cannot add weeks to money, at column 18"),
        (EXPR, 'expression: "share * goals_met"', "the formula counts goals_met, but no goals are listed"),
        (EXPR, 'expression: "share * tax_rate * weeks"', "the formula gives weeks, but a payment is money"),
        (EXPR, 'expression: "share * savings"', "parameter 'tax_rate' is declared but the formula does not use it"),
        ("goals: [course_completed, job_13_weeks, earnings_60k]", "goals: [course_completed, job_13_week]", "unknown milestone 'job_13_week'"),
        ('value: "2500", reference: "Tillæg 1, § 4"', 'value: "2500.125", reference: "Tillæg 1, § 4"', "2500.125 has more than two decimals, but 'price' is money"),
        ('cap: {"2019-01-01": {value: "40000"', 'floor: {"2019-01-01": {value: "50000", reference: "x"}}\n      cap: {"2019-01-01": {value: "40000"', "the floor 50000.00 is above the cap 40000.00"),
    ],
)
def test_mistakes_are_reported_with_their_line_and_a_hint(tmp_path, old, new, expected):
    found = problems(tmp_path, old, new)
    assert any(expected in line for line in found), found
    assert all(":" in line.split(" ")[0] for line in found)  # file:line:col first


def test_a_formula_and_amounts_together_are_refused(tmp_path):
    found = problems(
        tmp_path,
        '  goals_counted:\n    reference: "Bilag 2, pkt. 11"\n    formula:',
        '  goals_counted:\n    reference: "Bilag 2, pkt. 11"\n    amounts: {all: {"2019-01-01": {value: "1", reference: "x"}}}\n    formula:',
    )
    assert any("either amounts or a formula, not both" in line for line in found), found


def test_a_comparison_group_must_be_named_and_match_its_agreed_hash(tmp_path):
    found = problems(tmp_path, "caps:\n", "business_case:\n  counterfactual: {method: comparison_group, reference: \"§ 10.1\"}\ncaps:\n")
    assert any("does not name its histories" in line and "add cohort:" in line for line in found), found
    cohort = tmp_path / "comparison.jsonl"
    cohort.write_text(person(participant="p-163-900").model_dump_json() + "\n", encoding="utf-8")
    path = _variant(
        tmp_path, "caps:\n",
        "business_case:\n  counterfactual: {method: comparison_group, reference: \"§ 10.1\", cohort: comparison.jsonl, sha256: '" + "0" * 64 + "'}\ncaps:\n",
    )
    lc = load_contract(path)
    with pytest.raises(ContractInvalid) as info:
        evaluate(lc, person(), date(2021, 12, 31))
    assert "is not the one agreed: its sha256 is" in str(info.value.diagnostics[0])


def test_a_comparison_group_changed_after_it_was_checked_is_refused_at_the_next_evaluation(tmp_path):
    # the file's hash is remembered by its modification time and size, not checked once for good
    import hashlib
    import json

    def line(pid: str) -> str:
        data = person(participant=pid).model_dump(mode="json")
        for job in data["employment"]:
            job["hours_per_week"] = float(job["hours_per_week"])  # a JSON number, as histories write it
        return json.dumps(data) + "\n"

    cohort = tmp_path / "comparison.jsonl"
    cohort.write_text(line("p-163-900"), encoding="utf-8")
    agreed = hashlib.sha256(cohort.read_bytes()).hexdigest()
    path = _variant(
        tmp_path, "caps:\n",
        "business_case:\n  counterfactual: {method: comparison_group, reference: \"§ 10.1\", cohort: comparison.jsonl, sha256: '" + agreed + "'}\ncaps:\n",
    )
    lc = load_contract(path)
    evaluate(lc, person(), date(2021, 12, 31))  # the agreed file: accepted
    cohort.write_text(line("p-163-900") + line("p-163-901"), encoding="utf-8")
    with pytest.raises(ContractInvalid) as info:
        evaluate(lc, person(), date(2021, 12, 31))
    assert "is not the one agreed: its sha256 is" in str(info.value.diagnostics[0])


def test_a_name_read_twice_is_still_known_as_a_divisor():
    # 'weeks' is read once before it divides: the divisor check must still see it (it once
    # looked only at names not read before, and then worked the divisor out as a number).
    f = parse_formula("earnings / share * weeks / weeks", {"earnings": MONEY, "share": RATE, "weeks": WEEKS}, {"share": True, "weeks": True})
    assert f.divisors == frozenset({"share", "weeks"})
    assert f.evaluate({"earnings": Decimal("100"), "share": Decimal("0.5"), "weeks": Decimal("4")}) == Decimal("200")
