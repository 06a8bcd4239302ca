"""惠民保监测 — the app's entry point: `uv run streamlit run streamlit_app.py`.

Draws the sidebar (jurisdiction, policy year, as-of date, county, language; all kept in the URL)
and hands over to the chosen page in dashboard/app_pages/.
"""

from __future__ import annotations

from dashboard.app import main
from hmb.core.private_files import restrict_umask

restrict_umask()  # what the server writes is its account's only (hmb.core.private_files)
main()
