"""The ledger on a real database: runs against the latest run, the claim states, the chain, migrations.

Expected amounts are the København tariffs (contracts/templates/vaekstpartnerskaber.yaml as
merged into 101-koebenhavn.yaml): citizen_start 5,000; job_13_weeks 30,000; job_26_weeks
30,000; earnings_60k 15,000; self_support_blocks 3,000 each. As of 2020-06-30:
- p-led-001 (20 h/week from 2019-05-08): 5,000 + 30,000 + 30,000 + 15,000 + 10 x 3,000 = 110,000;
- p-led-002 (no job): citizen_start only, 5,000;
- p-led-003 (10 h/week): citizen_start 5,000 + earnings_60k 15,000 = 20,000 (too few hours for the job lines).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from pbr_rules.errors import InputInvalid
from pbr_rules.ledger import (
    Ledger,
    LedgerUnavailable,
    NotFound,
    ReasonRequired,
    RunRefused,
    SchemaTooNew,
    TransitionRefused,
    head_revision,
    script_directory,
)
from pbr_rules.ledger import tables as T
from tests.ledger.conftest import histories, participant

AS_OF = date(2020, 6, 30)
P3_EARNINGS = "dk-101-koebenhavn/p-led-003/earnings_60k/1"
P1_START = "dk-101-koebenhavn/p-led-001/citizen_start/1"


def cohort(k, p3_job=True):
    return histories(k, [participant(1), participant(2, job=False), participant(3, hours=10, job=p3_job)])


def test_a_first_run_makes_every_payment_a_due_claim(ledger, koebenhavn):
    rec = ledger.settle(koebenhavn, cohort(koebenhavn), AS_OF, "cli:test")
    assert rec.run.id == 1 and rec.run.seq == 1 and rec.run.parent_id is None
    assert rec.settlement.total == Decimal("135000.00")  # 110,000 + 5,000 + 20,000
    assert rec.settlement.due_now == Decimal("135000.00")
    claims = ledger.claims(limit=None)
    assert len(claims) == 14 + 1 + 2 == rec.claims_new
    assert {c.state for c in claims} == {"due"}
    assert sum(c.outstanding for c in claims) == Decimal("135000.00")


def test_the_same_cohort_settled_again_owes_nothing_new(ledger, koebenhavn):
    ledger.settle(koebenhavn, cohort(koebenhavn), AS_OF, "cli:test")
    again = ledger.settle(koebenhavn, cohort(koebenhavn), AS_OF, "cli:test")
    assert (again.run.seq, again.run.parent_id) == (2, 1)
    assert again.settlement.due_now == Decimal("0.00") and again.settlement.changes == []
    assert again.claims_new == 0 and again.claims_changed == 0


def test_a_later_run_lists_only_what_is_new_since_the_latest_run(ledger, koebenhavn):
    first = ledger.settle(koebenhavn, cohort(koebenhavn), date(2019, 6, 30), "cli:test")
    assert first.settlement.total == Decimal("15000.00")  # three citizen_start payments
    second = ledger.settle(koebenhavn, cohort(koebenhavn), AS_OF, "cli:test")
    assert second.settlement.due_now == Decimal("120000.00")  # 135,000 - 15,000
    assert second.claims_new == 14 - 1 + 1  # p-led-001's 13 further payments and p-led-003's earnings


def test_an_earlier_as_of_than_the_latest_run_is_refused(ledger, koebenhavn):
    ledger.settle(koebenhavn, cohort(koebenhavn), AS_OF, "cli:test")
    with pytest.raises(RunRefused, match=r"run 1\) is as of 2020-06-30, after 2019-06-30"):
        ledger.settle(koebenhavn, cohort(koebenhavn), date(2019, 6, 30), "cli:test")


def test_a_cohort_missing_a_subject_the_latest_run_paid_is_refused(ledger, koebenhavn):
    ledger.settle(koebenhavn, cohort(koebenhavn), AS_OF, "cli:test")
    partial = histories(koebenhavn, [participant(1)])
    with pytest.raises(InputInvalid, match=r"the ledger's latest run \(1\) paid subjects that are not in this cohort: participant p-led-002"):
        ledger.settle(koebenhavn, partial, AS_OF, "cli:test")
    assert len(ledger.runs()) == 1


def test_claim_life_due_approved_paid_and_refusals_name_the_state(ledger, koebenhavn):
    ledger.settle(koebenhavn, cohort(koebenhavn), AS_OF, "cli:test")
    with pytest.raises(TransitionRefused, match=r"is due: cannot pay it \(pay applies to a claim that is approved\)"):
        ledger.act(P1_START, "pay", "fund")
    assert ledger.act(P1_START, "approve", "token:m101")[0].state == "approved"
    paid, _ = ledger.act(P1_START, "pay", "token:fund")
    assert (paid.state, paid.paid, paid.outstanding) == ("paid", Decimal("5000.00"), Decimal("0.00"))
    assert [e.action for e in paid.events] == ["settle", "approve", "pay"]
    assert paid.events[-1].amount == Decimal("5000.00") and paid.events[-1].actor == "token:fund"
    with pytest.raises(TransitionRefused, match="is paid: cannot pay it"):
        ledger.act(P1_START, "pay", "token:fund")  # never paid twice


def test_reject_needs_a_reason_and_a_rejected_claim_is_not_proposed_again(ledger, koebenhavn):
    ledger.settle(koebenhavn, cohort(koebenhavn), AS_OF, "cli:test")
    with pytest.raises(ReasonRequired):
        ledger.act(P3_EARNINGS, "reject", "token:fund", "  ")
    rejected, _ = ledger.act(P3_EARNINGS, "reject", "token:fund", "failed verification: no payslips")
    assert rejected.state == "rejected"
    later = ledger.settle(koebenhavn, cohort(koebenhavn), date(2020, 7, 31), "cli:test")
    assert P3_EARNINGS in later.not_proposed
    assert ledger.claim(P3_EARNINGS).state == "rejected"
    with pytest.raises(TransitionRefused, match="is rejected: cannot approve it"):
        ledger.act(P3_EARNINGS, "approve", "token:m101")
    back, _ = ledger.act(P3_EARNINGS, "reinstate", "token:fund", "payslips received")
    assert back.state == "due" and back.outstanding == Decimal("15000.00")


def test_a_paid_claim_no_longer_triggered_becomes_recovery_due_then_recovered(ledger, koebenhavn):
    ledger.settle(koebenhavn, cohort(koebenhavn), AS_OF, "cli:test")
    ledger.act(P3_EARNINGS, "approve", "token:m101")
    ledger.act(P3_EARNINGS, "pay", "token:fund")
    corrected = ledger.settle(koebenhavn, cohort(koebenhavn, p3_job=False), AS_OF, "cli:test")
    assert corrected.settlement.due_now == Decimal("-15000.00")  # the claw-back
    claim = ledger.claim(P3_EARNINGS)
    assert (claim.state, claim.settled, claim.outstanding) == ("recovery_due", Decimal("0.00"), Decimal("-15000.00"))
    ledger.act(P3_EARNINGS, "dispute", "token:m101", "the employer's register is late")
    with pytest.raises(TransitionRefused, match="and disputed: cannot recover it \\(the dispute must be cleared first\\)"):
        ledger.act(P3_EARNINGS, "recover", "token:fund")
    ledger.act(P3_EARNINGS, "clear", "token:fund", "register checked: no job")
    done, _ = ledger.act(P3_EARNINGS, "recover", "token:fund")
    assert (done.state, done.paid, done.recovered, done.outstanding) == ("recovered", Decimal("15000.00"), Decimal("15000.00"), Decimal("0.00"))


def test_an_unpaid_claim_no_longer_triggered_is_withdrawn_and_comes_back_when_triggered(ledger, koebenhavn):
    ledger.settle(koebenhavn, cohort(koebenhavn), AS_OF, "cli:test")
    ledger.settle(koebenhavn, cohort(koebenhavn, p3_job=False), AS_OF, "cli:test")
    assert ledger.claim(P3_EARNINGS).state == "withdrawn"
    ledger.settle(koebenhavn, cohort(koebenhavn), AS_OF, "cli:test")
    assert ledger.claim(P3_EARNINGS).state == "due"
    assert [e.to_state for e in ledger.claim(P3_EARNINGS).events] == ["due", "withdrawn", "due"]


def test_unknown_claims_and_runs_are_not_found(ledger):
    with pytest.raises(NotFound, match="no claim 'nope' in the ledger"):
        ledger.claim("nope")
    with pytest.raises(NotFound, match="no settlement run 7"):
        ledger.run(7)


def test_records_are_only_ever_added(ledger, koebenhavn, database_url):
    """Nothing the service does updates or deletes a row: counts only grow, old rows stay as they were."""
    ledger.settle(koebenhavn, cohort(koebenhavn), AS_OF, "cli:test")
    engine = sa.create_engine(ledger.url)
    with engine.connect() as c:
        before = {t.name: c.execute(sa.select(t)).mappings().all() for t in T.metadata.sorted_tables}
    ledger.act(P1_START, "approve", "token:m101")
    ledger.settle(koebenhavn, cohort(koebenhavn, p3_job=False), AS_OF, "cli:test")
    with engine.connect() as c:
        after = {t.name: c.execute(sa.select(t)).mappings().all() for t in T.metadata.sorted_tables}
    engine.dispose()
    for name, rows in before.items():
        assert after[name][: len(rows)] == rows, name
    assert len(after["claim_events"]) > len(before["claim_events"])


def test_decisions_are_kept_under_a_keyed_subject_key_never_the_id(ledger, koebenhavn):
    from pbr_rules.evaluation import evaluate_cohort

    hs = cohort(koebenhavn)
    results = evaluate_cohort(koebenhavn, hs, AS_OF)
    assert ledger.log_decisions(koebenhavn, hs, results, AS_OF, "cli:test") == 3
    kept = ledger.decisions_of("participant", "p-led-001")
    assert len(kept) == 1 and kept[0]["as_of"] == "2020-06-30" and kept[0]["actor"] == "cli:test"
    assert "p-led-001" not in kept[0]["result_json"] and kept[0]["subject_key"] in kept[0]["result_json"]
    other = Ledger(ledger.url, secret_file=ledger.secret_path().with_name("other.key"))
    assert other.subject_key("participant", "p-led-001") != kept[0]["subject_key"]  # keyed: another secret, another key
    other.close()


def test_verify_finds_a_tampered_claim_event(ledger, koebenhavn):
    ledger.settle(koebenhavn, cohort(koebenhavn), AS_OF, "cli:test")
    ledger.act(P1_START, "approve", "token:m101")
    ledger.act(P1_START, "pay", "token:fund")
    assert ledger.verify().ok and ledger.verify().events == 4  # contract, run, approve, pay
    with ledger.engine.begin() as c:
        c.execute(sa.update(T.claim_events).where(T.claim_events.c.action == "pay").values(amount_ore=1_000_000))
    report = ledger.verify()
    assert not report.ok and report.broken_seq == 4
    assert "the records of event 4 (claim.pay" in report.broken


def test_verify_finds_a_rewritten_event_and_a_removed_one(ledger, koebenhavn):
    ledger.settle(koebenhavn, cohort(koebenhavn), AS_OF, "cli:test")
    ledger.act(P1_START, "approve", "token:m101")
    ledger.act(P1_START, "pay", "token:fund")
    with ledger.engine.begin() as c:
        c.execute(sa.update(T.events).where(T.events.c.seq == 3).values(actor="token:someone-else"))
    assert ledger.verify().broken == "event 3 (claim.approve dk-101-koebenhavn/p-led-001/citizen_start/1) was altered: its hash does not match its content"


def test_a_newer_schema_is_refused(database_url, tmp_path):
    Ledger(database_url, secret_file=tmp_path / "k").close()
    engine = sa.create_engine(Ledger(database_url, migrate=False).url)
    with engine.begin() as c:
        c.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(SchemaTooNew, match=r"was written by a newer pbr-rules \(schema revision 9999; this version knows up to 0001\)"):
        Ledger(database_url)


def test_migrations_run_from_an_empty_database_and_from_every_earlier_revision(database_url):
    from alembic import command
    from alembic.config import Config

    from pbr_rules.ledger import create_engine
    from pbr_rules.ledger.database import MIGRATIONS, check_revision

    revisions = [s.revision for s in script_directory().walk_revisions()][::-1]  # oldest first
    assert revisions[-1] == head_revision()
    for start in [None, *revisions]:
        engine = create_engine(Ledger(database_url, migrate=False).url)
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
            if start is not None:
                command.upgrade(cfg, start)
        engine.dispose()
        led = Ledger(database_url)  # migrates on open
        assert check_revision(led.engine, led.url) == head_revision()
        with led.engine.connect() as c:
            assert set(sa.inspect(c).get_table_names()) >= set(T.metadata.tables)
        led.close()


def test_an_unreachable_database_names_the_url_without_its_password():
    with pytest.raises(LedgerUnavailable) as exc:
        Ledger("postgresql+psycopg://pbr:s3cret-pw@127.0.0.1:1/ledger")
    assert "postgresql+psycopg://pbr:***@127.0.0.1:1/ledger" in str(exc.value)
    assert "s3cret-pw" not in str(exc.value)


def test_the_migrations_build_exactly_the_tables_the_code_declares(ledger):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with ledger.engine.connect() as c:
        diff = compare_metadata(MigrationContext.configure(c, opts={"compare_type": True}), T.metadata)
    assert diff == []  # a changed table needs a new migration: alembic revision --autogenerate


def test_a_paid_line_keeps_the_evidence_its_milestone_was_met_on(ledger, koebenhavn):
    rec = ledger.settle(koebenhavn, cohort(koebenhavn), AS_OF, "cli:test")
    evidence = ledger.line_evidence(rec.run.id, P3_EARNINGS)
    # earnings_60k for p-led-003: 12,000 a month from 2019-05-08 passes 60,000 in the fifth month
    assert evidence["met_on"] == "2019-10-07" and evidence["evidence"]
    assert all(set(e) == {"source", "description"} for e in evidence["evidence"])
    assert any(e["source"].startswith("employment[0]") for e in evidence["evidence"])


def test_decisions_of_several_callers_kept_in_one_transaction_are_one_event_per_contract_and_actor(ledger, koebenhavn):
    from pbr_rules.evaluation import evaluate_cohort
    from pbr_rules.ledger import DecisionEntry

    hs = cohort(koebenhavn)
    results = evaluate_cohort(koebenhavn, hs, AS_OF)
    entries = [DecisionEntry(koebenhavn, h, r, AS_OF, actor) for h, r, actor in zip(hs, results, ["token:t-a", "token:t-b", "token:t-a"])]
    assert ledger.log_decision_entries(entries) == 3
    events = ledger.audit()
    # the contract version once, then one event per actor in the order each first appears
    assert [(e.kind, e.actor) for e in events] == [("contract.loaded", "token:t-a"), ("decisions.logged", "token:t-a"), ("decisions.logged", "token:t-b")]
    assert events[1].ref.endswith(" x2") and events[2].ref.endswith(" x1")
    assert [d["actor"] for d in ledger.decisions_of("participant", "p-led-002")] == ["token:t-b"]
    assert ledger.log_decisions(koebenhavn, hs[:1], results[:1], AS_OF, "token:t-c") == 1
    assert [e.kind for e in ledger.audit(after=3)] == ["decisions.logged"]  # the contract version is not recorded twice
    assert ledger.verify().ok
