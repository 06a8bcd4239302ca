"""Finding the contract's tables in a data folder and refusing what cannot be read.

A data folder holds one ``NAME.parquet`` file or one ``NAME/`` folder of parquet files (possibly
hive-partitioned) per table (docs/contract.md §1). This module only looks at file names and parquet
footers; it never reads a table's rows into Python. Anything that stops the product from reading a
table at all is an :class:`InputError`, whose message tells the user which file, which column, what
was expected and what to do.

Nothing is skipped without a word: symbolic links are followed (a year's folder may be linked in
from elsewhere), and a link whose target is missing, that loops, or a file reached twice is an
InputError naming it; so is a partition folder (``policy_year=2O24``) whose value is not of its
column's type, or one that contradicts the file's own column of that name. A column whose type
differs between the files of a table is read as text (:func:`parquet_relation`), so that its
values are typed, and quarantined when they do not parse, row by row.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from hmb.core import duckdb_files
from hmb.core.labels import label
from hmb.core.schema import TABLES, Column, Table
from hmb.core.sql import quote_ident, sql_string

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
    # The DuckDB type of each of the file's own top-level columns (hive keys not included).
    types: Mapping[str, str | None] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class TableSource:
    """Where one table's files are, and what their footers say."""

    table: Table
    files: tuple[Path, ...]
    hive_keys: tuple[str, ...]
    columns: frozenset[str]  # union over files, including hive partition keys
    # What each file's footer says (empty when the footers were not read).
    footers: Mapping[Path, Footer] = field(default_factory=dict)
    # The columns whose type differs between the files: read as text (parquet_relation).
    as_text: frozenset[str] = frozenset()

    @property
    def parquet_list(self) -> list[str]:
        return [str(f) for f in self.files]

    def relation(self) -> str:
        """The SQL relation of this table's rows as exported: :func:`parquet_relation`."""
        return parquet_relation(self.files, bool(self.hive_keys), self.footers, self.as_text)


def parquet_relation(
    files: Sequence[Path],
    hive: bool,
    footers: Mapping[Path, Footer] | None = None,
    as_text: frozenset[str] = frozenset(),
) -> str:
    """A ``select`` of every row of ``files``, with the columns ``filename`` and
    ``file_row_number`` and ``_file_index`` (the file's place in ``files``, from 0).

    Columns in ``as_text`` (a type that differs between files, :func:`drifting`) are cast to
    VARCHAR before the files are put together: DuckDB's ``union_by_name`` would otherwise pick
    one of the types and fail on, or silently change, the values of the other files. The files
    are then read in groups of the same types, each group's columns cast, and the groups
    united by name; a table without such columns is one ``read_parquet`` as before."""
    options = (
        f"hive_partitioning = {str(hive).lower()}, union_by_name = true, filename = true,"
        " file_row_number = true"
    )

    def listed(paths: Sequence[Path]) -> str:
        return "[" + ", ".join(sql_string(str(f)) for f in paths) + "]"

    if not as_text or footers is None:
        return f"select *, file_index as _file_index from read_parquet({listed(files)}, {options})"
    text = sorted(as_text)
    groups: dict[tuple[str | None, ...], list[int]] = {}
    for index, file in enumerate(files):
        types = footers[file].types
        groups.setdefault(tuple(types.get(c, _ABSENT) for c in text), []).append(index)
    branches = []
    for key, indices in groups.items():
        cast = [
            f"cast({quote_ident(c)} as varchar) as {quote_ident(c)}"
            for c, kind in zip(text, key, strict=True) if kind != _ABSENT
        ]
        numbers = "[" + ", ".join(str(i) for i in indices) + "]"
        branches.append(
            f"select * {'replace (' + ', '.join(cast) + ')' if cast else ''},"
            f" {numbers}[file_index::bigint + 1]::ubigint as _file_index"
            f" from read_parquet({listed([files[i] for i in indices])}, {options})"
        )
    return "\nunion all by name\n".join(f"({b})" for b in branches)


_ABSENT = "\0absent"


def drifting(footers: Mapping[Path, Footer], hive_keys: Sequence[str] = ()) -> frozenset[str]:
    """The columns whose DuckDB type differs between the files (a partition key's values come
    from the folder names, one type for all)."""
    seen: dict[str, set[str | None]] = {}
    for footer in footers.values():
        for column, kind in footer.types.items():
            seen.setdefault(column, set()).add(kind)
    return frozenset(c for c, kinds in seen.items() if len(kinds) > 1) - set(hive_keys)


def _table_files(folder: Path, name: str, problems: list[Problem]) -> list[Path]:
    """A table's files: ``NAME.parquet`` and every ``*.parquet`` under ``NAME/``, links followed;
    a link that cannot be followed, or a file reached twice, goes to ``problems``."""
    files: list[Path] = []
    single = folder / f"{name}.parquet"
    if _followable(single, name, problems) and single.is_file():
        files.append(single)
    nested = folder / name
    if _followable(nested, name, problems) and nested.is_dir():
        files.extend(_walk(nested, name, problems))
    seen: dict[Path, Path] = {}
    for file in sorted(files):
        real = file.resolve()
        if real in seen:
            problems.append(
                Problem(
                    "file_twice",
                    f"文件 {seen[real]} 与 {file} 是同一个文件（经由符号链接），"
                    "其数据行会被读两次。"
                    f" {seen[real]} and {file} are the same file (through a symbolic link): its"
                    f" rows would be read twice. Remove one of the two from table '{name}'.",
                    table=name,
                    file=str(file),
                )
            )
        seen.setdefault(real, file)
    # NAME.parquet first, then NAME/ depth first with names in order: the order of a sort of
    # the paths, as before links were followed (a file's number in a store is its place).
    return files


def _followable(path: Path, table: str, problems: list[Problem]) -> bool:
    """False when ``path`` does not exist; a symbolic link whose target is missing, or that
    points at itself, is a problem (named), never taken for a file that is not there."""
    if not path.is_symlink():
        return path.exists()
    try:
        path.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        problems.append(_link_problem(path, table, exc))
        return False
    return True


def _walk(top: Path, table: str, problems: list[Problem]) -> list[Path]:
    """Every ``*.parquet`` file under ``top``, through linked folders too (``Path.rglob`` skips
    those without a word). A link back to a folder above it is a loop: a problem, not followed."""
    found: list[Path] = []

    def visit(directory: Path, above: frozenset[Path]) -> None:
        try:
            with os.scandir(directory) as entries:
                listing = sorted(entries, key=lambda e: e.name)
        except OSError as exc:
            problems.append(_link_problem(directory, table, exc))
            return
        for entry in listing:
            path = Path(entry.path)
            if not _followable(path, table, problems):
                continue
            if path.is_dir():
                real = path.resolve()
                if real in above:
                    problems.append(_link_problem(path, table, None))
                    continue
                visit(path, above | {real})
            elif entry.name.endswith(".parquet") and path.is_file():
                found.append(path)

    visit(top, frozenset({top.resolve()}))
    return found


def _link_problem(path: Path, table: str, exc: Exception | None) -> Problem:
    if exc is None:
        zh, en = "指向它上层的文件夹（循环）", "leads back to a folder above it (a loop)"
    elif path.is_symlink():
        zh, en = f"无法跟随（目标不存在或循环：{exc}）", f"cannot be followed ({exc})"
    else:
        zh, en = f"无法读取（{exc}）", f"cannot be read ({exc})"
    return Problem(
        "broken_link",
        f"数据表 {table} 中的 {path} {zh}。 {path} in table '{table}' {en}: its rows would be"
        " lost. Point the link at the folder or file it stands for, or remove it.",
        table=table,
        file=str(path),
    )


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


def read_footers(
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
            "select file_name, name, num_children, duckdb_type from parquet_schema($files)",
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
            found |= read_footers(con, [file], table)
        return found
    schemas: dict[str, list[tuple[str, int, str | None]]] = {}
    for file_name, name, children, kind in rows:
        schemas.setdefault(file_name, []).append((name, int(children or 0), kind))
    footers: dict[Path, Footer | Problem] = {}
    for file in files:
        types = dict(_top_level(schemas.get(str(file), [])))
        footers[file] = Footer(
            frozenset(types) | frozenset(hive[file]),
            _year(hive[file]["policy_year"]) if "policy_year" in hive[file]
            else years.get(str(file)),
            types,
        )
    # A column named both by a folder and in the file: the folder's value would replace the
    # file's without a word, so they must agree (rare: only those files are looked at).
    both = [(f, k, v) for f, values in hive.items() for k, v in values.items()
            if k in dict(_top_level(schemas.get(str(f), [])))]
    for file, column, value in both:
        conflict = _partition_conflict(con, file, column, value, table)
        if conflict is not None:
            footers[file] = conflict
    return footers


def _partition_conflict(
    con: duckdb.DuckDBPyConnection, file: Path, column: str, value: str, table: str
) -> Problem | None:
    """A Problem when ``file``'s own ``column`` holds a value other than its folder's
    ``column=value``. The parquet statistics settle it when every row group says min = max =
    the folder's integer; otherwise one aggregate over that one column of that one file."""
    whole = re.fullmatch(r"-?[0-9]{1,18}", value) is not None
    if whole:
        groups, low, high, stats = con.execute(
            "select count(*), min(try_cast(stats_min_value as bigint)),"
            " max(try_cast(stats_max_value as bigint)),"
            " count(stats_min_value) = count(*) and count(stats_max_value) = count(*)"
            " and bool_and(type in ('INT32', 'INT64'))"
            " from parquet_metadata($file) where path_in_schema = $column",
            {"file": str(file), "column": column},
        ).fetchall()[0]
        if groups and stats and low == high == int(value):
            return None
    ident = quote_ident(column)
    differs = (
        f"try_cast({ident} as bigint) is distinct from {int(value)}" if whole
        else f"trim(cast({ident} as varchar)) <> {sql_string(value)}"
    )
    rows, other, total = con.execute(
        f"select count(*) filter (where {ident} is not null and {differs}),"
        f" any_value(cast({ident} as varchar)) filter (where {ident} is not null and {differs}),"
        f" count(*) from read_parquet($file, hive_partitioning = false)",
        {"file": str(file)},
    ).fetchall()[0]
    if not rows:
        return None
    return Problem(
        "partition_conflict",
        f"文件 {file} 所在文件夹写的是 {column}={value}，而文件自己的 {column} 列在"
        f" {rows} 行（共 {total} 行）中是 {other!r}，两者不一致，文件夹的值会悄悄覆盖文件的值。"
        f" File {file} (table '{table}') sits in a folder that says {column}={value}, but its"
        f" own column '{column}' says {other!r} in {rows} of its {total} rows: the folder's value"
        " would replace the file's without a word. Move the file to the folder of its own value,"
        " correct the column, or drop the column from the file.",
        table=table,
        file=str(file),
        column=column,
    )


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
    if not any(folder.rglob("*.parquet")) and not _links_to_parquet(folder):
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
    found_before = len(problems)
    files = _table_files(folder, table.name, problems)
    if not files:
        if not table.optional and len(problems) == found_before:
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
    problems.extend(_hive_value_problems(folder / table.name, files, table))
    columns: set[str] = set(hive_keys)
    footers: dict[Path, Footer] = {}
    for file, found in (read_footers(con, files, table.name) if con else {}).items():
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
    return TableSource(
        table, tuple(files), hive_keys, frozenset(columns), footers,
        drifting(footers, hive_keys),
    )


def _links_to_parquet(folder: Path) -> bool:
    """Whether a table's name in ``folder`` is a link, or its folder holds one: the files behind
    it are looked for by :func:`_table_files` (``rglob`` does not follow linked folders)."""
    return any(
        (folder / name).is_symlink()
        or ((folder / name).is_dir() and any(p.is_symlink() for p in (folder / name).rglob("*")))
        for name in (*(t.name for t in TABLES), *(f"{t.name}.parquet" for t in TABLES))
    )


def _hive_value_problems(table_dir: Path, files: list[Path], table: Table) -> list[Problem]:
    """A partition folder ``column=value`` of the table's folder whose column is one of the
    contract's and whose value is not of that column's type (``policy_year=2O24``): its rows
    would get a null instead. One problem per folder, naming it."""
    problems: list[Problem] = []
    seen: set[Path] = set()
    names = {c.name: c for c in table.columns}
    for file in files:
        if not file.is_relative_to(table_dir):
            continue
        parts = file.relative_to(table_dir).parts[:-1]
        for depth, part in enumerate(parts):
            match = HIVE_SEGMENT.match(part)
            if not match or match[1] not in names:
                continue
            where = table_dir.joinpath(*parts[: depth + 1])
            col = names[match[1]]
            if where in seen or _hive_value_casts(match[2], col):
                continue
            seen.add(where)
            zh, en, example = _KINDS.get(col.kind, (col.kind, col.kind, "x"))
            problems.append(
                Problem(
                    "bad_partition_folder",
                    f"分区文件夹 {where} 写的 {col.name}={match[2]!r} 不是{zh}，其中每一行的"
                    f" {col.name}（{col.meaning_zh}）都会成为空值。请把文件夹改名为"
                    f" {col.name}=<值>，如 {col.name}={example}。 Partition folder {where}"
                    f" (table '{table.name}') names {col.name}={match[2]!r}, which is not {en}:"
                    f" every row under it would get a null {col.name}. Rename the folder to"
                    f" {col.name}=<value>, e.g. {col.name}={example}.",
                    table=table.name,
                    file=str(where),
                    column=col.name,
                )
            )
    return problems


_KINDS = {
    "integer": ("整数", "a whole number", "2024"),
    "amount": ("金额", "a number of yuan", "150.00"),
    "date": ("日期 YYYY-MM-DD", "an ISO date YYYY-MM-DD", "2024-01-01"),
    "boolean": ("true/false", "true or false", "true"),
    "share": ("小数", "a number", "0.5"),
    "string": ("非空文字", "a non-empty text", "x"),
    "county_code": ("非空文字", "a non-empty text", "350402"),
}


def _hive_value_casts(value: str, col: Column) -> bool:
    """Whether a folder's ``column=value`` reads as the column's type (ASCII digits only: a
    full-width ``２０２４`` reads as a number in Python, not in DuckDB)."""
    if re.fullmatch(_HIVE_VALUE.get(col.kind, ".+"), value, re.DOTALL) is None:
        return False
    if col.kind == "integer":
        return -(2**31) <= int(value) < 2**31
    if col.kind == "date":
        try:
            date.fromisoformat(value)
        except ValueError:
            return False
    return True


_HIVE_VALUE = {
    "integer": r"-?[0-9]{1,10}",
    "amount": r"-?[0-9]{1,16}(\.[0-9]+)?",
    "share": r"-?[0-9]+(\.[0-9]+)?",
    "date": r"[0-9]{4}-[0-9]{2}-[0-9]{2}",
    "boolean": r"(?i:true|false)",
}


def _top_level(schema: list[tuple[str, int, str | None]]) -> list[tuple[str, str | None]]:
    """The names and DuckDB types of the root's children in a depth-first parquet schema (root
    first)."""
    names: list[tuple[str, str | None]] = []
    pending = [schema[0][1]] if schema else []  # children still to visit, per open level
    for name, children, kind in schema[1:]:
        if len(pending) == 1:
            names.append((name, kind))
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
