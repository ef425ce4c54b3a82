"""The ``pbr simulate`` command: parse, call ``simulation.simulate``, format."""

from __future__ import annotations

import csv
import io
import os
from typing import TYPE_CHECKING

from pbr_rules.cli.common import EXIT_OK, EXIT_USAGE, add_scheduler_option, scheduler_executor, write_output
from pbr_rules.collector import freeze_loaded
from pbr_rules.i18n import format_money

if TYPE_CHECKING:  # the model is built only by the commands that simulate
    from pbr_rules.models.simulation import SimulationResult

DEFAULT_SCENARIO = "contracts/simulation/programme.yaml"


def add_commands(sub) -> None:
    """Register ``simulate``."""
    s = sub.add_parser(
        "simulate",
        help="Monte Carlo business case: draw synthetic cohorts from a scenario and run each through the real evaluation",
    )
    s.add_argument("--scenario", default=DEFAULT_SCENARIO, help=f"the scenario file (kind: simulation; default {DEFAULT_SCENARIO})")
    s.add_argument("--seed", type=int, default=1, help="random seed: the same seed gives the same result, byte for byte")
    s.add_argument("--runs", type=int, default=1000, help="number of runs (default 1000)")
    s.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes (default: one per core); never changes the result")
    add_scheduler_option(s)
    s.add_argument("--format", choices=["table", "json", "csv"], default="table", help="table (default), json (summary and every run), csv (every run)")
    s.add_argument("-o", "--output", help="write to this file instead of standard output")
    s.set_defaults(func=cmd_simulate)


def cmd_simulate(args) -> int:
    import sys

    from pbr_rules.finance import load_scenario, simulate
    from pbr_rules.reports import Progress, to_json

    if args.runs < 1 or args.workers < 1:
        print("--runs and --workers must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    scenario = load_scenario(args.scenario)
    freeze_loaded()
    with scheduler_executor(args) as executor:
        result = simulate(scenario, runs=args.runs, seed=args.seed, workers=args.workers, on_progress=Progress("simulating"), executor=executor)
    text = {"json": to_json, "csv": simulation_csv, "table": simulation_text}[args.format](result)
    write_output(text, args.output)
    return EXIT_OK


def simulation_text(result: SimulationResult) -> str:
    """The summary as a readable table, one block per municipality and the programme."""
    lines = [
        f"Simulation of {result.scenario}: {result.runs} runs, seed {result.seed}, as of {result.as_of}, discount rate {result.discount_rate}, "
        f"amounts in {result.currency}",
        "",
    ]
    cases = result.municipalities + ([result.programme] if result.programme else [])
    header = ["", "mean", "P5", "P25", "P50", "P75", "P95"]
    for c in cases:
        lines.append(f"{c.municipality} ({c.contract})")
        rows = []
        for label, s in (
            ("net result", c.net_result), ("NPV", c.npv), ("savings", c.savings), ("course costs (all)", c.course_costs),
            ("course costs paid by the municipality", c.municipal_course_costs),
            ("municipal outcome payments", c.municipal_outcome_payments),
        ):
            rows.append([label] + [f"{v:,.0f}" for v in (s.mean, s.p5, s.p25, s.p50, s.p75, s.p95)])
        widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
        lines.append("  " + "  ".join(h.ljust(widths[0]) if i == 0 else h.rjust(widths[i]) for i, h in enumerate(header)) + f"  ({result.currency})")
        for r in rows:
            lines.append("  " + "  ".join(x.ljust(widths[0]) if i == 0 else x.rjust(widths[i]) for i, x in enumerate(r)))
        lines.append(
            f"  P(savings cover the course costs) = {_percent(c.probability_savings_finance_courses)}; "
            f"P(net result > 0) = {_percent(c.probability_positive_net)}; median net {format_money(c.net_result.p50, result.currency, 'en')}"
        )
        lines.append("")
    lines.append(
        f"P(savings cover the course costs): the share of the {result.runs} runs in which the savings were at least the total "
        "course costs (whoever carried them); P(net result > 0): the share in which the municipality's savings were more "
        "than what it paid (its outcome payments and own course costs). Shares of simulated runs under the scenario's "
        "assumptions, not forecasts."
    )
    lines.append("Percentiles are nearest-rank over the runs; figures in the scenario are illustrative.")
    return "\n".join(lines) + "\n"


def _percent(share: str) -> str:
    """'0.3550' -> '35.5 %'."""
    from decimal import Decimal

    return f"{(Decimal(share) * 100).quantize(Decimal('0.1'))} %"


def simulation_csv(result: SimulationResult) -> str:
    """Every run of every municipality (and the programme), one row each."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["run", "municipality", "code", "net_result", "npv", "savings", "course_costs", "municipal_course_costs", "municipal_outcome_payments", "finances_the_courses", "currency"])
    for c in result.municipalities + ([result.programme] if result.programme else []):
        for r in c.runs:
            w.writerow([r.run, c.municipality, c.code, f"{r.net_result:.2f}", f"{r.npv:.2f}", f"{r.savings:.2f}", f"{r.course_costs:.2f}", f"{r.municipal_course_costs:.2f}",
                        f"{r.municipal_outcome_payments:.2f}", "true" if r.finances_the_courses else "false", result.currency])
    return buf.getvalue()
