"""A jurisdiction's vocabulary: benefit codes, target groups, area codes, and the jurisdiction itself.

Histories give one benefit code per ISO week (as in the DREAM register), a target group and
a municipality (area) code; contracts refer to the same words. Each jurisdiction's words
are data, never constants: its benefit codes (``benefit-codes.yaml``) and, beside them in
the same folder, its target groups and areas (``vocabulary.yaml``). Denmark's are the
bundled default (contracts/data/).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, field_validator, model_serializer

from pbr_rules.models.common import Identifier, Label, Prose, Reference, Strict
from pbr_rules.periods import Calendar

# An area (municipality, local authority) code: '101' (a Danish kommunekode), 'E08000003' (an ONS code).
AREA_CODE_PATTERN = r"^[A-Za-z0-9]{1,16}$"


class BenefitCode(Strict):
    name: str = Field(min_length=1, description="The name in the jurisdiction's language, e.g. 'Kontanthjælp'.")
    name_en: str = Field(min_length=1)
    category: Literal[
        "cash_benefit",
        "education_benefit",
        "integration_benefit",
        "resource_course",
        "job_clarification",
        "flexjob",
        "flexjob_unemployment",
        "early_retirement_pension",
        "sickness_benefit",
        "unemployment_insurance",
        "wage_subsidy",
        "other",
    ]
    public_support: bool = Field(description="True: a week with this code is not self-supporting.")
    wage_subsidy: bool = Field(description="True: employment paid partly by a public subsidy (e.g. flexjob).")
    refund_staircase: bool = Field(description="True: the state-refund staircase applies to this benefit.")
    reference: Reference
    documentation: str | None = None


class BenefitCodes(Strict):
    kind: Literal["benefit_codes"]
    description: str | None = None
    documentation: str | None = None
    codes: dict[Identifier, BenefitCode] = Field(min_length=1)


# --- the jurisdiction and its vocabulary (target groups, area codes) --------------------------------


class Jurisdiction(Strict):
    """Where an agreement applies: its working-day calendar and its vocabulary.

    ``country`` is an ISO 3166-1 code (``DK``, ``GB``, ``FI``); ``subdivision`` an ISO 3166-2
    subdivision code, only where holidays differ inside the country (``ENG`` for England).
    """

    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 country code in capitals, e.g. 'DK', 'GB', 'FI'.")
    subdivision: str | None = Field(
        default=None,
        pattern=r"^[A-Z0-9]{1,3}$",
        description="ISO 3166-2 subdivision code where holidays differ inside the country, e.g. 'ENG' (England) with country 'GB'.",
    )

    @property
    def code(self) -> str:
        """``DK``, ``GB-ENG``."""
        return self.country if self.subdivision is None else f"{self.country}-{self.subdivision}"

    @property
    def as_yaml(self) -> str:
        """``{country: GB, subdivision: ENG}``: as an agreement writes it."""
        return "{" + ", ".join(f"{k}: {v}" for k, v in self.model_dump().items()) + "}"

    @property
    def calendar(self) -> Calendar:
        return Calendar(self.country, self.subdivision)

    @model_serializer(mode="wrap")
    def _drop_unset_subdivision(self, handler):
        data = handler(self)
        if data.get("subdivision", 0) is None:
            del data["subdivision"]
        return data


DENMARK = Jurisdiction(country="DK")


class TargetGroupEntry(Strict):
    """One target group of the jurisdiction's programmes."""

    name: Label = Field(description="The name in the jurisdiction's language, e.g. 'udsatte kontanthjælpsmodtagere'.")
    name_en: Label = Field(description="The name in English.")
    reference: Reference = Field(description="Where the group is defined (a law, a programme's guidance).")
    documentation: Prose | None = None


class Areas(Strict):
    """The areas (municipalities, local authorities) an agreement or a history may name, by code."""

    description: Label = Field(description="What an area is here, e.g. 'kommune (municipality)'.")
    reference: Reference = Field(description="The official list the codes come from.")
    documentation: Prose | None = None
    codes: dict[str, Label] = Field(min_length=1, description="Official code -> official name, e.g. '101': København.")

    @field_validator("codes")
    @classmethod
    def _codes_have_the_area_form(cls, codes: dict[str, str]) -> dict[str, str]:
        bad = [c for c in codes if not re.fullmatch(AREA_CODE_PATTERN, c)]
        if bad:
            raise ValueError(f"area codes are letters and digits only, not {', '.join(repr(b) for b in bad[:5])}")
        return codes


class Vocabulary(Strict):
    """A jurisdiction's words: the target groups and the area codes agreements and histories use.

    It lives in ``vocabulary.yaml`` beside the jurisdiction's benefit-code file (the same
    folder), e.g. ``contracts/data/vocabulary.yaml`` for Denmark.
    """

    kind: Literal["vocabulary"]
    jurisdiction: Jurisdiction
    description: Label | None = None
    documentation: Prose | None = None
    target_groups: dict[Identifier, TargetGroupEntry] = Field(min_length=1)
    areas: Areas


def nearest_codes(code: str, codes, n: int = 3) -> list[str]:
    """The known area codes a mistyped one most likely meant: the same characters in another
    order ('136' for '163'), then one character different, then by spelling distance."""
    from difflib import get_close_matches

    same_letters = [c for c in sorted(codes) if c != code and sorted(c) == sorted(code)]
    one_off = [c for c in sorted(codes) if len(c) == len(code) and sum(a != b for a, b in zip(c, code)) == 1]
    near = list(dict.fromkeys(same_letters + one_off))
    return near[:n] if near else get_close_matches(code, sorted(codes), n=n, cutoff=0.6)


@dataclass(frozen=True)
class Known:
    """What a history may name under one agreement: its benefit codes, target groups and areas."""

    benefit_codes: frozenset[str]
    target_groups: frozenset[str] | None = None
    areas: frozenset[str] | None = None

    @classmethod
    def of(cls, value: "Known | set[str] | frozenset[str] | None") -> "Known | None":
        """A ``Known`` from itself, or from a set of benefit codes alone (target groups and areas then unchecked)."""
        if value is None or isinstance(value, Known):
            return value
        return cls(benefit_codes=frozenset(value))
