"""Evaluations through the API are exactly the core's: same JSON as pbr_rules.evaluation.evaluator for the same history."""

from __future__ import annotations

import json
from datetime import date

import yaml

from pbr_rules.evaluation.evaluator import evaluate, evaluate_cohort, total_of
from pbr_rules.language.loader import history_from_data, load_history
from pbr_rules.language.yaml_source import Source
from pbr_rules.reports.text import to_json

from .conftest import FIXTURES, HISTORY

URL = "/v1/contracts/dk-101-koebenhavn"


def core(app, data, as_of=None, eligible=()):
    loaded = app.state.registry.get("dk-101-koebenhavn")
    h = history_from_data(data, Source(file="<request>", data=data), frozenset(loaded.codes.codes))
    return json.loads(to_json(evaluate(loaded, h, as_of, eligible)))


def test_evaluate_equals_the_core(client, app, fund):
    resp = client.post(f"{URL}/evaluate", headers=fund, json={"history": HISTORY})
    assert resp.status_code == 200, resp.text
    assert resp.json() == core(app, HISTORY)
    milestones = {p["milestone"] for p in resp.json()["payments"]}
    assert {"citizen_start", "job_13_weeks"} <= milestones
    job = [p for p in resp.json()["payments"] if p["milestone"] == "job_13_weeks"][0]
    assert job["trigger_date"] == "2019-08-11" and job["amount"] == "30000.00"


def test_evaluate_as_of(client, app, fund):
    resp = client.post(f"{URL}/evaluate", headers=fund, json={"history": HISTORY, "as_of": "2019-06-30"})
    assert resp.json() == core(app, HISTORY, date(2019, 6, 30))
    assert [p["milestone"] for p in resp.json()["payments"]] == ["citizen_start"]


def test_yaml_body_with_the_same_keys(client, app, fund):
    text = yaml.safe_dump({"history": HISTORY, "as_of": "2020-01-31"}, allow_unicode=True)
    resp = client.post(f"{URL}/evaluate", headers={**fund, "content-type": "application/yaml"}, content=text.encode())
    assert resp.status_code == 200, resp.text
    assert resp.json() == core(app, HISTORY, date(2020, 1, 31))


def test_a_fixture_file_posted_as_is(client, app, fund):
    path = FIXTURES / "participants" / "101" / "p-101-001.yaml"
    resp = client.post(f"{URL}/evaluate", headers={**fund, "content-type": "application/yaml"}, content=path.read_bytes())
    assert resp.status_code == 200, resp.text
    loaded = app.state.registry.get("dk-101-koebenhavn")
    expected = json.loads(to_json(evaluate(loaded, load_history(path, frozenset(loaded.codes.codes)))))
    assert resp.json() == expected and resp.json()["payments"]


def test_company_history_with_eligible_participants(client, app, fund):
    company = {
        "kind": "company", "company": "c-101-77", "municipality": "101", "size_band": "small", "partner": True,
        "start": "2019-03-01", "extracted": "2020-06-30", "phases": [{"phase": "growth_plan", "completed": "2019-09-30"}],
        "hires": [{"participant": "p-api-001", "date": "2019-09-02"}],
    }
    resp = client.post(f"{URL}/evaluate", headers=fund, json={"history": company, "eligible_participants": ["p-api-001"]})
    assert resp.status_code == 200, resp.text
    assert resp.json() == core(app, company, None, frozenset({"p-api-001"}))
    # Alone, the company's hire is unverified: no participant history shows the job, so it
    # does not pay, and the result says why (docs/semantics.md § 5, "Hires verified").
    assert "company_hire" not in {p["milestone"] for p in resp.json()["payments"]}
    why = next(m["why_not"] for m in resp.json()["milestones"] if m["milestone"] == "company_hire")
    assert "hires[0] (p-api-001, 2019-09-02): unverified: participant p-api-001's history is not in the cohort" in why


def test_a_company_hire_is_verified_by_the_participant_history_sent_beside_it(client, app, fund):
    company = {
        "kind": "company", "company": "c-101-77", "municipality": "101", "size_band": "small", "partner": True,
        "start": "2019-03-01", "extracted": "2020-06-30", "hires": [{"participant": "p-api-001", "date": "2019-09-02"}],
    }
    worker = {**HISTORY, "participant": "p-api-001", "extracted": "2020-06-30",
              "employment": [{"start": "2019-09-02", "hours_per_week": 30, "monthly_earnings": "20000", "employer": "c-101-77"}]}
    resp = client.post(f"{URL}/evaluate", headers=fund, json={"history": company, "eligible_participants": ["p-api-001"], "participants": [worker]})
    assert resp.status_code == 200, resp.text
    assert "company_hire" in {p["milestone"] for p in resp.json()["payments"]}
    # A company history among the participants is refused, with its place.
    resp = client.post(f"{URL}/evaluate", headers=fund, json={"history": company, "participants": [company]})
    assert resp.status_code == 422, resp.text
    assert "participants holds participant histories only" in resp.text


def test_the_hired_participants_eligibility_comes_from_their_own_histories_not_the_caller(client, app, fund):
    # A review's case: the caller's eligible_participants decided whose hire counted, so a
    # hire of an ineligible participant paid when listed, and an eligible one sent without
    # the list did not. Now each history in `participants` is evaluated, as in a cohort.
    company = {
        "kind": "company", "company": "c-101-77", "municipality": "101", "size_band": "small", "partner": True,
        "start": "2019-03-01", "extracted": "2020-06-30",
        "hires": [{"participant": "p-api-001", "date": "2019-09-02"}, {"participant": "p-api-002", "date": "2019-09-09"}],
    }
    job = {"hours_per_week": 30, "monthly_earnings": "20000", "employer": "c-101-77"}
    eligible = {**HISTORY, "participant": "p-api-001", "extracted": "2020-06-30", "employment": [{**job, "start": "2019-09-02"}]}
    too_old = {**eligible, "participant": "p-api-002", "birth_date": "1950-01-01", "employment": [{**job, "start": "2019-09-09"}]}
    assert core(app, too_old)["eligibility"]["eligible"] is False and core(app, eligible)["eligibility"]["eligible"] is True
    for listed in ([], ["p-api-001", "p-api-002"]):
        resp = client.post(f"{URL}/evaluate", headers=fund, json={"history": company, "eligible_participants": listed, "participants": [eligible, too_old]})
        assert resp.status_code == 200, resp.text
        hires = [(p["milestone"], p["trigger_date"]) for p in resp.json()["payments"] if p["milestone"] == "company_hire"]
        assert hires == [("company_hire", "2019-09-02")], listed
        why = next(m["why_not"] for m in resp.json()["milestones"] if m["milestone"] == "company_hire")
        assert "hires[1] (p-api-002, 2019-09-09): participant p-api-002 is not eligible under this agreement" in why


def test_cohort_equals_the_core(client, app, fund):
    second = {**HISTORY, "participant": "p-api-002", "enrolment": "2019-06-05", "employment": []}
    resp = client.post(f"{URL}/evaluate-cohort", headers=fund, json={"histories": [HISTORY, second], "as_of": "2020-03-31"})
    assert resp.status_code == 200, resp.text
    loaded = app.state.registry.get("dk-101-koebenhavn")
    codes = frozenset(loaded.codes.codes)
    hs = [history_from_data(d, Source(file="<request>", data=d), codes) for d in (HISTORY, second)]
    results = evaluate_cohort(loaded, hs, date(2020, 3, 31), workers=1)
    body = resp.json()
    assert body["results"] == [json.loads(to_json(r)) for r in results]
    assert body["total"] == str(total_of(results))
