"""what_if: a small cohort under the København agreement and its (fictitious) Tillæg 3, worked out by hand.

Tillæg 3 (fixtures/amendments/101-koebenhavn-tillaeg-3.yaml): the 13-week job tariff for
all target groups falls from DKK 36,000 to 30,000 for outcomes from 2021-07-01; ages up
to 67 are admitted (before: 64); the cap per participant rises from DKK 120,000 to 150,000
from 2021-07-01. The cohort (tests/whatif/tillaeg-3-cohort.yaml), each extracted 2021-12-31:

wi-1, cash_benefit, enrolled Monday 2020-11-02 (2020-W45); a 30-hour job from Monday
2021-04-05 (2021-W14) at DKK 25,000 a month; no benefit after enrolment. Payments in
date order (old terms | new terms), running total against the cap:
  2020-11-02 citizen_start          5,000 (fee withdrawn only from 2021)   5,000 |   5,000
  2021-02-01 course_attendance     10,000 (36 sessions)                   15,000 |  15,000
  2021-05-03 qualification          8,000                                 23,000 |  23,000
  2021-06-16 earnings_60k          15,000: April 26 days x 25,000/30 = 21,666.67, May 25,000,
             June 16 days x 25,000/30 = 13,333.33: 60,000 reached on 16 June 38,000 |  38,000
  2021-07-04 job_13_weeks: 13th week 2021-W26 (Sunday 4 July), on/after the cut:
             old 36,000 | new 30,000                                      74,000 |  68,000
  2021-08-01, 08-29, 09-26 self_support_blocks #1-#3 (4 weeks each from 2021-W27), 3,000 each
                                                                          83,000 |  77,000
  2021-10-03 job_26_weeks 30,000 (26th week 2021-W39)                    113,000 | 107,000
  2021-10-24 self_support_blocks #4  3,000                               116,000 | 110,000
  2021-10-29 course_completed 10,000: old cap 120,000 leaves 4,000       120,000 | 120,000
  2021-11-21 self_support_blocks #5: old 0 (capped) | new 3,000          120,000 | 123,000
  2021-12-19 self_support_blocks #6: old 0 (capped) | new 3,000          120,000 | 126,000
  So wi-1: job_13_weeks#1 -6,000; course_completed#1 +6,000; self_support_blocks#5 and #6
  +3,000 each; total 120,000 -> 126,000 (+6,000).
wi-2, aged 66: not eligible under the old terms (max 64), eligible under the new (max 67):
  course_attendance 10,000 (2021-03-01) and qualification 8,000 (2021-04-01) are added;
  citizen_start (2021-02-01) pays nothing under either (withdrawn from 2021). 0 -> 18,000.
wi-3: citizen_start 5,000 (2020-06-01) and qualification 8,000 (2021-08-02): unchanged, 13,000.
wi-4: 13th job week 2020-W53 (Sunday 2021-01-03), before the cut: 36,000 under both;
  citizen_start 5,000 and one self-support block (2021-W01..W04) 3,000: unchanged, 44,000.

Totals: old 120,000 + 0 + 13,000 + 44,000 = 177,000; new 126,000 + 18,000 + 13,000 + 44,000
= 201,000; change +24,000 = -6,000 (job_13_weeks) + 6,000 (course_completed) + 6,000
(self_support_blocks) + 10,000 (course_attendance) + 8,000 (qualification).
Payers 60/40 on whole thousands split exactly: municipality +14,400, dsk +9,600.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

from pbr_rules.cli import main
from pbr_rules.language.loader import load_cohort, load_contract
from pbr_rules.lawyers.whatif import what_if
from pbr_rules.reports.text import what_if_text

ROOT = Path(__file__).resolve().parents[1]
KBH = ROOT / "contracts/agreements/101-koebenhavn.yaml"
TILLAEG_3 = ROOT / "fixtures/amendments/101-koebenhavn-tillaeg-3.yaml"
COHORT = ROOT / "tests/whatif/tillaeg-3-cohort.yaml"
D = Decimal


def run():
    old, new = load_contract(KBH), load_contract(TILLAEG_3)
    return what_if(old, new, load_cohort(COHORT, frozenset(new.codes.codes)))


def test_totals_per_milestone_and_per_payer():
    w = run()
    assert w.histories == 4
    assert (w.total.old, w.total.new, w.total.change) == (D("177000"), D("201000"), D("24000"))
    assert {m: d.change for m, d in w.per_milestone.items()} == {
        "course_attendance": D("10000"),
        "course_completed": D("6000"),
        "qualification": D("8000"),
        "job_13_weeks": D("-6000"),
        "self_support_blocks": D("6000"),
    }
    assert (w.per_milestone["job_13_weeks"].old, w.per_milestone["job_13_weeks"].new) == (D("72000"), D("66000"))
    assert {p: (d.old, d.new, d.change) for p, d in w.per_payer.items()} == {
        "dsk": (D("70800"), D("80400"), D("9600")),
        "municipality": (D("106200"), D("120600"), D("14400")),
    }


def test_who_gains_or_loses_which_payment():
    w = run()
    assert [s.subject for s in w.subjects] == ["wi-1", "wi-2"]  # wi-3 and wi-4 are unchanged
    wi1, wi2 = w.subjects
    assert [(p.payment, p.change, p.old_amount, p.new_amount, p.difference) for p in wi1.payments] == [
        ("wi-1/job_13_weeks/1", "changed", D("36000"), D("30000"), D("-6000")),
        ("wi-1/course_completed/1", "changed", D("4000"), D("10000"), D("6000")),
        ("wi-1/self_support_blocks/5", "changed", D("0"), D("3000"), D("3000")),
        ("wi-1/self_support_blocks/6", "changed", D("0"), D("3000"), D("3000")),
    ]
    assert wi1.payments[0].old_tariff == "DKK 36000.00 from 2020-07-01" and wi1.payments[0].new_tariff == "DKK 30000.00 from 2021-07-01"
    assert "capped by per_participant" in wi1.payments[1].note
    assert (wi1.total.old, wi1.total.new) == (D("120000"), D("126000"))
    assert (wi2.eligible_old, wi2.eligible_new) == (False, True)
    assert [(p.payment, p.change, p.new_amount) for p in wi2.payments] == [
        ("wi-2/course_attendance/1", "added", D("10000")),
        ("wi-2/qualification/1", "added", D("8000")),
    ]


def test_money_is_a_string_in_json_and_the_text_names_each_change():
    w = run()
    data = json.loads(w.model_dump_json())
    assert data["total"] == {"old": "177000.00", "new": "201000.00", "change": "24000.00"}
    assert data["per_milestone"]["job_13_weeks"]["change"] == "-6000.00"
    text = what_if_text(w)
    assert "Total: DKK 177,000.00 -> DKK 201,000.00 (+DKK 24,000.00)" in text
    assert "wi-2 (early_retirement_pension): DKK 0.00 -> DKK 18,000.00 (+DKK 18,000.00), eligible no -> yes" in text


def test_the_same_version_changes_nothing():
    kbh = load_contract(KBH)
    w = what_if(kbh, kbh, load_cohort(COHORT, frozenset(kbh.codes.codes)))
    assert w.subjects == [] and w.total.change == 0 and w.per_milestone == {}


def test_as_of_before_the_cut():
    # As of 2021-06-30 nothing of the tariff cut or the cap applies yet; only wi-2's eligibility
    # changes: course_attendance 10,000 + qualification 8,000.
    old, new = load_contract(KBH), load_contract(TILLAEG_3)
    w = what_if(old, new, load_cohort(COHORT, frozenset(new.codes.codes)), as_of=date(2021, 6, 30))
    assert [s.subject for s in w.subjects] == ["wi-2"] and w.total.change == D("18000")


def test_cli_diff_with_a_cohort(capsys):
    assert main(["diff", str(KBH), str(TILLAEG_3), "--cohort", str(COHORT), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["what_if"]["total"]["change"] == "24000.00"
    assert main(["diff", str(KBH), str(TILLAEG_3), "--cohort", str(COHORT), "--as-of", "2021-06-30"]) == 1
    assert "(+DKK 18,000.00)" in capsys.readouterr().out
    assert main(["diff", str(KBH), str(TILLAEG_3), "--cohort", str(ROOT / "nope.jsonl")]) == 2
    assert "cannot be evaluated" in capsys.readouterr().err


def test_progress_counts_both_evaluations():
    # 'pbr diff --cohort' evaluates the cohort twice: progress runs once from 0 to 2n (issue 13, item 6)
    histories = load_cohort(COHORT)
    seen = []
    what_if(load_contract(KBH), load_contract(TILLAEG_3), histories, on_progress=lambda done, total: seen.append((done, total)))
    n = len(histories)
    assert seen[-1] == (2 * n, 2 * n)
    assert {t for _, t in seen} == {2 * n} and [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert (n, 2 * n) in seen  # the first evaluation ends half way
