"""The app frame: page config, sign-in, the sidebar view, and navigation between the pages the
user's role may open (hmb.access.scoping.ROLE_PAGES; a page left out cannot be reached by its
URL)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import session, view
from dashboard.i18n import t
from hmb.access.scoping import user_scope

PAGES_DIR = Path(__file__).resolve().parent / "app_pages"
# A local file: an emoji or material icon as favicon is fetched from a CDN, and bureaus are offline.
ICON = Path(__file__).resolve().parent / "icon.png"
PAGES = (
    ("overview", "page_overview", ":material/dashboard:"),
    ("participation", "page_participation", ":material/groups:"),
    ("claims", "page_claims", ":material/payments:"),
    ("development", "page_development", ":material/query_stats:"),
    ("claims_audit", "page_claims_audit", ":material/rule:"),
    ("costs", "page_costs", ":material/account_balance:"),
    ("alerts", "page_alerts", ":material/notifications:"),
    ("data_quality", "page_quality", ":material/fact_check:"),
    ("rulebook", "page_rulebook", ":material/gavel:"),
)
ADMIN_PAGES = (("audit", "page_audit", ":material/policy:"),)


def main() -> None:
    st.set_page_config(
        page_title="惠民保监测 HMB Monitor", page_icon=str(ICON),
        layout="wide",
    )
    user = session.signed_in()
    session.run_cookie_script()
    if user is None:
        # Every page's address shows the sign-in form, so a deep link someone sent keeps its
        # path and opens that page once signed in (if the role may use it).
        st.navigation([st.Page(session.sign_in_page, title="登录 Sign in", url_path=name,
                               default=(name == "overview"))
                       for name, _, _ in (*PAGES, *ADMIN_PAGES)], position="hidden").run()
        return
    scope = user_scope(user)
    current = view.sidebar(scope)
    lang = current.lang if current else "zh"
    pages = {
        name: st.Page(PAGES_DIR / f"{name}.py", title=t(label, lang), icon=icon, url_path=name,
                      default=(name == "overview"))
        for name, label, icon in (*PAGES, *ADMIN_PAGES)
        if name in scope.pages
    }
    page = st.navigation(list(pages.values()), position="top")
    session.account_box(user, lang)
    if current is None:
        return
    name = next((n for n, p in pages.items() if p is page), "overview")
    session.audit_view(name, current.filters)
    page.run()
