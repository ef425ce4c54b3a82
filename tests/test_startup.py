"""What a ``pbr`` command's start and end cost: names imported when first asked for, the exit's freeze.

Each check runs in a fresh interpreter, so what this test process already imported (or froze)
cannot hide anything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KBH = str(ROOT / "contracts/agreements/101-koebenhavn.yaml")
COHORT = str(ROOT / "fixtures/cohorts/koebenhavn-1000.jsonl")


def _python(code: str, *args: str) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin", "PBR_CACHE_DIR": os.environ.get("PBR_CACHE_DIR", "")}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)


def test_the_worked_examples_and_the_html_report_are_imported_only_when_asked_for():
    out = _python(
        """
import json, sys
import pbr_rules.evaluation as evaluation, pbr_rules.reports as reports
before = [m in sys.modules for m in ("pbr_rules.evaluation.scenarios", "pbr_rules.reports.html")]
from pbr_rules.evaluation import run_scenario_file
from pbr_rules.evaluation.scenarios import run_scenario_file as direct
from pbr_rules.reports import write_report
from pbr_rules.reports.html import write_report as direct_html
after = [m in sys.modules for m in ("pbr_rules.evaluation.scenarios", "pbr_rules.reports.html")]
try:
    evaluation.no_such_name
    missing = None
except AttributeError as exc:
    missing = str(exc)
star = {}
exec("from pbr_rules.evaluation import *", star)
print(json.dumps({"before": before, "after": after, "same": [run_scenario_file is direct, write_report is direct_html],
                  "missing": missing, "star": sorted(set(evaluation.__all__) - set(star))}))
"""
    )
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout)
    assert seen["before"] == [False, False]
    assert seen["after"] == [True, True]
    assert seen["same"] == [True, True]
    assert seen["missing"] == "module 'pbr_rules.evaluation' has no attribute 'no_such_name'"
    assert seen["star"] == []  # every name of __all__, the later ones included


def test_the_pbr_command_is_run_which_answers_as_main_and_freezes_what_is_left_at_exit(tmp_path):
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts["pbr"] == "pbr_rules.cli:run"
    out_file = tmp_path / "out.json"
    out = _python(
        """
import gc, json, sys
from pbr_rules.cli import run
frozen_before = gc.get_freeze_count()
ok = run(["evaluate", "--contract", sys.argv[1], "--cohort", sys.argv[2], "--format", "json", "--workers", "1", "--no-log", "-o", sys.argv[3]])
bad = run(["evaluate", "--contract", sys.argv[1] + ".missing", "--cohort", sys.argv[2], "--no-log"])
print(json.dumps({"ok": ok, "bad": bad, "frozen_before": frozen_before, "frozen_after": gc.get_freeze_count()}))
""",
        KBH, COHORT, str(out_file),
    )
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["ok"] == 0 and seen["bad"] == 2  # main's exit codes, unchanged
    assert seen["frozen_before"] == 0 and seen["frozen_after"] > 0
    assert len(json.loads(out_file.read_text(encoding="utf-8"))) == 1000  # the output was written whole
    assert "Traceback" not in out.stderr


def test_only_a_command_that_ends_its_process_freezes_what_it_loaded(tmp_path):
    """``run`` freezes the agreement as soon as it is loaded (collector.freeze_loaded), so the
    exit's collection walks only what the command made after; ``main``, for callers in a
    process that goes on, freezes nothing: what it leaves is collected as usual."""
    out = _python(
        """
import gc, json, sys
import pbr_rules.cli.main
cli = sys.modules["pbr_rules.cli.main"]  # the module (the package's name "main" is its function)
seen = {}
real = cli.freeze_long_lived
def at_exit():
    seen["frozen_before_exit"] = gc.get_freeze_count()
    real()
cli.freeze_long_lived = at_exit
rc_main = cli.main(["evaluate", "--contract", sys.argv[1], "--cohort", sys.argv[2], "--workers", "1", "--no-log", "-o", sys.argv[3]])
seen["frozen_after_main"] = gc.get_freeze_count()
rc_run = cli.run(["evaluate", "--contract", sys.argv[1], "--cohort", sys.argv[2], "--workers", "1", "--no-log", "-o", sys.argv[3]])
gc.unfreeze()
rc_main_again = cli.main(["evaluate", "--contract", sys.argv[1], "--cohort", sys.argv[2], "--workers", "1", "--no-log", "-o", sys.argv[3]])
seen["frozen_after_main_again"] = gc.get_freeze_count()
print(json.dumps({"rc": [rc_main, rc_run, rc_main_again], **seen}))
""",
        KBH, COHORT, str(tmp_path / "out.txt"),
    )
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["rc"] == [0, 0, 0]
    assert seen["frozen_after_main"] == 0
    assert seen["frozen_after_main_again"] == 0  # a run before it changes nothing
    assert seen["frozen_before_exit"] > 50_000  # the modules and the agreement, frozen when it was loaded


def test_a_command_that_logs_decisions_leaves_the_whole_ledger_in_its_database_file(tmp_path):
    """The ledgers a command opened are closed when it ends, so SQLite writes its write-ahead log
    back: the database file alone (a backup, a copy) holds every decision, and no -wal is left."""
    db = tmp_path / "ledger.sqlite"
    out = _python(
        """
import sys
from pbr_rules.cli import run
sys.exit(run(["evaluate", "--contract", sys.argv[1], "--cohort", sys.argv[2], "--workers", "1", "--database", "sqlite:///" + sys.argv[3]]))
""",
        KBH, COHORT, str(db),
    )
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ledger.sqlite", "pbr-ledger.key"]
    import shutil
    import sqlite3

    copy = tmp_path / "copy" / "ledger.sqlite"
    copy.parent.mkdir()
    shutil.copy(db, copy)  # the file alone, as a backup would take it
    with sqlite3.connect(copy) as con:
        tables = {name for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        logged = [t for t in tables if "decision" in t]
        assert logged, tables
        assert max(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in logged) >= 1000
