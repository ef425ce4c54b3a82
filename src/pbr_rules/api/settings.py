"""The service's settings: one model, read from ``PBR_*`` environment variables, checked at start-up.

Unsafe combinations are refused before the service listens: production without a
tokens file that holds at least one token, limits of zero, a contracts folder that does
not exist. ``pbr serve`` passes its options to the worker processes through these same
variables, so one code path reads them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DEFAULT_TOKENS_FILE = "pbr-tokens.json"

ENV = {
    "contracts": "PBR_CONTRACTS",
    "tokens_file": "PBR_TOKENS_FILE",
    "production": "PBR_PRODUCTION",
    "max_body_bytes": "PBR_MAX_BODY_BYTES",
    "max_participants": "PBR_MAX_PARTICIPANTS",
    "max_events_per_history": "PBR_MAX_EVENTS_PER_HISTORY",
    "max_simulation_runs": "PBR_MAX_SIMULATION_RUNS",
    "host": "PBR_HOST",
    "port": "PBR_PORT",
    "workers": "PBR_WORKERS",
    "database": "PBR_DATABASE_URL",
    "cohorts": "PBR_COHORTS",
    "ssl_certfile": "PBR_SSL_CERTFILE",
    "ssl_keyfile": "PBR_SSL_KEYFILE",
    "rate_limit_per_minute": "PBR_RATE_LIMIT_PER_MINUTE",
    "max_heavy_per_token": "PBR_MAX_HEAVY_PER_TOKEN",
    "heavy_time_limit_seconds": "PBR_HEAVY_TIME_LIMIT_SECONDS",
}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class SettingsInvalid(Exception):
    """The service's settings are unsafe or wrong; the message says which and what to do."""


class Settings(BaseModel):
    """Everything the service is configured with (environment variable in brackets)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    contracts: Path = Field(default=Path("contracts"), description="The contracts folder served [PBR_CONTRACTS].")
    tokens_file: Path = Field(default=Path(DEFAULT_TOKENS_FILE), description="Hashed bearer tokens, JSON [PBR_TOKENS_FILE].")
    production: bool = Field(default=False, description="Refuse to start without configured tokens [PBR_PRODUCTION].")
    max_body_bytes: int = Field(default=2_000_000, ge=1_000, le=500_000_000, description="Largest request body [PBR_MAX_BODY_BYTES].")
    max_participants: int = Field(default=1_000, ge=1, le=1_000_000, description="Most histories per cohort request [PBR_MAX_PARTICIPANTS].")
    max_events_per_history: int = Field(
        default=2_000, ge=1, le=1_000_000, description="Most records (list items) in one history [PBR_MAX_EVENTS_PER_HISTORY]."
    )
    max_simulation_runs: int = Field(default=200, ge=1, le=100_000, description="Most Monte Carlo runs per simulate request [PBR_MAX_SIMULATION_RUNS].")
    host: str = Field(default="127.0.0.1", min_length=1, description="Interface to listen on [PBR_HOST].")
    port: int = Field(default=8000, ge=1, le=65535, description="Port [PBR_PORT].")
    workers: int = Field(default=1, ge=1, le=64, description="Worker processes, each with its own engine [PBR_WORKERS].")
    cohorts: Path = Field(default=Path("fixtures/cohorts"), description="Cohort files the web workspace offers for what-if and the business case [PBR_COHORTS].")
    database: str | None = Field(
        default=None, description="The ledger database: a file path (SQLite) or a postgresql+psycopg:// URL; default var/pbr.db [PBR_DATABASE_URL]."
    )
    ssl_certfile: Path | None = Field(default=None, description="TLS certificate chain (PEM); with ssl_keyfile the API speaks HTTPS [PBR_SSL_CERTFILE].")
    ssl_keyfile: Path | None = Field(default=None, description="TLS private key (PEM) [PBR_SSL_KEYFILE].")
    rate_limit_per_minute: int = Field(default=600, ge=1, le=1_000_000, description="Requests per token per minute, per worker [PBR_RATE_LIMIT_PER_MINUTE].")
    max_heavy_per_token: int = Field(
        default=2, ge=1, le=1_000, description="Heavy requests (cohort, settle, business case, simulate) one token may run at once, per worker [PBR_MAX_HEAVY_PER_TOKEN]."
    )
    heavy_time_limit_seconds: float = Field(default=60, gt=0, le=3_600, description="Longest a heavy request may take before it is answered 503 [PBR_HEAVY_TIME_LIMIT_SECONDS].")

    @field_validator("production", mode="before")
    @classmethod
    def _flag(cls, value):
        if isinstance(value, str):
            v = value.strip().lower()
            if v in _TRUE:
                return True
            if v in _FALSE:
                return False
            raise ValueError(f"expected 1/0, true/false, yes/no; got {value!r}")
        return value

    @property
    def tls(self) -> bool:
        return self.ssl_certfile is not None

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> "Settings":
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            raise ValueError("TLS needs both --ssl-certfile and --ssl-keyfile (PBR_SSL_CERTFILE and PBR_SSL_KEYFILE), or neither")
        for name in ("ssl_certfile", "ssl_keyfile"):
            value = getattr(self, name)
            if value is not None and not value.is_file():
                raise ValueError(f"the {name.replace('_', ' ')} {value} does not exist")
        if not self.contracts.is_dir():
            raise ValueError(f"the contracts folder {self.contracts} does not exist (set PBR_CONTRACTS or --contracts)")
        if self.production:
            from pbr_rules.api.tokens import TokenFileInvalid, read_tokens

            if not self.tokens_file.is_file():
                raise ValueError(
                    f"production mode needs configured tokens, and {self.tokens_file} does not exist; "
                    f"create one with 'pbr token create --role fund --tokens-file {self.tokens_file}'"
                )
            try:
                tokens = read_tokens(self.tokens_file)
            except TokenFileInvalid as exc:
                raise ValueError(str(exc)) from None
            if not tokens:
                raise ValueError(f"production mode needs configured tokens, and {self.tokens_file} holds none")
            from pbr_rules.api.tokens import loose_permissions

            loose = loose_permissions(self.tokens_file)
            if loose:
                raise ValueError(f"production mode refuses a tokens file others may read or change: {loose}")
            if any(t.development for t in tokens):
                raise ValueError(
                    f"{self.tokens_file} holds a development token; production mode refuses it "
                    "(create real tokens with 'pbr token create' in a new tokens file)"
                )
        return self

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, **overrides) -> "Settings":
        """Settings from the environment (``PBR_*``), with explicit overrides on top; raise SettingsInvalid."""
        env = os.environ if env is None else env
        values: dict = {name: env[var] for name, var in ENV.items() if env.get(var) not in (None, "")}
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            lines = []
            for err in exc.errors(include_url=False, include_input=False):
                name = ".".join(str(p) for p in err["loc"])
                var = ENV.get(name)
                where = f"{name} [{var}]" if var else "settings"
                msg = err["msg"].removeprefix("Value error, ")
                lines.append(f"{where}: {msg}")
            raise SettingsInvalid("; ".join(lines)) from None

    def to_env(self) -> dict[str, str]:
        """The settings as the environment variables the worker processes read."""
        out = {}
        for name, var in ENV.items():
            value = getattr(self, name)
            if value is None:
                continue
            out[var] = ("1" if value else "0") if isinstance(value, bool) else str(value)
        return out
