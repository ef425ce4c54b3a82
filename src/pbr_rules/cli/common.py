"""What every ``pbr`` command module shares: exit codes, argument types, writing output.

Exit codes: 0 done and clean; 1 the inputs were read but have problems (invalid contract
files, failing scenarios, a payment-affecting diff); 2 the command could not run as asked
(bad arguments, an unreadable or invalid history, a refused evaluation); 3 an internal
error (a bug: please report it; no traceback is shown unless PBR_DEBUG=1).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path

from pbr_rules.i18n import LANGUAGES, set_language
from pbr_rules.periods import parse_iso_date

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


def iso_date(text: str) -> date:
    """An argparse type: an ISO date (YYYY-MM-DD), or a usage error naming the problem."""
    try:
        return parse_iso_date(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def argument_problem(args) -> str | None:
    """What is wrong with the options every command shares, before any work starts (so a
    failed run never leaves a report half-printed): ``--workers``, ``--runs`` and the files
    it is to write (``-o``, ``--html``)."""
    workers = getattr(args, "workers", None)
    most = max(64, 4 * (os.cpu_count() or 1))
    if workers is not None and not 1 <= workers <= most:
        return f"--workers {workers}: give 1 to {most} processes (this machine has {os.cpu_count() or 1} cores)"
    runs = getattr(args, "runs", None)
    if runs is not None and runs < 0:
        return f"--runs {runs}: give a number of runs, 0 or more"
    for option, value in (("-o", getattr(args, "output", None)), ("--html", getattr(args, "html", None))):
        if not value:
            continue
        path = Path(value)
        if path.is_dir():
            return f"{option} {value}: that is a folder; name the file to write, e.g. {path / 'report.html' if option == '--html' else path / 'out.json'}"
        folder = path.parent if str(path.parent) else Path(".")
        if not folder.is_dir():
            return f"{option} {value}: the folder {folder} does not exist"
        if not os.access(folder, os.W_OK | os.X_OK):
            return f"{option} {value}: the folder {folder} cannot be written to"
    return None


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


def add_language_option(parser: argparse.ArgumentParser) -> None:
    """``--lang da|en``: the language of what the command writes (default: the contract's ``language:``)."""
    parser.add_argument(
        "--lang",
        choices=list(LANGUAGES),
        default=None,
        help="the language of the output: 'da' Danish (30.000,00 kr., 1. juli 2020) or 'en' English; default: the agreement's 'language:'",
    )


def choose_language(args, languages) -> str:
    """Write in ``--lang`` if given, else in the agreements' language when they all agree, else English.

    ``pbr`` runs each command inside its own language context (``main``), so this lasts for
    the command only."""
    chosen = getattr(args, "lang", None)
    if chosen is None:
        found = set(languages)
        chosen = found.pop() if len(found) == 1 else "en"
    set_language(chosen)
    return chosen


def add_scheduler_option(parser) -> None:
    """``--scheduler``: run the work on a Dask cluster (docs/engine.md, "Scale")."""
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on a Dask cluster: a scheduler's address (tcp://host:8786), or local:N for N local worker processes "
        "(needs pip install 'pbr-rules[scale]')",
    )


def scheduler_executor(args):
    """A context manager giving the Dask executor ``--scheduler`` asks for, or ``None`` without it
    (the command then uses ``--workers`` as before)."""
    from contextlib import nullcontext

    if not getattr(args, "scheduler", None):
        return nullcontext(None)
    from pbr_rules.evaluation import executor_for

    return executor_for(args.scheduler, args.workers)
