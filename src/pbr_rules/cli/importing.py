"""``pbr import``: municipal register extracts to participant and company histories (docs/import.md).

Thin: reads the mapping and the files through ``pbr_rules.importers``, writes the histories
(JSON Lines, atomically), and prints what was read, what was written and every row not
imported, with file:row and the reason. Exit 0 when every row was imported, 1 when some
were not (the rest is written), 2 when the mapping or a file cannot be used.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pbr_rules.cli.common import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, write_output

DEFAULT_KEY_FILE = "var/pseudonym.key"


def add_commands(sub) -> None:
    """Register ``import``."""
    p = sub.add_parser(
        "import",
        help="turn a municipality's register extracts (DREAM weeks, eIndkomst months, attendance, company figures) into histories",
    )
    p.add_argument("mapping", help="the mapping file (kind: import_mapping): which files, which columns, which local codes")
    p.add_argument("-o", "--output", required=True, help="the histories to write (JSON Lines), e.g. cohort.jsonl")
    p.add_argument(
        "--key-file",
        default=os.environ.get("PBR_PSEUDONYM_KEY_FILE", DEFAULT_KEY_FILE),
        help="the secret key that turns CPR numbers into pseudonymous ids (made on first use; keep it, and never share it "
        f"with the histories); default $PBR_PSEUDONYM_KEY_FILE or {DEFAULT_KEY_FILE}",
    )
    p.set_defaults(func=cmd_import)


def cmd_import(args) -> int:
    from pbr_rules.importers import MappingInvalid, import_histories, load_or_create_key
    from pbr_rules.reports import Progress

    output = Path(args.output)
    if output.resolve() == Path(args.key_file).resolve():
        print("the output would overwrite the key file: choose another -o", file=sys.stderr)
        return EXIT_USAGE
    try:
        key = load_or_create_key(args.key_file)
        result = import_histories(args.mapping, key, on_progress=Progress("importing"))
    except MappingInvalid as exc:
        print(f"nothing was imported:\n{exc}", file=sys.stderr)
        return EXIT_USAGE
    write_output(result.jsonl(), str(output))
    print(summary_text(result, str(output), args.key_file), end="")
    return EXIT_PROBLEMS if result.problems else EXIT_OK


def summary_text(result, output: str, key_file: str) -> str:
    lines = ["Read:"]
    for f in result.files:
        extra = []
        if f.outside_cohort:
            extra.append(f"{f.outside_cohort:,} about people not in the cohort (not imported)")
        if f.ignored_columns:
            extra.append(f"columns not used: {', '.join(f.ignored_columns)}")
        lines.append(f"  {f.file}: {f.rows:,} rows" + (f" ({'; '.join(extra)})" if extra else ""))
    lines.append(
        f"Wrote {result.participants:,} of the {result.cohort:,} participants and {result.companies:,} companies to {output};"
        f" CPR numbers replaced by pseudonymous ids under the key in {key_file} (not in the output)."
    )
    if result.problems:
        lines.append(f"Not imported ({len(result.problems)}):")
        lines.extend(f"  {p}" for p in result.problems)
    else:
        lines.append("Every row was imported.")
    if result.notes:
        lines.append(f"Notes ({len(result.notes)}):")
        lines.extend(f"  {n}" for n in result.notes)
    return "\n".join(lines) + "\n"
