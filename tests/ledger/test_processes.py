"""The ledger under real processes: two settling the same contract at once, and one killed mid-write.

Each child process opens the ledger itself (as two ``pbr settle`` runs on two terminals, or
two API workers, would); nothing is shared in memory.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import sqlalchemy as sa

from pbr_rules.ledger import Ledger
from pbr_rules.ledger import tables as T

ROOT = Path(__file__).resolve().parents[2]
COHORT = ROOT / "fixtures" / "cohorts" / "koebenhavn-1000.jsonl"

CHILD = textwrap.dedent(
    """
    import sys, time
    from datetime import date
    from pbr_rules.evaluation import load_checked_contract
    from pbr_rules.language import load_cohorts
    from pbr_rules.ledger import Ledger

    url, secret, n, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    k = load_checked_contract("contracts/agreements/101-koebenhavn.yaml")
    hs = load_cohorts(["fixtures/cohorts/koebenhavn-1000.jsonl"], frozenset(k.codes.codes))[:n]
    ledger = Ledger(url, secret_file=secret)
    said = False

    def progress(done, total):
        global said
        if mode == "pause" and not said and done < total:
            said = True
            print("MID", done, total, flush=True)
            time.sleep(600)  # the parent kills us here, inside the transaction

    if mode == "race":
        print("READY", flush=True)
        sys.stdin.readline()  # both children start settling at the same moment
    rec = ledger.settle(k, hs, date(2021, 6, 30), "cli:child", on_recording=progress)
    print("RUN", rec.run.id, rec.run.seq, rec.claims_new, rec.settlement.due_now, flush=True)
    """
)


def _child(url: str, secret: Path, n: int, mode: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, url, str(secret), str(n), mode],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(Ledger(url, migrate=False).url)
    with engine.connect() as c:
        out = {t.name: c.execute(sa.select(sa.func.count()).select_from(t)).scalar() for t in T.metadata.sorted_tables}
    engine.dispose()
    return out


def test_two_processes_settling_at_once_never_both_record_a_claim_as_due(database_url, tmp_path):
    Ledger(database_url, secret_file=tmp_path / "k").close()  # create the schema before the race
    kids = [_child(database_url, tmp_path / "k", 300, "race") for _ in range(2)]
    for k in kids:
        assert k.stdout.readline().strip() == "READY", k.stderr.read()
    for k in kids:
        k.stdin.write("go\n")
        k.stdin.flush()
    outs = []
    for k in kids:
        out, err = k.communicate(timeout=300)
        assert k.returncode == 0, err
        outs.append(out.split("RUN ")[1].split())
    (_, seq_a, new_a, due_a), (_, seq_b, new_b, due_b) = sorted(outs, key=lambda o: int(o[1]))
    assert (seq_a, seq_b) == ("1", "2")  # one after the other, the second against the first
    assert int(new_a) > 0 and (new_b, due_b) == ("0", "0.00")  # the second found nothing new
    ledger = Ledger(database_url, secret_file=tmp_path / "k")
    with ledger.engine.connect() as c:
        created = c.execute(
            sa.select(T.claim_events.c.payment_id, sa.func.count()).where(T.claim_events.c.from_state.is_(None)).group_by(T.claim_events.c.payment_id)
        ).all()
    assert len(created) == int(new_a) and all(n == 1 for _, n in created)
    times = [e.at for e in ledger.audit(0, 1000)]
    assert times == sorted(times)  # the chain's times never go backwards, whoever wrote first
    assert ledger.verify().ok
    ledger.close()


def test_a_run_killed_in_the_middle_leaves_all_of_it_or_none_and_runs_again(database_url, tmp_path):
    Ledger(database_url, secret_file=tmp_path / "k").close()
    before = _counts(database_url)
    kid = _child(database_url, tmp_path / "k", 1000, "pause")
    line = kid.stdout.readline()
    assert line.startswith("MID"), kid.stderr.read()
    written, total = map(int, line.split()[1:])
    assert 0 < written < total  # killed with some of the run's rows written in its transaction
    os.kill(kid.pid, signal.SIGKILL)
    kid.wait(timeout=30)
    time.sleep(0.2)
    assert _counts(database_url) == before  # none of it
    again = _child(database_url, tmp_path / "k", 1000, "plain")
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    run_id, seq, new, _ = out.split("RUN ")[1].split()
    assert (run_id, seq) == ("1", "1") and int(new) > 100
    after = _counts(database_url)
    assert after["settlement_runs"] == 1 and after["claims"] == int(new) and after["run_lines"] > 0
    ledger = Ledger(database_url, secret_file=tmp_path / "k")
    assert ledger.verify().ok
    ledger.close()
