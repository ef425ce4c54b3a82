"""Seeded, deterministic generator of synthetic participant histories (for benchmarks).

Library use::

    from generate_cohort import generate_participants
    histories = generate_participants("101", 1000, seed=7,
                                      enrolment_start=date(2019, 3, 1), enrolment_end=date(2021, 9, 30))

Script use::

    python bench/generate_cohort.py --municipality 101 --n 1000 --seed 7 \
        --out fixtures/cohorts/koebenhavn-1000.jsonl

Each history is a plain dict in the participant-history format (src/pbr_rules/models/history.py)
and covers two years of weekly data: the 52 ISO weeks before the enrolment week (the baseline)
and the 52 weeks from it; the extraction date is the Sunday of the last week. Benefit weeks are
written as compact runs (``{weeks: 2018-W10..2019-W13, code: kontanthjaelp}``).

The mix is illustrative, not statistics: mostly the municipality's own target groups with a long
benefit run before enrolment; a few ineligible people (short baseline, not resident, age or a
target group the municipality does not admit); ordinary jobs of 8 to 37 hours (benefits stop,
or go on as a top-up below 15 hours), flexjobs for flexjob-visitated people (fleksløntilskud
weeks, some with raised hours), course attendance, completions, drop-outs, qualifications and
a few exits. Participant i depends only on (seed, municipality, i), so a larger n extends a
smaller cohort. Nothing in the output is shaped like a CPR number.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from datetime import date, timedelta
from pathlib import Path

WEEKS_BEFORE = 52
WEEKS_AFTER = 52

# Target-group mixes per municipality (weights); groups a municipality does not admit get a
# small weight so that cohorts hold a few ineligible people, as real referrals do.
MIXES: dict[str, dict[str, int]] = {
    "101": {
        "cash_benefit": 30, "cash_benefit_youth": 12, "cash_benefit_immigrant": 12, "flexjob_visitated": 12,
        "resource_course": 10, "other_vulnerable": 10, "newly_arrived_refugee": 8, "early_retirement_pension": 6,
    },
    "751": {
        "cash_benefit": 35, "cash_benefit_youth": 30, "flexjob_visitated": 15, "resource_course": 16,
        "other_vulnerable": 2, "cash_benefit_immigrant": 2,
    },
    "461": {
        "newly_arrived_refugee": 35, "cash_benefit_immigrant": 30, "cash_benefit": 20, "other_vulnerable": 12,
        "flexjob_visitated": 3,
    },
}
AGE_RANGE = {"101": (18, 64), "751": (18, 39), "461": (18, 64)}
DEFAULT_MIX = MIXES["101"]

BENEFIT_OF_GROUP = {
    "flexjob_visitated": ["ledighedsydelse"],
    "early_retirement_pension": ["foertidspension"],
    "resource_course": ["ressourceforloebsydelse"],
    "cash_benefit": ["kontanthjaelp"],
    "cash_benefit_youth": ["uddannelseshjaelp"],
    "cash_benefit_immigrant": ["kontanthjaelp"],
    "newly_arrived_refugee": ["integrationsydelse"],
    "other_vulnerable": ["kontanthjaelp", "kontanthjaelp", "sygedagpenge", "jobafklaringsydelse"],
}
# Chance of an ordinary job within the year after enrolment, by target group.
JOB_CHANCE = {
    "flexjob_visitated": 0.0, "early_retirement_pension": 0.10, "resource_course": 0.25, "cash_benefit": 0.40,
    "cash_benefit_youth": 0.45, "cash_benefit_immigrant": 0.30, "newly_arrived_refugee": 0.35, "other_vulnerable": 0.30,
}
EMPLOYERS = [
    "Netto", "Rema 1000", "Bilka", "ISS Facility Services", "Coor", "Elis Danmark", "Kirkens Genbrug",
    "Dansk Cater", "Postnord Terminal", "Lagerhotellet", "Gartneriet Solsikken", "Café Sommerfugl",
    "Vaskeriet Nord", "Byggecenter Syd", "Cykelværkstedet", "Hotel Havnen", "Kantinen ved Åen",
]
QUALIFICATIONS = [
    "Truckcertifikat B", "Prøve i Dansk 2", "Prøve i Dansk 3", "AMU: Lager og logistik",
    "AMU: Service og rengøring", "AMU: Køkken og kantine", "Hygiejnebevis", "Førstehjælp",
]


def _iso_week(d: date) -> str:
    y, w, _ = d.isocalendar()
    return f"{y}-W{w:02d}"


def _monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _money(amount: float) -> str:
    return str(int(round(amount / 100.0)) * 100)


def _runs(codes: list[str | None], first_monday: date) -> list[dict]:
    """Compact benefit runs from one code (or None) per week."""
    out: list[dict] = []
    i = 0
    while i < len(codes):
        code = codes[i]
        j = i
        while j + 1 < len(codes) and codes[j + 1] == code:
            j += 1
        if code is not None:
            a = _iso_week(first_monday + timedelta(weeks=i))
            b = _iso_week(first_monday + timedelta(weeks=j))
            out.append({"weeks": a if a == b else f"{a}..{b}", "code": code})
        i = j + 1
    return out


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    keys = sorted(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys], k=1)[0]


def _one(municipality: str, i: int, seed: int, enrolment_start: date, enrolment_end: date) -> dict:
    rng = random.Random(f"{seed}:{municipality}:{i}")
    group = _weighted(rng, MIXES.get(municipality, DEFAULT_MIX))
    base_code = rng.choice(BENEFIT_OF_GROUP[group])

    span = (enrolment_end - enrolment_start).days
    enrolment = enrolment_start + timedelta(days=rng.randint(0, max(span, 0)))
    # Enrolments happen on working days.
    while enrolment.weekday() >= 5:
        enrolment -= timedelta(days=1)
    if enrolment < enrolment_start:
        enrolment += timedelta(days=3)
    enrol_monday = _monday(enrolment)
    first_monday = enrol_monday - timedelta(weeks=WEEKS_BEFORE)
    n_weeks = WEEKS_BEFORE + WEEKS_AFTER
    extracted = first_monday + timedelta(weeks=n_weeks) - timedelta(days=1)  # a Sunday

    lo, hi = AGE_RANGE.get(municipality, (18, 64))
    if group == "cash_benefit_youth":
        hi = min(hi, 29)
    age = rng.randint(lo, hi)
    if rng.random() < 0.02:
        age = hi + rng.randint(1, 3)  # too old
    birth = enrolment - timedelta(days=int(age * 365.25) + rng.randint(1, 360))

    # --- weeks before enrolment: a long benefit run, a few short ones ---------------------
    codes: list[str | None] = [None] * n_weeks
    if rng.random() < 0.07:
        on_from = WEEKS_BEFORE - rng.randint(8, 38)  # short baseline: often ineligible
    else:
        on_from = 0
    for w in range(on_from, WEEKS_BEFORE):
        codes[w] = base_code
    employment: list[dict] = []
    if on_from > 0 and rng.random() < 0.7:
        # Worked before the benefit run started.
        start = first_monday - timedelta(weeks=rng.randint(10, 80))
        end = first_monday + timedelta(weeks=on_from) - timedelta(days=3)  # a Friday
        hours = rng.randint(20, 37)
        employment.append(_spell(rng, start, end, hours, "ordinary", rate=rng.randint(150, 200)))
    elif on_from == 0 and rng.random() < 0.1:
        # A short job during the baseline year: a gap in the benefit run.
        gs = rng.randint(2, WEEKS_BEFORE - 16)
        gl = rng.randint(2, 8)
        for w in range(gs, gs + gl):
            codes[w] = None
        start = first_monday + timedelta(weeks=gs)
        end = start + timedelta(weeks=gl) - timedelta(days=3)
        employment.append(_spell(rng, start, end, rng.randint(15, 37), "ordinary", rate=rng.randint(150, 190)))

    # --- from enrolment: benefits go on unless work replaces them ------------------------
    for w in range(WEEKS_BEFORE, n_weeks):
        codes[w] = base_code

    if group == "flexjob_visitated" and rng.random() < 0.55:
        _flexjob(rng, codes, employment, enrol_monday, extracted)
    elif rng.random() < JOB_CHANCE[group]:
        _ordinary_job(rng, codes, employment, enrol_monday, extracted, group)

    # --- course, events, exits -----------------------------------------------------------
    course = _course(rng, enrolment, extracted)
    events: list[dict] = []
    if rng.random() < 0.2:
        qd = enrolment + timedelta(days=rng.randint(60, 360))
        if qd <= extracted:
            events.append({"date": qd.isoformat(), "kind": "qualification", "name": rng.choice(QUALIFICATIONS),
                           "evidence": f"doc-{municipality}-{i:05d}-q1"})
    if rng.random() < 0.05:
        events.append({"date": (enrolment + timedelta(days=rng.randint(14, 200))).isoformat(), "kind": "assessment",
                       "name": "Arbejdsevnevurdering"})
    events.sort(key=lambda e: e["date"])
    exits: list[dict] = []
    if rng.random() < 0.05:
        xd = enrolment + timedelta(days=rng.randint(20, 340))
        exits.append({"date": xd.isoformat(), "reason": rng.choice(["moved_away", "moved_away", "withdrew_consent", "died"])})

    history = {
        "kind": "participant",
        "participant": f"syn-{municipality}-{i:05d}",
        "municipality": municipality,
        "birth_date": birth.isoformat(),
        "target_group": group,
        "benefit_at_enrolment": codes[WEEKS_BEFORE - 1] or base_code,
        "resident": rng.random() >= 0.02,
        "enrolment": enrolment.isoformat(),
        "extracted": extracted.isoformat(),
        "course": course,
        "events": events,
        "benefits": _runs(codes, first_monday),
        "employment": sorted(employment, key=lambda s: s["start"]),
        "exits": exits,
    }
    return history


def _spell(rng: random.Random, start: date, end: date | None, hours: int, kind: str, *, rate: int, employer: str | None = None) -> dict:
    s = {
        "start": start.isoformat(),
        "hours_per_week": hours,
        "monthly_earnings": _money(hours * 4.33 * rate),
        "employer": employer or f"{rng.choice(EMPLOYERS)} (synthetic)",
        "partner_company": rng.random() < 0.3,
        "kind": kind,
    }
    if end is not None:
        s["end"] = end.isoformat()
    return s


def _job_start(rng: random.Random, enrol_monday: date, earliest_weeks: int, latest_weeks: int) -> date:
    return enrol_monday + timedelta(weeks=rng.randint(earliest_weeks, latest_weeks), days=rng.choice([0, 0, 0, 1, 2, 3]))


def _week_no(d: date, enrol_monday: date) -> int:
    return WEEKS_BEFORE + (_monday(d) - enrol_monday).days // 7


def _ordinary_job(rng, codes, employment, enrol_monday, extracted, group) -> None:
    start = _job_start(rng, enrol_monday, 0 if rng.random() < 0.05 else 3, 44)
    if start > extracted:
        return
    hours = rng.randint(8, 37)
    end = None
    if rng.random() < 0.35:
        end = start + timedelta(weeks=rng.randint(4, 40), days=4 - start.weekday())  # a Friday
        if end >= extracted:
            end = None
    rate = rng.randint(140, 190)
    employer = f"{rng.choice(EMPLOYERS)} (synthetic)"
    top_up = hours < 15 and rng.random() < 0.7
    first = _week_no(start, enrol_monday) + (1 if start.weekday() > 0 else 0)
    last = min(_week_no(end, enrol_monday) if end else len(codes) - 1, len(codes) - 1)
    for w in range(first, last + 1):
        codes[w] = codes[w] if top_up else None
    if not top_up and rng.random() < 0.08 and last - first > 8:
        # One week between two contracts with the same employer, back on benefits that week.
        gap = first + rng.randint(3, last - first - 3)
        gap_monday = enrol_monday + timedelta(weeks=gap - WEEKS_BEFORE)
        codes[gap] = codes[WEEKS_BEFORE - 1] or "kontanthjaelp"
        employment.append(_spell(rng, start, gap_monday - timedelta(days=3), hours, "ordinary", rate=rate, employer=employer))
        employment.append(_spell(rng, gap_monday + timedelta(days=7), end, hours, "ordinary", rate=rate, employer=employer))
        return
    employment.append(_spell(rng, start, end, hours, "ordinary", rate=rate, employer=employer))


def _flexjob(rng, codes, employment, enrol_monday, extracted) -> None:
    start = _job_start(rng, enrol_monday, 2, 40)
    if start > extracted:
        return
    hours = rng.randint(8, 20)
    employer = f"{rng.choice(EMPLOYERS)} (synthetic)"
    rate = rng.randint(140, 175)
    first = _week_no(start, enrol_monday)
    if rng.random() < 0.35:
        raise_at = _monday(start) + timedelta(weeks=rng.randint(8, 30))
        if raise_at < extracted - timedelta(days=14):
            employment.append(_spell(rng, start, raise_at - timedelta(days=1), hours, "flexjob", rate=rate, employer=employer))
            employment.append(_spell(rng, raise_at, None, min(hours + rng.randint(2, 10), 37), "flexjob", rate=rate, employer=employer))
            for w in range(first, len(codes)):
                codes[w] = "fleksloentilskud"
            return
    employment.append(_spell(rng, start, None, hours, "flexjob", rate=rate, employer=employer))
    for w in range(first, len(codes)):
        codes[w] = "fleksloentilskud"


def _course(rng: random.Random, enrolment: date, extracted: date) -> list[dict]:
    if rng.random() < 0.08:
        return []  # never turned up
    out: list[dict] = []
    dropout_month = rng.randint(1, 10) if rng.random() < 0.15 else None
    keen = rng.random() < 0.6
    for month in range(1, 13):
        d = enrolment + timedelta(days=28 * month)
        if d > extracted:
            break
        if dropout_month is not None and month == dropout_month:
            out.append({"date": d.isoformat(), "kind": "drop_out"})
            break
        sessions = rng.randint(3, 4) if keen else rng.randint(0, 4)
        if sessions:
            out.append({"date": d.isoformat(), "kind": "attendance", "sessions": sessions})
    else:
        done = enrolment + timedelta(days=28 * 12 + 7)
        if keen and rng.random() < 0.85 and done <= extracted:
            out.append({"date": done.isoformat(), "kind": "completion"})
    return out


def generate_participants(contract_municipality_code: str, n: int, seed: int,
                          enrolment_start: date = date(2019, 3, 1), enrolment_end: date = date(2021, 9, 30)) -> list[dict]:
    """``n`` synthetic participant histories for one municipality, as plain dicts."""
    if isinstance(enrolment_start, str):
        enrolment_start = date.fromisoformat(enrolment_start)
    if isinstance(enrolment_end, str):
        enrolment_end = date.fromisoformat(enrolment_end)
    if enrolment_end < enrolment_start:
        raise ValueError("enrolment_end is before enrolment_start")
    return list(iter_participants(contract_municipality_code, n, seed, enrolment_start, enrolment_end))


def iter_participants(municipality: str, n: int, seed: int,
                      enrolment_start: date = date(2019, 3, 1), enrolment_end: date = date(2021, 9, 30), first: int = 1):
    """The same histories one at a time (participants ``first`` .. ``first + n - 1``), for cohorts too large to hold."""
    for i in range(first, first + n):
        yield _one(municipality, i, seed, enrolment_start, enrolment_end)


def write_jsonl(histories, out: Path, mode: str = "w") -> int:
    """Write histories (any iterable, consumed one at a time) as JSON Lines; the number written."""
    out.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with out.open(mode, encoding="utf-8", newline="\n") as f:
        for h in histories:
            f.write(json.dumps(h, sort_keys=True, ensure_ascii=False, separators=(",", ":")))
            f.write("\n")
            n += 1
    return n


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Generate a synthetic participant cohort (JSON Lines).")
    p.add_argument("--municipality", required=True, help="three-digit municipality code, e.g. 101")
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--enrolment-start", type=date.fromisoformat, default=date(2019, 3, 1))
    p.add_argument("--enrolment-end", type=date.fromisoformat, default=date(2021, 9, 30))
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args(argv)
    if a.enrolment_end < a.enrolment_start:
        p.error("--enrolment-end is before --enrolment-start")
    # streamed: one history generated and written at a time, so any n fits in memory
    n = write_jsonl(iter_participants(a.municipality, a.n, a.seed, a.enrolment_start, a.enrolment_end), a.out)
    print(f"wrote {n} histories to {a.out} ({a.out.stat().st_size:,} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
