"""The app frame: page config, the sidebar view, and navigation between the pages."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import view
from dashboard.i18n import t

PAGES_DIR = Path(__file__).resolve().parent / "app_pages"
# A local file: an emoji or material icon as favicon is fetched from a CDN, and bureaus are offline.
ICON = Path(__file__).resolve().parent / "icon.png"
PAGES = (
    ("overview", "page_overview", ":material/dashboard:"),
    ("participation", "page_participation", ":material/groups:"),
    ("claims", "page_claims", ":material/payments:"),
    ("costs", "page_costs", ":material/account_balance:"),
    ("alerts", "page_alerts", ":material/notifications:"),
    ("data_quality", "page_quality", ":material/fact_check:"),
    ("rulebook", "page_rulebook", ":material/gavel:"),
)


def main() -> None:
    st.set_page_config(
        page_title="惠民保监测 HMB Monitor", page_icon=str(ICON),
        layout="wide",
    )
    current = view.sidebar()
    lang = current.lang if current else "zh"
    pages = [
        st.Page(PAGES_DIR / f"{name}.py", title=t(label, lang), icon=icon, url_path=name,
                default=(name == "overview"))
        for name, label, icon in PAGES
    ]
    page = st.navigation(pages, position="top")
    if current is None:
        return
    page.run()
