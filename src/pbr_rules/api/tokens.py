"""Bearer tokens: created once, shown once, stored only as sha256 hashes.

The tokens file is JSON::

    {"tokens": [{"id": "t-3f9a1c2b", "sha256": "...", "role": "municipality",
                 "municipality": "101", "created": "2024-05-01", "development": false}]}

It is written atomically (a temporary file in the same folder, then a rename) with mode
0600. A token is never written anywhere: only its hash. Looking one up hashes the
presented token and compares it with every stored hash using ``hmac.compare_digest``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

ROLES = ("fund", "municipality", "auditor")
_MUNICIPALITY = re.compile(r"^\d{3}$")


class TokenFileInvalid(Exception):
    """The tokens file cannot be read or is not in the expected form."""


@dataclass(frozen=True)
class TokenRecord:
    id: str
    sha256: str
    role: str
    municipality: str | None
    created: str
    development: bool = False


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def read_tokens(path: str | Path) -> list[TokenRecord]:
    """The token records in ``path`` (none if the file does not exist)."""
    path = Path(path)
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
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
        out.append(rec)
    return out


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
    path: str | Path, role: str, municipality: str | None = None, *, development: bool = False, today: date | None = None
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
    records = read_tokens(path)
    token = secrets.token_urlsafe(32)
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
        created=(today or date.today()).isoformat(),
        development=development,
    )
    _write_atomically(path, records + [record])
    return token, record


class TokenStore:
    """The tokens file, re-read when it changes (so 'pbr token create' takes effect without a restart)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._stamp: tuple | None = None
        self._records: list[TokenRecord] = []
        self.refresh()

    def refresh(self) -> None:
        try:
            st = self.path.stat()
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            stamp = None
        if stamp != self._stamp:
            self._records = read_tokens(self.path) if stamp else []
            self._stamp = stamp

    def __len__(self) -> int:
        return len(self._records)

    def lookup(self, token: str) -> TokenRecord | None:
        """The record whose hash matches ``token``; every stored hash is compared in constant time."""
        try:
            self.refresh()
        except TokenFileInvalid:
            pass  # keep the last good tokens; start-up already refused a bad file
        presented = hash_token(token)
        found = None
        for rec in self._records:
            if hmac.compare_digest(presented, rec.sha256):
                found = rec
        return found

    def lookup_hash(self, sha256: str) -> TokenRecord | None:
        """The record with this token hash (a web session names its token by hash, never the token)."""
        try:
            self.refresh()
        except TokenFileInvalid:
            pass
        found = None
        for rec in self._records:
            if hmac.compare_digest(sha256, rec.sha256):
                found = rec
        return found
