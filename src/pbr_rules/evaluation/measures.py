"""Derived facts: a history turned into the few numbers the compiled rules test.

Owns the measure vocabulary's arithmetic (docs/semantics.md §§ 1-6): horizons, windows,
qualifying weeks, runs and counts, cumulative sums, event lists, and the candidate
occurrences of each milestone version. It decides nothing about payment: it proposes
*candidates* (a day, a measured value, whether the prerequisites were met by then, a
provisional occurrence number) and the compiled rules in ``engine`` accept or refuse each
one against the contract's thresholds, periods, repeat limits and term.

Dates become day ordinals (``date.toordinal()``) and weeks ISO week indexes, because the
engine has no date type.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Callable, Mapping

from pbr_rules.language import LoadedContract
from pbr_rules.models.contract import (
    AcceleratorPhase,
    CompanyHire,
    CourseAttendance,
    CourseCompletion,
    CumulativeEarnings,
    EmploymentWeeks,
    Enrolment,
    FlexjobHoursIncrease,
    HireRetained,
    JobKind,
    MilestoneDefinition,
    OutcomeEvent,
    SelfSupportingWeeks,
    Side,
    Window,
)
from pbr_rules.models.history import CompanyHistory, HireRecord, ParticipantHistory
from pbr_rules.models.results import Evidence
from pbr_rules.periods import format_iso_week, week_index, week_monday, week_sunday

ONE_DAY = timedelta(days=1)
MAX_CANDIDATES_PER_VERSION = 520


# --- the per-contract plan ----------------------------------------------------------------


@dataclass(frozen=True)
class Version:
    """One definition of a milestone and the period it is in force: [start, end)."""

    index: int
    start: date | None
    end: date | None
    definition: MilestoneDefinition | None
    reference: str

    @property
    def max_times(self) -> int:
        d = self.definition
        return d.repeat.max_times if d is not None and d.repeat is not None else 1


@dataclass(frozen=True)
class Plan:
    """What a contract needs from every evaluation, worked out once per contract version."""

    order: tuple[str, ...]  # milestones, dependencies first
    versions: dict[str, tuple[Version, ...]]
    side: dict[str, Side]


def threshold(definition: MilestoneDefinition) -> int:
    """The number a candidate's value must reach: weeks, sessions, øre, or 1 for an event."""
    m = definition.measure
    if isinstance(m, (EmploymentWeeks, SelfSupportingWeeks, HireRetained)):
        return m.weeks
    if isinstance(m, CumulativeEarnings):
        return int(m.amount * 100)
    if isinstance(m, CourseAttendance):
        return m.sessions
    if isinstance(m, FlexjobHoursIncrease):
        return m.sustained_weeks
    return 1


_PLANS: dict[str, Plan] = {}


def plan_for(loaded: LoadedContract) -> Plan:
    plan = _PLANS.get(loaded.content_hash)
    if plan is None:
        plan = _PLANS[loaded.content_hash] = _make_plan(loaded)
    return plan


def _make_plan(loaded: LoadedContract) -> Plan:
    c = loaded.contract
    versions: dict[str, tuple[Version, ...]] = {}
    deps: dict[str, set[str]] = {}
    for mid, m in sorted(c.milestones.items()):
        vs = m.versions()
        out = []
        for i, (start, definition, ref) in enumerate(vs):
            end = vs[i + 1][0] if i + 1 < len(vs) else None
            out.append(Version(i, start, end, definition, ref))
            if definition is not None:
                deps.setdefault(mid, set()).update(definition.prerequisites)
                w = getattr(definition.measure, "window", None)
                if w is not None and w.after != "start":
                    deps[mid].add(w.after)
        versions[mid] = tuple(out)
        deps.setdefault(mid, set())
    order: list[str] = []
    done: set[str] = set()

    def visit(mid: str):
        if mid in done:
            return
        done.add(mid)
        for d in sorted(deps[mid]):
            visit(d)
        order.append(mid)

    for mid in sorted(deps):
        visit(mid)
    return Plan(order=tuple(order), versions=versions, side={k: v.side for k, v in c.milestones.items()})


# --- what the engine and the result need ---------------------------------------------------


@dataclass
class Candidate:
    """One possible occurrence of a milestone under one version of its definition."""

    milestone: str
    version: int
    k: int  # provisional occurrence number; 0 = fails the period, term or prerequisites
    day: date
    value: int
    prerequisites_met: bool
    evidence: Callable[[], list[Evidence]]
    fields: dict | None = None  # measured values a measure's rule tests besides the common ones (hires)


@dataclass
class Derived:
    """Everything an evaluation asserts into the engine, plus what explains it."""

    subject_fact: dict
    rule_details: dict[str, str]
    candidates: list[Candidate]
    progress: dict[str, str]
    why_not: dict[str, str]
    horizon: date
    refused: dict[str, tuple[list[str], str]] = field(default_factory=dict)  # milestone -> (why each hire does not count, clause)


# --- participants ---------------------------------------------------------------------------


class _Participant:
    """A history with its horizon, week codes and qualifying-week sets, computed once."""

    def __init__(self, loaded: LoadedContract, h: ParticipantHistory, as_of: date):
        self.h = h
        exit_day = min((e.date for e in h.exits), default=None)
        self.horizon = min(as_of, exit_day) if exit_day is not None else as_of
        H = self.horizon
        self.last_week = week_index(H) if H.weekday() == 6 else week_index(H) - 1
        self.enrolment = h.enrolment
        codes = loaded.codes.codes
        self.support_weeks: set[int] = set()
        for b in h.benefits:
            a, z = b.week_range()
            rng = range(a, z + 1)
            if codes[b.code].public_support:
                self.support_weeks.update(rng)
        self._emp: dict[tuple, set[int]] = {}
        drop = [ev.date for ev in h.course if ev.kind == "drop_out" and ev.date <= H]
        self.drop_out = min(drop) if drop else None

    def spells(self, kinds: frozenset[JobKind], partner_only: bool, min_hours) -> list[tuple[int, date, date]]:
        out = []
        for i, s in enumerate(self.h.employment):
            if s.kind not in kinds or (partner_only and not s.partner_company) or s.hours_per_week < min_hours:
                continue
            end = min(s.end or self.horizon, self.horizon)
            if end >= s.start:
                out.append((i, s.start, end))
        out.sort(key=lambda t: t[1])
        return out

    def employment_weeks(self, m: EmploymentWeeks) -> set[int]:
        key = (frozenset(m.job_kinds), m.partner_company_only, m.min_hours_per_week, m.self_supporting)
        weeks = self._emp.get(key)
        if weeks is None:
            weeks = _covered_weeks([(a, z) for _, a, z in self.spells(key[0], key[1], key[2])])
            if m.self_supporting:
                weeks -= self.support_weeks
            self._emp[key] = weeks
        return weeks


def _covered_weeks(intervals: list[tuple[date, date]]) -> set[int]:
    """ISO weeks whose Monday-Friday are all covered by the (sorted) day intervals."""
    merged: list[list[date]] = []
    for a, z in intervals:
        if merged and a <= merged[-1][1] + ONE_DAY:
            if z > merged[-1][1]:
                merged[-1][1] = z
        else:
            merged.append([a, z])
    weeks: set[int] = set()
    for a, z in merged:
        first = week_index(a) + (0 if a.weekday() == 0 else 1)
        last = week_index(z) - (0 if z.weekday() >= 4 else 1)
        weeks.update(range(first, last + 1))
    return weeks


def _windows(anchor: date, window: Window | None, start: date) -> tuple[int, int | None, date, date | None]:
    """(first week, last week or None, first day, last day or None) of a measure's window."""
    if window is None:
        return week_index(start) + 1, None, start, None
    w = week_index(anchor)
    return w + 1, w + window.weeks, anchor, week_sunday(w + window.weeks)


def count_weeks(qualifies: Callable[[int], bool], first: int, last: int, n: int, pattern: str, m: int | None):
    """Occurrences (completing week, value) of 'n weeks' under a pattern, and the best progress since the last.

    docs/semantics.md § 4: counting restarts the week after each occurrence.
    """
    occ: list[tuple[int, int]] = []
    run = total = best = 0
    recent: deque[bool] = deque()
    in_recent = 0
    for w in range(first, last + 1):
        q = qualifies(w)
        if pattern == "consecutive":
            run = run + 1 if q else 0
            cur = run
        elif pattern == "total":
            total += q
            cur = total
        else:
            recent.append(q)
            in_recent += q
            if len(recent) > m:
                in_recent -= recent.popleft()
            cur = in_recent
        if cur > best:
            best = cur
        if cur >= n:
            occ.append((w, cur))
            run = total = best = in_recent = 0
            recent.clear()
            if len(occ) >= MAX_CANDIDATES_PER_VERSION:
                break
    return occ, best


def derive_participant(loaded: LoadedContract, h: ParticipantHistory, as_of: date) -> Derived:
    c = loaded.contract
    plan = plan_for(loaded)
    p = _Participant(loaded, h, as_of)
    el = c.eligibility.citizens
    age = h.age_on(h.enrolment)
    baseline_weeks = 0
    rule_details: dict[str, str] = {
        "municipality": f"municipality {h.municipality}; the contract's is {c.municipality.code}",
        "target_group": f"target group {h.target_group}; admitted: {', '.join(el.target_groups)}",
        "residence": "resident in the municipality" if h.resident else "not resident in the municipality",
        "term": f"enrolled {h.enrolment}; term {c.term.start}..{c.term.end}",
    }
    if el.age is not None:
        rule_details["age"] = f"age {age} at enrolment; allowed {el.age.min if el.age.min is not None else '-'}..{el.age.max if el.age.max is not None else '-'}"
    if el.baseline is not None:
        b = el.baseline
        w0 = week_index(h.enrolment)
        codes = loaded.codes.codes
        counted = set(b.codes) if b.codes is not None else {k for k, v in codes.items() if v.public_support}
        lo, hi = w0 - b.of_weeks_before_enrolment, w0 - 1
        baseline_weeks = 0
        for spell in h.benefits:  # weeks are never given twice, so overlaps simply add up
            if spell.code in counted:
                a, z = spell.week_range()
                baseline_weeks += max(0, min(z, hi) - max(a, lo) + 1)
        rule_details["baseline"] = (
            f"{baseline_weeks} of the {b.of_weeks_before_enrolment} weeks before enrolment on benefits; "
            f"at least {b.benefit_weeks_at_least} required"
        )
    if el.enrolment_window is not None:
        rule_details["enrolment_window"] = f"enrolled {h.enrolment}; window {el.enrolment_window.start}..{el.enrolment_window.end}"
    fact = {
        "t": "p",
        "id": "s",
        "mun": h.municipality,
        "grp": h.target_group,
        "age": age,
        "res": 1 if h.resident else 0,
        "bw": baseline_weeks,
        "enr": h.enrolment.toordinal(),
    }
    derived = Derived(subject_fact=fact, rule_details=rule_details, candidates=[], progress={}, why_not={}, horizon=p.horizon)
    _derive_milestones(loaded, plan, derived, lambda d, anchor: _participant_occurrences(p, d, anchor), h.enrolment, p.horizon)
    return derived


def _participant_occurrences(p: _Participant, definition: MilestoneDefinition, anchor: date):
    """Raw occurrences of one definition as if always in force: [(day, value, evidence)], progress."""
    m = definition.measure
    H = p.horizon
    if isinstance(m, Enrolment):
        if p.enrolment <= H:
            return [(p.enrolment, 1, lambda: [Evidence(source="enrolment", description=f"enrolled on {p.enrolment}")])], "0 of 1"
        return [], "not enrolled by the horizon"
    first_w, last_w, first_d, last_d = _windows(anchor, getattr(m, "window", None), p.enrolment)
    last_w = p.last_week if last_w is None else min(last_w, p.last_week)
    last_d = H if last_d is None else min(last_d, H)

    if isinstance(m, (EmploymentWeeks, SelfSupportingWeeks)):
        if isinstance(m, EmploymentWeeks):
            weeks = p.employment_weeks(m)
            if not weeks:  # no qualifying week at all: nothing to count (most histories without a job)
                return [], f"0 of {m.weeks} weeks"
            qualifies = weeks.__contains__
        else:
            support = p.support_weeks
            qualifies = lambda w: w not in support  # noqa: E731
        occ, best = count_weeks(qualifies, first_w, last_w, m.weeks, m.pattern, m.out_of)
        out = []
        start = first_w
        for w, value in occ:
            out.append((week_sunday(w), value, _week_evidence(p, m, qualifies, start, w)))
            start = w + 1
        return out, f"{best} of {m.weeks} weeks"

    if isinstance(m, OutcomeEvent):
        evs = sorted(
            (ev.date, i, ev)
            for i, ev in enumerate(p.h.events)
            if ev.kind == m.event and (m.name is None or ev.name == m.name) and first_d <= ev.date <= last_d
        )
        return [(d, 1, _event_evidence(i, ev)) for d, i, ev in evs], f"0 of 1 {m.event} events"

    if isinstance(m, (CourseAttendance, CourseCompletion)):
        limit = last_d if p.drop_out is None else min(last_d, p.drop_out)
        evs = sorted((ev.date, i, ev) for i, ev in enumerate(p.h.course) if first_d <= ev.date <= limit)
        if isinstance(m, CourseCompletion):
            return [(d, 1, _course_evidence([(i, ev)])) for d, i, ev in evs if ev.kind == "completion"], "not completed"
        out, total, used = [], 0, []
        for d, i, ev in evs:
            if ev.kind != "attendance":
                continue
            total += ev.sessions
            used.append((i, ev))
            while total >= m.sessions * (len(out) + 1):
                out.append((d, m.sessions, _course_evidence(list(used))))
                used = []
        return out, f"{total - m.sessions * len(out)} of {m.sessions} sessions"

    if isinstance(m, CumulativeEarnings):
        return _earnings(p, m, first_d, last_d)

    if isinstance(m, FlexjobHoursIncrease):
        return _flexjob(p, m, first_w, last_w)
    raise TypeError(f"measure {m.kind} is not a citizen measure")  # the loader refuses this


def _week_evidence(p: _Participant, m, qualifies, first: int, last: int):
    def build() -> list[Evidence]:
        weeks = [w for w in range(first, last + 1) if qualifies(w)]
        out = [Evidence(source="weeks", description=f"qualifying weeks counted: {_week_runs(weeks)}")]
        if isinstance(m, EmploymentWeeks):
            lo, hi = week_monday(first), week_sunday(last)
            for i, s in enumerate(p.h.employment):
                end = s.end or p.horizon
                if s.start <= hi and end >= lo and s.kind in m.job_kinds:
                    out.append(
                        Evidence(
                            source=f"employment[{i}]",
                            description=f"{s.kind.value} job at {s.employer}, {s.hours_per_week} h/week, {s.start}..{s.end or 'ongoing'}",
                        )
                    )
        else:
            for i, b in enumerate(p.h.benefits):
                a, z = b.week_range()
                if a <= last and z >= first:
                    out.append(Evidence(source=f"benefits[{i}]", description=f"{b.code} in {b.weeks} (weeks with it are not self-supporting)"))
        return out

    return build


def _week_runs(weeks: list[int]) -> str:
    if not weeks:
        return "none"
    runs, start, prev = [], weeks[0], weeks[0]
    for w in weeks[1:] + [None]:
        if w is not None and w == prev + 1:
            prev = w
            continue
        runs.append(format_iso_week(start) if start == prev else f"{format_iso_week(start)}..{format_iso_week(prev)}")
        if w is not None:
            start = prev = w
    return ", ".join(runs)


def _event_evidence(i: int, ev):
    def build():
        text = f"{ev.kind}{' ' + repr(ev.name) if ev.name else ''} on {ev.date}"
        if ev.evidence:
            text += f" (evidence: {ev.evidence})"
        return [Evidence(source=f"events[{i}]", description=text)]

    return build


def _course_evidence(items):
    def build():
        return [
            Evidence(
                source=f"course[{i}]",
                description=f"{ev.kind} on {ev.date}" + (f", {ev.sessions} sessions" if ev.sessions else ""),
            )
            for i, ev in items
        ]

    return build


@lru_cache(maxsize=4096)
def _days_in_month(year: int, month: int) -> int:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return (nxt - date(year, month, 1)).days


# Days in a month divide 377,580 (the least common multiple of 28, 29, 30 and 31), so a
# daily rate of (monthly earnings / days in the month) is a whole number of these units:
# earnings are summed exactly in integers, with no rounding and no fractions.
_DAY_UNITS = 377_580


def _earnings(p: _Participant, m: CumulativeEarnings, first_d: date, last_d: date):
    """docs/semantics.md § 5: monthly earnings accrue per day; exact; met the day the total reaches k × amount."""
    target = int(m.amount * 100) * _DAY_UNITS
    total = 0
    out = []
    used: list[int] = []
    for i, a, z in p.spells(frozenset(m.job_kinds), False, 0):
        a, z = max(a, first_d), min(z, last_d)
        if z < a:
            continue
        monthly = int(p.h.employment[i].monthly_earnings * 100) * _DAY_UNITS
        if monthly <= 0:
            continue
        used.append(i)
        day = a
        while day <= z:
            dim = _days_in_month(day.year, day.month)
            seg_end = min(z, date(day.year, day.month, dim))
            rate = monthly // dim
            days = (seg_end - day).days + 1
            while total + rate * days >= target * (len(out) + 1):
                n = -(-(target * (len(out) + 1) - total) // rate)  # whole days needed, rounded up
                met = day + timedelta(days=n - 1)
                total += rate * n
                days -= n
                day = met + ONE_DAY
                out.append((met, int(m.amount * 100), _earnings_evidence(p, list(used), met, total // _DAY_UNITS)))
            total += rate * days
            day = seg_end + ONE_DAY
    done = (total - target * len(out)) // (_DAY_UNITS * 100)
    return out, f"DKK {done:,} of {int(m.amount):,} earned"


def _earnings_evidence(p, spells, met, total):
    def build():
        out = [Evidence(source="earnings", description=f"DKK {total // 100:,}.{total % 100:02d} earned by {met}")]
        for i in spells:
            s = p.h.employment[i]
            out.append(Evidence(source=f"employment[{i}]", description=f"{s.employer}: DKK {s.monthly_earnings}/month, {s.start}..{s.end or 'ongoing'}"))
        return out

    return build


def _flexjob(p: _Participant, m: FlexjobHoursIncrease, first_w: int, last_w: int):
    spells = p.spells(frozenset({JobKind.flexjob}), False, 0)
    covered = _covered_weeks([(a, z) for _, a, z in spells])
    hours: dict[int, object] = {}
    for i, a, z in spells:
        h = p.h.employment[i].hours_per_week
        wa = week_index(a) + (0 if a.weekday() <= 4 else 1)
        for w in range(wa, week_index(z) + 1):
            if w not in hours or h < hours[w]:
                hours[w] = h
    flex = [w for w in range(first_w, last_w + 1) if w in covered]
    if not flex:
        return [], f"0 of {m.sustained_weeks} weeks (no flexjob week yet)"
    base = hours[flex[0]]
    raised = {w for w in flex if hours[w] >= base + m.increase_hours}
    occ, best = count_weeks(raised.__contains__, first_w, last_w, m.sustained_weeks, "consecutive", None)

    def evidence(w):
        def build():
            return [
                Evidence(source="weeks", description=f"baseline {base} h/week in {format_iso_week(flex[0])}; raised weeks up to {format_iso_week(w)}: {_week_runs(sorted(x for x in raised if x <= w))}")
            ] + [
                Evidence(source=f"employment[{i}]", description=f"flexjob at {p.h.employment[i].employer}, {p.h.employment[i].hours_per_week} h/week, {a}..{p.h.employment[i].end or 'ongoing'}")
                for i, a, z in spells
            ]

        return build

    return [(week_sunday(w), v, evidence(w)) for w, v in occ], f"{best} of {m.sustained_weeks} weeks at {base + m.increase_hours}+ h/week"


# --- companies -----------------------------------------------------------------------------


def derive_company(
    loaded: LoadedContract,
    h: CompanyHistory,
    as_of: date,
    eligible_participants: dict[str, date | None],
    participants: Mapping[str, ParticipantHistory] | None = None,
) -> Derived:
    """``eligible_participants``: id -> enrolment date (None when only the id is known).

    ``participants``: the participants' own histories (any of the cohort's), by id: a hire
    counts only when the participant's history shows paid work with this company on the
    hire date (docs/semantics.md § 5, "Hires verified"); a hire whose participant's
    history is not given is unverified and does not count.
    """
    c = loaded.contract
    plan = plan_for(loaded)
    el = c.eligibility.companies
    rule_details = {
        "term": f"accelerator start {h.start}; term {c.term.start}..{c.term.end}",
    }
    if el is not None:
        rule_details["size_band"] = f"size band {h.size_band.value}; allowed: {', '.join(b.value for b in el.size_bands)}"
        if el.in_municipality:
            rule_details["municipality"] = f"municipality {h.municipality}; the contract's is {c.municipality.code}"
        if el.partner_required:
            rule_details["partner"] = "a partner company" if h.partner else "not a partner company"
    fact = {
        "t": "c",
        "id": "s",
        "mun": h.municipality,
        "band": h.size_band.value,
        "partner": 1 if h.partner else 0,
        "start": h.start.toordinal(),
    }
    H = as_of
    derived = Derived(subject_fact=fact, rule_details=rule_details, candidates=[], progress={}, why_not={}, horizon=H)
    hires = _company_hires(h, eligible_participants, participants or {})
    refusals: dict[int, list[str]] = {}  # id(definition) -> why hires of it do not count

    def occurrences(definition: MilestoneDefinition, anchor: date):
        m = definition.measure
        if isinstance(m, Enrolment):
            if h.start <= H:
                return [(h.start, 1, lambda: [Evidence(source="start", description=f"started the accelerator on {h.start}")])], "0 of 1"
            return [], "not started by the horizon"
        _, _, first_d, last_d = _windows(anchor, m.window, h.start)
        last_d = H if last_d is None else min(last_d, H)
        if isinstance(m, AcceleratorPhase):
            recs = sorted((r.completed, i, r) for i, r in enumerate(h.phases) if r.phase == m.phase and first_d <= r.completed <= last_d)
            return [
                (d, 1, (lambda i=i, r=r: [Evidence(source=f"phases[{i}]", description=f"phase {r.phase} completed {r.completed}")]))
                for d, i, r in recs
            ], f"phase {m.phase} not completed"
        if isinstance(m, (CompanyHire, HireRetained)):
            out, refused = [], []
            for hire in hires:
                r = hire.record
                met = r.date if isinstance(m, CompanyHire) else r.date + timedelta(days=7 * m.weeks)
                if r.date > H or not first_d <= met <= last_d:
                    continue
                if isinstance(m, HireRetained) and r.end is not None and r.end < met:
                    continue
                why = hire.refusal(m)
                if why is not None:
                    refused.append(f"hires[{hire.index}] ({r.participant}, {r.date}): {why}")
                    continue
                out.append((met, _hire_value(m), hire.candidate_fields(), hire.evidence(m, met)))
            refusals[id(definition)] = refused
            if isinstance(m, CompanyHire):
                return out, "no hire of an eligible participant yet"
            return out, f"no hire retained {m.weeks} weeks yet"
        raise TypeError(f"measure {m.kind} is not a company measure")  # the loader refuses this

    _derive_milestones(loaded, plan, derived, occurrences, h.start, H, side=Side.company)
    for mid in plan.order:
        if plan.side[mid] != Side.company:
            continue
        in_force = [v for v in plan.versions[mid] if v.definition is not None and (v.start is None or v.start <= H)]
        if in_force and isinstance(in_force[-1].definition.measure, (CompanyHire, HireRetained)):
            refused = refusals.get(id(in_force[-1].definition))
            if refused:
                derived.refused[mid] = (refused, in_force[-1].reference)
    return derived


def _hire_value(m) -> int:
    return m.weeks if isinstance(m, HireRetained) else 1


@dataclass
class _Hire:
    """One hire of a company history and what the participant's own history says about it."""

    index: int
    record: HireRecord
    company: str
    eligible: bool
    before_enrolment: bool
    known: bool  # the participant's history was given
    hours: Decimal | None  # hours a week of the paid job with the company on the hire date (None: no such job)
    spell: int | None  # that job's index in the participant's employment
    rehire: int | None  # index of an earlier programme hire of the same participant by this company

    def refusal(self, m) -> str | None:
        """Why this hire does not count for the measure, or None when it counts."""
        p = self.record.participant
        if not self.eligible:
            return f"participant {p} is not eligible under this agreement"
        if self.before_enrolment:
            return f"hired before participant {p} enrolled: not an outcome of the programme"
        if not self.known:
            return f"unverified: participant {p}'s history is not in the cohort, so no paid work with {self.company} can be shown"
        if self.hours is None:
            return f"unverified: participant {p}'s history shows no paid work with company {self.company} on {self.record.date}"
        if self.hours < m.hours_required:
            return (
                f"unverified: the job with {self.company} on {self.record.date} (employment[{self.spell}]) has {self.hours} hours a week; "
                f"the contract requires at least {m.hours_required}"
            )
        if self.rehire is not None and not m.rehires_pay:
            return f"a re-hire of {p} (first hired in hires[{self.rehire}]); the contract does not pay a re-hire (rehire_pays: false)"
        return None

    def candidate_fields(self) -> dict:
        """What the engine's hire rule tests: verified, hours (hundredths), re-hire."""
        return {"hv": 1 if self.known and self.hours is not None else 0, "hrs": int((self.hours or 0) * 100), "rh": 0 if self.rehire is None else 1}

    def evidence(self, m, met: date):
        r, spell = self.record, self.spell

        def build():
            if isinstance(m, CompanyHire):
                text = f"hired eligible participant {r.participant} on {r.date}"
            else:
                text = f"participant {r.participant} hired {r.date}, still employed {met}"
            return [
                Evidence(source=f"hires[{self.index}]", description=text),
                Evidence(source=f"{r.participant}: employment[{spell}]", description=f"paid work with {self.company}, {self.hours} h/week, on {r.date}"),
            ]

        return build


def _company_hires(h: CompanyHistory, eligible: dict[str, date | None], participants: Mapping[str, ParticipantHistory]) -> list[_Hire]:
    """Every hire in date order (same date: file order), checked against the participant's history."""
    out: list[_Hire] = []
    first_hire: dict[str, int] = {}
    for i, r in sorted(enumerate(h.hires), key=lambda t: (t[1].date, t[0])):
        enrolled = eligible.get(r.participant)
        history = participants.get(r.participant)
        if enrolled is None and history is not None and r.participant in eligible:
            enrolled = history.enrolment
        before = enrolled is not None and r.date < enrolled
        hours = spell = None
        if history is not None:
            for j, s in enumerate(history.employment):
                if (
                    s.employer == h.company
                    and s.monthly_earnings > 0
                    and s.start <= r.date <= (s.end or history.extracted)
                    and (hours is None or s.hours_per_week > hours)
                ):
                    hours, spell = s.hours_per_week, j
        rehire = None
        if not before:
            rehire = first_hire.get(r.participant)
            first_hire.setdefault(r.participant, i)
        out.append(_Hire(i, r, h.company, r.participant in eligible, before, history is not None, hours, spell, rehire))
    return out


# --- versions, prerequisites and numbering (docs/semantics.md § 6) -----------------------


def _derive_milestones(loaded: LoadedContract, plan: Plan, derived: Derived, occurrences, start: date, horizon: date, side: Side = Side.citizen):
    """Number the occurrences across versions by the rule of docs/semantics.md § 6.

    Occurrence k is met on the latest of: the day the version's own k-th occurrence was met,
    the day that version came into force, the day occurrence k-1 was met, and the day its
    last prerequisite was met; the first version (in date order) where that day falls inside
    its period and k is within its max_times wins. Every such candidate goes to the engine,
    which checks it against the compiled thresholds, periods, repeat limits and term; the
    first candidate past the term is sent too, so the engine refuses it.
    """
    term_end = loaded.contract.term.end
    first_met: dict[str, date | None] = {}
    for mid in plan.order:
        if plan.side[mid] != side:
            continue
        own: list[tuple[Version, list, date | None]] = []  # (version, its own occurrences, prerequisite day)
        progress = why = None
        for v in plan.versions[mid]:
            d = v.definition
            if d is None:
                continue
            if v.end is None or v.end > horizon:
                progress = None
            window = getattr(d.measure, "window", None)
            anchor = start
            if window is not None and window.after != "start":
                anchor = first_met.get(window.after)
                if anchor is None:
                    why = f"its window starts when '{window.after}' is met, which it is not"
                    continue
            missing = [pre for pre in d.prerequisites if first_met.get(pre) is None]
            occ, prog = occurrences(d, anchor)
            if v.end is None or v.end > horizon:
                progress = prog
            if missing:
                why = f"prerequisite {', '.join(repr(x) for x in missing)} not met"
                continue
            prereq_day = max((first_met[pre] for pre in d.prerequisites), default=None)
            own.append((v, occ, prereq_day))
        first: date | None = None
        previous = date.min
        k = 0
        while own:
            k += 1
            found = None
            for v, occ, prereq_day in own:
                if k > v.max_times or len(occ) < k:
                    continue
                day = max(occ[k - 1][0], v.start or date.min, previous, prereq_day or date.min)
                if v.end is not None and day >= v.end:
                    continue
                found = (day, v, occ[k - 1])
                break
            if found is None or found[0] > horizon:
                break  # nothing (more) by the horizon: a later version or prerequisite day lies beyond it
            day, v, (own_day, value, *rest) = found
            fields = rest[0] if len(rest) == 2 else None  # hires carry the measured values their rule tests
            derived.candidates.append(
                Candidate(milestone=mid, version=v.index, k=k, day=day, value=value, prerequisites_met=True, evidence=rest[-1], fields=fields)
            )
            if day > term_end:
                break  # the engine refuses it; later ones would be later still
            if first is None:
                first = day
            previous = day
        first_met[mid] = first
        if progress is not None:
            derived.progress[mid] = progress
        if why is not None:
            derived.why_not[mid] = why
