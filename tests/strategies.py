"""Hypothesis strategies for VALID participant and company histories of a loaded contract.

Edge cases are made common on purpose: enrolment dates at the enrolment window's and the
term's bounds, ages at the age bounds, hours at the thresholds, spells starting mid-week,
one-week breaks, back-to-back flexjob spells with rising hours, drop-outs, exits.
Every generated participant history passes ``history.problems(known_codes) == []``.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from pbr_rules.models.history import CompanyHistory, ParticipantHistory

DAY = timedelta(days=1)
WEEK = timedelta(days=7)

def _all_groups(loaded) -> list[str]:
    """Every target group of the contract's jurisdiction (a history may be in one the contract does not admit)."""
    return sorted(loaded.known.target_groups)


def _another_area(loaded) -> str:
    """An area of the contract's jurisdiction other than its own (a history from elsewhere is ineligible, not invalid)."""
    return sorted(loaded.known.areas - {loaded.contract.municipality.code})[0]


def _iso_week(d: date) -> str:
    y, w, _ = d.isocalendar()
    return f"{y}-W{w:02d}"


def _monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _near(draw, anchors: list[date], spread: int = 10) -> date:
    """A date at, or a few days around, one of the anchors."""
    a = draw(st.sampled_from(anchors))
    off = draw(st.one_of(st.just(0), st.sampled_from([-1, 1, -7, 7]), st.integers(-spread, spread)))
    return a + timedelta(days=off)


def _measures(loaded) -> list:
    """Every measure of the contract's milestone versions, those inside any_of/all_of too."""
    out = []
    for ms in loaded.contract.milestones.values():
        for _, d, _ in ms.versions():
            if d is not None:
                out.extend(getattr(d.measure, "measures", None) or [d.measure])
    return out


def _thresholds(loaded) -> list[int]:
    out = set()
    for m in _measures(loaded):
        if m.kind in ("employment_weeks", "job_start"):
            if m.min_hours_per_week is not None:
                out.add(m.min_hours_per_week)
            if m.max_hours_per_week is not None:
                out.add(m.max_hours_per_week)
            if m.min_hours_per_week is None:
                out.add(1)  # around 0: unpaid spells (0 hours, no pay) must not count as paid work
    return sorted(out) or [15]


@st.composite
def participant_histories(draw, loaded, participant_id: str | None = None):
    c = loaded.contract
    el = c.eligibility.citizens
    codes = sorted(loaded.codes.codes)
    public = [k for k in codes if loaded.codes.codes[k].public_support]
    baseline_codes = (el.baseline.codes if el.baseline and el.baseline.codes else public) or codes
    admitted = list(el.target_groups)

    pid = participant_id or draw(st.from_regex(r"p[0-9]{1,6}", fullmatch=True))
    municipality = draw(st.sampled_from([c.municipality.code] * 9 + [_another_area(loaded)]))
    group = draw(st.one_of(st.sampled_from(admitted), st.sampled_from(admitted), st.sampled_from(admitted), st.sampled_from(_all_groups(loaded))))

    # --- enrolment around the enrolment window and the term
    anchors = [c.term.start, c.term.end]
    if el.enrolment_window:
        anchors += [el.enrolment_window.start, el.enrolment_window.end]
    middle_lo = el.enrolment_window.start if el.enrolment_window else c.term.start
    middle_hi = el.enrolment_window.end if el.enrolment_window else c.term.end
    enrolment = draw(
        st.one_of(
            st.builds(lambda n: middle_lo + timedelta(days=n), st.integers(0, max(0, (middle_hi - middle_lo).days))),
            st.builds(lambda n: middle_lo + timedelta(days=n), st.integers(0, max(0, (middle_hi - middle_lo).days))),
            st.builds(lambda n: middle_lo + timedelta(days=n), st.integers(0, max(0, (middle_hi - middle_lo).days))),
            st.just(None),
        )
    )
    if enrolment is None:
        enrolment = _near(draw, anchors)
    extracted = enrolment + timedelta(days=draw(st.one_of(st.integers(0, 3 * 365), st.integers(80, 800))))

    # --- age
    bounds = [18, 64]
    if el.age is not None:
        bounds = [b for b in (el.age.min, el.age.max) if b is not None] or bounds
    lo_b, hi_b = min(bounds), max(bounds)
    middle = (lo_b + hi_b) // 2
    age = draw(st.sampled_from([lo_b - 1, lo_b, lo_b, lo_b + 1, hi_b - 1, hi_b, hi_b, hi_b + 1, middle, middle, middle, middle]))
    age = max(age, 15)
    use_birth = draw(st.booleans())
    birth = None
    if use_birth:
        try:
            birth = enrolment.replace(year=enrolment.year - age)
        except ValueError:  # 29 February
            birth = date(enrolment.year - age, 2, 28)
        birth += timedelta(days=draw(st.sampled_from([0, 0, 1, -1, 100, -100])))

    resident = draw(st.sampled_from([True] * 9 + [False]))

    # --- benefit weeks: runs of codes and gaps from ~60 weeks before enrolment to extraction
    enrol_monday = _monday(enrolment)
    last_monday = _monday(extracted)
    w = enrol_monday - timedelta(weeks=draw(st.sampled_from([52, 53, 56, 60, 30])))
    benefits = []
    # the baseline period: mostly on a counting code, with a few gaps
    flexjob_code = "fleksloentilskud" if "fleksloentilskud" in codes else None
    while w <= last_monday:
        length = draw(st.one_of(st.integers(1, 60), st.just(1), st.integers(1, 8)))
        end = min(w + (length - 1) * WEEK, last_monday)
        before = w < enrol_monday
        choice = draw(
            st.sampled_from(["gap", "base", "base", "base", "any"] if before else ["gap", "gap", "any", "base", "flex"])
        )
        code = None
        if choice == "base":
            code = draw(st.sampled_from(baseline_codes))
        elif choice == "any":
            code = draw(st.sampled_from(codes))
        elif choice == "flex" and flexjob_code:
            code = flexjob_code
        if code is not None:
            weeks = _iso_week(w) if end == w else f"{_iso_week(w)}..{_iso_week(end)}"
            benefits.append({"weeks": weeks, "code": code})
        w = end + WEEK

    # --- employment spells: sequential, non-overlapping
    thresholds = _thresholds(loaded)
    hour_choices = sorted({5, 37, 20} | {t for t in thresholds} | {t - 1 for t in thresholds} | {t + 1 for t in thresholds} | {t + 4 for t in thresholds})
    employment = []
    cursor = enrolment + timedelta(days=draw(st.integers(-60, 120)))
    n_spells = draw(st.integers(0, 5))
    prev_kind, prev_hours = None, None
    for i in range(n_spells):
        if cursor > extracted:
            break
        start = cursor
        # make mid-week starts and Monday starts common
        if draw(st.booleans()):
            start = _monday(start) + timedelta(days=draw(st.sampled_from([0, 0, 2, 4, 5, 6])))
            if employment and start <= date.fromisoformat(employment[-1]["end"]):
                start = date.fromisoformat(employment[-1]["end"]) + DAY
        if start > extracted:
            break
        if birth is not None and start < birth:
            start = birth
        ladder = prev_kind == "flexjob" and draw(st.booleans())
        flex_odds = ["ordinary", "flexjob", "flexjob"] if group == "flexjob_visitated" else ["ordinary", "ordinary", "flexjob"]
        kind = "flexjob" if ladder else draw(st.sampled_from(flex_odds))
        if ladder and prev_hours is not None:
            hours = prev_hours + draw(st.sampled_from([0, 1, 3, 4, 5, -1]))
            hours = min(max(hours, 5), 37)
        else:
            hours = draw(st.sampled_from(hour_choices))
        if draw(st.integers(0, 9)) == 0:
            hours_value = f"{hours}.50"
        else:
            hours_value = str(hours)
        ongoing = (i == n_spells - 1) and draw(st.booleans())
        days = draw(st.one_of(st.integers(1, 400), st.sampled_from([4, 6, 13 * 7 - 1, 16 * 7 + 3, 26 * 7])))
        end = None if ongoing else min(start + timedelta(days=days), extracted)
        employment.append(
            {
                "start": start.isoformat(),
                "end": end.isoformat() if end else None,
                "hours_per_week": Decimal(hours_value),  # a number, as histories must give it
                "monthly_earnings": str(draw(st.sampled_from([0, 5000, 12000, 20000, 25000, 33333]))),
                "employer": draw(st.sampled_from(["acme", "bager", "vaerksted"])),
                "partner_company": draw(st.booleans()),
                "kind": kind,
            }
        )
        prev_kind, prev_hours = kind, hours
        if end is None:
            break
        # next spell: back to back (common), a one-week break, or a longer gap
        gap = draw(st.sampled_from([1, 1, 3, 8, 10, 30, 90]))
        cursor = end + timedelta(days=gap)

    def day_between(lo: date, hi: date) -> date:
        if hi < lo:
            return lo
        return lo + timedelta(days=draw(st.integers(0, (hi - lo).days)))

    # --- course events (on or after enrolment)
    course = []
    for _ in range(draw(st.integers(0, 8))):
        d = day_between(enrolment, extracted)
        kind = draw(st.sampled_from(["attendance"] * 6 + ["completion", "drop_out"]))
        ev = {"date": d.isoformat(), "kind": kind}
        if kind == "attendance":
            ev["sessions"] = draw(st.sampled_from([1, 4, 6, 10, 12, 18, 36]))
        course.append(ev)

    # --- outcome events (may be before enrolment, never before birth): the kinds the contract pays for, and one it does not
    event_kinds = ["qualification", "qualification", "assessment"] + sorted(
        {m.event for m in _measures(loaded) if m.kind == "outcome_event"} - {"qualification", "assessment"}
    )
    events = []
    for _ in range(draw(st.integers(0, 3))):
        lo = enrolment - timedelta(days=30)
        if birth is not None:
            lo = max(lo, birth)
        d = day_between(lo, extracted)
        kind = draw(st.sampled_from(event_kinds))
        ev = {"date": d.isoformat(), "kind": kind}
        if draw(st.booleans()):
            ev["name"] = draw(st.sampled_from(["level_1", "level_2"]))
        events.append(ev)

    # --- status spells of the kinds the contract's measures use (and one it does not)
    statuses = []
    status_kinds = sorted({m.status for m in _measures(loaded) if m.kind.startswith("status_")})
    if status_kinds:
        for _ in range(draw(st.integers(0, 4))):
            lo = enrolment - timedelta(days=60) if birth is None else max(enrolment - timedelta(days=60), birth)
            start = day_between(lo, extracted)
            if draw(st.booleans()):  # month boundaries matter for calendar months
                start = date(start.year, start.month, 1) if draw(st.booleans()) else date(start.year, start.month, 1) + timedelta(days=draw(st.sampled_from([27, 28, 29, 30])))
                start = min(max(start, lo), extracted)
            spell = {"kind": draw(st.sampled_from(status_kinds + ["other_status"])), "start": start.isoformat()}
            if draw(st.integers(0, 3)):
                spell["end"] = min(start + timedelta(days=draw(st.one_of(st.integers(0, 500), st.sampled_from([27, 28, 30, 31, 59, 89, 181, 365])))), extracted).isoformat()
            statuses.append(spell)

    exits = []
    if draw(st.integers(0, 5)) == 0:
        lo = enrolment if birth is None else max(enrolment, birth)
        exits.append({"date": day_between(lo, extracted).isoformat(), "reason": draw(st.sampled_from(["moved_away", "died", "withdrew_consent"]))})

    data = {
        "participant": pid,
        "municipality": municipality,
        "target_group": group,
        "resident": resident,
        "enrolment": enrolment.isoformat(),
        "extracted": extracted.isoformat(),
        "benefits": benefits,
        "employment": [{k: v for k, v in sp.items() if v is not None} for sp in employment],
        "course": course,
        "events": events,
        "exits": exits,
        **({"statuses": statuses} if statuses else {}),
    }
    if birth is not None:
        data["birth_date"] = birth.isoformat()
    else:
        data["age_at_enrolment"] = age
    if draw(st.booleans()):
        data["benefit_at_enrolment"] = draw(st.sampled_from(codes))
    # A referral date (docs/semantics.md § 7, "Pricing date"): always when the contract prices
    # on it, else now and then; often on a tariff's effective date or before the term start.
    by_referral = any((t.pricing_date or c.payment.pricing_date) == "referral" for t in c.tariffs.values())
    if by_referral or draw(st.integers(0, 3)) == 0:
        edges = sorted({d for t in c.tariffs.values() for dated in t.amounts.values() for d in dated if d <= enrolment})
        referred = draw(
            st.one_of(
                st.integers(0, 500).map(lambda n: enrolment - timedelta(days=n)),
                st.sampled_from(edges + [enrolment, c.term.start - timedelta(days=40)]),
            )
        )
        if birth is not None:
            referred = max(referred, birth)
        data["referred"] = min(referred, enrolment).isoformat()
    return ParticipantHistory.model_validate(data)


@st.composite
def company_histories(draw, loaded, participant_ids, company_id: str | None = None):
    c = loaded.contract
    participant_ids = list(participant_ids) or ["p0"]
    el = c.eligibility.companies
    cid = company_id or draw(st.from_regex(r"c[0-9]{1,5}", fullmatch=True))
    start = draw(
        st.one_of(
            st.builds(lambda n: c.term.start + timedelta(days=n), st.integers(0, max(0, (c.term.end - c.term.start).days))),
            st.builds(lambda a, o: a + timedelta(days=o), st.sampled_from([c.term.start, c.term.end]), st.sampled_from([-1, 0, 1])),
        )
    )
    extracted = start + timedelta(days=draw(st.integers(0, 3 * 365)))

    def day_between(lo: date, hi: date) -> date:
        if hi < lo:
            return lo
        return lo + timedelta(days=draw(st.integers(0, (hi - lo).days)))

    phase_names = sorted(
        {d.measure.phase for ms in c.milestones.values() for _, d, _ in ms.versions() if d is not None and d.measure.kind == "accelerator_phase"}
    ) + ["other_phase"]
    phases = [
        {"phase": draw(st.sampled_from(phase_names)), "completed": day_between(start, extracted).isoformat()}
        for _ in range(draw(st.integers(0, 4)))
    ]
    hires = []
    for _ in range(draw(st.integers(0, 7))):
        d = day_between(start - timedelta(days=30), extracted)
        h = {"participant": draw(st.sampled_from(participant_ids + ["unknown1"])), "date": d.isoformat()}
        r = draw(st.integers(0, 4))
        if r == 1:
            h["end"] = day_between(d, extracted).isoformat()
        elif r == 4:  # a short hire, so the same person can be hired again (a re-hire)
            h["end"] = day_between(d, min(extracted, d + timedelta(days=90))).isoformat()
        elif r == 2:  # ends exactly around the retention day
            end = d + timedelta(days=7 * 26 + draw(st.sampled_from([-1, 0, 1])))
            if end <= extracted:
                h["end"] = end.isoformat()
        if any(x["participant"] == h["participant"] and _overlap(x, h) for x in hires):
            continue  # overlapping hires of one person are refused by validation
        hires.append(h)
        if "end" in h and draw(st.booleans()):  # hired again by the same company a few days after the hire ended
            again = {"participant": h["participant"], "date": (date.fromisoformat(h["end"]) + timedelta(days=draw(st.integers(1, 40)))).isoformat()}
            if again["date"] <= extracted.isoformat() and not any(x["participant"] == again["participant"] and _overlap(x, again) for x in hires):
                hires.append(again)
    # yearly or quarterly figures, around the targets of the contract's growth measures
    figures = []
    kinds = {m.kind for m in _measures(loaded)}
    if kinds & {"company_growth", "target_group_employees"} and draw(st.integers(0, 4)):
        quarterly = draw(st.booleans())
        first_year = start.year - draw(st.sampled_from([1, 1, 0, 2]))
        periods = []
        for year in range(first_year, extracted.year + 1):
            for q in (range(1, 5) if quarterly else [None]):
                period = str(year) if q is None else f"{year}-Q{q}"
                end = date(year, 12, 31) if q is None else date(year, 3 * q, [31, 30, 30, 31][q - 1])
                if end <= extracted and draw(st.integers(0, 7)):  # now and then a period is missing
                    periods.append(period)
        if quarterly and draw(st.booleans()):  # yearly figures besides the quarters (for revenue growth)
            periods += [str(y) for y in range(first_year, extracted.year) if date(y, 12, 31) <= extracted]
        for period in periods:
            figures.append(
                {
                    "period": period,
                    "revenue": str(draw(st.sampled_from([0, 1000000, 1050000, 1100000, 1099999, 1200000, 900000]))),
                    "employees_fte": Decimal(draw(st.sampled_from(["0", "10", "11", "12", "12.5", "9"]))),
                    "target_group_employees": draw(st.sampled_from([0, 1, 2, 2, 3, 4])),
                    "source": "annual report (synthetic)",
                }
            )
    data = {
        "kind": "company",
        "company": cid,
        "municipality": draw(st.sampled_from([c.municipality.code] * 5 + [_another_area(loaded)])),
        "size_band": draw(st.sampled_from([s.value for s in el.size_bands] if el else ["small"])),
        "partner": draw(st.sampled_from([True, True, True, False])),
        "start": start.isoformat(),
        "extracted": extracted.isoformat(),
        "phases": phases,
        "hires": hires,
    }
    if figures:
        data["figures"] = figures
    return CompanyHistory.model_validate(data)


def _overlap(a: dict, b: dict) -> bool:
    far = "9999-12-31"
    return a["date"] <= b.get("end", far) and b["date"] <= a.get("end", far)


@st.composite
def hired_participants(draw, company: CompanyHistory, participant_ids):
    """The hired participants' own histories (some left out: their hires are unverified), with
    jobs that do or do not verify each hire: with this company or another, covering the hire
    date or starting a day late, paid or unpaid, at 0 to 37 hours a week."""
    out = {}
    for pid in participant_ids:
        if not draw(st.integers(0, 4)):
            continue  # history not in the cohort
        mine = sorted((x for x in company.hires if x.participant == pid), key=lambda x: x.date)
        enrolment = draw(st.sampled_from([company.start - timedelta(days=60), company.start, company.start + timedelta(days=20)]))
        spells = []
        free_from = date.min
        for n, x in enumerate(mine):
            if draw(st.integers(0, 5)) == 0:
                continue  # no job behind this hire
            start = x.date + timedelta(days=draw(st.sampled_from([-5, 0, 0, 1])))
            start = max(start, free_from)
            nxt = mine[n + 1].date - timedelta(days=6) if n + 1 < len(mine) else None
            end = x.end if x.end is not None else nxt
            if end is not None and nxt is not None:
                end = min(end, nxt)
            if start > company.extracted or (end is not None and end < start):
                continue
            spell = {
                "start": start.isoformat(),
                "hours_per_week": draw(st.sampled_from([0, 1, 5, 15, 20, 37, 37])),
                "monthly_earnings": draw(st.sampled_from(["0", "12000", "12000", "12000"])),
                "employer": draw(st.sampled_from([company.company] * 4 + ["c-other", company.company.upper() + " ApS"])),
            }
            if end is not None:
                spell["end"] = end.isoformat()
            spells.append(spell)
            free_from = (end or company.extracted) + timedelta(days=1)
            if end is None:
                break
        out[pid] = ParticipantHistory.model_validate(
            {
                "participant": pid,
                "municipality": company.municipality,
                "age_at_enrolment": 30,
                "target_group": "cash_benefit",
                "enrolment": min(enrolment, company.extracted).isoformat(),
                "extracted": company.extracted.isoformat(),
                "employment": spells,
            }
        )
    return out
