"""The contracts folder: every file by its kind, validated; agreements by id and content hash.

Owns walking ``contracts/`` (or any paths), validating each file by its ``kind``, and
holding the loaded agreements the API serves. An agreement is also checked against the
rules engine's limits, so a contract that would hang or crash the engine is refused here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pbr_rules.evaluation.engine import check_limits, compile_contract
from pbr_rules.errors import ContractInvalid, Diagnostic, InputInvalid
from pbr_rules.language.loader import FILE_KINDS, LoadedContract, load_benefit_codes, load_contract, load_template, require_kind
from pbr_rules.language.yaml_source import format_path, load_yaml_file

YAML_SUFFIXES = (".yaml", ".yml")


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


def find_yaml(paths: list[str | Path]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(x for x in p.rglob("*") if x.suffix in YAML_SUFFIXES and x.is_file()))
        else:
            out.append(p)
    return out


def load_checked_contract(path: str | Path) -> LoadedContract:
    """Load an agreement and refuse it if it would exceed the rules engine's limits."""
    loaded = load_contract(path)
    problems = check_limits(loaded)
    if problems:
        diags = []
        for p, msg, hint in problems:
            file, line, col = loaded.source.where(p) if loaded.source else (loaded.path, 0, 0)
            diags.append(Diagnostic(file=file, line=line, col=col, path=format_path(p), message=msg, hint=hint))
        raise ContractInvalid(diags)
    return loaded


def validate_file(path: Path) -> FileReport:
    from pbr_rules.evaluation.scenarios import load_scenarios  # use-case layer; imported late to keep this module light

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
            from pbr_rules.finance.savings import load_benefit_rates

            rates = load_benefit_rates(path)
            report.summary = f"benefit rates for {len(rates.rates)} codes"
        elif report.kind == "simulation":
            from pbr_rules.finance.simulation import load_scenario

            scenario = load_scenario(path)
            report.summary = f"simulation scenario for {len(scenario.plans)} municipalities"
        elif report.kind == "changelog":
            from pbr_rules.lawyers.changelog import load_changelog

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


class Registry:
    """The agreements of a contracts folder, loaded and compiled once (at service start-up)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.by_id: dict[str, LoadedContract] = {}
        problems: list[Diagnostic] = []
        for f in find_yaml([self.folder]):
            try:
                if require_kind(load_yaml_file(f), FILE_KINDS) != "agreement":
                    continue
                loaded = load_checked_contract(f)
            except InputInvalid as exc:
                problems.extend(exc.diagnostics)
                continue
            if loaded.contract.id in self.by_id:
                problems.append(Diagnostic(file=str(f), message=f"contract id '{loaded.contract.id}' is also used by {self.by_id[loaded.contract.id].path}"))
                continue
            compile_contract(loaded)
            self.by_id[loaded.contract.id] = loaded
        if problems:
            raise ContractInvalid(problems)

    def get(self, contract_id: str) -> LoadedContract | None:
        return self.by_id.get(contract_id)
