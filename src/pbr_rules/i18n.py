"""Languages: the words of every document and report in Danish or English, and Danish formats.

Owns the current output language, the message catalogues and the formatting of amounts,
dates and percentages for people. English is the source language: every message is written
in the code as ``_("English text with {placeholders}")`` and a Danish catalogue translates
it (``src/pbr_rules/locale/da/LC_MESSAGES/pbr_rules.po``, extracted from the code with
``make messages``; ``tests/test_i18n.py`` fails when a message has no Danish translation).

The catalogue is read from its ``.po`` file when first needed, not compiled to ``.mo``: the
package then installs with a plain ``pip install -e .`` (no build hook, no compile step in
CI), the file reviewed in git is the file used, and reading a few hundred messages takes
milliseconds once per process.

The language is a context variable set by the command (``--lang``, else the contract's
``language:``); the core never reads it except through these functions. Formats, through
Babel with the locale ``da_DK``:

- money in the contract's currency ``30.000,00 kr.``, ``1.250,00 €`` (English ``DKK 30,000.00``,
  ``€1,250.00``: the code before the amount where English has no symbol of its own), whole
  amounts ``2.322.000 kr.``, plain amounts in a table column ``30.000,00`` (the column's
  header names the currency);
- dates ``1. juli 2020`` (English keeps ISO ``2020-07-01``);
- percentages ``12,5 %``.

Babel writes a no-break space before ``kr.`` and ``%``; text output uses a plain space
(terminals and tests), which is what a reader sees. Money is always given its currency: there
is no default, so no amount can be shown in a currency it is not in.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Literal

from pbr_rules.money import round_money, round_money_whole

Language = Literal["da", "en"]
LANGUAGES: tuple[str, ...] = ("da", "en")
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "pbr_rules"
_BABEL_LOCALE = {"da": "da_DK", "en": "en_DK"}

_current: ContextVar[str] = ContextVar("pbr_language", default="en")


def current_language() -> str:
    return _current.get()


def set_language(lang: str) -> None:
    """Set the output language for the rest of this context (a command sets it once)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; use one of {', '.join(LANGUAGES)}")
    _current.set(lang)


@contextlib.contextmanager
def use_language(lang: str | None) -> Iterator[None]:
    """Within the block, write in ``lang`` (``None``: leave the language as it is)."""
    if lang is None:
        yield
        return
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; use one of {', '.join(LANGUAGES)}")
    token = _current.set(lang)
    try:
        yield
    finally:
        _current.reset(token)


@lru_cache(maxsize=4)
def catalogue(lang: str) -> dict[str, str]:
    """The translations of one language, msgid -> text, from its ``.po`` file (fuzzy entries left out)."""
    if lang == "en":
        return {}
    from babel.messages.pofile import read_po

    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as f:
        cat = read_po(f, locale=lang)
    return {m.id: m.string for m in cat if m.id and isinstance(m.id, str) and m.string and not m.fuzzy}


def _(message: str) -> str:
    """``message`` (English, the msgid) in the current language; English when no translation."""
    lang = _current.get()
    if lang == "en":
        return message
    return catalogue(lang).get(message, message)


def gettext(message: str) -> str:
    return _(message)


def N_(message: str) -> str:
    """Marks a message for extraction where it is defined; translate it with ``_`` where it is shown."""
    return message


# --- formats ----------------------------------------------------------------------------------


def _plain(text: str) -> str:
    return text.replace("\xa0", " ").replace("\u202f", " ")


@lru_cache(maxsize=64)
def _symbol(currency: str, locale: str) -> str:
    from babel.numbers import get_currency_symbol

    return _plain(get_currency_symbol(currency, locale=locale))


def _english_symbol(currency: str) -> str:
    return _symbol(currency, "en")


def currency_symbol(currency: str, lang: str | None = None) -> str:
    """How the language writes the currency beside an amount: ``DKK``, ``€`` in English; ``kr.``, ``€`` in Danish."""
    lang = lang or _current.get()
    return _english_symbol(currency) if lang == "en" else _symbol(currency, _BABEL_LOCALE[lang])


def format_money(amount: Decimal, currency: str, lang: str | None = None) -> str:
    """An amount in its currency, rounded to the minor unit (half-up): ``DKK 30,000.00`` and
    ``€1,250.00`` in English, ``30.000,00 kr.`` and ``1.250,00 €`` in Danish."""
    lang = lang or _current.get()
    value = round_money(amount)
    from babel.numbers import format_currency

    if lang == "en":
        if _english_symbol(currency) == currency:  # no English symbol: the code, a space, the amount
            return f"{currency} {value:,.2f}"
        return _plain(format_currency(value, currency, locale="en"))
    return _plain(format_currency(value, currency, locale=_BABEL_LOCALE[lang]))


def format_money_whole(amount: Decimal, currency: str, lang: str | None = None) -> str:
    """An amount in its currency in whole units (half-up, as :func:`format_whole`):
    ``DKK 2,322,000`` / ``€2,322,000`` in English, ``2.322.000 kr.`` in Danish."""
    lang = lang or _current.get()
    whole = round_money_whole(amount)
    from babel.numbers import format_currency

    if lang == "en":
        if _english_symbol(currency) == currency:
            return f"{currency} {whole:,.0f}"
        return _plain(format_currency(whole, currency, format="¤#,##0", locale="en", currency_digits=False))
    return _plain(format_currency(whole, currency, format="#,##0\xa0¤", locale=_BABEL_LOCALE[lang], currency_digits=False))


def money_header(label: str, currency: str, lang: str | None = None) -> str:
    """A table column of amounts names its currency: ``amount (DKK)``, ``amount (€)``, ``beløb (kr.)``."""
    return f"{label} ({currency_symbol(currency, lang)})"


def format_amount(amount: Decimal, lang: str | None = None) -> str:
    """An amount in a table column: ``30,000.50`` in English, ``30.000,50`` in Danish."""
    lang = lang or _current.get()
    if lang == "en":
        return f"{round_money(amount):,.2f}"
    from babel.numbers import format_decimal

    return format_decimal(round_money(amount), format="#,##0.00", locale=_BABEL_LOCALE[lang])


def format_whole(amount: Decimal, lang: str | None = None) -> str:
    """Whole kroner in a table column: ``30,000`` / ``30.000`` (half-up, as all money: ``round_money_whole``)."""
    lang = lang or _current.get()
    whole = round_money_whole(amount)
    if lang == "en":
        return f"{whole:,.0f}"
    from babel.numbers import format_decimal

    return format_decimal(whole, format="#,##0", locale=_BABEL_LOCALE[lang])


def format_date(day: date, lang: str | None = None) -> str:
    """``2020-07-01`` in English (ISO, as before), ``1. juli 2020`` in Danish."""
    lang = lang or _current.get()
    if lang == "en":
        return day.isoformat()
    from babel.dates import format_date as babel_date

    return babel_date(day, format="long", locale=_BABEL_LOCALE[lang])


def format_percent(share: Decimal, decimals: int = 1, lang: str | None = None) -> str:
    """A share as a percentage: ``0.125`` -> ``12.5 %`` (English) or ``12,5 %`` (Danish), half-up."""
    lang = lang or _current.get()
    pct = (Decimal(share) * 100).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    if lang == "en":
        return f"{pct:,.{decimals}f} %"
    from babel.numbers import format_decimal

    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return f"{format_decimal(pct, format=pattern, locale=_BABEL_LOCALE[lang])} %"
