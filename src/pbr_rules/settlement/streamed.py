"""Settling a cohort read as a stream: compact payments, an on-disk sort, the same settlement.

``settle_stream`` gives what ``settle(loaded, load_cohorts(paths), as_of)`` gives, without
holding the histories or their explained results: each history is evaluated where its chunk
is (``evaluation.stream_cohort``), and only a compact record comes back (subject, start
date, eligibility, and per payment its id, milestone, occurrence, dates, tariff, payers,
payee and clause). The payments are sorted on disk (a temporary SQLite file) into the
settlement order, *trigger date, subject id, milestone, occurrence* (input order breaks a
tie, as the in-memory sort does), and the cohort size is applied from the eligible
subjects' start dates sorted the same way, so the cohort terms (size, tiers, caps, order)
are exactly those of ``settle``. What stays in memory is the settlement itself: one line
per payment.
"""

from __future__ import annotations

import pickle
import sqlite3
import tempfile
from datetime import date
from pathlib import Path
from typing import Callable, Iterable

from pbr_rules.errors import Diagnostic
from pbr_rules.evaluation import CHUNK_SIZE, PayerView, PaymentView, SubjectView, TariffView, stream_cohort
from pbr_rules.language import LoadedContract
from pbr_rules.models.history import ParticipantHistory
from pbr_rules.models.settlement import Settlement
from pbr_rules.settlement.settler import Period, SettlementInvalid, _check_previous, _cohort_size, _settle_dues, targets_of


def settlement_digest(history, result) -> tuple:
    """What settling needs of one evaluated history (made in the worker; plain values, picklable)."""
    start = history.enrolment if isinstance(history, ParticipantHistory) else history.start
    return (
        result.subject.kind,
        result.subject.id,
        start.isoformat(),
        result.eligibility.eligible,
        tuple(
            (
                p.payment_id, p.milestone, p.occurrence, p.trigger_date, p.due_date, p.amount,
                (p.tariff.line, p.tariff.value, p.tariff.effective, p.tariff.reference, p.tariff.priced_by, p.tariff.priced_on),
                tuple((x.party, x.share) for x in p.payers), p.payee, p.reference,
            )
            for p in result.payments
        ),
    )


def settle_stream(
    loaded: LoadedContract,
    paths: Iterable[str | Path],
    as_of: date,
    *,
    period: Period = "month",
    previous: Settlement | None = None,
    with_changes: bool = True,
    not_proposed: frozenset[str] = frozenset(),
    executor=None,
    chunk_size: int = CHUNK_SIZE,
    on_progress: Callable[[int, int], None] | None = None,
) -> Settlement:
    """Settle the cohort in ``paths`` as of a date, reading it as a stream (see the module's text)."""
    sizes = {kind: _cohort_size(loaded, kind) for kind in ("participant", "company")}
    el = loaded.contract.eligibility
    targeted = {kind for kind, e in (("participant", el.citizens), ("company", el.companies)) if e is not None and e.target is not None}
    owed = {(x.subject_kind, x.subject) for x in previous.lines} if previous is not None else set()
    seen: set[tuple[str, str]] = set()
    with tempfile.TemporaryDirectory(prefix="pbr-settle-") as tmp:
        db = sqlite3.connect(Path(tmp) / "dues.sqlite", isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=OFF")
            db.execute("PRAGMA synchronous=OFF")
            db.execute("PRAGMA cache_size=-8000")
            db.execute(
                "CREATE TABLE dues (day TEXT, subject TEXT, milestone TEXT, occurrence INTEGER, seq INTEGER PRIMARY KEY, "
                "payment_id TEXT UNIQUE, kind TEXT, data BLOB)"
            )
            db.execute("CREATE TABLE eligible (kind TEXT, start TEXT, id TEXT)")
            seq = 0
            db.execute("BEGIN")
            for kind, sid, start, eligible, payments in stream_cohort(
                loaded, paths, as_of, digest=settlement_digest, executor=executor, chunk_size=chunk_size, on_progress=on_progress
            ):
                if (kind, sid) in owed:
                    seen.add((kind, sid))
                if eligible and (sizes[kind] is not None or kind in targeted):
                    db.execute("INSERT INTO eligible VALUES (?, ?, ?)", (kind, start, sid))
                for p in payments:
                    seq += 1
                    try:
                        db.execute(
                            "INSERT INTO dues VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            (p[3].isoformat(), sid, p[1], p[2], seq, p[0], kind, pickle.dumps(p, pickle.HIGHEST_PROTOCOL)),
                        )
                    except sqlite3.IntegrityError:
                        raise SettlementInvalid(
                            [Diagnostic(path="histories", message=f"payment {p[0]} would be settled twice", hint="give each subject once")]
                        ) from None
            db.execute("COMMIT")
            if previous is not None:
                _check_previous(loaded, previous, as_of, seen)
            admitted: dict[str, set[str]] = {}
            for kind, size in sizes.items():
                if size is not None:  # the first `size` eligible subjects, by start date then id
                    rows = db.execute("SELECT id FROM eligible WHERE kind = ? ORDER BY start, id LIMIT ?", (kind, size))
                    admitted[kind] = {sid for (sid,) in rows}

            def is_admitted(kind: str, sid: str) -> bool:
                # without a cohort size every eligible subject is admitted, and only eligible subjects have payments
                return sid in admitted[kind] if kind in admitted else True

            def dues():
                for kind, sid, blob in db.execute("SELECT kind, subject, data FROM dues ORDER BY day, subject, milestone, occurrence, seq"):
                    pid, milestone, k, trigger, due, amount, tariff, payers, payee, ref = pickle.loads(blob)
                    payment = PaymentView(pid, milestone, k, trigger, due, amount, TariffView(*tariff), tuple(PayerView(*x) for x in payers), payee, ref)
                    yield SubjectView(kind, sid), payment

            starts = {
                kind: [date.fromisoformat(day) for (day,) in db.execute("SELECT start FROM eligible WHERE kind = ?", (kind,))] for kind in targeted
            }
            return _settle_dues(
                loaded, dues(), is_admitted, as_of, period=period, previous=previous, with_changes=with_changes, not_proposed=not_proposed,
                targets=targets_of(loaded, starts, as_of),
            )
        finally:
            db.close()
