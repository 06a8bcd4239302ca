"""规则 Rulebook: the active rulebook, every rule with its threshold and quoted clause.

The page shows the same text as docs/rulebooks/, rendered from the same TOML file, so what a
supervisor reads here is what the engine checks."""

from __future__ import annotations

import streamlit as st

from dashboard import view
from dashboard.i18n import t
from hmb.tools.docs import render_rulebook

v = view.current()
assert v is not None
st.title(t("page_rulebook", v.lang))
# The page is our own generated Markdown: its line breaks (<br>) and the note that it is
# generated (an HTML comment) render as HTML, not as text.
st.markdown(render_rulebook(v.profile).split("\n", 1)[1], unsafe_allow_html=True)
