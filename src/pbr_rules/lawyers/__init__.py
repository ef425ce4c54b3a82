"""The lawyers' tools: the agreement rendered as a document, semantic diffs of amendments,
what an amendment does to a cohort, and the payment-term changelog.
"""

from pbr_rules.lawyers.changelog import (
    CHANGELOG_NAME,
    agreement_files,
    check_changelog,
    entry_stub,
    load_changelog,
    payment_fingerprint,
)
from pbr_rules.lawyers.diff import diff_contracts, diff_text
from pbr_rules.lawyers.render import render_contract
from pbr_rules.lawyers.whatif import compare, what_if

__all__ = ["compare", "CHANGELOG_NAME", "agreement_files", "check_changelog", "diff_contracts", "diff_text", "entry_stub", "load_changelog", "payment_fingerprint", "render_contract", "what_if"]
