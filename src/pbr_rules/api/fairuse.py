"""Fair use: one caller cannot occupy the service.

Per token and per worker process:
- a **request rate** limit: a token bucket of ``rate_limit_per_minute`` requests that
  refills continuously (a burst of that many at once, then that many a minute); over it a
  request is answered 429 with ``Retry-After`` (whole seconds until one is allowed);
- a limit on **concurrent heavy requests** (cohort evaluation, settlement, business case,
  simulation): at most ``max_heavy_per_token`` at once; one more is answered 429 with
  ``Retry-After: 1`` at once, before any work;
- a **time limit** per heavy request: heavy work runs on a small thread pool of its own
  (``HEAVY_THREADS``, so the event loop, health checks and light routes never wait behind
  it); a request that takes longer than ``heavy_time_limit_seconds`` is answered 503 with
  ``Retry-After``. A thread cannot be stopped, so the abandoned work finishes in the
  background, and the token's heavy slot stays taken until it does: a caller cannot
  escape the limit by timing out.

Health and readiness need no token and are never limited. Routes take part by depending
on ``require_role`` (the rate limit) and by running their work through ``run_heavy``.
"""

from __future__ import annotations

import asyncio
import contextvars
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from pbr_rules.api.errors import ApiError

HEAVY_THREADS = 4


class FairUse:
    def __init__(self, rate_limit_per_minute: int, max_heavy_per_token: int, heavy_time_limit_seconds: float):
        self.rate = rate_limit_per_minute
        self.max_heavy = max_heavy_per_token
        self.time_limit = heavy_time_limit_seconds
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}
        self._heavy: dict[str, int] = {}
        self._executor: ThreadPoolExecutor | None = None

    # --- the request rate ---------------------------------------------------------------------

    def check_rate(self, token_id: str, now: float | None = None) -> None:
        """Count one request of ``token_id``; 429 with Retry-After when its bucket is empty."""
        now = time.monotonic() if now is None else now
        per_second = self.rate / 60
        with self._lock:
            level, last = self._buckets.get(token_id, (float(self.rate), now))
            level = min(float(self.rate), level + (now - last) * per_second)
            if level < 1:
                wait = math.ceil((1 - level) / per_second)
                self._buckets[token_id] = (level, now)
                raise ApiError(
                    429,
                    f"this token made more than {self.rate} requests in a minute; retry after {wait} s",
                    headers={"Retry-After": str(wait)},
                    kind="too-many-requests",
                )
            self._buckets[token_id] = (level - 1, now)

    # --- heavy requests -----------------------------------------------------------------------

    def heavy_running(self, token_id: str) -> int:
        with self._lock:
            return self._heavy.get(token_id, 0)

    def _release(self, token_id: str) -> None:
        with self._lock:
            n = self._heavy.get(token_id, 0) - 1
            if n > 0:
                self._heavy[token_id] = n
            else:
                self._heavy.pop(token_id, None)

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=HEAVY_THREADS, thread_name_prefix="pbr-heavy")
            return self._executor

    async def run_heavy(self, token_id: str, work: Callable[[], Any]) -> Any:
        """Run ``work`` (parsing and computing) off the event loop under the token's heavy limit and the time limit."""
        with self._lock:
            running = self._heavy.get(token_id, 0)
            if running >= self.max_heavy:
                raise ApiError(
                    429,
                    f"this token already has {running} heavy request(s) running (cohort, settle, business case, simulate); "
                    f"the limit is {self.max_heavy} at once: wait for one to finish",
                    headers={"Retry-After": "1"},
                    kind="too-many-requests",
                )
            self._heavy[token_id] = running + 1
        try:
            loop = asyncio.get_running_loop()
            future = loop.run_in_executor(self._pool(), contextvars.copy_context().run, work)
        except BaseException:
            self._release(token_id)
            raise
        future.add_done_callback(lambda _: self._release(token_id))
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.time_limit)
        except TimeoutError:
            future.add_done_callback(_swallow)  # finished in the background; its result is dropped
            retry = max(1, math.ceil(self.time_limit))
            raise ApiError(
                503,
                f"the request took longer than the time limit of {self.time_limit:g} s and was abandoned; "
                "send a smaller cohort or fewer runs (the token's heavy slot stays taken until the work stops)",
                headers={"Retry-After": str(retry)},
                kind="time-limit",
            ) from None

    def close(self) -> None:
        """Stop the heavy pool (at the app's shutdown); a later heavy request makes a new one."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)


def _swallow(future) -> None:
    if not future.cancelled():
        future.exception()  # retrieve it so asyncio does not log "exception was never retrieved"
