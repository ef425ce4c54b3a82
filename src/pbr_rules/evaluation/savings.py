"""The municipality's savings on benefits: what each participant's weeks cost, and what they
would have cost without the programme (docs/business-case.md, "Savings").

Owns: loading the benefit-rate table (kind: benefit_rates), the refund staircase (which
share of a benefit the municipality pays in each week), the three counterfactuals
(``baseline``, ``deadweight``, ``comparison_group``) and the savings per participant and
cohort. It reads histories and the contract; it never evaluates milestones (the caller
says which participants are eligible).

Conventions:
- a week is an ISO week; a monthly rate costs ``amount × 12 / 52`` a week, kept exact;
- the rate in force for a week, and the month a week belongs to, are those of the week's
  Thursday (the ISO convention: a week belongs to the year and month of its Thursday);
- money is rounded once, at the end, by :func:`pbr_rules.money.round_money`.
"""

from __future__ import annotations

import hashlib
import stat
from bisect import bisect_right
from collections import Counter, deque
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, localcontext
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Literal, Sequence

from pydantic import Field

from pbr_rules.errors import ContractInvalid, Diagnostic, EvaluationRefused
from pbr_rules.i18n import N_, _
from pbr_rules.language import LoadedContract, Source, format_path, load_cohort, load_yaml_file, require_kind, validate_model
from pbr_rules.models.common import ISODate, Money, Share, Strict, in_force
from pbr_rules.models.history import ParticipantHistory
from pbr_rules.models.rates import BenefitRates, Rate
from pbr_rules.money import MONEY_CONTEXT, round_money
from pbr_rules.periods import format_iso_week, week_index, week_monday, week_sunday

WEEKS_PER_YEAR = Decimal(52)
MONTHS_PER_YEAR = Decimal(12)
ONE = Decimal(1)
ZERO = Decimal(0)

Method = Literal["baseline", "comparison_group", "deadweight"]

COUNTERFACTUAL_WORDS = {
    "baseline": N_(
        "baseline: without the programme each week would have cost the share of the {weeks} weeks before "
        "enrolment that were on public support, times the rate of the most frequent benefit in them, at the "
        "municipal share of a person staying on benefit since enrolment"
    ),
    "deadweight": N_(
        "deadweight: without the programme the participant would have stayed on their benefit every week; "
        "only {credited} of the saving is credited to the programme (deadweight {deadweight})"
    ),
    "comparison_group": N_(
        "comparison_group: each week after enrolment would have cost what the comparison group's weeks cost "
        "on average in the same week after their enrolment"
    ),
}


# --- the rate table ----------------------------------------------------------------------

_RATES_CACHE: dict[tuple[str, float], tuple[BenefitRates, Source]] = {}


def load_benefit_rates(path: str | Path) -> BenefitRates:
    """The benefit-rate table at ``path``: strict, every problem at once with its file:line:col."""
    return _load_rates(Path(path))[0]


@lru_cache(maxsize=1024)
def _resolved(path: Path) -> Path:
    """``path.resolve()``, remembered: the rate table and the comparison group are looked up at
    every measurement a formula tariff makes, and resolving walks the path's folders each time."""
    return path.resolve()


def _load_rates(path: Path) -> tuple[BenefitRates, Source]:
    path = _resolved(path)
    try:
        key = (str(path), path.stat().st_mtime)
    except OSError:
        raise ContractInvalid([Diagnostic(file=str(path), message="benefit-rate file not found")]) from None
    if key not in _RATES_CACHE:
        source = load_yaml_file(path)
        require_kind(source, ("benefit_rates",))
        rates: BenefitRates = validate_model(BenefitRates, source, ContractInvalid)
        problems = rates.problems()
        if problems:
            raise ContractInvalid([_at(source, p, m, "") for p, m in problems])
        _RATES_CACHE[key] = (rates, source)
    return _RATES_CACHE[key]


def _at(source: Source, path: tuple, message: str, hint: str) -> Diagnostic:
    file, line, col = source.where(path)
    return Diagnostic(file=file, line=line, col=col, path=format_path(path), message=message, hint=hint)


def rates_path(loaded: LoadedContract) -> Path:
    """Where the contract's ``business_case.benefit_rates`` points: relative to the file that names it."""
    bc = loaded.contract.business_case
    if bc is None:
        raise EvaluationRefused(
            f"agreement '{loaded.contract.id}' has no business_case: add one (with benefit_rates and a "
            "counterfactual) to compute savings"
        )
    where = loaded.source.where(("business_case", "benefit_rates")) if loaded.source is not None else ("", 0, 0)
    file = where[0]
    if not file or file.startswith("<"):
        raise ContractInvalid(
            [
                Diagnostic(
                    file=file or loaded.path, line=where[1], col=where[2], path="business_case.benefit_rates",
                    message=f"cannot find the benefit-rate file '{bc.benefit_rates}' for a contract that was not read from a file",
                    hint="load the agreement from the contracts folder",
                )
            ]
        )
    path = Path(file).parent / bc.benefit_rates
    if not path.exists():
        raise ContractInvalid(
            [
                Diagnostic(
                    file=file, line=where[1], col=where[2], path="business_case.benefit_rates",
                    message=f"benefit-rate file not found: {bc.benefit_rates}", hint=f"looked for {path.resolve()}",
                )
            ]
        )
    return path


_CHECKED: dict[str, BenefitRates] = {}  # content hash -> the table last checked against that agreement


def rates_for(loaded: LoadedContract) -> BenefitRates:
    """The benefit-rate table the contract's business case names, checked against its benefit codes
    (once per agreement and table as loaded: a formula tariff asks for it at every measurement)."""
    rates, source = _load_rates(rates_path(loaded))
    if _CHECKED.get(loaded.content_hash) is rates:
        return rates
    problems: list[Diagnostic] = []
    c = loaded.contract
    if rates.currency != c.currency:
        # Savings in one currency set against payments in another would be nonsense: refused.
        problems.append(
            _at(source, ("currency",), f"the benefit rates are in {rates.currency}, but agreement {c.id} (its business case) is in {c.currency}",
                f"name a benefit-rate table in {c.currency} (currency: {c.currency}); pbr-rules converts no currency")
        )
    codes = loaded.codes.codes
    for code, dated in rates.rates.items():
        info = codes.get(code)
        if info is None:
            from difflib import get_close_matches

            near = get_close_matches(code, sorted(codes), n=1)
            hint = f"did you mean '{near[0]}'?" if near else f"known codes: {', '.join(sorted(codes))}"
            problems.append(_at(source, ("rates", code), f"unknown benefit code '{code}'", hint))
            continue
        for day, entry in dated.items():
            rate = entry.value
            if rate is None:
                continue
            path = ("rates", code, day.isoformat(), "value")
            if info.refund_staircase and rate.municipal_share is not None:
                problems.append(
                    _at(source, path + ("municipal_share",), f"'{code}' is under the refund staircase; its municipal share comes from the staircase",
                        "leave municipal_share out")
                )
            if not info.refund_staircase and info.public_support and rate.municipal_share is None:
                problems.append(
                    _at(source, path, f"'{code}' is outside the refund staircase, so its rate needs municipal_share",
                        "the share of the rate the municipality pays, e.g. municipal_share: '0.5'")
                )
    if problems:
        raise ContractInvalid(problems)
    _CHECKED[loaded.content_hash] = rates
    return rates


# --- week by week ------------------------------------------------------------------------


@dataclass(frozen=True)
class WeekCost:
    """What one ISO week of a history cost the municipality, and why."""

    index: int
    code: str | None
    weekly_rate: Decimal  # gross rate for the week, exact (a monthly rate × 12 / 52)
    rate_from: date | None  # effective date of the rate used
    rate_assumed: bool  # the rate is marked assumption: true in the table
    staircase_week: int | None  # the week's place on the staircase (1 = first week), for staircase benefits
    staircase_count: int  # the staircase count after this week (0 after a restart)
    municipal_share: Decimal
    municipal_cost: Decimal  # exact: weekly_rate × municipal_share

    @property
    def week(self) -> str:
        """The ISO week, e.g. '2019-W14'."""
        return format_iso_week(self.index)


@lru_cache(maxsize=16384)
def week_thursday(index: int) -> date:
    """The Thursday of an ISO week: its year and month are the week's (ISO 8601)."""
    return week_monday(index) + timedelta(days=3)


@lru_cache(maxsize=16384)
def month_of_week(index: int) -> str:
    """'YYYY-MM' of the week's Thursday: the month a week belongs to."""
    t = week_thursday(index)
    return f"{t.year}-{t.month:02d}"


# Per rate table (held here, so its id is never reused): weekly rates by (code, week) and
# municipal shares by staircase week. The savings computation asks for them every week.
_MEMO: dict[int, tuple[BenefitRates, dict, dict]] = {}


def _memo(rates: BenefitRates) -> tuple[dict, dict]:
    entry = _MEMO.get(id(rates))
    if entry is None or entry[0] is not rates:
        entry = _MEMO[id(rates)] = (rates, {}, {})
    return entry[1], entry[2]


def _weekly_rate(rates: BenefitRates, code: str, index: int, memo: dict | None = None) -> tuple[Decimal, date, Rate]:
    """The weekly rate of ``code`` in the week ``index`` (remembered per rate table: rates change once a year)."""
    if memo is None:
        memo = _memo(rates)[0]
    key = (code, index)
    found = memo.get(key)
    if found is None:
        found = memo[key] = _weekly_rate_uncached(rates, code, index)
    return found


def _share(rates: BenefitRates, count: int, memo: dict | None = None) -> Decimal:
    """The municipal share in staircase week ``count`` (remembered per rate table)."""
    if memo is None:
        memo = _memo(rates)[1]
    share = memo.get(count)
    if share is None:
        share = memo[count] = rates.staircase.share_in_week(count)
    return share


def _weekly_rate_uncached(rates: BenefitRates, code: str, index: int) -> tuple[Decimal, date, Rate]:
    day = week_thursday(index)
    found = in_force(rates.rates.get(code), day)
    if found is None:
        raise EvaluationRefused(
            f"no benefit rate for '{code}' in force on {day} (week {format_iso_week(index)}); "
            "add one to the benefit-rate table"
        )
    effective, entry = found
    rate = entry.value
    with localcontext(MONEY_CONTEXT):
        weekly = rate.amount if rate.per == "week" else rate.amount * MONTHS_PER_YEAR / WEEKS_PER_YEAR
    return weekly, effective, rate


_LAST_CODES: tuple = (None, None)  # (history, its codes by week): asked twice in a row per participant


def _codes_by_week(history: ParticipantHistory) -> dict[int, str]:
    global _LAST_CODES
    last = _LAST_CODES  # one atomic read: safe with threads
    if last[0] is history:
        return last[1]
    out: dict[int, str] = {}
    for spell in history.benefits:
        a, b = spell.week_range()
        for w in range(a, b + 1):
            out[w] = spell.code
    _LAST_CODES = (history, out)
    return out


# One week of a scan, as a plain tuple (a WeekCost's fields; built for thousands of weeks a cohort):
# (index, code, weekly rate, rate from, the Rate used or None, staircase week, staircase count,
# municipal share, municipal cost).
_Week = tuple[int, "str | None", Decimal, "date | None", "Rate | None", "int | None", int, Decimal, Decimal]

# Per benefit-code vocabulary (held here, so its id is never reused): how a week on each code
# is costed: 1 on the refund staircase, 2 other public support or a wage subsidy, 0 neither.
_KINDS: dict[int, tuple[object, dict[str, int]]] = {}


def _code_kinds(loaded: LoadedContract) -> dict[str, int]:
    codes = loaded.codes.codes
    entry = _KINDS.get(id(codes))
    if entry is None or entry[0] is not codes:
        kinds = {k: 1 if v.refund_staircase else 2 if (v.public_support or v.wage_subsidy) else 0 for k, v in codes.items()}
        entry = _KINDS[id(codes)] = (codes, kinds)
    return entry[1]


def _scan(loaded: LoadedContract, rates: BenefitRates, history: ParticipantHistory, first: int, last: int) -> list[_Week]:
    """Every week from ``first`` to ``last`` (inclusive), with the staircase run from the history's first benefit week.

    Weeks before the history's first benefit week are taken as ``weeks_on_benefit_before_history``
    weeks already on benefit (the count stands there; nothing is paid, nothing is self-supporting).
    """
    bc = loaded.contract.business_case
    before = bc.weeks_on_benefit_before_history if bc is not None else 0
    stair = rates.staircase
    within, reset = stair.within_weeks, stair.reset_after_self_supporting_weeks
    kinds = _code_kinds(loaded)
    by_week = _codes_by_week(history)
    first_benefit = min(by_week) if by_week else None

    rate_memo, share_memo = _memo(rates)
    out: list[_Week] = []
    count = before
    in_period = True  # a staircase period is running (the assumed weeks before the history start one)
    self_supporting: deque[int] = deque()
    start = first if first_benefit is None else min(first, first_benefit)
    with localcontext(MONEY_CONTEXT):
        for w in range(start, last + 1):
            code = by_week.get(w)
            weekly, rate_from, rate = ZERO, None, None
            position, share = None, ZERO
            kind = kinds[code] if code is not None else 0
            if first_benefit is None or w < first_benefit:
                pass  # before the history: assumed on benefit, costs nothing here
            elif kind == 1:
                if not in_period:
                    in_period, count = True, 0
                count += 1
                position = count
                if w >= first:  # earlier weeks only move the count; their rate is never needed
                    weekly, rate_from, rate = rate_memo.get((code, w)) or _weekly_rate(rates, code, w, rate_memo)
                    share = share_memo.get(position) or _share(rates, position, share_memo)
            elif kind == 2:
                # Public support outside the staircase (e.g. løntilskud): not self-supporting, not counted.
                if w >= first:
                    weekly, rate_from, rate = rate_memo.get((code, w)) or _weekly_rate(rates, code, w, rate_memo)
                    share = rate.municipal_share if rate.municipal_share is not None else ZERO
            elif in_period:
                # Self-supporting (§ 6, stk. 1): 52 such weeks in total within 156 restart the count.
                self_supporting.append(w)
                while self_supporting and self_supporting[0] <= w - within:
                    self_supporting.popleft()
                if len(self_supporting) >= reset:
                    count, in_period = 0, False
                    self_supporting.clear()
            if w >= first:
                out.append((w, code, weekly, rate_from, rate, position, count, share, weekly * share))
    return out


def weekly_costs(
    loaded: LoadedContract, rates: BenefitRates, history: ParticipantHistory, first_week: int, last_week: int
) -> list[WeekCost]:
    """The municipal cost of each ISO week ``first_week``..``last_week`` (week indexes, both included)."""
    if last_week < first_week:
        return []
    return [
        WeekCost(
            index=w, code=code, weekly_rate=weekly, rate_from=rate_from, rate_assumed=rate.assumption if rate is not None else False,
            staircase_week=position, staircase_count=count, municipal_share=share, municipal_cost=cost,
        )
        for w, code, weekly, rate_from, rate, position, count, share, cost in _scan(loaded, rates, history, first_week, last_week)
    ]


# --- counterfactuals ---------------------------------------------------------------------


@dataclass(frozen=True)
class ComparisonProfile:
    """The comparison group's average municipal cost in each week r = 1, 2, ... after enrolment."""

    participants: tuple[str, ...]
    weeks: tuple[Decimal, ...]  # weeks[r - 1]: average cost in relative week r (exact)
    covered: tuple[int, ...]  # covered[r - 1]: how many histories reach week r

    def cost(self, r: int) -> Decimal | None:
        return self.weeks[r - 1] if 1 <= r <= len(self.weeks) and self.covered[r - 1] else None


def comparison_profile(
    loaded: LoadedContract, rates: BenefitRates, histories: Iterable[ParticipantHistory]
) -> ComparisonProfile:
    """Per relative week r (1..savings_weeks after each history's enrolment week), the average municipal
    cost over the comparison histories that reach it (complete by their extraction date and exit)."""
    n = _business_case(loaded).savings_weeks
    totals = [ZERO] * n
    covered = [0] * n
    ids: list[str] = []
    with localcontext(MONEY_CONTEXT):
        for h in sorted(histories, key=lambda h: h.participant):
            ids.append(h.participant)
            w0 = week_index(h.enrolment)
            last = min(w0 + n, _last_complete_week(_horizon(h, None)))
            for wc in weekly_costs(loaded, rates, h, w0 + 1, last):
                r = wc.index - w0
                totals[r - 1] += wc.municipal_cost
                covered[r - 1] += 1
        weeks = tuple(totals[i] / covered[i] if covered[i] else ZERO for i in range(n))
    return ComparisonProfile(participants=tuple(ids), weeks=weeks, covered=tuple(covered))


def _business_case(loaded: LoadedContract):
    bc = loaded.contract.business_case
    if bc is None:
        raise EvaluationRefused(
            f"agreement '{loaded.contract.id}' has no business_case: add one (with benefit_rates and a "
            "counterfactual) to compute savings"
        )
    return bc


def baseline_of(loaded: LoadedContract, history: ParticipantHistory) -> tuple[str | None, int, int]:
    """(the baseline code, weeks on public support, weeks looked at) in the weeks before the enrolment week.

    The code is the most frequent public-support code in the window (ties: the one seen latest).
    """
    bc = _business_case(loaded)
    n = bc.counterfactual.baseline_weeks
    w0 = week_index(history.enrolment)
    by_week = _codes_by_week(history)
    codes = loaded.codes.codes
    counts: Counter[str] = Counter()
    latest: dict[str, int] = {}
    for w in range(w0 - n, w0):
        code = by_week.get(w)
        if code is not None and codes[code].public_support:
            counts[code] += 1
            latest[code] = w
    if not counts:
        return None, 0, n
    code = max(counts, key=lambda c: (counts[c], latest[c]))
    return code, sum(counts.values()), n


# --- results -----------------------------------------------------------------------------


class ParticipantSavings(Strict):
    """One participant's saving: actual municipal cost of benefits vs the counterfactual's."""

    participant: str
    method: Method = Field(description="The counterfactual used.")
    counterfactual: str = Field(description="The counterfactual in words.")
    reference: str = Field(description="The clause of the agreement that sets the counterfactual.")
    baseline_code: str | None = Field(default=None, description="baseline/deadweight: the benefit the participant would have stayed on.")
    baseline_weeks_on_support: int | None = Field(default=None, description="baseline: weeks on public support before enrolment ...")
    baseline_weeks: int | None = Field(default=None, description="... of this many weeks looked at.")
    credited_share: Share = Field(description="The share of the saving credited to the programme (1 - deadweight).")
    horizon: ISODate = Field(description="min(as-of date, exit date): only weeks complete by then count.")
    first_week: str | None = Field(description="First week counted (the week after the enrolment week).")
    last_week: str | None = Field(description="Last week counted; null when no week is complete yet.")
    weeks_counted: int
    actual_cost: Money
    counterfactual_cost: Money
    gross_saving: Money = Field(description="counterfactual_cost - actual_cost (negative: the participant cost more).")
    saving: Money = Field(description="gross_saving × credited_share.")
    by_month: dict[str, Money] = Field(description="Saving per month 'YYYY-MM' (a week belongs to the month of its Thursday).")
    assumed_rates: list[str] = Field(description="Rates used that the table marks as assumptions, e.g. 'kontanthjaelp from 2019-01-01'.")


class CohortSavings(Strict):
    """The savings of the eligible participants of a cohort."""

    contract: str
    method: Method
    counterfactual: str
    reference: str
    participants: list[ParticipantSavings] = Field(description="Each eligible participant (empty when asked for totals only).")
    not_counted: list[str] = Field(description="Participants left out because they are not eligible.")
    actual_cost: Money
    counterfactual_cost: Money
    gross_saving: Money
    saving: Money
    by_month: dict[str, Money]
    assumed_rates: list[str]
    projected_saving: Money | None = Field(
        default=None, description="Savings projected from where the counted weeks stop to the horizon (none without a projection)."
    )
    projection: str | None = Field(default=None, description="The projection and its persistence assumption, in words.")


@dataclass
class _Exact:
    actual: Decimal
    counterfactual: Decimal
    gross: Decimal
    saving: Decimal
    by_month: dict[str, Decimal]
    assumed: set[str]
    recent_weekly: Decimal = ZERO  # the average credited saving a week over the last recent_weeks counted
    weeks_after: int = 0  # weeks from the last counted week to the projection horizon


def _horizon(history: ParticipantHistory, as_of: date | None) -> date:
    as_of = as_of or history.extracted
    if as_of > history.extracted:
        raise EvaluationRefused(
            f"as-of date {as_of} is after the history's extraction date {history.extracted}: "
            "the history cannot know what happened after it was extracted"
        )
    if history.exits:
        return min(as_of, history.exits[0].date)
    return as_of


def _last_complete_week(horizon: date) -> int:
    w = week_index(horizon)
    return w if week_sunday(w) <= horizon else w - 1


def _method(loaded: LoadedContract) -> tuple[str, str, Decimal]:
    """(the counterfactual method, its clause, the share of a saving credited to the programme)."""
    cf = _business_case(loaded).counterfactual
    credited = ONE - cf.deadweight if cf.method == "deadweight" and cf.deadweight is not None else ONE
    return cf.method, cf.reference, credited


def _describe(loaded: LoadedContract) -> tuple[str, str, str, Decimal]:
    method, reference, credited = _method(loaded)
    cf = _business_case(loaded).counterfactual
    words = _(COUNTERFACTUAL_WORDS[method]).format(
        weeks=cf.baseline_weeks, credited=_pct(credited), deadweight=_pct(cf.deadweight or ZERO),
    )
    return method, words, reference, credited


def _pct(share: Decimal) -> str:
    text = format((share * 100).normalize(), "f")
    return f"{text} %"


def _as_profile(loaded, rates, comparison) -> ComparisonProfile | None:
    if comparison is None:
        return agreed_comparison(loaded)
    if isinstance(comparison, ComparisonProfile):
        return comparison
    return comparison_profile(loaded, rates, comparison)


_AGREED: dict[tuple, tuple[ComparisonProfile, tuple[ParticipantHistory, ...]]] = {}  # the profile and its histories


def agreed_comparison(loaded: LoadedContract) -> ComparisonProfile | None:
    return _agreed(loaded)[0]


_DIGESTS: dict[str, tuple[tuple[int, int], str]] = {}  # path -> ((mtime, size), sha256)


def _file_digest(path: Path) -> str:
    """The file's sha256, read again only when its modification time or size changed (as the
    rate tables are): a formula tariff checks its comparison group at every measurement."""
    st = path.stat()
    if not stat.S_ISREG(st.st_mode):  # a device (/dev/zero) or a pipe is never read
        raise FileNotFoundError(f"not a regular file: {path}")
    seen = (st.st_mtime_ns, st.st_size)
    known = _DIGESTS.get(str(path))
    if known is None or known[0] != seen:
        digest = hashlib.sha256()
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        known = _DIGESTS[str(path)] = (seen, digest.hexdigest())
    return known[1]


def agreed_comparison_histories(loaded: LoadedContract) -> tuple[ParticipantHistory, ...]:
    """The histories of the comparison group the agreement names (empty when it names none)."""
    return _agreed(loaded)[1]


def _agreed(loaded: LoadedContract) -> tuple[ComparisonProfile | None, tuple[ParticipantHistory, ...]]:
    """The comparison group the agreement names (``business_case.counterfactual.cohort``), checked
    against its agreed sha256; None when the counterfactual is not a named comparison group."""
    bc = loaded.contract.business_case
    if bc is None or bc.counterfactual.method != "comparison_group" or bc.counterfactual.cohort is None:
        return None, ()
    cf = bc.counterfactual
    where = loaded.source.where(("business_case", "counterfactual", "cohort")) if loaded.source is not None else ("", 0, 0)
    file = where[0] or loaded.path or ""
    here = dict(file=file, line=where[1], col=where[2], path="business_case.counterfactual.cohort")
    if not file or file.startswith("<"):
        raise ContractInvalid([Diagnostic(**here, message=f"cannot find the comparison group '{cf.cohort}' for a contract that was not read from a file", hint="load the agreement from the contracts folder")])
    path = _resolved(Path(file).parent / cf.cohort)
    try:
        digest = _file_digest(path)
    except OSError:
        raise ContractInvalid([Diagnostic(**here, message=f"comparison group file not found: {cf.cohort}", hint=f"looked for {path}")]) from None
    if cf.sha256 is not None and digest != cf.sha256:
        raise ContractInvalid([Diagnostic(
            **here,
            message=f"the comparison group {cf.cohort} is not the one agreed: its sha256 is {digest}, the agreement says {cf.sha256}",
            hint="restore the agreed file; if the parties agreed a new comparison group, record its sha256 in the agreement (and the changelog)",
        )])
    key = (loaded.content_hash, str(path), digest)
    agreed = _AGREED.get(key)
    if agreed is None:
        histories = tuple(sorted((h for h in load_cohort(path, loaded.known) if isinstance(h, ParticipantHistory)), key=lambda h: h.participant))
        if not histories:
            raise ContractInvalid([Diagnostic(**here, message=f"the comparison group {cf.cohort} has no participant histories", hint="a comparison group is a cohort file of participant histories")])
        agreed = _AGREED[key] = (comparison_profile(loaded, rates_for(loaded), histories), histories)
    return agreed


def period_savings(loaded: LoadedContract, history: ParticipantHistory, first_week: int, last_week: int) -> tuple[Decimal, Decimal, Decimal]:
    """(actual cost, counterfactual cost, credited saving) of the participant's savings weeks
    ``first_week``..``last_week`` (ISO week indexes), exact: what a formula tariff's measurement
    period reads (docs/semantics.md § 10). The comparison group is the agreement's own."""
    rates = rates_for(loaded)
    _, exact = _participant(loaded, rates, history, None, agreed_comparison(loaded), detail=False, weeks=(first_week, last_week))
    return exact.actual, exact.counterfactual, exact.saving


def _participant(
    loaded: LoadedContract,
    rates: BenefitRates,
    history: ParticipantHistory,
    as_of: date | None,
    profile: ComparisonProfile | None,
    detail: bool = True,
    weeks: tuple[int, int] | None = None,
) -> tuple[ParticipantSavings | None, _Exact]:
    bc = _business_case(loaded)
    method, reference, credited = _method(loaded)
    if method == "comparison_group" and profile is None:
        raise EvaluationRefused(
            f"agreement '{loaded.contract.id}' measures savings against a comparison group "
            f"({reference}), but no comparison histories were given"
        )
    horizon = _horizon(history, as_of)
    w0 = week_index(history.enrolment)
    first, last = w0 + 1, min(w0 + bc.savings_weeks, _last_complete_week(horizon))
    if weeks is not None:  # a formula's measurement period: only these weeks of the savings weeks
        first, last = max(first, weeks[0]), min(last, weeks[1])

    baseline_code, on_support, looked_at = None, None, None
    p = ONE
    if method in ("baseline", "deadweight"):
        baseline_code, on_support, looked_at = baseline_of(loaded, history)
        if method == "baseline":
            p = Decimal(on_support) / Decimal(looked_at)
        elif baseline_code is None and history.benefit_at_enrolment is not None:
            if loaded.codes.codes[history.benefit_at_enrolment].public_support:
                baseline_code = history.benefit_at_enrolment
    counterfactual = None if method == "comparison_group" or baseline_code is None or p == 0 else baseline_code
    on_staircase = counterfactual is not None and _code_kinds(loaded)[counterfactual] == 1

    # The counterfactual person is on benefit every week from the enrolment week on, so the
    # staircase count continues from where it stood the week before enrolment. The scan
    # starts at that week (w0 - 1); the weeks counted, first..last, follow the enrolment week.
    scan = _scan(loaded, rates, history, w0 - 1, max(last, w0 - 1))
    count_before = scan[0][6]

    assumed: set = set()
    by_month: dict[str, Decimal] = {}
    weekly_savings: list[Decimal] = []
    keep_weekly = bc.projection is not None
    whole = credited == ONE  # x × 1 is x exactly: the multiplication can be left out
    actual_total = cf_total = ZERO
    rate_memo, share_memo = _memo(rates)
    with localcontext(MONEY_CONTEXT):
        for index, code, _weekly, rate_from, rate, _position, _count, _share_, cost in scan[2:]:
            if index < first or index > last:
                continue
            k = index - w0
            if rate is not None and rate.assumption and code is not None:
                assumed.add((code, rate_from))
            if method == "comparison_group":
                cf_cost = profile.cost(k)
                if cf_cost is None:
                    raise EvaluationRefused(
                        f"the comparison group does not reach week {k} after enrolment (needed for participant "
                        f"'{history.participant}', week {format_iso_week(index)}); give comparison histories that cover "
                        f"{bc.savings_weeks} weeks after their enrolment"
                    )
            elif counterfactual is None:
                cf_cost = ZERO
            else:
                weekly, cf_from, cf_rate = rate_memo.get((counterfactual, index)) or _weekly_rate(rates, counterfactual, index, rate_memo)
                if cf_rate.assumption:
                    assumed.add((counterfactual, cf_from))
                if on_staircase:
                    position = count_before + 1 + k
                    share = share_memo.get(position) or _share(rates, position, share_memo)
                else:
                    share = cf_rate.municipal_share if cf_rate.municipal_share is not None else ZERO
                cf_cost = p * weekly * share
            actual_total += cost
            cf_total += cf_cost
            month = month_of_week(index)
            week_saving = cf_cost - cost if whole else (cf_cost - cost) * credited
            by_month[month] = by_month.get(month, ZERO) + week_saving
            if keep_weekly:
                weekly_savings.append(week_saving)
        gross = cf_total - actual_total
        saving = gross * credited
        recent_weekly, weeks_after = ZERO, 0
        if bc.projection is not None:
            recent = weekly_savings[-bc.projection.recent_weeks:]
            recent_weekly = sum(recent, ZERO) / len(recent) if recent else ZERO
            weeks_after = max(0, w0 + 52 * bc.projection.years_from_enrolment - max(last, w0))

    assumed_text = {f"{code} from {day.isoformat()}" for code, day in assumed}
    exact = _Exact(actual_total, cf_total, gross, saving, by_month, assumed_text, recent_weekly, weeks_after)
    if not detail:
        return None, exact
    result = ParticipantSavings(
        participant=history.participant,
        method=method,
        counterfactual=_describe(loaded)[1],
        reference=reference,
        baseline_code=baseline_code,
        baseline_weeks_on_support=on_support if method == "baseline" else None,
        baseline_weeks=looked_at if method == "baseline" else None,
        credited_share=credited,
        horizon=horizon,
        first_week=format_iso_week(first) if last >= first else None,
        last_week=format_iso_week(last) if last >= first else None,
        weeks_counted=max(0, last - first + 1),
        actual_cost=round_money(actual_total),
        counterfactual_cost=round_money(cf_total),
        gross_saving=round_money(gross),
        saving=round_money(saving),
        by_month={m: round_money(v) for m, v in sorted(by_month.items())},
        assumed_rates=sorted(assumed_text),
    )
    return result, exact


def participant_savings(
    loaded: LoadedContract,
    rates: BenefitRates,
    history: ParticipantHistory,
    as_of: date | None = None,
    comparison: ComparisonProfile | Sequence[ParticipantHistory] | None = None,
) -> ParticipantSavings:
    """One participant's saving over the weeks W0+1 .. W0+savings_weeks complete by min(as-of, exit)."""
    return _participant(loaded, rates, history, as_of, _as_profile(loaded, rates, comparison))[0]


def cohort_savings(
    loaded: LoadedContract,
    histories: Iterable[ParticipantHistory],
    as_of: date | None = None,
    comparison: ComparisonProfile | Sequence[ParticipantHistory] | None = None,
    *,
    eligible: set[str] | frozenset[str],
    rates: BenefitRates | None = None,
    detail: bool = True,
    met: dict[str, set[str]] | None = None,
) -> CohortSavings:
    """The savings of the cohort's eligible participants (``eligible``: their ids), in total and by month.

    A history extracted before ``as_of`` is taken as of its extraction date. Company histories are skipped.
    With ``met`` (participant id -> the milestones they have met) and a ``projection`` in the
    contract's business case, the savings past the counted weeks are projected too
    (:func:`projected_saving`).
    """
    rates = rates if rates is not None else rates_for(loaded)
    method, words, reference, _credited = _describe(loaded)
    profile = _as_profile(loaded, rates, comparison)
    results: list[ParticipantSavings] = []
    not_counted: list[str] = []
    totals = [ZERO, ZERO, ZERO, ZERO]
    by_month: dict[str, Decimal] = {}
    assumed: set[str] = set()
    projection = _business_case(loaded).projection if met is not None else None
    projected = ZERO
    with localcontext(MONEY_CONTEXT):
        for pid, result, exact in _each_eligible(loaded, rates, histories, as_of, profile, eligible, detail):
            if exact is None:
                not_counted.append(pid)
                continue
            if result is not None:
                results.append(result)
            for i, v in enumerate((exact.actual, exact.counterfactual, exact.gross, exact.saving)):
                totals[i] += v
            for m, v in exact.by_month.items():
                by_month[m] = by_month.get(m, ZERO) + v
            assumed |= exact.assumed
            if projection is not None:
                share = persistence_of(projection, met.get(pid, set()))
                projected += projected_saving(exact.recent_weekly, share, exact.weeks_after)
    return CohortSavings(
        contract=loaded.contract.id,
        method=method,
        counterfactual=words,
        reference=reference,
        participants=results,
        not_counted=not_counted,
        actual_cost=round_money(totals[0]),
        counterfactual_cost=round_money(totals[1]),
        gross_saving=round_money(totals[2]),
        saving=round_money(totals[3]),
        by_month={m: round_money(v) for m, v in sorted(by_month.items())},
        assumed_rates=sorted(assumed),
        projected_saving=round_money(projected) if projection is not None else None,
        projection=projection_words(projection) if projection is not None else None,
    )


def savings_by_month(
    loaded: LoadedContract,
    histories: Iterable[ParticipantHistory],
    as_of: date | None = None,
    *,
    eligible: set[str] | frozenset[str],
    rates: BenefitRates | None = None,
) -> dict[str, Decimal]:
    """``cohort_savings(...).by_month`` (no comparison group), and nothing else: no per-participant
    results, totals or projection. What a simulation run needs, thousands of times: the months
    are summed in exact integers (``_months_exactly``), and are the same øre as by the Decimal path."""
    rates = rates if rates is not None else rates_for(loaded)
    try:
        return _months_exactly(loaded, rates, histories, as_of, eligible)
    except _NotExact:
        pass  # the Decimal path below takes the cohort (and raises what is wrong with it, if anything)
    by_month: dict[str, Decimal] = {}
    with localcontext(MONEY_CONTEXT):
        for _pid, _result, exact in _each_eligible(loaded, rates, histories, as_of, None, eligible, False):
            if exact is not None:
                for m, v in exact.by_month.items():
                    by_month[m] = by_month.get(m, ZERO) + v
    return {m: round_money(v) for m, v in sorted(by_month.items())}


def _each_eligible(loaded, rates, histories, as_of, profile, eligible, detail):
    """(participant id, its result or None, its exact figures, or None when not eligible) for each
    participant history, by id. Runs in the caller's decimal context (the money context)."""
    for h in sorted((h for h in histories if isinstance(h, ParticipantHistory)), key=lambda h: h.participant):
        if h.participant not in eligible:
            yield h.participant, None, None
            continue
        when = min(as_of, h.extracted) if as_of else None
        result, exact = _participant(loaded, rates, h, when, profile, detail)
        yield h.participant, result, exact


# --- the cohort's months in exact integers (the simulation's path) ---------------------------
#
# The same weeks as _participant, summed exactly: a weekly rate in 1/13 øre (a monthly rate's
# 12/52 is 3/13 of it), shares and the credited share in millionths, the baseline share p as
# on / looked, so that every week's saving is a whole number of 1/D øre, D = 13 × 10^12 ×
# looked. Benefit spells are taken as runs of weeks, and the weeks of a run that fall in one
# month with the same rates and shares are added at once (n × the week's saving).
#
# The Decimal path rounds to 28 significant digits at every step; a month it sums can differ
# from the exact month by at most its accumulated rounding error, far below an øre. Rounding
# the exact month to øre gives the Decimal path's øre unless the exact month lies within that
# error of a half øre; such a cohort (none in practice: it takes an exact tie) goes to the
# Decimal path. So both paths always give the same øre, and the exact one is several times faster.

_MILLION = 10**6


class _NotExact(Exception):
    """The exact path does not take this cohort (a comparison group, overlapping spells, a week
    without a rate, a month within rounding error of a half øre): the Decimal path takes it."""


@dataclass(frozen=True)
class _Whole:
    """A rate table in integers: per code, the first week of each rate (the week whose Thursday
    is on or after its effective date) and the rate (weekly rate in 1/13 øre, municipal share in
    millionths or None), or None where it is withdrawn; the staircase bands' first weeks and
    shares; the largest weekly rate."""

    rates: dict[str, tuple[list[int], list[tuple[int, int | None] | None]]]
    band_from: list[int]
    band_share: list[int]
    largest: int


_WHOLE: dict[int, tuple[BenefitRates, _Whole | None]] = {}


def _millionths(x: Decimal) -> int:
    n = x * _MILLION
    if n != n.to_integral_value():
        raise _NotExact
    return int(n)


def _whole(rates: BenefitRates) -> _Whole:
    entry = _WHOLE.get(id(rates))
    if entry is None or entry[0] is not rates:
        try:
            made = _make_whole(rates)
        except _NotExact:
            made = None
        entry = _WHOLE[id(rates)] = (rates, made)
    if entry[1] is None:
        raise _NotExact
    return entry[1]


def _make_whole(rates: BenefitRates) -> _Whole:
    table: dict[str, tuple[list[int], list]] = {}
    largest = 0
    for code, dated in rates.rates.items():
        weeks, values = [], []
        for day in sorted(dated):
            w = week_index(day)
            weeks.append(w + 1 if week_thursday(w) < day else w)
            rate = dated[day].value
            if rate is None:
                values.append(None)
                continue
            ore = rate.amount * 100
            if ore != ore.to_integral_value():
                raise _NotExact
            weekly13 = int(ore) * (3 if rate.per == "month" else 13)  # x 12/52 = 3/13 of a monthly rate
            largest = max(largest, abs(weekly13))
            values.append((weekly13, _millionths(rate.municipal_share) if rate.municipal_share is not None else None))
        table[code] = (weeks, values)
    bands = rates.staircase.bands
    if [b.from_week for b in bands] != [1] + [b.to_week + 1 for b in bands[:-1]] or bands[-1].to_week is not None:
        raise _NotExact  # share_in_week's reading of irregular bands is left to the Decimal path
    return _Whole(table, [b.from_week for b in bands], [_millionths(b.municipal_share) for b in bands], largest)


@lru_cache(maxsize=4096)
def _month_last_week(index: int) -> int:
    """The last week of the month that week ``index`` belongs to (the last whose Thursday is in it)."""
    t = week_thursday(index)
    last_day = date(t.year + (t.month == 12), t.month % 12 + 1, 1) - timedelta(days=1)
    return week_index(last_day - timedelta(days=3))


def _months_exactly(loaded: LoadedContract, rates: BenefitRates, histories, as_of, eligible) -> dict[str, Decimal]:
    bc = _business_case(loaded)
    method, _reference, credited = _method(loaded)
    if method == "comparison_group":
        raise _NotExact
    table = _whole(rates)
    looked = bc.counterfactual.baseline_weeks
    share = _millionths(credited)
    sums: dict[str, int] = {}
    weeks = people = 0
    for h in sorted((h for h in histories if isinstance(h, ParticipantHistory)), key=lambda h: h.participant):
        if h.participant in eligible:
            weeks += _participant_exactly(loaded, bc, method, share, looked, rates, table, h, min(as_of, h.extracted) if as_of else None, sums)
            people += 1
    # D, and a bound on how far the Decimal path's months can be from these (in 1/D øre): every
    # one of its operations is off by at most half a unit in the 28th digit of its result, and no
    # result is larger than all the weeks' rates together. Ten times that, to be safe.
    denominator = 13 * _MILLION * _MILLION * looked
    operations = 12 * weeks + 40 * people + 1
    largest_sum = 2 * weeks * table.largest * _MILLION * _MILLION * looked
    margin = int(10 * operations * 5e-27 * largest_sum) + 1
    out = {}
    for month in sorted(sums):
        n = sums[month]
        q, r = divmod(abs(n), denominator)
        if abs(2 * r - denominator) <= 2 * margin:
            raise _NotExact  # within rounding error of a half øre: the Decimal path decides
        q += 2 * r > denominator  # half-up, away from zero, as round_money
        value = Decimal(q).scaleb(-2)
        out[month] = value.copy_negate() if n < 0 else value
    return out


def _participant_exactly(
    loaded, bc, method, credited: int, looked: int, rates: BenefitRates, table: _Whole, h: ParticipantHistory, as_of, sums: dict[str, int]
) -> int:
    """Add one participant's weekly savings to ``sums`` (month -> 1/D øre); return the weeks counted.

    The same weeks, staircase and counterfactual as ``_participant`` and ``_scan`` (read those first)."""
    horizon = _horizon(h, as_of)
    w0 = week_index(h.enrolment)
    first, last = w0 + 1, min(w0 + bc.savings_weeks, _last_complete_week(horizon))
    if last < first:
        return 0
    kinds = _code_kinds(loaded)
    codes = loaded.codes.codes
    spells = sorted((*b.week_range(), b.code) for b in h.benefits)
    for before, after in zip(spells, spells[1:]):
        if after[0] <= before[1]:
            raise _NotExact  # a week given twice: the Decimal path reads such a history its own way

    # The counterfactual (baseline_of, from the spells): p = on / looked.
    code, on = None, 0
    if method in ("baseline", "deadweight"):
        counts: dict[str, int] = {}
        latest: dict[str, int] = {}
        for a, b, c in spells:
            x, y = max(a, w0 - looked), min(b, w0 - 1)
            if x <= y and codes[c].public_support:
                counts[c] = counts.get(c, 0) + y - x + 1
                latest[c] = y
        if counts:
            code = max(counts, key=lambda c: (counts[c], latest[c]))
            on = sum(counts.values())
        if method == "deadweight":
            on = looked
            if code is None and h.benefit_at_enrolment is not None and codes[h.benefit_at_enrolment].public_support:
                code = h.benefit_at_enrolment
    cf = code if code is not None and on else None

    # The staircase run by run, from the history's first benefit week: the counted weeks in
    # pieces (first week, last week, kind, code, staircase week of the first) and the count
    # after the week before enrolment (where the counterfactual's staircase goes on from).
    within, reset = rates.staircase.within_weeks, rates.staircase.reset_after_self_supporting_weeks
    count = count_before = bc.weeks_on_benefit_before_history
    in_period = True
    self_supporting: deque[int] = deque()
    target = w0 - 1
    pieces: list[tuple[int, int, int, str | None, int]] = []
    runs: list[tuple[int, int, str | None]] = []  # the history's weeks from its first benefit week to `last`
    if spells and spells[0][0] <= last:
        at = spells[0][0]
        for a, b, c in spells:
            if a > last:
                break
            if a > at:
                runs.append((at, a - 1, None))
            runs.append((a, min(b, last), c))
            at = b + 1
        if at <= last:
            runs.append((at, last, None))
    start = runs[0][0] if runs else last + 1
    if first < start:
        pieces.append((first, min(last, start - 1), 0, None, 0))  # before the history: assumed on benefit, nothing paid
    for x, y, c in runs:
        kind = kinds[c] if c is not None else 0
        if kind == 1:
            if not in_period:
                in_period, count = True, 0
            if x <= target <= y:
                count_before = count + target - x + 1
            if y >= first:
                pieces.append((max(x, first), y, 1, c, count + max(x, first) - x + 1))
            count += y - x + 1
            continue
        if y >= first:
            pieces.append((max(x, first), y, kind, c, 0))
        counted, restarted = count, None
        if kind == 0 and in_period:  # self-supporting weeks: 52 within 156 restart the count
            for w in range(x, y + 1):
                self_supporting.append(w)
                while self_supporting[0] <= w - within:
                    self_supporting.popleft()
                if len(self_supporting) >= reset:
                    count, in_period, restarted = 0, False, w
                    self_supporting.clear()
                    break
        if x <= target <= y:
            count_before = 0 if restarted is not None and restarted <= target else counted

    # The pieces' weeks in stretches of one month with the same rates and shares: each adds
    # (weeks × (counterfactual cost - actual cost) × credited share) in 1/D øre.
    band_from, band_share = table.band_from, table.band_share
    cf_rates = table.rates.get(cf) if cf is not None else None
    if cf is not None and cf_rates is None:
        raise _NotExact
    cf_staircase = cf is not None and kinds[cf] == 1
    for x, y, kind, c, position in pieces:
        own_rates = table.rates.get(c) if kind else None
        if kind and own_rates is None:
            raise _NotExact
        s = x
        while s <= y:
            e = min(y, _month_last_week(s))
            actual = 0
            if kind:
                weeks, values = own_rates
                i = bisect_right(weeks, s) - 1
                if i < 0 or values[i] is None:
                    raise _NotExact  # no rate in force: the Decimal path says so
                if i + 1 < len(weeks):
                    e = min(e, weeks[i + 1] - 1)
                weekly13, share = values[i]
                if kind == 1:
                    at = position + s - x
                    j = bisect_right(band_from, at) - 1
                    share = band_share[j]
                    if j + 1 < len(band_from):
                        e = min(e, s + band_from[j + 1] - at - 1)
                actual = looked * weekly13 * (share or 0)
            counterfactual = 0
            if cf is not None:
                weeks, values = cf_rates
                i = bisect_right(weeks, s) - 1
                if i < 0 or values[i] is None:
                    raise _NotExact
                if i + 1 < len(weeks):
                    e = min(e, weeks[i + 1] - 1)
                weekly13, share = values[i]
                if cf_staircase:
                    at = count_before + 1 + s - w0
                    j = bisect_right(band_from, at) - 1
                    share = band_share[j]
                    if j + 1 < len(band_from):
                        e = min(e, s + band_from[j + 1] - at - 1)
                counterfactual = on * weekly13 * (share or 0)
            month = month_of_week(s)
            sums[month] = sums.get(month, 0) + (e - s + 1) * (counterfactual - actual) * credited
            s = e + 1
    return last - first + 1


# --- projected savings ------------------------------------------------------------------------


def persistence_of(projection, met: set[str]) -> Decimal:
    """The persistence share of a participant: that of the first listed outcome they have met, else 'otherwise' (else 0)."""
    for outcome, share in projection.persistence.items():
        if outcome != "otherwise" and outcome in met:
            return share
    return projection.persistence.get("otherwise", ZERO)


def projected_saving(recent_weekly: Decimal, persistence: Decimal, weeks: int) -> Decimal:
    """The saving of ``weeks`` further weeks: week j saves ``recent_weekly * persistence ** (j / 52)``.

    A persistence of 0.7 means 70 % of the weekly saving is still there a year on (49 % after
    two years), week by week: the sum is geometric, ``r * q * (1 - q**n) / (1 - q)`` with
    ``q = persistence ** (1/52)``. A participant who saved nothing recently (or cost more than
    without the programme) is projected to save nothing. Exact; rounded by the caller."""
    if weeks <= 0 or recent_weekly <= 0 or persistence <= 0:
        return ZERO
    with localcontext(MONEY_CONTEXT):
        if persistence == ONE:
            return recent_weekly * weeks
        q = persistence ** (ONE / WEEKS_PER_YEAR)
        return recent_weekly * q * (ONE - q**weeks) / (ONE - q)


def projection_words(projection) -> str:
    """The projection in words, in the current language."""
    shares = "; ".join(
        (_("otherwise") if outcome == "otherwise" else outcome) + " " + _pct(share) for outcome, share in projection.persistence.items()
    )
    return _(
        "projected to {years} years after each enrolment from the average weekly saving of the last {weeks} weeks counted, "
        "of which this share persists each further year, by the first outcome met: {shares} [{reference}]"
    ).format(years=projection.years_from_enrolment, weeks=projection.recent_weeks, shares=shares, reference=projection.reference)
