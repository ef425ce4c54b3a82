"""Fair use (issue 12, item 6): a request rate per token, concurrent heavy requests per token, a time limit.

Heavy work is held on an Event instead of timed, so the tests do not depend on the
machine's speed: the blocked request is provably still running when the next one comes.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

import pbr_rules.api.routes.evaluate as evaluate_route
from pbr_rules.api import create_app
from pbr_rules.api.fairuse import FairUse
from pbr_rules.api.tokens import create_token

from .conftest import HISTORY, assert_error_shape, auth, make_settings

URL = "/v1/contracts/dk-101-koebenhavn"


def test_the_rate_bucket_refills_continuously():
    f = FairUse(rate_limit_per_minute=6, max_heavy_per_token=1, heavy_time_limit_seconds=1)
    for _ in range(6):
        f.check_rate("t-a", now=100.0)  # a burst of the whole minute's six
    with pytest.raises(Exception) as err:
        f.check_rate("t-a", now=100.0)
    assert err.value.status == 429 and err.value.headers["Retry-After"] == "10"  # 6 a minute: one every 10 s
    f.check_rate("t-b", now=100.0)  # another token has its own bucket
    f.check_rate("t-a", now=110.0)  # ten seconds later, one more
    with pytest.raises(Exception):
        f.check_rate("t-a", now=112.0)


@pytest.fixture
def limited(tmp_path):
    path = tmp_path / "tokens.json"
    a, _ = create_token(path, "fund")
    b, _ = create_token(path, "fund")
    app = create_app(make_settings({"file": path}, rate_limit_per_minute=3, max_heavy_per_token=1, heavy_time_limit_seconds=0.5))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c, auth(a), auth(b)


def test_over_the_rate_a_token_gets_429_with_retry_after_and_others_and_health_do_not(limited):
    c, a, b = limited
    assert [c.get("/v1/contracts", headers=a).status_code for _ in range(3)] == [200, 200, 200]
    resp = c.get("/v1/contracts", headers=a)
    body = assert_error_shape(resp, 429)
    assert body["type"] == "urn:pbr-rules:problem:too-many-requests" and int(resp.headers["retry-after"]) >= 1
    assert "3 requests in a minute" in body["detail"]
    assert c.get("/v1/contracts", headers=b).status_code == 200
    assert [c.get("/v1/health").status_code for _ in range(10)] == [200] * 10


def test_a_second_heavy_request_of_the_same_token_is_429_and_a_slow_one_is_cut_off_with_503(limited, monkeypatch):
    c, a, b = limited
    release = threading.Event()
    entered = threading.Event()
    real = evaluate_route.evaluate_cohort

    def held(*args, **kwargs):
        entered.set()
        release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(evaluate_route, "evaluate_cohort", held)
    body = {"histories": [HISTORY]}
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(c.post, f"{URL}/evaluate-cohort", headers=a, json=body)
        assert entered.wait(30)
        second = c.post(f"{URL}/evaluate-cohort", headers=a, json=body)
        s = assert_error_shape(second, 429)
        assert second.headers["retry-after"] == "1" and "limit is 1 at once" in s["detail"]
        slow = first.result(timeout=30)  # the time limit (0.5 s) passes while the work is held
        t = assert_error_shape(slow, 503)
        assert t["type"] == "urn:pbr-rules:problem:time-limit" and slow.headers["retry-after"] == "1"
        # the abandoned work still runs: the token's slot stays taken, the other token is free
        assert_error_shape(c.post(f"{URL}/settle", headers=a, json={**body, "as_of": "2020-06-30"}), 429)
        assert c.get("/v1/health").status_code == 200
        release.set()
    fair_use = c.app.state.fair_use
    token_id = c.app.state.tokens.lookup(a["Authorization"].split()[1]).id
    for _ in range(600):  # bounded: the released work ends within a second or two
        if fair_use.heavy_running(token_id) == 0:
            break
        threading.Event().wait(0.05)
    assert fair_use.heavy_running(token_id) == 0  # the slot is freed when the work stops
