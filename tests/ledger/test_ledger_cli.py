"""``pbr settle``, ``pbr db`` and ``pbr ledger`` as a user runs them: exit codes, messages, files."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from pbr_rules.cli import main
from pbr_rules.ledger import tables as T

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = str(ROOT / "contracts" / "agreements" / "101-koebenhavn.yaml")
HISTORY = str(ROOT / "fixtures" / "participants" / "101" / "p-101-001.yaml")
COHORT = str(ROOT / "fixtures" / "cohorts" / "koebenhavn-1000.jsonl")


@pytest.fixture
def db(tmp_path, monkeypatch):
    monkeypatch.setenv("PBR_LEDGER_SECRET_FILE", str(tmp_path / "secret.key"))
    return str(tmp_path / "ledger.db")


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_settle_records_a_run_and_a_second_settle_owes_nothing_new(capsys, db):
    # --lang en: the bundled agreements write in Danish (tests/test_i18n.py)
    code, out, err = run(capsys, "settle", "--contract", CONTRACT, "--cohort", COHORT, "--as-of", "2021-06-30", "--format", "json", "--workers", "1", "--database", db, "--lang", "en")
    assert code == 0, err
    first = json.loads(out)
    assert "Run 1: dk-101-koebenhavn settlement #1 as of 2021-06-30 (parent run none: the first)" in err
    assert Decimal(first["due_now"]) == Decimal(first["total"]) > 0
    code, out, err = run(capsys, "settle", "--contract", CONTRACT, "--cohort", COHORT, "--as-of", "2021-06-30", "--format", "json", "--workers", "1", "--database", db, "--lang", "en")
    assert code == 0 and json.loads(out)["due_now"] == "0.00"
    assert "Run 2: dk-101-koebenhavn settlement #2 as of 2021-06-30 (parent run 1)" in err
    code, out, _ = run(capsys, "ledger", "runs", "--database", db)
    assert code == 0 and len(out.strip().splitlines()) == 4  # header, rule, two runs


def test_dry_run_records_nothing_and_previous_needs_dry_run(capsys, db, tmp_path):
    code, _, err = run(capsys, "settle", "--contract", CONTRACT, "--cohort", COHORT, "--as-of", "2021-06-30", "--dry-run", "--workers", "1", "--database", db, "--lang", "en")
    assert code == 0 and "dry run: nothing was recorded in the ledger" in err
    code, out, _ = run(capsys, "ledger", "runs", "--database", db)
    assert out == "No settlement runs recorded.\n"
    prev = tmp_path / "prev.json"
    prev.write_text("{}")
    code, _, err = run(capsys, "settle", "--contract", CONTRACT, "--cohort", COHORT, "--as-of", "2021-06-30", "--previous", str(prev), "--database", db)
    assert code == 2 and "--previous is only for --dry-run" in err


def test_claim_actions_exit_codes_and_messages(capsys, db):
    run(capsys, "evaluate", "--contract", CONTRACT, "--history", HISTORY, "--database", db)
    run(capsys, "settle", "--contract", CONTRACT, "--cohort", HISTORY, "--as-of", "2020-06-30", "--workers", "1", "--database", db)
    code, out, _ = run(capsys, "ledger", "claims", "--state", "due", "--format", "json", "--database", db)
    claims = json.loads(out)
    assert code == 0 and claims and all(c["state"] == "due" for c in claims)
    pid = claims[0]["payment_id"]
    code, _, err = run(capsys, "ledger", "pay", pid, "--database", db)
    assert code == 1 and f"claim {pid} is due: cannot pay it" in err
    assert run(capsys, "ledger", "approve", pid, "--database", db)[0] == 0
    code, out, _ = run(capsys, "ledger", "pay", pid, "--format", "json", "--database", db)
    assert code == 0 and json.loads(out)["state"] == "paid" and json.loads(out)["events"][-1]["actor"].startswith("cli:")
    code, _, err = run(capsys, "ledger", "reject", claims[1]["payment_id"], "--database", db)
    assert code == 2 and "give a reason to reject a claim" in err
    code, _, err = run(capsys, "ledger", "approve", "dk-101-koebenhavn/nobody/x/1", "--database", db)
    assert code == 2 and "no claim 'dk-101-koebenhavn/nobody/x/1' in the ledger" in err
    code, _, err = run(capsys, "ledger", "show", "42", "--database", db)
    assert code == 2 and "no settlement run 42" in err


def test_verify_exits_1_at_the_first_broken_link(capsys, db):
    run(capsys, "settle", "--contract", CONTRACT, "--cohort", HISTORY, "--as-of", "2020-06-30", "--workers", "1", "--database", db)
    code, out, _ = run(capsys, "ledger", "verify", "--database", db)
    assert code == 0 and "2 events, chain intact" in out
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as c:
        c.execute(sa.update(T.run_lines).values(amount_ore=T.run_lines.c.amount_ore + 100))
    engine.dispose()
    code, out, _ = run(capsys, "ledger", "verify", "--database", db)
    assert code == 1 and "BROKEN at event 2: the records of event 2 (run.recorded" in out


def test_xlsx_export_round_trips_through_openpyxl(capsys, db, tmp_path):
    from openpyxl import load_workbook

    run(capsys, "settle", "--contract", CONTRACT, "--cohort", HISTORY, "--as-of", "2020-06-30", "--workers", "1", "--database", db)
    code, out, _ = run(capsys, "ledger", "claims", "--format", "json", "--database", db)
    claims = json.loads(out)
    path = tmp_path / "ledger.xlsx"
    code, _, err = run(capsys, "ledger", "export", "--format", "xlsx", "-o", str(path), "--database", db)
    assert code == 0, err
    wb = load_workbook(path)
    assert wb.sheetnames == ["claims", "runs", "events"]
    ws = wb["claims"]
    assert ws.freeze_panes == "A2"
    header = [c.value for c in ws[1]]
    rows = [dict(zip(header, [c.value for c in r])) for r in ws.iter_rows(min_row=2)]
    assert [r["payment_id"] for r in rows] == [c["payment_id"] for c in claims]
    assert all(isinstance(r["settled"], (int, float)) and Decimal(str(r["settled"])) == Decimal(c["settled"]) for r, c in zip(rows, claims))
    run_row = [c.value for c in wb["runs"][2]]
    assert run_row[4].date().isoformat() == "2020-06-30"  # as_of: a date cell
    code, _, err = run(capsys, "ledger", "export", "--format", "xlsx", "--database", db)
    assert code == 2 and "needs -o FILE.xlsx" in err


def test_db_commands_and_an_unreachable_database(capsys, db):
    code, out, _ = run(capsys, "db", "current", "--database", db)
    assert code == 0 and "schema revision none (not created yet: run 'pbr db upgrade')" in out
    code, out, _ = run(capsys, "db", "upgrade", "--database", db)
    assert code == 0 and "schema none (new database) -> 0001" in out
    code, out, _ = run(capsys, "db", "upgrade", "--database", db)
    assert "already at schema revision 0001" in out
    code, _, err = run(capsys, "ledger", "claims", "--database", "postgresql+psycopg://pbr:hunter2@127.0.0.1:1/ledger")
    assert code == 2 and "postgresql+psycopg://pbr:***@127.0.0.1:1/ledger" in err and "hunter2" not in err


def test_evaluate_logs_the_decision_unless_told_not_to(capsys, db):
    assert run(capsys, "evaluate", "--contract", CONTRACT, "--history", HISTORY, "--no-log", "--database", db)[0] == 0
    assert not Path(db).exists()  # not even created
    assert run(capsys, "evaluate", "--contract", CONTRACT, "--history", HISTORY, "--database", db)[0] == 0
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as c:
        rows = c.execute(sa.select(T.decisions.c.actor, T.decisions.c.result_json)).all()
    engine.dispose()
    assert len(rows) == 1 and rows[0].actor.startswith("cli:") and "p-101-001" not in rows[0].result_json
