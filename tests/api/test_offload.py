"""The evaluate route's decision log is a group commit: concurrent requests share a transaction, and each waits for it."""

from __future__ import annotations

import asyncio
import threading

import pytest

from pbr_rules.api.offload import Offload
from pbr_rules.ledger import LedgerUnavailable


class RecordingLedger:
    """Stands in for the ledger: records each transaction's entries; the first one is held until released."""

    def __init__(self, fail: bool = False):
        self.transactions: list[list] = []
        self.release = threading.Event()
        self.fail = fail

    def log_decision_entries(self, entries):
        self.release.wait(10)
        if self.fail:
            raise LedgerUnavailable("the database is gone")
        self.transactions.append(list(entries))
        return len(entries)


def test_requests_waiting_while_a_commit_runs_share_the_next_transaction_and_each_returns_after_its_own():
    async def scenario():
        offload, ledger = Offload(), RecordingLedger()
        first = asyncio.create_task(offload.log_decisions(ledger, ["e0"]))
        await asyncio.sleep(0.05)  # the writer holds e0's transaction open
        rest = [asyncio.create_task(offload.log_decisions(ledger, [f"e{i}"])) for i in range(1, 6)]
        await asyncio.sleep(0.05)
        assert not any(t.done() for t in [first, *rest])  # nobody is answered before its commit
        ledger.release.set()
        await asyncio.gather(first, *rest)
        offload.close()
        return ledger.transactions

    assert asyncio.run(scenario()) == [["e0"], ["e1", "e2", "e3", "e4", "e5"]]


def test_when_the_transaction_fails_every_request_of_it_gets_the_error():
    async def scenario():
        offload, ledger = Offload(), RecordingLedger(fail=True)
        ledger.release.set()
        results = await asyncio.gather(*(offload.log_decisions(ledger, [i]) for i in range(4)), return_exceptions=True)
        offload.close()
        return results

    results = asyncio.run(scenario())
    assert len(results) == 4 and all(isinstance(r, LedgerUnavailable) for r in results)


def test_an_evaluation_runs_on_the_pool_and_its_answer_is_returned_only_after_its_decisions_are_committed():
    async def scenario():
        offload, ledger = Offload(), RecordingLedger()
        task = asyncio.create_task(offload.evaluate_logged(ledger, lambda: (["d1"], threading.current_thread().name)))
        await asyncio.sleep(0.05)
        assert not task.done() and ledger.transactions == []  # evaluated, its commit held open: not answered
        ledger.release.set()
        answer = await task
        offload.close()
        return answer, ledger.transactions

    answer, transactions = asyncio.run(scenario())
    assert answer.startswith("pbr_evaluate") and transactions == [["d1"]]


def test_an_evaluation_that_fails_raises_its_error_and_keeps_nothing_while_a_failed_commit_raises_the_commit_error():
    async def scenario():
        offload, ledger = Offload(), RecordingLedger()
        ledger.release.set()
        with pytest.raises(ZeroDivisionError):
            await offload.evaluate_logged(ledger, lambda: 1 / 0)
        failing = RecordingLedger(fail=True)
        failing.release.set()
        with pytest.raises(LedgerUnavailable):
            await offload.evaluate_logged(failing, lambda: (["d2"], "answer"))
        offload.close()
        return ledger.transactions

    assert asyncio.run(scenario()) == []


def test_the_served_app_freezes_what_it_loaded_at_start_and_a_test_app_does_not(tokens, tmp_path):
    import gc

    from fastapi.testclient import TestClient

    from pbr_rules.api import create_app

    from .conftest import make_settings

    gc.unfreeze()
    try:
        with TestClient(create_app(make_settings(tokens, database=str(tmp_path / "a.db")))):
            assert gc.get_freeze_count() == 0
        with TestClient(create_app(make_settings(tokens, database=str(tmp_path / "b.db")), freeze_at_start=True)) as client:
            assert gc.get_freeze_count() > 0  # the agreements, compiled, and the app: out of the collector's sight
            assert client.get("/v1/ready").status_code == 200
    finally:
        gc.unfreeze()


def test_log_lines_are_written_off_the_event_loop_so_a_stalled_output_stalls_no_request():
    import logging
    import time

    from pbr_rules.api.middleware import log_off_the_loop

    written: list[str] = []
    stalled = threading.Event()

    class StalledOutput(logging.Handler):  # a pipe nobody reads: every write waits
        def emit(self, record):
            stalled.wait(10)
            written.append(self.format(record))

    logger = logging.getLogger("pbr_rules.api")
    handler = StalledOutput()
    saved, logger.handlers = logger.handlers, [handler]
    level = logger.level
    logger.setLevel(logging.INFO)  # as pbr serve's log configuration sets it
    try:
        stop = log_off_the_loop()
        t0 = time.monotonic()
        logging.getLogger("pbr_rules.api.access").info("request_id=%s status=%s", "r1", 200)
        assert time.monotonic() - t0 < 1 and written == []  # returned at once; the line waits in the queue
        stalled.set()
        stop()  # writes what is queued, and puts the handler back
        assert written == ["request_id=r1 status=200"] and logger.handlers == [handler]
    finally:
        stalled.set()
        logger.handlers = saved
        logger.setLevel(level)
