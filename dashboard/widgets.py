"""Small building blocks shared by the pages: a table with its downloads, a chart or its empty
state, and localised column headers."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any, Literal

import polars as pl
import streamlit as st

from dashboard import session
from dashboard.i18n import Lang, t

# Column headers as regulators read them; unknown columns keep their names.
HEADERS: dict[str, tuple[str, str]] = {
    "policy_year": ("保险年度", "Policy year"),
    "county_code": ("区划代码", "County code"),
    "county": ("县（区、市）", "County"),
    "enrolled": ("参保人数", "Enrolled"),
    "insured_base": ("基本医保缴交人数", "Basic-insurance base"),
    "rate": ("参保率", "Participation"),
    "insurer_id": ("保险机构代码", "Insurer id"),
    "insurer_name": ("保险机构", "Insurer"),
    "share": ("共保份额", "Share"),
    "written_premium": ("签单保费（元）", "Written premium (yuan)"),
    "earned_premium": ("已赚保费（元）", "Earned premium (yuan)"),
    "claims_paid": ("已付赔款（元）", "Claims paid (yuan)"),
    "expenses": ("运营费用（元）", "Expenses (yuan)"),
    "loss_ratio": ("赔付率", "Loss ratio"),
    "combined_ratio": ("综合成本率", "Combined ratio"),
    "profit": ("利润（元）", "Profit (yuan)"),
    "profit_rate": ("利润率", "Profit rate"),
    "excess_surplus": ("超额结余（元）", "Excess surplus (yuan)"),
    "pool_open": ("资金池年初（元）", "Pool opening (yuan)"),
    "pool_draw": ("资金池动用（元）", "Pool draw (yuan)"),
    "pool_close": ("资金池年末（元）", "Pool closing (yuan)"),
    "subsidy_group": ("资助类别", "Subsidised group"),
    "eligible": ("应参保人数", "Eligible"),
    "coverage": ("覆盖率", "Coverage"),
    "liability": ("保险责任", "Liability"),
    "paid_claims": ("已赔件数", "Paid claims"),
    "claims": ("赔案件数", "Claims"),
    "pending": ("未决件数", "Pending"),
    "category": ("费用类别", "Category"),
    "table": ("数据表", "Table"),
    "rule": ("规则", "Rule"),
    "column": ("列", "Column"),
    "rows": ("行数", "Rows"),
    "id": ("编号", "Id"),
    "severity": ("严重程度", "Severity"),
    "state": ("状态", "State"),
    "scope": ("范围", "Scope"),
    "message": ("说明", "What"),
    "at": ("时间（UTC）", "At (UTC)"),
    "event": ("事件", "Event"),
    "from": ("原状态", "From"),
    "to": ("新状态", "To"),
    "actor": ("处理人", "By"),
    "comment": ("意见", "Comment"),
    "observed": ("观测值", "Observed"),
    "threshold": ("阈值", "Threshold"),
    "rulebook": ("规则版本", "Rulebook version"),
    "data": ("数据指纹", "Data fingerprint"),
    "members": ("参保人数", "Members"),
    "eligible_amount": ("责任范围内费用（元）", "Eligible amount (yuan)"),
}
PERCENT_COLUMNS = {"rate", "loss_ratio", "combined_ratio", "profit_rate", "coverage", "share"}
MONEY_COLUMNS = {"written_premium", "earned_premium", "claims_paid", "expenses", "profit",
                 "excess_surplus", "pool_open", "pool_draw", "pool_close"}


def localised(frame: pl.DataFrame, lang: Lang) -> pl.DataFrame:
    names = {c: HEADERS[c][0 if lang == "zh" else 1] for c in frame.columns if c in HEADERS}
    return frame.rename(names)


def table(frame: pl.DataFrame, name: str, lang: Lang, key: str | None = None) -> None:
    """Show a table with thousands separators and percentages, and offer CSV and Excel."""
    if frame.is_empty():
        st.info(t("empty", lang))
        return
    config: dict[str, Any] = {}
    for column in frame.columns:
        label = HEADERS.get(column, (column, column))[0 if lang == "zh" else 1]
        if column in PERCENT_COLUMNS:
            config[label] = st.column_config.NumberColumn(label, format="percent")
        elif column in MONEY_COLUMNS:
            config[label] = st.column_config.NumberColumn(label, format="localized")
    shown = localised(frame, lang)
    st.dataframe(shown, hide_index=True, column_config=config)
    left, right = st.columns(2)
    with left:
        download(t("download_csv", lang), csv_bytes(shown), f"{name}.csv", "text/csv",
                 rows=shown.height, key=f"csv-{key or name}")
    with right:
        download(t("download_excel", lang), excel_bytes(shown), f"{name}.xlsx", EXCEL_MIME,
                 rows=shown.height, key=f"xlsx-{key or name}")


EXCEL_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download(label: str, data: bytes, file_name: str, mime: str, *, rows: int, key: str,
             action: Literal["download", "export"] = "download") -> None:
    """A download button whose click is recorded in the audit trail (file name and rows)."""
    st.download_button(label, data, file_name=file_name, mime=mime, key=key,
                       on_click=session.record,
                       args=(action, {"file": file_name, "rows": rows, "page": _page()}))


def _page() -> str:
    view = st.session_state.get(session.LAST_VIEW_KEY)
    return str(view[0]) if isinstance(view, tuple) and view else "unknown"


def csv_bytes(frame: pl.DataFrame) -> bytes:
    # UTF-8 with a byte-order mark, so Excel on a bureau PC opens the Chinese text correctly.
    return "\ufeff".encode() + frame.write_csv().encode("utf-8")


def excel_bytes(frame: pl.DataFrame) -> bytes:
    # Excel has no time zones: timestamps (UTC in the alert history) are written as UTC wall time.
    naive = frame.with_columns(
        pl.col(c).dt.replace_time_zone(None)
        for c, dtype in frame.schema.items()
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None
    )
    buffer = io.BytesIO()
    naive.write_excel(buffer, autofit=True)
    return buffer.getvalue()


def chart(figure: Any, key: str) -> None:
    """A Plotly figure; the builders already draw their own empty state."""
    st.plotly_chart(figure, key=key, config={"displaylogo": False})


def pairs(mapping: Mapping[str, tuple[str, str]], lang: Lang) -> dict[str, str]:
    return {k: v[0 if lang == "zh" else 1] for k, v in mapping.items()}
