"""Settlement with hand-worked numbers: every cohort term binds, a claw-back, determinism.

The test agreement (tests/settlement/settle-small.yaml) extends the programme template:
citizen_start DKK 5,000 and job_13_weeks DKK 30,000 (13 of 16 weeks at 15 h+), payers
municipality 0.6 / dsk 0.4, claim lag 15 working days; locally: cohort size 2, a volume
tier (from the 2nd job outcome: 20,000), caps per participant 32,000, per milestone line
job_13_weeks 45,000, per payer dsk 20,000, per contract 50,000.

Three participants enrol Mon 2019-04-01 (p-a), Tue 04-02 (p-b), Wed 04-03 (p-c); each
works 20 h/week from Mon 2019-04-08 (W15): 13 of 16 weeks W15..W27, met Sun 2019-07-07.
Order: trigger date, then id.

  p-a start 04-01   5,000 -> 3,000 / 2,000                       dsk 2,000  total  5,000
  p-b start 04-02   5,000 -> 3,000 / 2,000                       dsk 4,000  total 10,000
  p-c start 04-03   refused: 3rd by enrolment, cohort size 2 (5,000)
  p-a job   07-07  30,000, per participant room 32,000-5,000 = 27,000 -> 27,000 (-3,000);
                   milestone room 45,000 ok; 16,200 / 10,800; dsk room 16,000 ok;
                   contract room 40,000 ok                        dsk 14,800 total 37,000
  p-b job   07-07  2nd outcome: tier 20,000 (-10,000); participant room 27,000 ok;
                   milestone room 45,000-27,000 = 18,000 (-2,000); 10,800 / 7,200;
                   dsk room 20,000-14,800 = 5,200 (-2,000) -> 16,000;
                   contract room 50,000-37,000 = 13,000 (-3,000), re-split by the parts
                   10,800/16,000 = 0.675 and 0.325: 8,775 / 4,225
  p-c job   07-07  refused: cohort size (30,000)

Totals: 5,000 + 5,000 + 27,000 + 13,000 = 50,000; municipality 3,000+3,000+16,200+8,775
= 30,975; dsk 2,000+2,000+10,800+4,225 = 19,025; refused 5,000+30,000+3,000+7,000 = 45,000.
Due dates (15 working days; Easter 18, 19, 22 April 2019): 04-01 -> 04-25, 04-02 -> 04-26,
Sun 07-07 -> Fri 07-26.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest

from pbr_rules.language.loader import load_contract
from pbr_rules.models.history import ParticipantHistory
from pbr_rules.models.settlement import Settlement
from pbr_rules.reports.text import to_json
from pbr_rules.evaluation import decide_view
from pbr_rules.settlement import admitted_subjects, settled_payers
from pbr_rules.settlement.settler import SettlementInvalid, settle

HERE = Path(__file__).resolve().parent / "settlement"


@pytest.fixture(scope="module")
def contract():
    return load_contract(HERE / "settle-small.yaml")


def person(pid: str, enrolment: str, job: bool = True) -> ParticipantHistory:
    return ParticipantHistory.model_validate(
        {
            "participant": pid,
            "municipality": "825",
            "birth_date": "1985-01-01",
            "target_group": "cash_benefit",
            "enrolment": enrolment,
            "extracted": "2019-07-07",
            "benefits": [{"weeks": "2018-W14..2019-W13", "code": "kontanthjaelp"}],
            "employment": [
                {"start": "2019-04-08", "hours_per_week": 20, "monthly_earnings": "10000", "employer": "acme"}
            ]
            if job
            else [],
        }
    )


COHORT = [person("p-a", "2019-04-01"), person("p-b", "2019-04-02"), person("p-c", "2019-04-03")]


def test_every_cohort_term_binds_as_worked_by_hand(contract):
    s = settle(contract, COHORT, date(2019, 7, 31))
    got = [(x.payment_id.split("/", 1)[1], x.status, str(x.gross), str(x.amount), [(p.party, str(p.amount)) for p in x.payers], str(x.due_date)) for x in s.lines]
    assert got == [
        ("p-a/citizen_start/1", "paid", "5000.00", "5000.00", [("municipality", "3000.00"), ("dsk", "2000.00")], "2019-04-25"),
        ("p-b/citizen_start/1", "paid", "5000.00", "5000.00", [("municipality", "3000.00"), ("dsk", "2000.00")], "2019-04-26"),
        ("p-c/citizen_start/1", "refused", "5000.00", "0.00", [("municipality", "0.00"), ("dsk", "0.00")], "2019-04-29"),
        ("p-a/job_13_weeks/1", "reduced", "30000.00", "27000.00", [("municipality", "16200.00"), ("dsk", "10800.00")], "2019-07-26"),
        ("p-b/job_13_weeks/1", "reduced", "20000.00", "13000.00", [("municipality", "8775.00"), ("dsk", "4225.00")], "2019-07-26"),
        ("p-c/job_13_weeks/1", "refused", "30000.00", "0.00", [("municipality", "0.00"), ("dsk", "0.00")], "2019-07-26"),
    ]
    b_job = s.lines[4]
    assert [(a.kind, str(a.change), a.reference) for a in b_job.adjustments] == [
        ("volume_tier", "-10000.00", "T 5.3"),
        ("cap:per_milestone", "-2000.00", "T 8.2"),
        ("cap:per_payer", "-2000.00", "T 8.4"),
        ("cap:per_contract", "-3000.00", "T 8.3"),
    ]
    assert [(a.kind, str(a.change)) for a in s.lines[3].adjustments] == [("cap:per_participant", "-3000.00")]
    assert s.lines[2].adjustments[0].kind == "cohort_size"
    assert (s.total, s.refused, s.due_now) == (D("50000"), D("45000"), D("50000"))
    assert [(p.party, str(p.amount)) for p in s.by_payer] == [("dsk", "19025.00"), ("municipality", "30975.00")]
    assert [(r.period, r.payer, r.payee, str(r.amount)) for r in s.schedule] == [
        ("2019-04", "dsk", "provider", "4000.00"),
        ("2019-04", "municipality", "provider", "6000.00"),
        ("2019-07", "dsk", "provider", "15025.00"),
        ("2019-07", "municipality", "provider", "24975.00"),
    ]


def test_settled_payers_applies_every_cohort_term_as_worked_by_hand(contract):
    # The simulation's path: the same terms (cohort size, tier, every cap) without the lines around them.
    views = [decide_view(contract, h) for h in COHORT]  # each as of its extraction date, as settle does
    admitted = admitted_subjects(contract, COHORT, views)
    assert admitted == {"participant": {"p-a", "p-b"}, "company": set()}
    ore = lambda *xs: tuple((party, D(x)) for party, x in zip(("municipality", "dsk"), xs))  # noqa: E731
    assert settled_payers(contract, views, admitted) == [
        (date(2019, 4, 25), ore("3000.00", "2000.00")),
        (date(2019, 4, 26), ore("3000.00", "2000.00")),
        (date(2019, 4, 29), ore("0.00", "0.00")),
        (date(2019, 7, 26), ore("16200.00", "10800.00")),
        (date(2019, 7, 26), ore("8775.00", "4225.00")),
        (date(2019, 7, 26), ore("0.00", "0.00")),
    ]


def test_a_corrected_history_claws_back_a_settled_payment(contract):
    first = settle(contract, COHORT, date(2019, 7, 31))
    corrected = [COHORT[0], person("p-b", "2019-04-02", job=False), COHORT[2]]
    second = settle(contract, corrected, date(2019, 8, 31), previous=first)
    # p-b's job outcome is gone: its 13,000 (8,775 / 4,225) is to be paid back; nothing
    # else changed (p-a is settled first in order, so its amounts stand).
    assert [(c.payment_id.split("/", 1)[1], c.kind, str(c.previous), str(c.due_now), [(p.party, str(p.amount)) for p in c.payers], c.period) for c in second.changes] == [
        ("p-b/job_13_weeks/1", "clawback", "13000.00", "-13000.00", [("dsk", "-4225.00"), ("municipality", "-8775.00")], "2019-08")
    ]
    assert second.due_now == D("-13000") and second.total == D("37000")
    assert [(r.period, r.payer, str(r.amount)) for r in second.schedule] == [("2019-08", "dsk", "-4225.00"), ("2019-08", "municipality", "-8775.00")]


def test_settling_again_with_nothing_new_adds_nothing(contract):
    first = settle(contract, COHORT, date(2019, 7, 31))
    again = settle(contract, COHORT, date(2019, 8, 31), previous=Settlement.model_validate_json(to_json(first)))
    assert again.changes == [] and again.due_now == 0 and again.schedule == []


def test_same_inputs_give_the_same_bytes(contract):
    assert to_json(settle(contract, COHORT, date(2019, 7, 31))) == to_json(settle(contract, list(COHORT), date(2019, 7, 31)))


def test_quarters(contract):
    s = settle(contract, COHORT, date(2019, 7, 31), period="quarter")
    assert sorted({r.period for r in s.schedule}) == ["2019-Q2", "2019-Q3"]


def test_a_previous_settlement_of_another_contract_is_refused(contract):
    first = settle(contract, COHORT, date(2019, 7, 31))
    other = first.model_copy(update={"contract": first.contract.model_copy(update={"id": "dk-101-koebenhavn"})})
    with pytest.raises(SettlementInvalid) as exc:
        settle(contract, COHORT, date(2019, 8, 31), previous=other)
    assert "the previous settlement is of contract 'dk-101-koebenhavn', not 'dk-825-settle'" in str(exc.value)


def test_settling_from_bare_decisions_gives_the_same_settlement(contract):
    # Simulations settle from decide_view (no evidence, no models); it must not change a thing.
    from pbr_rules.evaluation.evaluator import decide_view, evaluate_cohort
    from pbr_rules.settlement.settler import settle_results

    explained = evaluate_cohort(contract, COHORT, date(2019, 7, 31))
    bare = [decide_view(contract, h, date(2019, 7, 7)) for h in COHORT]
    assert to_json(settle_results(contract, COHORT, bare, date(2019, 7, 31))) == to_json(
        settle_results(contract, COHORT, explained, date(2019, 7, 31))
    )
