"""Signing in to the web workspace: an API token exchanged for a signed session cookie, and CSRF.

- The cookie ``pbr_session`` holds the token's *id and hash* (never the token), an expiry and
  a random nonce, signed with HMAC-SHA256 under the workspace's secret key. It is HttpOnly,
  SameSite=Strict, and Secure when the request came over TLS. Every request checks the
  signature and the expiry, then looks the hash up in the tokens file again: a revoked (or
  expired) token ends its sessions at once.
- Every form carries a CSRF token, HMAC(secret, "csrf" + the session nonce); a POST without
  the right one is refused (403). The sign-in form, before there is a session, uses a
  double-submit token: a random ``pbr_signin`` cookie that the form must echo.
- The secret key is a file (``PBR_WEB_SECRET_FILE``, default ``var/pbr-web.key``, created
  0600 on first use), shared by every worker process, so any worker accepts any session.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import json
import logging
import os
import secrets
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("pbr_rules.web")
SESSION_COOKIE = "pbr_session"
SIGNIN_COOKIE = "pbr_signin"
SECRET_ENV = "PBR_WEB_SECRET_FILE"
DEFAULT_SECRET = Path("var") / "pbr-web.key"
SESSION_SECONDS = 8 * 3600  # a working day


@dataclass(frozen=True)
class Session:
    token_id: str
    token_hash: str
    role: str
    municipality: str | None
    nonce: str
    expires: int


class Secret:
    """The workspace's signing key, read once from its file (created on first use)."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path or os.environ.get(SECRET_ENV) or DEFAULT_SECRET)
        self._key: bytes | None = None

    @property
    def key(self) -> bytes:
        if self._key is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "w") as f:
                    f.write(secrets.token_hex(32) + "\n")
            text = self.path.read_text().strip()
            if len(text) < 32:
                raise RuntimeError(f"the web workspace's secret key file {self.path} is empty or too short; delete it to make a new one")
            self._key = text.encode()
        return self._key

    def sign(self, payload: bytes) -> str:
        return hmac.new(self.key, payload, hashlib.sha256).hexdigest()


class SignedOut:
    """Sessions signed out before they expired, so a copied cookie is refused after sign-out.

    Kept in a small file beside the signing key (``<key file>.signed-out``, mode 0600), so
    every worker process of ``pbr serve --workers N`` sees a sign-out: a line per session,
    ``nonce expires``. A sign-out rewrites it under an exclusive lock (``.lock`` beside it,
    shared by the processes) and drops the lines whose session has expired anyway; readers
    read it again when it is replaced. A line that cannot be read is skipped. If the folder
    cannot be written (a read-only secret mount), the sign-out is logged and the cookie is
    still cleared."""

    def __init__(self, secret: Secret):
        self.path = secret.path.with_name(secret.path.name + ".signed-out")
        self._lock = threading.Lock()
        self._seen: tuple[int, int, int] | None = None
        self._nonces: frozenset[str] = frozenset()

    def add(self, session: Session, now: float | None = None) -> bool:
        """Record the sign-out; False (logged) when the file cannot be written."""
        now = time.time() if now is None else now
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)  # every process: read, add, write back, one at a time
                lines = [f"{n} {e}" for n, e in self._entries() if e >= now] + [f"{session.nonce} {session.expires}"]
                tmp_fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
                with os.fdopen(tmp_fd, "w", encoding="ascii") as f:
                    f.write("\n".join(lines) + "\n")
                os.replace(tmp, self.path)
            finally:
                os.close(fd)
        except OSError as exc:
            log.error("cannot record a sign-out in %s (%s): that session's cookie is cleared, but a copy of it stays valid until it expires", self.path, exc)
            return False
        return True

    def __contains__(self, session: Session) -> bool:
        try:
            st = self.path.stat()
        except OSError:
            return False
        seen = (st.st_ino, st.st_mtime_ns, st.st_size)  # each sign-out replaces the file: a new inode
        with self._lock:
            if self._seen != seen:
                self._nonces = frozenset(n for n, _ in self._entries())
                self._seen = seen
            return session.nonce in self._nonces

    def _entries(self) -> list[tuple[str, int]]:
        try:
            text = self.path.read_bytes().decode("ascii", "replace")
        except OSError:
            return []
        out = []
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1].isascii() and parts[1].isdigit():
                out.append((parts[0], int(parts[1])))
        return out


def make_session(secret: Secret, token_id: str, token_hash: str, role: str, municipality: str | None, now: float | None = None) -> tuple[Session, str]:
    """A new session and its cookie value."""
    now = time.time() if now is None else now
    s = Session(token_id, token_hash, role, municipality, secrets.token_hex(16), int(now) + SESSION_SECONDS)
    payload = base64.urlsafe_b64encode(json.dumps(s.__dict__, separators=(",", ":")).encode()).decode()
    return s, f"{payload}.{secret.sign(payload.encode())}"


def read_session(secret: Secret, cookie: str | None, now: float | None = None) -> Session | None:
    """The session in a cookie value, if its signature is good and it has not expired."""
    if not cookie or cookie.count(".") != 1 or len(cookie) > 4096:
        return None
    payload, signature = cookie.split(".")
    if not hmac.compare_digest(secret.sign(payload.encode()), signature):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload.encode()))
        s = Session(**data)
    except (ValueError, TypeError):
        return None
    if s.expires < (time.time() if now is None else now):
        return None
    return s


def csrf_token(secret: Secret, session: Session) -> str:
    return secret.sign(b"csrf:" + session.nonce.encode())


def csrf_ok(secret: Secret, session: Session, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(csrf_token(secret, session), presented)
