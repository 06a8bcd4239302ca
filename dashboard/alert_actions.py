"""Acknowledging and waiving from the alerts page, checked on the server and audited.

The page shows the forms only to a role that may act on the alert; these handlers check again
against the alert as stored (``hmb.access.scoping.may_act``), so a crafted request cannot act for
a role
that may not. The actor is the signed-in user, never a name typed in the form.
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from dashboard import session
from dashboard.i18n import Lang, t
from hmb.access import auth, scoping
from hmb.access.scoping import DataScope
from hmb.state.alert_store import (
    MAX_COMMENT_LENGTH,
    AlertRecord,
    AlertStateError,
    AlertStore,
)


def _permitted(
    store: AlertStore, alert_id: str, scope: DataScope, action: str, *, text: str, lang: Lang
) -> tuple[auth.User, AlertRecord] | None:
    """The signed-in user and the stored alert, when she may act on it; else refused, audited."""
    if len(text) > MAX_COMMENT_LENGTH:
        # The form caps what is typed; a crafted request is not held to it.
        session.record("alert_refused", {"alert": alert_id, "action": action,
                                         "reason": "too_long", "length": len(text)})
        st.error(t("text_too_long", lang).format(length=len(text), limit=MAX_COMMENT_LENGTH))
        return None
    user = session.current_user()
    record = store.get(alert_id)
    if user is None or record is None or not scoping.may_act(scope, record):
        session.record("alert_refused", {"alert": alert_id, "action": action})
        st.error(t("not_permitted", lang))
        return None
    return user, record


def acknowledge(store: AlertStore, alert_id: str, scope: DataScope, comment: str, *,
                lang: Lang) -> bool:
    permitted = _permitted(store, alert_id, scope, "acknowledge", text=comment, lang=lang)
    if permitted is None:
        return False
    user, record = permitted
    try:
        store.acknowledge(alert_id, user.username, comment)
    except AlertStateError as exc:
        st.error(str(exc))
        return False
    session.record("alert_ack", {"alert": alert_id, "rule": record.rule_id,
                                 "profile": record.profile, "comment": comment})
    st.success(t("done", lang))
    return True


def waive(store: AlertStore, alert_id: str, scope: DataScope, reason: str, until: date, *,
          lang: Lang) -> bool:
    permitted = _permitted(store, alert_id, scope, "waive", text=reason, lang=lang)
    if permitted is None:
        return False
    user, record = permitted
    try:
        store.waive(alert_id, user.username, reason, until)
    except AlertStateError as exc:
        st.error(str(exc))
        return False
    session.record("alert_waive", {"alert": alert_id, "rule": record.rule_id,
                                   "profile": record.profile, "reason": reason,
                                   "until": until.isoformat()})
    st.success(t("done", lang))
    return True
