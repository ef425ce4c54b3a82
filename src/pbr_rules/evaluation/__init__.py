"""Evaluation: histories to decisions and payments under one agreement.

``measures`` derives each history's measures in Python; ``engine`` (the only importer of
durable-rules) compiles an agreement to rules and lets them decide; ``evaluate`` prices the
decisions and explains them; ``registry`` loads and compiles agreements; ``scenarios``
runs an agreement's own worked examples; ``savings`` measures the savings on benefits
(what a formula tariff may pay a share of, and what the business case weighs); ``cohorts`` evaluates a cohort as a stream, on the
executor ``executors`` makes (a process pool or a Dask cluster); ``pbr_rules.collector.collector_paused`` holds
Python's cyclic garbage collector off while a batch is worked.
"""

from pbr_rules.evaluation.cohorts import CHUNK_SIZE, count_histories, evaluate_chunk, evaluate_stream, stream_cohort
from pbr_rules.evaluation.engine import check_limits
from pbr_rules.evaluation.evaluator import Decision, DecisionView, PayerView, PaymentView, SubjectView, TariffView, decide, decide_batch, decide_view, decide_view_batch, evaluate, evaluate_batch, evaluate_cohort, iter_decisions, total_of
from pbr_rules.evaluation.executors import DaskExecutor, DraftFailed, DraftTimeout, SchedulerUnavailable, evaluate_draft_cohort, executor_for
from pbr_rules.evaluation.registry import Registry, limit_diagnostics, load_checked_contract
from pbr_rules.evaluation.savings import (
    ComparisonProfile, cohort_savings, comparison_profile, load_benefit_rates, participant_savings, rates_for, rates_path, savings_by_month, week_thursday,
)

# Imported when first asked for (PEP 562): an agreement's worked examples are not needed to
# evaluate, and their models cost every evaluating process about 16 ms of start-up.
_LATER = dict.fromkeys(("find_scenario_files", "load_scenarios", "run_scenario", "run_scenario_file"), "pbr_rules.evaluation.scenarios")


def __getattr__(name: str):
    from pbr_rules.lazy import lazy_attribute

    return lazy_attribute(globals(), _LATER, name)


__all__ = [
    "CHUNK_SIZE", "ComparisonProfile", "cohort_savings", "comparison_profile", "load_benefit_rates", "participant_savings", "rates_for", "rates_path", "savings_by_month", "week_thursday", "DaskExecutor", "Decision", "DecisionView", "PayerView", "PaymentView", "SubjectView", "TariffView", "Registry", "SchedulerUnavailable", "check_limits", "count_histories",
    "decide", "decide_batch", "decide_view", "decide_view_batch", "evaluate", "evaluate_batch", "evaluate_chunk", "evaluate_cohort", "evaluate_stream",
    "DraftFailed", "DraftTimeout", "evaluate_draft_cohort", "executor_for", "find_scenario_files", "iter_decisions", "limit_diagnostics", "load_checked_contract", "load_scenarios",
    "run_scenario", "run_scenario_file", "stream_cohort", "total_of",
]
