"""Where the ledger lives and how it is opened: the URL, migrations, the write lock.

- The URL: ``--database`` or ``PBR_DATABASE_URL``; by default an SQLite file ``var/pbr.db``
  under the working folder (created with its folder on first use). A plain path is taken
  as an SQLite file. PostgreSQL: ``postgresql+psycopg://user:password@host/db`` (psycopg 3).
- Migrations (Alembic, shipped in ``ledger/migrations``) run on open, so a new or older
  database is brought to this version first; a database written by a *newer* pbr-rules
  (a revision this one does not know) is refused.
- Every write takes the ledger's one write lock for its transaction: ``BEGIN IMMEDIATE``
  on SQLite, a transaction-level advisory lock on PostgreSQL. Writes are therefore
  serialised (which is what appending to one hash chain needs); reads never wait.
- A password in the URL is never shown: messages use the URL with ``***``.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from pbr_rules.errors import PbrError

DEFAULT_URL_ENV = "PBR_DATABASE_URL"
DEFAULT_SQLITE = Path("var") / "pbr.db"
MIGRATIONS = Path(__file__).parent / "migrations"
ADVISORY_LOCK_KEY = 0x70627231  # "pbr1": the ledger's write lock on PostgreSQL


class LedgerError(PbrError):
    """Something the ledger refuses or cannot do."""


class LedgerUnavailable(LedgerError):
    """The database cannot be reached or opened (the message names the URL, never its password)."""


class SchemaTooNew(LedgerError):
    """The database was written by a newer pbr-rules than this one."""


def resolve_url(url: str | None = None) -> str:
    """The database URL from the argument, ``PBR_DATABASE_URL``, or the default SQLite file."""
    url = url or os.environ.get(DEFAULT_URL_ENV) or str(DEFAULT_SQLITE)
    if "://" not in url:
        path = Path(url).expanduser()
        return f"sqlite:///{path}"
    return url


def missing_sqlite_file(url: str | None = None) -> str | None:
    """The path of the SQLite file ``url`` names when that file does not exist (None for a
    server database, an in-memory one, or a file that exists): opening a Ledger would create it."""
    try:
        parsed = sa.make_url(resolve_url(url))
    except Exception:  # noqa: BLE001 - not a URL: Ledger() reports it properly
        return None
    if not parsed.drivername.startswith("sqlite") or not parsed.database or parsed.database == ":memory:":
        return None
    return None if Path(parsed.database).exists() else parsed.database


def shown(url: str | sa.URL) -> str:
    """The URL for messages: the password replaced by ***."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: show nothing of it that could be secret
        return "<the database URL>"


def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(_alembic_config())


def head_revision() -> str:
    return script_directory().get_current_head()


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def create_engine(url: str) -> sa.Engine:
    """An engine for the URL; SQLite files get their folder, WAL and foreign keys."""
    try:
        parsed = sa.make_url(url)
    except Exception:
        raise LedgerUnavailable(f"not a database URL: {shown(url)} (give a file path for SQLite or postgresql+psycopg://user@host/db)") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        db = parsed.database
        if db and db != ":memory:":
            try:
                Path(db).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise LedgerUnavailable(f"cannot create the folder for the ledger {shown(url)}: {exc.strerror}") from None
        engine = sa.create_engine(parsed, connect_args={"timeout": 60, "isolation_level": None})

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _on_begin(conn):
            # pysqlite's own transaction handling is off (isolation_level None): begin here.
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("write") else "BEGIN")

        return engine
    if backend == "postgresql":
        if parsed.get_driver_name() not in ("psycopg", "psycopg2") and parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return sa.create_engine(parsed, pool_pre_ping=True)
    raise LedgerUnavailable(f"unsupported database {shown(url)}: the ledger runs on SQLite or PostgreSQL")


@contextmanager
def write_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """One transaction holding the ledger's write lock; committed on success, rolled back on any error."""
    with engine.connect() as conn:
        conn.info["write"] = True
        try:
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
                yield conn
        finally:
            conn.info.pop("write", None)


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: sa.Engine, url: str) -> tuple[str | None, str]:
    """Bring the database to this version's schema; (revision before, revision after)."""
    before = check_revision(engine, url)
    head = head_revision()
    if before != head:
        with engine.connect() as conn:
            conn.info["write"] = True
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
                # another process may have migrated while we waited for the lock
                now = MigrationContext.configure(conn).get_current_revision()
                if now != head:
                    cfg = _alembic_config()
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, "head")
    return before, head


def check_revision(engine: sa.Engine, url: str) -> str | None:
    """The database's schema revision; SchemaTooNew when this pbr-rules does not know it."""
    try:
        rev = current_revision(engine)
    except sa.exc.OperationalError as exc:
        raise LedgerUnavailable(f"cannot open the ledger database {shown(url)}: {_reason(exc)}") from None
    if rev is not None:
        known = {s.revision for s in script_directory().walk_revisions()}
        if rev not in known:
            raise SchemaTooNew(
                f"the ledger database {shown(url)} was written by a newer pbr-rules (schema revision {rev}; this version knows "
                f"up to {head_revision()}): upgrade pbr-rules, or point --database / {DEFAULT_URL_ENV} at another database"
            )
    return rev


def _reason(exc: Exception) -> str:
    text = str(getattr(exc, "orig", exc) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
