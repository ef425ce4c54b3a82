"""Change control: every change to the payment terms of an agreement is recorded in the changelog.

Owns the payment fingerprint of an agreement and the check that ``contracts/CHANGELOG.yaml``
has an entry for each agreement's current fingerprint. The fingerprint is the sha256 of
the canonical JSON of the payment-relevant terms only: the term, municipality code and
currency, eligibility, each milestone's side, measure, prerequisites, repeat and dated
amendments, the tariffs (values, effective dates, tiers, payer split, payee), the payment
terms (payers, payees, claim lag) and the caps, plus the benefit-code vocabulary's
meaning (public support, wage subsidy), and the jurisdiction when named (its calendar moves
due dates); with a formula tariff, also what measures the savings it may pay from (the
counterfactual and its agreed comparison group, the savings weeks, the benefit-rate file's hash). Descriptions, documentation, titles, party names and clause references are
left out: rewording the agreement needs no changelog entry, changing what it pays does.

The changelog (``kind: changelog``) lists entries; each names the contract, its version,
the date the change takes effect, the clause, what changes for payments (prose) and the
fingerprint of the terms it records (``pbr changelog fingerprint CONTRACT`` prints it).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from pbr_rules.errors import ContractInvalid, InputInvalid
from pbr_rules.evaluation import rates_path
from pbr_rules.language import (
    LoadedContract,
    canonical_json,
    file_kind,
    load_contract,
    load_yaml_file,
    require_kind,
    validate_model,
)
from pbr_rules.models.common import Identifier, ISODate, Reference, Strict

CHANGELOG_NAME = "CHANGELOG.yaml"
_WORDING_KEYS = frozenset({"description", "documentation", "reference"})
_UNORDERED_LISTS = frozenset({"target_groups", "size_bands", "job_kinds", "prerequisites", "codes"})


class ChangelogEntry(Strict):
    """One recorded change of an agreement's payment terms."""

    contract: Identifier = Field(description="The agreement's id, e.g. 'dk-101-koebenhavn'.")
    version: str = Field(min_length=1, description="The agreement's version with these terms.")
    effective_from: ISODate = Field(description="The first day the recorded terms apply.")
    clause: Reference = Field(description="The clause (or amendment) that sets these terms.")
    changes: str = Field(min_length=1, description="What changes for payments, in prose.")
    fingerprint: str = Field(pattern=r"^[0-9a-f]{64}$", description="pbr changelog fingerprint of the agreement with these terms.")


class Changelog(Strict):
    """contracts/CHANGELOG.yaml: the record of every change to payment terms."""

    kind: Literal["changelog"]
    description: str | None = None
    documentation: str | None = None
    entries: list[ChangelogEntry] = Field(default_factory=list)


def payment_terms(loaded: LoadedContract) -> dict[str, Any]:
    """The payment-relevant terms of an agreement, as plain JSON data (see the module docstring)."""
    c = loaded.contract.model_dump(mode="json")
    terms = {
        "municipality": c["municipality"]["code"],
        "currency": c["currency"],
        "term": c["term"],
        "eligibility": c["eligibility"],
        "milestones": c["milestones"],
        "tariffs": c["tariffs"],
        "payment": c["payment"],
        "caps": c["caps"],
        "benefit_codes": {
            code: {k: v for k, v in entry.items() if k not in ("name", "name_en", "documentation", "reference")}
            for code, entry in loaded.codes.model_dump(mode="json")["codes"].items()
        },
    }
    if "jurisdiction" in c:  # its calendar decides due dates; left out when unset, so Danish fingerprints stay
        terms["jurisdiction"] = c["jurisdiction"]
    if any(t.formula is not None for t in loaded.contract.tariffs.values()) and c.get("business_case"):
        # A formula tariff may pay from the measured savings: then what measures them moves money
        # too (the counterfactual with its agreed comparison group, the weeks counted, and the
        # benefit rates, by the hash of their file). Agreements without formulas keep their prints.
        bc = c["business_case"]
        terms["savings"] = {k: bc[k] for k in ("counterfactual", "savings_weeks", "weeks_on_benefit_before_history") if k in bc}
        terms["savings"]["benefit_rates_sha256"] = hashlib.sha256(rates_path(loaded).read_bytes()).hexdigest()
    return _strip(terms)


def _strip(data: Any, key: str | None = None) -> Any:
    """Drop wording (descriptions, documentation, clause references); sort lists whose order means nothing."""
    if isinstance(data, dict):
        return {k: _strip(v, k) for k, v in data.items() if k not in _WORDING_KEYS}
    if isinstance(data, list):
        items = [_strip(v) for v in data]
        return sorted(items) if key in _UNORDERED_LISTS and all(isinstance(i, str) for i in items) else items
    return data


def payment_fingerprint(loaded: LoadedContract) -> str:
    """sha256 of the canonical JSON of the agreement's payment-relevant terms only."""
    return hashlib.sha256(canonical_json(payment_terms(loaded)).encode()).hexdigest()


def load_changelog(path: str | Path) -> Changelog:
    """The changelog file, validated; every problem reported at its line."""
    source = load_yaml_file(Path(path))
    require_kind(source, ("changelog",))
    return validate_model(Changelog, source, ContractInvalid)


def agreement_files(contracts_dir: str | Path) -> list[Path]:
    out = []
    for f in sorted(Path(contracts_dir).rglob("*")):
        if f.suffix in (".yaml", ".yml") and f.is_file() and f.name != CHANGELOG_NAME:
            try:
                if file_kind(load_yaml_file(f)) == "agreement":
                    out.append(f)
            except InputInvalid:
                out.append(f)  # unreadable: check_changelog reports it rather than skip it
    return out


def check_changelog(contracts_dir: str | Path) -> list[str]:
    """Every agreement's current payment fingerprint must appear in a changelog entry for its id.

    Returns the problems, one sentence each; an empty list means the changelog is complete.
    """
    folder = Path(contracts_dir)
    shown = _shown(folder / CHANGELOG_NAME)
    problems: list[str] = []
    try:
        log = load_changelog(folder / CHANGELOG_NAME)
    except InputInvalid as exc:
        if not (folder / CHANGELOG_NAME).exists():
            return [f"{shown} is missing; add it (kind: changelog) with an entry for each agreement"]
        return [str(d) for d in exc.diagnostics]
    recorded: dict[str, set[str]] = {}
    for e in log.entries:
        recorded.setdefault(e.contract, set()).add(e.fingerprint)
    for f in agreement_files(folder):
        try:
            loaded = load_contract(f)
        except InputInvalid as exc:
            problems.append(f"{f}: cannot check the changelog for an invalid agreement; run 'pbr validate' ({len(exc.diagnostics)} problem(s))")
            continue
        cid = loaded.contract.id
        fp = payment_fingerprint(loaded)
        if fp not in recorded.get(cid, set()):
            problems.append(f"{cid}: payment terms changed (fingerprint {fp[:12]}) but {shown} has no entry for them; add one")
    return problems


def entry_stub(loaded: LoadedContract) -> str:
    """A changelog entry to fill in, for the agreement's current terms."""
    c = loaded.contract
    return (
        f"  - contract: {c.id}\n"
        f"    version: \"{c.version}\"\n"
        f"    effective_from: \"YYYY-MM-DD\"\n"
        f"    clause: \"(the clause or amendment, e.g. Tillæg 3, § 1)\"\n"
        f"    changes: (what changes for payments, in a sentence or two)\n"
        f"    fingerprint: {payment_fingerprint(loaded)}\n"
    )


def _shown(path: Path) -> str:
    """The changelog's path as people know it: relative to the working folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
