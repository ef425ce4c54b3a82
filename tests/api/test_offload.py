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


def test_the_evaluation_pool_returns_the_work_result_and_raises_its_error():
    async def scenario():
        offload = Offload()
        ok = await offload.run(lambda: threading.current_thread().name)
        with pytest.raises(ZeroDivisionError):
            await offload.run(lambda: 1 / 0)
        offload.close()
        return ok

    assert asyncio.run(scenario()).startswith("pbr_evaluate")
