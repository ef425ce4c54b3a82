"""Memory over many evaluations: resident set size every 20,000 decisions, up to 200,000.

Each evaluation opens an engine session and deletes it; if anything leaked per evaluation
the RSS would climb steadily. Prints a table and the growth from 40,000 to the end.

    python bench/bench_memory.py [--n 200000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from pbr_rules.evaluation.evaluator import decide
from pbr_rules.language.loader import load_cohort, load_contract

ROOT = Path(__file__).resolve().parents[1]


def rss_mib() -> float:
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200_000)
    args = ap.parse_args()
    lc = load_contract(ROOT / "contracts/agreements/101-koebenhavn.yaml")
    hs = load_cohort(ROOT / "fixtures/cohorts/koebenhavn-1000.jsonl", frozenset(lc.codes.codes))
    print(f"{'evaluations':>11} {'RSS MiB':>8} {'per s':>7}")
    t = time.perf_counter()
    marks = {}
    for i in range(1, args.n + 1):
        decide(lc, hs[i % len(hs)])
        if i % 20_000 == 0:
            marks[i] = rss_mib()
            print(f"{i:>11,} {marks[i]:>8.1f} {i / (time.perf_counter() - t):>7,.0f}", flush=True)
    keys = sorted(marks)
    if len(keys) >= 3:
        print(f"growth from {keys[1]:,} to {keys[-1]:,}: {marks[keys[-1]] - marks[keys[1]]:+.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
