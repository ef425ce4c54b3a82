"""The ledger's tables (SQLAlchemy Core). Rows are only ever inserted: never updated, never deleted.

- ``events``: the tamper-evident chain. Every record written below also writes one event
  in the same transaction; each event carries the hash of the one before it, and the
  digest of the record it stands for. ``prev_hash`` is unique: the chain cannot fork.
- ``contract_versions``: each agreement version the service used, by content hash, with
  its merged source text (the canonical JSON the content hash is computed from).
- ``decisions``: every logged evaluation: a keyed-hash subject key (never the id itself),
  the contract hash, as-of date, a hash of the inputs, and the result.
- ``settlement_runs`` and ``run_lines``: each recorded settlement of a contract (a paid line
  keeps the evidence its milestone was met on); ``seq`` counts
  a contract's runs from 1 and each run names its parent (the run before it), so two runs
  started at once cannot both follow the same parent (unique constraints).
- ``claims``: one row per payment id, ever (primary key), and ``claim_events``: every change
  of a claim's state or amounts, numbered per claim (unique ``(payment_id, n)``), so two
  concurrent transitions of one claim cannot both be recorded.
- ``idempotency_keys``: the first answer to each (caller, Idempotency-Key).

Money is stored as integer øre (exact on every database); the service converts to Decimal.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "pk": "pk_%(table_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    }
)

events = Table(
    "events",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", String(32), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("ref", String(400), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False, unique=True),
    Column("hash", String(64), nullable=False, unique=True),
)

contract_versions = Table(
    "contract_versions",
    metadata,
    Column("content_hash", String(64), primary_key=True),
    Column("contract_id", String(200), nullable=False, index=True),
    Column("version", String(50), nullable=False),
    Column("municipality", String(10), nullable=False),
    Column("source_text", Text, nullable=False),
    Column("agreement_file", String(400), nullable=False),
    Column("loaded_at", String(32), nullable=False),
    Column("loaded_by", String(200), nullable=False),
    Column("event_seq", BigInteger, ForeignKey("events.seq"), nullable=False, unique=True),
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("subject_key", String(64), nullable=False, index=True),
    Column("subject_kind", String(20), nullable=False),
    Column("contract_hash", String(64), ForeignKey("contract_versions.content_hash"), nullable=False),
    Column("as_of", Date, nullable=True),
    Column("inputs_hash", String(64), nullable=False),
    Column("result_hash", String(64), nullable=False),
    Column("result_json", Text, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("at", String(32), nullable=False),
    Column("event_seq", BigInteger, ForeignKey("events.seq"), nullable=False, index=True),
)

settlement_runs = Table(
    "settlement_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("contract_id", String(200), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("parent_id", Integer, ForeignKey("settlement_runs.id"), nullable=True, unique=True),
    Column("contract_hash", String(64), ForeignKey("contract_versions.content_hash"), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("period_kind", String(10), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("at", String(32), nullable=False),
    Column("lines_count", Integer, nullable=False),
    Column("total_ore", BigInteger, nullable=False),
    Column("due_now_ore", BigInteger, nullable=False),
    Column("refused_ore", BigInteger, nullable=False),
    Column("totals_json", Text, nullable=False),
    Column("settlement_json", Text, nullable=False),
    Column("event_seq", BigInteger, ForeignKey("events.seq"), nullable=False, unique=True),
    UniqueConstraint("contract_id", "seq"),
)

run_lines = Table(
    "run_lines",
    metadata,
    Column("run_id", Integer, ForeignKey("settlement_runs.id"), primary_key=True),
    Column("payment_id", String(400), primary_key=True),
    Column("amount_ore", BigInteger, nullable=False),
    Column("payers", Text, nullable=False),
    Column("evidence", Text, nullable=True),  # JSON: when the milestone was met, under which definition, from which records
)

claims = Table(
    "claims",
    metadata,
    Column("payment_id", String(400), primary_key=True),
    Column("contract_id", String(200), nullable=False, index=True),
    Column("municipality", String(10), nullable=False, index=True),
    Column("subject_kind", String(20), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("milestone", String(200), nullable=False),
    Column("occurrence", Integer, nullable=False),
    Column("payee", String(200), nullable=False),
    Column("reference", Text, nullable=False),
    Column("first_run_id", Integer, ForeignKey("settlement_runs.id"), nullable=False),
)

claim_events = Table(
    "claim_events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("payment_id", String(400), ForeignKey("claims.payment_id"), nullable=False),
    Column("n", Integer, nullable=False),
    Column("action", String(20), nullable=False),
    Column("from_state", String(20), nullable=True),
    Column("to_state", String(20), nullable=False),
    Column("disputed", Boolean, nullable=False),
    Column("settled_ore", BigInteger, nullable=False),
    Column("paid_ore", BigInteger, nullable=False),
    Column("recovered_ore", BigInteger, nullable=False),
    Column("amount_ore", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("at", String(32), nullable=False),
    Column("run_id", Integer, ForeignKey("settlement_runs.id"), nullable=True),
    Column("event_seq", BigInteger, ForeignKey("events.seq"), nullable=False, index=True),
    UniqueConstraint("payment_id", "n"),
    Index("ix_claim_events_state", "to_state"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("caller", String(200), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("at", String(32), nullable=False),
)
