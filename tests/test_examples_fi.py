"""The Finnish savings-share example (contracts/examples/fi-091-koto-sib.yaml), worked out
without the service's savings or formula code.

The cohorts come from fixtures/cohorts/generate_fi_koto.py: everyone enrols on Monday
2019-01-07 (2019-W02) and each history follows one of ten patterns (in work from a given
week after enrolment, or never). So the comparison group's average cost in week r after
enrolment is the week's rate times the share of its ten patterns still on benefit, and
its average earnings are the average of its ten patterns' earnings; both are worked out
here from Kela's weekly amounts and the calendar alone.
"""

from __future__ import annotations

import calendar
import json
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from pbr_rules.evaluation import evaluate, evaluate_cohort, total_of
from pbr_rules.language import load_cohort, load_contract
from pbr_rules.models.history import ParticipantHistory
from pbr_rules.settlement import settle_results

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = ROOT / "contracts/examples/fi-091-koto-sib.yaml"
COHORT = ROOT / "fixtures/cohorts/fi-koto-sib-200.jsonl"
ENROLMENT = date(2019, 1, 7)
WEEKLY = {2019: Fraction("162.00"), 2020: Fraction("168.30"), 2021: Fraction("168.90"), 2022: Fraction("172.50")}  # 5 x Kela's daily amount
COMPARISON = [13, 26, 39, 52, 78, 104, 130, None, None, None]
PROGRAMME = [8, 13, 20, 26, 39, 52, 78, 104, None, None]
POINTS = [date(2020, 1, 7), date(2021, 1, 7), date(2022, 1, 7)]


def cents(x: Fraction) -> Decimal:
    return (Decimal(x.numerator) / Decimal(x.denominator)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def sunday(r: int) -> date:
    return ENROLMENT + timedelta(days=6 + 7 * r)  # week r after the enrolment week (r = 1: 2019-W03)


def rate(r: int) -> Fraction:
    return WEEKLY[(sunday(r) - timedelta(days=3)).year]  # the year of the week's Thursday


def on_benefit(work_from, r: int) -> bool:
    return work_from is None or r < work_from


def earnings(work_from, monthly: int, first: date, last: date) -> Fraction:
    if work_from is None:
        return Fraction(0)
    start = ENROLMENT + timedelta(weeks=work_from)
    total, day = Fraction(0), max(first, start)
    while day <= last:
        total += Fraction(monthly, calendar.monthrange(day.year, day.month)[1])
        day += timedelta(days=1)
    return total


def expected_year(work_from, k: int) -> tuple[Decimal, Decimal, Decimal, Decimal, Decimal]:
    """(savings, earnings, comparison earnings, amount alone, result) of measurement year k (1..3):
    the amount a participant's result pays alone (never below 0), and the result itself."""
    first = ENROLMENT if k == 1 else POINTS[k - 2] + timedelta(days=1)
    last = POINTS[k - 1]
    weeks = [r for r in range(1, 157) if first <= sunday(r) <= last]
    saving = sum((rate(r) * (Fraction(sum(on_benefit(e, r) for e in COMPARISON), 10) - on_benefit(work_from, r)) for r in weeks), Fraction(0))
    a, b = (first - ENROLMENT).days, (last - ENROLMENT).days
    mine = earnings(work_from, 2100, first, last)
    theirs = sum((earnings(e, 2000, ENROLMENT + timedelta(days=a), ENROLMENT + timedelta(days=b)) for e in COMPARISON), Fraction(0)) / 10
    s, m, t = cents(saving), cents(mine), cents(theirs)
    value = Fraction(1, 2) * (Fraction(s) + Fraction(1, 5) * (Fraction(m) - Fraction(t)))
    return s, m, t, cents(max(value, Fraction(0))), cents(value)


@pytest.fixture(scope="module")
def koto():
    return load_contract(CONTRACT)


def programme_history(i: int) -> ParticipantHistory:
    line = COHORT.read_text(encoding="utf-8").splitlines()[i - 1]
    return ParticipantHistory.model_validate(json.loads(line))


@pytest.mark.parametrize("pattern", range(10))
def test_each_pattern_pays_what_the_hand_calculation_says(koto, pattern):
    h = programme_history(pattern + 1)
    r = evaluate(koto, h, date(2022, 6, 30))
    years = [p for p in r.payments if p.milestone == "outcome_year"]
    assert [p.trigger_date for p in years] == POINTS
    for k, p in enumerate(years, start=1):
        s, m, t, amount, result = expected_year(PROGRAMME[pattern], k)
        assert p.tariff.value == result, (pattern, k)  # basis cohort: the participant's own result, even below 0
        assert p.formula.values["savings"] == str(s), (pattern, k)
        assert p.formula.values["earnings"] == str(m), (pattern, k)
        assert p.formula.values["comparison_earnings"] == str(t), (pattern, k)
        assert p.amount == amount, (pattern, k)
    assert r.payments[0].milestone == "participant_start" and r.payments[0].amount == Decimal("300.00")


def test_the_first_pattern_worked_on_paper(koto):
    # In work from week 8 (Monday 2019-03-04). Year 1 = 2019-01-07..2020-01-07, weeks 1-51 after
    # the enrolment week (2019-W03..2020-W01; 2019 has 52 ISO weeks). The comparison group is
    # on benefit in weeks 1-12 (10/10), 13-25 (9/10), 26-38 (8/10), 39-51 (7/10); the participant
    # in weeks 1-7. Savings 5 x 162 + 13 x 0.9 x 162 + 13 x 0.8 x 162 + 12 x 0.7 x 162
    # + 0.7 x 168.30 (2020-W01's Thursday is in 2020) = 5,868.81.
    # Earnings: March 4-31 28 x 2,100/31 + April-December 9 x 2,100 + January 1-7 7 x 2,100/31
    # = 21,270.97. The comparison group's: (17,984.95 + 12,000.00 + 6,064.52 + 129.03) / 10 = 3,617.85.
    # Amount: 0.5 x (5,868.81 + 0.2 x (21,270.97 - 3,617.85)) = 4,699.717 -> EUR 4,699.72.
    r = evaluate(koto, programme_history(1), date(2022, 6, 30))
    year1 = next(p for p in r.payments if p.milestone == "outcome_year")
    assert year1.formula.values == {"comparison_earnings": "3617.85", "earnings": "21270.97", "savings": "5868.81", "share": "0.5", "tax_rate": "0.2"}
    assert year1.amount == Decimal("4699.72")


def test_a_participant_who_moves_away_is_measured_only_before(koto):
    h = programme_history(25)  # pattern 4, moved away 2020-06-30
    r = evaluate(koto, h, date(2022, 6, 30))
    assert [p.trigger_date for p in r.payments if p.milestone == "outcome_year"] == [POINTS[0]]


def test_the_cohort_is_netted_each_year_as_the_hand_calculation_says(koto):
    # Koto-SIB paid half the difference between the groups: the year's results of all
    # participants are summed (a negative one offsets the others), then shared out over the
    # positive results in proportion. Each participant's own result is worked out above.
    histories = load_cohort(COHORT, koto.known)
    results = evaluate_cohort(koto, histories, date(2022, 6, 30))
    by_year: dict[int, list[tuple[str, Decimal]]] = {1: [], 2: [], 3: []}
    alone = Decimal(0)
    for i in range(1, 201):
        pattern = (i - 1) % 10
        for k in range(1, 2 if i % 25 == 0 else 4):
            _, _, _, amount, result = expected_year(PROGRAMME[pattern], k)
            by_year[k].append((f"sib-091-{i:04d}", result))
            alone += amount
    assert total_of(results) == Decimal(300 * 200) + alone  # before settlement: each result alone, never below 0
    s = settle_results(koto, histories, results, date(2022, 6, 30), with_changes=False)
    lines = {x.payment_id: x for x in s.lines}
    for k, rows in by_year.items():
        net = sum((r for _, r in rows), Decimal(0))
        positive = sum((max(r, Decimal(0)) for _, r in rows), Decimal(0))
        assert 0 < net < positive  # some participants cost more than the comparison group
        paid = [lines[f"fi-091-koto-sib-example/{pid}/outcome_year/{k}"] for pid, _ in rows]
        assert sum((x.amount for x in paid), Decimal(0)) == net  # the whole net result, to the cent
        for (pid, r), x in zip(rows, paid):
            share = max(r, Decimal(0)) * net / positive
            assert abs(x.amount - share) < Decimal("0.01"), (pid, k)
            assert x.adjustments[-1].kind == "cohort_net"
    assert s.total == Decimal(300 * 200) + sum((sum((r for _, r in rows), Decimal(0)) for rows in by_year.values()), Decimal(0))


def test_the_streamed_settlement_nets_the_cohort_alike(koto):
    from pbr_rules.settlement import settle_stream

    histories = load_cohort(COHORT, koto.known)
    whole = settle_results(koto, histories, evaluate_cohort(koto, histories, date(2022, 6, 30)), date(2022, 6, 30))
    streamed = settle_stream(koto, [COHORT], date(2022, 6, 30))
    assert streamed.model_dump_json() == whole.model_dump_json()
