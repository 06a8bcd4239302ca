"""惠民保监测 — the app's entry point: `uv run streamlit run streamlit_app.py`.

Opens on the embedded demo data (generated on first start if missing) and shows the headline
participation and finance figures of the chosen jurisdiction. The full set of pages is built in
dashboard/.
"""

from __future__ import annotations

from dashboard.overview import render

render()
