"""Importing municipal data: register extracts to histories (``pbr import``, docs/import.md)."""

from pbr_rules.importers.registers import (
    ImportResult,
    MappingInvalid,
    RowProblem,
    cpr_birth_date,
    import_histories,
    load_mapping,
    load_or_create_key,
    pseudonym,
)

__all__ = [
    "ImportResult",
    "MappingInvalid",
    "RowProblem",
    "cpr_birth_date",
    "import_histories",
    "load_mapping",
    "load_or_create_key",
    "pseudonym",
]
