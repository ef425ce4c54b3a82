"""Formatting results for people and files: tables, deterministic JSON, CSV.

Owns output formats only; computes nothing. Used by the CLI (and the API for JSON).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Iterable

from pbr_rules.i18n import (
    N_,
    _,
    current_language,
    format_amount,
    format_date,
    format_money,
    format_money_whole,
    format_percent,
    format_whole,
    money_header,
)
from pbr_rules.models.results import EvaluationResult
from pbr_rules.reports.exports import export_csv

if TYPE_CHECKING:
    from pbr_rules.finance import RatesCheck


def to_json(data: Any) -> str:
    """Deterministic JSON: same input, same bytes (field order fixed by the models, UTF-8, 2-space indent).

    A model is written by pydantic's own serialiser, which gives exactly the bytes of
    ``json.dumps(model_dump(mode="json"), ensure_ascii=False, indent=2)`` about five times faster."""
    if hasattr(data, "model_dump_json"):
        return data.model_dump_json(indent=2) + "\n"
    if isinstance(data, list):
        data = [d.model_dump(mode="json") if hasattr(d, "model_dump") else d for d in data]
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)] if rows else [len(h) for h in header]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(header, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join(str(x).ljust(w) for x, w in zip(r, widths)).rstrip())
    return "\n".join(lines)


def result_text(r: EvaluationResult, *, explain: bool = False) -> str:
    out = []
    c = r.contract
    out.append(f"Contract {c.id} version {c.version} (content {c.content_hash[:12]}), as of {r.as_of}")
    if r.horizon != r.as_of:
        out.append(f"Horizon {r.horizon} (exit): nothing after it counts")
    group = f" ({r.subject.target_group})" if r.subject.target_group else ""
    verdict = "ELIGIBLE" if r.eligibility.eligible else "NOT ELIGIBLE"
    out.append(f"{r.subject.kind.capitalize()} {r.subject.id}{group}: {verdict}")
    if explain or not r.eligibility.eligible:
        for rule in r.eligibility.rules:
            mark = "pass" if rule.passed else "FAIL"
            out.append(f"  {mark}  {rule.rule:<17} {rule.detail}  [{rule.reference}]")
    out.append("")
    rows = []
    for m in r.milestones:
        if m.met:
            dates = ", ".join(str(o.met_on) for o in m.occurrences[:4]) + (" ..." if len(m.occurrences) > 4 else "")
            status = f"met x{len(m.occurrences)}: {dates}" if len(m.occurrences) > 1 else f"met {dates}"
        else:
            status = "not met" + (f": {m.progress}" if m.progress else "")
        rows.append([m.milestone, status, m.reference])
    out.append(table(rows, ["milestone", "status", "clause"]))
    if explain:
        out.append("")
        for m in r.milestones:
            out.append(f"{m.milestone} — {m.description} [{m.reference}]")
            for o in m.occurrences:
                amended = f" (definition from {o.definition_from}, {o.definition_reference})" if o.definition_from else ""
                out.append(f"  #{o.occurrence} met {o.met_on}{amended}")
                for e in o.evidence:
                    out.append(f"      {e.source}: {e.description}")
            if m.why_not:
                out.append(f"  why not: {m.why_not}")
            if m.progress and m.met:
                out.append(f"  next: {m.progress}")
    out.append("")
    if r.payments:
        rows = []
        for p in r.payments:
            note = f" capped ({p.cap.cap}, {p.cap.reference})" if p.cap else ""
            if p.max_total:
                note = f" capped (max_total {p.max_total.limit:,.2f}, {p.max_total.reference})" + note
            priced = f", priced on the {p.tariff.priced_by} date {p.tariff.priced_on}" if p.tariff.priced_by else ""
            rows.append(
                [
                    str(p.trigger_date),
                    str(p.due_date),
                    f"{p.milestone}#{p.occurrence}",
                    f"{p.amount:,.2f}{note}",
                    f"{p.tariff.value:,.2f} from {p.tariff.effective}{priced} ({p.tariff.reference})",
                    p.reference,
                    " / ".join(f"{x.party} {x.amount:,.2f}" for x in p.payers),
                    p.payee,
                ]
            )
        cur = r.currency
        out.append(
            table(rows, ["triggered", "due", "milestone", money_header("amount", cur, "en"), money_header("tariff", cur, "en"), "clause", money_header("payers", cur, "en"), "payee"])
        )
        for p in r.payments:
            if p.formula is not None:
                f = p.formula
                values = ", ".join(f"{k} = {v}" for k, v in f.values.items())
                bound = {"floor": " raised to the floor", "cap": " cut to the cap", "zero": " below 0: nothing is paid"}.get(f.bound or "", "")
                out.append(f"  {p.milestone}#{p.occurrence} {f.expression} over {f.period_from}..{f.period_to}: {values}; result {f.result:,.2f}{bound} -> {p.tariff.value:,.2f}")
        subject = sorted({s for p in r.payments for s in p.subject_to})
        if subject:
            out.append(f"Subject in settlement to: {', '.join(subject)}")
    else:
        out.append("No payments triggered.")
    out.append(f"Total {format_money(r.total, r.currency, 'en')}")
    return "\n".join(out) + "\n"


PAYMENT_COLUMNS = [
    "payment_id", "contract", "content_hash", "subject_kind", "subject", "target_group", "milestone", "occurrence",
    "trigger_date", "due_date", "amount", "tariff_value", "tariff_effective", "tariff_reference", "clause",
    "payee", "payers", "capped_by", "subject_to", "currency",
]


def payments_csv(results: Iterable[EvaluationResult]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(PAYMENT_COLUMNS)
    for r in results:
        buf.write(csv_rows(r))
    return buf.getvalue()


def csv_rows(r: EvaluationResult) -> str:
    """One result's payments as rows of ``payments_csv`` (no header)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for p in r.payments:
        w.writerow(
            [
                p.payment_id, r.contract.id, r.contract.content_hash, r.subject.kind, r.subject.id,
                r.subject.target_group or "", p.milestone, p.occurrence, p.trigger_date, p.due_date,
                p.amount, p.tariff.value, p.tariff.effective, p.tariff.reference, p.reference, p.payee,
                ";".join(f"{x.party}={x.amount}" for x in p.payers),
                ";".join(f"{x.cap}:{x.reduced_by}" for x in (p.max_total, p.cap) if x),
                ";".join(p.subject_to),
                r.currency,
            ]
        )
    return buf.getvalue()


SETTLEMENT_ORDER = N_(
    "trigger date, then subject id, then milestone, then occurrence; caps in the order: "
    "per participant (or company), per milestone line, per payer, per contract"
)
SETTLEMENT_ORDER_WITH_MAX_TOTAL = N_(
    "trigger date, then subject id, then milestone, then occurrence; caps in the order: the tariff's maximum total "
    "per participant (or company), per participant (or company), per milestone line, per payer, per contract"
)
# What reduced a payment and a line's status, as shown to a reader (English shows the ids).
REASONS = {
    "volume_tier": N_("volume_tier"),
    "cap:max_total": N_("cap:max_total"),
    "cap:per_participant": N_("cap:per_participant"),
    "cap:per_company": N_("cap:per_company"),
    "cap:per_milestone": N_("cap:per_milestone"),
    "cap:per_payer": N_("cap:per_payer"),
    "cap:per_contract": N_("cap:per_contract"),
    "cohort_size": N_("cohort_size"),
    "cohort_net": N_("cohort_net"),
}
WORDS = {
    "paid": N_("paid"), "reduced": N_("reduced"), "refused": N_("refused"),
    "new": N_("new"), "adjusted": N_("adjusted"), "clawback": N_("clawback"),
}


def _word(table: dict[str, str], key: str) -> str:
    return _(table[key]) if key in table else key


def settlement_text(s, *, details: bool = False) -> str:
    """A settlement, answer first: what is settled and due, what was not paid and why (grouped
    by reason, with counts), by payer, the schedule; each reduced payment only with ``details``.
    In the current language (pbr_rules.i18n)."""
    c = s.contract
    cur = s.currency

    def money(amount: Decimal) -> str:
        return format_money(amount, cur)

    out = [
        _("Settlement of {contract} version {version} (content {content}) as of {as_of}").format(
            contract=c.id, version=c.version, content=c.content_hash[:12], as_of=format_date(s.as_of)
        )
    ]
    if s.previous_as_of:
        out.append(_("Changes since the settlement as of {date}").format(date=format_date(s.previous_as_of)))
    out.append(
        _("Settled to date {total}; due now {due_now}; not paid because of caps, tiers or the cohort size {refused}").format(
            total=money(s.total), due_now=money(s.due_now), refused=money(s.refused)
        )
    )
    status = {k: sum(1 for x in s.lines if x.status == k) for k in ("paid", "reduced", "refused")}
    out.append(
        _("{n} payments: {paid} paid in full, {reduced} reduced, {refused} not paid (0 after caps, tiers or the cohort size)").format(
            n=len(s.lines), paid=status["paid"], reduced=status["reduced"], refused=status["refused"]
        )
    )
    clawbacks = [c for c in s.changes if c.kind == "clawback"]
    if clawbacks:
        back = money(-sum((c.due_now for c in clawbacks), Decimal(0)))
        out.append(_("Claw-backs: {n} payments, {amount} to be paid back").format(n=len(clawbacks), amount=back))
    out.extend(t.answer for t in s.targets)
    out.append("")
    reasons: dict[tuple[str, str], list] = {}
    for x in s.lines:
        for a in x.adjustments:
            entry = reasons.setdefault((a.kind, a.reference), [0, Decimal(0)])
            entry[0] += 1
            entry[1] += a.change
    if reasons:
        out.append(_("Payments reduced or refused, by reason (a payment may have more than one)"))
        rows = [
            [_word(REASONS, kind), str(n), format_amount(change), ref]
            for (kind, ref), (n, change) in sorted(reasons.items(), key=lambda x: (-x[1][0], x[0]))
        ]
        out.append(table(rows, [_("reason"), _("payments"), money_header(_("change"), cur), _("clause")]))
        out.append("")
    out.append(table([[p.party, format_amount(p.amount)] for p in s.by_payer], [_("payer"), money_header(_("settled to date"), cur)]))
    out.append("")
    out.append(_("Schedule of what falls due now"))
    if s.schedule:
        out.append(
            table(
                [[r.period, r.payer, r.payee, format_amount(r.amount)] for r in s.schedule],
                [_("period"), _("payer"), _("payee"), money_header(_("amount"), cur)],
            )
        )
    elif s.previous_as_of:
        out.append(_("Nothing new falls due since the settlement as of {date}.").format(date=format_date(s.previous_as_of)))
    else:
        out.append(_("Nothing new falls due."))
    out.append("")
    out.append(_("Order: {order}").format(order=_(s.order) if s.order in (SETTLEMENT_ORDER, SETTLEMENT_ORDER_WITH_MAX_TOTAL) else s.order))
    reduced = [x for x in s.lines if x.adjustments]
    adjusted = [c for c in s.changes if c.kind != "new"]
    if not details:
        if reduced or adjusted:
            out.append(_("Each reduced or refused payment, adjustment and claw-back: add --details."))
        return "\n".join(out) + "\n"
    out.append("")
    if reduced:
        rows = [
            [
                x.payment_id, _word(WORDS, x.status), format_amount(x.gross), format_amount(x.amount),
                "; ".join(f"{_word(REASONS, a.kind)} {format_amount(a.change)} ({a.reference})" for a in x.adjustments),
            ]
            for x in reduced
        ]
        out.append(_("Payments reduced or refused (caps, volume tiers, cohort size), as settled to date"))
        out.append(
            table(rows, [_("payment"), _("status"), money_header(_("gross"), cur), money_header(_("amount"), cur), money_header(_("adjustments"), cur)])
        )
        out.append("")
    if adjusted:
        rows = [
            [c.payment_id, _word(WORDS, c.kind), format_amount(c.previous), format_amount(c.current), format_amount(c.due_now), c.period]
            for c in adjusted
        ]
        out.append(_("Adjustments and claw-backs"))
        out.append(
            table(rows, [_("payment"), _("change"), money_header(_("before"), cur), money_header(_("now"), cur), money_header(_("due now"), cur), _("period")])
        )
        out.append("")
    return "\n".join(out)


SETTLEMENT_COLUMNS = [
    "payment_id", "subject_kind", "subject", "milestone", "occurrence", "trigger_date", "due_date", "period", "status", "gross", "amount",
    "payee", "payers", "adjustments", "reference", "tariff_line", "tariff_value", "tariff_effective", "tariff_reference", "currency",
]


def settlement_tables(s, decimal_mark: str = ".") -> dict[str, tuple[list[str], list[list]]]:
    """The settlement as typed tables (amounts Decimal, dates dates) for CSV and xlsx exports; each
    row names the currency of its amounts (its last column). A payment's row names the clause of
    its milestone, the tariff that priced it (line, value, effective date, clause) and each
    adjustment with its clause; the amounts inside the payers' and adjustments' text use
    ``decimal_mark`` (',' for the Danish CSV dialect, as its amount columns)."""
    cur = s.currency

    def amount(v: Decimal) -> str:
        return format(v, "f").replace(".", decimal_mark)

    payments = [
        [
            x.payment_id, x.subject_kind, x.subject, x.milestone, x.occurrence, x.trigger_date, x.due_date, x.period, x.status,
            x.gross, x.amount, x.payee, ";".join(f"{p.party}={amount(p.amount)}" for p in x.payers),
            ";".join(f"{a.kind}:{amount(a.change)} ({a.reference})" for a in x.adjustments), x.reference,
            x.tariff.line, x.tariff.value, x.tariff.effective, x.tariff.reference, cur,
        ]
        for x in s.lines
    ]
    return {
        "payments": (SETTLEMENT_COLUMNS, payments),
        "schedule": (["period", "payer", "payee", "amount", "currency"], [[r.period, r.payer, r.payee, r.amount, cur] for r in s.schedule]),
        "changes": (
            ["payment_id", "kind", "previous", "current", "due_now", "payee", "period", "reason", "currency"],
            [[c.payment_id, c.kind, c.previous, c.current, c.due_now, c.payee, c.period, c.reason, cur] for c in s.changes],
        ),
        "by_payer": (["payer", "settled", "currency"], [[p.party, p.amount, cur] for p in s.by_payer]),
        "by_payee": (["payee", "settled", "currency"], [[p.party, p.amount, cur] for p in s.by_payee]),
        **({"targets": (TARGET_COLUMNS, [_target_row(None, t) for t in s.targets])} if s.targets else {}),
    }


TARGET_COLUMNS = ["subjects", "target", "by", "counted", "difference", "status", "final", "cohort_size", "reference", "answer"]


def _target_row(municipality: str | None, t) -> list:
    row = [t.subjects, t.target, t.by, t.counted, t.difference, t.status, t.final, t.cohort_size, t.reference, t.answer]
    return row if municipality is None else [municipality, *row]


def settlement_csv(s, dialect: str = "en") -> str:
    """Every settled payment, one row each (the ``payments`` table of :func:`settlement_tables`)."""
    return export_csv(*settlement_tables(s, "," if dialect == "da" else ".")["payments"], dialect=dialect)


def _percent_text(text: str | None) -> str:
    """'123.4 %' (as the business case stores it) in the current language: '123,4 %' in Danish."""
    if text is None:
        return "-"
    return format_percent(Decimal(text.replace("%", "").strip()) / 100)


def rate_text(rate: str | Decimal) -> str:
    """An annual rate as a percentage: '0.04' -> '4 %' ('4,5 %' in Danish for 0.045)."""
    pct = (Decimal(rate) * 100).normalize()
    decimals = max(0, -pct.as_tuple().exponent)
    return format_percent(Decimal(rate), decimals=min(decimals, 2))


def irr_text(investor) -> str:
    """The investors' IRR as a percentage, or in words when there is none: no receipts at all,
    or a loss so deep that no rate above -99 % a year balances the flows."""
    if investor.irr is not None:
        return format_percent(Decimal(investor.irr), decimals=1)
    if investor.principal_repaid + investor.return_paid == 0:
        return _("none: the investors get nothing back")
    if investor.invested == 0:
        return _("none: the investors put nothing in")
    return _("below -99 % a year: the investors get back only a small part of what they put in")


def multiple_text(multiple: str | None) -> str:
    """The money multiple ('0.9981'), with a decimal comma in Danish."""
    if multiple is None:
        return "-"
    return format_decimal_text(Decimal(multiple), 4)


def format_decimal_text(value: Decimal, decimals: int) -> str:
    text = f"{value:,.{decimals}f}"
    if current_language() == "da":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text


def business_case_text(r) -> str:
    """The business case, answer first: one verdict per municipality and for the programme,
    then the table (savings realised to date and projected shown apart), the counterfactuals,
    projections and investor views. In the current language (pbr_rules.i18n)."""
    if r.discount_rate is not None:
        out = [_("Business case as of {date}, discount rate {rate} a year").format(date=format_date(r.as_of), rate=rate_text(r.discount_rate)), ""]
    else:
        out = [_("Business case as of {date}, discount rates as each agreement names them").format(date=format_date(r.as_of)), ""]
    out.append(_("Can the savings finance the courses?"))
    out.extend(r.answer.splitlines())
    out.append("")
    cases = list(r.municipalities) + ([r.programme] if r.programme else [])
    targets = [t.answer for c in r.municipalities for t in c.targets]
    if targets:
        out.append(_("Targets"))
        out.extend(f"{c.municipality}: {t.answer}" for c in r.municipalities for t in c.targets)
        out.append("")
    projected = any(c.projected_savings is not None for c in cases)
    cur = r.currency
    rows = []
    for c in cases:
        row = [
            c.municipality, str(c.participants), str(c.companies), format_whole(c.course_costs_total),
            format_whole(c.municipal_outcome_payments + c.municipal_course_costs), format_whole(c.savings), format_whole(c.net_result),
        ]
        if projected:
            row += [
                "-" if c.projected_savings is None else format_whole(c.projected_savings),
                "-" if c.projected_net_result is None else format_whole(c.projected_net_result),
            ]
        row += [format_whole(c.npv), c.break_even_month or _("none"), _percent_text(c.savings_cover_course_costs)]
        rows.append(row)
    header = [_("municipality"), _("participants"), _("companies")] + [
        money_header(_(h), cur) for h in (N_("course costs"), N_("paid by the municipality"), N_("savings to date"), N_("net to date"))
    ]
    if projected:
        header += [money_header(_("projected savings"), cur), money_header(_("projected net"), cur)]
    header += [money_header(_("NPV"), cur), _("break-even"), _("savings/costs")]
    out.append(table(rows, header))
    out.append(_("paid by the municipality: its outcome payments and the course costs it carries itself; net = savings - paid."))
    out.append("")
    for c in cases:
        if c.notes:
            out.extend(f"{c.municipality}: {note}" for note in c.notes)
    if any(c.notes for c in cases):
        out.append("")
    out.append(_("NPV by party and by year"))
    for c in cases:
        out.append(_("{municipality}: discounting {words}").format(municipality=c.municipality, words=c.discounting))
        years = npv_by_year(c)
        if years:
            out.append("  " + "; ".join(f"{y} {format_whole(v)}" for y, v in years) + " = " + format_whole(c.npv))
        rows = [
            [p.party, format_whole(p.outcome_payments_paid), format_whole(p.outcome_payments_received), format_whole(p.course_costs),
             format_whole(p.savings), format_whole(p.net), format_whole(p.npv)]
            for p in c.npv_by_party
        ]
        if rows:
            header = [_("party"), _("pays"), _("receives"), _("course costs"), _("savings"), _("net"), _("NPV")]
            out.extend("  " + line for line in table(rows, header).splitlines())
    out.append(_("NPV by year: the months' discounted nets summed by calendar year (each month rounded on its own)."))
    out.append("")
    for c in r.municipalities:
        out.append(_("{municipality}: counterfactual: {words}").format(municipality=c.municipality, words=c.counterfactual))
        if c.projection:
            out.append("  " + _("projection: {words}").format(words=c.projection))
        if c.investor:
            i = c.investor
            out.append(
                _(
                    "  investor view ({reference}): invested {invested}, repaid {repaid} + return {returned}, "
                    "retained by payers {retained}; multiple {multiple}, IRR {irr}, capital at risk {at_risk}"
                ).format(
                    reference=i.reference, invested=format_money_whole(i.invested, cur), repaid=format_money_whole(i.principal_repaid, cur),
                    returned=format_money_whole(i.return_paid, cur), retained=format_money_whole(i.retained_by_payers, cur),
                    multiple=multiple_text(i.money_multiple), irr=irr_text(i), at_risk=format_money_whole(i.capital_at_risk, cur),
                )
            )
    if r.left_out:
        out.append(_("Left out (no agreement for their municipality): {ids}").format(ids=", ".join(r.left_out)))
    return "\n".join(out) + "\n"


def npv_by_year(c) -> list[tuple[str, Decimal]]:
    """The months' discounted nets summed by calendar year: the NPV per period, as a reader scans it."""
    years: dict[str, Decimal] = {}
    for m in c.months:
        years[m.month[:4]] = years.get(m.month[:4], Decimal(0)) + m.discounted_net
    return sorted(years.items())


BUSINESS_CASE_MONTH_COLUMNS = [
    "municipality", "month", "course_costs", "outcome_payments", "savings", "net", "cumulative_course_costs",
    "cumulative_outcome_payments", "cumulative_savings", "cumulative_net", "discounted_net", "currency",
]
BUSINESS_CASE_PARTY_COLUMNS = [
    "municipality", "party", "name", "outcome_payments_paid", "outcome_payments_received", "course_costs", "savings", "net", "npv", "currency",
]
BUSINESS_CASE_SUMMARY_COLUMNS = [
    "municipality", "participants", "companies", "course_costs", "municipal_course_costs", "municipal_outcome_payments",
    "savings", "net_result", "projected_savings", "projected_net_result", "npv", "break_even_month", "savings_cover_course_costs",
    "finances_the_courses", "answer", "currency",
]
# xlsx number formats of the columns that are not money (a share shown as a percentage).
BUSINESS_CASE_FORMATS = {"savings_cover_course_costs": "0.0%", "money_multiple": "0.0000", "irr": "0.00%"}


def _share(text: str | None) -> Decimal | None:
    """'123.4 %' -> Decimal('1.234'): a share Excel shows as a percentage."""
    if text is None:
        return None
    return Decimal(text.replace("%", "").strip()) / 100


def business_case_tables(r) -> dict[str, tuple[list[str], list[list]]]:
    """The business case as typed tables: one row per municipality (and the programme), the months, the
    investors; each row names the currency of its amounts (its last column)."""
    cases = list(r.municipalities) + ([r.programme] if r.programme else [])
    cur = r.currency
    summary = [
        [
            c.municipality, c.participants, c.companies, c.course_costs_total, c.municipal_course_costs, c.municipal_outcome_payments,
            c.savings, c.net_result, c.projected_savings, c.projected_net_result, c.npv, c.break_even_month,
            _share(c.savings_cover_course_costs), c.finances_the_courses, c.answer, cur,
        ]
        for c in cases
    ]
    months = [
        [c.municipality, m.month, m.course_costs, m.outcome_payments, m.savings, m.net, m.cumulative_course_costs,
         m.cumulative_outcome_payments, m.cumulative_savings, m.cumulative_net, m.discounted_net, cur]
        for c in cases
        for m in c.months
    ]
    parties = [
        [c.municipality, p.party, p.name, p.outcome_payments_paid, p.outcome_payments_received, p.course_costs, p.savings, p.net, p.npv, cur]
        for c in cases
        for p in c.npv_by_party
    ]
    investors = [
        [
            c.municipality, i.reference, i.invested, i.principal_repaid, i.return_paid, i.retained_by_payers, i.capital_at_risk,
            None if i.money_multiple is None else Decimal(i.money_multiple), None if i.irr is None else Decimal(i.irr), cur,
        ]
        for c in r.municipalities
        if (i := c.investor) is not None
    ]
    return {
        "summary": (BUSINESS_CASE_SUMMARY_COLUMNS, summary),
        "months": (BUSINESS_CASE_MONTH_COLUMNS, months),
        "investors": (
            [
                "municipality", "reference", "invested", "principal_repaid", "return_paid", "retained_by_payers", "capital_at_risk",
                "money_multiple", "irr", "currency",
            ],
            investors,
        ),
        "parties": (BUSINESS_CASE_PARTY_COLUMNS, parties),
        **(
            {"targets": (["municipality", *TARGET_COLUMNS], [_target_row(c.municipality, t) for c in r.municipalities for t in c.targets])}
            if any(c.targets for c in r.municipalities)
            else {}
        ),
    }


def business_case_csv(r, dialect: str = "en") -> str:
    """The months of every municipality and the programme (the ``months`` table of :func:`business_case_tables`)."""
    return export_csv(*business_case_tables(r)["months"], dialect=dialect)


def _signed(amount: Decimal, currency: str) -> str:
    text = format_money(abs(amount), currency, "en")
    return ("+" if amount > 0 else "-" if amount < 0 else "±") + text


def what_if_text(w) -> str:
    cur = w.currency

    def money(amount: Decimal) -> str:
        return format_money(amount, cur, "en")

    def signed(amount: Decimal) -> str:
        return _signed(amount, cur)

    lines = [
        f"What-if: {w.histories} histories, {w.old_contract} -> {w.new_contract}"
        + (f", as of {w.as_of}" if w.as_of else ", each as of its extraction date"),
        f"Total: {money(w.total.old)} -> {money(w.total.new)} ({signed(w.total.change)})",
        "",
    ]
    if w.per_milestone:
        rows = [[m, money(d.old), money(d.new), signed(d.change)] for m, d in w.per_milestone.items()]
        lines += ["Milestones whose payments change:", table(rows, ["milestone", "old", "new", "change"]), ""]
    rows = [[p, money(d.old), money(d.new), signed(d.change)] for p, d in w.per_payer.items()]
    if rows:
        lines += ["Per payer:", table(rows, ["payer", "old", "new", "change"]), ""]
    if w.subjects:
        lines.append(f"Who gains or loses ({len(w.subjects)}):")
        for s in w.subjects:
            elig = "" if s.eligible_old == s.eligible_new else f", eligible {'no -> yes' if s.eligible_new else 'yes -> no'}"
            group = f" ({s.target_group})" if s.target_group else ""
            lines.append(f"  {s.subject}{group}: {money(s.total.old)} -> {money(s.total.new)} ({signed(s.total.change)}){elig}")
            for p in s.payments:
                amounts = f"{'-' if p.old_amount is None else money(p.old_amount)} -> {'-' if p.new_amount is None else money(p.new_amount)}"
                when = p.new_trigger_date or p.old_trigger_date
                note = f"; {p.note}" if p.note else ""
                lines.append(f"    {p.change:<7} {p.milestone}#{p.occurrence} {when}: {amounts}{note}")
    else:
        lines.append("No participant or company gains or loses a payment.")
    lines += ["", w.note]
    return "\n".join(lines) + "\n"


# What the commands say they are doing (Progress labels), marked for translation here.
PROGRESS_LABELS = (N_("evaluating"), N_("municipalities"), N_("recording"), N_("simulating"), N_("importing"))


class Progress:
    """Progress on standard error with elapsed and remaining time (rich), only on a terminal.

    Called as ``progress(done, total)``. Quiet when standard error is not a terminal (a pipe,
    a file, CI), so logs and captured output stay clean; ``enabled`` overrides that, and
    ``console`` sends it elsewhere (tests). The bar appears on the first call and is closed
    when ``done == total``."""

    def __init__(self, label: str, enabled: bool | None = None, *, console=None):
        self.label = label
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.console = console
        self._bar = None
        self._task = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total == 0:
            return
        if self._bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
            from rich.progress import Progress as Bar

            self._bar = Bar(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn(_("elapsed")),
                TimeElapsedColumn(),
                TextColumn(_("remaining")),
                TimeRemainingColumn(),
                console=self.console or Console(stderr=True),
                transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task(_(self.label), total=total)
        self._bar.update(self._task, completed=done, total=total)
        if done >= total:
            self._bar.stop()
            self._bar = None


def rates_check_text(check: "RatesCheck") -> str:
    """The check as plain text: a summary, the agreements, then every assumption with why and who uses it."""
    lines = [
        f"{check.path}: {check.figures} rates, {check.published} published, {len(check.assumed)} assumptions "
        f"(assumption: true)."
    ]
    lines.append("")
    if check.uses:
        lines.append("Agreements whose business case uses this table (every code that costs the municipality may be used):")
        for u in check.uses:
            lines.append(f"  {u.agreement}: {u.why}")
    else:
        lines.append("No agreement uses this table.")
    if check.other_tables:
        lines.append(f"Agreements that use another rate table: {', '.join(check.other_tables)}")
    if check.assumed:
        lines.append("")
        lines.append("Assumed figures:")
        for a in check.assumed:
            span = f"{a.effective.isoformat()} to {a.until.isoformat()}" if a.until else f"from {a.effective.isoformat()}"
            lines.append(f"  {a.code} {span}: {check.currency} {_whole(a.amount)} a {a.per}")
            lines.append(f"    why: {a.why or '(no documentation: say how the figure was estimated)'}")
            lines.append(f"    used by: {', '.join(a.used_by) if a.used_by else 'none of the agreements'}")
    lines.append("")
    used = check.used_assumptions
    if used:
        one = len(used) == 1
        lines.append(
            f"{len(used)} assumed {'figure is' if one else 'figures are'} used by an agreement: replace "
            f"{'it with a published rate (with its source)' if one else 'them with published rates (with their sources)'} "
            "before relying on the business case."
        )
    else:
        lines.append("No agreement uses an assumed figure.")
    return "\n".join(lines) + "\n"


def _whole(amount: Decimal) -> str:
    """11423.00 -> '11,423'; 2275.57 -> '2,275.57' (rates are mostly whole kroner)."""
    return f"{int(amount):,}" if amount == amount.to_integral_value() else f"{amount:,}"
