"""Exports for finance staff: CSV for scripts or Danish Excel, xlsx workbooks that round-trip.

Expected CSV bytes are written out by hand: the Danish dialect is what Danish Excel opens
correctly with a double click (';' between fields, ',' before the øre, UTF-8 with a BOM).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from pbr_rules.cli import main
from pbr_rules.reports import export_csv, export_xlsx

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = str(ROOT / "contracts" / "agreements" / "101-koebenhavn.yaml")
PARTICIPANTS = str(ROOT / "fixtures" / "participants" / "101")
COMPANIES = str(ROOT / "fixtures" / "companies" / "101")

HEADER = ["municipality", "amount", "due_date", "note", "capped"]
ROWS = [["Århus", Decimal("30000.50"), date(2020, 7, 1), "cap; per participant", True], ["Odense", Decimal("-1250.00"), None, "", False]]


def test_csv_for_scripts_is_unchanged():
    assert export_csv(HEADER, ROWS) == (
        "municipality,amount,due_date,note,capped\n"
        "Århus,30000.50,2020-07-01,cap; per participant,true\n"
        "Odense,-1250.00,,,false\n"
    )


def test_csv_for_danish_excel():
    text = export_csv(HEADER, ROWS, dialect="da")
    assert text == (
        "\ufeffmunicipality;amount;due_date;note;capped\r\n"
        'Århus;30000,50;2020-07-01;"cap; per participant";true\r\n'
        "Odense;-1250,00;;;false\r\n"
    )
    assert text.encode("utf-8").startswith(b"\xef\xbb\xbf")


def test_unknown_csv_dialect_is_refused():
    with pytest.raises(ValueError, match="unknown CSV dialect 'de'; use one of en, da"):
        export_csv(HEADER, ROWS, dialect="de")


def test_xlsx_cells_are_numbers_and_dates(tmp_path):
    path = tmp_path / "t.xlsx"
    export_xlsx({"one": (HEADER, ROWS), "share": (["share"], [[Decimal("1.234")]])}, path, formats={"share": "0.0%"})
    wb = load_workbook(path)
    assert wb.sheetnames == ["one", "share"]
    ws = wb["one"]
    assert ws.freeze_panes == "A2"
    assert [c.value for c in ws[1]] == HEADER
    assert ws["B2"].value == 30000.5 and ws["B2"].number_format == "#,##0.00"
    assert ws["C2"].value == datetime(2020, 7, 1) and ws["C2"].number_format == "yyyy-mm-dd"
    assert ws["E2"].value is True
    assert wb["share"]["A2"].value == 1.234 and wb["share"]["A2"].number_format == "0.0%"


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def db(tmp_path, monkeypatch):
    monkeypatch.setenv("PBR_LEDGER_SECRET_FILE", str(tmp_path / "secret.key"))
    return str(tmp_path / "ledger.db")


def test_settle_xlsx_round_trips(capsys, db, tmp_path):
    common = ["settle", "--contract", CONTRACT, "--cohort", PARTICIPANTS, COMPANIES, "--as-of", "2021-12-31", "--dry-run", "--workers", "1", "--database", db]
    code, out, err = run(capsys, *common, "--format", "json")
    assert code == 0, err
    settlement = json.loads(out)
    path = tmp_path / "settlement.xlsx"
    code, _, err = run(capsys, *common, "--format", "xlsx", "-o", str(path))
    assert code == 0, err
    assert f"wrote {path} (payments: {len(settlement['lines'])} rows" in err
    wb = load_workbook(path)
    assert wb.sheetnames == ["payments", "schedule", "changes", "by_payer", "by_payee"]
    assert all(wb[name].freeze_panes == "A2" for name in wb.sheetnames)
    ws = wb["payments"]
    header = [c.value for c in ws[1]]
    rows = [dict(zip(header, [c.value for c in r])) for r in ws.iter_rows(min_row=2)]
    assert [r["payment_id"] for r in rows] == [x["payment_id"] for x in settlement["lines"]]
    for r, x in zip(rows, settlement["lines"]):
        assert isinstance(r["amount"], (int, float)) and Decimal(str(r["amount"])).quantize(Decimal("0.01")) == Decimal(x["amount"])
        assert isinstance(r["due_date"], datetime) and r["due_date"].date().isoformat() == x["due_date"]
    payers = {r[0].value: Decimal(str(r[1].value)) for r in wb["by_payer"].iter_rows(min_row=2)}
    assert payers == {p["party"]: Decimal(p["amount"]) for p in settlement["by_payer"]}


def test_settle_csv_for_danish_excel(capsys, db):
    common = ["settle", "--contract", CONTRACT, "--cohort", PARTICIPANTS, "--as-of", "2021-12-31", "--dry-run", "--workers", "1", "--database", db, "--format", "csv"]
    code, english, _ = run(capsys, *common)
    code, danish, err = run(capsys, *common, "--csv-dialect", "da")
    assert code == 0, err
    assert danish.startswith("\ufeffpayment_id;subject_kind;subject;")
    first_en = english.splitlines()[1].split(",")
    first_da = danish.splitlines()[1].split(";")
    assert first_da[9] == first_en[9].replace(".", ",")  # gross, e.g. 5000,00
    assert "," in first_da[9] and "." not in first_da[9]
    # An audit: the payers' and adjustments' amounts kept a decimal point in the Danish
    # dialect, and nothing said which clause cut a payment or which dated tariff priced it.
    capped = next(r for r in csv.DictReader(io.StringIO(danish.lstrip("\ufeff")), delimiter=";") if r["payment_id"].endswith("/p-101-013/self_support_blocks/5"))
    assert (capped["status"], capped["gross"], capped["amount"], capped["payers"], capped["adjustments"]) == (
        "refused", "3000,00", "0,00", "municipality=0,00;dsk=0,00", "cap:per_participant:-3000,00 (§ 8.1)"
    )
    assert (capped["reference"], capped["tariff_line"], capped["tariff_value"], capped["tariff_effective"], capped["tariff_reference"]) == (
        "§ 4.7", "all", "3000,00", "2019-01-01", "Bilag 2, pkt. 7"
    )


def test_xlsx_needs_an_output_file(capsys, db):
    code, _, err = run(capsys, "settle", "--contract", CONTRACT, "--cohort", PARTICIPANTS, "--as-of", "2021-12-31", "--dry-run", "--format", "xlsx", "--database", db)
    assert code == 2 and "--format xlsx needs -o FILE.xlsx" in err


def test_business_case_xlsx_round_trips(capsys, tmp_path):
    common = ["business-case", "--contract", CONTRACT, "--cohort", PARTICIPANTS, COMPANIES, "--as-of", "2022-09-30", "--workers", "1"]
    code, out, err = run(capsys, *common, "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    path = tmp_path / "case.xlsx"
    code, _, err = run(capsys, *common, "--format", "xlsx", "-o", str(path))
    assert code == 0, err
    wb = load_workbook(path)
    assert wb.sheetnames == ["summary", "months", "investors", "parties"]
    ws = wb["summary"]
    header = [c.value for c in ws[1]]
    row = dict(zip(header, [c.value for c in ws[2]]))
    case = report["municipalities"][0]
    assert row["municipality"] == case["municipality"]
    assert Decimal(str(row["net_result"])).quantize(Decimal("0.01")) == Decimal(case["net_result"])
    # '123.4 %' in the JSON is the number 1.234 shown as a percentage.
    cover = ws.cell(row=2, column=header.index("savings_cover_course_costs") + 1)
    assert cover.number_format == "0.0%"
    assert Decimal(str(cover.value)) * 100 == Decimal(case["savings_cover_course_costs"].replace("%", "").strip())
    assert wb["months"].max_row - 1 == len(case["months"]) + len(report["programme"]["months"] if report["programme"] else [])


def test_ledger_export_csv_for_danish_excel(capsys, db):
    run(capsys, "settle", "--contract", CONTRACT, "--cohort", PARTICIPANTS, "--as-of", "2021-12-31", "--workers", "1", "--database", db)
    code, out, err = run(capsys, "ledger", "export", "--format", "csv", "--what", "claims", "--csv-dialect", "da", "--database", db)
    assert code == 0, err
    lines = out.split("\r\n")
    assert lines[0] == "\ufeffpayment_id;contract_id;municipality;subject_kind;subject;milestone;occurrence;payee;state;disputed;settled;paid;recovered;outstanding;reference;currency"
    settled = lines[1].split(";")[10]
    assert settled.endswith(",00") and "." not in settled
