"""``pbr evaluate --cohort`` on 10,000 histories with one worker and with two: the speed-up.

Generates the cohort (streamed to a temporary folder), then runs the command with
``--workers 1`` and ``--workers 2`` (and, with ``--dask``, ``--scheduler local:2``), each in a
fresh process, best of ``--repeat`` runs; the figure is the ratio of wall times in the same
run (target on 2 cores: at least 1.7x). Only meaningful on an otherwise idle machine: the
load average before and after is printed beside it. The part no number of workers divides is
measured too (the same command on 10 histories: start-up, the agreement, the output, the
exit), and the stream's own speed-up without it.

Because a shared machine makes wall times noisy, it also measures where the CPU time goes
(independent of other load): the same stream in one fresh process with one worker and with
two, CPU seconds of the main process and of the workers (``getrusage``). With two idle cores
the two workers and the main process share them, so the projected speed-up is
``cpu(1 worker) / ((cpu(main) + cpu(workers)) / 2)``, bounded by
``cpu(1 worker) / (cpu(workers) / 2)`` when the main process is idle.

    python bench/bench_workers.py [--n 10000] [--repeat 1] [--dask] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from scale_tools import ROOT, env, generate, measure, pbr

_CPU = """
import json, resource, sys
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pbr_rules.evaluation import load_checked_contract, stream_cohort
from pbr_rules.reports import CohortReport, cohort_digest
contract, cohort, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
loaded = load_checked_contract(contract)
start = resource.getrusage(resource.RUSAGE_SELF)
report = CohortReport("table")
pool = ProcessPoolExecutor(max_workers=workers) if workers > 1 else None
for d in stream_cohort(loaded, [cohort], digest=partial(cohort_digest, fmt="table"), executor=pool):
    report.add(d)
report.write(open("/dev/null", "w"))
if pool:
    pool.shutdown()
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"main_cpu_s": me.ru_utime + me.ru_stime - start.ru_utime - start.ru_stime, "workers_cpu_s": kids.ru_utime + kids.ru_stime}))
"""


def cpu_split(contract: str, cohort: Path, workers: int) -> dict:
    import subprocess

    out = subprocess.run([sys.executable, "-c", _CPU, contract, str(cohort), str(workers)], capture_output=True, text=True, env=env(), check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])

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
        # What no number of workers divides: the same command on a cohort of 10 histories
        # (interpreter, imports, the agreement, the output, the exit; one process, as the
        # command runs so small a cohort).
        tiny = Path(tmp) / "tiny.jsonl"
        generate(tiny, "101", 10)
        fixed = min(measure(pbr("evaluate", "--contract", contract, "--cohort", str(tiny), "--no-log", "--workers", "1"))["wall_s"] for _ in range(max(3, a.repeat)))
        figures["fixed_s"] = round(fixed, 3)
        print(f"{'fixed':>13}: {fixed:7.2f} s (the command on 10 histories: start-up, agreement, exit, which no number of workers divides)", flush=True)
        one, two = cpu_split(contract, f, 1), cpu_split(contract, f, 2)
    serial = one["main_cpu_s"] + one["workers_cpu_s"]
    figures["cpu_s"] = {"one_worker": round(serial, 1), "two_workers_main": round(two["main_cpu_s"], 1), "two_workers_workers": round(two["workers_cpu_s"], 1)}
    figures["projected_speedup_2_idle_cores"] = round(serial / ((two["main_cpu_s"] + two["workers_cpu_s"]) / 2), 2)
    print(
        f"CPU: one worker {serial:.1f} s; two workers: main {two['main_cpu_s']:.1f} s + workers {two['workers_cpu_s']:.1f} s "
        f"-> projected speed-up on 2 idle cores {figures['projected_speedup_2_idle_cores']:.2f}x"
    )
    speedup = figures["workers_1"]["wall_s"] / figures["workers_2"]["wall_s"]
    figures["speedup_2_over_1"] = round(speedup, 2)
    w1, w2 = figures["workers_1"]["wall_s"], figures["workers_2"]["wall_s"]
    # the fixed part is measured with one process: with two, starting the pool counts as stream
    figures["stream_speedup_2_over_1"] = round((w1 - fixed) / max(w2 - fixed, 1e-3), 2)
    print(
        f"without the fixed {fixed:.2f} s: the stream {w1 - fixed:.2f} s with one worker, {w2 - fixed:.2f} s with two: "
        f"{figures['stream_speedup_2_over_1']:.2f}x; with it the whole command can reach at most "
        f"{w1 / (fixed + (w1 - fixed) / 2):.2f}x on 2 cores"
    )
    if a.dask:
        figures["speedup_dask_over_1"] = round(figures["workers_1"]["wall_s"] / figures["dask_local_2"]["wall_s"], 2)
    figures["load_average"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]
    print(f"--workers 2 is {speedup:.2f}x --workers 1 (target >= {TARGET}x on 2 idle cores); load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    if a.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
