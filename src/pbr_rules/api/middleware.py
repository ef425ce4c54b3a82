"""The request wrapper: request id, hostile-input checks, access log, body-size limit, the last-resort 500.

One pure ASGI middleware, so it sees the raw request before any route:
- every response carries ``X-Request-ID`` (a caller's own id is kept if it is short and
  plain, else a new one is made);
- before the route runs, the request line and headers are checked: a CPR number
  (pbr_rules.personal_data) in the path, in a query parameter's name or value, or in a
  header (``Authorization`` excepted: it is a secret, never logged or echoed) is refused
  with 422 naming where it was (``path``, ``query.NAME``, ``header.NAME``) and never
  echoed; a query parameter given more than once is refused with 422;
- the access log holds request id, the token's id (never the token), method, route
  template, status and duration only:
  never the path as sent, the query, the body or a header; the log filter masks CPR
  numbers in every line all the same;
- a body larger than the limit is refused with 413 before it is parsed: at once when
  ``Content-Length`` says so, otherwise as soon as the streamed bytes pass the limit;
- any exception no handler took is a bug: it is logged (type and stack, not its message,
  which may quote input) and answered with a 500 problem that names the request id.
Every error here is an RFC 9457 problem, rendered by ``errors.problem``.

``log_off_the_loop``: the service's log lines are written by a thread of their own, so a
stalled output (a full pipe, a slow log collector) never stops the event loop.
"""

from __future__ import annotations

import logging
import queue
import re
import secrets
import time
import traceback
from collections.abc import Callable
from logging.handlers import QueueHandler, QueueListener
from urllib.parse import parse_qsl, unquote

from starlette.requests import ClientDisconnect

from pbr_rules.api.errors import PROBLEM_MEDIA_TYPE, STATUS_MESSAGES, problem_bytes
from pbr_rules.personal_data import CPR_MESSAGE, contains_cpr, install_log_filter

access_log = logging.getLogger("pbr_rules.api.access")
error_log = logging.getLogger("pbr_rules.api.error")
install_log_filter(access_log, error_log)


def log_off_the_loop(name: str = "pbr_rules.api") -> Callable[[], None]:
    """Hand the lines of logger ``name`` (and its children) to a thread that writes them with
    the handlers ``pbr serve`` gave it; returns the function that writes what is queued and
    puts the handlers back (at shutdown).

    Writing a line is blocking I/O: on the event loop, one stalled write (a pipe nobody reads,
    a slow collector) stalls every request, health checks included. Without handlers of its
    own (an app in a test, whose lines go to the root logger) nothing changes."""
    logger = logging.getLogger(name)
    handlers = list(logger.handlers)
    if not handlers or any(isinstance(h, QueueHandler) for h in handlers):
        return lambda: None
    lines: queue.SimpleQueue = queue.SimpleQueue()
    listener = QueueListener(lines, *handlers, respect_handler_level=True)
    logger.handlers = [QueueHandler(lines)]
    listener.start()

    def stop() -> None:
        listener.stop()  # writes every queued line first
        logger.handlers = handlers

    return stop


CLIENT_CLOSED = 499  # in the access log only: the caller went away before an answer (nginx's convention)
_CALLER_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
_SECRET_HEADERS = {b"authorization"}


class BodyTooLarge(Exception):
    """The streamed request body passed the size limit."""


def request_line_problems(scope) -> list[dict]:
    """CPR numbers in the path, the query or the headers, and repeated query parameters: one entry each."""
    problems: list[dict] = []
    path = scope.get("path", "")
    raw_path = scope.get("raw_path") or b""
    if contains_cpr(path) or contains_cpr(unquote(raw_path.decode("latin-1"))):
        problems.append({"path": "path", "message": CPR_MESSAGE, "hint": "a URL never holds a CPR number"})
    query = scope.get("query_string", b"").decode("latin-1")
    seen: dict[str, int] = {}
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=False, max_num_fields=200)
    except ValueError:
        problems.append({"path": "query", "message": "more than 200 query parameters", "hint": "send fewer"})
        pairs = []
    for name, value in pairs:
        shown = "[hidden]" if contains_cpr(name) else name[:64]
        if contains_cpr(name) or contains_cpr(value):
            problems.append({"path": f"query.{shown}", "message": CPR_MESSAGE, "hint": ""})
        seen[shown] = seen.get(shown, 0) + 1
    for name, n in seen.items():
        if n > 1:
            problems.append(
                {"path": f"query.{name}", "message": f"given {n} times; each query parameter may be given once", "hint": "send the parameter once"}
            )
    for name, value in scope.get("headers", ()):
        if name in _SECRET_HEADERS:
            continue
        if contains_cpr(value.decode("latin-1")):
            label = name.decode("latin-1")
            label = "X-Request-ID" if label == "x-request-id" else label
            problems.append({"path": f"header.{label}", "message": CPR_MESSAGE, "hint": ""})
    return problems


class RequestMiddleware:
    def __init__(self, app, max_body_bytes: int):
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                text = value.decode("latin-1")
                if _CALLER_ID.match(text) and not contains_cpr(text):
                    request_id = text
        request_id = request_id or secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id
        status = {"code": 0}
        limit = self.max_body_bytes

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        async def send_error(code: int, detail: str, errors: list[dict] | None = None, kind: str | None = None):
            body = problem_bytes(code, detail, errors, request_id=request_id, kind=kind)
            await send_wrapper(
                {
                    "type": "http.response.start",
                    "status": code,
                    "headers": [(b"content-type", PROBLEM_MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode())],
                }
            )
            await send_wrapper({"type": "http.response.body", "body": body})

        too_large = f"the request body is larger than {limit:,} bytes; send less, or ask for PBR_MAX_BODY_BYTES to be raised"
        declared = None
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
        try:
            hostile = request_line_problems(scope)
            if hostile:
                cpr = any(p["message"] == CPR_MESSAGE for p in hostile)
                detail = (
                    "the request holds what looks like a CPR number; it was not processed and is not logged"
                    if cpr
                    else "the query string is not valid; every problem is listed in 'errors'"
                )
                await send_error(422, detail, hostile, kind="personal-data" if cpr else "invalid-input")
                return
            if declared is not None and declared > limit:
                await send_error(413, too_large)
                return
            received = 0

            async def receive_wrapper():
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > limit:
                        raise BodyTooLarge()
                return message

            try:
                await self.app(scope, receive_wrapper, send_wrapper)
            except BodyTooLarge:
                if status["code"]:
                    raise
                await send_error(413, too_large)
            except ClientDisconnect:
                # the caller went away mid-request (a body shorter than its Content-Length, an aborted
                # upload): nobody to answer, nothing wrong here; logged as 499 (client closed request)
                if not status["code"]:
                    status["code"] = CLIENT_CLOSED
            except Exception as exc:  # the last resort: a bug, never the caller's fault
                frames = "".join(traceback.format_tb(exc.__traceback__))
                error_log.error("request_id=%s unhandled %s\n%s", request_id, type(exc).__name__, frames)
                if status["code"]:
                    raise
                await send_error(500, f"{STATUS_MESSAGES[500]}: this is a bug in pbr-rules; quote request id {request_id}")
        finally:
            access_log.info(
                "request_id=%s token=%s method=%s route=%s status=%s duration_ms=%.1f",
                request_id,
                (scope.get("state") or {}).get("token_id", "-"),
                scope.get("method"),
                route_template(scope),
                status["code"] or 500,
                (time.perf_counter() - started) * 1000,
            )


def route_template(scope) -> str:
    """The matched route's template with its router prefix (FastAPI 0.16x keeps it in scope['fastapi'])."""
    fastapi_scope = scope.get("fastapi")
    ctx = fastapi_scope.get("effective_route_context") if isinstance(fastapi_scope, dict) else None
    return getattr(ctx, "path", None) or getattr(scope.get("route"), "path", None) or "<no route>"
