"""Settlement, the business case, the readable agreement and amendment diffs: thin routes.

Settlement and the business case are for the fund and a municipality's own contracts
(not auditors); rendering and diffs are readable by every role.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import Field, ValidationError

from pbr_rules.api.auth import Principal, contract_for, require_role
from pbr_rules.api.bodies import EvaluateSource, RawBody, contract_text, parse_cohort
from pbr_rules.api.contract_check import check_posted_contract
from pbr_rules.api.deps import FairUseDep, LedgerDep, RegistryDep, SettingsDep
from pbr_rules.api.errors import ApiError, diagnostics_to_errors
from pbr_rules.api.routes.contracts import ContractId, ReadableContract
from pbr_rules.api.schemas import SimulateRequest, request_body, responses
from pbr_rules.errors import ContractInvalid, Diagnostic, InputInvalid
from pbr_rules.finance import load_scenario, municipality_case, simulate
from pbr_rules.language import LoadedContract, Source, diagnostics_from, validate_model
from pbr_rules.lawyers import diff_contracts, render_contract
from pbr_rules.models.business_case import MunicipalityCase
from pbr_rules.models.common import ISODate, Strict
from pbr_rules.models.settlement import Settlement
from pbr_rules.models.simulation import SimulationResult
from pbr_rules.reports import to_json

router = APIRouter(prefix="/contracts", tags=["settlement and business case"])

SCENARIO = "simulation/programme.yaml"
Payer = Annotated[Principal, Depends(require_role("fund", "municipality"))]
ERRORS = responses(401, 403, 404, 413, 415, 422)


def payer_contract(principal: Payer, registry: RegistryDep, contract_id: ContractId) -> LoadedContract:
    """The contract, for the fund or its own municipality (auditors may not settle)."""
    return contract_for(principal, registry, contract_id)


PayerContract = Annotated[LoadedContract, Depends(payer_contract)]


class SettleOptions(Strict):
    as_of: ISODate
    period: Literal["month", "quarter"] = "month"


class BusinessCaseOptions(Strict):
    as_of: ISODate
    discount_rate: Decimal | None = Field(
        default=None, gt=Decimal("-0.5"), lt=Decimal("1"),
        description="Annual rate for the NPV; default: the agreement's business_case.discounting.rate, else 0.04.",
    )


def _split(source: Source, options: type[Strict], extra: tuple[str, ...]) -> tuple[Source, Strict]:
    """Separate the options from the cohort envelope ({histories, ...}) and validate both."""
    data = source.data
    if not isinstance(data, dict):
        raise InputInvalid([Diagnostic(file=source.file, message="the body must be a mapping with 'histories' and 'as_of'")])
    picked = {k: data[k] for k in extra if k in data}
    if "as_of" in data:
        picked["as_of"] = data["as_of"]
    try:
        opts = options.model_validate(picked)
    except ValidationError as exc:
        raise InputInvalid(diagnostics_from(exc, Source(file=source.file, data=picked, positions=source.positions), {})) from None
    rest = {k: v for k, v in data.items() if k not in extra}
    return Source(file=source.file, data=rest, positions=source.positions, key_positions=source.key_positions), opts


def _json(text: str) -> Response:
    return Response(content=text.encode("utf-8"), media_type="application/json")


COHORT_BODY = {"histories": [{"participant": "p-api-001", "municipality": "101", "birth_date": "1988-06-01", "target_group": "cash_benefit",
                              "enrolment": "2019-04-03", "extracted": "2020-06-30",
                              "benefits": [{"weeks": "2018-W01..2019-W19", "code": "kontanthjaelp"}],
                              "employment": [{"start": "2019-05-08", "hours_per_week": 20, "monthly_earnings": "14000", "employer": "acme"}]}]}


@router.post(
    "/{contract_id}/settle",
    response_model=Settlement,
    responses=ERRORS,
    openapi_extra=request_body("SettleRequest", {"cohort": {"summary": "Settle one participant as of 2020-06-30", "value": {**COHORT_BODY, "as_of": "2020-06-30"}}}),
)
async def settle_cohort(
    principal: Payer, loaded: PayerContract, source: EvaluateSource, settings: SettingsDep, fair_use: FairUseDep, ledger: LedgerDep
) -> Response:
    """Preview a settlement against the ledger's latest run of the contract; nothing is recorded (POST /v1/settlements records). A heavy request (fair use)."""
    if isinstance(source.data, dict) and "previous" in source.data:
        raise InputInvalid(
            [Diagnostic(file=source.file, path="previous", message="a settlement is compared with the ledger's latest run of the contract",
                        hint="leave 'previous' out: the ledger finds the run itself")]
        )

    def work() -> Response:
        rest, opts = _split(source, SettleOptions, ("period",))
        histories, _ = parse_cohort(rest, settings, loaded.known)
        return _json(to_json(ledger.preview(loaded, histories, opts.as_of, period=opts.period, workers=1)))

    return await fair_use.run_heavy(principal.token_id, work)


@router.post(
    "/{contract_id}/business-case",
    response_model=MunicipalityCase,
    responses=ERRORS,
    openapi_extra=request_body("BusinessCaseRequest", {"cohort": {"summary": "One participant, 4 % a year", "value": {**COHORT_BODY, "as_of": "2020-06-30", "discount_rate": "0.04"}}}),
)
async def business_case_of(principal: Payer, loaded: PayerContract, source: EvaluateSource, settings: SettingsDep, fair_use: FairUseDep) -> Response:
    """The municipality's business case: course costs, outcome payments, savings, net result, break-even, NPV, investor view. A heavy request (fair use)."""

    def work() -> Response:
        rest, opts = _split(source, BusinessCaseOptions, ("discount_rate",))
        histories, _ = parse_cohort(rest, settings, loaded.known)
        case, _ = municipality_case(loaded, histories, opts.as_of, opts.discount_rate)
        return _json(to_json(case))

    return await fair_use.run_heavy(principal.token_id, work)


simulations = APIRouter(prefix="/simulate", tags=["settlement and business case"])


@simulations.post(
    "",
    response_model=SimulationResult,
    responses=responses(401, 403, 413, 415, 422),
    openapi_extra=request_body("SimulateRequest", {"small": {"summary": "20 runs, seed 1", "value": {"runs": 20, "seed": 1}}}, yaml=False),
)
async def simulate_programme(principal: Payer, source: EvaluateSource, settings: SettingsDep, fair_use: FairUseDep) -> Response:
    """Monte Carlo runs of the programme through the real path: the distribution of net results per municipality (a municipality token sees its own). A heavy request (fair use)."""
    return await fair_use.run_heavy(principal.token_id, lambda: _simulate(principal, source, settings))


def _simulate(principal: Principal, source: Source, settings) -> Response:
    req: SimulateRequest = validate_model(SimulateRequest, source, InputInvalid)
    if req.runs > settings.max_simulation_runs:
        raise ApiError(
            422,
            f"{req.runs} runs in one request; the limit is {settings.max_simulation_runs}",
            errors=[{"path": "runs", "message": f"at most {settings.max_simulation_runs}", "hint": "use 'pbr simulate' for long runs"}],
        )
    path = settings.contracts / SCENARIO
    try:
        scenario = load_scenario(path)
    except InputInvalid as exc:
        raise ApiError(422, "the service's simulation scenario is not valid", errors=diagnostics_to_errors(exc)) from None
    result = simulate(scenario, runs=req.runs, seed=req.seed, workers=1)
    if principal.role == "municipality":
        result = result.model_copy(update={"municipalities": [m for m in result.municipalities if m.code == principal.municipality], "programme": None})
    return _json(to_json(result))


@router.get(
    "/{contract_id}/render",
    responses={200: {"content": {"text/markdown": {}, "text/html": {}}}, **responses(401, 403, 404, 422)},
    response_class=Response,
)
def render(loaded: ReadableContract, format: Annotated[Literal["md", "html"], Query(description="md or html")] = "md") -> Response:
    """The agreement as a readable document, generated from its YAML (Markdown or printable HTML)."""
    media = "text/markdown; charset=utf-8" if format == "md" else "text/html; charset=utf-8"
    return Response(content=render_contract(loaded, format).encode("utf-8"), media_type=media)


@router.post(
    "/{contract_id}/diff",
    responses=ERRORS,
    openapi_extra={"requestBody": {"required": True, "content": {"application/yaml": {"schema": {"type": "string"}}, "text/plain": {"schema": {"type": "string"}}}}},
)
async def diff(loaded: ReadableContract, settings: SettingsDep, body: RawBody) -> Response:
    """What a proposed version (YAML) changes in contractual terms, against the contract in force here."""
    raw, kind = body
    try:
        new, _warnings = await run_in_threadpool(check_posted_contract, contract_text(raw, kind), settings.contracts, max_bytes=settings.max_body_bytes, cohorts=settings.cohorts)
    except (ContractInvalid, InputInvalid) as exc:
        raise ApiError(422, "the proposed contract is not valid", errors=diagnostics_to_errors(exc)) from None
    d = diff_contracts(loaded, new)
    d = d.model_copy(update={"new": d.new.model_copy(update={"path": "<request>"})})  # never a server path
    return _json(to_json(d))
