"""``pbr business-case``: per municipality and for the programme, costs, payments, savings and the investor view."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pbr_rules.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    add_language_option,
    add_scheduler_option,
    add_spreadsheet_options,
    choose_language,
    iso_date,
    scheduler_executor,
    write_output,
    xlsx_needs_output,
)
from pbr_rules.collector import freeze_loaded


def add_commands(sub) -> None:
    """Register ``business-case``."""
    b = sub.add_parser("business-case", help="per municipality: course costs, outcome payments, savings, net result, break-even, NPV")
    who = b.add_mutually_exclusive_group()
    who.add_argument("--contracts", default="contracts", help="a folder of agreements (default: contracts/)")
    who.add_argument("--contract", nargs="+", help="particular agreement files")
    b.add_argument("--cohort", required=True, nargs="+", help="participant and company histories (matched to agreements by municipality code)")
    b.add_argument("--comparison", nargs="+", help="comparison-group histories, for a counterfactual 'comparison_group'")
    b.add_argument("--as-of", type=iso_date, required=True)
    b.add_argument(
        "--discount-rate", default=None,
        help="annual discount rate for the NPV, overriding the agreements' own (default: each agreement's business_case.discounting.rate, else 0.04)",
    )
    b.add_argument("--format", choices=["table", "json", "csv", "xlsx"], default="table", help="csv: the months; xlsx: a workbook (needs -o) with the summary, the months and the investors")
    add_spreadsheet_options(b)
    add_language_option(b)
    b.add_argument("--html", help="also write a self-contained HTML report with charts to this file")
    b.add_argument("--scenario", default="contracts/simulation/programme.yaml", help="simulation scenario for the report's distribution of net results")
    b.add_argument(
        "--runs", type=int, default=0,
        help="with --html: also simulate this many Monte Carlo runs for the report's distribution (takes minutes: 200 runs "
        "took about three on two cores); default 0: no simulation",
    )
    b.add_argument("--seed", type=int, default=1)
    b.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    add_scheduler_option(b)
    b.add_argument("-o", "--output", help="write to this file instead of standard output")
    b.set_defaults(func=cmd_business_case)


def _agreements(folder: str):
    from pbr_rules.evaluation import load_checked_contract
    from pbr_rules.language import find_yaml, load_yaml_file

    out = []
    for f in find_yaml([folder]):
        data = load_yaml_file(f).data
        if isinstance(data, dict) and data.get("kind") == "agreement":
            out.append(load_checked_contract(f))
    return out


def cmd_business_case(args) -> int:
    from decimal import Decimal, InvalidOperation

    from pbr_rules.evaluation import load_checked_contract
    from pbr_rules.finance import business_case, reported_agreements
    from pbr_rules.language import load_cohorts
    from pbr_rules.reports import (
        BUSINESS_CASE_FORMATS,
        Progress,
        business_case_csv,
        business_case_tables,
        business_case_text,
        export_xlsx,
        to_json,
    )

    if xlsx_needs_output(args):
        return EXIT_USAGE

    try:
        rate = None if args.discount_rate is None else Decimal(args.discount_rate)
        if rate is not None and not Decimal("-0.5") < rate < Decimal("1"):
            raise InvalidOperation
    except InvalidOperation:
        print(f"--discount-rate {args.discount_rate!r}: give an annual rate between -0.5 and 1, e.g. 0.04", file=sys.stderr)
        return EXIT_USAGE
    scenario = None
    if args.html and args.runs:  # the scenario is read before any work: a bad file stops the command before the report is printed
        from pbr_rules.finance import load_scenario

        scenario = load_scenario(args.scenario)
    contracts = [load_checked_contract(c) for c in args.contract] if args.contract else _agreements(args.contracts)
    freeze_loaded()
    histories = load_cohorts(args.cohort)
    # in the language of the agreements reported on, not of every agreement in the folder
    choose_language(args, [lc.contract.language for lc in reported_agreements(contracts, histories)])
    comparison = load_cohorts(args.comparison) if args.comparison else None
    with scheduler_executor(args) as executor:
        report = business_case(
            contracts, histories, args.as_of, rate, comparison=comparison, workers=args.workers, executor=executor,
            on_progress=Progress("municipalities"),
        )
    if args.format == "xlsx":
        tables = business_case_tables(report)
        export_xlsx(tables, args.output, formats=BUSINESS_CASE_FORMATS)
        print(f"wrote {args.output} ({', '.join(f'{n}: {len(rows)} rows' for n, (_, rows) in tables.items())})", file=sys.stderr)
    elif args.format == "csv":
        write_output(business_case_csv(report, dialect=args.csv_dialect), args.output)
    else:
        write_output({"json": to_json, "table": business_case_text}[args.format](report), args.output)
    if args.html:
        from pbr_rules.finance import simulate
        from pbr_rules.reports import write_report

        simulation = None
        if scenario is not None:
            simulation = simulate(scenario, runs=args.runs, seed=args.seed, workers=args.workers, on_progress=Progress("simulating"))
        write_report(report, simulation, Path(args.html))
        print(f"wrote {args.html}", file=sys.stderr)
    return EXIT_OK
