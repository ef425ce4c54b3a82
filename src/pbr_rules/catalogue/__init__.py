"""Every file of a contracts folder, validated by its ``kind``: what ``pbr validate`` reports.

Each kind is checked by the layer that owns it (agreements against the engine's limits,
benefit rates and simulation scenarios by finance, the changelog by the lawyers' tools),
which is why this sits above them all.

One run reports every independent problem of every file it was given:

- each file on its own (its errors, and for an agreement its warnings);
- then the checks across the files of the run, which read the agreements' YAML, so that
  they run even when a file has other problems: two agreements with one id, and agreements
  of one programme in different currencies;
- a problem is listed once, under the file it is found in (a broken agreement is not
  listed again under its scenarios, the simulation or every agreement of a broken
  template); a file that cannot be checked because a file it uses has problems says so in
  one line, at the place it names that file.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pbr_rules.errors import Diagnostic, InputInvalid
from pbr_rules.evaluation import load_checked_contract, load_scenarios
from pbr_rules.finance import load_benefit_rates, load_scenario
from pbr_rules.i18n import _
from pbr_rules.language import (
    DEFAULT_CURRENCY,
    FILE_KINDS,
    LoadedContract,
    Source,
    agreement_warnings,
    find_yaml,
    format_path,
    load_benefit_codes,
    load_vocabulary,
    load_template,
    load_yaml_file,
    read_agreement,
    require_kind,
)
from pbr_rules.lawyers import load_changelog

__all__ = ["FileReport", "validate_file", "validate_paths"]


@dataclass
class FileReport:
    path: str
    kind: str | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    summary: str = ""
    contract: LoadedContract | None = None
    warnings: list[Diagnostic] = field(default_factory=list)
    # An agreement's YAML laid over its template's, unvalidated: what the checks across files read.
    merged: Source | None = field(default=None, repr=False)
    template: Source | None = field(default=None, repr=False)
    source: Source | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return not self.diagnostics


def validate_file(path: Path) -> FileReport:
    report = FileReport(path=str(path), kind=None)
    try:
        source = load_yaml_file(path)
        report.source = source
        report.kind = require_kind(source, FILE_KINDS)
        if report.kind == "agreement":
            report.merged, report.template = read_agreement(source, base_dir=path.parent)
            report.warnings = agreement_warnings(source, report.merged, report.template)
            loaded = load_checked_contract(path)
            c = loaded.contract
            report.contract = loaded
            report.summary = _(
                "{id} v{version}: {municipality} ({code}), term {start}..{end}, {milestones} milestones, {tariffs} tariffs, content {content}"
            ).format(
                id=c.id, version=c.version, municipality=c.municipality.name, code=c.municipality.code, start=c.term.start,
                end=c.term.end, milestones=len(c.milestones), tariffs=len(c.tariffs), content=loaded.content_hash[:12],
            ) + (_(" [illustrative]") if c.illustrative else "")
        elif report.kind == "template":
            load_template(path)
            report.summary = _("template (checked in full through the agreements that extend it)")
        elif report.kind == "benefit_codes":
            codes = load_benefit_codes(path)
            report.summary = _("{n} benefit codes").format(n=len(codes.codes))
        elif report.kind == "vocabulary":
            words = load_vocabulary(path)
            report.summary = _("vocabulary of {jurisdiction}: {groups} target groups, {areas} area codes").format(
                jurisdiction=words.jurisdiction.code, groups=len(words.target_groups), areas=len(words.areas.codes)
            )
        elif report.kind == "benefit_rates":
            rates = load_benefit_rates(path)
            report.summary = _("benefit rates for {n} codes").format(n=len(rates.rates))
        elif report.kind == "simulation":
            scenario = load_scenario(path)
            report.summary = _("simulation scenario for {n} municipalities").format(n=len(scenario.plans))
        elif report.kind == "changelog":
            log = load_changelog(path)
            report.summary = _("{n} changelog entries (checked against the agreements by 'pbr changelog check')").format(n=len(log.entries))
        else:
            ls = load_scenarios(path)
            report.summary = _("{n} scenarios for {contract}").format(n=len(ls.scenarios.scenarios), contract=ls.scenarios.contract)
    except InputInvalid as exc:
        report.diagnostics = list(exc.diagnostics)
    return report


def validate_paths(paths: list[str | Path]) -> list[FileReport]:
    """Every file under ``paths`` checked on its own, then across files; each problem reported once."""
    files = find_yaml(paths)
    reports = []
    for f in files:
        if not f.exists():
            reports.append(FileReport(path=str(f), kind=None, diagnostics=[Diagnostic(file=str(f), message="no such file or folder")]))
            continue
        reports.append(validate_file(f))
    agreements = [r for r in reports if r.merged is not None]
    for r, problem in duplicate_ids(agreements) + mixed_currencies(agreements):
        r.diagnostics.append(problem)
    _report_each_problem_once(reports)
    return reports


# --- checks across files ------------------------------------------------------------------


def _at(source: Source, path: tuple, message: str, hint: str) -> Diagnostic:
    file, line, col = source.where(path)
    return Diagnostic(file=file, line=line, col=col, path=format_path(path), message=message, hint=hint)


def _line(r: FileReport, path: tuple) -> str:
    _file, line, _col = r.merged.where(path)
    return f"{r.path}:{line}" if line else r.path


def duplicate_ids(agreements: list[FileReport]) -> list[tuple[FileReport, Diagnostic]]:
    """Two agreements with one id: payments, the ledger and the API name an agreement by its id."""
    by_id: dict[str, list[FileReport]] = defaultdict(list)
    for r in agreements:
        cid = r.merged.data.get("id")
        if isinstance(cid, str):
            by_id[cid].append(r)
    out = []
    for cid, same in by_id.items():
        for r in same if len(same) > 1 else ():
            others = ", ".join(_line(o, ("id",)) for o in same if o is not r)
            out.append((
                r,
                _at(
                    r.merged, ("id",), f"contract id '{cid}' is also the id of {others}",
                    "each agreement needs its own id, dk-<municipality code>-<name>; an amendment changes the agreement's own file and raises its version",
                ),
            ))
    return out


def _currency(r: FileReport) -> Any:
    """The currency an agreement's amounts are in: its template's when it has one (an agreement
    that writes another is refused on its own), else its own, else the default."""
    data = r.template.data if r.template is not None else r.merged.data
    return data.get("currency", DEFAULT_CURRENCY)


def mixed_currencies(agreements: list[FileReport]) -> list[tuple[FileReport, Diagnostic]]:
    """The agreements of one programme (``programme:``, usually from their template) must use one currency.

    A programme's settlements, caps and business case add the agreements' amounts together.
    The programme's currency is the one most of its agreements use (on a tie, the first
    file's); each agreement in another currency is an error at the line that sets it.
    """
    groups: dict[str, list[tuple[FileReport, str]]] = defaultdict(list)
    for r in agreements:
        programme, currency = r.merged.data.get("programme"), _currency(r)
        if isinstance(programme, str) and isinstance(currency, str):
            groups[programme].append((r, currency.strip().upper()))
    out = []
    for programme, members in groups.items():
        counts = Counter(c for _r, c in members)
        if len(counts) < 2:
            continue
        first = {}
        for i, (_r, c) in enumerate(members):
            first.setdefault(c, i)
        main = max(counts, key=lambda c: (counts[c], -first[c]))
        using = ", ".join(r.path for r, c in members if c == main)
        for r, currency in members:
            if currency == main:
                continue
            where = ("currency",) if r.merged.where(("currency",))[1] else ("programme",)
            out.append((
                r,
                _at(
                    r.merged, where,
                    f"currency {currency} differs from the currency of the other agreements of programme '{programme}', {main} ({using})",
                    f"a programme's payments, caps and business case are added up in one currency: use {main}, or name another programme",
                ),
            ))
    return out


# --- each problem once ----------------------------------------------------------------------


def _resolved(file: str) -> str:
    try:
        return str(Path(file).resolve()) if file and not file.startswith("<") else file
    except OSError:  # pragma: no cover - an unreadable path is compared as written
        return file


def _report_each_problem_once(reports: list[FileReport]) -> None:
    """A problem found through several files (a broken agreement through its scenarios, a
    template through each agreement) is listed once: under the file it is in when that file
    is in the run, else under the first agreement (else file) that found it. Every other file
    that found it gets one line instead, naming the file to fix first."""
    by_path = {_resolved(r.path): r for r in reports}

    def key(d: Diagnostic):
        return (_resolved(d.file), d.line, d.col, d.path, d.message)

    # Spell each file as the run named it (a dependency's problems may carry an absolute path).
    for r in reports:
        r.diagnostics = [_as_named(d, by_path) for d in r.diagnostics]
    finders: dict[tuple, list[FileReport]] = defaultdict(list)
    for r in reports:
        for d in r.diagnostics:
            finders[key(d)].append(r)

    def home(d: Diagnostic) -> FileReport:
        found_by = finders[key(d)]
        return by_path.get(_resolved(d.file)) or next((r for r in found_by if r.kind == "agreement"), found_by[0])

    listed: dict[int, list[Diagnostic]] = {id(r): [] for r in reports}
    blocked_by: dict[int, list[str]] = {id(r): [] for r in reports}
    for r in reports:
        for d in r.diagnostics:
            at = home(d)
            if d not in listed[id(at)]:
                listed[id(at)].append(d)
            if at is not r and d.file not in blocked_by[id(r)]:
                blocked_by[id(r)].append(d.file)
    for r in reports:
        found = listed[id(r)] + [_depends_on(r, f, by_path) for f in blocked_by[id(r)]]
        r.diagnostics = sorted(found, key=lambda d: (d.file, d.line, d.col, d.path, d.message))


def _as_named(d: Diagnostic, by_path: dict[str, FileReport]) -> Diagnostic:
    r = by_path.get(_resolved(d.file))
    if r is None or r.path == d.file:
        return d
    return Diagnostic(file=r.path, line=d.line, col=d.col, path=d.path, message=d.message, hint=d.hint, severity=d.severity)


def _depends_on(r: FileReport, file: str, by_path: dict[str, FileReport]) -> Diagnostic:
    """One line for a file that cannot be checked in full while a file it uses has problems:
    at the place it names that file (or names the file through which it uses it)."""
    target = _resolved(file)
    named = [(p, _resolved(str(Path(r.path).parent / value))) for p, value in _strings(r.source.data)] if r.source is not None else []
    path = next((p for p, f in named if f == target), None)
    if path is None:
        path = next((p for p, f in named if f in by_path), ())
    where = r.source.where(path) if r.source is not None and path else (r.path, 0, 0)
    return Diagnostic(
        file=r.path, line=where[1], col=where[2], path=format_path(path),
        message=f"uses {file}, which has problems (listed under it)",
        hint="this file is checked in full once they are fixed",
    )


def _strings(data: Any, path: tuple = ()):
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _strings(v, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _strings(v, (*path, i))
    elif isinstance(data, str) and data.endswith((".yaml", ".yml")):
        yield path, data
