"""Settlement of a cohort: cohort terms applied in a documented order, schedule, claw-backs.

Owns the use case "what does the cohort's payer owe whom, and when?". Each history is
evaluated (``evaluation``); then, taking the payments in the order *trigger date, subject
id, milestone, occurrence*:

1. cohort size: eligible participants (companies) beyond ``cohort_size``, counted in order
   of enrolment (accelerator start) then id, are refused;
2. volume tiers: the n-th outcome of a milestone in the cohort is priced by the tier with
   the largest ``after_outcomes`` below n (the tier's amount in force on the trigger date);
3. caps: the tariff's ``max_total`` for the milestone and the subject (read on the
   pricing date, like the tariff), then, each in force on the trigger date: per
   participant (per company), per milestone line, per payer (only that payer's part is
   cut), per contract.

Volume-tier amounts are read on the pricing date (the trigger date unless the tariff
prices on the enrolment or referral date). Soft targets (``eligibility.*.target``) are
reported beside the lines, never enforced.

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
from pbr_rules.i18n import _, format_date
from pbr_rules.models.settlement import (
    ORDER,
    ORDER_WITH_MAX_TOTAL,
    Adjustment,
    Change,
    PartyAmount,
    ScheduleRow,
    Settlement,
    SettlementLine,
    TargetReport,
)
from pbr_rules.money import MONEY_CONTEXT, ZERO, round_money, split_by_shares

Period = Literal["month", "quarter"]


class SettlementInvalid(InputInvalid):
    """An earlier settlement given for comparison is not a settlement of this contract."""


def period_of(day: date, kind: Period) -> str:
    return f"{day.year}-{day.month:02d}" if kind == "month" else f"{day.year}-Q{(day.month - 1) // 3 + 1}"


@dataclass
class _Due:
    result: EvaluationResult
    payment: object  # models.results.Payment
    order: tuple


def settle(
    loaded: LoadedContract,
    histories: list[History],
    as_of: date,
    *,
    period: Period = "month",
    previous: Settlement | None = None,
    workers: int | None = 1,
    executor=None,
    on_progress: Callable[[int, int], None] | None = None,
) -> Settlement:
    """Settle a cohort as of a date; with ``previous``, list what changed since it. ``executor``:
    evaluate on it (a process pool, a Dask cluster's; evaluation.executor_for)."""
    results = evaluate_cohort(loaded, histories, as_of, workers=workers, executor=executor, on_progress=on_progress)
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
        _check_previous(loaded, previous, as_of, {(r.subject.kind, r.subject.id) for r in results})
    admitted = admitted_subjects(loaded, histories, results)

    dues: list[_Due] = []
    ids: set[str] = set()
    for r in results:
        for p in r.payments:
            if p.payment_id in ids:  # a safety net: a subject given twice must never be paid twice
                raise SettlementInvalid([Diagnostic(path="histories", message=f"payment {p.payment_id} would be settled twice", hint="give each subject once")])
            ids.add(p.payment_id)
            dues.append(_Due(r, p, (p.trigger_date, r.subject.id, p.milestone, p.occurrence)))
    dues.sort(key=lambda d: d.order)
    return _settle_dues(
        loaded, ((d.result.subject, d.payment) for d in dues), lambda kind, sid: sid in admitted[kind], as_of,
        period=period, previous=previous, with_changes=with_changes, not_proposed=not_proposed,
        targets=target_reports(loaded, histories, results, as_of),
    )


def settled_payers(loaded: LoadedContract, results, admitted: dict[str, set[str]]) -> list[tuple[date, tuple[tuple[str, Decimal], ...]]]:
    """(due date, ((payer, amount), ...)) of every line ``settle_results`` would give, in its order
    and with its amounts: what a simulation run needs of a settlement (``admitted`` as
    ``admitted_subjects`` gives it). The same cohort terms, applied by the same code
    (``_apply_terms``), without building the lines around them."""
    dues = sorted(
        ((p.trigger_date, r.subject.id, p.milestone, p.occurrence), r.subject, p) for r in results for p in r.payments
    )
    return [
        (p.due_date, tuple((party, round_money(x)) for party, x in parts))
        for _subject, p, _tier, _gross, _amount, parts, _adjustments in _apply_terms(
            loaded, ((subject, p) for _, subject, p in dues), lambda kind, sid: sid in admitted[kind]
        )
    ]


def _settle_dues(loaded, dues, is_admitted, as_of, *, period, previous, with_changes, not_proposed, targets=()) -> Settlement:
    """The settlement of the payments in settlement order (``_apply_terms``), its lines and changes."""
    c = loaded.contract
    lines: list[SettlementLine] = []
    refused = ZERO
    for subject, p, tier, gross, amount, parts, adjustments in _apply_terms(loaded, dues, is_admitted):
        refused += gross - amount
        lines.append(_line(loaded, subject, p, period, _applied(p.tariff, tier), gross, amount, parts, adjustments))

    changes = [ch for ch in _changes(lines, previous, as_of, period, c.currency) if ch.payment_id not in not_proposed] if with_changes else []
    return Settlement(
        contract=_contract_ref(loaded),
        currency=c.currency,
        as_of=as_of,
        period_kind=period,
        previous_as_of=previous.as_of if previous else None,
        order=ORDER_WITH_MAX_TOTAL if any(t.max_total for t in c.tariffs.values()) else ORDER,
        lines=lines,
        changes=changes,
        schedule=_schedule(changes),
        total=sum((x.amount for x in lines), ZERO),
        due_now=sum((x.due_now for x in changes), ZERO),
        refused=refused,
        by_payer=_by(((pa.party, pa.amount) for x in lines for pa in x.payers)),
        by_payee=_by(((x.payee, x.amount) for x in lines)),
        targets=list(targets),
    )


def _applied(t, tier) -> TariffApplied:
    """The tariff a line is priced by: the payment's, or the volume tier's (``tier``: (tier, effective, entry))."""
    if tier is not None:
        tr, eff, entry = tier
        return TariffApplied(
            line=f"tier>{tr.after_outcomes}", value=entry.value, effective=eff, reference=entry.reference,
            priced_by=t.priced_by, priced_on=t.priced_on,
        )
    if isinstance(t, TariffApplied):
        return t
    return TariffApplied(line=t.line, value=t.value, effective=t.effective, reference=t.reference, priced_by=t.priced_by, priced_on=t.priced_on)


def _apply_terms(loaded, dues, is_admitted):
    """The cohort terms over the payments in settlement order: (subject, payment) pairs sorted by
    trigger date, subject id, milestone, occurrence (docs/semantics.md); ``is_admitted(kind, id)``
    says whether the subject is within the cohort size. Yields, per payment, (subject, payment,
    volume tier or None, gross, amount, [(payer, part)], adjustments)."""
    c = loaded.contract
    outcomes_of: dict[str, int] = defaultdict(int)
    paid_subject: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)  # by (kind, id)
    paid_subject_milestone: dict[tuple[str, str, str], Decimal] = defaultdict(lambda: ZERO)  # by (kind, id, milestone): max_total
    paid_milestone: dict[str, Decimal] = defaultdict(lambda: ZERO)
    paid_payer: dict[str, Decimal] = defaultdict(lambda: ZERO)
    paid_total = ZERO
    netted: dict[str, tuple[Decimal, Adjustment | None]] = {}
    if any(t.formula is not None and t.formula.basis == "cohort" for t in c.tariffs.values()):
        dues = list(dues)  # the cohort's results are netted before any of them is settled
        netted = _cohort_net(loaded, dues, is_admitted)

    for subject, p in dues:
        day = p.trigger_date
        tariff = c.tariffs[p.milestone]
        payers = [(x.party, x.share) for x in p.payers]
        adjustments: list[Adjustment] = []
        gross = max(p.tariff.value, ZERO)  # a cohort-basis formula's own result may be below 0; alone it pays 0
        t = p.tariff
        applied_tier = None

        if not is_admitted(subject.kind, subject.id):
            size = _cohort_size(loaded, subject.kind)
            el = c.eligibility.citizens if subject.kind == "participant" else c.eligibility.companies
            adjustments.append(
                Adjustment(kind="cohort_size", change=-gross, reference=el.reference, note=f"beyond the cohort size of {size}, counted in order of start")
            )
            yield subject, p, None, gross, ZERO, [(party, ZERO) for party, _ in payers], adjustments
            continue

        priced_on = getattr(t, "priced_on", None) or day  # the tariff's values are read on the pricing date
        outcomes_of[p.milestone] += 1
        n = outcomes_of[p.milestone]
        tier = max((t for t in tariff.volume_tiers if t.after_outcomes < n), key=lambda t: t.after_outcomes, default=None) if tariff.volume_tiers else None
        if tier is not None:
            found = in_force(tier.amount, priced_on)
            if found is not None:
                eff, entry = found
                adjustments.append(
                    Adjustment(
                        kind="volume_tier",
                        change=entry.value - gross,
                        reference=entry.reference,
                        note=f"outcome {n} of '{p.milestone}' in the cohort: priced by the tier after {tier.after_outcomes} outcomes",
                    )
                )
                gross = entry.value
                applied_tier = (tier, eff, entry)

        amount = gross
        net = netted.get(p.payment_id)
        if net is not None:  # a cohort-basis formula: this subject's part of the cohort's net result
            if net[1] is not None:
                adjustments.append(net[1])
            amount = net[0]
        mine = (subject.kind, subject.id, p.milestone)
        if tariff.max_total is not None:
            amount = _cap(amount, tariff.max_total, priced_on, paid_subject_milestone[mine], "cap:max_total", adjustments,
                          lambda: f"{subject.kind} {subject.id} under '{p.milestone}'", c.currency, "maximum total")
        if subject.kind == "participant":
            subject_cap, subject_dated = "cap:per_participant", c.caps.per_participant
        else:
            subject_cap, subject_dated = "cap:per_company", c.caps.per_company
        amount = _cap(amount, subject_dated, day, paid_subject[(subject.kind, subject.id)], subject_cap, adjustments, lambda: f"{subject.kind} {subject.id}", c.currency)
        amount = _cap(amount, c.caps.per_milestone.get(p.milestone), day, paid_milestone[p.milestone], "cap:per_milestone", adjustments, lambda: f"milestone line '{p.milestone}'", c.currency)

        parts = list(zip([party for party, _ in payers], split_by_shares(amount, [share for _, share in payers])))
        capped_parts = []
        for party, part in parts:
            cap = in_force(c.caps.per_payer.get(party), day)
            if cap is not None:
                room = max(ZERO, cap[1].value - paid_payer[party])
                if part > room:
                    adjustments.append(
                        Adjustment(kind="cap:per_payer", change=room - part, reference=cap[1].reference, note=f"payer '{party}' reached its cap of {c.currency} {cap[1].value}")
                    )
                    part = room
            capped_parts.append((party, part))
        amount = sum((x for _, x in capped_parts), ZERO)

        cap = in_force(c.caps.per_contract, day)
        if cap is not None:
            room = max(ZERO, cap[1].value - paid_total)
            if amount > room:
                adjustments.append(
                    Adjustment(kind="cap:per_contract", change=room - amount, reference=cap[1].reference, note=f"the contract's cap of {c.currency} {cap[1].value} is reached")
                )
                with localcontext(MONEY_CONTEXT):
                    weights = [x / amount for _, x in capped_parts]
                capped_parts = list(zip([party for party, _ in capped_parts], split_by_shares(room, weights)))
                amount = room

        paid_subject[(subject.kind, subject.id)] += amount
        if tariff.max_total is not None:
            paid_subject_milestone[mine] += amount
        paid_milestone[p.milestone] += amount
        for party, part in capped_parts:
            paid_payer[party] += part
        paid_total += amount
        yield subject, p, applied_tier, gross, amount, capped_parts, adjustments


def _cohort_net(loaded, dues, is_admitted) -> dict[str, tuple[Decimal, Adjustment | None]]:
    """docs/semantics.md § 10, "For the cohort": for each formula tariff on basis cohort and each
    occurrence number k, the admitted subjects' results (their tariff values, which may be below
    0) are summed; the floor and cap in force on the group's last trigger date bound the sum; a
    sum below 0 pays 0; the sum is shared out over the positive results in proportion (in whole
    øre that add up), or equally when none is positive and a floor pays. Returns, by payment id,
    the amount and the adjustment that says so."""
    c = loaded.contract
    groups: dict[tuple[str, int], list] = defaultdict(list)
    for subject, p in dues:
        t = c.tariffs[p.milestone]
        if t.formula is not None and t.formula.basis == "cohort" and is_admitted(subject.kind, subject.id):
            groups[(p.milestone, p.occurrence)].append(p)
    out: dict[str, tuple[Decimal, Adjustment | None]] = {}
    for (mid, k), payments in groups.items():
        f = c.tariffs[mid].formula
        last = max(p.trigger_date for p in payments)
        results = [p.tariff.value for p in payments]
        total = sum(results, ZERO)
        bounded, why = total, ""
        for key in ("floor", "cap"):
            found = in_force(getattr(f, key), last)
            if found is not None and ((key == "floor" and bounded < found[1].value) or (key == "cap" and bounded > found[1].value)):
                bounded, why = found[1].value, f", {'raised to the floor' if key == 'floor' else 'cut to the cap'} of {c.currency} {found[1].value} ({found[1].reference})"
        bounded = max(bounded, ZERO)
        positive = [max(r, ZERO) for r in results]
        whole = sum(positive, ZERO)
        with localcontext(MONEY_CONTEXT):
            weights = [x / whole for x in positive] if whole > 0 else [Decimal(1) / len(payments)] * len(payments)
        shares = split_by_shares(bounded, weights) if bounded > 0 else [ZERO] * len(payments)
        note = (
            f"occurrence {k} of '{mid}' for the cohort: the {len(payments)} results sum to {c.currency} {total}{why}; "
            f"{c.currency} {bounded} is shared over the positive results"
        )
        for p, mine, share in zip(payments, positive, shares):
            # the adjustment is listed only where the netting changed what the subject's own result pays
            out[p.payment_id] = (share, Adjustment(kind="cohort_net", change=share - mine, reference=f.reference, note=note) if share != mine else None)
    return out


def _cap(amount, dated, day, paid, kind, adjustments, what: Callable[[], str], currency, name: str = "cap") -> Decimal:
    """``amount`` within what is left of a cap (``dated``) in force on ``day``; ``what()`` names the
    capped line in the adjustment's note (worded only when the cap bites)."""
    if not dated:
        return amount
    found = in_force(dated, day)
    if found is None:
        return amount
    room = max(ZERO, found[1].value - paid)
    if amount > room:
        adjustments.append(Adjustment(kind=kind, change=room - amount, reference=found[1].reference, note=f"{what()} reached the {name} of {currency} {found[1].value}"))
        return room
    return amount


def target_reports(loaded, histories, results, as_of: date) -> list[TargetReport]:
    """Each soft target against the eligible subjects that started by both the as-of date and
    the target date (docs/semantics.md § 9). Counted whether or not they are within the
    cohort size; nothing is refused for a target. Words in the current language."""
    starts: dict[str, list[date]] = {}
    for kind in ("participant", "company"):
        start = _starts(histories, kind)
        starts[kind] = [start[r.subject.id] for r in results if r.subject.kind == kind and r.eligibility.eligible]
    return targets_of(loaded, starts, as_of)


def targets_of(loaded, eligible_starts: dict[str, list[date]], as_of: date) -> list[TargetReport]:
    """``target_reports`` from the start dates of the eligible subjects of each kind (what a
    streamed settlement keeps of them)."""
    c = loaded.contract
    out = []
    for kind, el in (("participant", c.eligibility.citizens), ("company", c.eligibility.companies)):
        if el is None or el.target is None:
            continue
        t = el.target
        window = c.eligibility.citizens.enrolment_window if kind == "participant" else None
        by = t.by or (window.end if window is not None else c.term.end)
        last = min(as_of, by)
        counted = sum(1 for day in eligible_starts.get(kind, ()) if day <= last)
        difference = counted - t.size
        status = "over" if difference > 0 else ("under" if difference < 0 else "on")
        final = as_of >= by
        out.append(
            TargetReport(
                subjects="participants" if kind == "participant" else "companies",
                target=t.size, by=by, reference=t.reference, counted=counted, difference=difference, status=status,
                final=final, cohort_size=el.cohort_size,
                answer=_target_answer(kind, t.size, by, t.reference, counted, difference, final, el.cohort_size),
            )
        )
    return out


def _starts(histories, kind: str) -> dict[str, date]:
    if kind == "participant":
        return {h.participant: h.enrolment for h in histories if isinstance(h, ParticipantHistory)}
    return {h.company: h.start for h in histories if not isinstance(h, ParticipantHistory)}


def _target_answer(kind, size, by, reference, counted, difference, final, cohort_size) -> str:
    values = {"counted": counted, "target": size, "date": format_date(by), "reference": reference, "n": abs(difference)}
    if kind == "participant":
        head = _("Participants: {counted} against a target of {target} by {date} ({reference})") if final else _(
            "Participants: {counted} so far against a target of {target} by {date} ({reference})"
        )
    else:
        head = _("Companies: {counted} against a target of {target} by {date} ({reference})") if final else _(
            "Companies: {counted} so far against a target of {target} by {date} ({reference})"
        )
    if difference > 0:
        tail = _("{n} over target")
    elif difference < 0:
        tail = _("{n} under target") if final else _("{n} to go")
    else:
        tail = _("on target")
    text = head.format(**values) + ": " + tail.format(**values)
    if cohort_size is not None and counted > cohort_size:
        text += "; " + _("{n} beyond the cohort size of {size} are refused payment").format(n=counted - cohort_size, size=cohort_size)
    return text + ". " + _("The target is soft: no payment is refused for being over or under it.")


def _line(loaded, subject, p, period, tariff, gross, amount, parts, adjustments) -> SettlementLine:
    # Settlement re-applies the per-subject cap itself (after volume tiers), so every
    # reduction of the line is among its adjustments.
    status = "refused" if amount == 0 and gross > 0 else ("reduced" if amount < gross else "paid")
    return SettlementLine(
        payment_id=p.payment_id,
        subject_kind=subject.kind,
        subject=subject.id,
        milestone=p.milestone,
        occurrence=p.occurrence,
        trigger_date=p.trigger_date,
        due_date=p.due_date,
        period=period_of(p.due_date, period),
        tariff=tariff,
        gross=gross,
        amount=round_money(amount),
        payers=[PartyAmount(party=party, amount=round_money(x)) for party, x in parts],
        payee=p.payee,
        reference=p.reference,
        status=status,
        adjustments=list(adjustments),
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


def _changes(lines: list[SettlementLine], previous: Settlement | None, as_of: date, period: Period, currency: str) -> list[Change]:
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
                reason="newly triggered" if kind == "new" else _why_adjusted(old, x, currency),
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


def _why_adjusted(old: SettlementLine, new: SettlementLine, currency: str) -> str:
    if new.amount < old.amount:
        return f"amount fell from {currency} {old.amount} to {currency} {new.amount} (" + ("; ".join(a.note for a in new.adjustments) or "tariff or history changed") + ")"
    return f"amount rose from {currency} {old.amount} to {currency} {new.amount}"


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


def _check_previous(loaded, previous: Settlement, as_of: date, present: set[tuple[str, str]]) -> None:
    """``present``: the (kind, id) of the cohort's subjects (at least those the previous settlement paid)."""
    problems = []
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
    if previous.currency != loaded.contract.currency:
        problems.append(
            Diagnostic(
                path="currency",
                message=f"the previous settlement is in {previous.currency}, this contract's amounts in {loaded.contract.currency}: "
                "amounts in different currencies are never set against each other",
                hint="settle a contract whose currency changed as a new contract (a new id), and close the old one's claims in its own currency",
            )
        )
    if previous.contract.id != loaded.contract.id:
        problems.append(Diagnostic(path="contract.id", message=f"the previous settlement is of contract '{previous.contract.id}', not '{loaded.contract.id}'"))
    if previous.as_of > as_of:
        problems.append(Diagnostic(path="as_of", message=f"the previous settlement is as of {previous.as_of}, after this one ({as_of})"))
    if problems:
        raise SettlementInvalid(problems)
