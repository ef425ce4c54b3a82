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
from pbr_rules.finance import load_benefit_rates, load_scenario
from pbr_rules.language import (
    FILE_KINDS,
    LoadedContract,
    find_yaml,
    load_benefit_codes,
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
            report.summary = (
                f"{c.id} v{c.version}: {c.municipality.name} ({c.municipality.code}), term {c.term.start}..{c.term.end}, "
                f"{len(c.milestones)} milestones, {len(c.tariffs)} tariffs, content {loaded.content_hash[:12]}"
                + (" [illustrative]" if c.illustrative else "")
            )
        elif report.kind == "template":
            load_template(path)
            report.summary = "template (checked in full through the agreements that extend it)"
        elif report.kind == "benefit_codes":
            codes = load_benefit_codes(path)
            report.summary = f"{len(codes.codes)} benefit codes"
        elif report.kind == "benefit_rates":
            rates = load_benefit_rates(path)
            report.summary = f"benefit rates for {len(rates.rates)} codes"
        elif report.kind == "simulation":
            scenario = load_scenario(path)
            report.summary = f"simulation scenario for {len(scenario.plans)} municipalities"
        elif report.kind == "changelog":
            log = load_changelog(path)
            report.summary = f"{len(log.entries)} changelog entries (checked against the agreements by 'pbr changelog check')"
        else:
            ls = load_scenarios(path)
            report.summary = f"{len(ls.scenarios.scenarios)} scenarios for {ls.scenarios.contract}"
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
