"""``pbr render``, ``pbr diff`` and ``pbr changelog``: the commands for lawyers and contract managers.

Thin edges over ``render``, ``diff``, ``whatif`` and ``changelog``: parse the arguments,
call one core function, format the answer. Registered into ``pbr`` by ``add_commands``.
``pbr diff FILE --rev REV`` also owns fetching an agreement (with its template and
benefit-code file) as it was at a git revision, into a temporary folder with the same
layout, so that ``extends: ../templates/...`` resolves to the template of that revision.

Exit codes: render 0 (2 on bad input); diff 0 when no change affects payments, 1 when one
does, 2 on bad input; changelog check 0 when complete, 1 when an entry is missing.
"""

from __future__ import annotations

import dataclasses
import posixpath
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from pbr_rules.cli.common import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, add_language_option, choose_language, iso_date, write_output
from pbr_rules.errors import InputInvalid, PbrError


class RevisionUnavailable(PbrError):
    """The agreement (or a file it needs) cannot be read at the git revision asked for."""


def _load(path: str, label: str):
    from pbr_rules.language import load_contract

    try:
        return load_contract(path)
    except InputInvalid as exc:
        raise _Bad(f"{label} {path} is not a valid agreement:\n{exc}") from None


class _Bad(Exception):
    """Bad input for a command: the message is shown and the command exits 2."""


# --- git revisions ------------------------------------------------------------------------------


def _git(root: Path | str, *args: str) -> bytes:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=False)
    except FileNotFoundError:
        raise RevisionUnavailable("git is not installed, so --rev cannot be used") from None
    if done.returncode != 0:
        raise RevisionUnavailable(done.stderr.decode("utf-8", "replace").strip() or f"git {' '.join(args)} failed")
    return done.stdout


def contract_at_revision(file: str | Path, rev: str, dest: Path) -> Path:
    """Write the agreement ``file`` as it was at git revision ``rev`` into ``dest``, with its template
    and benefit-code files from the same revision at the same relative places; return its path there."""
    file = Path(file).resolve()
    if not file.parent.is_dir():
        raise RevisionUnavailable(f"no such folder: {file.parent}")
    root = Path(_git(file.parent, "rev-parse", "--show-toplevel").decode().strip()).resolve()
    rel = file.relative_to(root).as_posix()
    if not rev or rev.startswith("-"):  # git would read it as an option (--output=FILE truncated a file)
        raise RevisionUnavailable(f"{rev!r} is not a revision: give a commit, a tag or a branch, e.g. HEAD~1")
    try:
        rev = _git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").decode().strip()  # from here on, a commit id
    except RevisionUnavailable:
        raise RevisionUnavailable(f"no commit {rev!r} in the git repository {root} (see 'git log --oneline -- {rel}')") from None

    def fetch(relpath: str) -> object:
        norm = posixpath.normpath(relpath)
        if norm.startswith("../") or norm == "..":
            raise RevisionUnavailable(f"{relpath} is outside the git repository {root}")
        try:
            data = _git(root, "show", f"{rev}:{norm}")
        except RevisionUnavailable as exc:
            raise RevisionUnavailable(f"cannot read {norm} at revision {rev}: {exc}") from None
        target = dest / norm
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        try:
            return yaml.safe_load(data)
        except yaml.YAMLError:
            return None  # the loader reports it properly, with its line

    def codes_of(relpath: str, data: object) -> None:
        if isinstance(data, dict) and isinstance(data.get("benefit_codes"), str):
            fetch(posixpath.join(posixpath.dirname(relpath), data["benefit_codes"]))

    # The contracts folder as it was (agreements/ and templates/ and data/ under one parent), so
    # every file the agreement names resolves as it did then; then the named files themselves,
    # in case they live elsewhere in the repository.
    folder = posixpath.dirname(posixpath.dirname(rel))
    if folder:
        _extract(_git(root, "archive", "--format=tar", rev, "--", folder), dest)
    agreement = fetch(rel)
    codes_of(rel, agreement)
    if isinstance(agreement, dict) and isinstance(agreement.get("extends"), str):
        trel = posixpath.normpath(posixpath.join(posixpath.dirname(rel), agreement["extends"]))
        codes_of(trel, fetch(trel))
    return dest / rel


def _extract(tar_bytes: bytes, dest: Path) -> None:
    import io
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        tar.extractall(dest, filter="data")  # 'data': no absolute paths, no links out of dest


# --- commands -----------------------------------------------------------------------------------


def cmd_render(args) -> int:
    from pbr_rules.lawyers import render_contract

    try:
        loaded = _load(args.contract, "the contract")
    except _Bad as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    choose_language(args, [loaded.contract.language])
    write_output(render_contract(loaded, args.format), args.output)
    return EXIT_OK


def cmd_diff(args) -> int:
    from pbr_rules.lawyers import diff_contracts, diff_text
    from pbr_rules.reports import to_json

    if (args.new is None) == (args.rev is None):
        print("give two agreement files (pbr diff OLD NEW), or one file and a git revision (pbr diff FILE --rev REV)", file=sys.stderr)
        return EXIT_USAGE
    if args.as_of is not None and not args.cohort:
        print("--as-of needs --cohort: it is the date the cohort is evaluated as of", file=sys.stderr)
        return EXIT_USAGE
    with tempfile.TemporaryDirectory(prefix="pbr-diff-") as tmp:
        try:
            if args.rev is not None:
                old_path = contract_at_revision(args.old, args.rev, Path(tmp))
                old = dataclasses.replace(_load(str(old_path), f"at {args.rev}, the agreement"), path=f"{args.old}@{args.rev}")
                new = _load(args.old, "the agreement")
            else:
                old = _load(args.old, "the old agreement")
                new = _load(args.new, "the new agreement")
        except (_Bad, RevisionUnavailable) as exc:
            print(exc, file=sys.stderr)
            return EXIT_USAGE
        choose_language(args, [new.contract.language])  # the new version's language
        d = diff_contracts(old, new)
        w = None
        if args.cohort:
            from pbr_rules.language import load_cohort
            from pbr_rules.lawyers import what_if

            try:
                histories = load_cohort(args.cohort, new.known)
                from pbr_rules.reports import Progress

                w = what_if(old, new, histories, args.as_of, on_progress=Progress("evaluating"))
            except PbrError as exc:
                print(f"the cohort {args.cohort} cannot be evaluated:\n{exc}", file=sys.stderr)
                return EXIT_USAGE
    if args.format == "json":
        data = {"diff": d.model_dump(mode="json")}
        if w is not None:
            data["what_if"] = w.model_dump(mode="json")
        text = to_json(data)
    else:
        text = diff_text(d)
        if w is not None:
            from pbr_rules.reports import what_if_text

            text += "\n" + what_if_text(w)
    write_output(text, args.output)
    return EXIT_PROBLEMS if d.affects_payments else EXIT_OK


def cmd_changelog_check(args) -> int:
    from pbr_rules.language import load_contract
    from pbr_rules.lawyers import CHANGELOG_NAME, agreement_files, check_changelog, entry_stub

    folder = Path(args.contracts)
    if not folder.is_dir():
        print(f"no such folder: {folder}", file=sys.stderr)
        return EXIT_USAGE
    problems = check_changelog(folder)
    if not problems:
        if not args.quiet:
            print(f"{CHANGELOG_NAME} records the payment terms of every agreement in {folder}.")
        return EXIT_OK
    for p in problems:
        print(p)
    missing = {p.split(":", 1)[0] for p in problems}
    stubs = []
    for f in agreement_files(folder):
        try:
            loaded = load_contract(f)
        except InputInvalid:
            continue
        if loaded.contract.id in missing:
            stubs.append(entry_stub(loaded))
    if stubs:
        print(f"\nEntries to complete and add under 'entries:' in {folder / CHANGELOG_NAME}:\n")
        print("".join(stubs), end="")
    return EXIT_PROBLEMS


def cmd_changelog_fingerprint(args) -> int:
    from pbr_rules.lawyers import payment_fingerprint

    try:
        loaded = _load(args.contract, "the contract")
    except _Bad as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    print(payment_fingerprint(loaded))
    return EXIT_OK


def add_commands(sub) -> None:
    """Register render, diff and changelog into the ``pbr`` parser."""
    r = sub.add_parser("render", help="the agreement as a readable document (Markdown or a printable HTML page)")
    r.add_argument("contract", help="the agreement file")
    r.add_argument("--format", choices=["md", "html"], default="md")
    r.add_argument("-o", "--output", help="write to this file instead of standard output")
    add_language_option(r)
    r.set_defaults(func=cmd_render)

    d = sub.add_parser(
        "diff",
        help="what changed between two versions of an agreement, in contractual terms (exit 1 when payments are affected)",
    )
    d.add_argument("old", metavar="OLD", help="the old agreement file (with --rev: the working file)")
    d.add_argument("new", metavar="NEW", nargs="?", help="the new agreement file")
    d.add_argument("--rev", help="compare FILE as it was at this git revision (e.g. HEAD, main, a tag) with the working file")
    d.add_argument("--format", choices=["text", "json"], default="text")
    d.add_argument("--cohort", help="also evaluate this cohort under both versions and report the change in payments")
    d.add_argument("--as-of", type=iso_date, help="with --cohort: evaluate as of this date (default: each history's extraction date)")
    d.add_argument("-o", "--output", help="write to this file instead of standard output")
    add_language_option(d)
    d.set_defaults(func=cmd_diff)

    c = sub.add_parser("changelog", help="change control: every change to payment terms is recorded in contracts/CHANGELOG.yaml")
    csub = c.add_subparsers(dest="changelog_command", required=True, metavar="SUBCOMMAND")
    ck = csub.add_parser("check", help="fail when an agreement's payment terms have no changelog entry")
    ck.add_argument("--contracts", default="contracts", help="the contracts folder (default: contracts/)")
    ck.add_argument("-q", "--quiet", action="store_true", help="print problems only")
    ck.set_defaults(func=cmd_changelog_check)
    fp = csub.add_parser("fingerprint", help="the fingerprint of an agreement's payment terms, to record in the changelog")
    fp.add_argument("contract", help="the agreement file")
    fp.set_defaults(func=cmd_changelog_fingerprint)
