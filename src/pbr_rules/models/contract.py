"""The contract vocabulary: an agreement's parties, eligibility, milestones, tariffs and caps.

Keys use the agreement's own words. Every item that moves money (tariffs, caps, payer
splits, claim lag) carries a ``reference`` to the clause of the signed agreement, and
every value that an amendment can change is effective-dated (``{date: {value, reference}}``).
Semantics of each measure: docs/semantics.md. Every key, for contract managers:
docs/contract-language.md.
"""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Annotated, ClassVar, Literal, Union

from pydantic import Field, StrictBool, model_serializer, model_validator

from pbr_rules.models.common import DatedEntry, Identifier, ISODate, Label, Money, Prose, Quantity, Reference, Share, Strict
from pbr_rules.models.vocabulary import AREA_CODE_PATTERN, DENMARK, Jurisdiction
from pbr_rules.periods import Calendar


class PartyRole(str, Enum):
    outcome_payer = "outcome_payer"
    fund = "fund"
    citizen_course_provider = "citizen_course_provider"
    accelerator_operator = "accelerator_operator"
    investor = "investor"


class SizeBand(str, Enum):
    """Company size by head count (EU SME definition)."""

    micro = "micro"  # fewer than 10
    small = "small"  # 10-49
    medium = "medium"  # 50-249


class JobKind(str, Enum):
    ordinary = "ordinary"
    flexjob = "flexjob"


class Side(str, Enum):
    citizen = "citizen"
    company = "company"


class _OmitUnset(Strict):
    """Leaves the keys named in ``_omit_when_unset`` out of the dump while they are None.

    Keys added to the language after agreements were signed use it, so an agreement that
    does not write them keeps its content hash and its changelog fingerprints.
    """

    _omit_when_unset: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _drop_unset(self, handler):
        data = handler(self)
        for key in self._omit_when_unset:
            if key in data and data[key] is None:
                del data[key]
        return data


# --- identity and parties -------------------------------------------------------------


class Municipality(Strict):
    """The municipality (kommune, local authority) that is party to the agreement."""

    name: Label = Field(min_length=1, description="Official name, e.g. 'København'.")
    code: str = Field(
        pattern=AREA_CODE_PATTERN,
        description="Official area code in the jurisdiction's vocabulary: a kommunekode such as '101' in Denmark, an ONS code such as 'E08000003' in England.",
    )


class Party(Strict):
    """A party to the agreement and the roles it plays."""

    name: Label = Field(min_length=1)
    roles: list[PartyRole] = Field(min_length=1)
    documentation: Prose | None = None


class Term(Strict):
    """The period the agreement runs: outcomes count only when met within it (both days included)."""

    start: ISODate
    end: ISODate


# --- eligibility ----------------------------------------------------------------------


class AgeRange(Strict):
    """Age in whole years on the enrolment date, both bounds included."""

    min: int | None = Field(default=None, ge=0, le=130)
    max: int | None = Field(default=None, ge=0, le=130)


class DateRange(Strict):
    """A period of days, both days included."""

    start: ISODate
    end: ISODate


class BaselineRequirement(Strict):
    """'On benefits at least N of the M weeks before enrolment.'"""

    benefit_weeks_at_least: int = Field(ge=0, le=520)
    of_weeks_before_enrolment: int = Field(ge=1, le=520)
    codes: list[str] | None = Field(
        default=None,
        description="Benefit codes that count; omitted = every code that is public support.",
    )
    reference: Reference


class Target(Strict):
    """A soft target: how many participants (companies) the agreement aims at, reported, never enforced."""

    size: int = Field(ge=1, description="The number aimed at.")
    by: ISODate | None = Field(
        default=None,
        description="The day by which the target is to be met (default: the end of the enrolment window, else the term end).",
    )
    reference: Reference
    documentation: Prose | None = None


class CitizenEligibility(_OmitUnset):
    """Who may be enrolled on the citizen course."""

    _omit_when_unset: ClassVar[tuple[str, ...]] = ("target",)

    description: Label | None = None
    documentation: Prose | None = None
    reference: Reference
    target_groups: list[Identifier] = Field(min_length=1, description="Target groups of the jurisdiction's vocabulary.")
    age: AgeRange | None = None
    residence_in_municipality: bool = True
    baseline: BaselineRequirement | None = None
    enrolment_window: DateRange | None = None
    cohort_size: int | None = Field(default=None, ge=1, description="Most participants the agreement pays for.")
    target: Target | None = Field(
        default=None, description="A soft target number of participants: reported as over or under target; payment is never refused for it."
    )


class CompanyEligibility(_OmitUnset):
    """Which companies may join the social accelerator."""

    _omit_when_unset: ClassVar[tuple[str, ...]] = ("target",)

    description: Label | None = None
    documentation: Prose | None = None
    reference: Reference
    size_bands: list[SizeBand] = Field(min_length=1)
    partner_required: bool = True
    in_municipality: bool = True
    cohort_size: int | None = Field(default=None, ge=1)
    target: Target | None = Field(
        default=None, description="A soft target number of companies: reported as over or under target; payment is never refused for it."
    )


class Eligibility(Strict):
    citizens: CitizenEligibility
    companies: CompanyEligibility | None = None


# --- milestones and their measures ----------------------------------------------------


class Window(Strict):
    """'Within N weeks after X': from the anchor date to the Sunday of the N-th following ISO week."""

    after: str = Field(
        default="start",
        description="'start' (enrolment for citizens, accelerator start for companies) or a milestone id.",
    )
    weeks: int = Field(ge=1, le=520)


class Enrolment(Strict):
    """Met on the enrolment (start) date."""

    kind: Literal["enrolment"]


class OutcomeEvent(Strict):
    """A recorded outcome event of a named kind (a qualification, an assessment...)."""

    kind: Literal["outcome_event"]
    event: str = Field(min_length=1, description="The event kind recorded in histories, e.g. 'qualification'.")
    name: str | None = Field(default=None, description="Only events with this name (e.g. one qualification level).")
    window: Window | None = None


WeekPattern = Literal["consecutive", "of", "total"]


class _HoursBand(Strict):
    """Which jobs count by their weekly hours (docs/semantics.md § 4, "Hours bands").

    ``min_hours_per_week`` and ``max_hours_per_week`` are left out of the dump while unset,
    so an agreement that does not write them keeps its content hash.
    """

    min_hours_per_week: int | None = Field(
        default=None, ge=0, le=80, description="The least weekly hours of a job that counts; omitted: any paid work (hours or earnings above 0)."
    )
    max_hours_per_week: int | None = Field(
        default=None, ge=0, le=80, description="The most weekly hours of a job that counts (e.g. 29 for part-time); omitted: no upper bound."
    )

    @model_validator(mode="after")
    def _band_in_order(self):
        lo, hi = self.min_hours_per_week, self.max_hours_per_week
        if lo is not None and hi is not None and hi < lo:
            raise ValueError(
                f"max_hours_per_week {hi} is below min_hours_per_week {lo}: no job can be in that band "
                "(for part-time write e.g. min_hours_per_week: 15 and max_hours_per_week: 29)"
            )
        return self

    @model_serializer(mode="wrap")
    def _drop_unset_band(self, handler):
        data = handler(self)
        for key in ("min_hours_per_week", "max_hours_per_week"):
            if key in data and data[key] is None:
                del data[key]
        return data

    def counts_hours(self, hours, monthly_earnings) -> bool:
        """Whether a job with these weekly hours and earnings is in the band."""
        lo, hi = self.min_hours_per_week, self.max_hours_per_week
        if lo is None:
            if hours <= 0 and monthly_earnings <= 0:
                return False  # any paid work: some hours or some pay
        elif hours < lo:
            return False
        return hi is None or hours <= hi


class EmploymentWeeks(_HoursBand):
    """Weeks in work in an hours band: N consecutive, N of M, or N in total."""

    kind: Literal["employment_weeks"]
    weeks: int = Field(ge=1, le=520)
    pattern: WeekPattern = "consecutive"
    out_of: int | None = Field(default=None, ge=1, le=520, description="M in 'N of M weeks' (pattern 'of').")
    job_kinds: list[JobKind] = Field(default_factory=lambda: [JobKind.ordinary, JobKind.flexjob], min_length=1)
    partner_company_only: bool = False
    self_supporting: bool = Field(default=False, description="Each counted week must also be self-supporting.")
    window: Window | None = None


class JobStart(_HoursBand):
    """The first day of paid work in a job that starts on or after the window's start; each later job start is a further occurrence."""

    kind: Literal["job_start"]
    job_kinds: list[JobKind] = Field(default_factory=lambda: [JobKind.ordinary, JobKind.flexjob], min_length=1)
    partner_company_only: bool = False
    window: Window | None = None


class SelfSupportingWeeks(Strict):
    """Weeks off public support (no benefit code, or a code that is not public support)."""

    kind: Literal["self_supporting_weeks"]
    weeks: int = Field(ge=1, le=520)
    pattern: WeekPattern = "consecutive"
    out_of: int | None = Field(default=None, ge=1, le=520)
    window: Window | None = None


class CumulativeEarnings(Strict):
    """Earnings from work summed from the window's start reach an amount."""

    kind: Literal["cumulative_earnings"]
    amount: Money
    job_kinds: list[JobKind] = Field(default_factory=lambda: [JobKind.ordinary, JobKind.flexjob], min_length=1)
    window: Window | None = None


class StatusWeeks(Strict):
    """Weeks in a status (education, training, ...): N consecutive, N of M, or N in total."""

    kind: Literal["status_weeks"]
    status: Identifier = Field(description="A status kind the agreement declares in status_kinds.")
    weeks: int = Field(ge=1, le=520)
    pattern: WeekPattern = "consecutive"
    out_of: int | None = Field(default=None, ge=1, le=520, description="M in 'N of M weeks' (pattern 'of').")
    window: Window | None = None


class StatusMonths(Strict):
    """Calendar months in a status, each covered from its first to its last day: N in a row, or N in total."""

    kind: Literal["status_months"]
    status: Identifier = Field(description="A status kind the agreement declares in status_kinds.")
    months: int = Field(ge=1, le=120)
    pattern: Literal["consecutive", "total"] = "consecutive"
    window: Window | None = None


def _points_in_order(measure):
    """Measurement points (``at_months``) are whole months from 1, each once, in order."""
    if sorted(set(measure.at_months)) != measure.at_months or measure.at_months[0] < 1:
        raise ValueError(f"at_months {measure.at_months} must be whole months from 1, each once, in order (e.g. [6, 12, 18, 24])")
    return measure


class StatusAt(Strict):
    """In a status at fixed measurement points: so many months after the window's start, within a tolerance."""

    kind: Literal["status_at"]
    status: Identifier = Field(description="A status kind the agreement declares in status_kinds.")
    at_months: list[int] = Field(min_length=1, max_length=20, description="Measurement points in months after the start, e.g. [6, 12, 18, 24].")
    tolerance_days: int = Field(default=0, ge=0, le=92, description="Days either side of a point on which the status still counts.")
    window: Window | None = Field(default=None, description="The months are counted from the window's start (default the enrolment); points after its end do not count.")

    _points_in_order = model_validator(mode="after")(lambda self: _points_in_order(self))


class MeasurementPoints(Strict):
    """Fixed measurement points, whatever happened: met at each point (so many months after the start) the history reaches.

    The milestone a formula tariff measures by periods: occurrence k closes the k-th measurement period."""

    kind: Literal["measurement_points"]
    at_months: list[int] = Field(min_length=1, max_length=40, description="Points in months after the start, e.g. [6, 12, 18, 24].")
    window: Window | None = Field(default=None, description="The months are counted from the window's start (default the enrolment); points after its end do not count.")

    _points_in_order = model_validator(mode="after")(lambda self: _points_in_order(self))


class CourseAttendance(Strict):
    """The participant has attended at least N course sessions."""

    kind: Literal["course_attendance"]
    sessions: int = Field(ge=1, le=10000)
    window: Window | None = None


class CourseCompletion(Strict):
    """The participant completed the citizen course."""

    kind: Literal["course_completion"]
    window: Window | None = None


class FlexjobHoursIncrease(Strict):
    """A flexjob's weekly hours rise by at least X over the first flexjob week, for K weeks in a row."""

    kind: Literal["flexjob_hours_increase"]
    increase_hours: int = Field(ge=1, le=80)
    sustained_weeks: int = Field(default=1, ge=1, le=520)
    window: Window | None = None


class AcceleratorPhase(Strict):
    """The company completed a named phase of the social accelerator."""

    kind: Literal["accelerator_phase"]
    phase: str = Field(min_length=1)
    window: Window | None = None


class CompanyGrowth(Strict):
    """A company's yearly figure grows against its baseline year: by a percentage or by an amount."""

    kind: Literal["company_growth"]
    figure: Literal["revenue", "employees_fte", "target_group_employees"] = Field(
        description="Which yearly figure of the company history: revenue, full-time equivalent employees, target-group employees."
    )
    baseline: Literal["year_before_start", "year_of_start"] = Field(
        default="year_before_start", description="The baseline year: the calendar year before the accelerator start (default), or the year of the start."
    )
    increase_percent: int | None = Field(default=None, ge=1, le=1000, description="Growth in whole percent over the baseline, e.g. 10.")
    increase_by: int | None = Field(default=None, ge=1, le=10**12, description="Growth by a whole number over the baseline: employees, or currency units of revenue.")
    window: Window | None = None

    @model_validator(mode="after")
    def _one_target(self):
        if (self.increase_percent is None) == (self.increase_by is None):
            raise ValueError("give exactly one of increase_percent (e.g. 10 for +10 %) and increase_by (e.g. 2 for two more employees)")
        return self


class TargetGroupEmployees(Strict):
    """Employees from the programme's target group held: at least N in each of M periods in a row."""

    kind: Literal["target_group_employees"]
    at_least: int = Field(ge=1, le=100000, description="Target-group employees in a period.")
    periods: int = Field(default=1, ge=1, le=40, description="Periods in a row (quarters if the history gives quarters, else years).")
    window: Window | None = None


DEFAULT_HIRE_MIN_HOURS = 1


class _HireTerms(Strict):
    """What makes a hire count (docs/semantics.md § 5, "Hires verified").

    ``min_hours_per_week`` and ``rehire_pays`` are left out of the dump while unset, so an
    agreement that does not write them keeps its content hash and its fingerprints.
    """

    min_hours_per_week: int | None = Field(
        default=None,
        ge=0,
        le=80,
        description=f"Hours a week the participant's job with the company must have on the hire date (default {DEFAULT_HIRE_MIN_HOURS}).",
    )
    rehire_pays: StrictBool | None = Field(
        default=None, description="Whether a later hire of the same participant by the same company pays again (default false)."
    )

    @model_serializer(mode="wrap")
    def _drop_unset_terms(self, handler):
        data = handler(self)
        for key in ("min_hours_per_week", "rehire_pays"):
            if data.get(key, 0) is None:
                del data[key]
        return data

    @property
    def hours_required(self) -> int:
        return DEFAULT_HIRE_MIN_HOURS if self.min_hours_per_week is None else self.min_hours_per_week

    @property
    def rehires_pay(self) -> bool:
        return bool(self.rehire_pays)


class CompanyHire(_HireTerms):
    """The company hires a participant who is eligible under this agreement, shown by paid work in the participant's history."""

    kind: Literal["hire"]
    window: Window | None = None


class HireRetained(_HireTerms):
    """A verified hire of an eligible participant is still in place N weeks after the hire date."""

    kind: Literal["hire_retained"]
    weeks: int = Field(ge=1, le=520)
    window: Window | None = None


CITIZEN_MEASURES = (
    "enrolment",
    "outcome_event",
    "employment_weeks",
    "job_start",
    "status_weeks",
    "status_months",
    "status_at",
    "measurement_points",
    "self_supporting_weeks",
    "cumulative_earnings",
    "course_attendance",
    "course_completion",
    "flexjob_hours_increase",
    "any_of",
    "all_of",
)
COMPANY_MEASURES = ("enrolment", "accelerator_phase", "hire", "hire_retained", "company_growth", "target_group_employees")
COMBINED_MEASURES = ("any_of", "all_of")

_SIMPLE_MEASURES = (
    Enrolment,
    OutcomeEvent,
    EmploymentWeeks,
    JobStart,
    StatusWeeks,
    StatusMonths,
    StatusAt,
    MeasurementPoints,
    SelfSupportingWeeks,
    CumulativeEarnings,
    CourseAttendance,
    CourseCompletion,
    FlexjobHoursIncrease,
    AcceleratorPhase,
    CompanyHire,
    HireRetained,
    CompanyGrowth,
    TargetGroupEmployees,
)
SimpleMeasure = Annotated[Union[_SIMPLE_MEASURES], Field(discriminator="kind")]  # any measure but any_of/all_of


class AnyOf(Strict):
    """Either-or: met whenever any one of the measures is met (each of their occurrences, in date order)."""

    kind: Literal["any_of"]
    measures: list[SimpleMeasure] = Field(min_length=2, max_length=8, description="Two to eight citizen measures.")


class AllOf(Strict):
    """All of them: the k-th occurrence is met on the day the last of the measures has its k-th occurrence."""

    kind: Literal["all_of"]
    measures: list[SimpleMeasure] = Field(min_length=2, max_length=8, description="Two to eight citizen measures.")


Measure = Annotated[Union[_SIMPLE_MEASURES + (AnyOf, AllOf)], Field(discriminator="kind")]


def measure_window(measure) -> Window | None:
    """The window a measure's occurrences are counted in; for any_of/all_of, their measures' common
    window anchor (the loader checks they share one), as the window of the first that has one."""
    if isinstance(measure, (AnyOf, AllOf)):
        return next((m.window for m in measure.measures if getattr(m, "window", None) is not None), None)
    return getattr(measure, "window", None)


class Repeat(Strict):
    """A repeatable milestone: each further block of the measure pays again, at most ``max_times`` times."""

    max_times: int = Field(ge=2, le=520)


class MilestoneDefinition(Strict):
    """What must happen for a milestone to be met (the part an amendment can replace)."""

    measure: Measure
    prerequisites: list[str] = Field(default_factory=list, description="Milestones that must be met first.")
    repeat: Repeat | None = Field(default=None, description="Omitted = once only (the first occurrence pays).")


class Milestone(Strict):
    """An outcome the agreement pays for, in the agreement's words, with its clause."""

    side: Side
    description: Label = Field(min_length=1, description="One-line label.")
    documentation: Prose | None = Field(default=None, description="Prose for lawyers and managers.")
    reference: Reference
    measure: Measure
    prerequisites: list[str] = Field(default_factory=list)
    repeat: Repeat | None = None
    amendments: dict[ISODate, DatedEntry[MilestoneDefinition]] = Field(
        default_factory=dict,
        description="Dated replacements of the definition; value null withdraws the milestone from that date.",
    )

    def versions(self) -> list[tuple[date | None, MilestoneDefinition | None, str]]:
        """The definition's versions in date order: (effective from, definition or None if withdrawn, clause).

        The first version, from the contract itself, has no date (it holds from the start).
        """
        base = MilestoneDefinition(measure=self.measure, prerequisites=self.prerequisites, repeat=self.repeat)
        out: list[tuple[date | None, MilestoneDefinition | None, str]] = [(None, base, self.reference)]
        for day in sorted(self.amendments):
            entry = self.amendments[day]
            out.append((day, entry.value, entry.reference))
        return out


# --- money: tariffs, payment terms, caps ----------------------------------------------

DatedMoney = dict[ISODate, DatedEntry[Money]]


class VolumeTier(Strict):
    """From the (after_outcomes + 1)-th outcome of this milestone in the cohort, the tariff becomes ``amount``."""

    after_outcomes: int = Field(ge=1)
    amount: DatedMoney
    reference: Reference


class PayerShare(Strict):
    party: str
    share: Share


PricingDate = Literal["trigger", "enrolment", "referral"]

FormulaUnit = Literal["money", "rate", "count", "weeks", "money_per_week", "money_per_count"]


class FormulaParameter(Strict):
    """A named value a formula reads: its unit, and its values effective-dated with their clauses."""

    unit: FormulaUnit = Field(description="money, rate (a plain number such as a share), count, weeks, money_per_week or money_per_count.")
    description: Label | None = None
    values: dict[ISODate, DatedEntry[Quantity]] = Field(min_length=1, description="{effective date: {value, reference}}; read on the pricing date.")


class FormulaTariff(_OmitUnset):
    """A payment computed from measured results (docs/semantics.md § 10): e.g. 'share * savings' or 'price * goals_met'."""

    _omit_when_unset: ClassVar[tuple[str, ...]] = ("floor", "cap", "documentation", "basis")

    expression: str = Field(min_length=1, max_length=500, description="The formula, e.g. 'share * max(savings + tax_rate * earnings, 0)'.")
    reference: Reference
    parameters: dict[Identifier, FormulaParameter] = Field(default_factory=dict, description="The named values the formula reads besides the measured ones.")
    goals: list[Identifier] = Field(default_factory=list, description="The milestones 'goals_met' counts (their occurrences met in the measurement period).")
    basis: Literal["participant", "cohort"] | None = Field(
        default=None,
        description=(
            "participant (default): each occurrence pays its own result, within the floor and cap, never below 0. cohort: the results "
            "of the cohort's k-th occurrences are netted (a negative result offsets the others), the floor and cap apply to that sum, and "
            "settlement shares it out over the positive results."
        ),
    )
    floor: DatedMoney | None = Field(default=None, description="The least paid for one occurrence (with basis cohort: for the cohort's k-th occurrences together); read on the pricing date.")
    cap: DatedMoney | None = Field(default=None, description="The most paid for one occurrence (with basis cohort: for the cohort's k-th occurrences together); read on the pricing date.")
    documentation: Prose | None = None


class Tariff(_OmitUnset):
    """The price of a milestone, by target group ('all' for everyone not listed), effective-dated."""

    _omit_when_unset: ClassVar[tuple[str, ...]] = ("pricing_date", "max_total", "formula")

    reference: Reference
    amounts: dict[str, DatedMoney] = Field(
        default_factory=dict,
        description="Keys: 'all' or a target group; values: {effective date: {value, reference}}. Omitted for a formula tariff.",
    )
    payers: list[PayerShare] | None = Field(default=None, description="Overrides the agreement's payer split.")
    payee: str | None = Field(default=None, description="Overrides the agreement's payee for this side.")
    volume_tiers: list[VolumeTier] = Field(default_factory=list)
    pricing_date: PricingDate | None = Field(
        default=None,
        description=(
            "Which day's prices apply: 'trigger' (the day the outcome is met), 'enrolment' (the participant's enrolment, "
            "a company's accelerator start) or 'referral' (the participant's referral). Default: the payment terms' pricing_date."
        ),
    )
    max_total: DatedMoney | None = Field(
        default=None,
        description="The most paid for this milestone to one participant (company), all its occurrences together; read on the pricing date.",
    )
    formula: FormulaTariff | None = Field(default=None, description="A payment computed from measured results, instead of amounts.")

    @model_validator(mode="after")
    def _amounts_or_formula(self):
        if self.formula is None and not self.amounts:
            raise ValueError("a tariff needs amounts (a fixed price per target group) or a formula")
        if self.formula is not None and self.amounts:
            raise ValueError("a tariff has either amounts or a formula, not both: drop one")
        if self.formula is not None and self.volume_tiers:
            raise ValueError("volume_tiers change fixed amounts; a formula tariff has none (put the tiering in the formula)")
        return self


class ClaimLag(Strict):
    """A claim may be made only this many days after the outcome is met."""

    days: int = Field(ge=0, le=365)
    kind: Literal["calendar", "working"] = "calendar"
    reference: Reference


class PaymentTerms(_OmitUnset):
    """Who pays, who receives, and when a claim falls due."""

    _omit_when_unset: ClassVar[tuple[str, ...]] = ("pricing_date",)

    reference: Reference
    payers: list[PayerShare] = Field(min_length=1)
    citizen_payee: str
    company_payee: str | None = None
    claim_lag: ClaimLag
    pricing_date: PricingDate | None = Field(
        default=None,
        description="Which day's tariffs apply to every tariff that does not say: 'trigger' (default), 'enrolment' or 'referral'.",
    )

    @property
    def priced_on(self) -> str:
        return self.pricing_date or "trigger"


class Caps(Strict):
    """Ceilings on payments, each effective-dated with its clause."""

    per_participant: DatedMoney | None = None
    per_company: DatedMoney | None = None
    per_milestone: dict[str, DatedMoney] = Field(default_factory=dict)
    per_payer: dict[str, DatedMoney] = Field(default_factory=dict)
    per_contract: DatedMoney | None = None


# --- the business case: course costs, counterfactual, investor terms --------------------


class CourseCost(Strict):
    """What a course costs and who pays for it (the other side of the business case)."""

    side: Side = Field(description="citizen: the citizen course; company: the social accelerator.")
    description: Label = Field(min_length=1)
    reference: Reference
    basis: Literal["fixed", "per_participant", "per_company"] = Field(
        description="fixed: once for the programme; per_participant: each enrolled citizen; per_company: each company started."
    )
    amount: DatedMoney = Field(description="The cost in force on the day it starts (enrolment, accelerator start, or 'starts').")
    starts: ISODate | None = Field(default=None, description="For a fixed cost: the day it starts (default: the term start).")
    spread_months: int = Field(default=1, ge=1, le=120, description="Paid in equal monthly instalments from its start (1 = at once).")
    payer: str = Field(description="The party that carries the cost (a provider paid by results carries its own course).")


class Counterfactual(_OmitUnset):
    """What would have happened without the programme: the yardstick of the municipality's savings."""

    _omit_when_unset: ClassVar[tuple[str, ...]] = ("cohort", "sha256")

    method: Literal["baseline", "comparison_group", "deadweight"] = Field(
        description=(
            "baseline: each participant stays on benefits at their own pre-enrolment rate; "
            "comparison_group: the benefit weeks of a comparison group's histories; "
            "deadweight: the participant stays on benefit, less a share that would have happened anyway."
        )
    )
    baseline_weeks: int = Field(default=52, ge=4, le=520, description="Weeks before enrolment that give the baseline rate.")
    cohort: str | None = Field(
        default=None,
        description="For 'comparison_group': the relative path of the comparison group's histories (a cohort file), used when none are given on the command line, and by formula tariffs.",
    )
    sha256: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{64}$",
        description="The sha256 of the cohort file as agreed: a comparison group that changed afterwards is refused.",
    )
    deadweight: Share | None = Field(default=None, description="For 'deadweight': the share of the benefit weeks avoided that would have been avoided anyway.")
    reference: Reference


class Projection(Strict):
    """How savings are projected past the as-of date (docs/business-case.md, "Projected savings")."""

    reference: Reference
    years_from_enrolment: int = Field(
        ge=1, le=20, description="The horizon: savings are projected to this many years after each participant's enrolment."
    )
    persistence: dict[str, Share] = Field(
        min_length=1,
        description=(
            "The persistence assumption per outcome: by the first listed milestone a participant has met "
            "('otherwise': none of them), the share of their recent weekly saving that is still there a year later."
        ),
    )
    recent_weeks: int = Field(
        default=13, ge=1, le=52, description="The last weeks before the savings stop being counted whose average weekly saving is projected."
    )
    documentation: Prose | None = Field(default=None, description="Why these shares: the evidence for the assumption.")


DEFAULT_DISCOUNT_RATE = "0.04"


class Discounting(Strict):
    """How the business case discounts its flows to the term start (docs/business-case.md, "Discounting")."""

    convention: Literal["act365_from_term_start", "per_period", "annual_compounding"] = Field(
        description=(
            "act365_from_term_start: each flow by its actual days from the term start / 365; per_period: by whole months "
            "from the term start's month at the annual rate / 12 a month; annual_compounding: by whole years from the term start."
        )
    )
    rate: Share = Field(description="The annual discount rate, e.g. '0.04'.")
    reference: Reference
    documentation: Prose | None = None


class BusinessCase(_OmitUnset):
    """How the municipality's business case is judged (docs/business-case.md)."""

    _omit_when_unset: ClassVar[tuple[str, ...]] = ("discounting",)

    reference: Reference
    benefit_rates: str = Field(description="Relative path of the benefit-rate table (kind: benefit_rates).")
    counterfactual: Counterfactual
    savings_weeks: int = Field(default=104, ge=1, le=520, description="Weeks after the enrolment week in which savings are counted.")
    weeks_on_benefit_before_history: int = Field(
        default=52,
        ge=0,
        le=520,
        description="For the refund staircase: weeks on benefit assumed before the first week a history covers.",
    )
    projection: Projection | None = Field(
        default=None, description="Savings projected past the as-of date, shown apart from the savings realised to date."
    )
    discounting: Discounting | None = Field(
        default=None, description="The discounting convention and rate of the NPV (default: ACT/365 from the term start at the rate asked for, 4 %)."
    )


class InvestorTerms(Strict):
    """A social-impact-bond view: investors pre-finance the course costs and are repaid from outcome payments."""

    reference: Reference
    finances: list[Literal["citizen", "company"]] = Field(min_length=1, description="Which course costs the investors pre-finance.")
    repaid_from: list[str] = Field(min_length=1, description="Payers whose outcome payments flow to the investors.")
    return_cap: Share = Field(description="Most the investors may earn on top of their principal, as a share of it (e.g. '0.3').")
    documentation: Prose | None = None


class ExclusiveGroup(Strict):
    """Milestones of which only one pays per participant (or company), e.g. a job outcome or an education outcome."""

    milestones: list[Identifier] = Field(min_length=2, description="The milestones of the group, all on one side.")
    pays: Literal["first_met", "highest_tariff"] = Field(
        description=(
            "Which one pays: 'first_met' the milestone met first (same day: the one listed first); 'highest_tariff' "
            "the met milestone whose first occurrence's tariff is highest (equal: the one met first, then listed first)."
        )
    )
    reference: Reference
    documentation: Prose | None = None


# --- the agreement --------------------------------------------------------------------


class Contract(Strict):
    """A municipal PbR agreement, after its template (if any) is merged in."""

    kind: Literal["agreement"]
    id: Identifier
    title: Label = Field(min_length=1)
    description: Label | None = None
    documentation: Prose | None = None
    illustrative: bool = Field(
        description="True for an illustrative example, not a signed agreement: figures are not real."
    )
    programme: str | None = Field(default=None, description="The programme this agreement belongs to.")
    jurisdiction: Jurisdiction | None = Field(
        default=None,
        description="Where the agreement applies: its working-day calendar and its vocabulary. Omitted = Denmark ({country: DK}).",
    )
    benefit_codes: str = Field(
        description="Relative path of the jurisdiction's benefit-code file; its target groups and areas are in vocabulary.yaml beside it."
    )
    municipality: Municipality
    parties: dict[Identifier, Party] = Field(min_length=1)
    signed: ISODate
    term: Term
    currency: str = Field(
        default="DKK",
        pattern=r"^[A-Z]{3}$",
        description=(
            "The ISO 4217 code of the currency every amount of the agreement is in (default DKK): legal tender on the "
            "signing date, with two minor units (JPY, ISK and other currencies without or with three are refused)."
        ),
    )
    language: Literal["da", "en"] = Field(
        default="en",
        description="The language of the documents and reports made from this agreement: 'da' Danish, 'en' English.",
    )
    version: str = Field(min_length=1)
    eligibility: Eligibility
    milestones: dict[Identifier, Milestone] = Field(min_length=1)
    status_kinds: dict[Identifier, Label] = Field(
        default_factory=dict, description="The status kinds histories may carry that the agreement's measures use, each with its meaning."
    )
    exclusive: dict[Identifier, ExclusiveGroup] = Field(
        default_factory=dict, description="Groups of mutually exclusive milestones: only one of a group pays per subject."
    )
    tariffs: dict[str, Tariff] = Field(default_factory=dict)
    payment: PaymentTerms
    caps: Caps = Field(default_factory=Caps)
    costs: dict[Identifier, CourseCost] = Field(default_factory=dict, description="Course costs on both sides.")
    business_case: BusinessCase | None = None
    investor: InvestorTerms | None = None

    @model_serializer(mode="wrap")
    def _drop_unset(self, handler):
        # An agreement that does not name its jurisdiction (Denmark), exclusive groups or status
        # kinds dumps as before: its content hash is unchanged.
        data = handler(self)
        if data.get("jurisdiction", 0) is None:
            del data["jurisdiction"]
        for key in ("exclusive", "status_kinds"):
            if data.get(key, None) == {}:
                del data[key]
        return data

    @property
    def effective_jurisdiction(self) -> Jurisdiction:
        """The jurisdiction, Denmark when the agreement does not name one."""
        return self.jurisdiction or DENMARK

    @property
    def calendar(self) -> Calendar:
        """The working-day calendar of the agreement's jurisdiction (claim lags in working days)."""
        return self.effective_jurisdiction.calendar
