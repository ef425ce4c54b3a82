"""`pbr simulate` gives, byte for byte, the output recorded before it was made faster (issue 14, item 4),
in every format and for any number of workers (tests/expected/simulation/README.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pbr_rules.cli import main as pbr_main

ROOT = Path(__file__).resolve().parents[1]
PROGRAMME = ROOT / "contracts" / "simulation" / "programme.yaml"
EXPECTED = ROOT / "tests" / "expected" / "simulation"


def _simulate(tmp_path: Path, fmt: str, workers: int) -> bytes:
    out = tmp_path / f"out-{workers}.{fmt}"
    args = ["simulate", "--scenario", str(PROGRAMME), "--runs", "40", "--seed", "7", "--workers", str(workers), "--format", fmt, "-o", str(out)]
    assert pbr_main(args) == 0
    return out.read_bytes()


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_pbr_simulate_gives_the_recorded_bytes_in_every_format_with_one_and_two_workers(tmp_path, fmt):
    expected = (EXPECTED / f"programme-seed7-runs40.{fmt}").read_bytes()
    for workers in (1, 2):
        assert _simulate(tmp_path, fmt, workers) == expected, f"--format {fmt} --workers {workers} differs from the recorded output"


def test_one_two_and_three_workers_give_identical_bytes(tmp_path):
    # 40 runs are 8 chunks: three workers share them unevenly, and still the same bytes come out.
    outputs = {w: _simulate(tmp_path, "json", w) for w in (1, 2, 3)}
    assert outputs[1] == outputs[2] == outputs[3]
    assert outputs[3] == (EXPECTED / "programme-seed7-runs40.json").read_bytes()
