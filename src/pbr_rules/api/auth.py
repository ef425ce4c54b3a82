"""Who is calling, and what they may do.

Roles:
- ``fund`` (Den Sociale Kapitalfond): everything;
- ``municipality``: only the contracts (and the evaluations under them) of the
  municipality named on its token; another municipality's contract is answered 403 with
  the same body whether or not it exists;
- ``auditor``: read-only: contracts and evaluations, never settlement.

Routes declare what they need with ``require_role(...)`` (a dependency that answers 401
without a valid token and 403 with the wrong role) and reach a contract through
``contract_for(principal, registry, contract_id)`` which applies the municipality scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Callable

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from pbr_rules.api.errors import ApiError
from pbr_rules.api.fairuse import FairUse
from pbr_rules.api.tokens import TokenExpired, TokensUnavailable, TokenStore, utc_today
from pbr_rules.evaluation import Registry
from pbr_rules.language import LoadedContract

ALL_ROLES = ("fund", "municipality", "auditor")
READ_ROLES = ALL_ROLES
FORBIDDEN_MESSAGE = "this token may not access this resource"

_bearer = HTTPBearer(auto_error=False, description="A token made with 'pbr token create'.")


@dataclass(frozen=True)
class Principal:
    """The caller behind a valid token (never the token itself)."""

    token_id: str
    role: str
    municipality: str | None

    def may_see(self, contract: LoadedContract) -> bool:
        return self.role != "municipality" or contract.contract.municipality.code == self.municipality


def unauthorized() -> ApiError:
    return ApiError(401, "missing or invalid bearer token; send 'Authorization: Bearer <token>' with a token made by 'pbr token create'", headers={"WWW-Authenticate": "Bearer"})


def forbidden() -> ApiError:
    return ApiError(403, FORBIDDEN_MESSAGE)


async def current_principal(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal:
    """The caller, from ``Authorization: Bearer <token>``; 401 when missing or unknown.

    On the event loop: a hash, a ``stat`` of the tokens file and the rate bucket take
    microseconds, and a sync dependency would cost a thread hop on every request. The only
    blocking work, writing a token's first use of the day into the file, goes to the threadpool.
    The token store and fair use are the app's own (``app.state``), read directly: every
    dependency FastAPI solves costs tens of microseconds per request, on every route."""
    tokens: TokenStore = request.app.state.tokens
    fair_use: FairUse = request.app.state.fair_use
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise unauthorized()
    today = utc_today()
    try:
        record = tokens.authenticate(credentials.credentials, today, note=False)
    except TokensUnavailable:
        raise ApiError(
            503,
            "the service cannot read its tokens file, so every token is refused until an administrator fixes it "
            "(the reason is in the service's log); retry later",
            headers={"Retry-After": "60"},
            kind="tokens-unavailable",
        ) from None
    except TokenExpired as exc:
        raise ApiError(401, str(exc), headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None
    if record is None:
        raise unauthorized()
    if tokens.needs_note(record, today):
        await run_in_threadpool(tokens.note_use, record, today)
    fair_use.check_rate(record.id)  # 429 over the token's request rate (api/fairuse.py)
    principal = Principal(token_id=record.id, role=record.role, municipality=record.municipality)
    request.state.token_id = record.id
    return principal


def require_role(*roles: str) -> Callable[..., Principal]:
    """A dependency: the caller, if their role is one of ``roles``; else 401 (no token) or 403."""
    unknown = set(roles) - set(ALL_ROLES)
    if unknown or not roles:
        raise ValueError(f"unknown roles {sorted(unknown)}; roles are {', '.join(ALL_ROLES)}")

    async def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role not in roles:
            raise forbidden()
        return principal

    dependency.__name__ = f"require_role_{'_'.join(roles)}"
    return dependency


Reader = Annotated[Principal, Depends(require_role(*READ_ROLES))]

# The OpenAPI security a route declares when it authenticates with ``authenticate`` itself.
BEARER_SECURITY = {"security": [{"HTTPBearer": []}]}


async def authenticate(request: Request, roles: tuple[str, ...]) -> Principal:
    """``require_role(*roles)`` called directly, without FastAPI's dependency solving (three
    nested dependencies cost about 0.1 ms a request): for the busiest route, which declares
    ``BEARER_SECURITY`` in its OpenAPI instead. The same checks, in the same order."""
    principal = await current_principal(request, await _bearer(request))
    if principal.role not in roles:
        raise forbidden()
    return principal


def contract_for(principal: Principal, registry: Registry, contract_id: str) -> LoadedContract:
    """The contract, if this caller may see it: 403 (same body, exists or not) for another municipality, else 404."""
    loaded = registry.get(contract_id)
    if principal.role == "municipality":
        if loaded is None or not principal.may_see(loaded):
            raise forbidden()
        return loaded
    if loaded is None:
        shown = f"no contract with id '{contract_id}'" if len(contract_id) <= 100 else "no such contract"
        raise ApiError(404, f"{shown}; GET /v1/contracts lists the contracts this token may see")
    return loaded
