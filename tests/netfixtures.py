"""Small hand-checkable networks for the tests: grids in metres around a point in China."""

from __future__ import annotations

import numpy as np

from network.raw import RawWays

LON0, LAT0 = 116.32, 40.0  # Haidian, Beijing
M_PER_DEG_LAT = 111_194.93  # great-circle metres per degree on osmnx's sphere (R = 6,371,009 m)


def lonlat(x_m: float, y_m: float) -> tuple[float, float]:
    """Metres east/north of (LON0, LAT0) to lon/lat on the sphere osmnx measures with."""
    lat = LAT0 + y_m / M_PER_DEG_LAT
    lon = LON0 + x_m / (M_PER_DEG_LAT * np.cos(np.radians(LAT0)))
    return float(lon), float(lat)


def grid_ways(n: int = 7, spacing_m: float = 80.0, highway: str = "residential",
              extra_tags: dict[str, str] | None = None) -> RawWays:
    """An n×n grid: one way per row and per column, nodes every `spacing_m` metres.

    At 4.8 km/h one 80 m edge takes exactly one minute. Node id = 1 + row * n + col.
    Along a row the latitude is constant, so edge lengths are exact great-circle distances
    only along columns; rows differ by < 0.01 % at this size.
    """
    nodes = {}
    for r in range(n):
        for c in range(n):
            nodes[1 + r * n + c] = lonlat(c * spacing_m, r * spacing_m)
    tags = {"highway": highway, **(extra_tags or {})}
    ways = []
    wid = 1000
    for r in range(n):
        ways.append((wid, [1 + r * n + c for c in range(n)], dict(tags)))
        wid += 1
    for c in range(n):
        ways.append((wid, [1 + r * n + c for r in range(n)], dict(tags)))
        wid += 1
    return RawWays.from_lists(nodes, ways)
