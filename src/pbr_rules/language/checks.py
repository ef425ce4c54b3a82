"""Cross-checks on a parsed contract: what the models alone cannot see.

Each check returns ``(path, message, hint)`` triples; the loader places them at the
right line. The checks: unknown milestones in prerequisites, windows and tariffs;
prerequisite cycles; measures on the wrong side; effective dates outside the term or
overlapping the original definition; tariffs for target groups the contract does not
admit; a currency that is not ISO 4217, not legal tender on the signing date or without two
minor units; payer shares that do not sum to 1; unknown parties and roles; caps below a single
tariff; unknown benefit codes, target groups and area codes (the jurisdiction's
vocabulary); inconsistent week patterns.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from difflib import get_close_matches

from pbr_rules.language.formula import MEASURED, MONEY, FormulaError, formula_names, parse_formula, unit_name
from pbr_rules.money import currency_problem
from pbr_rules.models.contract import CITIZEN_MEASURES, COMBINED_MEASURES, COMPANY_MEASURES, Contract, PartyRole, Side
from pbr_rules.models.vocabulary import Vocabulary, nearest_codes

Problem = tuple[tuple, str, str]


def suggest(name: str, choices, label: str = "", extra: tuple[str, ...] = ()) -> str:
    """'did you mean X?' for a near miss (difflib); otherwise (with a label) the valid choices."""
    options = list(choices) + list(extra)
    m = get_close_matches(str(name), options, n=1, cutoff=0.6)
    if m:
        return f"did you mean '{m[0]}'?"
    return f"{label}: {', '.join(sorted(choices)) + ''.join(f' or {e!r}' for e in extra)}" if label else ""


# What names a milestone by its id, besides the milestones themselves (the first key under each).
MILESTONE_KEYED = {("tariffs",): "tariff", ("caps", "per_milestone"): "cap"}


def unknown_milestone(where: tuple, mid: str, milestone_ids) -> Problem:
    """A tariff or cap under an id that is not a milestone of the agreement, with the nearest id."""
    return (where + (mid,), f"{MILESTONE_KEYED[where]} for unknown milestone '{mid}'", suggest(mid, sorted(milestone_ids), "milestones"))


def _measure_problems(c: Contract, mid: str, m, meas, where: tuple, allowed_kinds, graph, milestone_ids) -> list[Problem]:
    """A single measure's problems (one of an any_of/all_of's measures too): its side, window and week pattern."""
    out: list[Problem] = []
    if where[-1] != "measure" and meas.kind not in allowed_kinds:
        out.append((where + ("kind",), f"measure '{meas.kind}' is not for the {m.side.value} side", f"allowed: {', '.join(k for k in allowed_kinds if k not in COMBINED_MEASURES)}"))
    status = getattr(meas, "status", None)
    if status is not None and status not in c.status_kinds:
        declared = sorted(c.status_kinds)
        hint = suggest(status, declared, "declared status kinds") if declared else "declare it under status_kinds, e.g. status_kinds: {education: In education}"
        out.append((where + ("status",), f"status kind '{status}' is not declared in status_kinds", hint))
    window = getattr(meas, "window", None)
    if window is not None and window.after != "start":
        if window.after not in c.milestones:
            out.append((where + ("window", "after"), f"unknown milestone '{window.after}'", suggest(window.after, milestone_ids, "milestones", ("start",))))
        else:
            graph[mid].add(window.after)
    pattern = getattr(meas, "pattern", None) if hasattr(meas, "out_of") else None  # week patterns (N of M)
    if pattern is not None:
        if pattern == "of" and meas.out_of is None:
            out.append((where + ("out_of",), "pattern 'of' needs out_of (the M in 'N of M weeks')", ""))
        if pattern == "of" and meas.out_of is not None and meas.out_of < meas.weeks:
            out.append((where + ("out_of",), f"{meas.weeks} of {meas.out_of} weeks can never be met", "out_of (the M in 'N of M weeks') must be at least weeks (the N)"))
        if pattern != "of" and meas.out_of is not None:
            out.append((where + ("out_of",), f"out_of is only used with pattern 'of', not '{pattern}'", "write pattern: of, or leave out_of out"))
        if window is not None and window.weeks < meas.weeks:
            out.append((where + ("window", "weeks"), f"{meas.weeks} weeks cannot fit in a {window.weeks}-week window", "lengthen the window, or ask for fewer weeks"))
    return out


def check_contract(c: Contract, known_codes: frozenset[str], vocabulary: Vocabulary) -> list[Problem]:
    out: list[Problem] = []
    milestone_ids = sorted(c.milestones)
    groups_admitted = set(c.eligibility.citizens.target_groups)

    # --- the jurisdiction's vocabulary: the municipality and the target groups
    tariff_lines = [(mid, group) for mid, t in c.tariffs.items() if mid in c.milestones for group in t.amounts]
    out.extend(check_words(c.municipality.code, list(enumerate(c.eligibility.citizens.target_groups)), tariff_lines, vocabulary))

    if c.term.end < c.term.start:
        out.append((("term", "end"), f"the term ends ({c.term.end}) before it starts ({c.term.start})", "correct the date that is wrong; both days belong to the term"))

    # --- the currency every amount is in: ISO 4217, legal tender when signed, two minor units
    currency = currency_problem(c.currency, c.signed)
    if currency:
        out.append((("currency",), *currency))

    # --- parties and payment terms
    def check_party(path, party_id, roles: set[PartyRole], what: str):
        if party_id not in c.parties:
            out.append((path, f"unknown party '{party_id}'", suggest(party_id, c.parties, "parties")))
        elif not roles & set(c.parties[party_id].roles):
            out.append(
                (path, f"party '{party_id}' cannot be {what}", f"give it one of the roles: {', '.join(sorted(r.value for r in roles))}")
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
        out.append((("eligibility",), "company milestones exist but there is no eligibility.companies", "add eligibility.companies with its reference and size_bands"))

    # --- eligibility
    cit = c.eligibility.citizens
    if cit.age and cit.age.min is not None and cit.age.max is not None and cit.age.max < cit.age.min:
        out.append((("eligibility", "citizens", "age"), f"age max {cit.age.max} is below min {cit.age.min}", "min is the youngest age enrolled, max the oldest"))
    if cit.baseline:
        b = cit.baseline
        if b.benefit_weeks_at_least > b.of_weeks_before_enrolment:
            out.append(
                (
                    ("eligibility", "citizens", "baseline", "benefit_weeks_at_least"),
                    f"{b.benefit_weeks_at_least} weeks cannot be met within {b.of_weeks_before_enrolment} weeks",
                    "benefit_weeks_at_least (N) can be at most of_weeks_before_enrolment (M): 'N of the M weeks before enrolment'",
                )
            )
        for i, code in enumerate(b.codes or []):
            if code not in known_codes:
                out.append(
                    (("eligibility", "citizens", "baseline", "codes", i), f"unknown benefit code '{code}'", suggest(code, known_codes, "known codes"))
                )
    if cit.enrolment_window:
        w = cit.enrolment_window
        if w.end < w.start:
            out.append((("eligibility", "citizens", "enrolment_window", "end"), "the window ends before it starts", "correct the date that is wrong; both days belong to the window"))
        if w.start < c.term.start or w.end > c.term.end:
            out.append(
                (
                    ("eligibility", "citizens", "enrolment_window"),
                    f"enrolment window {w.start}..{w.end} reaches outside the term {c.term.start}..{c.term.end}",
                    "enrolments count only within the term: write an enrolment_window within it in this agreement",
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
            parts = [(meas, p + ("measure",))]
            if meas.kind in COMBINED_MEASURES:
                if m.side != Side.citizen:
                    out.append((p + ("measure", "kind"), f"'{meas.kind}' is for citizen milestones", f"allowed for companies: {', '.join(COMPANY_MEASURES)}"))
                parts = [(sub, p + ("measure", "measures", i)) for i, sub in enumerate(meas.measures)]
                anchors = {sub.window.after if getattr(sub, "window", None) is not None else "start" for sub in meas.measures}
                if len(anchors) > 1:
                    out.append(
                        (
                            p + ("measure", "measures"),
                            f"the measures of '{meas.kind}' count from different starts ({', '.join(sorted(anchors))})",
                            "give every measure a window with the same 'after' (a measure without a window counts from the start), or split the milestone in two",
                        )
                    )
            elif meas.kind not in allowed_kinds:
                out.append(
                    (p + ("measure", "kind"), f"measure '{meas.kind}' is not for the {m.side.value} side", f"allowed: {', '.join(allowed_kinds)}")
                )
            for i, pre in enumerate(definition.prerequisites):
                if pre not in c.milestones:
                    out.append((p + ("prerequisites", i), f"unknown milestone '{pre}'", suggest(pre, milestone_ids, "milestones")))
                else:
                    graph[mid].add(pre)
                    if c.milestones[pre].side != m.side:
                        out.append((p + ("prerequisites", i), f"'{pre}' is on the other side", "prerequisites stay on one side"))
            for part, where in parts:
                out.extend(_measure_problems(c, mid, m, part, where, allowed_kinds, graph, milestone_ids))
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
                out.append((base + ("amendments", day.isoformat()), f"amendment {day} is after the term end {c.term.end}", "date it within the term, or extend the term"))

    for cycle in _cycles(graph):
        out.append(
            (("milestones", cycle[0]), "prerequisites form a cycle: " + " -> ".join(cycle + [cycle[0]]), "no milestone can come first")
        )

    # --- exclusive groups: known milestones, one side, each milestone in one group at most
    grouped: dict[str, str] = {}
    for name, g in c.exclusive.items():
        base = ("exclusive", name, "milestones")
        sides = set()
        for i, ms in enumerate(g.milestones):
            if ms not in c.milestones:
                out.append((base + (i,), f"unknown milestone '{ms}'", suggest(ms, milestone_ids, "milestones")))
                continue
            sides.add(c.milestones[ms].side)
            if ms in grouped:
                out.append((base + (i,), f"'{ms}' is already in the exclusive group '{grouped[ms]}'", "a milestone can be in one exclusive group only"))
            elif g.milestones.index(ms) != i:
                out.append((base + (i,), f"'{ms}' is listed twice", "list each milestone once"))
            else:
                grouped[ms] = name
        if len(sides) > 1:
            out.append((base, "the group mixes citizen and company milestones", "a group holds milestones of one side (one subject pays once)"))

    for name, g in c.exclusive.items():
        if g.pays == "highest_tariff":
            for i, ms in enumerate(g.milestones):
                t = c.tariffs.get(ms)
                if t is not None and t.formula is not None:
                    out.append((
                        ("exclusive", name, "milestones", i),
                        f"'{ms}' is paid by a formula, so the group cannot pay 'the highest tariff' (a formula has no price before it is measured)",
                        "write pays: first_met, or give the milestone fixed amounts",
                    ))

    # --- tariffs
    max_tariff: dict[str, Decimal] = {}
    for mid, t in c.tariffs.items():
        base = ("tariffs", mid)
        if mid not in c.milestones:
            out.append(unknown_milestone(("tariffs",), mid, milestone_ids))
            continue
        side = c.milestones[mid].side
        for group, dated in t.amounts.items():
            gp = base + ("amounts", group)
            if group != "all":
                if group not in vocabulary.target_groups:
                    pass  # check_words said so
                elif side == Side.company:
                    out.append((gp, "company milestones are priced for 'all', not by target group", "write the company tariff under 'all'"))
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
                out.append((base + ("volume_tiers",), f"two tiers start after {a.after_outcomes} outcomes (they overlap)", "give each tier its own after_outcomes, or keep one of them"))
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
        if t.formula is not None:
            out.extend(formula_problems(c, mid, t.formula, side, base + ("formula",)))
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
            out.append(unknown_milestone(("caps", "per_milestone"), mid, milestone_ids))
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
            out.append((("costs", cid, "payer"), f"unknown party '{cost.payer}'", suggest(cost.payer, c.parties, "parties")))
        out.extend(_check_dated(c, ("costs", cid, "amount"), cost.amount, need_start=True))
    bc = c.business_case
    if bc is not None:
        cf = bc.counterfactual
        if cf.method == "deadweight" and cf.deadweight is None:
            out.append((("business_case", "counterfactual"), "method 'deadweight' needs a deadweight share", "e.g. deadweight: '0.25'"))
        if cf.method != "deadweight" and cf.deadweight is not None:
            out.append((("business_case", "counterfactual", "deadweight"), f"deadweight is only used with method 'deadweight', not '{cf.method}'", "write method: deadweight, or leave deadweight out"))
        if bc.projection is not None:
            for outcome in bc.projection.persistence:
                if outcome != "otherwise" and outcome not in c.milestones:
                    out.append((
                        ("business_case", "projection", "persistence", outcome),
                        f"persistence for unknown milestone '{outcome}'",
                        suggest(outcome, milestone_ids, "milestones", extra=("otherwise",)),
                    ))
    if c.investor is not None:
        for i, party in enumerate(c.investor.repaid_from):
            check_party(("investor", "repaid_from", i), party, payer_roles, "a payer whose outcome payments repay investors")
    return out


def check_words(
    municipality: str | None, target_groups: list[tuple[int, str]], tariff_lines: list[tuple[str, str]], vocabulary: Vocabulary
) -> list[Problem]:
    """The agreement's words that its jurisdiction's vocabulary does not know: the municipality
    (area) code, the admitted target groups, and the target groups tariffs are priced for.

    Plain values, so that the loader can also check them in a file whose other values fail
    validation (every problem at once)."""
    out: list[Problem] = []
    where = vocabulary.jurisdiction.code
    areas = vocabulary.areas.codes
    groups = sorted(vocabulary.target_groups)
    if municipality is not None and municipality not in areas:
        close = nearest_codes(municipality, areas)
        listed = ", ".join(f"{code} ({areas[code]})" for code in (close or list(areas)[:5]))
        hint = f"did you mean {listed}?" if close else f"the {len(areas)} codes of {where} are in its vocabulary, e.g. {listed}"
        out.append((("municipality", "code"), f"unknown area code '{municipality}' in {where}", hint))
    for i, group in target_groups:
        if group not in vocabulary.target_groups:
            out.append((("eligibility", "citizens", "target_groups", i), f"unknown target group '{group}' in {where}", _suggest(group, groups, f"target groups of {where}")))
    for mid, group in tariff_lines:
        if group != "all" and group not in vocabulary.target_groups:
            out.append((("tariffs", mid, "amounts", group), f"unknown target group '{group}' in {where}", _suggest(group, groups, f"target groups of {where}", ("all",))))
    return out


def _suggest(name: str, choices, label: str, extra: tuple[str, ...] = ()) -> str:
    m = get_close_matches(str(name), list(choices) + list(extra), n=1, cutoff=0.6)
    if m:
        return f"did you mean '{m[0]}'?"
    return f"{label}: {', '.join(sorted(choices)) + ''.join(f' or {e!r}' for e in extra)}"


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
            out.append((path + (d.isoformat(),), f"effective date {d} is after the term end {c.term.end}", "date it within the term, or extend the term"))
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


def formula_problems(c: Contract, mid: str, f, side: Side, base: tuple) -> list[Problem]:
    """Item 7: the formula parses and gives money; its parameters, goals and measured values make sense here."""
    out: list[Problem] = []
    for n in f.parameters:
        if n in MEASURED:
            out.append((base + ("parameters", n), f"parameter '{n}' has the name of a measured value", f"rename it: '{n}' is measured from the history (docs/semantics.md § 10)"))
    names = formula_names(side.value, f.parameters)
    try:
        formula = parse_formula(
            f.expression, names, {n: True for n in f.parameters},
            lambda n, known: (get_close_matches(n, known, n=1, cutoff=0.6) or [None])[0],
        )
    except FormulaError as e:
        pointer = f.expression[: e.column - 1]
        out.append((
            base + ("expression",),
            f"{e.message}, at column {e.column} of the formula: {f.expression!r}" + (f" (after {pointer.strip()!r})" if pointer.strip() else ""),
            e.hint or "see docs/contract-language.md, 'Formula tariffs'",
        ))
        return out
    if formula.unit != MONEY:
        out.append((
            base + ("expression",),
            f"the formula gives {unit_name(formula.unit)}, but a payment is money",
            "multiply by a price (a parameter with unit money, money_per_count or money_per_week), e.g. price * goals_met",
        ))
    for n, p in f.parameters.items():
        pp = base + ("parameters", n)
        if n not in formula.names:
            out.append((pp, f"parameter '{n}' is declared but the formula does not use it", f"use it in the expression, or remove it"))
        out.extend(_check_dated(c, pp + ("values",), p.values, need_start=True))
        for day, entry in p.values.items():
            if entry.value is None:
                continue
            if p.unit.startswith("money") and entry.value != entry.value.quantize(Decimal("0.01")):
                out.append((pp + ("values", day.isoformat(), "value"), f"{entry.value} has more than two decimals, but '{n}' is money", "write the amount in whole øre (cents), e.g. '1250.50'"))
            if n in formula.divisors and entry.value == 0:
                out.append((pp + ("values", day.isoformat(), "value"), f"the formula divides by '{n}', which is 0 from {day}", f"give '{n}' a value above 0"))
    if "goals_met" in formula.names and not f.goals:
        out.append((base + ("goals",), "the formula counts goals_met, but no goals are listed", "list the milestones that count as goals, e.g. goals: [housing_6_months, job_13_weeks]"))
    if f.goals and "goals_met" not in formula.names:
        out.append((base + ("goals",), "goals are listed, but the formula does not use goals_met", "use goals_met in the expression, or remove goals"))
    for i, g in enumerate(f.goals):
        if g not in c.milestones:
            out.append((base + ("goals", i), f"unknown milestone '{g}'", suggest(g, sorted(c.milestones), "milestones")))
        elif g == mid:
            out.append((base + ("goals", i), f"'{mid}' counts its own occurrences as goals", "list the milestones whose outcomes this payment counts"))
        elif c.milestones[g].side != side:
            out.append((base + ("goals", i), f"'{g}' is a {c.milestones[g].side.value} milestone; this tariff pays a {side.value} milestone", "count goals of the same side"))
    if "comparison_earnings" in formula.names:
        bc = c.business_case
        if bc is None or bc.counterfactual.method != "comparison_group" or bc.counterfactual.cohort is None:
            out.append((
                base + ("expression",),
                "the formula uses comparison_earnings, but the agreement names no comparison group",
                "give the business_case a counterfactual with method: comparison_group and its cohort (and sha256)",
            ))
    needs_savings = sorted(formula.names & {"savings", "actual_cost", "counterfactual_cost"})
    if needs_savings:
        bc = c.business_case
        if bc is None:
            out.append((base + ("expression",), f"the formula uses {', '.join(needs_savings)}, which are measured under the agreement's business_case", "add a business_case with benefit_rates and a counterfactual (docs/business-case.md)"))
        elif bc.counterfactual.method == "comparison_group" and bc.counterfactual.cohort is None:
            out.append((
                ("business_case", "counterfactual"),
                f"the formula of '{mid}' measures savings against the comparison group, but the agreement does not name its histories",
                "add cohort: <relative path of the comparison group's cohort file> (and its sha256) to the counterfactual",
            ))
    for key in ("floor", "cap"):
        dated = getattr(f, key)
        if dated is not None:
            out.extend(_check_dated(c, base + (key,), dated, need_start=True))
    if f.floor and f.cap:
        for day, entry in f.floor.items():
            cap = max((d for d in f.cap if d <= day), default=None)
            if cap is not None and entry.value is not None and f.cap[cap].value is not None and entry.value > f.cap[cap].value:
                out.append((base + ("floor", day.isoformat(), "value"), f"the floor {entry.value} is above the cap {f.cap[cap].value} in force on {day}", "a floor must be at most the cap"))
    return out
