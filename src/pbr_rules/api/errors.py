"""Every error the API answers, as one RFC 9457 problem (``application/problem+json``).

The shape::

    {"type": "urn:pbr-rules:problem:invalid-input", "title": "The request is not valid",
     "status": 422, "detail": "the input is not valid",
     "instance": "urn:pbr-rules:request:5f2b9c0d1e3a4b6c",
     "errors": [{"path": "history.employment[0].employer", "message": "...", "hint": "...",
                 "file": "<request>", "line": 4, "col": 15}]}

``type`` names the kind of problem (the table in docs/api.md), ``title`` is fixed per
type, ``detail`` says what happened here and what to do, ``instance`` names this
occurrence by its request id (the ``X-Request-ID`` header, and the id in the logs),
``errors`` lists the fields at fault by their dotted path (for YAML bodies with line and
column). No problem ever carries the rejected value (pydantic's ``input``), and every
text is passed through the CPR mask (pbr_rules.personal_data) as it is rendered.

**The one way for a route to answer an error is to raise** :class:`ApiError` (status,
detail, field errors, headers, and optionally a ``kind`` from ``PROBLEM_TYPES``); core
errors (``InputInvalid`` -> 422, ``EvaluationRefused`` -> 422, ``EngineFailure`` -> 500),
FastAPI's validation errors and HTTP errors are turned into the same shape here, and the
request middleware renders its own (413, 422, 429, 500) with :func:`problem_response`.

The ledger's refusals: an unknown claim or run 404; a claim transition not allowed from its
state, a reused Idempotency-Key with another request, a cohort that cannot be settled
against the latest run 409; a missing reason 422; the database unreachable 503 (its cause
logged, not answered).
"""

from __future__ import annotations

import json
import logging
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
from pbr_rules.personal_data import mask_cpr

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:pbr-rules:problem:"

# kind -> (title, default status); the title never changes between occurrences (RFC 9457 §3.1.3)
PROBLEM_TYPES: dict[str, tuple[str, int]] = {
    "bad-request": ("The request is malformed", 400),
    "unauthorized": ("A valid bearer token is required", 401),
    "forbidden": ("This token may not do this", 403),
    "not-found": ("Not found", 404),
    "method-not-allowed": ("Method not allowed", 405),
    "conflict": ("The request conflicts with the current state", 409),
    "too-large": ("The request body is too large", 413),
    "unsupported-media-type": ("Unsupported content type", 415),
    "invalid-input": ("The request is not valid", 422),
    "personal-data": ("The request holds personal data", 422),
    "too-many-requests": ("Too many requests", 429),
    "internal-error": ("Internal error", 500),
    "unavailable": ("The service is unavailable", 503),
    "tokens-unavailable": ("The tokens file cannot be used", 503),
    "time-limit": ("The request took too long", 503),
}
KIND_OF_STATUS = {status: kind for kind, (_, status) in reversed(PROBLEM_TYPES.items())}
KIND_OF_STATUS.update({422: "invalid-input", 503: "unavailable"})

# The statuses every operation documents (docs/api.md); body routes add 415.
DOCUMENTED_STATUSES = (401, 403, 404, 409, 413, 422, 429, 500, 503)
STATUS_MESSAGES = {
    400: "the request is malformed",
    401: "missing or invalid bearer token",
    403: "this token may not do this",
    404: "not found",
    405: "method not allowed",
    409: "the request conflicts with the current state",
    413: "the request body is too large",
    415: "unsupported content type",
    422: "the request is not valid",
    429: "too many requests",
    500: "internal error",
    503: "the service is unavailable",
}


def hide_cpr(text: str) -> str:
    """Never echo a CPR number (kept for callers; the one detector is pbr_rules.personal_data)."""
    return mask_cpr(text)


class ApiError(Exception):
    """An error answer: status, detail (what happened and what to do), the fields at fault.

    ``kind`` picks the problem type (``PROBLEM_TYPES``); by default the one of the status.
    ``extra`` adds extension members (RFC 9457 §3.2), e.g. ``{"valid": False}``.
    """

    def __init__(
        self,
        status: int,
        message: str,
        errors: list[dict] | None = None,
        headers: dict[str, str] | None = None,
        *,
        kind: str | None = None,
        extra: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        if kind is not None and kind not in PROBLEM_TYPES:
            raise ValueError(f"unknown problem kind {kind!r}; add it to PROBLEM_TYPES and docs/api.md")
        self.status = status
        self.message = message
        self.errors = errors or []
        self.headers = headers
        self.kind = kind
        self.extra = extra or {}


MAX_TEXT = 500  # no part of a problem echoes more of the input than this (a 100 kB value stays out)


def _short(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3] + "..."


def _clean_error(e: dict) -> dict:
    out = {k: v for k, v in e.items() if k != "input"}
    for key in ("path", "message", "hint", "file"):
        if isinstance(out.get(key), str):
            out[key] = _short(mask_cpr(out[key]))
    out.setdefault("path", "")
    out.setdefault("message", "")
    out.setdefault("hint", "")
    return out


def problem(
    status: int,
    detail: str,
    errors: list[dict] | None = None,
    *,
    request_id: str | None = None,
    kind: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict:
    """The RFC 9457 problem document; every text masked for CPR numbers."""
    kind = kind or KIND_OF_STATUS.get(status, "bad-request" if status < 500 else "internal-error")
    title = PROBLEM_TYPES[kind][0]
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + kind,
        "title": title,
        "status": status,
        "detail": _short(mask_cpr(detail or STATUS_MESSAGES.get(status, title))),
    }
    if request_id:
        body["instance"] = f"urn:pbr-rules:request:{request_id}"
    body["errors"] = [_clean_error(e) for e in (errors or [])]
    for key, value in (extra or {}).items():
        body.setdefault(key, value)
    return body


def problem_bytes(status: int, detail: str, errors: list[dict] | None = None, **kw) -> bytes:
    return json.dumps(problem(status, detail, errors, **kw), ensure_ascii=False).encode("utf-8")


def problem_response(
    status: int,
    detail: str,
    errors: list[dict] | None = None,
    *,
    request: Request | None = None,
    headers: dict | None = None,
    kind: str | None = None,
    extra: dict | None = None,
) -> JSONResponse:
    request_id = request_id_of(request) if request is not None else None
    return JSONResponse(
        problem(status, detail, errors, request_id=request_id, kind=kind, extra=extra),
        status_code=status,
        headers=headers,
        media_type=PROBLEM_MEDIA_TYPE,
    )


def request_id_of(request: Request) -> str | None:
    state = request.scope.get("state") or {}
    return state.get("request_id")


def diagnostics_to_errors(exc: InputInvalid) -> list[dict]:
    return [_clean_error(d.to_dict()) for d in exc.diagnostics]


def warnings_to_errors(warnings) -> list[dict]:
    """Warnings (Diagnostic with severity 'warning') in the shape of the error items."""
    return [_clean_error(w.to_dict()) for w in warnings]


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
        out.append({"path": _loc_path(tuple(err.get("loc", ()))), "message": mask_cpr(msg), "hint": ""})
    return out


async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    return problem_response(exc.status, exc.message, exc.errors, request=request, headers=exc.headers, kind=exc.kind, extra=exc.extra)


async def _input_invalid(request: Request, exc: InputInvalid) -> JSONResponse:
    return problem_response(422, "the input is not valid; every problem is listed in 'errors'", diagnostics_to_errors(exc), request=request)


async def _refused(request: Request, exc: EvaluationRefused) -> JSONResponse:
    return problem_response(422, str(exc), request=request)


async def _engine_failure(request: Request, exc: EngineFailure) -> JSONResponse:
    return problem_response(500, f"engine failure, nothing was decided: {exc}", request=request)


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
        return problem_response(503, "the ledger is unavailable; try again later (the operator sees the cause in the log)", request=request)
    return problem_response(status, hide_cpr(str(exc)), request=request)


async def _request_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    return problem_response(422, STATUS_MESSAGES[422], request_validation_errors(exc.errors()), request=request)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    status = exc.status_code
    message = exc.detail if isinstance(exc.detail, str) and exc.detail else STATUS_MESSAGES.get(status, "error")
    if status == 404 and message == "Not Found":
        message = "no such route; the routes are listed at /docs"
    if status == 405 and message == "Method Not Allowed":
        message = "this route does not answer this method; see /docs"
    headers = dict(exc.headers or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    return problem_response(status, message, request=request, headers=headers or None)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(InputInvalid, _input_invalid)
    app.add_exception_handler(EvaluationRefused, _refused)
    app.add_exception_handler(EngineFailure, _engine_failure)
    app.add_exception_handler(LedgerError, _ledger_error)
    app.add_exception_handler(TransitionRefused, _ledger_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
