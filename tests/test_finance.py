"""Finance arithmetic with hand-worked numbers (docs/business-case.md conventions)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from pbr_rules.finance.discounting import (
    add_months,
    break_even_month,
    cumulative,
    discount_factor,
    instalments,
    irr,
    months_between,
    npv,
    waterfall,
)


def test_discounting_uses_actual_days_over_365():
    # 365 days at 5 %: 1/1.05 = 0.952380952...; 730 days: 1/1.1025 = 0.907029478...
    assert abs(discount_factor(D("0.05"), D(1)) - D(1) / D("1.05")) < D("1e-20")
    flows = [(date(2019, 1, 1), D(-1000)), (date(2020, 1, 1), D(525)), (date(2020, 12, 31), D(551.25))]
    # 2019-01-01 -> 2020-01-01 is 365 days; -> 2020-12-31 is 730 days (2020 is a leap year).
    # -1000 + 525/1.05 + 551.25/1.1025 = -1000 + 500 + 500 = 0
    assert npv(flows, D("0.05"), date(2019, 1, 1)) == D("0.00")
    # at 0 %: the plain sum 76.25
    assert npv(flows, D("0"), date(2019, 1, 1)) == D("76.25")


def test_irr_recovers_the_rate_the_flows_were_built_with():
    flows = [(date(2019, 1, 1), D(-1000)), (date(2020, 1, 1), D(525)), (date(2020, 12, 31), D(551.25))]
    assert irr(flows) == D("0.05000000")
    # one year, +10 %: -100 then +110 after 365 days
    assert irr([(date(2021, 1, 1), D(-100)), (date(2022, 1, 1), D(110))]) == D("0.10000000")
    assert irr([(date(2021, 1, 1), D(100))]) is None  # no sign change


def test_break_even_is_the_first_month_that_stays_non_negative():
    months = months_between("2019-11", "2020-04")
    assert months == ["2019-11", "2019-12", "2020-01", "2020-02", "2020-03", "2020-04"]
    cum = cumulative({"2019-11": D(-100), "2020-01": D(150), "2020-02": D(-80), "2020-03": D(40)}, months)
    # -100, -100, 50, -30, 10, 10: non-negative from 2020-03 on (2020-01 dips again in 2020-02)
    assert cum == [D(-100), D(-100), D(50), D(-30), D(10), D(10)]
    assert break_even_month(months, cum) == "2020-03"
    assert break_even_month(months[:4], cum[:4]) is None


def test_instalments_add_up_to_the_amount_and_fall_monthly():
    flows = instalments(date(2019, 1, 31), D("1000"), 3)
    # 1000 / 3 = 333.33, twice, and the last takes 333.34; 31 Jan + 1 month -> 28 Feb
    assert flows == [(date(2019, 1, 31), D("333.33")), (date(2019, 2, 28), D("333.33")), (date(2019, 3, 31), D("333.34"))]
    assert add_months(date(2020, 1, 31), 1) == date(2020, 2, 29)


def test_waterfall_principal_first_then_return_up_to_the_cap_then_retained():
    # Investors pay 100 on 1 Jan and 100 on 1 Feb; receipts 150 (1 Mar), 80 (1 Apr), 50 (1 May);
    # return cap 0.3 of principal: room 60.
    # 1 Mar: principal outstanding 200: 150 to principal.
    # 1 Apr: 50 to principal (now 200 repaid), 30 to return.
    # 1 May: 30 more return (60 reached), 20 retained.
    steps = waterfall(
        [(date(2021, 1, 1), D(100)), (date(2021, 2, 1), D(100))],
        [(date(2021, 3, 1), D(150)), (date(2021, 4, 1), D(80)), (date(2021, 5, 1), D(50))],
        D("0.3"),
    )
    assert [(s.day.month, s.invested, s.principal_repaid, s.return_paid, s.retained) for s in steps] == [
        (1, D(100), D(0), D(0), D(0)),
        (2, D(100), D(0), D(0), D(0)),
        (3, D(0), D(150), D(0), D(0)),
        (4, D(0), D(50), D("30.00"), D(0)),
        (5, D(0), D(0), D("30.00"), D(20)),
    ]
