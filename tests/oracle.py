"""An independent reference evaluator ("oracle") of docs/semantics.md, for the tests only.

Written from docs/semantics.md alone, without reading the engine. It imports only the
models and the loader (never pbr_rules.periods, pbr_rules.money or the engine) and is
deliberately naive: loops day by day and week by week. Working days: Denmark's from the list
of helligdage in semantics.md § 1, written out below; any other jurisdiction's straight
from the ``holidays`` package, as § 1 says. Where the text is ambiguous the
chosen reading is marked ``# AMBIGUOUS:``.

Output shape (plain, comparable)::

    {"eligible": bool,
     "rules": {rule: bool},
     "occurrences": [[milestone_id, k, met_on_iso], ...],
     "payments": [[payment_id, milestone_id, k, trigger, due, amount, tariff_amount, payee,
                   [[party, part], ...] (, priced_on_iso when not priced on the trigger date)], ...]}
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import holidays as holiday_package
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from pbr_rules.language.loader import LoadedContract
from pbr_rules.models.contract import Side
from pbr_rules.models.history import CompanyHistory, ParticipantHistory

# § 6 (amendments, prerequisites): occurrence k is met on the first day D on which the
# version in force on D has k own occurrences by D, after occurrence k-1, with the
# prerequisites met by D, k within max_times, D within the term. Checked day by day below.

CENT = Decimal("0.01")
DAY = timedelta(days=1)
WEEK = timedelta(days=7)


# --- § 1 time ---------------------------------------------------------------------------


def period_end(period: str) -> date:
    """'2020' -> 2020-12-31; '2020-Q2' -> 2020-06-30."""
    year = int(period[:4])
    if "-Q" not in period:
        return date(year, 12, 31)
    q = int(period[-1])
    return date(year, 3 * q, calendar.monthrange(year, 3 * q)[1])


def following(a: str, b: str) -> bool:
    """Whether period b comes right after period a (same kind)."""
    if "-Q" not in a:
        return int(b) == int(a) + 1
    ya, qa = int(a[:4]), int(a[-1])
    yb, qb = int(b[:4]), int(b[-1])
    return (yb, qb) == ((ya + 1, 1) if qa == 4 else (ya, qa + 1))


def in_band(spell, meas) -> bool:
    """§ 4 hours bands: at least min_hours_per_week and at most max_hours_per_week where given;
    with no minimum, paid work: some hours or some earnings."""
    lo, hi = meas.min_hours_per_week, meas.max_hours_per_week
    if lo is None and spell.hours_per_week == 0 and spell.monthly_earnings == 0:
        return False
    if lo is not None and spell.hours_per_week < lo:
        return False
    return hi is None or spell.hours_per_week <= hi


def monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def sunday(d: date) -> date:
    return monday(d) + timedelta(days=6)


def parse_week(text: str) -> date:
    """'2019-W05' -> the Monday of that ISO week."""
    year, w = text.strip().split("-W")
    return date.fromisocalendar(int(year), int(w), 1)


def week_mondays(text: str) -> list[date]:
    """'2019-W01..2019-W03' or '2019-W01' -> the Mondays of those weeks."""
    if ".." in text:
        a, b = text.split("..")
    else:
        a = b = text
    first, last = parse_week(a), parse_week(b)
    out = []
    m = first
    while m <= last:
        out.append(m)
        m += WEEK
    return out


def easter(year: int) -> date:
    """Gregorian Easter Sunday (Meeus/Jones/Butcher)."""
    a = year % 19
    b = year // 100
    c = year % 100
    d = b // 4
    e = b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i = c // 4
    k = c % 4
    l = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l) // 451
    month = (h + l - 7 * m + 114) // 31
    day = ((h + l - 7 * m + 114) % 31) + 1
    return date(year, month, day)


def holidays(year: int) -> set[date]:
    e = easter(year)
    out = {
        date(year, 1, 1),  # nytårsdag
        e - timedelta(days=3),  # skærtorsdag
        e - timedelta(days=2),  # langfredag
        e,  # påskedag
        e + timedelta(days=1),  # 2. påskedag
        e + timedelta(days=39),  # Kristi himmelfartsdag
        e + timedelta(days=49),  # pinsedag
        e + timedelta(days=50),  # 2. pinsedag
        date(year, 12, 25),  # juledag
        date(year, 12, 26),  # 2. juledag
    }
    # AMBIGUOUS: "store bededag until 2023" read as: a holiday in 2023 and earlier years
    # (it was abolished from 2024). Store bededag = 4th Friday after Easter = Easter + 26.
    if year <= 2023:
        out.add(e + timedelta(days=26))
    return out


def is_working_day(d: date, jurisdiction=None) -> bool:
    """§ 1: not a weekend day and not a public holiday of the agreement's jurisdiction."""
    if jurisdiction is None or jurisdiction.country == "DK":  # no jurisdiction named: Denmark
        return d.weekday() < 5 and d not in holidays(d.year)
    # AMBIGUOUS: "public holidays as the holidays package gives them" read as its category
    # 'public' with observed (substitute) days, for the year of the day asked about.
    cal = holiday_package.country_holidays(jurisdiction.country, subdiv=jurisdiction.subdivision, years=d.year)
    return d.weekday() not in cal.weekend and d not in cal


def due_date(trigger: date, days: int, kind: str, jurisdiction=None) -> date:
    if kind == "calendar":
        return trigger + timedelta(days=days)
    # AMBIGUOUS: a lag of 0 working days leaves the due date on the trigger date, even
    # when that is not a working day (no working day is counted at all).
    d = trigger
    counted = 0
    while counted < days:
        d += DAY
        if is_working_day(d, jurisdiction):
            counted += 1
    return d


def _months_after(origin: date, months: int) -> date:
    """§ 5: the same day of the month so many months later, or that month's last day."""
    y, mo = divmod(origin.month - 1 + months, 12)
    year, month = origin.year + y, mo + 1
    return date(year, month, min(origin.day, calendar.monthrange(year, month)[1]))


def money(d: Decimal) -> str:
    return str(d.quantize(CENT, rounding=ROUND_HALF_UP))


def dated_value(dated, day: date):
    """(found, value) of an effective-dated mapping on a day: latest date on or before it."""
    if not dated:
        return False, None
    keys = [k for k in dated if k <= day]
    if not keys:
        return False, None
    return True, dated[max(keys)].value


# --- the evaluation context ------------------------------------------------------------


class _Subject:
    """Everything about one participant or company needed by the measures."""

    def __init__(self, loaded: LoadedContract, side: Side, start: date, horizon: date):
        self.loaded = loaded
        self.c = loaded.contract
        self.side = side
        self.start = start  # enrolment date, or the accelerator start
        self.H = horizon
        self.memo: dict[str, list[tuple[date, int]]] = {}
        self.busy: set[str] = set()
        # filled by the caller
        self.benefit: dict[date, str] = {}
        self.spells: list = []
        self.course: list = []
        self.events: list = []
        self.phases: list = []
        self.hires: list = []
        self.all_hires: list = []
        self.eligible_participants: set[str] = set()
        self.enrolments: dict = {}
        self.participants: dict = {}
        self.company_id = None
        self.figures: list = []
        self.statuses: list = []

    # -- weeks and windows

    def last_complete_monday(self) -> date:
        """The Monday of the last week whose Sunday is on or before H."""
        m = monday(self.H)
        return m if self.H == m + timedelta(days=6) else m - WEEK

    def anchor(self, window) -> date | None:
        if window is None or window.after == "start":
            return self.start
        # AMBIGUOUS: "the date the first occurrence of milestone X was met" read as the
        # first *counted* occurrence of X (after its prerequisites, amendments, max_times and
        # the term; a withdrawn tariff does not matter: the milestone is still met).
        firsts = self.counted(window.after)
        if not firsts:
            return None
        return min(d for d, _ in firsts)

    def week_window(self, window) -> list[date] | None:
        """The Mondays of the complete weeks of the week window (None: the window does not exist)."""
        d = self.anchor(window)
        if d is None:
            return None
        first = monday(d) + WEEK
        last = self.last_complete_monday()
        if window is not None:
            last = min(last, monday(d) + window.weeks * WEEK)
        # "Nothing dated before the enrolment date ever counts."
        while first <= monday(self.start):
            first += WEEK
        out = []
        m = first
        while m <= last:
            out.append(m)
            m += WEEK
        return out

    def date_window(self, window) -> tuple[date, date] | None:
        """(first day, last day) of the date window, already cut at H (None: no window)."""
        d = self.anchor(window)
        if d is None:
            return None
        first = max(d, self.start)
        last = self.H
        if window is not None:
            last = min(last, sunday(d) + (window.weeks) * WEEK)
        return first, last

    # -- histories

    def in_status(self, kind: str, day: date) -> bool:
        """§ 4: in a status on a day: a spell of that kind covers it (no end: up to H), and day <= H."""
        if day > self.H:
            return False
        return any(s.kind == kind and s.start <= day <= (s.end if s.end is not None else self.H) for s in self.statuses)

    def spells_on(self, day: date) -> list:
        out = []
        for s in self.spells:
            end = s.end if s.end is not None else self.H
            end = min(end, self.H)
            if s.start <= day <= end:
                out.append(s)
        return out

    def self_supporting(self, m: date) -> bool:
        code = self.benefit.get(m)
        if code is None:
            return True
        info = self.loaded.codes.codes.get(code)
        # An unknown code (impossible in a valid history) is taken as public support.
        return info is not None and not info.public_support

    def course_events(self, kind: str, first: date, last: date) -> list:
        """Course events of a kind in [first, last], in date order (ties: file order), after drop-out rules."""
        # AMBIGUOUS: "after a drop_out event" read as: the earliest drop-out dated on or
        # before H, wherever it lies relative to the measure's window.
        drops = [e.date for e in self.course if e.kind == "drop_out" and e.date <= self.H]
        drop = min(drops) if drops else None
        out = []
        for e in self.course:
            if e.kind != kind or not (first <= e.date <= last):
                continue
            if drop is not None and e.date > drop:
                continue
            out.append(e)
        return sorted(out, key=lambda e: e.date)  # sorted() is stable: ties keep file order

    # -- § 4 counting patterns

    @staticmethod
    def count(weeks: list[date], qualifies: list[bool], pattern: str, n: int, m: int | None, not_before: date | None) -> list[date]:
        """Sundays on which occurrences are met, counting restarting after each occurrence.

        not_before: a completion whose Sunday is before this date is ignored (unused: § 6
        numbers the occurrences across versions).
        """
        out = []
        restart = 0
        run = 0
        for i, w in enumerate(weeks):
            if pattern == "consecutive":
                run = run + 1 if qualifies[i] else 0
                done = run >= n
            elif pattern == "total":
                run += 1 if qualifies[i] else 0
                done = run >= n
            elif pattern == "of":
                if m is None:
                    raise ValueError("pattern 'of' needs out_of")
                lo = max(restart, i - m + 1)
                done = sum(1 for j in range(lo, i + 1) if qualifies[j]) >= n
            else:
                raise ValueError(f"unknown pattern {pattern}")
            if done:
                met = w + timedelta(days=6)
                if not_before is not None and met < not_before:
                    continue
                out.append(met)
                restart = i + 1
                run = 0
        return out

    # -- § 4 and § 5 measures: the occurrence dates of one definition

    def measure_dates(self, meas, not_before: date | None) -> list[date] | None:
        kind = meas.kind
        if kind == "status_weeks":
            weeks = self.week_window(meas.window)
            if weeks is None:
                return []
            q = [all(self.in_status(meas.status, m + timedelta(days=i)) for i in range(5)) for m in weeks]
            return self.count(weeks, q, meas.pattern, meas.weeks, meas.out_of, not_before)
        if kind == "status_months":
            win = self.date_window(meas.window)
            if win is None:
                return []
            first, last = win
            out, run = [], 0
            m = date(first.year, first.month, 1)
            if m < first:
                m = date(m.year + (m.month == 12), m.month % 12 + 1, 1)
            while True:
                end = date(m.year, m.month, calendar.monthrange(m.year, m.month)[1])
                if end > last:
                    break
                covered = all(self.in_status(meas.status, m + timedelta(days=i)) for i in range(end.day))
                if covered:
                    run += 1
                elif meas.pattern == "consecutive":
                    run = 0
                if run >= meas.months:
                    out.append(end)
                    run = 0
                m = end + DAY
            return out
        if kind in ("status_at", "measurement_points"):
            win = self.date_window(meas.window)
            if win is None:
                return []
            first, last = win
            origin = self.anchor(meas.window)
            points = [_months_after(origin, months) for months in meas.at_months]
            if kind == "measurement_points":
                # § 5: each point (calendar-month rule) on or before the last day, whatever happened
                return [point for point in points if first <= point <= last]
            out = []
            for point in points:
                # measured once the tolerance has passed (on or before the last day); the day in the
                # status nearest the point, the earlier of two as near
                if point + timedelta(days=meas.tolerance_days) > last:
                    continue
                days = [point + timedelta(days=o) for o in range(-meas.tolerance_days, meas.tolerance_days + 1)]
                days = [d for d in days if d >= first and self.in_status(meas.status, d)]
                if days:
                    out.append(min(days, key=lambda d: (abs((d - point).days), d)))
            return sorted(out)
        if kind == "any_of":
            # § 5: every occurrence of any of them (each counts), in date order
            return sorted(d for sub in meas.measures for d in (self.measure_dates(sub, not_before) or []))
        if kind == "all_of":
            # § 5: the k-th when the last of them has its k-th
            lists = [sorted(self.measure_dates(sub, not_before) or []) for sub in meas.measures]
            return [max(x[k] for x in lists) for k in range(min(len(x) for x in lists))]
        if kind == "enrolment":
            return [self.start] if self.start <= self.H else []

        if kind in ("employment_weeks", "self_supporting_weeks", "flexjob_hours_increase"):
            weeks = self.week_window(meas.window)
            if weeks is None:
                return []
            if kind == "employment_weeks":
                q = [self.employment_week(w, meas) for w in weeks]
                return self.count(weeks, q, meas.pattern, meas.weeks, meas.out_of, not_before)
            if kind == "self_supporting_weeks":
                q = [self.self_supporting(w) for w in weeks]
                return self.count(weeks, q, meas.pattern, meas.weeks, meas.out_of, not_before)
            hours = [self.flexjob_hours(w) for w in weeks]
            flex = [h for h in hours if h is not None]
            if not flex:
                return []
            baseline = flex[0]
            q = [h is not None and h >= baseline + meas.increase_hours for h in hours]
            return self.count(weeks, q, "consecutive", meas.sustained_weeks, None, not_before)

        win = self.date_window(getattr(meas, "window", None))
        if win is None:
            return []
        first, last = win
        if first > last:
            return []

        if kind == "job_start":
            # § 5: each day a job of an allowed kind, in the hours band, starts in the window
            kinds = {k.value for k in meas.job_kinds}
            starts = {
                s.start
                for s in self.spells
                if s.kind.value in kinds and (s.partner_company or not meas.partner_company_only) and in_band(s, meas) and first <= s.start <= last
            }
            return sorted(starts)

        if kind == "outcome_event":
            evs = [
                e
                for e in self.events
                if e.kind == meas.event and (meas.name is None or e.name == meas.name) and first <= e.date <= last
            ]
            return [e.date for e in sorted(evs, key=lambda e: e.date)]

        if kind == "cumulative_earnings":
            amount = Fraction(str(meas.amount))
            kinds = {k.value for k in meas.job_kinds}
            total = Fraction(0)
            out = []
            k = 1
            day = first
            while day <= last:
                for s in self.spells_on(day):
                    if s.kind.value in kinds:
                        total += Fraction(str(s.monthly_earnings)) / calendar.monthrange(day.year, day.month)[1]
                while total >= k * amount and len(out) < 1000:
                    out.append(day)
                    k += 1
                day += DAY
            return out

        if kind == "course_attendance":
            total = 0
            out = []
            k = 1
            for e in self.course_events("attendance", first, last):
                total += e.sessions or 0
                while total >= k * meas.sessions:
                    out.append(e.date)
                    k += 1
            return out

        if kind == "course_completion":
            return [e.date for e in self.course_events("completion", first, last)]

        if kind == "company_growth":
            # § 5: each later calendar year whose yearly figure reaches the target over the baseline year
            yearly = {int(f.period): getattr(f, meas.figure) for f in self.figures if "-" not in f.period and getattr(f, meas.figure) is not None}
            base_year = self.start.year - 1 if meas.baseline == "year_before_start" else self.start.year
            base = yearly.get(base_year)
            if base is None:
                return []
            out = []
            for year in sorted(yearly):
                end = date(year, 12, 31)
                if year <= base_year or not first <= end <= last:
                    continue
                if meas.increase_percent is not None:
                    ok = base > 0 and Fraction(str(yearly[year])) >= Fraction(str(base)) * Fraction(100 + meas.increase_percent, 100)
                else:
                    ok = Fraction(str(yearly[year])) >= Fraction(str(base)) + meas.increase_by
                if ok:
                    out.append(end)
            return out

        if kind == "target_group_employees":
            # § 5: quarters if the history gives any, else years; periods ending after the start,
            # at least N in each of M adjacent periods; counting restarts after each occurrence
            quarterly = any("-Q" in f.period for f in self.figures)
            chosen = sorted(
                (f for f in self.figures if ("-Q" in f.period) == quarterly and f.target_group_employees is not None),
                key=lambda f: f.period,
            )
            out, run, prev = [], 0, None
            for f in chosen:
                end = period_end(f.period)
                if not (end > self.start and first <= end <= last):
                    continue
                if f.target_group_employees >= meas.at_least:
                    run = run + 1 if prev is not None and following(prev, f.period) else 1
                else:
                    run = 0
                prev = f.period
                if run >= meas.periods:
                    out.append(end)
                    run = 0
            return out

        if kind == "accelerator_phase":
            phs = [p for p in self.phases if p.phase == meas.phase and first <= p.completed <= last]
            return [p.completed for p in sorted(phs, key=lambda p: p.completed)]

        if kind == "hire":
            hs = [h for h in self.hires if self.hire_counts(h, meas) and first <= h.date <= last]
            return [h.date for h in sorted(hs, key=lambda h: h.date)]

        if kind == "hire_retained":
            out = []
            for h in sorted(self.hires, key=lambda h: h.date):
                if not self.hire_counts(h, meas):
                    continue
                # AMBIGUOUS: a hire dated after H is ignored even if its retention day is
                # not (it cannot be: the retention day is later still).
                if h.date > self.H:
                    continue
                day = h.date + timedelta(days=7 * meas.weeks)
                if (h.end is None or h.end >= day) and first <= day <= last and self.employed_every_day(h, day):
                    out.append(day)
            return sorted(out)

        raise ValueError(f"unknown measure {kind}")

    def hire_counts(self, h, meas) -> bool:
        """docs/semantics.md § 5 "Hires verified", read from the text."""
        if h.participant not in self.eligible_participants:
            return False
        person = self.participants.get(h.participant)
        enrolled = self.enrolments.get(h.participant) or (person.enrolment if person is not None else None)
        if enrolled is not None and h.date < enrolled:
            return False  # not an outcome of the programme
        if person is None:
            return False  # unverified: no history to show the job
        need = 1 if meas.min_hours_per_week is None else meas.min_hours_per_week
        shown = False
        for s in person.employment:
            last_day = s.end if s.end is not None else person.extracted
            if s.employer == self.company_id and s.monthly_earnings > 0 and s.start <= h.date <= last_day and s.hours_per_week >= need:
                shown = True
        if not shown:
            return False
        if not meas.rehire_pays:
            for other in self.all_hires:
                if other is h or other.participant != h.participant:
                    continue
                if enrolled is not None and other.date < enrolled:
                    continue  # a hire before the programme does not make a later one a re-hire
                if other.date < h.date:
                    return False  # a re-hire
        return True

    def employed_every_day(self, h, day: date) -> bool:
        """docs/semantics.md § 5, hire_retained: the participant's own history shows paid work with
        the company on every day from the hire date to the retention day (read day by day)."""
        person = self.participants[h.participant]
        spans = [
            (s.start, s.end if s.end is not None else person.extracted)
            for s in person.employment
            if s.employer == self.company_id and s.monthly_earnings > 0
        ]
        d = h.date
        while d <= day:
            if not any(a <= d <= b for a, b in spans):
                return False
            d += timedelta(days=1)
        return True

    def employment_week(self, m: date, meas) -> bool:
        kinds = {k.value for k in meas.job_kinds}
        # AMBIGUOUS: "each of its five working days Monday–Friday" read as all five days
        # Monday to Friday, public holidays included (a spell ending on the Thursday before
        # langfredag does not cover that week).
        for i in range(5):
            day = m + timedelta(days=i)
            ok = any(
                s.kind.value in kinds
                and (s.partner_company or not meas.partner_company_only)
                and in_band(s, meas)
                for s in self.spells_on(day)
            )
            if not ok:
                return False
        if meas.self_supporting and not self.self_supporting(m):
            return False
        return True

    def flexjob_hours(self, m: date):
        """The hours of a flexjob week (lowest hours of its flexjob spells), or None."""
        hours = []
        for i in range(5):
            fs = [s for s in self.spells_on(m + timedelta(days=i)) if s.kind.value == "flexjob"]
            if not fs:
                return None
            hours.extend(s.hours_per_week for s in fs)
        return min(hours)

    # -- § 6 milestones

    def counted(self, mid: str) -> list[tuple[date, int]]:
        """The counted occurrences of a milestone: [(met_on, k)], walking the days one by one (§ 6)."""
        if mid in self.memo:
            return self.memo[mid]
        if mid in self.busy:
            raise ValueError(f"milestone {mid} depends on itself")
        self.busy.add(mid)
        ms = self.c.milestones[mid]
        versions = ms.versions()
        own = []  # per version: (since, until, definition, own occurrence dates, prerequisite day or "never")
        for vi, (since, definition, _ref) in enumerate(versions):
            until = versions[vi + 1][0] if vi + 1 < len(versions) else None
            if definition is None:
                own.append((since, until, None, [], "never"))
                continue
            dates = sorted(self.measure_dates(definition.measure, None) or [])
            pre_day = None
            for p in definition.prerequisites:
                pc = self.counted(p)
                if not pc:
                    pre_day = "never"
                    break
                first_p = min(d for d, _ in pc)
                pre_day = first_p if pre_day is None else max(pre_day, first_p)
            own.append((since, until, definition, dates, pre_day))
        out: list[tuple[date, int]] = []
        all_dates = [d for v in own for d in v[3]]
        if all_dates:
            day = min(all_dates)
            last = min(self.H, self.c.term.end)
            while day <= last:
                # the version in force on this day
                since, until, definition, dates, pre_day = next(
                    v for v in own if (v[0] is None or v[0] <= day) and (v[1] is None or day < v[1])
                )
                while definition is not None and pre_day != "never" and (pre_day is None or pre_day <= day):
                    k = len(out) + 1
                    max_times = definition.repeat.max_times if definition.repeat else 1
                    if k > max_times or sum(1 for d in dates if d <= day) < k:
                        break
                    out.append((day, k))
                day += DAY
        self.busy.discard(mid)
        self.memo[mid] = out
        return out


# --- § 7 payments ------------------------------------------------------------------------


def _not_paying(sub: _Subject, group: str | None, referred=None) -> set[str]:
    """§ 7 exclusive groups: of a group's met milestones, all but one do not pay."""
    c = sub.c
    out: set[str] = set()
    for g in c.exclusive.values():
        met = []
        for i, mid in enumerate(g.milestones):
            counted = sub.counted(mid)
            if not counted:
                continue
            first_day = counted[0][0]
            tariff = c.tariffs.get(mid)
            value = Decimal(0)
            if tariff is not None:
                line = tariff.amounts.get(group) if group is not None and group in tariff.amounts else tariff.amounts.get("all")
                if line is not None:
                    found, v = dated_value(line, _pricing_day(c, tariff, first_day, sub.start, referred))
                    if found and v is not None:
                        value = Decimal(v)
            met.append((mid, first_day, i, value))
        if len(met) < 2:
            continue
        if g.pays == "first_met":
            winner = sorted(met, key=lambda t: (t[1], t[2]))[0][0]
        else:
            winner = sorted(met, key=lambda t: (-t[3], t[1], t[2]))[0][0]
        out |= {t[0] for t in met if t[0] != winner}
    return out


def _pricing_day(c, tariff, trigger: date, start: date, referred) -> date:
    """§ 7 "Pricing date": the day whose prices apply. The tariff's own pricing_date, else the
    payment terms', else the trigger date; enrolment = the subject's start (a company's
    accelerator start); a day before the term start is the term start."""
    basis = tariff.pricing_date or c.payment.pricing_date or "trigger"
    if basis == "trigger":
        return trigger
    if basis == "enrolment":
        day = start
    else:
        if referred is None:
            raise ValueError("priced on the referral date, but the history has no referral date")
        day = referred
    return max(day, c.term.start)


def _payments(sub: _Subject, subject_id: str, group: str | None, cap_dated, referred=None) -> list:
    c = sub.c
    rows = []
    not_paying = _not_paying(sub, group, referred)
    for mid, ms in c.milestones.items():
        if ms.side != sub.side or mid in not_paying:
            continue
        tariff = c.tariffs.get(mid)
        if tariff is None:
            continue
        if tariff.formula is not None:
            previous = None
            for d, k in sub.counted(mid):
                priced_on = _pricing_day(c, tariff, d, sub.start, referred)
                value = _formula_price(sub, tariff.formula, d, previous, priced_on)
                previous = d
                if value is not None:
                    rows.append((d, mid, k, value, tariff, priced_on))
            continue
        # AMBIGUOUS: the line for the target group is chosen whenever it exists, even on a
        # date before its first effective date (then nothing is in force: no payment).
        line = tariff.amounts.get(group) if group is not None and group in tariff.amounts else tariff.amounts.get("all")
        if line is None:
            continue
        for d, k in sub.counted(mid):
            priced_on = _pricing_day(c, tariff, d, sub.start, referred)
            found, value = dated_value(line, priced_on)
            if not found or value is None:
                continue  # not in force, or withdrawn: met but nothing is paid
            rows.append((d, mid, k, Decimal(value), tariff, priced_on))
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    paid = Decimal(0)
    paid_for: dict[str, Decimal] = {}
    out = []
    for d, mid, k, tariff_amount, tariff, priced_on in rows:
        amount = tariff_amount
        # § 7 "Maximum total": the tariff's max_total in force on the pricing date, against what
        # this milestone has paid this subject so far (after every reduction), before the cap.
        found, most = dated_value(tariff.max_total, priced_on)
        if found and most is not None:
            amount = min(amount, max(Decimal(most) - paid_for.get(mid, Decimal(0)), Decimal(0)))
        found, cap = dated_value(cap_dated, d)
        if found and cap is not None:
            left = max(Decimal(cap) - paid, Decimal(0))
            amount = min(amount, left)
        paid += amount
        paid_for[mid] = paid_for.get(mid, Decimal(0)) + amount
        payers = tariff.payers if tariff.payers is not None else c.payment.payers
        if tariff.payee is not None:
            payee = tariff.payee
        elif sub.side == Side.citizen:
            payee = c.payment.citizen_payee
        else:
            payee = c.payment.company_payee
        # AMBIGUOUS: the payer parts split the amount actually paid (after the cap).
        # Largest remainder: each part rounded down to øre, the øre left over one by one to
        # the largest remainders, ties to the payer listed first.
        ore = int(amount * 100)
        exact = [Fraction(ore) * Fraction(p.share) for p in payers]
        whole = [int(x) for x in exact]
        for _ in range(ore - sum(whole)):
            best = max(range(len(payers)), key=lambda i: (exact[i] - whole[i], -i))
            whole[best] += 1
            exact[best] = Fraction(whole[best])  # this payer's remainder is used up
        parts = [[p.party, money(Decimal(w) / 100)] for p, w in zip(payers, whole)]
        due = due_date(d, c.payment.claim_lag.days, c.payment.claim_lag.kind, c.jurisdiction)
        out.append(
            [
                f"{c.id}/{subject_id}/{mid}/{k}",
                mid,
                k,
                d.isoformat(),
                due.isoformat(),
                money(amount),
                money(tariff_amount),
                payee,
                parts,
            ]
            # priced on another day than the trigger date: that day, as the engine's result says it
            + ([] if (tariff.pricing_date or c.payment.pricing_date or "trigger") == "trigger" else [priced_on.isoformat()])
        )
    return out


def _formula_price(sub: _Subject, f, day: date, previous: date | None, priced_on: date) -> Decimal | None:
    """§ 8, worked independently: the measured values by walking the period's days, the
    expression by Python's own parser over Fractions (fine in a test oracle; the service
    never evals), then the floor, the cap and 0, rounded half up once."""
    import re

    first = sub.start if previous is None else previous + DAY
    env: dict[str, Fraction] = {}
    for name, p in f.parameters.items():
        found, v = dated_value(p.values, priced_on)
        if not found or v is None:
            return None
        env[name] = Fraction(v)
    days = [first + timedelta(days=i) for i in range((day - first).days + 1)]
    start_sunday = sub.start + timedelta(days=6 - sub.start.weekday())
    env["weeks"] = Fraction(sum(1 for x in days if x.weekday() == 6 and x > start_sunday))
    env["goals_met"] = Fraction(sum(1 for g in f.goals for d, _k in sub.counted(g) if first <= d <= day))
    earned = Fraction(0)
    for x in days:
        for s in sub.spells:
            if s.start <= x <= (s.end or day):
                earned += Fraction(s.monthly_earnings) / calendar.monthrange(x.year, x.month)[1]
    env["earnings"] = Fraction((Decimal(earned.numerator) / Decimal(earned.denominator)).quantize(CENT, rounding=ROUND_HALF_UP))
    text = re.sub(r"(\d+(?:\.\d+)?)\s*%", r"(F('\1')/100)", f.expression)
    text = re.sub(r"(?<![\w'.])(\d+(?:\.\d+)?)(?![\w'.])", r"F('\1')", text)
    value = eval(text, {"__builtins__": {}, "F": Fraction, "min": min, "max": max}, dict(env))  # noqa: S307 - test oracle only
    found, floor = dated_value(f.floor, priced_on)
    if found and floor is not None:
        value = max(value, Fraction(floor))
    found, cap = dated_value(f.cap, priced_on)
    if found and cap is not None:
        value = min(value, Fraction(cap))
    value = max(value, Fraction(0))
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(CENT, rounding=ROUND_HALF_UP)


def _occurrences(sub: _Subject) -> list:
    occ = []
    for mid, ms in sub.c.milestones.items():
        if ms.side != sub.side:
            continue
        for d, k in sub.counted(mid):
            occ.append([mid, k, d.isoformat()])
    occ.sort(key=lambda o: (o[2], o[0], o[1]))
    return occ


# --- public entry points -------------------------------------------------------------------


def _as_of(as_of, extracted: date) -> date:
    if as_of is None:
        return extracted
    if isinstance(as_of, str):
        as_of = date.fromisoformat(as_of)
    if as_of > extracted:
        raise ValueError(f"as-of {as_of} is after the extraction date {extracted}")
    return as_of


def age_in_years(birth: date, day: date) -> int:
    # AMBIGUOUS: someone born on 29 February has their birthday on 1 March in other years
    # (whole years: the (month, day) of the day has not reached (2, 29)).
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def citizen_rules(loaded: LoadedContract, h: ParticipantHistory) -> dict[str, bool]:
    c = loaded.contract
    el = c.eligibility.citizens
    rules: dict[str, bool] = {}
    rules["municipality"] = h.municipality == c.municipality.code
    rules["target_group"] = h.target_group in el.target_groups
    if el.age is not None:
        age = h.age_at_enrolment if h.age_at_enrolment is not None else age_in_years(h.birth_date, h.enrolment)
        ok = True
        if el.age.min is not None and age < el.age.min:
            ok = False
        if el.age.max is not None and age > el.age.max:
            ok = False
        rules["age"] = ok
    rules["residence"] = (not el.residence_in_municipality) or h.resident
    if el.baseline is not None:
        b = el.baseline
        if b.codes is not None:
            counting = set(b.codes)
        else:
            counting = {code for code, info in loaded.codes.codes.items() if info.public_support}
        benefit = {}
        for spell in h.benefits:
            for m in week_mondays(spell.weeks):
                benefit[m] = spell.code
        w0 = monday(h.enrolment)
        n = 0
        for i in range(1, b.of_weeks_before_enrolment + 1):
            if benefit.get(w0 - i * WEEK) in counting:
                n += 1
        rules["baseline"] = n >= b.benefit_weeks_at_least
    if el.enrolment_window is not None:
        rules["enrolment_window"] = el.enrolment_window.start <= h.enrolment <= el.enrolment_window.end
    rules["term"] = c.term.start <= h.enrolment <= c.term.end
    return rules


def oracle_participant(loaded: LoadedContract, history: ParticipantHistory, as_of=None) -> dict:
    A = _as_of(as_of, history.extracted)
    H = A
    if history.exits:
        # A valid history has at most one exit; take the earliest to be safe.
        H = min(A, min(e.date for e in history.exits))
    rules = citizen_rules(loaded, history)
    eligible = all(rules.values())
    if not eligible:
        return {"eligible": False, "rules": rules, "occurrences": [], "payments": []}
    sub = _Subject(loaded, Side.citizen, history.enrolment, H)
    for spell in history.benefits:
        for m in week_mondays(spell.weeks):
            sub.benefit[m] = spell.code
    sub.spells = [s for s in history.employment if s.start <= H]
    sub.course = [e for e in history.course if e.date <= H]
    sub.events = [e for e in history.events if e.date <= H]
    sub.statuses = list(history.statuses)
    cap = loaded.contract.caps.per_participant
    return {
        "eligible": True,
        "rules": rules,
        "occurrences": _occurrences(sub),
        "payments": _payments(sub, history.participant, history.target_group, cap, history.referred),
    }


def company_rules(loaded: LoadedContract, h: CompanyHistory) -> dict[str, bool]:
    c = loaded.contract
    el = c.eligibility.companies
    if el is None:
        raise ValueError("the contract has no company eligibility")
    rules: dict[str, bool] = {}
    if el.in_municipality:
        rules["municipality"] = h.municipality == c.municipality.code
    rules["size_band"] = h.size_band.value in {s.value for s in el.size_bands}
    if el.partner_required:
        rules["partner"] = h.partner
    rules["term"] = c.term.start <= h.start <= c.term.end
    return rules


def oracle_company(loaded: LoadedContract, company_history: CompanyHistory, eligible_participants, as_of=None, participants=None) -> dict:
    """``eligible_participants``: ids, or id -> enrolment date; ``participants``: id -> participant history."""
    h = company_history
    A = _as_of(as_of, h.extracted)
    rules = company_rules(loaded, h)
    if not all(rules.values()):
        return {"eligible": False, "rules": rules, "occurrences": [], "payments": []}
    sub = _Subject(loaded, Side.company, h.start, A)
    sub.phases = [p for p in h.phases if p.completed <= A]
    sub.hires = [x for x in h.hires if x.date <= A]
    sub.all_hires = list(h.hires)
    sub.eligible_participants = set(eligible_participants)
    sub.enrolments = dict(eligible_participants) if isinstance(eligible_participants, dict) else {}
    sub.participants = dict(participants or {})
    sub.company_id = h.company
    sub.figures = [f for f in h.figures if period_end(f.period) <= A]
    cap = loaded.contract.caps.per_company
    return {
        "eligible": True,
        "rules": rules,
        "occurrences": _occurrences(sub),
        "payments": _payments(sub, h.company, None, cap),
    }
