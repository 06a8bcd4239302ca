"""Turn an export that carries clear resident ID numbers into one with keyed pseudonyms.

Raw identity numbers never enter the product (docs/contract.md §2). A bureau whose export still
holds them runs ``hmb pseudonymize IN OUT --key-file KEY``. What a resident ID number looks like,
in any of the forms an export writes it (hyphens, spaces, full-width digits, zero-width
characters, the 15-digit old format, an integer), is hmb.core.member_ids's; here:

- every value of every column of every parquet file is looked at, whatever its type, every row;
- an ID number in ``member_id`` or ``claim_id`` becomes ``P`` + the first 24 hex digits of
  HMAC-SHA256(key, the 18-character number), so the same person gets the same pseudonym in every
  table, year and written form as long as the same key is used, and the pseudonym cannot be
  turned back into the ID without the key; any other column that holds one is dropped;
- a file that is not parquet, or a symbolic link, is refused (it could hold ID numbers this
  command cannot read), and so is a key file inside either folder: whoever holds the output
  must not be able to recompute the pseudonyms;
- the output is written beside the target and renamed into place when every file is done, so a
  refused or failed run leaves no half export; the report counts, per file and column, the
  values replaced and the columns dropped, and the rows read and written.

Files are processed a record batch at a time (twice: the first pass finds the columns to drop,
the second writes), so memory stays bounded on province-size exports.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hmb.core.member_ids import RAW_ID_PATTERN, id_number, looks_like_raw_id
from hmb.core.private_files import private_dir, private_tree, warn_if_shared

KEY_BYTES = 32
BATCH_ROWS = 262_144
# The contract's identifier columns: an ID number in them is replaced by its pseudonym (the
# column is needed); in any other column, the column is dropped.
REPLACED_COLUMNS = ("member_id", "claim_id")
_ANCHORED = f"^(?:{RAW_ID_PATTERN})$"


class KeyFileError(Exception):
    """A key file that is missing or malformed. The message is for the user."""


class ExportError(Exception):
    """A source folder, target or key placement this command refuses. The message is for the
    user."""


@dataclass
class FileReport:
    """What was done to one file: ``replaced`` and ``dropped_columns`` map a column to the
    number of its values that were ID numbers."""

    file: str
    rows_read: int = 0
    rows_written: int = 0
    replaced: dict[str, int] = field(default_factory=dict)
    dropped_columns: dict[str, int] = field(default_factory=dict)


@dataclass
class PseudonymizeReport:
    files: list[FileReport] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_written(self) -> int:
        return sum(f.rows_written for f in self.files)

    @property
    def ids_replaced(self) -> int:
        return sum(sum(f.replaced.values()) for f in self.files)

    def as_json(self) -> dict[str, Any]:
        return {
            "files": [vars(f) for f in self.files],
            "rows_read": self.rows_read,
            "rows_written": self.rows_written,
            "rows_dropped": self.rows_read - self.rows_written,
            "ids_replaced": self.ids_replaced,
            "columns_dropped": sum(len(f.dropped_columns) for f in self.files),
        }

    def as_text(self) -> str:
        lines = [
            f"已处理 {len(self.files)} 个文件：读入 {self.rows_read:,} 行，写出"
            f" {self.rows_written:,} 行，丢弃 {self.rows_read - self.rows_written:,} 行；"
            f"替换身份证号 {self.ids_replaced:,} 个。"
            f" {len(self.files)} files: {self.rows_read:,} rows read, {self.rows_written:,}"
            f" written, {self.rows_read - self.rows_written:,} dropped;"
            f" {self.ids_replaced:,} ID numbers replaced by pseudonyms."
        ]
        for f in self.files:
            for column, count in f.replaced.items():
                if count:
                    lines.append(f"  {f.file}: {column} 替换 replaced {count:,}")
            for column, count in f.dropped_columns.items():
                lines.append(
                    f"  {f.file}: 列 {column} 含 {count:,} 个身份证号，已删除"
                    f" column dropped ({count:,} ID numbers)"
                )
        return "\n".join(lines)


def create_key(path: Path) -> None:
    """Write a new random key, readable only by its owner."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(KEY_BYTES) + "\n")


def read_key(path: Path) -> bytes:
    try:
        text = path.read_text().strip()
        warn_if_shared(path, "密钥文件 the key file")
        key = bytes.fromhex(text)
    except FileNotFoundError as exc:
        raise KeyFileError(
            f"找不到密钥文件 {path}。 Key file {path} not found: create one with --create-key and"
            " keep it safe; the same key must be used for every export."
        ) from exc
    except ValueError as exc:
        raise KeyFileError(f"密钥文件 {path} 格式不对。 Key file {path} is not hex text.") from exc
    if len(key) < 16:
        raise KeyFileError(f"密钥太短 key in {path} is shorter than 16 bytes.")
    return key


def pseudonym(key: bytes, member_id: str) -> str:
    """The pseudonym of an ID number, in whatever form it is written (one per person)."""
    return pseudonym_of_number(key, id_number(member_id) or member_id.strip().upper())


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def check_places(source: Path, target: Path, key_file: Path | None = None) -> None:
    """Refuse a key file inside the source or the target folder, and folders inside each
    other, before anything is written (the key included)."""
    if key_file is not None:
        for folder, zh, en in ((target, "输出", "output"), (source, "源", "source")):
            if _inside(key_file, folder):
                raise ExportError(
                    f"密钥文件 {key_file} 位于{zh}文件夹 {folder} 中：持有数据的人就能用它重新计算"
                    "假名。请把密钥放在两个文件夹之外（例如只有本账户可读的目录）。"
                    f" Key file {key_file} is inside the {en} folder {folder}: whoever holds the"
                    " data could recompute every pseudonym with it. Keep the key outside both"
                    " folders (for example in a directory only this account can read)."
                )
    if _inside(target, source) or _inside(source, target):
        raise ExportError(
            f"源文件夹 {source} 与目标文件夹 {target} 不能互相包含。 The source {source} and the"
            f" target {target} must not be inside each other: choose a separate target folder."
        )


def _refused_files(source: Path) -> list[Path]:
    """Everything under ``source`` that is not a plain parquet file or a folder."""
    refused = []
    for path in sorted(source.rglob("*")):
        if path.is_symlink() or not (path.is_dir() or path.suffix == ".parquet"):
            refused.append(path)
    return refused


def pseudonymize_folder(source: Path, target: Path, key: bytes) -> PseudonymizeReport:
    """Copy ``source`` to ``target`` with every ID number replaced or its column dropped."""
    check_places(source, target)
    if target.exists() and any(target.iterdir()):
        raise FileExistsError(f"目标文件夹 {target} 不为空。 Target folder {target} is not empty.")
    refused = _refused_files(source)
    if refused:
        names = ", ".join(str(p) for p in refused[:5]) + (" …" if len(refused) > 5 else "")
        raise ExportError(
            f"源文件夹中有 {len(refused)} 个不是 parquet 的文件或符号链接：{names}。它们可能含有"
            "明文身份证号而无法检查。请将表格转换为 parquet（例如 duckdb: COPY (SELECT * FROM"
            " 'x.csv') TO 'x.parquet'），把其他文件移出源文件夹，并以实际文件代替符号链接。"
            f" The source folder holds {len(refused)} file(s) that are not parquet, or symbolic"
            f" links: {names}. They could hold ID numbers this command cannot check. Convert"
            " tables to parquet (e.g. duckdb: COPY (SELECT * FROM 'x.csv') TO 'x.parquet'), move"
            " any other file out of the source folder, and replace links by the files."
        )
    report = PseudonymizeReport()
    work = target.parent / f".{target.name}.partial-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    private_dir(work)
    try:
        for path in sorted(source.rglob("*")):
            out = work / path.relative_to(source)
            if path.is_dir():
                out.mkdir(parents=True, exist_ok=True)
            else:
                report.files.append(_pseudonymize_one(path, out, key, source))
        work.mkdir(parents=True, exist_ok=True)
        if target.exists():
            target.rmdir()  # empty, checked above
        work.rename(target)
        private_tree(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return report


def _pseudonymize_one(path: Path, out: Path, key: bytes, source: Path) -> FileReport:
    try:
        return pseudonymize_file(path, out, key, str(path.relative_to(source)))
    except (pa.ArrowException, OSError) as exc:
        raise ExportError(
            f"无法读取 {path}：{exc}。 Cannot read {path}: {exc}. Re-export it as a complete"
            " parquet file."
        ) from exc


def pseudonymize_file(source: Path, target: Path, key: bytes, name: str) -> FileReport:
    """One parquet file: a first pass counts the ID numbers of every column, a second writes
    the file with those of the identifier columns replaced and the other columns that hold
    any dropped."""
    parquet = pq.ParquetFile(source)
    report = FileReport(name, rows_read=parquet.metadata.num_rows)
    found: dict[str, int] = {}
    for batch in _batches(parquet):
        for column_name, column in zip(batch.column_names, batch.columns, strict=True):
            found[column_name] = found.get(column_name, 0) + _count(_id_mask(column))
    # An identifier column is replaced value by value when it is text or numbers; a nested one
    # (a list, a struct) that holds an ID number is dropped like any other column.
    schema = parquet.schema_arrow
    report.replaced = {
        c: found[c] for c in REPLACED_COLUMNS if c in found and _replaceable(schema.field(c).type)
    }
    report.dropped_columns = {c: n for c, n in found.items() if n and c not in report.replaced}
    target.parent.mkdir(parents=True, exist_ok=True)
    writer: pq.ParquetWriter | None = None
    cache: dict[str, str] = {}
    try:
        for batch in _batches(parquet):
            table = pa.Table.from_batches([batch]).drop_columns(list(report.dropped_columns))
            for column_name in report.replaced:
                index = table.column_names.index(column_name)
                replaced = _replace(table.column(index).combine_chunks(), key, cache)
                table = table.set_column(index, column_name, replaced)
            if writer is None:
                writer = pq.ParquetWriter(target, table.schema, compression="zstd")
            writer.write_table(table.cast(writer.schema))
            report.rows_written += table.num_rows
    finally:
        if writer is not None:
            writer.close()
    if writer is None:  # an empty file: keep its schema
        for column_name in report.replaced:
            index = schema.get_field_index(column_name)
            schema = schema.set(index, pa.field(column_name, pa.string()))
        pq.write_table(schema.empty_table(), target)
    return report


def _replaceable(kind: pa.DataType) -> bool:
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind)
                or pa.types.is_integer(kind) or pa.types.is_floating(kind)
                or pa.types.is_decimal(kind))


def _batches(parquet: pq.ParquetFile) -> Iterator[pa.RecordBatch]:
    yield from parquet.iter_batches(batch_size=BATCH_ROWS)


def _count(mask: pa.Array) -> int:
    return int(pc.sum(mask.cast(pa.int64())).as_py() or 0)


_WIDE = (10**14, 10**15, 10**17, 10**18)


def _id_mask(column: pa.Array) -> pa.Array:
    """Which values of a column are resident ID numbers (hmb.core.member_ids), whatever the
    column's type: text through the same regular expression as SQL, 64-bit integers by their
    number of digits, other numbers by their size and then value by value, anything else value
    by value (nested values by their leaves)."""
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return pc.fill_null(pc.match_substring_regex(column, _ANCHORED), False)
    if pa.types.is_integer(kind) and kind.bit_width == 64:
        low15, high15, low18, high18 = (pa.scalar(v, kind) for v in _WIDE)
        # (The absolute value of the smallest int64 is itself, negative: not an ID number.)
        size = pc.abs(column) if pa.types.is_signed_integer(kind) else column
        return pc.fill_null(
            pc.or_(
                pc.and_(pc.greater_equal(size, low15), pc.less(size, high15)),
                pc.and_(pc.greater_equal(size, low18), pc.less(size, high18)),
            ),
            False,
        )
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind) or pa.types.is_temporal(kind):
        return pa.array([False] * len(column), pa.bool_())
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        # Only the values of about 15 to 18 digits are looked at one by one.
        size = pc.abs(column.cast(pa.float64(), safe=False))
        near = pc.fill_null(
            pc.and_(pc.greater_equal(size, 0.99e14), pc.less(size, 1.01e18)), False
        )
        mask = [False] * len(column)
        for i in pc.indices_nonzero(near).to_pylist():
            mask[i] = looks_like_raw_id(column[i].as_py())
        return pa.array(mask, pa.bool_())
    return pa.array([_holds_id(v) for v in column.to_pylist()], pa.bool_())


def _holds_id(value: object) -> bool:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, dict):
        return any(_holds_id(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_holds_id(v) for v in value)
    return looks_like_raw_id(value)


def _replace(column: pa.Array, key: bytes, cache: dict[str, str]) -> pa.Array:
    """The column as text, each ID number replaced by the pseudonym of its person."""
    mask = _id_mask(column)
    text = column if pa.types.is_string(column.type) else column.cast(pa.string())
    if not _count(mask):
        return text
    values = column.to_pylist()
    out = text.to_pylist()
    for i in pc.indices_nonzero(mask).to_pylist():
        number = id_number(values[i])
        if number is None:  # the regular expression and hmb.core.member_ids disagree
            raise ValueError(f"row {i} of a column was taken for an ID number and is not one")
        if number not in cache:
            cache[number] = pseudonym_of_number(key, number)
        out[i] = cache[number]
    return pa.array(out, pa.string())


def pseudonym_of_number(key: bytes, number: str) -> str:
    """The pseudonym of the 18-character ID number ``number`` (as hmb.core.member_ids.id_number
    gives it)."""
    return "P" + hmac.new(key, number.encode(), hashlib.sha256).hexdigest()[:24]

