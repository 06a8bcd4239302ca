"""An administrator ingests an export from the app (the data-quality page): a folder on the server
under ``HMB_INGEST_ROOT`` (anything else, ``..`` or a symbolic link leading out of it, is
refused: hmb.state.exports.folder_under_root), validated and registered as ``hmb ingest`` does,
with a progress bar while the store is built. The new export is shown at once, no restart."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import streamlit as st

from dashboard import session
from dashboard.i18n import Lang, t
from dashboard.view import View
from hmb.core.settings import settings
from hmb.ingest.dataset import check_jurisdiction
from hmb.ingest.loading import InputError
from hmb.state.exports import build_progress, folder_under_root, ingest

MESSAGE_KEY = "_ingest_message"


def show(v: View, lang: Lang) -> None:
    st.subheader(t("ingest_title", lang))
    message = st.session_state.pop(MESSAGE_KEY, None)
    if message:
        st.success(message)
    root = settings().ingest_root
    if root is None:
        st.caption(t("ingest_not_allowed", lang))
        return
    st.caption(f"HMB_INGEST_ROOT: {root}")
    with st.form("ingest"):
        text = st.text_input(t("ingest_folder", lang), key="ingest_folder")
        submitted = st.form_submit_button(t("ingest_button", lang))
    if not submitted:
        return
    user = session.current_user()
    if user is None or user.role != "admin":  # the page shows the form to administrators only
        return
    try:
        folder = folder_under_root(text, root)
    except InputError as exc:
        st.error("\n\n".join(p.message for p in exc.problems))
        return
    text = f"{t('ingest_building', lang)}: {folder}"
    bar = st.progress(0.0, text=text)
    started = time.monotonic()
    # The build runs beside the page, which moves the bar meanwhile (its length is not known
    # beforehand: the bar approaches the end and completes when the build does).
    with ThreadPoolExecutor(max_workers=1) as beside:
        rulebook = v.profile
        running = beside.submit(
            ingest, folder, rulebook.name, rulebook.liability_codes, by=user.username, via="app",
            insured_elsewhere=rulebook.insured_elsewhere,
            jurisdiction=lambda dataset: check_jurisdiction(dataset, rulebook))
        while not running.done():
            elapsed = time.monotonic() - started
            bar.progress(build_progress(elapsed), text=f"{text} · {elapsed:.0f} s")
            time.sleep(0.2)
        done = running.result()
    bar.progress(1.0, text=text)
    bar.empty()
    entry = done.entry
    if done.outcome == "refused":
        st.error(t("ingest_refused", lang) + "\n\n"
                 + "\n\n".join(p.message for p in done.problems))
    elif done.outcome == "unchanged":
        st.info(f"{t('ingest_unchanged', lang)} (#{entry.id})")
    else:
        # Shown after the rerun that switches the sidebar to the new export.
        st.session_state[MESSAGE_KEY] = (
            f"{t('ingest_accepted', lang)}: #{entry.id} · {entry.ingested_at_cst}")
        st.rerun()
