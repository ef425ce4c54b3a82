"""Monte Carlo simulation of the municipal business case from a scenario file.

Owns reading a scenario (``kind: simulation``, models/simulation.py), drawing synthetic
cohorts of participant and company histories from it, running every cohort through the
real business case (the engine's decisions from ``evaluation.decide_view``, then
``settlement``, ``savings`` and ``finance`` via :func:`cases.case_figures`, the figures of
``municipality_case`` without the report around them), and summarising the runs (mean and
nearest-rank percentiles, the probability that the savings finance the courses and of a
positive net).

Determinism: a run's cohort for a municipality depends only on ``random.Random`` seeded
with the text ``"{seed}:{run}:{municipality code}"`` (string seeds are hashed with SHA-512
by ``random``, so the same on every machine and process). Runs are cut into fixed chunks
(:func:`simulate_chunk`, a task any ``concurrent.futures.Executor`` can run), and put back
in run order, so the result is the same for any number of workers. Conventions and speed:
docs/business-case.md, "Simulation".
"""

from __future__ import annotations

import hashlib
import math
import os
from functools import partial
import random
from bisect import bisect_right
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from itertools import accumulate, groupby
from pathlib import Path
from typing import Callable


from pbr_rules.collector import collector_paused
from pbr_rules.errors import ContractInvalid, Diagnostic
from pbr_rules.evaluation import decide_view_batch
from pbr_rules.finance.cases import case_figures
from pbr_rules.evaluation import rates_for
from pbr_rules.language import LoadedContract, canonical_json, format_path, load_yaml_file, require_kind, validate_model
from pbr_rules.models.contract import JobKind
from pbr_rules.models.common import construct
from pbr_rules.models.history import (
    AcceleratorPhaseRecord,
    BenefitWeeks,
    CompanyFigures,
    CompanyHistory,
    CourseEvent,
    EmploymentSpell,
    Exit,
    HireRecord,
    OutcomeEventRecord,
    ParticipantHistory,
)
from pbr_rules.models.rates import BenefitRates
from pbr_rules.models.simulation import (
    Choice,
    CompanyBehaviour,
    Fixed,
    MunicipalityScenario,
    RunOutcome,
    Scenario,
    SimulatedCase,
    SimulationResult,
    Summary,
    TargetGroupBehaviour,
    Triangular,
    Uniform,
)
from pbr_rules.money import DEFAULT_CURRENCY, ZERO, parse_money, round_money

WEEKS_BEFORE = 52  # the history starts 52 weeks before the enrolment week (the contracts' baseline)
CHUNK_RUNS = 5  # runs per task: fixed, so the split never depends on the worker count
FLEXJOB_CODE = "fleksloentilskud"
PHASES = ("growth_plan", "social_model")  # the accelerator phase names the template's milestones use


# --- loading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MunicipalityPlan:
    """A municipality's scenario with its agreement loaded and its behaviour resolved."""

    code: str
    name: str
    loaded: LoadedContract
    scenario: MunicipalityScenario
    groups: dict[str, TargetGroupBehaviour]
    companies: CompanyBehaviour


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario, the agreements it names, and its content hash."""

    scenario: Scenario
    path: str
    content_hash: str
    plans: tuple[MunicipalityPlan, ...]

    @property
    def as_of(self) -> date:
        return self.scenario.as_of.value

    @property
    def discount_rate(self) -> Decimal:
        return Decimal(self.scenario.discount_rate.value)


def load_scenario(path: str | Path) -> LoadedScenario:
    """Load a scenario file and the agreements it names; every problem at once, with file:line:col."""
    from pbr_rules.evaluation import load_checked_contract

    path = Path(path)
    source = load_yaml_file(path)
    require_kind(source, ("simulation",))
    scenario: Scenario = validate_model(Scenario, source, ContractInvalid)
    problems: list[Diagnostic] = []

    def at(p: tuple, message: str, hint: str = "") -> None:
        file, line, col = source.where(p)
        problems.append(Diagnostic(file=file, line=line, col=col, path=format_path(p), message=message, hint=hint))

    try:
        rate = Decimal(scenario.discount_rate.value)
        if not Decimal("-0.5") < rate < Decimal("1"):
            raise ValueError
    except Exception:
        at(("discount_rate", "value"), f"discount rate {scenario.discount_rate.value!r} is not an annual rate between -0.5 and 1", "e.g. '0.04'")

    plans = []
    seen_codes: dict[str, int] = {}
    for i, m in enumerate(scenario.municipalities):
        base = ("municipalities", i)
        apath = (path.parent / m.agreement).resolve()
        if not apath.exists():
            at(base + ("agreement",), f"agreement not found: {m.agreement}", f"looked for {apath}")
            continue
        try:
            loaded = load_checked_contract(apath)
        except ContractInvalid as exc:
            problems.extend(exc.diagnostics)
            continue
        c = loaded.contract
        code = c.municipality.code
        if code in seen_codes:
            at(base + ("agreement",), f"municipality {code} is also simulated by municipalities[{seen_codes[code]}]")
        seen_codes[code] = i
        if c.business_case is None:
            at(base + ("agreement",), f"agreement {c.id} has no business_case section, so it cannot be simulated")
        groups = {**scenario.target_groups, **m.target_groups}
        known = loaded.codes.codes
        known_groups = loaded.known.target_groups or frozenset()
        for g in sorted(set(m.target_group_mix.value) | set(groups)):
            if g not in known_groups:
                where = (base + ("target_group_mix", "value", g)) if g in m.target_group_mix.value else (base + ("target_groups", g)) if g in m.target_groups else ("target_groups", g)
                at(where, f"unknown target group '{g}' in the agreement's vocabulary ({c.effective_jurisdiction.code})", f"known target groups: {', '.join(sorted(known_groups))}")
        for g, w in m.target_group_mix.value.items():
            if w < 0:
                at(base + ("target_group_mix", "value", g), f"weight {w} is negative")
            if g not in groups:
                at(base + ("target_group_mix", "value", g), f"target group '{g}' has no behaviour", "add it under target_groups")
        if sum(m.target_group_mix.value.values()) <= 0:
            at(base + ("target_group_mix", "value"), "the weights must not all be zero")
        for g, b in groups.items():
            where = (base + ("target_groups", g)) if g in m.target_groups else ("target_groups", g)
            if b.benefit.value not in known:
                at(where + ("benefit", "value"), f"unknown benefit code '{b.benefit.value}'", f"known codes: {', '.join(sorted(known))}")
        if FLEXJOB_CODE not in known:
            at(base + ("agreement",), f"the agreement's benefit codes lack '{FLEXJOB_CODE}' (flexjob weeks)")
        if m.age.value.max < m.age.value.min:
            at(base + ("age", "value"), f"age max {m.age.value.max} is below min {m.age.value.min}")
        if m.participants.value < 0 or m.companies.value < 0:
            at(base + ("participants",), "participants and companies must be zero or more")
        if m.enrolment_window.value.end > scenario.as_of.value:
            at(base + ("enrolment_window", "value", "end"), f"the enrolment window ends after the as-of date {scenario.as_of.value}")
        if plans and c.currency != plans[0].loaded.contract.currency:
            first = plans[0].loaded.contract
            at(base + ("agreement",), f"agreement {c.id} is in {c.currency}, but {first.id} in {first.currency}: a programme's amounts are added up, so they must be in one currency",
               "simulate the agreements of one currency at a time (pbr-rules converts no currency)")
        plans.append(MunicipalityPlan(code, c.municipality.name, loaded, m, groups, m.company_behaviour or scenario.company_behaviour))
    if problems:
        raise ContractInvalid(problems)
    plans.sort(key=lambda p: p.code)
    digest = hashlib.sha256(
        canonical_json({"scenario": scenario.model_dump(mode="json"), "agreements": [p.loaded.content_hash for p in plans]}).encode()
    ).hexdigest()
    return LoadedScenario(scenario=scenario, path=str(path), content_hash=digest, plans=tuple(plans))


# --- drawing ---------------------------------------------------------------------------------


def draw(rng: random.Random, d) -> float:
    """One number from a distribution."""
    return _samplers(d)[0](rng)


def draw_int(rng: random.Random, d) -> int:
    """A whole number from a distribution (uniform: every whole number from min to max equally likely)."""
    return _samplers(d)[1](rng)


def _make_samplers(d) -> tuple[Callable[[random.Random], float], Callable[[random.Random], int]]:
    """(draw, draw_int) for one distribution, with what does not change between draws worked out once."""
    if isinstance(d, Fixed):
        value = d.value
        number = lambda rng: value  # noqa: E731
    elif isinstance(d, Uniform):
        low, span = d.min, d.max - d.min
        number = lambda rng: low + span * rng.random()  # noqa: E731
    elif isinstance(d, Triangular):
        low, high, mode = d.min, d.max, d.mode
        number = lambda rng: rng.triangular(low, high, mode)  # noqa: E731
    elif isinstance(d, Choice):
        number = _Pick(d.values, d.weights)
    else:
        raise TypeError(f"not a distribution: {d!r}")
    if isinstance(d, Uniform):
        first, last = math.ceil(d.min), math.floor(d.max)
        only = round(d.min)
        whole = (lambda rng: rng.randint(first, last)) if first <= last else (lambda rng: only)
    elif isinstance(d, Choice) and all(math.isfinite(v) for v in d.values):
        whole = _Pick([int(round(v)) for v in d.values], d.weights)  # the same pick, its value rounded beforehand
    else:
        whole = lambda rng: int(round(number(rng)))  # noqa: E731
    return number, whole


# Samplers by the distribution they draw from (kept here, so an id is never reused).
_SAMPLERS: dict[int, tuple[object, Callable, Callable]] = {}


def _samplers(d) -> tuple[Callable[[random.Random], float], Callable[[random.Random], int]]:
    entry = _SAMPLERS.get(id(d))
    if entry is None or entry[0] is not d:
        entry = _SAMPLERS[id(d)] = (d, *_make_samplers(d))
    return entry[1], entry[2]


def _weighted(rng: random.Random, weights: dict) -> str:
    def table():
        keys = sorted(weights, key=lambda k: getattr(k, "value", k))
        return keys, [weights[k] for k in keys]

    return _picker(weights, table)(rng)


class _Pick:
    """``rng.choices(items, weights, k=1)[0]`` with the cumulative weights summed once: the same
    arithmetic as ``random.choices`` (so the same draws), without redoing it for every draw."""

    __slots__ = ("items", "cum", "total", "hi")

    def __init__(self, items, weights):
        self.items, self.cum = list(items), list(accumulate(weights))
        self.total, self.hi = self.cum[-1] + 0.0, len(self.cum) - 1
        if len(self.items) != len(self.cum) or not self.total > 0.0 or not math.isfinite(self.total):
            raise ValueError("weights must be as many as the items, at least one of them above zero, all finite")

    def __call__(self, rng: random.Random):
        return self.items[bisect_right(self.cum, rng.random() * self.total, 0, self.hi)]


# Pickers by the scenario object they draw from (kept here, so an id is never reused).
_PICKERS: dict[int, tuple[object, _Pick]] = {}


def _picker(source, table) -> _Pick:
    entry = _PICKERS.get(id(source))
    if entry is None or entry[0] is not source:
        entry = _PICKERS[id(source)] = (source, _Pick(*table()))
    return entry[1]


# --- history models without validation --------------------------------------------------

# Generated histories are valid by construction: built as model_construct would, not validated again.
_participant_model, _company_model = partial(construct, ParticipantHistory), partial(construct, CompanyHistory)
_course_event, _event, _benefit_weeks, _exit = partial(construct, CourseEvent), partial(construct, OutcomeEventRecord), partial(construct, BenefitWeeks), partial(construct, Exit)
_employment, _phase, _hire = partial(construct, EmploymentSpell), partial(construct, AcceleratorPhaseRecord), partial(construct, HireRecord)
_company_figures = partial(construct, CompanyFigures)

# Parts that many generated histories hold alike (a course month's attendance, a run of benefit
# weeks) are made once and shared: the models are frozen, so a shared part is the same value as a
# fresh one (tests/test_simulation.py checks generated models against full validation).
_PARTS: dict[tuple, object] = {}
_PARTS_MAX = 500_000  # cleared when this full, so a long-lived process never grows without bound


def _shared(key: tuple, make: Callable[[], object]):
    part = _PARTS.get(key)
    if part is None:
        if len(_PARTS) >= _PARTS_MAX:
            _PARTS.clear()
        part = _PARTS[key] = make()
    return part


def _course_months(enrolment: date) -> tuple[date, ...]:
    """The 12 course months' dates (every 28 days from enrolment)."""
    return _shared(("months", enrolment), lambda: tuple(enrolment + timedelta(days=28 * month) for month in range(1, 13)))


def _attendance(d: date, sessions: int) -> CourseEvent:
    return _shared(("attendance", d, sessions), lambda: _course_event(date=d, kind="attendance", sessions=sessions))


# --- generating cohorts ---------------------------------------------------------------------


def _monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _working_day(d: date) -> date:
    return d - timedelta(days=max(0, d.weekday() - 4))


def _iso_week(d: date) -> str:
    y, w, _ = d.isocalendar()
    return f"{y}-W{w:02d}"


def _runs(codes: list[str | None], first_monday: date) -> list[BenefitWeeks]:
    """Compact benefit runs (``{weeks: a..b, code}``) from one code (or None) per week."""
    out, i = [], 0
    for code, same in groupby(codes):
        n = len(list(same))
        if code is not None:
            out.append(_benefit_run(first_monday + timedelta(weeks=i), n, code))
        i += n
    return out


def _benefit_run(monday: date, n: int, code: str) -> BenefitWeeks:
    """``n`` weeks of ``code`` from the week of ``monday``, as one benefit run."""
    def make():
        a, b = _iso_week(monday), _iso_week(monday + timedelta(weeks=n - 1))
        return _benefit_weeks(weeks=a if a == b else f"{a}..{b}", code=code)

    return _shared(("benefits", monday, n, code), make)


def _monthly(hours: int, per_hour: float) -> Decimal:
    """Monthly earnings in whole kroner, as a history holds them (Decimal, in øre)."""
    return parse_money(int(round(hours * per_hour * 52 / 12)))


@dataclass
class _Company:
    fields: dict  # the company history's fields but its hires
    start: date
    hires: list  # HireRecord, as participants are drawn


def generate_cohort(plan: MunicipalityPlan, as_of: date, seed: int, run: int) -> list[dict]:
    """One run's cohort for one municipality, as plain history dicts (as a history file holds
    them): companies first, then participants.

    Everything depends only on (seed, run, municipality code).
    """
    return [_company_dict(h) if h.kind == "company" else _participant_dict(h) for h in cohort_histories(plan, as_of, seed, run)]


def cohort_histories(plan: MunicipalityPlan, as_of: date, seed: int, run: int) -> list[ParticipantHistory | CompanyHistory]:
    """One run's cohort for one municipality as history models: companies first, then participants.

    The models are constructed (as ``model_construct`` would) with the values validation would
    give them, not validated again: the generator makes them valid. tests/test_simulation.py
    validates generated cohorts in full (``generate_cohort``) and checks that these models are
    the same, value for value and type for type."""
    rng = random.Random(f"{seed}:{run}:{plan.code}")
    m = plan.scenario
    companies = [_company(rng, plan, as_of, run, j) for j in range(1, m.companies.value + 1)]
    participants = [_participant(rng, plan, as_of, run, i, companies) for i in range(1, m.participants.value + 1)]
    figures = plan.companies.figures
    out = []
    for c in companies:
        hires = sorted(c.hires, key=lambda h: (h.date, h.participant))
        # drawn after every participant, so a scenario without figures draws (and makes) the same cohorts
        extra = {"figures": _figures(rng, figures.value, c.start, as_of, hires)} if figures is not None else {}
        out.append(_company_model(**c.fields, hires=hires, **extra))
    return out + participants


def _figures(rng: random.Random, b, start: date, as_of: date, hires) -> list:
    """A company's figures for each whole calendar year from the year before its start to the
    last one complete by the as-of date: revenue and full-time employees from the drawn level
    and yearly change; target-group employees = its hires in work on 31 December."""
    revenue = Decimal(max(0, round(draw(rng, b.revenue))))
    growth = Decimal(str(round(draw(rng, b.revenue_growth_percent), 2))) / 100
    fte = Decimal(str(round(max(0.0, draw(rng, b.employees_fte)), 2)))
    added = Decimal(str(round(draw(rng, b.employees_added_a_year), 2)))
    out = []
    year = start.year - 1
    while date(year, 12, 31) <= as_of:
        n = year - (start.year - 1)
        end = date(year, 12, 31)
        out.append(_company_figures(
            period=str(year),
            revenue=max(ZERO, (revenue * (1 + growth) ** n).quantize(Decimal(1))).quantize(Decimal("0.01")),
            employees_fte=Decimal(str(float(max(ZERO, fte + added * n)))),  # as a JSON number reads back (7.9, not 7.90)
            target_group_employees=sum(1 for h in hires if h.date <= end and (h.end is None or h.end >= end)),
            source="simulated",
        ))
        year += 1
    return out


def _company(rng: random.Random, plan: MunicipalityPlan, as_of: date, run: int, j: int) -> _Company:
    b = plan.companies
    window = plan.scenario.enrolment_window.value
    start = _working_day(window.start + timedelta(weeks=max(0, draw_int(rng, b.start_weeks.value))))
    start = min(start, _working_day(as_of))
    phases = []
    gp = b.growth_plan.value
    if rng.random() < gp.probability:
        done = start + timedelta(weeks=max(0, draw_int(rng, gp.weeks)))
        if done <= as_of:
            phases.append(_phase(phase=PHASES[0], completed=done))
            sm = b.social_model.value
            if rng.random() < sm.probability:
                done2 = done + timedelta(weeks=max(0, draw_int(rng, sm.weeks)))
                if done2 <= as_of:
                    phases.append(_phase(phase=PHASES[1], completed=done2))
    fields = {
        "kind": "company",
        "company": f"sim-{plan.code}-r{run}-c{j}",
        "municipality": plan.code,
        "size_band": _weighted(rng, b.size_band.value),
        "partner": rng.random() < b.partner.value,
        "start": start,
        "extracted": as_of,
        "phases": phases,
    }
    return _Company(fields, start, [])


@dataclass(frozen=True)
class _Draws:
    """A target group's distributions, each sampler looked up once (the same draws as ``draw``/``draw_int``)."""

    before: Callable[[random.Random], int]
    job_start: Callable[[random.Random], int]
    hours: Callable[[random.Random], int]
    flex_hours: Callable[[random.Random], int]
    earnings: Callable[[random.Random], float]
    shorter: Callable[[random.Random], int]
    raise_after: Callable[[random.Random], int]
    raise_extra: Callable[[random.Random], int]
    sessions: Callable[[random.Random], int]
    qualification: Callable[[random.Random], int]
    exit: Callable[[random.Random], int]


# Draws by the target group's behaviour (kept here, so an id is never reused).
_DRAWS: dict[int, tuple[TargetGroupBehaviour, _Draws]] = {}


def _draws(b: TargetGroupBehaviour) -> _Draws:
    entry = _DRAWS.get(id(b))
    if entry is None or entry[0] is not b:
        whole = lambda d: _samplers(d)[1]  # noqa: E731
        entry = _DRAWS[id(b)] = (b, _Draws(
            before=whole(b.weeks_on_benefit_before_enrolment.value), job_start=whole(b.job_start_weeks.value),
            hours=whole(b.hours_per_week.value), flex_hours=whole(b.flexjob_hours_per_week.value),
            earnings=_samplers(b.hourly_earnings.value)[0], shorter=whole(b.retention.value.shorter_weeks),
            raise_after=whole(b.flexjob_raise.value.after_weeks), raise_extra=whole(b.flexjob_raise.value.extra_hours),
            sessions=whole(b.course.value.sessions_per_month), qualification=whole(b.qualification.value.weeks),
            exit=whole(b.exit.value.weeks),
        ))
    return entry[1]


def _participant(rng: random.Random, plan: MunicipalityPlan, as_of: date, run: int, i: int, companies: list[_Company]) -> ParticipantHistory:
    m = plan.scenario
    pid = f"sim-{plan.code}-r{run}-p{i}"
    group = _weighted(rng, m.target_group_mix.value)
    b = plan.groups[group]
    g = _draws(b)
    code = b.benefit.value

    window = m.enrolment_window.value
    enrolment = window.start + timedelta(days=rng.randint(0, (window.end - window.start).days))
    enrolment = _working_day(enrolment)
    if enrolment < window.start:
        enrolment += timedelta(days=3)
    enrol_monday = _monday(enrolment)
    first_monday = enrol_monday - timedelta(weeks=WEEKS_BEFORE)
    n_weeks = (_monday(as_of) - first_monday).days // 7 + 1

    age = rng.randint(m.age.value.min, m.age.value.max)
    birth = date(enrolment.year - age, enrolment.month, min(enrolment.day, 28)) - timedelta(days=rng.randint(1, 360))

    codes: list[str | None] = [None] * n_weeks
    before = min(WEEKS_BEFORE, max(0, g.before(rng)))
    codes[WEEKS_BEFORE - before:] = [code] * (n_weeks - (WEEKS_BEFORE - before))

    def week_no(d: date) -> int:
        return (_monday(d) - first_monday).days // 7

    employment: list[EmploymentSpell] = []
    hire: tuple[_Company, date, date | None] | None = None
    u = rng.random()
    kind = "ordinary" if u < b.ordinary_job.value else ("flexjob" if u < b.ordinary_job.value + b.flexjob.value else None)
    if kind is not None:
        start = enrol_monday + timedelta(weeks=max(0, g.job_start(rng)), days=rng.randint(0, 4))
        if start < enrolment:
            start = enrolment
        if start <= as_of:
            hours = min(37, max(1, (g.hours if kind == "ordinary" else g.flex_hours)(rng)))
            per_hour = g.earnings(rng)
            ret = b.retention.value
            end = None
            if rng.random() >= ret.probability:
                weeks = min(ret.weeks - 1, max(1, g.shorter(rng)))
                end = start + timedelta(weeks=weeks, days=-1)
                if end >= as_of:
                    end = None
            employer = "Lokal virksomhed (synthetic)"
            partner = False
            open_companies = [c for c in companies if c.start <= start]
            if open_companies and rng.random() < plan.companies.hire.value:
                company = open_companies[rng.randrange(len(open_companies))]
                # the employer is the company's id, as a hire is verified by (docs/semantics.md § 5)
                employer, partner = company.fields["company"], True
                hire = (company, start, end)
            last_w = min(n_weeks - 1, week_no(end) if end else n_weeks - 1)
            spells = [(start, end, hours)]
            if kind == "flexjob":
                fr = b.flexjob_raise.value
                if rng.random() < fr.probability:
                    raise_at = _monday(start) + timedelta(weeks=max(1, g.raise_after(rng)))
                    if raise_at < (end or as_of) - timedelta(days=14):
                        extra = max(1, g.raise_extra(rng))
                        spells = [(start, raise_at - timedelta(days=1), hours), (raise_at, end, min(37, hours + extra))]
                first_w = week_no(start)
                codes[first_w:last_w + 1] = [FLEXJOB_CODE] * (last_w + 1 - first_w)
            elif hours >= b.benefit_stops_from_hours.value:
                # A week is self-supporting only when the job covers it from its Monday.
                first_w = week_no(start) + (1 if start.weekday() > 0 else 0)
                codes[first_w:last_w + 1] = [None] * (last_w + 1 - first_w)
            for s, e, h in spells:
                spell = {"start": s, "hours_per_week": Decimal(h), "monthly_earnings": _monthly(h, per_hour),
                         "employer": employer, "partner_company": partner, "kind": JobKind(kind)}
                if e is not None:
                    spell["end"] = e
                employment.append(_employment(**spell))

    course = []
    c = b.course.value
    if rng.random() >= c.no_show:
        dropout_month = rng.randint(1, 11) if rng.random() < c.drop_out else None
        for month, d in enumerate(_course_months(enrolment), 1):
            if d > as_of:
                break
            if month == dropout_month:
                course.append(_course_event(date=d, kind="drop_out"))
                break
            sessions = min(4, max(0, g.sessions(rng)))
            if sessions:
                course.append(_attendance(d, sessions))
        else:
            done = enrolment + timedelta(days=28 * 12 + 7)
            if rng.random() < c.completion and done <= as_of:
                course.append(_course_event(date=done, kind="completion"))

    events = []
    q = b.qualification.value
    if rng.random() < q.probability:
        qd = enrolment + timedelta(weeks=max(0, g.qualification(rng)))
        if qd <= as_of:
            events.append(_event(date=qd, kind="qualification", name="Qualification (synthetic)", evidence=f"doc-{pid}-q1"))
    exits = []
    x = b.exit.value
    if rng.random() < x.probability:
        xd = enrolment + timedelta(weeks=max(0, g.exit(rng)))
        if xd <= as_of:
            exits.append(_exit(date=xd, reason="moved_away"))
    resident = rng.random() < m.resident.value

    if hire is not None:
        company, hd, he = hire
        company.hires.append(_hire(participant=pid, date=hd) if he is None else _hire(participant=pid, date=hd, end=he))

    return _participant_model(
        kind="participant",
        participant=pid,
        municipality=plan.code,
        birth_date=birth,
        target_group=group,
        benefit_at_enrolment=codes[WEEKS_BEFORE - 1] or code,
        resident=resident,
        enrolment=enrolment,
        extracted=as_of,
        course=course,
        events=events,
        benefits=_runs(codes, first_monday),
        employment=employment,
        exits=exits,
    )


def to_histories(dicts: list[dict]) -> list[ParticipantHistory | CompanyHistory]:
    """Validate generated dicts into history models (full pydantic validation)."""
    return [CompanyHistory.model_validate(d) if d["kind"] == "company" else ParticipantHistory.model_validate(d) for d in dicts]


def _participant_dict(h: ParticipantHistory) -> dict:
    """A generated participant as a history file holds it."""
    return {
        "kind": "participant",
        "participant": h.participant,
        "municipality": h.municipality,
        "birth_date": h.birth_date.isoformat(),
        "target_group": h.target_group,
        "benefit_at_enrolment": h.benefit_at_enrolment,
        "resident": h.resident,
        "enrolment": h.enrolment.isoformat(),
        "extracted": h.extracted.isoformat(),
        "course": [{"date": e.date.isoformat(), "kind": e.kind, **({"sessions": e.sessions} if e.sessions is not None else {})} for e in h.course],
        "events": [{"date": e.date.isoformat(), "kind": e.kind, "name": e.name, "evidence": e.evidence} for e in h.events],
        "benefits": [{"weeks": b.weeks, "code": b.code} for b in h.benefits],
        "employment": [
            {
                "start": s.start.isoformat(), "hours_per_week": int(s.hours_per_week), "monthly_earnings": str(int(s.monthly_earnings)),
                "employer": s.employer, "partner_company": s.partner_company, "kind": s.kind.value,
                **({"end": s.end.isoformat()} if s.end is not None else {}),
            }
            for s in h.employment
        ],
        "exits": [{"date": x.date.isoformat(), "reason": x.reason} for x in h.exits],
    }


def _company_dict(h: CompanyHistory) -> dict:
    """A generated company as a history file holds it."""
    return {
        "kind": "company",
        "company": h.company,
        "municipality": h.municipality,
        "size_band": h.size_band.value,
        "partner": h.partner,
        "start": h.start.isoformat(),
        "extracted": h.extracted.isoformat(),
        "phases": [{"phase": ph.phase, "completed": ph.completed.isoformat()} for ph in h.phases],
        "hires": [{"participant": r.participant, "date": r.date.isoformat(), **({"end": r.end.isoformat()} if r.end is not None else {})} for r in h.hires],
        **({"figures": [
            {"period": f.period, "revenue": str(f.revenue), "employees_fte": float(f.employees_fte),  # a JSON number: 2 decimals round-trip
             "target_group_employees": f.target_group_employees, "source": f.source}
            for f in h.figures
        ]} if h.figures else {}),
    }


# --- one run ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunValues:
    net_result: Decimal
    npv: Decimal
    savings: Decimal
    course_costs: Decimal
    municipal_course_costs: Decimal
    municipal_outcome_payments: Decimal
    finances_the_courses: bool


def _for_simulation(loaded: LoadedContract) -> LoadedContract:
    """The agreement without its investor section: the simulation reports no investor view, and the
    waterfall's IRR search would otherwise dominate each run. Nothing else changes."""
    if loaded.contract.investor is None:
        return loaded
    return replace(loaded, contract=loaded.contract.model_copy(update={"investor": None}))


def run_case(
    plan: MunicipalityPlan, loaded: LoadedContract, as_of: date, rate: Decimal, seed: int, run: int, rates: BenefitRates | None = None
) -> RunValues:
    """One municipality's business case for one run, through the real path: the engine's decisions
    (``decide_view_batch``), settlement, savings and the business case's figures (``case_figures``)."""
    histories = cohort_histories(plan, as_of, seed, run)
    participants = [h for h in histories if isinstance(h, ParticipantHistory)]
    # as evaluate_cohort: participants first (many to an engine session), companies see their eligibility
    by_id = {id(h): v for h, v in zip(participants, decide_view_batch(loaded, participants, as_of))}
    eligible = {h.participant: h.enrolment for h in participants if by_id[id(h)].eligibility.eligible}
    by_participant = {h.participant: h for h in participants}  # hires are verified by the participants' employment
    companies = [h for h in histories if isinstance(h, CompanyHistory)]
    by_id.update((id(h), v) for h, v in zip(companies, decide_view_batch(loaded, companies, as_of, eligible, by_participant, judge_participants=False)))
    results = [by_id[id(h)] for h in histories]
    case = case_figures(loaded, histories, results, as_of, rate, rates=rates)
    return RunValues(
        net_result=case.net_result,
        npv=case.npv,
        savings=case.savings,
        course_costs=case.course_costs_total,
        municipal_course_costs=case.municipal_course_costs,
        municipal_outcome_payments=case.municipal_outcome_payments,
        # Whole-initiative view, as the programme total below: savings at least the total course costs.
        finances_the_courses=case.course_costs_total > 0 and case.savings >= case.course_costs_total,
    )


@dataclass(frozen=True)
class _Ready:
    """A scenario with what every run needs worked out once: each agreement without its investor
    section, and its benefit-rate table."""

    scenario: LoadedScenario
    contracts: tuple[tuple[MunicipalityPlan, LoadedContract, BenefitRates], ...]


# Scenarios ready in this process, by (path, content hash): a worker loads a scenario (and so
# compiles its agreements) once, whatever executor sends it chunks, and never a changed file.
_READY: dict[tuple[str, str], _Ready] = {}


def _ready(scenario: LoadedScenario) -> _Ready:
    key = (scenario.path, scenario.content_hash)
    ready = _READY.get(key)
    if ready is None or ready.scenario is not scenario:
        contracts = []
        for p in scenario.plans:
            loaded = _for_simulation(p.loaded)
            contracts.append((p, loaded, rates_for(loaded)))
        ready = _READY[key] = _Ready(scenario, tuple(contracts))
    return ready


def _chunk(scenario: LoadedScenario, seed: int, first: int, stop: int) -> list[list[RunValues]]:
    ready = _ready(scenario)
    as_of, rate = scenario.as_of, scenario.discount_rate
    out = []
    for run in range(first, stop):
        with collector_paused():  # run by run: a run leaves a few dozen cyclic objects for the collector
            out.append([run_case(p, lc, as_of, rate, seed, run, rates) for p, lc, rates in ready.contracts])
    return out


def simulate_chunk(path: str, content_hash: str, seed: int, first: int, stop: int) -> list[list[RunValues]]:
    """Runs ``first`` .. ``stop - 1`` of the scenario at ``path``: one task for an executor.

    Module-level, with small arguments (the scenario's path and content hash, the seed, a run
    range), so any ``concurrent.futures.Executor`` can run it in another process or on another
    machine: the worker loads the scenario and its agreements on its first chunk and keeps them
    (refusing a file that changed since the simulation started); no cohort is ever pickled."""
    ready = _READY.get((path, content_hash))
    if ready is None:
        scenario = load_scenario(path)
        if scenario.content_hash != content_hash:
            raise RuntimeError(f"{path} (or an agreement it names) changed while the simulation ran")
        ready = _ready(scenario)
    return _chunk(ready.scenario, seed, first, stop)


def simulate(
    scenario: LoadedScenario | str | Path,
    runs: int,
    seed: int,
    workers: int | None = None,
    *,
    on_progress: Callable[[int, int], None] | None = None,
    executor: Executor | None = None,
) -> SimulationResult:
    """``runs`` Monte Carlo runs of every municipality's business case; the same seed gives the same
    result for any number of ``workers`` (default: one per core) and any ``executor``.

    The runs are cut into fixed chunks of ``CHUNK_RUNS``, each a call of :func:`simulate_chunk`.
    With ``executor`` (any ``concurrent.futures.Executor``: only ``submit`` is used) every chunk
    is submitted to it and ``workers`` is not used; without one, a process pool of ``workers``
    runs them, or this process alone when ``workers`` is 1."""
    if not isinstance(scenario, LoadedScenario):
        scenario = load_scenario(scenario)
    if runs < 1:
        raise ValueError("runs must be at least 1")
    workers = max(1, workers or os.cpu_count() or 1)
    chunks = [(a, min(a + CHUNK_RUNS, runs)) for a in range(0, runs, CHUNK_RUNS)]
    out: list[list[RunValues]] = []
    if executor is None and (workers == 1 or len(chunks) == 1):
        for a, b in chunks:
            out.extend(_chunk(scenario, seed, a, b))
            if on_progress:
                on_progress(b, runs)
        return summarise(scenario, seed, out)

    # Workers load the scenario from its file by absolute path; a forked pool starts with this
    # process's scenario already ready.
    path = str(Path(scenario.path).resolve())
    if (path, scenario.content_hash) not in _READY:
        _READY[(path, scenario.content_hash)] = _ready(scenario)
    pool = executor or ProcessPoolExecutor(max_workers=min(workers, len(chunks)))
    try:
        futures = [pool.submit(simulate_chunk, path, scenario.content_hash, seed, a, b) for a, b in chunks]
        done = 0
        for (a, b), future in zip(chunks, futures):  # results go back in run order
            out.extend(future.result())
            done += b - a
            if on_progress:
                on_progress(done, runs)
    finally:
        if executor is None:
            pool.shutdown(cancel_futures=True)
    return summarise(scenario, seed, out)


def nearest_rank(values: list[Decimal], percent: int) -> Decimal:
    """The nearest-rank percentile: the ceil(percent/100 × n)-th smallest value (the smallest for 0)."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(percent * len(ordered) / 100))
    return ordered[rank - 1]


def summary_of(values: list[Decimal]) -> Summary:
    mean = round_money(sum(values, ZERO) / len(values))
    return Summary(mean=mean, **{f"p{k}": nearest_rank(values, k) for k in (5, 25, 50, 75, 95)})


def share_of(count: int, n: int) -> str:
    """count / n as a decimal with 4 places (half-up)."""
    return str((Decimal(count) / Decimal(n)).quantize(Decimal("0.0001")))


def _case(municipality: str, code: str, contract: str, outcomes: list[RunOutcome]) -> SimulatedCase:
    def s(attr):
        return summary_of([getattr(o, attr) for o in outcomes])

    n = len(outcomes)
    return SimulatedCase(
        municipality=municipality, code=code, contract=contract,
        net_result=s("net_result"), npv=s("npv"), savings=s("savings"), course_costs=s("course_costs"),
        municipal_course_costs=s("municipal_course_costs"),
        municipal_outcome_payments=s("municipal_outcome_payments"),
        probability_savings_finance_courses=share_of(sum(o.finances_the_courses for o in outcomes), n),
        probability_positive_net=share_of(sum(o.net_result > 0 for o in outcomes), n),
        runs=outcomes,
    )


def summarise(scenario: LoadedScenario, seed: int, per_run: list[list[RunValues]]) -> SimulationResult:
    """Summaries per municipality and for the programme (the municipalities summed run by run)."""
    cases = []
    for j, plan in enumerate(scenario.plans):
        outcomes = [RunOutcome(run=r, **vars(vals[j])) for r, vals in enumerate(per_run)]
        c = plan.loaded.contract
        cases.append(_case(plan.name, plan.code, f"{c.id} v{c.version}", outcomes))
    programme = None
    if len(cases) > 1:
        totals = []
        for r, vals in enumerate(per_run):
            t = {k: sum((getattr(v, k) for v in vals), ZERO) for k in ("net_result", "npv", "savings", "course_costs", "municipal_course_costs", "municipal_outcome_payments")}
            totals.append(RunOutcome(run=r, finances_the_courses=t["course_costs"] > 0 and t["savings"] >= t["course_costs"], **t))
        programme = _case("The programme (all municipalities)", "all", "programme", totals)
    return SimulationResult(
        scenario=Path(scenario.path).name, scenario_hash=scenario.content_hash, seed=seed, runs=len(per_run),
        as_of=scenario.as_of, discount_rate=str(scenario.discount_rate),
        currency=scenario.plans[0].loaded.contract.currency if scenario.plans else DEFAULT_CURRENCY, municipalities=cases, programme=programme,
    )
