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

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache, partial
from typing import Callable, Mapping

from pbr_rules.language import LoadedContract
from pbr_rules.models.contract import (
    AcceleratorPhase,
    AllOf,
    AnyOf,
    CompanyGrowth,
    CompanyHire,
    CourseAttendance,
    CourseCompletion,
    CumulativeEarnings,
    EmploymentWeeks,
    Enrolment,
    FlexjobHoursIncrease,
    HireRetained,
    JobKind,
    JobStart,
    MilestoneDefinition,
    OutcomeEvent,
    SelfSupportingWeeks,
    Side,
    StatusAt,
    MeasurementPoints,
    StatusMonths,
    StatusWeeks,
    TargetGroupEmployees,
    Window,
    measure_window,
)
from pbr_rules.models.history import CompanyHistory, HireRecord, ParticipantHistory
from pbr_rules.models.common import construct
from pbr_rules.models.results import Evidence
from pbr_rules.periods import add_months, format_iso_week, week_index, week_monday, week_sunday

ONE_DAY = timedelta(days=1)


def _evidence(source: str, description: str) -> Evidence:
    """Evidence from validated values: constructed, not validated again."""
    return construct(Evidence, source=source, description=description)

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
    if isinstance(m, AllOf):
        return len(m.measures)  # every one of them met
    if isinstance(m, StatusWeeks):
        return m.weeks
    if isinstance(m, StatusMonths):
        return m.months
    if isinstance(m, CompanyGrowth):  # basis points over the baseline, or hundredths of the amount
        return m.increase_percent * 100 if m.increase_percent is not None else m.increase_by * 100
    if isinstance(m, TargetGroupEmployees):
        return m.periods
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
                w = measure_window(definition.measure)
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


@dataclass(slots=True)
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
    """Everything an evaluation asserts into the engine, plus what explains it.

    The wording of the eligibility rules is built only when an explained result asks for it
    (``rule_details``); the decisions never need it.
    """

    subject_fact: dict
    details: Callable[[], dict[str, str]]
    candidates: list[Candidate]
    progress: dict[str, str]
    why_not: dict[str, str]
    horizon: date
    refused: dict[str, tuple[list[str], str]] | None = None  # milestone -> (why each hire does not count, clause); companies only

    @property
    def rule_details(self) -> dict[str, str]:
        return self.details()


# --- participants ---------------------------------------------------------------------------


class _Participant:
    """A history with its horizon, week codes and qualifying-week sets, each computed once and
    only when a measure asks for it (most histories never need the weeks on public support)."""

    __slots__ = ("h", "currency", "horizon", "last_week", "enrolment", "_loaded", "_support", "_emp", "_spells", "_course", "_drop_out")

    def __init__(self, loaded: LoadedContract, h: ParticipantHistory, as_of: date):
        self.h = h
        self.currency = loaded.contract.currency  # evidence names amounts in it
        self.horizon = H = min(as_of, min(e.date for e in h.exits)) if h.exits else as_of
        self.last_week = (H.toordinal() - 1) // 7 - (H.weekday() != 6)  # the last whole week by the horizon
        self.enrolment = h.enrolment
        self._loaded = loaded
        self._support: set[int] | None = None
        self._emp: dict[tuple, set[int]] = {}
        self._spells: dict[tuple, list[tuple[int, date, date]]] = {}
        self._course: list | None = None
        self._drop_out: date | None = None

    @property
    def support_weeks(self) -> set[int]:
        """The weeks on public support (benefit codes the contract counts as public support)."""
        weeks = self._support
        if weeks is None:
            weeks = self._support = set()
            public = _public_codes(self._loaded)
            for b in self.h.benefits:
                if b.code in public:
                    a, z = b.week_range()
                    weeks.update(range(a, z + 1))
        return weeks

    @property
    def course(self) -> list:
        """(date, index, event) of the course events, sorted once."""
        if self._course is None:
            self._sort_course()
        return self._course

    @property
    def drop_out(self) -> date | None:
        """The first drop-out from the course by the horizon (found while the course is sorted)."""
        if self._course is None:
            self._sort_course()
        return self._drop_out

    def _sort_course(self) -> None:
        out = self._course = sorted((ev.date, i, ev) for i, ev in enumerate(self.h.course))
        for d, _, ev in out:
            if d > self.horizon:
                break
            if ev.kind == "drop_out":
                self._drop_out = d
                break

    def release(self) -> None:
        """Drop the working sets once the measures are derived: the evidence kept for the result
        reads the history itself, and fewer objects outlive the derivation (less for the
        garbage collector to walk while a batch's decisions are held)."""
        self._support = self._emp = self._spells = self._course = None

    def spells(self, kinds: frozenset[JobKind], partner_only: bool, band=None) -> list[tuple[int, date, date]]:
        """(index, first day, last day cut at the horizon) of the jobs of these kinds, in the
        measure's hours band (``band``: a measure with an hours band; None: any job), by start."""
        key = (kinds, partner_only, None if band is None else (band.min_hours_per_week, band.max_hours_per_week))
        out = self._spells.get(key)
        if out is not None:
            return out
        out = self._spells[key] = []
        for i, s in enumerate(self.h.employment):
            if s.kind not in kinds or (partner_only and not s.partner_company):
                continue
            if band is not None and not band.counts_hours(s.hours_per_week, s.monthly_earnings):
                continue
            end = min(s.end or self.horizon, self.horizon)
            if end >= s.start:
                out.append((i, s.start, end))
        out.sort(key=lambda t: t[1])
        return out

    def status_spells(self, kind: str) -> list[tuple[int, date, date]]:
        """(index, first day, last day cut at the horizon) of the history's spells in a status, by start."""
        key = ("status", kind)
        out = self._spells.get(key)
        if out is None:
            out = self._spells[key] = sorted(
                ((i, s.start, min(s.end or self.horizon, self.horizon)) for i, s in enumerate(self.h.statuses) if s.kind == kind and s.start <= self.horizon),
                key=lambda t: (t[1], t[0]),
            )
        return out

    def employment_weeks(self, m: EmploymentWeeks) -> set[int]:
        key = _measure_key(m)
        weeks = self._emp.get(key)
        if weeks is None:
            weeks = _covered_weeks([(a, z) for _, a, z in self.spells(key[0], key[1], m)])
            if m.self_supporting:
                weeks -= self.support_weeks
            self._emp[key] = weeks
        return weeks


_PUBLIC: dict[str, frozenset[str]] = {}


def _public_codes(loaded: LoadedContract) -> frozenset[str]:
    """The contract's benefit codes that are public support, once per contract version."""
    codes = _PUBLIC.get(loaded.content_hash)
    if codes is None:
        codes = _PUBLIC[loaded.content_hash] = frozenset(k for k, v in loaded.codes.codes.items() if v.public_support)
    return codes


_KEYS: dict[int, tuple] = {}


def _measure_key(m: EmploymentWeeks) -> tuple:
    """What an employment measure's qualifying weeks depend on, worked out once per measure."""
    entry = _KEYS.get(id(m))
    if entry is None or entry[0] is not m:
        entry = _KEYS[id(m)] = (m, (frozenset(m.job_kinds), m.partner_company_only, m.min_hours_per_week, m.max_hours_per_week, m.self_supporting))
    return entry[1]


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


def count_weeks(weeks: set[int], negate: bool, first: int, last: int, n: int, pattern: str, m: int | None):
    """Occurrences (completing week, value) of 'n weeks' under a pattern, and the best progress since the last.

    A week qualifies when it is in ``weeks`` (or, with ``negate``, when it is not).
    docs/semantics.md § 4: counting restarts the week after each occurrence.
    """
    occ: list[tuple[int, int]] = []
    best = run = 0
    if pattern == "consecutive":
        for w in range(first, last + 1):
            if (w in weeks) is not negate:
                run += 1
                if run > best:
                    best = run
                if run >= n:
                    occ.append((w, run))
                    run = best = 0
                    if len(occ) >= MAX_CANDIDATES_PER_VERSION:
                        break
            else:
                run = 0
    elif pattern == "total":
        counted = sorted(w for w in weeks if first <= w <= last) if not negate else (w for w in range(first, last + 1) if w not in weeks)
        for w in counted:
            run += 1
            if run >= n:
                occ.append((w, run))
                run = 0
                if len(occ) >= MAX_CANDIDATES_PER_VERSION:
                    break
        best = run
    else:  # n of the last m weeks, never reaching back before the week after the last occurrence
        since = first
        for w in range(first, last + 1):
            if (w in weeks) is not negate:
                run += 1
            old = w - m
            if old >= since and ((old in weeks) is not negate):
                run -= 1
            if run > best:
                best = run
            if run >= n:
                occ.append((w, run))
                run = best = 0
                since = w + 1
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
    if el.baseline is not None:
        b = el.baseline
        w0 = week_index(h.enrolment)
        counted = _baseline_codes(loaded)
        lo, hi = w0 - b.of_weeks_before_enrolment, w0 - 1
        for spell in h.benefits:  # weeks are never given twice, so overlaps simply add up
            if spell.code in counted:
                a, z = spell.week_range()
                baseline_weeks += max(0, min(z, hi) - max(a, lo) + 1)
    group = h.target_group
    fact = {
        "t": "p",
        "mun": h.municipality,
        "grp": group,
        "age": age,
        "res": 1 if h.resident else 0,
        "bw": baseline_weeks,
        "enr": h.enrolment.toordinal(),
    }

    derived = Derived(subject_fact=fact, details=partial(_participant_details, loaded, h, age, baseline_weeks), candidates=[], progress={}, why_not={}, horizon=p.horizon)
    _derive_milestones(loaded, plan, derived, None, h.enrolment, p.horizon, subject=p)
    p.release()
    return derived


def _participant_details(loaded: LoadedContract, h: ParticipantHistory, age: int, baseline_weeks: int) -> dict[str, str]:
    """The wording of a participant's eligibility rules (built only for an explained result)."""
    words = _citizen_words(loaded)
    out = {
        "municipality": f"municipality {h.municipality}; {words['municipality']}",
        "target_group": f"target group {h.target_group}; {words['target_group']}",
        "residence": (
            ("resident in the municipality" if "resident" in h.model_fields_set else "resident in the municipality (not stated in the history: resident by default)")
            if h.resident
            else "not resident in the municipality"
        ),
        "term": f"enrolled {h.enrolment}; {words['term']}",
    }
    if "age" in words:
        out["age"] = f"age {age} at enrolment; {words['age']}"
    if "baseline" in words:
        out["baseline"] = f"{baseline_weeks} {words['baseline']}"
    if "enrolment_window" in words:
        out["enrolment_window"] = f"enrolled {h.enrolment}; {words['enrolment_window']}"
    return out


_WORDS: dict[str, dict[str, str]] = {}


def _citizen_words(loaded: LoadedContract) -> dict[str, str]:
    """The contract's side of each eligibility rule's wording, once per contract version."""
    words = _WORDS.get(loaded.content_hash)
    if words is None:
        c = loaded.contract
        el = c.eligibility.citizens
        words = {
            "municipality": f"the contract's is {c.municipality.code}",
            "target_group": f"admitted: {', '.join(el.target_groups)}",
            "term": f"term {c.term.start}..{c.term.end}",
        }
        if el.age is not None:
            words["age"] = f"allowed {el.age.min if el.age.min is not None else '-'}..{el.age.max if el.age.max is not None else '-'}"
        if el.baseline is not None:
            words["baseline"] = (
                f"of the {el.baseline.of_weeks_before_enrolment} weeks before enrolment on benefits; "
                f"at least {el.baseline.benefit_weeks_at_least} required"
            )
        if el.enrolment_window is not None:
            words["enrolment_window"] = f"window {el.enrolment_window.start}..{el.enrolment_window.end}"
        _WORDS[loaded.content_hash] = words
    return words


_BASELINE_CODES: dict[str, frozenset[str]] = {}


def _baseline_codes(loaded: LoadedContract) -> frozenset[str]:
    """The benefit codes the baseline counts: the contract's list, or every public-support code."""
    codes = _BASELINE_CODES.get(loaded.content_hash)
    if codes is None:
        b = loaded.contract.eligibility.citizens.baseline
        known = loaded.codes.codes
        codes = frozenset(b.codes) if b.codes is not None else frozenset(k for k, v in known.items() if v.public_support)
        _BASELINE_CODES[loaded.content_hash] = codes
    return codes


def _bounds(p: _Participant, m, anchor: date) -> tuple[int, int, date, date]:
    """The measure's window cut at the horizon: (first week, last week, first day, last day)."""
    window = m.window
    if window is None:
        return (p.enrolment.toordinal() - 1) // 7 + 1, p.last_week, p.enrolment, p.horizon
    w = (anchor.toordinal() - 1) // 7  # week_index
    last_w = w + window.weeks
    last_d = date.fromordinal(last_w * 7 + 7)  # week_sunday
    return w + 1, min(last_w, p.last_week), anchor, min(last_d, p.horizon)


def _enrolment(p: _Participant, m, anchor: date):
    if p.enrolment <= p.horizon:
        return [(p.enrolment, 1, lambda: [_enrolled(p.enrolment)])], "0 of 1"
    return [], "not enrolled by the horizon"


def _weeks(p: _Participant, m, anchor: date):
    first_w, last_w, _, _ = _bounds(p, m, anchor)
    if m.__class__ is EmploymentWeeks:
        weeks, negate = p.employment_weeks(m), False
        if not weeks:  # no qualifying week at all: nothing to count (most histories without a job)
            return [], f"0 of {m.weeks} weeks"
    else:
        weeks, negate = p.support_weeks, True  # self-supporting: not on public support
    occ, best = count_weeks(weeks, negate, first_w, last_w, m.weeks, m.pattern, m.out_of)
    out = []
    start = first_w
    for w, value in occ:
        out.append((week_sunday(w), value, _week_evidence(p, m, weeks, negate, start, w)))
        start = w + 1
    return out, f"{best} of {m.weeks} weeks"


def _job_start(p: _Participant, m, anchor: date):
    """docs/semantics.md § 5: each day a job in the band starts within the date window; a job
    already running when the window opens is not a job start."""
    if not p.h.employment:
        return [], "no job started yet"
    _, _, first_d, last_d = _bounds(p, m, anchor)
    first_d = max(first_d, p.enrolment)
    days: dict[date, list[int]] = {}
    for i, a, _z in p.spells(_kinds(m), m.partner_company_only, m):
        if first_d <= a <= last_d:
            days.setdefault(a, []).append(i)
    return [(d, 1, _job_evidence(p, d, days[d])) for d in sorted(days)], "no job started yet"


def _job_evidence(p: _Participant, day: date, spells: list[int]):
    def build():
        return [
            _evidence(
                source=f"employment[{i}]",
                description=f"{p.h.employment[i].kind.value} job at {p.h.employment[i].employer}, {p.h.employment[i].hours_per_week} h/week, started {day}",
            )
            for i in spells
        ]

    return build


def _status_weeks(p: _Participant, m, anchor: date):
    """docs/semantics.md § 4: weeks whose Monday to Friday are all in the status, counted by the pattern."""
    spells = p.status_spells(m.status)
    if not spells:
        return [], f"0 of {m.weeks} weeks in {m.status}"
    first_w, last_w, _, _ = _bounds(p, m, anchor)
    weeks = _covered_weeks([(a, z) for _, a, z in spells])
    occ, best = count_weeks(weeks, False, first_w, last_w, m.weeks, m.pattern, m.out_of)
    return [(week_sunday(w), value, _status_evidence(p, spells, f"{m.status} weeks up to {format_iso_week(w)}")) for w, value in occ], f"{best} of {m.weeks} weeks in {m.status}"


def _status_months(p: _Participant, m, anchor: date):
    """docs/semantics.md § 5: calendar months in the status from their first to their last day."""
    spells = p.status_spells(m.status)
    if not spells:
        return [], f"0 of {m.months} months in {m.status}"
    _, _, first_d, last_d = _bounds(p, m, anchor)
    full: set[int] = set()  # months as year * 12 + month - 1
    for a, z in _merged([(a, z) for _, a, z in spells]):
        first = a.year * 12 + a.month - 1 + (a.day != 1)
        after = z + ONE_DAY
        last = z.year * 12 + z.month - 1 - (after.month == z.month)  # z is the month's last day, or the month before counts
        full.update(range(first, last + 1))
    out, run, best = [], 0, 0
    lo = first_d.year * 12 + first_d.month - 1 + (first_d.day != 1)
    hi = last_d.year * 12 + last_d.month - 1 - ((last_d + ONE_DAY).month == last_d.month)
    for month in range(lo, hi + 1):
        if month in full:
            run += 1
        elif m.pattern == "consecutive":
            run = 0
        best = max(best, run)
        if run >= m.months:
            year, mo = divmod(month, 12)
            end = date(year + (mo == 11), (mo + 1) % 12 + 1, 1) - ONE_DAY
            out.append((end, run, _status_evidence(p, spells, f"{m.status} months up to {end:%Y-%m}")))
            run = best = 0
    return out, f"{best} of {m.months} months in {m.status}"


def _points(start: date, at_months: list[int]):
    """(months, the point) of each measurement point after ``start``, by the calendar-month rule
    (docs/semantics.md § 5); stops past the last date there is (no later point exists either)."""
    for months in at_months:
        try:
            yield months, add_months(start, months)
        except (ValueError, OverflowError):
            return


def _status_at(p: _Participant, m, anchor: date):
    """docs/semantics.md § 5: in the status on a measurement point, or within its tolerance."""
    spells = p.status_spells(m.status)
    points = ", ".join(str(x) for x in m.at_months)
    if not spells:
        return [], f"not in {m.status} at any point yet ({points} months)"
    _, _, first_d, last_d = _bounds(p, m, anchor)
    start = anchor if m.window is not None else p.enrolment
    out = []
    for months, point in _points(start, m.at_months):
        lo, hi = max(point - timedelta(days=m.tolerance_days), first_d), point + timedelta(days=m.tolerance_days)
        if hi > last_d or lo > hi:
            continue  # not measurable yet (its tolerance runs past the horizon or the window)
        found = None  # the day nearest the point in the status (earlier on a tie)
        for _, a, z in spells:
            a, z = max(a, lo), min(z, hi)
            if a <= z:
                day = min(max(point, a), z)
                if found is None or (abs(day - point), day) < (abs(found - point), found):
                    found = day
        if found is not None:
            out.append((found, 1, _status_evidence(p, spells, f"in {m.status} on {found} (the {months}-month point {point}, ±{m.tolerance_days} days)")))
    out.sort(key=lambda t: t[0])  # tolerances of close points may overlap
    return out, f"in {m.status} at {len(out)} of the points {points} months after {start}"


def _measurement_points(p: _Participant, m, anchor: date):
    """docs/semantics.md § 5: each point (months after the start, by the calendar-month rule) the horizon reaches."""
    _, _, first_d, last_d = _bounds(p, m, anchor)
    start = anchor if m.window is not None else p.enrolment
    out = []
    for months, point in _points(start, m.at_months):
        if point > last_d:
            break  # not reached yet (or past the window): later points are later still
        if point >= first_d:
            out.append((point, 1, lambda point=point, months=months: [_evidence(source="measurement_points", description=f"the {months}-month measurement point {point} (from {start}) is reached")]))
    return out, f"{len(out)} of {len(m.at_months)} measurement points reached"


def _merged(intervals: list[tuple[date, date]]) -> list[tuple[date, date]]:
    out: list[list[date]] = []
    for a, z in sorted(intervals):
        if out and a <= out[-1][1] + ONE_DAY:
            out[-1][1] = max(out[-1][1], z)
        else:
            out.append([a, z])
    return [(a, z) for a, z in out]


def _status_evidence(p: _Participant, spells, what: str):
    def build():
        return [_evidence(source="statuses", description=what)] + [
            _evidence(source=f"statuses[{i}]", description=f"{p.h.statuses[i].kind} {p.h.statuses[i].start}..{p.h.statuses[i].end or 'ongoing'}" + (f" ({p.h.statuses[i].source})" if p.h.statuses[i].source else ""))
            for i, _, _ in spells
        ]

    return build


def _event(p: _Participant, m, anchor: date):
    _, _, first_d, last_d = _bounds(p, m, anchor)
    evs = sorted(
        (ev.date, i, ev)
        for i, ev in enumerate(p.h.events)
        if ev.kind == m.event and (m.name is None or ev.name == m.name) and first_d <= ev.date <= last_d
    )
    return [(d, 1, _event_evidence(i, ev)) for d, i, ev in evs], f"0 of 1 {m.event} events"


def _course(p: _Participant, m, anchor: date):
    if not p.h.course:
        return [], ("not completed" if m.__class__ is CourseCompletion else f"0 of {m.sessions} sessions")
    _, _, first_d, last_d = _bounds(p, m, anchor)
    course, drop_out = p.course, p.drop_out
    limit = last_d if drop_out is None else min(last_d, drop_out)
    evs = [t for t in course if first_d <= t[0] <= limit]
    if m.__class__ is CourseCompletion:
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


def _earnings_measure(p: _Participant, m, anchor: date):
    if not p.h.employment:
        return [], f"{p.currency} 0 of {int(m.amount):,} earned"
    _, _, first_d, last_d = _bounds(p, m, anchor)
    return _earnings(p, m, first_d, last_d)


def _flexjob_measure(p: _Participant, m, anchor: date):
    if not p.h.employment:
        return [], f"0 of {m.sustained_weeks} weeks (no flexjob week yet)"
    first_w, last_w, _, _ = _bounds(p, m, anchor)
    return _flexjob(p, m, first_w, last_w)


def _any_of(p: _Participant, m, anchor: date):
    """docs/semantics.md § 5: every occurrence of any of the measures, in date order (same day: listed order)."""
    merged, progress = [], []
    for j, sub in enumerate(m.measures):
        occ, prog = _CITIZEN_MEASURES[sub.__class__](p, sub, anchor)
        merged.extend((o[0], j, i, o[-1]) for i, o in enumerate(occ))
        progress.append(prog)
    merged.sort(key=lambda t: (t[0], t[1], t[2]))
    return [(day, 1, evidence) for day, _, _, evidence in merged[:MAX_CANDIDATES_PER_VERSION]], "any of: " + "; ".join(progress)


def _all_of(p: _Participant, m, anchor: date):
    """docs/semantics.md § 5: the k-th occurrence on the day the last of the measures has its k-th."""
    lists, progress = [], []
    for sub in m.measures:
        occ, prog = _CITIZEN_MEASURES[sub.__class__](p, sub, anchor)
        lists.append(occ)
        progress.append(prog)
    out = []
    for k in range(min(len(x) for x in lists)):
        parts = [x[k] for x in lists]
        out.append((max(o[0] for o in parts), len(parts), _joined_evidence([o[-1] for o in parts])))
    return out, "all of: " + "; ".join(progress)


def _joined_evidence(builders):
    def build():
        return [e for b in builders for e in b()]

    return build


_CITIZEN_MEASURES = {
    Enrolment: _enrolment,
    EmploymentWeeks: _weeks,
    JobStart: _job_start,
    StatusWeeks: _status_weeks,
    StatusMonths: _status_months,
    StatusAt: _status_at,
    MeasurementPoints: _measurement_points,
    SelfSupportingWeeks: _weeks,
    OutcomeEvent: _event,
    CourseAttendance: _course,
    CourseCompletion: _course,
    CumulativeEarnings: _earnings_measure,
    FlexjobHoursIncrease: _flexjob_measure,
    AnyOf: _any_of,
    AllOf: _all_of,
}


def _week_evidence(p: _Participant, m, qualifying: set[int], negate: bool, first: int, last: int):
    def build() -> list[Evidence]:
        out = [_evidence(source="weeks", description=f"qualifying weeks counted: {_week_runs(qualifying, negate, first, last)}")]
        if isinstance(m, EmploymentWeeks):
            lo, hi = week_monday(first), week_sunday(last)
            for i, s in enumerate(p.h.employment):
                end = s.end or p.horizon
                if s.start <= hi and end >= lo and s.kind in m.job_kinds:
                    out.append(
                        _evidence(
                            source=f"employment[{i}]",
                            description=f"{s.kind.value} job at {s.employer}, {s.hours_per_week} h/week, {s.start}..{s.end or 'ongoing'}",
                        )
                    )
        else:
            for i, b in enumerate(p.h.benefits):
                a, z = b.week_range()
                if a <= last and z >= first:
                    out.append(_evidence(source=f"benefits[{i}]", description=f"{b.code} in {b.weeks} (weeks with it are not self-supporting)"))
        return out

    return build


def _week_runs(qualifying: set[int], negate: bool, first: int, last: int) -> str:
    """The weeks first..last that count (in ``qualifying``, or not in it when ``negate``) as ISO
    week runs, e.g. ``2021-W03..2021-W15, 2021-W18``; from the set's own members, not a walk
    over every week of the window."""
    inside = sorted(w for w in qualifying if first <= w <= last)
    runs: list[tuple[int, int]] = []
    if negate:  # the gaps between the members, and before and after them
        prev = first - 1
        for w in inside:
            if w > prev + 1:
                runs.append((prev + 1, w - 1))
            prev = w
        if prev < last:
            runs.append((prev + 1, last))
    elif inside:
        start = prev = inside[0]
        for w in inside[1:]:
            if w != prev + 1:
                runs.append((start, prev))
                start = w
            prev = w
        runs.append((start, prev))
    if not runs:
        return "none"
    return ", ".join(format_iso_week(a) if a == z else f"{format_iso_week(a)}..{format_iso_week(z)}" for a, z in runs)


def _event_evidence(i: int, ev):
    def build():
        text = f"{ev.kind}{' ' + repr(ev.name) if ev.name else ''} on {ev.date}"
        if ev.evidence:
            text += f" (evidence: {ev.evidence})"
        return [_evidence(source=f"events[{i}]", description=text)]

    return build


def _course_evidence(items):
    def build():
        return [_course_item(i, ev.kind, ev.date, ev.sessions) for i, ev in items]

    return build


# Evidence is frozen, so one object may stand in every result that cites the same record: a
# cohort's course events fall on few dates (measured: the København cohort's 4,454 course
# citations are of a few hundred distinct events), and building each again was 6 % of an
# explained evaluation. Bounded, so a national cohort's dates cannot grow it without end.
@lru_cache(maxsize=1 << 15)
def _course_item(i: int, kind: str, day: date, sessions: int | None) -> Evidence:
    return _evidence(source=f"course[{i}]", description=f"{kind} on {day}" + (f", {sessions} sessions" if sessions else ""))


@lru_cache(maxsize=1 << 12)
def _enrolled(day: date) -> Evidence:
    return _evidence(source="enrolment", description=f"enrolled on {day}")


@lru_cache(maxsize=4096)
def _days_in_month(year: int, month: int) -> int:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return (nxt - date(year, month, 1)).days


# Days in a month divide 377,580 (the least common multiple of 28, 29, 30 and 31), so a
# daily rate of (monthly earnings / days in the month) is a whole number of these units:
# earnings are summed exactly in integers, with no rounding and no fractions.
_DAY_UNITS = 377_580


_KINDS: dict[int, tuple] = {}


def _kinds(m) -> frozenset[JobKind]:
    entry = _KINDS.get(id(m))
    if entry is None or entry[0] is not m:
        entry = _KINDS[id(m)] = (m, frozenset(m.job_kinds))
    return entry[1]


_FLEXJOB = frozenset({JobKind.flexjob})


def _earnings(p: _Participant, m: CumulativeEarnings, first_d: date, last_d: date):
    """docs/semantics.md § 5: monthly earnings accrue per day; exact; met the day the total reaches k × amount."""
    target = int(m.amount * 100) * _DAY_UNITS
    total = 0
    out = []
    used: list[int] = []
    for i, a, z in p.spells(_kinds(m), False):
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
    return out, f"{p.currency} {done:,} of {int(m.amount):,} earned"


def _earnings_evidence(p, spells, met, total):
    def build():
        out = [_evidence(source="earnings", description=f"{p.currency} {total // 100:,}.{total % 100:02d} earned by {met}")]
        for i in spells:
            s = p.h.employment[i]
            out.append(_evidence(source=f"employment[{i}]", description=f"{s.employer}: {p.currency} {s.monthly_earnings}/month, {s.start}..{s.end or 'ongoing'}"))
        return out

    return build


def _flexjob(p: _Participant, m: FlexjobHoursIncrease, first_w: int, last_w: int):
    spells = p.spells(_FLEXJOB, False)
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
    occ, best = count_weeks(raised, False, first_w, last_w, m.sustained_weeks, "consecutive", None)

    def evidence(w):
        def build():
            return [
                _evidence(source="weeks", description=f"baseline {base} h/week in {format_iso_week(flex[0])}; raised weeks up to {format_iso_week(w)}: {_week_runs(raised, False, first_w, w)}")
            ] + [
                _evidence(source=f"employment[{i}]", description=f"flexjob at {p.h.employment[i].employer}, {p.h.employment[i].hours_per_week} h/week, {a}..{p.h.employment[i].end or 'ongoing'}")
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

    def details() -> dict[str, str]:
        out = {"term": f"accelerator start {h.start}; term {c.term.start}..{c.term.end}"}
        if el is not None:
            out["size_band"] = f"size band {h.size_band.value}; allowed: {', '.join(b.value for b in el.size_bands)}"
            if el.in_municipality:
                out["municipality"] = f"municipality {h.municipality}; the contract's is {c.municipality.code}"
            if el.partner_required:
                out["partner"] = "a partner company" if h.partner else "not a partner company"
        return out

    fact = {
        "t": "c",
        "mun": h.municipality,
        "band": h.size_band.value,
        "partner": 1 if h.partner else 0,
        "start": h.start.toordinal(),
    }
    H = as_of
    derived = Derived(subject_fact=fact, details=details, candidates=[], progress={}, why_not={}, horizon=H)
    hires = _company_hires(h, eligible_participants, participants or {})
    refusals: dict[int, list[str]] = {}  # id(definition) -> why hires of it do not count

    def occurrences(definition: MilestoneDefinition, anchor: date):
        m = definition.measure
        if isinstance(m, Enrolment):
            if h.start <= H:
                return [(h.start, 1, lambda: [_evidence(source="start", description=f"started the accelerator on {h.start}")])], "0 of 1"
            return [], "not started by the horizon"
        _, _, first_d, last_d = _windows(anchor, m.window, h.start)
        last_d = H if last_d is None else min(last_d, H)
        if isinstance(m, AcceleratorPhase):
            recs = sorted((r.completed, i, r) for i, r in enumerate(h.phases) if r.phase == m.phase and first_d <= r.completed <= last_d)
            return [
                (d, 1, (lambda i=i, r=r: [_evidence(source=f"phases[{i}]", description=f"phase {r.phase} completed {r.completed}")]))
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
                why = hire.refusal(m, met if isinstance(m, HireRetained) else None)
                if why is not None:
                    refused.append(f"hires[{hire.index}] ({r.participant}, {r.date}): {why}")
                    continue
                out.append((met, _hire_value(m), hire.candidate_fields(), hire.evidence(m, met)))
            refusals[id(definition)] = refused
            if isinstance(m, CompanyHire):
                return out, "no hire of an eligible participant yet"
            return out, f"no hire retained {m.weeks} weeks yet"
        if isinstance(m, CompanyGrowth):
            return _growth(h, m, first_d, last_d)
        if isinstance(m, TargetGroupEmployees):
            return _target_group_held(h, m, first_d, last_d)
        raise TypeError(f"measure {m.kind} is not a company measure")  # the loader refuses this

    _derive_milestones(loaded, plan, derived, occurrences, h.start, H, side=Side.company)
    for mid in plan.order:
        if plan.side[mid] != Side.company:
            continue
        in_force = [v for v in plan.versions[mid] if v.definition is not None and (v.start is None or v.start <= H)]
        if in_force and isinstance(in_force[-1].definition.measure, (CompanyHire, HireRetained)):
            refused = refusals.get(id(in_force[-1].definition))
            if refused:
                if derived.refused is None:
                    derived.refused = {}
                derived.refused[mid] = (refused, in_force[-1].reference)
    return derived


def _growth(h: CompanyHistory, m: CompanyGrowth, first_d: date, last_d: date):
    """docs/semantics.md § 5, "company_growth": each later year whose figure reaches the target over the baseline year."""
    yearly = {int(f.period): (i, getattr(f, m.figure)) for i, f in enumerate(h.figures) if len(f.period) == 4 and getattr(f, m.figure) is not None}
    base_year = h.start.year - (1 if m.baseline == "year_before_start" else 0)
    if base_year not in yearly:
        return [], f"no {m.figure} figures for the baseline year {base_year}"
    bi, base = yearly[base_year]
    if m.increase_percent is not None and base <= 0:
        return [], f"the baseline {m.figure} of {base_year} is 0: a percentage of it cannot be met"
    out = []
    best = None
    for year in sorted(y for y in yearly if y > base_year):
        i, value = yearly[year]
        day = date(year, 12, 31)
        if not first_d <= day <= last_d:
            continue
        if m.increase_percent is not None:
            measured = int((value - base) * 10000 // base)  # basis points over the baseline, rounded down
            reached = value * 100 >= base * (100 + m.increase_percent)
        else:
            measured = int((value - base) * 100 // 1)  # hundredths over the baseline
            reached = value >= base + m.increase_by
        best = measured if best is None or measured > best else best
        if reached:
            out.append((day, measured, _figures_evidence(h, m.figure, [(bi, base_year), (i, year)])))
    unit = "%" if m.increase_percent is not None else ""
    target = m.increase_percent if m.increase_percent is not None else m.increase_by
    done = "no later year yet" if best is None else (f"best {best / 100:g}{unit}" if unit else f"best {best / 100:g} more")
    return out, f"{m.figure} +{target}{unit} over {base_year}: {done}"


def _target_group_held(h: CompanyHistory, m: TargetGroupEmployees, first_d: date, last_d: date):
    """docs/semantics.md § 5, "target_group_employees": at least N in each of M consecutive periods."""
    quarterly = any(len(f.period) > 4 for f in h.figures)
    periods = sorted(
        (f.last_day(), i, f)
        for i, f in enumerate(h.figures)
        if (len(f.period) > 4) == quarterly and f.target_group_employees is not None and f.last_day() > h.start and first_d <= f.last_day() <= last_d
    )
    out, run, best, previous, used = [], 0, 0, None, []
    for day, i, f in periods:
        adjacent = previous is not None and _next_period(previous) == f.period
        if f.target_group_employees >= m.at_least:
            run = run + 1 if adjacent or run == 0 else 1
            used = (used if adjacent else []) + [(i, f.period)]
        else:
            run, used = 0, []
        previous = f.period
        best = max(best, run)
        if run >= m.periods:
            out.append((day, run, _figures_evidence(h, "target_group_employees", list(used))))
            run, used, best = 0, [], 0
    kind = "quarters" if quarterly else "years"
    return out, f"{best} of {m.periods} {kind} in a row with at least {m.at_least} target-group employees"


def _next_period(period: str) -> str:
    year = int(period[:4])
    if len(period) == 4:
        return str(year + 1)
    q = int(period[-1])
    return f"{year + 1}-Q1" if q == 4 else f"{year}-Q{q + 1}"


def _figures_evidence(h: CompanyHistory, figure: str, items: list[tuple[int, object]]):
    def build():
        return [
            _evidence(source=f"figures[{i}]", description=f"{figure} {getattr(h.figures[i], figure)} in {h.figures[i].period} ({h.figures[i].source})")
            for i, _ in items
        ]

    return build


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
    # The participant's paid work with the company without a break from the hire date, as its
    # own history shows it: the spells, in order, as (index, start, end or None, hours a week),
    # and the last day they cover (an open spell runs to the history's extract). Empty when no
    # job is shown.
    chain: tuple[tuple[int, date, date | None, Decimal], ...] = ()
    until: date | None = None
    extracted: date | None = None

    def refusal(self, m, met: date | None = None) -> str | None:
        """Why this hire does not count for the measure (a retention: on its day ``met``), or None when it counts."""
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
        if met is not None and (self.until is None or self.until < met):
            if self.chain and self.chain[-1][2] is None and self.until == self.extracted:  # the job goes on; the extract ends first
                return (
                    f"unverified: participant {p}'s history was extracted on {self.extracted}, before the retention day {met} "
                    f"({m.weeks} weeks after the hire); its job with company {self.company} has no end, so a later extract can show it"
                )
            return (
                f"unverified: participant {p}'s history shows paid work with company {self.company} from {self.record.date} "
                f"only until {self.until}, not still on {met} ({m.weeks} weeks after the hire)"
            )
        return None

    def candidate_fields(self) -> dict:
        """What the engine's hire rule tests: verified, hours (hundredths), re-hire."""
        return {"hv": 1 if self.known and self.hours is not None else 0, "hrs": int((self.hours or 0) * 100), "rh": 0 if self.rehire is None else 1}

    def evidence(self, m, met: date):
        r, spell = self.record, self.spell

        def build():
            if isinstance(m, CompanyHire):
                return [
                    _evidence(source=f"hires[{self.index}]", description=f"hired eligible participant {r.participant} on {r.date}"),
                    _evidence(source=f"{r.participant}: employment[{spell}]", description=f"paid work with {self.company}, {self.hours} h/week, on {r.date}"),
                ]
            # a retention: the company's record, and the participant's own jobs with it that cover the hire date to the retention day
            out = [_evidence(source=f"hires[{self.index}]", description=f"participant {r.participant} hired {r.date}, still in place on {met} by the company's record")]
            for j, start, end, hours in self.chain:
                if start > met:
                    break
                to = f"to {end}" if end is not None else f"with no end (history extracted {self.extracted})"
                out.append(_evidence(source=f"{r.participant}: employment[{j}]", description=f"paid work with {self.company}, {hours} h/week, from {start} {to}"))
            return out

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
        chain: tuple = ()
        until = extracted = None
        if history is not None:
            for j, s in enumerate(history.employment):
                if (
                    s.employer == h.company
                    and s.monthly_earnings > 0
                    and s.start <= r.date <= (s.end or history.extracted)
                    and (hours is None or s.hours_per_week > hours)
                ):
                    hours, spell = s.hours_per_week, j
            if spell is not None:
                chain, until = _unbroken_work(history, h.company, r.date)
                extracted = history.extracted
        rehire = None
        if not before:
            rehire = first_hire.get(r.participant)
            first_hire.setdefault(r.participant, i)
        out.append(_Hire(i, r, h.company, r.participant in eligible, before, history is not None, hours, spell, rehire, chain, until, extracted))
    return out


def _unbroken_work(history: ParticipantHistory, company: str, day: date) -> tuple[tuple[tuple[int, date, date | None, Decimal], ...], date]:
    """The participant's paid work (monthly earnings above 0, any kind and hours) with ``company``
    without a day's break from ``day``: the spells that make it up, in order, and the last day
    they cover (an open spell runs to the history's extract). docs/semantics.md § 5, hire_retained."""
    spells = sorted(
        (s.start, j, s.end, s.hours_per_week)
        for j, s in enumerate(history.employment)
        if s.employer == company and s.monthly_earnings > 0 and (s.end or history.extracted) >= day
    )
    covered = day - timedelta(days=1)
    chain = []
    for start, j, end, hours in spells:
        if start > covered + timedelta(days=1):
            break  # a gap: the work with the company ended on `covered`
        last = end or history.extracted
        if last > covered:
            chain.append((j, start, end, hours))
            covered = last
    return tuple(chain), covered


# --- versions, prerequisites and numbering (docs/semantics.md § 6) -----------------------


_STEPS: dict[tuple[str, Side], list] = {}


def _steps(loaded: LoadedContract, plan: Plan, side: Side) -> list:
    """Per milestone of the side, in dependency order, its versions in force with what they need:
    (version, definition, the milestone its window starts after or None, prerequisites, the day the
    version ends or None, its measure's function, its most occurrences, the day it starts or date.min).
    Worked out once per contract version."""
    key = (loaded.content_hash, side)
    steps = _STEPS.get(key)
    if steps is None:
        steps = []
        for mid in plan.order:
            if plan.side[mid] != side:
                continue
            out = []
            for v in plan.versions[mid]:
                d = v.definition
                if d is None:
                    continue
                window = measure_window(d.measure)
                after = window.after if window is not None and window.after != "start" else None
                fn = None
                if side == Side.citizen:  # a citizen measure's occurrences: (day, value, evidence), progress
                    fn = _CITIZEN_MEASURES.get(d.measure.__class__)
                    if fn is None:
                        raise TypeError(f"measure {d.measure.kind} is not a citizen measure")  # the loader refuses this
                out.append((v, d, after, tuple(d.prerequisites), v.end, fn, v.max_times, v.start or date.min))
            steps.append((mid, out))
        _STEPS[key] = steps
    return steps


def _derive_milestones(loaded: LoadedContract, plan: Plan, derived: Derived, occurrences, start: date, horizon: date, side: Side = Side.citizen, subject=None):
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
    for mid, steps in _steps(loaded, plan, side):
        own: list[tuple[Version, list, date, int, date, date | None]] = []  # (version, its own occurrences, prerequisite day, max_times, start, end)
        progress = why = None
        for v, d, after, prerequisites, end, fn, most, since in steps:
            current = end is None or end > horizon  # in force at the horizon: its progress is reported
            if current:
                progress = None
            anchor = start
            if after is not None:
                anchor = first_met.get(after)
                if anchor is None:
                    why = f"its window starts when '{after}' is met, which it is not"
                    continue
            occ, prog = occurrences(d, anchor) if fn is None else fn(subject, d.measure, anchor)
            if current:
                progress = prog
            prereq_day = date.min
            missing = None
            for pre in prerequisites:
                day = first_met.get(pre)
                if day is None:
                    missing = [x for x in prerequisites if first_met.get(x) is None]
                    break
                if day > prereq_day:
                    prereq_day = day
            if missing:
                why = f"prerequisite {', '.join(repr(x) for x in missing)} not met"
                continue
            if occ:  # a version without occurrences gives no candidate (below: len(occ) < k)
                own.append((v, occ, prereq_day, most, since, end))
        first: date | None = None
        previous = date.min
        k = 0
        while own:
            k += 1
            found = None
            for v, occ, prereq_day, most, since, end in own:
                if k > most or len(occ) < k:
                    continue
                day = max(occ[k - 1][0], since, previous, prereq_day)
                if end is not None and day >= end:
                    continue
                found = (day, v, occ[k - 1])
                break
            if found is None or found[0] > horizon:
                break  # nothing (more) by the horizon: a later version or prerequisite day lies beyond it
            day, v, (_, value, *rest) = found
            fields = rest[0] if len(rest) == 2 else None  # hires carry the measured values their rule tests
            derived.candidates.append(
                Candidate(mid, v.index, k, day, value, True, rest[-1], fields)  # milestone, version, k, day, value, prerequisites met, evidence, fields
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
