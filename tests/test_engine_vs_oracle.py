"""The engine path and the independent oracle must agree, on every history.

The oracle (tests/oracle.py) re-implements docs/semantics.md naively, from the text, and
imports nothing from pbr_rules but the models and the loader. Any disagreement is a bug
in one of them (often in the engine pattern). Thousands of generated histories across
all bundled contracts (and a test-only contract with the measures they lack), plus every
hand-worked case, run through both.
"""

from __future__ import annotations

from copy import deepcopy
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from oracle import oracle_company, oracle_participant
from strategies import company_histories, hired_participants, participant_histories
from test_oracle_handworked import HANDWORKED_CASES

from pbr_rules.evaluation.evaluator import evaluate
from pbr_rules.language.loader import load_contract
from pbr_rules.models.history import CompanyHistory, ParticipantHistory
from pbr_rules.models.results import EvaluationResult

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "contracts/agreements").glob("*.yaml") if not p.name.endswith(".scenarios.yaml"))
CONTRACTS.append("tests/contracts/oracle-extra.yaml")
CONTRACTS.append("tests/contracts/oracle-bands.yaml")
CONTRACTS.append("tests/contracts/oracle-either.yaml")
CONTRACTS.append("tests/contracts/oracle-growth.yaml")
CONTRACTS.append("tests/contracts/oracle-status.yaml")
CONTRACTS.append("tests/contracts/oracle-formula.yaml")  # formula tariffs over measurement points (§ 8)
CONTRACTS.append("tests/contracts/gb-eng-calendar.yaml")  # working days of England, its own vocabulary
WITH_COMPANIES = [p for p in CONTRACTS if p != "tests/contracts/gb-eng-calendar.yaml"]
CONTRACTS.append("tests/contracts/terms.yaml")  # pricing dates (trigger, enrolment, referral) and a maximum total


@lru_cache(maxsize=None)
def loaded(path: str):
    return load_contract(ROOT / path)


def comparable(r: EvaluationResult) -> dict:
    """The engine's result in the oracle's shape."""
    occurrences = sorted(
        ([m.milestone, o.occurrence, o.met_on.isoformat()] for m in r.milestones for o in m.occurrences),
        key=lambda x: (x[2], x[0], x[1]),
    )
    payments = [
        [
            p.payment_id,
            p.milestone,
            p.occurrence,
            p.trigger_date.isoformat(),
            p.due_date.isoformat(),
            f"{p.amount:.2f}",
            f"{p.tariff.value:.2f}",
            p.payee,
            [[x.party, f"{x.amount:.2f}"] for x in p.payers],
        ]
        + ([p.tariff.priced_on.isoformat()] if p.tariff.priced_on else [])
        for p in r.payments
    ]
    return {
        "eligible": r.eligibility.eligible,
        "rules": {x.rule: x.passed for x in r.eligibility.rules},
        "occurrences": occurrences,
        "payments": payments,
    }


def both_participant(lc, h: ParticipantHistory, as_of=None):
    return comparable(evaluate(lc, h, as_of)), oracle_participant(lc, h, as_of)


@pytest.mark.parametrize("case", HANDWORKED_CASES, ids=[c["name"][:70] for c in HANDWORKED_CASES])
def test_engine_agrees_with_every_handworked_case(case):
    lc = loaded(case["contract"])
    if case.get("kind") == "company":
        h = CompanyHistory.model_validate(deepcopy(case["history"]))
        eligible = set(case.get("eligible_participants", []))
        people = {p["participant"]: ParticipantHistory.model_validate(deepcopy(p)) for p in case.get("participants", [])}
        # the eligible set is the case's input, as a cohort passes it (judge_participants=False): the stubs
        # only show jobs; the service's own judging of whole histories is tests/api/test_evaluate.py's
        engine = comparable(evaluate(lc, h, None if case.get("as_of") is None else _d(case["as_of"]), eligible, people, judge_participants=False))
        oracle = oracle_company(lc, h, eligible, case.get("as_of"), people)
    else:
        h = ParticipantHistory.model_validate(deepcopy(case["history"]))
        engine, oracle = both_participant(lc, h, None if case.get("as_of") is None else _d(case["as_of"]))
    assert engine == oracle
    assert engine["occurrences"] == case["expect_occurrences"]


def _d(text):
    from datetime import date

    return date.fromisoformat(text) if isinstance(text, str) else text


@pytest.mark.parametrize("path", CONTRACTS)
def test_engine_agrees_with_the_oracle_on_generated_participants(path):
    lc = loaded(path)

    @settings(max_examples=700, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(h=participant_histories(lc), back=st.integers(min_value=0, max_value=400))
    def check(h, back):
        as_of = max(h.enrolment - timedelta(days=30), h.extracted - timedelta(days=back))
        if back % 3 == 0:
            as_of = None
        note(f"history: {h.model_dump_json()}\nas_of: {as_of}")
        engine, oracle = both_participant(lc, h, as_of)
        assert engine == oracle

    check()


@pytest.mark.parametrize("path", WITH_COMPANIES)
def test_engine_agrees_with_the_oracle_on_generated_companies(path):
    lc = loaded(path)
    ids = ["p1", "p2", "p3", "p4"]

    @settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(h=company_histories(lc, ids), eligible=st.one_of(st.just(set(ids)), st.sets(st.sampled_from(ids))), data=st.data())
    def check(h, eligible, data):
        # The hired participants' histories, with jobs that do or do not verify each hire.
        people = data.draw(hired_participants(h, ids))
        if data.draw(st.booleans()):  # as a cohort passes them: id -> enrolment date
            eligible = {pid: people[pid].enrolment if pid in people else None for pid in eligible}
        note(f"company: {h.model_dump_json()}\nparticipants: {[p.model_dump_json() for p in people.values()]}\neligible: {eligible}")
        engine = comparable(evaluate(lc, h, None, eligible, people, judge_participants=False))  # eligible: the input, as above
        assert engine == oracle_company(lc, h, eligible, None, people)

    check()
