"""Settlement of a cohort: cohort size, volume tiers, caps in a documented order, the
payment schedule by period, payer and payee, and claw-backs against an earlier settlement;
``settle_stream`` the same for a cohort read as a stream (compact payments sorted on disk).
"""

from pbr_rules.settlement.settler import admitted_subjects, settle, settle_results, settled_payers
from pbr_rules.settlement.streamed import settle_stream, settlement_digest

__all__ = ["admitted_subjects", "settle", "settle_results", "settle_stream", "settled_payers", "settlement_digest"]
