"""Limits and errors: body size (413 before parsing), participants per cohort, records per history; no 500s."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from pbr_rules.api import create_app

from .conftest import HISTORY, assert_error_shape, make_settings

URL = "/v1/contracts/dk-101-koebenhavn"


@pytest.fixture(scope="module")
def small(tokens):
    app = create_app(make_settings(tokens, max_body_bytes=5_000, max_participants=3, max_events_per_history=10))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def h(tokens):
    return {"Authorization": f"Bearer {tokens['fund']}"}


def test_body_over_the_limit_is_413_with_content_length(small, h):
    big = {"history": {**HISTORY, "employment": [HISTORY["employment"][0]] * 200}}
    resp = small.post(f"{URL}/evaluate", headers=h, json=big)
    assert_error_shape(resp, 413)


def test_body_over_the_limit_is_413_when_streamed_without_content_length(small, h):
    def chunks():
        for _ in range(20):
            yield b" " * 1000

    resp = small.post(f"{URL}/evaluate", headers={**h, "content-type": "application/json"}, content=chunks())
    assert "content-length" not in resp.request.headers
    assert_error_shape(resp, 413)
    resp = small.post("/v1/contracts/validate", headers={**h, "content-type": "text/plain"}, content=chunks())
    assert_error_shape(resp, 413)


def test_too_many_participants(small, h):
    resp = small.post(f"{URL}/evaluate-cohort", headers=h, json={"histories": [HISTORY] * 4})
    body = assert_error_shape(resp, 422)
    (err,) = body["errors"]
    assert err["path"] == "histories" and "4 histories" in err["message"] and "limit is 3" in err["message"]


def test_too_many_events_in_a_history(small, h):
    history = {**HISTORY, "benefits": [{"weeks": f"2018-W{w:02d}", "code": "kontanthjaelp"} for w in range(1, 12)]}
    resp = small.post(f"{URL}/evaluate", headers=h, json={"history": history})
    body = assert_error_shape(resp, 422)
    (err,) = body["errors"]
    assert err["path"] == "history.benefits" and "limit is 10" in err["message"]
    resp = small.post(f"{URL}/evaluate-cohort", headers=h, json={"histories": [HISTORY, history]})
    (err,) = assert_error_shape(resp, 422)["errors"]
    assert err["path"] == "histories[1].benefits"


@pytest.mark.parametrize(
    "content_type, body, status",
    [
        ("application/json", b"{not json", 422),
        ("application/json", b"", 422),
        ("application/json", b"[]", 422),
        ("application/json", b'"text"', 422),
        ("application/json", b'{"history": {"participant": NaN}}', 422),
        ("application/json", b"\xff\xfe", 422),
        ("application/json", b"[" * 5000 + b"]" * 5000, 422),
        ("application/yaml", b"history: [unclosed", 422),
        ("application/yaml", b"history: !!python/object:os.system {}", 422),
        ("text/csv", b"a,b", 415),
        ("", b"{}", 415),
    ],
)
def test_bad_bodies_get_json_errors_not_500(client, h, content_type, body, status):
    headers = {**h, "content-type": content_type} if content_type else h
    resp = client.post(f"{URL}/evaluate", headers=headers, content=body)
    assert_error_shape(resp, status)


def test_unknown_key_gets_a_suggestion(client, h):
    resp = client.post(f"{URL}/evaluate", headers=h, json={"hitsory": HISTORY})
    errs = assert_error_shape(resp, 422)["errors"]
    assert any(e["path"] == "hitsory" and "history" in e["hint"] for e in errs)


def test_as_of_after_extraction_is_refused_with_422(client, h):
    resp = client.post(f"{URL}/evaluate", headers=h, json={"history": HISTORY, "as_of": "2021-01-01"})
    body = assert_error_shape(resp, 422)
    assert "extraction date" in body["detail"]


def test_unknown_route_and_method_are_json(client, h):
    assert_error_shape(client.get("/v1/nowhere", headers=h), 404)
    assert_error_shape(client.delete("/v1/contracts", headers=h), 405)


def test_a_bug_is_a_json_500_with_the_request_id(tokens, monkeypatch):
    import pbr_rules.api.routes.evaluate as ev

    def boom(*a, **k):
        raise RuntimeError("secret detail 010190-1234")

    monkeypatch.setattr(ev, "evaluate", boom)
    app = create_app(make_settings(tokens))
    with TestClient(app, raise_server_exceptions=False) as c:
        resp = c.post(f"{URL}/evaluate", headers={"Authorization": f"Bearer {tokens['fund']}"}, json={"history": HISTORY})
    body = assert_error_shape(resp, 500)
    assert resp.headers["x-request-id"] in body["detail"]
    assert "secret" not in resp.text


def test_huge_whole_numbers_are_422_not_500(client, h):
    """Regression (found by schemathesis): a 30-digit integer amount raised decimal.InvalidOperation."""
    history = {**HISTORY, "employment": [{**HISTORY["employment"][0], "monthly_earnings": 10**30}]}
    for url, body in [(f"{URL}/evaluate", {"history": history}), (f"{URL}/evaluate-cohort", {"histories": [history]})]:
        resp = client.post(url, headers=h, json=body)
        errs = assert_error_shape(resp, 422)["errors"]
        assert errs[0]["path"].endswith("employment[0].monthly_earnings")
