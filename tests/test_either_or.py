"""Either-or outcomes (issue 11, item 5), worked by hand on tests/contracts/oracle-either.yaml:
any_of / all_of over measures in one milestone, and exclusive groups (docs/semantics.md § 5
"any_of, all_of" and § 7 "Exclusive groups").

Every history: enrolled Monday 2020-01-06 (ISO week 2020-W02; week windows start with
2020-W03, Monday 2020-01-13), eligible, extracted 2020-12-31.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pbr_rules.errors import ContractInvalid
from pbr_rules.evaluation import evaluate
from pbr_rules.language.loader import load_contract
from pbr_rules.models.history import ParticipantHistory

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def either():
    return load_contract(ROOT / "tests/contracts/oracle-either.yaml")


def person(jobs=(), events=()) -> ParticipantHistory:
    return ParticipantHistory.model_validate(
        {
            "participant": "either-1",
            "municipality": "153",
            "birth_date": "1985-04-02",
            "target_group": "cash_benefit",
            "enrolment": "2020-01-06",
            "extracted": "2020-12-31",
            "benefits": [{"weeks": "2019-W01..2020-W02", "code": "kontanthjaelp"}],
            "employment": [
                {"start": a, "end": z, "hours_per_week": h, "monthly_earnings": pay, "employer": "acme", "kind": "ordinary"} for a, z, h, pay in jobs
            ],
            "events": [{"date": d, "kind": k} for d, k in events],
        }
    )


def met(r, mid):
    (m,) = [m for m in r.milestones if m.milestone == mid]
    return [o.met_on for o in m.occurrences], m.why_not


def paid(r):
    return {(p.milestone, p.trigger_date): p.amount for p in r.payments}


FOUR_WEEKS = ("2020-01-13", "2020-02-07", 20, "12000")  # W03..W06: 4 consecutive weeks at 20 hours


def test_any_of_is_met_by_either_measure(either):
    r = evaluate(either, person(events=[("2020-03-02", "education_start")]))
    assert met(r, "job_or_education") == ([date(2020, 3, 2)], None)
    assert paid(r)[("job_or_education", date(2020, 3, 2))] == 7000


def test_all_of_is_met_when_the_last_of_its_measures_is(either):
    # 4 weeks of work complete Sunday 2020-02-09; the qualification comes on 2020-05-15.
    r = evaluate(either, person(jobs=[FOUR_WEEKS], events=[("2020-05-15", "qualification")]))
    assert met(r, "job_and_qualification")[0] == [date(2020, 5, 15)]
    assert met(r, "job_or_education")[0] == []  # 4 weeks of work are not 8
    assert paid(r)[("job_and_qualification", date(2020, 5, 15))] == 9000
    # only one of them: not met, and says how far each part is
    r = evaluate(either, person(jobs=[FOUR_WEEKS]))
    dates, why = met(r, "job_and_qualification")
    assert dates == [] and "all of: " in next(m.progress for m in r.milestones if m.milestone == "job_and_qualification")


def test_an_exclusive_group_pays_the_milestone_met_first(either):
    r = evaluate(either, person(jobs=[FOUR_WEEKS], events=[("2020-03-02", "education_start"), ("2020-05-15", "qualification")]))
    assert met(r, "job_or_education") == ([date(2020, 3, 2)], None)
    dates, why = met(r, "job_and_qualification")
    assert dates == [date(2020, 5, 15)]  # met, the outcome happened ...
    assert why == "met, but not paid: only one milestone of the exclusive group 'first_outcome' pays (the first met), and 'job_or_education' does (§ E.3)"
    assert ("job_and_qualification", date(2020, 5, 15)) not in paid(r)  # ... but only the first pays
    assert paid(r)[("job_or_education", date(2020, 3, 2))] == 7000


def test_an_exclusive_group_pays_the_highest_tariff_even_when_met_later(either):
    # 37 hours at 30,000 a month from Monday 2020-01-13: earnings reach 60,000 on Thursday
    # 2020-03-12 (19/31 of January + February + 12/31 of March = 60,000 exactly); 13 of 16
    # weeks at 15 hours complete in W15, Sunday 2020-04-12.
    r = evaluate(either, person(jobs=[("2020-01-13", None, 37, "30000")]))
    assert met(r, "earnings_60k")[0] == [date(2020, 3, 12)]
    assert met(r, "job_13_weeks")[0] == [date(2020, 4, 12)]
    assert ("job_13_weeks", date(2020, 4, 12)) in paid(r)  # 30,000 beats 15,000
    assert not [p for p in r.payments if p.milestone == "earnings_60k"]
    assert "'best_job_outcome' pays (the highest tariff), and 'job_13_weeks' does (§ E.4)" in met(r, "earnings_60k")[1]


def test_mistakes_in_either_or_terms_are_reported_where_they_stand(tmp_path):
    text = (ROOT / "tests/contracts/oracle-either.yaml").read_text()
    text = text.replace("extends: ../../contracts/", f"extends: {ROOT}/contracts/")
    text = text.replace("milestones: [job_13_weeks, earnings_60k]", "milestones: [job_13_week, earnings_60k, company_start]")
    text = text.replace("        - {kind: outcome_event, event: education_start, window: {after: start, weeks: 104}}",
                        "        - {kind: outcome_event, event: education_start, window: {after: job_13_weeks, weeks: 104}}")
    path = tmp_path / "bad-either.yaml"
    path.write_text(text)
    with pytest.raises(ContractInvalid) as info:
        load_contract(path)
    got = [str(d).split(": ", 1)[1] for d in info.value.diagnostics]
    assert "milestones.job_or_education.measure.measures: the measures of 'any_of' count from different starts (job_13_weeks, start) (give every measure a window with the same 'after' (a measure without a window counts from the start), or split the milestone in two)" in got
    assert "exclusive.best_job_outcome.milestones[0]: unknown milestone 'job_13_week' (did you mean 'job_13_weeks'?)" in got
    assert "exclusive.best_job_outcome.milestones: the group mixes citizen and company milestones (a group holds milestones of one side (one subject pays once))" in got
