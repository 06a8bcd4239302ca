"""审计日志 Audit trail (administrators only): who signed in, viewed, downloaded and acted, when
and from where, filtered and exported; and the accounts with their roles."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import polars as pl
import streamlit as st

from dashboard import session, view, widgets
from dashboard.i18n import t
from hmb.state.audit import ACTIONS, to_csv

v = view.current()
assert v is not None
lang = v.lang
st.title(t("page_audit", lang))

left, middle, right = st.columns(3)
since = left.date_input(t("audit_since", lang),
                        value=datetime.now(UTC).date() - timedelta(days=7), key="audit_since")
who = middle.text_input(t("audit_user", lang), key="audit_user")
actions = right.multiselect(t("audit_action", lang), ACTIONS, key="audit_action",
                            placeholder=t("any", lang))
events = session.trail().read(
    since=datetime.combine(since, time(), UTC) if not isinstance(since, tuple) else None,
    username=who.strip() or None,
    actions=tuple(actions) or None,
)
frame = pl.DataFrame([e.as_row() for e in reversed(events)],
                     schema={"seq": pl.Int64, "at": pl.String, "username": pl.String,
                             "role": pl.String, "action": pl.String, "details": pl.String,
                             "client_ip": pl.String, "user_agent": pl.String})
st.dataframe(frame, hide_index=True)
widgets.download(t("audit_export", lang), lambda: ("\ufeff" + to_csv(events)).encode("utf-8"),
                 "audit_trail.csv", "text/csv", rows=len(events), key="audit-export",
                 action="export")

st.subheader(t("users", lang))
users = pl.DataFrame(
    [{"username": u.username, "role": u.role_name(lang), "counties": ", ".join(u.counties),
      "demo": u.demo, "disabled": u.disabled, "failed_attempts": u.failed_attempts}
     for u in session.users().list_users()],
    schema={"username": pl.String, "role": pl.String, "counties": pl.String, "demo": pl.Boolean,
            "disabled": pl.Boolean, "failed_attempts": pl.Int64},
)
st.dataframe(users, hide_index=True)
