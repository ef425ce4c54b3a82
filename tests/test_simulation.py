"""The Monte Carlo simulation (pbr_rules.finance.simulation): determinism, valid histories, the statistics."""

from __future__ import annotations

import json
import math
import pickle
import re
from concurrent.futures import Executor, Future
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from pbr_rules.cli import main as pbr_main
from pbr_rules.errors import ContractInvalid
from pbr_rules.evaluation import decide_view, evaluate_cohort
from pbr_rules.finance.cases import case_figures, municipality_case
from pbr_rules.evaluation.savings import cohort_savings, savings_by_month
from pbr_rules.finance.simulation import (
    _for_simulation,
    cohort_histories,
    generate_cohort,
    load_scenario,
    nearest_rank,
    simulate,
    simulate_chunk,
    summary_of,
    to_histories,
)
from pbr_rules.settlement import admitted_subjects, settle_results, settled_payers
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


def test_the_simulation_builds_exactly_the_histories_full_validation_gives():
    # The simulation builds its history models without validating them again (cohort_histories):
    # they must be the models validation makes from the same data, value for value and type for type.
    s = load_scenario(PROGRAMME)
    for plan in s.plans:
        for run in range(2):
            validated = to_histories(json.loads(json.dumps(generate_cohort(plan, s.as_of, seed=11, run=run))))
            built = cohort_histories(plan, s.as_of, seed=11, run=run)
            assert built == validated
            assert [repr(b) for b in built] == [repr(v) for v in validated]  # Decimal hours, enums, dates: the same types
            assert [b.model_fields_set for b in built] == [v.model_fields_set for v in validated]
            assert [b.model_dump(mode="json") for b in built] == [v.model_dump(mode="json") for v in validated]


def test_shared_history_parts_are_the_same_whether_remembered_or_made_afresh(tiny, monkeypatch):
    # Generated histories share frozen parts (a course month's attendance, a run of benefit weeks)
    # from a bounded table: a part taken from it, one made after the table was cleared, and the
    # validated model are all the same value.
    from pbr_rules.finance import simulation as sim

    plan = tiny.plans[0]
    remembered = cohort_histories(plan, tiny.as_of, 5, 1)
    again = cohort_histories(plan, tiny.as_of, 5, 1)
    course = [e for h in again if h.kind == "participant" for e in h.course if e.kind == "attendance"]
    assert course and any(e is f for e in course for h in remembered if h.kind == "participant" for f in h.course)  # shared, not copied
    monkeypatch.setattr(sim, "_PARTS_MAX", 3)  # cleared again and again while the cohort is drawn
    sim._PARTS.clear()
    afresh = cohort_histories(plan, tiny.as_of, 5, 1)
    assert len(sim._PARTS) <= 3
    assert afresh == remembered == to_histories(json.loads(json.dumps(generate_cohort(plan, tiny.as_of, 5, 1))))
    assert [h.model_dump(mode="json") for h in afresh] == [h.model_dump(mode="json") for h in remembered]


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


class _SubmitOnly(Executor):
    """An executor with nothing but ``submit``, running each task at once and noting what it was sent."""

    def __init__(self):
        self.calls = []

    def submit(self, fn, /, *args, **kwargs):
        self.calls.append((fn, args))
        future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(exc)
        return future

    def map(self, *args, **kwargs):
        raise AssertionError("the simulation submits its chunks; it never calls map")


def test_an_executor_passed_in_gets_module_level_chunks_with_small_arguments_and_the_result_is_the_same(tiny):
    executor = _SubmitOnly()
    assert to_json(simulate(tiny, runs=12, seed=3, executor=executor)) == to_json(simulate(tiny, runs=12, seed=3, workers=1))
    # 12 runs = chunks of 5, 5 and 2: (scenario path, its content hash, seed, first run, stop)
    assert [args[2:] for _, args in executor.calls] == [(3, 0, 5), (3, 5, 10), (3, 10, 12)]
    for fn, args in executor.calls:
        assert fn is simulate_chunk and args[1] == tiny.content_hash
        assert pickle.loads(pickle.dumps(fn)) is simulate_chunk and len(pickle.dumps(args)) < 1000  # no cohort travels


def test_a_chunk_refuses_a_scenario_that_changed_since_the_simulation_started(tiny):
    with pytest.raises(RuntimeError, match="changed while the simulation ran"):
        simulate_chunk(tiny.path, "0" * 64, 1, 0, 1)


def test_a_simulation_run_takes_exactly_the_figures_of_the_full_business_case(tiny):
    # The run's lighter path (decide_view, settled_payers, savings_by_month, case_figures) against
    # the explained one (evaluate_cohort, settle_results, cohort_savings, municipality_case).
    for plan in tiny.plans:
        loaded = _for_simulation(plan.loaded)
        for run in range(3):
            histories = cohort_histories(plan, tiny.as_of, 21, run)
            participants = [h for h in histories if h.kind == "participant"]
            explained = evaluate_cohort(loaded, histories, tiny.as_of)
            eligible = {h.participant: h.enrolment for h, r in zip(histories, explained) if h.kind == "participant" and r.eligibility.eligible}
            by_id = {h.participant: h for h in participants}
            views = [decide_view(loaded, h, tiny.as_of) if h.kind == "participant" else decide_view(loaded, h, tiny.as_of, eligible, by_id) for h in histories]
            admitted = admitted_subjects(loaded, histories, explained)

            lines = settle_results(loaded, histories, explained, tiny.as_of, with_changes=False).lines
            assert settled_payers(loaded, views, admitted) == [(x.due_date, tuple((pa.party, pa.amount) for pa in x.payers)) for x in lines]
            full = cohort_savings(loaded, participants, tiny.as_of, eligible=admitted["participant"])
            assert savings_by_month(loaded, participants, tiny.as_of, eligible=admitted["participant"]) == full.by_month

            case, _ = municipality_case(loaded, histories, tiny.as_of, tiny.discount_rate)
            figures = case_figures(loaded, histories, views, tiny.as_of, tiny.discount_rate)
            assert (figures.net_result, figures.npv, figures.savings, figures.course_costs_total, figures.municipal_course_costs, figures.municipal_outcome_payments) == (
                case.net_result, case.npv, case.savings, case.course_costs_total, case.municipal_course_costs, case.municipal_outcome_payments
            )


def test_simulated_companies_report_yearly_figures_and_meet_growth_milestones(tmp_path):
    # docs/business-case.md, "Company figures": each company's revenue grows by one drawn rate a
    # year from the year before its start, its full-time employees by one drawn number a year,
    # and its target-group employees are its hires in work on 31 December: worked out here from
    # the figures and hires themselves.
    s = load_scenario(PROGRAMME)
    met = set()
    for plan in s.plans:
        for run in range(5):
            cohort = cohort_histories(plan, s.as_of, seed=5, run=run)
            people = {h.participant: h for h in cohort if isinstance(h, ParticipantHistory)}
            for c in (h for h in cohort if isinstance(h, CompanyHistory)):
                years = [int(f.period) for f in c.figures]
                assert years[0] == c.start.year - 1 and years == list(range(years[0], years[0] + len(years)))
                assert date(years[-1], 12, 31) <= s.as_of < date(years[-1] + 2, 1, 1)
                r = [f.revenue for f in c.figures]
                if r[0] > 0 and len(r) > 2:  # one growth rate: the same ratio year on year, to whole kroner
                    ratio = r[1] / r[0]
                    assert all(abs(r[i + 1] - (r[0] * ratio ** (i + 1)).quantize(Decimal(1))) <= 1 + r[0] * Decimal("0.0001") * (i + 1) for i in range(len(r) - 1))
                fte = [f.employees_fte for f in c.figures]
                assert all(abs((fte[i + 1] - fte[i]) - (fte[1] - fte[0])) <= Decimal("0.011") for i in range(len(fte) - 1) if fte[i + 1] > 0)
                for f in c.figures:
                    end = date(int(f.period), 12, 31)
                    assert f.target_group_employees == sum(1 for h in c.hires if h.date <= end and (h.end is None or h.end >= end))
                result = decide_view(plan.loaded, c, s.as_of, set(people), people)
                met |= {p.milestone for p in result.payments}
    assert {"revenue_growth", "employee_growth", "target_group_held"} <= met


def test_a_scenario_without_company_figures_draws_the_same_participants(tmp_path):
    # The figures are drawn after every participant: leaving them out changes no participant.
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    cut = lambda t: t.split("  figures:\n")[0] + "\nmunicipalities:" + t.split("\nmunicipalities:", 1)[1]  # noqa: E731
    without = load_scenario(_tiny(tmp_path / "a", participants=30, edit=cut))
    with_ = load_scenario(_tiny(tmp_path / "b", participants=30))
    for a, b in zip(without.plans, with_.plans):
        x, y = cohort_histories(a, without.as_of, seed=2, run=0), cohort_histories(b, with_.as_of, seed=2, run=0)
        assert [h for h in x if isinstance(h, ParticipantHistory)] == [h for h in y if isinstance(h, ParticipantHistory)]
        assert all(not h.figures for h in x if isinstance(h, CompanyHistory))
        assert all(h.figures for h in y if isinstance(h, CompanyHistory))
