"""Validating a posted contract as if it were a file in the service's agreements folder.

``extends`` and ``benefit_codes`` resolve from that folder (so a draft agreement can
extend the programme template), but only to files inside the contracts folder: a posted
contract must not make the service read any other file. Diagnostics name the posted text
``<request>`` and other files relative to the contracts folder, never the server's paths.
The contract is checked against the rules engine's limits; no ruleset is registered. Its
warnings (figures changed under the template's wording) are returned beside it.
"""

from __future__ import annotations

from pathlib import Path

from pbr_rules.api.bodies import check_values
from pbr_rules.errors import ContractInvalid, Diagnostic
from pbr_rules.evaluation import limit_diagnostics
from pbr_rules.language import LoadedContract, agreement_warnings, contract_from_source, files_inside, parse_yaml, read_agreement, relative_diagnostic

REQUEST_FILE = "<request>"


def check_posted_contract(text: str, contracts_root: Path, *, max_bytes: int, cohorts: Path | None = None) -> tuple[LoadedContract, tuple[Diagnostic, ...]]:
    """The posted agreement, validated exactly as 'pbr validate' would, and its warnings;
    ContractInvalid lists every problem (and the warnings, in ``warnings``)."""
    root = contracts_root.resolve()
    base = root / "agreements" if (root / "agreements").is_dir() else root
    virtual = str(base / REQUEST_FILE)
    warnings: tuple[Diagnostic, ...] = ()
    try:
        source = parse_yaml(text, file=virtual, max_bytes=max_bytes)
        check_values(source, ContractInvalid)  # no CPR number, no 16-digit number, anywhere in the text
        files_inside(source, base, root, *([cohorts] if cohorts is not None else []))
        if isinstance(source.data, dict) and source.data.get("kind") == "agreement":
            found = agreement_warnings(source, *read_agreement(source, base_dir=base))
            warnings = tuple(_public(w, virtual, root) for w in found)
        loaded = contract_from_source(source, base_dir=base)
        problems = limit_diagnostics(loaded)
        if problems:
            raise ContractInvalid(problems)
    except ContractInvalid as exc:
        raise ContractInvalid([_public(d, virtual, root) for d in exc.diagnostics], warnings=warnings) from None
    return loaded, warnings


def _public(d: Diagnostic, virtual: str, root: Path) -> Diagnostic:
    """The posted text named ``<request>``, other files relative to the contracts folder."""
    d = Diagnostic(file=REQUEST_FILE if d.file == virtual else d.file, line=d.line, col=d.col, path=d.path,
                   message=d.message.replace(virtual, REQUEST_FILE), hint=d.hint.replace(virtual, REQUEST_FILE), severity=d.severity)
    return relative_diagnostic(d, [(root, "")])
