"""A cohort's evaluation written as a stream: the summary first, each history after, any size.

``cohort_digest`` runs where a history was evaluated (a worker) and keeps only what the
output needs: the counts for the summary and this history's own text (its details, its
JSON or its CSV rows). ``CohortReport`` adds digests up in input order, spools the texts
to a temporary file and writes the summary followed by them: the same bytes as
``cohort_text``, ``to_json`` and ``payments_csv`` over the whole list of results.
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from typing import IO

from pbr_rules.models.results import EvaluationResult
from pbr_rules.i18n import format_money, money_header
from pbr_rules.reports.text import PAYMENT_COLUMNS, csv_rows, result_text, table


@dataclass(frozen=True, slots=True)
class CohortDigest:
    """What the cohort's output needs of one result."""

    contract: tuple[str, str, str]  # id, version, content hash
    as_of: date
    eligible: bool
    failed: tuple[tuple[str, str], ...]  # (rule, clause) of each failed eligibility rule
    payments: tuple[tuple[str, Decimal, str], ...]  # (milestone, amount, clause)
    total: Decimal
    milestones: tuple[str, ...]  # the contract's milestones on this subject's side, in order
    text: str  # this history's part of the output ("" when the format shows none)
    log: tuple[str, str, str, str] | None = None  # the decision log's record (ledger.decision_record)
    currency: str | None = None  # the agreement's: every amount is in it

    def __reduce__(self):
        # pickled as its fields in order: a slots dataclass's default __setstate__ walks
        # dataclasses.fields() for every digest (twice the time to read one back)
        return (CohortDigest, tuple(map(self.__getattribute__, _DIGEST_FIELDS)))


_DIGEST_FIELDS = tuple(f.name for f in fields(CohortDigest))


def cohort_digest(history, result: EvaluationResult, *, fmt: str = "table", details: bool = False, explain: bool = False, log: bool = False, log_as_of: date | None = None) -> CohortDigest:
    """The digest of one history's result for ``CohortReport`` (picklable; made in the worker)."""
    if fmt == "json":
        text = "\n".join("  " + line for line in result.model_dump_json(indent=2).split("\n"))
    elif fmt == "csv":
        text = csv_rows(result)
    elif details:
        text = result_text(result, explain=explain)
    else:
        text = ""
    record = None
    if log:
        from pbr_rules.ledger import decision_record

        record = decision_record(history, result, log_as_of)
    return digest_of(result, text, record)


def digest_of(r: EvaluationResult, text: str = "", log=None) -> CohortDigest:
    c = r.contract
    return CohortDigest(
        contract=(c.id, c.version, c.content_hash),
        as_of=r.as_of,
        eligible=r.eligibility.eligible,
        failed=tuple((rule.rule, rule.reference) for rule in r.eligibility.rules if not rule.passed) if not r.eligibility.eligible else (),
        payments=tuple((p.milestone, p.amount, p.reference) for p in r.payments),
        total=r.total,
        milestones=tuple(m.milestone for m in r.milestones),
        text=text,
        log=log,
        currency=r.currency,
    )


def cohort_text(results: list[EvaluationResult], *, details: bool = False, explain: bool = False) -> str:
    """A cohort's evaluation, answer first: the totals, who is not eligible grouped by the rule
    they fail (with counts), payments by milestone; each history's own lines only with ``details``.
    The same text ``CohortReport`` writes for a streamed cohort."""
    report = CohortReport("table", details=details)
    try:
        for r in results:
            report.add(digest_of(r, result_text(r, explain=explain) if details else ""))
        return report.text()
    finally:
        report.close()


class CohortReport:
    """Adds up digests in input order; ``write`` puts the summary first, then each history's text."""

    def __init__(self, fmt: str = "table", *, details: bool = False):
        self.fmt = fmt
        self.details = details
        self.count = 0
        self.eligible = 0
        self.refused = 0
        self.failed: dict[tuple[str, str], int] = {}
        self.payments = 0
        self.total = Decimal(0)
        self.by_milestone: dict[str, list] = {}
        self.first: CohortDigest | None = None
        self.first_day: date | None = None
        self.last_day: date | None = None
        self._spool: IO[str] = tempfile.SpooledTemporaryFile(max_size=4 << 20, mode="w+", encoding="utf-8")
        self._pieces = 0

    def add(self, d: CohortDigest) -> None:
        if self.first is None:
            self.first = d
        self.count += 1
        self.first_day = d.as_of if self.first_day is None else min(self.first_day, d.as_of)
        self.last_day = d.as_of if self.last_day is None else max(self.last_day, d.as_of)
        if d.eligible:
            self.eligible += 1
        else:
            self.refused += 1
            for key in d.failed:
                self.failed[key] = self.failed.get(key, 0) + 1
        for milestone, amount, ref in d.payments:
            entry = self.by_milestone.setdefault(milestone, [0, Decimal(0), ref])
            entry[0] += 1
            entry[1] += amount
        self.payments += len(d.payments)
        self.total += d.total
        if self.fmt in ("json", "csv") or self.details:
            if self.fmt == "csv":
                self._spool.write(d.text)
            else:
                if self._pieces:
                    self._spool.write(",\n" if self.fmt == "json" else "\n")
                self._spool.write(d.text)
            self._pieces += 1

    def summary(self) -> str:
        """The table's summary: totals, refusals by the rule failed, payments by milestone (``cohort_text``'s head)."""
        out = []
        if self.first is not None:
            cid, version, content = self.first.contract
            when = f"as of {self.first_day}" if self.first_day == self.last_day else f"each history as of its own date ({self.first_day} to {self.last_day})"
            out.append(f"Contract {cid} version {version} (content {content[:12]}), {when}")
        currency = self.first.currency if self.first is not None else None
        shown = format_money(self.total, currency, "en") if currency else f"{self.total:,.2f}"
        out.append(f"{self.count} histories, {self.eligible} eligible, {self.payments} payments, total {shown}")
        if self.refused:
            out.append("")
            several = " (a history may fail more than one rule)" if sum(self.failed.values()) > self.refused else ""
            out.append(f"Not eligible: {self.refused}, by the rule they fail{several}")
            rows = [[rule, str(n), ref] for (rule, ref), n in sorted(self.failed.items(), key=lambda x: (-x[1], x[0]))]
            out.append(table(rows, ["rule", "histories", "clause"]))
        if self.payments:
            out.append("")
            out.append("Payments by milestone (before cohort caps and tiers: 'pbr settle' applies those)")
            order = {m: i for i, m in enumerate(self.first.milestones)}  # the contract's order
            rows = [
                [m, str(n), f"{amount:,.2f}", ref]
                for m, (n, amount, ref) in sorted(self.by_milestone.items(), key=lambda x: order.get(x[0], len(order)))
            ]
            out.append(table(rows, ["milestone", "payments", money_header("amount", currency, "en"), "clause"]))
        out.append("")
        return "\n".join(out) + "\n"

    def write(self, out: IO[str]) -> None:
        """The whole output, in the report's format, to ``out``."""
        self._spool.seek(0)
        if self.fmt == "json":
            if not self._pieces:
                out.write("[]\n")
                return
            out.write("[\n")
            shutil.copyfileobj(self._spool, out)
            out.write("\n]\n")
        elif self.fmt == "csv":
            buf = io.StringIO()
            csv.writer(buf, lineterminator="\n").writerow(PAYMENT_COLUMNS)
            out.write(buf.getvalue())
            shutil.copyfileobj(self._spool, out)
        else:
            out.write(self.summary())
            if self.details:
                shutil.copyfileobj(self._spool, out)
            else:
                out.write("Each history's milestones and payments: add --details.\n")

    def text(self) -> str:
        buf = io.StringIO()
        self.write(buf)
        return buf.getvalue()

    def close(self) -> None:
        self._spool.close()
