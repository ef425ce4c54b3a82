"""Participant and company histories: what happened, week by week and event by event.

A participant history holds one benefit code per ISO week (as in the DREAM register;
a week with no code is self-supporting), employment spells with hours and earnings,
course and outcome events, and exits. ``problems()`` lists everything impossible in a
history at once (the loader turns each into a diagnostic with a line number).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, StrictBool, StrictInt, field_validator

from pbr_rules.models.common import Identifier, ISODate, NonNegativeMoney, NonNegativeNumber, Strict, Text, omitted_when_empty, omitted_when_none
from pbr_rules.models.contract import JobKind, SizeBand
from pbr_rules.models.vocabulary import AREA_CODE_PATTERN, Known, nearest_codes
from pbr_rules.periods import format_iso_week, parse_week_range, week_index
from pbr_rules.personal_data import refuse_cpr

SUBJECT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$"

# Length limits of the free-text fields (also in the JSON Schemas as maxLength).
CODE_MAX = 64
NAME_MAX = 200
EVIDENCE_MAX = 500

__all__ = ["SUBJECT_ID_PATTERN", "refuse_cpr"]


class BenefitWeeks(Strict):
    """One benefit code for a run of ISO weeks, e.g. ``{weeks: 2019-W01..2019-W40, code: kontanthjaelp}``."""

    weeks: str = Field(max_length=32, description="An ISO week 'YYYY-Www' or an inclusive range 'YYYY-Www..YYYY-Www'.")
    code: Text(CODE_MAX)

    @field_validator("weeks")
    @classmethod
    def _weeks_parse(cls, value: str) -> str:
        parse_week_range(value)
        return value

    def week_range(self) -> tuple[int, int]:
        return parse_week_range(self.weeks)


class EmploymentSpell(Strict):
    """A job: from ``start`` to ``end`` (both included; no end = still in the job when extracted)."""

    start: ISODate
    end: ISODate | None = None
    hours_per_week: NonNegativeNumber = Field(ge=0, le=80, max_digits=5, decimal_places=2, description="A JSON number of 0 to 80.")
    monthly_earnings: NonNegativeMoney
    employer: Text(NAME_MAX, description="The employer's name, or, for a company of the social accelerator, its company id exactly as in the company history (which verifies a hire); no personal numbers.")
    partner_company: StrictBool = False
    kind: JobKind = JobKind.ordinary


class CourseEvent(Strict):
    """Attendance (with a number of sessions), completion or drop-out of the citizen course."""

    date: ISODate
    kind: Literal["attendance", "completion", "drop_out"]
    sessions: StrictInt | None = Field(default=None, ge=1, le=1000, description="Sessions attended (attendance only).")


class OutcomeEventRecord(Strict):
    """A recorded outcome: a qualification, an assessment..."""

    date: ISODate
    kind: Text(CODE_MAX)
    name: Text(NAME_MAX) | None = None
    evidence: Text(EVIDENCE_MAX) | None = Field(default=None, description="Where the evidence is kept, e.g. a document id.")


class StatusSpell(Strict):
    """A spell in a status of a kind the agreement declares (education, training, volunteering, tenancy, ...)."""

    kind: Text(CODE_MAX, description="The status kind, e.g. 'education'; the agreement's status_kinds say which count.")
    start: ISODate
    end: ISODate | None = Field(default=None, description="Last day in the status (included); none = still in it when extracted.")
    source: Text(EVIDENCE_MAX) | None = Field(default=None, description="Where it is recorded, e.g. a register or document id.")


class Exit(Strict):
    """The participant left the programme; nothing after this date counts."""

    date: ISODate
    reason: Literal["moved_away", "died", "withdrew_consent"]


class ParticipantHistory(Strict):
    kind: Literal["participant"] = "participant"
    participant: str = Field(pattern=SUBJECT_ID_PATTERN, description="Pseudonymous id; never a CPR number.")
    municipality: str = Field(pattern=AREA_CODE_PATTERN, description="The area code (kommunekode) in the agreement's vocabulary, e.g. '101'.")
    birth_date: ISODate | None = None
    age_at_enrolment: StrictInt | None = Field(default=None, ge=0, le=130)
    target_group: Identifier = Field(description="A target group of the agreement's vocabulary, e.g. 'cash_benefit'.")
    benefit_at_enrolment: Text(CODE_MAX) | None = None
    resident: StrictBool = Field(
        default=True,
        description=(
            "Resident in the municipality at enrolment. Not given: true, as for the municipality's own citizen in its jobcenter's "
            "registers, and the explanation says it was not stated (docs/semantics.md § 2)."
        ),
    )
    # referred, statuses, figures: added after the first version of histories, so left out of
    # dumps while unset: a history without them dumps (and hashes) as before
    referred: ISODate | None = Field(
        default=None,
        exclude_if=omitted_when_none,
        description="The day the participant was referred to the programme (on or before the enrolment); needed when the agreement prices by referral date.",
    )
    enrolment: ISODate
    extracted: ISODate = Field(description="The date the history was extracted from the registers.")
    course: list[CourseEvent] = Field(default_factory=list)
    events: list[OutcomeEventRecord] = Field(default_factory=list)
    benefits: list[BenefitWeeks] = Field(default_factory=list)
    employment: list[EmploymentSpell] = Field(default_factory=list)
    exits: list[Exit] = Field(default_factory=list)
    statuses: list[StatusSpell] = Field(default_factory=list, exclude_if=omitted_when_empty, description="Spells in other statuses: education, training, tenancy, ...")

    _refuse_cpr = field_validator("participant", mode="before")(lambda cls, v: refuse_cpr(v))

    def age_on(self, day) -> int:
        if self.age_at_enrolment is not None:
            return self.age_at_enrolment
        b = self.birth_date
        return day.year - b.year - ((day.month, day.day) < (b.month, b.day))

    def problems(self, known: Known | set[str] | frozenset[str] | None = None) -> list[tuple[tuple, str]]:
        """Everything impossible in this history, as (path, message) pairs.

        ``known``: the words of the agreement's vocabulary (or a set of benefit codes alone);
        a benefit code, target group or area outside them is a problem.
        """
        out: list[tuple[tuple, str]] = []
        known = Known.of(known)
        known_codes = known.benefit_codes if known is not None else None
        if known is not None:
            out.extend(vocabulary_problems(self, known))
        if (self.birth_date is None) == (self.age_at_enrolment is None):
            out.append((("birth_date",), "give exactly one of birth_date and age_at_enrolment"))
        if self.extracted < self.enrolment:
            out.append((("extracted",), f"extracted {self.extracted} is before the enrolment {self.enrolment}"))
        if self.birth_date is not None and self.enrolment < self.birth_date:
            out.append((("enrolment",), f"enrolment {self.enrolment} is before birth {self.birth_date}"))
        if self.referred is not None:
            if self.referred > self.enrolment:
                out.append((("referred",), f"referral {self.referred} is after the enrolment {self.enrolment}; a participant is referred on or before enrolment"))
            if self.birth_date is not None and self.referred < self.birth_date:
                out.append((("referred",), f"referral {self.referred} is before birth {self.birth_date}"))

        def check_day(path, day, what):
            if self.birth_date is not None and day < self.birth_date:
                out.append((path, f"{what} {day} is before birth {self.birth_date}"))
            if day > self.extracted:
                out.append((path, f"{what} {day} is after the extraction date {self.extracted}"))

        for i, ev in enumerate(self.course):
            check_day(("course", i, "date"), ev.date, "course event")
            if ev.kind == "attendance" and ev.sessions is None:
                out.append((("course", i, "sessions"), "an attendance event needs the number of sessions attended"))
            if ev.kind != "attendance" and ev.sessions is not None:
                out.append((("course", i, "sessions"), f"sessions belong to attendance events, not {ev.kind}"))
            if ev.date < self.enrolment:
                out.append((("course", i, "date"), f"course event {ev.date} is before enrolment {self.enrolment}"))
        for i, ev in enumerate(self.events):
            check_day(("events", i, "date"), ev.date, "event")
        for i, ex in enumerate(self.exits):
            check_day(("exits", i, "date"), ex.date, "exit")
            if ex.date < self.enrolment:
                out.append((("exits", i, "date"), f"exit {ex.date} ({ex.reason}) is before the enrolment {self.enrolment}: a participant exits after enrolling"))
        for i, st in enumerate(self.statuses):
            check_day(("statuses", i, "start"), st.start, f"{st.kind} start")
            if st.end is not None and st.end < st.start:
                out.append((("statuses", i, "end"), f"the {st.kind} spell ends ({st.end}) before it starts ({st.start})"))
            if st.end is not None and st.end > self.extracted:
                out.append((("statuses", i, "end"), f"end {st.end} is after the extraction date {self.extracted}"))
        if len(self.exits) > 1:
            out.append((("exits", 1), "a participant exits at most once; keep the first exit"))

        seen: dict[int, int] = {}
        last_week = week_index(self.extracted)
        for i, spell in enumerate(self.benefits):
            a, b = spell.week_range()
            if known_codes is not None and spell.code not in known_codes:
                out.append((("benefits", i, "code"), _unknown_code(spell.code, known_codes)))
            if b > last_week:
                out.append(
                    (("benefits", i, "weeks"), f"week {format_iso_week(b)} is after the extraction date {self.extracted}")
                )
            for w in range(a, b + 1):
                if w in seen:
                    out.append(
                        (
                            ("benefits", i, "weeks"),
                            f"week {format_iso_week(w)} is given twice (also in benefits[{seen[w]}])",
                        )
                    )
                    break
                seen[w] = i
        if known_codes is not None and self.benefit_at_enrolment is not None:
            if self.benefit_at_enrolment not in known_codes:
                out.append((("benefit_at_enrolment",), _unknown_code(self.benefit_at_enrolment, known_codes)))

        spells = sorted(enumerate(self.employment), key=lambda p: (p[1].start, p[0]))
        for i, sp in enumerate(self.employment):
            if sp.end is not None and sp.end < sp.start:
                out.append((("employment", i, "end"), f"the spell ends ({sp.end}) before it starts ({sp.start})"))
            check_day(("employment", i, "start"), sp.start, "employment start")
            if sp.end is not None and sp.end > self.extracted:
                out.append((("employment", i, "end"), f"end {sp.end} is after the extraction date {self.extracted}"))
        reach = None  # the spell that runs latest so far: a long spell can overlap several later ones
        for j, b in spells:
            if reach is not None:
                i, a = reach
                if b.start <= (a.end or self.extracted):
                    out.append(
                        (
                            ("employment", j, "start"),
                            f"this spell ({b.start}) overlaps employment[{i}] ({a.start} to {a.end or 'ongoing'}); "
                            "spells must not overlap",
                        )
                    )
            if reach is None or (b.end or self.extracted) > (reach[1].end or self.extracted):
                reach = (j, b)
        return out


class AcceleratorPhaseRecord(Strict):
    phase: Text(CODE_MAX)
    completed: ISODate


class CompanyFigures(Strict):
    """A company's figures for one year ('2020') or quarter ('2020-Q3'), with where they come from."""

    period: str = Field(pattern=r"^(19|20|21)\d{2}(-Q[1-4])?$", description="A year 'YYYY' (1900 to 2199) or a quarter 'YYYY-Qn'.")
    revenue: NonNegativeMoney | None = Field(default=None, description="Revenue in the period, in the agreement's currency.")
    employees_fte: NonNegativeNumber | None = Field(
        default=None, ge=0, le=100000, max_digits=9, decimal_places=2, description="Full-time equivalent employees (a JSON number)."
    )
    target_group_employees: StrictInt | None = Field(default=None, ge=0, le=100000, description="Employees from the programme's target group.")
    source: Text(EVIDENCE_MAX, description="Where the figures come from, e.g. 'annual report 2020 (CVR)' or 'eIndkomst 2020-Q3'.")

    def last_day(self) -> date:
        """The period's last day: 31 December, or the quarter's last day."""
        year = int(self.period[:4])
        if len(self.period) == 4:
            return date(year, 12, 31)
        q = int(self.period[-1])
        return date(year, 3 * q, 31 if q in (1, 4) else 30)


class HireRecord(Strict):
    """The company hired a programme participant."""

    participant: str = Field(pattern=SUBJECT_ID_PATTERN)
    date: ISODate
    end: ISODate | None = Field(default=None, description="Last day of employment; none = still employed.")

    _refuse_cpr = field_validator("participant", mode="before")(lambda cls, v: refuse_cpr(v))


class CompanyHistory(Strict):
    kind: Literal["company"] = "company"
    company: str = Field(pattern=SUBJECT_ID_PATTERN, description="Company id (e.g. a CVR-based pseudonym); never a CPR number.")

    _refuse_cpr = field_validator("company", mode="before")(lambda cls, v: refuse_cpr(v))
    municipality: str = Field(pattern=AREA_CODE_PATTERN, description="The area code (kommunekode) in the agreement's vocabulary, e.g. '101'.")
    size_band: SizeBand
    partner: StrictBool = Field(description="A partner company of the programme.")
    start: ISODate = Field(description="The date the company started the social accelerator.")
    extracted: ISODate
    phases: list[AcceleratorPhaseRecord] = Field(default_factory=list)
    hires: list[HireRecord] = Field(default_factory=list)
    figures: list[CompanyFigures] = Field(default_factory=list, exclude_if=omitted_when_empty, description="Yearly or quarterly figures: revenue, employees, target-group employees.")

    def problems(self, known: Known | set[str] | frozenset[str] | None = None) -> list[tuple[tuple, str]]:
        out: list[tuple[tuple, str]] = []
        periods: dict[str, int] = {}
        for i, f in enumerate(self.figures):
            first = periods.setdefault(f.period, i)
            if first != i:
                out.append((("figures", i, "period"), f"figures for {f.period} are given twice (also figures[{first}])"))
            if f.last_day() > self.extracted:
                out.append((("figures", i, "period"), f"period {f.period} ends {f.last_day()}, after the extraction date {self.extracted}"))
        known = Known.of(known)
        if known is not None:
            out.extend(vocabulary_problems(self, known))
        if self.extracted < self.start:
            out.append((("extracted",), f"extracted {self.extracted} is before the accelerator start {self.start}"))
        for i, ph in enumerate(self.phases):
            if ph.completed > self.extracted:
                out.append((("phases", i, "completed"), f"{ph.completed} is after the extraction date {self.extracted}"))
            if ph.completed < self.start:
                out.append((("phases", i, "completed"), f"{ph.completed} is before the accelerator start {self.start}"))
        seen: dict[tuple, int] = {}
        by_participant: dict[str, list[int]] = {}
        for i, h in enumerate(self.hires):
            first = seen.setdefault((h.participant, h.date), i)
            if first != i:
                out.append((("hires", i), f"the hire of '{h.participant}' on {h.date} is given twice (also hires[{first}])"))
            else:
                for j in by_participant.get(h.participant, ()):
                    if hires_overlap(self.hires[j], h):
                        out.append((("hires", i), f"{describe_hire(h)} overlaps hires[{j}] ({describe_hire(self.hires[j])}); a person holds one hire at a time"))
                        break
                by_participant.setdefault(h.participant, []).append(i)
            if h.date > self.extracted:
                out.append((("hires", i, "date"), f"hire {h.date} is after the extraction date {self.extracted}"))
            if h.end is not None and h.end < h.date:
                out.append((("hires", i, "end"), f"the hire ends ({h.end}) before it starts ({h.date})"))
            if h.end is not None and h.end > self.extracted:
                out.append((("hires", i, "end"), f"end {h.end} is after the extraction date {self.extracted}"))
        return out


def hires_overlap(a: HireRecord, b: HireRecord) -> bool:
    """Two hires overlap when some day lies in both (a hire without an end runs on)."""
    return a.date <= (b.end or date.max) and b.date <= (a.end or date.max)


def describe_hire(h: HireRecord) -> str:
    return f"the hire of '{h.participant}' from {h.date} to {h.end or 'ongoing'}"


def vocabulary_problems(h: "ParticipantHistory | CompanyHistory", known: Known) -> list[tuple[tuple, str]]:
    """The target group and area of a history that its agreement's vocabulary does not know.

    (Benefit codes are checked week by week in ``ParticipantHistory.problems``.)
    """
    out: list[tuple[tuple, str]] = []
    if known.areas is not None and h.municipality not in known.areas:
        near = nearest_codes(h.municipality, known.areas)
        if near:
            out.append((("municipality",), f"unknown area (municipality) code '{h.municipality}'; did you mean {' or '.join(repr(c) for c in near)}?"))
        else:
            out.append((("municipality",), _unknown("area (municipality) code", h.municipality, known.areas, "known areas")))
    group = getattr(h, "target_group", None)
    if known.target_groups is not None and group is not None and group not in known.target_groups:
        out.append((("target_group",), _unknown("target group", group, known.target_groups, "known target groups")))
    return out


def _unknown_code(code: str, known: set[str] | frozenset[str]) -> str:
    return _unknown("benefit code", code, known, "known codes")


def _unknown(what: str, value: str, known: set[str] | frozenset[str], label: str) -> str:
    """"unknown benefit code 'x'; did you mean 'y'?", or the known values when none is near (at most 20 shown)."""
    from difflib import get_close_matches

    near = get_close_matches(value, sorted(known), n=1)
    if near:
        return f"unknown {what} '{value}'; did you mean '{near[0]}'?"
    shown = sorted(known)
    more = f" and {len(shown) - 20} more" if len(shown) > 20 else ""
    return f"unknown {what} '{value}'; {label}: {', '.join(shown[:20])}{more}"
