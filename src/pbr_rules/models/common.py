"""Building blocks shared by every model: the strict base class and small value types.

Every model refuses unknown keys. So that a contract manager sees *which* keys are
allowed (and the nearest one to a typo), each model records, during validation, the
keys it accepts for the raw mapping it was given; the loader turns pydantic's
``extra_forbidden`` errors into "unknown key 'tarifs' (did you mean 'tariffs'?)".
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)

from pbr_rules.money import money_str, parse_money, parse_quantity, parse_share
from pbr_rules.periods import latest_on_or_before, parse_iso_date
from pbr_rules.personal_data import refuse_cpr

ALLOWED_KEYS_CONTEXT = "allowed_keys"


class Strict(BaseModel):
    """Base of every model: frozen, unknown keys refused, allowed keys remembered for hints."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)

    @model_validator(mode="before")
    @classmethod
    def _remember_allowed_keys(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, dict) and isinstance(info.context, dict):
            registry = info.context.setdefault(ALLOWED_KEYS_CONTEXT, {})
            registry[id(data)] = tuple(cls.model_fields)
        return data


_FIELDS: dict[type, tuple] = {}


def construct(cls: type[BaseModel], /, **values: Any) -> Any:
    """An instance of ``cls`` from values that are already valid, without validating them again.

    For results and generated histories built in hot paths from validated data (measured:
    pydantic validation was a quarter of an explained evaluation, and ``model_construct``,
    written in Python, slower still). The instance is what ``model_construct`` gives: every
    field in field order, omitted ones from their default or a fresh default factory's value;
    a model not of that plain kind (a post-init hook, private attributes, extra fields) is
    made by ``model_construct`` itself. tests/test_engine.py checks results dump to the same
    bytes, tests/test_simulation.py generated histories against full validation.
    """
    known = _FIELDS.get(cls)
    if known is None:
        fields = cls.model_fields
        plain = (
            getattr(BaseModel, "__slots__", None) == ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__")
            and not cls.__pydantic_post_init__
            and not cls.__private_attributes__
            and cls.model_config.get("extra") != "allow"
        )
        known = _FIELDS[cls] = (
            tuple(fields),
            {name: f.default for name, f in fields.items() if not f.is_required() and f.default_factory is None},
            {name: f.default_factory for name, f in fields.items() if f.default_factory is not None},
            plain,
            # every field given: one fields-set shared by those instances of a frozen model (nothing
            # can be assigned to one, so nothing adds to it; model_copy copies it)
            set(fields) if cls.model_config.get("frozen") else None,
        )
    names, defaults, factories, plain, every = known
    if not plain:
        return cls.model_construct(**values)
    m = _new(cls)
    if tuple(values) == names:
        given = values  # every field, in the fields' order
        given_set = set(values) if every is None else every
    else:  # in the fields' order, which the serialiser follows; a required field left out is a KeyError
        given = {name: values[name] if name in values else (factories[name]() if name in factories else defaults[name]) for name in names}
        given_set = set(values)
    _set(m, "__dict__", given)
    _set(m, "__pydantic_fields_set__", given_set)
    _set(m, "__pydantic_extra__", None)
    _set(m, "__pydantic_private__", None)
    return m


_new = object.__new__
_set = object.__setattr__


def omitted_when_none(value: Any) -> bool:
    """``Field(exclude_if=omitted_when_none)``: a key added after a format's first version is left
    out of dumps while None, so what was written before keeps its bytes and hashes. Checked by
    pydantic's serialiser per field, several times cheaper than a wrap serialiser that builds
    the dict and deletes from it."""
    return value is None


def omitted_when_empty(value: Any) -> bool:
    """``Field(exclude_if=omitted_when_empty)``: a list added after a format's first version is
    left out of dumps while empty (see ``omitted_when_none``)."""
    return not value


ISODate = Annotated[
    date,
    BeforeValidator(parse_iso_date),
    PlainSerializer(date.isoformat, return_type=str),  # the method itself: no Python frame a date
    WithJsonSchema({"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}),
]

Money = Annotated[
    Decimal,
    BeforeValidator(parse_money),
    PlainSerializer(money_str, return_type=str),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^-?\d{1,15}(\.\d{1,2})?$"},
                {"type": "integer"},
            ],
            "description": "Amount in the contract currency, as a string such as '1250.50' or a whole number.",
        }
    ),
]

CurrencyCode = Annotated[
    str,
    Field(
        pattern=r"^[A-Z]{3}$",
        description="The ISO 4217 code of the currency every amount here is in: the contract's currency.",
        examples=["DKK"],
    ),
]


def _not_negative(amount: Decimal) -> Decimal:
    if amount < 0:
        raise ValueError("an amount of kroner here is 0 or more; a negative amount is not accepted")
    return amount


NonNegativeMoney = Annotated[
    Decimal,
    BeforeValidator(parse_money),
    AfterValidator(_not_negative),
    PlainSerializer(money_str, return_type=str),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^\d{1,15}(\.\d{1,2})?$"},
                {"type": "integer", "minimum": 0},
            ],
            "description": "Amount of 0 or more in the contract currency, as a decimal string such as '1250.50' or a whole number.",
        }
    ),
]


def _json_number(value: Any) -> Any:
    """Numbers are JSON (or YAML) numbers: the text "20" and the booleans are refused."""
    if isinstance(value, (str, bool)) or not isinstance(value, (int, float, Decimal)):
        raise ValueError(f"expected a number such as 20 or 37.5, not {type(value).__name__}; write numbers without quotes")
    return value


NonNegativeNumber = Annotated[Decimal, BeforeValidator(_json_number)]


def Text(max_length: int, *, description: str | None = None):  # noqa: N802 - a type factory
    """Free text entering from a history or request: at most ``max_length`` characters, no CPR number.

    The limit is in the JSON Schema (``maxLength``); a CPR number anywhere in the text is
    refused without echoing it (pbr_rules.personal_data).
    """
    return Annotated[str, Field(min_length=1, max_length=max_length, description=description), AfterValidator(refuse_cpr)]


Share = Annotated[
    Decimal,
    BeforeValidator(parse_share),
    PlainSerializer(lambda d: format(d, "f"), return_type=str),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "pattern": r"^(0(\.\d{1,6})?|1(\.0{1,6})?)$"}, {"enum": [0, 1]}],
            "description": "A share from 0 to 1, e.g. '0.6'.",
        }
    ),
]

Quantity = Annotated[
    Decimal,
    BeforeValidator(parse_quantity),
    PlainSerializer(lambda d: format(d, "f"), return_type=str),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "pattern": r"^\d{1,15}(\.\d{1,6})?$"}, {"type": "integer", "minimum": 0}],
            "description": "A number of 0 or more with at most 6 decimals, as a string such as '0.5' or '1250.50', or a whole number.",
        }
    ),
]

Reference = Annotated[
    str,
    Field(
        min_length=1,
        max_length=500,
        description="The clause of the signed agreement this comes from, e.g. '§ 5.2' or 'Bilag 2, pkt. 3'.",
    ),
]

# Free text of contract files: a one-line label, and prose for lawyers and managers. The
# limits are far above any real agreement's text (the longest bundled prose is ~2,000
# characters) and stop a posted contract from carrying megabytes of text into answers.
Label = Annotated[str, Field(min_length=1, max_length=1_000)]
Prose = Annotated[str, Field(max_length=20_000)]

Identifier = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9][a-z0-9_\-]{0,63}$",
        description="A short id: lower-case letters, digits, '_' and '-'.",
    ),
]

T = TypeVar("T")


class DatedEntry(Strict, Generic[T]):
    """One effective-dated value: in force from its date until the next date; ``value: null`` withdraws it."""

    value: T | None = Field(description="The value in force from this date; null withdraws it.")
    reference: Reference
    documentation: Prose | None = Field(default=None, description="Prose for readers: why this value, what changed.")


def in_force(dated: dict[date, DatedEntry[T]] | None, day: date) -> tuple[date, DatedEntry[T]] | None:
    """The entry in force on ``day``: the latest effective date on or before it (None if none, or withdrawn)."""
    if not dated:
        return None
    dates = sorted(dated)
    i = latest_on_or_before(dates, day)
    if i is None:
        return None
    entry = dated[dates[i]]
    if entry.value is None:
        return None
    return dates[i], entry
