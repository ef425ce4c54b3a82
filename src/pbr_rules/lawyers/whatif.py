"""What-if: the same cohort under two versions of an agreement, and what changes in payments.

Owns the use case "if this amendment is signed, who gains or loses which payment, and what
does it cost each payer?". Both versions evaluate every history (``evaluate_cohort``);
payments are matched by subject, milestone and occurrence (the payment id without the
contract id, so two agreements can be compared too). Amounts are those of evaluation:
after the per-participant (per-company) cap, before cohort-level caps and volume tiers,
which settlement applies. Money is Decimal throughout and a string in JSON.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import Field

from pbr_rules.evaluation import evaluate_cohort
from pbr_rules.language import History, LoadedContract
from pbr_rules.models.common import CurrencyCode, ISODate, Money, Strict
from pbr_rules.models.results import EvaluationResult, Payment
from pbr_rules.money import ZERO, one_currency


class Delta(Strict):
    """Old total, new total and the difference (new - old)."""

    old: Money
    new: Money
    change: Money


class PaymentChange(Strict):
    """One payment that appears, disappears or changes amount."""

    payment: str = Field(description="subject/milestone/occurrence (the payment id without the contract id).")
    subject: str
    milestone: str
    occurrence: int
    change: str = Field(description="'added', 'removed' or 'changed'.")
    old_amount: Money | None = None
    new_amount: Money | None = None
    difference: Money
    old_trigger_date: ISODate | None = None
    new_trigger_date: ISODate | None = None
    old_tariff: str | None = Field(default=None, description="The tariff value and its effective date, e.g. '36000.00 from 2020-07-01'.")
    new_tariff: str | None = None
    note: str | None = Field(default=None, description="Why, when it is the cap or eligibility.")


class SubjectChange(Strict):
    """A participant or company whose payments change."""

    subject: str
    kind: str
    target_group: str | None = None
    eligible_old: bool
    eligible_new: bool
    total: Delta
    payments: list[PaymentChange]


class WhatIf(Strict):
    """The change in payments from the old to the new version, for one cohort."""

    old_contract: str = Field(description="id@version (content hash prefix) of the old version.")
    new_contract: str
    as_of: ISODate | None = Field(description="The as-of date asked for (null: each history's extraction date).")
    histories: int
    currency: CurrencyCode
    total: Delta
    per_milestone: dict[str, Delta]
    per_payer: dict[str, Delta]
    subjects: list[SubjectChange] = Field(description="Only the subjects whose payments or eligibility change.")
    note: str = "Amounts after the per-participant and per-company caps, before cohort-level caps and volume tiers (settlement)."


def _key(p: Payment, subject: str) -> str:
    return f"{subject}/{p.milestone}/{p.occurrence}"


def _tariff(p: Payment, currency: str) -> str:
    return f"{currency} {p.tariff.value} from {p.tariff.effective}"


def _delta(old: Decimal, new: Decimal) -> Delta:
    return Delta(old=old, new=new, change=new - old)


def what_if(
    old: LoadedContract, new: LoadedContract, histories: list[History], as_of: date | None = None, *, on_progress=None
) -> WhatIf:
    """Evaluate ``histories`` under both versions and report every payment that changes (both in one currency)."""
    one_currency([(old.contract.id, old.contract.currency), (new.contract.id, new.contract.currency)], "compared")
    n = len(histories)

    def half(offset: int):
        if on_progress is None:
            return None
        return lambda done, total: on_progress(offset + done, 2 * n)

    before = evaluate_cohort(old, histories, as_of, workers=1, on_progress=half(0))
    after = evaluate_cohort(new, histories, as_of, workers=1, on_progress=half(n))
    return compare(old, new, before, after, as_of)


def compare(old: LoadedContract, new: LoadedContract, before: list[EvaluationResult], after: list[EvaluationResult], as_of: date | None) -> WhatIf:
    currency = one_currency([(old.contract.id, old.contract.currency), (new.contract.id, new.contract.currency)], "compared")
    per_milestone: dict[str, list[Decimal]] = {}
    per_payer: dict[str, list[Decimal]] = {}

    def add(table_: dict, key: str, i: int, amount: Decimal) -> None:
        table_.setdefault(key, [ZERO, ZERO])[i] += amount

    subjects: list[SubjectChange] = []
    for r0, r1 in zip(before, after):
        for i, r in enumerate((r0, r1)):
            for p in r.payments:
                add(per_milestone, p.milestone, i, p.amount)
                for part in p.payers:
                    add(per_payer, part.party, i, part.amount)
        sid = r0.subject.id
        p0 = {_key(p, sid): p for p in r0.payments}
        p1 = {_key(p, sid): p for p in r1.payments}
        changes: list[PaymentChange] = []
        for key in sorted(set(p0) | set(p1), key=lambda k: _order(p0.get(k) or p1.get(k))):
            a, b = p0.get(key), p1.get(key)
            if a is not None and b is not None and a.amount == b.amount and a.trigger_date == b.trigger_date:
                continue
            x = a or b
            change = "added" if a is None else "removed" if b is None else "changed"
            note = None
            if change == "added" and not r0.eligibility.eligible:
                note = "eligible only under the new version"
            elif change == "removed" and not r1.eligibility.eligible:
                note = "not eligible under the new version"
            elif a is not None and b is not None and (a.cap or b.cap):
                parts = []
                if a.cap:
                    parts.append(f"old: capped by {a.cap.cap} {currency} {a.cap.limit} ({a.cap.reference})")
                if b.cap:
                    parts.append(f"new: capped by {b.cap.cap} {currency} {b.cap.limit} ({b.cap.reference})")
                note = "; ".join(parts)
            changes.append(
                PaymentChange(
                    payment=key, subject=sid, milestone=x.milestone, occurrence=x.occurrence, change=change,
                    old_amount=a.amount if a else None, new_amount=b.amount if b else None,
                    difference=(b.amount if b else ZERO) - (a.amount if a else ZERO),
                    old_trigger_date=a.trigger_date if a else None, new_trigger_date=b.trigger_date if b else None,
                    old_tariff=_tariff(a, currency) if a else None, new_tariff=_tariff(b, currency) if b else None, note=note,
                )
            )
        if changes or r0.eligibility.eligible != r1.eligibility.eligible:
            subjects.append(
                SubjectChange(
                    subject=sid, kind=r0.subject.kind, target_group=r0.subject.target_group,
                    eligible_old=r0.eligibility.eligible, eligible_new=r1.eligibility.eligible,
                    total=_delta(r0.total, r1.total), payments=changes,
                )
            )
    total_old = sum((r.total for r in before), ZERO)
    total_new = sum((r.total for r in after), ZERO)

    def name(lc: LoadedContract) -> str:
        return f"{lc.contract.id}@{lc.contract.version} ({lc.content_hash[:12]})"

    return WhatIf(
        old_contract=name(old),
        new_contract=name(new),
        as_of=as_of,
        histories=len(before),
        currency=currency,
        total=_delta(total_old, total_new),
        per_milestone={k: _delta(*per_milestone[k]) for k in _milestone_order(old, new, per_milestone) if per_milestone[k][0] != per_milestone[k][1]},
        per_payer={k: _delta(*v) for k, v in sorted(per_payer.items())},
        subjects=subjects,
    )


def _milestone_order(old: LoadedContract, new: LoadedContract, seen: dict) -> list[str]:
    """The agreement's own order of milestones (new version first), then any others by name."""
    order = list(dict.fromkeys([*new.contract.milestones, *old.contract.milestones]))
    return [m for m in order if m in seen] + sorted(m for m in seen if m not in order)


def _order(p: Payment):
    return (p.trigger_date, p.milestone, p.occurrence)
