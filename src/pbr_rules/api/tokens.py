"""Bearer tokens: created once, shown once, stored only as sha256 hashes; listed, revoked, expiring.

The tokens file is JSON::

    {"tokens": [{"id": "t-3f9a1c2b", "sha256": "...", "role": "municipality",
                 "municipality": "101", "created": "2024-05-01", "expires": "2025-05-01",
                 "last_used": "2024-06-03", "development": false}]}

Every change (create, revoke, the server noting a token's last use) reads, changes and
writes the file while holding an exclusive lock on ``<file>.lock`` (``fcntl.flock``), so
concurrent ``pbr token create`` runs all keep their token; the write is atomic (a
temporary file in the same folder, then a rename) with mode 0600. A token is never
written anywhere: only its hash. Looking one up hashes the presented token and compares it
with every stored hash using ``hmac.compare_digest``.

A token with ``expires`` is valid up to and including that day (UTC) and refused from
the next. The server's ``TokenStore`` **fails closed**: while the file is missing,
unreadable or malformed (or, in production, readable or writable by others) every token
is refused with 503 and the reason is logged once, until the file is fixed.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import stat
import tempfile
import threading
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from pbr_rules.personal_data import install_log_filter

log = logging.getLogger("pbr_rules.api.tokens")
install_log_filter(log)  # its lines name the tokens file: masked like every other log line

ROLES = ("fund", "municipality", "auditor")
_MUNICIPALITY = re.compile(r"^\d{3}$")


class TokenFileInvalid(Exception):
    """The tokens file cannot be read or is not in the expected form."""


class TokensUnavailable(Exception):
    """The server cannot use its tokens file right now: every token is refused (503) until it is fixed."""


class TokenExpired(Exception):
    """The token is known but its expiry date has passed."""

    def __init__(self, record: "TokenRecord"):
        super().__init__(f"this token expired on {record.expires}; ask for a new one ('pbr token create')")
        self.record = record


@dataclass(frozen=True)
class TokenRecord:
    id: str
    sha256: str
    role: str
    municipality: str | None
    created: str
    development: bool = False
    expires: str | None = None
    last_used: str | None = None

    def expired(self, today: date) -> bool:
        return self.expires is not None and today > date.fromisoformat(self.expires)


def utc_today() -> date:
    return datetime.now(timezone.utc).date()


def parse_expires(text: str, today: date | None = None) -> date | None:
    """``--expires``: an ISO date ``YYYY-MM-DD``, a number of days ``90d``, or ``never``."""
    today = today or utc_today()
    value = text.strip().lower()
    if value == "never":
        return None
    m = re.fullmatch(r"(\d+)d", value)
    if m:
        days = int(m.group(1)) if len(m.group(1)) <= 6 else 10**6
        if days < 1:
            raise ValueError("--expires needs at least 1d")
        if days > 36_500:
            raise ValueError(f"--expires {text}: at most 36500d (100 years); for a token that never expires, say never")
        return today + timedelta(days=days)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"--expires {text!r} is not a calendar date") from None
        if day < today:
            raise ValueError(f"--expires {text} is in the past")
        return day
    raise ValueError(f"--expires must be a date YYYY-MM-DD, a number of days such as 90d, or never; got {text!r}")


def loose_permissions(path: str | Path) -> str | None:
    """Why ``path`` is not private to its owner (None when it is): read or write for the group or others."""
    try:
        mode = stat.S_IMODE(Path(path).stat().st_mode)
    except OSError:
        return None
    if mode & 0o077:
        return f"{path} has mode {mode:04o}: readable or writable by others; make it private with 'chmod 600 {path}'"
    return None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def read_tokens(path: str | Path) -> list[TokenRecord]:
    """The token records in ``path`` (none if the file does not exist)."""
    path = Path(path)
    if not path.exists():
        return []
    try:
        text = path.read_text(encoding="utf-8")
        if not text.strip():
            return []  # an empty file holds no tokens (made by 'touch', or truncated): every token is refused
        data = json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TokenFileInvalid(f"cannot read the tokens file {path}: {exc}") from None
    items = data.get("tokens") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise TokenFileInvalid(f"the tokens file {path} must be a JSON object with a list 'tokens'")
    out = []
    for i, item in enumerate(items):
        try:
            rec = TokenRecord(**item)
        except TypeError:
            raise TokenFileInvalid(f"the tokens file {path}: tokens[{i}] has the wrong keys") from None
        if rec.role not in ROLES or (rec.role == "municipality") != bool(rec.municipality):
            raise TokenFileInvalid(f"the tokens file {path}: tokens[{i}] has an invalid role or municipality")
        if not re.fullmatch(r"[0-9a-f]{64}", str(rec.sha256)):
            raise TokenFileInvalid(f"the tokens file {path}: tokens[{i}] has no valid sha256 hash")
        for key in ("created", "expires", "last_used"):
            value = getattr(rec, key)
            if value is not None and not (isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) and _is_date(value)):
                raise TokenFileInvalid(f"the tokens file {path}: tokens[{i}].{key} must be a calendar date YYYY-MM-DD (got {value!r})")
        out.append(rec)
    return out


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:  # 2027-02-30
        return False
    return True


@contextlib.contextmanager
def locked(path: str | Path):
    """Hold the exclusive lock of the tokens file ``path`` (on ``<path>.lock``, mode 0600)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _write_atomically(path: Path, records: list[TokenRecord]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"tokens": [asdict(r) for r in records]}, indent=2) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    os.chmod(path, 0o600)


def create_token(
    path: str | Path,
    role: str,
    municipality: str | None = None,
    *,
    development: bool = False,
    today: date | None = None,
    expires: date | None = None,
) -> tuple[str, TokenRecord]:
    """Create a random token, store its hash in ``path``, and return (token, record). The token is not kept."""
    if role not in ROLES:
        raise ValueError(f"role must be one of: {', '.join(ROLES)}")
    if role == "municipality":
        if not municipality or not _MUNICIPALITY.match(municipality):
            raise ValueError("a municipality token needs --municipality with the three-digit municipality code, e.g. 101")
    elif municipality:
        raise ValueError(f"--municipality is only for municipality tokens, not {role}")
    path = Path(path)
    token = secrets.token_urlsafe(32)
    with locked(path):
        records = read_tokens(path)
        known_ids = {r.id for r in records}
        while True:
            token_id = "t-" + secrets.token_hex(4)
            if token_id not in known_ids:
                break
        record = TokenRecord(
            id=token_id,
            sha256=hash_token(token),
            role=role,
            municipality=municipality if role == "municipality" else None,
            created=(today or utc_today()).isoformat(),
            development=development,
            expires=expires.isoformat() if expires else None,
        )
        _write_atomically(path, records + [record])
    return token, record


def revoke_token(path: str | Path, token_id: str) -> TokenRecord:
    """Remove the token ``token_id`` from ``path`` (it is refused from the next request); KeyError if unknown."""
    path = Path(path)
    with locked(path):
        records = read_tokens(path)
        found = [r for r in records if r.id == token_id]
        if not found:
            raise KeyError(token_id)
        _write_atomically(path, [r for r in records if r.id != token_id])
    return found[0]


def note_last_used(path: str | Path, token_id: str, day: date) -> None:
    """Record that ``token_id`` was used on ``day`` (under the lock; other records kept as they are)."""
    path = Path(path)
    with locked(path):
        records = read_tokens(path)
        changed = [replace(r, last_used=day.isoformat()) if r.id == token_id else r for r in records]
        if changed != records:
            _write_atomically(path, changed)


class TokenStore:
    """The tokens file as the server sees it: re-read when it changes, and failing closed.

    New tokens take effect without a restart. While the file is missing, unreadable or
    malformed, ``authenticate`` raises ``TokensUnavailable`` for every token (the API
    answers 503) and the reason is logged once per change of the file; the last good set is
    *not* kept (a revoked token must not keep working because an edit broke the file).
    In production a file readable or writable by others is refused the same way.
    """

    def __init__(self, path: str | Path, *, production: bool = False):
        self.path = Path(path)
        self.production = production
        self._stamp: tuple | None = ("unread",)
        self._state: tuple[list[TokenRecord], str | None] = ([], None)  # (records, problem), swapped whole
        self._lock = threading.Lock()
        self._cant_note = False
        self.refresh()

    @property
    def problem(self) -> str | None:
        """Why every token is refused right now (None when the file is usable)."""
        return self._problem

    def refresh(self) -> None:
        """Re-read the file if it changed. Requests run on several threads: the new state is
        built aside and swapped in under a lock, so no request ever sees a half-read set."""
        try:
            st = self.path.stat()
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino, st.st_mode)
        except OSError:
            stamp = None
        if stamp == self._stamp:
            return
        with self._lock:
            if stamp == self._stamp:
                return
            records: list[TokenRecord] = []
            problem = None
            if stamp is None:
                problem = f"the tokens file {self.path} does not exist"
            else:
                loose = loose_permissions(self.path)
                if loose and self.production:
                    problem = loose
                else:
                    if loose:
                        log.warning("SECURITY: %s (development mode: accepted)", loose)
                    try:
                        records = read_tokens(self.path)
                    except TokenFileInvalid as exc:
                        problem = str(exc)
            if problem and problem != self._problem:
                log.error("every token is refused until the tokens file is fixed: %s", problem)
            elif self._problem and not problem:
                log.warning("the tokens file %s is usable again (%d tokens)", self.path, len(records))
            self._state = (records, problem)
            self._stamp = stamp

    @property
    def _records(self) -> list[TokenRecord]:
        return self._state[0]

    @property
    def _problem(self) -> str | None:
        return self._state[1]

    def __len__(self) -> int:
        return len(self._records)

    def lookup(self, token: str) -> TokenRecord | None:
        """The record whose hash matches ``token`` (expired or not); every stored hash is compared in constant time."""
        self.refresh()
        records, problem = self._state
        if problem:
            return None
        return self._match(records, token)

    @staticmethod
    def _match(records: list[TokenRecord], token: str) -> TokenRecord | None:
        presented = hash_token(token)
        found = None
        for rec in records:
            if hmac.compare_digest(presented, rec.sha256):
                found = rec
        return found

    def authenticate(self, token: str, today: date | None = None, *, note: bool = True) -> TokenRecord | None:
        """The valid record for ``token``, None if unknown; TokenExpired, or TokensUnavailable while the file is unusable.

        With ``note`` the day of use is written to the file when it is a new day (``note_use``);
        without it nothing here blocks beyond a ``stat`` of the file, and the caller notes the use
        itself when ``needs_note`` says so (the API does it off the event loop)."""
        self.refresh()
        records, problem = self._state
        if problem:
            raise TokensUnavailable(problem)
        record = self._match(records, token)
        if record is None:
            return None
        today = today or utc_today()
        if record.expired(today):
            raise TokenExpired(record)
        if note and self.needs_note(record, today):
            self.note_use(record, today)
        return record

    def needs_note(self, record: TokenRecord, today: date) -> bool:
        """Whether the file does not yet say that ``record`` was used on ``today`` (at most once a day per token)."""
        return record.last_used != today.isoformat() and not self._cant_note

    def note_use(self, record: TokenRecord, today: date) -> None:
        """Write the day of use into the tokens file (under its lock): blocking file work."""
        try:
            note_last_used(self.path, record.id, today)
        except (OSError, TokenFileInvalid) as exc:
            self._cant_note = True
            log.warning("cannot note when tokens were last used in %s (%s); 'pbr token list' will not show it", self.path, type(exc).__name__)

    def lookup_hash(self, sha256: str) -> TokenRecord | None:
        """The record with this token hash (a web session names its token by hash, never the token); None while the file is unusable."""
        self.refresh()
        records, problem = self._state
        if problem:
            return None
        found = None
        for rec in records:
            if hmac.compare_digest(sha256, rec.sha256):
                found = rec
        return found
