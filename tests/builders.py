"""Tiny fixture folders for the tests, written from Python rows.

Every row builder fills each required column with a sensible, valid default, so a test states only
what matters to it::

    folder = write_folder(
        tmp_path,
        basic_insured=[basic_insured_row("350402", 100)],
        enrollment=[enrollment_row(member_id="A1", premium=150)],
    )

Dates are written as ISO strings in the rows and stored as DATE (or as strings with
``dates="string"``); amounts are stored as DOUBLE (or DECIMAL(18,2) with ``amounts="decimal"``).
A value that does not fit its column's type (``policy_year="abc"``, ``enroll_date="2024/13/45"``)
makes the builder store that whole column with the type pyarrow infers, which is how a broken
export looks.

The module also holds the few helpers that run the command line in-process and pick rows out of
its JSON, so that every test file reads the result the same way.
"""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from hmb.cli.main import main

Row = dict[str, Any]
Layout = Literal["file", "folder", "hive"]

# Column kinds as the contract describes them (docs/contract.md §1, docs/tables.md). Columns a
# test adds that are not listed here are written with the type pyarrow infers ("extra columns").
COLUMNS: dict[str, dict[str, str]] = {
    "enrollment": {
        "policy_year": "integer",
        "member_id": "string",
        "county_code": "string",
        "scheme": "string",
        "health_status": "string",
        "subsidy_group": "string",
        "premium": "amount",
        "subsidy_amount": "amount",
        "channel": "string",
        "enroll_date": "date",
        "status": "string",
        "refund_amount": "amount",
        "sex": "string",
        "birth_year": "integer",
    },
    "claims": {
        "claim_id": "string",
        "member_id": "string",
        "policy_year": "integer",
        "county_code": "string",
        "liability": "string",
        "in_area": "boolean",
        "service_date": "date",
        "report_date": "date",
        "settle_date": "date",
        "total_cost": "amount",
        "basic_paid": "amount",
        "critical_paid": "amount",
        "assistance_paid": "amount",
        "eligible_amount": "amount",
        "paid_amount": "amount",
        "status": "string",
        "one_stop": "boolean",
    },
    "basic_insured": {
        "policy_year": "integer",
        "county_code": "string",
        "scheme": "string",
        "insured_count": "integer",
    },
    "insurers": {
        "policy_year": "integer",
        "insurer_id": "string",
        "insurer_name": "string",
        "role": "string",
        "share": "double",
    },
    "expenses": {
        "policy_year": "integer",
        "insurer_id": "string",
        "category": "string",
        "amount": "amount",
    },
    "subsidy_eligible": {
        "policy_year": "integer",
        "county_code": "string",
        "subsidy_group": "string",
        "eligible_count": "integer",
    },
}

REQUIRED_TABLES = ("enrollment", "claims", "basic_insured", "insurers", "expenses")

_member_ids = itertools.count(1)
_claim_ids = itertools.count(1)


# --- rows -------------------------------------------------------------------------------------


def enrollment_row(**overrides: Any) -> Row:
    """An active 2024 resident-scheme enrolment in 350402, premium 150 paid on 2023-12-01."""
    row: Row = {
        "policy_year": 2024,
        "member_id": f"M{next(_member_ids):05d}",
        "county_code": "350402",
        "scheme": "resident",
        "health_status": "healthy",
        "subsidy_group": None,
        "premium": 150.0,
        "subsidy_amount": 0.0,
        "channel": "wechat",
        "enroll_date": "2023-12-01",
        "status": "active",
        "refund_amount": 0.0,
        "sex": "F",
        "birth_year": 1980,
    }
    return _apply(row, overrides)


def members(count: int, **fields: Any) -> list[Row]:
    """``count`` enrolments that differ only in their (generated) member_id."""
    return [enrollment_row(**fields) for _ in range(count)]


def claim_row(*, member_id: str, **overrides: Any) -> Row:
    """A 2024 claim of ``member_id`` in 350402: served 03-01, reported 03-05, paid 1000 on 03-20.

    The amounts raise no warning: paid 1000 ≤ eligible 3000 ≤ total 10000, and
    basic 6000 + critical 1000 + assistance 0 ≤ total 10000.
    """
    row: Row = {
        "claim_id": f"C{next(_claim_ids):05d}",
        "member_id": member_id,
        "policy_year": 2024,
        "county_code": "350402",
        "liability": "inpatient_in_area",
        "in_area": True,
        "service_date": "2024-03-01",
        "report_date": "2024-03-05",
        "settle_date": "2024-03-20",
        "total_cost": 10000.0,
        "basic_paid": 6000.0,
        "critical_paid": 1000.0,
        "assistance_paid": 0.0,
        "eligible_amount": 3000.0,
        "paid_amount": 1000.0,
        "status": "paid",
        "one_stop": True,
    }
    return _apply(row, overrides)


def basic_insured_row(
    county_code: str, insured_count: int, *, scheme: str = "resident", policy_year: int = 2024
) -> Row:
    return {
        "policy_year": policy_year,
        "county_code": county_code,
        "scheme": scheme,
        "insured_count": insured_count,
    }


def insurer_row(
    insurer_id: str,
    share: float,
    *,
    policy_year: int = 2024,
    role: str = "member",
    **overrides: Any,
) -> Row:
    row: Row = {
        "policy_year": policy_year,
        "insurer_id": insurer_id,
        "insurer_name": f"{insurer_id} 保险股份有限公司",
        "role": role,
        "share": share,
    }
    return _apply(row, overrides)


def expense_row(
    insurer_id: str,
    amount: float,
    *,
    category: str = "operations",
    policy_year: int = 2024,
    **overrides: Any,
) -> Row:
    row: Row = {
        "policy_year": policy_year,
        "insurer_id": insurer_id,
        "category": category,
        "amount": amount,
    }
    return _apply(row, overrides)


def subsidy_eligible_row(
    county_code: str, subsidy_group: str, eligible_count: int, *, policy_year: int = 2024
) -> Row:
    return {
        "policy_year": policy_year,
        "county_code": county_code,
        "subsidy_group": subsidy_group,
        "eligible_count": eligible_count,
    }


def in_jurisdiction(tables: Mapping[str, Sequence[Row]], profile: str) -> dict[str, list[Row]]:
    """``tables`` (written in 三明's counties, as the row builders' defaults are) moved to the
    counties of ``profile``'s jurisdiction: each 三明 county code becomes one of the
    jurisdiction's, in order, so that the rulebook accepts the folder
    (hmb.ingest.dataset.check_jurisdiction). Nothing else changes."""
    from hmb.core.counties import counties  # noqa: PLC0415 (cnmaps is read only when needed)
    from hmb.rulebook.profiles import load_profile  # noqa: PLC0415

    jurisdiction = load_profile(profile).jurisdiction
    codes = sorted({str(row["county_code"]) for rows in tables.values() for row in rows
                    if str(row.get("county_code") or "").startswith("3504")})
    if jurisdiction.adcode == "350400":
        places = {code: code for code in codes}
    else:
        targets = [c.code for c in counties(jurisdiction.adcode)]
        places = dict(zip(codes, targets, strict=False))
    return {
        name: [{**row, "county_code": places[row["county_code"]]}
               if row.get("county_code") in places else dict(row) for row in rows]
        for name, rows in tables.items()
    }


def _apply(row: Row, overrides: Mapping[str, Any]) -> Row:
    row = dict(row)
    row.update(overrides)
    return row


def clean_tables() -> dict[str, list[Row]]:
    """A small, fully valid 2024 dataset that raises no error and no warning.

    basic_insured: 350402 resident 80 + employee 20, 350403 resident 50.
    enrollment: A1 and A2 (employee) in 350402, A3 in 350403, A4 cancelled with a full refund.
    claims: C1 paid 1000 to A1, C2 pending for A3, C3 denied for A4 (cancelled but accepted).
    insurers: I1 lead 0.6, I2 member 0.4.  expenses: I1 300, I2 200.
    """
    return {
        "basic_insured": [
            basic_insured_row("350402", 80),
            basic_insured_row("350402", 20, scheme="employee"),
            basic_insured_row("350403", 50),
        ],
        "enrollment": [
            enrollment_row(member_id="A1"),
            enrollment_row(member_id="A2", scheme="employee", channel="employer"),
            enrollment_row(member_id="A3", county_code="350403", subsidy_group="dibao",
                           subsidy_amount=150.0, channel="government"),
            enrollment_row(member_id="A4", status="cancelled", refund_amount=150.0),
        ],
        "claims": [
            claim_row(member_id="A1", claim_id="C1"),
            claim_row(member_id="A3", claim_id="C2", county_code="350403", status="pending",
                      settle_date=None, paid_amount=0.0),
            claim_row(member_id="A4", claim_id="C3", status="denied", paid_amount=0.0),
        ],
        "insurers": [
            insurer_row("I1", 0.6, role="lead"),
            insurer_row("I2", 0.4),
        ],
        "expenses": [
            expense_row("I1", 300.0),
            expense_row("I2", 200.0, category="it"),
        ],
    }


# --- folders ----------------------------------------------------------------------------------


def write_folder(
    root: Path,
    *,
    enrollment: Sequence[Row] = (),
    claims: Sequence[Row] = (),
    basic_insured: Sequence[Row] = (),
    insurers: Sequence[Row] = (),
    expenses: Sequence[Row] = (),
    subsidy_eligible: Sequence[Row] | None = None,
    layout: Layout = "file",
    files: int = 1,
    dates: Literal["date", "string"] = "date",
    amounts: Literal["double", "decimal"] = "double",
    drop_columns: Mapping[str, Iterable[str]] | None = None,
    omit_tables: Iterable[str] = (),
    name: str = "data",
) -> Path:
    """Write a data folder ``root/name`` and return its path.

    layout "file" writes ``NAME.parquet``; "folder" writes ``NAME/part-<i>.parquet`` (``files``
    of them, rows dealt round-robin); "hive" writes ``NAME/policy_year=<Y>/part-<i>.parquet``
    with policy_year only in the path (an empty table is written as a plain ``NAME.parquet``).
    Tables given no rows are written empty, with every column; ``omit_tables`` leaves tables out
    and ``drop_columns`` ({table: [column, ...]}) leaves columns out.
    """
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    tables: dict[str, Sequence[Row]] = {
        "enrollment": enrollment,
        "claims": claims,
        "basic_insured": basic_insured,
        "insurers": insurers,
        "expenses": expenses,
    }
    if subsidy_eligible is not None:
        tables["subsidy_eligible"] = subsidy_eligible
    dropped = {table: set(columns) for table, columns in (drop_columns or {}).items()}
    skipped = set(omit_tables)
    for table, rows in tables.items():
        if table in skipped:
            continue
        arrow = to_arrow(table, rows, dates=dates, amounts=amounts)
        gone = [c for c in arrow.column_names if c in dropped.get(table, set())]
        arrow = arrow.drop_columns(gone)
        write_table(folder, table, arrow, layout=layout, files=files)
    return folder


def to_arrow(
    table: str,
    rows: Sequence[Row],
    *,
    dates: Literal["date", "string"] = "date",
    amounts: Literal["double", "decimal"] = "double",
) -> pa.Table:
    kinds = COLUMNS[table]
    names = list(kinds)
    for row in rows:
        names.extend(c for c in row if c not in names)
    arrays = [
        _column([row.get(name) for row in rows], kinds.get(name), dates=dates, amounts=amounts)
        for name in names
    ]
    return pa.table(arrays, names=names)


def write_table(folder: Path, table: str, arrow: pa.Table, *, layout: Layout, files: int) -> None:
    if layout == "file" or (layout == "hive" and arrow.num_rows == 0):
        pq.write_table(arrow, folder / f"{table}.parquet")
        return
    if layout == "folder":
        _write_parts(folder / table, arrow, files)
        return
    years = arrow.column("policy_year").to_pylist()
    rest = arrow.drop_columns(["policy_year"])
    for year in sorted(set(years)):
        keep = pa.array([y == year for y in years])
        _write_parts(folder / table / f"policy_year={year}", rest.filter(keep), files)


def _write_parts(directory: Path, arrow: pa.Table, files: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    count = max(1, min(files, arrow.num_rows))
    for part in range(count):
        index = pa.array(range(part, arrow.num_rows, count), type=pa.int64())
        pq.write_table(arrow.take(index), directory / f"part-{part}.parquet")


def _column(
    values: list[Any], kind: str | None, *, dates: str, amounts: str
) -> pa.Array:
    try:
        typed = _typed(values, kind, dates=dates, amounts=amounts)
    except (ValueError, TypeError, InvalidOperation, pa.ArrowException):
        typed = None
    if typed is not None:
        return typed
    try:
        return pa.array(values)
    except pa.ArrowException:
        # Mixed types, as in a column where one row says "abc": store the column as text.
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def _typed(values: list[Any], kind: str | None, *, dates: str, amounts: str) -> pa.Array | None:
    if kind == "integer" and any(isinstance(v, str | float) for v in values):
        return None
    if kind == "amount" and any(isinstance(v, str) for v in values):
        return None
    if kind == "date" and dates == "date":
        return pa.array(
            [None if v is None else date.fromisoformat(v) for v in values], type=pa.date32()
        )
    if kind == "amount" and amounts == "decimal":
        cents = Decimal("0.01")
        return pa.array(
            [None if v is None else Decimal(str(v)).quantize(cents) for v in values],
            type=pa.decimal128(18, 2),
        )
    arrow_type = _ARROW_TYPES.get(kind or "")
    return None if arrow_type is None else pa.array(values, type=arrow_type)


_ARROW_TYPES: dict[str, pa.DataType] = {
    "integer": pa.int64(),
    "string": pa.string(),
    "boolean": pa.bool_(),
    "double": pa.float64(),
    "date": pa.string(),  # dates="string"
    "amount": pa.float64(),  # amounts="double"
}


# --- running the command line -----------------------------------------------------------------


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    @property
    def text(self) -> str:
        return self.out + self.err


def run_cli(*args: object) -> CliResult:
    """Run ``hmb ARGS`` in-process; an argparse-style SystemExit counts as its exit code."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:
            code = _exit_code(exc.code)
    return CliResult(code, out.getvalue(), err.getvalue())


def _exit_code(value: object) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    return 1


def metrics_json(folder: Path, profile: str = "sanming-2024", as_of: str | None = None) -> Any:
    """``hmb metrics FOLDER --profile P [--as-of D] --format json``, which must succeed."""
    args: list[object] = ["metrics", folder, "--profile", profile, "--format", "json"]
    if as_of is not None:
        args += ["--as-of", as_of]
    result = run_cli(*args)
    assert result.code == 0, f"hmb metrics exited {result.code}: {result.err}"
    return result.json()


def participation_row(result: Mapping[str, Any], year: int, county: str | None) -> Row:
    rows = [
        r for r in result["participation"]
        if r["policy_year"] == year and r["county_code"] == county
    ]
    assert len(rows) == 1, f"expected one participation row for {year}/{county}, got {rows}"
    return rows[0]


def finance_row(result: Mapping[str, Any], year: int, insurer: str | None = None) -> Row:
    rows = [
        r for r in result["finance"] if r["policy_year"] == year and r["insurer_id"] == insurer
    ]
    assert len(rows) == 1, f"expected one finance row for {year}/{insurer}, got {rows}"
    return rows[0]
