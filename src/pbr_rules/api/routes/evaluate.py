"""Evaluations: one history, or a cohort, against a contract the caller may read."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from pbr_rules.api.auth import BEARER_SECURITY, READ_ROLES, Reader, authenticate, contract_for
from pbr_rules.api.bodies import (
    EvaluateSource,
    evaluate_source,
    parse_cohort,
    parse_evaluate,
)
from pbr_rules.api.deps import FairUseDep, LedgerDep, SettingsDep
from pbr_rules.api.examples import EXAMPLE_RESULT
from pbr_rules.api.offload import Offload
from pbr_rules.api.routes.contracts import ContractId, ReadableContract
from pbr_rules.api.schemas import (
    COHORT_EXAMPLES,
    EVALUATE_EXAMPLES,
    CohortResponse,
    request_body,
    responses,
)
from pbr_rules.api.settings import Settings
from pbr_rules.evaluation import evaluate, evaluate_cohort, total_of
from pbr_rules.ledger import DecisionEntry, Ledger
from pbr_rules.models.results import EvaluationResult
from pbr_rules.money import money_str
from pbr_rules.reports import to_json

router = APIRouter(prefix="/contracts", tags=["evaluations"])

ERRORS = responses(401, 403, 404, 413, 415, 422)


def _json(text: str) -> Response:
    return Response(content=text.encode("utf-8"), media_type="application/json")


@router.post(
    "/{contract_id}/evaluate",
    response_model=EvaluationResult,
    responses={200: {"content": {"application/json": {"example": EXAMPLE_RESULT}}}, **ERRORS},
    openapi_extra={**request_body("EvaluateRequest", EVALUATE_EXAMPLES), **BEARER_SECURITY},
)
async def evaluate_history(request: Request, contract_id: ContractId) -> Response:
    """Evaluate one participant or company history: eligibility, milestones met, payments triggered (kept in the decision log)."""
    # The busiest route: the caller, and the app's settings, registry, ledger and pools, are
    # read here rather than through one FastAPI dependency each (each costs tens of
    # microseconds of dependency solving per request); the checks are the same functions the
    # dependencies call.
    principal = await authenticate(request, READ_ROLES)
    state = request.app.state
    settings: Settings = state.settings
    ledger: Ledger = state.ledger
    offload: Offload = state.offload
    loaded = contract_for(principal, state.registry, contract_id)
    source = await evaluate_source(request, settings)

    def work() -> tuple[list[DecisionEntry], bytes]:  # validate, evaluate, serialise: one hop off the event loop
        history, as_of, eligible, participants = parse_evaluate(source, settings, loaded.known)
        result = evaluate(loaded, history, as_of, eligible, participants)
        text = result.model_dump_json()  # compact: the answer and the decision log's record, written once
        return [DecisionEntry(loaded, history, result, as_of, f"token:{principal.token_id}", text)], text.encode("utf-8")

    body = await offload.evaluate_logged(ledger, work)  # answered once the decision is kept (a group commit)
    return Response(content=body, media_type="application/json")


@router.post(
    "/{contract_id}/evaluate-cohort",
    response_model=CohortResponse,
    responses={
        200: {"content": {"application/json": {"example": {"results": [EXAMPLE_RESULT], "total": EXAMPLE_RESULT["total"], "currency": "DKK"}}}},
        **ERRORS,
    },
    openapi_extra=request_body("CohortRequest", COHORT_EXAMPLES),
)
async def evaluate_many(
    principal: Reader, loaded: ReadableContract, source: EvaluateSource, settings: SettingsDep, fair_use: FairUseDep, ledger: LedgerDep
) -> Response:
    """Evaluate a cohort of histories (at most PBR_MAX_PARTICIPANTS); results in input order and their total (kept in the decision log). A heavy request (fair use)."""

    def work() -> Response:
        histories, as_of = parse_cohort(source, settings, loaded.known)
        results = evaluate_cohort(loaded, histories, as_of, workers=1)
        ledger.log_decisions(loaded, histories, results, as_of, f"token:{principal.token_id}")
        body = {"results": [r.model_dump(mode="json") for r in results], "total": money_str(total_of(results)), "currency": loaded.contract.currency}
        return _json(to_json(body))

    return await fair_use.run_heavy(principal.token_id, work)
