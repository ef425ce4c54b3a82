"""Liveness and readiness (no token needed; they say nothing about any contract)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from pbr_rules.api.errors import ApiError
from pbr_rules.api.schemas import Health, Ready

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, responses={200: {"content": {"application/json": {"example": {"status": "ok"}}}}})
async def health() -> dict:
    """Liveness: the process answers (on the event loop itself: never queued behind heavy work)."""
    return {"status": "ok"}


@router.get(
    "/ready",
    response_model=Ready,
    responses={200: {"content": {"application/json": {"example": {"status": "ready", "contracts": 6}}}}},
)
async def ready(request: Request):
    """Readiness: the contracts are loaded and their rulesets built (else a 503 problem)."""
    registry = getattr(request.app.state, "registry", None)
    n = len(registry.by_id) if registry is not None else 0
    if n == 0:
        raise ApiError(503, "no contract is loaded yet; the service is not ready", headers={"Retry-After": "5"}, extra={"contracts": 0})
    return {"status": "ready", "contracts": n}
