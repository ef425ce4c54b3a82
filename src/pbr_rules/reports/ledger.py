"""The ledger for people: claim and run tables, a claim's history (its exports: exports.py)."""

from __future__ import annotations

from decimal import Decimal

from pbr_rules.i18n import _, format_date, format_money
from pbr_rules.money import format_dkk
from pbr_rules.reports.text import table


def claims_text(claims: list, *, limit_hit: bool = False) -> str:
    if not claims:
        return "No claims match.\n"
    rows = [
        [c.payment_id, c.state + (" (disputed)" if c.disputed else ""), f"{c.settled:,.2f}", f"{c.paid:,.2f}", f"{c.recovered:,.2f}", f"{c.outstanding:,.2f}"]
        for c in claims
    ]
    out = table(rows, ["claim (payment id)", "state", "settled", "paid", "recovered", "outstanding"])
    by_state: dict[str, int] = {}
    for c in claims:
        by_state[c.state] = by_state.get(c.state, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(by_state.items()))
    outstanding = sum((c.outstanding for c in claims if c.state != "rejected"), Decimal(0))
    tail = f"{len(claims)} claims: {summary}; outstanding {format_dkk(outstanding)}"
    if limit_hit:
        tail += " (more claims exist: use --limit and --offset, or 'pbr ledger export')"
    return out + "\n\n" + tail + "\n"


def claim_text(c, evidence: dict | None = None) -> str:
    out = [
        f"Claim {c.payment_id}",
        f"  contract {c.contract_id} (municipality {c.municipality}), {c.subject_kind} {c.subject}, milestone {c.milestone} #{c.occurrence}",
        f"  payee {c.payee}; clause {c.reference}; first settled in run {c.first_run_id}",
        f"  state {c.state}{' (DISPUTED)' if c.disputed else ''}; settled {format_dkk(c.settled)}, paid {format_dkk(c.paid)}, "
        f"recovered {format_dkk(c.recovered)}, outstanding {format_dkk(c.outstanding)}",
        "",
    ]
    if evidence:
        out.append(f"  milestone met on {evidence['met_on']} ({evidence['definition_reference']}); evidence:")
        out.extend(f"    {e['source']}: {e['description']}" for e in evidence["evidence"])
        out.append("")
    rows = [[str(e.n), e.at, e.actor, e.action, f"{e.from_state or '-'} -> {e.to_state}" + (" (disputed)" if e.disputed else ""), f"{e.amount:,.2f}", e.reason] for e in c.events]
    out.append(table(rows, ["#", "at", "actor", "action", "state", "amount", "reason"]))
    return "\n".join(out) + "\n"


def runs_text(runs: list) -> str:
    if not runs:
        return "No settlement runs recorded.\n"
    rows = [[str(r.id), r.contract_id, str(r.seq), str(r.parent_id or "-"), r.as_of.isoformat(), r.at, r.actor, str(r.lines_count), f"{r.total:,.2f}", f"{r.due_now:,.2f}"] for r in runs]
    return table(rows, ["run", "contract", "#", "parent", "as of", "recorded at", "by", "lines", "settled to date", "due now"]) + "\n"


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
        _("  settled to date {total}; due now {due_now}; not paid because of cohort terms {refused}").format(
            total=format_money(r.total), due_now=format_money(r.due_now), refused=format_money(r.refused)
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
