"""Work a light route hands off the event loop: evaluations, and the decision log's group commit.

- ``Offload.evaluate_logged(ledger, work)``: CPU-bound work of a light request (validating a
  history, evaluating it, serialising the answer) runs on a small pool of its own
  (``EVALUATE_THREADS``), so the event loop keeps reading and answering other requests
  meanwhile. A small pool, not FastAPI's 40 threads: the engine holds the GIL, so more
  threads only add switching, and heavy requests have their own pool (fairuse).
  ``work()`` returns the decisions to keep and the answer; the decisions join the group
  commit below straight from that thread, and the request is woken once, with the answer,
  when they are kept (one wake-up of the event loop per request, not one for the evaluation
  and another for the commit).
- ``Offload.log_decisions(entries)``: the decision log as a **group commit**. A request
  adds its decisions and waits until they are committed; one writer thread takes
  everything waiting and keeps it in one ledger transaction (``Ledger.log_decision_entries``),
  so 50 concurrent evaluations cost a few commits, not 50 (each a synchronous fsync on
  SQLite) fighting for the write lock. An answer is still sent only after its decisions are
  kept; if the transaction fails, every request of the batch gets the error (503 for an
  unavailable ledger).

Per worker process, like the engine: ``pbr serve --workers N`` has N of each.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pbr_rules.ledger import DecisionEntry, Ledger

EVALUATE_THREADS = 2


class Offload:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._evaluate: ThreadPoolExecutor | None = None
        self._writer: ThreadPoolExecutor | None = None
        self._waiting: list[tuple[Ledger, list[DecisionEntry], asyncio.AbstractEventLoop, asyncio.Future, Any]] = []
        self._writing = False

    def _pool(self, name: str, threads: int) -> ThreadPoolExecutor:
        with self._lock:
            pool = getattr(self, name)
            if pool is None:
                pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"pbr{name}")
                setattr(self, name, pool)
            return pool

    async def evaluate_logged(self, ledger: Ledger, work: Callable[[], tuple[list[DecisionEntry], Any]]) -> Any:
        """``work()`` on the evaluation pool gives ``(entries, answer)``; returns ``answer`` once
        ``entries`` are committed (or raises what ``work`` or the commit raised)."""
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        run = contextvars.copy_context().run

        def job() -> None:
            try:
                entries, answer = run(work)
            except BaseException as exc:  # noqa: BLE001 - the request's own error (a 422, say), raised in the request
                _wake(loop, done, exc)
                return
            self._enqueue(ledger, entries, loop, done, answer)

        self._pool("_evaluate", EVALUATE_THREADS).submit(job)
        return await done

    async def log_decisions(self, ledger: Ledger, entries: list[DecisionEntry]) -> None:
        """Keep ``entries`` in the ledger; returns once they are committed (with others waiting at the same time)."""
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        self._enqueue(ledger, entries, loop, done, None)
        await done

    def _enqueue(self, ledger: Ledger, entries: list[DecisionEntry], loop: asyncio.AbstractEventLoop, done: asyncio.Future, answer: Any) -> None:
        with self._lock:
            self._waiting.append((ledger, entries, loop, done, answer))
            start = not self._writing
            self._writing = True
        if start:
            self._pool("_writer", 1).submit(self._write)

    def _write(self) -> None:
        """The writer thread: commit whatever is waiting, as one transaction, until nothing is."""
        while True:
            with self._lock:
                batch, self._waiting = self._waiting, []
                if not batch:
                    self._writing = False
                    return
            ledgers = {id(ledger): ledger for ledger, _, _, _, _ in batch}  # one per app; tests may run several
            for key, ledger in ledgers.items():
                mine = [item for item in batch if id(item[0]) == key]
                error: BaseException | None = None
                try:
                    ledger.log_decision_entries([e for _, entries, _, _, _ in mine for e in entries])
                except BaseException as exc:  # noqa: BLE001 - handed to every waiting request (a 503 or a 500 there); the writer goes on
                    error = exc
                for _, _, loop, done, answer in mine:
                    _wake(loop, done, error, answer)

    def close(self) -> None:
        """Stop the pools (at the app's shutdown); a later request makes new ones."""
        with self._lock:
            evaluate, writer, self._evaluate, self._writer = self._evaluate, self._writer, None, None
        if evaluate is not None:
            evaluate.shutdown(wait=False, cancel_futures=True)
        if writer is not None:
            writer.shutdown(wait=True)  # let a commit in progress finish


def _wake(loop: asyncio.AbstractEventLoop, done: asyncio.Future, error: BaseException | None, answer: Any = None) -> None:
    """Settle a request's future from another thread."""
    try:
        loop.call_soon_threadsafe(_settle, done, error, answer)
    except RuntimeError:  # that request's loop is gone (shutdown): nobody waits
        pass


def _settle(done: asyncio.Future, error: BaseException | None, answer: Any) -> None:
    if done.cancelled():
        return
    if error is None:
        done.set_result(answer)
    else:
        done.set_exception(error)
