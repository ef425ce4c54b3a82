"""The ledger for people: claim and run tables, a claim's history (its exports: exports.py)."""

from __future__ import annotations

from decimal import Decimal

from pbr_rules.i18n import _, format_date, format_money
from pbr_rules.reports.text import table


def claims_text(claims: list, *, limit_hit: bool = False) -> str:
    if not claims:
        return "No claims match.\n"
    rows = [
        [c.payment_id, c.state + (" (disputed)" if c.disputed else ""), f"{c.settled:,.2f}", f"{c.paid:,.2f}", f"{c.recovered:,.2f}", f"{c.outstanding:,.2f}", c.currency]
        for c in claims
    ]
    out = table(rows, ["claim (payment id)", "state", "settled", "paid", "recovered", "outstanding", "currency"])
    by_state: dict[str, int] = {}
    for c in claims:
        by_state[c.state] = by_state.get(c.state, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(by_state.items()))
    # Outstanding amounts are added up currency by currency, never across currencies.
    outstanding: dict[str, Decimal] = {}
    for c in claims:
        if c.state != "rejected":
            outstanding[c.currency] = outstanding.get(c.currency, Decimal(0)) + c.outstanding
    owed = " + ".join(format_money(amount, cur, "en") for cur, amount in sorted(outstanding.items())) or "nothing"
    tail = f"{len(claims)} claims: {summary}; outstanding {owed}"
    if limit_hit:
        tail += " (more claims exist: use --limit and --offset, or 'pbr ledger export')"
    return out + "\n\n" + tail + "\n"


def claim_text(c, evidence: dict | None = None) -> str:
    def money(amount: Decimal) -> str:
        return format_money(amount, c.currency, "en")

    out = [
        f"Claim {c.payment_id}",
        f"  contract {c.contract_id} (municipality {c.municipality}), {c.subject_kind} {c.subject}, milestone {c.milestone} #{c.occurrence}",
        f"  payee {c.payee}; clause {c.reference}; first settled in run {c.first_run_id}",
        f"  state {c.state}{' (DISPUTED)' if c.disputed else ''}; settled {money(c.settled)}, paid {money(c.paid)}, "
        f"recovered {money(c.recovered)}, outstanding {money(c.outstanding)}",
        "",
    ]
    if evidence:
        out.append(f"  milestone met on {evidence['met_on']} ({evidence['definition_reference']}); evidence:")
        out.extend(f"    {e['source']}: {e['description']}" for e in evidence["evidence"])
        out.append("")
    rows = [[str(e.n), e.at, e.actor, e.action, f"{e.from_state or '-'} -> {e.to_state}" + (" (disputed)" if e.disputed else ""), f"{e.amount:,.2f}", e.reason] for e in c.events]
    out.append(table(rows, ["#", "at", "actor", "action", "state", f"amount ({c.currency})", "reason"]))
    return "\n".join(out) + "\n"


def runs_text(runs: list) -> str:
    if not runs:
        return "No settlement runs recorded.\n"
    rows = [[str(r.id), r.contract_id, str(r.seq), str(r.parent_id or "-"), r.as_of.isoformat(), r.at, r.actor, str(r.lines_count), f"{r.total:,.2f}", f"{r.due_now:,.2f}", r.currency] for r in runs]
    return table(rows, ["run", "contract", "#", "parent", "as of", "recorded at", "by", "lines", "settled to date", "due now", "currency"]) + "\n"


def run_text(r, claims_new: int | None = None, claims_changed: int | None = None, not_proposed: tuple[str, ...] = ()) -> str:
    """A recorded settlement run, in the current language (pbr settle writes it in the agreement's)."""
    parent = r.parent_id if r.parent_id else _("none: the first")
    out = [
        _("Run {id}: {contract} settlement #{seq} as of {as_of} (parent run {parent})").format(
            id=r.id, contract=r.contract_id, seq=r.seq, as_of=format_date(r.as_of), parent=parent
        ),
        _("  recorded {at} by {actor}; contract content {content}; {lines} lines").format(
            at=r.at, actor=r.actor, content=r.contract_hash[:12], lines=r.lines_count
        ),
        _("  settled to date {total}; due now {due_now}; not paid because of caps, tiers or the cohort size {refused}").format(
            total=format_money(r.total, r.currency), due_now=format_money(r.due_now, r.currency), refused=format_money(r.refused, r.currency)
        ),
    ]
    if claims_new is not None:
        out.append(_("  claims: {new} new, {changed} changed").format(new=claims_new, changed=claims_changed))
    if not_proposed:
        ids = ", ".join(not_proposed[:5]) + (" ..." if len(not_proposed) > 5 else "")
        out.append(_("  {n} rejected claims not proposed again (reinstate them to pay): {ids}").format(n=len(not_proposed), ids=ids))
    return "\n".join(out) + "\n"


def verify_text(report, url: str) -> str:
    if report.ok:
        return f"ledger {url}: {report.events} events, chain intact; head {report.head}\n"
    return f"ledger {url}: BROKEN at event {report.broken_seq}: {report.broken}\n"
