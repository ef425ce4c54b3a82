"""Settlement of a cohort: cohort size, volume tiers, caps in a documented order, the
payment schedule by period, payer and payee, and claw-backs against an earlier settlement.
"""

from pbr_rules.settlement.settler import admitted_subjects, settle, settle_results, settled_payers

__all__ = ["admitted_subjects", "settle", "settle_results", "settled_payers"]
