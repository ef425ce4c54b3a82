"""Seeded, deterministic synthetic cohorts for the two English example agreements.

The Danish generator (generate_cohort.py beside this file) speaks the Danish vocabulary
(kommunekoder, DREAM benefit codes, flexjobs, the citizen course); the bundled English
examples (contracts/examples/) need England's words (contracts/data/gb-eng/) and other
records: status spells and school assessments. So they have a small generator of their own.

Script use::

    python bench/generate_gb_cohort.py --contract employment-programme --n 300 --seed 11 \
        --out fixtures/cohorts/employment-programme-300.jsonl
    python bench/generate_gb_cohort.py --contract youth-rate-card --n 300 --seed 11 \
        --out fixtures/cohorts/youth-rate-card-300.jsonl

Library use: ``generate("employment-programme", 300, seed=11)`` returns the histories as dicts.

- ``employment-programme`` (gb-e08000025-employment-programme, Birmingham E08000025): long-term
  unemployed, disabled and early-access participants starting between 2024-04-01 and
  2026-03-31 after a year on Universal Credit, New Style JSA or ESA (about 6 % with a short
  baseline, 2 % not resident, 2 % too old, 3 % starting after the enrolment window); about
  half find a job of 8 to 37 hours a week (benefits stop from 16 hours, else Universal Credit
  goes on as a top-up), some end it and some find a second one; about 3 % exits. Extracted on the Sunday 78 weeks after
  the start week.
- ``youth-rate-card`` (gb-e08000035-youth-rate-card, Leeds E08000035): young people aged 14 to
  24 (about 3 % aged 25 or 26, 2 % not resident) starting between 2024-09-01 and 2026-08-31;
  school-age participants have school assessments and Entry Level or Level 1 qualifications,
  16-19-year-olds further-education spells and qualifications up to Level 3, older ones
  apprenticeships (training spells), part-time or full-time jobs (some moving from part-time to
  full-time work) and Universal Credit weeks.
  Extracted on the Sunday 78 weeks after the start week.

The mix is illustrative, not statistics. Participant i depends only on (seed, contract, i),
so a larger n extends a smaller cohort; the same arguments give the same bytes. Nothing in
the output is shaped like a CPR number.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate_cohort import _iso_week, _runs, _weighted  # noqa: E402  one way to write weeks, runs and weighted draws

WEEKS_BEFORE = 52
WEEKS_AFTER = 78

EMPLOYERS = [
    "Example Logistics Ltd", "Example Retail plc", "Example Care Homes Ltd", "Example Warehousing Ltd",
    "Example Cafe", "Example Garden Centre", "Example Hotels Ltd", "Example Facilities Services",
    "Example Call Centre Ltd", "Example Builders Merchants",
]
HOURLY_WAGE = 12  # GBP, illustrative (the National Living Wage was GBP 11.44 from April 2024)


def _monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _working_day(d: date) -> date:
    while d.weekday() >= 5:
        d += timedelta(days=1)
    return d






def _monthly(hours: int) -> str:
    """Monthly earnings for weekly hours at the illustrative wage, to the pound."""
    return str(round(hours * HOURLY_WAGE * 52 / 12))


def _job(rng: random.Random, start: date, end: date | None, hours: int) -> dict:
    spell = {"start": start.isoformat(), "hours_per_week": hours, "monthly_earnings": _monthly(hours),
             "employer": rng.choice(EMPLOYERS) + " (synthetic)", "kind": "ordinary", "partner_company": False}
    if end is not None:
        spell["end"] = end.isoformat()
    return spell


def _dates(rng: random.Random, start: date, end: date) -> tuple[date, date, int]:
    """The enrolment (a working day in start..end), the first Monday of the history and its weeks."""
    enrolment = _working_day(start + timedelta(days=rng.randint(0, (end - start).days)))
    first_monday = _monday(enrolment) - timedelta(weeks=WEEKS_BEFORE)
    return enrolment, first_monday, WEEKS_BEFORE + WEEKS_AFTER


def _birth(rng: random.Random, enrolment: date, age: int) -> date:
    """A birth date giving exactly ``age`` whole years on the enrolment date."""
    latest = date(enrolment.year - age, enrolment.month, min(enrolment.day, 28))
    return latest - timedelta(days=rng.randint(1, 300))


# --- the employment programme (Birmingham, E08000025) ------------------------------------------

EP_MIX = {"long_term_unemployed": 55, "disabled": 30, "early_access": 15}
EP_BENEFITS = {"long_term_unemployed": ["universal_credit", "universal_credit", "jsa"], "disabled": ["esa", "universal_credit"],
               "early_access": ["universal_credit"]}
EP_JOB_CHANCE = {"long_term_unemployed": 0.55, "disabled": 0.35, "early_access": 0.5}


def _employment_programme(i: int, seed: int) -> dict:
    rng = random.Random(f"{seed}:employment-programme:{i}")
    group = _weighted(rng, EP_MIX)
    code = rng.choice(EP_BENEFITS[group])
    late = rng.random() < 0.03
    enrolment, first_monday, n_weeks = _dates(
        rng, date(2026, 4, 1) if late else date(2024, 4, 1), date(2026, 6, 30) if late else date(2026, 3, 31)
    )
    extracted = first_monday + timedelta(weeks=n_weeks) - timedelta(days=1)  # a Sunday
    age = rng.randint(67, 69) if rng.random() < 0.02 else rng.randint(18, 66)

    codes: list[str | None] = [None] * n_weeks
    on_from = WEEKS_BEFORE - rng.randint(6, 24) if rng.random() < 0.06 else 0  # a short baseline: not eligible
    for w in range(on_from, n_weeks):
        codes[w] = code
    employment: list[dict] = []
    if rng.random() < EP_JOB_CHANCE[group]:
        start_week = WEEKS_BEFORE + rng.randint(1, 50)
        start = first_monday + timedelta(weeks=start_week, days=rng.choice([0, 0, 0, 1, 2]))
        hours = rng.choice([8, 12, 16, 16, 20, 24, 25, 30, 35, 37, 37])
        end = None
        if rng.random() < 0.35:
            end_week = start_week + rng.randint(6, 40)
            if end_week < n_weeks:
                end = first_monday + timedelta(weeks=end_week, days=4)  # a Friday
        employment.append(_job(rng, start, end, hours))
        job_end_week = n_weeks if end is None else (end - first_monday).days // 7 + 1
        for w in range(start_week + 1, job_end_week):
            codes[w] = code if hours < 16 and code == "universal_credit" else None  # a top-up below 16 hours
        if end is not None and rng.random() < 0.5 and job_end_week + 3 < n_weeks:
            second = first_monday + timedelta(weeks=job_end_week + rng.randint(1, 3))
            if second < extracted:
                hours2 = rng.choice([16, 20, 30, 37])
                employment.append(_job(rng, second, None, hours2))
                for w in range((second - first_monday).days // 7, n_weeks):
                    codes[w] = None
    benefits = _runs(codes, first_monday)
    exits = []
    if rng.random() < 0.03:
        exits.append({"date": (enrolment + timedelta(days=rng.randint(30, 400))).isoformat(), "reason": rng.choice(["moved_away", "withdrew_consent"])})
    return {
        "kind": "participant",
        "participant": f"syn-ep-{i:05d}",
        "municipality": "E08000025",
        "birth_date": _birth(rng, enrolment, age).isoformat(),
        "target_group": group,
        "benefit_at_enrolment": code,
        "resident": rng.random() >= 0.02,
        "enrolment": enrolment.isoformat(),
        "extracted": extracted.isoformat(),
        "benefits": benefits,
        "employment": employment,
        "events": [],
        "exits": exits,
    }


# --- the youth rate card (Leeds, E08000035) ----------------------------------------------------


def _youth_rate_card(i: int, seed: int) -> dict:
    rng = random.Random(f"{seed}:youth-rate-card:{i}")
    enrolment, first_monday, n_weeks = _dates(rng, date(2024, 9, 1), date(2026, 8, 31))
    extracted = first_monday + timedelta(weeks=n_weeks) - timedelta(days=1)  # a Sunday
    age = rng.randint(25, 26) if rng.random() < 0.03 else rng.randint(14, 24)
    events: list[dict] = []
    statuses: list[dict] = []
    employment: list[dict] = []
    codes: list[str | None] = [None] * n_weeks

    def on(days_from: int, days_to: int) -> date:
        return enrolment + timedelta(days=rng.randint(days_from, days_to))

    def event(kind: str, name: str, day: date) -> None:
        if day <= extracted:
            events.append({"date": day.isoformat(), "kind": kind, "name": name, "evidence": f"doc-yr-{i:05d}-{len(events) + 1}"})

    if age <= 16:  # at school
        for name, chance in (("attitude", 0.5), ("attendance", 0.4), ("behaviour", 0.35)):
            if rng.random() < chance:
                event("assessment", name, _working_day(on(40, 300)))
        if rng.random() < 0.35:
            event("qualification", rng.choice(["entry_level", "level_1"]), _working_day(on(150, 400)))
    if 16 <= age <= 19 and rng.random() < 0.55:  # further education, from the next September
        start = _working_day(date(enrolment.year if enrolment.month < 9 else enrolment.year + 1, 9, rng.randint(2, 12)))
        if age >= 17 and rng.random() < 0.5:
            start = _working_day(on(7, 60))
        if start <= extracted:
            end = start + timedelta(weeks=rng.randint(6, 90)) if rng.random() < 0.6 else None
            spell = {"kind": "education", "start": start.isoformat(), "source": f"college-{i:05d}"}
            if end is not None and end <= extracted:
                spell["end"] = end.isoformat()
            statuses.append(spell)
            if rng.random() < 0.5:
                event("qualification", rng.choice(["level_1", "level_2", "level_2", "level_3"]), _working_day(start + timedelta(weeks=rng.randint(20, 60))))
    if age >= 17 and rng.random() < 0.2:  # an apprenticeship or traineeship
        start = _monday(on(14, 200))
        if start <= extracted:
            spell = {"kind": "training", "start": start.isoformat(), "source": f"apprenticeship-{i:05d}"}
            if rng.random() < 0.4:
                spell["end"] = min(extracted, start + timedelta(weeks=rng.randint(3, 40), days=4)).isoformat()
            statuses.append(spell)
    if age >= 16 and rng.random() < (0.5 if age >= 18 else 0.25):  # a job
        start_week = WEEKS_BEFORE + rng.randint(1, 60)
        if start_week < n_weeks:
            start = first_monday + timedelta(weeks=start_week, days=rng.choice([0, 0, 2]))
            hours = rng.choice([8, 10, 12, 15, 16, 20, 30, 37, 37]) if age >= 18 else rng.choice([6, 8, 10, 12, 15])
            end = None
            if rng.random() < 0.3 and start_week + 8 < n_weeks:
                end = first_monday + timedelta(weeks=start_week + rng.randint(4, 30), days=4)
                end = min(end, extracted)
            employment.append(_job(rng, start, end, hours))
            if hours <= 15 and age >= 18:
                # Some move on from part-time to full-time work. A stream of its own, so that the
                # draws below (and every other participant) are the same with or without it.
                more = random.Random(f"{seed}:youth-rate-card:{i}:full-time")
                if more.random() < 0.4:
                    if end is None:
                        end = start + timedelta(weeks=more.randint(6, 20), days=4 - start.weekday())
                        employment[-1]["end"] = min(end, extracted).isoformat()
                    second = _monday(end) + timedelta(weeks=more.randint(1, 3))
                    if second < extracted:
                        employment.append(_job(more, second, None, more.choice([16, 20, 30, 37])))
    if age >= 18 and rng.random() < 0.6:  # Universal Credit before the start, until a job of 16 hours or more
        job_week = min(((date.fromisoformat(e["start"]) - first_monday).days // 7 for e in employment if e["hours_per_week"] >= 16), default=n_weeks)
        for w in range(WEEKS_BEFORE - rng.randint(4, 52), job_week):
            codes[w] = "universal_credit"
    if rng.random() < 0.2 and not employment:
        event("qualification", rng.choice(["entry_level", "level_1", "level_2"]), _working_day(on(60, 450)))
    events.sort(key=lambda e: e["date"])
    return {
        "kind": "participant",
        "participant": f"syn-yr-{i:05d}",
        "municipality": "E08000035",
        "birth_date": _birth(rng, enrolment, age).isoformat(),
        "target_group": "young_people_at_risk",
        "resident": rng.random() >= 0.02,
        "enrolment": enrolment.isoformat(),
        "extracted": extracted.isoformat(),
        "benefits": _runs(codes, first_monday),
        "employment": employment,
        "statuses": statuses,
        "events": events,
        "exits": [],
    }


CONTRACTS = {"employment-programme": _employment_programme, "youth-rate-card": _youth_rate_card}


def generate(contract: str, n: int, seed: int = 11) -> list[dict]:
    """``n`` synthetic histories for one of the English example agreements."""
    one = CONTRACTS[contract]
    return [one(i, seed) for i in range(1, n + 1)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--contract", choices=sorted(CONTRACTS), required=True)
    p.add_argument("--n", type=int, default=300)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--out", help="a .jsonl file (default: standard output)")
    args = p.parse_args(argv)
    lines = "".join(json.dumps(h, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n" for h in generate(args.contract, args.n, args.seed))
    if args.out:
        Path(args.out).write_text(lines, encoding="utf-8")
    else:
        sys.stdout.write(lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
