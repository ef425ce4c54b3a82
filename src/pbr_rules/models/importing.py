"""The mapping file of ``pbr import`` (``kind: import_mapping``): which municipal files to read,
which of their columns mean what, and which local codes mean which words of the vocabulary.

docs/import.md describes every key with an example; ``pbr_rules.importers`` reads the files.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pbr_rules.models.common import Identifier, ISODate, Strict

Column = str  # the header of a column, exactly as in the file


class FileSpec(Strict):
    """Where a file is and how it is written."""

    file: str = Field(min_length=1, description="The file, relative to the mapping file.")
    encoding: Literal["utf-8", "cp1252", "latin-1"] = Field(
        default="utf-8", description="Its text encoding; 'utf-8' also reads a UTF-8 byte-order mark."
    )
    delimiter: Literal["auto", ";", ",", "tab"] = Field(
        default="auto", description="The column separator; 'auto' takes the one the header line uses most."
    )


class ParticipantColumns(Strict):
    person: Column = Field(description="The CPR number (replaced by a pseudonymous id before anything is written).")
    enrolment: Column = Field(description="The enrolment date (YYYY-MM-DD or DD-MM-YYYY).")
    target_group: Column = Field(description="The local target-group code, mapped by target_groups.")
    resident: Column | None = Field(default=None, description="Resident in the municipality at enrolment: ja/nej, yes/no, 1/0.")


class ParticipantsFile(FileSpec):
    """The cohort: who is enrolled, when, and in which target group."""

    columns: ParticipantColumns
    target_groups: dict[str, Identifier] = Field(min_length=1, description="Local target-group code -> a target group of the vocabulary beside the benefit codes.")


class BenefitsFile(FileSpec):
    """The weekly benefit register extract (DREAM layout): one row per person, one column per ISO week."""

    person: Column = Field(description="The column with the CPR number.")
    codes: dict[str, str] = Field(min_length=1, description="Local benefit code (as in the cells) -> a code of the benefit-code vocabulary.")
    self_supporting: list[str] = Field(
        default_factory=lambda: [""], description="Cell values that mean no benefit that week (self-supporting); default: an empty cell."
    )


class IncomeColumns(Strict):
    person: Column
    month: Column = Field(description="The month: YYYY-MM or YYYYMM.")
    hours: Column = Field(description="Hours worked in the month.")
    earnings: Column = Field(description="Earnings in the month, in kroner.")
    employer: Column = Field(description="The employer's id (CVR or SE number).")


class IncomeFile(FileSpec):
    """Monthly income records (eIndkomst layout): one row per person, month and employer."""

    columns: IncomeColumns


class AttendanceColumns(Strict):
    person: Column
    date: Column
    session: Column = Field(description="The session (module, class) attended that day.")


class AttendanceFile(FileSpec):
    """A course provider's attendance export: one row per session attended."""

    columns: AttendanceColumns


class CompanyColumns(Strict):
    company: Column = Field(description="The company's id (CVR number).")
    year: Column
    employees: Column = Field(description="Employees that year (full-time equivalents or head count); gives the size band.")
    start: Column = Field(description="The date the company started the social accelerator.")
    partner: Column = Field(description="A partner company of the programme: ja/nej, yes/no, 1/0.")


class CompaniesFile(FileSpec):
    """Company yearly figures: one row per company and year."""

    columns: CompanyColumns


class ImportMapping(Strict):
    """How one municipality's register extracts become participant and company histories."""

    kind: Literal["import_mapping"]
    description: str | None = None
    municipality: str = Field(pattern=r"^\d{3}$", description="The kommunekode of the municipality the histories belong to.")
    extracted: ISODate = Field(description="The date the extracts were taken: nothing after it is imported.")
    benefit_codes: str = Field(description="The benefit-code vocabulary, relative to the mapping file.")
    participants: ParticipantsFile
    benefits: BenefitsFile
    income: IncomeFile | None = None
    attendance: AttendanceFile | None = None
    companies: CompaniesFile | None = None
    documentation: str | None = None
