"""The web workspace's fixtures: an app over the bundled contracts with a ledger that has claims in it.

København (101) and Aarhus (751) each have one settlement run recorded, so both
municipalities have claims; tokens are made as 'pbr token create' makes them.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pbr_rules.api import Settings, create_app
from pbr_rules.api.tokens import create_token
from pbr_rules.evaluation import load_checked_contract
from pbr_rules.language import load_cohorts
from pbr_rules.ledger import Ledger

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "contracts"
COHORTS = ROOT / "fixtures" / "cohorts"


def seed_ledger(url: str, secret: Path) -> dict[str, str]:
    """Record one run for København and one for Aarhus (60 histories each); a claim id of each."""
    ledger = Ledger(url, secret_file=secret)
    out = {}
    for code, name, cohort in (("101", "101-koebenhavn", "koebenhavn-1000.jsonl"), ("751", "751-aarhus", "aarhus-1000.jsonl")):
        k = load_checked_contract(CONTRACTS / "agreements" / f"{name}.yaml")
        hs = load_cohorts([COHORTS / cohort], frozenset(k.codes.codes))[:60]
        ledger.settle(k, hs, date(2021, 6, 30), "cli:test")
        out[code] = ledger.claims(contract_id=k.contract.id, state="due", limit=1)[0].payment_id
    ledger.close()
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("web")
    tokens = d / "tokens.json"
    w = {"dir": d, "tokens_file": tokens, "db": str(d / "ledger.db"), "web_secret": d / "web.key"}
    for name, role, muni in (("fund", "fund", None), ("auditor", "auditor", None), ("m101", "municipality", "101"), ("m751", "municipality", "751")):
        w[name], _ = create_token(tokens, role, muni)
    w["claims"] = seed_ledger(w["db"], d / "ledger.key")
    return w


@pytest.fixture(scope="module")
def app(world):
    import os

    os.environ["PBR_WEB_SECRET_FILE"] = str(world["web_secret"])
    os.environ["PBR_LEDGER_SECRET_FILE"] = str(world["dir"] / "ledger.key")
    settings = Settings.load({}, contracts=CONTRACTS, tokens_file=world["tokens_file"], database=world["db"], cohorts=COHORTS, max_simulation_runs=5)
    return create_app(settings)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def signed_in(app, token: str, base_url: str = "http://testserver") -> TestClient:
    c = TestClient(app, base_url=base_url, raise_server_exceptions=False)
    c.__enter__()
    page = c.get("/app/sign-in")
    resp = c.post("/app/sign-in", data={"token": token, "csrf": csrf_of(page.text)}, follow_redirects=False)
    assert resp.status_code == 303, resp.text
    return c
