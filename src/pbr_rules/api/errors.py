"""Every error the API answers, in one JSON shape, and the handlers that produce it.

The shape::

    {"error": {"status": 422, "message": "...", "errors": [{"path", "message", "hint", ...}]}}

- ``InputInvalid`` (a contract or history that fails validation) -> 422, one entry per
  diagnostic (file, line, col, path, message, hint);
- ``EvaluationRefused`` -> 422; ``EngineFailure`` -> 500 (never the caller's fault);
- the ledger's refusals: an unknown claim or run 404; a claim transition not allowed from
  its state, a reused Idempotency-Key with another request, a cohort that cannot be
  settled against the latest run 409; a missing reason 422; the database unreachable 503;
- FastAPI's request validation errors -> 422 *without* the ``input`` pydantic adds (a
  rejected value may be personal data, e.g. a CPR number), and with anything shaped like
  a CPR number in a message masked;
- HTTP errors (401, 403, 404, 405, 413, 415) keep their status; 401 says
  ``WWW-Authenticate: Bearer``.
Anything else is a bug: the request middleware answers a JSON 500 (see ``middleware``).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from pbr_rules.errors import EngineFailure, EvaluationRefused, InputInvalid
from pbr_rules.ledger import (
    IdempotencyConflict,
    LedgerError,
    LedgerUnavailable,
    NotFound,
    ReasonRequired,
    RunRefused,
    SchemaTooNew,
    TransitionRefused,
)

_CPR_ANYWHERE = re.compile(r"(?<!\d)\d{6}[-\s]?\d{4}(?!\d)")
CPR_MASK = "[number hidden: looks like a CPR number]"


def hide_cpr(text: str) -> str:
    """Never echo anything shaped like a CPR number."""
    return _CPR_ANYWHERE.sub(CPR_MASK, text)


class ApiError(Exception):
    """An error answer: status, message, and the fields at fault."""

    def __init__(self, status: int, message: str, errors: list[dict] | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors or []
        self.headers = headers


STATUS_MESSAGES = {
    400: "the request is malformed",
    401: "missing or invalid bearer token",
    403: "this token may not do this",
    404: "not found",
    405: "method not allowed",
    413: "the request body is too large",
    415: "unsupported content type",
    422: "the request is not valid",
    500: "internal error",
}


def error_body(status: int, message: str, errors: list[dict] | None = None) -> dict:
    return {"error": {"status": status, "message": message, "errors": errors or []}}


def error_response(status: int, message: str, errors: list[dict] | None = None, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, message, errors), status_code=status, headers=headers)


def diagnostics_to_errors(exc: InputInvalid) -> list[dict]:
    return [
        {**d.to_dict(), "path": hide_cpr(d.path), "message": hide_cpr(d.message), "hint": hide_cpr(d.hint)}
        for d in exc.diagnostics
    ]


def _loc_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def request_validation_errors(errors: Any) -> list[dict]:
    """FastAPI's validation errors with the path kept and the input dropped."""
    out = []
    for err in errors:
        msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        out.append({"path": _loc_path(tuple(err.get("loc", ()))), "message": hide_cpr(msg), "hint": ""})
    return out


async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.status, exc.message, exc.errors, exc.headers)


async def _input_invalid(request: Request, exc: InputInvalid) -> JSONResponse:
    return error_response(422, "the input is not valid", diagnostics_to_errors(exc))


async def _refused(request: Request, exc: EvaluationRefused) -> JSONResponse:
    return error_response(422, hide_cpr(str(exc)))


async def _engine_failure(request: Request, exc: EngineFailure) -> JSONResponse:
    return error_response(500, f"engine failure, nothing was decided: {exc}")


LEDGER_STATUS = (
    (NotFound, 404),
    (TransitionRefused, 409),
    (IdempotencyConflict, 409),
    (RunRefused, 409),
    (ReasonRequired, 422),
    (LedgerUnavailable, 503),
    (SchemaTooNew, 503),
)


async def _ledger_error(request: Request, exc: Exception) -> JSONResponse:
    status = next((s for kind, s in LEDGER_STATUS if isinstance(exc, kind)), 500)
    if status == 503:
        logging.getLogger("pbr_rules.api.error").error("ledger unavailable: %s", hide_cpr(str(exc)))
        return error_response(503, "the ledger is unavailable; try again later (the operator sees the cause in the log)")
    return error_response(status, hide_cpr(str(exc)))


async def _request_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    return error_response(422, STATUS_MESSAGES[422], request_validation_errors(exc.errors()))


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    status = exc.status_code
    message = exc.detail if isinstance(exc.detail, str) and exc.detail else STATUS_MESSAGES.get(status, "error")
    if status == 404 and message == "Not Found":
        message = STATUS_MESSAGES[404]
    if status == 405 and message == "Method Not Allowed":
        message = STATUS_MESSAGES[405]
    headers = dict(exc.headers or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    return error_response(status, message, headers=headers or None)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(InputInvalid, _input_invalid)
    app.add_exception_handler(EvaluationRefused, _refused)
    app.add_exception_handler(EngineFailure, _engine_failure)
    app.add_exception_handler(LedgerError, _ledger_error)
    app.add_exception_handler(TransitionRefused, _ledger_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
