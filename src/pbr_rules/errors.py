"""Errors every layer raises, and the diagnostics they carry.

The tree::

    PbrError                      anything this package refuses, in the user's terms
    ├── InputInvalid              a file or request failed validation; carries every Diagnostic
    │   ├── ContractInvalid       a contract, template, vocabulary or scenario file is wrong
    │   └── HistoryInvalid        a participant or company history is wrong or impossible
    ├── EvaluationRefused         a valid history cannot be evaluated as asked (e.g. as-of after extraction)
    │   └── CurrencyMismatch      amounts in different currencies would be added or compared
    └── EngineFailure             the rules engine misbehaved; never the user's fault

A Diagnostic prints as ``file:line:col: dotted.path: message (hint)``, the form editors
and CI understand. A warning (``severity="warning"``) prints as
``file:line:col: warning: dotted.path: message (hint)``: something that is probably a
mistake but that the engine can still pay correctly (see docs/contract-language.md,
"Validation").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem at one place in an input file or request."""

    file: str = ""
    line: int = 0
    col: int = 0
    path: str = ""
    message: str = ""
    hint: str = field(default="", compare=False)
    severity: Severity = field(default="error", compare=False)

    def __str__(self) -> str:
        where = self.file or "<input>"
        if self.line:
            where += f":{self.line}:{self.col}"
        if self.severity == "warning":
            where += ": warning"
        text = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "path": self.path,
            "message": self.message,
            "hint": self.hint,
        }


class PbrError(Exception):
    """Something pbr-rules refuses to do, explained in the user's terms."""


class InputInvalid(PbrError):
    """An input failed validation; every problem found is in ``diagnostics`` (and any warning found beside them in ``warnings``)."""

    def __init__(self, diagnostics: list[Diagnostic] | tuple[Diagnostic, ...], *, warnings: list[Diagnostic] | tuple[Diagnostic, ...] = ()):
        self.diagnostics = tuple(sorted(set(diagnostics), key=_diag_order))
        self.warnings = tuple(warnings)
        super().__init__("\n".join(str(d) for d in self.diagnostics))

    def __reduce__(self):
        # rebuilt from its diagnostics when it crosses a process boundary (a pool's worker raised
        # it): the default would call the class with the message text, which is not diagnostics
        return _rebuild, (type(self), self.diagnostics, self.warnings, self.__dict__)


def _rebuild(cls: type, diagnostics: tuple, warnings: tuple, state: dict) -> InputInvalid:
    exc = cls.__new__(cls)
    InputInvalid.__init__(exc, diagnostics, warnings=warnings)
    exc.__dict__.update(state)
    return exc


def _diag_order(d: Diagnostic):
    return (d.file, d.line, d.col, d.path, d.message)


class ContractInvalid(InputInvalid):
    """A contract, template, benefit-code vocabulary or scenario file is not valid."""


class HistoryInvalid(InputInvalid):
    """A participant or company history is malformed or describes something impossible."""


class EvaluationRefused(PbrError):
    """A valid history cannot be evaluated the way it was asked."""


class CurrencyMismatch(EvaluationRefused):
    """Agreements (or an agreement and its benefit rates) in different currencies were asked to be added up or compared."""


class EngineFailure(PbrError):
    """The rules engine did not behave as required; the evaluation was abandoned, nothing was paid."""
