"""Money: Decimal under one fixed context, parsed strictly, rounded in one place, and its currency.

Amounts in contracts and histories are written as strings (``"20000"``, ``"1250.50"``) or
integers; floats are refused because they cannot represent øre exactly. Every rounding
of money in pbr-rules goes through :func:`round_money` (half-up to whole øre: the minor
unit, 1/100 of the currency, whatever the currency).

Every amount is in the contract's ``currency``, an ISO 4217 code checked against Babel's
copy of the CLDR currency data (:func:`currency_problem`): known, legal tender somewhere on
the day the agreement was signed, and with exactly two minor units (``MINOR_UNITS``), the
precision every amount here is computed, rounded and stored in. A currency with none
(JPY, ISK) or three (BHD, KWD) is refused, not rounded differently.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation, localcontext
from functools import lru_cache
from typing import Iterable

from pbr_rules.errors import CurrencyMismatch

MONEY_CONTEXT = Context(prec=28, rounding=ROUND_HALF_UP)
ORE = Decimal("0.01")
ZERO = Decimal("0.00")
_MONEY_TEXT = re.compile(r"^-?\d{1,15}(\.\d{1,2})?$")
_SHARE_TEXT = re.compile(r"^(0(\.\d{1,6})?|1(\.0{1,6})?)$")


def parse_money(value: object) -> Decimal:
    """An amount from a string like ``"1250.50"`` or an integer; floats are refused."""
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError(
            f"amount {value!r} must be written as a string or whole number, e.g. '1250.50' "
            "(decimals written as YAML numbers lose precision)"
        )
    if isinstance(value, int):
        if abs(value) >= 10**15:
            raise ValueError("amount has more than 15 digits; no amount in an agreement is that large")
        return Decimal(value).quantize(ORE)
    if isinstance(value, Decimal):
        text = format(value, "f")
    elif isinstance(value, str):
        text = value.strip().replace("_", "")
    else:
        raise ValueError(f"amount must be a string such as '1250.50', not {type(value).__name__}")
    if not _MONEY_TEXT.match(text):
        advice = separator_advice(text)
        if advice is not None:
            raise ValueError(advice)
        if re.fullmatch(r"-?\d{16,}(\.\d*)?", text):
            raise ValueError("amount has more than 15 digits; no amount in an agreement is that large")
        raise ValueError(f"amount {value!r} is not a number of kroner with at most 2 decimals, e.g. '1250.50'")
    try:
        return Decimal(text).quantize(ORE)
    except InvalidOperation as exc:  # pragma: no cover - the regex already guards this
        raise ValueError(f"amount {value!r} is not a number") from exc


# Amounts written the way people write them on paper, which pbr-rules does not read:
# Danish "30.000,50" and "1.250.000", a YAML number 38.000 (read by YAML as 38.0), English
# "38,000" and "1,250.50", a Danish decimal comma "38,50", spaces "30 000".
_DANISH = re.compile(r"^(\d{1,3}(?:\.\d{3})+)(?:,(\d{1,2}))?$")
_DANISH_DECIMAL = re.compile(r"^(\d+),(\d{1,2})$")
_ENGLISH = re.compile(r"^(\d{1,3}(?:,\d{3})+)(?:\.(\d{1,2}))?$")
_SPACED = re.compile(r"^(\d{1,3}(?: \d{3})+)(?:[.,](\d{1,2}))?$")
_CURRENCY_WORDS = re.compile(r"^(?:dkk|kr\.?)\s*|\s*(?:dkk|kr\.?|,-)$", re.IGNORECASE)


SEPARATOR_KINDS = ("danish_thousands", "danish", "english_thousands", "spaces", "decimal_comma")


def separator_fix(text: str) -> tuple[str, str] | None:
    """``(kind, exact)`` for an amount written with thousands separators or a decimal comma, or None.

    ``"30.000,50"`` -> ``("danish", "30000.50")``. ``exact`` is always the value the writer
    meant (thirty thousand), never one that quietly reads as 30 kroner: pbr-rules reads '.'
    as the decimal point and allows at most two decimals, so three digits after a '.' or a
    ',' can only be a thousands group. ``kind`` is one of ``SEPARATOR_KINDS``.
    """
    body = _CURRENCY_WORDS.sub("", text.strip()).strip()
    sign = ""
    if body.startswith("-"):
        sign, body = "-", body[1:].strip()
    for pattern, separator, kind in (
        (_DANISH, ".", "danish_thousands"),
        (_ENGLISH, ",", "english_thousands"),
        (_SPACED, " ", "spaces"),
    ):
        m = pattern.match(body)
        if m:
            whole, decimals = m.group(1).replace(separator, ""), m.group(2)
            break
    else:
        m = _DANISH_DECIMAL.match(body)
        if not m:
            return None
        whole, decimals, kind = m.group(1), m.group(2), "decimal_comma"
    if kind == "danish_thousands" and decimals:
        kind = "danish"
    return kind, sign + whole + ("." + decimals.ljust(2, "0") if decimals else "")


_SEPARATOR_WORDS = {
    "danish_thousands": "'.' as a thousands separator (Danish style)",
    "danish": "Danish separators ('.' between thousands, ',' before the øre)",
    "english_thousands": "',' as a thousands separator",
    "spaces": "spaces between the thousands",
    "decimal_comma": "',' as the decimal point (Danish style)",
}
SEPARATOR_HINT = "amounts are written without thousands separators and with '.' before the øre, in quotes: 30.000,50 kr. is \"30000.50\""


def separator_advice(text: str) -> str | None:
    """What to write instead of an amount with thousands separators or a decimal comma, or None.

    ``"30.000,50"`` -> 'amount 30.000,50 uses Danish separators (...); write "30000.50" (...)'.
    In English: the language layer words it for the reader (pbr_rules.language.validation)."""
    fix = separator_fix(text)
    if fix is None:
        return None
    kind, exact = fix
    return f"amount {text.strip()} uses {_SEPARATOR_WORDS[kind]}; write \"{exact}\" ({SEPARATOR_HINT})"


def _decimal_text(value: object, pattern: re.Pattern, floats: str, wrong: str) -> Decimal:
    """A decimal written as text (or a whole number) matching ``pattern``; a float or a boolean is
    refused with ``floats``, anything else with ``wrong``."""
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError(floats)
    text = str(value).strip() if isinstance(value, (int, str, Decimal)) else None
    if text is None or not pattern.match(text):
        raise ValueError(wrong)
    return Decimal(text)


def parse_share(value: object) -> Decimal:
    """A share between 0 and 1, from a string like ``"0.6"`` or the integers 0 and 1."""
    return _decimal_text(
        value, _SHARE_TEXT, f"share {value!r} must be written as a string, e.g. '0.6'",
        f"share {value!r} must be a decimal from 0 to 1 with at most 6 decimals, e.g. '0.6'",
    )


_QUANTITY_TEXT = re.compile(r"^\d{1,15}(\.\d{1,6})?$")


def parse_quantity(value: object) -> Decimal:
    """A formula parameter's value: 0 or more, from a string like '0.5' or '1250.50' or a whole number."""
    return _decimal_text(
        value, _QUANTITY_TEXT, f"value {value!r} must be written as a string, e.g. '0.5' or '1250.50' (YAML decimals lose precision)",
        f"value {value!r} must be a decimal of 0 or more with at most 6 decimals, e.g. '0.5' or '1250.50'",
    )


def round_money(amount: Decimal) -> Decimal:
    """The one place money is rounded: half-up to whole øre (in the money context, whatever the caller's)."""
    return amount.quantize(ORE, context=MONEY_CONTEXT)


def round_money_whole(amount: Decimal) -> Decimal:
    """Money shown in whole units (the business case's tables): half-up, as :func:`round_money`."""
    return Decimal(amount).quantize(Decimal(1), context=MONEY_CONTEXT)


@lru_cache(maxsize=16384)
def money_str(amount: Decimal) -> str:
    """Money as the JSON string it is serialised to, always with two decimals.

    Remembered: the same few amounts are serialised again and again (tariffs, caps), and
    equal Decimals (5000 and 5000.00) round to the same string, so the cache is exact."""
    return format(round_money(amount), "f")


def split_by_shares(amount: Decimal, shares: list[Decimal]) -> list[Decimal]:
    """Split ``amount`` by ``shares`` (summing to 1) into whole øre that add up exactly.

    The same few tariffs are split again and again, so splits are remembered.
    """
    return list(_split(amount, tuple(shares)))


@lru_cache(maxsize=4096)
def _split(amount: Decimal, shares: tuple[Decimal, ...]) -> tuple[Decimal, ...]:
    """Split ``amount`` by ``shares``, see ``split_by_shares``.

    Each part is first rounded down to øre; the øre left over go one at a time to the
    parts with the largest remainders (ties: the payer listed first). No part is ever
    negative, and a payer with share 0 gets 0.
    """
    with localcontext(MONEY_CONTEXT):
        total_ore = int(round_money(amount) * 100)
        exact = [Decimal(total_ore) * s for s in shares]
        parts = [int(x) for x in exact]  # x >= 0, so int() rounds down
        left = total_ore - sum(parts)
        order = sorted(range(len(shares)), key=lambda i: (-(exact[i] - parts[i]), i))
        for i in order[:left]:
            parts[i] += 1
        return tuple((Decimal(p) / 100).quantize(ORE) for p in parts)


# --- currencies -----------------------------------------------------------------------------

DEFAULT_CURRENCY = "DKK"
MINOR_UNITS = 2  # every amount is computed, rounded and stored to 1/100 of the currency


@lru_cache(maxsize=1)
def _tender() -> dict[str, tuple[tuple[date | None, date | None], ...]]:
    """ISO 4217 code -> the periods in which some territory had it as legal tender (CLDR, through Babel)."""
    from babel.core import get_global

    out: dict[str, list] = {}
    for entries in get_global("territory_currencies").values():
        for code, start, end, tender in entries:
            if tender:
                out.setdefault(code, []).append((date(*start) if start else None, date(*end) if end else None))
    return {code: tuple(periods) for code, periods in out.items()}


def one_currency(named: Iterable[tuple[str, str]], doing: str = "added up") -> str:
    """The one currency of the ``(name, currency)`` pairs (agreements, a rate table); refused
    (:class:`CurrencyMismatch`) when there are two or more: amounts in different currencies
    are never added up or compared, and pbr-rules converts none."""
    named = list(named)
    found = sorted({code for _, code in named})
    if len(found) > 1:
        listed = ", ".join(f"{name} in {code}" for name, code in named)
        raise CurrencyMismatch(
            f"amounts in different currencies cannot be {doing}: {listed}. "
            f"Take the agreements of one currency at a time (pbr-rules converts no currency)"
        )
    return found[0]


def currency_name(code: str) -> str:
    """'EUR' -> 'Euro' (English, CLDR); the code itself when Babel does not know it."""
    from babel.numbers import get_currency_name

    return get_currency_name(code, locale="en")


def currency_problem(code: str, on: date | None = None) -> tuple[str, str] | None:
    """Why ``code`` cannot be an agreement's currency, as ``(message, hint)``; None when it can.

    It must be an ISO 4217 code Babel knows, legal tender in some territory on ``on`` (the day
    the agreement was signed; any day when None), and have ``MINOR_UNITS`` minor units."""
    from babel.numbers import get_currency_precision, list_currencies

    known = list_currencies()
    if code not in known:
        # A near miss among the currencies in use today: two of the three letters in place ('EUX': 'EUR').
        upper = code.upper()
        in_use = sorted(c for c, periods in _tender().items() if any(z is None for _, z in periods))
        near = [c for c in in_use if len(upper) == 3 and sum(a == b for a, b in zip(c, upper)) >= 2]
        near.sort(key=lambda c: (-sum(a == b for a, b in zip(c, upper)), c))
        hint = f"did you mean '{near[0]}'?" if near and near[0] != code else "an ISO 4217 code such as DKK, EUR, SEK, NOK or GBP"
        return f"unknown currency '{code}': not an ISO 4217 currency code", hint
    periods = _tender().get(code, ())
    if not periods:
        return f"{code} ({currency_name(code)}) is not a currency anyone pays in", "write the ISO 4217 code of the currency the agreement's amounts are in, e.g. DKK or EUR"
    if on is not None and not any((a is None or a <= on) and (z is None or on <= z) for a, z in periods):
        return (
            f"{code} ({currency_name(code)}) was not legal tender anywhere on {on.isoformat()}, the day the agreement was signed",
            "write the currency the agreement's amounts are paid in on that day",
        )
    digits = get_currency_precision(code)
    if digits != MINOR_UNITS:
        return (
            f"{code} ({currency_name(code)}) has {digits} minor units; pbr-rules computes every amount to exactly {MINOR_UNITS} decimals",
            f"only currencies with {MINOR_UNITS} minor units are supported, e.g. DKK, EUR, SEK, NOK, GBP; "
            "see docs/semantics.md, 'Amounts, currency and rounding'",
        )
    return None
