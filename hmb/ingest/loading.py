"""Finding the contract's tables in a data folder and refusing what cannot be read.

A data folder holds one ``NAME.parquet`` file or one ``NAME/`` folder of parquet files (possibly
hive-partitioned) per table (docs/contract.md §1). This module only looks at file names and parquet
footers; it never reads a table's rows into Python. Anything that stops the product from reading a
table at all is an :class:`InputError`, whose message tells the user which file, which column, what
was expected and what to do.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from hmb.core import duckdb_files
from hmb.core.labels import label
from hmb.core.schema import TABLES, Table

HIVE_SEGMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


@dataclass(frozen=True)
class Problem:
    """A fatal problem with the input: the product cannot go on until the user fixes it."""

    code: str
    message: str
    table: str | None = None
    file: str | None = None
    column: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "code": self.code,
            "table": self.table,
            "file": self.file,
            "column": self.column,
            "message": self.message,
        }


class InputError(Exception):
    """One or more fatal problems with a data folder. ``str()`` is the message for the user."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(p.message for p in problems))


@dataclass(frozen=True)
class Footer:
    """What one file's parquet footer says: its columns (with the hive partition keys of its
    folders), and the one policy year of its rows, when its folder (``policy_year=Y``) or the
    statistics of its row groups tell it (None otherwise)."""

    columns: frozenset[str]
    policy_year: int | None


@dataclass(frozen=True)
class TableSource:
    """Where one table's files are, and what their footers say."""

    table: Table
    files: tuple[Path, ...]
    hive_keys: tuple[str, ...]
    columns: frozenset[str]  # union over files, including hive partition keys
    # What each file's footer says (empty when the footers were not read).
    footers: Mapping[Path, Footer] = field(default_factory=dict)

    @property
    def parquet_list(self) -> list[str]:
        return [str(f) for f in self.files]


def _table_files(folder: Path, name: str) -> list[Path]:
    files: list[Path] = []
    single = folder / f"{name}.parquet"
    if single.is_file():
        files.append(single)
    nested = folder / name
    if nested.is_dir():
        files.extend(sorted(p for p in nested.rglob("*.parquet") if p.is_file()))
    return files


def _hive_keys(table_dir: Path, files: list[Path]) -> tuple[str, ...]:
    keys: list[str] = []
    for file in files:
        if not file.is_relative_to(table_dir):
            continue
        for part in file.relative_to(table_dir).parts[:-1]:
            match = HIVE_SEGMENT.match(part)
            if match and match.group(1) not in keys:
                keys.append(match.group(1))
    return tuple(keys)


def _read_footers(
    con: duckdb.DuckDBPyConnection, files: list[Path], table: str
) -> dict[Path, Footer | Problem]:
    """Each file's :class:`Footer` (DuckDB reads all the footers in one or two statements); a
    file that is not parquet is a Problem. Only a build reads footers: a warm open finds its
    store from the file list alone."""
    hive: dict[Path, dict[str, str]] = {
        file: {m[1]: m[2] for m in map(HIVE_SEGMENT.match, file.parts[:-1]) if m}
        for file in files
    }
    # The statistics are read only for the files whose folder does not name their year.
    unnamed = [str(f) for f in files if "policy_year" not in hive[f]]
    try:
        rows = con.execute(
            "select file_name, name, num_children from parquet_schema($files)",
            {"files": [str(f) for f in files]},
        ).fetchall()
        years = {
            name: low if groups == with_min == with_max and integers and low == high else None
            for name, groups, with_min, with_max, integers, low, high in con.execute(
                "select file_name, count(*), count(stats_min_value), count(stats_max_value),"
                "  bool_and(type in ('INT32', 'INT64')),"
                "  min(try_cast(stats_min_value as bigint)),"
                "  max(try_cast(stats_max_value as bigint))\n"
                "from parquet_metadata($files) where path_in_schema = 'policy_year'"
                " group by file_name",
                {"files": unnamed},
            ).fetchall()
        } if unnamed else {}
    except duckdb.Error as exc:
        if len(files) == 1:
            return {files[0]: _unreadable_file(files[0], table, exc)}
        # One of them is damaged: ask file by file which.
        found: dict[Path, Footer | Problem] = {}
        for file in files:
            found |= _read_footers(con, [file], table)
        return found
    schemas: dict[str, list[tuple[str, int]]] = {}
    for file_name, name, children in rows:
        schemas.setdefault(file_name, []).append((name, int(children or 0)))
    return {
        file: Footer(
            frozenset(_top_level(schemas.get(str(file), []))) | frozenset(hive[file]),
            _year(hive[file]["policy_year"]) if "policy_year" in hive[file]
            else years.get(str(file)),
        )
        for file in files
    }


def _year(text: str) -> int | None:
    return int(text) if text.strip().isdigit() else None


def _unreadable_file(file: Path, table: str, exc: Exception) -> Problem:
    return Problem(
        "unreadable_file",
        f"无法读取文件 {file}：不是有效的 parquet 文件（{exc}）。"
        f" Cannot read {file}: not a valid parquet file. Re-export the '{table}' table"
        " as parquet or remove the damaged file from the folder.",
        table=table,
        file=str(file),
    )


def discover(folder: Path, read_footers: bool = True) -> dict[str, TableSource]:
    """Find every table of the contract in ``folder``; raise InputError for what is fatal.

    ``read_footers=False`` only lists the files (enough for their fingerprint): the columns are
    then unknown (empty) and missing columns are not looked for. A store built from the same
    fingerprint has had its footers read already.
    """
    if not folder.is_dir():
        raise InputError(
            [
                Problem(
                    "not_found",
                    f"找不到数据文件夹 {folder}。 Data folder {folder} does not exist or is not a"
                    " folder. Give the path of the folder that holds enrollment, claims,"
                    " basic_insured, insurers and expenses.",
                    file=str(folder),
                )
            ]
        )
    if not any(folder.rglob("*.parquet")):
        raise InputError(
            [
                Problem(
                    "empty_folder",
                    f"数据文件夹 {folder} 中没有任何 parquet 文件。 The folder {folder} holds no"
                    " parquet files. Copy the exports (enrollment, claims, basic_insured, insurers,"
                    " expenses) into it, one NAME.parquet file or NAME/ folder per table.",
                    file=str(folder),
                )
            ]
        )
    problems: list[Problem] = []
    sources: dict[str, TableSource] = {}
    # One connection reads every table's footers (opening one costs more than reading them).
    con = duckdb_files.connect() if read_footers else None
    try:
        for table in TABLES:
            found = _table_source(folder, table, con, problems)
            if found is not None:
                sources[table.name] = found
    finally:
        if con is not None:
            con.close()
    if problems:
        raise InputError(problems)
    return sources


def _table_source(
    folder: Path, table: Table, con: duckdb.DuckDBPyConnection | None, problems: list[Problem]
) -> TableSource | None:
    """One table's files and, with ``con``, their footers; what is fatal goes to ``problems``."""
    files = _table_files(folder, table.name)
    if not files:
        if not table.optional:
            problems.append(
                Problem(
                    "missing_table",
                    f"缺少数据表 {table.name}（{label('table', table.name, 'zh')}）："
                    f"在 {folder} 中既没有 {table.name}.parquet 也没有 {table.name}/ 文件夹。"
                    f" Table '{table.name}'"
                    f" is missing from {folder}: add {table.name}.parquet or a folder"
                    f" {table.name}/ of parquet files (see docs/contract.md).",
                    table=table.name,
                    file=str(folder / f"{table.name}.parquet"),
                )
            )
        return None
    hive_keys = _hive_keys(folder / table.name, files)
    columns: set[str] = set(hive_keys)
    footers: dict[Path, Footer] = {}
    for file, found in (_read_footers(con, files, table.name) if con else {}).items():
        if isinstance(found, Problem):
            problems.append(found)
            continue
        footers[file] = found
        columns |= found.columns
        for col in table.required_columns:
            if col.name not in found.columns:
                problems.append(
                    Problem(
                        "missing_column",
                        f"文件 {file} 缺少必需列 {col.name}（{col.meaning_zh}）。 File {file}"
                        f" (table '{table.name}') has no column '{col.name}' ({col.meaning_en},"
                        f" {col.kind}). Add it to the export or rename the column that holds"
                        " it; column names are listed in docs/contract.md.",
                        table=table.name,
                        file=str(file),
                        column=col.name,
                    )
                )
    return TableSource(table, tuple(files), hive_keys, frozenset(columns), footers)


def _top_level(schema: list[tuple[str, int]]) -> list[str]:
    """The names of the root's children in a depth-first parquet schema (root first)."""
    names: list[str] = []
    pending = [schema[0][1]] if schema else []  # children still to visit, per open level
    for name, children in schema[1:]:
        if len(pending) == 1:
            names.append(name)
        pending[-1] -= 1
        pending.append(children)
        while pending and pending[-1] == 0 and len(pending) > 1:
            pending.pop()
    return names


FILES_PER_READ = 64  # files read in one statement when rows are read by their place


def reads_by_place(
    select: str, file_column: str, places: Sequence[tuple[object, Sequence[int]]]
) -> list[tuple[str, dict[str, object]]]:
    """Statements, with their parameters, that read rows by file and row number: ``select``
    (a ``select ... from`` a parquet relation with ``file_row_number``, ending in ``where``)
    once per file of ``places`` (file, its row numbers), as a file filter (``file_column`` =
    the file) and a list of row numbers that the parquet reader is given, so it skips the
    files and row groups that hold none, instead of scanning every row."""
    statements = []
    for start in range(0, len(places), FILES_PER_READ):
        params: dict[str, object] = {}
        branches = []
        for number, (file, rows) in enumerate(places[start : start + FILES_PER_READ]):
            params[f"f{number}"], params[f"r{number}"] = file, rows
            branches.append(
                f"{select} {file_column} = $f{number} and file_row_number = any($r{number})"
            )
        statements.append(("\nunion all\n".join(branches), params))
    return statements


def fingerprint(sources: dict[str, TableSource], *extra: str) -> str:
    """A key that changes whenever an input file is added, removed, replaced or touched."""
    digest = hashlib.sha256()
    for name in sorted(sources):
        for file in sources[name].files:
            stat = file.stat()
            digest.update(f"{name}|{file.resolve()}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    for item in extra:
        digest.update(f"{item}\n".encode())
    return digest.hexdigest()[:24]
