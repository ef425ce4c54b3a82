"""Which benefit rates are assumptions, and which agreements' business cases would use them
(``pbr rates check``; docs/business-case.md, "Checking the rates").

An agreement *uses* a rate table when its ``business_case.benefit_rates`` names it. Its
savings (evaluation/savings.py) value every week from the week after a participant's
enrolment week W0 to W0 + ``savings_weeks``, at the rate in force on the week's Thursday:

- the actual weeks at the rate of whatever code the participant's history has that week,
  and the counterfactual weeks at the rate of the baseline code (the most frequent
  public-support code before enrolment). Histories may hold any code of the vocabulary,
  so **every code** that costs the municipality something (refund_staircase,
  public_support or wage_subsidy) may be used;
- enrolments fall in the agreement's ``eligibility.citizens.enrolment_window``, so the
  weeks valued run from the Thursday of the week after the window opens to the Thursday
  of the week ``savings_weeks`` after the week it closes. Without a window, or with a
  ``comparison_group`` counterfactual (whose histories bring their own dates), every
  date may be used.

A rate entry is used when its code may be used and the days it is in force (from its
date to the day before the next entry of the code) meet that period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Iterable

from pbr_rules.evaluation import load_benefit_rates, rates_for, rates_path, week_thursday
from pbr_rules.language import LoadedContract
from pbr_rules.models.rates import BenefitRates
from pbr_rules.periods import format_iso_week, week_index

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class RateUse:
    """How one agreement uses the rate table: which codes, in which days (None: any day)."""

    agreement: str
    codes: tuple[str, ...]
    first_day: date | None  # Thursday of the first week valued; None: no bound
    last_day: date | None  # Thursday of the last week valued; None: no bound
    why: str  # the period in words

    def uses(self, code: str, start: date, end: date | None) -> bool:
        """Whether the entry of ``code`` in force from ``start`` to ``end`` (None: open) is used."""
        if code not in self.codes:
            return False
        if self.last_day is not None and start > self.last_day:
            return False
        if self.first_day is not None and end is not None and end < self.first_day:
            return False
        return True


@dataclass(frozen=True)
class AssumedFigure:
    """One rate marked ``assumption: true``."""

    code: str
    effective: date
    until: date | None  # last day in force; None: until further notice
    per: str
    amount: Decimal
    why: str | None  # the entry's documentation
    used_by: tuple[str, ...]  # agreements whose business case would use it


@dataclass(frozen=True)
class RatesCheck:
    """The assumptions of a rate table and the agreements that would use them."""

    path: Path
    figures: int  # rate entries with a value
    published: int  # ... of which not assumptions
    assumed: tuple[AssumedFigure, ...]
    uses: tuple[RateUse, ...]  # the agreements that use this table
    other_tables: tuple[str, ...]  # agreements that name another rate table
    currency: str = "DKK"  # the table's currency, of every rate in it

    @property
    def used_assumptions(self) -> tuple[AssumedFigure, ...]:
        return tuple(a for a in self.assumed if a.used_by)


def rate_use(loaded: LoadedContract) -> RateUse:
    """Which codes and days the agreement's business case may value (see the module's docstring)."""
    bc = loaded.contract.business_case
    codes = tuple(
        sorted(c for c, info in loaded.codes.codes.items() if info.refund_staircase or info.public_support or info.wage_subsidy)
    )
    window = loaded.contract.eligibility.citizens.enrolment_window
    if bc.counterfactual.method == "comparison_group":
        return RateUse(loaded.contract.id, codes, None, None, "any date (a comparison_group counterfactual values the comparison histories' own weeks)")
    if window is None:
        return RateUse(loaded.contract.id, codes, None, None, "any date (the agreement has no enrolment window)")
    first = week_index(window.start) + 1
    last = week_index(window.end) + bc.savings_weeks
    why = (
        f"weeks {format_iso_week(first)} to {format_iso_week(last)} (enrolment {window.start.isoformat()} to "
        f"{window.end.isoformat()}, savings counted {bc.savings_weeks} weeks after the enrolment week)"
    )
    return RateUse(loaded.contract.id, codes, week_thursday(first), week_thursday(last), why)


def check_rates(path: str | Path, agreements: Iterable[LoadedContract] = ()) -> RatesCheck:
    """Every assumed figure of the rate table at ``path`` and the ``agreements`` that would use it.

    Raises ContractInvalid when the table is missing or invalid, or when an agreement that
    names it has a code the table does not know.
    """
    path = Path(path)
    rates: BenefitRates = load_benefit_rates(path)
    target = path.resolve()
    uses: list[RateUse] = []
    others: list[str] = []
    for loaded in sorted(agreements, key=lambda a: a.contract.id):
        if loaded.contract.business_case is None:
            continue
        if rates_path(loaded).resolve() != target:
            others.append(loaded.contract.id)
            continue
        rates_for(loaded)  # the table's codes must be the agreement's vocabulary
        uses.append(rate_use(loaded))

    figures = published = 0
    assumed: list[AssumedFigure] = []
    for code in sorted(rates.rates):
        dated = rates.rates[code]
        days = sorted(dated)
        for i, day in enumerate(days):
            entry = dated[day]
            if entry.value is None:
                continue
            figures += 1
            if not entry.value.assumption:
                published += 1
                continue
            until = days[i + 1] - ONE_DAY if i + 1 < len(days) else None
            used_by = tuple(u.agreement for u in uses if u.uses(code, day, until))
            assumed.append(
                AssumedFigure(code, day, until, entry.value.per, entry.value.amount, entry.documentation, used_by)
            )
    return RatesCheck(path, figures, published, tuple(assumed), tuple(uses), tuple(others), rates.currency)

