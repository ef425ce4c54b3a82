"""Peak memory of ``pbr evaluate --cohort`` at 1,000 and at 100,000 histories: flat, not growing.

Generates both cohorts (København's generator, streamed to a temporary folder), then runs
``pbr evaluate --contract 101-koebenhavn --cohort FILE --workers 1`` on each in a fresh
process and reports each run's peak resident set size and their ratio (target: the large
run within 1.5x of the small one). The decision log goes to a temporary ledger database, as
a user's run would; ``--no-log`` leaves it out.

    python bench/bench_cohort_memory.py [--small 1000] [--large 100000] [--workers 1] [--no-log] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from scale_tools import ROOT, generate, measure, pbr

TARGET_RATIO = 1.5


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", type=int, default=1_000)
    ap.add_argument("--large", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--no-log", action="store_true", help="do not keep the decisions in a ledger")
    ap.add_argument("--json", action="store_true", help="end with one JSON object of the figures")
    a = ap.parse_args()
    contract = str(ROOT / "contracts/agreements/101-koebenhavn.yaml")
    figures: dict = {"workers": a.workers, "decision_log": not a.no_log}
    with tempfile.TemporaryDirectory(prefix="pbr-bench-") as tmp:
        for label, n in (("small", a.small), ("large", a.large)):
            f = Path(tmp) / f"cohort-{n}.jsonl"
            generate(f, "101", n)
            log = ["--no-log"] if a.no_log else ["--database", f"sqlite:///{tmp}/ledger-{n}.db"]
            res = measure(pbr("evaluate", "--contract", contract, "--cohort", str(f), "--workers", str(a.workers), *log))
            figures[label] = {"histories": n, "peak_rss_mib": round(res["peak_rss_mib"], 1), "wall_s": round(res["wall_s"], 1), "per_s": round(n / res["wall_s"])}
            print(f"{n:>9,} histories: peak RSS {res['peak_rss_mib']:7.1f} MiB, {res['wall_s']:7.1f} s, {n / res['wall_s']:6,.0f} histories/s", flush=True)
    ratio = figures["large"]["peak_rss_mib"] / figures["small"]["peak_rss_mib"]
    figures["ratio"] = round(ratio, 2)
    figures["target_met"] = ratio <= TARGET_RATIO
    print(f"peak at {a.large:,} / peak at {a.small:,}: {ratio:.2f}x (target <= {TARGET_RATIO}x: {'met' if ratio <= TARGET_RATIO else 'NOT met'})")
    if a.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
