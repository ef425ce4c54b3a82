"""Property-based tests of the whole API against its own OpenAPI document (schemathesis).

Every operation gets at least 100 generated requests, authenticated with a fund token;
no answer may be a 5xx and every answer must conform to the schema the app publishes.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from pbr_rules.api import create_app
from pbr_rules.api.tokens import create_token

from .conftest import make_settings

# Built at import: schemathesis collects one test per operation from the schema.
_TOKENS = Path(tempfile.mkdtemp(prefix="pbr-schemathesis-")) / "tokens.json"
FUND_TOKEN, _ = create_token(_TOKENS, "fund")
# At most one simulation run per request: schemathesis calls every operation 100 times.
app = create_app(make_settings({"file": _TOKENS}, max_simulation_runs=1))
with TestClient(app):  # runs the lifespan: contracts loaded and compiled once
    pass

CONTRACT_IDS = sorted(app.state.registry.by_id)
schema = schemathesis.openapi.from_asgi("/openapi.json", app)
ALL_ROUTES = {(route.path, method) for route in app.routes for method in getattr(route, "methods", ()) if route.path.startswith("/v1")}


def test_every_route_is_in_the_schema_schemathesis_generates_from():
    """Every /v1 route (the simulation included) is an operation schemathesis calls below."""
    documented = {(path, method.upper()) for path, item in app.openapi()["paths"].items() for method in item}
    assert ("/v1/simulate", "POST") in documented
    assert ALL_ROUTES <= documented | {(p, "HEAD") for p, _ in ALL_ROUTES}


@schema.parametrize()
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), print_blob=True)
def test_api_never_fails_and_matches_its_schema(case):
    # Random ids would almost always be 404: aim four in five requests at a real contract.
    if case.path_parameters and "contract_id" in case.path_parameters:
        generated = str(case.path_parameters["contract_id"])
        pick = sum(generated.encode()) % 5
        if pick < len(CONTRACT_IDS) + 1:
            case.path_parameters["contract_id"] = CONTRACT_IDS[pick % len(CONTRACT_IDS)]
    case.call_and_validate(
        headers={"Authorization": f"Bearer {FUND_TOKEN}"},
        checks=[not_a_server_error, response_schema_conformance],
    )
