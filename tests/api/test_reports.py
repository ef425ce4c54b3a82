"""Settlement, business case, rendering and diffs over HTTP: thin routes, same answers as the core."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from pbr_rules.evaluation.evaluator import evaluate_cohort
from pbr_rules.finance.cases import municipality_case
from pbr_rules.language.loader import load_contract
from pbr_rules.lawyers.diff import diff_contracts
from pbr_rules.lawyers.render import render_contract
from pbr_rules.models.history import ParticipantHistory
from pbr_rules.reports.text import to_json
from pbr_rules.settlement.settler import settle_results

from .conftest import HISTORY, assert_error_shape

ROOT = Path(__file__).resolve().parents[2]
KBH = ROOT / "contracts/agreements/101-koebenhavn.yaml"
AMENDMENT = ROOT / "fixtures/amendments/101-koebenhavn-tillaeg-3.yaml"


def _core_settlement(as_of: date):
    lc = load_contract(KBH)
    hs = [ParticipantHistory.model_validate(HISTORY)]
    return lc, hs, evaluate_cohort(lc, hs, as_of)


def test_settle_answers_as_the_core_does(client, fund):
    resp = client.post("/v1/contracts/dk-101-koebenhavn/settle", json={"histories": [HISTORY], "as_of": "2020-06-30"}, headers=fund)
    assert resp.status_code == 200, resp.text
    lc, hs, results = _core_settlement(date(2020, 6, 30))
    assert resp.text == to_json(settle_results(lc, hs, results, date(2020, 6, 30)))
    assert resp.json()["total"] != "0.00"


def test_a_caller_can_no_longer_supply_the_previous_settlement(client, fund):
    # the ledger finds the latest run itself: a forged or emptied 'previous' has nothing to act on
    first = client.post("/v1/contracts/dk-101-koebenhavn/settle", json={"histories": [HISTORY], "as_of": "2020-06-30"}, headers=fund).json()
    emptied = {**first, "lines": [], "changes": []}
    resp = client.post(
        "/v1/contracts/dk-101-koebenhavn/settle", json={"histories": [HISTORY], "as_of": "2020-07-31", "previous": emptied}, headers=fund
    )
    body = assert_error_shape(resp, 422)
    assert [e["path"] for e in body["errors"]] == ["previous"]
    assert "latest run" in body["errors"][0]["message"]


def test_auditors_may_not_settle_and_other_municipalities_get_403(client, auditor, m751):
    body = {"histories": [HISTORY], "as_of": "2020-06-30"}
    assert_error_shape(client.post("/v1/contracts/dk-101-koebenhavn/settle", json=body, headers=auditor), 403)
    a = client.post("/v1/contracts/dk-101-koebenhavn/settle", json=body, headers=m751)
    b = client.post("/v1/contracts/dk-999-nowhere/settle", json=body, headers=m751)
    assert_error_shape(a, 403)
    assert {**a.json(), "instance": ""} == {**b.json(), "instance": ""}  # only the request id differs


def test_settle_needs_an_as_of_date(client, fund):
    body = assert_error_shape(client.post("/v1/contracts/dk-101-koebenhavn/settle", json={"histories": [HISTORY]}, headers=fund), 422)
    assert [e["path"] for e in body["errors"]] == ["as_of"]


def test_business_case_answers_as_the_core_does(client, m101):
    resp = client.post(
        "/v1/contracts/dk-101-koebenhavn/business-case", json={"histories": [HISTORY], "as_of": "2020-06-30", "discount_rate": "0.04"}, headers=m101
    )
    assert resp.status_code == 200, resp.text
    lc, hs, _ = _core_settlement(date(2020, 6, 30))
    case, _ = municipality_case(lc, hs, date(2020, 6, 30), Decimal("0.04"))
    assert resp.text == to_json(case)


def test_render_is_readable_by_every_role(client, auditor):
    md = client.get("/v1/contracts/dk-101-koebenhavn/render", headers=auditor)
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    assert md.text == render_contract(load_contract(KBH), "md")
    html = client.get("/v1/contracts/dk-101-koebenhavn/render?format=html", headers=auditor)
    assert html.headers["content-type"].startswith("text/html") and "<html" in html.text


def test_diff_of_a_proposed_amendment(client, fund):
    text = AMENDMENT.read_text(encoding="utf-8").replace("../../contracts/templates/", "../templates/")
    resp = client.post("/v1/contracts/dk-101-koebenhavn/diff", content=text.encode(), headers={**fund, "Content-Type": "application/yaml"})
    assert resp.status_code == 200, resp.text
    expected = diff_contracts(load_contract(KBH), load_contract(AMENDMENT)).model_dump(mode="json")
    got = resp.json()
    assert [c["what"] for c in got["changes"]] == [c["what"] for c in expected["changes"]]


def test_diff_of_a_broken_proposal_is_a_422_with_lines(client, fund):
    resp = client.post("/v1/contracts/dk-101-koebenhavn/diff", content=b"kind: agreement\ntarifs: {}\n", headers={**fund, "Content-Type": "application/yaml"})
    body = assert_error_shape(resp, 422)
    assert any(e["line"] for e in body["errors"])


def test_simulate_is_the_cli_simulation_and_a_municipality_sees_its_own(client, fund, m101):
    from pbr_rules.finance.simulation import simulate

    resp = client.post("/v1/simulate", json={"runs": 3, "seed": 7}, headers=fund)
    assert resp.status_code == 200, resp.text
    assert resp.text == to_json(simulate(ROOT / "contracts/simulation/programme.yaml", runs=3, seed=7, workers=1))
    own = client.post("/v1/simulate", json={"runs": 3, "seed": 7}, headers=m101).json()
    assert [m["code"] for m in own["municipalities"]] == ["101"] and own["programme"] is None


def test_simulate_runs_are_limited(client, fund):
    body = assert_error_shape(client.post("/v1/simulate", json={"runs": 100000}, headers=fund), 422)
    assert body["errors"][0]["path"] == "runs"


def test_a_participant_sent_twice_is_refused_not_paid_twice(client, fund):
    resp = client.post("/v1/contracts/dk-101-koebenhavn/settle", json={"histories": [HISTORY, HISTORY], "as_of": "2020-06-30"}, headers=fund)
    body = assert_error_shape(resp, 422)
    assert any("appears twice in the cohort" in e["message"] for e in body["errors"])
