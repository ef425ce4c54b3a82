"""Issue 11's payment terms: pricing date (8), a maximum total per milestone per subject (9),
soft targets (10), and the discounting convention with NPV per period and per party, and a
business case without a business_case section (13). Every figure is worked out by hand in
the comment beside it (docs/semantics.md §§ 7-8, docs/business-case.md "Discounting")."""

from __future__ import annotations

import json
import os
import textwrap
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest
import yaml

from pbr_rules.errors import HistoryInvalid
from pbr_rules.evaluation import evaluate
from pbr_rules.finance.cases import business_case, municipality_case
from pbr_rules.finance.discounting import factor, npv, periods_from
from pbr_rules.i18n import use_language
from pbr_rules.language.loader import load_benefit_codes, load_contract, load_history
from pbr_rules.models.history import ParticipantHistory
from pbr_rules.settlement import settle

ROOT = Path(__file__).resolve().parent.parent
TERMS = ROOT / "tests/contracts/terms.yaml"
PLAIN = ROOT / "tests/contracts/no-business-case.yaml"
CODES = frozenset(load_benefit_codes(ROOT / "contracts/data/benefit-codes.yaml").codes)


@pytest.fixture(scope="module")
def terms():
    return load_contract(TERMS)


def scenario_dicts() -> list[dict]:
    """The three hand-worked participants of tests/contracts/terms.scenarios.yaml, as history files hold them."""
    data = yaml.safe_load((ROOT / "tests/contracts/terms.scenarios.yaml").read_text(encoding="utf-8"))
    return [json.loads(json.dumps(s["history"], default=str)) for s in data["scenarios"]]


def scenario_histories() -> list[ParticipantHistory]:
    return [ParticipantHistory.model_validate(d) for d in scenario_dicts()]


# --- the bundled agreements are unchanged --------------------------------------------------


def test_the_bundled_agreements_keep_their_content_hashes():
    # The hashes before the new keys existed: an agreement that does not write them hashes as before.
    # (Recorded again when the agreements gained the growth milestones, §§ 6.6-6.8: versions 1.2,
    # 1.1 and 1.3; the keys of this module are still not written by them.)
    expected = {
        "101-koebenhavn": "a8e4d695fcf152554025ae1616662ede1a61b758307f9149f8c0bec3f21b62cb",
        "461-odense": "262c7a309f2a539cce906e76302fe205b3788ad2a4ce42e5750e5fbc1666b23e",
        "751-aarhus": "c82eebf89d1fedaf32110ab1201e8a90cecf955e66ea45f113a57513158277bb",
    }
    for name, digest in expected.items():
        assert load_contract(ROOT / f"contracts/agreements/{name}.yaml").content_hash == digest


# --- item 8: the pricing date -----------------------------------------------------------------


def test_a_referral_after_the_enrolment_is_refused_at_its_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("h.yaml").write_text(
        textwrap.dedent(
            """\
            kind: participant
            participant: P-0001
            municipality: "161"
            birth_date: "1990-05-17"
            target_group: cash_benefit
            referred: "2019-03-11"
            enrolment: "2019-03-04"
            extracted: "2020-12-31"
            """
        ),
        encoding="utf-8",
    )
    with pytest.raises(HistoryInvalid) as info:
        load_history("h.yaml", CODES)
    assert [str(d) for d in info.value.diagnostics] == [
        "h.yaml:6:11: referred: referral 2019-03-11 is after the enrolment 2019-03-04; a participant is referred on or before enrolment"
    ]


def test_a_history_without_a_referral_date_is_refused_when_the_agreement_prices_on_it(terms):
    h = scenario_histories()[0].model_copy(update={"referred": None})
    with pytest.raises(HistoryInvalid) as info:
        evaluate(terms, h)
    (d,) = info.value.diagnostics
    assert d.path == "referred"
    assert d.message == (
        "participant t-998-01: the agreement prices job_13_weeks on the referral date, but the history has no referral date"
    )
    assert d.hint == "add referred: YYYY-MM-DD (the day the participant was referred, on or before the enrolment)"


def test_a_history_without_a_referral_date_dumps_as_before():
    h = scenario_histories()[0]
    assert "referred" in h.model_dump(mode="json")
    assert "referred" not in h.model_copy(update={"referred": None}).model_dump(mode="json")


def test_each_payment_says_which_day_priced_it(terms):
    r = evaluate(terms, scenario_histories()[0])
    by = {(p.milestone, p.occurrence): p.tariff for p in r.payments}
    # job_13_weeks: met 2020-04-12, priced on the referral 2019-11-15: the 2019 value.
    assert (by[("job_13_weeks", 1)].priced_by, by[("job_13_weeks", 1)].priced_on, by[("job_13_weeks", 1)].value) == (
        "referral", date(2019, 11, 15), D("30000"),
    )
    assert by[("job_13_weeks", 1)].effective == date(2019, 1, 1)
    # earnings_60k: met 2020-08-28, priced on the enrolment 2020-01-06: 15,000, not 18,000 (from 2020-07-01).
    assert (by[("earnings_60k", 1)].priced_by, by[("earnings_60k", 1)].priced_on, by[("earnings_60k", 1)].value) == (
        "enrolment", date(2020, 1, 6), D("15000"),
    )
    # self_support_blocks: the tariff's own pricing_date: trigger, so nothing is said.
    assert by[("self_support_blocks", 1)].priced_by is None and by[("self_support_blocks", 1)].priced_on is None
    assert "priced_by" not in by[("self_support_blocks", 1)].model_dump(mode="json")


def test_a_referral_before_the_term_is_priced_on_the_term_start(terms):
    r = evaluate(terms, scenario_histories()[2])  # referred 2018-11-01, the term starts 2019-01-01
    job = next(p for p in r.payments if p.milestone == "job_13_weeks")
    assert (job.tariff.priced_on, job.amount) == (date(2019, 1, 1), D("30000"))


# --- item 9: the maximum total -------------------------------------------------------------------


def test_the_maximum_total_comes_before_the_cap_and_is_explained(terms):
    r = evaluate(terms, scenario_histories()[0])
    blocks = [p for p in r.payments if p.milestone == "self_support_blocks"]
    assert [p.amount for p in blocks] == [D("3000")] * 3 + [D("0")] * 6
    fourth = blocks[3]
    # max_total 10,000 less 9,000 paid leaves 1,000: cut by 2,000; the cap (70,000, all used by job_26_weeks) cuts the 1,000.
    assert fourth.max_total.model_dump(mode="json") == {
        "cap": "max_total", "limit": "10000.00", "effective": "2019-01-01", "reference": "Bilag 2, pkt. 7, stk. 2", "reduced_by": "2000.00",
    }
    assert (fourth.cap.cap, fourth.cap.reduced_by) == ("per_participant", D("1000"))
    assert blocks[0].max_total is None and "max_total" not in blocks[0].model_dump(mode="json")


def test_settlement_applies_the_maximum_total_first_and_names_it(terms):
    s = settle(terms, scenario_histories(), date(2020, 12, 31))
    line = next(x for x in s.lines if x.payment_id == "dk-161-terms/t-998-01/self_support_blocks/4")
    assert [(a.kind, a.change) for a in line.adjustments] == [("cap:max_total", D("-2000")), ("cap:per_participant", D("-1000"))]
    assert line.adjustments[0].note == "participant t-998-01 under 'self_support_blocks' reached the maximum total of DKK 10000.00"
    assert s.order.startswith("trigger date, then subject id, then milestone, then occurrence; caps in the order: the tariff's maximum total")
    # the settled amounts agree with the evaluation (no volume tiers here)
    assert s.total == D("70000") + D("45000") + D("38000")


def test_settlement_reads_volume_tiers_on_the_pricing_date(tmp_path):
    # job_13_weeks is priced on the referral date; give it a tier after the first outcome,
    # 20,000 from 2019-01-01 and 25,000 from 2020-01-01. In the cohort: t-998-03 first (met
    # 2019-06-09: 30,000), t-998-01 second (met 2020-04-12, referred 2019-11-15: the tier's
    # 20,000, not the 25,000 in force on the trigger date), t-998-02 third (referred
    # 2020-02-03: 25,000).
    text = TERMS.read_text(encoding="utf-8").replace("../../contracts/templates/", os.path.relpath(ROOT / "contracts/templates", tmp_path) + "/")
    text = text.replace(
        "  job_13_weeks:\n    pricing_date: referral\n",
        "  job_13_weeks:\n    pricing_date: referral\n    volume_tiers:\n      - after_outcomes: 1\n"
        '        reference: "Bilag 2, pkt. 5, stk. 3"\n        amount:\n'
        '          "2019-01-01": {value: "20000", reference: "Bilag 2, pkt. 5, stk. 3"}\n'
        '          "2020-01-01": {value: "25000", reference: "Tillæg 1, § 4"}\n',
    )
    path = tmp_path / "tiered.yaml"
    path.write_text(text, encoding="utf-8")
    s = settle(load_contract(path), scenario_histories(), date(2020, 12, 31))
    jobs = [x for x in s.lines if x.milestone == "job_13_weeks"]
    assert [(x.subject, x.gross, x.tariff.priced_on) for x in jobs] == [
        ("t-998-03", D("30000"), date(2019, 1, 1)),
        ("t-998-01", D("20000"), date(2019, 11, 15)),
        ("t-998-02", D("25000"), date(2020, 2, 3)),
    ]
    assert jobs[1].tariff.priced_by == "referral" and jobs[1].tariff.line == "tier>1"


# --- item 10: soft targets ---------------------------------------------------------------------


def test_targets_are_reported_over_or_under_and_never_refuse_payment(terms):
    with use_language("en"):
        s = settle(terms, scenario_histories(), date(2020, 12, 31))
    citizens, companies = s.targets
    # target 3 by 2019-12-31: only t-998-03 (enrolled 2019-03-04) enrolled by then; final.
    assert (citizens.counted, citizens.target, citizens.difference, citizens.status, citizens.final) == (1, 3, -2, "under", True)
    assert citizens.answer == (
        "Participants: 1 against a target of 3 by 2019-12-31 (§ 3.5): 2 under target. "
        "The target is soft: no payment is refused for being over or under it."
    )
    # companies: target 2 by the term end (no date given); none yet, 2 to go.
    assert (companies.counted, companies.by, companies.final) == (0, date(2022, 9, 30), False)
    assert companies.answer.startswith("Companies: 0 so far against a target of 2 by 2022-09-30 (§ 3.6): 2 to go.")
    assert not [x for x in s.lines if any(a.kind == "cohort_size" for a in x.adjustments)]
    with use_language("da"):
        s = settle(terms, scenario_histories(), date(2020, 12, 31))
    assert s.targets[0].answer.startswith("Deltagere: 1 mod et mål på 3 senest 31. december 2019 (§ 3.5): 2 under målet.")


def test_over_target_beyond_the_cohort_size_says_who_is_not_paid(terms):
    # cohort_size 4, target 3 (by 2019-12-31): five participants enrolled in 2019 are 2 over target, 1 beyond the cohort size.
    base = scenario_histories()[2]
    hs = [base.model_copy(update={"participant": f"t-998-1{i}", "enrolment": date(2019, 3, 4 + i)}) for i in range(5)]
    with use_language("en"):
        s = settle(terms, hs, date(2019, 7, 31))
    t = s.targets[0]
    assert (t.counted, t.status, t.difference) == (5, "over", 2)
    assert "2 over target; 1 beyond the cohort size of 4 are refused payment." in t.answer
    assert any(a.kind == "cohort_size" for x in s.lines for a in x.adjustments)  # the hard limit still applies


def test_a_settlement_without_targets_has_no_targets_key():
    lc = load_contract(ROOT / "contracts/agreements/101-koebenhavn.yaml")
    s = settle(lc, [], date(2020, 12, 31))
    assert "targets" not in s.model_dump(mode="json")


# --- item 13: discounting conventions, worked by hand ---------------------------------------------


V = date(2019, 1, 1)


def test_act365_discounts_by_actual_days():
    # 365 days at 4 %: 1 / 1.04 = 0.961538...; 1,000 -> 961.54. 730 days: 1 / 1.0816 -> 924.56.
    assert npv([(date(2020, 1, 1), D("1000"))], D("0.04"), V) == D("961.54")
    assert npv([(date(2020, 12, 31), D("1000"))], D("0.04"), V) == D("924.56")
    # 2019-07-02 is 182 days on: ln 1.04 = 0.0392207, x 182/365 = 0.0195569, exp(-0.0195569) = 0.980633 -> 980.63
    assert npv([(date(2019, 7, 2), D("1000"))], D("0.04"), V, "act365_from_term_start") == D("980.63")


def test_per_period_discounts_by_whole_months_at_a_twelfth_of_the_rate():
    # 12 % a year = 1 % a month. January 2019 is month 0 (undiscounted), 31 March month 2:
    # 1 / 1.01**2 = 0.980296 -> 980.30; 1 January 2020 month 12: 1 / 1.01**12 = 0.887449 -> 887.45.
    assert periods_from("per_period", V, date(2019, 1, 31)) == 0
    assert periods_from("per_period", V, date(2019, 3, 31)) == 2
    assert npv([(date(2019, 1, 31), D("1000"))], D("0.12"), V, "per_period") == D("1000.00")
    assert npv([(date(2019, 3, 31), D("1000"))], D("0.12"), V, "per_period") == D("980.30")
    assert npv([(date(2020, 1, 1), D("1000"))], D("0.12"), V, "per_period") == D("887.45")
    # 1,000 in each of the three: 2,867.75
    flows = [(date(2019, 1, 31), D("1000")), (date(2019, 3, 31), D("1000")), (date(2020, 1, 1), D("1000"))]
    assert npv(flows, D("0.12"), V, "per_period") == D("2867.75")


def test_annual_compounding_discounts_by_whole_years():
    # The first year undiscounted; from the first anniversary 1 / 1.04 = 961.54; from the second 1 / 1.0816 = 924.56;
    # the day before the start is a year back: 1.04 -> 1,040.00.
    assert npv([(date(2019, 12, 31), D("1000"))], D("0.04"), V, "annual_compounding") == D("1000.00")
    assert npv([(date(2020, 1, 1), D("1000"))], D("0.04"), V, "annual_compounding") == D("961.54")
    assert npv([(date(2020, 6, 30), D("1000"))], D("0.04"), V, "annual_compounding") == D("961.54")
    assert npv([(date(2021, 1, 1), D("1000"))], D("0.04"), V, "annual_compounding") == D("924.56")
    assert npv([(date(2018, 12, 31), D("1000"))], D("0.04"), V, "annual_compounding") == D("1040.00")
    # an anniversary on 29 February falls on 1 March in other years
    leap = date(2020, 2, 29)
    assert [periods_from("annual_compounding", leap, d) for d in (date(2021, 2, 28), date(2021, 3, 1), date(2024, 2, 29))] == [0, 1, 4]
    assert factor("annual_compounding", D("0.04"), V, date(2020, 1, 1)) == D(1) / D("1.04")


@pytest.fixture(scope="module")
def terms_case(terms):
    with use_language("en"):
        return municipality_case(terms, scenario_histories(), date(2020, 12, 31), None)[0]


def test_the_agreements_convention_and_rate_are_used_and_said(terms_case):
    assert terms_case.discounting == (
        "12 % a year; each flow discounted by the whole months from the term start's month (2019-01-01), "
        "at the annual rate / 12 a month [§ 10.4]"
    )


def test_the_months_discounted_nets_add_up_to_the_npv(terms_case):
    c = terms_case
    total = sum((m.discounted_net for m in c.months), D(0))
    assert abs(total - c.npv) <= D("0.01") * len(c.months)
    # a month's discounted net is its net at 1 % a month: e.g. the first month with flows
    first = next(m for m in c.months if m.net)
    n = periods_from("per_period", V, date(int(first.month[:4]), int(first.month[5:]), 1))
    assert abs(first.discounted_net - (first.net / D("1.01") ** n)) <= D("0.01")


def test_npv_per_party_and_the_municipalitys_equals_its_npv(terms_case):
    c = terms_case
    by = {p.party: p for p in c.npv_by_party}
    assert set(by) == {"municipality", "dsk", "provider", "accelerator"}
    assert by["municipality"].npv == c.npv
    assert by["municipality"].savings == c.savings
    assert by["municipality"].outcome_payments_paid == c.municipal_outcome_payments
    # the provider receives every citizen payment and carries the citizen course
    assert by["provider"].outcome_payments_received == sum((p.amount for p in c.outcome_payments), D(0))
    assert by["provider"].course_costs == D("36000") * 3
    for p in c.npv_by_party:
        assert p.net == p.savings + p.outcome_payments_received - p.outcome_payments_paid - p.course_costs


def test_a_rate_asked_for_overrides_the_agreements(terms):
    case = municipality_case(terms, scenario_histories(), date(2020, 12, 31), D("0"))[0]
    assert case.npv == case.net_result  # at 0 % nothing is discounted
    assert case.discounting.startswith("0 % a year")


# --- item 13: a business case without a business_case section ---------------------------------------


def test_a_business_case_without_a_business_case_section_works_and_says_so():
    plain = load_contract(PLAIN)
    h = scenario_histories()[2].model_copy(update={"municipality": "165", "referred": None})
    with use_language("en"):
        case = municipality_case(plain, [h], date(2019, 7, 31), None)[0]
    assert case.savings == 0 and case.finances_the_courses is None and case.savings_cover_course_costs is None
    assert case.course_costs_total == 0
    assert case.counterfactual == "none: the agreement has no business_case section"
    assert case.notes == [
        "Savings are not measured: the agreement has no business_case section (no benefit rates, no counterfactual), "
        "so this case shows only the outcome payments and course costs.",
        "No course costs: the agreement names none, so none are counted.",
    ]
    # citizen_start 5,000 on 2019-03-04 and the 13-consecutive-week job outcome (W11..W23, 2019-06-09) 30,000; 60 % municipal.
    assert case.municipal_outcome_payments == D("21000")
    assert case.answer == (
        "Albertslund: savings not measured (the agreement has no business_case section); to 2019-07-31 the municipality's "
        "outcome payments and own course costs came to DKK 21,000.00."
    )
    assert case.net_result == D("-21000")


def test_a_programme_with_one_agreement_without_savings_says_which(terms):
    plain = load_contract(PLAIN)
    hs = scenario_histories()
    other = hs[2].model_copy(update={"municipality": "165", "participant": "e-1", "referred": None})
    with use_language("en"):
        report = business_case([terms, plain], hs + [other], date(2020, 12, 31), None)
    assert report.discount_rate is None  # 12 % (terms) and 4 % (plain, the default)
    assert report.programme.notes == [
        "Savings are not measured for Albertslund (no business_case section): the programme's savings leave them out."
    ]
    assert report.programme.discounting == "the sum of each municipality's NPV under its own agreement's discounting"
    assert report.programme.npv == sum((c.npv for c in report.municipalities), D(0))
    assert "named" not in report.conventions and "each agreement names" in report.conventions


def test_the_cli_writes_npv_by_party_and_by_year(tmp_path, capsys):
    from pbr_rules.cli import main

    cohort = tmp_path / "cohort.jsonl"
    cohort.write_text("\n".join(json.dumps(d) for d in scenario_dicts()) + "\n", encoding="utf-8")
    code = main(["business-case", "--contract", str(TERMS), "--cohort", str(cohort), "--as-of", "2020-12-31", "--lang", "en"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Business case as of 2020-12-31, discount rate 12 % a year" in out
    assert "NPV by party and by year" in out
    assert "Glostrup: Participants: 1 against a target of 3 by 2019-12-31 (§ 3.5): 2 under target." in out


def test_the_exported_tables_carry_the_targets_only_when_there_are_some(terms):
    from pbr_rules.reports.text import business_case_tables, settlement_tables

    with use_language("en"):
        s = settle(terms, scenario_histories(), date(2020, 12, 31))
    header, rows = settlement_tables(s)["targets"]
    assert header[:7] == ["subjects", "target", "by", "counted", "difference", "status", "final"]
    assert rows[0][:7] == ["participants", 3, date(2019, 12, 31), 1, -2, "under", True]
    bundled = load_contract(ROOT / "contracts/agreements/101-koebenhavn.yaml")
    assert "targets" not in settlement_tables(settle(bundled, [], date(2020, 12, 31)))
    report = business_case([terms], scenario_histories(), date(2020, 12, 31), None)
    tables = business_case_tables(report)
    assert tables["targets"][1][0][:2] == ["Glostrup", "participants"]
    assert tables["parties"][0][:3] == ["municipality", "party", "name"]
