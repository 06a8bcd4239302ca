"""Turn an export that carries clear resident ID numbers into one with keyed pseudonyms.

Raw identity numbers never enter the product (docs/contract.md §2). A bureau whose export still
holds them runs ``hmb pseudonymize IN OUT --key-file KEY``: every ``member_id`` becomes
``P`` + the first 24 hex digits of HMAC-SHA256(key, normalised ID), so the same person gets the
same pseudonym in every table and every year as long as the same key is used, and the pseudonym
cannot be turned back into the ID without the key. Other columns that hold ID numbers are dropped.
Files are processed a record batch at a time, so memory stays bounded on province-size exports.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from hmb.core.private_files import private_dir, private_tree, warn_if_shared

RAW_ID = re.compile(r"^\d{17}[\dXx]$")
KEY_BYTES = 32


class KeyFileError(Exception):
    """A key file that is missing or malformed. The message is for the user."""


@dataclass
class PseudonymizeReport:
    files: int = 0
    rows: int = 0
    ids_replaced: int = 0
    dropped_columns: dict[str, list[str]] = field(default_factory=dict)


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
    normalised = member_id.strip().upper()
    return "P" + hmac.new(key, normalised.encode(), hashlib.sha256).hexdigest()[:24]


def _looks_like_raw_ids(column: pa.ChunkedArray | pa.Array) -> bool:
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return False
    return any(v is not None and RAW_ID.match(v.strip()) for v in column.to_pylist()[:1000])


def pseudonymize_file(source: Path, target: Path, key: bytes, report: PseudonymizeReport) -> None:
    parquet = pq.ParquetFile(source)
    writer: pq.ParquetWriter | None = None
    dropped: list[str] = []
    try:
        for batch in parquet.iter_batches(batch_size=262_144):
            table = pa.Table.from_batches([batch])
            if "member_id" in table.column_names:
                ids = table.column("member_id").cast(pa.string()).to_pylist()
                replaced = [
                    None if v is None else pseudonym(key, v) if RAW_ID.match(v.strip()) else v
                    for v in ids
                ]
                report.ids_replaced += sum(1 for a, b in zip(ids, replaced, strict=True) if a != b)
                index = table.column_names.index("member_id")
                table = table.set_column(index, "member_id", pa.array(replaced, pa.string()))
            for name in list(table.column_names):
                if name != "member_id" and (name in dropped or _looks_like_raw_ids(table[name])):
                    if name not in dropped:
                        dropped.append(name)
                    table = table.drop_columns([name])
            if writer is None:
                target.parent.mkdir(parents=True, exist_ok=True)
                writer = pq.ParquetWriter(target, table.schema, compression="zstd")
            writer.write_table(table.cast(writer.schema))
            report.rows += table.num_rows
    finally:
        if writer is not None:
            writer.close()
    if writer is None:  # an empty file: keep its schema
        target.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(parquet.schema_arrow.empty_table(), target)
    if dropped:
        report.dropped_columns[str(source)] = dropped
    report.files += 1


def pseudonymize_folder(source: Path, target: Path, key: bytes) -> PseudonymizeReport:
    """Copy ``source`` to ``target`` with every parquet file's ID numbers replaced."""
    if target.exists() and any(target.iterdir()):
        raise FileExistsError(f"目标文件夹 {target} 不为空。 Target folder {target} is not empty.")
    report = PseudonymizeReport()
    private_dir(target)
    for path in sorted(source.rglob("*")):
        out = target / path.relative_to(source)
        if path.is_dir():
            out.mkdir(parents=True, exist_ok=True)
        elif path.suffix == ".parquet":
            pseudonymize_file(path, out, key, report)
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, out)
    private_tree(target)  # copy2 copies the source's modes
    return report
