"""The municipal business case: can the savings on benefits finance the courses?

Owns the use case "for each municipality (and the programme): course costs on both
sides, outcome payments, savings against the contract's counterfactual, net result,
break-even month, NPV at a given discount rate, and the investor view". Histories are
matched to agreements by municipality code; each cohort is evaluated and settled through
the real path (``settlement``), savings come from ``savings``, the arithmetic from
``finance``. Conventions: docs/business-case.md.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache

from pbr_rules.evaluation import evaluate_cohort
from pbr_rules.finance.discounting import (
    ACT365,
    Flow,
    break_even_month,
    cumulative,
    instalments,
    irr,
    month_of,
    months_between,
    npv,
    present_values,
    waterfall,
)
from pbr_rules.evaluation import cohort_savings, rates_for, savings_by_month
from pbr_rules.language import History, LoadedContract, canonical_json
from pbr_rules.models.business_case import NAMED_CONVENTIONS, BusinessCaseReport, InvestorView, MonthRow, MunicipalityCase, PartyNPV
from pbr_rules.models.common import in_force
from pbr_rules.models.contract import DEFAULT_DISCOUNT_RATE, PartyRole, Side
from pbr_rules.models.history import ParticipantHistory
from pbr_rules.models.rates import BenefitRates
from pbr_rules.models.settlement import PartyAmount, Settlement
from pbr_rules.i18n import N_, _, format_date, format_money, format_percent
from pbr_rules.money import DEFAULT_CURRENCY, ZERO, money_str, one_currency, round_money
from pbr_rules.settlement import admitted_subjects, settle_results, settled_payers

_RATES_HASH: dict[int, tuple[object, str]] = {}


def rates_hash(loaded: LoadedContract) -> str:
    """sha256 of the benefit-rate table this contract's savings are valued with (canonical JSON; once per table)."""
    rates = rates_for(loaded)
    known = _RATES_HASH.get(id(rates))
    if known is None or known[0] is not rates:
        # The currency is left out of the hash: it is the agreement's (rates_for refuses any other),
        # and tables written before it could be named keep their hash.
        table = rates.model_dump(mode="json", exclude={"currency"})
        known = _RATES_HASH[id(rates)] = (rates, hashlib.sha256(canonical_json(table).encode()).hexdigest())
    return known[1]


def municipal_parties(loaded: LoadedContract) -> set[str]:
    """The municipality's own parties: outcome payers that are not the fund."""
    return {pid for pid, p in loaded.contract.parties.items() if PartyRole.outcome_payer in p.roles and PartyRole.fund not in p.roles}


def course_cost_flows(loaded: LoadedContract, histories: list[History], admitted: dict[str, set[str]]) -> list[tuple[str, Side, str, Flow]]:
    """(cost id, side, payer, flow) for every instalment of every course cost."""
    c = loaded.contract
    out = []
    starts = {
        "participant": sorted((h.enrolment, h.participant) for h in histories if isinstance(h, ParticipantHistory) and h.participant in admitted["participant"]),
        "company": sorted((h.start, h.company) for h in histories if not isinstance(h, ParticipantHistory) and h.company in admitted["company"]),
    }
    for cid, cost in sorted(c.costs.items()):
        if cost.basis == "fixed":
            days = [cost.starts or c.term.start]
        else:
            days = [d for d, _ in starts["participant" if cost.basis == "per_participant" else "company"]]
        for day in days:
            found = in_force(cost.amount, day)
            if found is None:
                continue
            for flow in _instalments(day, found[1].value, cost.spread_months):
                out.append((cid, cost.side, cost.payer, flow))
    return out


def discounting_of(loaded: LoadedContract, rate: Decimal | None) -> tuple[str, Decimal, str | None]:
    """(convention, rate, clause) of the agreement's NPV: its ``business_case.discounting``, else ACT/365
    from the term start; ``rate``, when given, overrides the agreement's rate (a sensitivity run)."""
    bc = loaded.contract.business_case
    named = bc.discounting if bc is not None else None
    if named is None:
        return ACT365, rate if rate is not None else Decimal(DEFAULT_DISCOUNT_RATE), None
    return named.convention, rate if rate is not None else named.rate, named.reference


CONVENTION_WORDS = {
    "act365_from_term_start": N_("each flow discounted by its actual days from the term start {start} / 365"),
    "per_period": N_("each flow discounted by the whole months from the term start's month ({start}), at the annual rate / 12 a month"),
    "annual_compounding": N_("each flow discounted by the whole years from the term start {start} (the first year undiscounted)"),
}


def discounting_words(convention: str, rate: Decimal, start: date, reference: str | None) -> str:
    text = _("{rate} a year; {how}").format(rate=format_percent(rate, decimals=_decimals(rate)), how=_(CONVENTION_WORDS[convention]).format(start=format_date(start)))
    return text + (f" [{reference}]" if reference else "")


def _decimals(rate: Decimal) -> int:
    pct = (rate * 100).normalize()
    return min(max(0, -pct.as_tuple().exponent), 2)


@lru_cache(maxsize=65536)
def _instalments(day: date, amount: Decimal, months: int) -> tuple[Flow, ...]:
    """``instalments``, remembered: a cohort's courses start on a few hundred working days."""
    return tuple(instalments(day, amount, months))


@dataclass(frozen=True)
class _Totals:
    """The business case's totals from its flows (``municipality_case`` and ``case_figures`` alike)."""

    course_costs_citizen: Decimal
    course_costs_company: Decimal
    municipal_course_costs: Decimal
    municipal_outcome_payments: Decimal
    savings: Decimal
    net_result: Decimal
    npv: Decimal

    @property
    def course_costs_total(self) -> Decimal:
        return self.course_costs_citizen + self.course_costs_company


def _totals(loaded: LoadedContract, costs, municipal_costs: list[Flow], payment_flows: list[Flow], savings_flows: list[Flow], discount_rate: Decimal | None) -> _Totals:
    cost_citizen = sum((f[1] for _, side, _, f in costs if side == Side.citizen), ZERO)
    cost_company = sum((f[1] for _, side, _, f in costs if side == Side.company), ZERO)
    savings_total = round_money(sum((a for _, a in savings_flows), ZERO))
    municipal_payments = sum((a for _, a in payment_flows), ZERO)
    municipal_cost_total = sum((a for _, a in municipal_costs), ZERO)
    flows = [(d, a) for d, a in savings_flows] + [(d, -a) for d, a in payment_flows] + [(d, -a) for d, a in municipal_costs]
    convention, rate, _clause = discounting_of(loaded, discount_rate)  # as municipality_case discounts
    return _Totals(
        course_costs_citizen=cost_citizen,
        course_costs_company=cost_company,
        municipal_course_costs=municipal_cost_total,
        municipal_outcome_payments=municipal_payments,
        savings=savings_total,
        net_result=savings_total - municipal_payments - municipal_cost_total,
        npv=npv(flows, rate, loaded.contract.term.start, convention),
    )


@dataclass(frozen=True)
class CaseFigures:
    """A cohort's headline figures, exactly as ``municipality_case`` gives them."""

    net_result: Decimal
    npv: Decimal
    savings: Decimal
    course_costs_total: Decimal
    municipal_course_costs: Decimal
    municipal_outcome_payments: Decimal


def case_figures(
    loaded: LoadedContract, histories: list[History], results, as_of: date, discount_rate: Decimal, *, rates: BenefitRates | None = None
) -> CaseFigures:
    """The headline figures of ``municipality_case`` for already-decided ``results`` (one per
    history, as ``decide_view`` or ``evaluate`` give them), without the report around them: no
    settlement lines, months, projection, answer or investor view. What a simulation run needs.
    ``rates``: the contract's benefit-rate table, when the caller already has it (``rates_for``)."""
    c = loaded.contract
    if c.business_case is None:
        raise EvaluationRefused(f"contract {c.id} has no business_case section: add one (docs/business-case.md)")
    admitted = admitted_subjects(loaded, histories, results)
    mine = municipal_parties(loaded)
    costs = course_cost_flows(loaded, histories, admitted)
    payment_flows = [(day, amount) for day, parts in settled_payers(loaded, results, admitted) for party, amount in parts if party in mine and amount]
    by_month = savings_by_month(loaded, [h for h in histories if isinstance(h, ParticipantHistory)], as_of, eligible=admitted["participant"], rates=rates)
    t = _totals(loaded, costs, [f for _, _, payer, f in costs if payer in mine], payment_flows, month_end_flows(by_month), discount_rate)
    return CaseFigures(
        net_result=t.net_result,
        npv=t.npv,
        savings=t.savings,
        course_costs_total=t.course_costs_total,
        municipal_course_costs=t.municipal_course_costs,
        municipal_outcome_payments=t.municipal_outcome_payments,
    )


def municipality_case(
    loaded: LoadedContract,
    histories: list[History],
    as_of: date,
    discount_rate: Decimal | None,
    *,
    comparison: list[ParticipantHistory] | None = None,
    workers: int | None = 1,
    results=None,
    executor=None,
) -> tuple[MunicipalityCase, Settlement]:
    """One municipality's business case. ``discount_rate`` None: the agreement's own rate (default 4 %).

    An agreement without a ``business_case`` section still has one: its outcome payments and
    course costs, with savings not measured and said so (``notes``)."""
    c = loaded.contract
    if results is None:
        results = evaluate_cohort(loaded, histories, as_of, workers=workers, executor=executor)
    settlement = settle_results(loaded, histories, results, as_of, with_changes=False)
    admitted = admitted_subjects(loaded, histories, results)
    mine = municipal_parties(loaded)
    convention, rate, clause = discounting_of(loaded, discount_rate)

    costs = course_cost_flows(loaded, histories, admitted)
    cost_citizen = sum((f[1] for _, side, _, f in costs if side == Side.citizen), ZERO)
    cost_company = sum((f[1] for _, side, _, f in costs if side == Side.company), ZERO)
    municipal_costs = [f for _, _, payer, f in costs if payer in mine]

    payment_flows = [(x.due_date, pa.amount) for x in settlement.lines for pa in x.payers if pa.party in mine and pa.amount]
    notes = []
    if c.business_case is not None:
        met = {r.subject.id: _milestones_met(r) for r in results if r.subject.kind == "participant"}
        sav = cohort_savings(
            loaded, [h for h in histories if isinstance(h, ParticipantHistory)], as_of, comparison,
            eligible=admitted["participant"], detail=False, met=met,
        )
        savings_flows = savings_flows_of(sav)
        counterfactual, projected_saving, projection_words = sav.counterfactual, sav.projected_saving, sav.projection
        hash_of_rates = rates_hash(loaded)
    else:
        savings_flows, projected_saving, projection_words, hash_of_rates = [], None, None, "-"
        counterfactual = _("none: the agreement has no business_case section")
        notes.append(_(
            "Savings are not measured: the agreement has no business_case section (no benefit rates, no counterfactual), "
            "so this case shows only the outcome payments and course costs."
        ))
    if not c.costs:
        notes.append(_("No course costs: the agreement names none, so none are counted."))

    by = defaultdict(lambda: [ZERO, ZERO, ZERO])  # month -> costs (all), municipal payments, savings
    for *_rest, (day, amount) in costs:
        by[month_of(day)][0] += amount
    for day, amount in payment_flows:
        by[month_of(day)][1] += amount
    for day, amount in savings_flows:
        by[month_of(day)][2] += amount
    municipal_cost_by = defaultdict(lambda: ZERO)
    for day, amount in municipal_costs:
        municipal_cost_by[month_of(day)] += amount
    flows = [(d, a) for d, a in savings_flows] + [(d, -a) for d, a in payment_flows] + [(d, -a) for d, a in municipal_costs]
    discounted_by = defaultdict(lambda: ZERO)
    for (day, _amount), pv in zip(flows, present_values(flows, rate, c.term.start, convention)):
        discounted_by[month_of(day)] += pv
    months = months_between(min(by), max(by)) if by else []
    net_by = {m: by[m][2] - by[m][1] - municipal_cost_by[m] for m in months}
    cum_net = cumulative(net_by, months)
    rows = []
    cc = cp = cs = ZERO
    for m, cn in zip(months, cum_net):
        cc, cp, cs = cc + by[m][0], cp + by[m][1], cs + by[m][2]
        rows.append(
            MonthRow(
                month=m, course_costs=by[m][0], outcome_payments=by[m][1], savings=round_money(by[m][2]), net=round_money(net_by[m]),
                cumulative_course_costs=cc, cumulative_outcome_payments=cp, cumulative_savings=round_money(cs), cumulative_net=round_money(cn),
                discounted_net=round_money(discounted_by[m]),
            )
        )

    total_costs = cost_citizen + cost_company
    savings_total = round_money(sum((a for _, a in savings_flows), ZERO))
    municipal_payments = sum((a for _, a in payment_flows), ZERO)
    municipal_cost_total = sum((a for _, a in municipal_costs), ZERO)
    net = savings_total - municipal_payments - municipal_cost_total
    be = break_even_month(months, cum_net)
    if c.business_case is not None:
        projection = c.business_case.projection
        cover, finances, answer = _answer(
            c.municipality.name, N_("the municipality's"), as_of, savings_total, total_costs, municipal_payments + municipal_cost_total, be,
            projected_saving, projection.years_from_enrolment if projection else None, currency=c.currency,
        )
    else:
        cover, finances = None, None
        answer = _(
            "{name}: savings not measured (the agreement has no business_case section); to {date} the municipality's "
            "outcome payments and own course costs came to {paid}."
        ).format(name=c.municipality.name, date=format_date(as_of), paid=format_money(municipal_payments + municipal_cost_total, c.currency))
    case = MunicipalityCase(
        contract=settlement.contract,
        currency=c.currency,
        municipality=c.municipality.name,
        counterfactual=counterfactual,
        benefit_rates_hash=hash_of_rates,
        participants=len(admitted["participant"]),
        companies=len(admitted["company"]),
        course_costs_citizen=cost_citizen,
        course_costs_company=cost_company,
        course_costs_total=total_costs,
        municipal_course_costs=municipal_cost_total,
        outcome_payments=settlement.by_payer,
        municipal_outcome_payments=municipal_payments,
        savings=savings_total,
        net_result=net,
        projected_savings=projected_saving,
        projected_net_result=net + projected_saving if projected_saving is not None else None,
        projection=projection_words,
        npv=npv(flows, rate, c.term.start, convention),
        discounting=discounting_words(convention, rate, c.term.start, clause),
        npv_by_party=_npv_by_party(loaded, costs, settlement, savings_flows, rate, convention),
        break_even_month=be,
        savings_cover_course_costs=cover,
        finances_the_courses=finances,
        answer=answer,
        months=rows,
        investor=_investor(loaded, costs, settlement),
        targets=settlement.targets,
        notes=notes,
    )
    return case, settlement


def _npv_by_party(loaded: LoadedContract, costs, settlement: Settlement, savings_flows: list[Flow], rate: Decimal, convention: str) -> list[PartyNPV]:
    """Every party's flows: the parts of outcome payments it pays (out) and receives (in), the course
    costs it carries (out) and, for the municipality's party, the savings (in); each NPV'd like the
    municipality's own. The savings go to the first of the municipality's parties in the agreement."""
    c = loaded.contract
    mine = municipal_parties(loaded)
    saver = next((pid for pid in c.parties if pid in mine), None)
    flows: dict[str, list[Flow]] = {pid: [] for pid in c.parties}
    totals = {pid: [ZERO, ZERO, ZERO, ZERO] for pid in c.parties}  # paid, received, course costs, savings
    for x in settlement.lines:
        for pa in x.payers:
            if pa.amount:
                flows[pa.party].append((x.due_date, -pa.amount))
                totals[pa.party][0] += pa.amount
        if x.amount:
            flows[x.payee].append((x.due_date, x.amount))
            totals[x.payee][1] += x.amount
    for _cid, _side, payer, (day, amount) in costs:
        flows[payer].append((day, -amount))
        totals[payer][2] += amount
    if saver is not None:
        flows[saver].extend(savings_flows)
        totals[saver][3] = round_money(sum((a for _, a in savings_flows), ZERO))
    out = []
    for pid, party in c.parties.items():
        paid, received, course, saved = totals[pid]
        out.append(
            PartyNPV(
                party=pid, name=party.name, outcome_payments_paid=paid, outcome_payments_received=received, course_costs=course,
                savings=saved, net=saved + received - paid - course, npv=npv(flows[pid], rate, c.term.start, convention),
            )
        )
    return out


def _milestones_met(result) -> set[str]:
    """The milestones a participant has met (a simulation's lighter results: those it was paid for)."""
    if hasattr(result, "milestones"):
        return {m.milestone for m in result.milestones if m.met}
    return {p.milestone for p in result.payments}


def _answer(
    name: str,
    whose: str,
    as_of: date,
    savings: Decimal,
    costs: Decimal,
    paid: Decimal,
    break_even: str | None,
    projected: Decimal | None = None,
    years: int | None = None,
    *,
    currency: str,
) -> tuple[str | None, bool, str]:
    """(savings as a share of the course costs, whether they finance the courses, the verdict).

    The savings finance the courses when they are at least what the municipality paid for
    them (its outcome payments and the course costs it carries): when its net result is
    zero or more. The verdict is worded from that sign, so it can never say 'yes' beside a
    negative net. With a projection, a second sentence says the same of the net with the
    projected savings added. In the current language (pbr_rules.i18n)."""
    cover = f"{(savings / costs * 100).quantize(Decimal('0.1'))} %" if costs else None
    net = savings - paid
    finances = net >= 0
    def money(amount: Decimal) -> str:
        return format_money(amount, currency)

    values = {"name": name, "whose": _(whose), "date": format_date(as_of), "savings": money(savings), "paid": money(paid)}
    if finances:
        text = _(
            "{name}: YES, the savings finance the courses: savings of {savings} to {date} exceed the {paid} {whose} "
            "outcome payments and own course costs came to, by {difference}"
        ).format(difference=money(net), **values)
        text += _("; break-even {month}.").format(month=break_even) if break_even else "."
    else:
        text = _(
            "{name}: NO, not to {date}: savings of {savings} are {difference} short of the {paid} {whose} "
            "outcome payments and own course costs came to."
        ).format(difference=money(-net), **values)
    if projected is not None:
        ahead = net + projected
        values = {"years": years, "projected": money(projected), "net": money(ahead)}
        if ahead >= 0:
            text += " " + _(
                "Projected to {years} years after enrolment: {projected} more savings, net {net}: "
                "YES, the savings are expected to finance the courses."
            ).format(**values)
        else:
            text += " " + _(
                "Projected to {years} years after enrolment: {projected} more savings, net {net}: "
                "NO, the savings are not expected to finance the courses."
            ).format(**values)
    return cover, finances, text


def savings_flows_of(sav) -> list[Flow]:
    """The cohort's savings as dated flows (one a month, on the month's last day, from the savings module)."""
    return month_end_flows(sav.by_month)


def month_end_flows(by_month: dict[str, Decimal]) -> list[Flow]:
    """Amounts by month 'YYYY-MM' as flows on each month's last day, in month order."""
    out = []
    for month, amount in sorted(by_month.items()):
        y, m = map(int, month.split("-"))
        nxt = date(y + (m == 12), m % 12 + 1, 1)
        out.append((date.fromordinal(nxt.toordinal() - 1), amount))
    return out


def _investor(loaded: LoadedContract, costs, settlement: Settlement) -> InvestorView | None:
    terms = loaded.contract.investor
    if terms is None:
        return None
    sides = {Side(s) for s in terms.finances}
    invest = [f for _, side, _, f in costs if side in sides]
    receipts = [(x.due_date, pa.amount) for x in settlement.lines for pa in x.payers if pa.party in terms.repaid_from and pa.amount]
    steps = waterfall(invest, receipts, terms.return_cap)
    invested = sum((s.invested for s in steps), ZERO)
    principal = sum((s.principal_repaid for s in steps), ZERO)
    ret = sum((s.return_paid for s in steps), ZERO)
    retained = sum((s.retained for s in steps), ZERO)
    position, worst = ZERO, ZERO
    flows = []
    by_month: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO, ZERO, ZERO])
    for s in steps:
        position += s.principal_repaid + s.return_paid - s.invested
        worst = min(worst, position)
        flows.append((s.day, s.principal_repaid + s.return_paid - s.invested))
        row = by_month[month_of(s.day)]
        row[0] += s.invested
        row[1] += s.principal_repaid
        row[2] += s.return_paid
        row[3] += s.retained
    rate = irr(flows)
    return InvestorView(
        reference=terms.reference,
        invested=invested,
        principal_repaid=principal,
        return_paid=ret,
        retained_by_payers=retained,
        capital_at_risk=-worst,
        money_multiple=str(((principal + ret) / invested).quantize(Decimal("0.0001"))) if invested else None,
        irr=str(rate) if rate is not None else None,
        by_month=[
            {"month": m, "invested": money_str(v[0]), "principal_repaid": money_str(v[1]), "return_paid": money_str(v[2]), "retained": money_str(v[3])}
            for m, v in sorted(by_month.items())
        ],
    )


def reported_agreements(contracts: list[LoadedContract], histories: list[History]) -> list[LoadedContract]:
    """The agreements a business case of ``histories`` reports on and adds up: those the histories
    carry the municipality of (all of them when none does). Their language is the report's."""
    return _counted(contracts, split_by_municipality(contracts, histories)[0])


def _counted(contracts: list[LoadedContract], groups: dict[str, list[History]]) -> list[LoadedContract]:
    return [lc for lc in contracts if groups[lc.contract.id]] or contracts


def split_by_municipality(contracts: list[LoadedContract], histories: list[History]) -> tuple[dict[str, list[History]], list[str]]:
    """Histories by the contract whose municipality code they carry, and the ones no agreement covers."""
    by_code = {lc.contract.municipality.code: lc.contract.id for lc in contracts}
    out: dict[str, list[History]] = {lc.contract.id: [] for lc in contracts}
    stray = []
    for h in histories:
        cid = by_code.get(h.municipality)
        if cid is None:
            sid = h.participant if isinstance(h, ParticipantHistory) else h.company
            text = _("participant {id} (municipality {code})") if h.kind == "participant" else _("company {id} (municipality {code})")
            stray.append(text.format(id=sid, code=h.municipality))
        else:
            out[cid].append(h)
    return out, sorted(stray)


def business_case(
    contracts: list[LoadedContract],
    histories: list[History],
    as_of: date,
    discount_rate: Decimal | None,
    *,
    comparison: list[ParticipantHistory] | None = None,
    workers: int | None = 1,
    on_progress=None,
    executor=None,
) -> BusinessCaseReport:
    """The business case of every municipality with histories, and of the programme.

    ``discount_rate`` None: each agreement's own (``business_case.discounting.rate``, else 4 %);
    a rate given overrides them all. ``on_progress(done, total)`` is told after each municipality.
    """
    # Amounts of agreements in different currencies are never added up into one programme. Only
    # the agreements the cohort has histories for are added up: a contracts folder may hold
    # agreements in several currencies (the bundled examples in GBP beside the Danish ones),
    # and one with no histories adds nothing.
    groups, left_out = split_by_municipality(contracts, histories)
    counted = _counted(contracts, groups)
    currency = one_currency([(lc.contract.id, lc.contract.currency) for lc in counted]) if counted else DEFAULT_CURRENCY
    cases = []
    todo = [lc for lc in contracts if groups[lc.contract.id]]
    for lc in sorted(contracts, key=lambda x: x.contract.municipality.code):
        hs = groups[lc.contract.id]
        if not hs:
            continue
        case, _settlement = municipality_case(lc, hs, as_of, discount_rate, comparison=comparison, workers=workers, executor=executor)
        cases.append(case)
        if on_progress:
            on_progress(len(cases), len(todo))
    programme = _programme(cases, as_of, contracts) if len(cases) > 1 else None
    lines = [c.answer for c in cases] + ([programme.answer] if programme else [])
    used = [lc for lc in contracts if groups[lc.contract.id]]
    rates = {discounting_of(lc, discount_rate)[1] for lc in used} or {discount_rate if discount_rate is not None else Decimal(DEFAULT_DISCOUNT_RATE)}
    named = any(lc.contract.business_case is not None and lc.contract.business_case.discounting is not None for lc in used)
    extra = {"conventions": NAMED_CONVENTIONS} if named else {}
    return BusinessCaseReport(
        as_of=as_of, discount_rate=str(rates.pop()) if len(rates) == 1 else None, currency=currency, municipalities=cases, programme=programme,
        answer="\n".join(lines), left_out=left_out, **extra,
    )



def _horizon(lc: LoadedContract) -> int | None:
    bc = lc.contract.business_case
    return bc.projection.years_from_enrolment if bc is not None and bc.projection is not None else None


def _programme(cases: list[MunicipalityCase], as_of: date, contracts: list[LoadedContract]) -> MunicipalityCase:
    def total(attr):
        return sum((getattr(c, attr) for c in cases), ZERO)

    all_months = [r.month for c in cases for r in c.months]
    months = months_between(min(all_months), max(all_months)) if all_months else []
    by = defaultdict(lambda: [ZERO, ZERO, ZERO, ZERO, ZERO])
    for c in cases:
        for r in c.months:
            b = by[r.month]
            b[0] += r.course_costs
            b[1] += r.outcome_payments
            b[2] += r.savings
            b[3] += r.net
            b[4] += r.discounted_net
    cum_net = cumulative({m: by[m][3] for m in months}, months)
    rows, cc, cp, cs = [], ZERO, ZERO, ZERO
    for m, cn in zip(months, cum_net):
        cc, cp, cs = cc + by[m][0], cp + by[m][1], cs + by[m][2]
        rows.append(MonthRow(month=m, course_costs=by[m][0], outcome_payments=by[m][1], savings=by[m][2], net=by[m][3],
                             cumulative_course_costs=cc, cumulative_outcome_payments=cp, cumulative_savings=cs, cumulative_net=cn,
                             discounted_net=by[m][4]))
    payers: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for c in cases:
        for p in c.outcome_payments:
            payers[p.party] += p.amount
    costs, savings, net = total("course_costs_total"), total("savings"), total("net_result")
    be = break_even_month(months, cum_net)
    paid = total("municipal_outcome_payments") + total("municipal_course_costs")
    # Projected for the programme only when every municipality projects, to the same horizon.
    horizons = {_horizon(lc) for lc in contracts if lc.contract.id in {c.contract.id for c in cases}}
    years = horizons.pop() if len(horizons) == 1 else None
    projected = sum((c.projected_savings for c in cases), ZERO) if years is not None and all(c.projected_savings is not None for c in cases) else None
    currency = one_currency([(c.contract.id, c.currency) for c in cases])
    measured = [c for c in cases if c.finances_the_courses is not None]
    cover, finances, answer = _answer(_("Programme"), N_("the municipalities'"), as_of, savings, costs, paid, be, projected, years, currency=currency)
    if not measured:
        cover, finances = None, None
        answer = _(
            "{name}: savings not measured (no agreement has a business_case section); to {date} the municipalities' "
            "outcome payments and own course costs came to {paid}."
        ).format(name=_("Programme"), date=format_date(as_of), paid=format_money(paid, currency))
    notes = []
    if len(measured) < len(cases):
        unmeasured = ", ".join(c.municipality for c in cases if c.finances_the_courses is None)
        notes.append(_("Savings are not measured for {names} (no business_case section): the programme's savings leave them out.").format(names=unmeasured))
    parties: dict[str, list] = {}
    for c in cases:
        for p in c.npv_by_party:
            row = parties.setdefault(p.party, [p.name, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO])
            if p.name not in row[0].split("; "):
                row[0] += "; " + p.name
            for i, v in enumerate((p.outcome_payments_paid, p.outcome_payments_received, p.course_costs, p.savings, p.net, p.npv), start=1):
                row[i] += v
    conventions = sorted({c.discounting for c in cases})
    first = cases[0].contract
    return MunicipalityCase(
        contract=first.model_copy(update={"id": "programme", "version": "-", "content_hash": "-", "municipality": "all"}),
        currency=currency,
        municipality=_("The programme (all municipalities)"),
        counterfactual="; ".join(sorted({c.counterfactual for c in cases})),
        benefit_rates_hash="; ".join(sorted({c.benefit_rates_hash for c in cases})),
        participants=sum(c.participants for c in cases),
        companies=sum(c.companies for c in cases),
        course_costs_citizen=total("course_costs_citizen"),
        course_costs_company=total("course_costs_company"),
        course_costs_total=costs,
        municipal_course_costs=total("municipal_course_costs"),
        outcome_payments=[PartyAmount(party=k, amount=v) for k, v in sorted(payers.items())],
        municipal_outcome_payments=total("municipal_outcome_payments"),
        savings=savings,
        net_result=net,
        projected_savings=projected,
        projected_net_result=net + projected if projected is not None else None,
        projection="; ".join(sorted({c.projection for c in cases if c.projection})) or None if projected is not None else None,
        npv=total("npv"),
        discounting=conventions[0] if len(conventions) == 1 else _("the sum of each municipality's NPV under its own agreement's discounting"),
        npv_by_party=[
            PartyNPV(party=pid, name=v[0], outcome_payments_paid=v[1], outcome_payments_received=v[2], course_costs=v[3], savings=v[4], net=v[5], npv=v[6])
            for pid, v in sorted(parties.items())
        ],
        break_even_month=be,
        savings_cover_course_costs=cover,
        finances_the_courses=finances,
        answer=answer,
        months=rows,
        notes=notes,
    )
