"""Contract scenarios: worked examples in YAML, named as sentences (OpenFisca-style tests)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from pbr_rules.models.common import ISODate, Money, Strict


class ExpectedPayment(Strict):
    milestone: str
    occurrence: int = 1
    amount: Money
    trigger_date: ISODate | None = None
    due_date: ISODate | None = None


class Expectation(Strict):
    """What the scenario expects. Only what is written is checked; `payments` is the whole list."""

    eligible: bool | None = None
    rules: dict[str, bool] = Field(default_factory=dict, description="Eligibility rules expected to pass (true) or fail.")
    milestones: dict[str, list[ISODate]] = Field(
        default_factory=dict, description="Milestone -> the dates of its counted occurrences ([] = not met)."
    )
    payments: list[ExpectedPayment] | None = Field(default=None, description="Every payment triggered, in order.")
    total: Money | None = None


class Scenario(Strict):
    name: str = Field(min_length=10, description="A whole sentence saying what the example shows.")
    as_of: ISODate | None = None
    history: dict[str, Any] = Field(description="A participant or company history, as in a history file.")
    eligible_participants: list[str] = Field(default_factory=list, description="For a company: hired participants taken as eligible when their histories are not given (such hires are unverified, so this changes only the reason given); a participant whose history is in participants is eligible exactly when that history's own evaluation says so.")
    participants: list[dict[str, Any]] = Field(
        default_factory=list,
        description="For a company: the hired participants' histories, whose employment verifies the hires (a hire without one does not count).",
    )
    expect: Expectation


class ScenarioFile(Strict):
    kind: Literal["scenarios"]
    contract: str = Field(description="Relative path of the agreement these scenarios exercise.")
    description: str | None = None
    documentation: str | None = None
    scenarios: list[Scenario] = Field(min_length=1)
