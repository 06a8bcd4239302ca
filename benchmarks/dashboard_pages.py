"""How long each dashboard page takes to render, first view and after a change of filter.

    uv run python benchmarks/dashboard_pages.py [--profile hunan-2024 ...] [--repeat 3]
    uv run python benchmarks/dashboard_pages.py --profile hunan-2024 \
        --folder benchmarks/data/province

Runs the real app headless with Streamlit's AppTest (the same script a browser session runs,
without the browser's drawing time) against the embedded demo data, signed in as the demo
administrator (a session token put in the session state, as the sign-in form does). For each
page it measures:

- ``first``: the first view with empty result caches, the validated DuckDB store already built
  (for the overview, the app opening; for the others, switching to the page after that);
- ``warm``: the same page again (cached results);
- ``switch``: the page after changing the county filter (what a supervisor does all day).

Prints a table and writes benchmarks/results/dashboard_pages.json. Timings are for this machine
on this day; they are measured, not asserted: timed unit tests are flaky on shared machines.

benchmarks/province.py uses :func:`view_after_restart` to time each page in a process of its
own, as the first view after a restart.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard.app import PAGES
from dashboard.session import TOKEN_KEY
from hmb.access.auth import UserStore
from hmb.core.counties import counties
from hmb.core.paths import PROJECT_ROOT
from hmb.core.settings import settings
from hmb.ingest.dataset import open_dataset
from hmb.rulebook.profiles import load_profile
from hmb.tools.demo import DEMO_PROFILES, ensure_demo

APP = str(PROJECT_ROOT / "streamlit_app.py")
RESULTS = PROJECT_ROOT / "benchmarks" / "results"


def _timed(at: AppTest) -> float:
    start = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - start
    if at.exception:
        raise RuntimeError(at.exception[0].value)
    return elapsed


def first_county(profile: str) -> str | None:
    found = counties(load_profile(profile).jurisdiction.adcode)
    return found[0].code if found else None


BENCH_ADMIN = "benchmark-admin"


def _signed_in_app() -> AppTest:
    users = UserStore(allow_demo=settings().data_dir is None)
    if users.allow_demo:
        users.ensure_demo_users()
        user = users.require("demo-admin")
    else:
        # The app refuses demo accounts on real data: sign in as a throw-away administrator.
        user = users.get(BENCH_ADMIN) or users.add(
            BENCH_ADMIN, "admin", password=secrets.token_urlsafe(24)
        )
    at = AppTest.from_file(APP, default_timeout=300)
    at.session_state[TOKEN_KEY] = users.issue_token(user)
    return at


def view_after_restart(page: str, source: str, county: str) -> dict[str, float]:
    """``page`` opened by its address in a new session, in a process that has not run the app
    yet (after a restart): its first view with empty caches, the same view again, and the view
    after changing the county filter, in seconds."""
    at = _signed_in_app()
    at.query_params["j"] = source
    if page != "overview":  # the default page; another is opened as its URL path opens it
        at.switch_page(f"dashboard/app_pages/{page}.py")
    first = _timed(at)
    again = _timed(at)
    at.session_state["county"] = county
    return {"first_s": first, "again_s": again, "county_s": _timed(at)}


def measure(profile: str, repeat: int, folder: Path | None = None) -> list[dict[str, object]]:
    """Page timings on the demo of ``profile``, or on ``folder`` (shown as a local source)."""
    source = profile
    if folder is None:
        folder = ensure_demo(profile, settings().demo_dir)
    else:
        os.environ["HMB_DATA_DIR"], os.environ["HMB_PROFILE"] = str(folder), profile
        source = f"local-{profile}"
    rulebook = load_profile(profile)  # the store exists before timing, built as the app builds it
    open_dataset(folder, rulebook.liability_codes, insured_elsewhere=rulebook.insured_elsewhere)
    rows: list[dict[str, object]] = []
    for name, _, _ in PAGES:
        firsts, warms, switches = [], [], []
        for _ in range(repeat):
            st.cache_data.clear()
            st.cache_resource.clear()
            at = _signed_in_app()
            at.query_params["j"] = source
            opening = _timed(at)  # the app opens on the overview
            if name == "overview":
                firsts.append(opening)
            else:
                at.switch_page(f"dashboard/app_pages/{name}.py")
                firsts.append(_timed(at))
            warms.append(_timed(at))
            county = first_county(profile)
            if county:
                at.session_state["county"] = county
                switches.append(_timed(at))
        rows.append({
            "profile": profile if source == profile else f"{profile} ({folder})", "page": name,
            "first_s": round(statistics.median(firsts), 3),
            "warm_s": round(statistics.median(warms), 3),
            "switch_county_s": round(statistics.median(switches), 3) if switches else None,
        })
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", action="append", choices=DEMO_PROFILES)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--folder", type=Path, help="a data folder instead of the demos, e.g."
                        " benchmarks/data/province (needs exactly one --profile)")
    args = parser.parse_args()
    rows: list[dict[str, object]] = []
    if args.folder is not None:
        if not args.profile or len(args.profile) != 1:
            parser.error("--folder needs exactly one --profile, the folder's rulebook")
        with tempfile.TemporaryDirectory() as state:
            os.environ["HMB_STATE_DIR"] = state  # the throw-away account and its audit trail
            rows += measure(args.profile[0], args.repeat, args.folder)
    for profile in [] if args.folder is not None else args.profile or ["sanming-2024",
                                                                        "hunan-2024"]:
        rows += measure(profile, args.repeat)
    width = max(16, *(len(str(r["profile"])) + 2 for r in rows))
    print(f"{'profile':<{width}}{'page':<16}{'first (s)':>11}{'warm (s)':>10}{'county (s)':>12}")
    for r in rows:
        switch = "—" if r["switch_county_s"] is None else f"{r['switch_county_s']:.3f}"
        print(f"{r['profile']:<{width}}{r['page']:<16}{r['first_s']:>11.3f}{r['warm_s']:>10.3f}"
              f"{switch:>12}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "dashboard_pages.json"
    out.write_text(json.dumps({
        "measured_at": datetime.now().isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "processor": platform.processor(),
                    "cpus": __import__("os").cpu_count()},
        "rows": rows,
    }, ensure_ascii=False, indent=2))
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
