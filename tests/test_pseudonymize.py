"""hmb pseudonymize: clear ID numbers become keyed pseudonyms, the same in every table."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hmb.cli.main import main

RAW_A = "11010119900307123X"
RAW_B = "330302198512240016"


def _write(folder: Path) -> None:
    (folder / "enrollment").mkdir(parents=True)
    pq.write_table(
        pa.table({"member_id": [RAW_A, RAW_B, "P-already"], "id_card": [RAW_A, RAW_B, None],
                  "premium": [150.0, 150.0, 150.0]}),
        folder / "enrollment" / "part-0.parquet",
    )
    pq.write_table(pa.table({"member_id": [RAW_A.lower()], "claim_id": ["C1"]}),
                   folder / "claims.parquet")


def test_ids_become_hmac_pseudonyms_and_id_columns_are_dropped(tmp_path: Path) -> None:
    source, target, key_file = tmp_path / "raw", tmp_path / "clean", tmp_path / "k.key"
    _write(source)
    assert main(["pseudonymize", str(source), str(target), "--key-file", str(key_file),
                 "--create-key"]) == 0
    key = bytes.fromhex(key_file.read_text().strip())
    expected_a = "P" + hmac.new(key, RAW_A.encode(), hashlib.sha256).hexdigest()[:24]
    enrollment = pq.read_table(target / "enrollment" / "part-0.parquet")
    ids = enrollment.column("member_id").to_pylist()
    assert ids[0] == expected_a
    assert ids[2] == "P-already"  # not an ID number: left as it was
    assert "id_card" not in enrollment.column_names
    # The lower-case x of the same person normalises to the same pseudonym.
    assert pq.read_table(target / "claims.parquet").column("member_id").to_pylist() == [expected_a]
    assert key_file.stat().st_mode & 0o077 == 0


def test_the_result_passes_the_raw_id_check(tmp_path: Path) -> None:
    source, target, key_file = tmp_path / "raw", tmp_path / "clean", tmp_path / "k.key"
    _write(source)
    main(["pseudonymize", str(source), str(target), "--key-file", str(key_file), "--create-key"])
    for file in target.rglob("*.parquet"):
        for value in pq.read_table(file).column("member_id").to_pylist():
            assert not (len(value) == 18 and value[:17].isdigit())


def test_a_missing_key_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(tmp_path / "raw")
    code = main(["pseudonymize", str(tmp_path / "raw"), str(tmp_path / "out"), "--key-file",
                 str(tmp_path / "missing.key")])
    assert code == 2
    err = capsys.readouterr().err
    assert "missing.key" in err and "--create-key" in err
