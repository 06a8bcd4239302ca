"""The query layer's scoping (hmb.access.scoping) on real validated stores: every query of
queries/ run
through a county supervisor's scope gives exactly what the same query gives on a folder holding
only her county; member IDs are masked or absent by role; an empty scope sees nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import polars.selectors as cs
import pytest
from polars.testing import assert_frame_equal

import queries
from hmb.access import scoping
from hmb.access.roles import ROLES
from hmb.access.scoping import NOTHING, DataScope, may_act, scope_for, scoped_connection
from hmb.core.member_ids import mask_member_id
from hmb.ingest import member_links
from hmb.ingest.dataset import Dataset, open_dataset
from hmb.judge.alerts import Alert, Citation, Scope
from hmb.measure import claims_audit
from hmb.rulebook.profiles import load_profile
from tests.builders import (
    claim_row,
    clean_tables,
    enrollment_row,
    write_folder,
)

AS_OF = date(2024, 12, 31)
HERS, OTHER = "350403", "350402"
COUNTY = scope_for("county_supervisor", [HERS])
STRUCTURE = ("policy_year", "band", "band_order", "lower", "upper", "min_days", "max_days")


def _tables() -> dict[str, list[dict[str, Any]]]:
    """The clean dataset plus enough rows in her county for every query to return something,
    and one quarantined claim in each county (a paid amount above the eligible amount)."""
    tables = clean_tables()
    tables["enrollment"] += [enrollment_row(member_id=f"B{i}", county_code=HERS)
                             for i in range(3)]
    tables["claims"] += [
        claim_row(member_id="B0", county_code=HERS, claim_id="C10"),
        claim_row(member_id="B1", county_code=HERS, claim_id="C11", paid_amount=-5.0),
        claim_row(member_id="A1", county_code=OTHER, claim_id="C12", paid_amount=-5.0),
    ]
    tables["subsidy_eligible"] = [{"policy_year": 2024, "county_code": c,
                                   "subsidy_group": "dibao", "eligible_count": 4}
                                  for c in (HERS, OTHER)]
    return tables


def _only(tables: dict[str, list[dict[str, Any]]], county: str) -> dict[str, list[Any]]:
    """The same export, had it held one county and no insurer finance."""
    return {name: ([] if name in scoping.FINANCE_TABLES
                   else [r for r in rows if r.get("county_code") == county])
            for name, rows in tables.items()}


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> tuple[Dataset, Dataset]:
    root = tmp_path_factory.mktemp("access")
    tables = _tables()
    whole = open_dataset(write_folder(root, name="whole", **tables), cache_dir=root / "cache")
    hers = open_dataset(write_folder(root, name="hers", **_only(tables, HERS)),
                        cache_dir=root / "cache")
    for dataset in (whole, hers):  # the indicators' queries read the member links too
        member_links.ensure(dataset)
    return whole, hers


# Every parameter a query may take, with a value (claims_development: periods of a quarter;
# claims_audit: 三明's benefit table).
PARAMETERS: dict[str, object] = {
    **claims_audit.parameters(load_profile("sanming-2024"), AS_OF),
    "as_of": AS_OF, "months_per_period": 3, "early_days": 90,
}


def _run(con: duckdb.DuckDBPyConnection, name: str) -> pl.DataFrame:
    sql = queries.load(name)
    params = {key: value for key, value in PARAMETERS.items() if f"${key}" in sql}
    return queries.run(con, name, **params)


@pytest.mark.parametrize("name", queries.available())
def test_every_query_sees_only_her_county(stores: tuple[Dataset, Dataset], name: str) -> None:
    whole, hers = stores
    with scoped_connection(whole.store, COUNTY) as con:
        scoped = _run(con, name)
    with member_links.connect(hers) as con:
        alone = _run(con, name)
    if "member_id" in alone.columns:  # the scoped connection shows them masked
        alone = alone.with_columns(pl.col("member_id").map_elements(
            mask_member_id, return_dtype=pl.String))
    assert_frame_equal(scoped, alone, check_row_order=False)
    if "county_code" in scoped.columns:
        assert set(scoped["county_code"].drop_nulls()) <= {HERS}


@pytest.mark.parametrize("name", queries.available())
def test_an_empty_scope_sees_nothing(stores: tuple[Dataset, Dataset], name: str) -> None:
    whole, _ = stores
    for scope in (NOTHING, DataScope("county_supervisor", frozenset(), True, False, True)):
        with scoped_connection(whole.store, scope) as con:
            frame = _run(con, name)
            counts = [con.execute(f'select count(*) from "{t}"').fetchall()[0][0]
                      for (t,) in con.execute("select view_name from duckdb_views()"
                                              " where database_name = 'memory'").fetchall()]
        assert all(count == 0 for count in counts)
        # Bands and years are listed with zero counts at most: no figure comes from the data.
        numbers = frame.select(cs.numeric() - cs.by_name(*STRUCTURE, require_all=False))
        assert all(v in (None, 0) for col in numbers.iter_columns() for v in col), name


@pytest.mark.parametrize("role", ROLES)
def test_member_ids_are_masked_or_absent_by_role(stores: tuple[Dataset, Dataset],
                                                 role: str) -> None:
    whole, _ = stores
    scope = scope_for(role, [HERS] if role == "county_supervisor" else [])  # type: ignore[arg-type]
    with whole.connect() as con:
        clear = dict(con.execute("select claim_id, member_id from claims").fetchall())
    with scoped_connection(whole.store, scope) as con:
        tables = [t for (t,) in con.execute(
            "select table_name from information_schema.columns where table_catalog = 'memory'"
            " and column_name = 'member_id'").fetchall()]
        assert {"claims", "quarantine_claims"} <= set(tables)
        for table in tables:
            values = [v for (v,) in con.execute(f"select member_id from {table}").fetchall()]
            if scope.may_see_members:
                assert all(v is not None and "*" in v for v in values), table
            else:
                assert all(v is None for v in values), (role, table)
            assert values or table != "claims"
        shown = dict(con.execute("select claim_id, member_id from claims").fetchall())
    assert scope.may_see_members == (role in ("admin", "city_supervisor", "county_supervisor"))
    if scope.may_see_members:
        assert shown == {k: mask_member_id(clear[k]) for k in shown}
        assert not set(shown.values()) & set(clear.values())


def test_the_sql_mask_is_the_python_mask(tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    values = ["A", "AB12", "ABCDE", "M00012", "P0123456789abcdef01234567", "张三李四王五"]
    with duckdb.connect(str(store)) as con:
        con.execute("create table claims (member_id varchar, county_code varchar)")
        con.executemany("insert into claims values (?, '350426')", [[v] for v in values])
    with scoped_connection(store, scope_for("admin")) as con:
        masked = [v for (v,) in con.execute("select member_id from claims").fetchall()]
    assert masked == [mask_member_id(v) for v in values]


def test_finance_tables_only_for_finance_roles(stores: tuple[Dataset, Dataset]) -> None:
    whole, _ = stores
    for role in ROLES:
        scope = scope_for(role, [HERS] if role == "county_supervisor" else [])
        with scoped_connection(whole.store, scope) as con:
            insurers = con.execute("select count(*) from insurers").fetchall()[0][0]
            expenses = con.execute("select count(*) from expenses").fetchall()[0][0]
        expected = role != "county_supervisor"
        assert (insurers > 0, expenses > 0) == (expected, expected), role


def test_unknown_and_private_tables(tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    with duckdb.connect(str(store)) as con:
        con.execute("create table _secret as select 1 as x")
        con.execute("create table new_thing as select 1 as x")
        con.execute("create table enrollment_by_county as select 2024 as policy_year,"
                    " unnest(['350403', '350402']) as county_code, 10 as enrolled")
    with scoped_connection(store, COUNTY) as con:
        names = {n for (n,) in con.execute("select view_name from duckdb_views()"
                                           " where database_name = 'memory'").fetchall()}
        assert names == {"new_thing", "enrollment_by_county"}
        assert con.execute("select count(*) from new_thing").fetchall() == [(0,)]
        assert con.execute("select county_code from enrollment_by_county").fetchall() == \
            [(HERS,)]
    with scoped_connection(store, scope_for("admin")) as con:
        assert con.execute("select count(*) from new_thing").fetchall() == [(0,)]
        assert con.execute("select count(*) from enrollment_by_county").fetchall() == [(2,)]


def test_the_connection_cannot_read_files_or_change_its_settings(
        stores: tuple[Dataset, Dataset]) -> None:
    whole, _ = stores
    with scoped_connection(whole.store, COUNTY) as con:
        with pytest.raises(duckdb.Error):
            con.execute(f"select * from read_parquet('{whole.folder}/claims.parquet')")
        with pytest.raises(duckdb.Error):
            con.execute("set enable_external_access = true")


def test_no_query_names_the_attached_store() -> None:
    """Unqualified names resolve to the scoped views; a query naming ``store.`` would not."""
    for name in queries.available():
        assert "store." not in queries.load(name).lower(), name


# -- alerts ------------------------------------------------------------------------------------


def _alert(rule_id: str, county: str | None = None) -> Alert:
    return Alert("sanming-2024", rule_id, "critical", Scope(2024, county), 0.1, 0.2, 0.1, "pp",
                 "", "", Citation("doc", None, None))


PARTICIPATION_HERS = _alert("county_participation", "350426")
PARTICIPATION_OTHER = _alert("county_participation", "350404")
CITY_TIER = _alert("city_participation_tier")
PROFIT = _alert("net_profit_cap")
PREMIUM = _alert("premium_standard")
GONE = _alert("a_rule_no_longer_in_the_rulebook", "350426")


@pytest.mark.parametrize(
    ("role", "visible", "acts_on"),
    [
        ("admin", "all", {"hers", "other", "tier", "profit", "premium", "gone"}),
        ("city_supervisor", "all", {"hers", "other", "tier"}),
        ("county_supervisor", {"hers", "gone"}, {"hers"}),
        ("financial_regulator", "all", {"profit", "premium"}),
        ("leadership", "all", set()),
    ],
)
def test_who_sees_and_acts_on_which_alert(role: str, visible: Any, acts_on: set[str]) -> None:
    alerts = {"hers": PARTICIPATION_HERS, "other": PARTICIPATION_OTHER, "tier": CITY_TIER,
              "profit": PROFIT, "premium": PREMIUM, "gone": GONE}
    scope = scope_for(role, ["350426"] if role == "county_supervisor" else [])  # type: ignore[arg-type]
    seen = {k for k, a in alerts.items() if a in scoping.visible_alerts(scope, alerts.values())}
    assert seen == (set(alerts) if visible == "all" else visible)
    assert {k for k, a in alerts.items() if may_act(scope, a)} == acts_on


def test_nobody_signed_in_sees_no_alert_and_no_jurisdiction() -> None:
    assert scoping.visible_alerts(NOTHING, [PARTICIPATION_HERS, CITY_TIER]) == []
    assert not may_act(NOTHING, PARTICIPATION_HERS)
    assert not scoping.may_open_jurisdiction(NOTHING, "350400")
    youxi = scope_for("county_supervisor", ["350426"])  # 尤溪县, 三明
    assert scoping.may_open_jurisdiction(youxi, "350400")
    assert not scoping.may_open_jurisdiction(youxi, "430000")
    assert scoping.may_open_jurisdiction(scope_for("leadership"), "430000")


def test_the_page_table_is_complete() -> None:
    for role in ROLES:
        pages = scoping.ROLE_PAGES[role]
        assert "overview" in pages and pages <= set(scoping.ALL_PAGES)
        assert ("audit" in pages) == (role == "admin")
    assert "costs" not in scoping.ROLE_PAGES["county_supervisor"]
    assert "data_quality" not in scoping.ROLE_PAGES["financial_regulator"]


# -- the data-quality page's loaders (dashboard.data) over the same scoped connection ----------


def test_quarantine_downloads_are_scoped_and_masked(stores: tuple[Dataset, Dataset]) -> None:
    from dashboard import data  # noqa: PLC0415 (Streamlit only for this test)

    whole, _ = stores
    with whole.connect() as con:
        clear = dict(con.execute("select claim_id, member_id from quarantine_claims").fetchall())
    assert set(clear) == {"C11", "C12"}  # one quarantined claim in each county
    rows = data.quarantine(whole.fingerprint, str(whole.store), "claims", COUNTY)
    assert rows["claim_id"].to_list() == ["C11"]
    assert rows["county_code"].to_list() == [HERS]
    assert rows["member_id"].to_list() == [mask_member_id(clear["C11"])]
    counts = data.quarantine_counts(whole.fingerprint, str(whole.store), COUNTY)
    assert counts.to_dicts() == [{"table": "claims", "rule": counts["rule"][0], "rows": 1}]
    city = data.quarantine(whole.fingerprint, str(whole.store), "claims",
                           scope_for("city_supervisor"))
    assert sorted(city["claim_id"]) == ["C11", "C12"]
    assert "B1" not in city["member_id"].to_list() and "A1" not in city["member_id"].to_list()
