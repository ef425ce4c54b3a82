"""The request wrapper: request id, access log, body-size limit, and the last-resort 500.

One pure ASGI middleware, so it sees the raw byte stream:
- every response carries ``X-Request-ID`` (a caller's own id is kept if it is short and
  plain, else a new one is made);
- the access log holds request id, the token's id (never the token), method, route
  template, status and duration only:
  never the path as sent, the query, the body or a header (histories and participant ids
  must not reach logs, and neither may tokens);
- a body larger than the limit is refused with 413 before it is parsed: at once when
  ``Content-Length`` says so, otherwise as soon as the streamed bytes pass the limit;
- any exception no handler took is a bug: it is logged (type and stack, not its message,
  which may quote input) and answered with a JSON 500 that names the request id.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
import traceback

from pbr_rules.api.errors import STATUS_MESSAGES, error_body

access_log = logging.getLogger("pbr_rules.api.access")
error_log = logging.getLogger("pbr_rules.api.error")

_CALLER_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")


class BodyTooLarge(Exception):
    """The streamed request body passed the size limit."""


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
                if _CALLER_ID.match(text):
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

        async def send_error(code: int, message: str):
            body = json.dumps(error_body(code, message, [])).encode()
            await send_wrapper(
                {
                    "type": "http.response.start",
                    "status": code,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
                }
            )
            await send_wrapper({"type": "http.response.body", "body": body})

        too_large = f"the request body is larger than {limit:,} bytes"
        declared = None
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
        try:
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
