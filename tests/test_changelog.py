"""Change control: 'pbr changelog check' fails when an agreement's payment terms have no changelog entry.

CI runs 'pbr changelog check' (the same check as test_bundled_contracts_are_recorded).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pbr_rules.cli import main
from pbr_rules.errors import ContractInvalid
from pbr_rules.language.loader import load_contract
from pbr_rules.lawyers.changelog import check_changelog, load_changelog, payment_fingerprint

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = ROOT / "contracts"


@pytest.fixture
def contracts(tmp_path) -> Path:
    shutil.copytree(CONTRACTS, tmp_path / "contracts")
    return tmp_path / "contracts"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_bundled_contracts_are_recorded(capsys):
    assert check_changelog(CONTRACTS) == []
    assert main(["changelog", "check", "--contracts", str(CONTRACTS)]) == 0
    assert "records the payment terms of every agreement" in capsys.readouterr().out


def test_every_bundled_agreement_has_an_entry_with_its_fingerprint():
    log = load_changelog(CONTRACTS / "CHANGELOG.yaml")
    recorded = {(e.contract, e.fingerprint) for e in log.entries}
    for f in ("101-koebenhavn", "751-aarhus", "461-odense"):
        loaded = load_contract(CONTRACTS / "agreements" / f"{f}.yaml")
        assert (loaded.contract.id, payment_fingerprint(loaded)) in recorded


def test_a_tariff_edit_without_an_entry_fails_naming_the_contract(contracts, capsys):
    _edit(contracts / "agreements/101-koebenhavn.yaml", 'value: "36000"', 'value: "37000"')
    problems = check_changelog(contracts)
    assert len(problems) == 1
    assert problems[0].startswith("dk-101-koebenhavn: payment terms changed (fingerprint ")
    assert problems[0].endswith("CHANGELOG.yaml has no entry for them; add one")
    assert main(["changelog", "check", "--contracts", str(contracts)]) == 1
    out = capsys.readouterr().out
    assert "dk-101-koebenhavn: payment terms changed" in out
    fp = payment_fingerprint(load_contract(contracts / "agreements/101-koebenhavn.yaml"))
    assert f"fingerprint: {fp}" in out  # a stub entry to complete

    # recording the new terms makes the check pass again
    with (contracts / "CHANGELOG.yaml").open("a", encoding="utf-8") as log:
        log.write(
            "  - contract: dk-101-koebenhavn\n    version: \"1.2\"\n    effective_from: \"2021-01-01\"\n"
            "    clause: \"Tillæg 4, § 1\"\n    changes: The 13-week job tariff rises to DKK 37,000.\n"
            f"    fingerprint: {fp}\n"
        )
    assert check_changelog(contracts) == []


def test_a_template_edit_fails_every_agreement_that_it_changes(contracts):
    _edit(contracts / "templates/vaekstpartnerskaber.yaml", "claim_lag: {days: 15", "claim_lag: {days: 20")
    problems = check_changelog(contracts)
    # Odense sets its own claim lag, so only København and Aarhus change
    assert [p.split(":")[0] for p in problems] == ["dk-101-koebenhavn", "dk-751-aarhus"]


def test_wording_edits_need_no_entry(contracts):
    _edit(contracts / "agreements/101-koebenhavn.yaml", "Re-profiled towards job outcomes.", "Moved towards job outcomes.")
    _edit(contracts / "agreements/101-koebenhavn.yaml", "title: Social inklusion", "title: Social inklusion (rev.)")
    _edit(contracts / "agreements/101-koebenhavn.yaml", "Jobvejen København ApS", "Jobvejen Kbh ApS")
    _edit(contracts / "templates/vaekstpartnerskaber.yaml", "description: The citizen starts the course (attachment fee).",
          "description: The citizen starts the course.")
    _edit(contracts / "templates/vaekstpartnerskaber.yaml", 'reference: "§ 4.5"', 'reference: "§ 4.5, stk. 1"')
    assert check_changelog(contracts) == []


def test_fingerprint_ignores_wording_but_not_terms():
    kbh = load_contract(CONTRACTS / "agreements/101-koebenhavn.yaml")
    amended = load_contract(ROOT / "fixtures/amendments/101-koebenhavn-tillaeg-3.yaml")
    assert payment_fingerprint(kbh) != payment_fingerprint(amended)
    assert len(payment_fingerprint(kbh)) == 64


def test_cli_fingerprint(capsys):
    f = CONTRACTS / "agreements/461-odense.yaml"
    assert main(["changelog", "fingerprint", str(f)]) == 0
    assert capsys.readouterr().out.strip() == payment_fingerprint(load_contract(f))
    assert main(["changelog", "fingerprint", str(CONTRACTS / "nope.yaml")]) == 2


def test_a_missing_or_malformed_changelog_is_a_problem(contracts):
    (contracts / "CHANGELOG.yaml").unlink()
    assert check_changelog(contracts)[0].endswith("CHANGELOG.yaml is missing; add it (kind: changelog) with an entry for each agreement")
    (contracts / "CHANGELOG.yaml").write_text("kind: changelog\nentries:\n  - contract: dk-101-koebenhavn\n    fingerprint: abc\n", encoding="utf-8")
    problems = check_changelog(contracts)
    assert any("entries[0].fingerprint" in p for p in problems) and any("missing required key 'version'" in p for p in problems)
    with pytest.raises(ContractInvalid):
        load_changelog(contracts / "CHANGELOG.yaml")
