"""Settlement of a cohort: cohort terms applied in a documented order, schedule, claw-backs.

Owns the use case "what does the cohort's payer owe whom, and when?". Each history is
evaluated (``evaluation``); then, taking the payments in the order *trigger date, subject
id, milestone, occurrence*:

1. cohort size: eligible participants (companies) beyond ``cohort_size``, counted in order
   of enrolment (accelerator start) then id, are refused;
2. volume tiers: the n-th outcome of a milestone in the cohort is priced by the tier with
   the largest ``after_outcomes`` below n (the tier's amount in force on the trigger date);
3. caps, each in force on the trigger date: per participant (per company), per milestone
   line, per payer (only that payer's part is cut), per contract.

Every reduction is listed with its clause. Given an earlier settlement (its JSON), the
changes are matched by payment id: new payments, adjusted amounts, and claw-backs of
payments no longer triggered. Same inputs, same bytes out.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext
from typing import Callable, Iterable, Literal

from pbr_rules.errors import Diagnostic, InputInvalid
from pbr_rules.evaluation import DecisionView, evaluate_cohort
from pbr_rules.language import History, LoadedContract
from pbr_rules.models.common import in_force
from pbr_rules.models.history import ParticipantHistory
from pbr_rules.models.results import ContractRef, EvaluationResult, TariffApplied
from pbr_rules.models.settlement import Adjustment, Change, PartyAmount, ScheduleRow, Settlement, SettlementLine
from pbr_rules.money import MONEY_CONTEXT, ZERO, round_money, split_by_shares

Period = Literal["month", "quarter"]


class SettlementInvalid(InputInvalid):
    """An earlier settlement given for comparison is not a settlement of this contract."""


def period_of(day: date, kind: Period) -> str:
    return f"{day.year}-{day.month:02d}" if kind == "month" else f"{day.year}-Q{(day.month - 1) // 3 + 1}"


@dataclass(slots=True)
class _Settled:
    """One settled payment as plain values; ``settle_results`` turns it into a ``SettlementLine``."""

    result: object  # the subject's EvaluationResult or DecisionView
    payment: object  # its payment
    tier: tuple | None  # (line, value, effective, reference) of the volume tier that priced it, if any
    gross: Decimal
    amount: Decimal
    parts: list[tuple[str, Decimal]]  # (payer, amount), exact
    adjustments: list[tuple[str, Decimal, str, str]]  # (kind, change, reference, note)


def settle(
    loaded: LoadedContract,
    histories: list[History],
    as_of: date,
    *,
    period: Period = "month",
    previous: Settlement | None = None,
    workers: int | None = 1,
    on_progress: Callable[[int, int], None] | None = None,
) -> Settlement:
    """Settle a cohort as of a date; with ``previous``, list what changed since it."""
    results = evaluate_cohort(loaded, histories, as_of, workers=workers, on_progress=on_progress)
    return settle_results(loaded, histories, results, as_of, period=period, previous=previous)


def settle_results(
    loaded: LoadedContract,
    histories: list[History],
    results: list[EvaluationResult] | list[DecisionView],
    as_of: date,
    *,
    period: Period = "month",
    previous: Settlement | None = None,
    with_changes: bool = True,
    not_proposed: frozenset[str] = frozenset(),
) -> Settlement:
    """Settle already-evaluated results. ``with_changes=False`` leaves the changes and the
    schedule empty (the business case needs only the lines and totals). Payment ids in
    ``not_proposed`` (claims the ledger holds as rejected) keep their lines but are never
    listed as changes, so nothing is proposed as due for them."""
    if previous is not None:
        _check_previous(loaded, previous, as_of, results)
    settled = _settle(loaded, results, admitted_subjects(loaded, histories, results))
    lines = [_line(s, period) for s in settled]
    changes = [ch for ch in _changes(lines, previous, as_of, period) if ch.payment_id not in not_proposed] if with_changes else []
    return Settlement(
        contract=_contract_ref(loaded),
        as_of=as_of,
        period_kind=period,
        previous_as_of=previous.as_of if previous else None,
        lines=lines,
        changes=changes,
        schedule=_schedule(changes),
        total=sum((x.amount for x in lines), ZERO),
        due_now=sum((x.due_now for x in changes), ZERO),
        refused=sum((s.gross - s.amount for s in settled), ZERO),
        by_payer=_by(((pa.party, pa.amount) for x in lines for pa in x.payers)),
        by_payee=_by(((x.payee, x.amount) for x in lines)),
    )


def settled_payers(
    loaded: LoadedContract,
    results: list[EvaluationResult] | list[DecisionView],
    admitted: dict[str, set[str]],
) -> list[tuple[date, tuple[tuple[str, Decimal], ...]]]:
    """(due date, ((payer, amount), ...)) of every line ``settle_results`` would give, in its order
    and with its amounts, without building the settlement: what a simulation run needs.

    ``admitted``: ``admitted_subjects(loaded, histories, results)``."""
    return [(s.payment.due_date, tuple((party, round_money(x)) for party, x in s.parts)) for s in _settle(loaded, results, admitted)]


def _settle(loaded: LoadedContract, results, admitted: dict[str, set[str]]) -> list[_Settled]:
    """The cohort terms applied to every payment, in the documented order (the module's docstring)."""
    c = loaded.contract
    dues: list[tuple[tuple, object, object]] = []
    ids: set[str] = set()
    for r in results:
        for p in r.payments:
            if p.payment_id in ids:  # a safety net: a subject given twice must never be paid twice
                raise SettlementInvalid([Diagnostic(path="histories", message=f"payment {p.payment_id} would be settled twice", hint="give each subject once")])
            ids.add(p.payment_id)
            dues.append(((p.trigger_date, r.subject.id, p.milestone, p.occurrence), r, p))
    dues.sort(key=lambda d: d[0])

    outcomes_of: dict[str, int] = defaultdict(int)
    paid_subject: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)  # by (kind, id)
    paid_milestone: dict[str, Decimal] = defaultdict(lambda: ZERO)
    paid_payer: dict[str, Decimal] = defaultdict(lambda: ZERO)
    paid_total = ZERO
    out: list[_Settled] = []

    caps = c.caps
    for _order, r, p in dues:
        day = p.trigger_date
        tariff = c.tariffs[p.milestone]
        parties = [x.party for x in p.payers]
        shares = [x.share for x in p.payers]
        adjustments: list[tuple[str, Decimal, str, str]] = []
        gross = p.tariff.value
        tier_applied = None

        if r.subject.id not in admitted[r.subject.kind]:
            size = _cohort_size(loaded, r.subject.kind)
            el = c.eligibility.citizens if r.subject.kind == "participant" else c.eligibility.companies
            adjustments.append(("cohort_size", -gross, el.reference, f"beyond the cohort size of {size}, counted in order of start"))
            out.append(_Settled(r, p, None, gross, ZERO, [(party, ZERO) for party in parties], adjustments))
            continue

        outcomes_of[p.milestone] += 1
        n = outcomes_of[p.milestone]
        tier = max((t for t in tariff.volume_tiers if t.after_outcomes < n), key=lambda t: t.after_outcomes, default=None) if tariff.volume_tiers else None
        if tier is not None:
            found = in_force(tier.amount, day)
            if found is not None:
                eff, entry = found
                adjustments.append(
                    (
                        "volume_tier",
                        entry.value - gross,
                        entry.reference,
                        f"outcome {n} of '{p.milestone}' in the cohort: priced by the tier after {tier.after_outcomes} outcomes",
                    )
                )
                gross = entry.value
                tier_applied = (f"tier>{tier.after_outcomes}", entry.value, eff, entry.reference)

        amount = gross
        per_participant = r.subject.kind == "participant"
        subject_cap = "cap:per_participant" if per_participant else "cap:per_company"
        dated = caps.per_participant if per_participant else caps.per_company
        amount = _cap(amount, dated, day, paid_subject[(r.subject.kind, r.subject.id)], subject_cap, adjustments, "{} {}", r.subject.kind, r.subject.id)
        amount = _cap(amount, caps.per_milestone.get(p.milestone), day, paid_milestone[p.milestone], "cap:per_milestone", adjustments, "milestone line '{}'", p.milestone)

        parts = list(zip(parties, split_by_shares(amount, shares)))
        capped_parts = []
        for party, part in parts:
            cap = in_force(caps.per_payer.get(party), day) if caps.per_payer else None
            if cap is not None:
                room = max(ZERO, cap[1].value - paid_payer[party])
                if part > room:
                    adjustments.append(("cap:per_payer", room - part, cap[1].reference, f"payer '{party}' reached its cap of {cap[1].value}"))
                    part = room
            capped_parts.append((party, part))
        amount = sum((x for _, x in capped_parts), ZERO)

        cap = in_force(caps.per_contract, day)
        if cap is not None:
            room = max(ZERO, cap[1].value - paid_total)
            if amount > room:
                adjustments.append(("cap:per_contract", room - amount, cap[1].reference, f"the contract's cap of {cap[1].value} is reached"))
                with localcontext(MONEY_CONTEXT):
                    weights = [x / amount for _, x in capped_parts]
                capped_parts = list(zip([party for party, _ in capped_parts], split_by_shares(room, weights)))
                amount = room

        paid_subject[(r.subject.kind, r.subject.id)] += amount
        paid_milestone[p.milestone] += amount
        for party, part in capped_parts:
            paid_payer[party] += part
        paid_total += amount
        out.append(_Settled(r, p, tier_applied, gross, amount, capped_parts, adjustments))
    return out


def _cap(amount, dated, day, paid, kind, adjustments, what: str, *what_of) -> Decimal:
    """``amount`` within the cap in force on ``day`` (``paid`` already paid under it); a reduction is
    noted in ``adjustments`` as ``what`` (a format filled with ``what_of``) reaching the cap."""
    found = in_force(dated, day)
    if found is None:
        return amount
    room = max(ZERO, found[1].value - paid)
    if amount > room:
        adjustments.append((kind, room - amount, found[1].reference, f"{what.format(*what_of)} reached the cap of {found[1].value}"))
        return room
    return amount


def _line(s: _Settled, period: Period) -> SettlementLine:
    # Settlement re-applies the per-subject cap itself (after volume tiers), so every
    # reduction of the line is among its adjustments.
    r, p, gross, amount = s.result, s.payment, s.gross, s.amount
    if s.tier is not None:
        line, value, effective, reference = s.tier
        tariff = TariffApplied(line=line, value=value, effective=effective, reference=reference)
    else:
        t = p.tariff
        tariff = t if isinstance(t, TariffApplied) else TariffApplied(line=t.line, value=t.value, effective=t.effective, reference=t.reference)
    status = "refused" if amount == 0 and gross > 0 else ("reduced" if amount < gross else "paid")
    return SettlementLine(
        payment_id=p.payment_id,
        subject_kind=r.subject.kind,
        subject=r.subject.id,
        milestone=p.milestone,
        occurrence=p.occurrence,
        trigger_date=p.trigger_date,
        due_date=p.due_date,
        period=period_of(p.due_date, period),
        tariff=tariff,
        gross=gross,
        amount=round_money(amount),
        payers=[PartyAmount(party=party, amount=round_money(x)) for party, x in s.parts],
        payee=p.payee,
        reference=p.reference,
        status=status,
        adjustments=[Adjustment(kind=kind, change=change, reference=reference, note=note) for kind, change, reference, note in s.adjustments],
    )


def _cohort_size(loaded, kind) -> int | None:
    c = loaded.contract
    el = c.eligibility.citizens if kind == "participant" else c.eligibility.companies
    return el.cohort_size if el is not None else None


def admitted_subjects(loaded, histories, results) -> dict[str, set[str]]:
    """Eligible subjects within the cohort size, counted in order of start date, then id."""
    start = {}
    for h in histories:
        if isinstance(h, ParticipantHistory):
            start[("participant", h.participant)] = h.enrolment
        else:
            start[("company", h.company)] = h.start
    out: dict[str, set[str]] = {"participant": set(), "company": set()}
    for kind in out:
        eligible = sorted(
            (start[(kind, r.subject.id)], r.subject.id) for r in results if r.subject.kind == kind and r.eligibility.eligible
        )
        size = _cohort_size(loaded, kind)
        out[kind] = {sid for _, sid in (eligible if size is None else eligible[:size])}
    return out


def _changes(lines: list[SettlementLine], previous: Settlement | None, as_of: date, period: Period) -> list[Change]:
    before = {x.payment_id: x for x in previous.lines} if previous else {}
    out = []
    for x in lines:
        old = before.pop(x.payment_id, None)
        prev_amount = old.amount if old else ZERO
        if old is not None and old.amount == x.amount and _parts(old) == _parts(x):
            continue
        kind = "new" if old is None else "adjusted"
        parts = _parts(x)
        for party, amt in (_parts(old) if old else {}).items():
            parts[party] = parts.get(party, ZERO) - amt
        out.append(
            Change(
                payment_id=x.payment_id,
                kind=kind,
                previous=prev_amount,
                current=x.amount,
                due_now=x.amount - prev_amount,
                payers=[PartyAmount(party=k, amount=v) for k, v in sorted(parts.items())],
                payee=x.payee,
                period=x.period if kind == "new" else period_of(as_of, period),
                reason="newly triggered" if kind == "new" else _why_adjusted(old, x),
            )
        )
    for pid, old in sorted(before.items()):
        out.append(
            Change(
                payment_id=pid,
                kind="clawback",
                previous=old.amount,
                current=ZERO,
                due_now=-old.amount,
                payers=[PartyAmount(party=k, amount=-v) for k, v in sorted(_parts(old).items())],
                payee=old.payee,
                period=period_of(as_of, period),
                reason="no longer triggered by the corrected history: the amount settled before is to be paid back",
            )
        )
    return out


def _why_adjusted(old: SettlementLine, new: SettlementLine) -> str:
    if new.amount < old.amount:
        return f"amount fell from {old.amount} to {new.amount} (" + ("; ".join(a.note for a in new.adjustments) or "tariff or history changed") + ")"
    return f"amount rose from {old.amount} to {new.amount}"


def _parts(line: SettlementLine) -> dict[str, Decimal]:
    return {pa.party: pa.amount for pa in line.payers}


def _schedule(changes: list[Change]) -> list[ScheduleRow]:
    acc: dict[tuple[str, str, str], Decimal] = defaultdict(lambda: ZERO)
    for ch in changes:
        for pa in ch.payers:
            acc[(ch.period, pa.party, ch.payee)] += pa.amount
    return [ScheduleRow(period=k[0], payer=k[1], payee=k[2], amount=v) for k, v in sorted(acc.items()) if v != 0]


def _by(pairs: Iterable[tuple[str, Decimal]]) -> list[PartyAmount]:
    acc: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for k, v in pairs:
        acc[k] += v
    return [PartyAmount(party=k, amount=v) for k, v in sorted(acc.items())]


def _contract_ref(loaded) -> ContractRef:
    c = loaded.contract
    return ContractRef(id=c.id, version=c.version, content_hash=loaded.content_hash, municipality=c.municipality.code)


def _check_previous(loaded, previous: Settlement, as_of: date, results) -> None:
    problems = []
    present = {(r.subject.kind, r.subject.id) for r in results}
    missing = sorted({(x.subject_kind, x.subject) for x in previous.lines} - present)
    if missing:
        shown = ", ".join(f"{k} {i}" for k, i in missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        problems.append(
            Diagnostic(
                path="histories",
                message=f"the previous settlement paid subjects that are not in this cohort: {shown}",
                hint="give the whole cohort again (a subject left out would look like a claw-back of everything it was paid)",
            )
        )
    if previous.contract.id != loaded.contract.id:
        problems.append(Diagnostic(path="contract.id", message=f"the previous settlement is of contract '{previous.contract.id}', not '{loaded.contract.id}'"))
    if previous.as_of > as_of:
        problems.append(Diagnostic(path="as_of", message=f"the previous settlement is as of {previous.as_of}, after this one ({as_of})"))
    if problems:
        raise SettlementInvalid(problems)
