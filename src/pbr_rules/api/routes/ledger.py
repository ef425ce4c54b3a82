"""The ledger over HTTP: settlement runs, claims and their transitions, the audit log. Thin routes.

Roles:
- recording a settlement: the fund, or a municipality for its own contracts;
- approving a claim: the municipality whose contract it is; disputing (and clearing a
  dispute): that municipality or the fund; paying, rejecting, reinstating, recording a
  recovery: the fund;
- reading runs, claims and the audit log: every role; a municipality sees only its own
  contracts' runs and claims (another's is answered 403, the same whether it exists or not),
  and the audit log is for the fund and the auditor.

Recording a settlement is a heavy request (fair use: a per-token limit on heavy requests at
once and a time limit; a run still recorded after its time limit is found again by retrying
with the same Idempotency-Key). POST routes take an ``Idempotency-Key`` header: the same key with the same request answers
the first answer again (header ``Idempotent-Replayed: true``) and records nothing; with
another request, 409. Only successful answers are kept, so a refused request may be retried
with its key.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Header, Path, Query
from fastapi.responses import Response
from pydantic import Field, ValidationError

from pbr_rules.api.auth import Principal, contract_for, forbidden, require_role
from pbr_rules.api.bodies import EvaluateSource, parse_cohort
from pbr_rules.api.deps import FairUseDep, LedgerDep, RegistryDep, SettingsDep
from pbr_rules.api.errors import ApiError
from pbr_rules.api.schemas import request_body, responses
from pbr_rules.errors import Diagnostic, InputInvalid
from pbr_rules.language import Source, canonical_json, diagnostics_from
from pbr_rules.ledger import ACTION_ROLES, STATES, ClaimView, Idempotency, NotFound, RecordedRun
from pbr_rules.models.common import ISODate, Strict

settlements = APIRouter(prefix="/settlements", tags=["ledger"])
claims = APIRouter(prefix="/claims", tags=["ledger"])
audit = APIRouter(prefix="/audit", tags=["ledger"])

Settler = Annotated[Principal, Depends(require_role("fund", "municipality"))]
AnyReader = Annotated[Principal, Depends(require_role("fund", "municipality", "auditor"))]
Auditor = Annotated[Principal, Depends(require_role("fund", "auditor"))]
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", max_length=200, description="Retry-safe key: the same key and request answer the first answer again."),
]
ClaimState = Literal["due", "approved", "paid", "rejected", "withdrawn", "recovery_due", "recovered"]
assert set(ClaimState.__args__) == set(STATES)  # noqa: S101 - the route's filter names every state


def actor(principal: Principal) -> str:
    return f"token:{principal.token_id}"


def _json(body: str, status: int = 200, replayed: bool = False) -> Response:
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return Response(content=body.encode("utf-8"), status_code=status, media_type="application/json", headers=headers)


def _idempotency(principal: Principal, key: str | None, request: dict) -> Idempotency | None:
    if key is None:
        return None
    if not key.strip() or any(ord(ch) < 32 for ch in key):
        raise ApiError(422, "the Idempotency-Key header must be printable text of 1 to 200 characters")
    return Idempotency(caller=principal.token_id, key=key, request_hash=hashlib.sha256(canonical_json(request).encode()).hexdigest())


def _may_see_municipality(principal: Principal, municipality: str | None) -> None:
    if principal.role == "municipality" and municipality != principal.municipality:
        raise forbidden()


def _may_ask_for_claim(principal: Principal, ledger, claim_id: str) -> None:
    """A municipality is answered 403 for any claim that is not its own, whether it exists or
    not (a claim id names a participant and a milestone: that another municipality's exists is
    not for it to learn); the ledger's own record of the claim's municipality decides."""
    if principal.role == "municipality":
        try:
            claim = ledger.claim(claim_id)
        except NotFound:
            raise forbidden() from None
        _may_see_municipality(principal, claim.municipality)


# --- settlements ------------------------------------------------------------------------------


class SettleHead(Strict):
    contract: str = Field(max_length=200)
    as_of: ISODate
    period: Literal["month", "quarter"] = "month"



SETTLE_EXAMPLE = {
    "contract": "dk-101-koebenhavn",
    "as_of": "2020-06-30",
    "histories": [
        {"participant": "p-api-001", "municipality": "101", "birth_date": "1988-06-01", "target_group": "cash_benefit", "enrolment": "2019-04-03",
         "extracted": "2020-06-30", "benefits": [{"weeks": "2018-W01..2019-W19", "code": "kontanthjaelp"}],
         "employment": [{"start": "2019-05-08", "hours_per_week": 20, "monthly_earnings": "14000", "employer": "acme"}]}
    ],
}


def settlement_body(recorded: RecordedRun) -> str:
    body = {
        "run": recorded.run.to_dict(),
        "claims": {"new": recorded.claims_new, "changed": recorded.claims_changed, "not_proposed": list(recorded.not_proposed)},
        "settlement": json.loads(recorded.settlement.model_dump_json()),
    }
    return json.dumps(body, ensure_ascii=False, indent=2) + "\n"


@settlements.post(
    "",
    status_code=201,
    responses={201: {"description": "The run as recorded, what it did to the claims, and the settlement."}, **responses(401, 403, 404, 409, 413, 415, 422, 503)},
    openapi_extra=request_body("SettlementRequest", {"cohort": {"summary": "Settle one participant as of 2020-06-30", "value": SETTLE_EXAMPLE}}),
)
async def record_settlement(
    principal: Settler,
    registry: RegistryDep,
    ledger: LedgerDep,
    settings: SettingsDep,
    fair_use: FairUseDep,
    source: EvaluateSource,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Settle a cohort against the ledger's latest run of the contract and record the run and its claims. A heavy request (fair use)."""
    data = source.data
    if not isinstance(data, dict):
        raise InputInvalid([Diagnostic(file=source.file, message="the body must be a mapping with 'contract', 'as_of' and 'histories'")])
    if "previous" in data:
        raise InputInvalid(
            [Diagnostic(file=source.file, path="previous", message="a settlement is always compared with the ledger's latest run of the contract",
                        hint="leave 'previous' out: the ledger finds the run itself")]
        )
    head = {k: data[k] for k in ("contract", "as_of", "period") if k in data}
    try:
        opts = SettleHead.model_validate(head)
    except ValidationError as exc:
        raise InputInvalid(diagnostics_from(exc, Source(file=source.file, data=head, positions=source.positions), {})) from None
    unknown = sorted(set(data) - {"contract", "as_of", "period", "histories"})
    if unknown:
        raise InputInvalid([Diagnostic(file=source.file, path=str(k)[:100], message="unknown key", hint="the body has contract, as_of, period and histories") for k in unknown])
    loaded = contract_for(principal, registry, opts.contract)
    idem = _idempotency(principal, idempotency_key, {"route": "settlements", "body": data})

    def work() -> Response:
        rest = Source(file=source.file, data={"histories": data.get("histories")}, positions=source.positions, key_positions=source.key_positions)
        histories, _ = parse_cohort(rest, settings, loaded.known)
        recorded = ledger.settle(loaded, histories, opts.as_of, actor(principal), period=opts.period, workers=1, idempotency=idem, render=settlement_body)
        replayed = getattr(recorded, "replayed_body", None)
        if replayed is not None:
            return _json(replayed, 201, replayed=True)
        return _json(settlement_body(recorded), 201)

    return await fair_use.run_heavy(principal.token_id, work)


@settlements.get("", responses=responses(401, 403, 422, 503))
def list_settlements(
    principal: AnyReader,
    ledger: LedgerDep,
    contract: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> Response:
    """The recorded settlement runs (a municipality sees its own contracts' runs)."""
    municipality = principal.municipality if principal.role == "municipality" else None
    runs = ledger.runs(contract, municipality, limit=limit, offset=offset)
    return _json(json.dumps({"runs": [r.to_dict() for r in runs], "limit": limit, "offset": offset}, indent=2) + "\n")


@settlements.get("/{run_id}", responses=responses(401, 403, 404, 503))
def get_settlement(principal: AnyReader, ledger: LedgerDep, run_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> Response:
    """One recorded run with its whole settlement."""
    run = ledger.run(run_id)
    if principal.role == "municipality":
        _may_see_municipality(principal, ledger.run_municipality(run))
    return _json(json.dumps(run.to_dict(with_settlement=True), ensure_ascii=False, indent=2) + "\n")


# --- claims -----------------------------------------------------------------------------------


@claims.get("", responses=responses(401, 403, 422, 503))
def list_claims(
    principal: AnyReader,
    ledger: LedgerDep,
    contract: Annotated[str | None, Query(max_length=200)] = None,
    state: ClaimState | None = None,
    disputed: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> Response:
    """Claims, filtered by contract, state and dispute, in payment-id order, a page at a time."""
    municipality = principal.municipality if principal.role == "municipality" else None
    found = ledger.claims(contract_id=contract, state=state, municipality=municipality, disputed=disputed, limit=limit + 1, offset=offset)
    body = {"claims": [c.to_dict() for c in found[:limit]], "limit": limit, "offset": offset, "more": len(found) > limit}
    return _json(json.dumps(body, ensure_ascii=False, indent=2) + "\n")


class ClaimActionBody(Strict):
    reason: str = Field(default="", max_length=2000, description="Why: required to reject, reinstate and dispute (and to clear a dispute).")
    clear: bool = Field(default=False, description="dispute only: clear the dispute instead of raising it.")


def claim_body(claim: ClaimView) -> str:
    return json.dumps(claim.to_dict(with_events=True), ensure_ascii=False, indent=2) + "\n"


def _action_route(action: str):
    role = Depends(require_role(*ACTION_ROLES[action]))

    def take_action(
        ledger: LedgerDep,
        claim_id: Annotated[str, Path(max_length=400)],
        principal: Principal = role,
        body: Annotated[ClaimActionBody | None, Body()] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response:
        body = body or ClaimActionBody()
        if body.clear and action != "dispute":
            raise ApiError(422, "'clear' applies to dispute only", [{"path": "clear", "message": "only for dispute", "hint": ""}])
        act = "clear" if body.clear else action
        _may_ask_for_claim(principal, ledger, claim_id)

        def allowed(claim: ClaimView) -> None:
            _may_see_municipality(principal, claim.municipality)

        idem = _idempotency(principal, idempotency_key, {"route": f"claims/{action}", "claim": claim_id, "body": body.model_dump()})
        claim, replayed = ledger.act(claim_id, act, actor(principal), body.reason, allowed=allowed, idempotency=idem, render=claim_body)
        if replayed is not None:
            return _json(replayed, replayed=True)
        return _json(claim_body(claim))

    take_action.__name__ = f"{action}_claim"
    take_action.__doc__ = {
        "approve": "Approve a due claim (the municipality whose contract it is).",
        "pay": "Record that an approved claim was paid: its outstanding amount (the fund).",
        "reject": "Reject a due or approved claim, with a reason, e.g. failed verification (the fund).",
        "reinstate": "Make a rejected claim due again, with a reason (the fund).",
        "recover": "Record that an over-payment (recovery_due) was paid back (the fund).",
        "dispute": "Raise a dispute on a claim, or clear it with {\"clear\": true}; a reason is required (the fund or the municipality).",
    }[action]
    return take_action


for _action in ACTION_ROLES:
    claims.add_api_route(
        "/{claim_id:path}/" + _action,
        _action_route(_action),
        methods=["POST"],
        responses=responses(401, 403, 404, 409, 422, 503),
        summary=f"{_action.capitalize()} a claim",
    )


@claims.get("/{claim_id:path}", responses=responses(401, 403, 404, 503))
def get_claim(principal: AnyReader, ledger: LedgerDep, claim_id: Annotated[str, Path(max_length=400)]) -> Response:
    """One claim with every event of its history (who, when, why, the amounts after each)."""
    _may_ask_for_claim(principal, ledger, claim_id)
    claim = ledger.claim(claim_id)
    _may_see_municipality(principal, claim.municipality)
    return _json(claim_body(claim))


# --- audit ------------------------------------------------------------------------------------


@audit.get("", responses=responses(401, 403, 422, 503))
def audit_log(
    principal: Auditor,
    ledger: LedgerDep,
    after: Annotated[int, Query(ge=0, le=2**62, description="Events after this sequence number.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    """The ledger's event log (the hash chain), oldest first; page with ``after``."""
    events = ledger.audit(after, limit)
    body = {"events": [e.to_dict() for e in events], "next_after": events[-1].seq if events else after}
    return _json(json.dumps(body, ensure_ascii=False, indent=2) + "\n")
