"""Shared fixtures: an app over the bundled contracts, with tokens made the way 'pbr token create' makes them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pbr_rules.api import Settings, create_app
from pbr_rules.api.tokens import create_token

ROOT = Path(__file__).resolve().parents[2]


def _bundled_agreements() -> int:
    """The agreements the service on contracts/ must serve: every file of kind agreement there
    (the three Danish agreements and the illustrative examples), counted from the files."""
    return sum(1 for f in (ROOT / "contracts").rglob("*.yaml") if re.search(r"(?m)^kind: agreement\s*$", f.read_text(encoding="utf-8")))


BUNDLED = _bundled_agreements()
CONTRACTS = ROOT / "contracts"
FIXTURES = ROOT / "fixtures"

# A small participant of København (see contracts/templates/vaekstpartnerskaber.yaml for the
# milestones): enrolled 2019-04-03 after 71 weeks on kontanthjælp, an ordinary 20 h/week job
# from Wednesday 2019-05-08: citizen_start, job_13_weeks (13 of 16 weeks) and more are met.
HISTORY = {
    "kind": "participant",
    "participant": "p-api-001",
    "municipality": "101",
    "birth_date": "1985-03-01",
    "target_group": "cash_benefit",
    "enrolment": "2019-04-03",
    "extracted": "2020-06-30",
    "benefits": [{"weeks": "2018-W01..2019-W19", "code": "kontanthjaelp"}],
    "employment": [
        {"start": "2019-05-08", "hours_per_week": 20, "monthly_earnings": "12000", "employer": "Netto", "kind": "ordinary"}
    ],
}


@pytest.fixture(scope="session")
def tokens(tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("tokens") / "tokens.json"
    out = {"file": path}
    out["fund"], _ = create_token(path, "fund")
    out["auditor"], _ = create_token(path, "auditor")
    out["m101"], _ = create_token(path, "municipality", "101")
    out["m751"], _ = create_token(path, "municipality", "751")
    return out


def make_settings(tokens: dict, **overrides) -> Settings:
    # the suite sends many requests with one token: the rate limit is tested where it is set low (test_fair_use)
    values = {"contracts": CONTRACTS, "tokens_file": tokens["file"], "max_simulation_runs": 5, "rate_limit_per_minute": 1_000_000, **overrides}
    return Settings.load({}, **values)


@pytest.fixture(scope="session")
def app(tokens, tmp_path_factory):
    return create_app(make_settings(tokens, database=str(tmp_path_factory.mktemp("ledger") / "api.db")))


@pytest.fixture(scope="session")
def client(app):
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def fund(tokens):
    return auth(tokens["fund"])


@pytest.fixture
def auditor(tokens):
    return auth(tokens["auditor"])


@pytest.fixture
def m101(tokens):
    return auth(tokens["m101"])


@pytest.fixture
def m751(tokens):
    return auth(tokens["m751"])


PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "errors"}


def assert_error_shape(resp, status: int) -> dict:
    """An RFC 9457 problem: application/problem+json, the five members and field errors with paths, never the input."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].split(";")[0] == "application/problem+json", resp.headers["content-type"]
    body = resp.json()
    assert set(body) >= PROBLEM_KEYS, body
    assert body["status"] == status and body["type"].startswith("urn:pbr-rules:problem:")
    assert isinstance(body["title"], str) and isinstance(body["detail"], str) and body["detail"]
    assert body["instance"] == f"urn:pbr-rules:request:{resp.headers['x-request-id']}"
    assert isinstance(body["errors"], list)
    for e in body["errors"]:
        assert {"path", "message", "hint"} <= set(e)
        assert "input" not in e
    return body
