"""Contracts: listing, the tariff table in force on a date, and validation identical to 'pbr validate'."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pbr_rules.cli import main as pbr_main
from pbr_rules.errors import InputInvalid
from pbr_rules.evaluation.registry import load_checked_contract

from .conftest import CONTRACTS, ROOT, assert_error_shape

BROKEN = sorted((ROOT / "tests" / "broken").glob("*.yaml"))


def test_list_has_the_summary_fields(client, fund):
    (c,) = [c for c in client.get("/v1/contracts", headers=fund).json()["contracts"] if c["id"] == "dk-101-koebenhavn"]
    assert set(c) == {"id", "title", "municipality", "term", "version", "content_hash", "illustrative"}
    assert c["municipality"] == {"code": "101", "name": "København"} and c["illustrative"] is True and c["version"] == "1.2"


def _tariff(detail, milestone, line="all"):
    (row,) = [t for t in detail["tariffs"] if t["milestone"] == milestone and t["line"] == line]
    return row


def test_tariff_table_follows_the_amendments(client, fund):
    before = client.get("/v1/contracts/dk-101-koebenhavn?as_of=2020-01-01", headers=fund).json()
    after = client.get("/v1/contracts/dk-101-koebenhavn?as_of=2021-06-01", headers=fund).json()
    assert _tariff(before, "job_13_weeks") == {"milestone": "job_13_weeks", "line": "all", "value": "30000.00", "effective": "2019-01-01", "reference": "Bilag 2, pkt. 5"}
    assert _tariff(after, "job_13_weeks")["value"] == "36000.00" and _tariff(after, "job_13_weeks")["reference"] == "Tillæg 1, § 2"
    assert _tariff(after, "job_13_weeks", "flexjob_visitated")["value"] == "40000.00"
    assert _tariff(after, "citizen_start") == {"milestone": "citizen_start", "line": "all", "value": None, "effective": "2021-01-01", "reference": "Tillæg 1, § 3"}
    assert {"cap": "per_contract", "applies_to": None, "value": "4000000.00", "effective": "2019-01-01", "reference": "§ 8.3"} in after["caps"]
    assert after["as_of"] == "2021-06-01"


def test_a_bundled_agreement_validates_with_the_same_content_hash(client, fund, app):
    text = (CONTRACTS / "agreements" / "101-koebenhavn.yaml").read_text()
    expected = app.state.registry.get("dk-101-koebenhavn").content_hash
    for headers, kwargs in [
        ({"content-type": "application/yaml"}, {"content": text}),
        ({"content-type": "text/plain"}, {"content": text}),
        ({}, {"json": {"yaml": text}}),
    ]:
        resp = client.post("/v1/contracts/validate", headers={**fund, **headers}, **kwargs)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["valid"] is True and body["contract"]["content_hash"] == expected


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("contracts")
    shutil.copytree(CONTRACTS, root, dirs_exist_ok=True)
    return root


def _as_in_agreements(path: Path) -> str:
    # The broken files live in tests/broken/ and reach the template from there; posted
    # contracts resolve from the agreements folder.
    return path.read_text(encoding="utf-8", errors="replace").replace("../../contracts/", "../")


@pytest.mark.parametrize("broken", BROKEN, ids=lambda p: p.stem)
def test_validate_reports_what_pbr_validate_reports(client, fund, sandbox, broken, capsys):
    text = _as_in_agreements(broken)
    copy = sandbox / "agreements" / broken.name
    copy.write_text(text, encoding="utf-8")
    try:
        with pytest.raises(InputInvalid) as loaded:
            load_checked_contract(copy)  # the loader, as 'pbr validate' calls it for an agreement
        expected = loaded.value.diagnostics
        assert pbr_main(["validate", "-q", str(copy)]) == 1
        # The errors (a file can have warnings too: the API's are compared in the test below).
        cli_lines = [line for line in capsys.readouterr().out.splitlines() if ": warning: " not in line]
    finally:
        copy.unlink()
    if broken.stem != "wrong_kind":  # for a file of no known kind the CLI lists every file kind, not just agreement
        assert cli_lines == [str(d) for d in expected]
    if broken.name == "461-file-name-names-another-municipality.yaml":
        return  # a posted contract has no file name to hold against its municipality code

    resp = client.post("/v1/contracts/validate", headers={**fund, "content-type": "application/yaml"}, content=text.encode())
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["valid"] is False and body["type"] == "urn:pbr-rules:problem:invalid-input"

    def norm(file, line, col, path, message, hint):
        name = broken.name if file in (str(copy), "<request>") else Path(file).name
        clean = lambda s: s.replace(str(sandbox) + "/", "").replace(str(copy), broken.name)
        return (name, line, col, path, clean(message), clean(hint))

    api = sorted(norm(**e) for e in body["errors"])
    cli = sorted(norm(**d.to_dict()) for d in expected)
    assert api == cli


def test_validate_refuses_paths_outside_the_contracts_folder(client, fund):
    text = (CONTRACTS / "agreements" / "101-koebenhavn.yaml").read_text().replace(
        "../templates/vaekstpartnerskaber.yaml", "../../../../etc/passwd"
    )
    resp = client.post("/v1/contracts/validate", headers={**fund, "content-type": "application/yaml"}, content=text)
    body = resp.json()
    assert resp.status_code == 422 and body["valid"] is False
    assert body["errors"][0]["path"] == "extends" and "inside the service's contracts folder" in body["errors"][0]["message"]
    assert "/work" not in resp.text and str(ROOT) not in resp.text


def test_validate_json_without_yaml_key(client, fund):
    resp = client.post("/v1/contracts/validate", headers=fund, json={"yml": "x"})
    body = resp.json()
    assert resp.status_code == 422 and body["valid"] is False
    assert {e["path"] for e in body["errors"]} >= {"yml"}
    assert_error_shape(client.post("/v1/contracts/validate", headers={**fund, "content-type": "image/png"}, content=b"x"), 415)


WARNED = sorted((ROOT / "tests" / "warned").glob("*.yaml"))


@pytest.mark.parametrize("warned", WARNED, ids=lambda p: p.stem)
def test_validate_returns_the_warnings_pbr_validate_prints(client, fund, sandbox, warned, capsys):
    text = _as_in_agreements(warned)
    copy = sandbox / "agreements" / warned.name
    copy.write_text(text, encoding="utf-8")
    try:
        assert pbr_main(["validate", "-q", "--lang", "en", str(copy)]) == 0
        cli_lines = capsys.readouterr().out.splitlines()
    finally:
        copy.unlink()
    assert cli_lines and all(": warning: " in line for line in cli_lines)

    resp = client.post("/v1/contracts/validate", headers={**fund, "content-type": "application/yaml"}, content=text.encode())
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["valid"] is True
    # The same diagnostics, the posted text named <request> and the template as the request wrote it.
    api = [f"{w['file']}:{w['line']}:{w['col']}: warning: {w['path']}: {w['message']} ({w['hint']})" for w in body["warnings"]]
    assert api == [line.replace(str(copy), "<request>") for line in cli_lines]


def test_validate_lists_warnings_beside_errors(client, fund):
    text = _as_in_agreements(ROOT / "tests" / "warned" / "kept_description_says_15_hours.yaml") + "tarifs: {}\n"
    resp = client.post("/v1/contracts/validate", headers={**fund, "content-type": "application/yaml"}, content=text.encode())
    body = resp.json()
    assert resp.status_code == 422 and body["valid"] is False
    assert [e["path"] for e in body["errors"]] == ["tarifs"]
    assert [w["path"] for w in body["warnings"]] == ["milestones.job_13_weeks.measure.min_hours_per_week"] * 2
    assert "/work" not in resp.text and str(ROOT) not in resp.text


def test_a_valid_contract_has_no_warnings(client, fund):
    text = (CONTRACTS / "agreements" / "461-odense.yaml").read_text()
    body = client.post("/v1/contracts/validate", headers={**fund, "content-type": "application/yaml"}, content=text).json()
    assert body["valid"] is True and body["warnings"] == []


def test_a_formula_tariff_is_listed_with_its_expression_and_parameters(client, fund):
    detail = client.get("/v1/contracts/fi-091-koto-sib-example?as_of=2020-06-30", headers=fund).json()
    assert [t["milestone"] for t in detail["tariffs"]] == ["participant_start"]  # the formula has no fixed line
    (f,) = detail["formulas"]
    assert f == {
        "milestone": "outcome_year",
        "expression": "share * (savings + tax_rate * (earnings - comparison_earnings))",
        "reference": "Annex 2, item 2",
        "basis": "cohort",
        "goals": [],
        "parameters": [
            {"name": "share", "unit": "rate", "value": "0.5", "effective": "2019-01-01", "reference": "Annex 2, item 2 (a)"},
            {"name": "tax_rate", "unit": "rate", "value": "0.2", "effective": "2019-01-01", "reference": "Annex 2, item 2 (b)"},
        ],
        "floor": None,
        "cap": "1000000.00",
    }
    assert client.get("/v1/contracts/dk-101-koebenhavn", headers=fund).json()["formulas"] == []
