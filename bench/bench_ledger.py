"""Ledger speed against its anchor: a bare ``sqlite3`` ``executemany`` of the same rows, in the same run.

Measured (best of ``--repeat``, each on a new database file, same process, back to back):

1. recording a settlement run of about 10,000 lines and as many claims (København's agreement
   with its cohort size lifted, so that every payment becomes a claim): ``Ledger.settle`` with
   the cohort already evaluated and the settlement arithmetic (``settle_results``, timed
   alone and printed apart) taken out, so the figure is what the ledger adds: reading the latest run and the claims under the write
   lock, deciding each claim's state, the hash chain, and inserting every row in one
   transaction;
2. listing every claim of the contract (``Ledger.claims``), against a bare ``SELECT`` of the
   same columns.

The anchor inserts exactly the rows the ledger wrote (read back from its database) with
``sqlite3.executemany`` in one transaction, with the same table definitions and the same
durability (WAL, synchronous=FULL). Target: the ledger within 3x of the anchor.

    .venv/bin/python bench/bench_ledger.py [--histories 3600] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from generate_cohort import generate_participants  # noqa: E402

from pbr_rules.evaluation import evaluate_cohort, load_checked_contract  # noqa: E402
from pbr_rules.language import Source, history_from_data  # noqa: E402
from pbr_rules.ledger import Ledger  # noqa: E402
from pbr_rules.ledger import tables as T  # noqa: E402
from pbr_rules.settlement import settle_results  # noqa: E402

AS_OF = date(2022, 6, 30)


def _uncapped_contract():
    """København's agreement and template copied with the cohort size lifted, so every payment is a claim."""
    import shutil

    folder = Path(tempfile.mkdtemp(prefix="pbr-bench-contract-"))
    shutil.copytree(ROOT / "contracts", folder / "contracts")
    template = folder / "contracts" / "templates" / "vaekstpartnerskaber.yaml"
    template.write_text(template.read_text(encoding="utf-8").replace("cohort_size: 100", "cohort_size: 100000"), encoding="utf-8")
    return load_checked_contract(folder / "contracts" / "agreements" / "101-koebenhavn.yaml")


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        times.append(fn())
    return min(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--histories", type=int, default=3600, help="participants (about 2.8 settlement lines each)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)

    loaded = _uncapped_contract()
    codes = frozenset(loaded.codes.codes)
    raw = generate_participants("101", args.histories, seed=11, enrolment_start=date(2019, 3, 1), enrolment_end=date(2021, 9, 30))
    histories = [history_from_data(h, Source(file="<bench>", data=h), codes, ()) for h in raw]
    results = evaluate_cohort(loaded, histories, AS_OF, workers=1)

    t0 = time.perf_counter()
    settlement = settle_results(loaded, histories, results, AS_OF)
    arithmetic = time.perf_counter() - t0
    lines = len(settlement.lines)

    tmp = Path(tempfile.mkdtemp(prefix="pbr-bench-ledger-"))
    state = {}

    import pbr_rules.ledger.service as service

    def record() -> float:
        path = tmp / f"ledger-{len(state)}.db"
        ledger = Ledger(str(path), secret_file=tmp / "k")
        real = service.settle_results
        service.settle_results = lambda *a, **k: settlement  # the arithmetic is timed apart: this is the ledger's share
        try:
            t = time.perf_counter()
            ledger.settle(loaded, histories, AS_OF, "cli:bench", results=results)
            elapsed = time.perf_counter() - t
        finally:
            service.settle_results = real
        state[len(state)] = (ledger, path)
        return elapsed

    recorded = best(record, args.repeat)
    ledger, path = state[0]

    # the rows the ledger wrote, read back, inserted again with the bare driver
    rows = {}
    with ledger.engine.connect() as c:
        for t in T.metadata.sorted_tables:
            if t.name in ("idempotency_keys", "decisions"):
                continue
            res = c.exec_driver_sql(f"SELECT * FROM {t.name}")
            rows[t.name] = (list(res.keys()), [tuple(r) for r in res])
    n_rows = sum(len(r) for _, r in rows.values())

    def anchor() -> float:
        db = tmp / f"anchor-{time.perf_counter_ns()}.db"
        schema = sqlite3.connect(path)
        ddl = [s for (s,) in schema.execute("SELECT sql FROM sqlite_master WHERE type='table' AND sql IS NOT NULL")]
        schema.close()
        con = sqlite3.connect(db, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        for s in ddl:
            con.execute(s)
        t = time.perf_counter()
        con.execute("BEGIN IMMEDIATE")
        for name, (cols, items) in rows.items():
            con.executemany(f"INSERT INTO {name} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})", items)
        con.execute("COMMIT")
        elapsed = time.perf_counter() - t
        con.close()
        return elapsed

    bare = best(anchor, args.repeat)

    def list_claims() -> float:
        t = time.perf_counter()
        ledger.claims(contract_id=loaded.contract.id, limit=None)
        return time.perf_counter() - t

    def bare_list() -> float:
        con = sqlite3.connect(path)
        t = time.perf_counter()
        con.execute("SELECT c.*, e.to_state, e.disputed, e.settled_ore, e.paid_ore, e.recovered_ore FROM claims c JOIN claim_events e ON e.payment_id = c.payment_id").fetchall()
        elapsed = time.perf_counter() - t
        con.close()
        return elapsed

    listed, bare_listed = best(list_claims, args.repeat), best(bare_list, args.repeat)
    claims = len(ledger.claims(limit=None))

    print(f"settlement run: {lines:,} lines, {claims:,} claims, {n_rows:,} rows written in one transaction")
    print(f"  settlement arithmetic alone (not the ledger's): {arithmetic * 1000:8.1f} ms")
    print(f"  ledger recording (everything but arithmetic):    {recorded * 1000:8.1f} ms")
    print(f"  bare sqlite3 executemany of the same rows:       {bare * 1000:8.1f} ms")
    print(f"  ratio ledger / bare: {recorded / bare:.2f}x (target within 3x)")
    print(f"listing {claims:,} claims: ledger {listed * 1000:.1f} ms, bare SELECT {bare_listed * 1000:.1f} ms, ratio {listed / bare_listed:.2f}x (target within 3x)")
    for ledger, _ in state.values():
        ledger.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
