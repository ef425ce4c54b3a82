"""The only module that touches durable-rules.

Owns compiling a contract into a durable-rules ruleset and running one evaluation's facts
through it. The rest of the package sees three functions: ``check_limits`` (would this
contract exceed the engine's limits?), ``compile_contract`` (register the ruleset once per
contract version) and ``CompiledContract.run`` (assert facts, return the firings).

How it stays inside the engine's measured limits (../shared/durable-rules-notes.md):
- the raw C extension (``durable_rules_engine``), never ``durable.lang`` or ``Host``;
- only alpha conditions (tests on one fact's own fields): no joins, no cross-fact tests;
- dates and amounts as integers (day ordinals, øre): the engine has no date type and
  rejects floats written with exponents;
- one ruleset per contract version, named by content hash, registered once per process;
- one process-wide lock; a fresh session id per evaluation, so no two live sessions can
  share a hashed id; ``delete_state`` always, in ``finally``;
- a catch-all rule per fact type (so no fact is "unhandled") and a sentinel fact matched
  by a lowest-priority rule: its firing last proves the batch was drained, and it keeps
  ``delete_state`` away from sessions where nothing fired;
- every fact in a session has a distinct id; an "already observed" or "not handled"
  answer is an ``EngineFailure``, never silently ignored.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import threading
from dataclasses import dataclass

import durable_rules_engine as _dre

from pbr_rules.errors import EngineFailure
from pbr_rules.evaluation.measures import plan_for, threshold
from pbr_rules.language import LoadedContract
from pbr_rules.models.contract import CompanyHire, HireRetained

MAX_MILESTONE_RULES = 400  # 512+ rules testing one property made post() spin forever
MAX_RULES_PER_FACT = 64
CATCH_ALL_PRIORITY = 65000
SENTINEL_PRIORITY = 65535
SENTINEL = {"t": "end", "id": "end"}

_lock = threading.Lock()
_sids = itertools.count(1)
_registered: dict[str, "CompiledContract"] = {}


@dataclass(frozen=True)
class CompiledContract:
    """A contract version registered in the engine, with the names of its rules."""

    name: str
    handle: int
    citizen_rules: tuple[str, ...]
    company_rules: tuple[str, ...]
    definition: str  # the ruleset as JSON, for inspection and tests

    def run(self, facts: list[dict]) -> list[tuple[str, str]]:
        """Assert one evaluation's facts in a fresh session; return (rule, fact id) for every firing."""
        with _lock:
            sid = f"{os.getpid()}-{next(_sids)}"
            batch = [dict(f, sid=sid) for f in facts]
            batch.append(dict(SENTINEL, sid=sid))
            try:
                code, state_handle = _dre.assert_facts(self.handle, json.dumps(batch, separators=(",", ":")))
            except Exception as exc:  # the C layer raises its own error type
                raise EngineFailure(f"the rules engine refused the facts: {exc}") from None
            if code != 0:
                # 1: not handled, 2: already observed. Either way nothing ran; no state to delete.
                raise EngineFailure(f"the rules engine answered {code} for {len(batch)} facts; nothing was decided")
            fired: list[tuple[str, str]] = []
            try:
                result = _dre.start_action_for_state(self.handle, state_handle)
                if result:
                    message = result[1]
                    while message:
                        # Actions only record what fired; the state is never changed, so no update_state.
                        fired.append(_firing(message))
                        message = _dre.complete_and_start_action(self.handle, state_handle)
                final = json.loads(_dre.get_state(self.handle, sid))
            except Exception as exc:
                raise EngineFailure(f"the rules engine failed while draining: {exc}") from None
            finally:
                if fired:
                    _dre.delete_state(self.handle, sid)
            if "exception" in final:
                raise EngineFailure(f"an engine action failed: {final['exception']}")
            if not fired or fired[-1][0] != "x:end":
                raise EngineFailure("the engine did not drain the batch (the sentinel did not fire last)")
            return fired[:-1]


_FIRING = re.compile(r'^\{"([^"]+)":\{"m":\{"t": ?"[a-z]+", ?"id": ?"([^"]+)"')


def _firing(message: str) -> tuple[str, str]:
    """(rule, fact id) of one fired action; facts are built with "t" and "id" first, so a regex suffices."""
    m = _FIRING.match(message)
    if m:
        return m.group(1), m.group(2)
    (rule, match), = json.loads(message).items()
    return rule, match["m"]["id"]


def _all(*conditions: dict) -> dict:
    return {"$and": list(conditions)}


def _rules(loaded: LoadedContract) -> tuple[dict, list[str], list[str]]:
    c = loaded.contract
    rules: dict[str, dict] = {}
    citizen: list[str] = []
    company: list[str] = []

    def rule(name: str, fact_type: str, *conditions: dict, pri: int = 1, side: list[str] | None = None):
        rules[name] = {"all": [{"m": _all({"t": fact_type}, *conditions)}], "pri": pri}
        if side is not None:
            side.append(name)

    el = c.eligibility.citizens
    term_start, term_end = c.term.start.toordinal(), c.term.end.toordinal()
    rule("e:municipality", "p", {"mun": c.municipality.code}, side=citizen)
    # The $or stands last in its $and (durable-rules skips conditions after a true $or in joins).
    rule("e:target_group", "p", {"$or": [{"grp": g} for g in el.target_groups]}, side=citizen)
    if el.age is not None:
        bounds = []
        if el.age.min is not None:
            bounds.append({"$gte": {"age": el.age.min}})
        if el.age.max is not None:
            bounds.append({"$lte": {"age": el.age.max}})
        rule("e:age", "p", *bounds, side=citizen)
    rule("e:residence", "p", *([{"res": 1}] if el.residence_in_municipality else []), side=citizen)
    if el.baseline is not None:
        rule("e:baseline", "p", {"$gte": {"bw": el.baseline.benefit_weeks_at_least}}, side=citizen)
    if el.enrolment_window is not None:
        w = el.enrolment_window
        rule("e:enrolment_window", "p", {"$gte": {"enr": w.start.toordinal()}}, {"$lte": {"enr": w.end.toordinal()}}, side=citizen)
    rule("e:term", "p", {"$gte": {"enr": term_start}}, {"$lte": {"enr": term_end}}, side=citizen)

    ce = c.eligibility.companies
    if ce is not None:
        if ce.in_municipality:
            rule("c:municipality", "c", {"mun": c.municipality.code}, side=company)
        rule("c:size_band", "c", {"$or": [{"band": b.value} for b in ce.size_bands]}, side=company)
        if ce.partner_required:
            rule("c:partner", "c", {"partner": 1}, side=company)
    rule("c:term", "c", {"$gte": {"start": term_start}}, {"$lte": {"start": term_end}}, side=company)

    plan = plan_for(loaded)
    for mid in plan.order:
        for v in plan.versions[mid]:
            if v.definition is None:
                continue  # withdrawn: no rule, so nothing can fire in this period
            conds = [
                {"ms": mid},
                {"v": v.index},
                {"$gte": {"val": threshold(v.definition)}},
                {"$gte": {"k": 1}},
                {"$lte": {"k": v.max_times}},
                {"prq": 1},
                {"$lte": {"day": term_end}},
            ]
            if v.start is not None:
                conds.append({"$gte": {"day": v.start.toordinal()}})
            if v.end is not None:
                conds.append({"$lt": {"day": v.end.toordinal()}})
            m = v.definition.measure
            if isinstance(m, (CompanyHire, HireRetained)):
                # A hire counts only when verified by the participant's paid work with the
                # company on the hire date, at the contract's hours (in hundredths), and,
                # unless the contract pays re-hires, when it is not a re-hire.
                conds += [{"hv": 1}, {"$gte": {"hrs": m.hours_required * 100}}]
                if not m.rehires_pay:
                    conds.append({"rh": 0})
            rule(f"m:{mid}:{v.index}", "o", *conds)

    for fact_type in ("p", "c", "o"):
        rule(f"x:{fact_type}", fact_type, pri=CATCH_ALL_PRIORITY)
    rules["x:end"] = {"all": [{"m": {"t": "end"}}], "pri": SENTINEL_PRIORITY}
    return rules, citizen, company


def check_limits(loaded: LoadedContract) -> list[tuple[tuple, str, str]]:
    """Problems that would take the engine past its measured limits, as (path, message, hint)."""
    rules, citizen, company = _rules(loaded)
    out = []
    milestone_rules = sum(1 for r in rules if r.startswith("m:"))
    if milestone_rules > MAX_MILESTONE_RULES:
        out.append(
            (
                ("milestones",),
                f"{milestone_rules} milestone definitions (with amendments); the engine handles at most {MAX_MILESTONE_RULES}",
                "split the agreement or consolidate amendments",
            )
        )
    if len(citizen) + 1 > MAX_RULES_PER_FACT or len(company) + 1 > MAX_RULES_PER_FACT:
        out.append((("eligibility",), "too many eligibility rules for one fact", f"at most {MAX_RULES_PER_FACT - 1}"))
    return out


def compile_contract(loaded: LoadedContract) -> CompiledContract:
    """Register the contract's ruleset once per process (by content hash) and return it."""
    name = loaded.ruleset_name
    with _lock:
        compiled = _registered.get(name)
        if compiled is not None:
            return compiled
        rules, citizen, company = _rules(loaded)
        definition = json.dumps(rules, sort_keys=True, separators=(",", ":"))
        try:
            handle = _dre.create_ruleset(name, definition)
        except Exception as exc:
            raise EngineFailure(f"the rules engine refused the ruleset for {name}: {exc}") from None
        compiled = CompiledContract(name, handle, tuple(citizen), tuple(company), definition)
        _registered[name] = compiled
        return compiled
