"""hmb.core.member_ids: one rule for "a resident ID number", in Python, in SQL and in Arrow."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hmb.core.member_ids import (
    ID_SEPARATORS,
    RAW_ID_PATTERN,
    id_number,
    looks_like_raw_id,
    mask_id_number,
    normalise_id_text,
    raw_id_sql,
)

RAW = "11010519491231002X"


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect() as connection:
        yield connection


# Text made of what an ID number is written with, and of what it is not.
_DIGITS = "0123456789" + "".join(chr(0xFF10 + d) for d in range(10))
_PIECES = st.sampled_from([*_DIGITS, "X", "x", "Ｘ", "ｘ", *ID_SEPARATORS, "A", "P", "²", "١",
                           ".", "/", "_", "'", "e", ":", "~", "\x7f", "@"])
_ID_LIKE = st.builds(
    lambda digits, last, seps: "".join(d + s for d, s in zip(digits + last, seps, strict=False)),
    st.text(st.sampled_from(_DIGITS), min_size=14, max_size=17),
    st.sampled_from([*_DIGITS, "X", "x", "Ｘ", "ｘ", ""]),
    st.lists(st.sampled_from(["", "", "", *ID_SEPARATORS]), min_size=18, max_size=18),
)
_TEXT = st.one_of(_ID_LIKE, st.text(_PIECES, min_size=13, max_size=24), st.text(max_size=20))


@settings(max_examples=400, deadline=None)
@given(st.lists(_TEXT, min_size=1, max_size=40))
def test_python_sql_and_arrow_agree_on_text(con: duckdb.DuckDBPyConnection,
                                             values: list[str]) -> None:
    python = [looks_like_raw_id(v) for v in values]
    sql = con.execute(f"select {raw_id_sql('v')} from unnest($values) as t(v)",
                      {"values": values}).fetchall()
    assert [row[0] for row in sql] == python
    arrow = pc.match_substring_regex(pa.array(values, pa.string()), f"^(?:{RAW_ID_PATTERN})$")
    assert arrow.to_pylist() == python
    assert [re.fullmatch(RAW_ID_PATTERN, v) is not None for v in values] == python


_NUMBERS = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.integers(min_value=10**13, max_value=10**18).flatmap(
        lambda n: st.sampled_from([n, -n, n - 1, n + 1])),
    st.sampled_from([10**14, 10**15, 10**15 - 1, 10**17, 10**17 - 1, 10**18 - 1, 10**18]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_NUMBERS, min_size=1, max_size=40))
def test_python_and_sql_agree_on_integers(con: duckdb.DuckDBPyConnection,
                                          values: list[int]) -> None:
    sql = con.execute(f"select {raw_id_sql('v', 'BIGINT')} from unnest($values::bigint[]) t(v)",
                      {"values": values}).fetchall()
    assert [row[0] for row in sql] == [looks_like_raw_id(v) for v in values]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True) | _NUMBERS.map(float),
                min_size=1, max_size=40))
def test_python_and_sql_agree_on_floats(con: duckdb.DuckDBPyConnection,
                                        values: list[float]) -> None:
    sql = con.execute(f"select {raw_id_sql('v', 'DOUBLE')} from unnest($values::double[]) t(v)",
                      {"values": values}).fetchall()
    assert [row[0] for row in sql] == [looks_like_raw_id(v) for v in values]


@pytest.mark.parametrize("written", [
    RAW, RAW.lower(), "110105-19491231-002X", "110105 1949 1231 002x", " 11010519491231002X\t",
    "１１０１０５１９４９１２３１００２Ｘ", "110105\u200b19491231\u200c002\u200d\u2060\ufeffX",
    "110105－19491231－002Ｘ", "110105\u00a019491231\u3000002X", "110105491231002",
])
def test_every_form_is_one_person(written: str) -> None:
    assert id_number(written) == RAW
    assert id_number(int(RAW[:17] + "1")) == RAW[:17] + "1"


@pytest.mark.parametrize("value", [
    "1101051949123100", "1101051949123100201", "11010519491231002Y", "P11010519491231002X",
    "110105.19491231.002X", "M4a3f9c2e71b04", "a3f9c2e71b04d58e6f", 1101051949123100, True, None,
])
def test_not_an_id_number(value: object) -> None:
    assert id_number(value) is None


def test_full_width_forms_read_as_nfkc_reads_them() -> None:
    for code in range(0xFF01, 0xFF5F):
        char = chr(code)
        expected = unicodedata.normalize("NFKC", char)
        assert normalise_id_text(char) in (expected.upper(), ""), hex(code)


def test_types_that_cannot_hold_one_are_not_scanned() -> None:
    for sql_type in ("DATE", "BOOLEAN", "INTEGER", "SMALLINT", "DECIMAL(10,0)", "TIMESTAMP"):
        assert raw_id_sql("v", sql_type) is None
    for sql_type in ("VARCHAR", "BIGINT", "UBIGINT", "HUGEINT", "DOUBLE", "DECIMAL(18,0)"):
        assert raw_id_sql("v", sql_type) is not None


@pytest.mark.parametrize("value", [
    RAW, "110105-19491231-002x", "１１０１０５１９４９１２３１００２Ｘ", 110105194912310021,
    1.10105194912310021e17,
])
def test_a_masked_id_number_hides_the_birth_date(value: object) -> None:
    masked = mask_id_number(value)
    assert masked.startswith("110105") and "*" * 8 in masked
    assert "1949" not in masked and "491231" not in masked
