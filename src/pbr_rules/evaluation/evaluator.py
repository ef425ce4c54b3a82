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
from typing import Callable, Iterable, Iterator, Mapping

from pbr_rules.collector import collector_paused
from pbr_rules.errors import Diagnostic, EngineFailure, EvaluationRefused, HistoryInvalid
from pbr_rules.evaluation.engine import MAX_FACTS_PER_SESSION, SESSION_FACTS, candidate_fact, compile_contract
from pbr_rules.evaluation.formulas import Priced, price as price_formula
from pbr_rules.evaluation.measures import Candidate, Derived, derive_company, derive_participant, plan_for
from pbr_rules.language import History, LoadedContract, format_path, load_contract
from pbr_rules.models.common import construct
from pbr_rules.models.contract import Side
from pbr_rules.models.history import CompanyHistory, ParticipantHistory, vocabulary_problems
from pbr_rules.models.results import (
    FormulaApplied,
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
from pbr_rules.periods import Calendar, add_days, latest_on_or_before


@dataclass(slots=True)
class PaymentDecision:
    """A triggered payment as plain values; ``evaluate`` turns it into the explained result.

    Not frozen: a frozen dataclass sets each of its 17 fields through ``object.__setattr__``,
    five times the cost of a plain one, and a batch makes thousands; nothing changes one after
    it is made."""

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
    formula: Priced | None = None  # a formula tariff: what it measured and computed (docs/semantics.md § 10)


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
    excluded: dict[str, tuple[str, str]] | None = None  # milestone -> (the one of its exclusive group that pays, group)

    @property
    def total(self) -> Decimal:
        return sum((p.amount for p in self.payments), ZERO)


def decide(
    loaded: LoadedContract,
    history: History,
    as_of: date | None = None,
    eligible_participants: Iterable[str] | Mapping[str, date | None] = (),
    participants: Mapping[str, ParticipantHistory] | None = None,
    *,
    judge_participants: bool = True,
) -> Decision:
    """The decisions for one history as of a date: eligibility, counted occurrences, payments.

    This is the fast path (benchmarked); ``evaluate`` adds evidence and wording on top.
    For a company history, a hired participant whose history is in ``participants`` is
    eligible exactly when that history's own evaluation says so (docs/semantics.md § 5,
    "Hires verified", rule 1): ``eligible_participants`` is read only for participants
    whose histories are not given (whose hires are unverified in any case).
    ``judge_participants=False`` is for a caller that has just worked ``eligible_participants``
    out from the whole histories itself and passes compact records (the cohort stream).
    """
    compiled = compile_contract(loaded)
    if judge_participants and participants and isinstance(history, CompanyHistory):
        eligible_participants = own_eligibility(loaded, participants, as_of, eligible_participants)
    prepared = _prepare(loaded, history, as_of, eligible_participants, participants)
    return _conclude(loaded, compiled, prepared, compiled.run(prepared[-1]))


def decide_batch(
    loaded: LoadedContract,
    histories: list[History],
    as_of: date | None = None,
    eligible_participants: Iterable[str] | Mapping[str, date | None] = (),
    participants: Mapping[str, ParticipantHistory] | None = None,
    *,
    judge_participants: bool = True,
) -> list[Decision]:
    """``decide`` for many histories, with many subjects' facts in one engine session.

    Exactly the decisions of ``decide`` one by one (tests/test_engine.py proves it, hired
    participants judged by their own histories included); each history is evaluated as of
    ``as_of``, or its own extraction date when it was extracted earlier (or when ``as_of`` is None).
    """
    with collector_paused():
        return list(iter_decisions(loaded, histories, as_of, eligible_participants, participants, judge_participants=judge_participants))


def iter_decisions(
    loaded: LoadedContract,
    histories: Iterable[History],
    as_of: date | None = None,
    eligible_participants: Iterable[str] | Mapping[str, date | None] = (),
    participants: Mapping[str, ParticipantHistory] | None = None,
    *,
    judge_participants: bool = True,
) -> Iterator[Decision]:
    """``decide_batch`` as a stream: histories are read, decided and yielded a session at a time,
    so a cohort of any size is decided in the memory of one session's histories. Companies see
    the hired participants in ``participants`` judged by their own histories, as in ``decide``
    (worked out once, at the first company), unless ``judge_participants=False``."""
    compiled = compile_contract(loaded)
    eligible = _eligible_map(eligible_participants)
    judged: dict[str, date | None] | None = None
    pending: list[tuple] = []
    size = 0
    for h in histories:
        seen = eligible
        if judge_participants and participants and isinstance(h, CompanyHistory):
            if judged is None:
                judged = own_eligibility(loaded, participants, as_of, eligible)
            seen = judged
        p = _prepare(loaded, h, min(as_of, h.extracted) if as_of else None, seen, participants)
        if pending and size + len(p[-1]) > SESSION_FACTS:
            yield from _decide_session(loaded, compiled, pending)
            pending, size = [], 0
        pending.append(p)
        size += len(p[-1])
    if pending:
        yield from _decide_session(loaded, compiled, pending)


def _decide_session(loaded, compiled, pending: list[tuple]) -> Iterator[Decision]:
    fired = compiled.run_batch([p[-1] for p in pending])
    for p, f in zip(pending, fired):
        yield _conclude(loaded, compiled, p, f)


def _prepare(loaded, history, as_of, eligible_participants, participants):
    """Derive one history's measures and the facts the engine decides on."""
    as_of = as_of or history.extracted
    if as_of > history.extracted:
        raise EvaluationRefused(
            f"as-of date {as_of} is after the history's extraction date {history.extracted}: "
            "the history cannot know what happened after it was extracted"
        )
    _check_words(loaded, history)
    if isinstance(history, ParticipantHistory):
        derived = derive_participant(loaded, history, as_of)
        side, sid, group = Side.citizen, history.participant, history.target_group
    else:
        derived = derive_company(loaded, history, as_of, _eligible_map(eligible_participants), participants)
        side, sid, group = Side.company, history.company, None
    facts = [derived.subject_fact]
    facts += [candidate_fact(c.milestone, c.version, c.k, c.value, c.day.toordinal(), c.prerequisites_met, c.fields) for c in derived.candidates]
    if len(facts) >= MAX_FACTS_PER_SESSION:
        raise EvaluationRefused(
            f"history {sid} gives {len(facts) - 1} possible milestone occurrences; the engine takes at most "
            f"{MAX_FACTS_PER_SESSION - 2} for one subject: split the history at a date and evaluate the parts"
        )
    return side, as_of, sid, group, derived, history, facts


def _conclude(loaded, compiled, prepared, fired: list[tuple[str, int]]) -> Decision:
    """The engine's firings for one subject turned into its decision and payments."""
    side, as_of, sid, group, derived, history, _ = prepared
    citizen = side == Side.citizen
    rule_names = compiled.citizen_rules if citizen else compiled.company_rules
    everything = "e:all" if citizen else "c:all"
    failed: set[str] = set()
    passed_all = False
    accepted: list[Candidate] = []
    for rule, n in fired:
        if n == 0:  # the subject's fact: "all" or the rules it fails
            if rule == everything:
                passed_all = True
            elif rule[0] == "f":
                failed.add(rule[2:])
        elif rule[0] == "m":
            accepted.append(derived.candidates[n - 1])
    if passed_all == bool(failed):
        raise EngineFailure(f"the engine's eligibility firings for {sid} contradict each other")
    passed = _all_passed(rule_names) if passed_all else frozenset(r for r in rule_names if r not in failed)
    eligible = passed_all and (citizen or loaded.contract.eligibility.companies is not None)
    if not eligible:
        accepted = []
    elif len(accepted) > 1:
        accepted.sort(key=_by_day_version_milestone)
    excluded = _exclusive(loaded, group, accepted, history) if loaded.contract.exclusive and accepted else None
    paid = [c for c in accepted if c.milestone not in excluded] if excluded else accepted
    payments = _payments(loaded, side, sid, group, paid, history)
    return Decision(side, sid, group, as_of, derived, rule_names, passed, eligible, accepted, payments, excluded)


def _by_day_version_milestone(c: Candidate) -> tuple:
    return (c.day, c.version, c.milestone)


_PASSED: dict[tuple[str, ...], frozenset[str]] = {}


def _all_passed(rule_names: tuple[str, ...]) -> frozenset[str]:
    """Every rule passed: one frozenset per set of rule names, shared by the subjects that pass them all."""
    passed = _PASSED.get(rule_names)
    if passed is None:
        passed = _PASSED[rule_names] = frozenset(rule_names)
    return passed


def _exclusive(loaded, group: str | None, accepted: list[Candidate], history: History) -> dict[str, tuple[str, str]]:
    """docs/semantics.md § 7, "Exclusive groups": of each group's met milestones only one pays.

    Applied, like the per-subject cap, to the occurrences the engine accepted; the others stay
    met (the result says why they are not paid).
    """
    first: dict[str, Candidate] = {}
    for cand in accepted:  # in (day, version, milestone) order
        first.setdefault(cand.milestone, cand)
    out: dict[str, tuple[str, str]] = {}
    for name, g in loaded.contract.exclusive.items():
        met = [(i, ms) for i, ms in enumerate(g.milestones) if ms in first]
        if len(met) < 2:
            continue
        if g.pays == "first_met":
            _, winner = min(met, key=lambda t: (first[t[1]].day, t[0]))
        else:  # highest_tariff: the tariff its first occurrence is priced at; equal: met first, then listed first
            _, winner = min(met, key=lambda t: (-_tariff_on(loaded, t[1], group, first[t[1]].day, history), first[t[1]].day, t[0]))
        for _, ms in met:
            if ms != winner:
                out[ms] = (winner, name)
    return out


def _tariff_on(loaded, mid: str, group: str | None, day: date, history: History) -> Decimal:
    """The tariff an occurrence met on ``day`` is priced at, for the subject's line: the value in
    force on its pricing date (docs/semantics.md § 7; 0 when none is)."""
    terms = _priced(loaded).get(mid)
    if terms is None:
        return ZERO
    line = group if group is not None and group in terms.lines else "all"
    if line not in terms.lines:
        return ZERO
    days, entries = terms.lines[line]
    i = latest_on_or_before(days, pricing_day(loaded, terms.pricing, day, history))
    return ZERO if i is None or entries[i].value is None else entries[i].value


def own_eligibility(
    loaded: LoadedContract,
    participants: Mapping[str, ParticipantHistory],
    as_of: date | None = None,
    eligible_participants: Iterable[str] | Mapping[str, date | None] = (),
) -> dict[str, date | None]:
    """Eligible participants (id -> enrolment date) as a company's hires need them: each
    participant whose history is given, by its own evaluation as of ``as_of`` (or its own
    extraction date), as ``evaluate_cohort`` does; the others as ``eligible_participants`` says."""
    eligible = _eligible_map(eligible_participants)
    people = list(participants.values())
    for h, d in zip(people, iter_decisions(loaded, people, as_of)):
        if d.eligible:
            eligible[h.participant] = h.enrolment
        else:
            eligible.pop(h.participant, None)
    return eligible


def _eligible_map(eligible: Iterable[str] | Mapping[str, date | None]) -> dict[str, date | None]:
    """Eligible participants as id -> enrolment date; plain ids carry no date (the hire-date rule is then not applied)."""
    if isinstance(eligible, Mapping):
        return dict(eligible)
    return dict.fromkeys(eligible)


# The explained result is built from values that were validated when the contract and the
# history were loaded, and computed here: its models are constructed without validating
# them again (``models.common.construct``); tests/test_engine.py checks the bytes are unchanged.


def evaluate(
    loaded: LoadedContract,
    history: History,
    as_of: date | None = None,
    eligible_participants: Iterable[str] | Mapping[str, date | None] = (),
    participants: Mapping[str, ParticipantHistory] | None = None,
    *,
    evidence: bool = True,
    judge_participants: bool = True,
) -> EvaluationResult:
    """Evaluate one participant or company history as of a date (default: its extraction date).

    A company's hires count only when ``participants`` (id -> history) shows the hired
    participant's paid work with the company (docs/semantics.md § 5, "Hires verified"); each
    of those participants is eligible as its own evaluation says (``decide``).
    ``evidence=False`` leaves the evidence lists empty (for simulations, where nobody reads them).
    """
    return _explain(loaded, decide(loaded, history, as_of, eligible_participants, participants, judge_participants=judge_participants), evidence)


def evaluate_batch(
    loaded: LoadedContract,
    histories: list[History],
    as_of: date | None = None,
    eligible_participants: Iterable[str] | Mapping[str, date | None] = (),
    participants: Mapping[str, ParticipantHistory] | None = None,
    *,
    evidence: bool = True,
    judge_participants: bool = True,
) -> list[EvaluationResult]:
    """``evaluate`` for many histories, deciding them with ``decide_batch``: the same results, faster."""
    with collector_paused():
        decisions = iter_decisions(loaded, histories, as_of, eligible_participants, participants, judge_participants=judge_participants)
        return [_explain(loaded, d, evidence) for d in decisions]


def _explain(loaded: LoadedContract, d: Decision, evidence: bool) -> EvaluationResult:
    """A decision with its evidence and wording: the explained result."""
    eligibility = _eligibility(loaded, d)
    return construct(
        EvaluationResult,
        contract=_shared(
            ContractRef,
            id=loaded.contract.id,
            version=loaded.contract.version,
            content_hash=loaded.content_hash,
            municipality=loaded.contract.municipality.code,
        ),
        currency=loaded.contract.currency,
        subject=construct(SubjectRef, kind="participant" if d.side == Side.citizen else "company", id=d.subject_id, target_group=d.target_group),
        as_of=d.as_of,
        horizon=d.derived.horizon,
        eligibility=eligibility,
        milestones=_milestones(loaded, d, eligibility, evidence),
        payments=[_payment_model(loaded, d, p) for p in d.payments],
        total=d.total,
    )


def _check_words(loaded: LoadedContract, h: History) -> None:
    """A history is read in the vocabulary of the agreement it is evaluated under: every
    benefit code, its target group and its area must be words of that jurisdiction."""
    known = loaded.known
    problems = vocabulary_problems(h, known)
    if isinstance(h, ParticipantHistory):
        codes = known.benefit_codes
        if any(b.code not in codes for b in h.benefits) or (h.benefit_at_enrolment is not None and h.benefit_at_enrolment not in codes):
            problems += [p for p in h.problems(codes) if "benefit code" in p[1]]
    if problems:
        raise HistoryInvalid([Diagnostic(path=format_path(path), message=msg) for path, msg in problems])


_SHARED: dict[tuple, object] = {}


def _shared(cls, **values):
    """One instance per distinct value of a small frozen part of results (a rule's outcome, a
    tariff applied, a payer's part, a milestone not met): most subjects share them, and
    results are immutable, so they are built once instead of once per result."""
    key = (cls, *values.values())
    m = _SHARED.get(key)
    if m is None:
        if len(_SHARED) > 100_000:  # bounded: a long run over many contracts does not grow without end
            _SHARED.clear()
        m = _SHARED[key] = construct(cls, **values)
    return m


@dataclass(frozen=True)
class _Explained:
    """What explaining a result needs from the contract, worked out once per contract version."""

    rules: dict[Side, tuple[tuple[str, str, str], ...]]  # side -> (engine rule, rule, clause)
    milestones: dict[Side, tuple[tuple[str, object, tuple, int], ...]]  # side -> (id, milestone, versions, most occurrences)


_EXPLAINED: dict[str, _Explained] = {}


def _explained(loaded: LoadedContract) -> _Explained:
    table = _EXPLAINED.get(loaded.content_hash)
    if table is None:
        compiled = compile_contract(loaded)
        compiled_rules = (compiled.citizen_rules, compiled.company_rules)
        c = loaded.contract
        plan = plan_for(loaded)
        rules = {}
        for side, names in zip((Side.citizen, Side.company), compiled_rules):
            el = c.eligibility.citizens if side == Side.citizen else c.eligibility.companies
            out = []
            for name in names:
                short = name.split(":", 1)[1]
                out.append((name, short, el.baseline.reference if short == "baseline" else (el.reference if el is not None else "")))
            rules[side] = tuple(out)
        milestones = {
            side: tuple(
                (mid, m, plan.versions[mid], max(v.max_times for v in plan.versions[mid])) for mid, m in c.milestones.items() if m.side == side
            )
            for side in (Side.citizen, Side.company)
        }
        table = _EXPLAINED[loaded.content_hash] = _Explained(rules, milestones)
    return table


def _eligibility(loaded, d: Decision) -> EligibilityResult:
    el = loaded.contract.eligibility.companies
    table = _explained(loaded).rules[d.side]
    details = d.derived.rule_details
    passed = d.passed
    rules = [_rule(short, name in passed, details.get(short, ""), ref) for name, short, ref in table]
    if d.side == Side.company and el is None:
        rules.append(_shared(RuleResult, rule="companies", passed=False, detail="the contract has no company eligibility", reference=""))
    return construct(EligibilityResult, eligible=d.eligible, rules=rules)


_RULES: dict[tuple[str, bool, str, str], RuleResult] = {}


def _rule(rule: str, passed: bool, detail: str, reference: str) -> RuleResult:
    """A rule's outcome, one instance per distinct value (as ``_shared``, without its generic key)."""
    key = (rule, passed, detail, reference)
    r = _RULES.get(key)
    if r is None:
        if len(_RULES) > 100_000:  # bounded, as _SHARED
            _RULES.clear()
        r = _RULES[key] = construct(RuleResult, rule=rule, passed=passed, detail=detail, reference=reference)
    return r


def _milestones(loaded, d: Decision, eligibility: EligibilityResult, evidence: bool = True) -> list[MilestoneResult]:
    by_milestone: dict[str, list[Candidate]] = {}
    for cand in d.accepted:
        by_milestone.setdefault(cand.milestone, []).append(cand)
    not_eligible = None
    if not d.eligible:
        not_eligible = f"not eligible ({', '.join(r.rule for r in eligibility.rules if not r.passed)} not met)"
    derived = d.derived
    out = []
    for mid, m, versions, most in _explained(loaded).milestones[d.side]:
        occurrences = []
        for cand in by_milestone.get(mid, ()):
            v = versions[cand.version]
            occurrences.append(
                construct(
                    Occurrence,
                    occurrence=cand.k,
                    met_on=cand.day,
                    definition_from=v.start,
                    definition_reference=v.reference,
                    evidence=cand.evidence() if evidence else [],
                )
            )
        why = None
        refused = derived.refused.get(mid) if derived.refused else None
        if not_eligible is not None:
            why = not_eligible
        elif d.excluded and mid in d.excluded:
            winner, name = d.excluded[mid]
            g = loaded.contract.exclusive[name]
            rule = "the first met" if g.pays == "first_met" else "the highest tariff"
            why = f"met, but not paid: only one milestone of the exclusive group '{name}' pays ({rule}), and '{winner}' does ({g.reference})"
        elif refused:
            # every hire that does not count says why, under the clause of the definition in force
            why = f"hires not counted under {refused[1]}: " + "; ".join(refused[0])
        elif not occurrences:
            why = derived.why_not.get(mid) or "not met by the horizon"
        # progress towards the next occurrence, when one can still come
        progress = None if not d.eligible or (occurrences and len(occurrences) >= most) else derived.progress.get(mid)
        if occurrences:
            out.append(
                construct(
                    MilestoneResult,
                    milestone=mid,
                    side=m.side.value,
                    description=m.description,
                    reference=m.reference,
                    met=True,
                    occurrences=occurrences,
                    progress=progress,
                    why_not=why,
                )
            )
        else:
            out.append(_not_met(mid, m, progress, why))
    return out


def _not_met(mid: str, m, progress: str | None, why: str | None) -> MilestoneResult:
    key = (MilestoneResult, mid, m.side, m.description, m.reference, progress, why)
    r = _SHARED.get(key)
    if r is None:
        r = _SHARED[key] = construct(
            MilestoneResult, milestone=mid, side=m.side.value, description=m.description, reference=m.reference,
            met=False, occurrences=[], progress=progress, why_not=why,
        )
    return r


# --- money: tariffs, claim lag, payer shares, the per-subject cap (docs/semantics.md § 7) ---


@dataclass(frozen=True)
class _Priced:
    """A milestone's payment terms, worked out once per contract version."""

    lines: dict[str, tuple[list[date], list]]  # line -> (sorted effective dates, entries)
    payers: tuple[tuple[str, Decimal], ...]
    shares: tuple[Decimal, ...]  # the payers' shares alone, as split_by_shares takes them
    payee: str
    subject_to: tuple[str, ...]
    pricing: str = "trigger"  # whose day's prices apply: trigger, enrolment or referral (docs/semantics.md § 7)
    max_total: tuple[list[date], list] | None = None  # the tariff's max_total: sorted effective dates, entries
    formula: tuple[str, tuple[str, ...]] | None = None  # a formula tariff: (its clause, the goals it counts)


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
                shares=tuple(p.share for p in payers),
                payee=t.payee or (c.payment.citizen_payee if side == Side.citizen else c.payment.company_payee),
                subject_to=tuple(_subject_to(c, mid, t, payers, side)),
                pricing=t.pricing_date or c.payment.priced_on,
                max_total=_dated_table(t.max_total) if t.max_total else None,
                formula=(t.formula.reference, tuple(t.formula.goals)) if t.formula is not None else None,
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
        if terms.formula is not None:  # priced below, from what it measures
            due.append((cand.day, cand.milestone, cand.k, cand, terms, "all", None, None, pricing_day(loaded, terms.pricing, cand.day, history)))
            continue
        line = group if group is not None and group in terms.lines else "all"
        if line not in terms.lines:
            continue
        days, entries = terms.lines[line]
        pday = cand.day if terms.pricing == "trigger" else pricing_day(loaded, terms.pricing, cand.day, history)
        i = latest_on_or_before(days, pday)
        if i is None or entries[i].value is None:
            continue  # no tariff in force, or withdrawn: met, but nothing to pay
        due.append((cand.day, cand.milestone, cand.k, cand, terms, line, days[i], entries[i], pday))
    due.sort()  # by (day, milestone, k): unique per subject, so the comparison never reaches the rest

    cap_name = "per_participant" if side == Side.citizen else "per_company"
    cap_days, cap_entries = _subject_cap(loaded, cap_name)
    lag = c.payment.claim_lag
    calendar = c.calendar
    plan_versions = plan_for(loaded).versions
    paid = ZERO
    paid_for: dict[str, Decimal] = {}  # by milestone, for max_total
    out = []
    met_on: dict[str, dict[int, date]] | None = None  # for formula tariffs: each milestone's occurrences, by k
    for day, mid, k, cand, terms, line, effective, entry, pday in due:
        formula = None
        if entry is None:
            if met_on is None:  # made only when a formula tariff is met
                met_on = {}
                for a in accepted:
                    met_on.setdefault(a.milestone, {})[a.k] = a.day
            goals = terms.formula[1]
            formula = price_formula(
                loaded, mid, history, day, met_on[mid].get(k - 1), [d for g in goals for d in met_on.get(g, {}).values()], pday
            )
            if formula is None:
                continue  # a parameter has no value in force on the pricing date: met, nothing to pay
            # basis cohort: the tariff value is the participant's own result, which may be below 0;
            # settlement nets the cohort's results (docs/semantics.md § 10, "For the cohort")
            tariff_value = formula.result if formula.cohort else formula.amount
            amount, effective, tariff_reference = formula.amount, formula.effective, terms.formula[0]
        else:
            amount, tariff_value, tariff_reference = round_money(entry.value), entry.value, entry.reference
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
        parts = split_by_shares(amount, terms.shares)
        out.append(
            PaymentDecision(
                milestone=mid,
                occurrence=k,
                trigger_date=day,
                due_date=_due(day, lag.days, lag.kind == "working", calendar),
                amount=amount,
                tariff_value=tariff_value,
                line=line,
                effective=effective,
                tariff_reference=tariff_reference,
                payers=tuple((party, share, part) for (party, share), part in zip(terms.payers, parts)),
                payee=terms.payee,
                clause=plan_versions[mid][cand.version].reference,
                cap=cap,
                subject_to=terms.subject_to,
                priced=None if terms.pricing == "trigger" else (terms.pricing, pday),
                max_total=most,
                formula=formula,
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
def _due(day: date, days: int, working: bool, calendar: Calendar) -> date:
    return add_days(day, days, working=working, calendar=calendar)


def _payment_model(loaded, d: Decision, p: PaymentDecision) -> Payment:
    return construct(
        Payment,
        payment_id=f"{loaded.contract.id}/{d.subject_id}/{p.milestone}/{p.occurrence}",
        milestone=p.milestone,
        occurrence=p.occurrence,
        trigger_date=p.trigger_date,
        due_date=p.due_date,
        amount=p.amount,
        tariff=_shared(
            TariffApplied, line=p.line, value=p.tariff_value, effective=p.effective, reference=p.tariff_reference,
            priced_by=p.priced[0] if p.priced else None, priced_on=p.priced[1] if p.priced else None,
        ),
        payers=[_shared(PayerPart, party=party, share=share, amount=amount) for party, share, amount in p.payers],
        payee=p.payee,
        reference=p.clause,
        cap=construct(CapApplied, cap=p.cap[0], limit=p.cap[1], effective=p.cap[2], reference=p.cap[3], reduced_by=p.cap[4]) if p.cap else None,
        max_total=construct(CapApplied, cap="max_total", limit=p.max_total[1], effective=p.max_total[2], reference=p.max_total[3], reduced_by=p.max_total[4])
        if p.max_total
        else None,
        subject_to=list(p.subject_to),
        formula=_formula_model(p.formula) if p.formula is not None else None,
    )


def _formula_model(f: Priced) -> FormulaApplied:
    return construct(
        FormulaApplied,
        expression=f.expression,
        period_from=f.period[0],
        period_to=f.period[1],
        values={name: format(value, "f") for name, value in f.values},
        result=f.result,
        bound=f.bound[0] if f.bound else None,
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
class SubjectView:
    kind: str
    id: str


@dataclass(frozen=True, slots=True)
class _Eligible:
    eligible: bool


@dataclass(frozen=True, slots=True)
class TariffView:
    line: str
    value: Decimal
    effective: date
    reference: str
    priced_by: str | None = None
    priced_on: date | None = None


@dataclass(frozen=True, slots=True)
class PayerView:
    party: str
    share: Decimal


@dataclass(frozen=True, slots=True)
class PaymentView:
    payment_id: str
    milestone: str
    occurrence: int
    trigger_date: date
    due_date: date
    amount: Decimal
    tariff: TariffView
    payers: tuple[PayerView, ...]
    payee: str
    reference: str


@dataclass(frozen=True, slots=True)
class DecisionView:
    """The parts of an ``EvaluationResult`` that settlement reads, straight from a ``Decision``.

    Same decisions, same amounts; no evidence, no wording, no pydantic models: what a Monte
    Carlo run needs thousands of times.
    """

    subject: SubjectView
    eligibility: _Eligible
    payments: tuple[PaymentView, ...]

    @property
    def total(self) -> Decimal:
        return sum((p.amount for p in self.payments), ZERO)


def decide_view(
    loaded: LoadedContract,
    history: History,
    as_of: date | None = None,
    eligible_participants: Iterable[str] | Mapping[str, date | None] = (),
    participants: Mapping[str, ParticipantHistory] | None = None,
    *,
    judge_participants: bool = True,
) -> DecisionView:
    return _view(loaded, decide(loaded, history, as_of, eligible_participants, participants, judge_participants=judge_participants))


def decide_view_batch(
    loaded: LoadedContract,
    histories: list[History],
    as_of: date | None = None,
    eligible_participants: Iterable[str] | Mapping[str, date | None] = (),
    participants: Mapping[str, ParticipantHistory] | None = None,
    *,
    judge_participants: bool = True,
) -> list[DecisionView]:
    """``decide_view`` for many histories, decided many to an engine session (``iter_decisions``):
    the same views, each as of ``as_of`` or its own earlier extraction date."""
    with collector_paused():
        return [_view(loaded, d) for d in iter_decisions(loaded, histories, as_of, eligible_participants, participants, judge_participants=judge_participants)]


def _view(loaded: LoadedContract, d: Decision) -> DecisionView:
    cid = loaded.contract.id
    kind = "participant" if d.side == Side.citizen else "company"
    return DecisionView(
        subject=SubjectView(kind, d.subject_id),
        eligibility=_Eligible(d.eligible),
        payments=tuple(
            PaymentView(
                payment_id=f"{cid}/{d.subject_id}/{p.milestone}/{p.occurrence}",
                milestone=p.milestone,
                occurrence=p.occurrence,
                trigger_date=p.trigger_date,
                due_date=p.due_date,
                amount=p.amount,
                tariff=TariffView(p.line, p.tariff_value, p.effective, p.tariff_reference, *(p.priced or (None, None))),
                payers=tuple(PayerView(party, share) for party, share, _ in p.payers),
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
    executor=None,
) -> list[EvaluationResult]:
    """Evaluate participants, then companies (whose hires need the participants' eligibility).

    With ``workers`` > 1 the histories are spread over processes, with ``executor`` (a
    ``concurrent.futures.Executor``: a process pool, a Dask cluster's) over its workers in
    chunks; the results are exactly those of one-by-one evaluation, in input order.
    Histories extracted before ``as_of`` are evaluated as of their own extraction date.
    For a cohort too large to hold in memory, see ``cohorts.stream_cohort``.
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

    workers = workers or os.cpu_count() or 1
    results: dict[int, EvaluationResult] = {}
    if executor is not None and participants:
        size = max(20, min(500, len(participants) // (4 * max(1, getattr(executor, "workers", None) or getattr(executor, "_max_workers", 2)))))
        ref = (loaded.path, loaded.content_hash, None) if _is_file(loaded.path) else (None, loaded.content_hash, loaded)
        parts = [participants[i : i + size] for i in range(0, len(participants), size)]
        futures = [executor.submit(_worker_chunk, ref, part, as_of) for part in parts]
        for part, fut in zip(parts, futures):
            for h, r in zip(part, fut.result()):
                results[id(h)] = r
            tick(len(part))
    elif workers > 1 and len(participants) >= 200 and _is_file(loaded.path):
        size = max(50, len(participants) // (workers * 8))
        parts = [participants[i : i + size] for i in range(0, len(participants), size)]
        with ProcessPoolExecutor(max_workers=workers, initializer=_worker_init, initargs=(loaded.path, loaded.content_hash)) as pool:
            ref = (loaded.path, loaded.content_hash, None)
            for part, rs in zip(parts, pool.map(_worker_chunk, [ref] * len(parts), parts, [as_of] * len(parts))):
                for h, r in zip(part, rs):
                    results[id(h)] = r
                tick(len(part))
    else:
        for start in range(0, len(participants), 250):
            part = participants[start : start + 250]
            for h, r in zip(part, evaluate_batch(loaded, part, as_of)):
                results[id(h)] = r
            tick(len(part))
    eligible = {h.participant: h.enrolment for h in participants if results[id(h)].eligibility.eligible}
    by_id = {h.participant: h for h in participants}  # a hire is verified by the participant's own history
    for h, r in zip(companies, evaluate_batch(loaded, companies, as_of, eligible, by_id, judge_participants=False)):  # eligible: just worked out
        results[id(h)] = r
    if companies:
        tick(len(companies))
    return [results[id(h)] for h in histories]


def _is_file(path: str | None) -> bool:
    return bool(path) and not path.startswith("<")


_WORKER: dict = {}


def _worker_init(path: str, content_hash: str) -> None:
    loaded = load_contract(path)
    if loaded.content_hash != content_hash:
        raise RuntimeError(f"{path} changed while the cohort was being evaluated")
    _WORKER[content_hash] = loaded


def _worker_chunk(ref, histories, as_of) -> list[EvaluationResult]:
    """A chunk of participants on an executor's worker; the agreement loaded once per worker process."""
    path, content_hash, loaded = ref
    if loaded is None:
        loaded = _WORKER.get(content_hash)
        if loaded is None:
            loaded = load_contract(path)
            if loaded.content_hash != content_hash:
                raise RuntimeError(f"{path} on this worker is not the agreement being evaluated: give every worker the same agreement files")
            _WORKER[content_hash] = loaded
    return evaluate_batch(loaded, histories, as_of)  # each as of min(as_of, its extraction date)


def total_of(results: list[EvaluationResult]) -> Decimal:
    return sum((r.total for r in results), ZERO)
