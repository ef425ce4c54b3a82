"""The tariff expression language: a formula that computes a payment from measured results.

A formula is parsed and type-checked when the agreement loads, and evaluated in exact
decimals; it is never handed to Python's ``eval``. The grammar (docs/contract-language.md,
"Formula tariffs"):

    formula  := sum
    sum      := product (("+" | "-") product)*
    product  := unary (("*" | "/") unary)*
    unary    := "-" unary | atom
    atom     := number ["%"] | name | name "(" formula ("," formula)* ")" | "(" formula ")"

Numbers are decimals (``0.5``, ``12``, ``50%`` = 0.5) and plain (a rate); a literal ``0`` has
every unit, so ``max(savings, 0)`` reads as it should. Names are the tariff's parameters and
the measured values of docs/semantics.md § 10. The functions are ``min`` and ``max`` (two or
more arguments of one unit).

Every value has a unit: a power of money, weeks and count (``rate`` is a plain number).
``+``, ``-``, ``min`` and ``max`` need one unit on both sides; ``*`` and ``/`` multiply and
divide units (money/weeks × weeks = money); the whole formula must give money. A divisor
must be a constant (a number or a parameter), so a formula cannot divide by a measured zero.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable, Mapping

Unit = tuple[int, int, int]  # exponents of (money, weeks, count)

MONEY: Unit = (1, 0, 0)
RATE: Unit = (0, 0, 0)
WEEKS: Unit = (0, 1, 0)
COUNT: Unit = (0, 0, 1)
UNITS: dict[str, Unit] = {
    "money": MONEY,
    "rate": RATE,
    "weeks": WEEKS,
    "count": COUNT,
    "money_per_week": (1, -1, 0),
    "money_per_count": (1, 0, -1),
}
FUNCTIONS = ("min", "max")

# The measured values a formula may read (docs/semantics.md § 10): unit, sides, meaning. All
# are measured over the occurrence's measurement period (the days after the milestone's
# previous occurrence, or from the start, up to the day this one is met).
MEASURED: dict[str, tuple[Unit, tuple[str, ...], str]] = {
    "goals_met": (COUNT, ("citizen", "company"), "occurrences of the tariff's goals met in the period"),
    "weeks": (WEEKS, ("citizen", "company"), "ISO weeks after the start week whose Sunday falls in the period"),
    "earnings": (MONEY, ("citizen",), "earnings from paid work on the days of the period (monthly earnings accrue per day)"),
    "actual_cost": (MONEY, ("citizen",), "the municipal cost of the participant's benefit weeks in the period"),
    "counterfactual_cost": (MONEY, ("citizen",), "what those weeks would have cost without the programme (the business case's counterfactual)"),
    "savings": (MONEY, ("citizen",), "counterfactual_cost - actual_cost, times the credited share (1 unless deadweight)"),
    "comparison_earnings": (MONEY, ("citizen",), "the comparison group's average earnings over the same days after their enrolment"),
}
MAX_LENGTH = 500
MAX_DEPTH = 30


def formula_names(side: str, parameters: Mapping) -> dict[str, Unit]:
    """Every name a formula of a ``side`` ('citizen' or 'company') milestone may read, with its
    unit: its parameters (``{name: FormulaParameter}``) and the measured values of that side."""
    names = {n: UNITS[p.unit] for n, p in parameters.items()}
    for n, (unit, sides, _what) in MEASURED.items():
        if side in sides and n not in names:
            names[n] = unit
    return names


def unit_name(unit: Unit) -> str:
    """A unit as a reader says it: money, weeks, count, rate (a plain number), money/weeks, ..."""
    for name, u in UNITS.items():
        if u == unit and name != "money_per_week" and name != "money_per_count":
            return name
    top = [n for n, e in zip(("money", "weeks", "count"), unit) for _ in range(max(e, 0))]
    bottom = [n for n, e in zip(("money", "weeks", "count"), unit) for _ in range(max(-e, 0))]
    return ("×".join(top) or "1") + ("/" + "×".join(bottom) if bottom else "")


class FormulaError(ValueError):
    """A formula that does not parse or type-check: the message, the 1-based column, a hint."""

    def __init__(self, message: str, column: int, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.column = column
        self.hint = hint


@dataclass(frozen=True)
class Formula:
    """A parsed, type-checked formula: evaluate it with the values of its names."""

    text: str
    unit: Unit
    names: frozenset[str]  # every name it reads (parameters and measured values)
    divisors: frozenset[str]  # the parameters it divides by (the loader checks none is ever 0)
    _run: Callable[[Mapping[str, Decimal]], Decimal]

    def evaluate(self, values: Mapping[str, Decimal]) -> Decimal:
        """The exact value (the caller rounds money once, at the end)."""
        return self._run(values)


_TOKEN = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d+)?)(?P<pct>\s*%)?|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>[-+*/(),]))")


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out = []
    i = 0
    n = len(text)
    while i < n:
        if text[i:].strip() == "":
            break
        m = _TOKEN.match(text, i)
        if m is None:
            j = i
            while j < n and text[j].isspace():
                j += 1
            raise FormulaError(
                f"unexpected character {text[j]!r}",
                j + 1,
                "a formula has numbers, names, + - * /, parentheses, min(...) and max(...); write a share as 0.5 or 50%",
            )
        col = m.start(m.lastgroup) + 1 if m.lastgroup else i + 1
        if m.group("num") is not None:
            start = m.start("num") + 1
            value = m.group("num")
            out.append(("pct" if m.group("pct") else "num", value, start))
        elif m.group("name") is not None:
            out.append(("name", m.group("name"), m.start("name") + 1))
        else:
            out.append(("op", m.group("op"), col))
        i = m.end()
    out.append(("end", "", len(text.rstrip()) + 1))
    return out


@dataclass(frozen=True)
class _Node:
    """A parsed part of a formula: its unit, whether it is a constant (numbers and parameters
    only), how to compute it, its column, whether it is the literal 0, and the names it reads."""

    unit: Unit
    constant: bool
    run: Callable[[Mapping[str, Decimal]], Decimal]
    col: int
    zero: bool = False  # a literal 0 has every unit (0 kroner is 0 weeks): max(savings, 0) needs no unit on the 0
    names: frozenset[str] = frozenset()


def parse_formula(text: str, names: Mapping[str, Unit], constants: Mapping[str, bool], suggest: Callable[[str, list[str]], str | None] | None = None) -> Formula:
    """Parse and type-check ``text``: ``names`` maps every name it may read to its unit;
    ``constants`` says which of them are constants (parameters), which alone may divide.

    Raises FormulaError with the column of the first problem."""
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"the formula is {len(text)} characters long; at most {MAX_LENGTH}", MAX_LENGTH + 1, "split the payment into simpler tariffs")
    toks = _tokens(text)
    pos = 0
    divisors: set[str] = set()

    def peek() -> tuple[str, str, int]:
        return toks[pos]

    def take() -> tuple[str, str, int]:
        nonlocal pos
        t = toks[pos]
        pos += 1
        return t

    def expect(op: str, after: str) -> None:
        kind, value, col = take()
        if kind != "op" or value != op:
            got = "the end of the formula" if kind == "end" else repr(value)
            raise FormulaError(f"expected {op!r} {after}, found {got}", col)

    def sum_(depth) -> _Node:
        left = product(depth)
        while peek()[0] == "op" and peek()[1] in "+-":
            _, op, col = take()
            right = product(depth)
            if left.unit != right.unit and not (left.zero or right.zero):
                raise FormulaError(
                    f"cannot {'add' if op == '+' else 'subtract'} {unit_name(right.unit)} {'to' if op == '+' else 'from'} {unit_name(left.unit)}",
                    col,
                    "both sides of + and - must have one unit (money with money, weeks with weeks)",
                )
            a, b = left.run, right.run
            run = (lambda v, a=a, b=b: a(v) + b(v)) if op == "+" else (lambda v, a=a, b=b: a(v) - b(v))
            left = _Node(right.unit if left.zero else left.unit, left.constant and right.constant, run, left.col, False, left.names | right.names)
        return left

    def product(depth) -> _Node:
        left = unary(depth)
        while peek()[0] == "op" and peek()[1] in "*/":
            _, op, col = take()
            right = unary(depth)
            a, b = left.run, right.run
            if op == "*":
                unit = tuple(x + y for x, y in zip(left.unit, right.unit))
                run = lambda v, a=a, b=b: a(v) * b(v)  # noqa: E731
            else:
                if not right.constant:
                    raise FormulaError(
                        "a formula may divide only by a number or a parameter, not by a measured value",
                        right.col,
                        "a measured value may be zero; multiply by a rate parameter instead",
                    )
                if not right.names:  # numbers only: worked out now
                    if right.run({}) == 0:
                        raise FormulaError("division by zero", right.col)
                else:
                    divisors.update(right.names)  # parameters: the loader checks none of their values is 0
                unit = tuple(x - y for x, y in zip(left.unit, right.unit))
                run = lambda v, a=a, b=b: a(v) / b(v)  # noqa: E731
            left = _Node(unit, left.constant and right.constant, run, left.col, False, left.names | right.names)
        return left

    def unary(depth) -> _Node:
        if depth > MAX_DEPTH:
            raise FormulaError(f"the formula nests deeper than {MAX_DEPTH} levels", peek()[2])
        if peek()[0] == "op" and peek()[1] == "-":
            _, _, col = take()
            inner = unary(depth + 1)
            f = inner.run
            return _Node(inner.unit, inner.constant, lambda v, f=f: -f(v), col, inner.zero, inner.names)
        return atom(depth)

    def atom(depth) -> _Node:
        kind, value, col = take()
        if kind in ("num", "pct"):
            number = Decimal(value) / 100 if kind == "pct" else Decimal(value)
            return _Node(RATE, True, lambda v, number=number: number, col, number == 0)
        if kind == "name":
            if peek()[0] == "op" and peek()[1] == "(":
                if value not in FUNCTIONS:
                    raise FormulaError(f"unknown function {value!r}", col, "the functions are min(...) and max(...)")
                take()
                args = [sum_(depth + 1)]
                while peek()[0] == "op" and peek()[1] == ",":
                    take()
                    args.append(sum_(depth + 1))
                expect(")", f"to close {value}(")
                if len(args) < 2:
                    raise FormulaError(f"{value}(...) needs two or more values", col, f"e.g. {value}(savings, 0)")
                typed = [a for a in args if not a.zero] or args
                for a in typed[1:]:
                    if a.unit != typed[0].unit:
                        raise FormulaError(
                            f"{value}(...) compares {unit_name(typed[0].unit)} with {unit_name(a.unit)}",
                            a.col,
                            f"every value of {value}(...) must have one unit",
                        )
                runs = tuple(a.run for a in args)
                pick = min if value == "min" else max
                return _Node(
                    typed[0].unit, all(a.constant for a in args), lambda v, runs=runs, pick=pick: pick(r(v) for r in runs), col, False,
                    frozenset().union(*(a.names for a in args)),
                )
            if value in FUNCTIONS:
                raise FormulaError(f"{value} is a function: write {value}(a, b)", col)
            if value not in names:
                known = sorted(names)
                near = suggest(value, known) if suggest else None
                hint = f"did you mean {near!r}?" if near else ("the names here are: " + ", ".join(known) if known else "declare it under parameters")
                raise FormulaError(f"unknown name {value!r}", col, hint + " (a parameter must be declared under the formula's parameters)" if near else hint)
            return _Node(names[value], bool(constants.get(value)), lambda v, value=value: v[value], col, False, frozenset((value,)))
        if kind == "op" and value == "(":
            inner = sum_(depth + 1)
            expect(")", "to close '('")
            return _Node(inner.unit, inner.constant, inner.run, col, inner.zero, inner.names)
        got = "the end of the formula" if kind == "end" else repr(value)
        raise FormulaError(f"expected a number, a name or '(', found {got}", col)

    if toks[0][0] == "end":
        raise FormulaError("the formula is empty", 1, "e.g. share * savings")
    node = sum_(0)
    kind, value, col = peek()
    if kind != "end":
        raise FormulaError(f"unexpected {value!r} after a complete formula", col, "an operator (+ - * /) is missing, or a parenthesis is too many")
    return Formula(text=text, unit=node.unit, names=node.names, divisors=frozenset(divisors), _run=node.run)
