"""Cohorts as streams (evaluation/cohorts.py, reports/cohort.py, evaluation/executors.py).

The reference is ``evaluate_cohort`` over ``load_cohorts``: the whole cohort in memory,
one history after another. The stream must give exactly its results, in input order,
whatever the chunk size, the number of workers or the executor (a process pool, a Dask
LocalCluster), and the CLI the same bytes.
"""

from __future__ import annotations

import ast
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path

import pytest

from pbr_rules.cli.main import main
from pbr_rules.errors import HistoryInvalid, PbrError
from pbr_rules.evaluation import SchedulerUnavailable, evaluate_cohort, evaluate_stream, executor_for, load_checked_contract, stream_cohort
from pbr_rules.language import load_cohorts
from pbr_rules.reports import CohortReport, cohort_digest, cohort_text, payments_csv, to_json
from pbr_rules.settlement import settle

ROOT = Path(__file__).resolve().parents[1]
KBH = str(ROOT / "contracts/agreements/101-koebenhavn.yaml")
# the bundled København participants and companies (hires verified against the participants)
# and 300 generated participants
PEOPLE = str(ROOT / "fixtures/participants/101")
COMPANIES = str(ROOT / "fixtures/companies/101")
SRC = ROOT / "src" / "pbr_rules"


@pytest.fixture(scope="module")
def loaded():
    return load_checked_contract(KBH)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """300 generated participants as JSON Lines, with the companies given *first* (hires before the hired)."""
    d = tmp_path_factory.mktemp("cohort")
    lines = (ROOT / "fixtures/cohorts/koebenhavn-1000.jsonl").read_text(encoding="utf-8").splitlines()[:300]
    (d / "generated.jsonl").write_text("\n\n".join(lines) + "\n", encoding="utf-8")  # blank lines are skipped
    return [COMPANIES, PEOPLE, str(d / "generated.jsonl")]


@pytest.fixture(scope="module")
def reference(loaded, cohort):
    histories = load_cohorts(cohort, frozenset(loaded.codes.codes))
    return histories, evaluate_cohort(loaded, histories, date(2021, 6, 30))


def dumps(results):
    return [r.model_dump_json() for r in results]


@pytest.mark.parametrize("chunk_size", [1, 7, 250])
def test_the_stream_gives_exactly_the_in_memory_results_in_input_order_for_any_chunk_size(loaded, cohort, reference, chunk_size):
    histories, expected = reference
    got = evaluate_stream(loaded, cohort, date(2021, 6, 30), chunk_size=chunk_size)
    assert dumps(got) == dumps(expected)
    # the companies came first in the input and stay first, each judged against the participants after them
    assert [r.subject.kind for r in got[:3]] == ["company"] * 3
    assert any(p.milestone.startswith("hire") for r in got if r.subject.kind == "company" for p in r.payments)


def test_two_worker_processes_give_the_same_results(loaded, cohort, reference):
    with ProcessPoolExecutor(max_workers=2) as pool:
        got = evaluate_stream(loaded, cohort, date(2021, 6, 30), executor=pool, chunk_size=40)
    assert dumps(got) == dumps(reference[1])


def test_a_dask_local_cluster_gives_the_same_evaluation_and_settlement(loaded, cohort, reference):
    distributed = pytest.importorskip("distributed")
    from pbr_rules.evaluation import DaskExecutor

    histories, expected = reference
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None)
    with DaskExecutor(distributed.Client(cluster), cluster, 2) as ex:
        streamed = evaluate_stream(loaded, cohort, date(2021, 6, 30), executor=ex, chunk_size=60)
        listed = evaluate_cohort(loaded, histories, date(2021, 6, 30), executor=ex)
        settled = settle(loaded, histories, date(2021, 6, 30), executor=ex)
    assert dumps(streamed) == dumps(expected)
    assert dumps(listed) == dumps(expected)
    assert settled.model_dump_json() == settle(loaded, histories, date(2021, 6, 30)).model_dump_json()


def test_a_hire_is_verified_against_the_compact_record_exactly_as_against_the_whole_history(loaded, cohort, reference):
    _, expected = reference
    got = {r.subject.id: r for r in evaluate_stream(loaded, cohort, date(2021, 6, 30), chunk_size=5) if r.subject.kind == "company"}
    for r in expected:
        if r.subject.kind == "company":
            assert got[r.subject.id].model_dump_json() == r.model_dump_json()
            # the why-not of an unverified hire names the same reason
            assert [m.why_not for m in got[r.subject.id].milestones] == [m.why_not for m in r.milestones]


@pytest.mark.parametrize(("fmt", "details"), [("table", False), ("table", True), ("json", False), ("csv", False)])
def test_the_streamed_report_is_byte_for_byte_the_report_of_the_whole_list(loaded, cohort, reference, fmt, details):
    _, results = reference
    report = CohortReport(fmt, details=details)
    for d in stream_cohort(loaded, cohort, date(2021, 6, 30), digest=lambda h, r: cohort_digest(h, r, fmt=fmt, details=details), chunk_size=33):
        report.add(d)
    expected = {"json": lambda: to_json(results), "csv": lambda: payments_csv(results)}.get(fmt, lambda: cohort_text(results, details=details))()
    assert report.text() == expected
    report.close()


def test_an_empty_report_is_what_the_list_gives():
    for fmt, expected in [("json", "[]\n"), ("table", cohort_text([]))]:
        r = CohortReport(fmt)
        assert r.text() == expected
        r.close()


def test_every_invalid_history_of_the_stream_is_reported_at_once_and_nothing_is_handed_back(loaded, tmp_path):
    good = (ROOT / "fixtures/cohorts/koebenhavn-1000.jsonl").read_text(encoding="utf-8").splitlines()[:3]
    broken = json.loads(good[1])
    broken["enrolment"] = "2020-13-45"
    f = tmp_path / "bad.jsonl"
    f.write_text("\n".join([good[0], "{not json", json.dumps(broken), good[2], good[0]]) + "\n", encoding="utf-8")
    with pytest.raises(HistoryInvalid) as exc:
        list(stream_cohort(loaded, [str(f)], chunk_size=2))
    text = str(exc.value)
    assert f"{f}:2:2: not valid JSON" in text
    assert f"{f}:3:" in text and "enrolment" in text
    # the same problems load_cohorts reports, and the duplicate only once the rest is valid
    with pytest.raises(HistoryInvalid) as ref:
        load_cohorts([str(f)], frozenset(loaded.codes.codes))
    assert str(exc.value) == str(ref.value)
    dup = tmp_path / "dup.jsonl"
    dup.write_text("\n".join([good[0], good[1], good[0], good[2], good[1]]) + "\n", encoding="utf-8")
    # in another chunk than its first appearance, in the same chunk, and in a chunk with others
    # that are new (a chunk's participants go in together; each duplicate is named, once)
    second = json.loads(good[1])["participant"]
    for chunk_size in (1, 2, 3, 10):
        with pytest.raises(HistoryInvalid) as exc:
            list(stream_cohort(loaded, [str(dup)], chunk_size=chunk_size))
        assert [d.message for d in exc.value.diagnostics] == [
            "participant 'syn-101-00001' appears twice in the cohort",
            f"participant '{second}' appears twice in the cohort",
        ], chunk_size
        assert exc.value.diagnostics[0].hint == "give each subject once"


def _terms_lines(n: int, missing_referral: tuple[int, ...] = ()) -> list[str]:
    """``n`` participants under tests/contracts/terms.yaml (which prices on the referral date);
    those at the indexes given have no referral date, which the evaluation refuses."""
    import yaml

    data = yaml.safe_load((ROOT / "tests/contracts/terms.scenarios.yaml").read_text(encoding="utf-8"))
    base = json.loads(json.dumps(data["scenarios"][0]["history"], default=str))
    lines = []
    for i in range(n):
        h = dict(base, participant=f"t-998-{i:03d}")
        if i in missing_referral:
            del h["referred"]
        lines.append(json.dumps(h))
    return lines


def _in_memory_error(loaded, paths) -> str:
    with pytest.raises(PbrError) as exc:
        evaluate_cohort(loaded, load_cohorts([str(p) for p in paths], loaded.known))
    return f"{type(exc.value).__name__}: {exc.value}"


def _kbh_lines(n: int) -> list[str]:
    return (ROOT / "fixtures/cohorts/koebenhavn-1000.jsonl").read_text(encoding="utf-8").splitlines()[:n]


def _case_files(case: str, tmp_path: Path, monkeypatch) -> tuple[str, list[Path], str]:
    """(agreement, cohort files, a phrase the in-memory error must hold) for each case."""
    from pbr_rules.evaluation.cohorts import EVALUATE_BATCH

    terms = str(ROOT / "tests/contracts/terms.yaml")
    n = EVALUATE_BATCH + 10
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    if case == "refused, then a line that cannot be read":
        a.write_text("\n".join(_terms_lines(n, missing_referral=(0,)) + ["{not json"]) + "\n", encoding="utf-8")
        return terms, [a], f"a.jsonl:{n + 1}:2: not valid JSON"
    if case == "two refused":
        a.write_text("\n".join(_terms_lines(n, missing_referral=(3, n - 2))) + "\n", encoding="utf-8")
        return terms, [a], "participant t-998-003: the agreement prices"
    if case == "a duplicate, then a line that cannot be read":
        lines = _terms_lines(n)
        a.write_text("\n".join(lines[:5] + [lines[1]] + lines[5:] + ["{not json"]) + "\n", encoding="utf-8")
        return terms, [a], f"a.jsonl:{n + 2}:2: not valid JSON"
    if case == "refused, then a duplicate":
        lines = _terms_lines(n, missing_referral=(2,))
        a.write_text("\n".join(lines + [lines[40]]) + "\n", encoding="utf-8")
        return terms, [a], "participant 't-998-040' appears twice in the cohort"
    if case == "a duplicate in one file, a line that cannot be read in another":
        lines = _kbh_lines(3)
        a.write_text("\n".join([lines[0], lines[0]]) + "\n", encoding="utf-8")
        b.write_text("\n".join([lines[1], "{not json"]) + "\n", encoding="utf-8")
        return KBH, [a, b], "b.jsonl:2:2: not valid JSON"
    if case == "a CSV with a word the agreement does not know, after a refusal":
        a.write_text("\n".join(_terms_lines(3, missing_referral=(0,))) + "\n", encoding="utf-8")
        csv = (ROOT / "fixtures/cohorts/sample.csv").read_text(encoding="utf-8").splitlines()
        at = next(i for i, line in enumerate(csv) if ",benefit," in line and "kontanthjaelp" in line)
        csv[at] = csv[at].replace("kontanthjaelp", "nosuchcode")
        b = tmp_path / "b.csv"
        b.write_text("\n".join(csv) + "\n", encoding="utf-8")
        return terms, [a, b], f"b.csv:{at + 1}:"
    if case == "too many milestone occurrences, then a line that cannot be read":
        import pbr_rules.evaluation.evaluator as evaluator

        monkeypatch.setattr(evaluator, "MAX_FACTS_PER_SESSION", 3)  # every history gives more
        a.write_text("\n".join(_kbh_lines(3) + ["{not json"]) + "\n", encoding="utf-8")
        return KBH, [a], "a.jsonl:4:2: not valid JSON"
    if case == "too many milestone occurrences, then a duplicate":
        import pbr_rules.evaluation.evaluator as evaluator

        monkeypatch.setattr(evaluator, "MAX_FACTS_PER_SESSION", 3)
        lines = _kbh_lines(80)
        a.write_text("\n".join(lines + [lines[60]]) + "\n", encoding="utf-8")
        return KBH, [a], "appears twice in the cohort"
    if case == "too many milestone occurrences":
        import pbr_rules.evaluation.evaluator as evaluator

        monkeypatch.setattr(evaluator, "MAX_FACTS_PER_SESSION", 3)
        a.write_text("\n".join(_kbh_lines(80)) + "\n", encoding="utf-8")
        return KBH, [a], "EvaluationRefused: history syn-101-00001 gives"
    if case == "two YAML companies claiming one hire":
        text = (ROOT / "fixtures/companies/101/c-101-01.yaml").read_text(encoding="utf-8")
        a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
        a.write_text(text, encoding="utf-8")
        other = text.replace("company: c-101-01", "company: c-101-99").replace("{participant: p-101-001, date: 2019-07-01}", "{participant: p-101-001, date: 2019-09-02}")
        b.write_text(other, encoding="utf-8")
        return KBH, [a, b], f"(hires[0] at {a}:28)"  # where the other hire is, found by the company that was read
    raise AssertionError(case)


def _few_facts() -> None:
    """A worker's initializer: the engine's limit as the test set it in this process."""
    import pbr_rules.evaluation.evaluator as evaluator

    evaluator.MAX_FACTS_PER_SESSION = 3


@pytest.mark.parametrize(
    "case",
    [
        "refused, then a line that cannot be read",
        "two refused",
        "a duplicate, then a line that cannot be read",
        "refused, then a duplicate",
        "a duplicate in one file, a line that cannot be read in another",
        "a CSV with a word the agreement does not know, after a refusal",
        "too many milestone occurrences, then a line that cannot be read",
        "too many milestone occurrences, then a duplicate",
        "too many milestone occurrences",
        "two YAML companies claiming one hire",
    ],
)
def test_what_a_refused_cohort_reports_does_not_depend_on_the_chunks(tmp_path, monkeypatch, case):
    """The stream reports what evaluating the whole cohort in memory reports, whatever the chunks
    (a chunk is also evaluated a few dozen histories at a time): histories that cannot be read
    (in any file, JSON Lines or CSV, in the agreement's words); else subjects given twice; else
    the first history the evaluation refused, in input order."""
    contract, files, expect = _case_files(case, tmp_path, monkeypatch)
    loaded = load_checked_contract(contract)
    reference = _in_memory_error(loaded, files)
    assert expect in reference
    for chunk_size in (1, 7, 30, 250):
        with pytest.raises(PbrError) as exc:
            list(stream_cohort(loaded, [str(f) for f in files], chunk_size=chunk_size))
        assert f"{type(exc.value).__name__}: {exc.value}" == reference, chunk_size
    # on two processes (the engine's limit set in them too, where a case lowers it)
    with ProcessPoolExecutor(max_workers=2, initializer=_few_facts if "too many" in case else None) as pool:
        for chunk_size in (1, 20):
            with pytest.raises(PbrError) as exc:
                list(stream_cohort(loaded, [str(f) for f in files], chunk_size=chunk_size, executor=pool))
            assert f"{type(exc.value).__name__}: {exc.value}" == reference, chunk_size


def test_a_refusal_kept_until_the_end_does_not_keep_its_chunk(tmp_path, monkeypatch):
    """An EvaluationRefused is kept until the cohort is read; without its traceback, which holds
    the chunk's lines and histories (in one process, each refused chunk would stay in memory)."""
    import pbr_rules.evaluation.evaluator as evaluator
    from pbr_rules.errors import EvaluationRefused
    from pbr_rules.evaluation.cohorts import _ref, _Task, keep_result, run_task

    monkeypatch.setattr(evaluator, "MAX_FACTS_PER_SESSION", 3)
    loaded = load_checked_contract(KBH)
    task = _Task(_ref(loaded), None, keep_result, loaded.known, "a.jsonl", 0, tuple(enumerate(_kbh_lines(5), start=1)))
    done = run_task(task)
    assert isinstance(done.refused, EvaluationRefused) and done.refused_at == 0
    assert done.refused.__traceback__ is None and done.refused.__context__ is None
    assert [p[1] for p in done.participants] == [json.loads(line)["participant"] for line in _kbh_lines(5)]  # ids, for the duplicate check


def test_people_go_in_without_a_rollback_however_big_the_chunk(tmp_path):
    """The stream's scratch file has no journal, so a ROLLBACK is undefined there: undoing a chunk
    bigger than the page cache once named 16 duplicates for one and could corrupt the file. Each
    duplicate is named once, where it comes, and the file stays whole."""
    from pbr_rules.evaluation.cohorts import _insert_people, _spool

    db = _spool(tmp_path / "spool.sqlite")
    blob = b"r" * 530  # a compact record's size
    db.execute("BEGIN")
    assert _insert_people(db, [(f"old-{i}", 1, "2020-01-01", blob) for i in range(20_000)]) == []
    db.execute("COMMIT")
    rows = [(f"new-{i}", 1, "2020-01-01", blob) for i in range(30_000)]  # about 16 MB: twice the page cache
    rows.insert(15_000, ("old-7", 1, "2020-01-01", blob))  # seen in an earlier chunk
    rows.insert(25_000, ("new-3", 1, "2020-01-01", blob))  # seen earlier in this one
    rows.append(("new-3", 1, "2020-01-01", blob))  # and again, last
    db.execute("BEGIN")
    assert _insert_people(db, rows) == ["old-7", "new-3", "new-3"]
    db.execute("COMMIT")
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert db.execute("SELECT count(*) FROM people").fetchone() == (50_000,)
    db.close()


def test_pbr_evaluate_cohort_writes_the_same_bytes_with_one_or_two_workers_and_logs_every_decision(cohort, tmp_path, monkeypatch):
    import pbr_rules.cli.evaluate as cli_evaluate

    monkeypatch.setattr(cli_evaluate, "SMALL_COHORT", 0)  # two processes even for this small cohort
    monkeypatch.setattr(cli_evaluate, "LOG_BATCH", 100)  # and the decision log in several events
    outs = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}.json"
        db = f"sqlite:///{tmp_path / f'w{workers}.db'}"
        assert main(["evaluate", "--contract", KBH, "--cohort", *cohort, "--format", "json", "--workers", workers, "-o", str(out), "--database", db]) == 0
        outs.append(out.read_bytes())
        from pbr_rules.ledger import Ledger

        ledger = Ledger(db)  # the secret beside the database, as the command used
        assert len(ledger.decisions_of("participant", "syn-101-00001")) == 1
        assert len(ledger.decisions_of("company", "c-101-01")) == 1
    assert outs[0] == outs[1]
    assert len(json.loads(outs[0])) == 300 + len(list(Path(PEOPLE).glob("*.yaml"))) + len(list(Path(COMPANIES).glob("*.yaml")))


def test_a_scheduler_needs_dask_and_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if it were not installed
    with pytest.raises(SchedulerUnavailable, match=r"pip install 'pbr-rules\[scale\]'"):
        with executor_for("local:2", 2):
            pass


def test_the_cli_explains_a_missing_dask_without_a_traceback(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)
    code = main(["evaluate", "--contract", KBH, "--cohort", PEOPLE, "--scheduler", "local:2", "--no-log"])
    assert code == 2
    err = capsys.readouterr().err
    assert "pip install 'pbr-rules[scale]'" in err and "Traceback" not in err


def test_an_unreachable_scheduler_is_a_clear_error(capsys):
    pytest.importorskip("distributed")
    code = main(["evaluate", "--contract", KBH, "--cohort", PEOPLE, "--scheduler", "tcp://127.0.0.1:9", "--no-log"])
    assert code == 2
    err = capsys.readouterr().err
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in err and "dask worker" in err


def test_only_the_executors_module_imports_dask_and_only_inside_a_function():
    users = {}
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = {id(n) for n in tree.body}
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(n.split(".")[0] in {"dask", "distributed"} for n in names):
                users.setdefault(path.relative_to(SRC).as_posix(), []).append("top" if id(node) in top else "lazy")
    assert users == {"evaluation/executors.py": ["lazy"]}


# --- settling a stream -----------------------------------------------------------------------------

SETTLED = [
    ("101-koebenhavn", ["fixtures/participants/101", "fixtures/companies/101", "fixtures/cohorts/koebenhavn-1000.jsonl"], {}, {"cohort_size", "cap:per_participant"}),
    # Odense's tier after 3 job outcomes instead of 30 and DSK's cap at 300,000 instead of 1,200,000,
    # so that within the cohort size of 100 the tiers and the payer cap are at work too
    (
        "461-odense",
        ["fixtures/participants/461", "fixtures/companies/461", "fixtures/cohorts/odense-1000.jsonl"],
        {"after_outcomes: 30": "after_outcomes: 3", '{value: "1200000"': '{value: "300000"'},
        {"cohort_size", "volume_tier", "cap:per_payer"},
    ),
]


def _agreement(tmp_path, name: str, changes: dict[str, str]):
    if not changes:
        return load_checked_contract(str(ROOT / f"contracts/agreements/{name}.yaml"))
    import shutil

    shutil.copytree(ROOT / "contracts", tmp_path / "contracts", ignore=shutil.ignore_patterns("*.scenarios.yaml"))
    f = tmp_path / "contracts/agreements" / f"{name}.yaml"
    text = f.read_text(encoding="utf-8")
    for old, new in changes.items():
        assert old in text
        text = text.replace(old, new)
    f.write_text(text, encoding="utf-8")
    return load_checked_contract(str(f))


@pytest.mark.parametrize(("agreement", "paths", "changes", "terms"), SETTLED)
def test_settling_a_stream_gives_exactly_the_in_memory_settlement_with_its_cohort_terms(tmp_path, agreement, paths, changes, terms):
    from pbr_rules.settlement import settle_stream

    lc = _agreement(tmp_path, agreement, changes)
    files = [str(ROOT / p) for p in paths]
    histories = load_cohorts(files, frozenset(lc.codes.codes))
    earlier = settle(lc, histories, date(2020, 12, 31))
    expected = settle(lc, histories, date(2021, 6, 30), previous=earlier)
    got = settle_stream(lc, files, date(2021, 6, 30), previous=earlier, chunk_size=97)
    assert got.model_dump_json() == expected.model_dump_json()
    kinds = {a.kind for x in got.lines for a in x.adjustments}
    assert terms <= kinds  # the cohort-wide terms really were at work in this comparison
    assert got.changes


def test_settling_a_stream_refuses_a_cohort_missing_a_subject_the_previous_settlement_paid(tmp_path):
    from pbr_rules.errors import InputInvalid as SettlementInvalid  # settlement.SettlementInvalid is one
    from pbr_rules.settlement import settle_stream

    lc = load_checked_contract(KBH)
    files = [str(ROOT / "fixtures/cohorts/koebenhavn-1000.jsonl")]
    previous = settle(lc, load_cohorts(files, frozenset(lc.codes.codes)), date(2021, 6, 30))
    part = tmp_path / "part.jsonl"
    part.write_text("".join((ROOT / files[0]).read_text(encoding="utf-8").splitlines(keepends=True)[1:]), encoding="utf-8")
    paid_first = any(x.subject == "syn-101-00001" for x in previous.lines)
    if not paid_first:
        pytest.skip("the first generated participant is not paid")
    with pytest.raises(SettlementInvalid, match="the previous settlement paid subjects that are not in this cohort: participant syn-101-00001"):
        settle_stream(lc, [str(part)], date(2021, 6, 30), previous=previous)


def test_a_line_that_is_not_utf8_is_reported_at_its_line_as_the_loader_does(loaded, tmp_path):
    good = (ROOT / "fixtures/cohorts/koebenhavn-1000.jsonl").read_bytes().splitlines(keepends=True)[:2]
    f = tmp_path / "latin1.jsonl"
    f.write_bytes(good[0] + good[1].replace(b"kontanthjaelp", "kontanthjælp".encode("latin-1"), 1))
    with pytest.raises(HistoryInvalid) as exc:
        list(stream_cohort(loaded, [str(f)]))
    assert f"{f}:2:" in str(exc.value) and "the file is not UTF-8 text (byte 0xe6 cannot be read)" in str(exc.value)


def test_a_streamed_dry_run_is_the_ledgers_preview_against_its_latest_run_and_rejected_claims(tmp_path):
    from pbr_rules.ledger import Ledger

    lc = load_checked_contract(str(ROOT / "contracts/agreements/461-odense.yaml"))
    files = [str(ROOT / p) for p in ("fixtures/participants/461", "fixtures/companies/461", "fixtures/cohorts/odense-1000.jsonl")]
    histories = load_cohorts(files, frozenset(lc.codes.codes))
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}", secret_file=tmp_path / "key")
    first = ledger.settle(lc, histories, date(2020, 12, 31), "cli:test").settlement
    rejected = next(x.payment_id for x in first.lines if x.amount > 0)
    ledger.act(rejected, "reject", "token:fund", "failed verification: no payslips")
    expected = ledger.preview(lc, histories, date(2021, 6, 30))
    got = ledger.preview_stream(lc, files, date(2021, 6, 30))
    assert got.model_dump_json() == expected.model_dump_json()
    assert got.previous_as_of == date(2020, 12, 31)
    assert rejected not in {ch.payment_id for ch in got.changes}


def test_the_tail_of_a_cohort_goes_to_the_workers_in_smaller_chunks():
    """10,000 histories, two workers, chunks of 250: full chunks while at least 1,000 remain
    (a quarter of what remains), then each a quarter of what remains, never below 25."""
    from pbr_rules.evaluation.cohorts import _chunk_sizes

    size_at = _chunk_sizes(250, 10_000, 2)
    sizes, position = [], 0
    while position < 10_000:
        size = min(size_at(position), 10_000 - position)
        sizes.append(size)
        position += size
    assert sizes[:37] == [250] * 37  # positions 0 .. 9,000: 10,000 - 9,000 = 1,000 remain, 1,000 // 4 = 250
    assert sizes[37:41] == [187, 140, 105, 79]  # 750 // 4, 563 // 4, 423 // 4, 318 // 4
    assert sizes[-4:] == [25, 25, 25, 2] and sum(sizes) == 10_000
    assert _chunk_sizes(250, 10_000, 1)(9_990) == 250  # one worker: nothing to balance
    assert _chunk_sizes(2, 10_000, 2)(9_999) == 2  # a chunk size below the floor is kept
