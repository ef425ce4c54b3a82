"""The settlement of a cohort: every payment line after cohort terms, the changes since an
earlier settlement, and the schedule of what falls due, by period, payer and payee."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_serializer

from pbr_rules.models.common import CurrencyCode, ISODate, Money, Strict
from pbr_rules.models.results import ContractRef, TariffApplied


class Adjustment(Strict):
    """One thing that changed a payment's amount: a volume tier, a cap, the cohort size."""

    kind: Literal[
        "volume_tier",
        "cap:max_total",
        "cap:per_participant",
        "cap:per_company",
        "cap:per_milestone",
        "cap:per_payer",
        "cap:per_contract",
        "cohort_size",
        "cohort_net",
    ]
    change: Money = Field(description="How much it changed the amount (negative: a reduction).")
    reference: str
    note: str


class PartyAmount(Strict):
    party: str
    amount: Money


class SettlementLine(Strict):
    payment_id: str
    subject_kind: Literal["participant", "company"]
    subject: str
    milestone: str
    occurrence: int
    trigger_date: ISODate
    due_date: ISODate
    period: str = Field(description="The period the due date falls in, e.g. '2019-08' or '2019-Q3'.")
    tariff: TariffApplied
    gross: Money = Field(description="The tariff after volume tiers, before any cap.")
    amount: Money = Field(description="What is due for this payment after every cohort term.")
    payers: list[PartyAmount]
    payee: str
    reference: str
    status: Literal["paid", "reduced", "refused"]
    adjustments: list[Adjustment]


class Change(Strict):
    """A line's difference from the previous settlement (all lines are 'new' without one)."""

    payment_id: str
    kind: Literal["new", "adjusted", "clawback"]
    previous: Money
    current: Money
    due_now: Money = Field(description="current - previous; negative = to be paid back.")
    payers: list[PartyAmount] = Field(description="due_now by payer.")
    payee: str
    period: str
    reason: str


class ScheduleRow(Strict):
    period: str
    payer: str
    payee: str
    amount: Money


class TargetReport(Strict):
    """A soft target (eligibility.*.target) against the eligible subjects counted: reported, never enforced."""

    subjects: Literal["participants", "companies"]
    target: int
    by: ISODate = Field(description="The day the target is to be met by (its own, else the end of the enrolment window, else the term end).")
    reference: str
    counted: int = Field(description="Eligible participants (companies) enrolled (started) on or before both the as-of date and the target date.")
    difference: int = Field(description="counted - target: above 0 over target, below 0 under target.")
    status: Literal["over", "on", "under"]
    final: bool = Field(description="True when the as-of date is on or after the target date (the count can no longer grow towards it).")
    cohort_size: int | None = Field(default=None, description="The hard limit beside it, if any: eligible subjects beyond it are refused payment.")
    answer: str = Field(description="The same in words, in the report's language.")


ORDER = (
    "trigger date, then subject id, then milestone, then occurrence; caps in the order: "
    "per participant (or company), per milestone line, per payer, per contract"
)
ORDER_WITH_MAX_TOTAL = (
    "trigger date, then subject id, then milestone, then occurrence; caps in the order: the tariff's maximum total "
    "per participant (or company), per participant (or company), per milestone line, per payer, per contract"
)


class Settlement(Strict):
    schema_version: Literal["1"] = "1"
    contract: ContractRef
    currency: CurrencyCode = Field(
        default="DKK", description="The contract's currency, of every amount here (DKK in settlements recorded before it was written)."
    )
    as_of: ISODate
    period_kind: Literal["month", "quarter"]
    previous_as_of: ISODate | None = None
    order: str = Field(default=ORDER, description="The documented order in which cohort terms are applied.")
    lines: list[SettlementLine]
    changes: list[Change]
    schedule: list[ScheduleRow] = Field(description="What falls due now (the changes), by period of the due date, payer and payee.")
    total: Money = Field(description="Everything settled to date (sum of lines).")
    due_now: Money = Field(description="Sum of the changes: what this settlement adds.")
    refused: Money = Field(description="Tariff value not paid because of caps, tiers or cohort size.")
    by_payer: list[PartyAmount]
    by_payee: list[PartyAmount]
    targets: list[TargetReport] = Field(default_factory=list, description="Soft targets and how the cohort stands against them (absent without any).")

    @model_serializer(mode="wrap")
    def _drop_no_targets(self, handler):
        data = handler(self)
        if not data.get("targets", True):
            del data["targets"]
        return data
