"""The ledger service: the one place that reads and writes the ledger's tables.

Every write is one transaction under the ledger's write lock (``database.write_transaction``)
and appends to the hash chain (``events``) in that same transaction, so a crash leaves all
of a write or none of it, and the chain always covers exactly what is stored.

Public operations (each used by the CLI and the API alike):

- ``record_contract`` - keep a contract version (once per content hash);
- ``log_decisions`` - keep evaluations with pseudonymous subject keys;
- ``settle`` - settle a cohort against the ledger's latest run of the contract and record
  the run, its lines and what it does to each claim; ``preview`` computes the same without
  recording;
- ``act`` - a person's action on a claim (approve, pay, reject, reinstate, recover, dispute, clear);
- ``runs``, ``run``, ``claims``, ``claim``, ``audit``, ``decisions_of`` - reading;
- ``verify`` - recompute the chain and every record's digest; ``export_rows`` - tables for export.
"""

from __future__ import annotations

import dataclasses
import getpass
import hashlib
import hmac
import json
import os
import secrets
from functools import lru_cache
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Callable

import sqlalchemy as sa

from pbr_rules.errors import Diagnostic, InputInvalid
from pbr_rules.evaluation import evaluate_cohort
from pbr_rules.language import History, LoadedContract, canonical_json
from pbr_rules.ledger import tables as T
from pbr_rules.ledger.claims import ClaimState, TransitionRefused, after_settlement, apply_action
from pbr_rules.ledger.database import (
    LedgerError,
    LedgerUnavailable,
    create_engine,
    resolve_url,
    shown,
    upgrade,
    write_transaction,
)
from pbr_rules.models.settlement import Settlement
from pbr_rules.money import DEFAULT_CURRENCY
from pbr_rules.settlement import settle_results, settle_stream

GENESIS = "0" * 64
BATCH = 2000  # rows per INSERT batch
SECRET_ENV = "PBR_LEDGER_SECRET_FILE"


class NotFound(LedgerError):
    """No claim or run with that id."""


class ReasonRequired(LedgerError):
    """The action needs a reason (reject, reinstate, dispute, clear)."""


class IdempotencyConflict(LedgerError):
    """The Idempotency-Key was used before with a different request."""


class RunRefused(LedgerError):
    """This cohort cannot be settled against the ledger's latest run (the message says why)."""


def cli_actor() -> str:
    """The actor named for CLI writes: ``cli:<user>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name (e.g. a container without /etc/passwd entry)
        return f"cli:uid{os.getuid()}"


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def to_ore(amount: Decimal) -> int:
    value = amount * 100
    if value != value.to_integral_value():
        raise ValueError(f"{amount} has more than two decimals")
    return int(value)


@lru_cache(maxsize=65536)
def from_ore(ore: int) -> Decimal:
    """Integer øre as a Decimal amount with two decimals (remembered: amounts repeat, Decimals are immutable)."""
    return Decimal(ore).scaleb(-2)


def sha256(text: str | bytes) -> str:
    return hashlib.sha256(text.encode("utf-8") if isinstance(text, str) else text).hexdigest()


def decision_record(history: History, result, as_of: date | None) -> tuple[str, str, str, str]:
    """What the decision log keeps of one evaluation, before the subject is keyed: (kind, id,
    the result's JSON, the inputs' hash). Made where the history is, so a cohort evaluated
    on workers is logged without sending histories back."""
    plain = result.model_dump_json()  # as the decision log writes every result (Ledger._decision_row)
    inputs = sha256(canonical_json({"history": history.model_dump(mode="json"), "as_of": as_of.isoformat() if as_of else None}))
    return result.subject.kind, result.subject.id, plain, inputs


# --- what the reads return ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClaimEvent:
    n: int
    action: str
    from_state: str | None
    to_state: str
    disputed: bool
    settled: Decimal
    paid: Decimal
    recovered: Decimal
    amount: Decimal
    reason: str
    actor: str
    at: str
    run_id: int | None

    def to_dict(self) -> dict:
        return {
            "n": self.n,
            "action": self.action,
            "from_state": self.from_state,
            "to_state": self.to_state,
            "disputed": self.disputed,
            "settled": str(self.settled),
            "paid": str(self.paid),
            "recovered": str(self.recovered),
            "amount": str(self.amount),
            "reason": self.reason,
            "actor": self.actor,
            "at": self.at,
            "run_id": self.run_id,
        }


@dataclass(frozen=True, slots=True)
class ClaimView:
    payment_id: str
    contract_id: str
    municipality: str
    subject_kind: str
    subject: str
    milestone: str
    occurrence: int
    payee: str
    reference: str
    first_run_id: int
    state: str
    disputed: bool
    settled: Decimal
    paid: Decimal
    recovered: Decimal
    events: tuple[ClaimEvent, ...] = ()
    currency: str = DEFAULT_CURRENCY  # the contract's, as its settlement runs recorded it

    @property
    def outstanding(self) -> Decimal:
        return self.settled - (self.paid - self.recovered)

    def to_dict(self, with_events: bool = False) -> dict:
        out = {
            "payment_id": self.payment_id,
            "contract_id": self.contract_id,
            "municipality": self.municipality,
            "subject_kind": self.subject_kind,
            "subject": self.subject,
            "milestone": self.milestone,
            "occurrence": self.occurrence,
            "payee": self.payee,
            "reference": self.reference,
            "first_run_id": self.first_run_id,
            "state": self.state,
            "disputed": self.disputed,
            "settled": str(self.settled),
            "paid": str(self.paid),
            "recovered": str(self.recovered),
            "outstanding": str(self.outstanding),
            "currency": self.currency,
        }
        if with_events:
            out["events"] = [e.to_dict() for e in self.events]
        return out


@dataclass(frozen=True, slots=True)
class RunView:
    id: int
    contract_id: str
    seq: int
    parent_id: int | None
    contract_hash: str
    as_of: date
    period_kind: str
    actor: str
    at: str
    lines_count: int
    total: Decimal
    due_now: Decimal
    refused: Decimal
    totals: dict
    settlement_json: str | None = None

    @property
    def currency(self) -> str:
        """The currency of the run's amounts (runs recorded before the ledger kept it are in DKK)."""
        return self.totals.get("currency", DEFAULT_CURRENCY)

    def to_dict(self, with_settlement: bool = False) -> dict:
        out = {
            "id": self.id,
            "contract_id": self.contract_id,
            "seq": self.seq,
            "parent_id": self.parent_id,
            "contract_hash": self.contract_hash,
            "as_of": self.as_of.isoformat(),
            "period_kind": self.period_kind,
            "actor": self.actor,
            "at": self.at,
            "lines": self.lines_count,
            "total": str(self.total),
            "due_now": str(self.due_now),
            "refused": str(self.refused),
            "currency": self.currency,
            **{k: v for k, v in self.totals.items() if k != "currency"},
        }
        if with_settlement and self.settlement_json is not None:
            out["settlement"] = json.loads(self.settlement_json)
        return out


@dataclass(frozen=True)
class RecordedRun:
    run: RunView
    settlement: Settlement
    claims_new: int
    claims_changed: int
    not_proposed: tuple[str, ...]
    replayed_body: str | None = None


@dataclass(frozen=True, slots=True)
class AuditEvent:
    seq: int
    at: str
    actor: str
    kind: str
    ref: str
    digest: str
    prev_hash: str
    hash: str

    def to_dict(self) -> dict:
        return {f: getattr(self, f) for f in self.__slots__}


@dataclass
class VerifyReport:
    events: int = 0
    head: str = GENESIS
    broken: str | None = None  # the first broken link, in words
    broken_seq: int | None = None

    @property
    def ok(self) -> bool:
        return self.broken is None


@dataclass(frozen=True)
class Idempotency:
    """An Idempotency-Key with the caller it belongs to and a hash of the request it came with."""

    caller: str
    key: str
    request_hash: str


@dataclass(frozen=True, slots=True)
class DecisionEntry:
    """One evaluation to keep in the decision log: the contract, the history, its result, the as-of date asked, who asked.

    ``result_json``: the result's compact JSON (``result.model_dump_json()``) when the caller has
    already written it (the API answers with it), so the log does not write it again."""

    loaded: LoadedContract
    history: History
    result: object
    as_of: date | None
    actor: str
    result_json: str | None = None


# --- the service ----------------------------------------------------------------------------


class Ledger:
    """A ledger database, opened (and migrated) once; safe to share between threads."""

    def __init__(self, url: str | None = None, *, secret_file: str | Path | None = None, migrate: bool = True):
        self.url = resolve_url(url)
        self.engine = create_engine(self.url)
        self._secret_file = secret_file
        self._secret: bytes | None = None
        self._recorded_contracts: set[str] = set()  # content hashes known to be in contract_versions (rows are never removed)
        if migrate:
            try:
                upgrade(self.engine, self.url)
            except LedgerError:
                raise
            except sa.exc.SQLAlchemyError as exc:
                raise LedgerUnavailable(f"cannot open the ledger database {shown(self.url)}: {_reason(exc)}") from None

    @property
    def shown_url(self) -> str:
        return shown(self.url)

    def close(self) -> None:
        self.engine.dispose()

    # --- the installation secret (subject keys) ------------------------------------------------

    def secret_path(self) -> Path:
        if self._secret_file:
            return Path(self._secret_file)
        if os.environ.get(SECRET_ENV):
            return Path(os.environ[SECRET_ENV])
        parsed = sa.make_url(self.url)
        if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
            return Path(parsed.database).with_name("pbr-ledger.key")
        return Path("var") / "pbr-ledger.key"

    def subject_key(self, kind: str, subject_id: str) -> str:
        """The pseudonymous key of a participant or company: HMAC-SHA256 with the installation secret."""
        return hmac.new(self._load_secret(), f"{kind}:{subject_id}".encode(), hashlib.sha256).hexdigest()

    def _load_secret(self) -> bytes:
        if self._secret is None:
            path = self.secret_path()
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            except OSError as exc:
                raise LedgerUnavailable(f"cannot create the ledger's secret key file {path}: {exc.strerror}") from None
            else:
                with os.fdopen(fd, "w") as f:
                    f.write(secrets.token_hex(32) + "\n")
            try:
                text = path.read_text().strip()
            except OSError as exc:
                raise LedgerUnavailable(f"cannot read the ledger's secret key file {path}: {exc.strerror}") from None
            if len(text) < 32:
                raise LedgerUnavailable(f"the ledger's secret key file {path} is empty or too short: restore it from the back-up (see docs/ledger.md)")
            self._secret = text.encode()
        return self._secret

    # --- the chain ------------------------------------------------------------------------------

    def _append(
        self, conn: sa.Connection, kind: str, ref: str, actor: str, at: str, rows: dict[str, list[dict]],
        on_progress: Callable[[int, int], None] | None = None,
    ) -> int:
        """Append one event covering ``rows`` (table -> rows without event_seq); insert them; its seq.

        Rows go in batches of ``BATCH``; ``on_progress(written, total)`` is told after each."""
        last = conn.execute(sa.select(T.events.c.seq, T.events.c.hash).order_by(T.events.c.seq.desc()).limit(1)).first()
        seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS)
        digest = _digest(rows)
        event = {"seq": seq, "at": at, "actor": actor, "kind": kind, "ref": ref[:400], "digest": digest, "prev_hash": prev}
        event["hash"] = _event_hash(event)
        conn.execute(T.events.insert(), [event])
        total = sum(len(v) for v in rows.values())
        written = 0
        for name in _INSERT_ORDER:
            items = rows.get(name)
            if items:
                table = T.metadata.tables[name]
                if "event_seq" in table.c:
                    items = [{**r, "event_seq": seq} for r in items]
                for i in range(0, len(items), BATCH):
                    _bulk_insert(conn, table, items[i : i + BATCH])
                    written += len(items[i : i + BATCH])
                    if on_progress is not None:
                        on_progress(written, total)
        return seq

    # --- contract versions ----------------------------------------------------------------------

    def record_contract(self, loaded: LoadedContract, actor: str, conn: sa.Connection | None = None) -> bool:
        """Keep this contract version (once per content hash); True when it was new."""
        if conn is None:
            with write_transaction(self.engine) as c:
                return self.record_contract(loaded, actor, c)
        exists = conn.execute(sa.select(T.contract_versions.c.content_hash).where(T.contract_versions.c.content_hash == loaded.content_hash)).first()
        if exists:
            return False
        c = loaded.contract
        source = canonical_json({"contract": c.model_dump(mode="json"), "benefit_codes": loaded.codes.model_dump(mode="json")})
        row = {
            "content_hash": loaded.content_hash,
            "contract_id": c.id,
            "version": c.version,
            "municipality": c.municipality.code,
            "source_text": source,
            "agreement_file": str(loaded.path)[:400],
            "loaded_at": now_iso(),
            "loaded_by": actor,
        }
        self._append(conn, "contract.loaded", f"{c.id}@{loaded.content_hash}", actor, row["loaded_at"], {"contract_versions": [row]})
        return True

    # --- decisions ------------------------------------------------------------------------------

    def log_decisions(self, loaded: LoadedContract, histories: list[History], results: list, as_of: date | None, actor: str) -> int:
        """Keep each evaluation (subject by keyed hash, never the id); the number logged."""
        return self.log_decision_entries([DecisionEntry(loaded, h, r, as_of, actor) for h, r in zip(histories, results)])

    def log_decision_records(self, loaded: LoadedContract, records: list[tuple[str, str, str, str]], as_of: date | None, actor: str) -> int:
        """``log_decisions`` from ``decision_record``s (made where the histories were evaluated, e.g. on
        workers): one ledger event, rows as ``log_decision_entries`` writes them."""
        if not records:
            return 0
        rows = []
        for kind, subject_id, plain_json, inputs_hash in records:
            key = self.subject_key(kind, subject_id)
            result_json = _pseudonymise(plain_json, subject_id, key)
            rows.append(
                {
                    "subject_key": key,
                    "subject_kind": kind,
                    "contract_hash": loaded.content_hash,
                    "as_of": as_of,
                    "inputs_hash": inputs_hash,
                    "result_hash": sha256(result_json),
                    "result_json": result_json,
                    "actor": actor,
                    "at": None,
                }
            )
        with write_transaction(self.engine) as conn:
            at = now_iso()  # read under the lock, so the chain's times never go backwards
            for row in rows:
                row["at"] = at
            if loaded.content_hash not in self._recorded_contracts:
                self.record_contract(loaded, actor, conn)
            self._append(conn, "decisions.logged", f"{loaded.contract.id}@{loaded.content_hash} x{len(rows)}", actor, at, {"decisions": rows})
        self._recorded_contracts.add(loaded.content_hash)
        return len(rows)

    def log_decision_entries(self, entries: list[DecisionEntry]) -> int:
        """Keep many evaluations in one transaction (one commit): one ``decisions.logged`` event per
        contract version and actor, in the order each first appears; the number logged.

        The API's evaluate route hands the decisions of concurrent requests here together (a group
        commit): the rows and the chain are as if each group had been logged alone."""
        if not entries:
            return 0
        groups: dict[tuple[str, str], tuple[LoadedContract, list[dict]]] = {}
        for e in entries:
            groups.setdefault((e.loaded.content_hash, e.actor), (e.loaded, []))[1].append(self._decision_row(e))
        with write_transaction(self.engine) as conn:
            at = now_iso()  # read under the lock, so the chain's times never go backwards
            for (content_hash, actor), (loaded, rows) in groups.items():
                for row in rows:
                    row["at"] = at
                if content_hash not in self._recorded_contracts:
                    self.record_contract(loaded, actor, conn)
                self._append(conn, "decisions.logged", f"{loaded.contract.id}@{content_hash} x{len(rows)}", actor, at, {"decisions": rows})
        self._recorded_contracts.update(content_hash for content_hash, _ in groups)  # committed: no need to look again
        return len(entries)

    def _decision_row(self, e: DecisionEntry) -> dict:
        r = e.result
        kind = r.subject.kind
        key = self.subject_key(kind, r.subject.id)
        # compact JSON by pydantic's own serialiser (fields in model order: same result, same bytes),
        # several times faster than json.dumps(model_dump(), sort_keys=True), which it replaced
        result_json = _pseudonymise(e.result_json if e.result_json is not None else r.model_dump_json(), r.subject.id, key)
        return {
            "subject_key": key,
            "subject_kind": kind,
            "contract_hash": e.loaded.content_hash,
            "as_of": e.as_of,
            "inputs_hash": sha256(canonical_json({"history": e.history.model_dump(mode="json"), "as_of": e.as_of.isoformat() if e.as_of else None})),
            "result_hash": sha256(result_json),
            "result_json": result_json,
            "actor": e.actor,
            "at": None,
        }

    def decisions_of(self, kind: str, subject_id: str) -> list[dict]:
        key = self.subject_key(kind, subject_id)
        d = T.decisions.c
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(T.decisions).where(d.subject_key == key).order_by(d.id)).mappings().all()
        return [{k: (v.isoformat() if isinstance(v, date) else v) for k, v in r.items()} for r in rows]

    # --- settlement -----------------------------------------------------------------------------

    def latest_run(self, contract_id: str, conn: sa.Connection | None = None) -> RunView | None:
        r = T.settlement_runs.c
        q = sa.select(T.settlement_runs).where(r.contract_id == contract_id).order_by(r.seq.desc()).limit(1)
        if conn is None:
            with self.engine.connect() as c:
                row = c.execute(q).mappings().first()
        else:
            row = conn.execute(q).mappings().first()
        return _run_view(row, with_settlement=True) if row else None

    def preview(
        self,
        loaded: LoadedContract,
        histories: list[History],
        as_of: date,
        *,
        period: str = "month",
        results: list | None = None,
        workers: int | None = 1,
        executor=None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> Settlement:
        """The settlement ``settle`` would record now, against the ledger's latest run; nothing is written."""
        if results is None:
            results = evaluate_cohort(loaded, histories, as_of, workers=workers, executor=executor, on_progress=on_progress)
        with self.engine.connect() as conn:
            parent = self.latest_run(loaded.contract.id, conn)
            rejected = self._rejected(conn, loaded.contract.id)
        return self._settle_against(loaded, histories, results, as_of, period, parent, rejected)

    def settle(
        self,
        loaded: LoadedContract,
        histories: list[History],
        as_of: date,
        actor: str,
        *,
        period: str = "month",
        results: list | None = None,
        workers: int | None = 1,
        executor=None,
        on_progress: Callable[[int, int], None] | None = None,
        on_recording: Callable[[int, int], None] | None = None,
        idempotency: Idempotency | None = None,
        render: Callable[[RecordedRun], str] | None = None,
    ) -> RecordedRun:
        """Settle the cohort against the ledger's latest run of the contract and record the run.

        The parent run is always the latest recorded one, read under the write lock, so two
        runs started at once are recorded one after the other and the second lists only what
        the first did not. With ``idempotency``, a key already used with the same request
        returns the first answer (``replayed_body``, rendered by ``render``) and records nothing.
        """
        if idempotency is not None:
            replay = self._replay(idempotency)
            if replay is not None:
                return replay
        if results is None:
            results = evaluate_cohort(loaded, histories, as_of, workers=workers, executor=executor, on_progress=on_progress)
        with write_transaction(self.engine) as conn:
            if idempotency is not None:
                replay = self._replay(idempotency, conn)
                if replay is not None:
                    return replay
            parent = self.latest_run(loaded.contract.id, conn)
            rejected = self._rejected(conn, loaded.contract.id)
            settlement = self._settle_against(loaded, histories, results, as_of, period, parent, rejected)
            self.record_contract(loaded, actor, conn)
            recorded = self._record_run(conn, loaded, settlement, parent, actor, rejected, on_recording, _evidence(results, settlement))
            if idempotency is not None and render is not None:
                self._remember(conn, idempotency, 201, render(recorded))
        return recorded

    def preview_stream(
        self,
        loaded: LoadedContract,
        paths: list,
        as_of: date,
        *,
        period: str = "month",
        executor=None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> Settlement:
        """``preview`` of the cohort in ``paths`` read as a stream (settlement.settle_stream): the same
        settlement, without holding the histories or their results; nothing is written."""
        with self.engine.connect() as conn:
            parent = self.latest_run(loaded.contract.id, conn)
            rejected = self._rejected(conn, loaded.contract.id)

        def streamed(previous):
            return settle_stream(
                loaded, paths, as_of, period=period, previous=previous, not_proposed=rejected, executor=executor, on_progress=on_progress
            )

        return self._settle_against(loaded, None, None, as_of, period, parent, rejected, settle_with=streamed)

    def _settle_against(self, loaded, histories, results, as_of, period, parent: RunView | None, rejected: frozenset[str], settle_with=None) -> Settlement:
        previous = Settlement.model_validate_json(parent.settlement_json) if parent else None
        if previous is not None and previous.as_of > as_of:
            raise RunRefused(
                f"the latest recorded run of {loaded.contract.id} (run {parent.id}) is as of {previous.as_of}, after {as_of}: "
                "settle as of that date or later"
            )
        try:
            if settle_with is not None:
                return settle_with(previous)
            return settle_results(loaded, histories, results, as_of, period=period, previous=previous, not_proposed=rejected)
        except InputInvalid as exc:
            if previous is None:
                raise
            raise InputInvalid(
                [Diagnostic(file=d.file, line=d.line, col=d.col, path=d.path, message=d.message.replace("the previous settlement", f"the ledger's latest run ({parent.id})"), hint=d.hint) for d in exc.diagnostics]
            ) from None

    def _rejected(self, conn: sa.Connection, contract_id: str) -> frozenset[str]:
        return frozenset(pid for pid, (s, _) in self._states(conn, contract_id).items() if s.state == "rejected")

    def _states(self, conn: sa.Connection, contract_id: str | None = None) -> dict[str, tuple[ClaimState, int]]:
        """Each claim's state after its latest event, with that event's number."""
        e = T.claim_events.c
        latest = sa.select(e.payment_id, sa.func.max(e.n).label("n")).group_by(e.payment_id)
        if contract_id is not None:
            latest = latest.join(T.claims, T.claims.c.payment_id == e.payment_id).where(T.claims.c.contract_id == contract_id)
        latest = latest.subquery()
        q = sa.select(e.payment_id, e.n, e.to_state, e.disputed, e.settled_ore, e.paid_ore, e.recovered_ore).join(
            latest, sa.and_(latest.c.payment_id == e.payment_id, latest.c.n == e.n)
        )
        return {r.payment_id: (ClaimState(r.to_state, bool(r.disputed), r.settled_ore, r.paid_ore, r.recovered_ore), r.n) for r in conn.execute(q)}

    def _record_run(self, conn, loaded, settlement: Settlement, parent: RunView | None, actor: str, rejected, on_recording, evidence: dict[str, str]) -> RecordedRun:
        c = loaded.contract
        at = now_iso()
        run_id = (conn.execute(sa.select(sa.func.max(T.settlement_runs.c.id))).scalar() or 0) + 1
        seq = (parent.seq + 1) if parent else 1
        totals = {
            "currency": settlement.currency,  # of every amount of the run (runs recorded before it was kept: DKK)
            "by_payer": [{"party": p.party, "amount": str(p.amount)} for p in settlement.by_payer],
            "by_payee": [{"party": p.party, "amount": str(p.amount)} for p in settlement.by_payee],
        }
        settlement_json = settlement.model_dump_json()
        run_row = {
            "id": run_id,
            "contract_id": c.id,
            "seq": seq,
            "parent_id": parent.id if parent else None,
            "contract_hash": loaded.content_hash,
            "as_of": settlement.as_of,
            "period_kind": settlement.period_kind,
            "actor": actor,
            "at": at,
            "lines_count": len(settlement.lines),
            "total_ore": to_ore(settlement.total),
            "due_now_ore": to_ore(settlement.due_now),
            "refused_ore": to_ore(settlement.refused),
            "totals_json": json.dumps(totals, sort_keys=True, separators=(",", ":")),
            "settlement_json": settlement_json,
        }
        line_rows = [
            {
                "run_id": run_id,
                "payment_id": x.payment_id,
                "amount_ore": to_ore(x.amount),
                "payers": ";".join(f"{p.party}={p.amount}" for p in x.payers),
                "evidence": evidence.get(x.payment_id),
            }
            for x in settlement.lines
        ]
        # what the run does to each claim
        known = self._states(conn, c.id)
        states = {pid: s for pid, (s, _) in known.items()}
        counts = {pid: n for pid, (_, n) in known.items()}
        settled_now = {x.payment_id: to_ore(x.amount) for x in settlement.lines}
        by_id = {x.payment_id: x for x in settlement.lines}
        new_claims, events = [], []
        for pid in sorted(set(settled_now) | set(states)):
            current = states.get(pid)
            settled = settled_now.get(pid, 0)
            after = after_settlement(current, settled)
            if after is None:
                continue
            if current is None:
                x = by_id[pid]
                new_claims.append(
                    {
                        "payment_id": pid,
                        "contract_id": c.id,
                        "municipality": c.municipality.code,
                        "subject_kind": x.subject_kind,
                        "subject": x.subject,
                        "milestone": x.milestone,
                        "occurrence": x.occurrence,
                        "payee": x.payee,
                        "reference": x.reference,
                        "first_run_id": run_id,
                    }
                )
            before_settled = current.settled if current else 0
            events.append(
                {
                    "payment_id": pid,
                    "n": counts.get(pid, 0) + 1,
                    "action": "settle",
                    "from_state": current.state if current else None,
                    "to_state": after.state,
                    "disputed": after.disputed,
                    "settled_ore": after.settled,
                    "paid_ore": after.paid,
                    "recovered_ore": after.recovered,
                    "amount_ore": after.settled - before_settled,
                    "reason": _settle_reason(current, after, run_id),
                    "actor": actor,
                    "at": at,
                    "run_id": run_id,
                }
            )
        rows = {"settlement_runs": [run_row], "run_lines": line_rows, "claims": new_claims, "claim_events": events}
        self._append(conn, "run.recorded", f"{c.id}#{seq} run {run_id}", actor, at, rows, on_recording)
        view = _run_view({**run_row}, with_settlement=True)
        return RecordedRun(
            run=view,
            settlement=settlement,
            claims_new=len(new_claims),
            claims_changed=len(events) - len(new_claims),
            not_proposed=tuple(sorted(pid for pid in rejected if pid in by_id)),
        )

    def runs(self, contract_id: str | None = None, municipality: str | None = None, limit: int = 100, offset: int = 0) -> list[RunView]:
        r = T.settlement_runs.c
        q = sa.select(*[c for c in T.settlement_runs.c if c.name != "settlement_json"]).order_by(r.id).limit(limit).offset(offset)
        if contract_id:
            q = q.where(r.contract_id == contract_id)
        if municipality:
            q = q.join(T.contract_versions, T.contract_versions.c.content_hash == r.contract_hash).where(T.contract_versions.c.municipality == municipality)
        with self.engine.connect() as conn:
            return [_run_view(row, with_settlement=False) for row in conn.execute(q).mappings()]

    def run(self, run_id: int) -> RunView:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(T.settlement_runs).where(T.settlement_runs.c.id == run_id)).mappings().first()
        if row is None:
            raise NotFound(f"no settlement run {run_id} in the ledger; 'pbr ledger runs' lists them")
        return _run_view(row, with_settlement=True)

    def line_evidence(self, run_id: int, payment_id: str) -> dict | None:
        """The evidence a run kept for a paid line: met_on, definition_reference, evidence [{source, description}]."""
        q = sa.select(T.run_lines.c.evidence).where(T.run_lines.c.run_id == run_id, T.run_lines.c.payment_id == payment_id)
        with self.engine.connect() as conn:
            text = conn.execute(q).scalar()
        return json.loads(text) if text else None

    def run_municipality(self, run: RunView) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(T.contract_versions.c.municipality).where(T.contract_versions.c.content_hash == run.contract_hash)).scalar()

    # --- claims ---------------------------------------------------------------------------------

    def claims(
        self,
        *,
        contract_id: str | None = None,
        state: str | None = None,
        municipality: str | None = None,
        disputed: bool | None = None,
        limit: int | None = 100,
        offset: int = 0,
    ) -> list[ClaimView]:
        e = T.claim_events.c
        cl = T.claims.c
        latest = sa.select(e.payment_id, sa.func.max(e.n).label("n")).group_by(e.payment_id).subquery()
        q = (
            sa.select(T.claims, e.to_state, e.disputed, e.settled_ore, e.paid_ore, e.recovered_ore)
            .join(latest, latest.c.payment_id == cl.payment_id)
            .join(T.claim_events, sa.and_(e.payment_id == latest.c.payment_id, e.n == latest.c.n))
            .order_by(cl.payment_id)
            .offset(offset)
        )
        if limit is not None:
            q = q.limit(limit)
        if contract_id:
            q = q.where(cl.contract_id == contract_id)
        if municipality:
            q = q.where(cl.municipality == municipality)
        if state:
            q = q.where(e.to_state == state)
        if disputed is not None:
            q = q.where(e.disputed == disputed)
        with self.engine.connect() as conn:
            claims = [_claim_row(r) for r in conn.execute(q)]
            currencies = _currencies(conn, {c.contract_id for c in claims})
        return [dataclasses.replace(c, currency=currencies.get(c.contract_id, DEFAULT_CURRENCY)) for c in claims]

    def claim(self, payment_id: str) -> ClaimView:
        with self.engine.connect() as conn:
            return self._claim(conn, payment_id)

    def _claim(self, conn, payment_id: str) -> ClaimView:
        row = conn.execute(sa.select(T.claims).where(T.claims.c.payment_id == payment_id)).mappings().first()
        if row is None:
            raise NotFound(f"no claim '{payment_id}' in the ledger; 'pbr ledger claims' lists them")
        evs = conn.execute(sa.select(T.claim_events).where(T.claim_events.c.payment_id == payment_id).order_by(T.claim_events.c.n)).mappings().all()
        events = tuple(
            ClaimEvent(
                n=e["n"], action=e["action"], from_state=e["from_state"], to_state=e["to_state"], disputed=bool(e["disputed"]),
                settled=from_ore(e["settled_ore"]), paid=from_ore(e["paid_ore"]), recovered=from_ore(e["recovered_ore"]),
                amount=from_ore(e["amount_ore"]), reason=e["reason"], actor=e["actor"], at=e["at"], run_id=e["run_id"],
            )
            for e in evs
        )
        last = events[-1]
        view = _claim_view({**row, "to_state": last.to_state, "disputed": last.disputed, "settled_ore": to_ore(last.settled),
                            "paid_ore": to_ore(last.paid), "recovered_ore": to_ore(last.recovered)}, events)
        return dataclasses.replace(view, currency=_currencies(conn, {view.contract_id}).get(view.contract_id, DEFAULT_CURRENCY))

    def act(
        self,
        payment_id: str,
        action: str,
        actor: str,
        reason: str = "",
        *,
        allowed: Callable[[ClaimView], None] | None = None,
        idempotency: Idempotency | None = None,
        render: Callable[[ClaimView], str] | None = None,
    ) -> tuple[ClaimView, str | None]:
        """A person's action on a claim; (the claim after it, a replayed answer or None).

        ``allowed`` is called with the claim inside the transaction and may raise to refuse
        (the API checks the caller's municipality there). Refused transitions raise
        ``TransitionRefused`` naming the current state.
        """
        reason = (reason or "").strip()
        if action in ("reject", "reinstate", "dispute", "clear") and not reason:
            raise ReasonRequired(f"give a reason to {action} a claim (e.g. --reason \"failed verification: no payslip for May\")")
        if idempotency is not None:
            replay = self._replay(idempotency)
            if replay is not None:
                return self.claim(payment_id), replay.replayed_body
        with write_transaction(self.engine) as conn:
            if idempotency is not None:
                replay = self._replay(idempotency, conn)
                if replay is not None:
                    return self._claim(conn, payment_id), replay.replayed_body
            view = self._claim(conn, payment_id)
            if allowed is not None:
                allowed(view)
            current = ClaimState(view.state, view.disputed, to_ore(view.settled), to_ore(view.paid), to_ore(view.recovered))
            after, moved = apply_action(payment_id, current, action)
            at = now_iso()
            event = {
                "payment_id": payment_id,
                "n": view.events[-1].n + 1,
                "action": action,
                "from_state": current.state,
                "to_state": after.state,
                "disputed": after.disputed,
                "settled_ore": after.settled,
                "paid_ore": after.paid,
                "recovered_ore": after.recovered,
                "amount_ore": moved,
                "reason": reason,
                "actor": actor,
                "at": at,
                "run_id": None,
            }
            self._append(conn, f"claim.{action}", payment_id, actor, at, {"claim_events": [event]})
            result = self._claim(conn, payment_id)
            if idempotency is not None and render is not None:
                self._remember(conn, idempotency, 200, render(result))
        return result, None

    # --- idempotency ------------------------------------------------------------------------------

    def _replay(self, idem: Idempotency, conn: sa.Connection | None = None):
        k = T.idempotency_keys.c
        q = sa.select(T.idempotency_keys).where(k.caller == idem.caller, k.key == idem.key)
        if conn is None:
            with self.engine.connect() as c:
                row = c.execute(q).mappings().first()
        else:
            row = conn.execute(q).mappings().first()
        if row is None:
            return None
        if row["request_hash"] != idem.request_hash:
            raise IdempotencyConflict(
                f"the Idempotency-Key '{idem.key[:80]}' was used before with a different request: use a new key for a new request"
            )
        return _Replay(row["status"], row["body"])

    def _remember(self, conn, idem: Idempotency, status: int, body: str) -> None:
        conn.execute(
            T.idempotency_keys.insert(),
            [{"caller": idem.caller, "key": idem.key, "request_hash": idem.request_hash, "status": status, "body": body, "at": now_iso()}],
        )

    # --- audit, verify, export --------------------------------------------------------------------

    def audit(self, after: int = 0, limit: int = 100) -> list[AuditEvent]:
        ev = T.events.c
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(T.events).where(ev.seq > after).order_by(ev.seq).limit(limit)).mappings()
            return [AuditEvent(**r) for r in rows]

    def verify(self) -> VerifyReport:
        """Recompute the chain and the digest of every record; report the first broken link."""
        report = VerifyReport()
        with self.engine.connect() as conn:
            covered: dict[int, dict[str, list[dict]]] = {}
            for name in _INSERT_ORDER:
                table = T.metadata.tables[name]
                if name in ("run_lines", "claims"):
                    continue
                for row in conn.execute(sa.select(table)).mappings():
                    r = dict(row)
                    seq = r.pop("event_seq")
                    covered.setdefault(seq, {}).setdefault(name, []).append(r)
            run_event = {r.id: r.event_seq for r in conn.execute(sa.select(T.settlement_runs.c.id, T.settlement_runs.c.event_seq))}
            for row in conn.execute(sa.select(T.run_lines)).mappings():
                seq = run_event.get(row["run_id"])
                covered.setdefault(seq, {}).setdefault("run_lines", []).append(dict(row))
            for row in conn.execute(sa.select(T.claims)).mappings():
                seq = run_event.get(row["first_run_id"])
                covered.setdefault(seq, {}).setdefault("claims", []).append(dict(row))
            prev = GENESIS
            expected_seq = 1
            for row in conn.execute(sa.select(T.events).order_by(T.events.c.seq)).mappings():
                ev = dict(row)
                if ev["seq"] != expected_seq:
                    return _broken(report, ev["seq"], f"event {expected_seq} is missing (the next stored event is {ev['seq']})")
                if ev["prev_hash"] != prev:
                    return _broken(report, ev["seq"], f"event {ev['seq']} does not follow event {ev['seq'] - 1}: its prev_hash differs from that event's hash")
                stored = ev.pop("hash")
                if _event_hash(ev) != stored:
                    return _broken(report, ev["seq"], f"event {ev['seq']} ({ev['kind']} {ev['ref']}) was altered: its hash does not match its content")
                rows = covered.pop(ev["seq"], {})
                if _digest(rows) != ev["digest"]:
                    return _broken(report, ev["seq"], f"the records of event {ev['seq']} ({ev['kind']} {ev['ref']}) were altered, added or removed: their digest differs")
                prev = stored
                expected_seq += 1
                report.events += 1
            if covered:
                seq = min(k for k in covered if k is not None) if any(k is not None for k in covered) else None
                return _broken(report, seq, f"records point at event {seq}, which is not in the chain" if seq else "records exist that no event covers")
        report.head = prev
        return report

    def export_rows(self, what: str, contract_id: str | None = None, municipality: str | None = None) -> tuple[list[str], list[list]]:
        """(header, rows) of claims, runs or audit events, for CSV, JSON and xlsx exports."""
        if what == "claims":
            header = ["payment_id", "contract_id", "municipality", "subject_kind", "subject", "milestone", "occurrence", "payee", "state", "disputed", "settled", "paid", "recovered", "outstanding", "reference", "currency"]
            rows = []
            for c in self.claims(contract_id=contract_id, municipality=municipality, limit=None):
                rows.append([c.payment_id, c.contract_id, c.municipality, c.subject_kind, c.subject, c.milestone, c.occurrence, c.payee, c.state, c.disputed, c.settled, c.paid, c.recovered, c.outstanding, c.reference, c.currency])
            return header, rows
        if what == "runs":
            header = ["id", "contract_id", "seq", "parent_id", "as_of", "period_kind", "actor", "at", "lines", "total", "due_now", "refused", "contract_hash", "currency"]
            out = []
            offset = 0
            while True:
                page = self.runs(contract_id, municipality, limit=1000, offset=offset)
                out.extend([r.id, r.contract_id, r.seq, r.parent_id, r.as_of, r.period_kind, r.actor, r.at, r.lines_count, r.total, r.due_now, r.refused, r.contract_hash, r.currency] for r in page)
                if len(page) < 1000:
                    return header, out
                offset += 1000
        if what == "events":
            header = ["seq", "at", "actor", "kind", "ref", "digest", "prev_hash", "hash"]
            out, after = [], 0
            while True:
                page = self.audit(after, 1000)
                out.extend([e.seq, e.at, e.actor, e.kind, e.ref, e.digest, e.prev_hash, e.hash] for e in page)
                if len(page) < 1000:
                    return header, out
                after = page[-1].seq
        raise ValueError(f"unknown export {what!r}")


@dataclass(frozen=True)
class _Replay:
    """The first answer to an Idempotency-Key, returned instead of doing the work again."""

    status: int
    replayed_body: str


_INSERT_ORDER = ("contract_versions", "decisions", "settlement_runs", "run_lines", "claims", "claim_events")


def _evidence(results: list, settlement: Settlement) -> dict[str, str]:
    """payment id -> the evidence of its milestone occurrence (JSON), for every line that pays something."""
    paid = {x.payment_id for x in settlement.lines if x.amount > 0}
    out: dict[str, str] = {}
    for r in results:
        milestones = getattr(r, "milestones", None)  # a DecisionView (simulation) carries none
        if not milestones:
            continue
        by_key = {(m.milestone, o.occurrence): o for m in milestones for o in m.occurrences}
        for p in r.payments:
            if p.payment_id in paid and (p.milestone, p.occurrence) in by_key:
                o = by_key[(p.milestone, p.occurrence)]
                out[p.payment_id] = json.dumps(
                    {"met_on": o.met_on.isoformat(), "definition_reference": o.definition_reference,
                     "evidence": [{"source": e.source, "description": e.description} for e in o.evidence]},
                    ensure_ascii=False, separators=(",", ":"),
                )
    return out


def _bulk_insert(conn: sa.Connection, table: sa.Table, rows: list[dict]) -> None:
    """INSERT many rows with the driver's executemany (SQLAlchemy's statement building is the slow part here)."""
    cols = list(rows[0])
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    quote = conn.dialect.identifier_preparer.quote
    sql = f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in cols)}) VALUES ({', '.join(mark for _ in cols)})"
    conn.exec_driver_sql(sql, [tuple(r[c] for c in cols) for r in rows])


def _digest(rows: dict[str, list[dict]]) -> str:
    """sha256 over the rows an event covers, in a canonical order (independent of the database).

    Each row is its columns in name order, each value's repr (dates in ISO), joined by US;
    event_seq (the event itself) and the autoincrement ids of decisions and claim events
    (assigned by the database after the digest is taken) are left out. SQLite and PostgreSQL
    return the same Python types for every column (str, int, bool, None, date)."""
    h = hashlib.sha256()
    for name in sorted(rows):
        items = rows[name]
        if not items:
            continue
        skip = {"event_seq", "id"} if name in ("decisions", "claim_events") else {"event_seq"}
        keys = sorted(k for k in items[0] if k not in skip)
        texts = sorted("\x1f".join([v.isoformat() if isinstance(v, date) else repr(v) for v in map(row.__getitem__, keys)]) for row in items)
        prefix = (name + "\x1f").encode()
        for text in texts:
            h.update(prefix)
            h.update(text.encode("utf-8"))
            h.update(b"\x1e")
    return h.hexdigest()


def _event_hash(ev: dict) -> str:
    text = "|".join(str(ev[k]) for k in ("seq", "at", "actor", "kind", "ref", "digest", "prev_hash"))
    return sha256(text)


def _broken(report: VerifyReport, seq: int | None, why: str) -> VerifyReport:
    report.broken = why
    report.broken_seq = seq
    return report


def _pseudonymise(text: str, subject_id: str, key: str) -> str:
    quoted = json.dumps(subject_id)
    return text.replace(quoted, json.dumps(f"key:{key}")).replace(f"/{subject_id}/", f"/key:{key}/")


def _settle_reason(current: ClaimState | None, after: ClaimState, run_id: int) -> str:
    run = f"settlement run {run_id}"
    if current is None:
        return f"{run}: newly triggered, {from_ore(after.settled)} due"
    if after.state == "rejected":
        return f"{run}: settled amount now {from_ore(after.settled)}; the claim stays rejected (reinstate it to propose it again)"
    if after.state == "recovery_due":
        return f"{run}: settled amount now {from_ore(after.settled)}, below the {from_ore(after.net_paid)} paid: {from_ore(after.net_paid - after.settled)} to be paid back"
    if after.state == "withdrawn":
        return f"{run}: no longer triggered; nothing had been paid"
    if after.state == "due" and current.state == "paid":
        return f"{run}: settled amount rose to {from_ore(after.settled)}: a top-up of {from_ore(after.settled - after.net_paid)} is due"
    if after.state == "paid" and current.state == "recovery_due":
        return f"{run}: settled amount back to {from_ore(after.settled)}: nothing to recover"
    return f"{run}: settled amount {from_ore(current.settled)} -> {from_ore(after.settled)}"


def _currencies(conn, contract_ids: set[str]) -> dict[str, str]:
    """contract id -> the currency of its latest settlement run. One per contract: a run in another
    currency than the one before is refused (the settlement checks the previous run's)."""
    if not contract_ids:
        return {}
    r = T.settlement_runs.c
    latest = sa.select(sa.func.max(r.id)).where(r.contract_id.in_(sorted(contract_ids))).group_by(r.contract_id)
    rows = conn.execute(sa.select(r.contract_id, r.totals_json).where(r.id.in_(latest))).all()
    return {cid: json.loads(text).get("currency", DEFAULT_CURRENCY) for cid, text in rows}


def _run_view(row, with_settlement: bool) -> RunView:
    totals = json.loads(row["totals_json"])
    return RunView(
        id=row["id"], contract_id=row["contract_id"], seq=row["seq"], parent_id=row["parent_id"], contract_hash=row["contract_hash"],
        as_of=row["as_of"], period_kind=row["period_kind"], actor=row["actor"], at=row["at"], lines_count=row["lines_count"],
        total=from_ore(row["total_ore"]), due_now=from_ore(row["due_now_ore"]), refused=from_ore(row["refused_ore"]), totals=totals,
        settlement_json=row["settlement_json"] if with_settlement else None,
    )


_CLAIM_COLUMNS = ["payment_id", "contract_id", "municipality", "subject_kind", "subject", "milestone", "occurrence", "payee", "reference", "first_run_id"]
if [c.name for c in T.claims.c] != _CLAIM_COLUMNS:  # _claim_row unpacks listing rows in this order
    raise RuntimeError("the claims table's columns changed: update _claim_row")


def _claim_row(r) -> ClaimView:
    """A listing row: the claims columns in table order, then state, disputed, settled, paid, recovered."""
    (payment_id, contract_id, municipality, subject_kind, subject, milestone, occurrence, payee, reference, first_run_id,
     state, disputed, settled, paid, recovered) = r
    return ClaimView(payment_id, contract_id, municipality, subject_kind, subject, milestone, occurrence, payee, reference, first_run_id,
                     state, bool(disputed), from_ore(settled), from_ore(paid), from_ore(recovered))


def _claim_view(r, events: tuple[ClaimEvent, ...] = ()) -> ClaimView:
    return ClaimView(
        payment_id=r["payment_id"], contract_id=r["contract_id"], municipality=r["municipality"], subject_kind=r["subject_kind"],
        subject=r["subject"], milestone=r["milestone"], occurrence=r["occurrence"], payee=r["payee"], reference=r["reference"],
        first_run_id=r["first_run_id"], state=r["to_state"], disputed=bool(r["disputed"]), settled=from_ore(r["settled_ore"]),
        paid=from_ore(r["paid_ore"]), recovered=from_ore(r["recovered_ore"]), events=events,
    )


def _reason(exc: Exception) -> str:
    text = str(getattr(exc, "orig", exc) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__

__all__ = [
    "AuditEvent",
    "ClaimView",
    "Idempotency",
    "IdempotencyConflict",
    "Ledger",
    "NotFound",
    "ReasonRequired",
    "RecordedRun",
    "RunRefused",
    "RunView",
    "TransitionRefused",
    "VerifyReport",
    "cli_actor",
]
