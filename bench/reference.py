"""A fast, hand-written, plain-Python evaluation of the København agreement's citizen side.

The speed anchor of docs/engine.md: what a programmer would write by hand for this one
agreement, with no rules engine, no explanations and no models built on the way. It reads
the agreement's figures (thresholds, windows, tariffs, the per-participant cap, the claim
lag) from the loaded contract, but its structure is written for this agreement's nine
citizen milestones and fails loudly on any other shape. It is never used to decide a
payment: ``bench/bench_evaluate.py`` and ``tests/test_reference_anchor.py`` check that it
agrees with ``decide`` on every benchmarked history, so the speed compared is of the same
answers.

``reference_payments(ref, history)`` returns ``[(milestone, occurrence, trigger, due,
amount_in_øre), ...]`` in payment order, or ``[]`` for an ineligible participant.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from pbr_rules.models.contract import (
    CourseAttendance,
    CourseCompletion,
    CumulativeEarnings,
    EmploymentWeeks,
    Enrolment,
    FlexjobHoursIncrease,
    OutcomeEvent,
    SelfSupportingWeeks,
)
from pbr_rules.periods import add_days

_DAY_UNITS = 377_580  # lcm(28, 29, 30, 31): a daily rate of monthly / days is whole in these units
ONE_DAY = timedelta(days=1)
_EPOCH = date(1, 1, 1).toordinal()  # a Monday: week index = (ordinal - 1) // 7


def _word(x) -> str:
    """A vocabulary word (target groups were an enum before they became words of a jurisdiction)."""
    return getattr(x, "value", x)


def _week(d: date) -> int:
    return (d.toordinal() - 1) // 7


def _sunday(w: int) -> date:
    return date.fromordinal(w * 7 + 7)


class Reference:
    """The agreement's figures, read once."""

    SHAPE = {
        "citizen_start": Enrolment,
        "course_attendance": CourseAttendance,
        "course_completed": CourseCompletion,
        "qualification": OutcomeEvent,
        "job_13_weeks": EmploymentWeeks,
        "job_26_weeks": EmploymentWeeks,
        "self_support_blocks": SelfSupportingWeeks,
        "earnings_60k": CumulativeEarnings,
        "flexjob_progress": FlexjobHoursIncrease,
    }

    def __init__(self, loaded):
        c = loaded.contract
        citizen = {k: m for k, m in c.milestones.items() if m.side.value == "citizen"}
        if {k: type(m.measure) for k, m in citizen.items()} != self.SHAPE or any(len(m.versions()) != 1 for m in citizen.values()):
            raise ValueError(f"{c.id}: the reference is written for the København agreement's citizen milestones only")
        m = {k: v.measure for k, v in citizen.items()}
        self.m = m
        el = c.eligibility.citizens
        self.mun = c.municipality.code
        self.groups = frozenset(_word(g) for g in el.target_groups)
        self.age = (el.age.min, el.age.max)
        self.residence = el.residence_in_municipality
        b = el.baseline
        self.baseline = (b.benefit_weeks_at_least, b.of_weeks_before_enrolment, frozenset(b.codes) if b.codes is not None else None)
        w = el.enrolment_window
        self.window = (w.start, w.end)
        self.term = (c.term.start, c.term.end)
        self.public = frozenset(k for k, v in loaded.codes.codes.items() if v.public_support)
        self.prereq = {k: tuple(v.prerequisites) for k, v in citizen.items()}
        self.max_times = {k: (v.repeat.max_times if v.repeat else 1) for k, v in citizen.items()}
        # tariffs: milestone -> line -> sorted [(effective, øre or None)]
        self.tariffs = {}
        for mid, t in c.tariffs.items():
            if mid in citizen:
                self.tariffs[mid] = {
                    line: sorted((d, None if e.value is None else int(e.value * 100)) for d, e in dated.items())
                    for line, dated in t.amounts.items()
                }
        cap = sorted((d, None if e.value is None else int(e.value * 100)) for d, e in (c.caps.per_participant or {}).items())
        self.cap = cap
        lag = c.payment.claim_lag
        self.lag = (lag.days, lag.kind == "working")


@lru_cache(maxsize=65536)
def _due(day: date, days: int, working: bool) -> date:
    return add_days(day, days, working=working)


def _dated(entries, day):
    found = None
    for d, v in entries:
        if d > day:
            break
        found = entries
        value = v
    return None if found is None else (value,)


def _count(q, first: int, last: int, n: int, pattern: str, m: int | None, limit: int) -> list[int]:
    """Weeks completing an occurrence; counting restarts after each."""
    out = []
    run = 0
    if pattern == "of":
        since = first  # the sliding frame never reaches back before the last occurrence
        for w in range(first, last + 1):
            if w in q:
                run += 1
            if w - m >= since and (w - m) in q:
                run -= 1
            if run >= n:
                out.append(w)
                run = 0
                since = w + 1
                if len(out) >= limit:
                    break
        return out
    consecutive = pattern == "consecutive"
    for w in range(first, last + 1):
        if w in q:
            run += 1
            if run >= n:
                out.append(w)
                run = 0
                if len(out) >= limit:
                    break
        elif consecutive:
            run = 0
    return out


def _covered(intervals) -> set[int]:
    """ISO weeks whose Monday to Friday are all inside the (start-sorted) intervals."""
    weeks: set[int] = set()
    cur = None
    for a, z in sorted(intervals):
        if cur and a <= cur[1] + ONE_DAY:
            if z > cur[1]:
                cur[1] = z
            continue
        if cur:
            weeks.update(range(_week(cur[0]) + (cur[0].weekday() != 0), _week(cur[1]) - (cur[1].weekday() < 4) + 1))
        cur = [a, z]
    if cur:
        weeks.update(range(_week(cur[0]) + (cur[0].weekday() != 0), _week(cur[1]) - (cur[1].weekday() < 4) + 1))
    return weeks


def _by_date(e):
    return e.date


def reference_payments(ref: Reference, h) -> list[tuple[str, int, date, date, int]]:
    # --- eligibility
    enr = h.enrolment
    age = h.age_on(enr)
    if h.municipality != ref.mun or _word(h.target_group) not in ref.groups:
        return []
    if (ref.age[0] is not None and age < ref.age[0]) or (ref.age[1] is not None and age > ref.age[1]):
        return []
    if ref.residence and not h.resident:
        return []
    if not (ref.window[0] <= enr <= ref.window[1]) or not (ref.term[0] <= enr <= ref.term[1]):
        return []
    at_least, before, counted = ref.baseline
    w0 = (enr.toordinal() - 1) // 7
    lo, hi = w0 - before, w0 - 1
    support: set[int] = set()
    base = 0
    public = ref.public
    for b in h.benefits:
        a, z = b.week_range()
        if b.code in public:
            support.update(range(a, z + 1))
        if (b.code in counted) if counted is not None else (b.code in public):
            base += max(0, min(z, hi) - max(a, lo) + 1)
    if base < at_least:
        return []

    # --- the horizon
    horizon = h.extracted
    for e in h.exits:
        if e.date < horizon:
            horizon = e.date
    hz = horizon.toordinal()
    last_week = (hz - 1) // 7 - (horizon.weekday() != 6)
    m = ref.m
    met: list[tuple[date, str, int]] = []  # (day, milestone, occurrence)
    fromordinal = date.fromordinal

    def last_day(weeks: int) -> date:  # the window's last day (a Sunday), cut at the horizon
        end = (w0 + weeks) * 7 + 7
        return horizon if end >= hz else fromordinal(end)

    # citizen_start
    if enr <= horizon:
        met.append((enr, "citizen_start", 1))
    # course: attendance and completion (up to a drop-out)
    if h.course:
        course = sorted(h.course, key=_by_date)
        drop = None
        for e in course:
            if e.kind == "drop_out" and e.date <= horizon:
                drop = e.date
                break
        ca, cc = m["course_attendance"], m["course_completed"]
        limit_a = last_day(ca.window.weeks)
        limit_c = last_day(cc.window.weeks)
        if drop is not None:
            limit_a, limit_c = min(limit_a, drop), min(limit_c, drop)
        total = 0
        attended = completed = False
        for e in course:
            if e.date < enr:
                continue
            if not attended and e.kind == "attendance" and e.date <= limit_a:
                total += e.sessions
                if total >= ca.sessions:
                    met.append((e.date, "course_attendance", 1))
                    attended = True
            elif not completed and e.kind == "completion" and e.date <= limit_c:
                met.append((e.date, "course_completed", 1))
                completed = True
    # qualification: the first event in the window
    q = m["qualification"]
    if h.events:
        ld = last_day(q.window.weeks)
        first = None
        for e in h.events:
            if e.kind == q.event and (q.name is None or e.name == q.name) and enr <= e.date <= ld and (first is None or e.date < first):
                first = e.date
        if first is not None:
            met.append((first, "qualification", 1))

    # jobs: weeks at the hours threshold
    j13, j26 = m["job_13_weeks"], m["job_26_weeks"]
    kinds = frozenset(j13.job_kinds)
    spells = []
    for s in h.employment:
        end = s.end or horizon
        if end > horizon:
            end = horizon
        if end >= s.start:
            spells.append((s, end))
    job13_day = None
    if spells:
        weeks = _covered([(s.start, end) for s, end in spells if s.kind in kinds and s.hours_per_week >= j13.min_hours_per_week])
        if weeks:
            hit = _count(weeks, w0 + 1, min(w0 + j13.window.weeks, last_week), j13.weeks, j13.pattern, j13.out_of, 1)
            if hit:
                job13_day = _sunday(hit[0])
                met.append((job13_day, "job_13_weeks", 1))
                hit = _count(weeks, w0 + 1, min(w0 + j26.window.weeks, last_week), j26.weeks, j26.pattern, j26.out_of, 1)
                if hit:
                    met.append((max(_sunday(hit[0]), job13_day), "job_26_weeks", 1))
    # sustainment: blocks of self-supporting weeks counted from the 13-week job outcome
    if job13_day is not None:
        ss = m["self_support_blocks"]
        w13 = _week(job13_day)
        first, last = w13 + 1, min(w13 + ss.window.weeks, last_week)
        free = set(range(first, last + 1)) - support
        for i, w in enumerate(_count(free, first, last, ss.weeks, ss.pattern, ss.out_of, ref.max_times["self_support_blocks"])):
            met.append((max(_sunday(w), job13_day), "self_support_blocks", i + 1))
    # earnings: monthly earnings accrue per day
    ea = m["earnings_60k"]
    fd, ld = enr, last_day(ea.window.weeks)
    target = int(ea.amount * 100) * _DAY_UNITS
    ekinds = frozenset(ea.job_kinds)
    acc = 0
    reached = None
    for s, end in sorted(spells, key=lambda t: t[0].start):
        if s.kind not in ekinds:
            continue
        a, z = max(s.start, fd), min(end, ld)
        monthly = int(s.monthly_earnings * 100) * _DAY_UNITS
        if z < a or monthly <= 0:
            continue
        day = a
        while day <= z and reached is None:
            nxt = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
            dim = (nxt - date(day.year, day.month, 1)).days
            seg_end = min(z, nxt - ONE_DAY)
            rate = monthly // dim
            days = (seg_end - day).days + 1
            if acc + rate * days >= target:
                reached = day + timedelta(days=-(-(target - acc) // rate) - 1)
            acc += rate * days
            day = seg_end + ONE_DAY
        if reached is not None:
            break
    if reached is not None:
        met.append((reached, "earnings_60k", 1))
    # flexjob hours: raised by N hours over the first flexjob week's, held for M weeks
    fx = m["flexjob_progress"]
    flex = [(s, end) for s, end in spells if s.kind.value == "flexjob"]
    if flex:
        covered = _covered([(s.start, end) for s, end in flex])
        hours: dict[int, object] = {}
        for s, end in sorted(flex, key=lambda t: t[0].start):
            for w in range(_week(s.start) + (s.start.weekday() > 4), _week(end) + 1):
                if w not in hours or s.hours_per_week < hours[w]:
                    hours[w] = s.hours_per_week
        first, last = w0 + 1, min(w0 + fx.window.weeks, last_week)
        fw = [w for w in range(first, last + 1) if w in covered]
        if fw:
            base_h = hours[fw[0]] + fx.increase_hours
            raised = {w for w in fw if hours[w] >= base_h}
            hit = _count(raised, first, last, fx.sustained_weeks, "consecutive", None, 1)
            if hit:
                met.append((_sunday(hit[0]), "flexjob_progress", 1))

    # --- pricing: the tariff in force on the trigger day, the per-participant cap
    term_end = ref.term[1]
    met = sorted(x for x in met if x[0] <= term_end and x[0] <= horizon)
    group = _word(h.target_group)
    out = []
    paid = 0
    days, working = ref.lag
    for day, mid, k in met:
        lines = ref.tariffs.get(mid)
        if not lines:
            continue
        entries = lines.get(group) or lines.get("all")
        if entries is None:
            continue
        found = _dated(entries, day)
        if found is None or found[0] is None:
            continue
        amount = found[0]
        cap = _dated(ref.cap, day)
        if cap is not None and cap[0] is not None:
            amount = min(amount, max(0, cap[0] - paid))
        paid += amount
        out.append((mid, k, day, _due(day, days, working), amount))
    return out
