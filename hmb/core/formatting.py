"""Numbers as regulators read them: 万元 with thousands separators, percentages, people."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

WAN = Decimal(10_000)
HUNDREDTH = Decimal("0.01")


def in_wan(amount: float | Decimal) -> Decimal:
    """Yuan in 万元, exactly: 12,345,678.9 → Decimal('1234.56789')."""
    return Decimal(str(amount)) / WAN


def to_wan(amount: float | Decimal | None) -> float | None:
    """Yuan to 万元 for a chart's axis, rounded half-up to 2 decimals: 1,234,567.89 → 123.46;
    None stays None."""
    if amount is None:
        return None
    return float(in_wan(amount).quantize(HUNDREDTH, rounding=ROUND_HALF_UP))


def wan_yuan(amount: float | Decimal | None, digits: int = 2) -> str:
    """12345678.9 → '1,234.57 万元'; None → '—'."""
    if amount is None:
        return "—"
    return f"{in_wan(amount):,.{digits}f} 万元"


def yuan(amount: float | Decimal | None) -> str:
    if amount is None:
        return "—"
    return f"{Decimal(str(amount)):,.2f} 元"


def percent(rate: float | None, digits: int = 2) -> str:
    """0.21733 → '21.73%'; None (a zero denominator) → '—'."""
    if rate is None:
        return "—"
    return f"{rate * 100:.{digits}f}%"


def points(gap: float | None, digits: int = 2) -> str:
    """A difference of two rates in percentage points: -0.034 → '-3.40 个百分点'."""
    if gap is None:
        return "—"
    return f"{gap * 100:+.{digits}f} 个百分点"


def people(count: int | None) -> str:
    if count is None:
        return "—"
    return f"{count:,} 人"
