"""Collects contract scenario files (``*.scenarios.yaml``) as pytest tests: one test per scenario.

Every test gets its own ledger database (``PBR_DATABASE_URL``) in a temporary folder, so no
test writes ``var/pbr.db`` (or the workspace's key) in the working tree or sees another
test's ledger.
"""

import os
import tempfile

import pytest

from pbr_rules.pytest_plugin import pytest_collect_file  # noqa: F401

# A contracts folder broken on purpose (tests/test_catalogue.py validates it): its scenarios
# cannot run, and are not collected as tests.
collect_ignore = ["tests/broken_folder"]

# Apps built at import time (before any fixture runs) must not write var/ in the working tree either.
_SCRATCH = tempfile.mkdtemp(prefix="pbr-tests-")
os.environ.setdefault("PBR_DATABASE_URL", os.path.join(_SCRATCH, "import-time.db"))
os.environ.setdefault("PBR_WEB_SECRET_FILE", os.path.join(_SCRATCH, "web.key"))
# Working days remembered between commands (periods.remembered_working_days): not in the home folder.
os.environ.setdefault("PBR_CACHE_DIR", os.path.join(_SCRATCH, "cache"))


@pytest.fixture(autouse=True)
def _private_ledger(tmp_path_factory, monkeypatch):
    folder = tmp_path_factory.mktemp("ledger")
    monkeypatch.setenv("PBR_DATABASE_URL", str(folder / "pbr.db"))
    monkeypatch.delenv("PBR_LEDGER_SECRET_FILE", raising=False)
