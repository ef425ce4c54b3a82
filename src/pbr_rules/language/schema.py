"""JSON Schemas generated from the models, committed under contracts/schema/.

Owns the editor schemas: the contract schema accepts a full agreement, a template, and an
agreement that extends a template (every key optional, since the template supplies the
rest), so VS Code's YAML extension completes keys and underlines mistakes in all three.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from pbr_rules.models.contract import Contract
from pbr_rules.models.history import CompanyHistory, ParticipantHistory
from pbr_rules.models.results import EvaluationResult
from pbr_rules.models.vocabulary import BenefitCodes, Vocabulary

SCHEMA_DIR = Path("contracts/schema")
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _strip_required(node):
    if isinstance(node, dict):
        node.pop("required", None)
        for v in node.values():
            _strip_required(v)
    elif isinstance(node, list):
        for v in node:
            _strip_required(v)


def contract_schema() -> dict:
    full = Contract.model_json_schema()
    partial = copy.deepcopy(full)
    _strip_required(partial)
    defs = full.pop("$defs", {})
    partial_defs = partial.pop("$defs", {})
    # Partial definitions live beside the full ones under their own names.
    rename = {name: f"Partial{name}" for name in partial_defs}
    text = json.dumps(partial)
    defs_text = json.dumps(partial_defs)
    for name, new in rename.items():
        text = text.replace(f'"#/$defs/{name}"', f'"#/$defs/{new}"')
        defs_text = defs_text.replace(f'"#/$defs/{name}"', f'"#/$defs/{new}"')
    partial = json.loads(text)
    partial_defs = {rename[k]: v for k, v in json.loads(defs_text).items()}
    partial["properties"]["kind"] = {"enum": ["agreement", "template"], "type": "string"}
    partial["properties"]["extends"] = {
        "type": "string",
        "description": "Relative path of the programme template this agreement extends.",
    }
    partial["title"] = "Template, or agreement extending a template"
    full["title"] = "Agreement"
    return {
        "$schema": DIALECT,
        "title": "pbr-rules contract",
        "description": "A municipal Payment-by-Results agreement, a programme template, or an agreement extending one.",
        "if": {"properties": {"kind": {"const": "agreement"}}, "not": {"required": ["extends"]}},
        "then": {"$ref": "#/$defs/Agreement"},
        "else": {"$ref": "#/$defs/PartialAgreement"},
        "$defs": {**defs, **partial_defs, "Agreement": full, "PartialAgreement": partial},
    }


def _plain(model) -> dict:
    return {"$schema": DIALECT, **model.model_json_schema()}


def all_schemas() -> dict[str, dict]:
    # imported here, not at the top: evaluating (every command's start-up, every worker) needs
    # none of these models, and building them is a tenth of a second
    from pbr_rules.models.importing import ImportMapping
    from pbr_rules.models.rates import BenefitRates
    from pbr_rules.models.scenario import ScenarioFile
    from pbr_rules.models.simulation import Scenario

    return {
        "contract.schema.json": contract_schema(),
        "benefit-codes.schema.json": _plain(BenefitCodes),
        "vocabulary.schema.json": _plain(Vocabulary),
        "benefit-rates.schema.json": _plain(BenefitRates),
        "simulation.schema.json": _plain(Scenario),
        "scenarios.schema.json": _plain(ScenarioFile),
        "participant-history.schema.json": _plain(ParticipantHistory),
        "company-history.schema.json": _plain(CompanyHistory),
        "result.schema.json": _plain(EvaluationResult),
        "import-mapping.schema.json": _plain(ImportMapping),
    }


def render(schema: dict) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_schemas(folder: Path = SCHEMA_DIR) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, schema in all_schemas().items():
        p = folder / name
        p.write_text(render(schema), encoding="utf-8")
        out.append(p)
    return out


def stale_schemas(folder: Path = SCHEMA_DIR) -> list[str]:
    """Names of committed schemas that differ from the models (or are missing)."""
    stale = []
    for name, schema in all_schemas().items():
        p = folder / name
        if not p.exists() or p.read_text(encoding="utf-8") != render(schema):
            stale.append(name)
    return stale
