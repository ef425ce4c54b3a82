"""`pbr validate` over files and folders: every independent problem of every file in one run,
the checks across files, warnings (and --strict), each problem listed once.

The exact lines a contract manager sees are written out: tests/broken_folder/ holds a
contracts folder with several broken files (its README says what is wrong where), and
tests/warned/ one agreement per warning.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pbr_rules.catalogue import validate_paths
from pbr_rules.cli import main

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = "../../contracts/templates/vaekstpartnerskaber.yaml"


@pytest.fixture(autouse=True)
def _in_repo_root(monkeypatch):
    monkeypatch.chdir(ROOT)  # paths are passed, and so reported, relative to the repository root


def validate(capsys, *args: str) -> tuple[int, list[str], list[str]]:
    code = main(["validate", "--lang", "en", *args])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


ID_HINT = "each agreement needs its own id, dk-<municipality code>-<name>; an amendment changes the agreement's own file and raises its version"
BROKEN_FOLDER = [
    # Checks across files still run though 147 also has a misspelt key and 185 is not YAML.
    "tests/broken_folder/agreements/101-koebenhavn.yaml:3:5: id: contract id 'dk-101-koebenhavn' is also the id of"
    f" tests/broken_folder/agreements/147-frederiksberg.yaml:3 ({ID_HINT})",
    # The scenarios of a broken agreement: one line, at the key that names it, not the agreement's problems again.
    "tests/broken_folder/agreements/147-frederiksberg.scenarios.yaml:2:11: contract:"
    " uses tests/broken_folder/agreements/147-frederiksberg.yaml, which has problems (listed under it)"
    " (this file is checked in full once they are fixed)",
    "tests/broken_folder/agreements/147-frederiksberg.yaml:3:5: id: contract id 'dk-101-koebenhavn' is also the id of"
    f" tests/broken_folder/agreements/101-koebenhavn.yaml:3 ({ID_HINT})",
    "tests/broken_folder/agreements/147-frederiksberg.yaml:3:5: id: id 'dk-101-koebenhavn' names the municipality code 101,"
    " but municipality.code is '147' (payments are named after the id: make the id dk-147-<name>, or correct the code)",
    "tests/broken_folder/agreements/147-frederiksberg.yaml:7:1: tarif: unknown key 'tarif' (did you mean 'tariffs'?"
    " allowed: kind, id, title, description, documentation, illustrative, programme, jurisdiction, benefit_codes, municipality, parties,"
    " signed, term, currency, language, version, eligibility, milestones, status_kinds, exclusive, tariffs, payment, caps, costs, business_case, investor)",
    # A cross-check beside the misspelt key: the key is left out and the rest checked.
    "tests/broken_folder/agreements/147-frederiksberg.yaml:13:3: payment.payers: payer shares sum to 0.9, not 1"
    " (adjust the shares so they add up to exactly 1)",
    "tests/broken_folder/agreements/157-gentofte.yaml:6:38: municipality.code: the file name 157-gentofte.yaml starts with"
    " the municipality code 157, but municipality.code is '159' (agreements are named <municipality code>-<name>.yaml:"
    " rename the file to 159-gentofte.yaml, or correct the code)",
    "tests/broken_folder/agreements/157-gentofte.yaml:11:31: warning: tariffs.job_13_weeks.amounts.all.2019-01-01.value:"
    " 32000 here, but the reference beside it, 'Bilag 2, pkt. 5', is kept from the template, where that clause sets 30000"
    " (../../../contracts/templates/vaekstpartnerskaber.yaml:238) (write beside it the reference of the clause that sets 32000)",
    "tests/broken_folder/agreements/185-taarnby.yaml:4:26: YAML syntax: mapping values are not allowed in this context"
    " (a value containing ': ' must be quoted)",
    "tests/broken_folder/agreements/607-fredericia.yaml:13:11: currency: currency EUR differs from the currency of the other"
    " agreements of programme 'social-inklusion-gennem-vaekstpartnerskaber', DKK (tests/broken_folder/agreements/101-koebenhavn.yaml,"
    " tests/broken_folder/agreements/147-frederiksberg.yaml, tests/broken_folder/agreements/157-gentofte.yaml)"
    " (a programme's payments, caps and business case are added up in one currency: use DKK, or name another programme)",
]


def test_a_folder_of_broken_files_in_one_run(capsys):
    code, out, err = validate(capsys, "-q", "tests/broken_folder")
    assert code == 1
    assert out == BROKEN_FOLDER
    assert err == [
        "6 of 6 files have problems (9 in all); fix them and run 'pbr validate' again.",
        "Warnings: 1 (each is probably a mistake, though the agreement can be paid as written; --strict fails on them).",
    ]


def test_the_reports_of_a_broken_folder():
    reports = {Path(r.path).name: r for r in validate_paths(["tests/broken_folder"])}
    assert not any(r.ok for r in reports.values())
    assert [w.severity for w in reports["157-gentofte.yaml"].warnings] == ["warning"]
    assert all(d.severity == "error" for r in reports.values() for d in r.diagnostics)


# --- warnings ---------------------------------------------------------------------------------

KEEPS = "which this agreement keeps, still says 15"
WARNED = {
    "kept_description_says_15_hours.yaml": [
        # "the rendered text would say '15 hours' under a 10-hour rule": the description and the
        # documentation, both kept from the template, at the figure the agreement changed.
        "tests/warned/kept_description_says_15_hours.yaml:12:27: warning: milestones.job_13_weeks.measure.min_hours_per_week:"
        f" 10 here, but the template's description of milestones.job_13_weeks, {KEEPS}:"
        ' "In work at least 15 hours a week for 13 of 16 weeks." (../../contracts/templates/vaekstpartnerskaber.yaml:102)'
        " (write milestones.job_13_weeks.description in this agreement too, so that the rendered agreement says 10)",
        "tests/warned/kept_description_says_15_hours.yaml:12:27: warning: milestones.job_13_weeks.measure.min_hours_per_week:"
        f" 10 here, but the template's documentation of milestones.job_13_weeks, {KEEPS}:"
        ' "...the start in which 13 weeks are worked at 15 hours or more." (../../contracts/templates/vaekstpartnerskaber.yaml:104)'
        " (write milestones.job_13_weeks.documentation in this agreement too, so that the rendered agreement says 10)",
    ],
    "figures_under_the_templates_clause.yaml": [
        "tests/warned/figures_under_the_templates_clause.yaml:11:31: warning: eligibility.citizens.baseline.benefit_weeks_at_least:"
        " 26 here, but the reference beside it, '§ 3.2', is kept from the template, where that clause sets 40"
        " (../../contracts/templates/vaekstpartnerskaber.yaml:67) (write beside it the reference of the clause that sets 26)",
        "tests/warned/figures_under_the_templates_clause.yaml:16:31: warning: tariffs.job_13_weeks.amounts.all.2019-01-01.value:"
        " 32000 here, but the reference beside it, 'Bilag 2, pkt. 5', is kept from the template, where that clause sets 30000"
        " (../../contracts/templates/vaekstpartnerskaber.yaml:238) (write beside it the reference of the clause that sets 32000)",
    ],
}


def test_every_warned_file_has_an_expectation():
    assert {p.name for p in (ROOT / "tests" / "warned").glob("*.yaml")} == set(WARNED)


@pytest.mark.parametrize("name", sorted(WARNED))
def test_warnings_pass_but_are_shown(capsys, name):
    path = f"tests/warned/{name}"
    code, out, err = validate(capsys, path)
    assert code == 0
    assert out[0].startswith(f"ok    {path}: ")
    assert out[1:] == [*WARNED[name], "1 files checked, no errors."]
    assert err == [f"Warnings: {len(WARNED[name])} (each is probably a mistake, though the agreement can be paid as written; --strict fails on them)."]


@pytest.mark.parametrize("name", sorted(WARNED))
def test_strict_fails_on_warnings(capsys, name):
    code, out, _err = validate(capsys, "--strict", "-q", f"tests/warned/{name}")
    assert code == 1
    assert out == WARNED[name]


def test_the_bundled_contracts_pass_strict(capsys):
    code, out, err = validate(capsys, "--strict", "-q", "contracts")
    assert (code, out, err) == (0, [], [])


def test_a_figure_the_template_text_does_not_mention_is_no_warning(tmp_path):
    # The window of job_13_weeks changes (104 -> 78 weeks); no text of the template states 104.
    folder = tmp_path / "agreements"
    folder.mkdir()
    (folder / "163-testby.yaml").write_text(
        f"kind: agreement\nextends: {ROOT}/contracts/templates/vaekstpartnerskaber.yaml\nid: dk-163-testby\nversion: \"1.0\"\n"
        'municipality: {name: Herlev, code: "163"}\nmilestones:\n  job_13_weeks:\n    measure:\n'
        "      {kind: employment_weeks, min_hours_per_week: 15, weeks: 13, pattern: of, out_of: 16, window: {after: start, weeks: 78}}\n",
        encoding="utf-8",
    )
    (report,) = validate_paths([folder])
    assert report.ok and report.warnings == []


def test_warnings_in_danish_summary(capsys):
    code = main(["validate", "--lang", "da", "-q", "tests/warned/figures_under_the_templates_clause.yaml"])
    _out, err = capsys.readouterr()
    assert code == 0
    assert err.splitlines() == ["Advarsler: 2 (hver er sandsynligvis en fejl, selv om aftalen kan betales, som den er skrevet; --strict afviser dem)."]


# --- each problem once --------------------------------------------------------------------------


def test_a_broken_template_is_listed_once(capsys, tmp_path, monkeypatch):
    shutil.copytree(ROOT / "contracts", tmp_path / "contracts")
    template = tmp_path / "contracts" / "templates" / "vaekstpartnerskaber.yaml"
    template.write_text(template.read_text(encoding="utf-8").replace("    cohort_size: 100\n", "    cohort_size: -1\n"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, out, _err = validate(capsys, "-q", "contracts")
    assert code == 1
    uses = "uses contracts/templates/vaekstpartnerskaber.yaml, which has problems (listed under it) (this file is checked in full once they are fixed)"
    assert out == [
        f"contracts/agreements/101-koebenhavn.scenarios.yaml:3:11: contract: {uses}",
        f"contracts/agreements/101-koebenhavn.yaml:4:10: extends: {uses}",
        f"contracts/agreements/461-odense.scenarios.yaml:3:11: contract: {uses}",
        f"contracts/agreements/461-odense.yaml:4:10: extends: {uses}",
        f"contracts/agreements/751-aarhus.scenarios.yaml:3:11: contract: {uses}",
        f"contracts/agreements/751-aarhus.yaml:4:10: extends: {uses}",
        # The simulation names the agreements, not the template: the first agreement it names.
        f"contracts/simulation/programme.yaml:201:16: municipalities[0].agreement: {uses}",
        "contracts/templates/vaekstpartnerskaber.yaml:69:18: eligibility.citizens.cohort_size: -1 is too small: it must be at least 1",
    ]


def test_a_template_problem_is_shown_with_the_agreement_validated_alone(capsys):
    # Without the template in the run, the agreement shows the template's problem itself.
    code, out, _err = validate(capsys, "-q", "tests/broken/missing_template.yaml")
    assert code == 1 and len(out) == 1 and "template not found" in out[0]


# --- scenarios naming a milestone the agreement does not have --------------------------------------


SCENARIO_MESSAGE = "scenarios[0].expect.milestones.job_13_week: unknown milestone 'job_13_week' (did you mean 'job_13_weeks'?)"


def test_a_scenario_expecting_an_unknown_milestone(capsys, tmp_path):
    text = (ROOT / "contracts" / "agreements" / "461-odense.scenarios.yaml").read_text(encoding="utf-8")
    scenario = tmp_path / "agreements" / "461-odense.scenarios.yaml"
    shutil.copytree(ROOT / "contracts", tmp_path, dirs_exist_ok=True)
    scenario.write_text(text.replace("        job_13_weeks: [2019-12-15]", "        job_13_week: [2019-12-15]", 1), encoding="utf-8")
    code, out, _err = validate(capsys, "-q", str(scenario))
    assert code == 1
    line = next(n for n, t in enumerate(scenario.read_text(encoding="utf-8").splitlines(), start=1) if "job_13_week:" in t)
    assert out == [f"{scenario}:{line}:9: {SCENARIO_MESSAGE}"]
