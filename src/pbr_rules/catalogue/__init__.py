"""Every file of a contracts folder, validated by its ``kind``: what ``pbr validate`` reports.

Each kind is checked by the layer that owns it (agreements against the engine's limits,
benefit rates and simulation scenarios by finance, the changelog by the lawyers' tools),
which is why this sits above them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pbr_rules.errors import Diagnostic, InputInvalid
from pbr_rules.evaluation import load_checked_contract, load_scenarios
from pbr_rules.i18n import _
from pbr_rules.finance import load_benefit_rates, load_scenario
from pbr_rules.language import (
    FILE_KINDS,
    LoadedContract,
    find_yaml,
    load_benefit_codes,
    load_vocabulary,
    load_template,
    load_yaml_file,
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

    @property
    def ok(self) -> bool:
        return not self.diagnostics



def validate_file(path: Path) -> FileReport:
    report = FileReport(path=str(path), kind=None)
    try:
        source = load_yaml_file(path)
        report.kind = require_kind(source, FILE_KINDS)
        if report.kind == "agreement":
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
    files = find_yaml(paths)
    reports = []
    for f in files:
        if not f.exists():
            reports.append(FileReport(path=str(f), kind=None, diagnostics=[Diagnostic(file=str(f), message="no such file or folder")]))
            continue
        reports.append(validate_file(f))
    return reports
