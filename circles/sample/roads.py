"""Roads of the sample district: arterials (some dual), the river and its banks, the fringe's country roads."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from circles.sample.layout import DUAL_HALF_M, RIVER_HALF_M, Layout
from circles.sample.names import LANE_WORDS, ROAD_WORDS, Namer
from circles.sample.ways import T_TRACK, Ways

__all__ = ["Roads", "build_roads", "v_side"]


@dataclass
class Roads:
    """Line ids of the urban arterials, for the blocks to find their sides."""

    v_spans: list[dict[str, list[tuple[int, int, int]]]]   # per vertical arterial: side -> [(lo, hi, line)]
    h_line: list[dict[str, tuple[int, int]]]               # per horizontal arterial: side -> (line, y)
    fringe_h: list[tuple[int, int]]                        # fringe east-west roads: (y, line), sorted by y


def build_roads(lay: Layout, ways: Ways, rng: np.random.Generator) -> Roads:
    names = Namer(list(ROAD_WORDS), rng)
    y_top = int(lay.ya[-1])
    x_u = lay.x_u
    yr = int(lay.ya[lay.river])
    # vertical arterials (north-south): 街 / 大街, dual ones 大道
    v_spans: list[dict[str, list[tuple[int, int, int]]]] = []
    for k in range(lay.nu + 1):
        x = int(lay.xa[k])
        primary = bool(lay.dual_v[k]) or k % 3 == 0
        tags = {"highway": "primary" if primary else "secondary", "sidewalk": "both",
                "maxspeed": "60" if primary else "50",
                "name": names.next("大道" if lay.dual_v[k] else "大街" if primary else "街")}
        spans = [(0, y_top)] if lay.bridged[k] else [(0, yr - RIVER_HALF_M), (yr + RIVER_HALF_M, y_top)]
        sides: dict[str, list[tuple[int, int, int]]] = {"w": [], "e": []}
        for lo, hi in spans:
            if lay.dual_v[k]:  # right-hand traffic: northbound on the east carriageway
                east = ways.line(1, x + DUAL_HALF_M, lo, hi, {**tags, "oneway": "yes"})
                west = ways.line(1, x - DUAL_HALF_M, lo, hi, {**tags, "oneway": "yes"}, reverse=True)
            else:
                east = west = ways.line(1, x, lo, hi, tags)
            sides["w"].append((lo, hi, west))
            sides["e"].append((lo, hi, east))
        v_spans.append(sides)
    # horizontal arterials (east-west): 路 / 大道; the river replaces one of them
    h_line: list[dict[str, tuple[int, int]]] = []
    fringe_rows = {0, lay.nr} | {k for k in range(lay.nr + 1) if (k - lay.river) % 2 == 0 and k != lay.river}
    fringe_h: list[tuple[int, int]] = []
    country = Namer(list(LANE_WORDS), rng)
    for k in range(lay.nr + 1):
        y = int(lay.ya[k])
        if k == lay.river:
            south = ways.line(0, y - RIVER_HALF_M, 0, x_u, {"highway": "tertiary", "name": "滨江路", "sidewalk": "both"})
            north = ways.line(0, y + RIVER_HALF_M, 0, x_u, {"highway": "footway", "name": "滨江步道"})
            h_line.append({"s": (south, y - RIVER_HALF_M), "n": (north, y + RIVER_HALF_M)})
            for yy in (y - RIVER_HALF_M, y + RIVER_HALF_M):  # embankment tracks in the fringe
                fringe_h.append((yy, ways.line(0, yy, x_u, lay.x_max, {**T_TRACK, "name": "江堤"})))
            continue
        primary = bool(lay.dual_h[k]) or k % 3 == 0
        tags = {"highway": "primary" if primary else "secondary", "sidewalk": "both",
                "maxspeed": "60" if primary else "50",
                "name": names.next("大道" if lay.dual_h[k] else "路")}
        if lay.dual_h[k]:  # eastbound on the south carriageway
            south = ways.line(0, y - DUAL_HALF_M, 0, x_u, {**tags, "oneway": "yes"})
            north = ways.line(0, y + DUAL_HALF_M, 0, x_u, {**tags, "oneway": "yes"}, reverse=True)
            h_line.append({"s": (south, y - DUAL_HALF_M), "n": (north, y + DUAL_HALF_M)})
        else:
            line = ways.line(0, y, 0, x_u, tags)
            h_line.append({"s": (line, y), "n": (line, y)})
        if k in fringe_rows:
            fringe_h.append((y, ways.line(0, y, x_u, lay.x_max,
                                          {"highway": "unclassified", "name": country.next("村路")})))
    # north-south country roads of the fringe (they have bridges)
    for x in lay.fringe_v.tolist():
        ways.line(1, x, 0, y_top, {"highway": "tertiary", "name": country.next("公路")})
    fringe_h.sort()
    return Roads(v_spans=v_spans, h_line=h_line, fringe_h=fringe_h)


def v_side(roads: Roads, k: int, side: str, y_mid: float) -> int:
    """Line of vertical arterial k's carriageway on `side` (``"w"``/``"e"``) that passes y_mid."""
    for lo, hi, line in roads.v_spans[k][side]:
        if lo <= y_mid <= hi:
            return line
    raise RuntimeError("sample generator: no arterial span at this block")
