"""The payment ledger: every contract version, decision, settlement run and claim, kept.

Guarantees (how each is enforced: docs/ledger.md):

- a record is never updated or deleted; a mistake is corrected by a new record;
- at most one claim per payment id; a pending claim resolves at most once;
- settlement runs of a contract are serialised, each against the latest recorded run,
  which the ledger finds itself (no caller can supply an earlier or forged one);
- every write is one transaction and appends to a hash chain that ``verify`` recomputes.

``Ledger(url)`` opens (and migrates) a database: SQLite by default (``var/pbr.db``),
PostgreSQL through the same URL.
"""

from pbr_rules.ledger.claims import ACTION_ROLES, ACTIONS, ALLOWED_FROM, STATES, ClaimState, TransitionRefused, after_settlement, apply_action
from pbr_rules.ledger.database import (
    DEFAULT_URL_ENV,
    LedgerError,
    LedgerUnavailable,
    SchemaTooNew,
    check_revision,
    create_engine,
    current_revision,
    head_revision,
    missing_sqlite_file,
    resolve_url,
    script_directory,
    shown,
    upgrade,
)
from pbr_rules.ledger.service import (
    AuditEvent,
    ClaimView,
    DecisionEntry,
    Idempotency,
    IdempotencyConflict,
    Ledger,
    NotFound,
    ReasonRequired,
    RecordedRun,
    RunRefused,
    RunView,
    VerifyReport,
    cli_actor,
    decision_record,
)

__all__ = [
    "ACTION_ROLES",
    "ACTIONS",
    "ALLOWED_FROM",
    "DEFAULT_URL_ENV",
    "STATES",
    "AuditEvent",
    "ClaimState",
    "ClaimView",
    "DecisionEntry",
    "Idempotency",
    "IdempotencyConflict",
    "Ledger",
    "LedgerError",
    "LedgerUnavailable",
    "NotFound",
    "ReasonRequired",
    "RecordedRun",
    "RunRefused",
    "RunView",
    "SchemaTooNew",
    "TransitionRefused",
    "VerifyReport",
    "after_settlement",
    "apply_action",
    "check_revision",
    "cli_actor",
    "create_engine",
    "current_revision",
    "decision_record",
    "head_revision",
    "resolve_url",
    "script_directory",
    "shown",
    "missing_sqlite_file",
    "upgrade",
]
