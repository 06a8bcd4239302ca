"""数据质量 Data quality: the validation report of the loaded folder: rows read, accepted and
quarantined per table and rule, examples, and the quarantined rows to download.

A user limited to counties sees the rows quarantined in her counties only (the report's
jurisdiction-wide counts and examples are outside her scope). Every download holds only rows of
the user's scope, member IDs masked (hmb.access.scoping).
"""

from __future__ import annotations

from functools import partial

import polars as pl
import streamlit as st

from dashboard import data, ingest_panel, view, widgets
from dashboard.i18n import t
from hmb.ingest.row_rules import RULES_BY_ID

v = view.current()
assert v is not None
lang = v.lang
report = v.dataset.report
st.title(t("page_quality", lang))
st.caption(f"{v.folder} · fingerprint {v.fingerprint}")


def rule_meaning(rule_id: str) -> str:
    rule = RULES_BY_ID.get(rule_id)
    return (rule.zh if lang == "zh" else rule.en) if rule else rule_id


if v.scope.limited:
    st.caption(t("quarantine_in_scope", lang))
    counts = data.quarantine_counts(v.fingerprint, v.store, v.scope)
    widgets.table(counts.with_columns(
        pl.col("rule").map_elements(rule_meaning, return_dtype=pl.String).alias("message")),
        f"quarantine_counts_{v.profile.name}", lang, key="counts")
    quarantined = counts["table"].unique().sort().to_list()
else:
    counts = pl.DataFrame(
        [{"table": name, **{k: info[k] for k in ("rows_read", "rows_accepted",
                                                 "rows_quarantined", "rows_with_warnings")}}
         for name, info in report["tables"].items()]
    )
    widgets.table(counts, f"validation_counts_{v.profile.name}", lang, key="counts")
    for title, items in ((t("errors", lang), report["errors"]),
                         (t("warnings", lang), report["warnings"])):
        st.subheader(title)
        if not items:
            st.caption("无" if lang == "zh" else "None")
            continue
        for item in items:
            with st.expander(f"{item['table']} · {item['rule']} · {item['rows']:,} — "
                             f"{rule_meaning(item['rule'])}"):
                st.json(item["example"] or {})
    quarantined = [name for name, info in report["tables"].items() if info["rows_quarantined"]]

if not quarantined:
    st.success(t("nothing_quarantined", lang))
for name in quarantined:
    rows = data.quarantine(v.fingerprint, v.store, name, v.scope)
    widgets.download(f"{t('download_quarantine', lang)}: {name}", partial(widgets.csv_bytes, rows),
                     f"quarantine_{name}.csv", "text/csv", rows=rows.height, key=f"q-{name}")

# The export history (hmb.state.exports): who ingested what, when, with what result. Counts are
# the whole jurisdiction's, so a user limited to counties does not see them.
if not v.scope.limited:
    st.subheader(t("export_history", lang))
    st.caption(t("export_history_note", lang))
    register = data.export_register()
    entries = register.entries(v.profile.name) if register is not None else []
    if not entries:
        st.caption(t("export_none", lang))
    else:
        current = register.current(v.profile.name) if register is not None else None
        widgets.table(pl.DataFrame([
            {"id": e.id,
             "current": "✓" if current is not None and e.id == current.id else "",
             "shown": "👁" if v.export is not None and e.id == v.export.id else "",
             "ingested_at": e.ingested_at_cst, "by": e.by, "via": e.via, "result": e.result,
             "folder": e.folder, "fingerprint": e.fingerprint,
             **{f"{name}_read/accepted/quarantined":
                f"{c['rows_read']:,}/{c['rows_accepted']:,}/{c['rows_quarantined']:,}"
                for name, c in e.tables.items() if name in ("enrollment", "claims")},
             "problems": " ".join(p["message"] for p in e.details.get("problems", []))[:300]}
            for e in reversed(entries)
        ]), f"exports_{v.profile.name}", lang, key="exports")

if v.scope.role == "admin":
    ingest_panel.show(v, lang)
