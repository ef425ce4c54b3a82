"""Every ledger test runs on SQLite, and again on a real PostgreSQL server when one is configured.

``.ci/run`` starts a throwaway PostgreSQL cluster and sets ``PBR_TEST_POSTGRES_URL`` (a
database the tests may create other databases from); without it the PostgreSQL half is
skipped, saying so. Each test gets a new, empty database of its own.
"""

from __future__ import annotations

import copy
import itertools
import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from pbr_rules.evaluation import load_checked_contract

ROOT = Path(__file__).resolve().parents[2]
KOEBENHAVN = ROOT / "contracts" / "agreements" / "101-koebenhavn.yaml"
POSTGRES_ENV = "PBR_TEST_POSTGRES_URL"
_counter = itertools.count()


def _postgres_database() -> tuple[str, callable]:
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"no PostgreSQL configured ({POSTGRES_ENV}); .ci/run provides one")
    name = f"pbr_t_{os.getpid()}_{next(_counter)}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(base).set(database=name).render_as_string(hide_password=False)

    def drop():
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return url, drop


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A new, empty ledger database: an SQLite file, or a PostgreSQL database."""
    if request.param == "sqlite":
        yield str(tmp_path / "ledger.db")
        return
    url, drop = _postgres_database()
    try:
        yield url
    finally:
        drop()


@pytest.fixture
def ledger(database_url, tmp_path):
    from pbr_rules.ledger import Ledger

    led = Ledger(database_url, secret_file=tmp_path / "secret.key")
    yield led
    led.close()


@pytest.fixture(scope="session")
def koebenhavn():
    return load_checked_contract(KOEBENHAVN)


# A København participant (see tests/api/conftest.py): 71 weeks on kontanthjælp before
# enrolment on 2019-04-03, then an ordinary job; with the job the milestones citizen_start,
# course_attendance, course_completed and the job milestones are met.
BASE = {
    "kind": "participant",
    "participant": "p-led-000",
    "municipality": "101",
    "birth_date": "1985-03-01",
    "target_group": "cash_benefit",
    "enrolment": "2019-04-03",
    "extracted": "2021-06-30",
    "benefits": [{"weeks": "2018-W01..2019-W19", "code": "kontanthjaelp"}],
    "employment": [{"start": "2019-05-08", "hours_per_week": 20, "monthly_earnings": "12000", "employer": "Netto", "kind": "ordinary"}],
}


def participant(n: int, *, job: bool = True, hours: int = 20, start: str = "2019-05-08") -> dict:
    h = copy.deepcopy(BASE)
    h["participant"] = f"p-led-{n:03d}"
    if job:
        h["employment"][0].update(hours_per_week=hours, start=start)
    else:
        h["employment"] = []
    return h


def histories(koebenhavn, items: list[dict]):
    from pbr_rules.language import Source, history_from_data

    codes = frozenset(koebenhavn.codes.codes)
    return [history_from_data(item, Source(file="<test>", data=item), codes, ()) for item in items]
