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

MAX_RULES_PER_PROPERTY = 400  # 512+ rules testing one property made post() spin forever
MAX_MILESTONE_VERSIONS = MAX_RULES_PER_PROPERTY // 2  # each version has an accept and a refuse rule testing "ms"
MAX_RULES_PER_FACT = 64
SENTINEL_PRIORITY = 65535
MAX_FACTS_PER_SESSION = 4096  # the most facts one session can take: the size of the id pool below
# Facts of many subjects asserted in one session amortise the session's fixed costs (the
# sentinel, get_state, delete_state), but the engine's cost per fact grows with the facts
# queued in a session: measured per subject on the København cohort, 1 subject a session
# 153 µs, 12-25 subjects (50-100 facts) 64-69 µs, 100 subjects 88 µs, 900 subjects 131 µs.
SESSION_FACTS = 96

_lock = threading.Lock()
_sids = itertools.count(1)
_registered: dict[str, "CompiledContract"] = {}


def _fnv1a(text: str) -> int:
    h = 0x811C9DC5
    for b in text.encode():
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def _id_pool(n: int) -> tuple[tuple[str, ...], dict[str, int]]:
    """``n`` fact ids whose 32-bit FNV-1a hashes are pairwise distinct (and distinct from the sentinel's).

    The engine compares fact ids in a session by that hash, and refuses a second fact whose id
    hashes like an earlier one's as "already observed" (measured: ``f6059`` and ``f264602``
    collide). Facts in a session take their ids from this pool in order, so no two can collide.
    """
    ids: list[str] = []
    seen = {_fnv1a("end")}
    i = 0
    while len(ids) < n:
        text = f"f{i}"
        h = _fnv1a(text)
        if h not in seen:
            seen.add(h)
            ids.append(text)
        i += 1
    return tuple(ids), {text: j for j, text in enumerate(ids)}


_IDS, _ID_INDEX = _id_pool(MAX_FACTS_PER_SESSION)


def _encode(fact: dict | tuple[str, str], fid: str, sid: str) -> str:
    """One fact as JSON, its type, pool id and session id first (the firing parser relies on "t" then "id").

    A fact is a dict of ints and strings (strings are written by ``json.dumps``, remembered:
    the same milestone ids, municipality codes and target groups recur in every session), or
    already encoded as (type, the JSON members after "t", "id" and "sid"): see ``candidate_fact``.
    """
    if fact.__class__ is tuple:
        return f'{{"t":"{fact[0]}","id":"{fid}","sid":"{sid}",{fact[1]}}}'
    body = ",".join([f'"{k}":{v}' if v.__class__ is int else f'"{k}":{_string(v)}' for k, v in fact.items() if k != "t"])
    return f'{{"t":"{fact["t"]}","id":"{fid}","sid":"{sid}",{body}}}'


def candidate_fact(milestone: str, version: int, k: int, value: int, day: int, prerequisites_met: bool, fields: dict | None) -> tuple[str, str]:
    """A milestone candidate's fact, encoded once when it is derived: the same JSON ``_encode``
    writes for the dict {"t": "o", "ms", "v", "k", "val", "day", "prq", then ``fields``}."""
    body = f'"ms":{_string(milestone)},"v":{version},"k":{k},"val":{value},"day":{day},"prq":{1 if prerequisites_met else 0}'
    if fields:
        body += "," + ",".join([f'"{f}":{v}' if v.__class__ is int else f'"{f}":{_string(v)}' for f, v in fields.items()])
    return ("o", body)


_STRINGS: dict[str, str] = {}


def _string(value: str) -> str:
    text = _STRINGS.get(value)
    if text is None:
        if len(_STRINGS) > 10_000:
            _STRINGS.clear()
        text = _STRINGS[value] = json.dumps(value)
    return text


@dataclass(frozen=True)
class CompiledContract:
    """A contract version registered in the engine, with the names of its rules."""

    name: str
    handle: int
    citizen_rules: tuple[str, ...]  # the eligibility rules reported, e.g. "e:age"
    company_rules: tuple[str, ...]
    definition: str  # the ruleset as JSON, for inspection and tests

    def run(self, facts: list[dict]) -> list[tuple[str, int]]:
        """One subject's facts in a fresh session: (rule, index of the fact in ``facts``) for every firing."""
        return self.run_batch([facts])[0]

    def run_batch(self, subjects: list[list[dict]]) -> list[list[tuple[str, int]]]:
        """Many subjects' facts in one session; the firings of each subject, as ``run`` gives them.

        Isolation: every rule tests one fact's own fields (no joins), so a fact can only fire
        rules on itself, whichever other facts share the session; every fact has a pool id
        no other fact in the session hashes like. ``tests/test_engine.py`` proves the batch
        gives exactly the one-by-one firings. At most ``MAX_FACTS_PER_SESSION - 1`` facts.
        """
        owner: list[int] = []  # pool slot -> the subject whose fact it is
        first: list[int] = []  # subject -> the pool slot of its first fact
        for i, facts in enumerate(subjects):
            first.append(len(owner))
            owner += [i] * len(facts)
        if len(owner) >= MAX_FACTS_PER_SESSION:
            raise ValueError(f"{len(owner)} facts in one session; at most {MAX_FACTS_PER_SESSION - 1}")
        with _lock:
            sid = f"{os.getpid()}-{next(_sids)}"
            j = 0
            parts = []
            for facts in subjects:
                for f in facts:
                    parts.append(_encode(f, _IDS[j], sid))
                    j += 1
            parts.append(f'{{"t":"end","id":"end","sid":"{sid}"}}')
            batch = "[" + ",".join(parts) + "]"
            try:
                code, state_handle = _dre.assert_facts(self.handle, batch)
            except Exception as exc:  # the C layer raises its own error type
                raise EngineFailure(f"the rules engine refused the facts: {exc}") from None
            if code != 0:
                # 1: a fact no rule handles, 2: already observed. Either way nothing ran; no state to delete.
                raise EngineFailure(f"the rules engine answered {code} for {len(parts)} facts; nothing was decided")
            fired: list[tuple[str, str]] = []
            try:
                result = _dre.start_action_for_state(self.handle, state_handle)
                if result:
                    message = result[1]
                    while message:
                        # Actions only record what fired; the state is never changed, so no update_state.
                        fired.append(_firing(message))
                        message = _dre.complete_and_start_action(self.handle, state_handle)
                final = _dre.get_state(self.handle, sid)
            except Exception as exc:
                raise EngineFailure(f"the rules engine failed while draining: {exc}") from None
            finally:
                if fired:
                    _dre.delete_state(self.handle, sid)
        if '"exception"' in final and "exception" in json.loads(final):
            raise EngineFailure(f"an engine action failed: {json.loads(final)['exception']}")
        if not fired or fired[-1][0] != "x:end":
            raise EngineFailure("the engine did not drain the batch (the sentinel did not fire last)")
        out: list[list[tuple[str, int]]] = [[] for _ in subjects]
        for rule, fid in fired[:-1]:
            j = _ID_INDEX[fid]
            i = owner[j]
            out[i].append((rule, j - first[i]))
        return out


_FIRING = re.compile(r'^\{"([^"]+)":\{"m":\{"t": ?"[a-z]+", ?"id": ?"([^"]+)"')


def _firing(message: str) -> tuple[str, str]:
    """(rule, fact id) of one fired action; facts are written with "t" and "id" first, so a regex suffices."""
    m = _FIRING.match(message)
    if m:
        return m.group(1), m.group(2)
    (rule, match), = json.loads(message).items()
    return rule, match["m"]["id"]


def _all(*conditions: dict) -> dict:
    return {"$and": list(conditions)}


def _any(conditions: list[dict]) -> dict:
    return conditions[0] if len(conditions) == 1 else {"$or": conditions}


# The complement of each condition this compiler writes: a refusal rule is the exact negation
# of its acceptance rule, so every fact fires exactly one of the two (no catch-all firings).
_NEGATE = {"$gte": "$lt", "$lte": "$gt", "$lt": "$gte", "$gt": "$lte"}


def _negate(cond: dict) -> dict:
    (op, arg), = cond.items()
    if op in _NEGATE:
        return {_NEGATE[op]: arg}
    if op == "$or":  # alternatives of equalities: none of them
        return {"$and": [_negate(c) for c in arg]}
    return {"$neq": {op: arg}}  # an equality {field: value}


def _rules(loaded: LoadedContract) -> tuple[dict, list[str], list[str]]:
    """The ruleset, and the eligibility rules reported for citizens and for companies.

    Eligibility: one rule per subject type fires when every condition holds (``e:all``,
    ``c:all``); for each reported rule with conditions, a failure rule (``f:<rule>``)
    fires when that rule's conditions do not all hold. Exactly one of "all" or one or more
    failures fires for every subject fact; a fact that fires neither is unhandled, which
    fails the whole session loudly. Milestones: per version an acceptance rule
    (``m:<milestone>:<version>``) and its exact complement (``r:...``).
    """
    c = loaded.contract
    rules: dict[str, dict] = {}
    citizen: list[str] = []
    company: list[str] = []
    conditions: dict[str, list[dict]] = {"p": [], "c": []}

    def eligibility(name: str, fact_type: str, *conds: dict, side: list[str]):
        side.append(name)
        if not conds:
            return  # always holds: nothing can fail it
        conditions[fact_type].extend(conds)
        negated = [_negate(x) for x in conds]
        if len(negated) == 1 and "$and" in negated[0]:
            negated = negated[0]["$and"]  # none of the alternatives: a flat list of "not equal"
        else:
            negated = [_any(negated)]
        rules[f"f:{name}"] = {"all": [{"m": _all({"t": fact_type}, *negated)}], "pri": 1}

    el = c.eligibility.citizens
    term_start, term_end = c.term.start.toordinal(), c.term.end.toordinal()
    eligibility("e:municipality", "p", {"mun": c.municipality.code}, side=citizen)
    eligibility("e:target_group", "p", {"$or": [{"grp": g} for g in el.target_groups]}, side=citizen)
    if el.age is not None:
        bounds = []
        if el.age.min is not None:
            bounds.append({"$gte": {"age": el.age.min}})
        if el.age.max is not None:
            bounds.append({"$lte": {"age": el.age.max}})
        eligibility("e:age", "p", *bounds, side=citizen)
    eligibility("e:residence", "p", *([{"res": 1}] if el.residence_in_municipality else []), side=citizen)
    if el.baseline is not None:
        eligibility("e:baseline", "p", {"$gte": {"bw": el.baseline.benefit_weeks_at_least}}, side=citizen)
    if el.enrolment_window is not None:
        w = el.enrolment_window
        eligibility("e:enrolment_window", "p", {"$gte": {"enr": w.start.toordinal()}}, {"$lte": {"enr": w.end.toordinal()}}, side=citizen)
    eligibility("e:term", "p", {"$gte": {"enr": term_start}}, {"$lte": {"enr": term_end}}, side=citizen)

    ce = c.eligibility.companies
    if ce is not None:
        if ce.in_municipality:
            eligibility("c:municipality", "c", {"mun": c.municipality.code}, side=company)
        eligibility("c:size_band", "c", {"$or": [{"band": b.value} for b in ce.size_bands]}, side=company)
        if ce.partner_required:
            eligibility("c:partner", "c", {"partner": 1}, side=company)
    eligibility("c:term", "c", {"$gte": {"start": term_start}}, {"$lte": {"start": term_end}}, side=company)
    for fact_type, name in (("p", "e:all"), ("c", "c:all")):
        # The $or (target groups, size bands: at most one per fact type) stands last in its
        # $and: durable-rules skips conditions after a true $or in joins.
        ors = [x for x in conditions[fact_type] if "$or" in x]
        assert len(ors) <= 1, "one list of alternatives per fact type"
        rest = [x for x in conditions[fact_type] if "$or" not in x]
        rules[name] = {"all": [{"m": _all({"t": fact_type}, *rest, *ors)}], "pri": 1}

    plan = plan_for(loaded)
    for mid in plan.order:
        for v in plan.versions[mid]:
            key = [{"ms": mid}, {"v": v.index}]
            if v.definition is None:
                # withdrawn: nothing can be accepted in this period
                rules[f"r:{mid}:{v.index}"] = {"all": [{"m": _all({"t": "o"}, *key)}], "pri": 1}
                continue
            conds = [
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
            rules[f"m:{mid}:{v.index}"] = {"all": [{"m": _all({"t": "o"}, *key, *conds)}], "pri": 1}
            rules[f"r:{mid}:{v.index}"] = {"all": [{"m": _all({"t": "o"}, *key, {"$or": [_negate(x) for x in conds]})}], "pri": 1}

    rules["x:end"] = {"all": [{"m": {"t": "end"}}], "pri": SENTINEL_PRIORITY}
    return rules, citizen, company


def check_limits(loaded: LoadedContract) -> list[tuple[tuple, str, str]]:
    """Problems that would take the engine past its measured limits, as (path, message, hint)."""
    rules, citizen, company = _rules(loaded)
    out = []
    versions = sum(1 for r in rules if r.startswith("r:"))
    if versions > MAX_MILESTONE_VERSIONS:
        out.append(
            (
                ("milestones",),
                f"{versions} milestone definitions (with amendments); the engine handles at most {MAX_MILESTONE_VERSIONS}",
                "split the agreement or consolidate amendments",
            )
        )
    if len(citizen) + 2 > MAX_RULES_PER_FACT or len(company) + 2 > MAX_RULES_PER_FACT:
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
