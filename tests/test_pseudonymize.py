"""hmb pseudonymize: clear ID numbers become keyed pseudonyms, the same in every table."""

from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hmb.cli.main import main
from tests.builders import clean_tables, run_cli, write_folder

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


# --- under attack: every form of an ID number, every column and row, every file, the key -------

FORMS = {
    "hyphens": "110101-19900307-123X",
    "spaces": "110101 1990 0307 123X",
    "full_width": "１１０１０１１９９００３０７１２３Ｘ",
    "zero_width": "110101\u200b19900307\u2060123\ufeffX",
    "no_break_space": "110101\u00a019900307\u3000123X",
}
# A 15-digit old-format number, and the 18-digit number GB 11643 makes of it (19 added before
# the year of birth, then the check digit): one person.
OLD_C, RAW_C = "110101900307123", "110101199003071233"


def _pseudonymise(source: Path, tmp_path: Path, *extra: str) -> tuple[int, Path, bytes]:
    target, key_file = tmp_path / "clean", tmp_path / "k.key"
    code = main(["pseudonymize", str(source), str(target), "--key-file", str(key_file),
                 "--create-key", *extra])
    key = bytes.fromhex(key_file.read_text().strip()) if key_file.exists() else b""
    return code, target, key


def _all_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def _digits_of(value: object) -> str:
    """The digits of a value, full-width ones read as ASCII, every other character left out."""
    return "".join(c for c in unicodedata.normalize("NFKC", str(value)) if c.isdigit())


@pytest.mark.parametrize("form", FORMS)
def test_every_written_form_of_an_id_becomes_the_same_pseudonym(tmp_path: Path, form: str) -> None:
    source = tmp_path / "raw"
    source.mkdir()
    pq.write_table(pa.table({"member_id": [FORMS[form], RAW_A, OLD_C, RAW_C]}),
                   source / "e.parquet")
    code, target, key = _pseudonymise(source, tmp_path)
    assert code == 0
    ids = pq.read_table(target / "e.parquet").column("member_id").to_pylist()
    a = "P" + hmac.new(key, RAW_A.encode(), hashlib.sha256).hexdigest()[:24]
    c = "P" + hmac.new(key, RAW_C.encode(), hashlib.sha256).hexdigest()[:24]
    assert ids == [a, a, c, c]


def test_ids_in_an_integer_column_are_replaced(tmp_path: Path) -> None:
    source = tmp_path / "raw"
    source.mkdir()
    pq.write_table(pa.table({"member_id": pa.array([int(RAW_B), int(OLD_C)], pa.int64())}),
                   source / "e.parquet")
    code, target, key = _pseudonymise(source, tmp_path)
    assert code == 0
    ids = pq.read_table(target / "e.parquet").column("member_id").to_pylist()
    assert ids[0] == "P" + hmac.new(key, RAW_B.encode(), hashlib.sha256).hexdigest()[:24]
    assert ids[1] == "P" + hmac.new(key, RAW_C.encode(), hashlib.sha256).hexdigest()[:24]


def test_an_extra_column_with_ids_after_row_1000_is_dropped(tmp_path: Path) -> None:
    source = tmp_path / "raw"
    source.mkdir()
    n = 300_000  # past the first record batch too
    notes = [None] * n
    notes[n - 1] = FORMS["hyphens"]
    numbers = pa.array([None] * (n - 1) + [int(RAW_B)], pa.int64())
    pq.write_table(pa.table({"member_id": [f"M{i}" for i in range(n)], "note": notes,
                             "id_int": numbers, "premium": [1.0] * n}), source / "e.parquet")
    code, target, _ = _pseudonymise(source, tmp_path)
    assert code == 0
    table = pq.read_table(target / "e.parquet")
    assert table.column_names == ["member_id", "premium"]
    assert table.num_rows == n


def test_no_form_of_an_id_is_left_anywhere_in_the_output(tmp_path: Path) -> None:
    source = tmp_path / "raw"
    (source / "claims").mkdir(parents=True)
    pq.write_table(pa.table({"member_id": list(FORMS.values()),
                             "other": [OLD_C, RAW_B, None, None, FORMS["full_width"]],
                             "card": pa.array([int(RAW_B), None, None, None, 1], pa.int64())}),
                   source / "claims" / "part-0.parquet")
    code, target, _ = _pseudonymise(source, tmp_path)
    assert code == 0
    for file in target.rglob("*.parquet"):
        for column in pq.read_table(file).columns:
            for value in column.to_pylist():
                digits = _digits_of(value)
                assert not any(raw in digits for raw in (RAW_A[:15], RAW_B[:15], OLD_C)), value


def test_a_csv_file_in_the_export_is_refused(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "raw"
    _write(source)
    (source / "members.csv").write_text(f"member_id\n{RAW_A}\n")
    code, target, _ = _pseudonymise(source, tmp_path)
    assert code == 2
    err = capsys.readouterr().err
    assert "members.csv" in err and "parquet" in err
    assert not target.exists() or RAW_A.encode() not in _all_bytes(target)


@pytest.mark.parametrize("where", ["target", "source"])
def test_the_key_is_never_written_beside_the_output(tmp_path: Path, where: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    source, target = tmp_path / "raw", tmp_path / "clean"
    _write(source)
    key_file = (target if where == "target" else source) / "bureau.key"
    code = main(["pseudonymize", str(source), str(target), "--key-file", str(key_file),
                 "--create-key"])
    assert code == 2
    assert "bureau.key" in capsys.readouterr().err
    assert not (target / "bureau.key").exists()
    assert not key_file.exists() or where == "source"


def test_an_existing_key_in_the_source_is_never_copied(tmp_path: Path) -> None:
    source, target = tmp_path / "raw", tmp_path / "clean"
    _write(source)
    key_file = source / "bureau.key"
    key_file.write_text("ab" * 32 + "\n")
    code = main(["pseudonymize", str(source), str(target), "--key-file", str(key_file)])
    assert code == 2
    assert not (target / "bureau.key").exists()
    assert not target.exists() or b"ab" * 32 not in _all_bytes(target)


def test_the_report_says_what_was_replaced_and_dropped(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "raw"
    _write(source)
    code, _, _ = _pseudonymise(source, tmp_path, "--format", "json")
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    files = {f["file"]: f for f in report["files"]}
    enrollment = files[str(Path("enrollment") / "part-0.parquet")]
    assert enrollment["rows_read"] == enrollment["rows_written"] == 3
    assert enrollment["replaced"] == {"member_id": 2}
    assert enrollment["dropped_columns"] == {"id_card": 2}
    assert files["claims.parquet"]["replaced"] == {"member_id": 1, "claim_id": 0}
    assert report["rows_dropped"] == 0
    assert report["ids_replaced"] == 3
    code, _, _ = _pseudonymise(source, tmp_path / "again")
    text = capsys.readouterr().out
    assert code == 0 and "id_card" in text and "member_id" in text


def test_ids_inside_nested_values_drop_their_column(tmp_path: Path) -> None:
    source = tmp_path / "raw"
    source.mkdir()
    pq.write_table(pa.table({"member_id": ["M1", "M2"],
                             "cards": [[None, "x"], [FORMS["spaces"]]],
                             "person": [{"no": FORMS["full_width"]}, {"no": None}]}),
                   source / "e.parquet")
    code, target, _ = _pseudonymise(source, tmp_path)
    assert code == 0
    assert pq.read_table(target / "e.parquet").column_names == ["member_id"]


def test_an_unreadable_file_stops_the_run_and_leaves_no_half_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "raw"
    _write(source)
    (source / "zz.parquet").write_bytes(b"PAR1 not really")
    code, target, _ = _pseudonymise(source, tmp_path)
    assert code == 2
    err = capsys.readouterr().err
    assert "zz.parquet" in err and "Traceback" not in err
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_target_inside_the_source_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "raw"
    _write(source)
    code = main(["pseudonymize", str(source), str(source / "clean"), "--key-file",
                 str(tmp_path / "k.key"), "--create-key"])
    assert code == 2
    assert not (source / "clean").exists()


def test_numbers_of_every_kind_are_read(tmp_path: Path) -> None:
    source = tmp_path / "raw"
    source.mkdir()
    pq.write_table(pa.table({
        "member_id": ["M1", "M2"],
        "as_double": pa.array([1.10101199003071233e17, 12.5], pa.float64()),
        "as_decimal": pa.array([None, Decimal(OLD_C)], pa.decimal128(18, 2)),
        "amount": pa.array([Decimal("150.00"), Decimal("99999999999999.99")], pa.decimal128(18, 2)),
    }), source / "e.parquet")
    code, target, _ = _pseudonymise(source, tmp_path)
    assert code == 0
    assert pq.read_table(target / "e.parquet").column_names == ["member_id", "amount"]


def test_an_export_in_mixed_forms_validates_with_every_claim_matched(tmp_path: Path) -> None:
    """Enrollment and claims write the same people differently (ASCII and full-width, hyphens,
    the 15-digit number): pseudonymised, every claim still finds its member's enrolment."""
    tables = clean_tables()
    enrolled = {"A1": RAW_C, "A2": RAW_B, "A3": FORMS["spaces"], "A4": "110105194912310021"}
    in_claims = {"A1": OLD_C, "A3": FORMS["full_width"], "A4": "110105-19491231-0021"}
    for row in tables["enrollment"]:
        row["member_id"] = enrolled[row["member_id"]]
    for row in tables["claims"]:
        row["member_id"] = in_claims[row["member_id"]]
    folder = write_folder(tmp_path / "raw", **tables)
    assert run_cli("validate", folder).code == 2
    code, target, _ = _pseudonymise(folder, tmp_path)
    assert code == 0
    result = run_cli("validate", target, "--format", "json")
    assert result.code == 0, result.err
    report = result.json()
    assert report["errors"] == []
    assert report["tables"]["claims"]["rows_accepted"] == 3
