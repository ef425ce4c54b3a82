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
    canonical_json,
    cohort_problems,
    contract_from_source,
    file_kind,
    history_from_data,
    load_benefit_codes,
    load_vocabulary,
    load_cohort,
    load_cohorts,
    load_contract,
    load_history,
    load_template,
    require_kind,
)
from pbr_rules.language.schema import SCHEMA_DIR, stale_schemas, write_schemas
from pbr_rules.language.validation import diagnostics_from, validate_model
from pbr_rules.language.yaml_source import Source, find_yaml, format_path, load_yaml_file, parse_yaml

__all__ = ["FILE_KINDS", "VOCABULARY_FILE", "History", "LoadedContract", "SCHEMA_DIR", "Source", "canonical_json", "cohort_problems", "contract_from_source", "diagnostics_from", "file_kind", "find_yaml", "format_path", "history_from_data", "load_benefit_codes", "load_vocabulary", "load_cohort", "load_cohorts", "load_contract", "load_history", "load_template", "load_yaml_file", "parse_yaml", "require_kind", "stale_schemas", "validate_model", "write_schemas"]
