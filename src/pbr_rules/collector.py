"""Python's cyclic garbage collector held off while a batch is worked (``collector_paused``).

A value-layer module (only ``gc`` and ``threading``), so the evaluation, the simulation, the
API and the command line's exit all use it without importing each other.

A batch keeps what it makes (decisions, results, a simulated run's figures) until it returns,
and the collector walks every object that survives a young collection again and again:
measured, 17 % of ``evaluate_batch`` over 1,000 histories at the default thresholds (most of
it full collections walking the whole heap: the agreement, the histories, the results so far),
and about 8 % of a simulated run. Deciding makes no reference cycles (tests/test_engine.py
checks that a batch leaves no cyclic garbage), so reference counting frees all of it while the
collector waits and memory does not grow; a simulated run leaves a few dozen cyclic objects,
so the simulation pauses run by run. The collector runs again, as usual, once the last
batch returns.

Counted under a lock, so overlapping batches in threads (the API's pools) turn it back on only
when the last one ends, and a caller that had turned it off keeps it off. The collector is
off for the whole process meanwhile: what other threads leave in reference cycles waits for
the batch to end (the API's cohort requests are bounded in size and time).

``freeze_loaded``: for a command that ends its process (``pbr``), once its agreements are
loaded: the same exemption without a collection, so the collection at its end walks only what
the command made afterwards (measured: 20 ms of every command's exit).

``freeze_long_lived``: for a server, once it has loaded what it keeps for its whole life (the
agreements, compiled; the app): those objects are moved out of the collector's sight
(``gc.freeze``), so the collections that requests' garbage sets off no longer walk them.
Measured on the API's evaluate route: 6 % less CPU a request (bench/bench_api.py, cohort).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_LOCK = threading.Lock()
_USERS = 0
_WAS_ON = True


@contextmanager
def collector_paused() -> Iterator[None]:
    global _USERS, _WAS_ON
    with _LOCK:
        if _USERS == 0:
            _WAS_ON = gc.isenabled()
            gc.disable()
        _USERS += 1
    try:
        yield
    finally:
        with _LOCK:
            _USERS -= 1
            if _USERS == 0 and _WAS_ON:
                gc.enable()


_WHOLE_PROCESS = False


@contextmanager
def command_owns_process() -> Iterator[None]:
    """Held by ``cli.run`` while its command runs: the process ends when the command does, so
    ``freeze_loaded`` may freeze. A caller of ``cli.main`` in a process that goes on (a test, a
    notebook), even after a ``run``, is not inside it, and nothing it keeps is frozen out of
    the collector's reach."""
    global _WHOLE_PROCESS
    _WHOLE_PROCESS = True
    try:
        yield
    finally:
        _WHOLE_PROCESS = False


def freeze_loaded() -> None:
    """``gc.freeze`` without a collection, in a process that ends with its command: called once
    the command's agreements are loaded (they live until it ends). The exit's collection then
    walks only what the command made after; the few cycles the imports left stay until exit."""
    if _WHOLE_PROCESS:
        gc.freeze()


def freeze_long_lived() -> None:
    """Collect once, then exempt every object alive now from later collections (``gc.freeze``).

    Once in a process: after its long-lived state is built (a server's start-up), or at its end
    (``pbr``'s exit: ``cli.run``). What is frozen and later becomes garbage in a reference cycle
    is never collected."""
    gc.collect()
    gc.freeze()
