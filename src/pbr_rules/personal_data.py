"""Danish CPR numbers: the one detector, used by the history models, the API and the log filters.

pbr-rules must never receive, echo or log a CPR number (participants are pseudonymous).
Every string that enters (ids, names, free text, headers, paths, query strings, bodies)
is checked with :func:`find_cpr`; every log line is masked with :func:`mask_cpr`.

The rule (one rule, everywhere):

- a **candidate** is a run of six digits, at most one separator (``-``, ``_``, ``.``,
  a space or nothing), and four digits, *not* touching another digit on either side.
  Letters and punctuation around it do not matter, so ``p-010190-1234``,
  ``010190_1234`` and ``x0101901234y`` are candidates; ``20190101-1234`` (an 8-digit
  run) and ``12345678901`` (11 digits) are not;
- a candidate **is a CPR number** when its first six digits are a real calendar date
  ``DDMMYY``, the century taken from the seventh digit as the CPR register does
  (0-3: 1900s; 4 and 9: 2000s for YY <= 36, else 1900s; 5-8: 2000s for YY <= 57, else
  1800s) -- so ``290200-1234`` (29 February 1900) is not a date, ``290200-4234``
  (29 February 2000) is;
- the **modulus-11 check** (weights 4 3 2 7 6 5 4 3 2 1) is computed and reported
  (``CprMatch.mod11``), never used to let a number through: numbers issued before 2007
  satisfy it, but since 2007 valid numbers that fail it are issued too. A date-valid
  candidate is refused whether or not it passes; passing only makes the message surer.

Harmless numbers are not CPR numbers: ``1000000000`` (month 00), ``1234567890`` (month
34), amounts, ISO dates and weeks, 8-digit phone numbers, 11+ digit runs.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date

CPR_MASK = "[hidden: looks like a CPR number]"
CPR_MESSAGE = "looks like a CPR number (DDMMYY-XXXX); never send CPR numbers: use a pseudonymous id, and leave personal numbers out of names and free text"

# \d: any Unicode decimal digit (fullwidth digits are CPR numbers too); int() reads them.
_CANDIDATE = re.compile(r"(?<!\d)(\d{2})(\d{2})(\d{2})[-_. ]?(\d)(\d{3})(?!\d)")
_WEIGHTS = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)


@dataclass(frozen=True)
class CprMatch:
    """One CPR number found in a text: where, the birth date it encodes, and whether it passes modulus 11."""

    start: int
    end: int
    birth_date: date
    mod11: bool


def _century(yy: int, seventh: int) -> int:
    if seventh <= 3:
        return 1900
    if seventh in (4, 9):
        return 2000 if yy <= 36 else 1900
    return 2000 if yy <= 57 else 1800


def _match(m: re.Match) -> CprMatch | None:
    dd, mm, yy, seventh, rest = (int(g) for g in m.groups())
    try:
        born = date(_century(yy, seventh) + yy, mm, dd)
    except ValueError:
        return None
    digits = [int(c) for c in m.group(1) + m.group(2) + m.group(3) + m.group(4) + m.group(5)]
    mod11 = sum(w * d for w, d in zip(_WEIGHTS, digits)) % 11 == 0
    return CprMatch(m.start(), m.end(), born, mod11)


def find_cpr(text: str) -> list[CprMatch]:
    """Every CPR number in ``text`` (see the module's rule), in order."""
    if not isinstance(text, str) or len(text) < 10:
        return []
    out = []
    for m in _CANDIDATE.finditer(text):
        found = _match(m)
        if found is not None:
            out.append(found)
    return out


def contains_cpr(text: str) -> bool:
    return bool(find_cpr(text))


def mask_cpr(text: str) -> str:
    """``text`` with every CPR number replaced by ``CPR_MASK``; harmless numbers are kept."""
    found = find_cpr(text)
    if not found:
        return text
    out, last = [], 0
    for f in found:
        out.append(text[last : f.start])
        out.append(CPR_MASK)
        last = f.end
    out.append(text[last:])
    return "".join(out)


def refuse_cpr(value):
    """A pydantic validator: refuse a string holding a CPR number, without echoing it."""
    if isinstance(value, str) and contains_cpr(value):
        raise ValueError(CPR_MESSAGE)
    return value


class CprLogFilter(logging.Filter):
    """Masks CPR numbers in a log record (message, arguments and any traceback) before any handler writes it.

    Attach it to a logger (records logged there) or to a handler (every record it writes).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: keep the raw message, masked
            message = str(record.msg)
        masked = mask_cpr(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_cpr(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_cpr(record.stack_info)
        return True


def install_log_filter(*loggers: logging.Logger | logging.Handler) -> None:
    """Attach one ``CprLogFilter`` to each logger or handler, once."""
    for target in loggers:
        if not any(isinstance(f, CprLogFilter) for f in target.filters):
            target.addFilter(CprLogFilter())
