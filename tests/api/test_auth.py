"""Bearer tokens and roles: 401 without a valid token, municipality scope, auditor read-only."""

from __future__ import annotations

import logging
import os
import stat
from typing import Annotated

import pytest
from fastapi import Depends
from fastapi.testclient import TestClient

from pbr_rules.api import SettingsInvalid, create_app
from pbr_rules.api.auth import Principal, require_role
from pbr_rules.api.tokens import create_token, read_tokens
from pbr_rules.cli import main as pbr_main

from .conftest import BUNDLED, HISTORY, assert_error_shape, auth, make_settings


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic Zm9vOmJhcg=="}, {"Authorization": "Bearer"}])
def test_missing_or_wrong_token_is_401_with_bearer_challenge(client, headers):
    for method, url in [("GET", "/v1/contracts"), ("GET", "/v1/contracts/dk-101-koebenhavn"), ("POST", "/v1/contracts/dk-101-koebenhavn/evaluate")]:
        resp = client.request(method, url, headers=headers, json={"history": HISTORY})
        assert_error_shape(resp, 401)
        assert resp.headers["www-authenticate"].startswith("Bearer")


def test_health_and_ready_need_no_token(client):
    assert client.get("/v1/health").json() == {"status": "ok"}
    assert client.get("/v1/ready").json() == {"status": "ready", "contracts": BUNDLED}


def test_municipality_lists_only_its_own_contracts(client, m101, fund):
    assert [c["id"] for c in client.get("/v1/contracts", headers=m101).json()["contracts"]] == ["dk-101-koebenhavn"]
    assert len(client.get("/v1/contracts", headers=fund).json()["contracts"]) == BUNDLED


def test_other_municipality_gets_the_same_403_whether_or_not_the_contract_exists(client, m751):
    answers = []
    for cid in ("dk-101-koebenhavn", "dk-999-does-not-exist"):
        got = client.get(f"/v1/contracts/{cid}", headers=m751)
        ev = client.post(f"/v1/contracts/{cid}/evaluate", headers=m751, json={"history": HISTORY})
        co = client.post(f"/v1/contracts/{cid}/evaluate-cohort", headers=m751, json={"histories": [HISTORY]})
        for r in (got, ev, co):
            assert_error_shape(r, 403)
        answers.append(tuple(r.content.replace(r.headers["x-request-id"].encode(), b"<id>") for r in (got, ev, co)))
    assert answers[0] == answers[1]
    assert len({a for pair in answers for a in pair}) == 1  # one body for every 403
    assert b"dk-101" not in answers[0][0] and b"dk-999" not in answers[1][0]


def test_municipality_reads_and_evaluates_its_own_contract(client, m101):
    assert client.get("/v1/contracts/dk-101-koebenhavn", headers=m101).status_code == 200
    assert client.post("/v1/contracts/dk-101-koebenhavn/evaluate", headers=m101, json={"history": HISTORY}).status_code == 200


def test_fund_gets_404_for_an_unknown_contract(client, fund, auditor):
    for h in (fund, auditor):
        assert_error_shape(client.get("/v1/contracts/dk-999-nowhere", headers=h), 404)
        assert_error_shape(client.post("/v1/contracts/dk-999-nowhere/evaluate", headers=h, json={"history": HISTORY}), 404)


def test_auditor_can_read_and_evaluate(client, auditor):
    assert client.get("/v1/contracts", headers=auditor).status_code == 200
    assert client.get("/v1/contracts/dk-461-odense", headers=auditor).status_code == 200
    r = client.post("/v1/contracts/dk-101-koebenhavn/evaluate", headers=auditor, json={"history": HISTORY})
    assert r.status_code == 200 and r.json()["payments"]
    r = client.post("/v1/contracts/dk-101-koebenhavn/evaluate-cohort", headers=auditor, json={"histories": [HISTORY]})
    assert r.status_code == 200


def test_require_role_is_a_reusable_dependency(app, tokens):
    """Later routes (settlement) reuse require_role: an auditor is refused with 403, fund passes."""
    extra = create_app(make_settings(tokens))

    @extra.post("/v1/settlements-probe")
    def probe(p: Annotated[Principal, Depends(require_role("fund", "municipality"))]) -> dict:
        """A probe route."""
        return {"role": p.role}

    with TestClient(extra) as c:
        assert_error_shape(c.post("/v1/settlements-probe", headers=auth(tokens["auditor"])), 403)
        assert c.post("/v1/settlements-probe", headers=auth(tokens["fund"])).json() == {"role": "fund"}
        assert_error_shape(c.post("/v1/settlements-probe"), 401)
    with pytest.raises(ValueError):
        require_role("admin")


def test_token_create_stores_only_the_hash_atomically_with_mode_0600(tmp_path, capsys):
    path = tmp_path / "t.json"
    assert pbr_main(["token", "create", "--role", "municipality", "--municipality", "101", "--tokens-file", str(path)]) == 0
    token = capsys.readouterr().out.strip()
    assert len(token) >= 43
    text = path.read_text()
    assert token not in text
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    (rec,) = read_tokens(path)
    assert rec.role == "municipality" and rec.municipality == "101" and rec.id.startswith("t-") and rec.created
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.json", "t.json.lock"]  # no temp file left behind; the lock stays
    assert stat.S_IMODE(os.stat(tmp_path / "t.json.lock").st_mode) == 0o600
    assert pbr_main(["token", "create", "--role", "municipality", "--tokens-file", str(path)]) == 2
    assert pbr_main(["token", "create", "--role", "auditor", "--municipality", "101", "--tokens-file", str(path)]) == 2


def test_new_tokens_work_without_a_restart(client, tokens):
    token, _ = create_token(tokens["file"], "auditor")
    assert client.get("/v1/contracts", headers=auth(token)).status_code == 200


def test_production_refuses_to_start_without_tokens(tmp_path, capsys):
    missing = tmp_path / "none.json"
    with pytest.raises(SettingsInvalid, match="production"):
        make_settings({"file": missing}, production=True)
    assert pbr_main(["serve", "--production", "--tokens-file", str(missing)]) == 2
    assert "refusing to start" in capsys.readouterr().err
    dev = tmp_path / "dev.json"
    create_token(dev, "fund", development=True)
    with pytest.raises(SettingsInvalid, match="development token"):
        make_settings({"file": dev}, production=True)
    os.environ.pop("PBR_PRODUCTION", None)


def test_settings_refuse_bad_values(tokens):
    with pytest.raises(SettingsInvalid, match="PBR_MAX_BODY_BYTES"):
        make_settings(tokens, max_body_bytes=0)
    with pytest.raises(SettingsInvalid, match="PBR_CONTRACTS"):
        make_settings(tokens, contracts="/nonexistent")
    with pytest.raises(SettingsInvalid, match="PBR_PRODUCTION"):
        make_settings(tokens, production="maybe")


def test_logs_hold_neither_tokens_nor_ids_nor_paths(client, tokens, caplog):
    caplog.set_level(logging.DEBUG)
    h = auth(tokens["fund"])
    client.post("/v1/contracts/dk-101-koebenhavn/evaluate?x=secret-query", headers=h, json={"history": HISTORY})
    client.get("/v1/contracts/dk-101-koebenhavn", headers=auth("wrong-token-value"))
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("pbr_rules"))
    assert "route=/v1/contracts/{contract_id}/evaluate status=200" in text
    assert "route=/v1/contracts/{contract_id} status=401" in text
    for secret in (tokens["fund"], "wrong-token-value", "p-api-001", "secret-query", "kontanthjaelp"):
        assert secret not in text


def test_every_response_has_a_request_id(client, fund):
    r = client.get("/v1/contracts", headers={**fund, "X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    assert len(client.get("/v1/nowhere").headers["x-request-id"]) == 16
