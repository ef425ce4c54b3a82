"""Semantic diff of two versions of an agreement, in the agreement's own terms.

Owns the use case "what did this amendment change, and does it move money?". Both
versions are compared after their templates are merged in, so a change made in the
programme template shows up in every agreement that extends it. Each change says:

- ``area``: where in the agreement (term, eligibility, milestones, tariffs, payment,
  caps, parties, agreement, references, wording);
- ``kind``: added, removed, changed, redefined, widened, narrowed, raised, lowered,
  withdrawn or reworded;
- ``what``: one sentence a lawyer can read;
- ``old`` / ``new``: the raw values (money as strings such as ``"36000.00"``);
- ``effective_from``: the effective date, when the change is a dated amendment;
- ``references``: the clauses involved;
- ``affects_payments``: whether the change can alter who is paid what and when.

Wording (descriptions, documentation, titles, party names) and clause renumbering never
affect payments. Everything else in eligibility, milestone definitions, tariffs, payer
split, payee, claim lag, caps, the term and the benefit-code vocabulary does.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field

from pbr_rules.language import LoadedContract
from pbr_rules.models.common import DatedEntry, ISODate, Strict
from pbr_rules.models.contract import Contract, MilestoneDefinition
from pbr_rules.models.vocabulary import Vocabulary
from pbr_rules.i18n import N_, _, format_date, format_money
from pbr_rules.money import money_str

Area = Literal["term", "eligibility", "milestones", "tariffs", "payment", "caps", "parties", "agreement", "references", "wording"]
AREAS: tuple[str, ...] = ("term", "eligibility", "milestones", "tariffs", "payment", "caps", "parties", "agreement", "references", "wording")
AREA_TITLES = {
    "term": N_("Term"),
    "eligibility": N_("Eligibility"),
    "milestones": N_("Milestones"),
    "tariffs": N_("Tariffs"),
    "payment": N_("Payer split, payee and claim lag"),
    "caps": N_("Caps"),
    "parties": N_("Parties"),
    "agreement": N_("The agreement"),
    "references": N_("Clause references"),
    "wording": N_("Wording"),
}
LAG_KINDS = {"working": N_("working"), "calendar": N_("calendar")}
# The kinds of change as a reader sees them (the JSON keeps the English ids).
KIND_WORDS = {
    "added": N_("added"), "removed": N_("removed"), "changed": N_("changed"), "reworded": N_("reworded"),
    "raised": N_("raised"), "lowered": N_("lowered"), "withdrawn": N_("withdrawn"), "redefined": N_("redefined"),
    "widened": N_("widened"), "narrowed": N_("narrowed"),
}
ChangeKind = Literal[
    "added", "removed", "changed", "redefined", "widened", "narrowed", "raised", "lowered", "withdrawn", "reworded"
]


class Change(Strict):
    """One change between two versions of an agreement."""

    area: Area
    path: str = Field(description="Dotted path in the merged agreement, e.g. 'tariffs.job_13_weeks.amounts.all.2021-07-01'.")
    kind: ChangeKind
    what: str = Field(description="The change in one sentence.")
    old: str | None = None
    new: str | None = None
    effective_from: ISODate | None = None
    references: list[str] = Field(default_factory=list, description="The clauses involved.")
    affects_payments: bool


class ContractVersion(Strict):
    id: str
    version: str
    content_hash: str
    path: str


class ContractDiff(Strict):
    """Every change from ``old`` to ``new``: payment-relevant ones first, then by area."""

    old: ContractVersion
    new: ContractVersion
    affects_payments: bool = Field(description="True when at least one change can alter payments.")
    changes: list[Change]


# --- helpers ------------------------------------------------------------------------------


def _s(value: Any) -> str | None:
    """A raw value as the string stored in ``old``/``new``."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return money_str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(str(_s(v)) for v in value) + "]"
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "value"):  # an Enum
        return str(value.value)
    return str(value)


def _money(value: Decimal | None, currency: str) -> str:
    return _("withdrawn") if value is None else format_money(value, currency)


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """A JSON-like mapping as ``{dotted.path: leaf}``; lists are leaves (they are replaced whole)."""
    out: dict[str, Any] = {}
    if isinstance(data, dict):
        for k, v in data.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    else:
        out[prefix] = data
    return out


def definition_changes(old: MilestoneDefinition | None, new: MilestoneDefinition | None) -> list[tuple[str, Any, Any]]:
    """The fields that differ between two milestone definitions: ``[(field, old, new)]``, e.g. ``('measure.weeks', 13, 10)``."""
    a = flatten(old.model_dump(mode="json")) if old is not None else {}
    b = flatten(new.model_dump(mode="json")) if new is not None else {}
    return [(k, a.get(k), b.get(k)) for k in sorted(set(a) | set(b), key=lambda k: (k.count("."), k)) if a.get(k) != b.get(k)]


def _changes_text(fields: list[tuple[str, Any, Any]]) -> str:
    return "; ".join(f"{k} {_show(o)} -> {_show(n)}" for k, o, n in fields)


def _show(v: Any) -> str:
    if v is None:
        return _("none")
    if isinstance(v, list):
        return "[" + ", ".join(map(str, v)) + "]"
    if isinstance(v, bool):
        return _("yes") if v else _("no")
    return str(v)


def _value_on(dated: dict[date, DatedEntry] | None, day: date) -> Decimal | None:
    """The value in force on ``day`` (None: nothing in force, or withdrawn)."""
    if not dated:
        return None
    days = [d for d in sorted(dated) if d <= day]
    return dated[days[-1]].value if days else None


def group_label(line: str, vocabulary: Vocabulary | None = None) -> str:
    """A tariff line or target group with its name in the jurisdiction's language: 'cash_benefit (udsatte kontanthjælpsmodtagere)'."""
    if line == "all":
        return _("all target groups")
    entry = vocabulary.target_groups.get(line) if vocabulary is not None else None
    return f"{line} ({entry.name})" if entry is not None else line


class _Collector:
    def __init__(self, old_currency: str, new_currency: str) -> None:
        self.changes: list[Change] = []
        # Old amounts are shown in the old version's currency, new ones in the new version's.
        self.old_currency, self.new_currency = old_currency, new_currency

    def add(self, area: str, path: str, kind: str, what: str, old: Any = None, new: Any = None, *,
            effective_from: date | None = None, references: list[str] | tuple[str, ...] = (), affects: bool) -> None:
        refs = list(dict.fromkeys(r for r in references if r))
        self.changes.append(
            Change(area=area, path=path, kind=kind, what=what, old=_s(old), new=_s(new), effective_from=effective_from,
                   references=refs, affects_payments=affects)
        )

    def wording(self, path: str, label: str, old: str | None, new: str | None, refs=()) -> None:
        if old != new:
            kind = "added" if old is None else "removed" if new is None else "reworded"
            what = {"added": _("{label} added"), "removed": _("{label} removed"), "reworded": _("{label} reworded")}[kind]
            self.add("wording", path, kind, what.format(label=label), old, new, references=refs, affects=False)

    def reference(self, path: str, label: str, old: str | None, new: str | None) -> None:
        if old != new:
            what = _("{label}: clause '{old}' -> '{new}'").format(label=label, old=old, new=new)
            self.add("references", path, "changed", what, old, new, references=[old or "", new or ""], affects=False)

    def dated_money(self, area: str, path: str, label: str, old: dict | None, new: dict | None, refs: tuple[str, ...] = ()) -> None:
        """Effective-dated amounts (tariffs, caps): each date added, removed or changed, with what is in force then."""
        old, new = old or {}, new or {}
        for day in sorted(set(old) | set(new)):
            o, n = old.get(day), new.get(day)
            p = f"{path}.{day.isoformat()}"
            if o is not None and n is not None:
                if o.value != n.value:
                    kind = _money_kind(o.value, n.value)
                    what = _("{label}: {old} -> {new} from {date}").format(label=label, old=_money(o.value, self.old_currency), new=_money(n.value, self.new_currency), date=format_date(day))
                    self.add(area, p, kind, what, o.value, n.value,
                             effective_from=day, references=[n.reference, o.reference, *refs], affects=True)
                self.reference(p + ".reference", _("{label} from {date}").format(label=label, date=format_date(day)), o.reference, n.reference)
                self.wording(
                    p + ".documentation", _("{label} from {date}: documentation").format(label=label, date=format_date(day)),
                    o.documentation, n.documentation, [n.reference],
                )
                continue
            before = _value_on(old, day)  # what the old terms had in force that day
            after = _value_on(new, day)
            if n is not None:
                kind = _money_kind(before, n.value) if before is not None or n.value is None else "added"
                what = _("{label}: {amount} from {date} (the old terms had {state} then)").format(
                    label=label, amount=_money(n.value, self.new_currency), date=format_date(day), state=_state_on(old, day, self.old_currency)
                )
                self.add(area, p, kind, what, before, n.value, effective_from=day, references=[n.reference, *refs], affects=before != n.value)
            else:
                kind = _money_kind(o.value, after) if after is not None or o.value is None else "removed"
                what = _("{label}: the value {amount} from {date} is removed; {instead} is in force then instead").format(
                    label=label, amount=_money(o.value, self.old_currency), date=format_date(day),
                    instead=_money(after, self.new_currency) if after is not None else _("nothing"),
                )
                self.add(area, p, kind, what, o.value, after, effective_from=day, references=[o.reference, *refs], affects=o.value != after)


def _state_on(dated: dict, day: date, currency: str) -> str:
    """What a dated amount says on ``day``, in words: an amount, 'withdrawn' or 'nothing in force'."""
    days = [d for d in sorted(dated) if d <= day]
    if not days:
        return _("nothing in force")
    value = dated[days[-1]].value
    return _("{amount} in force").format(amount=format_money(value, currency)) if value is not None else _("it withdrawn")


def _money_kind(old: Decimal | None, new: Decimal | None) -> str:
    if new is None:
        return "withdrawn" if old is not None else "changed"
    if old is None:
        return "added"
    return "raised" if new > old else "lowered" if new < old else "changed"


def _more_is_wider(old: int | None, new: int | None) -> str:
    """For an upper bound or a size (None = no bound): a larger value admits more."""
    if old is None:
        return "narrowed"
    if new is None:
        return "widened"
    return "widened" if new > old else "narrowed"


def _less_is_wider(old: int | None, new: int | None) -> str:
    if old is None:
        return "narrowed"
    if new is None:
        return "widened"
    return "widened" if new < old else "narrowed"


# --- the diff -----------------------------------------------------------------------------


def diff_contracts(old: LoadedContract, new: LoadedContract) -> ContractDiff:
    """The semantic differences between two loaded versions of an agreement (templates merged)."""
    a, b = old.contract, new.contract
    out = _Collector(a.currency, b.currency)
    _agreement(out, old, new)
    _term(out, a, b)
    _eligibility(out, a, b, new.vocabulary)
    _milestones(out, a, b)
    _tariffs(out, a, b, new.vocabulary)
    _payment(out, a, b)
    _caps(out, a, b)
    _parties(out, a, b)
    _other_terms(out, a, b)
    order = {area: i for i, area in enumerate(AREAS)}
    changes = sorted(enumerate(out.changes), key=lambda ic: (not ic[1].affects_payments, order[ic[1].area], ic[0]))
    changes = [c for _, c in changes]

    def version(lc: LoadedContract) -> ContractVersion:
        return ContractVersion(id=lc.contract.id, version=lc.contract.version, content_hash=lc.content_hash, path=lc.path)

    return ContractDiff(old=version(old), new=version(new), affects_payments=any(c.affects_payments for c in changes), changes=changes)


def _agreement(out: _Collector, old: LoadedContract, new: LoadedContract) -> None:
    a, b = old.contract, new.contract
    if a.id != b.id:
        out.add("agreement", "id", "changed", _("contract id {old} -> {new}").format(old=a.id, new=b.id), a.id, b.id, affects=False)
    if a.version != b.version:
        out.add("agreement", "version", "changed", _("version {old} -> {new}").format(old=a.version, new=b.version), a.version, b.version, affects=False)
    if a.signed != b.signed:
        out.add("agreement", "signed", "changed", _("signed {old} -> {new}").format(old=format_date(a.signed), new=format_date(b.signed)), a.signed, b.signed, affects=False)
    if a.illustrative != b.illustrative:
        out.add("agreement", "illustrative", "changed", _("illustrative {old} -> {new}").format(old=_show(a.illustrative), new=_show(b.illustrative)), a.illustrative, b.illustrative, affects=False)
    if a.programme != b.programme:
        out.add("agreement", "programme", "changed", _("programme {old} -> {new}").format(old=a.programme, new=b.programme), a.programme, b.programme, affects=False)
    if a.currency != b.currency:
        out.add("agreement", "currency", "changed", _("currency {old} -> {new}").format(old=a.currency, new=b.currency), a.currency, b.currency, affects=True)
    if a.municipality.code != b.municipality.code:
        out.add("agreement", "municipality.code", "changed", _("municipality code {old} -> {new} (who is eligible)").format(old=a.municipality.code, new=b.municipality.code),
                a.municipality.code, b.municipality.code, affects=True)
    if old.codes != new.codes:
        ca, cb = old.codes.codes, new.codes.codes
        for code in sorted(set(ca) | set(cb)):
            x, y = ca.get(code), cb.get(code)
            p = f"benefit_codes.{code}"
            if x is None:
                out.add("agreement", p, "added", _("benefit code {code} added (public support: {value})").format(code=code, value=_show(y.public_support)), None, code, references=[y.reference], affects=True)
            elif y is None:
                out.add("agreement", p, "removed", _("benefit code {code} removed").format(code=code), code, None, references=[x.reference], affects=True)
            else:
                fa = flatten(x.model_dump(mode="json", exclude={"name", "name_en", "documentation", "reference"}))
                fb = flatten(y.model_dump(mode="json", exclude={"name", "name_en", "documentation", "reference"}))
                for k in sorted(set(fa) | set(fb)):
                    if fa.get(k) != fb.get(k):
                        out.add("agreement", f"{p}.{k}", "changed", _("benefit code {code}: {field} {old} -> {new}").format(code=code, field=k, old=_show(fa.get(k)), new=_show(fb.get(k))),
                                fa.get(k), fb.get(k), references=[y.reference], affects=True)
                out.reference(p + ".reference", _("benefit code {code}").format(code=code), x.reference, y.reference)
                for f in ("name", "name_en", "documentation"):
                    out.wording(f"{p}.{f}", _("benefit code {code}: {field}").format(code=code, field=f), getattr(x, f), getattr(y, f))
    out.wording("title", _("title"), a.title, b.title)
    out.wording("description", _("agreement description"), a.description, b.description)
    out.wording("documentation", _("agreement documentation"), a.documentation, b.documentation)
    out.wording("municipality.name", _("municipality name"), a.municipality.name, b.municipality.name)


def _term(out: _Collector, a: Contract, b: Contract) -> None:
    for f, label in (("start", _("term start")), ("end", _("term end"))):
        x, y = getattr(a.term, f), getattr(b.term, f)
        if x != y:
            wider = (y < x) if f == "start" else (y > x)
            out.add("term", f"term.{f}", "widened" if wider else "narrowed", _("{label} {old} -> {new}").format(label=label, old=format_date(x), new=format_date(y)), x, y, affects=True)


def _admitted(out: _Collector, path: str, old: list, new: list, what: str, label, refs: list[str]) -> None:
    """Members of an admitted list (target groups, size bands) added (widened) or removed (narrowed)."""
    for v in new:
        if v not in old:
            out.add("eligibility", path, "widened", _("{what} admitted: {value}").format(what=what, value=label(v)), None, getattr(v, "value", v), references=refs, affects=True)
    for v in old:
        if v not in new:
            out.add("eligibility", path, "narrowed", _("{what} no longer admitted: {value}").format(what=what, value=label(v)), getattr(v, "value", v), None, references=refs, affects=True)


def _eligibility(out: _Collector, a: Contract, b: Contract, vocabulary: Vocabulary | None) -> None:
    x, y = a.eligibility.citizens, b.eligibility.citizens
    p = "eligibility.citizens"
    refs = [y.reference]
    _admitted(out, f"{p}.target_groups", x.target_groups, y.target_groups, _("target group"), lambda g: group_label(g, vocabulary), refs)
    amin, amax = (x.age.min, x.age.max) if x.age else (None, None)
    bmin, bmax = (y.age.min, y.age.max) if y.age else (None, None)
    if amin != bmin:
        out.add("eligibility", f"{p}.age.min", _less_is_wider(amin, bmin), _("lowest age {old} -> {new}").format(old=_show(amin), new=_show(bmin)), amin, bmin, references=refs, affects=True)
    if amax != bmax:
        out.add("eligibility", f"{p}.age.max", _more_is_wider(amax, bmax), _("highest age {old} -> {new}").format(old=_show(amax), new=_show(bmax)), amax, bmax, references=refs, affects=True)
    if x.residence_in_municipality != y.residence_in_municipality:
        kind = "narrowed" if y.residence_in_municipality else "widened"
        out.add("eligibility", f"{p}.residence_in_municipality", kind,
                _("residence in the municipality now required") if y.residence_in_municipality else _("residence in the municipality no longer required"),
                x.residence_in_municipality, y.residence_in_municipality, references=refs, affects=True)
    _baseline(out, x.baseline, y.baseline, p + ".baseline")
    wa, wb = x.enrolment_window, y.enrolment_window
    if wa != wb:
        wp = f"{p}.enrolment_window"
        if wa is None or wb is None:
            kind = "narrowed" if wa is None else "widened"
            out.add("eligibility", wp, kind, _("enrolment window {old} -> {new}").format(old=_window(wa), new=_window(wb)), _window(wa), _window(wb), references=refs, affects=True)
        else:
            if wa.start != wb.start:
                out.add("eligibility", wp + ".start", "widened" if wb.start < wa.start else "narrowed",
                        _("enrolment window opens {old} -> {new}").format(old=format_date(wa.start), new=format_date(wb.start)), wa.start, wb.start, references=refs, affects=True)
            if wa.end != wb.end:
                out.add("eligibility", wp + ".end", "widened" if wb.end > wa.end else "narrowed",
                        _("enrolment window closes {old} -> {new}").format(old=format_date(wa.end), new=format_date(wb.end)), wa.end, wb.end, references=refs, affects=True)
    _cohort_and_wording(out, p, _("citizen"), x, y, refs)

    ca, cb = a.eligibility.companies, b.eligibility.companies
    p = "eligibility.companies"
    if ca is None and cb is None:
        return
    if ca is None or cb is None:
        kind = "widened" if ca is None else "narrowed"
        out.add("eligibility", p, kind, _("companies may now join") if ca is None else _("companies may no longer join"),
                references=[(cb or ca).reference], affects=True)
        return
    refs = [cb.reference]
    _admitted(out, f"{p}.size_bands", ca.size_bands, cb.size_bands, _("company size band"), lambda b: b.value, refs)
    for f, label in (("partner_required", _("partnership")), ("in_municipality", _("location in the municipality"))):
        va, vb = getattr(ca, f), getattr(cb, f)
        if va != vb:
            what = _("companies: {label} now required") if vb else _("companies: {label} no longer required")
            out.add("eligibility", f"{p}.{f}", "narrowed" if vb else "widened", what.format(label=label),
                    va, vb, references=refs, affects=True)
    _cohort_and_wording(out, p, _("company"), ca, cb, refs)


def _cohort_and_wording(out: _Collector, p: str, who: str, x, y, refs: list[str]) -> None:
    """Cohort size, clause and wording of one side's eligibility (citizens or companies)."""
    if x.cohort_size != y.cohort_size:
        out.add("eligibility", f"{p}.cohort_size", _more_is_wider(x.cohort_size, y.cohort_size),
                _("{who} cohort size {old} -> {new}").format(
                    who=who, old=_show(x.cohort_size) if x.cohort_size else _("unlimited"), new=_show(y.cohort_size) if y.cohort_size else _("unlimited")
                ),
                x.cohort_size, y.cohort_size, references=refs, affects=True)
    tx, ty = x.target, y.target
    if (tx and (tx.size, tx.by)) != (ty and (ty.size, ty.by)):
        # a soft target is reported, never enforced: it changes no payment
        out.add("eligibility", f"{p}.target", "changed", _("{who} target {old} -> {new}").format(who=who, old=_target(tx), new=_target(ty)),
                _target(tx), _target(ty), references=[t.reference for t in (ty, tx) if t], affects=False)
    elif tx and ty:
        out.reference(f"{p}.target.reference", _("{who} target").format(who=who), tx.reference, ty.reference)
    out.reference(f"{p}.reference", _("{who} eligibility").format(who=who), x.reference, y.reference)
    out.wording(f"{p}.description", _("{who} eligibility description").format(who=who), x.description, y.description, refs)
    out.wording(f"{p}.documentation", _("{who} eligibility documentation").format(who=who), x.documentation, y.documentation, refs)


def _window(w) -> str:
    return _("none") if w is None else f"{format_date(w.start)}..{format_date(w.end)}"


def _baseline(out: _Collector, x, y, p: str) -> None:
    if x is None and y is None:
        return
    if x is None or y is None:
        kind = "narrowed" if x is None else "widened"
        ref = (y or x).reference
        if x is None:
            text = _("baseline added: on benefits at least {weeks} of the {of_weeks} weeks before enrolment").format(
                weeks=y.benefit_weeks_at_least, of_weeks=y.of_weeks_before_enrolment
            )
        else:
            text = _("baseline (time on benefits before enrolment) removed")
        out.add("eligibility", p, kind, text, references=[ref], affects=True)
        return
    refs = [y.reference]
    if x.benefit_weeks_at_least != y.benefit_weeks_at_least:
        out.add("eligibility", f"{p}.benefit_weeks_at_least", _less_is_wider(x.benefit_weeks_at_least, y.benefit_weeks_at_least),
                _("baseline weeks on benefits {old} -> {new} (of {of_weeks})").format(
                    old=x.benefit_weeks_at_least, new=y.benefit_weeks_at_least, of_weeks=y.of_weeks_before_enrolment
                ),
                x.benefit_weeks_at_least, y.benefit_weeks_at_least, references=refs, affects=True)
    if x.of_weeks_before_enrolment != y.of_weeks_before_enrolment:
        out.add("eligibility", f"{p}.of_weeks_before_enrolment", _more_is_wider(x.of_weeks_before_enrolment, y.of_weeks_before_enrolment),
                _("baseline looks back {old} -> {new} weeks").format(old=x.of_weeks_before_enrolment, new=y.of_weeks_before_enrolment),
                x.of_weeks_before_enrolment, y.of_weeks_before_enrolment, references=refs, affects=True)
    if x.codes != y.codes:
        if x.codes is None or y.codes is None:
            kind = "narrowed" if x.codes is None else "widened"
        else:
            added, removed = set(y.codes) - set(x.codes), set(x.codes) - set(y.codes)
            kind = "widened" if added and not removed else "narrowed" if removed and not added else "changed"
        show = lambda c: _("every public-support code") if c is None else ", ".join(c)  # noqa: E731
        what = _("baseline benefit codes: {old} -> {new}").format(old=show(x.codes), new=show(y.codes))
        out.add("eligibility", f"{p}.codes", kind, what, x.codes, y.codes, references=refs, affects=True)
    out.reference(f"{p}.reference", _("baseline"), x.reference, y.reference)


def _milestones(out: _Collector, a: Contract, b: Contract) -> None:
    ids = list(a.milestones) + [m for m in b.milestones if m not in a.milestones]
    for mid in ids:
        x, y = a.milestones.get(mid), b.milestones.get(mid)
        p = f"milestones.{mid}"
        if x is None:
            out.add("milestones", p, "added", _("milestone {milestone} added: {description}").format(milestone=mid, description=y.description), None, mid, references=[y.reference], affects=True)
            continue
        if y is None:
            out.add("milestones", p, "removed", _("milestone {milestone} removed: {description}").format(milestone=mid, description=x.description), mid, None, references=[x.reference], affects=True)
            continue
        if x.side != y.side:
            out.add("milestones", f"{p}.side", "redefined", _("{milestone}: side {old} -> {new}").format(milestone=mid, old=x.side.value, new=y.side.value), x.side, y.side, references=[y.reference], affects=True)
        base_x = MilestoneDefinition(measure=x.measure, prerequisites=x.prerequisites, repeat=x.repeat)
        base_y = MilestoneDefinition(measure=y.measure, prerequisites=y.prerequisites, repeat=y.repeat)
        for field, o, n in definition_changes(base_x, base_y):
            out.add("milestones", f"{p}.{field}", "redefined", _("{milestone} redefined from the start: {field} {old} -> {new}").format(milestone=mid, field=field, old=_show(o), new=_show(n)), o, n,
                    references=[y.reference], affects=True)
        for day in sorted(set(x.amendments) | set(y.amendments)):
            ea, eb = x.amendments.get(day), y.amendments.get(day)
            ap = f"{p}.amendments.{day.isoformat()}"
            if ea is not None and eb is not None:
                if ea.value != eb.value:
                    if eb.value is None or ea.value is None:
                        kind = "withdrawn" if eb.value is None else "redefined"
                        what = (
                            _("{milestone}: the amendment from {date} now withdraws the milestone")
                            if eb.value is None
                            else _("{milestone}: the amendment from {date} now redefines it instead of withdrawing it")
                        ).format(milestone=mid, date=format_date(day))
                        out.add("milestones", ap, kind, what, effective_from=day, references=[eb.reference], affects=True)
                    else:
                        for field, o, n in definition_changes(ea.value, eb.value):
                            out.add("milestones", f"{ap}.{field}", "redefined", _("{milestone} as amended from {date}: {field} {old} -> {new}").format(milestone=mid, date=format_date(day), field=field, old=_show(o), new=_show(n)), o, n,
                                    effective_from=day, references=[eb.reference], affects=True)
                out.reference(f"{ap}.reference", _("{milestone} amendment from {date}").format(milestone=mid, date=format_date(day)), ea.reference, eb.reference)
                out.wording(
                    f"{ap}.documentation", _("{milestone} amendment from {date}: documentation").format(milestone=mid, date=format_date(day)),
                    ea.documentation, eb.documentation, [eb.reference],
                )
            elif eb is not None:
                before = _definition_before(y, day)
                if eb.value is None:
                    what = _("{milestone} withdrawn from {date} ({reference})").format(milestone=mid, date=format_date(day), reference=eb.reference)
                    kind = "withdrawn"
                else:
                    fields = definition_changes(before, eb.value)
                    what = _("{milestone} redefined from {date} ({reference}): {changes}").format(
                        milestone=mid, date=format_date(day), reference=eb.reference,
                        changes=_changes_text(fields) if fields else _("same definition restated"),
                    )
                    kind = "redefined"
                out.add("milestones", ap, kind, what, effective_from=day, references=[eb.reference, y.reference], affects=True)
            else:
                what = _("{milestone}: the amendment from {date} ({reference}) is removed").format(milestone=mid, date=format_date(day), reference=ea.reference)
                out.add("milestones", ap, "removed", what, effective_from=day, references=[ea.reference, y.reference], affects=True)
        out.reference(f"{p}.reference", _("milestone {milestone}").format(milestone=mid), x.reference, y.reference)
        out.wording(f"{p}.description", _("{milestone}: description").format(milestone=mid), x.description, y.description, [y.reference])
        out.wording(f"{p}.documentation", _("{milestone}: documentation").format(milestone=mid), x.documentation, y.documentation, [y.reference])


def _definition_before(m, day: date) -> MilestoneDefinition | None:
    """The definition in force the day before ``day`` (from the same contract)."""
    current = None
    for start, definition, _ in m.versions():
        if start is None or start < day:
            current = definition
    return current


def _target(t) -> str:
    if t is None:
        return _("none")
    return _("{size} by {date}").format(size=t.size, date=format_date(t.by)) if t.by else str(t.size)


PRICING_DATES = {"trigger": N_("the trigger date"), "enrolment": N_("the enrolment date"), "referral": N_("the referral date")}


def _pricing(value: str | None, default: str | None = None) -> str:
    return _(PRICING_DATES[value or default or "trigger"])


def _tariffs(out: _Collector, a: Contract, b: Contract, vocabulary: Vocabulary | None) -> None:
    ids = list(a.tariffs) + [m for m in b.tariffs if m not in a.tariffs]
    for mid in ids:
        x, y = a.tariffs.get(mid), b.tariffs.get(mid)
        p = f"tariffs.{mid}"
        if x is None:
            out.add("tariffs", p, "added", _("{milestone} is now paid for (tariff added)").format(milestone=mid), references=[y.reference], affects=True)
        elif y is None:
            out.add("tariffs", p, "removed", _("{milestone} is no longer paid for (tariff removed)").format(milestone=mid), references=[x.reference], affects=True)
        if x is None or y is None:
            continue
        refs = (y.reference,)
        lines = list(x.amounts) + [g for g in y.amounts if g not in x.amounts]
        for line in lines:
            da, db = x.amounts.get(line), y.amounts.get(line)
            lp = f"{p}.amounts.{line}"
            label = f"{mid}, {group_label(line, vocabulary)}"
            if da is None:
                first = ", ".join(_("{amount} from {date}").format(amount=_money(db[d].value, out.new_currency), date=format_date(d)) for d in sorted(db))
                out.add("tariffs", lp, "added", _("{label}: own tariff line added ({values})").format(label=label, values=first), None, line,
                        effective_from=min(db), references=[db[d].reference for d in sorted(db)] + list(refs), affects=True)
            elif db is None:
                out.add("tariffs", lp, "removed", _("{label}: own tariff line removed (the line for all target groups applies)").format(label=label), line, None,
                        references=[da[d].reference for d in sorted(da)] + list(refs), affects=True)
            else:
                out.dated_money("tariffs", lp, label, da, db, refs)
        if x.payers != y.payers:
            out.add("tariffs", f"{p}.payers", "changed", _("{milestone}: own payer split {old} -> {new}").format(milestone=mid, old=_payers(x.payers), new=_payers(y.payers)),
                    _payers(x.payers), _payers(y.payers), references=list(refs), affects=True)
        if x.payee != y.payee:
            out.add("tariffs", f"{p}.payee", "changed", _("{milestone}: own payee {old} -> {new}").format(milestone=mid, old=_show(x.payee), new=_show(y.payee)), x.payee, y.payee, references=list(refs), affects=True)
        old_on, new_on = x.pricing_date or a.payment.priced_on, y.pricing_date or b.payment.priced_on
        if old_on != new_on:
            out.add("tariffs", f"{p}.pricing_date", "changed",
                    _("{milestone}: priced on {old} -> {new}").format(milestone=mid, old=_pricing(old_on), new=_pricing(new_on)),
                    old_on, new_on, references=list(refs), affects=True)
        out.dated_money("tariffs", f"{p}.max_total", _("{milestone}, maximum total per subject").format(milestone=mid), x.max_total, y.max_total, refs)
        _formula_changes(out, mid, p, x.formula, y.formula, refs)
        ta = {t.after_outcomes: t for t in x.volume_tiers}
        tb = {t.after_outcomes: t for t in y.volume_tiers}
        for n in sorted(set(ta) | set(tb)):
            u, v = ta.get(n), tb.get(n)
            tp = f"{p}.volume_tiers.after_{n}"
            label = _("{milestone}, volume tier after {n} outcomes").format(milestone=mid, n=n)
            if u is None:
                out.add("tariffs", tp, "added", _("{label} added").format(label=label), None, n, references=[v.reference], affects=True)
            elif v is None:
                out.add("tariffs", tp, "removed", _("{label} removed").format(label=label), n, None, references=[u.reference], affects=True)
            else:
                out.dated_money("tariffs", tp + ".amount", label, u.amount, v.amount, (v.reference,))
                out.reference(tp + ".reference", label, u.reference, v.reference)
        out.reference(f"{p}.reference", _("tariff of {milestone}").format(milestone=mid), x.reference, y.reference)


def _formula_changes(out: _Collector, mid: str, p: str, fa, fb, refs: tuple) -> None:
    """A formula tariff's changes: the expression, goals, each parameter's values, floor and cap."""
    if fa is None and fb is None:
        return
    fp = f"{p}.formula"
    if fa is None or fb is None:
        old, new = (_("fixed amounts"), fb.expression) if fa is None else (fa.expression, _("fixed amounts"))
        out.add("tariffs", fp, "changed", _("{milestone}: paid by {old} -> {new}").format(milestone=mid, old=old, new=new), old, new,
                references=[(fb or fa).reference] + list(refs), affects=True)
        return
    if fa.expression != fb.expression:
        out.add("tariffs", fp + ".expression", "changed", _("{milestone}: formula {old} -> {new}").format(milestone=mid, old=fa.expression, new=fb.expression),
                fa.expression, fb.expression, references=[fb.reference] + list(refs), affects=True)
    if fa.goals != fb.goals:
        out.add("tariffs", fp + ".goals", "changed", _("{milestone}: goals counted {old} -> {new}").format(milestone=mid, old=", ".join(fa.goals) or "-", new=", ".join(fb.goals) or "-"),
                ", ".join(fa.goals), ", ".join(fb.goals), references=[fb.reference] + list(refs), affects=True)
    for name in list(fa.parameters) + [n for n in fb.parameters if n not in fa.parameters]:
        u, v = fa.parameters.get(name), fb.parameters.get(name)
        if u == v:
            continue
        show = lambda q: "; ".join(f"{q.values[d].value} ({q.unit}) from {format_date(d)}" for d in sorted(q.values)) if q is not None else "-"  # noqa: E731
        references = [e.reference for q in (u, v) if q is not None for e in q.values.values()]
        out.add("tariffs", f"{fp}.parameters.{name}", "changed", _("{milestone}: formula parameter {name} {old} -> {new}").format(milestone=mid, name=name, old=show(u), new=show(v)),
                show(u), show(v), references=references + list(refs), affects=True)
    out.dated_money("tariffs", fp + ".floor", _("{milestone}, formula floor per occurrence").format(milestone=mid), fa.floor, fb.floor, refs)
    out.dated_money("tariffs", fp + ".cap", _("{milestone}, formula cap per occurrence").format(milestone=mid), fa.cap, fb.cap, refs)


def _payers(payers) -> str:
    if payers is None:
        return _("the agreement's")
    return ", ".join(f"{p.party} {format(p.share, 'f')}" for p in payers)


def _payment(out: _Collector, a: Contract, b: Contract) -> None:
    x, y = a.payment, b.payment
    refs = [y.reference]
    if x.payers != y.payers:
        out.add("payment", "payment.payers", "changed", _("payer split {old} -> {new}").format(old=_payers(x.payers), new=_payers(y.payers)), _payers(x.payers), _payers(y.payers),
                references=refs, affects=True)
    for f, label in (("citizen_payee", _("citizen-side payee")), ("company_payee", _("company-side payee"))):
        if getattr(x, f) != getattr(y, f):
            what = _("{label} {old} -> {new}").format(label=label, old=_show(getattr(x, f)), new=_show(getattr(y, f)))
            out.add("payment", f"payment.{f}", "changed", what, getattr(x, f), getattr(y, f),
                    references=refs, affects=True)
    la, lb = x.claim_lag, y.claim_lag
    if (la.days, la.kind) != (lb.days, lb.kind):
        out.add("payment", "payment.claim_lag", "changed", _("claim lag {old_days} {old_kind} days -> {new_days} {new_kind} days").format(old_days=la.days, old_kind=_(LAG_KINDS[la.kind]), new_days=lb.days, new_kind=_(LAG_KINDS[lb.kind])),
                f"{la.days} {la.kind}", f"{lb.days} {lb.kind}", references=[lb.reference], affects=True)
    ja, jb = a.effective_jurisdiction, b.effective_jurisdiction
    if ja != jb:
        # Another calendar moves every due date counted in working days; another vocabulary other words.
        out.add("payment", "jurisdiction", "changed", _("jurisdiction {old} -> {new} (working days and vocabulary)").format(old=ja.code, new=jb.code),
                ja.code, jb.code, references=[lb.reference], affects=True)
    out.reference("payment.claim_lag.reference", _("claim lag"), la.reference, lb.reference)
    out.reference("payment.reference", _("payment terms"), x.reference, y.reference)


def _caps(out: _Collector, a: Contract, b: Contract) -> None:
    x, y = a.caps, b.caps
    for f, label in (("per_participant", _("cap per participant")), ("per_company", _("cap per company")), ("per_contract", _("cap on the whole agreement"))):
        out.dated_money("caps", f"caps.{f}", label, getattr(x, f), getattr(y, f))
    for f, label in (("per_milestone", _("cap on milestone {key}")), ("per_payer", _("cap on payer {key}"))):
        da, db = getattr(x, f), getattr(y, f)
        for key in list(da) + [k for k in db if k not in da]:
            out.dated_money("caps", f"caps.{f}.{key}", label.format(key=key), da.get(key), db.get(key))


def _parties(out: _Collector, a: Contract, b: Contract) -> None:
    for pid in list(a.parties) + [p for p in b.parties if p not in a.parties]:
        x, y = a.parties.get(pid), b.parties.get(pid)
        p = f"parties.{pid}"
        if x is None:
            out.add("parties", p, "added", _("party {party} added: {name}").format(party=pid, name=y.name), None, y.name, affects=False)
        elif y is None:
            out.add("parties", p, "removed", _("party {party} removed: {name}").format(party=pid, name=x.name), x.name, None, affects=False)
        else:
            if x.roles != y.roles:
                ra, rb = [r.value for r in x.roles], [r.value for r in y.roles]
                out.add("parties", f"{p}.roles", "changed", _("party {party}: roles {old} -> {new}").format(party=pid, old=_show(ra), new=_show(rb)), ra, rb, affects=False)
            out.wording(f"{p}.name", _("party {party}: name").format(party=pid), x.name, y.name)
            out.wording(f"{p}.documentation", _("party {party}: documentation").format(party=pid), x.documentation, y.documentation)


# Top-level keys compared above; any other key (e.g. course costs and the business case,
# which move no outcome payment) is compared field by field by ``_other_terms``.
_COMPARED = frozenset({
    "kind", "id", "title", "description", "documentation", "illustrative", "programme", "jurisdiction", "benefit_codes", "municipality",
    "parties", "signed", "term", "currency", "version", "eligibility", "milestones", "tariffs", "payment", "caps",
})


def _other_terms(out: _Collector, a: Contract, b: Contract) -> None:
    """Terms outside the outcome payments (course costs, business case, investor terms): reported, never payment-relevant."""
    for name in type(a).model_fields:
        if name in _COMPARED:
            continue
        x, y = getattr(a, name), getattr(b, name)
        if x == y:
            continue
        fa = flatten(_dump(x), name)
        fb = flatten(_dump(y), name)
        for k in sorted(set(fa) | set(fb)):
            if fa.get(k) == fb.get(k):
                continue
            leaf = k.rsplit(".", 1)[-1]
            area = "references" if leaf == "reference" else "wording" if leaf in ("description", "documentation") else "agreement"
            kind = "added" if k not in fa else "removed" if k not in fb else "reworded" if area == "wording" else "changed"
            out.add(area, k, kind, f"{k}: {_show(fa.get(k))} -> {_show(fb.get(k))}", fa.get(k), fb.get(k), affects=False)


def _dump(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {k: _dump(v) for k, v in value.items()}
    return value


# --- text for lawyers ---------------------------------------------------------------------


def diff_text(d: ContractDiff) -> str:
    """The diff for people: payment-relevant changes first, grouped by area."""
    lines = [
        _("{old} v{old_version} (content {old_hash}) -> {new} v{new_version} (content {new_hash})").format(
            old=d.old.id, old_version=d.old.version, old_hash=d.old.content_hash[:12],
            new=d.new.id, new_version=d.new.version, new_hash=d.new.content_hash[:12],
        ),
    ]
    if not d.changes:
        lines.append(_("No changes."))
        return "\n".join(lines) + "\n"
    pay = [c for c in d.changes if c.affects_payments]
    other = [c for c in d.changes if not c.affects_payments]
    for title, group in ((_("Changes that affect payments ({n}):"), pay), (_("Changes that do not affect payments ({n}):"), other)):
        if not group:
            continue
        lines += ["", title.format(n=len(group))]
        for area in AREAS:
            items = [c for c in group if c.area == area]
            if not items:
                continue
            lines.append(f"  {_(AREA_TITLES[area])}")
            for c in items:
                refs = f"  [{'; '.join(c.references)}]" if c.references else ""
                kind = _(KIND_WORDS[c.kind]) if c.kind in KIND_WORDS else c.kind
                lines.append(f"    - {kind}: {c.what}{refs}")
    lines.append("")
    lines.append(
        _("{n} change(s) affect payments; record them in contracts/CHANGELOG.yaml.").format(n=len(pay)) if pay else _("No change affects payments.")
    )
    return "\n".join(lines) + "\n"
