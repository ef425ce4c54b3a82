"""The municipal business case: costs, outcome payments, savings, net result, break-even,
NPV, and the investor view towards a social impact bond."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_serializer

from pbr_rules.i18n import N_
from pbr_rules.models.common import CurrencyCode, ISODate, Money, Strict
from pbr_rules.models.results import ContractRef
from pbr_rules.models.settlement import PartyAmount, TargetReport


class MonthRow(Strict):
    month: str
    course_costs: Money
    outcome_payments: Money = Field(description="Paid by the municipality (its share), by due date.")
    savings: Money
    net: Money = Field(description="savings - the municipality's outcome payments - its direct course costs")
    cumulative_course_costs: Money
    cumulative_outcome_payments: Money
    cumulative_savings: Money
    cumulative_net: Money
    discounted_net: Money = Field(
        description="The month's net discounted to the term start under the agreement's convention (each month rounded on its own; they add up to the NPV within øre)."
    )


class PartyNPV(Strict):
    """One party's flows in the business case, and their NPV under the same convention as the municipality's."""

    party: str
    name: str
    outcome_payments_paid: Money = Field(description="Its parts of the settled outcome payments (as a payer).")
    outcome_payments_received: Money = Field(description="Settled outcome payments it receives (as the payee).")
    course_costs: Money = Field(description="The course costs it carries.")
    savings: Money = Field(description="Savings on benefits: the municipality's party only (the state's refund share is not measured).")
    net: Money = Field(description="savings + received - paid - course costs.")
    npv: Money


class InvestorView(Strict):
    """Investors pre-finance course costs and are repaid from outcome payments (waterfall)."""

    reference: str
    invested: Money
    principal_repaid: Money
    return_paid: Money
    retained_by_payers: Money
    capital_at_risk: Money = Field(description="The largest amount the investors are out of pocket at any time.")
    money_multiple: str | None = Field(description="(principal repaid + return) / invested, to 4 decimals.")
    irr: str | None = Field(description="Annual internal rate of return (ACT/365), none when it does not exist.")
    by_month: list[dict] = Field(description="month, invested, principal_repaid, return_paid, retained.")


class MunicipalityCase(Strict):
    contract: ContractRef
    currency: CurrencyCode
    municipality: str
    counterfactual: str = Field(description="Which counterfactual gave the savings, in words.")
    benefit_rates_hash: str = Field(description="sha256 of the benefit-rate table the savings were valued with (it is not part of the contract's hash).")
    participants: int = Field(description="Eligible participants within the cohort size.")
    companies: int
    course_costs_citizen: Money
    course_costs_company: Money
    course_costs_total: Money
    municipal_course_costs: Money = Field(description="The part of the course costs the municipality pays directly.")
    outcome_payments: list[PartyAmount] = Field(description="Settled outcome payments by payer.")
    municipal_outcome_payments: Money
    savings: Money = Field(description="Savings realised to the as-of date (within the savings weeks).")
    net_result: Money = Field(description="Municipality: savings - its outcome payments - its direct course costs.")
    projected_savings: Money | None = Field(
        default=None, description="Savings projected past the realised ones to the horizon the agreement names (none without a projection)."
    )
    projected_net_result: Money | None = Field(default=None, description="net_result + projected_savings (outcome payments after the as-of date are not projected).")
    projection: str | None = Field(default=None, description="The projection and its persistence assumption, in words.")
    npv: Money = Field(description="NPV of the municipality's net flows at the discount rate, valued at the term start.")
    discounting: str = Field(description="The discounting convention, rate and clause, in words.")
    npv_by_party: list[PartyNPV] = Field(default_factory=list, description="Each party's flows and NPV (the municipality's equals npv).")
    break_even_month: str | None
    savings_cover_course_costs: str | None = Field(description="savings / total course costs, as a percentage with one decimal.")
    finances_the_courses: bool | None = Field(
        description="True when the savings to date are at least what the municipality paid for the courses (its outcome payments and own course costs): "
        "net_result >= 0; null when savings are not measured (no business_case section)."
    )
    answer: str = Field(description="The verdict, worded from the numbers: do the savings finance the courses, to date and (with a projection) ahead?")
    months: list[MonthRow]
    investor: InvestorView | None = None
    targets: list[TargetReport] = Field(default_factory=list, description="Soft targets and how the cohort stands against them.")
    notes: list[str] = Field(default_factory=list, description="What this case leaves out, said plainly (no savings measured, no course costs).")

    @model_serializer(mode="wrap")
    def _drop_empty(self, handler):
        data = handler(self)
        for key in ("targets", "notes"):
            if not data.get(key, True):
                del data[key]
        return data


# The report's conventions when an agreement names its discounting (the default text stays
# the model's, so a report of agreements that do not name one reads as before).
NAMED_CONVENTIONS = N_(
    "Flows are dated: course-cost instalments monthly from each start, outcome payments on their due date, "
    "savings on the Sunday of each week saved. NPV discounts each flow to the term start by the convention "
    "each agreement names (its discounting), else by its actual time (ACT/365). Break-even: the first month "
    "from which the cumulative net stays at or above zero."
)


class BusinessCaseReport(Strict):
    schema_version: Literal["1"] = "1"
    as_of: ISODate
    discount_rate: str | None = Field(description="The annual rate used for every NPV; null when the agreements name different rates.")
    currency: CurrencyCode = Field(description="The one currency of every agreement in the business case (a mix is refused).")
    conventions: str = Field(
        default=N_(
            "Flows are dated: course-cost instalments monthly from each start, outcome payments on their due date, "
            "savings on the Sunday of each week saved. NPV discounts each flow by its actual time from the term start "
            "(ACT/365). Break-even: the first month from which the cumulative net stays at or above zero."
        )
    )
    municipalities: list[MunicipalityCase]
    programme: MunicipalityCase | None = Field(default=None, description="All municipalities together (no investor view).")
    answer: str
    left_out: list[str] = Field(default_factory=list, description="Histories of municipalities no agreement here covers.")
