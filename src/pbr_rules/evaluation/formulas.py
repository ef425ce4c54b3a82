"""What a formula tariff measures, and what it pays (docs/semantics.md § 10).

A formula tariff's milestone is measured by periods: occurrence k closes the period from
the day after occurrence k-1 (for the first, from the start: a participant's enrolment, a
company's accelerator start) up to the day occurrence k is met. The formula's measured
values are worked out over that period from the history; its parameters, floor and cap are
read on the pricing date; measured amounts are rounded to the minor unit first (so the values
a payment shows give its result again). The amount is the formula's exact value, raised to the floor,
cut to the cap, never below 0, rounded once to whole øre (cents).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, localcontext

from pbr_rules.errors import EvaluationRefused
from pbr_rules.evaluation.measures import _DAY_UNITS, _days_in_month  # the one way earnings accrue per day
from pbr_rules.evaluation.savings import _horizon, agreed_comparison_histories, period_savings
from pbr_rules.language import Formula, LoadedContract, formula_names, parse_formula
from pbr_rules.models.common import in_force
from pbr_rules.models.history import ParticipantHistory
from pbr_rules.money import MONEY_CONTEXT, round_money
from pbr_rules.periods import week_index

ZERO = Decimal(0)
ONE_DAY = timedelta(days=1)

_COMPILED: dict[tuple[str, str], Formula] = {}


def compiled(loaded: LoadedContract, mid: str) -> Formula:
    """The milestone's formula, parsed and type-checked once per contract version (the loader
    has already refused any that does not parse)."""
    key = (loaded.content_hash, mid)
    f = _COMPILED.get(key)
    if f is None:
        t = loaded.contract.tariffs[mid].formula
        side = loaded.contract.milestones[mid].side.value
        f = _COMPILED[key] = parse_formula(t.expression, formula_names(side, t.parameters), {n: True for n in t.parameters})
    return f


@dataclass(frozen=True)
class Priced:
    """A formula's price for one occurrence: the amount, and everything that made it."""

    expression: str
    amount: Decimal  # after floor and cap, never below 0, rounded
    cohort: bool  # basis cohort: settlement nets the cohort's results of this occurrence number
    result: Decimal  # the formula's value, rounded
    values: tuple[tuple[str, Decimal], ...]  # every name it read, with its value (exact), by name
    period: tuple[date, date]  # first and last day measured
    effective: date  # the latest effective date among the values read on the pricing date
    bound: tuple[str, Decimal] | None  # ('floor' | 'cap' | 'zero', the bound) when one changed the result


def price(loaded: LoadedContract, mid: str, history, k_day: date, previous: date | None, goals_days: list[date], pday: date) -> Priced | None:
    """The price of the occurrence met on ``k_day`` whose previous occurrence was met on
    ``previous`` (None: this is the first), read on the pricing day ``pday``; None when a
    parameter has no value in force then (met, but nothing to pay, like a withdrawn tariff)."""
    c = loaded.contract
    t = c.tariffs[mid].formula
    f = compiled(loaded, mid)
    start = history.enrolment if isinstance(history, ParticipantHistory) else history.start
    first = start if previous is None else previous + ONE_DAY
    values: dict[str, Decimal] = {}
    effective = c.term.start
    for name, p in t.parameters.items():
        found = in_force(p.values, pday)
        if found is None:
            return None
        effective = max(effective, found[0])
        values[name] = found[1].value
    names = f.names
    if "goals_met" in names:
        values["goals_met"] = Decimal(sum(1 for d in goals_days if first <= d <= k_day))
    # the weeks of the period: ISO weeks after the start's week whose Sunday is in [first, k_day]
    # (the first is the week of ``first`` itself, whose Sunday is on or after it)
    w_first = max(week_index(first), week_index(start) + 1)
    w_last = week_index(k_day) if k_day.weekday() == 6 else week_index(k_day) - 1
    if "weeks" in names:
        values["weeks"] = Decimal(max(0, w_last - w_first + 1))
    if "earnings" in names:
        values["earnings"] = round_money(_earnings(history, first, k_day))
    if "comparison_earnings" in names:
        values["comparison_earnings"] = round_money(_comparison_earnings(loaded, (first - start).days, (k_day - start).days))
    if names & {"savings", "actual_cost", "counterfactual_cost"}:
        if w_last >= w_first:
            actual, counterfactual, saving = period_savings(loaded, history, w_first, w_last)
        else:
            actual = counterfactual = saving = ZERO
        # each measured amount rounded to the minor unit, so the values shown give the result again
        values["actual_cost"], values["counterfactual_cost"], values["savings"] = round_money(actual), round_money(counterfactual), round_money(saving)
    bound = None
    cohort = t.basis == "cohort"
    with localcontext(MONEY_CONTEXT):
        exact = f.evaluate(values)
        amount = exact
        for key in () if cohort else ("floor", "cap"):  # a cohort's floor and cap apply to its net sum, in settlement
            dated = getattr(t, key)
            found = in_force(dated, pday) if dated else None
            if found is None:
                continue
            effective = max(effective, found[0])
            limit = found[1].value
            if (key == "floor" and amount < limit) or (key == "cap" and amount > limit):
                amount, bound = limit, (key, limit)
        if amount < 0:
            amount, bound = ZERO, ("zero", ZERO)
    shown = tuple(sorted((n, v) for n, v in values.items() if n in names))
    return Priced(t.expression, round_money(amount), cohort, round_money(exact), shown, (first, k_day), effective, bound)


def _earnings(history, first: date, last: date) -> Decimal:
    """Earnings on the days first..last: each job's monthly earnings accrue per day of its month (exact)."""
    if not isinstance(history, ParticipantHistory):
        return ZERO
    total = 0
    for s in history.employment:
        a = max(s.start, first)
        z = min(s.end or last, last)
        if z < a or s.monthly_earnings <= 0:
            continue
        monthly = int(s.monthly_earnings * 100) * _DAY_UNITS
        day = a
        while day <= z:
            dim = _days_in_month(day.year, day.month)
            seg_end = min(z, date(day.year, day.month, dim))
            total += monthly // dim * ((seg_end - day).days + 1)
            day = seg_end + ONE_DAY
    with localcontext(MONEY_CONTEXT):
        return Decimal(total) / (100 * _DAY_UNITS)


_COMPARISON_EARNINGS: dict[int, tuple[tuple, dict[tuple[int, int], Decimal]]] = {}


def _comparison_earnings(loaded: LoadedContract, a: int, b: int) -> Decimal:
    """The comparison group's average earnings on days a..b after each one's enrolment (day 0 is
    the enrolment), over the histories whose horizon (extraction or exit) reaches day b.
    Remembered per comparison group as loaded (a changed file is a new group)."""
    histories = agreed_comparison_histories(loaded)
    entry = _COMPARISON_EARNINGS.get(id(histories))
    if entry is None or entry[0] is not histories:
        entry = _COMPARISON_EARNINGS[id(histories)] = (histories, {})
    found = entry[1].get((a, b))
    if found is None:
        total, n = ZERO, 0
        with localcontext(MONEY_CONTEXT):
            for h in histories:
                last = h.enrolment + timedelta(days=b)
                if _horizon(h, None) < last:
                    continue
                total += _earnings(h, h.enrolment + timedelta(days=a), last)
                n += 1
            if n == 0:
                raise EvaluationRefused(
                    f"no history of the comparison group reaches day {b} after its enrolment (needed for comparison_earnings); "
                    "give comparison histories that cover the measurement periods"
                )
            found = entry[1][(a, b)] = total / n
    return found
