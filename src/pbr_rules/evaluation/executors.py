"""Where a cohort's chunks run: this process, a pool of local processes, or a Dask cluster.

The only module that imports Dask (lazily, when a scheduler is asked for). Everything that
spreads work takes a ``concurrent.futures.Executor``; ``executor_for`` makes one:

- ``scheduler=None``, ``workers`` 1: ``None`` (evaluate in this process);
- ``scheduler=None``, ``workers`` N > 1: a ``ProcessPoolExecutor`` of N processes;
- ``scheduler="local"`` or ``"local:N"``: a Dask ``LocalCluster`` of N worker processes
  (default ``workers``), one thread each, started here and closed with the executor;
- any other ``scheduler``: the address of a running Dask scheduler
  (``tcp://10.0.0.5:8786``, or ``10.0.0.5:8786``), whose workers do the work.

Use it as a context manager: ``with executor_for(args.scheduler, args.workers) as ex: ...``
(``ex`` may be ``None``). Dask workers on other machines need pbr-rules installed and the
agreement files at the same paths (a shared folder or the same checkout): a worker loads
the agreement once and refuses one whose content differs.
"""

from __future__ import annotations

import multiprocessing
import re
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from contextlib import contextmanager
from typing import Iterator

from pbr_rules.errors import PbrError
from pbr_rules.i18n import _

INSTALL_HINT = "pip install 'pbr-rules[scale]'"


class SchedulerUnavailable(PbrError):
    """Dask is not installed, or the scheduler asked for cannot be reached."""


class DaskExecutor(Executor):
    """A Dask client as a ``concurrent.futures.Executor``: ``submit``, ``map``, ``shutdown``.

    Every submission is its own task (never merged with an identical one), and shutting
    down closes the client and, for ``local:N``, the cluster this process started.
    """

    def __init__(self, client, cluster=None, workers: int = 1):
        self.client = client
        self.cluster = cluster
        self.workers = workers
        self._executor = client.get_executor(pure=False)

    def submit(self, fn, /, *args, **kwargs):
        return self._executor.submit(fn, *args, **kwargs)

    def map(self, fn, *iterables, timeout=None, chunksize=1):
        return self._executor.map(fn, *iterables, timeout=timeout)

    def shutdown(self, wait=True, *, cancel_futures=False):
        try:
            self._executor.shutdown(wait=wait and not cancel_futures)
        finally:
            self.client.close()
            if self.cluster is not None:
                self.cluster.close()


def _dask():
    try:
        import distributed
    except ImportError as exc:
        raise SchedulerUnavailable(
            _("--scheduler needs Dask distributed, which is not installed: {hint}").format(hint=INSTALL_HINT)
        ) from exc
    return distributed


def dask_executor(scheduler: str, workers: int = 1) -> DaskExecutor:
    """A Dask executor: ``local`` / ``local:N`` starts a LocalCluster, anything else is a scheduler's address."""
    distributed = _dask()
    m = re.fullmatch(r"local(?::(\d+))?", scheduler.strip())
    if m:
        n = int(m.group(1)) if m.group(1) else max(1, workers)
        if n < 1:
            raise SchedulerUnavailable(_("--scheduler local:N needs N of 1 or more, not {n}").format(n=n))
        cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
        return DaskExecutor(distributed.Client(cluster), cluster, n)
    address = scheduler.strip()
    if "://" not in address:
        address = "tcp://" + address
    try:
        client = distributed.Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:  # ValueError: not an address ('missing port number')
        raise SchedulerUnavailable(
            _("cannot reach the Dask scheduler at {address} ({reason}); start one with 'dask scheduler' and workers with 'dask worker {address}'").format(
                address=address, reason=exc
            )
        ) from exc
    n = len(client.scheduler_info().get("workers", {})) or 1
    return DaskExecutor(client, None, n)


@contextmanager
def executor_for(scheduler: str | None, workers: int | None = 1) -> Iterator[Executor | None]:
    """The executor for ``--scheduler`` / ``--workers`` (``None``: work in this process), closed on exit."""
    workers = workers or 1
    if scheduler:
        ex = dask_executor(scheduler, workers)
    elif workers > 1:
        ex = ProcessPoolExecutor(max_workers=workers)
    else:
        yield None
        return
    try:
        yield ex
    finally:
        ex.shutdown(wait=True, cancel_futures=True)


# --- drafts -------------------------------------------------------------------------------------
# A draft agreement (a text edited in the web workspace) is a new content hash: evaluating it
# registers a ruleset, which durable-rules never frees, and fills the per-contract caches. In
# a long-running server that is memory that only grows (a review measured 1.3-2 MB a draft).
# So each draft is evaluated in a process of its own, started for it and ended after it: the
# serving process never compiles one, and a draft that runs too long is stopped without
# touching anyone else's. The draft crosses as its text (it is built again there) and the
# results come back as JSON; at most DRAFT_PROCESSES run at once.

DRAFT_PROCESSES = 2
_draft_slots = threading.BoundedSemaphore(DRAFT_PROCESSES)


class DraftTimeout(PbrError):
    """A draft's evaluation could not start or finish within its time limit."""


class DraftFailed(PbrError):
    """The process evaluating a draft ended without an answer."""


def _draft_job(text: str, file: str, base_dir: str, histories: list, as_of) -> list[str]:
    from pbr_rules.evaluation.evaluator import evaluate_cohort
    from pbr_rules.language import contract_from_source, parse_yaml

    loaded = contract_from_source(parse_yaml(text, file=file), base_dir=Path(base_dir))
    return [r.model_dump_json() for r in evaluate_cohort(loaded, histories, as_of, workers=1)]


def evaluate_draft_cohort(text: str, file: str, base_dir: str | Path, histories: list, as_of=None, *, timeout: float = 60.0) -> list:
    """``evaluate_cohort`` of the agreement ``text`` (as if it were ``file`` in ``base_dir``) in
    a process of its own (above). Its problems come back as the same exceptions
    (``ContractInvalid``...); ``DraftTimeout`` past ``timeout`` seconds (waiting for a free slot
    included), ``DraftFailed`` if the process died."""
    from pbr_rules.models.results import EvaluationResult

    started = time.monotonic()
    if not _draft_slots.acquire(timeout=timeout):
        raise DraftTimeout(_("the draft took longer than {seconds:g} seconds to evaluate; try a smaller cohort").format(seconds=timeout))
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    try:
        future = pool.submit(_draft_job, text, file, str(base_dir), histories, as_of)
        try:
            payload = future.result(timeout=max(0.1, timeout - (time.monotonic() - started)))
        except FuturesTimeout:
            raise DraftTimeout(_("the draft took longer than {seconds:g} seconds to evaluate; try a smaller cohort").format(seconds=timeout)) from None
        except BrokenProcessPool:
            raise DraftFailed(_("the process evaluating the draft ended without an answer; try again")) from None
    finally:
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            if proc.is_alive():
                proc.terminate()  # this draft's own process only
        pool.shutdown(wait=False, cancel_futures=True)
        _draft_slots.release()
    return [EvaluationResult.model_validate_json(t) for t in payload]
