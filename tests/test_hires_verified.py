"""Issue 11, item 12: a hire pays only when the participant's history shows paid work with
the company from the hire date (docs/semantics.md § 5, "Hires verified"); overlapping hires
of one person are refused; re-hires pay only when the contract says so."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest

from pbr_rules.errors import HistoryInvalid
from pbr_rules.evaluation.evaluator import evaluate, evaluate_cohort
from pbr_rules.language.loader import load_cohort, load_contract
from pbr_rules.models.history import CompanyHistory, ParticipantHistory

ROOT = Path(__file__).resolve().parents[1]
KBH = load_contract(ROOT / "contracts/agreements/101-koebenhavn.yaml")


def person(pid: str, employment: list[dict], extracted: str = "2020-12-31") -> ParticipantHistory:
    return ParticipantHistory.model_validate(
        {
            "participant": pid, "municipality": "101", "birth_date": "1990-05-05", "target_group": "cash_benefit",
            "enrolment": "2019-04-03", "extracted": extracted,
            "benefits": [{"weeks": "2018-W14..2019-W13", "code": "kontanthjaelp"}], "employment": employment,
        }
    )


def company(cid: str, hires: list[dict]) -> CompanyHistory:
    return CompanyHistory.model_validate(
        {"company": cid, "municipality": "101", "size_band": "small", "partner": True, "start": "2019-03-01", "extracted": "2020-12-31", "hires": hires}
    )


def hire_payments(result) -> list:
    return [p for p in result.payments if p.milestone in ("company_hire", "hire_retained")]


def why(result, milestone: str) -> str:
    return next(m.why_not for m in result.milestones if m.milestone == milestone)


def test_the_issues_fault_a_participant_never_employed_hired_four_times_earns_no_hire_payment():
    # Issue 11: "a participant never employed, 'hired' three times by one company and once
    # by another, earned DKK 140,000 of hire payments". Now: nothing.
    never = person("p-never", [])
    one = company("c-one", [
        {"participant": "p-never", "date": "2019-04-08", "end": "2019-04-30"},
        {"participant": "p-never", "date": "2019-06-03", "end": "2019-06-28"},
        {"participant": "p-never", "date": "2019-09-02"},
    ])
    other = company("c-other", [{"participant": "p-never", "date": "2019-05-06", "end": "2019-05-31"}])
    results = evaluate_cohort(KBH, [never, one, other])
    assert results[0].eligibility.eligible
    assert [hire_payments(r) for r in results[1:]] == [[], []]
    assert why(results[1], "company_hire") == (
        "hires not counted under § 6.4: "
        "hires[0] (p-never, 2019-04-08): unverified: participant p-never's history shows no paid work with company c-one on 2019-04-08; "
        "hires[1] (p-never, 2019-06-03): unverified: participant p-never's history shows no paid work with company c-one on 2019-06-03; "
        "hires[2] (p-never, 2019-09-02): unverified: participant p-never's history shows no paid work with company c-one on 2019-09-02"
    )
    assert "hires[0] (p-never, 2019-05-06): unverified" in why(results[2], "company_hire")


def test_a_hire_shown_by_paid_work_pays_and_its_evidence_names_the_job():
    worker = person("p-w", [{"start": "2019-04-08", "hours_per_week": 20, "monthly_earnings": "12000", "employer": "c-one"}])
    firm = company("c-one", [{"participant": "p-w", "date": "2019-04-08"}])
    results = evaluate_cohort(KBH, [worker, firm])
    paid = hire_payments(results[1])
    assert [(p.milestone, p.trigger_date) for p in paid] == [("company_hire", date(2019, 4, 8)), ("hire_retained", date(2019, 10, 7))]
    occurrence = next(m for m in results[1].milestones if m.milestone == "company_hire").occurrences[0]
    assert [e.source for e in occurrence.evidence] == ["hires[0]", "p-w: employment[0]"]
    assert occurrence.evidence[1].description == "paid work with c-one, 20 h/week, on 2019-04-08"


def test_a_company_evaluated_without_the_participants_histories_is_not_paid_for_its_hires():
    firm = company("c-one", [{"participant": "p-w", "date": "2019-04-08"}])
    result = evaluate(KBH, firm, None, {"p-w": date(2019, 4, 3)})
    assert hire_payments(result) == []
    assert why(result, "company_hire") == (
        "hires not counted under § 6.4: hires[0] (p-w, 2019-04-08): unverified: participant p-w's history is not in the cohort, "
        "so no paid work with c-one can be shown"
    )


def test_a_rehire_does_not_pay_again_and_says_why():
    worker = person("p-r", [
        {"start": "2019-04-08", "end": "2019-05-31", "hours_per_week": 20, "monthly_earnings": "12000", "employer": "c-one"},
        {"start": "2019-09-02", "hours_per_week": 20, "monthly_earnings": "12000", "employer": "c-one"},
    ])
    firm = company("c-one", [{"participant": "p-r", "date": "2019-04-08", "end": "2019-05-31"}, {"participant": "p-r", "date": "2019-09-02"}])
    results = evaluate_cohort(KBH, [worker, firm])
    assert [(p.milestone, p.trigger_date) for p in hire_payments(results[1])] == [("company_hire", date(2019, 4, 8))]
    assert "hires[1] (p-r, 2019-09-02): a re-hire of p-r (first hired in hires[0]); the contract does not pay a re-hire (rehire_pays: false)" in why(
        results[1], "company_hire"
    )


def test_overlapping_hires_of_one_person_in_one_company_are_refused():
    firm = company("c-one", [{"participant": "p-1", "date": "2019-04-01", "end": "2019-06-30"}, {"participant": "p-1", "date": "2019-06-30"}])
    assert firm.problems() == [
        (
            ("hires", 1),
            "the hire of 'p-1' from 2019-06-30 to ongoing overlaps hires[0] (the hire of 'p-1' from 2019-04-01 to 2019-06-30); a person holds one hire at a time",
        )
    ]
    # The next day is no overlap.
    assert company("c-one", [{"participant": "p-1", "date": "2019-04-01", "end": "2019-06-30"}, {"participant": "p-1", "date": "2019-07-01"}]).problems() == []


def test_overlapping_hires_of_one_person_by_two_companies_are_refused_with_both_files_and_lines(tmp_path):
    head = 'municipality: "101"\nsize_band: small\npartner: true\nstart: 2019-03-01\nextracted: 2020-12-31\nhires:\n'
    (tmp_path / "c1.yaml").write_text("kind: company\ncompany: c-1\n" + head + "  - {participant: p-1, date: 2019-04-01, end: 2019-04-30}\n  - {participant: p-1, date: 2019-09-02}\n")
    (tmp_path / "c2.yaml").write_text("kind: company\ncompany: c-2\n" + head + "  - {participant: p-1, date: 2019-05-06, end: 2019-05-31}\n  - {participant: p-1, date: 2019-10-01}\n")
    with pytest.raises(HistoryInvalid) as info:
        load_cohort(tmp_path)
    assert [str(d) for d in info.value.diagnostics] == [
        f"{tmp_path / 'c2.yaml'}:10:5: hires[1]: the hire of 'p-1' from 2019-10-01 to ongoing by 'c-2' overlaps the hire of 'p-1' from 2019-09-02 to ongoing"
        f" by 'c-1' (hires[1] at {tmp_path / 'c1.yaml'}:10) (a person holds one hire at a time; end the first hire before the next starts)"
    ]


def test_histories_without_hires_give_the_same_result_whatever_participants_are_passed():
    firm = company("c-one", [])
    worker = person("p-w", [])
    assert evaluate(KBH, firm).model_dump_json() == evaluate(KBH, firm, None, {"p-w": None}, {"p-w": worker}).model_dump_json()


# --- hire_retained reads the participant's own history too (docs/semantics.md § 5) ----------
# København § 6.5: 26 weeks; a hire on Monday 2019-04-08 is retained on 2019-04-08 + 182 days
# = Monday 2019-10-07.


def retention(result):
    return [p for p in result.payments if p.milestone == "hire_retained"]


def test_a_retention_the_company_reports_but_the_participants_job_ended_is_not_paid():
    # The audit's case: the company's record is open, the participant's job with it ended on
    # 2019-06-28 (11.6 weeks). The hire pays; the retention does not, and why_not says why.
    worker = person("p-w", [{"start": "2019-04-08", "end": "2019-06-28", "hours_per_week": 20, "monthly_earnings": "12000", "employer": "c-one"}])
    firm = company("c-one", [{"participant": "p-w", "date": "2019-04-08"}])
    results = evaluate_cohort(KBH, [worker, firm])
    assert [p.milestone for p in hire_payments(results[1])] == ["company_hire"]
    assert why(results[1], "hire_retained") == (
        "hires not counted under § 6.5: hires[0] (p-w, 2019-04-08): unverified: participant p-w's history shows paid work with "
        "company c-one from 2019-04-08 only until 2019-06-28, not still on 2019-10-07 (26 weeks after the hire)"
    )


def test_a_retention_shown_by_adjacent_jobs_with_the_company_pays_and_cites_each():
    # A raise splits the job in two spells, the second from the day after the first ends.
    worker = person("p-w", [
        {"start": "2019-04-08", "end": "2019-07-31", "hours_per_week": 20, "monthly_earnings": "12000", "employer": "c-one"},
        {"start": "2019-03-01", "end": "2019-03-31", "hours_per_week": 10, "monthly_earnings": "5000", "employer": "elsewhere"},
        {"start": "2019-08-01", "hours_per_week": 30, "monthly_earnings": "18000", "employer": "c-one"},
    ])
    firm = company("c-one", [{"participant": "p-w", "date": "2019-04-08"}])
    results = evaluate_cohort(KBH, [worker, firm])
    paid = retention(results[1])
    assert [(p.trigger_date, p.amount) for p in paid] == [(date(2019, 10, 7), D("30000.00"))]
    occurrence = next(m for m in results[1].milestones if m.milestone == "hire_retained").occurrences[0]
    assert [(e.source, e.description) for e in occurrence.evidence] == [
        ("hires[0]", "participant p-w hired 2019-04-08, still in place on 2019-10-07 by the company's record"),
        ("p-w: employment[0]", "paid work with c-one, 20 h/week, from 2019-04-08 to 2019-07-31"),
        ("p-w: employment[2]", "paid work with c-one, 30 h/week, from 2019-08-01 with no end (history extracted 2020-12-31)"),
    ]


@pytest.mark.parametrize(
    ("second_start", "extracted", "reason"),
    [
        ("2019-08-02", "2020-12-31", "only until 2019-07-31, not still on 2019-10-07"),  # one day without work with the company (1 August)
        # an open job, but the participant's extract ends a week short: not an ended job
        (None, "2019-09-30", "history was extracted on 2019-09-30, before the retention day 2019-10-07 (26 weeks after the hire); "
                             "its job with company c-one has no end, so a later extract can show it"),
    ],
)
def test_a_retention_is_unverified_after_a_break_or_beyond_the_participants_extract(second_start, extracted, reason):
    jobs = [{"start": "2019-04-08", "hours_per_week": 20, "monthly_earnings": "12000", "employer": "c-one"}]
    if second_start is not None:
        jobs = [{**jobs[0], "end": "2019-07-31"}, {"start": second_start, "hours_per_week": 20, "monthly_earnings": "12000", "employer": "c-one"}]
    worker = person("p-w", jobs, extracted)
    firm = company("c-one", [{"participant": "p-w", "date": "2019-04-08"}])
    results = evaluate_cohort(KBH, [worker, firm])
    assert retention(results[1]) == []
    assert reason in why(results[1], "hire_retained")


def test_every_entry_point_judges_the_hired_participants_by_their_own_histories():
    # A review: decide/evaluate judged them, the batch functions still took the caller's word.
    from pbr_rules.evaluation import decide, decide_batch, decide_view, decide_view_batch, evaluate_batch

    px = person("p-x", [{"start": "2019-04-08", "hours_per_week": 20, "monthly_earnings": "12000", "employer": "c-one"}])
    px = px.model_copy(update={"benefits": []})  # no week on benefits before enrolment: not eligible (§ 3.2)
    assert not evaluate(KBH, px).eligibility.eligible
    firm = company("c-one", [{"participant": "p-x", "date": "2019-04-08"}])
    says_eligible, people = {"p-x": date(2019, 4, 3)}, {"p-x": px}
    one = evaluate(KBH, firm, None, says_eligible, people)
    assert hire_payments(one) == [] and "participant p-x is not eligible under this agreement" in why(one, "company_hire")
    assert [r.model_dump_json() for r in evaluate_batch(KBH, [firm, firm], None, says_eligible, people)] == [one.model_dump_json()] * 2
    assert [d.payments for d in decide_batch(KBH, [firm], None, says_eligible, people)] == [decide(KBH, firm, None, says_eligible, people).payments]
    assert [v.total for v in decide_view_batch(KBH, [firm], None, says_eligible, people)] == [decide_view(KBH, firm, None, says_eligible, people).total] == [one.total]
    # the caller that worked the list out itself (a cohort) may say so, and is then taken at its word
    trusted = evaluate_batch(KBH, [firm], None, says_eligible, people, judge_participants=False)[0]
    assert [p.milestone for p in hire_payments(trusted)] == ["company_hire", "hire_retained"]
