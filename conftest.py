"""Collects contract scenario files (``*.scenarios.yaml``) as pytest tests: one test per scenario.

Every test gets its own ledger database (``PBR_DATABASE_URL``) in a temporary folder, so no
test writes ``var/pbr.db`` in the working tree or sees another test's ledger.
"""

import pytest

from pbr_rules.pytest_plugin import pytest_collect_file  # noqa: F401


@pytest.fixture(autouse=True)
def _private_ledger(tmp_path_factory, monkeypatch):
    folder = tmp_path_factory.mktemp("ledger")
    monkeypatch.setenv("PBR_DATABASE_URL", str(folder / "pbr.db"))
    monkeypatch.delenv("PBR_LEDGER_SECRET_FILE", raising=False)
