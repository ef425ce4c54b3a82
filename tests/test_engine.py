"""The engine module under the limits measured in ../shared/durable-rules-notes.md.

One ruleset per contract version; the compiler refuses contracts past the engine's limits;
sessions are always deleted (memory stays flat); concurrent callers in one process and a
process pool give exactly the results of one-by-one evaluation.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from datetime import date
from pathlib import Path

import pytest
import yaml

from pbr_rules.errors import ContractInvalid, EngineFailure
from pbr_rules.evaluation import engine
from pbr_rules.evaluation.evaluator import evaluate, evaluate_cohort
from pbr_rules.evaluation.registry import load_checked_contract
from pbr_rules.language.loader import load_cohort, load_contract

ROOT = Path(__file__).resolve().parents[1]
KBH = ROOT / "contracts/agreements/101-koebenhavn.yaml"
COHORT = ROOT / "fixtures/cohorts/koebenhavn-1000.jsonl"


@pytest.fixture(scope="module")
def kbh():
    return load_contract(KBH)


@pytest.fixture(scope="module")
def cohort(kbh):
    return load_cohort(COHORT, frozenset(kbh.codes.codes))


def _json(results):
    return [r.model_dump(mode="json") for r in results]


def test_one_ruleset_per_contract_version_named_by_content_hash(kbh):
    a = engine.compile_contract(kbh)
    b = engine.compile_contract(load_contract(KBH))
    assert a is b
    assert a.name == f"dk-101-koebenhavn@{kbh.content_hash[:16]}"
    rules = json.loads(a.definition)
    # Thresholds are constants in the rules: the 13-of-16 job outcome tests val >= 13.
    job = rules["m:job_13_weeks:0"]["all"][0]["m"]["$and"]
    assert {"$gte": {"val": 13}} in job
    # Every fact type has a catch-all; the sentinel has the lowest priority of all.
    assert rules["x:end"]["pri"] == engine.SENTINEL_PRIORITY
    assert {rules[f"x:{t}"]["pri"] for t in "pco"} == {engine.CATCH_ALL_PRIORITY}


def test_withdrawn_tariff_and_amended_definition_compile_to_dated_rules():
    aarhus = load_contract(ROOT / "contracts/agreements/751-aarhus.yaml")
    rules = json.loads(engine.compile_contract(aarhus).definition)
    old = rules["m:job_13_weeks:0"]["all"][0]["m"]["$and"]
    new = rules["m:job_13_weeks:1"]["all"][0]["m"]["$and"]
    cut = date(2020, 9, 1).toordinal()
    assert {"$lt": {"day": cut}} in old and {"$gte": {"val": 13}} in old
    assert {"$gte": {"day": cut}} in new and {"$gte": {"val": 10}} in new


def test_a_contract_past_the_engines_rule_limit_is_refused_with_a_clear_error(tmp_path):
    doc = yaml.safe_load(KBH.read_text())
    doc["extends"] = str(ROOT / "contracts/templates/vaekstpartnerskaber.yaml")
    doc["milestones"] = {
        f"extra_{i:03d}": {
            "side": "citizen",
            "description": f"Extra milestone {i}",
            "reference": f"§ 9.{i}",
            "measure": {"kind": "outcome_event", "event": f"event_{i}"},
        }
        for i in range(engine.MAX_MILESTONE_RULES - 13)  # + the template's 14 = one too many
    }
    path = tmp_path / "too-many.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    with pytest.raises(ContractInvalid) as exc:
        load_checked_contract(path)
    (diag,) = exc.value.diagnostics
    assert diag.path == "milestones"
    assert diag.message == f"{engine.MAX_MILESTONE_RULES + 1} milestone definitions (with amendments); the engine handles at most {engine.MAX_MILESTONE_RULES}"


def test_sessions_are_deleted_so_a_second_evaluation_of_the_same_history_is_identical(kbh, cohort):
    h = cohort[0]
    first = evaluate(kbh, h).model_dump(mode="json")
    for _ in range(3):
        assert evaluate(kbh, h).model_dump(mode="json") == first


def test_more_evaluations_than_the_engines_1024_live_session_limit(kbh, cohort):
    # The engine allows 1,024 live sessions per ruleset; deleting each one keeps us far below.
    eligible = 0
    for h in cohort[:1100]:
        eligible += evaluate(kbh, h).eligibility.eligible
    assert eligible > 0


def test_concurrent_threads_give_exactly_the_one_by_one_results(kbh, cohort):
    histories = cohort[:160]
    expected = _json([evaluate(kbh, h) for h in histories])
    got: dict[int, dict] = {}
    errors: list[BaseException] = []

    def work(offset: int):
        try:
            for i in range(offset, len(histories), 8):
                got[i] = evaluate(kbh, histories[i]).model_dump(mode="json")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert [got[i] for i in range(len(histories))] == expected


def test_a_process_pool_gives_exactly_the_one_by_one_results(kbh, cohort):
    histories = cohort[:400]
    one_by_one = _json(evaluate_cohort(kbh, histories, workers=1))
    pooled = _json(evaluate_cohort(kbh, histories, workers=2))
    assert pooled == one_by_one
    assert sum(r["eligibility"]["eligible"] for r in pooled) > 100


def _rss_kib() -> int:
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_memory_stays_flat_over_many_evaluations(kbh, cohort):
    # 6,000 evaluations here; bench/bench_memory.py prints the 200,000 figure.
    from pbr_rules.evaluation.evaluator import decide

    for h in cohort:
        decide(kbh, h)
    base = _rss_kib()
    for _ in range(3):
        for h in cohort:
            decide(kbh, h)
    after_3000 = _rss_kib()
    for _ in range(3):
        for h in cohort:
            decide(kbh, h)
    after_6000 = _rss_kib()
    # A leak of even 100 bytes per evaluation would add ~300 KiB per 3,000 evaluations.
    assert after_6000 - after_3000 < 256, (base, after_3000, after_6000)


def test_an_unhandled_answer_from_the_engine_is_a_failure_not_a_silent_pass(kbh):
    compiled = engine.compile_contract(kbh)
    with pytest.raises(EngineFailure):
        compiled.run([{"t": "unknown-type", "id": "x"}])
    # The engine is still usable afterwards.
    assert compiled.run([{"t": "o", "id": "o0", "ms": "nope", "v": 0, "k": 1, "val": 1, "day": 1, "prq": 1}]) == [("x:o", "o0")]
