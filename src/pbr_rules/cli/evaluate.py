"""``pbr evaluate`` and ``pbr settle``: which payments histories trigger, and a cohort's settlement."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pbr_rules.cli.common import EXIT_OK, EXIT_USAGE, iso_date, write_output
from pbr_rules.errors import InputInvalid


def add_commands(sub) -> None:
    """Register ``evaluate``, ``settle``."""
    e = sub.add_parser("evaluate", help="which payments a participant's or a cohort's history triggers")
    e.add_argument("--contract", required=True, help="the agreement file")
    src = e.add_mutually_exclusive_group(required=True)
    src.add_argument("--history", help="one history file (YAML or JSON)")
    src.add_argument("--cohort", nargs="+", help="a cohort: JSON Lines, CSV, a YAML list, or folders of history files")
    e.add_argument("--as-of", type=iso_date, help="evaluate as of this date (default: each history's extraction date)")
    e.add_argument("--format", choices=["table", "json", "csv"], default="table")
    e.add_argument("--explain", action="store_true", help="show evidence, rule details and why milestones are not met")
    e.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes for a cohort (default: one per core)")
    e.add_argument("-o", "--output", help="write to this file instead of standard output")
    e.set_defaults(func=cmd_evaluate)

    st = sub.add_parser("settle", help="settle a cohort: cohort caps, tiers, payment schedule, claw-backs")
    st.add_argument("--contract", required=True, help="the agreement file")
    st.add_argument("--cohort", required=True, nargs="+", help="participant and company histories: JSON Lines, CSV, YAML list or folders")
    st.add_argument("--as-of", type=iso_date, required=True, help="settle as of this date")
    st.add_argument("--period", choices=["month", "quarter"], default="month", help="schedule by month or quarter of the due date")
    st.add_argument("--previous", help="an earlier settlement (its JSON): list only what changed since, with claw-backs")
    st.add_argument("--format", choices=["table", "json", "csv"], default="table")
    st.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    st.add_argument("-o", "--output", help="write to this file instead of standard output")
    st.set_defaults(func=cmd_settle)


def cmd_evaluate(args) -> int:
    from pbr_rules.evaluation import evaluate, evaluate_cohort, load_checked_contract
    from pbr_rules.language import load_cohorts, load_history
    from pbr_rules.reports import Progress, payments_csv, result_text, to_json

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
            from pbr_rules.evaluation import total_of
            from pbr_rules.money import format_dkk

            eligible = sum(r.eligibility.eligible for r in results)
            text += f"\n{len(results)} histories, {eligible} eligible, {sum(len(r.payments) for r in results)} payments, total {format_dkk(total_of(results))}\n"
    write_output(text, args.output)
    return EXIT_OK


def cmd_settle(args) -> int:
    from pbr_rules.evaluation import load_checked_contract
    from pbr_rules.language import load_cohorts
    from pbr_rules.models.settlement import Settlement
    from pbr_rules.reports import Progress, settlement_csv, settlement_text, to_json
    from pbr_rules.settlement import settle

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
    write_output(text, args.output)
    return EXIT_OK
