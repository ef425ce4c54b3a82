"""The ledger over HTTP: settlements recorded, claims by role, idempotency, the audit log, the access log.

Each test gets an app over a new ledger (the session app's ledger is shared by other tests).
"""

from __future__ import annotations

import copy
import logging

import pytest
from fastapi.testclient import TestClient

from pbr_rules.api import create_app
from tests.api.conftest import HISTORY, assert_error_shape, auth, make_settings

START = "dk-101-koebenhavn/p-api-001/citizen_start/1"


@pytest.fixture
def api(tokens, tmp_path):
    app = create_app(make_settings(tokens, database=str(tmp_path / "ledger.db")))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def body(as_of="2020-06-30", histories=None):
    return {"contract": "dk-101-koebenhavn", "as_of": as_of, "histories": histories or [HISTORY]}


def test_recording_a_settlement_then_settling_again_owes_nothing_new(api, tokens):
    fund = auth(tokens["fund"])
    first = api.post("/v1/settlements", json=body(), headers=fund)
    assert first.status_code == 201, first.text
    run = first.json()["run"]
    assert (run["id"], run["seq"], run["parent_id"], run["actor"]) == (1, 1, None, f"token:{_token_id(tokens, 'fund')}")
    assert first.json()["settlement"]["due_now"] == first.json()["settlement"]["total"] != "0.00"
    again = api.post("/v1/settlements", json=body(), headers=fund).json()
    assert (again["run"]["parent_id"], again["settlement"]["due_now"], again["claims"]["new"]) == (1, "0.00", 0)
    listed = api.get("/v1/settlements", headers=fund).json()["runs"]
    assert [r["id"] for r in listed] == [1, 2]
    one = api.get("/v1/settlements/1", headers=auth(tokens["auditor"])).json()
    assert one["settlement"]["total"] == first.json()["settlement"]["total"]


def test_the_forged_previous_attack_has_nothing_to_forge(api, tokens):
    """Issue #10: an emptied 'previous' made paid payments due again. Now 'previous' is refused,
    and the ledger compares with its own latest run, so paid claims stay paid."""
    fund, m101 = auth(tokens["fund"]), auth(tokens["m101"])
    first = api.post("/v1/settlements", json=body(), headers=m101).json()
    forged = {**body("2020-07-31"), "previous": {**first["settlement"], "lines": [], "changes": []}}
    refused = api.post("/v1/settlements", json=forged, headers=m101)
    assert assert_error_shape(refused, 422)["errors"][0]["path"] == "previous"
    api.post(f"/v1/claims/{START}/approve", headers=m101)
    api.post(f"/v1/claims/{START}/pay", headers=fund)
    later = api.post("/v1/settlements", json=body("2020-07-31"), headers=m101).json()
    assert later["settlement"]["due_now"] == "0.00"
    assert api.get(f"/v1/claims/{START}", headers=fund).json()["state"] == "paid"


def test_roles_on_claims(api, tokens):
    fund, m101, m751, auditor = (auth(tokens[k]) for k in ("fund", "m101", "m751", "auditor"))
    api.post("/v1/settlements", json=body(), headers=fund)
    assert api.post(f"/v1/claims/{START}/approve", headers=fund).status_code == 403  # the municipality approves
    assert api.post(f"/v1/claims/{START}/approve", headers=auditor).status_code == 403  # auditors write nothing
    other = api.post(f"/v1/claims/{START}/approve", headers=m751)
    missing = api.post("/v1/claims/dk-101-koebenhavn/nobody/x/1/approve", headers=m751)
    same = assert_error_shape(api.post(f"/v1/claims/{START}/dispute", json={"reason": "x"}, headers=m751), 403)
    assert other.status_code == 403 and {**other.json(), "instance": ""} == {**same, "instance": ""}  # the same answer but for the request id
    # Under another municipality's agreement, a claim that does not exist is the same 403 as one
    # that does: whether Odense's participant reached a milestone is not København's to learn.
    assert missing.status_code == 403 and {**missing.json(), "instance": ""} == {**same, "instance": ""}
    assert api.get("/v1/claims/dk-101-koebenhavn/nobody/x/1", headers=m751).status_code == 403
    assert api.post("/v1/claims/dk-101-koebenhavn/nobody/x/1/approve", headers=m101).status_code == 403  # a municipality: 403 for any claim not its own
    assert api.get("/v1/claims/dk-101-koebenhavn/nobody/x/1", headers=fund).status_code == 404
    ok = api.post(f"/v1/claims/{START}/approve", headers=m101)
    assert ok.status_code == 200 and ok.json()["state"] == "approved"
    assert api.post(f"/v1/claims/{START}/pay", headers=m101).status_code == 403  # the fund pays
    paid = api.post(f"/v1/claims/{START}/pay", headers=fund).json()
    assert paid["state"] == "paid" and [e["action"] for e in paid["events"]] == ["settle", "approve", "pay"]
    assert api.get("/v1/claims", headers=m751).json()["claims"] == []  # another municipality sees none
    assert api.get(f"/v1/claims/{START}", headers=m751).status_code == 403
    assert api.get("/v1/audit", headers=m101).status_code == 403
    assert len(api.get("/v1/claims?state=paid", headers=auditor).json()["claims"]) == 1


def test_a_transition_not_allowed_is_409_naming_the_state(api, tokens):
    fund = auth(tokens["fund"])
    api.post("/v1/settlements", json=body(), headers=fund)
    resp = api.post(f"/v1/claims/{START}/pay", headers=fund)
    assert assert_error_shape(resp, 409)["detail"] == f"claim {START} is due: cannot pay it (pay applies to a claim that is approved)"
    resp = api.post(f"/v1/claims/{START}/reject", json={}, headers=fund)
    assert assert_error_shape(resp, 422)["detail"].startswith("give a reason to reject a claim")
    assert api.post(f"/v1/claims/{START}/reject", json={"reason": "failed verification"}, headers=fund).json()["state"] == "rejected"


def test_idempotency_key_replays_the_first_answer_and_refuses_another_request(api, tokens):
    fund = {**auth(tokens["fund"]), "Idempotency-Key": "settle-2020-06"}
    first = api.post("/v1/settlements", json=body(), headers=fund)
    second = api.post("/v1/settlements", json=body(), headers=fund)
    assert second.status_code == 201 and second.headers.get("Idempotent-Replayed") == "true"
    assert second.content == first.content
    assert [r["id"] for r in api.get("/v1/settlements", headers=fund).json()["runs"]] == [1]  # recorded once
    changed = copy.deepcopy(body())
    changed["as_of"] = "2020-07-31"
    conflict = api.post("/v1/settlements", json=changed, headers=fund)
    assert "used before with a different request" in assert_error_shape(conflict, 409)["detail"]
    m101 = {**auth(tokens["m101"]), "Idempotency-Key": "approve-1"}
    a = api.post(f"/v1/claims/{START}/approve", headers=m101)
    b = api.post(f"/v1/claims/{START}/approve", headers=m101)  # a retry, not a second approval (which would be 409)
    assert (a.status_code, b.status_code, b.headers.get("Idempotent-Replayed")) == (200, 200, "true")


def test_audit_pages_through_the_chain(api, tokens):
    fund = auth(tokens["fund"])
    api.post("/v1/settlements", json=body(), headers=fund)
    api.post(f"/v1/claims/{START}/dispute", json={"reason": "checking"}, headers=fund)
    page = api.get("/v1/audit?limit=2", headers=auth(tokens["auditor"])).json()
    assert [e["kind"] for e in page["events"]] == ["contract.loaded", "run.recorded"] and page["next_after"] == 2
    rest = api.get("/v1/audit?after=2", headers=fund).json()["events"]
    assert [e["kind"] for e in rest] == ["claim.dispute"] and rest[0]["prev_hash"] == page["events"][1]["hash"]


def test_evaluations_are_logged_with_the_token_id_and_the_access_log_names_it(api, tokens, caplog):
    m101 = auth(tokens["m101"])
    with caplog.at_level(logging.INFO, logger="pbr_rules.api.access"):
        resp = api.post("/v1/contracts/dk-101-koebenhavn/evaluate", json={"history": HISTORY, "as_of": "2020-06-30"}, headers=m101)
    assert resp.status_code == 200
    token_id = _token_id(tokens, "m101")
    assert any(f"token={token_id}" in r.getMessage() for r in caplog.records)
    assert tokens["m101"] not in caplog.text
    events = api.get("/v1/audit", headers=auth(tokens["fund"])).json()["events"]
    assert events[-1]["kind"] == "decisions.logged" and events[-1]["actor"] == f"token:{token_id}"


def _token_id(tokens, name: str) -> str:
    from pbr_rules.api.tokens import TokenStore

    return TokenStore(tokens["file"]).lookup(tokens[name]).id
