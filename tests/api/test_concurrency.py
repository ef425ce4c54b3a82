"""A real 'pbr serve' with two worker processes: concurrent evaluations equal the same requests one by one."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import httpx
import pytest

from pbr_rules.api.tokens import create_token
from tests.serving import running_server

from .conftest import BUNDLED, FIXTURES, HISTORY


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    tokens = tmp / "tokens.json"
    token, _ = create_token(tokens, "fund")
    with running_server(tmp, tokens, args=("--workers", "2")) as (base, proc):
        yield {"base": base, "headers": {"Authorization": f"Bearer {token}"}, "token": token, "proc": proc}


def _histories(n: int) -> list[dict]:
    out = []
    for i in range(n):
        enrol = date(2019, 3, 4) + timedelta(days=7 * (i % 20) + i % 5)
        job = enrol + timedelta(days=14 + 3 * (i % 7))
        out.append(
            {
                **HISTORY,
                "participant": f"p-conc-{i:03d}",
                "enrolment": enrol.isoformat(),
                "extracted": "2021-06-30",
                "benefits": [{"weeks": "2018-W01..2019-W08", "code": "kontanthjaelp"}],
                "employment": [
                    {"start": job.isoformat(), "hours_per_week": 10 + (i % 6) * 5, "monthly_earnings": str(8000 + 500 * (i % 9)), "employer": "Netto"}
                ],
            }
        )
    return out


def test_fifty_concurrent_evaluations_equal_one_by_one(server):
    url = f"{server['base']}/v1/contracts/dk-101-koebenhavn/evaluate"
    bodies = [{"history": h} for h in _histories(50)]
    with httpx.Client(headers=server["headers"], timeout=60) as c:
        sequential = [c.post(url, json=b) for b in bodies]
    with ThreadPoolExecutor(max_workers=16) as pool, httpx.Client(headers=server["headers"], timeout=60) as c:
        concurrent = list(pool.map(lambda b: c.post(url, json=b), bodies))
    assert [r.status_code for r in sequential] == [200] * 50
    assert [r.status_code for r in concurrent] == [200] * 50
    assert [r.json() for r in concurrent] == [r.json() for r in sequential]
    assert len({r.json()["subject"]["id"] for r in concurrent}) == 50
    assert len({r.json()["total"] for r in concurrent}) > 1  # the histories differ in outcome, not only in id


def test_real_server_smoke(server):
    base, headers = server["base"], server["headers"]
    assert httpx.get(f"{base}/v1/health").json() == {"status": "ok"}
    assert httpx.get(f"{base}/v1/contracts").status_code == 401
    r = httpx.get(f"{base}/v1/contracts", headers=headers)
    assert r.status_code == 200 and len(r.json()["contracts"]) == BUNDLED and r.headers["x-request-id"]
    fixture = FIXTURES / "participants" / "101" / "p-101-001.yaml"
    r = httpx.post(
        f"{base}/v1/contracts/dk-101-koebenhavn/evaluate",
        headers={**headers, "content-type": "application/yaml"},
        content=fixture.read_bytes(),
    )
    assert r.status_code == 200 and r.json()["payments"]
    assert httpx.get(f"{base}/docs").status_code == 200
