"""Tokens (issue 12, item 2): expiry, list, revoke, locked writes, private files, failing closed, the development token."""

from __future__ import annotations

import json
import logging
import os
import socket
import stat
import subprocess
import sys
from datetime import date, timedelta

import pytest
import uvicorn
from fastapi.testclient import TestClient

from pbr_rules.api import SettingsInvalid, create_app
from pbr_rules.api.tokens import create_token, parse_expires, read_tokens, utc_today
from pbr_rules.cli import main as pbr_main

from .conftest import CONTRACTS, ROOT, assert_error_shape, auth, make_settings


@pytest.fixture
def own(tmp_path):
    """An app over its own tokens file (the session's file stays untouched)."""
    path = tmp_path / "tokens.json"
    fund, rec = create_token(path, "fund")
    app = create_app(make_settings({"file": path}))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield {"client": c, "path": path, "fund": fund, "id": rec.id}


def test_expires_accepts_a_date_a_number_of_days_or_never():
    today = date(2026, 12, 1)
    assert parse_expires("30d", today) == date(2026, 12, 31)
    assert parse_expires("2027-01-15", today) == date(2027, 1, 15)
    assert parse_expires("never", today) is None
    for bad in ("2026-11-30", "0d", "soon", "2027-02-30"):
        with pytest.raises(ValueError):
            parse_expires(bad, today)
    assert parse_expires("36500d", today) == date(2126, 11, 7)  # 100 years of days, leap days included
    for huge in ("36501d", "99999999999d"):  # a review: the second was told it was not 'a number of days'
        with pytest.raises(ValueError, match=f"--expires {huge}: at most 36500d"):
            parse_expires(huge, today)


def test_a_token_works_through_its_expiry_day_and_is_refused_after(own):
    c, path = own["client"], own["path"]
    today = utc_today()
    last_day, _ = create_token(path, "auditor", expires=today)
    gone, _ = create_token(path, "auditor", expires=today - timedelta(days=1))
    assert c.get("/v1/contracts", headers=auth(last_day)).status_code == 200
    resp = c.get("/v1/contracts", headers=auth(gone))
    body = assert_error_shape(resp, 401)
    assert f"expired on {(today - timedelta(days=1)).isoformat()}" in body["detail"]
    assert resp.headers["www-authenticate"].startswith("Bearer")


def test_list_shows_every_token_without_its_secret_and_the_day_it_was_last_used(own, capsys):
    c, path = own["client"], own["path"]
    assert pbr_main(["token", "create", "--role", "municipality", "--municipality", "101", "--expires", "30d", "--tokens-file", str(path)]) == 0
    secret = capsys.readouterr().out.strip()
    assert c.get("/v1/contracts", headers=auth(own["fund"])).status_code == 200
    assert pbr_main(["token", "list", "--format", "json", "--tokens-file", str(path)]) == 0
    out = capsys.readouterr().out
    rows = {r["id"]: r for r in json.loads(out)["tokens"]}
    fund = rows[own["id"]]
    assert (fund["role"], fund["expires"], fund["last_used"], fund["state"]) == ("fund", "never", utc_today().isoformat(), "valid")
    (m101,) = [r for r in rows.values() if r["role"] == "municipality"]
    assert (m101["municipality"], m101["expires"], m101["last_used"]) == ("101", (utc_today() + timedelta(days=30)).isoformat(), "never")
    assert set(m101) == {"id", "role", "municipality", "created", "expires", "last_used", "state"}
    hashes = [r.sha256 for r in read_tokens(path)]
    assert secret not in out and own["fund"] not in out and not any(h in out for h in hashes)
    assert pbr_main(["token", "list", "--tokens-file", str(path)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["id", "role", "municipality", "created", "expires", "last_used", "state"] and len(table) == 3


def test_revoke_refuses_the_token_from_the_next_request(own, capsys):
    c, path = own["client"], own["path"]
    assert c.get("/v1/contracts", headers=auth(own["fund"])).status_code == 200
    assert pbr_main(["token", "revoke", own["id"], "--tokens-file", str(path)]) == 0
    assert_error_shape(c.get("/v1/contracts", headers=auth(own["fund"])), 401)
    assert read_tokens(path) == []
    assert pbr_main(["token", "revoke", "t-00000000", "--tokens-file", str(path)]) == 2
    assert "no token t-00000000" in capsys.readouterr().err


def test_sixteen_concurrent_creates_all_store_their_token(tmp_path):
    path = tmp_path / "tokens.json"
    env = {**os.environ, "PBR_TOKENS_FILE": str(path)}
    procs = [
        subprocess.Popen([sys.executable, "-m", "pbr_rules.cli", "token", "create", "--role", "auditor"], cwd=ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(16)
    ]
    printed = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        printed.append(out.strip())
    records = read_tokens(path)
    assert len(set(printed)) == 16 and len(records) == 16 and len({r.id for r in records}) == 16
    app = create_app(make_settings({"file": path}))
    for token in printed:
        assert app.state.tokens.lookup(token) is not None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_broken_tokens_file_fails_closed_with_503_until_it_is_fixed(own, caplog):
    caplog.set_level(logging.INFO)
    c, path = own["client"], own["path"]
    good = path.read_text()
    assert c.get("/v1/contracts", headers=auth(own["fund"])).status_code == 200
    path.write_text(good[:-20])  # a manual edit left it as invalid JSON
    for _ in range(3):
        resp = c.get("/v1/contracts", headers=auth(own["fund"]))
        body = assert_error_shape(resp, 503)
        assert body["type"] == "urn:pbr-rules:problem:tokens-unavailable" and resp.headers["retry-after"] == "60"
        assert str(path) not in resp.text  # the reason is in the log, not in the answer
    errors = [r for r in caplog.records if r.name == "pbr_rules.api.tokens" and r.levelno == logging.ERROR]
    assert len(errors) == 1 and "every token is refused" in errors[0].getMessage() and str(path) in errors[0].getMessage()
    path.unlink()
    assert_error_shape(c.get("/v1/contracts", headers=auth(own["fund"])), 503)
    path.write_text(good)
    os.chmod(path, 0o600)
    assert c.get("/v1/contracts", headers=auth(own["fund"])).status_code == 200


def test_an_empty_tokens_file_refuses_every_token_with_401(own):
    own["path"].write_text("")
    assert_error_shape(own["client"].get("/v1/contracts", headers=auth(own["fund"])), 401)


def test_production_refuses_a_tokens_file_others_may_read_or_write(tmp_path):
    path = tmp_path / "tokens.json"
    fund, _ = create_token(path, "fund")
    for mode in (0o644, 0o620, 0o606):
        os.chmod(path, mode)
        with pytest.raises(SettingsInvalid, match="readable or writable by others"):
            make_settings({"file": path}, production=True)
    os.chmod(path, 0o600)
    app = create_app(make_settings({"file": path}, production=True))
    with TestClient(app, raise_server_exceptions=False) as c:
        assert c.get("/v1/contracts", headers=auth(fund)).status_code == 200
        os.chmod(path, 0o666)  # loosened while running: refused at once
        assert_error_shape(c.get("/v1/contracts", headers=auth(fund)), 503)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_in_development_warns_and_writes_the_development_token_to_a_private_file(tmp_path, monkeypatch, capsys):
    ran = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: ran.update(k))
    for var in [v for v in os.environ if v.startswith("PBR_")]:
        monkeypatch.delenv(var)
    path = tmp_path / "tokens.json"
    path.write_text("")  # empty: reported as holding no tokens, not as missing
    os.chmod(path, 0o644)
    port = _free_port()
    assert pbr_main(["serve", "--port", str(port), "--contracts", str(CONTRACTS), "--tokens-file", str(path)]) == 0
    captured = capsys.readouterr()
    dev_file = tmp_path / "tokens.json.dev-token"
    token = dev_file.read_text().strip()
    assert stat.S_IMODE(dev_file.stat().st_mode) == 0o600
    assert token not in captured.err and token not in captured.out
    assert str(dev_file) in captured.err and "holds no tokens" in captured.err and "no tokens file" not in captured.err
    assert "readable or writable by others" in captured.err and "WARNING (SECURITY)" in captured.err
    assert "plain HTTP" not in captured.err  # loopback
    (rec,) = read_tokens(path)
    assert rec.development and ran["host"] == "127.0.0.1" and ran["ssl_certfile"] is None


def test_serve_on_a_public_address_without_tls_warns_and_tls_needs_both_files(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)
    for var in [v for v in os.environ if v.startswith("PBR_")]:
        monkeypatch.delenv(var)
    path = tmp_path / "tokens.json"
    create_token(path, "fund")
    args = ["serve", "--host", "0.0.0.0", "--port", str(_free_port()), "--contracts", str(CONTRACTS), "--tokens-file", str(path)]
    assert pbr_main(args) == 0
    err = capsys.readouterr().err
    assert "WARNING: serving plain HTTP on 0.0.0.0" in err and "--ssl-certfile" in err and "unencrypted" in err
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text("x")
    key.write_text("x")
    assert pbr_main([*args, "--ssl-certfile", str(cert)]) == 2
    assert "both --ssl-certfile and --ssl-keyfile" in capsys.readouterr().err
    ran = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: ran.update(k))
    assert pbr_main([*args, "--ssl-certfile", str(cert), "--ssl-keyfile", str(key)]) == 0
    err = capsys.readouterr().err
    assert "plain HTTP" not in err and "https://0.0.0.0:" in err
    assert (ran["ssl_certfile"], ran["ssl_keyfile"]) == (str(cert), str(key))


def test_every_log_handler_of_the_server_masks_cpr_numbers():
    from pbr_rules.cli.serve import _log_config

    config = _log_config()
    assert config["filters"]["cpr"] == {"()": "pbr_rules.personal_data.CprLogFilter"}
    assert config["handlers"] and all("cpr" in h["filters"] for h in config["handlers"].values())


def test_a_token_stays_valid_while_the_file_is_rewritten_under_concurrent_requests(tmp_path):
    """Regression (found by the load test): a re-read emptied the token set before filling it, so a
    request on another thread got 401 while the server noted a token's last use."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from pbr_rules.api.tokens import TokenStore

    path = tmp_path / "tokens.json"
    token, _ = create_token(path, "fund")
    store = TokenStore(path)
    stop = threading.Event()

    def rewrite():
        for _ in range(40):  # bounded: 40 rewrites of the file
            create_token(path, "auditor")
        stop.set()

    def ask() -> int:
        misses = 0
        for _ in range(5_000):  # bounded
            if stop.is_set():
                break
            misses += store.lookup(token) is None
        return misses

    with ThreadPoolExecutor(5) as pool:
        writer = pool.submit(rewrite)
        askers = [pool.submit(ask) for _ in range(4)]
        writer.result(timeout=120)
        assert sum(a.result(timeout=120) for a in askers) == 0
    assert len(read_tokens(path)) == 41


def test_an_impossible_date_in_the_tokens_file_fails_closed_with_503_not_500(own, capsys):
    # A review: "expires": "2027-02-30" has the shape of a date, and every request became a 500.
    c, path = own["client"], own["path"]
    data = json.loads(path.read_text())
    data["tokens"][0]["expires"] = "2027-02-30"
    path.write_text(json.dumps(data))
    os.chmod(path, 0o600)
    resp = c.get("/v1/contracts", headers=auth(own["fund"]))
    assert assert_error_shape(resp, 503)["type"] == "urn:pbr-rules:problem:tokens-unavailable"
    assert pbr_main(["token", "list", "--tokens-file", str(path)]) == 2
    assert "tokens[0].expires must be a calendar date YYYY-MM-DD (got '2027-02-30')" in capsys.readouterr().err
