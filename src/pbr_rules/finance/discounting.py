"""Discounting, internal rate of return, break-even and the investor waterfall.

Owns the arithmetic of the business case and the investor view, on dated money flows
(``(date, Decimal)``; positive = money in, for whoever's view it is). Conventions,
documented in docs/business-case.md:

- **Conventions** (the agreement's ``business_case.discounting.convention``; V the
  valuation date, the term start; r the annual rate):
  - ``act365_from_term_start`` (the default): a flow on day d is ``t = (d - V).days / 365``
    years from V and is discounted by ``(1 + r) ** -t``: by its actual time;
  - ``per_period``: by whole months, ``n = 12 × (year(d) - year(V)) + month(d) - month(V)``
    (flows in V's month: n = 0), at ``(1 + r / 12) ** -n``;
  - ``annual_compounding``: by whole years, n = the number of anniversaries of V on or
    before d (negative before V; an anniversary on 29 February falls on 1 March in other
    years), at ``(1 + r) ** -n``: the first year undiscounted.
- **NPV** at an annual rate r: ``sum(amount × factor)``, computed in Decimal
  (``exp(-t * ln(1 + r))`` or an integer power, 28 significant digits) and rounded once, to øre.
- **IRR** is the rate at which the NPV is zero (the XIRR convention), found by bisection
  to 1e-10; none when the flows never change sign.
- **Break-even month**: the first month from which the cumulative net stays at or above
  zero to the end; none if it never does.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Context, Decimal, localcontext
from functools import lru_cache

from pbr_rules.money import ZERO, round_money

Flow = tuple[date, Decimal]
_CTX = Context(prec=28)
DAYS_PER_YEAR = Decimal(365)


def discount_factor(rate: Decimal, years: Decimal) -> Decimal:
    """``1 / (1 + rate) ** years`` in Decimal."""
    with localcontext(_CTX):
        return (-(years * (Decimal(1) + rate).ln())).exp()


@lru_cache(maxsize=65536)
def _factor(rate: Decimal, days: int) -> Decimal:
    """The discount factor for a flow ``days`` after the valuation date (many flows share a day)."""
    return discount_factor(rate, Decimal(days) / DAYS_PER_YEAR)


ACT365 = "act365_from_term_start"
CONVENTIONS = (ACT365, "per_period", "annual_compounding")


def periods_from(convention: str, valuation_date: date, day: date) -> int:
    """Whole periods from the valuation date to ``day``: months for ``per_period``, anniversaries for ``annual_compounding``."""
    if convention == "per_period":
        return 12 * (day.year - valuation_date.year) + day.month - valuation_date.month
    years = day.year - valuation_date.year
    anniversary = (valuation_date.month, valuation_date.day)
    if anniversary == (2, 29):
        anniversary = (2, 29) if _leap(day.year) else (3, 1)
    return years - ((day.month, day.day) < anniversary)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


@lru_cache(maxsize=65536)
def _period_factor(convention: str, rate: Decimal, n: int) -> Decimal:
    with localcontext(_CTX):
        per = Decimal(1) + (rate / 12 if convention == "per_period" else rate)
        return per ** -n


def factor(convention: str, rate: Decimal, valuation_date: date, day: date) -> Decimal:
    """The discount factor of a flow on ``day`` under a convention (this module's docstring)."""
    if convention == ACT365:
        return _factor(rate, (day - valuation_date).days)
    return _period_factor(convention, rate, periods_from(convention, valuation_date, day))


def present_values(flows: list[Flow], rate: Decimal, valuation_date: date, convention: str = ACT365) -> list[Decimal]:
    """Each flow's present value, exact (28 digits), for sums rounded by the caller."""
    with localcontext(_CTX):
        return [amount * factor(convention, rate, valuation_date, day) for day, amount in flows]


def _npv_exact(flows: list[Flow], rate: Decimal, valuation_date: date, convention: str = ACT365) -> Decimal:
    with localcontext(_CTX):
        return sum(present_values(flows, rate, valuation_date, convention), Decimal(0))


def npv(flows: list[Flow], rate: Decimal, valuation_date: date, convention: str = ACT365) -> Decimal:
    """Net present value of ``flows`` at ``rate`` under ``convention`` (default ACT/365 from the valuation date), rounded once."""
    return round_money(_npv_exact(flows, rate, valuation_date, convention))


def irr(flows: list[Flow], valuation_date: date | None = None) -> Decimal | None:
    """The annual rate at which the NPV of ``flows`` is zero (XIRR), to 1e-10; None without a sign change."""
    flows = [(d, a) for d, a in flows if a != 0]
    if not flows or all(a > 0 for _, a in flows) or all(a < 0 for _, a in flows):
        return None
    start = valuation_date or min(d for d, _ in flows)
    lo, hi = Decimal("-0.99"), Decimal("10")
    f_lo, f_hi = _npv_exact(flows, lo, start), _npv_exact(flows, hi, start)
    if (f_lo > 0) == (f_hi > 0):
        return None
    with localcontext(_CTX):
        for _ in range(200):
            mid = (lo + hi) / 2
            f_mid = _npv_exact(flows, mid, start)
            if (f_mid > 0) == (f_lo > 0):
                lo, f_lo = mid, f_mid
            else:
                hi = mid
            if hi - lo < Decimal("1e-10"):
                break
        return ((lo + hi) / 2).quantize(Decimal("1e-8"))


def month_of(day: date) -> str:
    return f"{day.year}-{day.month:02d}"


def months_between(first: str, last: str) -> list[str]:
    y, m = map(int, first.split("-"))
    ly, lm = map(int, last.split("-"))
    out = []
    while (y, m) <= (ly, lm):
        out.append(f"{y}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def cumulative(by_month: dict[str, Decimal], months: list[str]) -> list[Decimal]:
    total, out = ZERO, []
    for m in months:
        total += by_month.get(m, ZERO)
        out.append(total)
    return out


def break_even_month(months: list[str], cum: list[Decimal]) -> str | None:
    """The first month from which the cumulative net stays >= 0 to the end."""
    answer = None
    for m, v in zip(months, cum):
        if v < 0:
            answer = None
        elif answer is None:
            answer = m
    return answer


def add_months(day: date, n: int) -> date:
    """``day`` plus ``n`` calendar months, clipped to the month's last day."""
    y, m = divmod(day.month - 1 + n, 12)
    year, month = day.year + y, m + 1
    last = [31, 29 if (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    return date(year, month, min(day.day, last))


def instalments(start: date, amount: Decimal, months: int) -> list[Flow]:
    """``amount`` in ``months`` equal monthly instalments from ``start`` (whole øre; the last takes the rest)."""
    if months <= 1:
        return [(start, round_money(amount))]
    each = round_money(amount / months)
    out = [(add_months(start, i), each) for i in range(months - 1)]
    out.append((add_months(start, months - 1), round_money(amount) - each * (months - 1)))
    return out


# --- the investor waterfall ---------------------------------------------------------------


@dataclass(frozen=True)
class WaterfallStep:
    day: date
    invested: Decimal  # paid in by the investors (course costs they pre-finance)
    principal_repaid: Decimal
    return_paid: Decimal
    retained: Decimal  # outcome payments beyond the investors' due, kept by the payer


def waterfall(costs: list[Flow], receipts: list[Flow], return_cap: Decimal) -> list[WaterfallStep]:
    """Investors pay ``costs`` as they fall due; each receipt repays outstanding principal
    first, then a return, until the return paid reaches ``return_cap`` × principal invested
    so far; anything beyond is retained by the payer. Same-day costs come before receipts."""
    events: dict[date, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for day, amount in costs:
        events[day][0] += amount
    for day, amount in receipts:
        events[day][1] += amount
    invested = principal_repaid = return_paid = ZERO
    out = []
    for day in sorted(events):
        cost, receipt = events[day]
        invested += cost
        to_principal = min(receipt, invested - principal_repaid)
        principal_repaid += to_principal
        room = max(ZERO, round_money(return_cap * invested) - return_paid)  # the cap, in whole øre
        to_return = min(receipt - to_principal, room)
        return_paid += to_return
        out.append(WaterfallStep(day, cost, to_principal, to_return, receipt - to_principal - to_return))
    return out
