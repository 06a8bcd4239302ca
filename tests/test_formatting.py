"""Numbers as regulators read them."""

from __future__ import annotations

from decimal import Decimal

from hmb.core.formatting import people, percent, points, wan_yuan


def test_wan_yuan_has_thousands_separators_and_two_decimals() -> None:
    assert wan_yuan(123_456_789.0) == "12,345.68 万元"
    assert wan_yuan(Decimal("50000.00")) == "5.00 万元"
    assert wan_yuan(None) == "—"


def test_percent_and_points() -> None:
    assert percent(0.21733) == "21.73%"
    assert percent(None) == "—"
    assert points(-0.034) == "-3.40 个百分点"


def test_people() -> None:
    assert people(1234567) == "1,234,567 人"
