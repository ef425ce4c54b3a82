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
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Callable, Iterable, Mapping

from pbr_rules.errors import Diagnostic, EvaluationRefused, HistoryInvalid
from pbr_rules.evaluation.engine import compile_contract
from pbr_rules.evaluation.measures import Candidate, Derived, derive_company, derive_participant, plan_for
from pbr_rules.language import History, LoadedContract, format_path, load_contract
from pbr_rules.models.contract import Side
from pbr_rules.models.history import CompanyHistory, ParticipantHistory
from pbr_rules.models.results import (
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
from pbr_rules.money import ZERO, round_money, split_by_shares
from pbr_rules.periods import add_days, latest_on_or_before


@dataclass(frozen=True, slots=True)
class PaymentDecision:
    """A triggered payment as plain values; ``evaluate`` turns it into the explained result."""

    milestone: str
    occurrence: int
    trigger_date: date
    due_date: date
    amount: Decimal
    tariff_value: Decimal
    line: str
    effective: date
    tariff_reference: str
    payers: tuple[tuple[str, Decimal, Decimal], ...]  # (party, share, amount)
    payee: str
    clause: str
    cap: tuple[str, Decimal, date, str, Decimal] | None  # (cap, limit, effective, reference, reduced by)
    subject_to: tuple[str, ...]
    priced: tuple[str, date] | None = None  # (enrolment | referral, the day whose prices applied); None: the trigger date
    max_total: tuple[str, Decimal, date, str, Decimal] | None = None  # as ``cap``, for the tariff's max_total


@dataclass
class Decision:
    """What the engine decided for one history, and the payments that follow: no explanations yet."""

    side: Side
    subject_id: str
    target_group: str | None
    as_of: date
    derived: Derived
    rule_names: tuple[str, ...]
    passed: frozenset[str]
    eligible: bool
    accepted: list[Candidate]  # engine-accepted occurrences of an eligible subject, by (day, version)
    payments: list[PaymentDecision]

    @property
    def total(self) -> Decimal:
        return sum((p.amount for p in self.payments), ZERO)


def decide(
    loaded: LoadedContract,
    history: History,
    as_of: date | None = None,
    eligible_participants: Iterable[str] | Mapping[str, date | None] = (),
    participants: Mapping[str, ParticipantHistory] | None = None,
) -> Decision:
    """The decisions for one history as of a date: eligibility, counted occurrences, payments.

    This is the fast path (benchmarked); ``evaluate`` adds evidence and wording on top.
    """
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
        side, rule_names, sid, group = Side.citizen, compiled.citizen_rules, history.participant, history.target_group.value
    else:
        derived = derive_company(loaded, history, as_of, _eligible_map(eligible_participants), participants)
        side, rule_names, sid, group = Side.company, compiled.company_rules, history.company, None

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
                **(cand.fields or {}),
            }
        )
    fired = compiled.run(facts)
    passed = frozenset(rule for rule, fact_id in fired if fact_id == "s")
    eligible = all(r in passed for r in rule_names) and (side == Side.citizen or loaded.contract.eligibility.companies is not None)
    accepted: list[Candidate] = []
    if eligible:
        accepted = sorted(
            (derived.candidates[int(fact_id[1:])] for rule, fact_id in fired if rule.startswith("m:")),
            key=lambda c: (c.day, c.version, c.milestone),
        )
    payments = _payments(loaded, side, sid, group, accepted, history)
    return Decision(side, sid, group, as_of, derived, rule_names, passed, eligible, accepted, payments)


def _eligible_map(eligible: Iterable[str] | Mapping[str, date | None]) -> dict[str, date | None]:
    """Eligible participants as id -> enrolment date; plain ids carry no date (the hire-date rule is then not applied)."""
    if isinstance(eligible, Mapping):
        return dict(eligible)
    return dict.fromkeys(eligible)


def evaluate(
    loaded: LoadedContract,
    history: History,
    as_of: date | None = None,
    eligible_participants: Iterable[str] | Mapping[str, date | None] = (),
    participants: Mapping[str, ParticipantHistory] | None = None,
    *,
    evidence: bool = True,
) -> EvaluationResult:
    """Evaluate one participant or company history as of a date (default: its extraction date).

    A company's hires count only when ``participants`` (id -> history) shows the hired
    participant's paid work with the company (docs/semantics.md § 5, "Hires verified").
    ``evidence=False`` leaves the evidence lists empty (for simulations, where nobody reads them).
    """
    d = decide(loaded, history, as_of, eligible_participants, participants)
    eligibility = _eligibility(loaded, d)
    return EvaluationResult(
        contract=ContractRef(
            id=loaded.contract.id,
            version=loaded.contract.version,
            content_hash=loaded.content_hash,
            municipality=loaded.contract.municipality.code,
        ),
        subject=SubjectRef(kind="participant" if d.side == Side.citizen else "company", id=d.subject_id, target_group=d.target_group),
        as_of=d.as_of,
        horizon=d.derived.horizon,
        eligibility=eligibility,
        milestones=_milestones(loaded, d, eligibility, evidence),
        payments=[_payment_model(loaded, d, p) for p in d.payments],
        total=d.total,
    )


def _check_codes(loaded: LoadedContract, h: ParticipantHistory) -> None:
    known = loaded.codes.codes
    unknown = [(i, b.code) for i, b in enumerate(h.benefits) if b.code not in known]
    if h.benefit_at_enrolment is not None and h.benefit_at_enrolment not in known:
        unknown.append((None, h.benefit_at_enrolment))
    if unknown:
        problems = [p for p in h.problems(frozenset(known)) if "benefit code" in p[1]]
        raise HistoryInvalid([Diagnostic(path=format_path(path), message=msg) for path, msg in problems])


def _eligibility(loaded, d: Decision) -> EligibilityResult:
    c = loaded.contract
    el = c.eligibility.citizens if d.side == Side.citizen else c.eligibility.companies
    rules = []
    for name in d.rule_names:
        short = name.split(":", 1)[1]
        ref = el.baseline.reference if short == "baseline" else (el.reference if el is not None else "")
        rules.append(RuleResult(rule=short, passed=name in d.passed, detail=d.derived.rule_details.get(short, ""), reference=ref))
    if d.side == Side.company and el is None:
        rules.append(RuleResult(rule="companies", passed=False, detail="the contract has no company eligibility", reference=""))
    return EligibilityResult(eligible=d.eligible, rules=rules)


def _milestones(loaded, d: Decision, eligibility: EligibilityResult, evidence: bool = True) -> list[MilestoneResult]:
    c = loaded.contract
    by_milestone: dict[str, list[Candidate]] = {}
    for cand in d.accepted:
        by_milestone.setdefault(cand.milestone, []).append(cand)
    failed = [r.rule for r in eligibility.rules if not r.passed]
    out = []
    for mid, m in c.milestones.items():
        if m.side != d.side:
            continue
        versions = plan_for(loaded).versions[mid]
        occurrences = []
        for cand in by_milestone.get(mid, []):
            v = versions[cand.version]
            start, ref = v.start, v.reference
            occurrences.append(
                Occurrence(occurrence=cand.k, met_on=cand.day, definition_from=start, definition_reference=ref, evidence=cand.evidence() if evidence else [])
            )
        why = None
        refused = d.derived.refused.get(mid)
        if not d.eligible:
            why = f"not eligible ({', '.join(failed)} not met)"
        elif refused:
            # every hire that does not count says why, under the clause of the definition in force
            why = f"hires not counted under {refused[1]}: " + "; ".join(refused[0])
        elif not occurrences:
            why = d.derived.why_not.get(mid) or "not met by the horizon"
        out.append(
            MilestoneResult(
                milestone=mid,
                side=m.side.value,
                description=m.description,
                reference=m.reference,
                met=bool(occurrences),
                occurrences=occurrences,
                progress=_progress(versions, d.derived.progress.get(mid), occurrences, d.eligible),
                why_not=why,
            )
        )
    return out


def _progress(versions, progress, occurrences, eligible) -> str | None:
    """Progress towards the next occurrence, when one can still come."""
    if not eligible:
        return None
    most = max(v.max_times for v in versions)
    if occurrences and len(occurrences) >= most:
        return None
    return progress


# --- money: tariffs, claim lag, payer shares, the per-subject cap (docs/semantics.md § 7) ---


@dataclass(frozen=True)
class _Priced:
    """A milestone's payment terms, worked out once per contract version."""

    lines: dict[str, tuple[list[date], list]]  # line -> (sorted effective dates, entries)
    payers: tuple[tuple[str, Decimal], ...]
    payee: str
    subject_to: tuple[str, ...]
    pricing: str = "trigger"  # whose day's prices apply: trigger, enrolment or referral (docs/semantics.md § 7)
    max_total: tuple[list[date], list] | None = None  # the tariff's max_total: sorted effective dates, entries


_PRICED: dict[str, dict[str, _Priced]] = {}
_BY_REFERRAL: dict[str, tuple[str, ...]] = {}  # content hash -> citizen milestones priced on the referral date


def _dated_table(dated) -> tuple[list[date], list]:
    days = sorted(dated)
    return days, [dated[x] for x in days]


def _priced(loaded: LoadedContract) -> dict[str, _Priced]:
    table = _PRICED.get(loaded.content_hash)
    if table is None:
        c = loaded.contract
        table = {}
        for mid, t in c.tariffs.items():
            side = c.milestones[mid].side
            payers = t.payers or c.payment.payers
            table[mid] = _Priced(
                lines={line: _dated_table(dated) for line, dated in t.amounts.items()},
                payers=tuple((p.party, p.share) for p in payers),
                payee=t.payee or (c.payment.citizen_payee if side == Side.citizen else c.payment.company_payee),
                subject_to=tuple(_subject_to(c, mid, t, payers, side)),
                pricing=t.pricing_date or c.payment.priced_on,
                max_total=_dated_table(t.max_total) if t.max_total else None,
            )
        _BY_REFERRAL[loaded.content_hash] = tuple(sorted(m for m, t in table.items() if t.pricing == "referral" and c.milestones[m].side == Side.citizen))
        _PRICED[loaded.content_hash] = table
    return table


def pricing_day(loaded: LoadedContract, basis: str, trigger: date, history: History) -> date:
    """The day whose prices apply to an occurrence met on ``trigger`` (docs/semantics.md § 7, "Pricing date").

    ``enrolment`` is a participant's enrolment or a company's accelerator start, ``referral``
    a participant's referral; a day before the term start is read as the term start (no
    tariff is in force before it)."""
    if basis == "trigger":
        return trigger
    if isinstance(history, ParticipantHistory):
        day = history.enrolment if basis == "enrolment" else history.referred
    else:
        day = history.start
    return max(day, loaded.contract.term.start)


def _check_referral(loaded: LoadedContract, history: History) -> None:
    """A participant priced by referral date must have one (checked whatever the outcomes, so a cohort fails early and always)."""
    needs = _BY_REFERRAL[loaded.content_hash]
    if needs and isinstance(history, ParticipantHistory) and history.referred is None:
        raise HistoryInvalid(
            [
                Diagnostic(
                    path="referred",
                    message=f"participant {history.participant}: the agreement prices {', '.join(needs)} on the referral date, "
                    "but the history has no referral date",
                    hint="add referred: YYYY-MM-DD (the day the participant was referred, on or before the enrolment)",
                )
            ]
        )


def _payments(loaded, side: Side, subject_id: str, group: str | None, accepted: list[Candidate], history: History) -> list[PaymentDecision]:
    c = loaded.contract
    priced = _priced(loaded)
    _check_referral(loaded, history)
    due: list[tuple] = []
    for cand in accepted:
        terms = priced.get(cand.milestone)
        if terms is None:
            continue
        line = group if group is not None and group in terms.lines else "all"
        if line not in terms.lines:
            continue
        days, entries = terms.lines[line]
        pday = pricing_day(loaded, terms.pricing, cand.day, history)
        i = latest_on_or_before(days, pday)
        if i is None or entries[i].value is None:
            continue  # no tariff in force, or withdrawn: met, but nothing to pay
        due.append((cand.day, cand.milestone, cand.k, cand, terms, line, days[i], entries[i], pday))
    due.sort(key=lambda t: (t[0], t[1], t[2]))

    cap_name = "per_participant" if side == Side.citizen else "per_company"
    cap_days, cap_entries = _subject_cap(loaded, cap_name)
    lag = c.payment.claim_lag
    plan_versions = plan_for(loaded).versions
    paid = ZERO
    paid_for: dict[str, Decimal] = {}  # by milestone, for max_total
    out = []
    for day, mid, k, cand, terms, line, effective, entry, pday in due:
        amount = round_money(entry.value)
        cap = most = None
        if terms.max_total is not None:
            # Item 9: the tariff's most for this milestone to one subject, read on the pricing date, before the per-subject cap.
            j = latest_on_or_before(terms.max_total[0], pday)
            if j is not None and terms.max_total[1][j].value is not None:
                limit = terms.max_total[1][j]
                room = max(ZERO, limit.value - paid_for.get(mid, ZERO))
                if amount > room:
                    most = ("max_total", limit.value, terms.max_total[0][j], limit.reference, amount - room)
                    amount = room
        i = latest_on_or_before(cap_days, day)
        found = None if i is None or cap_entries[i].value is None else (cap_days[i], cap_entries[i])
        if found is not None:
            cap_day, cap_entry = found
            room = max(ZERO, cap_entry.value - paid)
            if amount > room:
                cap = (cap_name, cap_entry.value, cap_day, cap_entry.reference, amount - room)
                amount = room
        paid += amount
        if terms.max_total is not None:
            paid_for[mid] = paid_for.get(mid, ZERO) + amount
        parts = split_by_shares(amount, [share for _, share in terms.payers])
        out.append(
            PaymentDecision(
                milestone=mid,
                occurrence=k,
                trigger_date=day,
                due_date=_due(day, lag.days, lag.kind == "working"),
                amount=amount,
                tariff_value=entry.value,
                line=line,
                effective=effective,
                tariff_reference=entry.reference,
                payers=tuple((party, share, part) for (party, share), part in zip(terms.payers, parts)),
                payee=terms.payee,
                clause=plan_versions[mid][cand.version].reference,
                cap=cap,
                subject_to=terms.subject_to,
                priced=None if terms.pricing == "trigger" else (terms.pricing, pday),
                max_total=most,
            )
        )
    return out


_CAPS: dict[tuple[str, str], tuple[list[date], list]] = {}


def _subject_cap(loaded: LoadedContract, name: str) -> tuple[list[date], list]:
    """The per-participant (per-company) cap's effective dates and entries, sorted once per contract version."""
    key = (loaded.content_hash, name)
    table = _CAPS.get(key)
    if table is None:
        dated = getattr(loaded.contract.caps, name) or {}
        days = sorted(dated)
        table = _CAPS[key] = (days, [dated[d] for d in days])
    return table


@lru_cache(maxsize=65536)
def _due(day: date, days: int, working: bool) -> date:
    return add_days(day, days, working=working)


def _payment_model(loaded, d: Decision, p: PaymentDecision) -> Payment:
    return Payment(
        payment_id=f"{loaded.contract.id}/{d.subject_id}/{p.milestone}/{p.occurrence}",
        milestone=p.milestone,
        occurrence=p.occurrence,
        trigger_date=p.trigger_date,
        due_date=p.due_date,
        amount=p.amount,
        tariff=TariffApplied(
            line=p.line, value=p.tariff_value, effective=p.effective, reference=p.tariff_reference,
            priced_by=p.priced[0] if p.priced else None, priced_on=p.priced[1] if p.priced else None,
        ),
        payers=[PayerPart(party=party, share=share, amount=amount) for party, share, amount in p.payers],
        payee=p.payee,
        reference=p.clause,
        cap=CapApplied(cap=p.cap[0], limit=p.cap[1], effective=p.cap[2], reference=p.cap[3], reduced_by=p.cap[4]) if p.cap else None,
        max_total=CapApplied(cap="max_total", limit=p.max_total[1], effective=p.max_total[2], reference=p.max_total[3], reduced_by=p.max_total[4])
        if p.max_total
        else None,
        subject_to=list(p.subject_to),
    )


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


# --- decisions in the result's shape, without the explanations (for simulations) -------------


@dataclass(frozen=True, slots=True)
class _Ref:
    kind: str
    id: str


@dataclass(frozen=True, slots=True)
class _Eligible:
    eligible: bool


@dataclass(frozen=True, slots=True)
class _Tariff:
    line: str
    value: Decimal
    effective: date
    reference: str
    priced_by: str | None = None
    priced_on: date | None = None


@dataclass(frozen=True, slots=True)
class _Payer:
    party: str
    share: Decimal


@dataclass(frozen=True, slots=True)
class _PaymentView:
    payment_id: str
    milestone: str
    occurrence: int
    trigger_date: date
    due_date: date
    amount: Decimal
    tariff: _Tariff
    payers: tuple[_Payer, ...]
    payee: str
    reference: str


@dataclass(frozen=True, slots=True)
class DecisionView:
    """The parts of an ``EvaluationResult`` that settlement reads, straight from a ``Decision``.

    Same decisions, same amounts; no evidence, no wording, no pydantic models: what a Monte
    Carlo run needs thousands of times.
    """

    subject: _Ref
    eligibility: _Eligible
    payments: tuple[_PaymentView, ...]

    @property
    def total(self) -> Decimal:
        return sum((p.amount for p in self.payments), ZERO)


def decide_view(
    loaded: LoadedContract,
    history: History,
    as_of: date | None = None,
    eligible_participants: Iterable[str] | Mapping[str, date | None] = (),
    participants: Mapping[str, ParticipantHistory] | None = None,
) -> DecisionView:
    d = decide(loaded, history, as_of, eligible_participants, participants)
    cid = loaded.contract.id
    kind = "participant" if d.side == Side.citizen else "company"
    return DecisionView(
        subject=_Ref(kind, d.subject_id),
        eligibility=_Eligible(d.eligible),
        payments=tuple(
            _PaymentView(
                payment_id=f"{cid}/{d.subject_id}/{p.milestone}/{p.occurrence}",
                milestone=p.milestone,
                occurrence=p.occurrence,
                trigger_date=p.trigger_date,
                due_date=p.due_date,
                amount=p.amount,
                tariff=_Tariff(p.line, p.tariff_value, p.effective, p.tariff_reference, *(p.priced or (None, None))),
                payers=tuple(_Payer(party, share) for party, share, _ in p.payers),
                payee=p.payee,
                reference=p.clause,
            )
            for p in d.payments
        ),
    )


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
    eligible = {h.participant: h.enrolment for h in participants if results[id(h)].eligibility.eligible}
    by_id = {h.participant: h for h in participants}  # a hire is verified by the participant's own history
    for h in companies:
        results[id(h)] = evaluate(loaded, h, when(h), eligible, by_id)
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
