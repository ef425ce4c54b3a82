"""``pbr evaluate --cohort`` on 10,000 histories with one worker and with two: the speed-up.

Generates the cohort (streamed to a temporary folder), then runs the command with
``--workers 1`` and ``--workers 2`` (and, with ``--dask``, ``--scheduler local:2``), each in a
fresh process, best of ``--repeat`` runs; the figure is the ratio of wall times in the same
run (target on 2 cores: at least 1.7x). Only meaningful on an otherwise idle machine: the
load average before and after is printed beside it.

    python bench/bench_workers.py [--n 10000] [--repeat 1] [--dask] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from scale_tools import ROOT, generate, measure, pbr

TARGET = 1.7


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--dask", action="store_true", help="also run on a Dask LocalCluster of two workers")
    ap.add_argument("--json", action="store_true", help="end with one JSON object of the figures")
    a = ap.parse_args()
    contract = str(ROOT / "contracts/agreements/101-koebenhavn.yaml")
    load_before = os.getloadavg()[0]
    figures: dict = {"histories": a.n, "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="pbr-bench-") as tmp:
        f = Path(tmp) / "cohort.jsonl"
        generate(f, "101", a.n)
        runs = {"workers_1": ["--workers", "1"], "workers_2": ["--workers", "2"]}
        if a.dask:
            runs["dask_local_2"] = ["--scheduler", "local:2"]
        for label, extra in runs.items():
            best = min(
                (measure(pbr("evaluate", "--contract", contract, "--cohort", str(f), "--no-log", *extra)) for _ in range(a.repeat)),
                key=lambda r: r["wall_s"],
            )
            figures[label] = {"wall_s": round(best["wall_s"], 2), "per_s": round(a.n / best["wall_s"]), "peak_rss_mib": round(best["peak_rss_mib"], 1)}
            print(f"{label:>13}: {best['wall_s']:7.1f} s, {a.n / best['wall_s']:6,.0f} histories/s, peak RSS {best['peak_rss_mib']:.0f} MiB", flush=True)
    speedup = figures["workers_1"]["wall_s"] / figures["workers_2"]["wall_s"]
    figures["speedup_2_over_1"] = round(speedup, 2)
    if a.dask:
        figures["speedup_dask_over_1"] = round(figures["workers_1"]["wall_s"] / figures["dask_local_2"]["wall_s"], 2)
    figures["load_average"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]
    print(f"--workers 2 is {speedup:.2f}x --workers 1 (target >= {TARGET}x on 2 idle cores); load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    if a.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
