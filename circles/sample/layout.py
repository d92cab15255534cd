"""The plan of the sample district in its metric frame, and the frame's conversion to WGS84.

The layout fixes the arterial grid, the river, the dual carriageways, the village fringe and the
three streets; `Frame` bends the metric frame by a gentle warp and a small rotation and projects
it with a transverse Mercator centred on the district.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyproj

__all__ = ["CENTRE_LAT", "CENTRE_LON", "DUAL_HALF_M", "Frame", "Layout", "RIVER_HALF_M", "STREETS", "densify_ring",
           "plan"]

#: Where the fictional district sits (WGS84 degrees). Synthetic: it is not a real place.
CENTRE_LON, CENTRE_LAT = 114.30, 30.60

_SPACING_M = (400, 500)          # arterial spacing (m), uniform integer draw
_BLOCKS_AT_SIZE_1 = 7            # arterial blocks across the district at size=1 (≈ 3.15 km)
_FRINGE_SHARE = 0.25             # share of the columns (east side) that is village fringe
RIVER_HALF_M = 40                # half the river width (m): the banks are 80 m apart
DUAL_HALF_M = 12                 # half the distance between the carriageways of a dual arterial (m)
_MARGIN_M = 40                   # district boundary beyond the outermost roads (m)
_WARP_M = 12.0                   # amplitude of the smooth warp (m)

STREETS: tuple[tuple[str, str], ...] = (
    ("示例一街道", "Sample Subdistrict One"),
    ("示例二街道", "Sample Subdistrict Two"),
    ("示例镇", "Sample Town"),
)


@dataclass(frozen=True)
class Layout:
    """Where the roads and streets go, in the metric frame (integer metres, x east, y north)."""

    xa: np.ndarray          # x of the vertical arterials 0..nu, then fringe column edges up to x_max
    ya: np.ndarray          # y of the horizontal arterials 0..nr
    nu: int                 # urban block columns (vertical arterials 0..nu)
    nr: int                 # block rows
    river: int              # index of the horizontal arterial replaced by the river
    dual_v: np.ndarray      # (nu + 1,) bool: vertical arterial k is a dual carriageway
    dual_h: np.ndarray      # (nr + 1,) bool
    bridged: np.ndarray     # (nu + 1,) bool: vertical arterial k crosses the river
    fringe_v: np.ndarray    # x of the north-south country roads in the fringe
    x_max: int              # east edge of the fringe
    a1: int                 # street 1/2 boundary: arterial a1 south of the river, a1b north of it
    a1b: int
    a2: int                 # street 2/3 boundary: arterial a2

    @property
    def x_u(self) -> int:
        return int(self.xa[self.nu])

    def street_of(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Street index (0, 1, 2) of metric points, by the same rule as the street polygons."""
        x, y = np.asarray(x, float), np.asarray(y, float)
        split = np.where(y < self.ya[self.river], self.xa[self.a1], self.xa[self.a1b])
        return np.where(x >= self.xa[self.a2], 2, np.where(x < split, 0, 1))

    def street_rings(self) -> list[list[tuple[int, int]]]:
        """The three streets as rectilinear rings (integer metres)."""
        x0, y0 = -_MARGIN_M, -_MARGIN_M
        x1, y1 = self.x_max + _MARGIN_M, int(self.ya[-1]) + _MARGIN_M
        xa1, xa1b, xa2 = int(self.xa[self.a1]), int(self.xa[self.a1b]), int(self.xa[self.a2])
        yr = int(self.ya[self.river])
        return [
            [(x0, y0), (xa1, y0), (xa1, yr), (xa1b, yr), (xa1b, y1), (x0, y1)],
            [(xa1, y0), (xa2, y0), (xa2, y1), (xa1b, y1), (xa1b, yr), (xa1, yr)],
            [(xa2, y0), (x1, y0), (x1, y1), (xa2, y1)],
        ]


def plan(size: float, rng: np.random.Generator) -> Layout:
    side = max(3, round(_BLOCKS_AT_SIZE_1 * math.sqrt(size)))      # block columns = rows (at least 3)
    nf = max(1, round(side * _FRINGE_SHARE))
    nu = max(3, side - nf)
    nb, nr = nu + nf, side
    xa = np.concatenate([[0], np.cumsum(rng.integers(*_SPACING_M, size=nb, endpoint=True))])
    ya = np.concatenate([[0], np.cumsum(rng.integers(*_SPACING_M, size=nr, endpoint=True))])
    river = min(nr - 1, max(1, round(nr * 0.6)))
    # dual carriageways: about one interior arterial in seven, never the river, the edges or next to them
    cand_h = np.array([k for k in range(1, nr) if abs(k - river) > 1])
    cand_v = np.arange(1, nu)
    dual_h = np.zeros(nr + 1, bool)
    dual_v = np.zeros(nu + 1, bool)
    if len(cand_h):
        dual_h[rng.choice(cand_h, size=max(1, round(len(cand_h) / 7)), replace=False)] = True
    dual_v[rng.choice(cand_v, size=max(1, round(len(cand_v) / 7)), replace=False)] = True
    # bridges: every third vertical arterial, never the edges: "a couple" at size 1
    bridged = np.zeros(nu + 1, bool)
    bridged[1:nu:3] = True
    if nf >= 3:
        fringe_v = xa[nu + 2:nb:2]
    else:
        fringe_v = np.array([(xa[nu] + xa[nb]) // 2 + int(rng.integers(-60, 61))])
    a1 = max(1, round(nu * 0.4))
    a2 = nu - 1
    a1b = a1 + 1 if a1 + 1 < a2 else a1
    return Layout(xa=xa, ya=ya, nu=nu, nr=nr, river=river, dual_v=dual_v, dual_h=dual_h, bridged=bridged,
                  fringe_v=np.asarray(fringe_v, dtype=np.int64), x_max=int(xa[nb]), a1=a1, a1b=a1b, a2=a2)


@dataclass(frozen=True)
class Frame:
    """Metric frame (x east, y north, metres) to WGS84 via warp, rotation and transverse Mercator."""

    cx: float
    cy: float
    rot: float
    warp: tuple[float, float, float, float]   # wavelengths (m) and phases of the warp

    def to_lonlat(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u = np.asarray(x, float) - self.cx
        v = np.asarray(y, float) - self.cy
        lx, ly, px, py = self.warp
        du = np.sin(v * (2 * np.pi / lx) + px)
        dv = np.sin(u * (2 * np.pi / ly) + py)
        u += _WARP_M * du
        v += _WARP_M * dv
        del du, dv
        cr, sr = math.cos(self.rot), math.sin(self.rot)
        e = u * cr - v * sr
        v *= cr
        v += u * sr
        del u
        lon, lat = _transformer().transform(e, v)
        return np.asarray(lon, float), np.asarray(lat, float)


def _transformer() -> pyproj.Transformer:
    crs = pyproj.CRS.from_proj4(
        f"+proj=tmerc +lat_0={CENTRE_LAT} +lon_0={CENTRE_LON} +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
    )
    return pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)


def densify_ring(ring: list[tuple[int, int]], step: int = 50) -> np.ndarray:
    """Vertices of a rectilinear ring plus every multiple of `step` on its edges (shared edges match)."""
    out: list[tuple[int, int]] = []
    for (xa, ya), (xb, yb) in zip(ring, ring[1:] + ring[:1], strict=True):
        if (xa, ya) == (xb, yb):
            continue
        out.append((xa, ya))
        if ya == yb:
            inner = range((min(xa, xb) // step + 1) * step, max(xa, xb), step)
            out += [(t, ya) for t in (inner if xb > xa else reversed(inner))]
        else:
            inner = range((min(ya, yb) // step + 1) * step, max(ya, yb), step)
            out += [(xa, t) for t in (inner if yb > ya else reversed(inner))]
    return np.array(out + out[:1], dtype=float)
