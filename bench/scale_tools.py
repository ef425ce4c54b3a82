"""Shared by the scale benchmarks: generating cohorts on disk and measuring a command's peak memory.

A command is measured in a fresh process: a small wrapper runs it and reports its wall time
and the peak resident set size of the largest process it started (``RUSAGE_CHILDREN``,
which covers worker processes once they are waited for).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_cohort import iter_participants, write_jsonl  # noqa: E402

_WRAPPER = """
import json, resource, subprocess, sys, time
t = time.perf_counter()
rc = subprocess.run(json.loads(sys.argv[1]), stdout=subprocess.DEVNULL).returncode
wall = time.perf_counter() - t
print(json.dumps({"rc": rc, "wall_s": wall, "peak_rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def env() -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT / "src") + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
    return e


def measure(cmd: list[str]) -> dict:
    """Run ``cmd`` in a fresh process; its wall time and peak RSS (MiB, largest process)."""
    out = subprocess.run([sys.executable, "-c", _WRAPPER, json.dumps(cmd)], capture_output=True, text=True, env=env(), check=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    if res["rc"] != 0:
        raise SystemExit(f"{' '.join(cmd)} failed with exit code {res['rc']}")
    return res


def pbr(*args: str) -> list[str]:
    return [sys.executable, "-m", "pbr_rules.cli", *args]


def generate(path: Path, municipality: str, n: int, seed: int = 7, first: int = 1, mode: str = "w") -> int:
    """Write ``n`` synthetic participants of ``municipality`` to ``path``, one at a time (never all in memory)."""
    return write_jsonl(iter_participants(municipality, n, seed, first=first), path, mode=mode)
