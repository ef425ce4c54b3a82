"""A real ``pbr serve`` on a free loopback port, for the tests that need a server process.

Every server gets its own ledger database and keys in a temporary folder and no PBR_*
setting of the test process (other tests may have left some), so no test writes ``var/``
in the working tree.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = ROOT / "contracts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(folder: Path, tokens_file: Path, *, args: tuple[str, ...] = (), env: dict[str, str] | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """``pbr serve`` over the bundled contracts until the block ends: (base URL, process); its output is in ``folder/serve.log``."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PBR_") or k == "PBR_CACHE_DIR"}
    environment.update(
        {"PBR_DATABASE_URL": str(folder / "ledger.db"), "PBR_LEDGER_SECRET_FILE": str(folder / "ledger.key"), "PBR_WEB_SECRET_FILE": str(folder / "web.key")}
    )
    environment.update(env or {})
    # its output (the access log: a line a request) goes to a file, as a service manager's
    # would: a pipe nobody reads fills at 64 kB, and the server then blocks writing its log
    log = folder / "serve.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pbr_rules.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--contracts", str(CONTRACTS),
             "--tokens-file", str(tokens_file), *args],
            cwd=folder, env=environment, stdout=out, stderr=subprocess.STDOUT, text=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"pbr serve exited early:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{base}/v1/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("pbr serve did not become ready within 60 s")
            time.sleep(0.2)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
