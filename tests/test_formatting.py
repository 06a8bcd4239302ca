"""Numbers as regulators read them."""

from __future__ import annotations

from decimal import Decimal

from hmb.core.formatting import in_wan, people, percent, points, to_wan, wan_yuan


def test_wan_yuan_has_thousands_separators_and_two_decimals() -> None:
    assert wan_yuan(123_456_789.0) == "12,345.68 万元"
    assert wan_yuan(Decimal("50000.00")) == "5.00 万元"
    assert wan_yuan(None) == "—"


def test_yuan_in_wan_exactly_and_rounded_for_an_axis() -> None:
    assert in_wan(12_345_678.9) == Decimal("1234.56789")
    assert in_wan(Decimal("-150")) == Decimal("-0.015")
    assert to_wan(1_234_567.89) == 123.46  # 123.456789 万元, half-up to the cent of 万
    assert to_wan(Decimal("5000")) == 0.5
    assert to_wan(50.0) == 0.01  # 0.005 万元 rounds half up, not to the even 0.00
    assert to_wan(None) is None


def test_percent_and_points() -> None:
    assert percent(0.21733) == "21.73%"
    assert percent(None) == "—"
    assert points(-0.034) == "-3.40 个百分点"


def test_people() -> None:
    assert people(1234567) == "1,234,567 人"
