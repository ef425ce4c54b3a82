"""The agreement page lists a formula tariff's dated changes: a money parameter (also per goal or per week) as an amount,
a rate as the number it is (tests/contracts/formula.yaml raises its goal price from 2020)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from pbr_rules.language import load_contract
from pbr_rules.web.workspace import _amendments

ROOT = Path(__file__).resolve().parents[2]


def test_a_formula_parameter_change_is_an_amendment():
    c = load_contract(ROOT / "tests/contracts/formula.yaml").contract
    rows = [a for a in _amendments(c) if a["what"].startswith("formula")]
    assert [(str(a["effective"]), a["what"], a["value"], a["money"], a["reference"]) for a in rows] == [
        ("2020-01-01", "formula goals_counted: price (money_per_count)", Decimal("2500"), True, "Tillæg 1, § 4"),
    ]
