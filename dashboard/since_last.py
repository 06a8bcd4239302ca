"""The overview's "自上期数据以来…": what moved between the export shown and the one registered
before it (hmb.state.export_diff, as ``hmb exports diff`` prints it), for the year shown first.

Only for users who see the whole jurisdiction: the changes name every county's participation
and the jurisdiction's finance."""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard import data
from dashboard.i18n import t
from dashboard.view import View
from hmb.state.export_diff import DiffError

SHOWN = 8


def show(v: View) -> None:
    register = data.export_register()
    if v.export is None or register is None or v.scope.limited:
        return
    previous = register.previous(v.export)
    if previous is None:
        return
    try:
        diff = data.export_changes(previous.id, v.export.id, previous.fingerprint,
                                   v.export.fingerprint)
    except DiffError as exc:
        st.caption(f"{t('since_last', v.lang)}: {exc}")
        return
    changes = sorted(diff["changes"], key=lambda c: _order(c, v.year))
    head = (f"**{t('since_last', v.lang)}**（#{previous.id} {previous.ingested_at_cst} → "
            f"#{v.export.id}）" if v.lang == "zh" else
            f"**{t('since_last', v.lang)}** (#{previous.id} {previous.ingested_at_cst} →"
            f" #{v.export.id})")
    if not changes:
        st.info(t("since_last_none", v.lang))
        return
    lines = [f"- {c['message_zh'] if v.lang == 'zh' else c['message_en']}"
             for c in changes[:SHOWN]]
    rest = len(changes) - SHOWN
    if rest > 0:
        lines.append(f"- …另有 {rest} 项（`hmb exports diff {previous.id} {v.export.id}`）"
                     if v.lang == "zh" else
                     f"- … {rest} more (`hmb exports diff {previous.id} {v.export.id}`)")
    st.info(head + "\n\n" + "\n".join(lines))


def _order(change: dict[str, Any], year: int) -> tuple[int, int, int]:
    """The year shown first, alerts before figures, then the diff's own order."""
    kinds = {"alert": 0, "finance": 1, "participation": 2}
    return (change.get("policy_year") != year, kinds[change["kind"]], 0)
