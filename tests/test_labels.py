"""The catalogue of names (hmb.core.labels) is complete: every code the contract, the rule engine,
the alerts and the accounts use has a Chinese and an English name, none empty; an unknown code
shows as itself."""

from __future__ import annotations

from decimal import Decimal
from typing import get_args

import pytest

from hmb.access.roles import ROLES
from hmb.core import labels
from hmb.core.labels import COLUMN_ENUMS, ENUMS, Label, label, names
from hmb.core.schema import TABLES, Table
from hmb.judge.alerts import ALERT_STATES, SEVERITY_ORDER, GapUnit
from hmb.judge.rules import OBSERVERS
from hmb.measure.metrics import FinanceRow
from hmb.rulebook.profiles import (
    Comparison,
    RuleScope,
    RuleUnit,
    RuleWhen,
    SurplusDestination,
)

ENUMERATED = [(t.name, c.name, c.allowed) for t in TABLES for c in t.columns if c.allowed]


@pytest.mark.parametrize(("table", "column", "allowed"), ENUMERATED,
                         ids=[f"{t}.{c}" for t, c, _ in ENUMERATED])
def test_every_enumeration_value_of_the_contract_has_names(
    table: str, column: str, allowed: tuple[str, ...]
) -> None:
    kind = COLUMN_ENUMS[(table, column)]
    assert list(ENUMS[kind]) == list(allowed), f"{table}.{column}: names in the contract's order"


def test_every_enumerated_column_named_exists_in_the_contract() -> None:
    assert set(COLUMN_ENUMS) == {(t, c) for t, c, _ in ENUMERATED}


@pytest.mark.parametrize(
    ("kind", "codes"),
    [
        ("severity", tuple(SEVERITY_ORDER)),
        ("alert_state", ALERT_STATES),
        ("role", ROLES),
        # "none": the document sends excess surplus nowhere, so an alert has nothing to add.
        ("surplus_destination", tuple(d for d in get_args(SurplusDestination) if d != "none")),
        ("rule_scope", get_args(RuleScope)),
        ("comparison", get_args(Comparison)),
        ("rule_when", get_args(RuleWhen)),
    ],
)
def test_every_value_of_the_engine_and_the_accounts_has_names(
    kind: labels.EnumKind, codes: tuple[str, ...]
) -> None:
    assert set(ENUMS[kind]) == set(codes)


def test_the_enumeration_kinds_are_the_ones_the_type_lists() -> None:
    assert set(ENUMS) == set(get_args(labels.EnumKind))
    assert set(labels.CATALOGUE) == set(get_args(labels.EnumKind)) | {
        "table", "column", "metric", "unit"}


def test_every_metric_a_rule_can_name_has_names() -> None:
    assert set(OBSERVERS) <= set(labels.METRICS), set(OBSERVERS) - set(labels.METRICS)


def test_every_unit_a_rule_or_an_alert_gives_has_names() -> None:
    assert set(get_args(RuleUnit)) | set(get_args(GapUnit)) == set(labels.UNITS)


def test_every_table_and_column_of_the_contract_has_names() -> None:
    assert {t.name for t in TABLES} == set(labels.TABLES)
    missing = {c.name for t in TABLES for c in t.columns} - set(labels.COLUMNS)
    assert not missing


def test_every_column_of_the_metric_rows_has_a_header() -> None:
    row = FinanceRow(2024, None, None, None, Decimal(1), Decimal(1), Decimal(0), Decimal(0), 0.03)
    participation = {"policy_year", "county_code", "enrolled", "insured_base", "rate"}
    missing = (set(row.as_json()) | participation) - set(labels.COLUMNS)
    assert not missing


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_a_table_never_heads_two_columns_alike(table: Table) -> None:
    columns = [c.name for c in table.columns]
    for lang in labels.LANGS:
        headers = [label("column", c, lang) for c in columns]
        assert len(set(headers)) == len(headers), (lang, headers)


@pytest.mark.parametrize("kind", sorted(labels.CATALOGUE))
def test_no_name_is_empty_and_values_of_a_kind_read_apart(kind: str) -> None:
    entries = labels.CATALOGUE[kind]
    assert entries
    for code, found in entries.items():
        assert isinstance(found, Label)
        assert found.zh.strip() and found.en.strip(), (kind, code)
        assert found.zh == found.zh.strip() and found.en == found.en.strip(), (kind, code)
    if kind in ENUMS:  # a filter offering two values under one name could not be used
        for lang in labels.LANGS:
            shown = list(names(kind, lang).values())  # type: ignore[arg-type]
            assert len(set(shown)) == len(shown), (kind, lang, shown)


def test_names_in_both_languages() -> None:
    assert label("subsidy_group", "dibao", "zh") == "低保对象"
    assert label("subsidy_group", "dibao", "en") == "Minimum-allowance recipients"
    assert label("metric", "loss_ratio", "en") == "Loss ratio"
    assert label("column", "earned_premium", "zh") == "已赚保费（元）"
    assert label("column", "paid_amount", "en") == "Paid by this product (yuan)"
    assert label("column", "rate", "zh") == label("metric", "participation_rate", "zh")
    assert label("table", "claims", "zh") == "理赔明细"
    assert label("severity", "critical", "zh") == "严重"
    assert label("unit", "days", "en") == "days"


def test_an_unknown_code_comes_back_as_itself() -> None:
    assert label("subsidy_group", "veterans_2030", "zh") == "veterans_2030"
    assert label("metric", "no_such_metric", "en") == "no_such_metric"
    assert label("no_such_kind", "dibao", "en") == "dibao"  # type: ignore[arg-type]
    assert label("subsidy_group", None, "zh") == ""
    assert names("no_such_kind", "zh") == {}  # type: ignore[arg-type]

