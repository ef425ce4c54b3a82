"""``pbr rates check``: which benefit rates are assumptions, and which agreements would use them."""

from __future__ import annotations

from pbr_rules.cli.common import EXIT_OK, EXIT_PROBLEMS, write_output

DEFAULT_RATES = "contracts/data/benefit-rates.yaml"


def add_commands(sub) -> None:
    """Register ``rates check``."""
    r = sub.add_parser("rates", help="the benefit-rate table: which figures are assumptions, and who uses them")
    rsub = r.add_subparsers(dest="rates_command", required=True, metavar="SUBCOMMAND")
    c = rsub.add_parser(
        "check",
        help="list every assumed rate and the agreements whose business case uses it; exit 1 if an agreement uses one",
    )
    c.add_argument("rates", nargs="?", default=DEFAULT_RATES, help=f"the rate table (default: {DEFAULT_RATES})")
    c.add_argument("--contracts", default="contracts", help="the folder of bundled agreements (default: contracts/)")
    c.add_argument("-o", "--output", help="write to this file instead of standard output")
    c.set_defaults(func=cmd_rates_check)


def cmd_rates_check(args) -> int:
    from pathlib import Path

    from pbr_rules.errors import ContractInvalid, Diagnostic
    from pbr_rules.evaluation import load_checked_contract
    from pbr_rules.finance import check_rates
    from pbr_rules.language import find_yaml, load_yaml_file
    from pbr_rules.reports import rates_check_text

    if not Path(args.contracts).is_dir():
        raise ContractInvalid([Diagnostic(file=args.contracts, message="no such folder of agreements", hint="give --contracts DIR")])
    agreements = []
    for f in find_yaml([args.contracts]):
        data = load_yaml_file(f).data
        if isinstance(data, dict) and data.get("kind") == "agreement":
            agreements.append(load_checked_contract(f))
    check = check_rates(args.rates, agreements)
    write_output(rates_check_text(check), args.output)
    return EXIT_PROBLEMS if check.used_assumptions else EXIT_OK
