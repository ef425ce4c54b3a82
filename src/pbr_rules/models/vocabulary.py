"""The benefit-code vocabulary: what each weekly benefit status code means.

Histories give one code per ISO week (as in the DREAM register); contracts refer to the
codes. The vocabulary is data (contracts/data/benefit-codes.yaml), never constants.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pbr_rules.models.common import Identifier, Reference, Strict


class BenefitCode(Strict):
    name: str = Field(min_length=1, description="Danish name, e.g. 'Kontanthjælp'.")
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
