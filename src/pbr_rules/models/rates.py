"""The benefit-rate table: what a week on each benefit costs, and the refund staircase.

Rates change every year ("satser", published by Beskæftigelsesministeriet / STAR), so
they are data (contracts/data/benefit-rates.yaml), effective-dated like every other value
that changes: ``{benefit code: {effective date: {value: {per, amount, ...}, reference}}}``.
The staircase (Lov om kommunernes finansiering af visse offentlige ydelser, § 5, stk. 2,
and § 6) says what share of a benefit the municipality pays in each week of a spell.
How the table is used: docs/business-case.md.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pbr_rules.money import currency_problem
from pbr_rules.models.common import CurrencyCode, DatedEntry, Identifier, ISODate, Money, Reference, Share, Strict


class StaircaseBand(Strict):
    """The municipality's share of a benefit in weeks ``from_week``..``to_week`` of the count."""

    from_week: int = Field(ge=1, le=10000, description="First week of the band (the count starts at week 1).")
    to_week: int | None = Field(default=None, ge=1, le=10000, description="Last week of the band; null: open-ended.")
    municipal_share: Share = Field(description="The share the municipality pays (1 minus the state refund).")


class Staircase(Strict):
    """The refund staircase: bands of weeks and when the count restarts."""

    reference: Reference
    documentation: str | None = None
    bands: list[StaircaseBand] = Field(min_length=1)
    reset_after_self_supporting_weeks: int = Field(
        default=52, ge=1, le=520, description="Self-supporting weeks in total (not necessarily in a row) that restart the count."
    )
    within_weeks: int = Field(default=156, ge=1, le=1040, description="...within this many weeks (the last 3 years).")

    def problems(self) -> list[tuple[tuple, str]]:
        """Bands must start at week 1, follow on without gaps or overlaps, and the last must be open-ended."""
        out: list[tuple[tuple, str]] = []
        expected = 1
        for i, band in enumerate(self.bands):
            if band.from_week != expected:
                out.append((("bands", i, "from_week"), f"this band starts at week {band.from_week}; it must start at week {expected}"))
            if band.to_week is not None and band.to_week < band.from_week:
                out.append((("bands", i, "to_week"), f"the band ends (week {band.to_week}) before it starts (week {band.from_week})"))
            if band.to_week is None and i != len(self.bands) - 1:
                out.append((("bands", i, "to_week"), "only the last band may be open-ended (to_week: null)"))
            expected = (band.to_week or band.from_week) + 1
        if self.bands[-1].to_week is not None:
            out.append((("bands", len(self.bands) - 1, "to_week"), "the last band must be open-ended: write to_week: null"))
        return out

    def share_in_week(self, count: int):
        """The municipal share in week ``count`` (1-based) of the staircase."""
        for band in self.bands:
            if band.from_week <= count and (band.to_week is None or count <= band.to_week):
                return band.municipal_share
        return self.bands[-1].municipal_share


class RateSource(Strict):
    """Where a rate was read: the publication's title and address, and the figure as it is printed there."""

    title: str = Field(min_length=1, description="The publication, e.g. 'Beskæftigelsesministeriet, Satser for 2024: Ressourceforløbsydelse'.")
    url: str = Field(pattern=r"^https?://\S+$", description="The address the figure was read at.")
    as_published: str | None = Field(
        default=None,
        description="The figure and unit exactly as printed (e.g. '12.326 kr. pr. md.'), when it differs in form from amount/per.",
    )


class Rate(Strict):
    """A benefit's rate from one effective date, at the level the table documents."""

    per: Literal["month", "week"] = Field(description="month: a monthly rate (a week is 12/52 of it); week: a weekly rate.")
    amount: Money = Field(description="The gross rate in kroner.")
    municipal_share: Share | None = Field(
        default=None,
        description="Only for codes outside the refund staircase: the share of the rate the municipality pays.",
    )
    assumption: bool = Field(
        default=False, description="True when the figure is estimated, not cited; the documentation says how."
    )
    source: RateSource | None = Field(
        default=None,
        description="Where the figure was published (for a published figure); an assumption may name the figures it was estimated from.",
    )


DatedRate = dict[ISODate, DatedEntry[Rate]]


class BenefitRates(Strict):
    """The benefit-rate file (kind: benefit_rates)."""

    kind: Literal["benefit_rates"]
    description: str | None = None
    documentation: str | None = None
    currency: CurrencyCode = Field(
        default="DKK",
        description="The ISO 4217 code of the currency the rates are in (default DKK); an agreement whose business case uses the table must be in the same currency.",
    )
    staircase: Staircase
    rates: dict[Identifier, DatedRate] = Field(
        min_length=1, description="Under each benefit code: {effective date: {value: rate, reference, documentation}}."
    )

    def problems(self) -> list[tuple[tuple, str]]:
        out = [(("staircase",) + p, m) for p, m in self.staircase.problems()]
        currency = currency_problem(self.currency)
        if currency:
            out.append((("currency",), f"{currency[0]} ({currency[1]})"))
        return out
