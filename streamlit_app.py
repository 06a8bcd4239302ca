"""惠民保监测 — the app's entry point: `uv run streamlit run streamlit_app.py`.

Draws the sidebar (jurisdiction, policy year, as-of date, county, language; all kept in the URL)
and hands over to the chosen page in dashboard/app_pages/.

Served as an ``st.App``, so that the server also answers the session cookie's two routes
(dashboard.cookie): ``streamlit run`` finds ``app`` and serves it; each session then runs this
file as its script, which draws the app.
"""

from __future__ import annotations

import streamlit as st

from dashboard import cookie
from hmb.core.private_files import restrict_umask

restrict_umask()  # what the server writes is its account's only (hmb.core.private_files)
app = st.App(__file__, routes=cookie.routes())

if __name__ == "__main__":  # a session's run of the script (not the server importing ``app``)
    from dashboard.app import main

    main()
