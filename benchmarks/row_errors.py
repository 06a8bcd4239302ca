"""Rows that break the contract's rules, planted in a generated demo folder.

    uv run python benchmarks/row_errors.py DIR [--seed 0]

The demo generator writes clean exports: every row is accepted. A real export is not clean, and
the product's work grows with what it has to quarantine (a duplicated member is found by its
hash, then read again by its place; a county missing from basic_insured takes its rows along).
So that the province benchmark measures a realistic export, this script adds to each policy
year's enrolment and claims one file, ``part-errors.parquet``, of rows that break one rule each
(about one row in 20,000), built from rows sampled from that year:

- enrolment: copies of existing rows (each key then duplicated: both copies quarantined), blank
  member IDs, a county that is not in basic_insured, a payment channel outside the enumeration,
  a negative refund, and rows that are valid once trimmed (a channel and a county code with stray
  spaces: the ASCII space, the full-width space of Chinese input, a tab, a carriage return);
- claims: claims of members with no enrolment, copies of existing claims (duplicate claim_id),
  a report date before the service date, paid claims without a settlement date, and valid
  claims whose member ID has a trailing space (ASCII or full-width).

Deterministic for a folder and seed. The folder's ``row_errors.json`` records what was planted;
planting twice is refused (the folder would no longer be the one that file describes), and
``--remove`` takes the planted files out again; ``--current`` tells whether a folder holds the
rows this version plants (the benchmark plants them again when it does not).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from hmb.core import duckdb_files

ROWS_PER_ERROR = 20_000
RECORD = "row_errors.json"
FILE = "part-errors.parquet"

# Per kind: the share of the planted rows, and the columns whose sampled value is replaced (an
# SQL expression over the sampled row; ``{new_id}`` is a new, unique ID). New member IDs keep
# the other kinds from also being duplicates.
Kinds = dict[str, tuple[float, dict[str, str]]]
ENROLMENT_KINDS: Kinds = {
    "duplicate_key": (0.40, {}),
    "blank_member": (0.10, {"member_id": "case _n % 2 when 0 then '  ' else chr(12288) end"}),
    # A code of the right shape in no province's list (9x is not a province code).
    "unknown_county": (0.15, {"member_id": "{new_id}",
                               "county_code": "'9' || substr(county_code, 2, 5)"}),
    "invalid_channel": (0.10, {"member_id": "{new_id}", "channel": "'fax'"}),
    "negative_refund": (0.05, {"member_id": "{new_id}", "refund_amount": "-1.00"}),
    "valid_padded_channel": (0.10, {"member_id": "{new_id}",
                                     "channel": "' ' || channel || chr(12288)"}),
    "valid_padded_county": (0.10, {"member_id": "{new_id}", "county_code": "case _n % 2"
                                    " when 0 then ' ' || county_code"
                                    " else chr(12288) || county_code || chr(9) || chr(13) end"}),
}
CLAIM_KINDS: Kinds = {
    "claim_without_enrollment": (0.30, {"claim_id": "{new_id}", "member_id": "'NOBODY-' || _n"}),
    "duplicate_claim_id": (0.25, {}),
    "report_before_service": (0.15, {"claim_id": "{new_id}",
                                     "report_date": "service_date - interval 1 day"}),
    "paid_without_settle_date": (0.15, {"claim_id": "{new_id}", "status": "'paid'",
                                        "settle_date": "null"}),
    "valid_padded_member": (0.15, {"claim_id": "{new_id}", "member_id": "member_id"
                                   " || case _n % 2 when 0 then ' ' else chr(12288) end"}),
}

# What a record of planted rows must show for a folder to be reused as it is.
KINDS = {"enrollment": ENROLMENT_KINDS, "claims": CLAIM_KINDS}


def current(folder: Path) -> bool:
    """Whether the rows planted in ``folder`` are the ones this version of the script plants."""
    record = folder / RECORD
    if not record.is_file():
        return False
    kinds = json.loads(record.read_text(encoding="utf-8")).get("kinds")
    return kinds == json.loads(json.dumps(KINDS))


def year_folders(folder: Path, table: str) -> list[Path]:
    """The hive folders of a table (``policy_year=Y``), or the table's folder itself."""
    root = folder / table
    years = sorted(p for p in root.glob("policy_year=*") if p.is_dir())
    return years or ([root] if root.is_dir() else [])


def plant(folder: Path, seed: int = 0) -> dict[str, Any]:
    """Write the error files into ``folder`` and return what was planted (also kept in
    ``row_errors.json``)."""
    if (folder / RECORD).exists():
        raise SystemExit(f"{folder} already has planted row errors ({RECORD})")
    # A seeded sample is the same every time only when one thread draws it.
    con = duckdb_files.connect(config={"threads": 1})
    planted: dict[str, Any] = {"seed": seed, "rows_per_error": ROWS_PER_ERROR,
                               "kinds": KINDS, "files": {}}
    for table, kinds in KINDS.items():
        for year_folder in year_folders(folder, table):
            counts = _plant_year(con, year_folder, kinds, seed)
            planted["files"][str((year_folder / FILE).relative_to(folder))] = counts
    (folder / RECORD).write_text(json.dumps(planted, indent=2), encoding="utf-8")
    return planted


def _plant_year(con: duckdb.DuckDBPyConnection, year_folder: Path, kinds: Kinds,
                seed: int) -> dict[str, int]:
    files = sorted(str(p) for p in year_folder.glob("*.parquet"))
    source = con.sql("select * from read_parquet($files, hive_partitioning = false)",
                     params={"files": files})
    total = int(con.execute("select count(*) from read_parquet($files)",
                            {"files": files}).fetchall()[0][0])
    target = total // ROWS_PER_ERROR
    counts = {kind: max(1, int(target * share)) for kind, (share, _) in kinds.items()}
    wanted = sum(counts.values())
    everything = ", ".join(f'"{c}"' for c in source.columns)
    con.execute(
        f"create or replace temp table sample as"
        f" select *, row_number() over (order by {everything}) as _n from"
        f" (select * from read_parquet($files, hive_partitioning = false)"
        f"  using sample reservoir({wanted} rows) repeatable ({seed}))",
        {"files": files},
    )
    new_id = f"'ERR-{year_folder.name.split('=', 1)[-1]}-' || _n"
    parts, start = [], 0
    for kind, (_, replaced) in kinds.items():
        count = counts[kind]
        columns = ", ".join(
            f"cast({replaced[c].format(new_id=new_id)} as {t}) as {c}" if c in replaced else c
            for c, t in zip(source.columns, source.types, strict=True)
        )
        parts.append(f"select {columns} from sample where _n > {start} and _n <= {start + count}")
        start += count
    con.sql(" union all ".join(parts)).write_parquet(str(year_folder / FILE))
    return counts


def remove(folder: Path) -> None:
    """Take the planted files out again: the folder is the generated demo once more."""
    record = folder / RECORD
    for file in json.loads(record.read_text(encoding="utf-8"))["files"]:
        (folder / file).unlink(missing_ok=True)
    record.unlink()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--remove", action="store_true", help="take planted rows out again")
    parser.add_argument("--current", action="store_true",
                        help="exit 0 when the folder holds the rows this script plants, else 1")
    args = parser.parse_args(argv)
    if args.current:
        return 0 if current(args.folder) else 1
    if args.remove:
        remove(args.folder)
        return 0
    print(json.dumps(plant(args.folder, args.seed), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
