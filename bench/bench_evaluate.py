"""Benchmark: the engine path against the independent oracle, on the same parsed cohort.

Prints participants per second for:
- engine decisions (``evaluation.decide``: derive measures, run the compiled rules,
  price the payments) - the path the issue's target is about;
- the full explained result (``evaluation.evaluate``: decisions + evidence + wording);
- the oracle (tests/oracle.py: the plain, naive reference evaluation);
and the ratio engine/oracle. Histories are parsed before timing. It also checks that
engine and oracle agree on every history, so the speed is of correct answers.

    python bench/bench_evaluate.py [--cohort fixtures/cohorts/koebenhavn-1000.jsonl]
                                   [--contract contracts/agreements/101-koebenhavn.yaml] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from oracle import oracle_participant  # noqa: E402
from test_engine_vs_oracle import comparable  # noqa: E402

from pbr_rules.evaluation.evaluator import decide, evaluate  # noqa: E402
from pbr_rules.language.loader import load_cohort, load_contract  # noqa: E402

PAIRS = [
    ("contracts/agreements/101-koebenhavn.yaml", "fixtures/cohorts/koebenhavn-1000.jsonl"),
    ("contracts/agreements/751-aarhus.yaml", "fixtures/cohorts/aarhus-1000.jsonl"),
    ("contracts/agreements/461-odense.yaml", "fixtures/cohorts/odense-1000.jsonl"),
]


def rate(fn, items, repeat: int) -> float:
    """Best-of-``repeat`` participants per second (the least disturbed run)."""
    runs = []
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        for h in items:
            fn(h)
        runs.append(len(items) / (time.perf_counter() - t))
    return max(runs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--contract")
    ap.add_argument("--cohort")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    pairs = [(args.contract, args.cohort)] if args.contract else PAIRS
    print(f"{'contract':<22} {'n':>5} {'weeks/hist':>10} {'engine/s':>9} {'explained/s':>11} {'oracle/s':>9} {'engine:oracle':>13} {'agree':>6}")
    ratios = []
    for contract, cohort in pairs:
        lc = load_contract(ROOT / contract)
        histories = [h for h in load_cohort(ROOT / cohort, frozenset(lc.codes.codes)) if h.kind == "participant"]
        weeks = statistics.mean((h.extracted - h.enrolment).days / 7 + 52 for h in histories)
        agree = sum(comparable(evaluate(lc, h)) == oracle_participant(lc, h) for h in histories)
        engine = rate(lambda h: decide(lc, h), histories, args.repeat)
        explained = rate(lambda h: evaluate(lc, h), histories, args.repeat)
        oracle = rate(lambda h: oracle_participant(lc, h), histories, max(1, args.repeat - 2))
        ratios.append(oracle / engine)
        print(
            f"{lc.contract.id:<22} {len(histories):>5} {weeks:>10.0f} {engine:>9,.0f} {explained:>11,.0f} {oracle:>9,.0f} "
            f"{engine / oracle:>12.1f}x {agree:>5}/{len(histories)}"
        )
    print("engine:oracle > 1 means the engine path is faster than the oracle; one core, best of runs.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
