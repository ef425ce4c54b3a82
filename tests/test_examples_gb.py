"""The bundled English examples (contracts/examples/, issue 11; the Finnish one has
test_examples_fi.py): two illustrative agreements in GBP on the England and Wales calendar,
their worked scenarios and their cohorts.

Each example validates with no warning; its scenarios pass; its synthetic cohort
(fixtures/cohorts/*-300.jsonl, bench/generate_gb_cohort.py) loads and evaluates, the eligible
participants being exactly those the contract's rules give when applied directly to the JSON,
four chosen histories paying what was worked out by hand (in the comments), and the caps, the
maximum total and the exclusive pairs holding for every participant; amounts print in pounds.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from pbr_rules.catalogue import validate_paths
from pbr_rules.cli import main
from pbr_rules.evaluation import evaluate_cohort, load_scenarios, run_scenario
from pbr_rules.language import load_cohort, load_contract

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "contracts" / "examples"
PROGRAMME = EXAMPLES / "e08000025-employment-programme.yaml"
RATE_CARD = EXAMPLES / "e08000035-youth-rate-card.yaml"
COHORTS = {
    PROGRAMME.name: ROOT / "fixtures" / "cohorts" / "employment-programme-300.jsonl",
    RATE_CARD.name: ROOT / "fixtures" / "cohorts" / "youth-rate-card-300.jsonl",
}


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def evaluated() -> dict[str, tuple]:
    """Each example's contract, raw cohort lines and results, evaluated once."""
    out = {}
    for contract in (PROGRAMME, RATE_CARD):
        loaded = load_contract(contract)
        path = COHORTS[contract.name]
        raw = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        results = evaluate_cohort(loaded, load_cohort(path, loaded.known), workers=1)
        out[contract.name] = (loaded, raw, {r.subject.id: r for r in results})
    return out


def paid(result) -> list[tuple[str, str, str]]:
    return [(p.milestone, str(p.trigger_date), str(p.amount)) for p in result.payments]


# --- validation and scenarios -------------------------------------------------------------------


def test_the_examples_validate_with_no_warning_and_are_english_agreements_in_pounds(capsys):
    reports = {Path(r.path).name: r for r in validate_paths([EXAMPLES]) if Path(r.path).name.startswith("e0800")}
    assert set(reports) == {
        PROGRAMME.name, RATE_CARD.name, "e08000025-employment-programme.scenarios.yaml", "e08000035-youth-rate-card.scenarios.yaml",
    }
    for r in reports.values():
        assert (r.diagnostics, r.warnings) == ([], []), r.path
    for name, n_lines in ((PROGRAMME.name, 3), (RATE_CARD.name, 22)):
        c = reports[name].contract.contract
        assert (c.currency, c.jurisdiction.code, c.illustrative) == ("GBP", "GB-ENG", True)
        assert len(c.milestones) == len(c.tariffs) == n_lines
        assert "ILLUSTRATIVE EXAMPLE" in c.documentation
    assert run(capsys, "validate", "--strict", "-q", str(EXAMPLES)) == (0, "", "")


def test_the_rate_card_uses_status_spells_hours_bands_either_or_and_exclusive_pairs():
    c = load_contract(RATE_CARD).contract
    kinds = Counter(m.measure.kind for m in c.milestones.values())
    assert kinds["status_weeks"] == 3 and kinds["status_months"] == kinds["status_at"] == 1
    assert kinds["job_start"] == 2 and kinds["employment_weeks"] == 4 and kinds["cumulative_earnings"] == 2
    assert kinds["any_of"] == kinds["all_of"] == 1 and kinds["outcome_event"] == 7
    assert set(c.status_kinds) == {"education", "training"}
    bands = {m: (c.milestones[m].measure.min_hours_per_week, c.milestones[m].measure.max_hours_per_week)
             for m in ("job_13_weeks_part_time", "job_13_weeks_full_time")}
    assert bands == {"job_13_weeks_part_time": (8, 15), "job_13_weeks_full_time": (16, None)}
    assert {g: (sorted(x.milestones), x.pays) for g, x in c.exclusive.items()} == {
        "first_job": (["job_start_full_time", "job_start_part_time"], "highest_tariff"),
        "job_13_weeks": (["job_13_weeks_full_time", "job_13_weeks_part_time"], "highest_tariff"),
        "job_26_weeks": (["job_26_weeks_full_time", "job_26_weeks_part_time"], "highest_tariff"),
    }
    assert c.eligibility.citizens.target.size == 250
    assert all(t.reference.startswith("Schedule 3, line ") for t in c.tariffs.values())


@pytest.mark.parametrize("name", ["e08000025-employment-programme.scenarios.yaml", "e08000035-youth-rate-card.scenarios.yaml"])
def test_the_worked_scenarios_pass(name):
    loaded = load_scenarios(EXAMPLES / name)
    outcomes = [run_scenario(loaded, i) for i in range(len(loaded.scenarios.scenarios))]
    assert len(outcomes) == 5
    assert [o.failures for o in outcomes if not o.passed] == []


# --- the cohorts ----------------------------------------------------------------------------------


def _weeks(spec: str) -> list[tuple[int, int]]:
    a, _, b = spec.partition("..")
    first, last = (date.fromisocalendar(int(w[:4]), int(w[6:]), 1) for w in (a, b or a))
    return [(d.isocalendar()[0], d.isocalendar()[1]) for d in (first + timedelta(weeks=k) for k in range((last - first).days // 7 + 1))]


def _age(birth: str, on: date) -> int:
    b = date.fromisoformat(birth)
    return on.year - b.year - ((on.month, on.day) < (b.month, b.day))


def _eligible_by_the_rules(contract: str, h: dict) -> bool:
    """The contract's eligibility rules applied to the raw JSON, without the engine (docs/semantics.md § 2)."""
    enrolment = date.fromisoformat(h["enrolment"])
    if contract == PROGRAMME.name:
        # 18-66, resident, started 2024-04-01..2026-03-31; 26 of the 52 weeks before the start
        # week on Universal Credit, JSA or ESA (all three are public support).
        monday = enrolment - timedelta(days=enrolment.weekday())
        before = {((monday - timedelta(weeks=k)).isocalendar()[0], (monday - timedelta(weeks=k)).isocalendar()[1]) for k in range(1, 53)}
        on_benefit = {w for b in h["benefits"] if b["code"] in ("universal_credit", "jsa", "esa") for w in _weeks(b["weeks"])}
        return (18 <= _age(h["birth_date"], enrolment) <= 66 and h["resident"]
                and date(2024, 4, 1) <= enrolment <= date(2026, 3, 31) and len(before & on_benefit) >= 26)
    # 14-24, resident, started 2024-09-01..2026-08-31; no baseline.
    return 14 <= _age(h["birth_date"], enrolment) <= 24 and h["resident"] and date(2024, 9, 1) <= enrolment <= date(2026, 8, 31)


@pytest.mark.parametrize("contract, n_eligible", [(PROGRAMME.name, 264), (RATE_CARD.name, 288)])
def test_the_cohort_evaluates_and_its_eligible_participants_are_those_the_rules_give(evaluated, contract, n_eligible):
    _loaded, raw, results = evaluated[contract]
    assert len(raw) == len(results) == 300
    expected = {h["participant"] for h in raw if _eligible_by_the_rules(contract, h)}
    assert {pid for pid, r in results.items() if r.eligibility.eligible} == expected
    assert len(expected) == n_eligible
    assert {r.currency for r in results.values()} == {"GBP"}
    assert all(r.payments == [] for r in results.values() if not r.eligibility.eligible)


def test_the_cohorts_are_regenerated_byte_for_byte():
    import importlib.util

    spec = importlib.util.spec_from_file_location("generate_gb_cohort", ROOT / "bench" / "generate_gb_cohort.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    for contract, path in (("employment-programme", COHORTS[PROGRAMME.name]), ("youth-rate-card", COHORTS[RATE_CARD.name])):
        lines = "".join(json.dumps(h, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n" for h in gen.generate(contract, 300, 11))
        assert lines == path.read_text(encoding="utf-8"), path


def test_chosen_employment_programme_histories_pay_what_was_worked_out_by_hand(evaluated):
    _loaded, _raw, results = evaluated[PROGRAMME.name]
    # syn-ep-00020: long-term unemployed, started Thursday 2024-04-04 (W14); 30 hours from Monday
    # 2024-04-29 (W18), no end; extracted 2025-09-28. Attachment 400 (2024 price). Job outcome:
    # 26 weeks W18..W43, Sunday 2024-10-27: 1,200. Sustainment from W44 in blocks of 4:
    # 2024-11-24, 12-22, 2025-01-19 (2024 has 52 weeks), 02-16, 03-16, 04-13, 05-11, 06-08,
    # 07-06, 08-03, 08-31, 09-28: 12 x 170 = 2,040. Total 3,640.
    sustain = ["2024-11-24", "2024-12-22", "2025-01-19", "2025-02-16", "2025-03-16", "2025-04-13",
               "2025-05-11", "2025-06-08", "2025-07-06", "2025-08-03", "2025-08-31", "2025-09-28"]
    r = results["syn-ep-00020"]
    assert paid(r) == [("attachment", "2024-04-04", "400.00"), ("job_outcome", "2024-10-27", "1200.00")] + [
        ("sustainment", d, "170.00") for d in sustain
    ]
    assert r.total == Decimal("3640")
    # syn-ep-00040: disabled, started Friday 2025-05-16 (W20); 35 hours from Wednesday
    # 2025-05-28 (counts from W23); extracted 2026-11-08. Attachment 200 (second-year start).
    # Job outcome W23..W48, Sunday 2025-11-30: the disabled line, 3,500. Sustainment 300 from
    # W49: 2025-12-28, then every 4 weeks to 2026-11-01 (12 blocks); the maximum total of
    # 2,210 pays 7 x 300, 110 of the 8th and 0 for the 9th to the 12th. Total 5,910.
    sustain = ["2025-12-28", "2026-01-25", "2026-02-22", "2026-03-22", "2026-04-19", "2026-05-17",
               "2026-06-14", "2026-07-12", "2026-08-09", "2026-09-06", "2026-10-04", "2026-11-01"]
    amounts = ["300.00"] * 7 + ["110.00"] + ["0.00"] * 4
    r = results["syn-ep-00040"]
    assert paid(r) == [("attachment", "2025-05-16", "200.00"), ("job_outcome", "2025-11-30", "3500.00")] + list(
        zip(["sustainment"] * 12, sustain, amounts)
    )
    assert r.total == Decimal("5910")
    cut = r.payments[9]
    assert (cut.max_total.reduced_by, cut.max_total.reference) == (Decimal("190"), "Schedule 3, para. 3(c)")


def test_chosen_rate_card_histories_pay_what_was_worked_out_by_hand(evaluated):
    _loaded, _raw, results = evaluated[RATE_CARD.name]
    # syn-yr-00024: aged 22, started Tuesday 2024-09-24 (W39); 30 hours at GBP 1,560 a month
    # from Monday 2024-10-07 (W41). Full-time start 2024-10-07: 2,000. Earnings: October 25 days
    # x 1,560/31 = 1,258.06, then 52 a day in November: 2,000 on the 15th (500); 5,000 on
    # 2025-01-13 (2,818.06 by November, 4,378.06 by December, 13 January days at 50.32) (800).
    # Progression: 8 weeks W41..W48, Sunday 2024-12-01 (600). 13 of 16 full-time weeks:
    # W41..W52 and 2025-W01, Sunday 2025-01-05 (2,600). 26 in all: to 2025-W14, Sunday
    # 2025-04-06 (1,700). The sum is exactly the GBP 8,200 maximum.
    r = results["syn-yr-00024"]
    assert paid(r) == [
        ("job_start_full_time", "2024-10-07", "2000.00"), ("earnings_2000", "2024-11-15", "500.00"),
        ("progression", "2024-12-01", "600.00"), ("job_13_weeks_full_time", "2025-01-05", "2600.00"),
        ("earnings_5000", "2025-01-13", "800.00"), ("job_26_weeks_full_time", "2025-04-06", "1700.00"),
    ]
    assert r.total == Decimal("8200")
    # syn-yr-00015: aged 23, started Friday 2025-05-02; 8 hours at GBP 416 a month from Monday
    # 2026-01-19 (2026-W04): the part-time band. Part-time start 2026-01-19 (1,200); progression
    # W04..W11, Sunday 2026-03-15 (600); 13 of 16 part-time weeks W04..W16, Sunday 2026-04-19
    # (1,500); earnings 2,000: 13 January days x 416/31 = 174.45, 416 a month February to May
    # (1,838.45), then 13.87 a day in June: the 12th (500); 26 part-time weeks W04..W29,
    # Sunday 2026-07-19 (1,000). Earnings reach only about 3,700 by 2026-10-25: no 5,000.
    r = results["syn-yr-00015"]
    assert paid(r) == [
        ("job_start_part_time", "2026-01-19", "1200.00"), ("progression", "2026-03-15", "600.00"),
        ("job_13_weeks_part_time", "2026-04-19", "1500.00"), ("earnings_2000", "2026-06-12", "500.00"),
        ("job_26_weeks_part_time", "2026-07-19", "1000.00"),
    ]
    assert r.total == Decimal("4800")


def test_caps_maximum_totals_and_exclusive_pairs_hold_for_every_participant(evaluated):
    _loaded, _raw, programme = evaluated[PROGRAMME.name]
    for r in programme.values():
        sustainment = [p for p in r.payments if p.milestone == "sustainment"]
        assert len(sustainment) <= 13 and sum((p.amount for p in sustainment), Decimal(0)) <= Decimal("2210")
        assert r.total <= Decimal("6500")
        assert [p.amount for p in r.payments if p.milestone == "attachment"] in ([], [Decimal("400")], [Decimal("200")])
    _loaded, _raw, card = evaluated[RATE_CARD.name]
    pairs = [("job_start_full_time", "job_start_part_time"), ("job_13_weeks_full_time", "job_13_weeks_part_time"),
             ("job_26_weeks_full_time", "job_26_weeks_part_time")]
    both_met = Counter()
    for r in card.values():
        assert r.total <= Decimal("8200")
        listed = Counter(p.milestone for p in r.payments)
        assert max(listed.values(), default=1) == 1  # every line of the card pays once at most
        met = {m.milestone for m in r.milestones if m.occurrences}
        for full, part in pairs:
            assert not (listed[full] and listed[part]), (r.subject.id, full)
            if full in met and part in met:
                both_met[full] += 1
                assert listed[full] and not listed[part]  # the full-time line has the higher tariff
    assert both_met["job_start_full_time"] > 0  # the cohort exercises the exclusive rule


def test_every_line_of_the_rate_card_pays_somebody_in_its_cohort(evaluated):
    loaded, _raw, results = evaluated[RATE_CARD.name]
    paying = Counter(p.milestone for r in results.values() for p in r.payments if p.amount > 0)
    assert set(paying) == set(loaded.contract.milestones)


# --- amounts in pounds ----------------------------------------------------------------------------


def test_amounts_print_in_pounds(capsys, tmp_path, evaluated):
    _loaded, raw, _results = evaluated[PROGRAMME.name]
    history = tmp_path / "syn-ep-00040.json"
    history.write_text(json.dumps(next(h for h in raw if h["participant"] == "syn-ep-00040")), encoding="utf-8")
    code, out, _err = run(capsys, "evaluate", "--contract", str(PROGRAMME), "--history", str(history), "--no-log",
                          "--database", str(tmp_path / "ledger.db"))
    assert code == 0
    assert "amount (£)" in out and "tariff (£)" in out and "payers (£)" in out and out.endswith("Total £5,910.00\n")
    assert "110.00 capped (max_total 2,210.00, Schedule 3, para. 3(c))" in out and "DKK" not in out
    # Due 10 working days after Friday 2025-05-16: Mon 19..Fri 23 (5); Mon 26 is the spring bank holiday; Tue 27..Fri 30 (9); Mon 2 June.
    assert "2025-05-16  2025-06-02  attachment#1" in out
    code, out, _err = run(capsys, "evaluate", "--contract", str(PROGRAMME), "--history", str(history), "--no-log",
                          "--database", str(tmp_path / "ledger.db"), "--format", "json")
    data = json.loads(out)
    assert (code, data["currency"], data["total"]) == (0, "GBP", "5910.00")
    code, out, _err = run(capsys, "evaluate", "--contract", str(RATE_CARD), "--cohort", str(COHORTS[RATE_CARD.name]), "--workers", "1",
                          "--no-log", "--database", str(tmp_path / "ledger.db"))
    assert code == 0
    assert "300 histories, 288 eligible" in out and "amount (£)" in out and "DKK" not in out


# --- the business case beside the Danish agreements ----------------------------------------------


def test_a_danish_business_case_from_the_whole_contracts_folder_leaves_the_english_examples_out(capsys):
    code, out, err = run(capsys, "business-case", "--contracts", str(ROOT / "contracts"), "--cohort", str(ROOT / "fixtures/participants/101"),
                         "--as-of", "2021-12-31", "--workers", "1")
    assert code == 0, err
    assert "København" in out and " kr." in out and "£" not in out and "Birmingham" not in out  # in Danish: the agreements reported on are


def test_a_cohort_of_danish_and_english_histories_is_still_refused(capsys, tmp_path):
    english = tmp_path / "english.jsonl"
    english.write_text(COHORTS[PROGRAMME.name].read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    code, out, err = run(capsys, "business-case", "--contracts", str(ROOT / "contracts"), "--cohort", str(ROOT / "fixtures/participants/101"),
                         str(english), "--as-of", "2027-12-31", "--workers", "1")
    assert (code, out) == (2, "")
    assert err == (
        "amounts in different currencies cannot be added up: dk-101-koebenhavn in DKK, gb-e08000025-employment-programme in GBP. "
        "Take the agreements of one currency at a time (pbr-rules converts no currency)\n"
    )


def test_the_rate_cards_soft_target_is_reported_in_settlement(capsys, tmp_path, monkeypatch):
    # Every eligible participant started within the enrolment window, which ends on the target's
    # date (2026-08-31): counted 288 (the eligible set above) against 250, 38 over; nothing refused for it.
    monkeypatch.setenv("PBR_LEDGER_SECRET_FILE", str(tmp_path / "secret.key"))
    code, out, err = run(capsys, "settle", "--contract", str(RATE_CARD), "--cohort", str(COHORTS[RATE_CARD.name]), "--as-of", "2028-03-01",
                         "--dry-run", "--database", str(tmp_path / "ledger.db"), "--workers", "1")
    assert code == 0, err
    assert ("Participants: 288 against a target of 250 by 2026-08-31 (Schedule 1, para. 3): 38 over target. "
            "The target is soft: no payment is refused for being over or under it.") in out
    assert "cap:per_participant" in out and "target" not in out.split("by reason", 1)[1].split("\n\n", 1)[0]


def test_every_fixture_and_cohort_loads_in_its_agreements_words(capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("check_fixtures", ROOT / "fixtures" / "check_fixtures.py")
    check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check)
    assert check.main() == 0
    out = capsys.readouterr().out
    assert "fixtures/cohorts/employment-programme-300.jsonl: 300 histories" in out
    assert "fixtures/cohorts/youth-rate-card-300.jsonl: 300 histories" in out
