"""Formatting for people and files: text tables, CSV, JSON, the ledger's exports and the self-contained HTML report."""

from pbr_rules.reports.cohort import CohortDigest, CohortReport, cohort_digest, cohort_text
from pbr_rules.reports.exports import CSV_DIALECTS, export_csv, export_json, export_xlsx
from pbr_rules.reports.ledger import (
    claim_text,
    claims_text,
    run_text,
    runs_text,
    verify_text,
)
from pbr_rules.reports.text import (
    Progress,
    business_case_csv,
    BUSINESS_CASE_FORMATS,
    business_case_tables,
    business_case_text,
    payments_csv,
    rates_check_text,
    result_text,
    settlement_csv,
    settlement_tables,
    settlement_text,
    table,
    to_json,
    what_if_text,
)

__all__ = [
    "CohortDigest",
    "CohortReport",
    "cohort_digest",
    "BUSINESS_CASE_FORMATS",
    "business_case_tables",
    "settlement_tables",
    "CSV_DIALECTS",
    "Progress",
    "business_case_csv",
    "business_case_text",
    "claim_text",
    "cohort_text",
    "claims_text",
    "export_csv",
    "export_json",
    "export_xlsx",
    "payments_csv",
    "rates_check_text",
    "result_text",
    "run_text",
    "runs_text",
    "settlement_csv",
    "settlement_text",
    "table",
    "to_json",
    "verify_text",
    "what_if_text",
    "render_report",
    "simulation_section",
    "write_report",
]

# Imported when first asked for (PEP 562): the HTML report (Jinja2 and the business case's
# models) costs about 13 ms of start-up that evaluating and settling never use.
_LATER = dict.fromkeys(("render_report", "simulation_section", "write_report"), "pbr_rules.reports.html")


def __getattr__(name: str):
    from pbr_rules.lazy import lazy_attribute

    return lazy_attribute(globals(), _LATER, name)
