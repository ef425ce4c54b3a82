"""Evaluation: histories to decisions and payments under one agreement.

``measures`` derives each history's measures in Python; ``engine`` (the only importer of
durable-rules) compiles an agreement to rules and lets them decide; ``evaluate`` prices the
decisions and explains them; ``registry`` loads and compiles agreements; ``scenarios``
runs an agreement's own worked examples.
"""

from pbr_rules.evaluation.engine import check_limits
from pbr_rules.evaluation.evaluator import Decision, DecisionView, decide, decide_batch, decide_view, evaluate, evaluate_batch, evaluate_cohort, iter_decisions, total_of
from pbr_rules.evaluation.registry import Registry, limit_diagnostics, load_checked_contract
from pbr_rules.evaluation.scenarios import find_scenario_files, load_scenarios, run_scenario, run_scenario_file

__all__ = ["limit_diagnostics", "Decision", "DecisionView", "decide", "decide_batch", "evaluate_batch", "iter_decisions", "Registry", "check_limits", "decide_view", "evaluate", "evaluate_cohort", "find_scenario_files", "load_checked_contract", "load_scenarios", "run_scenario", "run_scenario_file", "total_of"]
