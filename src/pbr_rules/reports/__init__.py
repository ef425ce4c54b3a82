"""Formatting for people and files: text tables, CSV, JSON and the self-contained HTML report.
"""

from pbr_rules.reports.html import write_report
from pbr_rules.reports.text import (
    Progress,
    business_case_csv,
    business_case_text,
    payments_csv,
    rates_check_text,
    result_text,
    settlement_csv,
    settlement_text,
    to_json,
    what_if_text,
)

__all__ = ["Progress", "business_case_csv", "business_case_text", "payments_csv", "rates_check_text", "result_text", "settlement_csv", "settlement_text", "to_json", "what_if_text", "write_report"]
