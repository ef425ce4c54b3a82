"""``pbr db`` and ``pbr ledger``: the ledger's schema, runs, claims, the audit chain and exports.

Exit codes: 0 done; 1 refused by the ledger's rules (a transition not allowed from the
claim's state, a broken chain); 2 bad input (an unknown claim or run, a missing reason,
an unreachable database, a database written by a newer pbr-rules).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from pbr_rules.cli.common import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, add_spreadsheet_options, write_output, xlsx_needs_output

DATABASE_HELP = "the ledger database: a file path (SQLite) or a URL such as postgresql+psycopg://user@host/db (default: $PBR_DATABASE_URL, else var/pbr.db)"
CLAIM_ACTIONS = {
    "approve": "approve a due claim (the municipality's check that the outcome is real)",
    "pay": "record that an approved claim was paid (its outstanding amount)",
    "reject": "reject a due or approved claim, e.g. when verification fails (--reason required)",
    "reinstate": "make a rejected claim due again (--reason required)",
    "recover": "record that an over-payment (recovery_due) was paid back",
    "dispute": "raise a dispute on a claim, or clear it with --clear (--reason required)",
}


def _count(text: str) -> int:
    """An id, a sequence number, a limit or an offset: a whole number 0 to 2^63 - 1 (what the database holds)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= n < 2**63:
        raise argparse.ArgumentTypeError(f"{text} is out of range (0 to {2**63 - 1})")
    return n


def add_database_option(parser) -> None:
    parser.add_argument("--database", help=DATABASE_HELP)


_OPEN: list = []  # the ledgers this command opened, closed when it ends (close_ledgers)


def open_ledger(args):
    """The ledger of ``--database`` (or the default), closed by ``close_ledgers`` when the command ends."""
    from pbr_rules.ledger import Ledger

    ledger = Ledger(getattr(args, "database", None))
    _OPEN.append(ledger)
    return ledger


def close_ledgers() -> None:
    """Close every ledger the command opened: its connections end, and SQLite writes its WAL
    back into the database file, so the file alone (a backup, a copy) holds everything."""
    while _OPEN:
        try:
            _OPEN.pop().close()
        except Exception as exc:  # noqa: BLE001 - everything was committed; a failing close must not hide the command's own outcome
            if os.environ.get("PBR_DEBUG"):
                print(f"closing the ledger failed ({type(exc).__name__}): {exc}", file=sys.stderr)


def add_commands(sub) -> None:
    """Register ``db`` and ``ledger``."""
    db = sub.add_parser("db", help="the ledger database's schema: upgrade it, or show its revision")
    dbs = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    up = dbs.add_parser("upgrade", help="create the ledger database or bring it to this version's schema")
    add_database_option(up)
    up.set_defaults(func=cmd_db_upgrade)
    cur = dbs.add_parser("current", help="show the database's schema revision and this version's")
    add_database_option(cur)
    cur.set_defaults(func=cmd_db_current)

    led = sub.add_parser("ledger", help="the payment ledger: settlement runs, claims and their states, the audit chain, exports")
    ls = led.add_subparsers(dest="ledger_command", required=True, metavar="ACTION")

    runs = ls.add_parser("runs", help="list the recorded settlement runs")
    runs.add_argument("--contract", help="only this contract id")
    runs.add_argument("--format", choices=["table", "json"], default="table")
    add_database_option(runs)
    runs.set_defaults(func=cmd_runs)

    show = ls.add_parser("show", help="one settlement run: its totals, and with --format json the whole settlement")
    show.add_argument("run", type=_count, help="the run id (see 'pbr ledger runs')")
    show.add_argument("--format", choices=["table", "json"], default="table")
    add_database_option(show)
    show.set_defaults(func=cmd_show)

    claims = ls.add_parser("claims", help="list claims, by contract and state")
    claims.add_argument("--contract", help="only this contract id")
    claims.add_argument("--state", choices=["due", "approved", "paid", "rejected", "withdrawn", "recovery_due", "recovered"])
    claims.add_argument("--disputed", action="store_true", help="only disputed claims")
    claims.add_argument("--limit", type=_count, default=1000, help="at most this many (default 1000)")
    claims.add_argument("--offset", type=_count, default=0)
    claims.add_argument("--format", choices=["table", "json", "csv"], default="table")
    add_database_option(claims)
    claims.set_defaults(func=cmd_claims)

    claim = ls.add_parser("claim", help="one claim with every event of its history")
    claim.add_argument("claim", help="the claim's payment id, e.g. dk-101-koebenhavn/p-101-001/citizen_start/1")
    claim.add_argument("--format", choices=["table", "json"], default="table")
    add_database_option(claim)
    claim.set_defaults(func=cmd_claim)

    for action, help_text in CLAIM_ACTIONS.items():
        a = ls.add_parser(action, help=help_text)
        a.add_argument("claim", help="the claim's payment id")
        a.add_argument("--reason", default="", help="why (required to reject, reinstate and dispute)")
        if action == "dispute":
            a.add_argument("--clear", action="store_true", help="clear the dispute instead of raising it")
        a.add_argument("--format", choices=["table", "json"], default="table")
        add_database_option(a)
        a.set_defaults(func=cmd_act, action=action)

    v = ls.add_parser("verify", help="recompute the hash chain and every record's digest; exit 1 at the first broken link")
    add_database_option(v)
    v.set_defaults(func=cmd_verify)

    audit = ls.add_parser("audit", help="the event log (the hash chain), oldest first")
    audit.add_argument("--after", type=_count, default=0, help="events after this sequence number")
    audit.add_argument("--limit", type=_count, default=100)
    audit.add_argument("--format", choices=["table", "json"], default="table")
    add_database_option(audit)
    audit.set_defaults(func=cmd_audit)

    ex = ls.add_parser("export", help="claims, runs and events as CSV, JSON or an Excel workbook")
    ex.add_argument("--format", choices=["csv", "json", "xlsx"], required=True)
    ex.add_argument("--what", choices=["claims", "runs", "events", "all"], default=None, help="which table (default: claims for csv, all for json and xlsx)")
    ex.add_argument("--contract", help="only this contract id (claims and runs)")
    ex.add_argument("-o", "--output", help="the file to write (required for xlsx)")
    add_spreadsheet_options(ex)
    add_database_option(ex)
    ex.set_defaults(func=cmd_export)


def cmd_db_upgrade(args) -> int:
    from pbr_rules.ledger import create_engine, resolve_url, shown, upgrade

    url = resolve_url(args.database)
    engine = create_engine(url)
    try:
        before, after = upgrade(engine, url)
    finally:
        engine.dispose()
    if before == after:
        print(f"{shown(url)}: already at schema revision {after}")
    else:
        print(f"{shown(url)}: schema {before or 'none (new database)'} -> {after}")
    return EXIT_OK


def cmd_db_current(args) -> int:
    from pbr_rules.ledger import check_revision, create_engine, head_revision, resolve_url, shown

    url = resolve_url(args.database)
    engine = create_engine(url)
    try:
        rev = check_revision(engine, url)
    finally:
        engine.dispose()
    head = head_revision()
    state = "up to date" if rev == head else ("not created yet: run 'pbr db upgrade'" if rev is None else f"older than this version's {head}: run 'pbr db upgrade'")
    print(f"{shown(url)}: schema revision {rev or 'none'} ({state})")
    return EXIT_OK


def cmd_runs(args) -> int:
    from pbr_rules.reports import runs_text

    runs = open_ledger(args).runs(args.contract, limit=100_000)
    text = json.dumps([r.to_dict() for r in runs], indent=2) + "\n" if args.format == "json" else runs_text(runs)
    sys.stdout.write(text)
    return EXIT_OK


def cmd_show(args) -> int:
    from pbr_rules.reports import run_text

    run = open_ledger(args).run(args.run)
    sys.stdout.write(json.dumps(run.to_dict(with_settlement=True), indent=2, ensure_ascii=False) + "\n" if args.format == "json" else run_text(run))
    return EXIT_OK


def cmd_claims(args) -> int:
    from pbr_rules.reports import claims_text, export_csv

    if args.limit < 1 or args.offset < 0:
        print("--limit must be at least 1 and --offset at least 0", file=sys.stderr)
        return EXIT_USAGE
    ledger = open_ledger(args)
    claims = ledger.claims(contract_id=args.contract, state=args.state, disputed=True if args.disputed else None, limit=args.limit + 1, offset=args.offset)
    more = len(claims) > args.limit
    claims = claims[: args.limit]
    if args.format == "json":
        text = json.dumps([c.to_dict() for c in claims], indent=2, ensure_ascii=False) + "\n"
    elif args.format == "csv":
        header = list(claims[0].to_dict()) if claims else ["payment_id"]
        text = export_csv(header, [list(c.to_dict().values()) for c in claims])
    else:
        text = claims_text(claims, limit_hit=more)
    sys.stdout.write(text)
    return EXIT_OK


def cmd_claim(args) -> int:
    from pbr_rules.reports import claim_text

    ledger = open_ledger(args)
    c = ledger.claim(args.claim)
    run_id = next((e.run_id for e in reversed(c.events) if e.run_id), None)
    evidence = ledger.line_evidence(run_id, c.payment_id) if run_id else None
    if args.format == "json":
        sys.stdout.write(json.dumps({**c.to_dict(with_events=True), "evidence": evidence}, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(claim_text(c, evidence))
    return EXIT_OK


def cmd_act(args) -> int:
    from pbr_rules.ledger import cli_actor
    from pbr_rules.reports import claim_text

    action = "clear" if args.action == "dispute" and args.clear else args.action
    claim, _ = open_ledger(args).act(args.claim, action, cli_actor(), args.reason)
    sys.stdout.write(json.dumps(claim.to_dict(with_events=True), indent=2, ensure_ascii=False) + "\n" if args.format == "json" else claim_text(claim))
    return EXIT_OK


def cmd_verify(args) -> int:
    from pbr_rules.reports import verify_text

    ledger = open_ledger(args)
    report = ledger.verify()
    sys.stdout.write(verify_text(report, ledger.shown_url))
    return EXIT_OK if report.ok else EXIT_PROBLEMS


def cmd_audit(args) -> int:
    from pbr_rules.reports import table

    events = open_ledger(args).audit(args.after, args.limit)
    if args.format == "json":
        sys.stdout.write(json.dumps([e.to_dict() for e in events], indent=2, ensure_ascii=False) + "\n")
    else:
        rows = [[str(e.seq), e.at, e.actor, e.kind, e.ref, e.hash[:16]] for e in events]
        sys.stdout.write(table(rows, ["#", "at", "actor", "event", "about", "hash"]) + "\n")
    return EXIT_OK


def cmd_export(args) -> int:
    from pbr_rules.reports import export_csv, export_json, export_xlsx

    what = args.what or ("claims" if args.format == "csv" else "all")
    if args.format == "csv" and what == "all":
        print("--format csv writes one table: choose --what claims, runs or events", file=sys.stderr)
        return EXIT_USAGE
    if xlsx_needs_output(args):
        return EXIT_USAGE
    ledger = open_ledger(args)
    names = ["claims", "runs", "events"] if what == "all" else [what]
    tables = {n: ledger.export_rows(n, contract_id=args.contract) for n in names}
    if args.format == "xlsx":
        export_xlsx(tables, args.output)
        print(f"wrote {args.output} ({', '.join(f'{n}: {len(rows)} rows' for n, (_, rows) in tables.items())})", file=sys.stderr)
    elif args.format == "csv":
        header, rows = tables[what]
        write_output(export_csv(header, rows, dialect=args.csv_dialect), args.output)
    else:
        write_output(export_json(tables), args.output)
    return EXIT_OK
