"""Who sees what: a user's data scope, enforced where the data is read (docs/access.md).

A :class:`DataScope` says which counties a user may see (``None``: the whole jurisdiction; an
empty set: nothing), whether member-level columns may be shown (masked), whether insurer finance
may be read and whether alerts may be acted on. :func:`scoped_connection` opens the validated
store through that scope: an in-memory DuckDB database that attaches the store read-only (with
its companion file of member links, hmb.ingest.member_links, once counted) and defines, in its
own ``main`` schema, one view per table under the same name. Unqualified
table names in ``queries/`` resolve to those views, so ``queries.run(con, name)`` runs unchanged
and can only see what the scope allows:

- a table with a ``county_code`` column keeps the rows of the scope's counties (none for an
  empty scope: default deny);
- a ``member_id`` column is masked as hmb.core.member_ids.mask_member_id does (first two and
  last two
  characters) for roles with member access, and null for the others;
- the insurer finance tables (``insurers``, ``expenses`` and their copies such as
  ``quarantine_insurers``) are empty without finance access, and for any scope limited to
  counties (they are jurisdiction-wide);
- any other table without ``county_code`` cannot be attributed to a county: empty for everyone
  until it is named here; tables whose name starts with ``_`` get no view at all.

The rules go by columns, not by table names (except the two finance tables), so a table added to
the store later is covered by the same rules. After the views are made the connection refuses
file access (``enable_external_access = false``) and further configuration changes, so a query
cannot read the parquet exports or attach the store a second time around the views.

Alerts are scoped the same way: :func:`visible_alerts` and :func:`may_act`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import duckdb

from hmb.access.auth import User
from hmb.access.roles import Role
from hmb.core import duckdb_files
from hmb.core.counties import counties as counties_of
from hmb.core.member_ids import masked_member_id_sql
from hmb.core.sql import quote_ident, sql_string
from hmb.ingest.member_links import links_path
from hmb.judge.alerts import Scope
from hmb.rulebook.profiles import ProfileError, load_profile

FINANCE_TABLES = frozenset({"insurers", "expenses"})

# Metrics about insurer finance and premiums: the financial regulator's business (docs/access.md).
FINANCE_METRICS = frozenset({
    "loss_ratio", "projected_loss_ratio", "combined_ratio", "profit_rate", "cost_and_profit_rate",
    "premium_mismatch_count", "premium_to_contribution", "preexisting_premium_gap",
    "insurer_count",
})

# The dashboard's pages each role may open (the audit page is the administrator's).
ALL_PAGES = ("overview", "participation", "claims", "development", "claims_audit", "costs",
             "alerts", "data_quality", "rulebook", "audit")
ROLE_PAGES: dict[Role, frozenset[str]] = {
    "admin": frozenset(ALL_PAGES),
    "city_supervisor": frozenset(ALL_PAGES) - {"audit"},
    "county_supervisor": frozenset(ALL_PAGES) - {"audit", "costs"},
    "financial_regulator": frozenset({"overview", "claims", "development", "claims_audit",
                                      "costs", "alerts", "rulebook"}),
    "leadership": frozenset(ALL_PAGES) - {"audit", "data_quality"},
}


@dataclass(frozen=True)
class DataScope:
    """What one user may read and do. Frozen and hashable: it is part of every cache key."""

    role: Role | None
    counties: frozenset[str] | None  # None: every county; empty: none at all
    may_see_members: bool
    may_see_finance: bool
    may_act: bool

    @property
    def limited(self) -> bool:
        """Limited to listed counties (so jurisdiction-wide figures are out of scope)."""
        return self.counties is not None

    @property
    def pages(self) -> frozenset[str]:
        return ROLE_PAGES[self.role] if self.role is not None else frozenset()


NOTHING = DataScope(None, frozenset(), may_see_members=False, may_see_finance=False,
                    may_act=False)
# The system's own evaluation of the rules (alerts are then filtered per user).
SYSTEM = DataScope(None, None, may_see_members=False, may_see_finance=True, may_act=False)


def scope_for(role: Role, counties: Iterable[str] = ()) -> DataScope:
    """The scope of a role (a county supervisor's limited to ``counties``)."""
    match role:
        case "admin":
            return DataScope(role, None, may_see_members=True, may_see_finance=True, may_act=True)
        case "city_supervisor":
            return DataScope(role, None, may_see_members=True, may_see_finance=True, may_act=True)
        case "county_supervisor":
            return DataScope(role, frozenset(counties), may_see_members=True,
                             may_see_finance=False, may_act=True)
        case "financial_regulator":
            return DataScope(role, None, may_see_members=False, may_see_finance=True,
                             may_act=True)
        case "leadership":
            return DataScope(role, None, may_see_members=False, may_see_finance=True,
                             may_act=False)


def user_scope(user: User | None) -> DataScope:
    """The scope of a signed-in user; nobody (or a disabled account) gets :data:`NOTHING`."""
    if user is None or user.disabled:
        return NOTHING
    return scope_for(user.role, user.counties)


def may_open_jurisdiction(scope: DataScope, adcode: str) -> bool:
    """A county-limited user opens only the jurisdictions holding one of her counties."""
    if scope.role is None:
        return False
    if scope.counties is None:
        return True
    try:
        codes = {c.code for c in counties_of(adcode)}
    except ValueError:
        return False
    return bool(codes & scope.counties)


# -- the query layer -------------------------------------------------------------------------


def scoped_connection(store: Path | str, scope: DataScope) -> duckdb.DuckDBPyConnection:
    """An in-memory connection whose tables are the store's, seen through ``scope``; and, once
    they are counted, those of its companion file of member links (hmb.ingest.member_links),
    under the same rules."""
    con = duckdb_files.connect()
    try:
        catalogs = [("store", Path(store))]
        if links_path(store).exists():
            catalogs.append(("links", links_path(store)))
        for catalog, path in catalogs:
            con.execute(f"attach {sql_string(str(path))} as {catalog} (read_only)")
            columns: dict[str, list[str]] = {}
            for table, column in con.execute(
                "select table_name, column_name from information_schema.columns"
                " where table_catalog = $catalog and table_schema = 'main'"
                " order by table_name, ordinal_position", {"catalog": catalog}
            ).fetchall():
                columns.setdefault(str(table), []).append(str(column))
            for table, names in columns.items():
                if table.startswith("_"):
                    continue
                con.execute(view_sql(table, names, scope, catalog))
        con.execute("set enable_external_access = false")
        con.execute("set lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def view_sql(table: str, columns: list[str], scope: DataScope, catalog: str = "store") -> str:
    """The ``create view`` statement exposing ``catalog.table`` through ``scope``."""
    select = ", ".join(
        (_member_id_sql(scope) if name == "member_id" else quote_ident(name))
        + f" as {quote_ident(name)}"
        for name in columns
    )
    return (f"create view main.{quote_ident(table)} as select {select} "
            f"from {catalog}.main.{quote_ident(table)} where {_rows_sql(table, columns, scope)}")


def is_finance_table(table: str) -> bool:
    """``insurers``, ``expenses`` and their copies (``quarantine_insurers``, ...)."""
    return any(table == name or table.endswith(f"_{name}") for name in FINANCE_TABLES)


def _rows_sql(table: str, columns: list[str], scope: DataScope) -> str:
    if scope.role is None and scope != SYSTEM:
        return "false"
    if is_finance_table(table):
        return "true" if scope.may_see_finance and scope.counties is None else "false"
    if "county_code" not in columns:
        return "false"  # not attributable to a county: shown to nobody until named above
    if scope.counties is None:
        return "true"
    if not scope.counties:
        return "false"
    codes = ", ".join(sql_string(code) for code in sorted(scope.counties))
    return f"county_code in ({codes})"


def _member_id_sql(scope: DataScope) -> str:
    if not scope.may_see_members:
        return "cast(null as varchar)"
    return masked_member_id_sql("member_id")


# -- alerts ----------------------------------------------------------------------------------


class AlertLike(Protocol):
    """An alert (hmb.judge.alerts.Alert) or a recorded one (hmb.state.alert_store.AlertRecord)."""

    @property
    def profile(self) -> str: ...
    @property
    def rule_id(self) -> str: ...
    @property
    def scope(self) -> Scope: ...


A = TypeVar("A", bound=AlertLike)


def may_see_alert(scope: DataScope, alert: AlertLike) -> bool:
    """Everyone but a county-limited user sees every alert; she sees her counties' alerts."""
    if scope.role is None:
        return False
    if scope.counties is None:
        return True
    return alert.scope.county_code is not None and alert.scope.county_code in scope.counties


def visible_alerts(scope: DataScope, alerts: Iterable[A]) -> list[A]:
    return [alert for alert in alerts if may_see_alert(scope, alert)]


def alert_metric(alert: AlertLike) -> str | None:
    """The metric the alert's rule measures, or None when its rulebook no longer has the rule."""
    try:
        rules = load_profile(alert.profile).rules
    except ProfileError:
        return None
    return next((rule.metric for rule in rules if rule.id == alert.rule_id), None)


def is_finance_alert(alert: AlertLike) -> bool | None:
    metric = alert_metric(alert)
    return None if metric is None else metric in FINANCE_METRICS


def may_act(scope: DataScope, alert: AlertLike) -> bool:
    """Whether the user may acknowledge or waive ``alert`` (the table in docs/access.md)."""
    if not (scope.may_act and may_see_alert(scope, alert)):
        return False
    if scope.role == "admin":
        return True
    finance = is_finance_alert(alert)
    if finance is None:
        return False  # a rule the rulebook no longer has: the administrator's call
    if scope.role == "financial_regulator":
        return finance
    if scope.role in ("city_supervisor", "county_supervisor"):
        return not finance
    return False
