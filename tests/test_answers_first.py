"""``evaluate --cohort`` and ``settle`` answer first: the summary, refusals grouped by reason with
counts, and each history's or payment's own lines only with ``--details``.

The expected counts for the København fixtures were worked out from fixtures/README.md:
p-101-009 is too old, p-101-010 not resident, p-101-011 short of baseline weeks; the other
ten are eligible; nine of them are paid the DKK 5,000 attachment fee (p-101-008 enrolled
after it was withdrawn).
"""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from pbr_rules.cli import main
from pbr_rules.language import load_contract

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = str(ROOT / "contracts" / "agreements" / "101-koebenhavn.yaml")
PARTICIPANTS = str(ROOT / "fixtures" / "participants" / "101")
COHORT = str(ROOT / "fixtures" / "cohorts" / "koebenhavn-1000.jsonl")


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def evaluate(capsys, *extra) -> str:
    code, out, err = run(
        capsys, "evaluate", "--contract", CONTRACT, "--cohort", PARTICIPANTS, "--as-of", "2021-12-31",
        "--workers", "1", "--no-log", *extra,
    )
    assert code == 0, err
    return out


def test_cohort_summary_comes_first_with_refusals_grouped_by_rule(capsys):
    lines = evaluate(capsys).splitlines()
    assert lines[:8] == [
        f"Contract dk-101-koebenhavn version 1.2 (content {load_contract(CONTRACT).content_hash[:12]}), as of 2021-12-31",
        "13 histories, 10 eligible, 70 payments, total DKK 654,000.00",
        "",
        "Not eligible: 3, by the rule they fail",
        "rule       histories  clause",
        "---------  ---------  ------",
        "age        1          § 3.1",
        "baseline   1          § 3.2",
    ]
    assert "milestone            payments  amount (DKK)  clause" in lines  # the amounts' currency in the header
    assert "citizen_start        9         45,000.00     § 4.1" in lines
    assert lines[-1] == "Each history's milestones and payments: add --details."
    assert not any(line.startswith("Participant ") for line in lines)


def test_cohort_details_follow_the_summary(capsys):
    out = evaluate(capsys, "--details")
    assert out.index("13 histories, 10 eligible") < out.index("Participant p-101-001 (cash_benefit): ELIGIBLE")
    assert out.count("Participant p-101-") == 13
    assert "add --details" not in out


def test_cohort_summary_is_short(capsys):
    code, out, err = run(capsys, "evaluate", "--contract", CONTRACT, "--cohort", COHORT, "--workers", "1", "--no-log")
    assert code == 0, err
    # 1,000 histories: the answer fits on a screen (it used to be 22,841 lines, the answer last).
    assert len(out.splitlines()) < 30
    assert out.splitlines()[1] == "1000 histories, 895 eligible, 2450 payments, total DKK 24,565,000.00"


@pytest.fixture
def db(tmp_path, monkeypatch):
    monkeypatch.setenv("PBR_LEDGER_SECRET_FILE", str(tmp_path / "secret.key"))
    return str(tmp_path / "ledger.db")


def test_settle_answers_first_and_groups_refusals_by_reason(capsys, db):
    # English: the bundled agreements are in Danish (tests/test_i18n.py reads the Danish).
    common = ["settle", "--contract", CONTRACT, "--cohort", COHORT, "--as-of", "2021-12-31", "--dry-run", "--workers", "1", "--database", db, "--lang", "en"]
    code, out, err = run(capsys, *common, "--format", "json")
    assert code == 0, err
    settlement = json.loads(out)
    code, out, err = run(capsys, *common)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[1] == (
        f"Settled to date DKK {Decimal(settlement['total']):,.2f}; due now DKK {Decimal(settlement['due_now']):,.2f};"
        f" not paid because of caps, tiers or the cohort size DKK {Decimal(settlement['refused']):,.2f}"
    )
    status = Counter(x["status"] for x in settlement["lines"])
    assert lines[2] == (
        f"{len(settlement['lines'])} payments: {status['paid']} paid in full, {status['reduced']} reduced, {status['refused']} not paid (0 after caps, tiers or the cohort size)"
    )
    # Each reason's count and change, from the per-payment adjustments of the JSON.
    by_kind = Counter(a["kind"] for x in settlement["lines"] for a in x["adjustments"])
    assert by_kind["cohort_size"] == status["refused"] > 0
    start = lines.index("Payments reduced or refused, by reason (a payment may have more than one)")
    rows = {line.split()[0]: line.split()[1] for line in lines[start + 3 : start + 3 + len(by_kind)]}
    assert rows == {kind: str(n) for kind, n in by_kind.items()}
    assert "Each reduced or refused payment, adjustment and claw-back: add --details." in lines
    assert not any(line.startswith("dk-101-koebenhavn/") for line in lines)

    code, detailed, _ = run(capsys, *common, "--details")
    assert detailed.startswith(out.split("Each reduced")[0])
    adjusted = sum(1 for x in settlement["lines"] if x["adjustments"]) + sum(1 for c in settlement["changes"] if c["kind"] != "new")
    assert sum(line.startswith("dk-101-koebenhavn/") for line in detailed.splitlines()) == adjusted
