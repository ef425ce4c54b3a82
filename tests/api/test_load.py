"""A bounded load test over a real 'pbr serve' (loopback, one worker, a few seconds).

One token floods the heavy cohort route from eight threads while health is polled: the
flood is answered 429 with Retry-After (one heavy request per token at a time), some
cohorts are evaluated, and every health check is answered. The only time bound is a
generous one on health (no speed target).
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from pbr_rules.api.tokens import create_token
from tests.serving import running_server

from .conftest import FIXTURES

FLOOD_SECONDS = 4.0
THREADS = 8


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("load")
    tokens = tmp / "tokens.json"
    token, _ = create_token(tokens, "fund")
    limits = {"PBR_MAX_HEAVY_PER_TOKEN": "1", "PBR_RATE_LIMIT_PER_MINUTE": "100000", "PBR_HEAVY_TIME_LIMIT_SECONDS": "60"}
    with running_server(tmp, tokens, args=("--workers", "1"), env=limits) as (base, _):
        yield {"base": base, "headers": {"Authorization": f"Bearer {token}"}}


def _cohort(n: int) -> dict:
    lines = (FIXTURES / "cohorts" / "koebenhavn-1000.jsonl").read_text(encoding="utf-8").splitlines()[:n]
    return {"histories": [json.loads(line) for line in lines]}


def test_a_flood_of_heavy_requests_gets_429s_while_health_answers(server):
    base, headers = server["base"], server["headers"]
    body = _cohort(80)
    stop = time.monotonic() + FLOOD_SECONDS

    def flood() -> list[tuple[int, str | None]]:
        out = []
        with httpx.Client(headers=headers, timeout=120) as c:
            while time.monotonic() < stop and len(out) < 500:  # bounded either way
                r = c.post(f"{base}/v1/contracts/dk-101-koebenhavn/evaluate-cohort", json=body)
                out.append((r.status_code, r.headers.get("retry-after")))
        return out

    health: list[tuple[int, float]] = []
    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(flood) for _ in range(THREADS)]
        with httpx.Client(timeout=30) as c:
            while time.monotonic() < stop and len(health) < 200:
                t0 = time.monotonic()
                r = c.get(f"{base}/v1/health")
                health.append((r.status_code, time.monotonic() - t0))
                time.sleep(0.1)
        answers = [a for f in futures for a in f.result(timeout=180)]
    statuses = [s for s, _ in answers]
    seen = f"{statuses.count(200)} evaluated, {statuses.count(429)} refused, health {[round(d, 2) for _, d in health]}"
    assert set(statuses) <= {200, 429}, seen
    assert statuses.count(200) >= 1 and statuses.count(429) >= THREADS - 1, seen  # evaluated, and the flood refused
    assert all(retry == "1" for s, retry in answers if s == 429)
    assert health and all(s == 200 for s, _ in health), seen
    assert max(d for _, d in health) < 20, seen  # generous: answered, not queued behind the cohorts
