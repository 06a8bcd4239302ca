"""The overview's and the development page's sentences (dashboard.summary), from hand-made
figures: the numbers come from hmb.measure, the words from here."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from dashboard import summary
from hmb.measure.development import Development, OriginRow


def origin(year: int = 2025, age: int = 1, **figures: Any) -> OriginRow:
    """Paid 600,000, projected 910,000 ± 30,000 on 1,000,000 earned: 91 % ± 3 points, 6 points
    above an expected 85 %."""
    base: dict[str, Any] = {"latest": 600_000.0, "ultimate": 910_000.0, "ibnr": 310_000.0,
                            "mack_se": 30_000.0, "earned_premium": Decimal(1_000_000),
                            "expected_loss_ratio": 0.85, "written_premium": Decimal(1_000_000)}
    return OriginRow(policy_year=year, age=age, **{**base, **figures})


@pytest.mark.parametrize(
    ("row", "developing", "zh", "en"),
    [
        (origin(), True,
         "2025 年度预计最终赔付率 91.0%（±3.0 个百分点，仍在进展，为暂定预测），"
         "高于要求赔付率 85%。",
         "2025: projected ultimate loss ratio 91.0% (±3.0 points; still developing,"
         " provisional), above the expected 85%."),
        # 600,000 + 100,000 projected = 70 % on 1,000,000
        (origin(ultimate=700_000.0), True,
         "2025 年度预计最终赔付率 70.0%（±3.0 个百分点，仍在进展，为暂定预测），"
         "低于要求赔付率 85%。",
         "2025: projected ultimate loss ratio 70.0% (±3.0 points; still developing,"
         " provisional), below the expected 85%."),
        # A settled year: its paid figure is final, no ± to give.
        (origin(2023, 3, latest=880_000.0, ultimate=880_000.0, mack_se=0.0), False,
         "2023 年度最终赔付率 88.0%（赔款已基本结清），高于要求赔付率 85%。",
         "2023: ultimate loss ratio 88.0% (claims settled), above the expected 85%."),
        # A developing year with no older year to develop from: what is paid, provisional,
        # never "± 0.0".
        (origin(2023, 2, latest=880_000.0, ultimate=880_000.0, ibnr=0.0, mack_se=0.0), True,
         "2023 年度按已付赔款计赔付率 88.0%（仍在进展，尚无更早年度的进展可供推算，为暂定数），"
         "高于要求赔付率 85%。",
         "2023: loss ratio 88.0% on claims paid so far (still developing, no earlier year's"
         " development to project from: provisional), above the expected 85%."),
        (origin(mack_se=None, expected_loss_ratio=None), True,
         "2025 年度预计最终赔付率 91.0%（误差无法估计，仍在进展，为暂定预测）；"
         "要求赔付率为地方参数，未设定，不作比较。",
         "2025: projected ultimate loss ratio 91.0% (error unknown; still developing,"
         " provisional); the expected ratio is a local parameter, not set, so no comparison."),
        (origin(latest=0.0, ultimate=0.0, mack_se=0.0), True,
         "2025 年度尚无已付赔款，暂不能预计最终赔付率。",
         "2025: nothing paid yet, so no ultimate can be projected."),
        (origin(earned_premium=Decimal(0), written_premium=Decimal(0)), True,
         "2025 年度尚无已赚保费或无法预计最终赔款，不计算预计赔付率。",
         "2025: no earned premium or no projection, so no projected loss ratio."),
    ],
    ids=["above", "below", "final", "nothing-to-project-from", "no-error-no-expected",
         "nothing-paid", "nothing-earned"],
)
def test_a_sentence_per_year(row: OriginRow, developing: bool, zh: str, en: str) -> None:
    assert summary.development_sentence(row, developing, "zh") == zh
    assert summary.development_sentence(row, developing, "en") == en


def test_the_loss_ratio_tile_notes_the_projection_of_the_latest_developing_year() -> None:
    older = origin(2024, 2, ultimate=650_000.0, ibnr=50_000.0)
    result = Development(date(2025, 6, 30), "year", (older, origin()), None, ())
    assert summary.projection_note(result, 2025, "zh") == "预计最终 91.0%（±3.0 个百分点）"
    assert summary.projection_note(result, 2025, "en") == "Projected ultimate 91.0% (±3.0 points)"
    # Not the latest year, a year not in the table, a year with nothing left to pay: no note.
    assert summary.projection_note(result, 2024, "zh") is None
    assert summary.projection_note(result, 2026, "zh") is None
    settled = Development(date(2025, 6, 30), "year", (origin(ibnr=0.0),), None, ())
    assert summary.projection_note(settled, 2025, "zh") is None


def test_a_year_in_force_is_projected_over_its_written_premium() -> None:
    """Half-way through the year 500,000 of 1,000,000 is earned. The ultimate, 910,000, is the
    whole year's claims: 91 % of the year's premium, ± 30,000 / 1,000,000 = 3 points, not the
    182 % contract §5's earned basis gives."""
    row = origin(earned_premium=Decimal(500_000), written_premium=Decimal(1_000_000))
    assert row.projected_loss_ratio == pytest.approx(1.82)
    assert summary.development_sentence(row, True, "zh") == (
        "2025 年度预计最终赔付率 91.0%（±3.0 个百分点，仍在进展，为暂定预测），"
        "高于要求赔付率 85%。")
    result = Development(date(2025, 6, 30), "year", (row,), None, ())
    assert summary.projection_note(result, 2025, "en") == "Projected ultimate 91.0% (±3.0 points)"
