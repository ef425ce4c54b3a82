"""Compare a benchmark on an earlier revision and on this working tree, back to back.

    python bench/compare.py REV [--bench bench/bench_evaluate.py] [--rounds 3] [-- BENCH ARGS...]

Checks REV out into a temporary git worktree and runs the same benchmark script (this
tree's, so the workload, fixtures and anchors are the same) against REV's code and against
this tree's code, alternating: old, new, old, new, ... Each run is a fresh process; the
script's figures come from the JSON object it prints on its last line with ``--json``. For
each figure the best of the rounds counts (the highest rate, the lowest time), and the
table shows old, new and the speed-up (new over old for rates, old over new for times).

The revision's code runs from its source folder (``PYTHONPATH``) in this project's virtual
environment, so a revision needing other dependencies than the installed ones cannot be
compared this way; it says so instead of printing figures. On a busy machine the
alternation keeps both sides equally disturbed; absolute figures alone prove nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(bench: Path, src: Path, args: list[str]) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src))
    done = subprocess.run([sys.executable, str(bench), *args, "--json"], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise SystemExit(f"{bench.name} failed against {src}:\n  " + "\n  ".join(tail))
    last = done.stdout.strip().splitlines()[-1]
    try:
        return json.loads(last)
    except json.JSONDecodeError:
        raise SystemExit(f"{bench.name} printed no JSON figures on its last line (got {last[:80]!r})") from None


def lower_is_better(key: str) -> bool:
    """Rates (``..._per_s``) are better higher; times, memory, CPU and ratios to an anchor lower."""
    if "per_s" in key:
        return False
    return key.startswith("cpu_") or "_cpu_" in key or key.endswith(("_us", "_ms", "_s", "_mb", "_mib", "_ratio"))


def better(key: str, a: float, b: float) -> float:
    """The better of two figures (see ``lower_is_better``)."""
    return min(a, b) if lower_is_better(key) else max(a, b)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rev", help="the earlier revision (a commit, tag or branch)")
    ap.add_argument("--bench", default="bench/bench_evaluate.py", help="the benchmark script (default: %(default)s)")
    ap.add_argument("--rounds", type=int, default=3)
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []  # after --: the benchmark's own arguments
    args = ap.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    bench = (ROOT / args.bench).resolve()
    rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", args.rev], capture_output=True, text=True)
    if rev.returncode != 0:
        raise SystemExit(f"unknown revision {args.rev!r}: {rev.stderr.strip()}")
    with tempfile.TemporaryDirectory(prefix="pbr-compare-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(tree), args.rev], check=True)
        try:
            old: dict = {}
            new: dict = {}
            for i in range(args.rounds):
                print(f"round {i + 1}/{args.rounds}: {rev.stdout.strip()} ...", file=sys.stderr)
                for side, src in ((old, tree / "src"), (new, ROOT / "src")):
                    for key, value in run(bench, src, extra).items():
                        if isinstance(value, (int, float)) and not isinstance(value, bool):
                            side[key] = value if key not in side else better(key, side[key], value)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
    print(f"{bench.relative_to(ROOT)}: {rev.stdout.strip()} (old) against this tree (new), best of {args.rounds} alternating rounds")
    print(f"{'figure':<34} {'old':>12} {'new':>12} {'speed-up':>9}")
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if a is None or b is None:
            print(f"{key:<34} {'-' if a is None else f'{a:,.2f}':>12} {'-' if b is None else f'{b:,.2f}':>12} {'':>9}")
            continue
        lower = lower_is_better(key)
        up = (a / b if lower else b / a) if (b if lower else a) else float("nan")
        print(f"{key:<34} {a:>12,.2f} {b:>12,.2f} {up:>8.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
