"""Loaders for the pages: the validated store of a folder, and cached query results.

Every cached result is keyed on what changes the answer: the data fingerprint (a new export is a
new key), the as-of date and the user's scope. ``st.cache_data`` is shared by every session on
the server, so nothing user-specific may be left out of the key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import streamlit as st

import queries
from hmb import metrics, rules
from hmb.alert_store import AlertStore, EvaluationContext
from hmb.dataset import Dataset, open_dataset
from hmb.demo import DEMO_PROFILES, ensure_demo
from hmb.paths import DEMO_DIR, default_alert_store
from hmb.profiles import load_profile, rulebook_version


@dataclass(frozen=True)
class Source:
    """A data folder the app can show: a bundled demo, or a folder named in settings."""

    key: str
    profile: str
    folder: Path | None  # None: the demo folder, generated on first use

    def label(self, lang: str) -> str:
        name = load_profile(self.profile).jurisdiction
        place = name.name_zh if lang == "zh" else name.name_en
        kind = ("演示数据" if lang == "zh" else "demo") if self.folder is None else str(self.folder)
        return f"{place} · {kind}"


def sources() -> list[Source]:
    """The five demos, plus $HMB_DATA_DIR checked against $HMB_PROFILE when both are set."""
    found = [Source(name, name, None) for name in DEMO_PROFILES]
    folder, profile = os.environ.get("HMB_DATA_DIR"), os.environ.get("HMB_PROFILE")
    if folder and profile:
        found.insert(0, Source(f"local-{profile}", profile, Path(folder)))
    return found


def source_folder(source: Source) -> Path:
    """The folder of a source; a missing demo is generated with a progress bar."""
    if source.folder is not None:
        return source.folder
    target = DEMO_DIR / source.profile
    if target.exists():
        return target
    bar = st.progress(0.0, text=f"正在生成演示数据 Generating demo data: {source.profile}")

    def progress(fraction: float, message: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=message)

    path = ensure_demo(source.profile, DEMO_DIR, progress=progress)
    bar.empty()
    return path


def dataset(folder: Path, profile: str) -> Dataset:
    """The validated store (built once per fingerprint, then only looked up)."""
    return open_dataset(folder, load_profile(profile).liability_codes)


@st.cache_data(show_spinner=False, max_entries=256)
def query(
    fingerprint: str, store: str, name: str, as_of: date | None, scope: tuple[str, ...] | None
) -> pl.DataFrame:
    """A named query of queries/, for the whole jurisdiction or the counties in ``scope``."""
    with _connect(store) as con:
        frame = queries.run(con, name, **({"as_of": as_of} if as_of else {}))
    return _scoped(frame, scope)


@st.cache_data(show_spinner=False, max_entries=64)
def participation(
    fingerprint: str, store: str, as_of: date, scope: tuple[str, ...] | None
) -> pl.DataFrame:
    with _connect(store) as con:
        frame = metrics.participation(con, as_of)
    if scope is None:
        return frame
    # A scoped user sees her counties, and a total over exactly those counties.
    counties = _scoped(frame.filter(pl.col("county_code").is_not_null()), scope)
    totals = counties.group_by("policy_year").agg(
        pl.lit(None, dtype=pl.String).alias("county_code"),
        pl.col("enrolled").sum(),
        pl.col("insured_base").sum(),
    )
    totals = totals.with_columns(
        (pl.col("enrolled") / pl.col("insured_base")).alias("rate")
    ).select(counties.columns)
    return pl.concat([totals, counties]).sort("policy_year", "county_code", nulls_last=False)


@st.cache_data(show_spinner=False, max_entries=64)
def finance(fingerprint: str, store: str, profile: str, as_of: date) -> pl.DataFrame:
    with _connect(store) as con:
        return metrics.finance(con, load_profile(profile), as_of)


@st.cache_data(show_spinner=False, max_entries=64)
def check(fingerprint: str, store: str, profile: str, as_of: date) -> rules.CheckResult:
    with _connect(store) as con:
        return rules.evaluate(con, load_profile(profile), as_of)


def record_alerts(ds: Dataset, profile: str) -> AlertStore:
    """Evaluate at the data's latest date and record the lifecycle (once per data version)."""
    store = AlertStore(default_alert_store())
    if ds.default_as_of is not None:
        _record_once(ds.fingerprint, str(ds.store), profile, ds.default_as_of, str(store.path))
    return store


@st.cache_resource(show_spinner=False)
def _record_once(
    fingerprint: str, store: str, profile: str, as_of: date, alert_store: str
) -> bool:
    alert_db = AlertStore(Path(alert_store))
    open_ids = frozenset(
        r.id for r in alert_db.list(profile, states=("firing", "acknowledged", "waived"))
    )
    with _connect(store) as con:
        result = rules.evaluate(con, load_profile(profile), as_of, open_ids)
    context = EvaluationContext(profile, rulebook_version(profile), fingerprint, as_of)
    alert_db.sync(result.alerts, context)
    return True


def _connect(store: str) -> duckdb.DuckDBPyConnection:
    """A read-only connection to a validated store; the fingerprint in each cache key already
    names the data version, so the path alone is enough to open it."""
    return duckdb.connect(store, read_only=True)


def _scoped(frame: pl.DataFrame, scope: tuple[str, ...] | None) -> pl.DataFrame:
    if scope is None or "county_code" not in frame.columns:
        return frame
    return frame.filter(pl.col("county_code").is_in(list(scope)))


def as_records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return frame.to_dicts()
