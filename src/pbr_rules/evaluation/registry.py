"""Agreements loaded and compiled for evaluation: by file, and a folder's by id and content hash.

An agreement is checked against the rules engine's limits when it loads, so a contract
that would hang or crash the engine is refused here, with the line of the offending value.
"""

from __future__ import annotations

from pathlib import Path

from pbr_rules.errors import ContractInvalid, Diagnostic, InputInvalid
from pbr_rules.evaluation.engine import check_limits, compile_contract
from pbr_rules.language import FILE_KINDS, LoadedContract, find_yaml, format_path, load_contract, load_yaml_file, require_kind


def limit_diagnostics(loaded: LoadedContract) -> list[Diagnostic]:
    """The rules engine's limits this agreement would exceed, each at the line of the value at fault."""
    diags = []
    for p, msg, hint in check_limits(loaded):
        file, line, col = loaded.source.where(p) if loaded.source else (loaded.path, 0, 0)
        diags.append(Diagnostic(file=file, line=line, col=col, path=format_path(p), message=msg, hint=hint))
    return diags


def load_checked_contract(path: str | Path) -> LoadedContract:
    """Load an agreement and refuse it if it would exceed the rules engine's limits."""
    loaded = load_contract(path)
    problems = limit_diagnostics(loaded)
    if problems:
        raise ContractInvalid(problems)
    return loaded


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
