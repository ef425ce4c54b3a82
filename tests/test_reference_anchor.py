"""The speed anchor of bench/bench_evaluate.py agrees with the engine path on every benchmarked history.

bench/reference.py is a hand-written plain-Python evaluation of the København agreement's
citizen side (docs/engine.md): the engine path's speed is quoted as a multiple of it, which
only means something if both give the same payments.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest

from pbr_rules.evaluation import decide
from pbr_rules.language.loader import load_cohort, load_contract

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from reference import Reference, reference_payments  # noqa: E402


@pytest.fixture(scope="module")
def kbh():
    loaded = load_contract(ROOT / "contracts/agreements/101-koebenhavn.yaml")
    return loaded, load_cohort(ROOT / "fixtures/cohorts/koebenhavn-1000.jsonl", frozenset(loaded.codes.codes))


def test_the_reference_pays_what_the_engine_path_pays_on_every_benchmarked_history(kbh):
    loaded, cohort = kbh
    ref = Reference(loaded)
    paid = 0
    for h in cohort:
        mine = [(p.milestone, p.occurrence, p.trigger_date, p.due_date, int(p.amount * 100)) for p in decide(loaded, h).payments]
        assert reference_payments(ref, h) == mine, h.participant
        paid += len(mine)
    assert paid > 2000  # the cohort exercises the payments, not just refusals


def test_the_reference_pays_a_hand_worked_history(kbh):
    loaded, cohort = kbh
    h = next(h for h in cohort if h.participant == "syn-101-00001")
    # Enrolled Friday 2020-12-11, cash benefit, eligible; a qualification on 2021-09-09 within two
    # years pays 8,000 (Bilag 2, pkt. 4); the attachment fee is withdrawn from 2021-01-01 but
    # this enrolment is in 2020, so 5,000 (Bilag 2, pkt. 1) is paid for the start. Due 15
    # working days later, counted from the next day: 2020-12-11 -> 2021-01-05 (14-18, 21-24,
    # 28-31 Dec, 4-5 Jan; 25 Dec (a Friday) and 1 Jan are public holidays, 24 and 31 Dec are
    # not), and 2021-09-09 -> 2021-09-30.
    assert reference_payments(Reference(loaded), h) == [
        ("citizen_start", 1, date(2020, 12, 11), date(2021, 1, 5), 500000),
        ("qualification", 1, date(2021, 9, 9), date(2021, 9, 30), 800000),
    ]


def test_the_reference_refuses_another_agreements_shape():
    aarhus = load_contract(ROOT / "contracts/agreements/751-aarhus.yaml")
    with pytest.raises(ValueError, match="København agreement"):
        Reference(aarhus)
