"""Exports of tables (a header and rows of typed values) as CSV, JSON and xlsx workbooks.

Used by the ledger's exports, settlement and the business case. Deterministic for the same
contents: rows in the order given, amounts as Decimal strings in CSV and JSON, as numbers
(with two decimals shown) in xlsx, dates as dates in xlsx. CSV comes in two dialects:
``en`` (comma, decimal point, no BOM: what scripts read) and ``da`` (semicolon, decimal
comma, a UTF-8 byte-order mark and CRLF line ends: what Danish Excel opens correctly with
a double click, æøå included).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

# --- exports --------------------------------------------------------------------------------------


def _cell_text(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, date):
        return v.isoformat()
    return "" if v is None else str(v)


CSV_DIALECTS = ("en", "da")


def export_csv(header: list[str], rows: list[list], dialect: str = "en") -> str:
    """One table as CSV text; ``dialect="da"`` for Danish Excel (see the module docstring)."""
    if dialect not in CSV_DIALECTS:
        raise ValueError(f"unknown CSV dialect {dialect!r}; use one of {', '.join(CSV_DIALECTS)}")
    buf = io.StringIO()
    if dialect == "da":
        # Danish Excel reads ';' as the separator, ',' as the decimal mark and UTF-8 only with a BOM.
        buf.write("\ufeff")
        w = csv.writer(buf, delimiter=";", lineterminator="\r\n")
        cell = _cell_text_da
    else:
        w = csv.writer(buf, lineterminator="\n")
        cell = _cell_text
    w.writerow(header)
    for r in rows:
        w.writerow([cell(v) for v in r])
    return buf.getvalue()


def _cell_text_da(v) -> str:
    # Amounts without thousands separators (Excel reads "30000,50" as a number; "30.000,50" it
    # reads too, but a sum column is easier checked without); dates stay ISO, which Excel reads.
    if isinstance(v, Decimal):
        return format(v, "f").replace(".", ",")
    if isinstance(v, float):  # pragma: no cover - no export carries floats today
        return repr(v).replace(".", ",")
    return _cell_text(v)


def export_json(tables: dict[str, tuple[list[str], list[list]]]) -> str:
    def value(v):
        if isinstance(v, Decimal):
            return str(v)
        if isinstance(v, date):
            return v.isoformat()
        return v

    data = {name: [dict(zip(header, map(value, r))) for r in rows] for name, (header, rows) in tables.items()}
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


MONEY_COLUMNS = {"settled", "paid", "recovered", "outstanding", "total", "due_now", "refused", "amount"}


def export_xlsx(
    tables: dict[str, tuple[list[str], list[list]]], path: str | Path, *, formats: dict[str, str] | None = None
) -> None:
    """One sheet per table, a frozen bold header, numbers as numbers and dates as dates; written atomically.

    A column is shown as money (two decimals, thousands grouped) when its name is a money
    column or it holds Decimals, as a date when it is ``as_of`` or holds dates; ``formats``
    gives another number format by column name (e.g. a percentage)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    for name, (header, rows) in tables.items():
        ws = wb.create_sheet(title=name[:31])
        ws.append(header)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
        money_cols = [i for i, h in enumerate(header) if h in MONEY_COLUMNS or _holds(rows, i, Decimal)]
        date_cols = [i for i, h in enumerate(header) if h == "as_of" or _holds(rows, i, date)]
        other = {i: (formats or {})[h] for i, h in enumerate(header) if h in (formats or {})}
        money_cols = [i for i in money_cols if i not in other]
        for r in rows:
            ws.append([float(v) if isinstance(v, Decimal) else v for v in r])
        for i in money_cols:
            for (cell,) in ws.iter_rows(min_row=2, min_col=i + 1, max_col=i + 1):
                cell.number_format = "#,##0.00"
        for i in date_cols:
            for (cell,) in ws.iter_rows(min_row=2, min_col=i + 1, max_col=i + 1):
                cell.number_format = "yyyy-mm-dd"
        for i, number_format in other.items():
            for (cell,) in ws.iter_rows(min_row=2, min_col=i + 1, max_col=i + 1):
                cell.number_format = number_format
        for i, h in enumerate(header):
            width = max([len(h)] + [len(_cell_text(r[i])) for r in rows[:200]])
            ws.column_dimensions[ws.cell(row=1, column=i + 1).column_letter].width = min(60, width + 2)
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    wb.save(tmp)
    tmp.replace(path)


def _holds(rows: list[list], i: int, kind: type) -> bool:
    return any(isinstance(r[i], kind) for r in rows)
