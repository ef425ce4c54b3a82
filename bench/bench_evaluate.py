"""Benchmark: the engine path against a plain-Python anchor, and against the independent oracle.

Part 1, the speed anchor (docs/engine.md, "Measured figures"): on the København agreement's
seeded cohort of 1,000 histories, the time per history of
- the plain-Python reference (bench/reference.py: hand-written for this one agreement, no
  engine, no explanations) - the anchor;
- ``decide_batch`` (the engine path: derive the measures, many subjects' facts in one
  durable-rules session, price the payments) and ``decide`` one history at a time;
- ``evaluate_batch`` (the full explained result: decisions plus evidence and wording) and
  ``evaluate`` one history at a time;
as ratios to the anchor, with the targets (engine path at most 5x, explained result at most
8x). Times are the process's CPU time (one thread: time.process_time), so waiting for a core
on a busy machine is not counted; each round times every variant once, in turn, and the best
round of each counts, so a disturbance hits all variants alike. Before timing, the reference and
``decide`` must agree on every history (milestone, occurrence, trigger date, due date, amount).

Part 2: the engine against the oracle (tests/oracle.py, the naive reading of
docs/semantics.md) on each bundled agreement's cohort: agreement on every history, and speed.

    python bench/bench_evaluate.py [--rounds 7] [--skip-oracle] [--json]
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from reference import Reference, reference_payments  # noqa: E402

from pbr_rules.evaluation.evaluator import decide, evaluate  # noqa: E402
from pbr_rules.language.loader import load_cohort, load_contract  # noqa: E402

try:  # the batch functions arrived with the batched engine path; older revisions (bench/compare.py) lack them
    from pbr_rules.evaluation.evaluator import decide_batch, evaluate_batch  # noqa: E402
except ImportError:  # pragma: no cover - only when benchmarking an older revision
    decide_batch = evaluate_batch = None

ANCHOR = ("contracts/agreements/101-koebenhavn.yaml", "fixtures/cohorts/koebenhavn-1000.jsonl")
PAIRS = [
    ANCHOR,
    ("contracts/agreements/751-aarhus.yaml", "fixtures/cohorts/aarhus-1000.jsonl"),
    ("contracts/agreements/461-odense.yaml", "fixtures/cohorts/odense-1000.jsonl"),
]
TARGETS = {"decide_batch": 5.0, "evaluate_batch": 8.0}


def participants(contract: str, cohort: str):
    lc = load_contract(ROOT / contract)
    return lc, [h for h in load_cohort(ROOT / cohort, frozenset(lc.codes.codes)) if h.kind == "participant"]


def disagreements(lc, histories, ref) -> list[str]:
    out = []
    for h in histories:
        mine = [(p.milestone, p.occurrence, p.trigger_date, p.due_date, int(p.amount * 100)) for p in decide(lc, h).payments]
        if mine != reference_payments(ref, h):
            out.append(h.participant)
    return out


def anchor(rounds: int) -> dict:
    lc, hs = participants(*ANCHOR)
    ref = Reference(lc)
    bad = disagreements(lc, hs, ref)
    if bad:
        raise SystemExit(f"the reference and decide disagree on {len(bad)} histories, e.g. {bad[:5]}: no speed is worth printing")
    variants = {
        "reference": lambda: [reference_payments(ref, h) for h in hs],
        "decide": lambda: [decide(lc, h) for h in hs],
        "evaluate": lambda: [evaluate(lc, h) for h in hs],
    }
    if decide_batch is not None:
        variants["decide_batch"] = lambda: decide_batch(lc, hs)
        variants["evaluate_batch"] = lambda: evaluate_batch(lc, hs)
    for fn in variants.values():  # warm: compile the ruleset, fill the per-contract tables
        fn()
    best = dict.fromkeys(variants, float("inf"))
    for _ in range(rounds):
        for name, fn in variants.items():
            gc.collect()
            t = time.process_time()
            fn()
            best[name] = min(best[name], (time.process_time() - t) / len(hs) * 1e6)
    figures = {"histories": len(hs), "agree": len(hs)}
    print(f"Anchor: {lc.contract.id}, {len(hs)} histories, reference and decide agree on all; CPU time, best of {rounds} interleaved rounds")
    print(f"{'path':<16} {'µs/history':>11} {'histories/s':>12} {'× reference':>12} {'target':>8}")
    for name, us in best.items():
        ratio = us / best["reference"]
        target = TARGETS.get(name)
        mark = "" if target is None else (f"≤ {target:g}x " + ("met" if ratio <= target else "NOT met"))
        print(f"{name:<16} {us:>11.1f} {1e6 / us:>12,.0f} {ratio:>11.2f}x {mark}")
        figures[f"{name}_us"] = round(us, 2)
        figures[f"{name}_ratio"] = round(ratio, 3)
    return figures


def oracle_part() -> dict:
    from oracle import oracle_participant
    from test_engine_vs_oracle import comparable

    figures = {}
    print(f"\n{'contract':<22} {'n':>5} {'engine/s':>9} {'oracle/s':>9} {'agree':>9}")
    for contract, cohort in PAIRS:
        lc, hs = participants(contract, cohort)
        t = time.perf_counter()
        results = [evaluate(lc, h) for h in hs]
        engine = len(hs) / (time.perf_counter() - t)
        t = time.perf_counter()
        expected = [oracle_participant(lc, h) for h in hs]
        oracle = len(hs) / (time.perf_counter() - t)
        agree = sum(comparable(r) == e for r, e in zip(results, expected))
        print(f"{lc.contract.id:<22} {len(hs):>5} {engine:>9,.0f} {oracle:>9,.0f} {agree:>5}/{len(hs)}")
        figures[f"oracle_agree_{lc.contract.id}"] = f"{agree}/{len(hs)}"
        if agree != len(hs):
            raise SystemExit(f"{lc.contract.id}: the engine and the oracle disagree on {len(hs) - agree} histories")
    return figures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--skip-oracle", action="store_true", help="only the speed anchor (part 1)")
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON object on the last line")
    args = ap.parse_args()
    figures = anchor(args.rounds)
    if not args.skip_oracle:
        figures.update(oracle_part())
    if args.json:
        print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
