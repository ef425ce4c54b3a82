"""API speed against its anchor: ``POST /v1/contracts/{id}/evaluate`` of the real service
against a bare FastAPI endpoint that parses the same body into the same model, in the same run.

Two servers, each under uvicorn with one worker process, started by this script:

- **evaluate**: the real service, ``pbr serve`` on the bundled contracts with its own
  scratch ledger database, ledger and web keys and tokens file (a fund token made the way
  ``pbr token create`` makes it), the request rate limit lifted so that no answer is 429.
  Every request is the whole path: request id and CPR checks of the request line,
  authentication, rate limit, body parsing and checks, validation, the evaluation, the
  decision log in the ledger, the access log line, the answer;
- **bare**: a FastAPI app with one ``async`` endpoint that lets FastAPI parse the same JSON
  body into ``{"history": ParticipantHistory, "as_of": date | None}`` (the same pydantic
  model of a participant history) and answers a small JSON.

Two workloads, each measured on both servers:

- **p-101-001** (``fixtures/participants/101/p-101-001.yaml``, docs/api.md's example): one
  rich history sent again and again (14 payments, 10 of them self-supporting blocks): the
  heaviest single answer of the bundled fixtures;
- **cohort**: the 1,000 histories of ``fixtures/cohorts/koebenhavn-1000.jsonl`` (the engine
  bench's anchor cohort), each client going round them from its own starting point, so
  the answers are a realistic mix. Every evaluate answer is checked against
  ``bench/reference.py``, the hand-written plain-Python evaluator (eligibility, and each
  payment's milestone, occurrence, trigger and due dates and amount), not against the
  service's own output.

A load generator in this process (asyncio; raw HTTP/1.1 keep-alive sockets by default,
``--client httpx`` for httpx.AsyncClient) keeps ``--clients`` connections busy with
requests, one at a time each, for ``--seconds`` per round; bare and evaluate take turns in
every round. Per round it reads the server's CPU (utime + stime in ``/proc/<pid>/stat``)
before and after, and this process's own CPU (to show whether the load generator was the
limit). Every evaluate answer is checked: for p-101-001, 200 and the bytes of the first answer,
which is checked in full (eligible, the expected payments and total); for the cohort, each
answer against the reference; every bare answer is 200 with the participant sent.

It prints, per workload, best of ``--rounds`` (the machine is shared, so the least disturbed
round of each counts): requests/s of each and the ratio evaluate/bare, and server CPU seconds per request of
each and the ratio evaluate/bare. Targets (issue 14, item 7): CPU ratio at most 3, requests/s
ratio at least 0.60. ``--json`` adds one JSON object of the figures as the last line.

    PYTHONPATH=src python bench/bench_api.py [--rounds 3] [--seconds 6] [--clients 50] [--client raw|httpx]
                                             [--workload both|fixture|cohort] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import yaml

from pbr_rules.models.common import Strict
from pbr_rules.models.history import ParticipantHistory

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
COHORT = ROOT / "fixtures/cohorts/koebenhavn-1000.jsonl"
CONTRACTS = ROOT / "contracts"
FIXTURE = ROOT / "fixtures/participants/101/p-101-001.yaml"
CONTRACT_ID = "dk-101-koebenhavn"
# docs/api.md, "Example": p-101-001 under København: eligible, these 14 payments, 110000.00 in all
EXPECTED_MILESTONES = sorted(["citizen_start", "job_13_weeks", "job_26_weeks", "earnings_60k"] + ["self_support_blocks"] * 10)
EXPECTED_TOTAL = "110000.00"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- the bare app (run in its own process: ``--serve-bare PORT``) -----------------------------


class BareEvaluate(Strict):
    """The evaluate body as FastAPI would parse it: the same participant history model."""

    history: ParticipantHistory
    as_of: date | None = None


def serve_bare(port: int) -> None:
    import uvicorn
    from fastapi import FastAPI

    app = FastAPI()

    @app.post("/bare")
    async def bare(body: BareEvaluate) -> dict:
        return {"participant": body.history.participant, "ok": True}

    uvicorn.run(app, host="127.0.0.1", port=port, workers=1, access_log=False, log_level="warning", server_header=False)


# --- servers ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """utime + stime of process ``pid`` (its threads included), in seconds."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # fields 14 and 15 of proc(5)


def own_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def wait_ready(proc: subprocess.Popen, port: int, path: str, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"a server exited early:\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit(f"a server did not become ready within 90 s:\n{log.read_text()[-3000:]}")


def start(cmd: list[str], folder: Path, env: dict, name: str) -> tuple[subprocess.Popen, Path]:
    log = folder / f"{name}.log"
    with open(log, "w") as out:  # the access log goes to a file, as a service manager's would
        proc = subprocess.Popen(cmd, cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT)
    return proc, log


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- the load generator ---------------------------------------------------------------------------


class Check:
    """What every answer must be: status 200 and, for evaluate, the bytes of the first, checked answer."""

    def __init__(self, verify_first):
        self.verify_first = verify_first
        self.expected: bytes | None = None
        self.failures = 0
        self.first_failure = ""

    def __call__(self, index: int, status: int, body: bytes) -> None:
        if status == 200 and self.expected is None:
            problem = self.verify_first(body)
            if problem is None:
                self.expected = body
            else:
                self.fail(f"the first answer is wrong: {problem}")
                return
        if status != 200 or body != self.expected:
            self.fail(f"status {status}: {body[:300]!r}")

    def fail(self, text: str) -> None:
        self.failures += 1
        self.first_failure = self.first_failure or text


class CohortCheck(Check):
    """Each answer against what it must be for the history sent (``expect(index, body)`` gives the problem or None)."""

    def __init__(self, expect):
        super().__init__(None)
        self.expect = expect

    def __call__(self, index: int, status: int, body: bytes) -> None:
        problem = f"status {status}: {body[:300]!r}" if status != 200 else self.expect(index, body)
        if problem is not None:
            self.fail(problem)


def verify_evaluation(body: bytes) -> str | None:
    result = json.loads(body)
    milestones = sorted(p["milestone"] for p in result.get("payments", []))
    if not result.get("eligibility", {}).get("eligible") or milestones != EXPECTED_MILESTONES or result.get("total") != EXPECTED_TOTAL:
        return f"eligible={result.get('eligibility', {}).get('eligible')} total={result.get('total')} milestones={milestones}"
    return None


def verify_bare(body: bytes) -> str | None:
    return None if json.loads(body) == {"participant": "p-101-001", "ok": True} else body[:200].decode(errors="replace")


async def raw_client(port: int, requests: list[bytes], start: int, check: Check, stop_at: float, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = start
    try:
        while time.perf_counter() < stop_at:
            i = (i + 1) % len(requests)
            writer.write(requests[i])
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = None
            for line in head.split(b"\r\n")[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length is None:
                raise RuntimeError(f"an answer without Content-Length: {head!r}")
            body = await reader.readexactly(length)
            check(i, status, body)
            counts[0] += 1
    finally:
        writer.close()


async def httpx_client(client, url: str, headers: dict, bodies: list[bytes], start: int, check: Check, stop_at: float, counts: list[int]) -> None:
    i = start
    while time.perf_counter() < stop_at:
        i = (i + 1) % len(bodies)
        resp = await client.post(url, content=bodies[i], headers=headers)
        check(i, resp.status_code, resp.content)
        counts[0] += 1


async def drive(kind: str, port: int, path: str, headers: dict, bodies: list[bytes], clients: int, seconds: float, check: Check) -> int:
    counts = [0]
    stop_at = time.perf_counter() + seconds
    starts = [c * len(bodies) // clients for c in range(clients)]  # each client from its own point of the workload
    if kind == "raw":
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        requests = [f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{head}Content-Length: {len(b)}\r\n\r\n".encode() + b for b in bodies]
        await asyncio.gather(*(raw_client(port, requests, start, check, stop_at, counts) for start in starts))
    else:
        import httpx

        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=60) as client:
            await asyncio.gather(*(httpx_client(client, path, headers, bodies, start, check, stop_at, counts) for start in starts))
    return counts[0]


def measure(kind: str, pid: int, port: int, path: str, headers: dict, bodies: list[bytes], clients: int, seconds: float, check: Check) -> dict:
    asyncio.run(drive(kind, port, path, headers, bodies, clients, min(1.0, seconds), check))  # warm-up: connections, caches
    server0, client0, t0 = cpu_seconds(pid), own_cpu(), time.perf_counter()
    n = asyncio.run(drive(kind, port, path, headers, bodies, clients, seconds, check))
    elapsed = time.perf_counter() - t0
    server, client = cpu_seconds(pid) - server0, own_cpu() - client0
    return {
        "requests": n,
        "rps": n / elapsed,
        "server_cpu_per_request": server / n,
        "server_cores": server / elapsed,
        "client_cores": client / elapsed,
    }


# --- main ---------------------------------------------------------------------------------------


def fixture_workload() -> tuple[list[bytes], Check, Check]:
    history = yaml.safe_load(FIXTURE.read_text())
    history = json.loads(json.dumps(history, default=str))  # dates as ISO strings
    return [json.dumps({"history": history}).encode()], Check(verify_bare), Check(verify_evaluation)


def cohort_workload() -> tuple[list[bytes], Check, Check]:
    """The cohort's lines as bodies, and each answer's expectation from bench/reference.py."""
    from reference import Reference, reference_payments

    from pbr_rules.language.loader import load_cohort, load_contract

    loaded = load_contract(CONTRACTS / "agreements/101-koebenhavn.yaml")
    histories = load_cohort(COHORT, frozenset(loaded.codes.codes))
    lines = [line for line in COHORT.read_bytes().splitlines() if line.strip()]
    if [h.participant for h in histories] != [json.loads(line)["participant"] for line in lines]:
        sys.exit(f"{COHORT}: the histories loaded are not the file's lines in order")
    ref = Reference(loaded)
    expected = [
        [(m, k, trigger.isoformat(), due.isoformat(), ore) for m, k, trigger, due, ore in reference_payments(ref, h)] for h in histories
    ]
    ids = [h.participant for h in histories]

    def evaluation(i: int, body: bytes) -> str | None:
        result = json.loads(body)
        mine = [
            (p["milestone"], p["occurrence"], p["trigger_date"], p["due_date"], int(Decimal(p["amount"]) * 100)) for p in result.get("payments", [])
        ]
        if result.get("subject", {}).get("id") != ids[i] or mine != expected[i]:
            return f"{ids[i]}: {mine} where the reference pays {expected[i]}"
        return None

    def bare(i: int, body: bytes) -> str | None:
        return None if json.loads(body) == {"participant": ids[i], "ok": True} else body[:200].decode(errors="replace")

    bodies = [b'{"history":' + line + b"}" for line in lines]
    return bodies, CohortCheck(bare), CohortCheck(evaluation)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=6.0, help="load per server per round")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--client", choices=["raw", "httpx"], default="raw")
    ap.add_argument("--workload", choices=["both", "fixture", "cohort"], default="both")
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON object on the last line")
    ap.add_argument("--serve-bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare)
        return 0

    from pbr_rules.api.tokens import create_token

    workloads = {}
    if args.workload in ("both", "fixture"):
        workloads["p-101-001"] = fixture_workload()
    if args.workload in ("both", "cohort"):
        workloads["cohort"] = cohort_workload()

    with tempfile.TemporaryDirectory(prefix="pbr-bench-api-") as tmp:
        folder = Path(tmp)
        token, _ = create_token(folder / "tokens.json", "fund")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PBR_")}
        env.update(
            {
                "PBR_DATABASE_URL": str(folder / "ledger.db"),
                "PBR_LEDGER_SECRET_FILE": str(folder / "ledger.key"),
                "PBR_WEB_SECRET_FILE": str(folder / "web.key"),
                "PBR_RATE_LIMIT_PER_MINUTE": "1000000",  # the bench is one token; fair use is not what is measured
            }
        )
        eval_port, bare_port = free_port(), free_port()
        service, service_log = start(
            [sys.executable, "-m", "pbr_rules.cli", "serve", "--host", "127.0.0.1", "--port", str(eval_port),
             "--contracts", str(CONTRACTS), "--tokens-file", str(folder / "tokens.json"), "--workers", "1"],
            folder, env, "service",
        )
        bare, bare_log = start([sys.executable, __file__, "--serve-bare", str(bare_port)], folder, env, "bare")
        servers = {
            "bare": (bare.pid, bare_port, "/bare", {"Content-Type": "application/json"}),
            "evaluate": (
                service.pid, eval_port, f"/v1/contracts/{CONTRACT_ID}/evaluate",
                {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
            ),
        }
        rounds: dict[str, list[dict]] = {name: [] for name in workloads}
        try:
            wait_ready(service, eval_port, "/v1/ready", service_log)
            wait_ready(bare, bare_port, "/docs", bare_log)
            for i in range(args.rounds):
                for workload, (bodies, bare_check, eval_check) in workloads.items():
                    row = {}
                    for name, check in (("bare", bare_check), ("evaluate", eval_check)):
                        pid, port, path, headers = servers[name]
                        row[name] = measure(args.client, pid, port, path, headers, bodies, args.clients, args.seconds, check)
                    rounds[workload].append(row)
                    b, e = row["bare"], row["evaluate"]
                    print(
                        f"round {i + 1} {workload:>9}: bare {b['rps']:6.0f} req/s {b['server_cpu_per_request'] * 1e3:5.2f} ms CPU/req "
                        f"(server {b['server_cores']:.2f} cores, client {b['client_cores']:.2f})   "
                        f"evaluate {e['rps']:6.0f} req/s {e['server_cpu_per_request'] * 1e3:5.2f} ms CPU/req "
                        f"(server {e['server_cores']:.2f} cores, client {e['client_cores']:.2f})",
                        flush=True,
                    )
        finally:
            stop(service)
            stop(bare)
    failures = 0
    for workload, (_, bare_check, eval_check) in workloads.items():
        for name, check in (("bare", bare_check), ("evaluate", eval_check)):
            if check.failures:
                failures += check.failures
                print(f"FAILED: {check.failures} {workload} {name} answers were wrong; the first: {check.first_failure}", file=sys.stderr)

    figures: dict = {"clients": args.clients, "seconds": args.seconds, "rounds": args.rounds, "client": args.client, "wrong_answers": failures}
    print(f"\nbest of {args.rounds} rounds, {args.clients} clients ({args.client}), {args.seconds:g} s each, one uvicorn worker each:")
    for workload, rows in rounds.items():
        best = {
            name: {"rps": max(r[name]["rps"] for r in rows), "cpu": min(r[name]["server_cpu_per_request"] for r in rows)}
            for name in ("bare", "evaluate")
        }
        f = {
            "bare_rps": round(best["bare"]["rps"], 1),
            "evaluate_rps": round(best["evaluate"]["rps"], 1),
            "rps_ratio": round(best["evaluate"]["rps"] / best["bare"]["rps"], 3),
            "bare_cpu_ms_per_request": round(best["bare"]["cpu"] * 1e3, 3),
            "evaluate_cpu_ms_per_request": round(best["evaluate"]["cpu"] * 1e3, 3),
            "cpu_ratio": round(best["evaluate"]["cpu"] / best["bare"]["cpu"], 2),
            "rps_ratio_per_round": [round(r["evaluate"]["rps"] / r["bare"]["rps"], 3) for r in rows],
            "cpu_ratio_per_round": [round(r["evaluate"]["server_cpu_per_request"] / r["bare"]["server_cpu_per_request"], 2) for r in rows],
            "evaluate_answers_checked": sum(r["evaluate"]["requests"] for r in rows),
        }
        figures[workload] = f
        what = "each against bench/reference.py" if workload == "cohort" else f"eligible, 14 payments, {EXPECTED_TOTAL}"
        print(
            f"  {workload}:\n"
            f"    requests/s      bare {f['bare_rps']:8.0f}   evaluate {f['evaluate_rps']:8.0f}   evaluate/bare {f['rps_ratio']:.2f} (target >= 0.60)\n"
            f"    server CPU/req  bare {f['bare_cpu_ms_per_request']:6.2f} ms  evaluate {f['evaluate_cpu_ms_per_request']:6.2f} ms  "
            f"evaluate/bare {f['cpu_ratio']:.2f}x (target <= 3)\n"
            f"    every evaluate answer checked (200, {what}): {f['evaluate_answers_checked']} answers"
        )
    print(f"  wrong answers: {failures}")
    if args.json:
        print(json.dumps(figures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
