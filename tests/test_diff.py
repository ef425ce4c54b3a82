"""diff_contracts and 'pbr diff': changes in contractual terms, classified; exit codes; --rev against git."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from pbr_rules.cli import main
from pbr_rules.language.loader import load_contract
from pbr_rules.lawyers.diff import diff_contracts, diff_text

ROOT = Path(__file__).resolve().parents[1]
KBH = ROOT / "contracts/agreements/101-koebenhavn.yaml"
AARHUS = ROOT / "contracts/agreements/751-aarhus.yaml"
TILLAEG_3 = ROOT / "fixtures/amendments/101-koebenhavn-tillaeg-3.yaml"

# Tillæg 3 (fixtures/amendments/101-koebenhavn-tillaeg-3.yaml) against the København agreement,
# written out by hand from the fixture: (area, path, kind, old, new, effective_from, references, affects_payments).
EXPECTED_TILLAEG_3 = [
    ("eligibility", "eligibility.citizens.age.max", "widened", "64", "67", None, ["§ 3.1"], True),
    ("tariffs", "tariffs.job_13_weeks.amounts.all.2021-07-01", "lowered", "36000.00", "30000.00", "2021-07-01",
     ["Tillæg 3, § 1", "Bilag 2, pkt. 5"], True),
    ("caps", "caps.per_participant.2021-07-01", "raised", "120000.00", "150000.00", "2021-07-01", ["Tillæg 3, § 2"], True),
    ("agreement", "version", "changed", "1.2", "1.3", None, [], False),
    ("wording", "documentation", "reworded", None, None, None, [], False),  # old/new: the two texts (checked below)
    ("wording", "milestones.job_13_weeks.description", "reworded", "In work at least 15 hours a week for 13 of 16 weeks.",
     "In work at least 15 hours a week in 13 of any 16 consecutive weeks.", None, ["§ 4.5"], False),
]


def as_rows(d):
    rows = []
    for c in d.changes:
        j = c.model_dump(mode="json")
        old, new = (None, None) if c.path == "documentation" else (j["old"], j["new"])
        rows.append((j["area"], j["path"], j["kind"], old, new, j["effective_from"], j["references"], j["affects_payments"]))
    return rows


def test_tillaeg_3_lists_exactly_the_expected_changes():
    d = diff_contracts(load_contract(KBH), load_contract(TILLAEG_3))
    assert as_rows(d) == EXPECTED_TILLAEG_3
    assert d.affects_payments
    doc = next(c for c in d.changes if c.path == "documentation")
    assert "Tillæg 3" in doc.new and "Tillæg 3" not in doc.old
    text = diff_text(d)
    assert text.index("Changes that affect payments (3)") < text.index("Changes that do not affect payments (3)")
    assert "lowered: job_13_weeks, all target groups: DKK 30,000.00 from 2021-07-01 (the old terms had DKK 36,000.00 in force then)" in text


def test_the_reverse_amendment_is_classified_the_other_way():
    d = diff_contracts(load_contract(TILLAEG_3), load_contract(KBH))
    kinds = {c.path: c.kind for c in d.changes if c.affects_payments}
    assert kinds == {
        "eligibility.citizens.age.max": "narrowed",
        "tariffs.job_13_weeks.amounts.all.2021-07-01": "raised",  # removing the cut: 36,000 is in force again
        "caps.per_participant.2021-07-01": "lowered",
    }


def test_a_file_against_itself_has_no_changes(capsys):
    assert diff_contracts(load_contract(KBH), load_contract(KBH)).changes == []
    assert main(["diff", str(KBH), str(KBH), "--lang", "en"]) == 0  # the bundled agreements are in Danish
    assert "No changes." in capsys.readouterr().out


def test_target_groups_age_baseline_and_amendments_between_agreements():
    d = diff_contracts(load_contract(KBH), load_contract(AARHUS))
    by = {(c.path, c.what): c for c in d.changes}
    narrowed = sorted(c.old for c in d.changes if c.path == "eligibility.citizens.target_groups")
    assert narrowed == ["cash_benefit_immigrant", "early_retirement_pension", "newly_arrived_refugee", "other_vulnerable"]
    assert all(c.kind == "narrowed" for c in d.changes if c.path == "eligibility.citizens.target_groups")
    assert by[("eligibility.citizens.age.max", "highest age 64 -> 39")].kind == "narrowed"
    base = next(c for c in d.changes if c.path == "eligibility.citizens.baseline.benefit_weeks_at_least")
    assert (base.kind, base.old, base.new, base.references) == ("widened", "40", "26", ["§ 3.2 (Aarhus)"])
    amend = next(c for c in d.changes if c.path == "milestones.job_13_weeks.amendments.2020-09-01")
    assert amend.kind == "redefined" and amend.effective_from.isoformat() == "2020-09-01"
    assert "measure.out_of 16 -> 13" in amend.what and "measure.weeks 13 -> 10" in amend.what
    assert amend.references == ["Tillæg 2, § 1", "§ 4.5"]
    flex = next(c for c in d.changes if c.path == "tariffs.job_13_weeks.amounts.flexjob_visitated")
    assert flex.kind == "removed" and flex.affects_payments
    ref = next(c for c in d.changes if c.path == "eligibility.citizens.baseline.reference")
    assert ref.area == "references" and not ref.affects_payments


def _copy_contracts(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for sub in ("templates", "data"):
        shutil.copytree(ROOT / "contracts" / sub, root / "contracts" / sub)
    (root / "contracts/agreements").mkdir(parents=True)
    shutil.copy(KBH, root / "contracts/agreements/101-koebenhavn.yaml")
    return root


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_cli_exit_codes(tmp_path, capsys):
    root = _copy_contracts(tmp_path)
    f = root / "contracts/agreements/101-koebenhavn.yaml"
    reworded = root / "contracts/agreements/reworded.yaml"
    shutil.copy(f, reworded)
    _edit(reworded, "Re-profiled towards job outcomes.", "Moved towards job outcomes.")
    assert main(["diff", str(f), str(reworded), "--lang", "en"]) == 0  # wording only
    assert "reworded" in capsys.readouterr().out
    assert main(["diff", str(KBH), str(TILLAEG_3), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["diff"]["affects_payments"] is True and len(data["diff"]["changes"]) == 6
    assert main(["diff", str(KBH), str(tmp_path / "nope.yaml")]) == 2
    err = capsys.readouterr().err
    assert "the new agreement" in err and "nope.yaml" in err and "Traceback" not in err
    broken = root / "contracts/agreements/broken.yaml"
    shutil.copy(f, broken)
    _edit(broken, 'value: "36000"', "value: 36000.5")
    assert main(["diff", str(f), str(broken)]) == 2
    assert "is not a valid agreement" in capsys.readouterr().err
    assert main(["diff", str(f)]) == 2  # neither NEW nor --rev
    assert main(["diff", str(f), str(f), "--rev", "HEAD"]) == 2  # both


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), "-c", "user.name=Test", "-c", "user.email=test@example.org", *args], check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_rev_compares_the_committed_file_and_its_template_with_the_working_files(tmp_path, capsys):
    root = _copy_contracts(tmp_path)
    f = root / "contracts/agreements/101-koebenhavn.yaml"
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "signed")
    assert main(["diff", str(f), "--rev", "HEAD", "--lang", "en"]) == 0
    assert "No changes." in capsys.readouterr().out

    # the agreement changes a tariff, and the template (not the agreement) changes the attachment fee
    _edit(f, 'value: "36000"', 'value: "38000"')
    _edit(root / "contracts/templates/vaekstpartnerskaber.yaml", 'value: "5000"', 'value: "6000"')
    assert main(["diff", str(f), "--rev", "HEAD", "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)["diff"]
    got = {(c["path"], c["kind"], c["old"], c["new"]) for c in data["changes"]}
    assert got == {
        ("tariffs.job_13_weeks.amounts.all.2020-07-01", "raised", "36000.00", "38000.00"),
        ("tariffs.citizen_start.amounts.all.2019-01-01", "raised", "5000.00", "6000.00"),
    }
    assert data["old"]["path"].endswith("101-koebenhavn.yaml@HEAD")

    _git(root, "commit", "-q", "-am", "Tillæg 4")
    assert main(["diff", str(f), "--rev", "HEAD~1"]) == 1
    assert main(["diff", str(f), "--rev", "HEAD"]) == 0
    capsys.readouterr()
    assert main(["diff", str(f), "--rev", "no-such-revision"]) == 2
    assert "no-such-revision" in capsys.readouterr().err
    # a revision is never passed on as a git option (a review: --rev=--output=FILE emptied FILE)
    victim = tmp_path / "victim.txt"
    victim.write_text("kept\n")
    assert main(["diff", str(f), f"--rev=--output={victim}"]) == 2
    assert "is not a revision" in capsys.readouterr().err and victim.read_text() == "kept\n"
    new = root / "contracts/agreements/new.yaml"
    shutil.copy(f, new)
    assert main(["diff", str(new), "--rev", "HEAD"]) == 2  # not in git at HEAD
    assert "new.yaml" in capsys.readouterr().err
