"""The agreement as a readable document, generated entirely from the merged YAML.

Owns the use case "show a lawyer or a contract manager what this agreement says": title,
parties, term, eligibility in plain sentences, each milestone in plain language with its
clause, amendments and tariff table, payer split, payee, claim lag and caps. Every clause
reference in the contract appears in the document. Two formats, from one outline:
Markdown (``md``) and a self-contained HTML page (``html``, inline CSS with a print
stylesheet; every piece of text from the contract is escaped). Same contract, same bytes.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pbr_rules.language import LoadedContract
from pbr_rules.lawyers.diff import definition_changes, group_label
from pbr_rules.models.common import DatedEntry
from pbr_rules.models.vocabulary import Vocabulary
from pbr_rules.models.contract import (
    AcceleratorPhase,
    AllOf,
    AnyOf,
    CompanyGrowth,
    CompanyHire,
    Contract,
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
)
from pbr_rules.i18n import N_, _, current_language, format_date, format_money

Format = Literal["md", "html"]

ILLUSTRATIVE_NOTICE = N_("ILLUSTRATIVE EXAMPLE: this is not a signed agreement, and its figures are not real.")

# Party roles and company size bands as a reader sees them (the English are the ids, spaced).
ROLE_NAMES = {
    "outcome_payer": N_("outcome payer"),
    "fund": N_("fund"),
    "citizen_course_provider": N_("citizen course provider"),
    "accelerator_operator": N_("accelerator operator"),
    "investor": N_("investor"),
}
SIZE_BANDS = (N_("micro"), N_("small"), N_("medium"))
# Headings of the terms listed key by key (see _other_terms).
OTHER_TERMS = {"costs": N_("Costs"), "business_case": N_("Business case"), "investor": N_("Investor")}


# --- plain-language sentences -------------------------------------------------------------


def window_phrase(window: Window | None) -> str:
    if window is None:
        return ""
    if window.after == "start":
        return _(", within {weeks} weeks after the start").format(weeks=window.weeks)
    return _(", within {weeks} weeks after milestone {milestone} is first met").format(weeks=window.weeks, milestone=window.after)


def _weeks_phrase(weeks: int, pattern: str, out_of: int | None) -> str:
    if pattern == "of":
        return _("in {weeks} of any {out_of} consecutive weeks").format(weeks=weeks, out_of=out_of)
    if pattern == "total":
        return _("for {weeks} weeks in total").format(weeks=weeks)
    return _("for {weeks} consecutive weeks").format(weeks=weeks)


def _job_kinds(kinds: list[JobKind]) -> str:
    names = {JobKind.ordinary: _("ordinary jobs"), JobKind.flexjob: _("flexjobs")}
    if set(kinds) == {JobKind.ordinary, JobKind.flexjob}:
        return _("ordinary jobs and flexjobs count")
    return _("{kinds} only").format(kinds=_(" and ").join(names[k] for k in kinds))


def measure_sentence(measure, side: Side = Side.citizen, currency: str = "DKK") -> str:
    """What must happen, as one sentence, e.g. 'In work at least 15 hours a week in 13 of any 16 consecutive weeks, within 104 weeks after the start.'"""
    if isinstance(measure, (AnyOf, AllOf)):
        items = "; ".join(f"({chr(ord('a') + i)}) {measure_sentence(m, side, currency).rstrip('.')}" for i, m in enumerate(measure.measures))
        if isinstance(measure, AnyOf):
            return _("Any one of these (each occurrence of any of them counts): {items}.").format(items=items)
        return _("All of these (met when the last of them is met): {items}.").format(items=items)
    w = window_phrase(getattr(measure, "window", None))
    if isinstance(measure, Enrolment):
        if side == Side.company:
            return _("The company starts the social accelerator (met on that date).")
        return _("The citizen is enrolled on the course (met on that date).")
    if isinstance(measure, EmploymentWeeks):
        lo, hi = measure.min_hours_per_week, measure.max_hours_per_week
        weeks = _weeks_phrase(measure.weeks, measure.pattern, measure.out_of)
        if lo is not None and hi is None:
            text = _("In work at least {hours} hours a week {weeks}{window}").format(hours=lo, weeks=weeks, window=w)
        elif lo is not None:
            text = _("In work {low} to {high} hours a week {weeks}{window}").format(low=lo, high=hi, weeks=weeks, window=w)
        elif hi is not None:
            text = _("In paid work at most {hours} hours a week {weeks}{window}").format(hours=hi, weeks=weeks, window=w)
        else:
            text = _("In paid work (any hours) {weeks}{window}").format(weeks=weeks, window=w)
        extras = [_job_kinds(measure.job_kinds)]
        if measure.partner_company_only:
            extras.append(_("only jobs with a partner company count"))
        if measure.self_supporting:
            extras.append(_("each counted week must also be self-supporting"))
        return f"{text} ({'; '.join(extras)})."
    if isinstance(measure, JobStart):
        lo, hi = measure.min_hours_per_week, measure.max_hours_per_week
        if lo is not None and hi is None:
            band = _("at least {hours} hours a week").format(hours=lo)
        elif lo is not None:
            band = _("{low} to {high} hours a week").format(low=lo, high=hi)
        elif hi is not None:
            band = _("paid, at most {hours} hours a week").format(hours=hi)
        else:
            band = _("paid, any hours")
        extras = [_job_kinds(measure.job_kinds)]
        if measure.partner_company_only:
            extras.append(_("only jobs with a partner company count"))
        return _("A job starts{window} ({band}; {extras}), met on its first day of work; a job already running when the window opens does not count.").format(
            band=band, window=w, extras="; ".join(extras)
        )
    if isinstance(measure, StatusWeeks):
        return _("In the status '{status}' {weeks}{window}.").format(
            status=measure.status, weeks=_weeks_phrase(measure.weeks, measure.pattern, measure.out_of), window=w
        )
    if isinstance(measure, StatusMonths):
        if measure.pattern == "consecutive":
            text = _("In the status '{status}' for {months} whole calendar months in a row{window}.")
        else:
            text = _("In the status '{status}' for {months} whole calendar months in total{window}.")
        return text.format(status=measure.status, months=measure.months, window=w)
    if isinstance(measure, StatusAt):
        return _(
            "In the status '{status}' {points} months after the start (the same day of the month, or the month's last day), "
            "within {days} days either way; each point is measured once its tolerance has passed{window}."
        ).format(status=measure.status, points=", ".join(str(x) for x in measure.at_months), days=measure.tolerance_days, window=w)
    if isinstance(measure, MeasurementPoints):
        return _(
            "Each measurement point {points} months after the start (the same day of the month, or the month's last day), "
            "once it is reached{window}."
        ).format(points=", ".join(str(x) for x in measure.at_months), window=w)
    if isinstance(measure, SelfSupportingWeeks):
        return _("Off public support {weeks}{window}.").format(weeks=_weeks_phrase(measure.weeks, measure.pattern, measure.out_of), window=w)
    if isinstance(measure, CumulativeEarnings):
        return _("Earnings from work reach {amount} in total{window} ({kinds}).").format(
            amount=format_money(measure.amount, currency), window=w, kinds=_job_kinds(measure.job_kinds)
        )
    if isinstance(measure, CourseAttendance):
        return _("Has attended at least {sessions} course sessions{window}.").format(sessions=measure.sessions, window=w)
    if isinstance(measure, CourseCompletion):
        return _("Completes the citizen course{window}.").format(window=w)
    if isinstance(measure, OutcomeEvent):
        named = _(" named '{name}'").format(name=measure.name) if measure.name else ""
        return _("A recorded '{event}' outcome{named}{window}.").format(event=measure.event, named=named, window=w)
    if isinstance(measure, FlexjobHoursIncrease):
        return _(
            "A flexjob's weekly hours rise by at least {hours} over the first flexjob week, "
            "held for {weeks} consecutive weeks{window}."
        ).format(hours=measure.increase_hours, weeks=measure.sustained_weeks, window=w)
    if isinstance(measure, AcceleratorPhase):
        return _("The company completes the accelerator phase '{phase}'{window}.").format(phase=measure.phase, window=w)
    if isinstance(measure, CompanyHire):
        return _("The company hires a participant who is eligible under this agreement{window}.").format(window=w)
    if isinstance(measure, CompanyGrowth):
        figure = {"revenue": _("revenue"), "employees_fte": _("full-time employees"), "target_group_employees": _("employees from the target group")}[measure.figure]
        base = _("the year before the accelerator start") if measure.baseline == "year_before_start" else _("the year of the accelerator start")
        if measure.increase_percent is not None:
            return _("The company's yearly figure for {figure} is at least {percent} % above that of {base}, met on the last day of the year{window}.").format(
                figure=figure, percent=measure.increase_percent, base=base, window=w
            )
        return _("The company's yearly figure for {figure} is at least {amount} above that of {base}, met on the last day of the year{window}.").format(
            figure=figure, amount=measure.increase_by, base=base, window=w
        )
    if isinstance(measure, TargetGroupEmployees):
        return _(
            "The company employs at least {count} people from the target group in each of {periods} periods in a row "
            "(quarters when its figures are quarterly, else years), met on the last day of the last of them{window}."
        ).format(count=measure.at_least, periods=measure.periods, window=w)
    if isinstance(measure, HireRetained):
        return _("A hire of an eligible participant is still in place {weeks} weeks after the hire date{window}.").format(weeks=measure.weeks, window=w)
    return _("Measure '{kind}'{window}.").format(kind=measure.kind, window=w)  # pragma: no cover - every measure kind is handled above


def definition_sentences(d: MilestoneDefinition, side: Side, currency: str) -> list[str]:
    out = [measure_sentence(d.measure, side, currency)]
    if isinstance(d.measure, (CompanyHire, HireRetained)):
        out.append(
            _(
                "A hire counts only when the participant's own history shows paid work with the company "
                "on the hire date, with weekly hours of at least {hours}."
            ).format(hours=d.measure.hours_required)
        )
        if isinstance(d.measure, HireRetained):
            out.append(
                _(
                    "A hire counts as still in place only when the company's record has not ended it and the participant's "
                    "own history shows paid work with the company on every day from the hire date to that day."
                )
            )
        if d.measure.rehires_pay:
            out.append(_("A re-hire of the same participant by the same company counts again."))
        else:
            out.append(_("A re-hire of the same participant by the same company does not count."))
    if d.prerequisites:
        names = ", ".join(d.prerequisites)
        if len(d.prerequisites) == 1:
            out.append(_("Only once {milestones} is met (prerequisite).").format(milestones=names))
        else:
            out.append(_("Only once {milestones} are met (prerequisite).").format(milestones=names))
    if d.repeat:
        out.append(_("Pays for each further occurrence, at most {times} times.").format(times=d.repeat.max_times))
    else:
        out.append(_("Pays once: the first occurrence only."))
    return out


def _share(share) -> str:
    pct = share * 100
    text = format(pct.normalize(), "f") if pct == pct.to_integral() else format(pct, "f").rstrip("0")
    if current_language() == "da":
        text = text.replace(".", ",")
    return f"{text} %"


# --- the outline ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """One block of the document: a heading, a paragraph, a list, a table or a notice."""

    kind: Literal["h1", "h2", "h3", "p", "ul", "table", "notice", "meta"]
    text: str = ""
    items: tuple = ()
    header: tuple = ()


def outline(loaded: LoadedContract) -> list[Block]:
    c = loaded.contract
    B = Block
    out: list[Block] = [B("h1", c.title)]
    if c.illustrative:
        out.append(B("notice", _(ILLUSTRATIVE_NOTICE)))
    source = Path(loaded.path).name
    if loaded.template:
        source += _(" (template {file})").format(file=Path(loaded.template).name)
    meta = [
        (_("Contract id"), c.id),
        (_("Version"), c.version),
        (_("Municipality"), f"{c.municipality.name} (kommunekode {c.municipality.code})" if c.effective_jurisdiction.country == "DK" else f"{c.municipality.name} ({c.municipality.code})"),
        (_("Signed"), format_date(c.signed)),
        (_("Term"), _("{start} to {end}, both days included").format(start=format_date(c.term.start), end=format_date(c.term.end))),
        (_("Currency"), c.currency),
        (_("Content hash"), loaded.content_hash),
        (_("Source"), source),
    ]
    if c.programme:
        meta.insert(1, (_("Programme"), c.programme))
    if c.jurisdiction is not None:  # named: shown (an agreement that names none is Danish, as it always was)
        meta.insert(meta.index((_("Currency"), c.currency)), (_("Jurisdiction"), c.jurisdiction.code))
    out.append(B("meta", items=tuple(meta)))
    if c.description:
        out.append(B("p", c.description))
    if c.documentation:
        out.extend(B("p", para) for para in _paragraphs(c.documentation))

    out.append(B("h2", _("Parties")))
    rows = []
    for pid, party in c.parties.items():
        rows.append((pid, party.name, ", ".join(_(ROLE_NAMES.get(r.value, r.value.replace("_", " "))) for r in party.roles), party.documentation or ""))
    out.append(B("table", header=(_("party"), _("name"), _("roles"), _("notes")), items=tuple(rows)))

    out.extend(_eligibility(c, loaded.vocabulary))
    out.extend(_milestones(c, loaded.vocabulary))
    out.extend(_exclusive_groups(c))
    out.extend(_payment(c))
    out.extend(_caps(c))
    out.extend(_other_terms(c))
    out.append(B("p", _("Generated from the contract file by pbr render. Content hash {hash}.").format(hash=loaded.content_hash)))
    return out


def _paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in text.strip().split("\n\n") if p.strip()]


def _eligibility(c: Contract, vocabulary: Vocabulary | None) -> list[Block]:
    B = Block
    el = c.eligibility.citizens
    out = [B("h2", _("Who may take part")), B("h3", _("Citizens [{reference}]").format(reference=el.reference))]
    if el.description:
        out.append(B("p", el.description))
    names = vocabulary.target_groups if vocabulary is not None else {}
    groups = "; ".join(f"{names[g].name} ({g})" if g in names else g for g in el.target_groups)
    items = [_("Target groups: {groups}.").format(groups=groups)]
    if el.age and (el.age.min is not None or el.age.max is not None):
        lo, hi = el.age.min, el.age.max
        if lo is not None and hi is not None:
            items.append(_("Aged {min} to {max} (whole years on the enrolment date, both included).").format(min=lo, max=hi))
        elif lo is not None:
            items.append(_("Aged {min} or over on the enrolment date.").format(min=lo))
        else:
            items.append(_("Aged {max} or under on the enrolment date.").format(max=hi))
    items.append(_("Resident in the municipality at enrolment.") if el.residence_in_municipality else _("Residence in the municipality is not required."))
    if el.baseline:
        b = el.baseline
        if b.codes is None:
            codes = _("any benefit that is public support")
        else:
            codes = _("one of the benefits {codes}").format(codes=", ".join(b.codes))
        items.append(
            _("On benefits at least {weeks} of the {of_weeks} weeks before enrolment ({codes}) [{reference}].").format(
                weeks=b.benefit_weeks_at_least, of_weeks=b.of_weeks_before_enrolment, codes=codes, reference=b.reference
            )
        )
    if el.enrolment_window:
        items.append(
            _("Enrolled from {start} to {end}, both days included.").format(
                start=format_date(el.enrolment_window.start), end=format_date(el.enrolment_window.end)
            )
        )
    if el.cohort_size:
        items.append(_("The agreement pays for at most {n} participants.").format(n=el.cohort_size))
    else:
        items.append(_("No limit on the number of participants."))
    if el.target:
        items.append(_target_sentence(_("participants"), el.target))
    out.append(B("ul", items=tuple(items)))
    if el.documentation:
        out.extend(B("p", para) for para in _paragraphs(el.documentation))

    co = c.eligibility.companies
    if co is not None:
        out.append(B("h3", _("Companies [{reference}]").format(reference=co.reference)))
        if co.description:
            out.append(B("p", co.description))
        items = [_("Size: {bands} companies (EU SME definition).").format(bands=", ".join(_(s.value) for s in co.size_bands))]
        items.append(_("Must be a partner of the programme.") if co.partner_required else _("Partnership is not required."))
        items.append(_("Must be located in the municipality.") if co.in_municipality else _("May be located anywhere."))
        if co.cohort_size:
            items.append(_("At most {n} companies.").format(n=co.cohort_size))
        else:
            items.append(_("No limit on the number of companies."))
        if co.target:
            items.append(_target_sentence(_("companies"), co.target))
        out.append(B("ul", items=tuple(items)))
        if co.documentation:
            out.extend(B("p", para) for para in _paragraphs(co.documentation))
    return out


def _target_sentence(who: str, t) -> str:
    by = _(" by {date}").format(date=format_date(t.by)) if t.by else ""
    return _("Target (soft, reported and never enforced): {n} {who}{by} [{reference}].").format(n=t.size, who=who, by=by, reference=t.reference)


PRICED_ON = {
    "trigger": N_("Priced on the day the outcome is met."),
    "enrolment": N_("Priced on the participant's enrolment date (a company's accelerator start): the prices in force that day apply."),
    "referral": N_("Priced on the participant's referral date: the prices in force that day apply (a price schedule by referral cohort)."),
}


def _money_or_withdrawn(entry: DatedEntry, currency: str) -> str:
    return _("withdrawn") if entry.value is None else format_money(entry.value, currency)


def _milestones(c: Contract, vocabulary: Vocabulary | None) -> list[Block]:
    B = Block
    out = [B("h2", _("Milestones and tariffs"))]
    for side in (Side.citizen, Side.company):
        ms = [(mid, m) for mid, m in c.milestones.items() if m.side == side]
        if not ms:
            continue
        out.append(B("p", _("Citizen side (paid to the course provider):") if side == Side.citizen else _("Company side (paid to the accelerator):")))
        for mid, m in ms:
            out.append(B("h3", f"{mid}: {m.description} [{m.reference}]"))
            base = MilestoneDefinition(measure=m.measure, prerequisites=m.prerequisites, repeat=m.repeat)
            out.append(B("p", " ".join(definition_sentences(base, side, c.currency))))
            if m.documentation:
                out.extend(B("p", para) for para in _paragraphs(m.documentation))
            if m.amendments:
                items = []
                previous = base
                for day in sorted(m.amendments):
                    entry = m.amendments[day]
                    if entry.value is None:
                        text = _("From {date} [{reference}]: the milestone is withdrawn; nothing met from that date counts.").format(
                            date=format_date(day), reference=entry.reference
                        )
                    else:
                        fields = definition_changes(previous, entry.value)
                        changed = "; ".join(f"{k} {_plain(o)} -> {_plain(n)}" for k, o, n in fields) or _("no change in the definition")
                        text = _("From {date} [{reference}]: {definition} (Changes: {changes}.)").format(
                            date=format_date(day), reference=entry.reference,
                            definition=" ".join(definition_sentences(entry.value, side, c.currency)), changes=changed,
                        )
                        previous = entry.value
                    if entry.documentation:
                        text += " " + " ".join(entry.documentation.split())
                    items.append(text)
                out.append(B("p", _("Amendments:")))
                out.append(B("ul", items=tuple(items)))
            t = c.tariffs.get(mid)
            if t is None:
                out.append(B("p", _("No tariff: meeting this milestone triggers no payment.")))
                continue
            if t.formula is not None:
                out.extend(_formula_blocks(t, c.currency))
            else:
                rows = []
                for line, dated in t.amounts.items():
                    for day in sorted(dated):
                        e = dated[day]
                        rows.append((group_label(line, vocabulary), format_date(day), _money_or_withdrawn(e, c.currency), e.reference, " ".join((e.documentation or "").split())))
                out.append(B("p", _("Tariff [{reference}]:").format(reference=t.reference)))
                out.append(B("table", header=(_("target group"), _("from"), _("amount"), _("clause"), _("notes")), items=tuple(rows)))
            if (t.pricing_date or c.payment.pricing_date) not in (None, "trigger"):
                out.append(B("p", _(PRICED_ON[t.pricing_date or c.payment.pricing_date])))
            if t.max_total:
                values = "; ".join(
                    _("{amount} from {date} [{reference}]").format(amount=_money_or_withdrawn(t.max_total[d], c.currency), date=format_date(d), reference=t.max_total[d].reference)
                    for d in sorted(t.max_total)
                )
                out.append(B("p", _("At most, for this milestone to one participant (company), all occurrences together: {values}.").format(values=values)))
            if t.volume_tiers:
                items = []
                for tier in sorted(t.volume_tiers, key=lambda v: v.after_outcomes):
                    values = "; ".join(
                        _("{amount} from {date} [{reference}]").format(
                            amount=_money_or_withdrawn(tier.amount[d], c.currency), date=format_date(d), reference=tier.amount[d].reference
                        )
                        for d in sorted(tier.amount)
                    )
                    items.append(
                        _("From outcome {n} in the cohort: {values} [{reference}].").format(n=tier.after_outcomes + 1, values=values, reference=tier.reference)
                    )
                out.append(B("p", _("Volume tiers:")))
                out.append(B("ul", items=tuple(items)))
            if t.payers:
                payers = ", ".join(f"{_party(c, p.party)} {_share(p.share)}" for p in t.payers)
                out.append(B("p", _("Paid by (instead of the agreement's split): {payers}.").format(payers=payers)))
            if t.payee:
                out.append(B("p", _("Paid to (instead of the agreement's payee): {payee}.").format(payee=_party(c, t.payee))))
    return out


def _plain(v) -> str:
    if v is None:
        return _("none")
    if isinstance(v, list):
        return "[" + ", ".join(map(str, v)) + "]"
    return str(v)


def _party(c: Contract, pid: str) -> str:
    p = c.parties.get(pid)
    return f"{p.name} ({pid})" if p else pid


def _payment(c: Contract) -> list[Block]:
    B = Block
    pt = c.payment
    payers = ", ".join(f"{_party(c, p.party)} {_share(p.share)}" for p in pt.payers)
    items = [
        _("Payers: {payers} [{reference}].").format(payers=payers, reference=pt.reference),
        _("Citizen-side payments are paid to {payee}.").format(payee=_party(c, pt.citizen_payee)),
    ]
    if pt.company_payee:
        items.append(_("Company-side payments are paid to {payee}.").format(payee=_party(c, pt.company_payee)))
    if pt.claim_lag.kind == "working":
        kind = _("working days (Monday to Friday, Danish public holidays excluded)")
    else:
        kind = _("calendar days")
    items.append(
        _("A claim may be made {days} {kind} after the outcome is met [{reference}].").format(
            days=pt.claim_lag.days, kind=kind, reference=pt.claim_lag.reference
        )
    )
    if pt.pricing_date not in (None, "trigger"):
        items.append(_(PRICED_ON[pt.pricing_date]) + " " + _("(Each tariff that does not say otherwise.)"))
    return [B("h2", _("Payment [{reference}]").format(reference=pt.reference)), B("ul", items=tuple(items))]


def _exclusive_groups(c: Contract) -> list[Block]:
    """Groups of milestones of which only one pays; nothing when the agreement has none."""
    if not c.exclusive:
        return []
    items = []
    for name, g in c.exclusive.items():
        rule = _("the one met first pays") if g.pays == "first_met" else _("the one with the highest tariff pays")
        items.append(
            _("{name}: only one of {milestones} pays per subject; {rule} [{reference}]").format(
                name=name, milestones=", ".join(g.milestones), rule=rule, reference=g.reference
            )
            + (f" {' '.join(g.documentation.split())}" if g.documentation else "")
        )
    return [Block("h2", _("Exclusive outcomes")), Block("ul", items=tuple(items))]


def _caps(c: Contract) -> list[Block]:
    B = Block
    rows = []

    def add(label: str, dated):
        for day in sorted(dated):
            e = dated[day]
            rows.append((label, format_date(day), _money_or_withdrawn(e, c.currency), e.reference, " ".join((e.documentation or "").split())))

    caps = c.caps
    if caps.per_participant:
        add(_("per participant"), caps.per_participant)
    if caps.per_company:
        add(_("per company"), caps.per_company)
    for mid, dated in caps.per_milestone.items():
        add(_("milestone {milestone}").format(milestone=mid), dated)
    for party, dated in caps.per_payer.items():
        add(_("payer {party}").format(party=_party(c, party)), dated)
    if caps.per_contract:
        add(_("the whole agreement"), caps.per_contract)
    if not rows:
        return [B("h2", _("Caps")), B("p", _("No caps."))]
    return [B("h2", _("Caps")), B("table", header=(_("cap"), _("from"), _("amount"), _("clause"), _("notes")), items=tuple(rows))]


# Top-level keys rendered above; any other key (course costs, the business case, investor
# terms...) is listed term by term by ``_other_terms``, so no clause is ever left out.
_RENDERED = frozenset({
    "kind", "id", "title", "description", "documentation", "illustrative", "programme", "jurisdiction", "benefit_codes", "municipality",
    "parties", "signed", "term", "currency", "language", "version", "eligibility", "milestones", "exclusive", "tariffs", "payment", "caps",
})


def _other_terms(c: Contract) -> list[Block]:
    from pbr_rules.lawyers.diff import flatten

    out: list[Block] = []
    for name in type(c).model_fields:
        value = getattr(c, name)
        if name in _RENDERED or value in (None, {}, []):
            continue
        out.append(Block("h2", _(OTHER_TERMS.get(name, name.replace("_", " ").capitalize()))))
        data = value.model_dump(mode="json") if hasattr(value, "model_dump") else {
            k: v.model_dump(mode="json") if hasattr(v, "model_dump") else v for k, v in value.items()
        }
        groups = data.items() if not hasattr(value, "model_dump") and all(isinstance(v, dict) for v in data.values()) else [("", data)]
        for key, part in groups:
            if key:
                ref = part.get("reference") if isinstance(part, dict) else None
                out.append(Block("h3", f"{key}" + (f" [{ref}]" if ref else "")))
            items = []
            for path, leaf in flatten(part).items():
                if leaf is None:
                    continue
                shown = ", ".join(map(str, leaf)) if isinstance(leaf, list) else " ".join(str(leaf).split())
                items.append(f"{path.replace('_', ' ')}: {shown}")
            out.append(Block("ul", items=tuple(items)))
    return out


# --- formats ----------------------------------------------------------------------------------


def render_contract(loaded: LoadedContract, fmt: Format = "md") -> str:
    """The agreement as Markdown (``md``) or a self-contained HTML page (``html``)."""
    blocks = outline(loaded)
    if fmt == "md":
        return _markdown(blocks)
    if fmt == "html":
        return _html(blocks, loaded.contract.title)
    raise ValueError(f"unknown format {fmt!r}; use 'md' or 'html'")


def _md_text(text: str) -> str:
    # Markdown passes raw HTML through: an escaped '<' can open no tag, so text from a contract stays text.
    return text.replace("<", "&lt;")


def _md_cell(text: str) -> str:
    return _md_text(text).replace("|", "\\|").replace("\n", " ")


def _markdown(blocks: list[Block]) -> str:
    out: list[str] = []
    for b in blocks:
        if b.kind in ("h1", "h2", "h3"):
            out.append("#" * int(b.kind[1]) + " " + _md_text(b.text))
        elif b.kind == "p":
            out.append(_md_text(b.text))
        elif b.kind == "notice":
            out.append(f"> **{_md_text(b.text)}**")
        elif b.kind == "ul":
            out.append("\n".join(f"- {_md_text(i)}" for i in b.items))
        elif b.kind == "meta":
            out.append("\n".join(f"- **{k}:** {_md_text(v)}" for k, v in b.items))
        elif b.kind == "table":
            lines = ["| " + " | ".join(b.header) + " |", "|" + "|".join("---" for _ in b.header) + "|"]
            lines += ["| " + " | ".join(_md_cell(str(x)) for x in row) + " |" for row in b.items]
            out.append("\n".join(lines))
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


_CSS = """
body { font-family: Georgia, 'Times New Roman', serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #1a1a1a; line-height: 1.45; }
h1 { font-size: 1.7rem; margin-bottom: .5rem; }
h2 { font-size: 1.3rem; border-bottom: 1px solid #999; margin-top: 2rem; }
h3 { font-size: 1.05rem; margin-top: 1.4rem; }
.notice { border: 2px solid #b00; color: #b00; padding: .5rem .8rem; font-weight: bold; }
dl.meta { display: grid; grid-template-columns: max-content auto; gap: .2rem 1rem; }
dl.meta dt { font-weight: bold; }
dl.meta dd { margin: 0; word-break: break-all; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; font-size: .92rem; }
th, td { border: 1px solid #bbb; padding: .25rem .45rem; text-align: left; vertical-align: top; }
th { background: #eee; }
@media print {
  body { max-width: none; margin: 0; font-size: 10.5pt; }
  h2 { page-break-after: avoid; }
  h3 { page-break-after: avoid; }
  table, ul { page-break-inside: avoid; }
  .notice { border-color: #000; color: #000; }
  th { background: none; }
}
""".strip()


def _html(blocks: list[Block], title: str) -> str:
    e = html.escape
    out = [
        "<!DOCTYPE html>",
        f'<html lang="{current_language()}">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{e(title)}</title>",
        f"<style>\n{_CSS}\n</style>",
        "</head>",
        "<body>",
    ]
    for b in blocks:
        if b.kind in ("h1", "h2", "h3"):
            out.append(f"<{b.kind}>{e(b.text)}</{b.kind}>")
        elif b.kind == "p":
            out.append(f"<p>{e(b.text)}</p>")
        elif b.kind == "notice":
            out.append(f'<p class="notice">{e(b.text)}</p>')
        elif b.kind == "ul":
            out.append("<ul>\n" + "\n".join(f"<li>{e(i)}</li>" for i in b.items) + "\n</ul>")
        elif b.kind == "meta":
            out.append('<dl class="meta">\n' + "\n".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in b.items) + "\n</dl>")
        elif b.kind == "table":
            head = "<tr>" + "".join(f"<th>{e(h)}</th>" for h in b.header) + "</tr>"
            rows = "\n".join("<tr>" + "".join(f"<td>{e(str(x))}</td>" for x in row) + "</tr>" for row in b.items)
            out.append(f"<table>\n<thead>{head}</thead>\n<tbody>\n{rows}\n</tbody>\n</table>")
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


def _formula_blocks(t, currency: str) -> list:
    """A formula tariff as a lawyer reads it: the formula, its parameters, goals, floor and cap, each with its clause."""
    B = Block
    f = t.formula
    out = [B("p", _("Tariff [{reference}]: computed by the formula {expression} [{clause}], over each measurement period (docs/semantics.md § 10).").format(
        reference=t.reference, expression=f"`{f.expression}`", clause=f.reference))]
    rows = []
    for name, p in f.parameters.items():
        for day in sorted(p.values):
            e = p.values[day]
            value = _("withdrawn") if e.value is None else (format_money(e.value, currency) if p.unit == "money" else f"{e.value} ({p.unit})")
            rows.append((name, format_date(day), value, e.reference, " ".join(((p.description or "") + " " + (e.documentation or "")).split())))
    if rows:
        out.append(B("table", header=(_("parameter"), _("from"), _("value"), _("clause"), _("notes")), items=tuple(rows)))
    if f.goals:
        out.append(B("p", _("goals_met counts the occurrences of: {goals}.").format(goals=", ".join(f.goals))))
    for key, words in (("floor", _("At least, for one occurrence: {values}.")), ("cap", _("At most, for one occurrence: {values}."))):
        dated = getattr(f, key)
        if dated:
            values = "; ".join(
                _("{amount} from {date} [{reference}]").format(amount=_money_or_withdrawn(dated[d], currency), date=format_date(d), reference=dated[d].reference)
                for d in sorted(dated)
            )
            out.append(B("p", words.format(values=values)))
    if f.documentation:
        out.append(B("p", " ".join(f.documentation.split())))
    return out
