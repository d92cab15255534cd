"""The village fringe of the sample district: villages (small path clusters tied to one road) and tracks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from circles.sample.layout import RIVER_HALF_M, Layout
from circles.sample.names import SURNAMES, VILLAGE_TAILS, Namer
from circles.sample.roads import Roads
from circles.sample.ways import T_PATH, T_TRACK, T_VILLAGE_ROAD, Ways

__all__ = ["Villages", "build_fringe"]


@dataclass(frozen=True)
class Villages:
    cx: np.ndarray          # centre of each village (m)
    cy: np.ndarray
    site_x: np.ndarray      # where the village meets its road (m)
    site_y: np.ndarray
    names: list[str]        # e.g. 张家湾村


def build_fringe(lay: Layout, roads: Roads, ways: Ways, rng: np.random.Generator) -> Villages:
    """Villages (small path clusters tied to one road) and tracks in the cells of the fringe."""
    xcuts = [lay.x_u, *lay.fringe_v.tolist(), lay.x_max]
    yr = int(lay.ya[lay.river])
    cells = []
    for (ya, la), (yb, lb) in zip(roads.fringe_h[:-1], roads.fringe_h[1:], strict=True):
        if ya == yr - RIVER_HALF_M and yb == yr + RIVER_HALF_M:
            continue  # the river
        for xa_, xb_ in zip(xcuts[:-1], xcuts[1:], strict=True):
            cells.append((xa_, xb_, ya, yb, la, lb))
    pool = [s + t for s in SURNAMES for t in VILLAGE_TAILS]
    village_names = Namer(pool, rng)
    u = rng.random((len(cells), 10)).tolist()
    cx, cy, sx, sy, names = [], [], [], [], []
    vx_pts, vy_pts, v_counts, v_tags = [], [], [], []
    for (x0, x1, y0, y1, lbot, ltop), uu in zip(cells, u, strict=True):
        if uu[0] < 0.65 and x1 - x0 > 300 and y1 - y0 > 300:
            nx, ny = 2 + int(uu[1] * 3), 2 + int(uu[2] * 2)
            step_x, step_y = 50 + int(uu[3] * 40), 45 + int(uu[4] * 35)
            w, h = step_x * (nx - 1), step_y * (ny - 1)
            ox = x0 + 60 + int(uu[5] * max(1, x1 - x0 - 120 - w))
            oy = y0 + 60 + int(uu[6] * max(1, y1 - y0 - 120 - h))
            gxs = [ox + step_x * k for k in range(nx)]
            gys = [oy + step_y * k for k in range(ny)]
            for r_, yy in enumerate(gys):
                vx_pts += gxs
                vy_pts += [yy] * nx
                v_counts.append(nx)
                v_tags.append(T_VILLAGE_ROAD if r_ == 0 else T_PATH)
            for xx in gxs:
                vx_pts += [xx] * ny
                vy_pts += gys
                v_counts.append(ny)
                v_tags.append(T_PATH)
            # one village road out to the nearer east-west road
            kx = gxs[int(uu[7] * nx)]
            down = (oy - y0) <= (y1 - oy - h)
            gate_y, road_y, line = (oy, y0, lbot) if down else (oy + h, y1, ltop)
            px, py = _winding(kx, gate_y, road_y, 6, rng)
            vx_pts += px
            vy_pts += py
            v_counts.append(len(px))
            v_tags.append({"highway": "unclassified", "name": (name := village_names.next("村")) + "路"})
            ways.attach(np.array([line]), np.array([kx]), np.array([road_y]))
            cx.append(ox + w / 2)
            cy.append(oy + h / 2)
            sx.append(kx)
            sy.append(gate_y)
            names.append(name)
        elif uu[8] < 0.6 and x1 - x0 > 200:
            tx = x0 + 80 + int(uu[9] * (x1 - x0 - 160))
            px, py = _winding(tx, y0, y1, 15, rng)
            vx_pts += px
            vy_pts += py
            v_counts.append(len(px))
            v_tags.append(T_TRACK)
            ways.attach(np.array([lbot, ltop]), np.array([tx, tx]), np.array([y0, y1]))
    ways.add_free(np.array(vx_pts, np.int64), np.array(vy_pts, np.int64), np.array(v_counts, np.int64), v_tags)
    return Villages(cx=np.array(cx, float), cy=np.array(cy, float), site_x=np.array(sx, float),
                    site_y=np.array(sy, float), names=names)


def _winding(x: int, y_from: int, y_to: int, wiggle_m: int, rng: np.random.Generator) -> tuple[list[int], list[int]]:
    """A north-south country way from (x, y_from) to (x, y_to) with a bend every ~50 m."""
    n = max(2, abs(y_to - y_from) // 50 + 1)
    ys = np.rint(np.linspace(y_from, y_to, n)).astype(np.int64).tolist()
    xs = (x + rng.integers(-wiggle_m, wiggle_m, size=n, endpoint=True)).tolist()
    xs[0] = xs[-1] = x
    return xs, ys
