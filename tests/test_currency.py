"""Currency everywhere (issue 11, item 1): every amount printed or exported names the contract's currency.

A test-only agreement in euro (tests/currency/eur-agreement.yaml, the programme template read
as EUR, with flat rates in EUR) is evaluated, settled, rendered and put in a business case:
each output shows euro, as Babel writes it: ``€110,000.00`` in English, ``110.000,00 €`` in
Danish, ``EUR`` in machine formats. Agreements in different currencies are never added up:
a business case across them, an agreement with rates in another currency, and a settlement
against a run in another currency are refused (exit 2; the API answers 422). The Danish
agreements keep their output (tests/test_expected_outputs.py); the currency code itself is
checked against ISO 4217 (Babel's CLDR data) at load (tests/test_loader_errors.py).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest

from pbr_rules.cli.main import main
from pbr_rules.errors import CurrencyMismatch
from pbr_rules.i18n import currency_symbol, format_money, format_money_whole, money_header
from pbr_rules.money import currency_problem, one_currency

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "tests" / "currency"
EUR = str(HERE / "eur-agreement.yaml")
PARTICIPANT = str(HERE / "p-996-001.yaml")
KBH = str(ROOT / "contracts" / "agreements" / "101-koebenhavn.yaml")
KBH_PARTICIPANTS = str(ROOT / "fixtures" / "participants" / "101")
# p-996-001: citizen_start 5,000, job_13_weeks 30,000, job_26_weeks 30,000, earnings_60k
# 15,000 and ten self-support blocks of 3,000 (the template's tariffs), all in euro.
TOTAL = "110000.00"


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def ledger(tmp_path, monkeypatch) -> list[str]:
    monkeypatch.setenv("PBR_LEDGER_SECRET_FILE", str(tmp_path / "secret.key"))
    return ["--database", str(tmp_path / "ledger.db")]


# --- the formats ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "currency, lang, expected",
    [
        ("EUR", "en", "€1,250.00"),
        ("EUR", "da", "1.250,00 €"),
        ("DKK", "en", "DKK 1,250.00"),
        ("DKK", "da", "1.250,00 kr."),
        ("GBP", "en", "£1,250.00"),
        ("SEK", "en", "SEK 1,250.00"),
        ("SEK", "da", "1.250,00 SEK"),
    ],
)
def test_an_amount_is_written_in_its_currency_as_babel_writes_it(currency, lang, expected):
    assert format_money(D("1250"), currency, lang) == expected


def test_whole_amounts_symbols_and_column_headers_name_the_currency():
    assert format_money_whole(D("2322000.4"), "EUR", "en") == "€2,322,000"
    assert format_money_whole(D("2322000.4"), "EUR", "da") == "2.322.000 €"
    assert format_money_whole(D("-2322000"), "DKK", "da") == "-2.322.000 kr."
    assert format_money_whole(D("2322000"), "DKK", "en") == "DKK 2,322,000"
    assert (currency_symbol("EUR", "en"), currency_symbol("DKK", "en"), currency_symbol("DKK", "da")) == ("€", "DKK", "kr.")
    assert money_header("amount", "EUR", "en") == "amount (€)"
    assert money_header("beløb", "DKK", "da") == "beløb (kr.)"


def test_the_currency_code_is_iso_4217_in_use_when_signed_with_two_minor_units():
    assert currency_problem("EUR", date(2019, 1, 15)) is None
    assert currency_problem("DKK") is None
    assert currency_problem("DEM", date(1999, 6, 1)) is None  # legal tender then
    assert "was not legal tender anywhere on 2019-01-15" in currency_problem("DEM", date(2019, 1, 15))[0]
    assert currency_problem("EUX")[1] == "did you mean 'EUR'?"
    assert currency_problem("XXX")[0] == "XXX (Unknown Currency) is not a currency anyone pays in"
    # No minor units (JPY, ISK) or three (KWD): refused, not rounded to whole units or to 3 decimals.
    for code, digits in (("JPY", 0), ("ISK", 0), ("KWD", 3)):
        message, hint = currency_problem(code)
        assert f"has {digits} minor units; pbr-rules computes every amount to exactly 2 decimals" in message
        assert "only currencies with 2 minor units are supported" in hint


def test_one_currency_or_a_clear_refusal():
    assert one_currency([("a", "EUR"), ("b", "EUR")]) == "EUR"
    with pytest.raises(CurrencyMismatch) as info:
        one_currency([("dk-101-koebenhavn", "DKK"), ("eu-996-eurotown", "EUR")])
    assert str(info.value) == (
        "amounts in different currencies cannot be added up: dk-101-koebenhavn in DKK, eu-996-eurotown in EUR. "
        "Take the agreements of one currency at a time (pbr-rules converts no currency)"
    )


# --- every output of a euro agreement -------------------------------------------------------------


def test_evaluate_shows_euro_in_the_table_explain_json_and_csv(capsys, ledger):
    base = ["evaluate", "--contract", EUR, "--history", PARTICIPANT, "--no-log", *ledger]
    code, out, _ = run(capsys, *base, "--explain")
    assert code == 0
    assert out.endswith("Total €110,000.00\n")
    assert "amount (€)  tariff (€)" in out and "payers (€)" in out
    assert "      earnings: EUR 60,330.96 earned by 2019-10-17" in out  # --explain's evidence
    # Only the template's own words still say DKK (a milestone's description is the contract's text).
    assert "DKK" not in out.replace("Earnings from work reach DKK 60,000", "")
    code, out, _ = run(capsys, *base, "--format", "json")
    result = json.loads(out)
    assert (result["currency"], result["total"]) == ("EUR", TOTAL)
    code, out, _ = run(capsys, *base, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows and {r["currency"] for r in rows} == {"EUR"}


def test_a_cohort_summary_shows_euro(capsys, ledger):
    code, out, _ = run(capsys, "evaluate", "--contract", EUR, "--cohort", PARTICIPANT, "--no-log", "--workers", "1", *ledger)
    assert code == 0
    assert "1 histories, 1 eligible, 14 payments, total €110,000.00" in out
    assert "amount (€)" in out


def test_settle_shows_euro_in_english_danish_json_csv_and_xlsx(capsys, ledger, tmp_path):
    base = ["settle", "--contract", EUR, "--cohort", PARTICIPANT, "--as-of", "2021-12-31", "--dry-run", "--workers", "1", *ledger]
    code, out, err = run(capsys, *base, "--details")
    assert code == 0, err
    assert "Settled to date €110,000.00; due now €110,000.00; not paid because of caps, tiers or the cohort size €0.00" in out
    assert "settled to date (€)" in out and "amount (€)" in out
    code, out, _ = run(capsys, *base, "--lang", "da")
    assert "Afregnet til dato 110.000,00 €; forfalder nu 110.000,00 €; ikke betalt på grund af lofter, trin eller kohortestørrelsen 0,00 €" in out
    assert "beløb (€)" in out
    code, out, _ = run(capsys, *base, "--format", "json")
    assert json.loads(out)["currency"] == "EUR"
    code, out, _ = run(capsys, *base, "--format", "csv", "--csv-dialect", "da")
    assert out.startswith("\ufeff") and out.splitlines()[0].endswith(";reference;tariff_line;tariff_value;tariff_effective;tariff_reference;currency")
    assert all(line.endswith(";EUR") for line in out.splitlines()[1:])
    workbook = tmp_path / "s.xlsx"
    code, _, _ = run(capsys, *base, "--format", "xlsx", "-o", str(workbook))
    from openpyxl import load_workbook

    wb = load_workbook(workbook)
    for sheet in ("payments", "schedule", "by_payer"):
        header = [c.value for c in wb[sheet][1]]
        assert header[-1] == "currency" and {row[-1] for row in wb[sheet].iter_rows(min_row=2, values_only=True)} == {"EUR"}


def test_render_shows_euro_in_both_languages(capsys):
    code, out, _ = run(capsys, "render", EUR)
    assert code == 0
    assert "| all target groups | 2019-01-01 | €30,000.00 | Bilag 2, pkt. 5 |" in out
    assert "- **Currency:** EUR" in out
    code, out, _ = run(capsys, "render", EUR, "--lang", "da")
    assert "30.000,00 €" in out and " kr." not in out


def test_the_business_case_shows_euro_in_text_json_csv_and_html(capsys, tmp_path):
    html = tmp_path / "bc.html"
    base = ["business-case", "--contract", EUR, "--cohort", PARTICIPANT, "--as-of", "2021-12-31", "--workers", "1"]
    code, out, err = run(capsys, *base, "--html", str(html))
    assert code == 0, err
    assert "course costs (€)" in out and "NPV (€)" in out
    answer = out.splitlines()[3]
    assert answer.startswith("Eurotown: ") and "€" in answer and "DKK" not in answer
    page = html.read_text(encoding="utf-8")
    assert "€ (cumulative)" in page and "DKK" not in page and " kr." not in page
    code, out, _ = run(capsys, *base, "--format", "json")
    report = json.loads(out)
    assert report["currency"] == "EUR" and report["municipalities"][0]["currency"] == "EUR"
    code, out, _ = run(capsys, *base, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows and {r["currency"] for r in rows} == {"EUR"}
    code, out, _ = run(capsys, *base, "--lang", "da")
    assert "forløbsudgifter (€)" in out


# --- mixing currencies is refused ---------------------------------------------------------------


def test_a_business_case_across_currencies_is_refused(capsys):
    code, out, err = run(
        capsys, "business-case", "--contract", KBH, EUR, "--cohort", PARTICIPANT, KBH_PARTICIPANTS, "--as-of", "2021-12-31", "--workers", "1"
    )
    assert (code, out) == (2, "")
    assert err == (
        "amounts in different currencies cannot be added up: dk-101-koebenhavn in DKK, eu-996-eurotown in EUR. "
        "Take the agreements of one currency at a time (pbr-rules converts no currency)\n"
    )


def _copied(text: str) -> str:
    """The euro agreement's text for a copy in another folder: its template and the project's files by absolute path."""
    return text.replace("extends: template-eur.yaml", f"extends: {HERE / 'template-eur.yaml'}").replace("../../contracts/", str(ROOT / "contracts") + "/")


def _in_kroner(text: str) -> str:
    """A copied euro agreement as it was in kroner: on the programme's own (DKK) template."""
    return text.replace("currency: EUR", "currency: DKK").replace(
        f"extends: {HERE / 'template-eur.yaml'}", f"extends: {ROOT / 'contracts/templates/vaekstpartnerskaber.yaml'}"
    )


def test_an_agreement_with_rates_in_another_currency_is_refused_at_their_line(capsys, tmp_path):
    text = _copied(Path(EUR).read_text(encoding="utf-8").replace("rates-eur.yaml", "rates-dkk.yaml"))
    agreement = tmp_path / "eur-with-dkk-rates.yaml"
    agreement.write_text(text, encoding="utf-8")
    shutil.copy(HERE / "rates-dkk.yaml", tmp_path / "rates-dkk.yaml")
    code, out, err = run(capsys, "business-case", "--contract", str(agreement), "--cohort", PARTICIPANT, "--as-of", "2021-12-31", "--workers", "1")
    assert (code, out) == (2, "")
    assert err == (
        f"{tmp_path / 'rates-dkk.yaml'}:2:1: currency: the benefit rates are in DKK, but agreement eu-996-eurotown (its business case)"
        " is in EUR (name a benefit-rate table in EUR (currency: EUR); pbr-rules converts no currency)\n"
    )


def test_a_settlement_against_a_run_in_another_currency_is_refused(capsys, tmp_path, ledger):
    # The agreement as it was before an amendment changed its currency: the same id, in DKK.
    dkk = tmp_path / "eur-agreement.yaml"
    dkk.write_text(
        _in_kroner(_copied(Path(EUR).read_text(encoding="utf-8"))).replace("rates-eur.yaml", "rates-dkk.yaml"),
        encoding="utf-8",
    )
    shutil.copy(HERE / "rates-dkk.yaml", tmp_path / "rates-dkk.yaml")
    previous = tmp_path / "previous.json"
    code, _, err = run(capsys, "settle", "--contract", str(dkk), "--cohort", PARTICIPANT, "--as-of", "2021-06-30", "--dry-run", "--workers", "1",
                       "--format", "json", "-o", str(previous), *ledger)
    assert code == 0, err
    code, out, err = run(capsys, "settle", "--contract", EUR, "--cohort", PARTICIPANT, "--as-of", "2021-12-31", "--dry-run", "--workers", "1",
                         "--previous", str(previous), *ledger)
    assert (code, out) == (2, "")
    assert (
        "currency: the previous settlement is in DKK, this contract's amounts in EUR: amounts in different currencies are never"
        " set against each other (settle a contract whose currency changed as a new contract (a new id), and close the old"
        " one's claims in its own currency)"
    ) in err
    # Recorded in the ledger, then settled again in the other currency: refused the same way.
    code, _, err = run(capsys, "settle", "--contract", str(dkk), "--cohort", PARTICIPANT, "--as-of", "2021-06-30", "--workers", "1", *ledger)
    assert code == 0, err
    code, out, err = run(capsys, "settle", "--contract", EUR, "--cohort", PARTICIPANT, "--as-of", "2021-12-31", "--workers", "1", *ledger)
    assert code == 2 and "the ledger's latest run (1) is in DKK, this contract's amounts in EUR" in err


def test_the_ledger_names_each_claims_currency(capsys, ledger):
    code, _, err = run(capsys, "settle", "--contract", EUR, "--cohort", PARTICIPANT, "--as-of", "2021-12-31", "--workers", "1", *ledger)
    assert code == 0, err
    assert "settled to date €110,000.00" in err
    code, out, _ = run(capsys, "ledger", "claims", *ledger)
    assert out.rstrip().endswith("outstanding €110,000.00") and "  EUR" in out
    code, out, _ = run(capsys, "ledger", "runs", "--format", "json", *ledger)
    assert json.loads(out)[0]["currency"] == "EUR"


# --- the API --------------------------------------------------------------------------------------


@pytest.fixture
def api(tmp_path):
    """An API over a folder holding the euro agreement (and its rates), with a fund token."""
    from fastapi.testclient import TestClient

    from pbr_rules.api import Settings, create_app
    from pbr_rules.api.tokens import create_token

    folder = tmp_path / "contracts"
    folder.mkdir()
    text = _copied(Path(EUR).read_text(encoding="utf-8"))
    (folder / "eur-agreement.yaml").write_text(text, encoding="utf-8")
    shutil.copy(HERE / "rates-eur.yaml", folder / "rates-eur.yaml")
    shutil.copy(HERE / "rates-dkk.yaml", folder / "rates-dkk.yaml")
    (folder / "simulation").mkdir()
    token, _ = create_token(tmp_path / "tokens.json", "fund")
    settings = Settings.load({}, contracts=folder, tokens_file=tmp_path / "tokens.json", database=str(tmp_path / "api.db"),
                             rate_limit_per_minute=1_000_000)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client, {"Authorization": f"Bearer {token}"}, folder


def _history() -> dict:
    import yaml

    data = yaml.safe_load(Path(PARTICIPANT).read_text(encoding="utf-8"))
    return json.loads(json.dumps(data, default=str))  # dates as the ISO text a client sends


def test_the_api_answers_with_the_contracts_currency(api):
    client, auth, _ = api
    h = _history()
    r = client.post("/v1/contracts/eu-996-eurotown/evaluate", json={"history": h}, headers=auth)
    assert r.status_code == 200, r.text
    assert (r.json()["currency"], r.json()["total"]) == ("EUR", TOTAL)
    r = client.post("/v1/contracts/eu-996-eurotown/evaluate-cohort", json={"histories": [h]}, headers=auth)
    assert (r.json()["currency"], r.json()["total"]) == ("EUR", TOTAL)
    r = client.post("/v1/contracts/eu-996-eurotown/settle", json={"histories": [h], "as_of": "2021-12-31"}, headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["currency"] == "EUR"
    r = client.post("/v1/contracts/eu-996-eurotown/business-case", json={"histories": [h], "as_of": "2021-12-31"}, headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["currency"] == "EUR" and "€" in r.json()["answer"]


def _reload(client, folder: Path) -> None:
    """The service reads its contracts folder at start; a test that edits an agreement reads it again."""
    from pbr_rules.evaluation import Registry

    client.app.state.registry = Registry(folder)


def test_the_api_refuses_a_business_case_that_mixes_currencies_with_a_problem(api):
    client, auth, folder = api
    path = folder / "eur-agreement.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("rates-eur.yaml", "rates-dkk.yaml"), encoding="utf-8")
    _reload(client, folder)
    r = client.post("/v1/contracts/eu-996-eurotown/business-case", json={"histories": [_history()], "as_of": "2021-12-31"}, headers=auth)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["status"] == 422 and problem["type"].startswith("urn:pbr-rules:problem:")
    assert any(
        e["path"] == "currency" and e["message"] == "the benefit rates are in DKK, but agreement eu-996-eurotown (its business case) is in EUR"
        for e in problem["errors"]
    ), problem


def test_the_api_refuses_to_settle_against_a_run_in_another_currency(api):
    client, auth, folder = api
    h = _history()
    path = folder / "eur-agreement.yaml"
    euro = path.read_text(encoding="utf-8")
    path.write_text(_in_kroner(euro).replace("rates-eur.yaml", "rates-dkk.yaml"), encoding="utf-8")
    _reload(client, folder)
    r = client.post("/v1/settlements", json={"contract": "eu-996-eurotown", "histories": [h], "as_of": "2021-06-30"}, headers=auth)
    assert r.status_code == 201, r.text
    assert r.json()["run"]["currency"] == "DKK"
    path.write_text(euro, encoding="utf-8")
    _reload(client, folder)
    for url, body in (
        ("/v1/contracts/eu-996-eurotown/settle", {"histories": [h], "as_of": "2021-12-31"}),
        ("/v1/settlements", {"contract": "eu-996-eurotown", "histories": [h], "as_of": "2021-12-31"}),
    ):
        r = client.post(url, json=body, headers=auth)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert any(e["path"] == "currency" and "is in DKK, this contract's amounts in EUR" in e["message"] for e in r.json()["errors"]), r.text
