"""数据质量 Data quality: the validation report of the loaded folder: rows read, accepted and
quarantined per table and rule, examples, and the quarantined rows to download."""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl
import streamlit as st

from dashboard import view, widgets
from dashboard.i18n import t
from hmb.dataset import write_quarantine
from hmb.validation import RULES_BY_ID, mask_member_id

v = view.current()
assert v is not None
lang = v.lang
report = v.dataset.report
st.title(t("page_quality", lang))
st.caption(f"{v.folder} · fingerprint {v.fingerprint}")

counts = pl.DataFrame(
    [{"table": name, **{k: info[k] for k in ("rows_read", "rows_accepted", "rows_quarantined",
                                             "rows_with_warnings")}}
     for name, info in report["tables"].items()]
)
widgets.table(counts.rename({c: t(c, lang) for c in counts.columns if c != "table"}),
              f"validation_counts_{v.profile.name}", lang, key="counts")

for title, items in ((t("errors", lang), report["errors"]),
                     (t("warnings", lang), report["warnings"])):
    st.subheader(title)
    if not items:
        st.caption("无" if lang == "zh" else "None")
        continue
    for item in items:
        rule = RULES_BY_ID.get(item["rule"])
        meaning = (rule.zh if lang == "zh" else rule.en) if rule else item["rule"]
        with st.expander(f"{item['table']} · {item['rule']} · {item['rows']:,} — {meaning}"):
            st.json(item["example"] or {})


@st.cache_data(show_spinner=False)
def quarantine_csv(fingerprint: str, store: str, table: str) -> bytes:
    """The quarantined rows of one table, member IDs masked, as CSV for Excel."""
    with tempfile.TemporaryDirectory() as tmp:
        write_quarantine(v.dataset, Path(tmp))
        path = Path(tmp) / f"{table}.parquet"
        if not path.exists():
            return b""
        frame = pl.read_parquet(path)
    if "member_id" in frame.columns:
        frame = frame.with_columns(
            pl.col("member_id").cast(pl.String).map_elements(mask_member_id,
                                                             return_dtype=pl.String)
        )
    return widgets.csv_bytes(frame)


quarantined = [name for name, info in report["tables"].items() if info["rows_quarantined"]]
if not quarantined:
    st.success(t("nothing_quarantined", lang))
for name in quarantined:
    st.download_button(f"{t('download_quarantine', lang)}: {name}",
                       quarantine_csv(v.fingerprint, v.store, name),
                       file_name=f"quarantine_{name}.csv", mime="text/csv", key=f"q-{name}")
