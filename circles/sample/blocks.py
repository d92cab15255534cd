"""Urban blocks of the sample district: branch roads, parcels (compounds, schools, parks), their paths and gates."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from circles.sample.layout import DUAL_HALF_M, Layout
from circles.sample.names import LANE_WORDS, Namer
from circles.sample.roads import Roads, v_side
from circles.sample.ways import T_FOOTWAY, T_PATH, T_SERVICE, T_STEPS, Ways
from network.arrays import ranges

__all__ = ["COMPOUND", "PARK", "SCHOOL", "Built", "build_blocks", "build_parcel_paths"]

# Kinds of parcel (the land between roads).
COMPOUND, SCHOOL, PARK = 0, 1, 2


@dataclass
class _Parcels:
    """Parcels (compounds, schools, parks) as parallel lists, then arrays."""

    x0: list[int] = field(default_factory=list)
    y0: list[int] = field(default_factory=list)
    x1: list[int] = field(default_factory=list)
    y1: list[int] = field(default_factory=list)
    kind: list[int] = field(default_factory=list)
    block: list[int] = field(default_factory=list)
    # facing road per side (bottom, top, left, right): line id or -1 for a wall, and its coordinate
    side_line: list[tuple[int, int, int, int]] = field(default_factory=list)
    side_c: list[tuple[int, int, int, int]] = field(default_factory=list)


def build_blocks(lay: Layout, roads: Roads, ways: Ways, rng: np.random.Generator) -> tuple[_Parcels, np.ndarray]:
    """Cut every urban block by branch roads into cells and the cells into parcels."""
    lanes = Namer(list(LANE_WORDS), rng)
    nu, nr = lay.nu, lay.nr
    n_blocks = nu * nr
    u_all = rng.random((n_blocks, 20)).tolist()
    parcels = _Parcels()
    block_ij = np.zeros((n_blocks, 2), dtype=np.int64)
    for b in range(n_blocks):
        i, j = divmod(b, nr)
        block_ij[b] = i, j
        u = u_all[b]
        y_mid = (lay.ya[j] + lay.ya[j + 1]) / 2
        left = v_side(roads, i, "e", y_mid)
        right = v_side(roads, i + 1, "w", y_mid)
        bx0 = int(lay.xa[i]) + (DUAL_HALF_M if lay.dual_v[i] else 0)
        bx1 = int(lay.xa[i + 1]) - (DUAL_HALF_M if lay.dual_v[i + 1] else 0)
        bottom, by0 = roads.h_line[j]["n"]
        top, by1 = roads.h_line[j + 1]["s"]
        # branch roads: none, north-south, east-west or both (u[0]); where (u[1], u[2])
        mode = 0 if u[0] < 0.12 else 1 if u[0] < 0.42 else 2 if u[0] < 0.62 else 3
        xs: list[tuple[int, int]] = [(bx0, left)]          # x cuts with the line on them
        ys: list[tuple[int, int]] = [(by0, bottom)]
        if mode in (1, 3):
            xb = round(bx0 + (bx1 - bx0) * (0.38 + 0.24 * u[1]))
            tag = "tertiary" if u[3] < 0.3 else "residential"
            name = lanes.next("街" if tag == "tertiary" else "巷")
            xs.append((xb, ways.line(1, xb, by0, by1, {"highway": tag, "name": name})))
        if mode in (2, 3):
            yb = round(by0 + (by1 - by0) * (0.38 + 0.24 * u[2]))
            tag = "tertiary" if u[4] < 0.3 else "residential"
            name = lanes.next("路" if tag == "tertiary" else "里")
            ys.append((yb, ways.line(0, yb, bx0, bx1, {"highway": tag, "name": name})))
        xs.append((bx1, right))
        ys.append((by1, top))
        cell = 0
        for (cx0, lline), (cx1, rline) in zip(xs[:-1], xs[1:], strict=True):
            for (cy0, bline), (cy1, tline) in zip(ys[:-1], ys[1:], strict=True):
                uk, us, uf = u[5 + 3 * cell: 8 + 3 * cell]
                cell += 1
                kind = SCHOOL if uk < 0.06 else PARK if uk < 0.10 else COMPOUND
                sides = (bline, tline, lline, rline)
                coords = (cy0, cy1, cx0, cx1)
                w, h = cx1 - cx0, cy1 - cy0
                if kind == COMPOUND and max(w, h) > 240 and us < 0.3:
                    cut = round((cx0 if w >= h else cy0) + (w if w >= h else h) * (0.4 + 0.2 * uf))
                    if w >= h:   # two compounds side by side, a wall between them
                        halves = [((cx0, cut), (bline, tline, lline, -1)), ((cut, cx1), (bline, tline, -1, rline))]
                        for (a, z), sl in halves:
                            _add_parcel(parcels, b, kind, a, cy0, z, cy1, sl, coords)
                    else:
                        halves = [((cy0, cut), (bline, -1, lline, rline)), ((cut, cy1), (-1, tline, lline, rline))]
                        for (a, z), sl in halves:
                            _add_parcel(parcels, b, kind, cx0, a, cx1, z, sl, coords)
                else:
                    _add_parcel(parcels, b, kind, cx0, cy0, cx1, cy1, sides, coords)
    return parcels, block_ij


def _add_parcel(p: _Parcels, block: int, kind: int, x0: int, y0: int, x1: int, y1: int,
                side_line: tuple[int, int, int, int], coords: tuple[int, int, int, int]) -> None:
    p.x0.append(x0)
    p.y0.append(y0)
    p.x1.append(x1)
    p.y1.append(y1)
    p.kind.append(kind)
    p.block.append(block)
    p.side_line.append(side_line)
    p.side_c.append(coords)


@dataclass(frozen=True)
class Built:
    """What later steps need from the parcels: their inner rectangles and their gates."""

    kind: np.ndarray
    block: np.ndarray
    ix0: np.ndarray
    iy0: np.ndarray
    ix1: np.ndarray
    iy1: np.ndarray
    gate_parcel: np.ndarray     # per gate: parcel index
    gate_line: np.ndarray       # the road line it opens onto
    gate_x: np.ndarray          # the gate's point on the road (m)
    gate_y: np.ndarray
    gate_dx: np.ndarray         # unit vector from the road into the parcel
    gate_dy: np.ndarray


@dataclass(frozen=True)
class _Grids:
    """Every parcel's inner rectangle and path grid, parcel after parcel (metres)."""

    ix0: np.ndarray
    iy0: np.ndarray
    ix1: np.ndarray
    iy1: np.ndarray
    gx: np.ndarray              # x of the north-south paths
    gy: np.ndarray              # y of the east-west paths
    nx: np.ndarray              # north-south paths per parcel
    ny: np.ndarray
    xstart: np.ndarray          # where each parcel's entries in gx begin
    ystart: np.ndarray


def build_parcel_paths(p: _Parcels, ways: Ways, rng: np.random.Generator) -> Built:
    """Internal path grids of every parcel (vectorised) and their 1–3 gates onto the roads."""
    n = len(p.kind)
    kind = np.array(p.kind, dtype=np.int64)
    side_line = np.array(p.side_line, dtype=np.int64).reshape(n, 4)
    grids = _path_grids(p, kind, side_line, ways, rng)
    rows = _gates(p, kind, side_line, grids, rng)
    cols = [list(c) for c in zip(*rows)] if rows else [[] for _ in range(9)]
    g_par, g_line, g_in_x, g_in_y, g_x, g_y, g_dx, g_dy, g_tags = cols
    g_x_a, g_y_a = np.array(g_x, np.int64), np.array(g_y, np.int64)
    ways.attach(np.array(g_line, np.int64), g_x_a, g_y_a)
    ng = len(g_x)
    gate_x = np.empty(2 * ng, np.int64)
    gate_y = np.empty(2 * ng, np.int64)
    gate_x[0::2], gate_x[1::2] = g_in_x, g_x
    gate_y[0::2], gate_y[1::2] = g_in_y, g_y
    ways.add_free(gate_x, gate_y, np.full(ng, 2), g_tags)
    return Built(kind=kind, block=np.array(p.block, np.int64), ix0=grids.ix0, iy0=grids.iy0, ix1=grids.ix1,
                 iy1=grids.iy1, gate_parcel=np.array(g_par, np.int64), gate_line=np.array(g_line, np.int64),
                 gate_x=g_x_a, gate_y=g_y_a, gate_dx=np.array(g_dx, float), gate_dy=np.array(g_dy, float))


def _path_grids(p: _Parcels, kind: np.ndarray, side_line: np.ndarray, ways: Ways, rng: np.random.Generator) -> _Grids:
    """Set every parcel back from its roads, lay its path grid, and add the paths to `ways`."""
    n = len(kind)
    px0, py0 = np.array(p.x0), np.array(p.y0)
    px1, py1 = np.array(p.x1), np.array(p.y1)
    # setback from the roads (pavement, green strip, wall) or from the wall between two compounds
    road_set = rng.integers(14, 24, size=(n, 4), endpoint=True)
    inset = np.where(side_line >= 0, road_set, 8)
    ix0, ix1 = px0 + inset[:, 2], px1 - inset[:, 3]
    iy0, iy1 = py0 + inset[:, 0], py1 - inset[:, 1]
    # path spacing: compounds dense (rows of blocks), schools and parks sparse
    lo = np.select([kind == COMPOUND, kind == SCHOOL], [30.0, 55.0], 40.0)
    hi = np.select([kind == COMPOUND, kind == SCHOOL], [46.0, 80.0], 60.0)
    sx = lo + (hi - lo) * rng.random(n)
    sy = lo + (hi - lo) * rng.random(n)
    nx = np.maximum(2, np.rint((ix1 - ix0) / sx).astype(np.int64) + 1)
    ny = np.maximum(2, np.rint((iy1 - iy0) / sy).astype(np.int64) + 1)
    # grid line positions, parcel after parcel
    xstart = np.cumsum(nx) - nx
    ystart = np.cumsum(ny) - ny
    px_of = np.repeat(np.arange(n), nx)
    py_of = np.repeat(np.arange(n), ny)
    kx = np.arange(nx.sum()) - xstart[px_of]
    ky = np.arange(ny.sum()) - ystart[py_of]
    gx = np.rint(ix0[px_of] + (ix1 - ix0)[px_of] * kx / (nx[px_of] - 1)).astype(np.int32)
    gy = np.rint(iy0[py_of] + (iy1 - iy0)[py_of] * ky / (ny[py_of] - 1)).astype(np.int32)
    # east-west paths: one way per (parcel, row) through every column of the parcel
    hx = gx[ranges(xstart[py_of], nx[py_of])]
    hy = np.repeat(gy, nx[py_of])
    # north-south paths
    vx = np.repeat(gx, ny[px_of])
    vy = gy[ranges(ystart[px_of], ny[px_of])]
    ring_h = (ky == 0) | (ky == ny[py_of] - 1)
    ring_v = (kx == 0) | (kx == nx[px_of] - 1)
    ways.add_free(hx, hy, nx[py_of], _path_tags(kind[py_of], ring_h))
    ways.add_free(vx, vy, ny[px_of], _path_tags(kind[px_of], ring_v))
    return _Grids(ix0=ix0, iy0=iy0, ix1=ix1, iy1=iy1, gx=gx, gy=gy, nx=nx, ny=ny, xstart=xstart, ystart=ystart)


def _gates(p: _Parcels, kind: np.ndarray, side_line: np.ndarray, grids: _Grids,
           rng: np.random.Generator) -> list[tuple]:
    """Gates: compounds 1–3 on their road sides, schools 1, parks one per road side; each continues a path.

    One tuple per gate: (parcel, road line, inner x, inner y, road x, road y, dx, dy, tags), where
    (dx, dy) is the unit vector from the road into the parcel.
    """
    n = len(kind)
    gx_l, gy_l = grids.gx.tolist(), grids.gy.tolist()
    n_gates = np.select(
        [kind == COMPOUND, kind == SCHOOL],
        [1 + (rng.random(n) > 0.3).astype(int) + (rng.random(n) > 0.72).astype(int), np.ones(n, int)],
        (side_line >= 0).sum(axis=1),
    ).tolist()
    u = rng.random((n, 12)).tolist()
    sl, sc = side_line.tolist(), p.side_c
    xs_l, ys_l, nx_l, ny_l = grids.xstart.tolist(), grids.ystart.tolist(), grids.nx.tolist(), grids.ny.tolist()
    ib = [grids.iy0.tolist(), grids.iy1.tolist(), grids.ix0.tolist(), grids.ix1.tolist()]
    rows: list[tuple] = []
    for i in range(n):
        open_sides = [s for s in range(4) if sl[i][s] >= 0]
        if not open_sides:
            continue
        uu = u[i]
        open_sides.sort(key=lambda s: uu[s])
        used: set[tuple[int, int]] = set()
        for g in range(n_gates[i]):
            s = open_sides[g % len(open_sides)]
            if s < 2:  # bottom/top: the gate continues a north-south path
                cnt, start, grid = nx_l[i], xs_l[i], gx_l
            else:
                cnt, start, grid = ny_l[i], ys_l[i], gy_l
            k = 1 + int(uu[4 + g] * (cnt - 2)) if cnt > 2 else int(uu[4 + g] * cnt)
            while (s, k) in used:
                k = (k + 1) % cnt
            used.add((s, k))
            along = grid[start + k]
            inner, road = ib[s][i], sc[i][s]
            if uu[8 + g % 3] < 0.04:
                tags = T_STEPS
            elif kind[i] == COMPOUND and g == 0 and uu[11] < 0.6:
                tags = T_SERVICE
            else:
                tags = T_FOOTWAY
            if s < 2:
                rows.append((i, sl[i][s], along, inner, along, road, 0, 1 if s == 0 else -1, tags))
            else:
                rows.append((i, sl[i][s], inner, along, road, along, 1 if s == 2 else -1, 0, tags))
    return rows


def _path_tags(kind: np.ndarray, ring: np.ndarray) -> list[dict[str, str]]:
    """Tags of internal paths: a service ring in compounds, footways inside; paths in parks."""
    table = [T_FOOTWAY, T_SERVICE, T_FOOTWAY, T_FOOTWAY, T_PATH, T_FOOTWAY]
    code = 2 * kind + ring.astype(np.int64)
    return [table[c] for c in code.tolist()]
