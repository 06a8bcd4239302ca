"""Small building blocks shared by the pages: a table with its downloads, a chart or its empty
state, and localised column headers."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any, Literal

import polars as pl
import streamlit as st

from dashboard import downloads, session
from dashboard.i18n import Lang, t
from hmb.core.labels import label

PERCENT_COLUMNS = {"rate", "loss_ratio", "combined_ratio", "profit_rate", "coverage", "share",
                   "renewal_rate", "personal_account_share", "count_share", "amount_share",
                   "claims_share", "payout_share"}
MONEY_COLUMNS = {"written_premium", "earned_premium", "claims_paid", "expenses", "profit",
                 "excess_surplus", "pool_open", "pool_draw", "pool_close",
                 "personal_account_premium", "one_stop_paid"}


def localised(frame: pl.DataFrame, lang: Lang) -> pl.DataFrame:
    """Columns headed as regulators read them (hmb.core.labels); unknown columns keep their
    names."""
    return frame.rename({c: label("column", c, lang) for c in frame.columns})


def table(frame: pl.DataFrame, name: str, lang: Lang, key: str | None = None) -> None:
    """Show a table with thousands separators and percentages, and offer CSV and Excel."""
    if frame.is_empty():
        st.info(t("empty", lang))
        return
    config: dict[str, Any] = {}
    for column in frame.columns:
        header = label("column", column, lang)
        if column in PERCENT_COLUMNS:
            config[header] = st.column_config.NumberColumn(header, format="percent")
        elif column in MONEY_COLUMNS:
            config[header] = st.column_config.NumberColumn(header, format="localized")
    shown = localised(frame, lang)
    st.dataframe(shown, hide_index=True, column_config=config)
    left, right = st.columns(2)
    with left:
        download(t("download_csv", lang), lambda: csv_bytes(shown), f"{name}.csv", "text/csv",
                 rows=shown.height, key=f"csv-{key or name}")
    with right:
        download(t("download_excel", lang), lambda: excel_bytes(shown), f"{name}.xlsx",
                 EXCEL_MIME, rows=shown.height, key=f"xlsx-{key or name}")


EXCEL_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download(label: str, make: Callable[[], bytes], file_name: str, mime: str, *, rows: int,
             key: str, action: Literal["download", "export"] = "download") -> None:
    """A download button: ``make`` runs on the click, for the signed-in session only, which is
    recorded in the audit trail (file name and rows); the file is deleted soon after
    (dashboard.downloads)."""
    request = session.download_request(action, {"file": file_name, "rows": rows,
                                                "page": _page()})
    st.download_button(label, b"" if request is None else downloads.on_click(request, make),
                       file_name=file_name, mime=mime, key=key, on_click="ignore",
                       disabled=request is None)


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
