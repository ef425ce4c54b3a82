"""``pbr validate``, ``pbr test`` and ``pbr schema``: checking contract files, their worked examples and schemas."""

from __future__ import annotations

import sys
from pathlib import Path

from pbr_rules.cli.common import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, add_language_option, choose_language
from pbr_rules.errors import InputInvalid
from pbr_rules.i18n import _


def add_commands(sub) -> None:
    """Register ``validate``, ``test``, ``schema``."""
    v = sub.add_parser("validate", help="check contract files (a file or a whole folder) and list every problem")
    v.add_argument("paths", nargs="*", help="files or folders (default: contracts/)")
    v.add_argument("-q", "--quiet", action="store_true", help="print problems only")
    v.add_argument("--strict", action="store_true", help="warnings fail validation too (exit 1)")
    add_language_option(v)
    v.set_defaults(func=cmd_validate)

    t = sub.add_parser("test", help="run the contract scenarios (*.scenarios.yaml)")
    t.add_argument("paths", nargs="*", help="scenario files or folders (default: contracts/)")
    t.add_argument("-v", "--verbose", action="store_true", help="list passing scenarios too")
    t.set_defaults(func=cmd_test)

    s = sub.add_parser("schema", help="write (or check) the JSON Schemas generated from the models")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--write", action="store_true", help="write them under contracts/schema/ (the default)")
    g.add_argument("--check", action="store_true", help="fail when the committed schemas differ from the models")
    s.add_argument("--folder", help="where the schemas live (default: contracts/schema)")
    s.set_defaults(func=cmd_schema)


def _declared_languages(paths: list[str]) -> list[str]:
    """The ``language:`` each agreement among ``paths`` declares itself (read before validation,
    so that its problems are worded in it); files that cannot be read declare nothing."""
    from pbr_rules.language import find_yaml, load_yaml_file

    out = []
    for f in find_yaml(paths):
        try:
            data = load_yaml_file(f).data
        except InputInvalid:
            continue
        if isinstance(data, dict) and data.get("kind") == "agreement" and data.get("language") in ("da", "en"):
            out.append(data["language"])
    return out


def cmd_validate(args) -> int:
    """Exit 0 when no file has an error (warnings are printed but pass, unless --strict); 1 when
    one has (or, with --strict, any warning); 2 when there is nothing to validate."""
    from pbr_rules.catalogue import validate_paths

    paths = args.paths or ["contracts"]
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        print(f"no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    choose_language(args, _declared_languages(paths))
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
        for w in r.warnings:
            print(str(w))
    n = len(reports)
    problems = sum(len(r.diagnostics) for r in reports)
    warnings = sum(len(r.warnings) for r in reports)
    if bad:
        print(
            _("{bad} of {n} files have problems ({problems} in all); fix them and run 'pbr validate' again.").format(bad=bad, n=n, problems=problems),
            file=sys.stderr,
        )
    elif not args.quiet:
        print(_("{n} files checked, no problems.").format(n=n) if not warnings else _("{n} files checked, no errors.").format(n=n))
    if warnings:
        print(
            _("Warnings: {warnings} (each is probably a mistake, though the agreement can be paid as written; --strict fails on them).").format(warnings=warnings),
            file=sys.stderr,
        )
    return EXIT_PROBLEMS if bad or (warnings and args.strict) else EXIT_OK


def cmd_test(args) -> int:
    from pbr_rules.evaluation import find_scenario_files, run_scenario_file

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


def cmd_schema(args) -> int:
    from pbr_rules.language import SCHEMA_DIR, stale_schemas, write_schemas

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
