"""The ``pbr`` command: parse arguments, call one core function, format the answer.

Exit codes: 0 done and clean; 1 the inputs were read but have problems (invalid contract
files, failing scenarios); 2 the command could not run as asked (bad arguments, an
unreadable or invalid history, a refused evaluation); 3 an internal error (a bug: please
report it; no traceback is shown unless PBR_DEBUG=1).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path

from pbr_rules.errors import EngineFailure, InputInvalid, PbrError
from pbr_rules.periods import parse_iso_date

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


def _date(text: str) -> date:
    try:
        return parse_iso_date(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _write(text: str, output: str | None) -> None:
    if output:
        tmp = Path(output + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(output)  # never leave a half-written file
    else:
        sys.stdout.write(text)


# --- commands -------------------------------------------------------------------------------


def cmd_validate(args) -> int:
    from pbr_rules.evaluation.registry import validate_paths

    paths = args.paths or ["contracts"]
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        print(f"no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    reports = validate_paths(paths)
    if not reports:
        print(f"no YAML files found in {', '.join(paths)}: nothing to validate", file=sys.stderr)
        return EXIT_USAGE
    bad = 0
    for r in reports:
        if r.ok:
            if not args.quiet:
                print(f"ok    {r.path}: {r.summary}")
        else:
            bad += 1
            for d in r.diagnostics:
                print(str(d))
    n = len(reports)
    problems = sum(len(r.diagnostics) for r in reports)
    if bad:
        print(f"{bad} of {n} files have problems ({problems} in all); fix them and run 'pbr validate' again.", file=sys.stderr)
        return EXIT_PROBLEMS
    if not args.quiet:
        print(f"{n} files checked, no problems.")
    return EXIT_OK


def cmd_evaluate(args) -> int:
    from pbr_rules.evaluation.evaluate import evaluate, evaluate_cohort
    from pbr_rules.language.loader import load_cohorts, load_history
    from pbr_rules.evaluation.registry import load_checked_contract
    from pbr_rules.reports.text import Progress, payments_csv, result_text, to_json

    try:
        loaded = load_checked_contract(args.contract)
    except InputInvalid as exc:
        print(f"the contract is not valid:\n{exc}", file=sys.stderr)
        return EXIT_USAGE
    codes = frozenset(loaded.codes.codes)
    if args.history:
        results = [evaluate(loaded, load_history(args.history, codes), args.as_of)]
    else:
        histories = load_cohorts(args.cohort, codes)
        results = evaluate_cohort(loaded, histories, args.as_of, workers=args.workers, on_progress=Progress("evaluating"))
    if args.format == "json":
        text = to_json(results[0] if args.history else results)
    elif args.format == "csv":
        text = payments_csv(results)
    else:
        text = "\n".join(result_text(r, explain=args.explain) for r in results)
        if len(results) > 1:
            from pbr_rules.evaluation.evaluate import total_of
            from pbr_rules.money import format_dkk

            eligible = sum(r.eligibility.eligible for r in results)
            text += f"\n{len(results)} histories, {eligible} eligible, {sum(len(r.payments) for r in results)} payments, total {format_dkk(total_of(results))}\n"
    _write(text, args.output)
    return EXIT_OK


def cmd_test(args) -> int:
    from pbr_rules.evaluation.scenarios import find_scenario_files, run_scenario_file

    files = find_scenario_files(args.paths or ["contracts"])
    if not files:
        print("no scenario files (*.scenarios.yaml) found", file=sys.stderr)
        return EXIT_USAGE
    passed = failed = 0
    for f in files:
        try:
            outcomes = run_scenario_file(f)
        except InputInvalid as exc:
            print(str(exc))
            failed += 1
            continue
        for o in outcomes:
            if o.passed:
                passed += 1
                if args.verbose:
                    print(f"PASS  {o.file}:{o.line}: {o.name}")
            else:
                failed += 1
                print(f"FAIL  {o.file}:{o.line}: {o.name}")
                for line in "\n".join(o.failures).splitlines():
                    print(f"      {line}")
    print(f"{passed} passed, {failed} failed")
    return EXIT_OK if failed == 0 else EXIT_PROBLEMS


def cmd_settle(args) -> int:
    from pbr_rules.language.loader import load_cohorts
    from pbr_rules.models.settlement import Settlement
    from pbr_rules.evaluation.registry import load_checked_contract
    from pbr_rules.settlement.settle import settle
    from pbr_rules.reports.text import Progress, settlement_csv, settlement_text, to_json

    loaded = load_checked_contract(args.contract)
    histories = load_cohorts(args.cohort, frozenset(loaded.codes.codes))
    previous = None
    if args.previous:
        try:
            previous = Settlement.model_validate_json(Path(args.previous).read_text(encoding="utf-8"))
        except ValueError as exc:
            print(f"{args.previous}: not a settlement written by 'pbr settle --format json' ({str(exc).splitlines()[0]})", file=sys.stderr)
            return EXIT_USAGE
    result = settle(
        loaded, histories, args.as_of, period=args.period, previous=previous, workers=args.workers, on_progress=Progress("evaluating")
    )
    text = {"json": to_json, "csv": settlement_csv, "table": settlement_text}[args.format](result)
    _write(text, args.output)
    return EXIT_OK


def _agreements(folder: str):
    from pbr_rules.evaluation.registry import find_yaml, load_checked_contract
    from pbr_rules.language.yaml_source import load_yaml_file

    out = []
    for f in find_yaml([folder]):
        data = load_yaml_file(f).data
        if isinstance(data, dict) and data.get("kind") == "agreement":
            out.append(load_checked_contract(f))
    return out


def cmd_business_case(args) -> int:
    from decimal import Decimal, InvalidOperation

    from pbr_rules.finance.business_case import business_case
    from pbr_rules.language.loader import load_cohorts
    from pbr_rules.evaluation.registry import load_checked_contract
    from pbr_rules.reports.text import Progress, business_case_csv, business_case_text, to_json

    try:
        rate = Decimal(args.discount_rate)
        if not Decimal("-0.5") < rate < Decimal("1"):
            raise InvalidOperation
    except InvalidOperation:
        print(f"--discount-rate {args.discount_rate!r}: give an annual rate between -0.5 and 1, e.g. 0.04", file=sys.stderr)
        return EXIT_USAGE
    contracts = [load_checked_contract(c) for c in args.contract] if args.contract else _agreements(args.contracts)
    histories = load_cohorts(args.cohort)
    comparison = load_cohorts(args.comparison) if args.comparison else None
    report = business_case(
        contracts, histories, args.as_of, rate, comparison=comparison, workers=args.workers, on_progress=Progress("municipalities")
    )
    text = {"json": to_json, "csv": business_case_csv, "table": business_case_text}[args.format](report)
    _write(text, args.output)
    if args.html:
        from pbr_rules.reports.html import write_report
        from pbr_rules.finance.simulation import load_scenario, simulate

        simulation = None
        if args.runs:
            scenario = load_scenario(args.scenario)
            simulation = simulate(scenario, runs=args.runs, seed=args.seed, workers=args.workers, on_progress=Progress("simulating"))
        write_report(report, simulation, Path(args.html))
        print(f"wrote {args.html}", file=sys.stderr)
    return EXIT_OK


def cmd_schema(args) -> int:
    from pbr_rules.language.schema import SCHEMA_DIR, stale_schemas, write_schemas

    folder = Path(args.folder) if args.folder else SCHEMA_DIR
    if args.check:
        stale = stale_schemas(folder)
        if stale:
            print(f"out of date: {', '.join(stale)}; run 'pbr schema --write'", file=sys.stderr)
            return EXIT_PROBLEMS
        print("schemas match the models")
        return EXIT_OK
    for p in write_schemas(folder):
        print(f"wrote {p}")
    return EXIT_OK


# --- the parser -----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pbr", description="Payment-by-Results agreements as code.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    v = sub.add_parser("validate", help="check contract files (a file or a whole folder) and list every problem")
    v.add_argument("paths", nargs="*", help="files or folders (default: contracts/)")
    v.add_argument("-q", "--quiet", action="store_true", help="print problems only")
    v.set_defaults(func=cmd_validate)

    e = sub.add_parser("evaluate", help="which payments a participant's or a cohort's history triggers")
    e.add_argument("--contract", required=True, help="the agreement file")
    src = e.add_mutually_exclusive_group(required=True)
    src.add_argument("--history", help="one history file (YAML or JSON)")
    src.add_argument("--cohort", nargs="+", help="a cohort: JSON Lines, CSV, a YAML list, or folders of history files")
    e.add_argument("--as-of", type=_date, help="evaluate as of this date (default: each history's extraction date)")
    e.add_argument("--format", choices=["table", "json", "csv"], default="table")
    e.add_argument("--explain", action="store_true", help="show evidence, rule details and why milestones are not met")
    e.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes for a cohort (default: one per core)")
    e.add_argument("-o", "--output", help="write to this file instead of standard output")
    e.set_defaults(func=cmd_evaluate)

    t = sub.add_parser("test", help="run the contract scenarios (*.scenarios.yaml)")
    t.add_argument("paths", nargs="*", help="scenario files or folders (default: contracts/)")
    t.add_argument("-v", "--verbose", action="store_true", help="list passing scenarios too")
    t.set_defaults(func=cmd_test)

    st = sub.add_parser("settle", help="settle a cohort: cohort caps, tiers, payment schedule, claw-backs")
    st.add_argument("--contract", required=True, help="the agreement file")
    st.add_argument("--cohort", required=True, nargs="+", help="participant and company histories: JSON Lines, CSV, YAML list or folders")
    st.add_argument("--as-of", type=_date, required=True, help="settle as of this date")
    st.add_argument("--period", choices=["month", "quarter"], default="month", help="schedule by month or quarter of the due date")
    st.add_argument("--previous", help="an earlier settlement (its JSON): list only what changed since, with claw-backs")
    st.add_argument("--format", choices=["table", "json", "csv"], default="table")
    st.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    st.add_argument("-o", "--output", help="write to this file instead of standard output")
    st.set_defaults(func=cmd_settle)

    b = sub.add_parser("business-case", help="per municipality: course costs, outcome payments, savings, net result, break-even, NPV")
    who = b.add_mutually_exclusive_group()
    who.add_argument("--contracts", default="contracts", help="a folder of agreements (default: contracts/)")
    who.add_argument("--contract", nargs="+", help="particular agreement files")
    b.add_argument("--cohort", required=True, nargs="+", help="participant and company histories (matched to agreements by municipality code)")
    b.add_argument("--comparison", nargs="+", help="comparison-group histories, for a counterfactual 'comparison_group'")
    b.add_argument("--as-of", type=_date, required=True)
    b.add_argument("--discount-rate", default="0.04", help="annual discount rate for the NPV (default 0.04)")
    b.add_argument("--format", choices=["table", "json", "csv"], default="table")
    b.add_argument("--html", help="also write a self-contained HTML report with charts to this file")
    b.add_argument("--scenario", default="contracts/simulation/programme.yaml", help="simulation scenario for the report's distribution of net results")
    b.add_argument("--runs", type=int, default=200, help="Monte Carlo runs for the HTML report (0: none)")
    b.add_argument("--seed", type=int, default=1)
    b.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    b.add_argument("-o", "--output", help="write to this file instead of standard output")
    b.set_defaults(func=cmd_business_case)

    s = sub.add_parser("schema", help="write (or check) the JSON Schemas generated from the models")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--write", action="store_true", help="write them under contracts/schema/ (the default)")
    g.add_argument("--check", action="store_true", help="fail when the committed schemas differ from the models")
    s.add_argument("--folder", help="where the schemas live (default: contracts/schema)")
    s.set_defaults(func=cmd_schema)

    _add_more_commands(sub)
    return p


def _add_more_commands(sub) -> None:
    """Commands of later layers (serve, token, settle, ...) register here when present."""
    from pbr_rules.cli.lawyers import add_commands as add_lawyer_commands
    from pbr_rules.cli.simulation import add_commands as add_simulation_commands

    add_lawyer_commands(sub)  # render, diff, changelog
    add_simulation_commands(sub)  # simulate
    try:
        from pbr_rules.cli.serve import add_commands
    except ImportError:
        return
    add_commands(sub)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except InputInvalid as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except EngineFailure as exc:
        print(f"engine failure (nothing was decided): {exc}", file=sys.stderr)
        return EXIT_INTERNAL
    except PbrError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:
        print(f"cannot {exc.strerror.lower() if exc.strerror else 'do that'}: {exc.filename or ''}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # a bug: say so plainly, no traceback unless asked
        if os.environ.get("PBR_DEBUG"):
            raise
        print(f"internal error ({type(exc).__name__}): {exc}. This is a bug in pbr-rules; run with PBR_DEBUG=1 for details.", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
