"""The one result shape shared by the CLI, the API, the scenarios and settlement.

An evaluation says, for one participant or company as of a date: whether it is eligible
(and why, rule by rule), which milestones are met (when, and on what evidence) or how far
along they are, and which payments are triggered: amount, tariff and its effective date,
payer shares, payee, clause, due date and the contract's content hash. Its JSON schema is
committed as contracts/schema/result.schema.json.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from pbr_rules.models.common import CurrencyCode, ISODate, Money, Share, Strict, omitted_when_none

RESULT_SCHEMA_VERSION = "1"


class ContractRef(Strict):
    id: str
    version: str
    content_hash: str = Field(description="sha256 of the merged contract and its vocabulary: the contract version evaluated.")
    municipality: str


class SubjectRef(Strict):
    kind: Literal["participant", "company"]
    id: str
    target_group: str | None = None


class RuleResult(Strict):
    rule: str
    passed: bool
    detail: str = Field(description="The value found and the bound it was held against.")
    reference: str


class EligibilityResult(Strict):
    eligible: bool
    rules: list[RuleResult]


class Evidence(Strict):
    source: str = Field(description="Where in the history, e.g. 'employment[0]' or 'events[2]'.")
    description: str


class Occurrence(Strict):
    occurrence: int
    met_on: ISODate
    definition_from: ISODate | None = Field(description="Effective date of the definition it was met under (null: the original).")
    definition_reference: str
    evidence: list[Evidence]


class MilestoneResult(Strict):
    milestone: str
    side: Literal["citizen", "company"]
    description: str
    reference: str
    met: bool
    occurrences: list[Occurrence]
    progress: str | None = Field(default=None, description="How far along the next occurrence is, e.g. '9 of 13 weeks'.")
    why_not: str | None = Field(default=None, description="Why nothing (more) is met, in words.")


class TariffApplied(Strict):
    line: str = Field(description="'all' or the target group whose tariff line applied.")
    value: Money
    effective: ISODate = Field(description="Effective date of the tariff value in force on the pricing date (the trigger date unless priced_by says otherwise).")
    reference: str
    # priced_by, priced_on, bound, max_total, formula: added after the result's first version, so
    # left out while None (the same bytes as before for the terms that do not use them)
    priced_by: Literal["enrolment", "referral"] | None = Field(
        default=None, exclude_if=omitted_when_none, description="Priced on the subject's enrolment (a company's accelerator start) or referral date, not the trigger date; absent: the trigger date."
    )
    priced_on: ISODate | None = Field(default=None, exclude_if=omitted_when_none, description="The day whose prices applied, when not the trigger date.")


class PayerPart(Strict):
    party: str
    share: Share
    amount: Money


class CapApplied(Strict):
    cap: Literal["per_participant", "per_company", "max_total"] = Field(
        description="per_participant / per_company: the caps of that name; max_total: the tariff's most for this milestone to one subject."
    )
    limit: Money
    effective: ISODate
    reference: str
    reduced_by: Money


class FormulaApplied(Strict):
    """How a formula tariff priced this payment (docs/semantics.md § 10): the period it measured,
    the value of every name it read, and its result before the floor and cap."""

    expression: str = Field(description="The formula, as the agreement writes it.")
    period_from: ISODate = Field(description="The first day of the measurement period.")
    period_to: ISODate = Field(description="The last day: the day the occurrence was met.")
    values: dict[str, str] = Field(description="Every name the formula read (parameters on the pricing date, measured values of the period), as exact decimals.")
    result: Money = Field(description="The formula's value, rounded to the minor unit, before the floor, the cap and the rule that a payment is never negative.")
    bound: Literal["floor", "cap", "zero"] | None = Field(
        default=None, exclude_if=omitted_when_none, description="floor or cap: the tariff's floor or cap replaced the result; zero: the result was below 0, so nothing is paid."
    )


class Payment(Strict):
    payment_id: str = Field(description="contract/subject/milestone/occurrence: stable across contract versions.")
    milestone: str
    occurrence: int
    trigger_date: ISODate
    due_date: ISODate
    amount: Money = Field(description="What is due after the per-subject cap (before cohort-level caps and tiers).")
    tariff: TariffApplied
    payers: list[PayerPart]
    payee: str
    reference: str = Field(description="The milestone's clause.")
    cap: CapApplied | None = None
    max_total: CapApplied | None = Field(
        default=None, exclude_if=omitted_when_none, description="The tariff's most for this milestone to one subject, when it cut this payment (applied before the per-subject cap)."
    )
    subject_to: list[str] = Field(description="Cohort-level terms settlement applies to this payment.")
    formula: FormulaApplied | None = Field(default=None, exclude_if=omitted_when_none, description="A formula tariff: what it measured and computed.")


class EvaluationResult(Strict):
    schema_version: Literal["1"] = RESULT_SCHEMA_VERSION
    contract: ContractRef
    currency: CurrencyCode
    subject: SubjectRef
    as_of: ISODate
    horizon: ISODate = Field(description="The last day that counts: the as-of date or an earlier exit.")
    eligibility: EligibilityResult
    milestones: list[MilestoneResult]
    payments: list[Payment]
    total: Money

    def first_met(self, milestone: str) -> date | None:
        for m in self.milestones:
            if m.milestone == milestone and m.occurrences:
                return m.occurrences[0].met_on
        return None
