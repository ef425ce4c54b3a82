"""Cross-checks on a parsed contract: what the models alone cannot see.

Each check returns ``(path, message, hint)`` triples; the loader places them at the
right line. The checks: unknown milestones in prerequisites, windows and tariffs;
prerequisite cycles; measures on the wrong side; effective dates outside the term or
overlapping the original definition; tariffs for target groups the contract does not
admit; payer shares that do not sum to 1; unknown parties and roles; caps below a single
tariff; unknown benefit codes; inconsistent week patterns.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from difflib import get_close_matches

from pbr_rules.models.contract import CITIZEN_MEASURES, COMPANY_MEASURES, Contract, PartyRole, Side, TargetGroup

Problem = tuple[tuple, str, str]


def check_contract(c: Contract, known_codes: frozenset[str]) -> list[Problem]:
    out: list[Problem] = []
    milestone_ids = sorted(c.milestones)
    groups_admitted = {g.value for g in c.eligibility.citizens.target_groups}

    def near(name: str, choices, label: str = "", extra: tuple[str, ...] = ()) -> str:
        """'did you mean X?' for a near miss; otherwise (with a label) the valid choices."""
        options = list(choices) + list(extra)
        m = get_close_matches(str(name), options, n=1, cutoff=0.6)
        if m:
            return f"did you mean '{m[0]}'?"
        return f"{label}: {', '.join(sorted(choices)) + ''.join(f' or {e!r}' for e in extra)}" if label else ""

    if c.term.end < c.term.start:
        out.append((("term", "end"), f"the term ends ({c.term.end}) before it starts ({c.term.start})", ""))

    # --- parties and payment terms
    def check_party(path, party_id, roles: set[PartyRole], what: str):
        if party_id not in c.parties:
            out.append((path, f"unknown party '{party_id}'", near(party_id, c.parties, "parties")))
        elif not roles & set(c.parties[party_id].roles):
            out.append(
                (path, f"party '{party_id}' cannot be {what}", f"give it one of the roles: {', '.join(r.value for r in roles)}")
            )

    payer_roles = {PartyRole.outcome_payer, PartyRole.fund}

    def check_payers(path, payers):
        total = sum((p.share for p in payers), Decimal(0))
        if total != 1:
            out.append((path, f"payer shares sum to {total}, not 1", "adjust the shares so they add up to exactly 1"))
        seen = set()
        for i, p in enumerate(payers):
            check_party(path + (i, "party"), p.party, payer_roles, "a payer")
            if p.party in seen:
                out.append((path + (i, "party"), f"payer '{p.party}' is listed twice", "merge its shares"))
            seen.add(p.party)

    check_payers(("payment", "payers"), c.payment.payers)
    check_party(("payment", "citizen_payee"), c.payment.citizen_payee, {PartyRole.citizen_course_provider}, "the citizen payee")
    has_company_side = any(m.side == Side.company for m in c.milestones.values())
    if c.payment.company_payee is not None:
        check_party(("payment", "company_payee"), c.payment.company_payee, {PartyRole.accelerator_operator}, "the company payee")
    elif has_company_side:
        out.append((("payment",), "company milestones exist but no company_payee is named", "add payment.company_payee"))
    if has_company_side and c.eligibility.companies is None:
        out.append((("eligibility",), "company milestones exist but there is no eligibility.companies", "add it"))

    # --- eligibility
    cit = c.eligibility.citizens
    if cit.age and cit.age.min is not None and cit.age.max is not None and cit.age.max < cit.age.min:
        out.append((("eligibility", "citizens", "age"), f"age max {cit.age.max} is below min {cit.age.min}", ""))
    if cit.baseline:
        b = cit.baseline
        if b.benefit_weeks_at_least > b.of_weeks_before_enrolment:
            out.append(
                (
                    ("eligibility", "citizens", "baseline", "benefit_weeks_at_least"),
                    f"{b.benefit_weeks_at_least} weeks cannot be met within {b.of_weeks_before_enrolment} weeks",
                    "",
                )
            )
        for i, code in enumerate(b.codes or []):
            if code not in known_codes:
                out.append(
                    (("eligibility", "citizens", "baseline", "codes", i), f"unknown benefit code '{code}'", near(code, known_codes, "known codes"))
                )
    if cit.enrolment_window:
        w = cit.enrolment_window
        if w.end < w.start:
            out.append((("eligibility", "citizens", "enrolment_window", "end"), "the window ends before it starts", ""))
        if w.start < c.term.start or w.end > c.term.end:
            out.append(
                (
                    ("eligibility", "citizens", "enrolment_window"),
                    f"enrolment window {w.start}..{w.end} reaches outside the term {c.term.start}..{c.term.end}",
                    "",
                )
            )

    # --- milestones
    graph: dict[str, set[str]] = {}
    for mid, m in c.milestones.items():
        base = ("milestones", mid)
        graph[mid] = set()
        allowed_kinds = CITIZEN_MEASURES if m.side == Side.citizen else COMPANY_MEASURES
        for day, definition, _ref in m.versions():
            if definition is None:
                continue
            p = base if day is None else base + ("amendments", day.isoformat(), "value")
            meas = definition.measure
            if meas.kind not in allowed_kinds:
                out.append(
                    (p + ("measure", "kind"), f"measure '{meas.kind}' is not for the {m.side.value} side", f"allowed: {', '.join(allowed_kinds)}")
                )
            for i, pre in enumerate(definition.prerequisites):
                if pre not in c.milestones:
                    out.append((p + ("prerequisites", i), f"unknown milestone '{pre}'", near(pre, milestone_ids, "milestones")))
                else:
                    graph[mid].add(pre)
                    if c.milestones[pre].side != m.side:
                        out.append((p + ("prerequisites", i), f"'{pre}' is on the other side", "prerequisites stay on one side"))
            window = getattr(meas, "window", None)
            if window is not None and window.after != "start":
                if window.after not in c.milestones:
                    out.append(
                        (p + ("measure", "window", "after"), f"unknown milestone '{window.after}'", near(window.after, milestone_ids, "milestones", ("start",)))
                    )
                else:
                    graph[mid].add(window.after)
            pattern = getattr(meas, "pattern", None)
            if pattern is not None:
                if pattern == "of" and meas.out_of is None:
                    out.append((p + ("measure", "out_of"), "pattern 'of' needs out_of (the M in 'N of M weeks')", ""))
                if pattern == "of" and meas.out_of is not None and meas.out_of < meas.weeks:
                    out.append((p + ("measure", "out_of"), f"{meas.weeks} of {meas.out_of} weeks can never be met", ""))
                if pattern != "of" and meas.out_of is not None:
                    out.append((p + ("measure", "out_of"), f"out_of is only used with pattern 'of', not '{pattern}'", ""))
                if window is not None and window.weeks < meas.weeks:
                    out.append((p + ("measure", "window", "weeks"), f"{meas.weeks} weeks cannot fit in a {window.weeks}-week window", ""))
        for day in m.amendments:
            if day <= c.term.start:
                out.append(
                    (
                        base + ("amendments", day.isoformat()),
                        f"an amendment from {day} overlaps the original definition, in force from the term start {c.term.start}",
                        "edit the definition itself, or date the amendment after the term start",
                    )
                )
            if day > c.term.end:
                out.append((base + ("amendments", day.isoformat()), f"amendment {day} is after the term end {c.term.end}", ""))

    for cycle in _cycles(graph):
        out.append(
            (("milestones", cycle[0]), "prerequisites form a cycle: " + " -> ".join(cycle + [cycle[0]]), "no milestone can come first")
        )

    # --- tariffs
    max_tariff: dict[str, Decimal] = {}
    for mid, t in c.tariffs.items():
        base = ("tariffs", mid)
        if mid not in c.milestones:
            out.append((base, f"tariff for unknown milestone '{mid}'", near(mid, milestone_ids, "milestones")))
            continue
        side = c.milestones[mid].side
        for group, dated in t.amounts.items():
            gp = base + ("amounts", group)
            if group != "all":
                if group not in {g.value for g in TargetGroup}:
                    out.append((gp, f"unknown target group '{group}'", near(group, [g.value for g in TargetGroup], "target groups", ("all",))))
                elif side == Side.company:
                    out.append((gp, "company milestones are priced for 'all', not by target group", ""))
                elif group not in groups_admitted:
                    out.append(
                        (gp, f"tariff for target group '{group}', which the contract does not admit", "add it to eligibility.citizens.target_groups or remove this line")
                    )
            out.extend(_check_dated(c, gp, dated, need_start=True))
            for entry in dated.values():
                if entry.value is not None:
                    max_tariff[mid] = max(max_tariff.get(mid, Decimal(0)), entry.value)
        tiers = sorted(t.volume_tiers, key=lambda v: v.after_outcomes)
        for i, tier in enumerate(t.volume_tiers):
            out.extend(_check_dated(c, base + ("volume_tiers", i, "amount"), tier.amount, need_start=False))
        for a, b in zip(tiers, tiers[1:]):
            if a.after_outcomes == b.after_outcomes:
                out.append((base + ("volume_tiers",), f"two tiers start after {a.after_outcomes} outcomes (they overlap)", ""))
        if t.payers is not None:
            check_payers(base + ("payers",), t.payers)
        if t.payee is not None:
            role = PartyRole.citizen_course_provider if side == Side.citizen else PartyRole.accelerator_operator
            check_party(base + ("payee",), t.payee, {role}, "the payee")
        # Item 8: a company has no referral date (its start is its enrolment).
        if side == Side.company and t.pricing_date == "referral":
            out.append((
                base + ("pricing_date",),
                "a company has no referral date, so a company milestone cannot be priced on one",
                "price it on 'trigger' or 'enrolment' (the accelerator start)",
            ))
        # Item 9: the most paid for this milestone to one participant (company).
        if t.max_total is not None:
            out.extend(_check_dated(c, base + ("max_total",), t.max_total, need_start=True))
            single = max((e.value for dated in t.amounts.values() for e in dated.values() if e.value is not None), default=Decimal(0))
            for day, entry in t.max_total.items():
                if entry.value is not None and entry.value < single:
                    out.append((
                        base + ("max_total", day.isoformat(), "value"),
                        f"max_total {entry.value} is below the single tariff {single} of '{mid}'",
                        "not even one occurrence could be paid in full; raise max_total or lower the tariff",
                    ))
            if not any(d is not None and d.repeat is not None for _day, d, _ref in c.milestones[mid].versions()):
                out.append((
                    base + ("max_total",),
                    f"'{mid}' pays once (no repeat), so a maximum total can never bind",
                    f"remove max_total, or give milestones.{mid} a repeat",
                ))

    if c.payment.pricing_date == "referral":
        inherit = [mid for mid, t in c.tariffs.items() if mid in c.milestones and c.milestones[mid].side == Side.company and t.pricing_date is None]
        if inherit:
            out.append((
                ("payment", "pricing_date"),
                f"a company has no referral date, but the company milestones {', '.join(inherit)} would be priced on one",
                f"give each its own pricing_date, 'trigger' or 'enrolment' (the accelerator start), e.g. tariffs.{inherit[0]}.pricing_date: enrolment",
            ))

    # --- caps
    caps = c.caps
    biggest = max(max_tariff.values(), default=Decimal(0))

    def cap_check(path, dated, floor: Decimal, what: str, need_start: bool = True):
        out.extend(_check_dated(c, path, dated, need_start=need_start))
        for day, entry in dated.items():
            if entry.value is not None and entry.value < floor:
                out.append(
                    (
                        path + (day.isoformat(), "value"),
                        f"cap {entry.value} is below {what} {floor}",
                        "no such outcome could ever be paid in full; raise the cap or lower the tariff",
                    )
                )

    citizen_max = max((v for k, v in max_tariff.items() if c.milestones[k].side == Side.citizen), default=Decimal(0))
    company_max = max((v for k, v in max_tariff.items() if c.milestones[k].side == Side.company), default=Decimal(0))
    if caps.per_participant:
        cap_check(("caps", "per_participant"), caps.per_participant, citizen_max, "the largest single citizen tariff")
    if caps.per_company:
        cap_check(("caps", "per_company"), caps.per_company, company_max, "the largest single company tariff")
    if caps.per_contract:
        cap_check(("caps", "per_contract"), caps.per_contract, biggest, "the largest single tariff")
    for mid, dated in caps.per_milestone.items():
        if mid not in c.milestones:
            out.append((("caps", "per_milestone", mid), f"cap for unknown milestone '{mid}'", near(mid, milestone_ids, "milestones")))
            continue
        cap_check(("caps", "per_milestone", mid), dated, max_tariff.get(mid, Decimal(0)), f"the single tariff of '{mid}'")
    for party, dated in caps.per_payer.items():
        check_party(("caps", "per_payer", party), party, payer_roles, "a payer")
        out.extend(_check_dated(c, ("caps", "per_payer", party), dated, need_start=True))
    # --- soft targets (item 10): reported, never enforced
    for side_key, el in (("citizens", c.eligibility.citizens), ("companies", c.eligibility.companies)):
        if el is None or el.target is None:
            continue
        tp = ("eligibility", side_key, "target")
        if el.target.by is not None and not c.term.start <= el.target.by <= c.term.end:
            out.append((tp + ("by",), f"target date {el.target.by} is outside the term {c.term.start}..{c.term.end}", ""))
        if el.cohort_size is not None and el.target.size > el.cohort_size:
            out.append((
                tp + ("size",),
                f"target {el.target.size} is above the cohort size {el.cohort_size}: those beyond {el.cohort_size} are never paid",
                "lower the target, or raise cohort_size",
            ))
    # --- business case
    for cid, cost in c.costs.items():
        if cost.payer not in c.parties:  # any party may carry a cost (a provider paid by results carries its course)
            out.append((("costs", cid, "payer"), f"unknown party '{cost.payer}'", near(cost.payer, c.parties, "parties")))
        out.extend(_check_dated(c, ("costs", cid, "amount"), cost.amount, need_start=True))
    bc = c.business_case
    if bc is not None:
        cf = bc.counterfactual
        if cf.method == "deadweight" and cf.deadweight is None:
            out.append((("business_case", "counterfactual"), "method 'deadweight' needs a deadweight share", "e.g. deadweight: '0.25'"))
        if cf.method != "deadweight" and cf.deadweight is not None:
            out.append((("business_case", "counterfactual", "deadweight"), f"deadweight is only used with method 'deadweight', not '{cf.method}'", ""))
        if bc.projection is not None:
            for outcome in bc.projection.persistence:
                if outcome != "otherwise" and outcome not in c.milestones:
                    out.append((
                        ("business_case", "projection", "persistence", outcome),
                        f"persistence for unknown milestone '{outcome}'",
                        near(outcome, milestone_ids, "milestones", extra=("otherwise",)),
                    ))
    if c.investor is not None:
        for i, party in enumerate(c.investor.repaid_from):
            check_party(("investor", "repaid_from", i), party, payer_roles, "a payer whose outcome payments repay investors")
    return out


def _check_dated(c: Contract, path: tuple, dated: dict, *, need_start: bool) -> list[Problem]:
    out: list[Problem] = []
    for d, entry in dated.items():
        if isinstance(entry.value, Decimal) and entry.value < 0:
            out.append((path + (d.isoformat(), "value"), f"amount {entry.value} is negative", "tariffs and caps are amounts of 0 or more"))
    days = sorted(dated)
    if not days:
        out.append((path, "no effective dates given", "add at least one 'YYYY-MM-DD: {value, reference}'"))
        return out
    if need_start and days[0] > c.term.start:
        out.append(
            (
                path + (days[0].isoformat(),),
                f"nothing is in force from the term start {c.term.start}: the first effective date is {days[0]}",
                f"date the first value {c.term.start} or earlier",
            )
        )
    for d in days:
        if d > c.term.end:
            out.append((path + (d.isoformat(),), f"effective date {d} is after the term end {c.term.end}", ""))
    return out


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each prerequisite cycle once, starting at its smallest id."""
    found: set[tuple[str, ...]] = set()
    out: list[list[str]] = []

    def visit(node: str, stack: list[str]):
        for nxt in sorted(graph.get(node, ())):
            if nxt in stack:
                cyc = stack[stack.index(nxt):]
                i = cyc.index(min(cyc))
                norm = tuple(cyc[i:] + cyc[:i])
                if norm not in found:
                    found.add(norm)
                    out.append(list(norm))
            elif len(stack) < 64:
                visit(nxt, stack + [nxt])

    for start in sorted(graph):
        visit(start, [start])
    return out


def effective_dates(dated: dict) -> list[date]:
    return sorted(dated)
