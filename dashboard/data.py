"""Loaders for the pages: the validated store of a folder, and cached query results.

Every cached result is keyed on what changes the answer: the data fingerprint (a new export is a
new key), the as-of date and the user's scope (hmb.access.scoping.DataScope). ``st.cache_data`` is
shared
by every session on the server, so nothing user-specific may be left out of the key. Every read
goes through ``hmb.access.scoping.scoped_connection``: the scope is applied by the database, not
by the
page, and a URL, a download or an export can only show what the scope already holds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import streamlit as st

import queries
from hmb.access import scoping
from hmb.access.scoping import DataScope
from hmb.core.settings import default_alert_store, settings
from hmb.core.sql import quote_ident, sql_string
from hmb.ingest import member_links
from hmb.ingest.dataset import Dataset, check_jurisdiction, open_dataset
from hmb.judge import rules
from hmb.measure import claims_audit as audit
from hmb.measure import indicators as measure_indicators
from hmb.measure import metrics
from hmb.measure.development import Development, Grain
from hmb.measure.development import development as project_development
from hmb.rulebook.profiles import available_profiles, load_profile, rulebook_version
from hmb.state.alert_store import AlertStore, EvaluationContext, StaleEvaluation
from hmb.state.export_diff import diff_exports
from hmb.state.exports import ExportEntry, ExportRegister, default_register, open_export
from hmb.tools.demo import DEMO_PROFILES, ensure_demo


@dataclass(frozen=True)
class Source:
    """A data folder the app can show: a bundled demo, a folder named in settings, or the
    current registered export of a jurisdiction (``export``: its id, hmb.state.exports)."""

    key: str
    profile: str
    folder: Path | None  # None: the demo folder, generated on first use
    export: int | None = None

    def label(self, lang: str) -> str:
        name = load_profile(self.profile).jurisdiction
        place = name.name_zh if lang == "zh" else name.name_en
        if self.export is not None:
            return f"{place} · {'导出' if lang == 'zh' else 'export'} #{self.export}"
        kind = ("演示数据" if lang == "zh" else "demo") if self.folder is None else str(self.folder)
        return f"{place} · {kind}"


def sources() -> list[Source]:
    """Per jurisdiction, its newest registered export (``hmb ingest``, read on every run: a new
    export shows without a restart); else $HMB_DATA_DIR checked against $HMB_PROFILE when both
    are set; else the demo."""
    local = settings()
    current = current_exports()
    names = [p for p in (local.profile, *current) if p in current]
    names += [p for p in DEMO_PROFILES if p not in names]
    found = []
    if (local.data_dir is not None and local.profile is not None
            and local.profile not in current):
        found.append(Source(f"local-{local.profile}", local.profile, local.data_dir))
    for name in dict.fromkeys(names):
        entry = current.get(name)
        found.append(Source(name, name, Path(entry.folder), entry.id) if entry is not None
                     else Source(name, name, None))
    return found


def export_register() -> ExportRegister | None:
    """The export register, or None while nothing was ever ingested (no file is made)."""
    path = default_register()
    return _register(str(path)) if path.is_file() else None


@st.cache_resource(show_spinner=False)
def _register(path: str) -> ExportRegister:
    return ExportRegister(Path(path))


def current_exports() -> dict[str, ExportEntry]:
    """Each shipped profile's current export."""
    register = export_register()
    if register is None:
        return {}
    shipped = set(available_profiles())
    return {p: e for p in register.profiles() if p in shipped
            and (e := register.current(p)) is not None}


def export_dataset(entry: ExportEntry) -> Dataset:
    """The store a registered export was built in (hmb.state.exports.open_export)."""
    rulebook = load_profile(entry.profile)
    return open_export(entry, rulebook.liability_codes, rulebook.insured_elsewhere)


@st.cache_data(show_spinner=False, max_entries=32)
def export_changes(before: int, after: int, before_fp: str, after_fp: str) -> dict[str, Any]:
    """``hmb exports diff`` of two registered exports (keyed by their fingerprints too)."""
    register = export_register()
    assert register is not None
    return diff_exports(register, before, after)


def source_folder(source: Source) -> Path:
    """The folder of a source; a missing demo is generated with a progress bar."""
    if source.folder is not None:
        return source.folder
    target = settings().demo_dir / source.profile
    if target.exists():
        return target
    bar = st.progress(0.0, text=f"正在生成演示数据 Generating demo data: {source.profile}")

    def progress(fraction: float, message: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=message)

    path = ensure_demo(source.profile, settings().demo_dir, progress=progress)
    bar.empty()
    return path


def dataset(folder: Path, profile: str) -> Dataset:
    """The validated store (built once per fingerprint, then only looked up), refused
    (InputError) when the rulebook is another jurisdiction's."""
    rulebook = load_profile(profile)
    opened = open_dataset(
        folder, rulebook.liability_codes, insured_elsewhere=rulebook.insured_elsewhere
    )
    check_jurisdiction(opened, rulebook)
    return opened


@st.cache_data(show_spinner=False, max_entries=256)
def query(
    fingerprint: str, store: str, name: str, as_of: date | None, scope: DataScope
) -> pl.DataFrame:
    """A named query of queries/, run on the store as ``scope`` sees it."""
    return queries.run(_connect(store, scope), name, **({"as_of": as_of} if as_of else {}))


@st.cache_data(show_spinner=False, max_entries=64)
def participation(fingerprint: str, store: str, as_of: date, scope: DataScope) -> pl.DataFrame:
    """Participation per county of the scope, and a total over exactly those counties."""
    return metrics.participation(_connect(store, scope), as_of)


_COUNT, _MONEY, _RATIO = pl.Int64, pl.Float64, pl.Float64
INDICATOR_SCHEMAS: dict[str, dict[str, type[pl.DataType]]] = {
    "renewal": {"policy_year": pl.Int32, "county_code": pl.String, "prior_members": _COUNT,
                "renewed": _COUNT, "renewal_rate": _RATIO},
    "personal_account": {"policy_year": pl.Int32, "county_code": pl.String,
                         "personal_account_premium": _MONEY, "written_premium": _MONEY,
                         "personal_account_share": _RATIO},
    "preexisting": {"policy_year": pl.Int32, "paid_claims": _COUNT, "preexisting_claims": _COUNT,
                    "claims_paid": _MONEY, "preexisting_paid": _MONEY, "claims_share": _RATIO,
                    "payout_share": _RATIO},
    "claimants": {"policy_year": pl.Int32, "claimants": _COUNT, "paid_claims": _COUNT,
                  "claims_paid": _MONEY, "payout_per_claimant": _MONEY},
    "one_stop": {"policy_year": pl.Int32, "liability": pl.String, "paid_claims": _COUNT,
                 "one_stop_claims": _COUNT, "claims_paid": _MONEY, "one_stop_paid": _MONEY,
                 "count_share": _RATIO, "amount_share": _RATIO},
}


def indicators(ds: Dataset, as_of: date, scope: DataScope) -> dict[str, pl.DataFrame]:
    """The indicators of hmb.measure.indicators as ``scope`` sees the store, one frame per kind
    (the keys of :data:`INDICATOR_SCHEMAS`): a county supervisor's renewal rate is her
    counties', and no other county's row is read. The member links they need are counted on
    the first view of an export (hmb.ingest.member_links)."""
    if not member_links.links_path(ds.store).exists():
        with st.spinner("正在统计续保与赔付人群 Counting renewals and claimants"):
            member_links.ensure(ds)
    return _indicators(ds.fingerprint, str(ds.store), as_of, scope)


@st.cache_data(show_spinner=False, max_entries=64)
def _indicators(
    fingerprint: str, store: str, as_of: date, scope: DataScope
) -> dict[str, pl.DataFrame]:
    figures = measure_indicators.indicators(_connect_with_links(store, scope), as_of).as_json()
    return {name: pl.DataFrame(figures[name], schema=schema, orient="row")
            for name, schema in INDICATOR_SCHEMAS.items()}


# Figures that need the insurers' expenses: not shown to a scope without insurer finance, where
# they would be computed from an empty expenses table.
INSURER_FINANCE_COLUMNS = ("expenses", "combined_ratio", "profit", "profit_rate",
                           "excess_surplus", "pool_open", "pool_draw", "pool_close")


@st.cache_data(show_spinner=False, max_entries=64)
def finance(
    fingerprint: str, store: str, profile: str, as_of: date, scope: DataScope
) -> pl.DataFrame:
    frame = metrics.finance(_connect(store, scope), load_profile(profile), as_of)
    if scope.may_see_finance:
        return frame
    return frame.with_columns(pl.lit(None, dtype=frame.schema[c]).alias(c)
                              for c in INSURER_FINANCE_COLUMNS)


@st.cache_data(show_spinner=False, max_entries=64)
def development(
    fingerprint: str, store: str, profile: str, as_of: date, scope: DataScope, *, grain: Grain
) -> Development:
    """Contract §5's claims development (hmb.measure.development) of the claims ``scope`` sees:
    for a county supervisor, her counties' triangle and projection."""
    return project_development(_connect(store, scope), load_profile(profile), as_of, grain)


@st.cache_data(show_spinner=False, max_entries=64)
def claims_audit(
    fingerprint: str, store: str, profile: str, as_of: date, scope: DataScope
) -> audit.ClaimsAudit:
    """Contract §6's claims audit (hmb.measure.claims_audit) of the claims ``scope`` sees, member
    IDs as the scope shows them."""
    return audit.claims_audit(_connect(store, scope), load_profile(profile), as_of)


def check(
    fingerprint: str, store: str, profile: str, as_of: date, scope: DataScope
) -> rules.CheckResult:
    """The rulebook's verdict, evaluated once on the whole jurisdiction (the system's view) and
    cut to the alerts the user may see; jurisdiction-wide notices only for unlimited scopes."""
    result = _check(fingerprint, store, profile, as_of)
    return replace(
        result,
        alerts=tuple(scoping.visible_alerts(scope, result.alerts)),
        notices=() if scope.limited or scope.role is None else result.notices,
    )


@st.cache_data(show_spinner=False, max_entries=64)
def _check(fingerprint: str, store: str, profile: str, as_of: date) -> rules.CheckResult:
    return rules.evaluate(_connect(store, scoping.SYSTEM), load_profile(profile), as_of)


@st.cache_data(show_spinner=False, max_entries=64)
def quarantine(fingerprint: str, store: str, table: str, scope: DataScope) -> pl.DataFrame:
    """The quarantined rows of one table that ``scope`` may see, member IDs masked, with the
    rules each broke (the validated values; ``hmb validate`` writes the files' exact text)."""
    con = _connect(store, scope)
    name = f"quarantine_{table}"
    if not con.execute(
        "select count(*) from duckdb_views() where database_name = 'memory'"
        " and view_name = $name", {"name": name}
    ).fetchall()[0][0]:
        return pl.DataFrame()
    return con.cursor().sql(
        f"select * exclude (_errors) from {quote_ident(name)} order by _file, _row"
    ).pl()


@st.cache_data(show_spinner=False, max_entries=64)
def quarantine_counts(fingerprint: str, store: str, scope: DataScope) -> pl.DataFrame:
    """Quarantined rows per table and rule within ``scope``: the data-quality figures of a user
    limited to counties (the jurisdiction-wide report is outside her scope)."""
    con = _connect(store, scope)
    tables = [row[0] for row in con.execute(
        "select view_name from duckdb_views() where database_name = 'memory'"
        " and view_name like 'quarantine\\_%' escape '\\' order by view_name"
    ).fetchall()]
    frames = [
        con.cursor().sql(
            f"select {sql_string(name.removeprefix('quarantine_'))} as \"table\","
            f" e.rule as rule, count(*) as rows"
            f" from {quote_ident(name)}, unnest(_errors) as u(e) group by all"
        ).pl()
        for name in tables
    ]
    frames = [f for f in frames if f.height]
    if not frames:
        return pl.DataFrame(schema={"table": pl.String, "rule": pl.String, "rows": pl.Int64})
    return pl.concat(frames).sort("table", "rule")


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
    latest = alert_db.latest_as_of(profile)
    if latest is not None and as_of < latest:
        return False  # a later evaluation is recorded: the store is shown as it is
    result = rules.evaluate(_connect(store, scoping.SYSTEM), load_profile(profile), as_of,
                            alert_db.open_critical(profile))
    context = EvaluationContext(profile, rulebook_version(profile), fingerprint, as_of)
    try:
        alert_db.sync(result.alerts, context)
    except StaleEvaluation:
        return False  # recorded by another run meanwhile
    return True


@st.cache_resource(show_spinner=False, max_entries=64)
def _connect(store: str, scope: DataScope) -> duckdb.DuckDBPyConnection:
    """The store as ``scope`` sees it (hmb.access.scoping): one connection per store and scope,
    shared
    by the sessions; every query takes its own cursor. The fingerprint in each cache key already
    names the data version, so the path alone is enough to open it."""
    return scoping.scoped_connection(store, scope)


@st.cache_resource(show_spinner=False, max_entries=64)
def _connect_with_links(store: str, scope: DataScope) -> duckdb.DuckDBPyConnection:
    """:func:`_connect` once the store's member links are counted: a connection opened before
    them has no view of them."""
    return scoping.scoped_connection(store, scope)


def as_records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return frame.to_dicts()
