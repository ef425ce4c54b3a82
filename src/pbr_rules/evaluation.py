"""Evaluation: one history in, the triggered payments out, with evidence and clause.

Owns the use case "which outcome payments does this history trigger under this contract,
as of this date?" (docs/semantics.md). Measures are derived in ``measures``; the compiled
rules in ``engine`` decide eligibility and which milestone occurrences count; tariffs,
claim lag, payer shares and the per-subject cap are applied here, in Python, with
Decimal money. Cohort-level caps and tiers are left to settlement and named on each
payment (``subject_to``).
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from decimal import Decimal
from typing import Callable, Iterable

from .engine import compile_contract
from .errors import Diagnostic, EvaluationRefused, HistoryInvalid
from .loader import History, LoadedContract, load_contract
from .measures import Derived, derive_company, derive_participant
from .models.common import in_force
from .models.contract import Side
from .models.history import CompanyHistory, ParticipantHistory
from .models.results import (
    CapApplied,
    ContractRef,
    EligibilityResult,
    EvaluationResult,
    MilestoneResult,
    Occurrence,
    PayerPart,
    Payment,
    RuleResult,
    SubjectRef,
    TariffApplied,
)
from .money import ZERO, round_money, split_by_shares
from .periods import add_days

RULE_REFERENCES = {
    "municipality": "municipality",
    "target_group": "target_groups",
}


def evaluate(
    loaded: LoadedContract,
    history: History,
    as_of: date | None = None,
    eligible_participants: Iterable[str] = (),
) -> EvaluationResult:
    """Evaluate one participant or company history as of a date (default: its extraction date)."""
    as_of = as_of or history.extracted
    if as_of > history.extracted:
        raise EvaluationRefused(
            f"as-of date {as_of} is after the history's extraction date {history.extracted}: "
            "the history cannot know what happened after it was extracted"
        )
    compiled = compile_contract(loaded)
    if isinstance(history, ParticipantHistory):
        _check_codes(loaded, history)
        derived = derive_participant(loaded, history, as_of)
        side, rule_names, subject = Side.citizen, compiled.citizen_rules, SubjectRef(kind="participant", id=history.participant, target_group=history.target_group.value)
    else:
        derived = derive_company(loaded, history, as_of, frozenset(eligible_participants))
        side, rule_names, subject = Side.company, compiled.company_rules, SubjectRef(kind="company", id=history.company)

    facts = [derived.subject_fact]
    for i, cand in enumerate(derived.candidates):
        facts.append(
            {
                "t": "o",
                "id": f"o{i}",
                "ms": cand.milestone,
                "v": cand.version,
                "k": cand.k,
                "val": cand.value,
                "day": cand.day.toordinal(),
                "prq": 1 if cand.prerequisites_met else 0,
            }
        )
    fired = compiled.run(facts)
    passed = {rule for rule, fact_id in fired if fact_id == "s"}
    accepted = sorted(int(fact_id[1:]) for rule, fact_id in fired if rule.startswith("m:"))

    eligibility = _eligibility(loaded, side, rule_names, passed, derived)
    milestones = _milestones(loaded, side, derived, accepted if eligibility.eligible else [], eligibility)
    payments = _payments(loaded, side, subject, milestones, history)
    return EvaluationResult(
        contract=ContractRef(
            id=loaded.contract.id,
            version=loaded.contract.version,
            content_hash=loaded.content_hash,
            municipality=loaded.contract.municipality.code,
        ),
        subject=subject,
        as_of=as_of,
        horizon=derived.horizon,
        eligibility=eligibility,
        milestones=milestones,
        payments=payments,
        total=sum((p.amount for p in payments), ZERO),
    )


def _check_codes(loaded: LoadedContract, h: ParticipantHistory) -> None:
    known = loaded.codes.codes
    problems = [p for p in h.problems(frozenset(known)) if "benefit code" in p[1]]
    if problems:
        raise HistoryInvalid([Diagnostic(path=".".join(str(x) for x in path), message=msg) for path, msg in problems])


def _eligibility(loaded, side, rule_names, passed, derived: Derived) -> EligibilityResult:
    c = loaded.contract
    el = c.eligibility.citizens if side == Side.citizen else c.eligibility.companies
    rules = []
    for name in rule_names:
        short = name.split(":", 1)[1]
        if short == "baseline":
            ref = el.baseline.reference
        elif short == "term":
            ref = c.payment.reference if el is None else el.reference
        else:
            ref = el.reference if el is not None else ""
        rules.append(RuleResult(rule=short, passed=name in passed, detail=derived.rule_details.get(short, ""), reference=ref))
    if side == Side.company and el is None:
        rules.append(RuleResult(rule="companies", passed=False, detail="the contract has no company eligibility", reference=""))
    return EligibilityResult(eligible=all(r.passed for r in rules), rules=rules)


def _milestones(loaded, side, derived: Derived, accepted: list[int], eligibility: EligibilityResult) -> list[MilestoneResult]:
    c = loaded.contract
    by_milestone: dict[str, list] = {}
    for i in accepted:
        cand = derived.candidates[i]
        by_milestone.setdefault(cand.milestone, []).append(cand)
    out = []
    failed = [r.rule for r in eligibility.rules if not r.passed]
    for mid, m in c.milestones.items():
        if m.side != side:
            continue
        versions = m.versions()
        occurrences = []
        for cand in sorted(by_milestone.get(mid, []), key=lambda x: (x.day, x.version)):
            start, _, ref = versions[cand.version]
            occurrences.append(
                Occurrence(occurrence=cand.k, met_on=cand.day, definition_from=start, definition_reference=ref, evidence=cand.evidence())
            )
        why = None
        if not eligibility.eligible:
            why = f"not eligible ({', '.join(failed)} not met)"
        elif not occurrences:
            why = derived.why_not.get(mid) or "not met by the horizon"
        out.append(
            MilestoneResult(
                milestone=mid,
                side=m.side.value,
                description=m.description,
                reference=m.reference,
                met=bool(occurrences),
                occurrences=occurrences,
                progress=_progress(m, derived.progress.get(mid), occurrences, eligibility.eligible),
                why_not=why,
            )
        )
    return out


def _progress(milestone, progress, occurrences, eligible) -> str | None:
    """Progress towards the next occurrence, when one can still come."""
    if not eligible:
        return None
    if occurrences and max(milestone.repeat.max_times if milestone.repeat else 1, *(v.repeat.max_times if v and v.repeat else 1 for _, v, _ in milestone.versions())) <= len(occurrences):
        return None
    return progress


def _payments(loaded, side, subject: SubjectRef, milestones: list[MilestoneResult], history) -> list[Payment]:
    c = loaded.contract
    group = subject.target_group
    due: list[tuple] = []
    for mr in milestones:
        tariff = c.tariffs.get(mr.milestone)
        if tariff is None:
            continue
        line = group if group is not None and group in tariff.amounts else "all"
        dated = tariff.amounts.get(line)
        for occ in mr.occurrences:
            found = in_force(dated, occ.met_on)
            if found is None:
                continue
            effective, entry = found
            due.append((occ.met_on, mr.milestone, occ.occurrence, occ, tariff, line, effective, entry, mr))
    due.sort(key=lambda t: (t[0], t[1], t[2]))

    cap_name = "per_participant" if side == Side.citizen else "per_company"
    cap_dated = getattr(c.caps, cap_name)
    paid = ZERO
    payments = []
    lag = c.payment.claim_lag
    for met_on, mid, k, occ, tariff, line, effective, entry, mr in due:
        amount = round_money(entry.value)
        cap_applied = None
        cap = in_force(cap_dated, met_on)
        if cap is not None:
            cap_day, cap_entry = cap
            room = max(ZERO, cap_entry.value - paid)
            if amount > room:
                cap_applied = CapApplied(cap=cap_name, limit=cap_entry.value, effective=cap_day, reference=cap_entry.reference, reduced_by=amount - room)
                amount = room
        paid += amount
        payers = tariff.payers or c.payment.payers
        parts = split_by_shares(amount, [p.share for p in payers])
        payee = tariff.payee or (c.payment.citizen_payee if side == Side.citizen else c.payment.company_payee)
        payments.append(
            Payment(
                payment_id=f"{c.id}/{subject.id}/{mid}/{k}",
                milestone=mid,
                occurrence=k,
                trigger_date=met_on,
                due_date=add_days(met_on, lag.days, working=lag.kind == "working"),
                amount=amount,
                tariff=TariffApplied(line=line, value=entry.value, effective=effective, reference=entry.reference),
                payers=[PayerPart(party=p.party, share=p.share, amount=a) for p, a in zip(payers, parts)],
                payee=payee,
                reference=occ.definition_reference,
                cap=cap_applied,
                subject_to=_subject_to(c, mid, tariff, payers, side),
            )
        )
    return payments


def _subject_to(c, mid, tariff, payers, side) -> list[str]:
    out = []
    if tariff.volume_tiers:
        out.append("volume_tiers")
    if mid in c.caps.per_milestone:
        out.append("cap:per_milestone")
    for p in payers:
        if p.party in c.caps.per_payer:
            out.append(f"cap:per_payer:{p.party}")
    if c.caps.per_contract:
        out.append("cap:per_contract")
    el = c.eligibility.citizens if side == Side.citizen else c.eligibility.companies
    if el is not None and el.cohort_size:
        out.append("cohort_size")
    return out


# --- cohorts ------------------------------------------------------------------------------


def evaluate_cohort(
    loaded: LoadedContract,
    histories: list[History],
    as_of: date | None = None,
    *,
    workers: int | None = 1,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[EvaluationResult]:
    """Evaluate participants, then companies (whose hires need the participants' eligibility).

    With ``workers`` > 1 the histories are spread over processes; the results are exactly
    those of one-by-one evaluation, in input order. Histories extracted before ``as_of``
    are evaluated as of their own extraction date.
    """
    participants = [h for h in histories if isinstance(h, ParticipantHistory)]
    companies = [h for h in histories if isinstance(h, CompanyHistory)]
    total = len(histories)
    done = 0

    def tick(n=1):
        nonlocal done
        done += n
        if on_progress:
            on_progress(done, total)

    def when(h):
        return min(as_of, h.extracted) if as_of else None

    workers = workers or os.cpu_count() or 1
    results: dict[int, EvaluationResult] = {}
    if workers > 1 and len(participants) >= 200 and loaded.path and not loaded.path.startswith("<"):
        chunk = max(50, len(participants) // (workers * 8))
        with ProcessPoolExecutor(max_workers=workers, initializer=_worker_init, initargs=(loaded.path, loaded.content_hash)) as pool:
            args = [(h, when(h)) for h in participants]
            for i, r in enumerate(pool.map(_worker_eval, args, chunksize=chunk)):
                results[id(participants[i])] = r
                tick()
    else:
        for h in participants:
            results[id(h)] = evaluate(loaded, h, when(h))
            tick()
    eligible = frozenset(results[id(h)].subject.id for h in participants if results[id(h)].eligibility.eligible)
    for h in companies:
        results[id(h)] = evaluate(loaded, h, when(h), eligible)
        tick()
    return [results[id(h)] for h in histories]


_WORKER: dict = {}


def _worker_init(path: str, content_hash: str) -> None:
    loaded = load_contract(path)
    if loaded.content_hash != content_hash:
        raise RuntimeError(f"{path} changed while the cohort was being evaluated")
    _WORKER["loaded"] = loaded


def _worker_eval(args) -> EvaluationResult:
    history, as_of = args
    return evaluate(_WORKER["loaded"], history, as_of)


def total_of(results: list[EvaluationResult]) -> Decimal:
    return sum((r.total for r in results), ZERO)
