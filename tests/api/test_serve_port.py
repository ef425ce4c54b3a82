"""pbr serve on a port already in use: a clear refusal (exit 2), and no token made."""

from __future__ import annotations

import socket
import subprocess
import sys

from .conftest import CONTRACTS


def test_a_busy_port_is_refused_before_any_token_is_made(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        tokens = tmp_path / "tokens.json"
        run = subprocess.run(
            [sys.executable, "-m", "pbr_rules.cli", "serve", "--port", str(port), "--contracts", str(CONTRACTS), "--tokens-file", str(tokens)],
            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        )
    assert run.returncode == 2, run.stderr
    assert f"127.0.0.1:{port} is already in use" in run.stderr and "--port" in run.stderr
    assert not tokens.exists()
    assert "Traceback" not in run.stderr
