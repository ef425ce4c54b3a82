"""The contract language: YAML with positions, strict loading, validation, cross-checks, JSON Schemas.

Everything that reads a file the users write (agreements, templates, histories, cohorts,
vocabularies) and turns it into frozen models, or into every problem at once as
``file:line:col: path: message (hint)``.
"""

from pbr_rules.language.loader import (
    FILE_KINDS,
    VOCABULARY_FILE,
    History,
    LoadedContract,
    agreement_warnings,
    canonical_json,
    cohort_problems,
    contract_from_source,
    file_kind,
    files_inside,
    history_from_data,
    load_benefit_codes,
    load_vocabulary,
    load_cohort,
    load_cohorts,
    load_contract,
    load_history,
    load_template,
    read_agreement,
    relative_diagnostic,
    require_kind,
)
from pbr_rules.language.checks import suggest
from pbr_rules.language.drafting import DEFAULT_CURRENCY
from pbr_rules.language.formula import MEASURED, Formula, FormulaError, formula_names, parse_formula, unit_name
from pbr_rules.language.schema import SCHEMA_DIR, stale_schemas, write_schemas
from pbr_rules.language.validation import diagnostics_from, validate_model
from pbr_rules.language.yaml_source import MAX_INT_CHARS, Source, find_yaml, format_path, load_yaml_file, parse_yaml

__all__ = [
    "MAX_INT_CHARS",
    "agreement_warnings",
    "canonical_json",
    "cohort_problems",
    "contract_from_source",
    "DEFAULT_CURRENCY",
    "diagnostics_from",
    "file_kind",
    "files_inside",
    "FILE_KINDS",
    "find_yaml",
    "Formula",
    "FormulaError",
    "formula_names",
    "MEASURED",
    "parse_formula",
    "unit_name",
    "format_path",
    "History",
    "history_from_data",
    "load_benefit_codes",
    "load_cohort",
    "load_cohorts",
    "load_contract",
    "load_history",
    "load_template",
    "load_vocabulary",
    "load_yaml_file",
    "LoadedContract",
    "parse_yaml",
    "read_agreement",
    "relative_diagnostic",
    "require_kind",
    "SCHEMA_DIR",
    "Source",
    "stale_schemas",
    "suggest",
    "validate_model",
    "VOCABULARY_FILE",
    "write_schemas",
]
