"""National scale: a synthetic cohort across Denmark's 98 municipalities, evaluated and settled.

The seed speaks of 460,000 Danes "on the bench". This generates that many synthetic
participants (``--participants``, default 460,000) spread evenly over the 98 municipalities
(bench/municipalities.txt), each municipality's cohort streamed to its own JSON Lines file
in a temporary folder, and gives every municipality its own agreement (København's terms
with the municipality's code, written beside a copy of contracts/). Then, in a fresh
process for each way of running:

- ``local``: this machine, ``--workers`` processes (a ``ProcessPoolExecutor``);
- ``dask``: a Dask ``LocalCluster`` of ``--workers`` worker processes (``--scheduler local:N``),

it evaluates every municipality's cohort as a stream (``stream_cohort``: raw lines to the
workers, digests back) and settles it (``settle_stream``: compact payments sorted on disk,
cohort size, tiers, caps in order), and prints wall
time, participants per second and the peak resident memory of every process: the main
process and each worker (target: under 2 GB each).

    python bench/bench_national.py [--participants 460000] [--workers 2] [--modes local,dask] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from functools import partial
from pathlib import Path

from scale_tools import ROOT, env, generate

LIMIT_MIB = 2048
AS_OF = date(2023, 6, 30)


def municipalities() -> list[tuple[str, str]]:
    out = []
    for line in (Path(__file__).with_name("municipalities.txt")).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            code, name = line.split(" ", 1)
            out.append((code, name))
    return out


def prepare(folder: Path, participants: int, seed: int) -> dict:
    """The cohort files and the agreements, in ``folder``; how many participants each municipality got."""
    shutil.copytree(ROOT / "contracts", folder / "contracts", ignore=shutil.ignore_patterns("*.scenarios.yaml"))
    base = (ROOT / "contracts/agreements/101-koebenhavn.yaml").read_text(encoding="utf-8")
    munis = municipalities()
    share, extra = divmod(participants, len(munis))
    counts = {}
    for i, (code, name) in enumerate(munis):
        n = share + (1 if i < extra else 0)
        counts[code] = n
        text = base.replace("id: dk-101-koebenhavn", f"id: dk-{code}-national").replace(
            'municipality: {name: København, code: "101"}', f'municipality: {{name: "{name}", code: "{code}"}}'
        )
        (folder / "contracts/agreements" / f"{code}-national.yaml").write_text(text, encoding="utf-8")
        if n:
            generate(folder / "cohorts" / f"{code}.jsonl", code, n, seed=seed)
    return counts


def run_mode(folder: Path, mode: str, workers: int) -> dict:
    """In this (fresh) process: evaluate and settle every municipality; wall times and peak memory."""
    from pbr_rules.evaluation import DaskExecutor, load_checked_contract, stream_cohort
    from pbr_rules.reports import CohortReport, cohort_digest
    from pbr_rules.settlement import settle_stream

    if mode == "dask":
        import distributed

        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        executor = DaskExecutor(distributed.Client(cluster), cluster, workers)
    else:
        from concurrent.futures import ProcessPoolExecutor

        executor = ProcessPoolExecutor(max_workers=workers) if workers > 1 else None
    files = sorted((folder / "cohorts").glob("*.jsonl"))
    totals = {"histories": 0, "eligible": 0, "payments": 0, "evaluated_total": "0", "settled_lines": 0, "settled_total": "0"}
    from decimal import Decimal

    ev_total, st_total = Decimal(0), Decimal(0)
    t0 = time.perf_counter()
    for f in files:
        loaded = load_checked_contract(folder / "contracts/agreements" / f"{f.stem}-national.yaml")
        report = CohortReport("table")
        for d in stream_cohort(loaded, [f], digest=partial(cohort_digest, fmt="table"), executor=executor):
            report.add(d)
        totals["histories"] += report.count
        totals["eligible"] += report.eligible
        totals["payments"] += report.payments
        ev_total += report.total
        report.close()
    t_eval = time.perf_counter() - t0
    t1 = time.perf_counter()
    for f in files:
        loaded = load_checked_contract(folder / "contracts/agreements" / f"{f.stem}-national.yaml")
        s = settle_stream(loaded, [f], AS_OF, executor=executor)
        totals["settled_lines"] += len(s.lines)
        st_total += s.total
        del s
    t_settle = time.perf_counter() - t1
    totals["evaluated_total"], totals["settled_total"] = str(ev_total), str(st_total)
    worker_peaks = []
    if mode == "dask":
        peaks = executor.client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        worker_peaks = [round(v, 1) for _, v in sorted(peaks.items())]
        executor.shutdown()
    elif executor is not None:
        executor.shutdown()
        worker_peaks = [round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)]  # the largest pool process
    return {
        "mode": mode,
        "workers": workers,
        "evaluate_s": round(t_eval, 1),
        "settle_s": round(t_settle, 1),
        "evaluate_per_s": round(totals["histories"] / t_eval),
        "settle_per_s": round(totals["histories"] / t_settle),
        "main_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "worker_peak_rss_mib": worker_peaks,
        **totals,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--participants", type=int, default=460_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--modes", default="local,dask", help="comma-separated: local, dask")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", action="store_true", help="end with one JSON object of the figures")
    ap.add_argument("--run-mode", help=argparse.SUPPRESS)  # internal: one mode in a fresh process
    ap.add_argument("--folder", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.run_mode:
        print(json.dumps(run_mode(Path(a.folder), a.run_mode, a.workers)))
        return 0

    figures: dict = {"participants": a.participants, "municipalities": len(municipalities()), "workers": a.workers, "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="pbr-national-") as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        prepare(folder, a.participants, a.seed)
        size = sum(f.stat().st_size for f in (folder / "cohorts").glob("*.jsonl"))
        figures["generate_s"] = round(time.perf_counter() - t, 1)
        figures["cohort_bytes"] = size
        print(f"generated {a.participants:,} participants over {figures['municipalities']} municipalities "
              f"({size / 2**20:,.0f} MiB of JSON Lines) in {figures['generate_s']} s", flush=True)
        for mode in [m.strip() for m in a.modes.split(",") if m.strip()]:
            out = subprocess.run(
                [sys.executable, __file__, "--run-mode", mode, "--folder", tmp, "--workers", str(a.workers)],
                capture_output=True, text=True, env=env(),
            )
            if out.returncode:
                print(out.stderr[-3000:], file=sys.stderr)
                raise SystemExit(f"the {mode} run failed")
            r = json.loads(out.stdout.strip().splitlines()[-1])
            peaks = [r["main_peak_rss_mib"], *r["worker_peak_rss_mib"]]
            r["under_limit"] = max(peaks) < LIMIT_MIB
            figures[mode] = r
            print(
                f"{mode:>5}: evaluate {r['evaluate_s']:8.1f} s ({r['evaluate_per_s']:,}/s), settle {r['settle_s']:8.1f} s ({r['settle_per_s']:,}/s); "
                f"{r['histories']:,} histories, {r['eligible']:,} eligible, {r['payments']:,} payments, settled DKK {r['settled_total']}; "
                f"peak RSS main {r['main_peak_rss_mib']:.0f} MiB, workers {', '.join(f'{x:.0f}' for x in r['worker_peak_rss_mib']) or '-'} MiB "
                f"(limit {LIMIT_MIB} MiB: {'kept' if r['under_limit'] else 'EXCEEDED'})",
                flush=True,
            )
    modes = [m for m in ("local", "dask") if m in figures]
    if len(modes) == 2:
        same = all(figures["local"][k] == figures["dask"][k] for k in ("histories", "eligible", "payments", "evaluated_total", "settled_lines", "settled_total"))
        figures["dask_equals_local"] = same
        print(f"the Dask run's totals equal the local run's: {same}")
    if a.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
