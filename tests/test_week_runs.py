"""The evidence's week runs ("2021-W03..2021-W15, 2021-W18") against a walk over every week of the window."""

from __future__ import annotations

import random

from pbr_rules.evaluation.measures import _week_runs
from pbr_rules.periods import format_iso_week


def walked(qualifying: set[int], negate: bool, first: int, last: int) -> str:
    """The plain way: every week of the window that counts, then its runs."""
    weeks = [w for w in range(first, last + 1) if (w in qualifying) is not negate]
    runs: list[list[int]] = []
    for w in weeks:
        if runs and runs[-1][1] == w - 1:
            runs[-1][1] = w
        else:
            runs.append([w, w])
    if not runs:
        return "none"
    return ", ".join(format_iso_week(a) if a == z else f"{format_iso_week(a)}..{format_iso_week(z)}" for a, z in runs)


def test_hand_worked_runs():
    w = 105_000  # a week index in 2014
    assert _week_runs({w, w + 1, w + 2, w + 5}, False, w, w + 10) == f"{format_iso_week(w)}..{format_iso_week(w + 2)}, {format_iso_week(w + 5)}"
    # negated: the weeks of the window not in the set
    assert _week_runs({w + 1, w + 2}, True, w, w + 4) == f"{format_iso_week(w)}, {format_iso_week(w + 3)}..{format_iso_week(w + 4)}"
    assert _week_runs(set(), False, w, w + 4) == "none"
    assert _week_runs(set(range(w, w + 5)), True, w, w + 4) == "none"
    assert _week_runs({w - 3, w + 9}, False, w, w + 4) == "none"  # members outside the window do not count


def test_random_sets_agree_with_the_walk():
    rng = random.Random(14)
    for _ in range(3000):
        first = 105_000 + rng.randrange(60)
        last = first + rng.randrange(-1, 80)
        qualifying = {first + rng.randrange(-10, 90) for _ in range(rng.randrange(0, 60))}
        negate = rng.random() < 0.5
        assert _week_runs(qualifying, negate, first, last) == walked(qualifying, negate, first, last), (sorted(qualifying), negate, first, last)
