"""The Monte Carlo simulation (pbr_rules.finance.simulation): determinism, valid histories, the statistics."""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from pathlib import Path

import pytest

from pbr_rules.cli import main as pbr_main
from pbr_rules.errors import ContractInvalid
from pbr_rules.finance.simulation import generate_cohort, load_scenario, nearest_rank, simulate, summary_of
from pbr_rules.models.history import CompanyHistory, ParticipantHistory
from pbr_rules.reports.text import to_json

ROOT = Path(__file__).resolve().parents[1]
PROGRAMME = ROOT / "contracts" / "simulation" / "programme.yaml"
AGREEMENTS = ROOT / "contracts" / "agreements"


def _tiny(tmp_path: Path, participants: int = 10, companies: int = 2, edit=None) -> Path:
    """The bundled scenario with small cohorts, written beside the test (agreement paths made absolute)."""
    text = PROGRAMME.read_text(encoding="utf-8")
    text = text.replace("../agreements/", f"{AGREEMENTS.as_posix()}/")
    text = text.replace("participants: {value: 100,", f"participants: {{value: {participants},")
    text = text.replace("companies: {value: 2,", f"companies: {{value: {companies},")
    if edit:
        text = edit(text)
    path = tmp_path / "tiny.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return load_scenario(_tiny(tmp_path_factory.mktemp("sim")))


def test_the_bundled_scenario_loads_with_three_municipalities_of_100_participants_and_2_companies():
    s = load_scenario(PROGRAMME)
    assert [p.code for p in s.plans] == ["101", "461", "751"]
    assert all(p.scenario.participants.value == 100 and p.scenario.companies.value == 2 for p in s.plans)
    assert PROGRAMME.read_text(encoding="utf-8").splitlines()[0] == "# yaml-language-server: $schema=../schema/simulation.schema.json"


def test_the_same_seed_gives_the_same_json_and_another_seed_different_numbers(tiny):
    a = to_json(simulate(tiny, runs=3, seed=7, workers=1))
    b = to_json(simulate(tiny, runs=3, seed=7, workers=1))
    c = to_json(simulate(tiny, runs=3, seed=8, workers=1))
    assert a == b
    assert json.loads(a)["municipalities"][0]["runs"] != json.loads(c)["municipalities"][0]["runs"]


def test_one_worker_and_two_workers_give_identical_results(tiny):
    # 12 runs = 3 chunks of 5, 5 and 2 runs, so the two workers really share the work.
    assert to_json(simulate(tiny, runs=12, seed=3, workers=1)) == to_json(simulate(tiny, runs=12, seed=3, workers=2))


def test_generated_histories_pass_full_validation():
    s = load_scenario(PROGRAMME)
    for plan in s.plans:
        codes = frozenset(plan.loaded.codes.codes)
        for run in range(3):
            data = generate_cohort(plan, s.as_of, seed=11, run=run)
            assert sum(d["kind"] == "participant" for d in data) == 100 and sum(d["kind"] == "company" for d in data) == 2
            for d in data:
                # through JSON, as a history file would come in
                d = json.loads(json.dumps(d))
                if d["kind"] == "participant":
                    h = ParticipantHistory.model_validate(d)
                    assert h.problems(codes) == [], (d["participant"], h.problems(codes))
                else:
                    h = CompanyHistory.model_validate(d)
                    assert h.problems() == [], (d["company"], h.problems())


def test_a_run_depends_only_on_seed_run_and_municipality(tiny):
    plan = tiny.plans[0]
    assert generate_cohort(plan, tiny.as_of, 5, 2) == generate_cohort(plan, tiny.as_of, 5, 2)
    assert generate_cohort(plan, tiny.as_of, 5, 2) != generate_cohort(plan, tiny.as_of, 5, 3)


def test_nearest_rank_percentiles_of_a_known_list():
    values = [Decimal(v) for v in (5, 1, 4, 2, 3)]
    # rank = ceil(k/100 × 5): P5 -> 1st, P25 -> 2nd, P50 -> 3rd, P75 -> 4th, P95 -> 5th
    assert [nearest_rank(values, k) for k in (5, 25, 50, 75, 95)] == [1, 2, 3, 4, 5]
    assert nearest_rank(values, 0) == 1 and nearest_rank(values, 100) == 5
    s = summary_of(values)
    assert (s.mean, s.p50) == (Decimal("3.00"), 3)


def test_the_summary_is_what_the_per_run_values_give(tiny):
    result = simulate(tiny, runs=3, seed=1, workers=1)
    assert result.runs == 3

    def by_hand(values, k):
        ordered = sorted(values)
        return ordered[max(1, math.ceil(k * len(ordered) / 100)) - 1]

    for case in result.municipalities + [result.programme]:
        assert [r.run for r in case.runs] == [0, 1, 2]
        for field in ("net_result", "npv", "savings", "course_costs", "municipal_course_costs", "municipal_outcome_payments"):
            values = [getattr(r, field) for r in case.runs]
            s = getattr(case, field)
            assert s.mean == (sum(values) / 3).quantize(Decimal("0.01"))
            assert [s.p5, s.p25, s.p50, s.p75, s.p95] == [by_hand(values, k) for k in (5, 25, 50, 75, 95)]
        finances = sum(r.savings >= r.course_costs and r.course_costs > 0 for r in case.runs)
        assert case.probability_savings_finance_courses == str((Decimal(finances) / 3).quantize(Decimal("0.0001")))
        assert case.probability_positive_net == str((Decimal(sum(r.net_result > 0 for r in case.runs)) / 3).quantize(Decimal("0.0001")))
        # the municipality's net: its savings less its outcome payments and the course costs it pays itself
        assert all(r.net_result == r.savings - r.municipal_outcome_payments - r.municipal_course_costs for r in case.runs)
    # the programme is the municipalities summed run by run
    for r in range(3):
        assert result.programme.runs[r].net_result == sum(c.runs[r].net_result for c in result.municipalities)
        assert result.programme.runs[r].savings == sum(c.runs[r].savings for c in result.municipalities)


def test_a_figure_without_reference_or_assumption_is_refused_with_its_line(tmp_path):
    path = _tiny(tmp_path, edit=lambda t: t.replace("ordinary_job: {value: 0.35, assumption: true}", "ordinary_job: {value: 0.35}"))
    with pytest.raises(ContractInvalid) as exc:
        load_scenario(path)
    text = str(exc.value)
    assert "tiny.yaml:" in text and "target_groups.cash_benefit.ordinary_job" in text
    assert "needs a 'reference'" in text and "assumption: true" in text


def test_an_unknown_benefit_code_and_a_missing_agreement_are_reported_together(tmp_path):
    def edit(t):
        t = t.replace("benefit: {value: kontanthjaelp, reference: \"benefit-codes.yaml: kontanthjaelp (Lov", "benefit: {value: kontanthjalp, reference: \"(Lov")
        return t.replace(f"{AGREEMENTS.as_posix()}/461-odense.yaml", "nowhere/461.yaml")

    with pytest.raises(ContractInvalid) as exc:
        load_scenario(_tiny(tmp_path, edit=edit))
    text = str(exc.value)
    assert "unknown benefit code 'kontanthjalp'" in text and "agreement not found: nowhere/461.yaml" in text


def test_pbr_simulate_json_is_the_same_bytes_for_the_same_seed(tmp_path, capsys):
    path = _tiny(tmp_path, participants=5)
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert pbr_main(["simulate", "--scenario", str(path), "--seed", "4", "--runs", "2", "--workers", "1", "--format", "json", "-o", str(a)]) == 0
    assert pbr_main(["simulate", "--scenario", str(path), "--seed", "4", "--runs", "2", "--workers", "1", "--format", "json", "-o", str(b)]) == 0
    assert a.read_bytes() == b.read_bytes()
    assert pbr_main(["simulate", "--scenario", str(path), "--seed", "4", "--runs", "2", "--workers", "1"]) == 0
    table = capsys.readouterr().out
    assert "P(savings cover the course costs) = " in table and "København" in table and "P50" in table
    # shares of runs as percentages, not raw decimals (issue 13): 2 runs give 0 %, 50 % or 100 %
    assert re.search(r"P\(net result > 0\) = (0\.0|50\.0|100\.0) %", table)
    assert pbr_main(["simulate", "--scenario", str(path), "--seed", "4", "--runs", "2", "--workers", "1", "--format", "csv"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0].startswith("run,municipality,code,net_result") and len(rows) == 1 + 2 * 4


def test_a_dask_cluster_gives_the_same_simulation_as_one_process(tiny):
    # Partitioned by run into the same chunks, each drawn from its own seeded streams: the
    # same bytes on a Dask LocalCluster (pbr simulate --scheduler) as in this process alone.
    distributed = pytest.importorskip("distributed")
    from pbr_rules.evaluation import DaskExecutor
    from pbr_rules.finance.simulation import CHUNK_RUNS
    from pbr_rules.reports import to_json

    runs = CHUNK_RUNS + 2  # two chunks
    alone = simulate(tiny, runs=runs, seed=11, workers=1)
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None)
    with DaskExecutor(distributed.Client(cluster), cluster, 2) as ex:
        spread = simulate(tiny, runs=runs, seed=11, workers=2, executor=ex)
    assert to_json(spread) == to_json(alone)
    assert json.loads(to_json(alone))["runs"] == runs
