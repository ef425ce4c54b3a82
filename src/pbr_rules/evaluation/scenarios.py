"""Running contract scenarios: the agreement's own worked examples, checked against evaluation.

Owns reading ``kind: scenarios`` files and comparing each scenario's expectation with a
real evaluation. Used by ``pbr test`` and by the pytest plugin (``conftest.py``), so a
contract manager's examples run in CI like any other test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pbr_rules.errors import ContractInvalid, Diagnostic, InputInvalid, PbrError
from pbr_rules.evaluation.evaluator import evaluate
from pbr_rules.language import (
    LoadedContract,
    Source,
    format_path,
    history_from_data,
    load_contract,
    load_yaml_file,
    suggest,
    validate_model,
)
from pbr_rules.models.scenario import Scenario, ScenarioFile
from pbr_rules.models.history import ParticipantHistory


@dataclass
class ScenarioOutcome:
    file: str
    line: int
    name: str
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass
class LoadedScenarios:
    path: str
    source: Source
    scenarios: ScenarioFile
    contract: LoadedContract


def load_scenarios(path: str | Path) -> LoadedScenarios:
    path = Path(path)
    source = load_yaml_file(path)
    sf: ScenarioFile = validate_model(ScenarioFile, source, ContractInvalid)
    contract = load_contract(path.parent / sf.contract)
    problems = unknown_milestones(sf, source, contract)
    if problems:
        raise ContractInvalid(problems)
    return LoadedScenarios(path=str(path), source=source, scenarios=sf, contract=contract)


def unknown_milestones(sf: ScenarioFile, source: Source, contract: LoadedContract) -> list[Diagnostic]:
    """Expectations that name a milestone the agreement does not have (with the nearest id): such a
    scenario could never pass, and the misspelt id is the mistake to fix, not the evaluation."""
    ids = sorted(contract.contract.milestones)
    named = []
    for i, sc in enumerate(sf.scenarios):
        named += [(("scenarios", i, "expect", "milestones", mid), mid) for mid in sc.expect.milestones]
        named += [(("scenarios", i, "expect", "payments", j, "milestone"), p.milestone) for j, p in enumerate(sc.expect.payments or [])]
    out = []
    for path, mid in named:
        if mid not in contract.contract.milestones:
            file, line, col = source.where(path, key=path[-1] == mid)
            hint = suggest(mid, ids, "milestones of " + contract.contract.id)
            out.append(Diagnostic(file=file, line=line, col=col, path=format_path(path), message=f"unknown milestone '{mid}'", hint=hint))
    return out


def run_scenario(ls: LoadedScenarios, index: int) -> ScenarioOutcome:
    sc: Scenario = ls.scenarios.scenarios[index]
    _, line, _ = ls.source.where(("scenarios", index, "name"))
    out = ScenarioOutcome(file=ls.path, line=line, name=sc.name)
    try:
        codes = ls.contract.known
        history = history_from_data(sc.history, ls.source, codes, ("scenarios", index, "history"))
        hired = [history_from_data(p, ls.source, codes, ("scenarios", index, "participants", i)) for i, p in enumerate(sc.participants)]
        participants = {p.participant: p for p in hired if isinstance(p, ParticipantHistory)}
        result = evaluate(ls.contract, history, sc.as_of, sc.eligible_participants, participants)
    except InputInvalid as exc:
        out.failures.append(f"the scenario's history is invalid:\n{exc}")
        return out
    except PbrError as exc:
        out.failures.append(f"evaluation refused: {exc}")
        return out
    exp = sc.expect
    if exp.eligible is not None and exp.eligible != result.eligibility.eligible:
        out.failures.append(f"eligible: expected {exp.eligible}, got {result.eligibility.eligible}")
    rules = {r.rule: r for r in result.eligibility.rules}
    for rule, want in exp.rules.items():
        got = rules.get(rule)
        if got is None:
            out.failures.append(f"rule '{rule}': the contract has no such rule (rules: {', '.join(rules)})")
        elif got.passed != want:
            out.failures.append(f"rule '{rule}': expected {'pass' if want else 'fail'}, got {'pass' if got.passed else 'fail'} ({got.detail})")
    by_id = {m.milestone: m for m in result.milestones}
    for mid, dates in exp.milestones.items():
        got = by_id.get(mid)
        if got is None:
            out.failures.append(f"milestone '{mid}': not in the contract")
            continue
        got_dates = [o.met_on for o in got.occurrences]
        if got_dates != dates:
            why = f" ({got.why_not}; progress {got.progress})" if not got_dates else ""
            out.failures.append(
                f"milestone '{mid}': expected {[d.isoformat() for d in dates] or 'not met'}, got {[d.isoformat() for d in got_dates] or 'not met'}{why}"
            )
    if exp.payments is not None:
        want = [(p.milestone, p.occurrence, p.amount) for p in exp.payments]
        got = [(p.milestone, p.occurrence, p.amount) for p in result.payments]
        if want != got:
            out.failures.append(
                "payments differ:\n  expected " + _fmt(want) + "\n  got      " + _fmt(got)
            )
        for p in exp.payments:
            match = next((g for g in result.payments if (g.milestone, g.occurrence) == (p.milestone, p.occurrence)), None)
            if match is None:
                continue
            if p.trigger_date and p.trigger_date != match.trigger_date:
                out.failures.append(f"{p.milestone}#{p.occurrence}: trigger date expected {p.trigger_date}, got {match.trigger_date}")
            if p.due_date and p.due_date != match.due_date:
                out.failures.append(f"{p.milestone}#{p.occurrence}: due date expected {p.due_date}, got {match.due_date}")
    if exp.total is not None and exp.total != result.total:
        out.failures.append(f"total: expected {exp.total}, got {result.total}")
    return out


def _fmt(items) -> str:
    return "[" + ", ".join(f"{m}#{k} {a}" for m, k, a in items) + "]"


def run_scenario_file(path: str | Path) -> list[ScenarioOutcome]:
    ls = load_scenarios(path)
    return [run_scenario(ls, i) for i in range(len(ls.scenarios.scenarios))]


def find_scenario_files(paths: list[str | Path]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(p.rglob("*.scenarios.yaml")))
        else:
            out.append(p)
    return out
