"""Money: strict parsing, one rounding rule (half-up to øre), exact splits. Expected values by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pbr_rules.i18n import format_money
from pbr_rules.money import (
    money_str,
    parse_money,
    parse_share,
    round_money,
    separator_advice,
    split_by_shares,
)

D = Decimal


# --- parse_money --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1250.50", "1250.50"),
        ("1250.5", "1250.50"),
        ("20000", "20000.00"),
        ("0", "0.00"),
        ("-300", "-300.00"),
        ("  42.10 ", "42.10"),
        ("1_000_000", "1000000.00"),
        ("999999999999999.99", "999999999999999.99"),
    ],
)
def test_parse_money_from_text(text, expected):
    value = parse_money(text)
    assert value == D(expected)
    assert str(value) == expected  # always two decimals: øre


@pytest.mark.parametrize("number, expected", [(0, "0.00"), (5000, "5000.00"), (-12, "-12.00")])
def test_parse_money_from_whole_numbers(number, expected):
    assert str(parse_money(number)) == expected


def test_parse_money_from_decimal():
    assert str(parse_money(D("12.5"))) == "12.50"


@pytest.mark.parametrize("number", [1250.5, 0.1, 30000.0, float("nan"), float("inf")])
def test_parse_money_refuses_floats(number):
    with pytest.raises(ValueError, match="must be written as a string or whole number"):
        parse_money(number)


@pytest.mark.parametrize("flag", [True, False])
def test_parse_money_refuses_booleans(flag):
    with pytest.raises(ValueError):
        parse_money(flag)


@pytest.mark.parametrize(
    "text",
    [
        # "12,50", "1.234" and "1 000" were here: they now get the exact value to write
        # (test_separators_get_the_exact_value_to_write).
        "abc",
        "",
        " ",
        "1e5",
        "DKK 100",
        "100 kr",
        "+100",
        "1.",
        ".50",
    ],
)
def test_parse_money_refuses_bad_text(text):
    with pytest.raises(ValueError, match="is not a number of kroner with at most 2 decimals"):
        parse_money(text)


@pytest.mark.parametrize("text", ["1234567890123456", "99999999999999999999999999999999999", "-1234567890123456.50"])
def test_parse_money_says_when_an_amount_has_too_many_digits(text):
    with pytest.raises(ValueError, match="amount has more than 15 digits"):
        parse_money(text)


@pytest.mark.parametrize("thing", [None, [1], {"value": 1}])
def test_parse_money_refuses_other_types(thing):
    with pytest.raises(ValueError, match="amount must be a string such as '1250.50'"):
        parse_money(thing)


# --- parse_share ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [("0.6", "0.6"), ("0.333334", "0.333334"), ("1", "1"), (0, "0"), (1, "1"), ("1.0", "1.0")])
def test_parse_share(text, expected):
    assert parse_share(text) == D(expected)


@pytest.mark.parametrize("bad", [0.6, True, "1.1", "2", "-0.1", "0.1234567", ".5", "60%", None])
def test_parse_share_refuses(bad):
    with pytest.raises(ValueError):
        parse_share(bad)


# --- round_money: half-up to whole øre --------------------------------------------------------------


@pytest.mark.parametrize(
    "amount, expected",
    [
        ("0.005", "0.01"),  # half goes up
        ("0.004999", "0.00"),
        ("0.015", "0.02"),
        ("0.025", "0.03"),  # banker's rounding would give 0.02
        ("2.675", "2.68"),
        ("2.665", "2.67"),
        ("-0.005", "-0.01"),  # half-up is away from zero
        ("-2.675", "-2.68"),
        ("33.3333", "33.33"),
        ("99.995", "100.00"),
        ("7", "7.00"),
    ],
)
def test_round_money_half_up(amount, expected):
    assert str(round_money(D(amount))) == expected


def test_money_str_and_display():
    assert money_str(D("1250.5")) == "1250.50"
    assert money_str(D("0.125")) == "0.13"
    assert format_money(D("12400"), "DKK", "en") == "DKK 12,400.00"
    assert format_money(D("1234567.895"), "DKK", "en") == "DKK 1,234,567.90"


# --- split_by_shares: the parts sum exactly, the remainder goes to the last -----------------------


@pytest.mark.parametrize(
    "amount, shares, expected",
    [
        # 100.00 x 0.333333 = 33.3333 -> 33.33 twice; the last takes 100.00 - 66.66 = 33.34.
        ("100.00", ["0.333333", "0.333333", "0.333334"], ["33.33", "33.33", "33.34"]),
        ("100", ["0.333333", "0.333333", "0.333334"], ["33.33", "33.33", "33.34"]),
        ("30000", ["0.6", "0.4"], ["18000.00", "12000.00"]),
        ("35000", ["0.7", "0.3"], ["24500.00", "10500.00"]),
        # 0.01 x 0.5 = 0.005 each: floors 0.00, one øre left, to the first of the tied remainders.
        ("0.01", ["0.5", "0.5"], ["0.01", "0.00"]),
        # 1000.01 x 0.5 = 500.005 each: floors 500.00, the left-over øre to the first (tie).
        ("1000.01", ["0.5", "0.5"], ["500.01", "500.00"]),
        # 10.00 x 0.333333 = 3.33333, x 0.666667 = 6.66667: floors 3.33 + 6.66, the øre to the larger remainder (0.667 > 0.333).
        ("10.00", ["0.333333", "0.666667"], ["3.33", "6.67"]),
        ("12345.67", ["1"], ["12345.67"]),
        ("5000", ["1", "0"], ["5000.00", "0.00"]),
    ],
)
def test_split_by_shares(amount, shares, expected):
    parts = split_by_shares(D(amount), [D(s) for s in shares])
    assert [str(p) for p in parts] == expected
    assert sum(parts, D(0)) == round_money(D(amount))


@given(
    amount=st.decimals(min_value=0, max_value=10_000_000, places=2, allow_nan=False, allow_infinity=False),
    cuts=st.lists(st.integers(min_value=0, max_value=1_000_000), min_size=0, max_size=5),
)
def test_split_parts_always_sum_to_the_amount(amount, cuts):
    # Shares with six decimals summing to exactly 1, from cut points of 1,000,000 millionths.
    points = sorted(cuts)
    bounds = [0] + points + [1_000_000]
    shares = [D(b - a) / D(1_000_000) for a, b in zip(bounds, bounds[1:])]
    assert sum(shares, D(0)) == 1
    parts = split_by_shares(amount, shares)
    assert len(parts) == len(shares)
    assert sum(parts, D(0)) == amount
    assert all(p == p.quantize(D("0.01")) for p in parts)


@pytest.mark.parametrize(
    "amount, shares",
    [
        ("1.05", ["0.5", "0.5", "0"]),  # 0.525 -> 0.53 twice = 1.06 > 1.05: the last part is -0.01
        ("0.02", ["0.3", "0.3", "0.3", "0.1"]),  # 0.006 -> 0.01 three times = 0.03 > 0.02
    ],
)
def test_split_never_gives_a_negative_part(amount, shares):
    # Largest remainder: 1.05 x (0.5, 0.5, 0) = 0.525, 0.525, 0 -> floors 0.52, 0.52, 0 with
    # one øre left, to the first of the tied largest remainders: 0.53, 0.52, 0.00.
    parts = split_by_shares(D(amount), [D(s) for s in shares])
    assert all(p >= 0 for p in parts), parts
    assert sum(parts, D(0)) == D(amount)


def test_split_gives_left_over_ore_to_the_largest_remainders():
    # 0.02 x (0.3, 0.3, 0.3, 0.1) = 0.006, 0.006, 0.006, 0.002 øre-wise: 0.6, 0.6, 0.6, 0.2 øre;
    # floors are all 0, two øre left: to the first two of the tied 0.6 remainders.
    assert [str(p) for p in split_by_shares(D("0.02"), [D("0.3"), D("0.3"), D("0.3"), D("0.1")])] == ["0.01", "0.01", "0.00", "0.00"]


# --- amounts written with thousands separators or a decimal comma --------------------------------


@pytest.mark.parametrize(
    "text, exact",
    [
        ("38.000", "38000"),  # YAML reads an unquoted 38.000 as 38.0: only the text tells
        ("1.250.000", "1250000"),
        ("30.000,50", "30000.50"),
        ("30.000,5", "30000.50"),
        ("38,000", "38000"),
        ("1,250.50", "1250.50"),
        ("38,50", "38.50"),
        ("30 000", "30000"),
        ("-1.000", "-1000"),
        ("12,50", "12.50"),
        ("1.234", "1234"),  # three digits after '.' can only be a thousands group: øre are two
        ("1.005", "1005"),
        ("1 000", "1000"),
        ("kr. 38.000", "38000"),
        ("38.000 kr.", "38000"),
        ("DKK 1,000,000.00", "1000000.00"),
    ],
)
def test_separators_get_the_exact_value_to_write(text, exact):
    with pytest.raises(ValueError) as info:
        parse_money(text)
    message = str(info.value)
    assert f'write "{exact}"' in message
    assert message.startswith(f"amount {text} uses ")
    # The suggestion is what the writer meant, and it parses to that value.
    assert parse_money(exact) == D(exact)


@pytest.mark.parametrize("text", ["38.000", "38,000", "30.000,50"])
def test_separator_advice_never_suggests_kroner_and_øre_of_the_wrong_size(text):
    advice = separator_advice(text)
    assert advice is not None
    assert '"38.00"' not in advice and '"38"' not in advice and '"30.00"' not in advice


@pytest.mark.parametrize("text", ["38.5", "1250.50", "12x", "1.2.3", "38,123,4"])
def test_no_separator_advice_for_other_text(text):
    assert separator_advice(text) is None


def test_money_shown_is_rounded_half_up_in_both_languages_and_in_whole_units():
    # An audit: whole-unit display rounded half-even (2.50 -> 2) and the English table amount
    # skipped round_money (1000.005 -> 1,000.00 in English, 1.000,01 in Danish).
    from pbr_rules.i18n import format_amount, format_money_whole, format_whole

    assert (format_whole(D("2.50"), "en"), format_whole(D("2.50"), "da"), format_whole(D("-2.50"), "en")) == ("3", "3", "-3")
    assert (format_amount(D("1000.005"), "en"), format_amount(D("1000.005"), "da")) == ("1,000.01", "1.000,01")
    assert (format_money_whole(D("1234.5"), "DKK", "en"), format_money_whole(D("1234.5"), "DKK", "da")) == ("DKK 1,235", "1.235 kr.")
