"""Municipal finance: savings under the refund staircase, the business case, discounting
(NPV, IRR, break-even, the investor waterfall) and the Monte Carlo simulation.
"""

from pbr_rules.finance.cases import business_case, municipality_case, reported_agreements
from pbr_rules.finance.ratecheck import AssumedFigure, RatesCheck, RateUse, check_rates, rate_use
from pbr_rules.evaluation import load_benefit_rates
from pbr_rules.finance.simulation import load_scenario, simulate

__all__ = [
    "AssumedFigure",
    "RateUse",
    "RatesCheck",
    "business_case",
    "check_rates",
    "load_benefit_rates",
    "load_scenario",
    "municipality_case",
    "rate_use",
    "reported_agreements",
    "simulate",
]
