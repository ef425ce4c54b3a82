"""Contracts: list, read with the tariffs and caps in force on a date, validate a draft."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.concurrency import run_in_threadpool

from pbr_rules.api.auth import Reader, contract_for
from pbr_rules.api.bodies import RawBody, contract_text
from pbr_rules.api.contract_check import check_posted_contract
from pbr_rules.api.deps import RegistryDep, SettingsDep
from pbr_rules.api.errors import PROBLEM_MEDIA_TYPE, ApiError, diagnostics_to_errors, warnings_to_errors
from pbr_rules.api.schemas import (
    DETAIL_EXAMPLE,
    SUMMARY_EXAMPLE,
    ContractDetail,
    ContractList,
    ValidationOk,
    detail,
    responses,
    summary,
)
from pbr_rules.errors import ContractInvalid, InputInvalid
from pbr_rules.language import LoadedContract
from pbr_rules.periods import MAX_YEAR, MIN_YEAR, parse_iso_date

router = APIRouter(prefix="/contracts", tags=["contracts"])

ContractId = Annotated[str, Path(description="The contract id, e.g. 'dk-101-koebenhavn'.", max_length=200)]


async def readable_contract(principal: Reader, registry: RegistryDep, contract_id: ContractId) -> LoadedContract:
    """The contract in the path, if the caller may read it (403 for another municipality, 404 if unknown)."""
    return contract_for(principal, registry, contract_id)


ReadableContract = Annotated[LoadedContract, Depends(readable_contract)]

VALIDATE_BROKEN_EXAMPLE = {
    "type": "urn:pbr-rules:problem:invalid-input",
    "title": "The request is not valid",
    "status": 422,
    "detail": "the contract is not valid; every problem is listed in 'errors'",
    "instance": "urn:pbr-rules:request:5f2b9c0d1e3a4b6c",
    "valid": False,
    "warnings": [],
    "errors": [
        {
            "file": "<request>",
            "line": 7,
            "col": 1,
            "path": "tarifs",
            "message": "unknown key 'tarifs'",
            "hint": "did you mean 'tariffs'? allowed: kind, id, title, ...",
        }
    ],
}
VALIDATE_REQUEST_YAML = (
    "kind: agreement\nextends: ../templates/vaekstpartnerskaber.yaml\nid: dk-163-herlev\n"
    "title: Draft agreement\nversion: \"0.1\"\nmunicipality: {name: Herlev, code: \"163\"}\n"
)


@router.get(
    "",
    response_model=ContractList,
    responses={200: {"content": {"application/json": {"example": {"contracts": [SUMMARY_EXAMPLE]}}}}, **responses(401, 403)},
)
def list_contracts(principal: Reader, registry: RegistryDep) -> dict:
    """List the contracts this token may see (a municipality token sees only its own)."""
    visible = [c for _, c in sorted(registry.by_id.items()) if principal.may_see(c)]
    return {"contracts": [summary(c) for c in visible]}


@router.post(
    "/validate",
    response_model=ValidationOk,
    responses={
        200: {"content": {"application/json": {"example": {"valid": True, "contract": SUMMARY_EXAMPLE, "warnings": []}}}},
        422: {"description": "the contract is not valid", "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ValidationFailed"}, "example": VALIDATE_BROKEN_EXAMPLE}}},
        **responses(401, 403, 413, 415),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/yaml": {"schema": {"type": "string"}, "example": VALIDATE_REQUEST_YAML},
                "text/plain": {"schema": {"type": "string"}, "example": VALIDATE_REQUEST_YAML},
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/ValidateRequest"},
                    "example": {"yaml": VALIDATE_REQUEST_YAML},
                },
            },
        }
    },
)
async def validate_contract(principal: Reader, settings: SettingsDep, body: RawBody):
    """Validate a contract (YAML text) and list every problem, as 'pbr validate' does; nothing is registered."""
    raw, kind = body
    try:
        text = contract_text(raw, kind)
        loaded, warnings = await run_in_threadpool(check_posted_contract, text, settings.contracts, max_bytes=settings.max_body_bytes, cohorts=settings.cohorts)
    except ContractInvalid as exc:
        _invalid(diagnostics_to_errors(exc), "the contract is not valid; every problem is listed in 'errors'", warnings_to_errors(exc.warnings))
    except InputInvalid as exc:  # the JSON envelope, e.g. no 'yaml' key
        _invalid(diagnostics_to_errors(exc), "the request is not valid; every problem is listed in 'errors'")
    except ApiError as exc:
        if exc.status != 422:
            raise
        _invalid(exc.errors, exc.message)
    return {"valid": True, "contract": summary(loaded), "warnings": warnings_to_errors(warnings)}


def _invalid(errors: list[dict], message: str, warnings: list[dict] | None = None):
    raise ApiError(422, message, errors, kind="invalid-input", extra={"valid": False, "warnings": warnings or []})


@router.get(
    "/{contract_id}",
    response_model=ContractDetail,
    responses={200: {"content": {"application/json": {"example": DETAIL_EXAMPLE}}}, **responses(401, 403, 404, 422)},
)
def get_contract(
    loaded: ReadableContract,
    as_of: Annotated[
        str | None,
        Query(max_length=10, description="Show the tariffs and caps in force on this date, an ISO date YYYY-MM-DD; default today."),
    ] = None,
) -> dict:
    """Read one contract with the tariff table and the caps in force on a date."""
    day = date.today()
    if as_of is not None:
        try:
            day = parse_iso_date(as_of)  # ISO text only: never a Unix time or another shape
        except ValueError:
            raise ApiError(
                422,
                "as_of is not an ISO date",
                errors=[{"path": "query.as_of", "message": f"an ISO date YYYY-MM-DD in the years {MIN_YEAR}-{MAX_YEAR}", "hint": "e.g. as_of=2020-08-01"}],
            ) from None
    return detail(loaded, day)
