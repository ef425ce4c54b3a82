"""Benchmark: `pbr simulate` on the bundled scenario, in runs per second.

Times ``simulate(load_scenario(...), runs, seed, workers)`` (the public call, the same before
and after issue 14's speed-up, so ``bench/compare.py REV`` can run this script against two
revisions back to back) on the bundled programme: 3 municipalities of 100 participants and
2 companies a run. Loading the scenario is timed apart. With ``--repeat R`` the best of R
timings is reported (the least disturbed by other work on the machine), and the CPU time a
run took in all processes (``cpu_s_per_run``; on a machine loaded by other work the wall
clock says more about the load than about the code). The result's SHA-256
(its JSON, as ``pbr simulate --format json`` writes it) is printed too: two revisions that
simulate alike print the same digest.

    python bench/bench_simulation.py [--runs 1000] [--workers 2] [--seed 1] [--repeat 1] [--parts] [--json]

With ``--parts`` (one worker) it also says where a run's CPU time goes, measured (not
profiled): drawing the cohorts, the engine's decisions, and of the business case the
settlement, the savings and the rest (the parts' figures are ``part_..._ms`` per run).

With ``--json`` the last line of standard output is one JSON object of the figures, e.g.
{"simulate_runs_per_s": 25.1, "simulate_s": 39.8, "runs": 1000, "workers": 2, ...}.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from pbr_rules.finance import load_scenario, simulate  # noqa: E402
from pbr_rules.reports import to_json  # noqa: E402


def cpu_seconds() -> float:
    """CPU time used so far by this process and its finished children (a pool's workers, once shut down)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def time_parts() -> dict[str, float]:
    """CPU seconds spent in each part of a run, by wrapping the functions a run calls (looked up
    by name, so a revision lacking one simply has no figure for it). Indented names are inside
    the business case ("case")."""
    from pbr_rules.finance import cases, simulation

    spent: dict[str, float] = {}

    def wrap(module, name: str, key: str) -> None:
        f = getattr(module, name, None)
        if f is None:
            return
        spent[key] = 0.0

        def timed(*args, **kwargs):
            t = time.process_time()
            try:
                return f(*args, **kwargs)
            finally:
                spent[key] += time.process_time() - t

        setattr(module, name, timed)

    wrap(simulation, "cohort_histories", "generate")
    wrap(simulation, "decide_view_batch", "decide")
    wrap(simulation, "case_figures", "case")
    wrap(cases, "settled_payers", "  settle")
    wrap(cases, "savings_by_month", "  savings")
    return spent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(ROOT / "contracts" / "simulation" / "programme.yaml"))
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=1, help="time this many simulations and report the fastest")
    ap.add_argument("--parts", action="store_true", help="also time the parts of a run (one worker only)")
    ap.add_argument("--json", action="store_true", help="end with one line of JSON holding the figures")
    args = ap.parse_args()
    if args.parts and args.workers != 1:
        ap.error("--parts times the parts in this process: give --workers 1")
    parts = time_parts() if args.parts else None

    t = time.perf_counter()
    scenario = load_scenario(args.scenario)
    load_s = time.perf_counter() - t

    timings, cpu, digests = [], [], set()
    for _ in range(args.repeat):
        gc.collect()
        c, t = cpu_seconds(), time.perf_counter()
        result = simulate(scenario, runs=args.runs, seed=args.seed, workers=args.workers)
        timings.append(time.perf_counter() - t)
        cpu.append(cpu_seconds() - c)
        digests.add(hashlib.sha256(to_json(result).encode()).hexdigest())
    best = min(timings)
    figures = {
        "simulate_runs_per_s": round(args.runs / best, 3),
        "simulate_s": round(best, 3),
        "simulate_s_all": [round(x, 3) for x in timings],
        "cpu_s_per_run": round(min(cpu) / args.runs, 4),
        "load_scenario_s": round(load_s, 3),
        "runs": args.runs,
        "workers": args.workers,
        "seed": args.seed,
        "cores": os.cpu_count(),
        "result_sha256": digests.pop() if len(digests) == 1 else sorted(digests),
    }
    print(f"pbr simulate, {Path(args.scenario).name}: {args.runs} runs, {args.workers} workers, seed {args.seed}, best of {args.repeat}")
    print(f"  {figures['simulate_runs_per_s']:.2f} runs/s ({best:.1f} s; all: {', '.join(f'{x:.1f} s' for x in timings)}); loading the scenario {load_s:.2f} s")
    print(f"  CPU time {min(cpu) / args.runs * 1000:.0f} ms a run (all processes; less disturbed by a loaded machine than the wall clock)")
    print(f"  result sha256 {figures['result_sha256']}")
    if parts is not None:
        runs = args.runs * args.repeat
        total = sum(cpu)
        print("  where a run's CPU time goes (all repeats):")
        for name, seconds in parts.items():
            figures[f"part_{name}_ms"] = round(seconds / runs * 1000, 2)
            print(f"    {name:<12} {seconds / runs * 1000:6.1f} ms  {seconds / total * 100:5.1f} %")
        rest = total - sum(v for k, v in parts.items() if k in ("generate", "decide", "case"))
        print(f"    {'(outside)':<12} {rest / runs * 1000:6.1f} ms  {rest / total * 100:5.1f} %")
    if args.json:
        print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
