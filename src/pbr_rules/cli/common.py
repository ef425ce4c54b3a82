"""What every ``pbr`` command module shares: exit codes, argument types, writing output.

Exit codes: 0 done and clean; 1 the inputs were read but have problems (invalid contract
files, failing scenarios, a payment-affecting diff); 2 the command could not run as asked
(bad arguments, an unreadable or invalid history, a refused evaluation); 3 an internal
error (a bug: please report it; no traceback is shown unless PBR_DEBUG=1).
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from pbr_rules.periods import parse_iso_date

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


def iso_date(text: str) -> date:
    """An argparse type: an ISO date (YYYY-MM-DD), or a usage error naming the problem."""
    try:
        return parse_iso_date(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def write_output(text: str, output: str | None) -> None:
    """Write to standard output, or atomically to a file (never a half-written file)."""
    if output:
        tmp = Path(output + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(output)
    else:
        sys.stdout.write(text)


def add_spreadsheet_options(parser: argparse.ArgumentParser) -> None:
    """``--csv-dialect``: CSV for scripts (``en``) or for Danish Excel (``da``); with ``--format xlsx`` goes ``-o``."""
    parser.add_argument(
        "--csv-dialect",
        choices=["en", "da"],
        default="en",
        help="with --format csv: 'en' comma and decimal point (default); 'da' for Danish Excel: semicolon, decimal comma, UTF-8 with BOM",
    )


def xlsx_needs_output(args) -> bool:
    """True (after saying why) when ``--format xlsx`` was asked for without ``-o FILE.xlsx``."""
    if args.format == "xlsx" and not args.output:
        print("--format xlsx needs -o FILE.xlsx (a workbook is not written to the terminal)", file=sys.stderr)
        return True
    return False
