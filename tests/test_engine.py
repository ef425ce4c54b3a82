"""The engine module under the limits measured in ../shared/durable-rules-notes.md.

One ruleset per contract version; the compiler refuses contracts past the engine's limits;
sessions are always deleted (memory stays flat); concurrent callers in one process, a
process pool and many subjects in one session give exactly the results of one-by-one
evaluation; every fact fires exactly one of a rule and its complement.
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
from pbr_rules.evaluation.evaluator import decide, decide_batch, evaluate, evaluate_batch, evaluate_cohort
from pbr_rules.evaluation.registry import load_checked_contract
from pbr_rules.language.loader import load_cohort, load_cohorts, load_contract

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
    # Its exact complement refuses: any one of the conditions failing, the $or last.
    refuse = rules["r:job_13_weeks:0"]["all"][0]["m"]["$and"]
    assert refuse[:3] == [{"t": "o"}, {"ms": "job_13_weeks"}, {"v": 0}]
    assert {"$lt": {"val": 13}} in refuse[3]["$or"] and {"$neq": {"prq": 1}} in refuse[3]["$or"]
    # No catch-all rules: each fact fires its rule or its complement. The sentinel fires last.
    assert not [name for name in rules if name.startswith("x:") and name != "x:end"]
    assert rules["x:end"]["pri"] == engine.SENTINEL_PRIORITY
    # Eligibility: all conditions in one rule, and a failure rule per reported rule.
    assert rules["f:e:age"]["all"][0]["m"]["$and"][1] == {"$or": [{"$lt": {"age": 18}}, {"$gt": {"age": 64}}]}
    groups = rules["f:e:target_group"]["all"][0]["m"]["$and"][1:]
    assert groups[0] == {"$neq": {"grp": "flexjob_visitated"}} and len(groups) == 8
    assert rules["e:all"]["all"][0]["m"]["$and"][-1]["$or"][0] == {"grp": "flexjob_visitated"}


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
    doc["extends"] = os.path.relpath(ROOT / "contracts/templates/vaekstpartnerskaber.yaml", tmp_path)  # relative to the file, below
    doc["milestones"] = {
        f"extra_{i:03d}": {
            "side": "citizen",
            "description": f"Extra milestone {i}",
            "reference": f"§ 9.{i}",
            "measure": {"kind": "outcome_event", "event": f"event_{i}"},
        }
        for i in range(engine.MAX_MILESTONE_VERSIONS - 16)  # + the template's 17 = one too many
    }
    path = tmp_path / "too-many.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    with pytest.raises(ContractInvalid) as exc:
        load_checked_contract(path)
    (diag,) = exc.value.diagnostics
    assert diag.path == "milestones"
    assert engine.MAX_MILESTONE_VERSIONS == 200  # two rules test "ms" per version; 400 rules on one property at most
    assert f"{diag.path}: {diag.message} ({diag.hint})" == (
        "milestones: 201 milestone definitions (with amendments); the engine handles at most 200 (split the agreement or consolidate amendments)"
    )


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


def test_deciding_makes_no_reference_cycles_so_pausing_the_collector_cannot_grow_memory(kbh, cohort):
    # what collector_paused relies on: with the collector off, everything a batch made is freed
    # by reference counting alone (participants, companies with their hires checked, views)
    import gc

    from pbr_rules.evaluation.evaluator import decide_view_batch

    people = load_cohorts([ROOT / "fixtures/participants/101", ROOT / "fixtures/companies/101"], frozenset(kbh.codes.codes))
    assert any(h.kind == "company" for h in people)
    runs = [
        lambda: decide_batch(kbh, cohort),
        lambda: evaluate_batch(kbh, cohort),
        lambda: decide_view_batch(kbh, cohort),
        lambda: evaluate_cohort(kbh, people),
    ]
    for run in runs:
        run()  # the first use of a contract builds its tables once (a few objects, once): not counted
        gc.collect()
        gc.disable()
        try:
            results = run()
            assert results
            del results
            assert gc.collect() == 0
        finally:
            gc.enable()


def test_the_collector_is_off_during_a_batch_and_as_before_after_it(kbh, cohort):
    import gc

    from pbr_rules.errors import HistoryInvalid

    seen = []

    class Watched(list):
        def __iter__(self):
            seen.append(gc.isenabled())
            return super().__iter__()

    assert gc.isenabled()
    assert len(evaluate_batch(kbh, Watched(cohort[:20]))) == 20
    assert seen == [False] and gc.isenabled()
    gc.disable()  # a caller that turned it off keeps it off
    try:
        decide_batch(kbh, cohort[:5])
        assert not gc.isenabled()
    finally:
        gc.enable()

    class Failing(list):
        def __iter__(self):
            raise HistoryInvalid([])

    with pytest.raises(HistoryInvalid):  # a batch that fails turns it back on too
        decide_batch(kbh, Failing(cohort[:5]))
    assert gc.isenabled()


def test_an_unhandled_answer_from_the_engine_is_a_failure_not_a_silent_pass(kbh):
    compiled = engine.compile_contract(kbh)
    with pytest.raises(EngineFailure):
        compiled.run([{"t": "unknown-type"}])
    # A candidate of a milestone the contract does not have matches neither a rule nor a
    # complement: the whole session fails loudly (nothing is decided), it is never skipped.
    with pytest.raises(EngineFailure, match="nothing was decided"):
        compiled.run([{"t": "o", "ms": "nope", "v": 0, "k": 1, "val": 1, "day": 1, "prq": 1}])
    # The engine is still usable afterwards.
    day = date(2020, 1, 5).toordinal()
    assert compiled.run([{"t": "o", "ms": "job_13_weeks", "v": 0, "k": 1, "val": 13, "day": day, "prq": 1}]) == [("m:job_13_weeks:0", 0)]
    assert compiled.run([{"t": "o", "ms": "job_13_weeks", "v": 0, "k": 1, "val": 12, "day": day, "prq": 1}]) == [("r:job_13_weeks:0", 0)]


ALL_CONTRACTS = sorted(p for p in (ROOT / "contracts/agreements").glob("*.yaml") if not p.name.endswith(".scenarios.yaml"))


@pytest.mark.parametrize("path", ALL_CONTRACTS + [ROOT / "tests/contracts/oracle-extra.yaml"], ids=lambda p: p.stem)
def test_every_candidate_fires_exactly_one_of_its_rule_and_its_complement(path):
    """At and around every bound the compiled rules test, a candidate is accepted or refused, never both or neither."""
    loaded = load_contract(path)
    compiled = engine.compile_contract(loaded)
    rules = json.loads(compiled.definition)
    facts, expected = [], []
    for name, rule in rules.items():
        if not name.startswith("m:"):
            continue
        _, mid, v = name.split(":")
        conds = rule["all"][0]["m"]["$and"][3:]
        base = {"t": "o", "ms": mid, "v": int(v), "k": 1, "val": 0, "day": 0, "prq": 1, "hv": 1, "hrs": 0, "rh": 0}
        # the values every condition asks for: the smallest accepted for $gte, the largest for $lte/$lt
        lows = {next(iter(c["$gte"])): next(iter(c["$gte"].values())) for c in conds if "$gte" in c}
        highs = {next(iter(c[op])): next(iter(c[op].values())) - (op == "$lt") for c in conds for op in ("$lte", "$lt") if op in c}
        ok = dict(base, **lows)
        if "day" in highs:
            ok["day"] = max(ok["day"], lows.get("day", 0))
        facts.append(ok)
        expected.append(name)
        for field, low in lows.items():  # one below each lower bound: refused
            facts.append(dict(ok, **{field: low - 1}))
            expected.append("r" + name[1:])
        for field, high in highs.items():  # one above each upper bound: refused
            facts.append(dict(ok, **{field: high + 1}))
            expected.append("r" + name[1:])
        for field, value in [(k, val) for c in conds for k, val in c.items() if not k.startswith("$")]:
            facts.append(dict(ok, **{field: value + 1}))  # each equality flipped: refused
            expected.append("r" + name[1:])
    for name in rules:  # a withdrawn version refuses everything
        if name.startswith("r:") and "m" + name[1:] not in rules:
            _, mid, v = name.split(":")
            facts.append({"t": "o", "ms": mid, "v": int(v), "k": 1, "val": 10**9, "day": 800000, "prq": 1})
            expected.append(name)
    fired = compiled.run(facts)
    assert sorted(n for _, n in fired) == list(range(len(facts))), "every fact fires exactly once"
    assert [rule for rule, _ in sorted(fired, key=lambda t: t[1])] == expected


def test_eligibility_fires_all_or_the_failed_rules_and_nothing_else(kbh):
    compiled = engine.compile_contract(kbh)
    ok = {"t": "p", "mun": "101", "grp": "cash_benefit", "age": 30, "res": 1, "bw": 40, "enr": date(2020, 1, 6).toordinal()}
    assert compiled.run([ok]) == [("e:all", 0)]
    cases = {
        "e:municipality": {"mun": "751"},
        "e:target_group": {"grp": "student"},
        "e:age": {"age": 65},
        "e:residence": {"res": 0},
        "e:baseline": {"bw": 39},
        "e:enrolment_window": {"enr": date(2019, 2, 28).toordinal()},
    }
    for rule, change in cases.items():
        assert compiled.run([dict(ok, **change)]) == [(f"f:{rule}", 0)], rule
    fired = compiled.run([dict(ok, age=17, res=0, enr=date(2023, 1, 2).toordinal())])
    assert sorted(r for r, _ in fired) == ["f:e:age", "f:e:enrolment_window", "f:e:residence", "f:e:term"]


def test_fact_ids_in_a_session_never_hash_alike():
    # The engine compares fact ids by 32-bit FNV-1a and refuses a second fact whose id hashes
    # like an earlier one's; these two do, so the pool skips one of them.
    assert engine._fnv1a("f6059") == engine._fnv1a("f264602")
    hashes = {engine._fnv1a(i) for i in engine._IDS}
    assert len(hashes) == len(engine._IDS) == engine.MAX_FACTS_PER_SESSION
    assert engine._fnv1a("end") not in hashes


@pytest.mark.parametrize("path", ALL_CONTRACTS, ids=lambda p: p.stem)
def test_many_subjects_in_one_session_decide_exactly_as_one_by_one(path):
    loaded = load_contract(path)
    code = path.stem.split("-", 1)[0]
    known = frozenset(loaded.codes.codes)
    people = [h for h in load_cohort(ROOT / "fixtures/cohorts" / f"{path.stem.split('-', 1)[1]}-1000.jsonl", known)]
    people += load_cohorts(sorted((ROOT / "fixtures/participants" / code).glob("*.yaml")), known)
    companies = load_cohorts(sorted((ROOT / "fixtures/companies" / code).glob("*.yaml")), known)
    one = [evaluate(loaded, h) for h in people]
    assert [r.model_dump_json() for r in evaluate_batch(loaded, people)] == [r.model_dump_json() for r in one]
    assert [d.payments for d in decide_batch(loaded, people)] == [decide(loaded, h).payments for h in people]
    eligible = {h.participant: h.enrolment for h, r in zip(people, one) if r.eligibility.eligible}
    by_id = {h.participant: h for h in people}
    batch = evaluate_batch(loaded, companies, None, eligible, by_id)
    assert [r.model_dump_json() for r in batch] == [evaluate(loaded, h, None, eligible, by_id).model_dump_json() for h in companies]
    assert sum(r.eligibility.eligible for r in one) > 100 and any(r.payments for r in batch)
