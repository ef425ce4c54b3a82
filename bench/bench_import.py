"""``pbr import`` speed: a 100,000-person register extract in under a minute on one core.

Writes synthetic extracts (pbr_rules.importers.synthetic: a DREAM-layout register of
104 week columns, 2019-W01..2020-W52, monthly income rows for about half the people,
attendance rows, company figures; every person enrolled) into a temporary folder, then
times, in this one process (one core): reading and checking every file, pseudonymising
every CPR number, building and validating every history (``import_histories``) and
writing them as JSON Lines. Generating the files is not timed. Target: under 60 s.

    .venv/bin/python bench/bench_import.py [--persons 100000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from pbr_rules.importers import import_histories, load_or_create_key
from pbr_rules.importers.synthetic import write_extracts

TARGET_SECONDS = 60


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--persons", type=int, default=100_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="pbr-bench-import-") as tmp:
        folder = Path(tmp)
        written = write_extracts(folder, args.persons, seed=7, bad_rows=False)
        sizes = {p.name: p.stat().st_size for p in folder.glob("*.csv")}
        key = load_or_create_key(folder / "key")
        wall, cpu = time.perf_counter(), time.process_time()
        result = import_histories(written.mapping, key)
        out = folder / "histories.jsonl"
        out.write_text(result.jsonl(), encoding="utf-8")
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rows = {Path(f.file).name: f.rows for f in result.files}
    print(f"pbr import of {args.persons:,} persons on one core (os.cpu_count() = {os.cpu_count()})")
    for name in sorted(sizes):
        print(f"  {name}: {rows.get(name, 0):,} rows, {sizes[name] / 1e6:.1f} MB")
    print(f"  wrote {result.participants:,} participant and {result.companies:,} company histories; {len(result.problems)} problems")
    print(f"  wall {wall:.1f} s, CPU {cpu:.1f} s (target: under {TARGET_SECONDS} s): {'ok' if wall < TARGET_SECONDS else 'TOO SLOW'}")
    return 0 if wall < TARGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
