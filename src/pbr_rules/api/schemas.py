"""The API's own request and response shapes (the evaluation result is the core's), and contract views.

The views only present what a loaded contract says (its identity, and which tariff and
cap entries are in force on a date, by the rule every dated value follows: the latest
effective date on or before the day). They decide nothing.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from pbr_rules.api.errors import DOCUMENTED_STATUSES, PROBLEM_MEDIA_TYPE, STATUS_MESSAGES, problem
from pbr_rules.api.examples import EXAMPLE_HISTORY, EXAMPLE_RESULT
from pbr_rules.language import LoadedContract
from pbr_rules.models.common import CurrencyCode, ISODate, Money
from pbr_rules.models.history import SUBJECT_ID_PATTERN, CompanyHistory, ParticipantHistory
from pbr_rules.models.results import EvaluationResult
from pbr_rules.money import money_str
from pbr_rules.personal_data import CPR_MESSAGE
from pbr_rules.periods import latest_on_or_before


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- errors -------------------------------------------------------------------------------


class ErrorItem(BaseModel):
    """One problem, at the dotted path of the field at fault (file/line/col for YAML bodies and contracts)."""

    model_config = ConfigDict(extra="allow")
    path: str = Field(description="Dotted path of the offending field, e.g. 'history.participant'; 'header.X-Request-ID', 'query.as_of', 'path'; '' for the whole body.")
    message: str = Field(description="What is wrong (never the rejected value).")
    hint: str = Field(default="", description="What to do about it.")


class Problem(BaseModel):
    """Every error answer: an RFC 9457 problem document (media type application/problem+json)."""

    model_config = ConfigDict(extra="allow")
    type: str = Field(description="The kind of problem, e.g. 'urn:pbr-rules:problem:invalid-input' (docs/api.md lists them).")
    title: str = Field(description="A short summary, the same for every problem of this type.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What happened here, and what to do.")
    instance: str | None = Field(default=None, description="This occurrence: 'urn:pbr-rules:request:<X-Request-ID>'.")
    errors: list[ErrorItem] = Field(default_factory=list, description="The fields at fault, each with its path.")


ErrorResponse = Problem


def error_example(status: int, message: str, errors: list[dict] | None = None, kind: str | None = None) -> dict:
    return problem(status, message, errors, request_id="5f2b9c0d1e3a4b6c", kind=kind)


_DEFAULT_EXAMPLES = {
    401: error_example(401, "missing or invalid bearer token"),
    403: error_example(403, "this token may not access this resource"),
    404: error_example(404, "no contract with id 'dk-999-nowhere'"),
    409: error_example(409, "the request conflicts with the current state of the resource"),
    413: error_example(413, "the request body is larger than 2,000,000 bytes"),
    415: error_example(415, "content type text/csv is not accepted here; send one of: application/json, application/yaml"),
    422: error_example(
        422,
        "the input is not valid; every problem is listed in 'errors'",
        [
            {
                "file": "<request>",
                "line": 0,
                "col": 0,
                "path": "history.participant",
                "message": CPR_MESSAGE,
                "hint": "",
            }
        ],
    ),
    429: error_example(429, "this token already has 2 heavy requests running; retry after 1 s", kind="too-many-requests"),
    500: error_example(500, "internal error: this is a bug in pbr-rules; quote request id 5f2b9c0d1e3a4b6c"),
    503: error_example(503, "the tokens file cannot be read; every token is refused until an administrator fixes it", kind="tokens-unavailable"),
}


def problem_content(example: dict | None = None) -> dict:
    return {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}, **({"example": example} if example else {})}}


def responses(*statuses: int, examples: dict[int, dict] | None = None) -> dict:
    """OpenAPI ``responses`` entries for the error statuses a route can answer (all documented by ``document_errors``)."""
    examples = examples or {}
    out: dict[int | str, dict] = {}
    for s in statuses:
        out[s] = {"description": STATUS_MESSAGES.get(s, "error"), "content": problem_content(examples.get(s, _DEFAULT_EXAMPLES.get(s)))}
    return out


def document_errors(schema: dict) -> dict:
    """Every operation documents every error status (RFC 9457 problems), and 415 where it reads a body.

    Run on the generated OpenAPI document, so a new route gets them without writing any.
    """
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in problem_schema.pop("$defs", {}).items():
        components[name] = sub
    components["Problem"] = problem_schema
    components["ValidationFailed"] = ValidationFailed.model_json_schema(ref_template="#/components/schemas/{model}")
    components["ValidationFailed"].pop("$defs", None)
    for path_item in schema.get("paths", {}).values():
        for method, op in path_item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            statuses = list(DOCUMENTED_STATUSES)
            if "requestBody" in op:
                statuses.append(415)
            for status in statuses:
                key = str(status)
                entry = op["responses"].get(key)
                content = (entry or {}).get("content", {})
                if PROBLEM_MEDIA_TYPE in content:
                    continue
                op["responses"][key] = {"description": STATUS_MESSAGES.get(status, "error"), "content": problem_content(_DEFAULT_EXAMPLES.get(status))}
            for key in ("429", "503"):
                op["responses"][key].setdefault("headers", {"Retry-After": {"description": "Seconds to wait before trying again.", "schema": {"type": "integer"}}})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


# --- contracts ----------------------------------------------------------------------------


class MunicipalityOut(Out):
    code: str
    name: str


class TermOut(Out):
    start: ISODate
    end: ISODate


class ContractSummary(Out):
    id: str
    title: str
    municipality: MunicipalityOut
    term: TermOut
    version: str
    content_hash: str = Field(description="sha256 of the merged contract and its vocabulary.")
    illustrative: bool = Field(description="True: an illustrative example, not a signed agreement.")


class ContractList(Out):
    contracts: list[ContractSummary]


class TariffRow(Out):
    milestone: str
    line: str = Field(description="'all' or the target group the line applies to.")
    value: Money | None = Field(description="The tariff in force; null: withdrawn from the effective date.")
    effective: ISODate = Field(description="The date the value took effect.")
    reference: str


class ParameterRow(Out):
    name: str
    unit: str = Field(description="money, rate, count, weeks, money_per_week or money_per_count.")
    value: str | None = Field(description="The value in force, as an exact decimal; null: withdrawn.")
    effective: ISODate
    reference: str


class FormulaRow(Out):
    """A formula tariff (docs/semantics.md § 10): its amount is computed from what is measured."""

    milestone: str
    expression: str
    reference: str
    basis: Literal["participant", "cohort"]
    goals: list[str]
    parameters: list[ParameterRow] = Field(description="The parameters in force on the as-of date.")
    floor: Money | None = Field(description="The least paid for one occurrence (basis cohort: for the cohort's k-th occurrences), in force on the as-of date.")
    cap: Money | None = Field(description="The most paid, likewise.")


class CapRow(Out):
    cap: Literal["per_participant", "per_company", "per_milestone", "per_payer", "per_contract"]
    applies_to: str | None = Field(default=None, description="The milestone (per_milestone) or party (per_payer).")
    value: Money | None
    effective: ISODate
    reference: str


class ContractDetail(ContractSummary):
    as_of: ISODate = Field(description="The date the tariffs and caps below are in force on.")
    documentation: str | None = None
    tariffs: list[TariffRow]
    formulas: list[FormulaRow] = Field(default_factory=list, description="The tariffs computed by a formula (they have no rows under tariffs).")
    caps: list[CapRow]


def summary(loaded: LoadedContract) -> dict:
    c = loaded.contract
    return {
        "id": c.id,
        "title": c.title,
        "municipality": {"code": c.municipality.code, "name": c.municipality.name},
        "term": {"start": c.term.start.isoformat(), "end": c.term.end.isoformat()},
        "version": c.version,
        "content_hash": loaded.content_hash,
        "illustrative": c.illustrative,
    }


def _entry_on(dated: dict | None, day: date):
    """(effective date, entry) of the latest entry on or before ``day``, withdrawn ones included."""
    if not dated:
        return None
    dates = sorted(dated)
    i = latest_on_or_before(dates, day)
    return None if i is None else (dates[i], dated[dates[i]])


def _row(found) -> dict:
    day, entry = found
    return {
        "value": None if entry.value is None else money_str(entry.value),
        "effective": day.isoformat(),
        "reference": entry.reference,
    }


def detail(loaded: LoadedContract, as_of: date) -> dict:
    c = loaded.contract
    tariffs = []
    for mid, tariff in c.tariffs.items():
        for line, dated in tariff.amounts.items():
            found = _entry_on(dated, as_of)
            if found:
                tariffs.append({"milestone": mid, "line": line, **_row(found)})
    formulas = []
    for mid, tariff in c.tariffs.items():
        f = tariff.formula
        if f is None:
            continue
        parameters = []
        for name, p in f.parameters.items():
            found = _entry_on(p.values, as_of)
            if found:
                day, entry = found
                parameters.append({"name": name, "unit": p.unit, "value": None if entry.value is None else format(entry.value, "f"), "effective": day.isoformat(), "reference": entry.reference})
        bounds = {}
        for key in ("floor", "cap"):
            found = _entry_on(getattr(f, key), as_of)
            bounds[key] = None if not found or found[1].value is None else money_str(found[1].value)
        formulas.append({
            "milestone": mid, "expression": f.expression, "reference": f.reference, "basis": f.basis or "participant",
            "goals": list(f.goals), "parameters": parameters, **bounds,
        })
    caps = []
    for name in ("per_participant", "per_company", "per_contract"):
        found = _entry_on(getattr(c.caps, name), as_of)
        if found:
            caps.append({"cap": name, "applies_to": None, **_row(found)})
    for name in ("per_milestone", "per_payer"):
        for key, dated in getattr(c.caps, name).items():
            found = _entry_on(dated, as_of)
            if found:
                caps.append({"cap": name, "applies_to": key, **_row(found)})
    return {**summary(loaded), "as_of": as_of.isoformat(), "documentation": c.documentation, "tariffs": tariffs, "formulas": formulas, "caps": caps}


SUMMARY_EXAMPLE = {
    "id": "dk-101-koebenhavn",
    "title": "Social inklusion gennem Vækstpartnerskaber – Københavns Kommune",
    "municipality": {"code": "101", "name": "København"},
    "term": {"start": "2019-01-01", "end": "2022-09-30"},
    "version": "1.1",
    "content_hash": EXAMPLE_RESULT["contract"]["content_hash"],
    "illustrative": True,
}

DETAIL_EXAMPLE = {
    **SUMMARY_EXAMPLE,
    "as_of": "2020-08-01",
    "documentation": "ILLUSTRATIVE EXAMPLE, not a signed agreement; all figures are illustrative.",
    "tariffs": [
        {"milestone": "citizen_start", "line": "all", "value": "5000.00", "effective": "2019-01-01", "reference": "Bilag 2, pkt. 1"},
        {"milestone": "job_13_weeks", "line": "all", "value": "36000.00", "effective": "2020-07-01", "reference": "Tillæg 1, § 2"},
        {"milestone": "job_13_weeks", "line": "flexjob_visitated", "value": "40000.00", "effective": "2019-01-01", "reference": "Bilag 2, pkt. 5, stk. 2"},
    ],
    "caps": [{"cap": "per_contract", "applies_to": None, "value": "4000000.00", "effective": "2019-01-01", "reference": "§ 8.3"}],
}


WARNINGS_DESCRIPTION = (
    "What 'pbr validate' warns about: probably a mistake, though the contract can be paid as written "
    "(e.g. a figure changed while the template's description of it is kept); same shape as 'errors'."
)


class ValidationOk(Out):
    valid: Literal[True]
    contract: ContractSummary
    warnings: list[ErrorItem] = Field(default_factory=list, description=WARNINGS_DESCRIPTION)


class ValidationFailed(Problem):
    """A contract that does not validate: a problem listing every diagnostic, as 'pbr validate' reports it, and ``valid: false``."""

    valid: Literal[False]
    warnings: list[ErrorItem] = Field(default_factory=list, description=WARNINGS_DESCRIPTION)


# --- evaluation ---------------------------------------------------------------------------


class EvaluateRequest(Out):
    """One history to evaluate (YAML bodies may also be a bare history document)."""

    history: ParticipantHistory | CompanyHistory
    as_of: ISODate | None = Field(default=None, description="Default: the history's extraction date; never after it.")
    eligible_participants: list[Annotated[str, Field(pattern=SUBJECT_ID_PATTERN)]] = Field(
        default_factory=list,
        description=(
            "Company histories only, and not needed: a participant whose history is in participants is eligible exactly when that "
            "history's own evaluation says so; one whose history is not given cannot verify a hire, so this list changes only the reason given."
        ),
    )
    participants: list[ParticipantHistory] = Field(
        default_factory=list,
        description="Company histories only: the hired participants' histories; a hire counts only when one shows paid work with the company on the hire date.",
    )


class CohortRequest(Out):
    """Many histories (participants first, then the companies whose hires need them)."""

    kind: Literal["cohort"] | None = None
    histories: list[ParticipantHistory | CompanyHistory]
    as_of: ISODate | None = Field(default=None, description="Histories extracted earlier are evaluated as of their extraction date.")


class SettleRequest(Out):
    """A cohort to settle as of a date: a preview against the ledger's latest run (nothing is recorded)."""

    histories: list[ParticipantHistory | CompanyHistory]
    as_of: ISODate
    period: Literal["month", "quarter"] = "month"


class SettlementRequest(Out):
    """Record a settlement of a contract's cohort in the ledger, against the ledger's latest run of the contract."""

    contract: str = Field(max_length=200, description="The contract id, e.g. 'dk-101-koebenhavn'.")
    as_of: ISODate
    period: Literal["month", "quarter"] = "month"
    histories: list[ParticipantHistory | CompanyHistory] = Field(description="The whole cohort: every participant and company history of the contract.")


class BusinessCaseRequest(Out):
    """A municipality's cohort, the as-of date and the annual discount rate for the NPV."""

    histories: list[ParticipantHistory | CompanyHistory]
    as_of: ISODate
    discount_rate: Decimal | None = Field(
        default=None, gt=Decimal("-0.5"), lt=Decimal("1"),
        description="Annual rate for the NPV; default: the agreement's business_case.discounting.rate, else 0.04.",
    )


class CohortResponse(Out):
    results: list[EvaluationResult]
    total: Money
    currency: CurrencyCode


class ValidateRequest(Out):
    """A contract as YAML text inside JSON (or send the YAML itself as application/yaml or text/plain)."""

    yaml: str


class SimulateRequest(Out):
    """How many Monte Carlo runs of the bundled scenario, and the seed."""

    runs: StrictInt = Field(default=100, ge=1, le=100_000, description="A JSON number; at most PBR_MAX_SIMULATION_RUNS.")
    seed: StrictInt = Field(default=1, ge=0, le=2**31 - 1)


REQUEST_MODELS = (EvaluateRequest, CohortRequest, ValidateRequest, SettleRequest, SettlementRequest, BusinessCaseRequest, SimulateRequest)


class Health(Out):
    status: Literal["ok"]


class Ready(Out):
    status: Literal["ready"]
    contracts: int


def request_body(schema_name: str, examples: dict[str, Any], *, yaml: bool = True, text: bool = False) -> dict:
    """An OpenAPI requestBody for a route that reads its body itself (so JSON and YAML share one path).

    The named schema is added to the document's components by ``app.openapi_schema``.
    """
    schema = {"$ref": f"#/components/schemas/{schema_name}"}
    content: dict[str, Any] = {"application/json": {"schema": schema, "examples": examples}}
    if yaml:
        content["application/yaml"] = {"schema": schema}
    if text:
        content["text/plain"] = {"schema": {"type": "string"}}
    return {"requestBody": {"required": True, "content": content}}


EVALUATE_EXAMPLES = {
    "participant": {
        "summary": "A cash-benefit recipient in a 20-hour job from 2019-05-08",
        "value": {"history": EXAMPLE_HISTORY, "as_of": "2020-06-30"},
    }
}
COHORT_EXAMPLES = {
    "two participants": {
        "summary": "Two participants, as of mid-2020",
        "value": {"histories": [EXAMPLE_HISTORY, {**EXAMPLE_HISTORY, "participant": "p-api-002", "employment": []}], "as_of": "2020-06-30"},
    }
}
