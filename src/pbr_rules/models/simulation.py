"""The simulation scenario (``kind: simulation``) and the Monte Carlo result.

A scenario says how synthetic participants and companies behave, per target group and per
municipality, so that ``pbr simulate`` can draw many cohorts and run each through the real
business case. Every figure is a :class:`Noted` value: the value, and either the
``reference`` it comes from or ``assumption: true`` (the bundled figures are illustrative).
Conventions: docs/business-case.md, "Simulation".
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar, Union

from pydantic import Field, model_validator

from pbr_rules.models.common import CurrencyCode, Identifier, ISODate, Money, Strict
from pbr_rules.models.contract import SizeBand

T = TypeVar("T")

Probability = Annotated[float, Field(ge=0, le=1, description="A probability from 0 to 1, e.g. 0.35.")]


class Noted(Strict, Generic[T]):
    """A scenario figure with where it comes from: a ``reference``, or ``assumption: true``."""

    value: T = Field(description="The figure.")
    reference: str | None = Field(default=None, min_length=1, description="The source of the figure (a statistic, a report, a clause).")
    assumption: bool = Field(default=False, description="True when the figure is an assumption, not taken from a source.")
    documentation: str | None = Field(default=None, description="Prose for readers: how the figure was chosen.")

    @model_validator(mode="after")
    def _sourced(self):
        if not self.reference and not self.assumption:
            raise ValueError("every figure needs a 'reference' (where it comes from) or 'assumption: true'")
        return self


# --- distributions ---------------------------------------------------------------------------


class Fixed(Strict):
    """Always the same number."""

    kind: Literal["fixed"]
    value: float = Field(description="The number.")


class Uniform(Strict):
    """Any number from ``min`` to ``max`` equally likely (whole numbers: both ends included)."""

    kind: Literal["uniform"]
    min: float = Field(description="The smallest value.")
    max: float = Field(description="The largest value.")

    @model_validator(mode="after")
    def _order(self):
        if self.max < self.min:
            raise ValueError(f"max {self.max} is below min {self.min}")
        return self


class Triangular(Strict):
    """From ``min`` to ``max``, most likely near ``mode`` (a triangular distribution)."""

    kind: Literal["triangular"]
    min: float = Field(description="The smallest value.")
    mode: float = Field(description="The most likely value.")
    max: float = Field(description="The largest value.")

    @model_validator(mode="after")
    def _order(self):
        if not self.min <= self.mode <= self.max:
            raise ValueError(f"need min <= mode <= max, got {self.min}, {self.mode}, {self.max}")
        return self


class Choice(Strict):
    """One of ``values``, each with its weight in ``weights`` (same length)."""

    kind: Literal["choice"]
    values: list[float] = Field(min_length=1, description="The possible values.")
    weights: list[float] = Field(min_length=1, description="Relative weights of the values (need not sum to 1).")

    @model_validator(mode="after")
    def _same_length(self):
        if len(self.values) != len(self.weights):
            raise ValueError(f"{len(self.values)} values but {len(self.weights)} weights")
        if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
            raise ValueError("weights must be zero or more, and not all zero")
        return self


Distribution = Annotated[Union[Fixed, Uniform, Triangular, Choice], Field(discriminator="kind")]


# --- behaviour ---------------------------------------------------------------------------------


class Retention(Strict):
    """How long a job lasts: with ``probability`` it lasts at least ``weeks`` weeks (to the as-of date);
    otherwise it ends after ``shorter_weeks`` weeks (drawn, at most ``weeks`` - 1)."""

    weeks: int = Field(ge=1, le=520, description="N: the retention threshold in weeks.")
    probability: Probability = Field(description="The probability that the job lasts at least N weeks.")
    shorter_weeks: Distribution = Field(description="How many weeks a job that does not last N weeks lasts.")


class Chance(Strict):
    """Something that happens with ``probability``, ``weeks`` weeks after enrolment (or after the previous step)."""

    probability: Probability = Field(description="The probability that it happens.")
    weeks: Distribution = Field(description="When it happens, in weeks after enrolment (companies: after the previous step).")


class FlexjobRaise(Strict):
    """A flexjob's hours go up: with ``probability``, ``after_weeks`` weeks into the job, by ``extra_hours``."""

    probability: Probability
    after_weeks: Distribution = Field(description="Weeks from the flexjob's start to the raise.")
    extra_hours: Distribution = Field(description="Hours a week added (the total is kept at 37 at most).")


class Course(Strict):
    """The citizen course: who never turns up, who drops out, sessions a month, who completes."""

    no_show: Probability = Field(description="Probability that the participant never attends.")
    drop_out: Probability = Field(description="Probability that an attending participant drops out (in month 1-11, equally likely).")
    sessions_per_month: Distribution = Field(description="Sessions attended in each of the 12 course months (of 4 planned).")
    completion: Probability = Field(description="Probability that a participant who did not drop out completes (recorded 12 months + 1 week after enrolment).")


class TargetGroupBehaviour(Strict):
    """How the participants of one target group fare (programme-wide, or a municipality's own)."""

    benefit: Noted[str] = Field(description="The benefit code the group is on (benefit-codes.yaml), before enrolment and whenever not in work.")
    weeks_on_benefit_before_enrolment: Noted[Distribution] = Field(
        description="Weeks on benefit in the 52 weeks before enrolment (the last N weeks; earlier weeks self-supporting). Capped at 52."
    )
    ordinary_job: Noted[Probability] = Field(description="Probability of getting an ordinary job after enrolment (before the as-of date).")
    flexjob: Noted[Probability] = Field(description="Probability of getting a flexjob instead (ordinary_job + flexjob must be at most 1).")
    job_start_weeks: Noted[Distribution] = Field(description="When the job starts, in weeks after the enrolment week.")
    hours_per_week: Noted[Distribution] = Field(description="Hours a week in an ordinary job (whole hours, 1 to 37).")
    flexjob_hours_per_week: Noted[Distribution] = Field(description="Hours a week in a flexjob (whole hours, 1 to 37).")
    hourly_earnings: Noted[Distribution] = Field(
        description="Earnings per hour in the agreements' currency; monthly earnings = hours a week × earnings per hour × 52 / 12, in whole units (kroner)."
    )
    retention: Noted[Retention] = Field(description="Job retention: the probability that the job lasts at least N weeks.")
    benefit_stops_from_hours: Noted[int] = Field(
        description="An ordinary job of at least this many hours a week stops the benefit; below it the benefit goes on as a top-up."
    )
    flexjob_raise: Noted[FlexjobRaise] = Field(description="A flexjob's hours rising (fleksløntilskud weeks continue throughout the flexjob).")
    course: Noted[Course] = Field(description="Course attendance, drop-out and completion.")
    qualification: Noted[Chance] = Field(description="Probability and timing of a recognised qualification.")
    exit: Noted[Chance] = Field(description="Probability and timing of leaving the programme (moved away).")

    @model_validator(mode="after")
    def _jobs_at_most_one(self):
        if self.ordinary_job.value + self.flexjob.value > 1:
            raise ValueError(f"ordinary_job ({self.ordinary_job.value}) + flexjob ({self.flexjob.value}) is more than 1")
        return self


class Phase(Strict):
    """An accelerator phase: completed with ``probability``, ``weeks`` weeks after the previous step."""

    probability: Probability
    weeks: Distribution = Field(description="Weeks after the accelerator start (growth plan) or after the growth plan (social model).")


class CompanyFiguresBehaviour(Strict):
    """A company's yearly figures (docs/business-case.md, "Company figures"): revenue and full-time
    employees in the year before its accelerator start, and how they grow each year; its
    target-group employees each year are its hires in work on 31 December."""

    revenue: Distribution = Field(description="Revenue in the year before the start, in the agreements' currency (whole units).")
    revenue_growth_percent: Distribution = Field(description="Revenue growth a year, in per cent (may be negative), drawn once a company.")
    employees_fte: Distribution = Field(description="Full-time employees in the year before the start.")
    employees_added_a_year: Distribution = Field(description="Full-time employees added a year (may be negative), drawn once a company.")


class CompanyBehaviour(Strict):
    """How the partner companies fare in the social accelerator, and whom they hire."""

    size_band: Noted[dict[SizeBand, float]] = Field(description="Weights of the size bands (micro, small, medium).")
    partner: Noted[Probability] = Field(description="Probability that the company is a partner of the programme.")
    start_weeks: Noted[Distribution] = Field(description="When the company starts the accelerator, in weeks after the enrolment window opens.")
    growth_plan: Noted[Phase] = Field(description="The growth-plan phase: completion probability and weeks after the start.")
    social_model: Noted[Phase] = Field(description="The social-model phase (after the growth plan): probability and weeks after the growth plan.")
    hire: Noted[Probability] = Field(
        description="Probability that a participant's job (ordinary or flexjob) starting after a company's start is with that company (a hire); the hire lasts as the job does."
    )
    figures: Noted[CompanyFiguresBehaviour] | None = Field(
        default=None,
        description="The companies' yearly figures, for growth milestones; omitted: companies report none (no growth milestone is met).",
    )


class EnrolmentWindow(Strict):
    start: ISODate
    end: ISODate

    @model_validator(mode="after")
    def _order(self):
        if self.end < self.start:
            raise ValueError(f"the window ends ({self.end}) before it starts ({self.start})")
        return self


class AgeRange(Strict):
    min: int = Field(ge=0, le=120)
    max: int = Field(ge=0, le=120)


class MunicipalityScenario(Strict):
    """One municipality: its agreement, cohort sizes, enrolments and target-group mix."""

    agreement: str = Field(min_length=1, description="The agreement file, relative to the scenario file.")
    participants: Noted[int] = Field(description="Participants enrolled per run.")
    companies: Noted[int] = Field(description="Companies in the accelerator per run.")
    enrolment_window: Noted[EnrolmentWindow] = Field(description="Enrolments fall on working days, uniformly in this window.")
    age: Noted[AgeRange] = Field(description="Age at enrolment, uniformly in this range (both ends included).")
    resident: Noted[Probability] = Field(description="Probability that a participant is resident in the municipality.")
    target_group_mix: Noted[dict[Identifier, float]] = Field(
        description="Weights of the target groups among referred participants (groups the agreement does not admit make ineligible referrals)."
    )
    target_groups: dict[Identifier, TargetGroupBehaviour] = Field(
        default_factory=dict, description="This municipality's own behaviour for some groups; replaces the programme's for those groups."
    )
    company_behaviour: CompanyBehaviour | None = Field(default=None, description="This municipality's own company behaviour; replaces the programme's.")


class Scenario(Strict):
    """A simulation scenario: behaviour per target group and per municipality (``kind: simulation``)."""

    kind: Literal["simulation"]
    description: str = Field(min_length=1, description="One-line label.")
    documentation: str | None = Field(default=None, description="Prose: what the scenario assumes and why.")
    as_of: Noted[ISODate] = Field(description="The business case is taken as of this date; histories are extracted on it.")
    discount_rate: Noted[str] = Field(description="Annual discount rate for the NPV, e.g. '0.04'.")
    shared: dict[str, Any] | None = Field(
        default=None, description="Blocks written once with a YAML anchor (&name) and used below with an alias (*name); not read on their own."
    )
    target_groups: dict[Identifier, TargetGroupBehaviour] = Field(description="Behaviour of each target group (programme-wide).")
    company_behaviour: CompanyBehaviour = Field(description="Company behaviour (programme-wide).")
    municipalities: list[MunicipalityScenario] = Field(min_length=1)


# --- the result --------------------------------------------------------------------------------


class Summary(Strict):
    """Mean and nearest-rank percentiles of one quantity over the runs."""

    mean: Money
    p5: Money
    p25: Money
    p50: Money
    p75: Money
    p95: Money


class RunOutcome(Strict):
    """One run's business case for one municipality (or the programme)."""

    run: int
    net_result: Money
    npv: Money
    savings: Money
    course_costs: Money = Field(description="All course costs, whoever carries them.")
    municipal_course_costs: Money = Field(description="The part of the course costs the municipality pays directly.")
    municipal_outcome_payments: Money
    finances_the_courses: bool


class SimulatedCase(Strict):
    municipality: str
    code: str = Field(description="Municipality code, or 'all' for the programme.")
    contract: str = Field(description="Contract id (and version), or 'programme'.")
    net_result: Summary
    npv: Summary
    savings: Summary
    course_costs: Summary
    municipal_course_costs: Summary
    municipal_outcome_payments: Summary
    probability_savings_finance_courses: str = Field(description="Share of runs in which the savings are at least the course costs (4 decimals).")
    probability_positive_net: str = Field(description="Share of runs with a net result above zero (4 decimals).")
    runs: list[RunOutcome] = Field(description="Every run, by run index (for histograms and checks).")


class SimulationResult(Strict):
    schema_version: Literal["1"] = "1"
    scenario: str = Field(description="The scenario file's name.")
    scenario_hash: str = Field(description="SHA-256 of the scenario and agreements it names (canonical JSON).")
    seed: int
    runs: int
    as_of: ISODate
    discount_rate: str
    currency: CurrencyCode = Field(description="The one currency of the simulated agreements, of every amount here.")
    method: str = Field(
        default=(
            "Each run draws, for every municipality, a cohort from random.Random seeded with 'seed:run:municipality code', "
            "and runs it through the real business case (evaluation, settlement, savings, finance). Percentiles are "
            "nearest-rank: Pk is the ceil(k/100 × n)-th smallest of the n run values. Means are rounded to øre. "
            "The programme sums the municipalities' values run by run."
        )
    )
    municipalities: list[SimulatedCase]
    programme: SimulatedCase | None = None


__all__ = [
    "AgeRange", "Chance", "Choice", "CompanyBehaviour", "Course", "Distribution", "EnrolmentWindow", "Fixed", "FlexjobRaise",
    "MunicipalityScenario", "Noted", "Phase", "Retention", "RunOutcome", "Scenario", "SimulatedCase", "SimulationResult",
    "Summary", "TargetGroupBehaviour", "Triangular", "Uniform",
]
