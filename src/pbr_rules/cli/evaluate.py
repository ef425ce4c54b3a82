"""``pbr evaluate`` and ``pbr settle``: which payments histories trigger, and a cohort's settlement."""

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
from pbr_rules.cli.ledger import add_database_option, open_ledger
from pbr_rules.collector import freeze_loaded
from pbr_rules.errors import InputInvalid
from pbr_rules.i18n import _


def add_commands(sub) -> None:
    """Register ``evaluate``, ``settle``."""
    e = sub.add_parser("evaluate", help="which payments a participant's or a cohort's history triggers")
    e.add_argument("--contract", required=True, help="the agreement file")
    src = e.add_mutually_exclusive_group(required=True)
    src.add_argument("--history", help="one history file (YAML or JSON)")
    src.add_argument("--cohort", nargs="+", help="a cohort: JSON Lines, CSV, a YAML list, or folders of history files")
    e.add_argument("--as-of", type=iso_date, help="evaluate as of this date (default: each history's extraction date)")
    e.add_argument("--format", choices=["table", "json", "csv"], default="table")
    e.add_argument("--explain", action="store_true", help="show evidence, rule details and why milestones are not met (with a cohort: implies --details)")
    e.add_argument("--details", action="store_true", help="with a cohort: after the summary, each history's milestones and payments")
    e.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes for a cohort (default: one per core)")
    add_scheduler_option(e)
    e.add_argument("-o", "--output", help="write to this file instead of standard output")
    e.add_argument("--no-log", action="store_true", help="do not keep this evaluation in the ledger's decision log (for what-if runs)")
    add_database_option(e)
    e.set_defaults(func=cmd_evaluate)

    st = sub.add_parser("settle", help="settle a cohort: cohort caps, tiers, payment schedule, claw-backs")
    st.add_argument("--contract", required=True, help="the agreement file")
    st.add_argument("--cohort", required=True, nargs="+", help="participant and company histories: JSON Lines, CSV, YAML list or folders")
    st.add_argument("--as-of", type=iso_date, required=True, help="settle as of this date")
    st.add_argument("--period", choices=["month", "quarter"], default="month", help="schedule by month or quarter of the due date")
    st.add_argument("--dry-run", action="store_true", help="compute the settlement against the ledger's latest run without recording it")
    st.add_argument("--previous", help="with --dry-run only: compare with this settlement JSON instead of the ledger's latest run")
    st.add_argument("--format", choices=["table", "json", "csv", "xlsx"], default="table", help="xlsx: a workbook (needs -o) with the payments, schedule, changes, by payer and by payee")
    add_spreadsheet_options(st)
    add_language_option(st)
    st.add_argument("--details", action="store_true", help="after the summary, each reduced or refused payment, adjustment and claw-back")
    st.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    add_scheduler_option(st)
    st.add_argument("-o", "--output", help="write to this file instead of standard output")
    add_database_option(st)
    st.set_defaults(func=cmd_settle)


# Below this many histories a cohort is evaluated in this process: starting workers costs more.
SMALL_COHORT = 400
# Decisions kept in the ledger's log per event, so a large cohort is never held whole.
LOG_BATCH = 200


def cmd_evaluate(args) -> int:
    from pbr_rules.evaluation import evaluate, load_checked_contract
    from pbr_rules.language import load_history
    from pbr_rules.reports import payments_csv, result_text, to_json

    try:
        loaded = load_checked_contract(args.contract)
    except InputInvalid as exc:
        print(f"the contract is not valid:\n{exc}", file=sys.stderr)
        return EXIT_USAGE
    freeze_loaded()
    codes = loaded.known
    if args.cohort:
        return _evaluate_cohort(args, loaded)
    histories = [load_history(args.history, codes)]
    results = [evaluate(loaded, histories[0], args.as_of)]
    if not args.no_log:
        from pbr_rules.ledger import cli_actor

        open_ledger(args).log_decisions(loaded, histories, results, args.as_of, cli_actor())
    if args.format == "json":
        text = to_json(results[0])
    elif args.format == "csv":
        text = payments_csv(results)
    else:
        text = result_text(results[0], explain=args.explain)
    write_output(text, args.output)
    return EXIT_OK


def _evaluate_cohort(args, loaded) -> int:
    """A cohort as a stream: chunks to the workers, digests back, the summary first (flat memory)."""
    from functools import partial

    from pbr_rules.evaluation import count_histories, executor_for, stream_cohort
    from pbr_rules.reports import CohortReport, Progress, cohort_digest

    details = args.details or args.explain
    log = not args.no_log
    digest = partial(cohort_digest, fmt=args.format, details=details, explain=args.explain, log=log, log_as_of=args.as_of)
    workers = args.workers
    if not args.scheduler and count_histories(args.cohort) < SMALL_COHORT:
        workers = 1
    report = CohortReport(args.format, details=details)
    try:
        batch: list = []
        ledger = None

        def flush():
            nonlocal ledger, batch
            if batch:
                from pbr_rules.ledger import cli_actor

                ledger = ledger or open_ledger(args)
                ledger.log_decision_records(loaded, batch, args.as_of, cli_actor())
                batch = []

        with executor_for(args.scheduler, workers) as executor:
            for d in stream_cohort(loaded, args.cohort, args.as_of, digest=digest, executor=executor, on_progress=Progress("evaluating")):
                report.add(d)
                if log:
                    batch.append(d.log)
                    if len(batch) >= LOG_BATCH:
                        flush()
        flush()
        if args.output:
            tmp = Path(args.output + ".tmp")
            with tmp.open("w", encoding="utf-8") as fh:
                report.write(fh)
            tmp.replace(args.output)
        else:
            report.write(sys.stdout)
    finally:
        report.close()
    return EXIT_OK


def cmd_settle(args) -> int:
    from pbr_rules.evaluation import load_checked_contract
    from pbr_rules.language import load_cohorts
    from pbr_rules.ledger import cli_actor
    from pbr_rules.models.settlement import Settlement
    from pbr_rules.reports import Progress, export_xlsx, run_text, settlement_csv, settlement_tables, settlement_text, to_json
    from pbr_rules.settlement import settle_stream

    if xlsx_needs_output(args):
        return EXIT_USAGE
    if args.previous and not args.dry_run:
        print(
            "--previous is only for --dry-run: a recorded settlement is always compared with the ledger's latest run "
            "of the contract, which the ledger finds itself",
            file=sys.stderr,
        )
        return EXIT_USAGE
    loaded = load_checked_contract(args.contract)
    freeze_loaded()
    choose_language(args, [loaded.contract.language])
    recorded = None
    if args.previous:
        try:
            previous = Settlement.model_validate_json(Path(args.previous).read_text(encoding="utf-8"))
        except ValueError as exc:
            print(f"{args.previous}: not a settlement written by 'pbr settle --format json' ({str(exc).splitlines()[0]})", file=sys.stderr)
            return EXIT_USAGE
        # nothing is recorded: the cohort is read and settled as a stream (flat memory)
        from pbr_rules.evaluation import count_histories, executor_for

        workers = args.workers if args.scheduler or count_histories(args.cohort) >= SMALL_COHORT else 1
        with executor_for(args.scheduler, workers) as executor:
            result = settle_stream(
                loaded, args.cohort, args.as_of, period=args.period, previous=previous, executor=executor, on_progress=Progress("evaluating")
            )
    elif args.dry_run:
        from pbr_rules.evaluation import count_histories, executor_for
        from pbr_rules.ledger import missing_sqlite_file

        workers = args.workers if args.scheduler or count_histories(args.cohort) >= SMALL_COHORT else 1
        missing = missing_sqlite_file(args.database)
        with executor_for(args.scheduler, workers) as executor:
            if missing:  # a dry run records nothing, so it creates no database either (a mistyped --database)
                print(_("no ledger database at {path}: nothing recorded to compare with (a dry run creates none)").format(path=missing), file=sys.stderr)
                result = settle_stream(loaded, args.cohort, args.as_of, period=args.period, executor=executor, on_progress=Progress("evaluating"))
            else:
                result = open_ledger(args).preview_stream(loaded, args.cohort, args.as_of, period=args.period, executor=executor, on_progress=Progress("evaluating"))
    else:
        histories = load_cohorts(args.cohort, loaded.known)
        with scheduler_executor(args) as executor:
            recorded = open_ledger(args).settle(
                loaded, histories, args.as_of, cli_actor(), period=args.period, workers=args.workers, executor=executor,
                on_progress=Progress("evaluating"), on_recording=Progress("recording"),
            )
        result = recorded.settlement
    if args.format == "xlsx":
        tables = settlement_tables(result)
        export_xlsx(tables, args.output)
        print(f"wrote {args.output} ({', '.join(f'{n}: {len(rows)} rows' for n, (_, rows) in tables.items())})", file=sys.stderr)
    else:
        if args.format == "table":
            text = settlement_text(result, details=args.details)
        elif args.format == "csv":
            text = settlement_csv(result, dialect=args.csv_dialect)
        else:
            text = to_json(result)
        write_output(text, args.output)
    if recorded is not None:
        print(run_text(recorded.run, recorded.claims_new, recorded.claims_changed, recorded.not_proposed).rstrip("\n"), file=sys.stderr)
    else:
        print(_("dry run: nothing was recorded in the ledger"), file=sys.stderr)
    return EXIT_OK
