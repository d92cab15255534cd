"""The built-in sample district: a seeded, synthetic (示例数据) Chinese-style district for demos and benchmarks.

Nothing here is a real place. `make_sample` draws a fictional district (示例区) centred near
lon 114.30, lat 30.60 from a seed: an arterial grid, gated residential compounds (小区) whose
internal paths reach the roads only through their 1–3 gates, schools and parks, a river crossed by a
couple of bridges, a village fringe (村) with sparse roads, three streets (街道/镇), a facility
ledger and population units. Every name, address and file it produces is labelled 示例数据.

Layout is drawn in a local metric frame (integer metres, x east, y north, origin at the south-west
corner), bent by a gentle smooth warp and a small rotation so the roads are not ruler-straight, then
converted to WGS84 with a transverse Mercator projection centred on the district (pyproj; lengths
are true to about 1e-5 over the 45 km of ``size=200``).

``size=1`` gives about 5,000 network nodes (way ends and nodes shared by two or more ways, i.e. the
nodes left after simplification to intersections) on roughly 3 km × 3 km; the area grows with
``size`` at constant density, so ``size=200`` gives about a million nodes. Everything is built with
vectorised numpy; per-object Python work is per block or per compound, never per node.

`write_sample_files` is the I/O edge: it writes the OSM-like network as ``.osm.pbf`` and the ledger,
population and streets as the files a planner would hand to the tool.
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely.geometry import Polygon

from network.arrays import ranges
from circles.errors import CirclesError
from network.raw import RawWays

__all__ = ["SAMPLE_LABEL", "SampleDistrict", "make_sample", "write_sample_files"]

log = logging.getLogger(__name__)

SAMPLE_LABEL = "示例数据 (synthetic sample)"

#: Where the fictional district sits (WGS84 degrees). Synthetic: it is not a real place.
CENTRE_LON, CENTRE_LAT = 114.30, 30.60

_CITY = "示例市示例区"          # the fictional city/district every address starts with
_ADDRESS_TAG = "（示例数据）"      # appended to every address
_SPACING_M = (400, 500)          # arterial spacing (m), uniform integer draw
_BLOCKS_AT_SIZE_1 = 7            # arterial blocks across the district at size=1 (≈ 3.15 km)
_FRINGE_SHARE = 0.25             # share of the columns (east side) that is village fringe
_RIVER_HALF_M = 40               # half the river width (m): the banks are 80 m apart
_DUAL_HALF_M = 12                # half the distance between the carriageways of a dual arterial (m)
_MARGIN_M = 40                   # district boundary beyond the outermost roads (m)
_WARP_M = 12.0                   # amplitude of the smooth warp (m)

STREETS: tuple[tuple[str, str], ...] = (
    ("示例一街道", "Sample Subdistrict One"),
    ("示例二街道", "Sample Subdistrict Two"),
    ("示例镇", "Sample Town"),
)

# Column headers of the files a planner receives (canonical name -> Chinese header).
FACILITY_HEADERS: dict[str, str] = {
    "name": "名称", "category": "类型", "tier": "层级", "lon": "经度", "lat": "纬度",
    "capacity": "容量", "area_m2": "建筑面积", "district": "所属街道", "address": "地址",
}
POPULATION_HEADERS: dict[str, str] = {
    "demand_id": "编号", "name": "小区名称", "lon": "经度", "lat": "纬度", "population": "常住人口",
    "pop_60plus": "60岁以上", "pop_0_17": "0-17岁", "households": "户数", "district": "所属街道",
}

# Name pools (common words; any resemblance to a real road or compound is a coincidence).
_ROAD_WORDS = (
    "和平", "建设", "解放", "人民", "光明", "幸福", "友谊", "文化", "东风", "新华", "青年", "胜利",
    "团结", "振兴", "兴业", "学府", "丽水", "育才", "工农", "复兴", "前进", "永安", "安康", "金桥",
    "翠柳", "桂花", "紫荆", "梧桐", "玉兰", "芙蓉", "白沙", "青山", "春晖", "秋实", "晨光", "星光",
    "红旗", "长丰", "和顺", "康宁",
)
_LANE_WORDS = (
    "杨柳", "竹林", "石桥", "井冈", "花园", "果园", "书院", "茶园", "菱角", "荷叶", "桃李", "芦苇",
    "银杏", "樟树", "松柏", "兰亭", "枫叶", "棠梨", "槐荫", "柿子", "榆钱", "葡萄", "海棠", "丁香",
)
_COMPOUND_HEADS = (
    "锦绣", "阳光", "翠园", "金色", "碧水", "华府", "和谐", "绿洲", "丽景", "怡和", "滨江", "书香",
    "桃源", "枫林", "东湖", "南湖", "紫薇", "海棠", "清水", "馨园", "盛世", "御景", "泰和", "宏图",
    "世纪", "万象", "雅苑", "瑞安", "康乐", "福星", "嘉禾", "明珠",
)
_COMPOUND_TAILS = (
    "小区", "花园", "家园", "苑", "新苑", "公寓", "雅居", "名苑", "佳苑", "华庭", "新城", "里",
)
_SURNAMES = (
    "张", "李", "王", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林",
    "何", "郭", "马", "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "萧",
)
_VILLAGE_TAILS = ("家湾", "家岗", "家墩", "家庄", "家咀", "家台", "家畈", "家岭", "家冲", "家港")
_COMMUNITY_TAILS = ("", "东", "西", "南", "北", "新村", "里", "园", "桥", "湖", "苑", "坊")
_SCHOOL_NAMES = ("实验小学", "第一中学", "外国语学校", "育英小学", "第二中学", "职业技术学校")
_PARK_NAMES = ("公园", "体育公园", "湿地公园", "游园", "森林公园")

_CN_DIGITS = "零一二三四五六七八九"

# Kinds of parcel (the land between roads).
_COMPOUND, _SCHOOL, _PARK = 0, 1, 2

# Shared tag dicts for the many unnamed ways (see `SampleDistrict.ways`).
_T_SERVICE = {"highway": "service", "service": "driveway"}
_T_FOOTWAY = {"highway": "footway"}
_T_PATH = {"highway": "path"}
_T_STEPS = {"highway": "steps"}
_T_TRACK = {"highway": "track"}
_T_VILLAGE_ROAD = {"highway": "residential"}


@dataclass(frozen=True, eq=False)
class SampleDistrict:
    """A synthetic sample district (示例数据): network, facility ledger, population and streets.

    Attributes
    ----------
    ways
        The OSM-like road network as `network.raw.RawWays`: node ids with WGS84 lon/lat, ways with
        OSM tags (``highway`` primary/secondary/tertiary/residential/unclassified/service/footway/
        path/track/steps, Chinese ``name`` on roads, ``oneway=yes`` on the carriageways of dual
        arterials, ``sidewalk``/``maxspeed`` on arterials). Ways that touch share node ids. The
        tag dicts of unnamed ways are shared between ways: treat them as read-only.
    facilities
        The facility ledger with the canonical columns ``name, category, tier, lon, lat, capacity,
        area_m2, district, address`` (WGS84 degrees; capacity in beds or seats; area_m2 the
        floor area in m²; district the street). Categories and tiers: ``elderly``
        (``centre`` one per street, ``station``), ``meal`` (``point``), ``child`` (``station``
        one per street, ``home``).
    population
        Demand units, one per compound (小区) and one per village (村): ``demand_id, name, lon,
        lat, population, pop_60plus, pop_0_17, district`` (people, integers; district by polygon).
    districts
        The three streets: ``street`` (Chinese name), ``street_en``, Polygon ``geometry``, EPSG:4326.
    boundary
        The union of the streets (Polygon, EPSG:4326).
    seed, size
        The arguments of `make_sample`.
    label
        `SAMPLE_LABEL`: show it wherever the sample appears.
    """

    ways: RawWays = field(repr=False)
    facilities: pd.DataFrame = field(repr=False)
    population: pd.DataFrame = field(repr=False)
    districts: gpd.GeoDataFrame = field(repr=False)
    boundary: Polygon = field(repr=False)
    seed: int
    size: float
    label: str = SAMPLE_LABEL


# ----------------------------------------------------------------------------------------------
# small helpers


def _cn_number(n: int) -> str:
    """Chinese numeral for 1–99 (一, 十二, 三十), Arabic digits beyond."""
    if n < 10:
        return _CN_DIGITS[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else _CN_DIGITS[tens]) + "十" + (_CN_DIGITS[ones] if ones else "")
    return str(n)


class _Namer:
    """Hands out names from a shuffled pool, adding 二/三/... once the pool is used up."""

    def __init__(self, words: list[str], rng: np.random.Generator) -> None:
        self._words = [words[i] for i in rng.permutation(len(words))]
        self._n = 0

    def next(self, tail: str) -> str:
        k, i = divmod(self._n, len(self._words))
        self._n += 1
        return self._words[i] + (_cn_number(k + 1) if k else "") + tail


# ----------------------------------------------------------------------------------------------
# the way store: major lines (roads that collect junctions) and free ways (fixed point lists)


class _Ways:
    """Collects the ways of the district in the metric frame (integer metres)."""

    def __init__(self) -> None:
        # major lines: axis-parallel roads; their nodes are their ends plus every junction on them
        self.orient: list[int] = []     # 0 horizontal (y = c), 1 vertical (x = c)
        self.c: list[int] = []
        self.lo: list[int] = []
        self.hi: list[int] = []
        self.reverse: list[bool] = []
        self.tags: list[dict[str, str]] = []
        self.attach_line: list[np.ndarray] = []
        self.attach_x: list[np.ndarray] = []
        self.attach_y: list[np.ndarray] = []
        # free ways: chunks of (x, y, points per way, tags per way)
        self.free: list[tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, str]]]] = []

    def line(self, orient: int, c: int, lo: int, hi: int, tags: dict[str, str], *, reverse: bool = False) -> int:
        self.orient.append(orient)
        self.c.append(int(c))
        self.lo.append(int(lo))
        self.hi.append(int(hi))
        self.reverse.append(reverse)
        self.tags.append(tags)
        return len(self.c) - 1

    def attach(self, lines: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
        """Put junction points (x, y) on major lines (they must lie on them)."""
        self.attach_line.append(np.asarray(lines, dtype=np.int64))
        self.attach_x.append(np.asarray(x, dtype=np.int64))
        self.attach_y.append(np.asarray(y, dtype=np.int64))

    def add_free(self, x: np.ndarray, y: np.ndarray, counts: np.ndarray, tags: list[dict[str, str]]) -> None:
        # int32 metres: ±2,147 km is plenty, and it halves the memory of the largest arrays
        self.free.append((np.asarray(x, np.int32), np.asarray(y, np.int32), np.asarray(counts, np.int64), tags))

    def _crossings(self) -> tuple[np.ndarray, np.ndarray]:
        """Every (horizontal, vertical) pair of major lines that meet, including T-junctions."""
        orient = np.array(self.orient)
        c, lo, hi = np.array(self.c), np.array(self.lo), np.array(self.hi)
        h = np.flatnonzero(orient == 0)
        v = np.flatnonzero(orient == 1)
        order = h[np.argsort(c[h], kind="stable")]
        hc = c[order]
        first = np.searchsorted(hc, lo[v], "left")
        last = np.searchsorted(hc, hi[v], "right")
        n = last - first
        vi = np.repeat(v, n)
        hi_ = order[ranges(first, n)]
        keep = (lo[hi_] <= c[vi]) & (c[vi] <= hi[hi_])
        return hi_[keep], vi[keep]

    def assemble(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, str]]]:
        """All ways as (x, y, points per way, tags), major lines first; empties the store."""
        orient = np.array(self.orient)
        c, lo, hi = np.array(self.c), np.array(self.lo), np.array(self.hi)
        n_lines = len(c)
        ids = np.arange(n_lines)
        # ends of every line
        end_x = np.where(orient == 0, lo, c)
        end_y = np.where(orient == 0, c, lo)
        end2_x = np.where(orient == 0, hi, c)
        end2_y = np.where(orient == 0, c, hi)
        hh, vv = self._crossings()
        lines = np.concatenate([ids, ids, hh, vv, *self.attach_line])
        x = np.concatenate([end_x, end2_x, c[vv], c[vv], *self.attach_x])
        y = np.concatenate([end_y, end2_y, c[hh], c[hh], *self.attach_y])
        pos = np.where(orient[lines] == 0, x, y)
        on_line = np.where(orient[lines] == 0, y == c[lines], x == c[lines]) & (lo[lines] <= pos) & (pos <= hi[lines])
        if not on_line.all():  # a bug in the generator, not a user error
            raise RuntimeError("sample generator: a junction does not lie on its road")
        signed = np.where(np.array(self.reverse)[lines], -pos, pos)
        order = np.lexsort((signed, lines))
        lines, x, y, signed = lines[order], x[order], y[order], signed[order]
        dup = np.zeros(len(lines), dtype=bool)
        dup[1:] = (lines[1:] == lines[:-1]) & (signed[1:] == signed[:-1])
        lines, x, y = lines[~dup], x[~dup], y[~dup]
        counts = np.bincount(lines, minlength=n_lines)
        tags = list(self.tags)
        for f in self.free:
            tags.extend(f[3])
        cs = np.concatenate([counts, *(f[2] for f in self.free)])
        xs = np.concatenate([x.astype(np.int32), *(f[0] for f in self.free)])
        ys = np.concatenate([y.astype(np.int32), *(f[1] for f in self.free)])
        self.free.clear()
        return xs, ys, cs, tags


# ----------------------------------------------------------------------------------------------
# the layout: arterial positions, river, dual carriageways, streets


@dataclass(frozen=True)
class _Layout:
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


def _plan(size: float, rng: np.random.Generator) -> _Layout:
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
    return _Layout(xa=xa, ya=ya, nu=nu, nr=nr, river=river, dual_v=dual_v, dual_h=dual_h, bridged=bridged,
                   fringe_v=np.asarray(fringe_v, dtype=np.int64), x_max=int(xa[nb]), a1=a1, a1b=a1b, a2=a2)


# ----------------------------------------------------------------------------------------------
# roads


@dataclass
class _Roads:
    """Line ids of the urban arterials, for the blocks to find their sides."""

    v_spans: list[dict[str, list[tuple[int, int, int]]]]   # per vertical arterial: side -> [(lo, hi, line)]
    h_line: list[dict[str, tuple[int, int]]]               # per horizontal arterial: side -> (line, y)
    fringe_h: list[tuple[int, int]]                        # fringe east-west roads: (y, line), sorted by y


def _build_roads(lay: _Layout, ways: _Ways, rng: np.random.Generator) -> _Roads:
    names = _Namer(list(_ROAD_WORDS), rng)
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
        spans = [(0, y_top)] if lay.bridged[k] else [(0, yr - _RIVER_HALF_M), (yr + _RIVER_HALF_M, y_top)]
        sides: dict[str, list[tuple[int, int, int]]] = {"w": [], "e": []}
        for lo, hi in spans:
            if lay.dual_v[k]:  # right-hand traffic: northbound on the east carriageway
                east = ways.line(1, x + _DUAL_HALF_M, lo, hi, {**tags, "oneway": "yes"})
                west = ways.line(1, x - _DUAL_HALF_M, lo, hi, {**tags, "oneway": "yes"}, reverse=True)
            else:
                east = west = ways.line(1, x, lo, hi, tags)
            sides["w"].append((lo, hi, west))
            sides["e"].append((lo, hi, east))
        v_spans.append(sides)
    # horizontal arterials (east-west): 路 / 大道; the river replaces one of them
    h_line: list[dict[str, tuple[int, int]]] = []
    fringe_rows = {0, lay.nr} | {k for k in range(lay.nr + 1) if (k - lay.river) % 2 == 0 and k != lay.river}
    fringe_h: list[tuple[int, int]] = []
    country = _Namer(list(_LANE_WORDS), rng)
    for k in range(lay.nr + 1):
        y = int(lay.ya[k])
        if k == lay.river:
            south = ways.line(0, y - _RIVER_HALF_M, 0, x_u, {"highway": "tertiary", "name": "滨江路", "sidewalk": "both"})
            north = ways.line(0, y + _RIVER_HALF_M, 0, x_u, {"highway": "footway", "name": "滨江步道"})
            h_line.append({"s": (south, y - _RIVER_HALF_M), "n": (north, y + _RIVER_HALF_M)})
            for yy in (y - _RIVER_HALF_M, y + _RIVER_HALF_M):  # embankment tracks in the fringe
                fringe_h.append((yy, ways.line(0, yy, x_u, lay.x_max, {**_T_TRACK, "name": "江堤"})))
            continue
        primary = bool(lay.dual_h[k]) or k % 3 == 0
        tags = {"highway": "primary" if primary else "secondary", "sidewalk": "both",
                "maxspeed": "60" if primary else "50",
                "name": names.next("大道" if lay.dual_h[k] else "路")}
        if lay.dual_h[k]:  # eastbound on the south carriageway
            south = ways.line(0, y - _DUAL_HALF_M, 0, x_u, {**tags, "oneway": "yes"})
            north = ways.line(0, y + _DUAL_HALF_M, 0, x_u, {**tags, "oneway": "yes"}, reverse=True)
            h_line.append({"s": (south, y - _DUAL_HALF_M), "n": (north, y + _DUAL_HALF_M)})
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
    return _Roads(v_spans=v_spans, h_line=h_line, fringe_h=fringe_h)


def _v_side(roads: _Roads, k: int, side: str, y_mid: float) -> int:
    """Line of vertical arterial k's carriageway on `side` (``"w"``/``"e"``) that passes y_mid."""
    for lo, hi, line in roads.v_spans[k][side]:
        if lo <= y_mid <= hi:
            return line
    raise RuntimeError("sample generator: no arterial span at this block")


# ----------------------------------------------------------------------------------------------
# blocks, parcels, internal paths and gates


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


def _build_blocks(lay: _Layout, roads: _Roads, ways: _Ways, rng: np.random.Generator) -> tuple[_Parcels, np.ndarray]:
    """Cut every urban block by branch roads into cells and the cells into parcels."""
    lanes = _Namer(list(_LANE_WORDS), rng)
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
        left = _v_side(roads, i, "e", y_mid)
        right = _v_side(roads, i + 1, "w", y_mid)
        bx0 = int(lay.xa[i]) + (_DUAL_HALF_M if lay.dual_v[i] else 0)
        bx1 = int(lay.xa[i + 1]) - (_DUAL_HALF_M if lay.dual_v[i + 1] else 0)
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
                kind = _SCHOOL if uk < 0.06 else _PARK if uk < 0.10 else _COMPOUND
                sides = (bline, tline, lline, rline)
                coords = (cy0, cy1, cx0, cx1)
                w, h = cx1 - cx0, cy1 - cy0
                if kind == _COMPOUND and max(w, h) > 240 and us < 0.3:
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
class _Built:
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


def _build_parcel_paths(p: _Parcels, ways: _Ways, rng: np.random.Generator) -> _Built:
    """Internal path grids of every parcel (vectorised) and their 1–3 gates onto the roads."""
    n = len(p.kind)
    kind = np.array(p.kind, dtype=np.int64)
    side_line = np.array(p.side_line, dtype=np.int64).reshape(n, 4)
    px0, py0 = np.array(p.x0), np.array(p.y0)
    px1, py1 = np.array(p.x1), np.array(p.y1)
    # setback from the roads (pavement, green strip, wall) or from the wall between two compounds
    road_set = rng.integers(14, 24, size=(n, 4), endpoint=True)
    inset = np.where(side_line >= 0, road_set, 8)
    ix0, ix1 = px0 + inset[:, 2], px1 - inset[:, 3]
    iy0, iy1 = py0 + inset[:, 0], py1 - inset[:, 1]
    # path spacing: compounds dense (rows of blocks), schools and parks sparse
    lo = np.select([kind == _COMPOUND, kind == _SCHOOL], [30.0, 55.0], 40.0)
    hi = np.select([kind == _COMPOUND, kind == _SCHOOL], [46.0, 80.0], 60.0)
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
    # gates: compounds 1–3 on their road sides, schools 1, parks one per road side
    gx_l, gy_l = gx.tolist(), gy.tolist()
    n_gates = np.select(
        [kind == _COMPOUND, kind == _SCHOOL],
        [1 + (rng.random(n) > 0.3).astype(int) + (rng.random(n) > 0.72).astype(int), np.ones(n, int)],
        (side_line >= 0).sum(axis=1),
    ).tolist()
    u = rng.random((n, 12)).tolist()
    sl, sc = side_line.tolist(), p.side_c
    xs_l, ys_l, nx_l, ny_l = xstart.tolist(), ystart.tolist(), nx.tolist(), ny.tolist()
    ib = [iy0.tolist(), iy1.tolist(), ix0.tolist(), ix1.tolist()]
    g_par, g_line, g_in_x, g_in_y, g_x, g_y, g_dx, g_dy, g_tags = ([] for _ in range(9))
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
            if s < 2:
                g_in_x.append(along), g_in_y.append(inner), g_x.append(along), g_y.append(road)
                g_dx.append(0), g_dy.append(1 if s == 0 else -1)
            else:
                g_in_x.append(inner), g_in_y.append(along), g_x.append(road), g_y.append(along)
                g_dx.append(1 if s == 2 else -1), g_dy.append(0)
            g_par.append(i)
            g_line.append(sl[i][s])
            if uu[8 + g % 3] < 0.04:
                g_tags.append(_T_STEPS)
            elif kind[i] == _COMPOUND and g == 0 and uu[11] < 0.6:
                g_tags.append(_T_SERVICE)
            else:
                g_tags.append(_T_FOOTWAY)
    g_x_a, g_y_a = np.array(g_x, np.int64), np.array(g_y, np.int64)
    ways.attach(np.array(g_line, np.int64), g_x_a, g_y_a)
    ng = len(g_x)
    gate_x = np.empty(2 * ng, np.int64)
    gate_y = np.empty(2 * ng, np.int64)
    gate_x[0::2], gate_x[1::2] = g_in_x, g_x
    gate_y[0::2], gate_y[1::2] = g_in_y, g_y
    ways.add_free(gate_x, gate_y, np.full(ng, 2), g_tags)
    return _Built(kind=kind, block=np.array(p.block, np.int64), ix0=ix0, iy0=iy0, ix1=ix1, iy1=iy1,
                  gate_parcel=np.array(g_par, np.int64), gate_line=np.array(g_line, np.int64),
                  gate_x=g_x_a, gate_y=g_y_a, gate_dx=np.array(g_dx, float), gate_dy=np.array(g_dy, float))


def _path_tags(kind: np.ndarray, ring: np.ndarray) -> list[dict[str, str]]:
    """Tags of internal paths: a service ring in compounds, footways inside; paths in parks."""
    table = [_T_FOOTWAY, _T_SERVICE, _T_FOOTWAY, _T_FOOTWAY, _T_PATH, _T_FOOTWAY]
    code = 2 * kind + ring.astype(np.int64)
    return [table[c] for c in code.tolist()]


# ----------------------------------------------------------------------------------------------
# the village fringe


@dataclass(frozen=True)
class _Villages:
    cx: np.ndarray          # centre of each village (m)
    cy: np.ndarray
    site_x: np.ndarray      # where the village meets its road (m)
    site_y: np.ndarray
    names: list[str]        # e.g. 张家湾村


def _build_fringe(lay: _Layout, roads: _Roads, ways: _Ways, rng: np.random.Generator) -> _Villages:
    """Villages (small path clusters tied to one road) and tracks in the cells of the fringe."""
    xcuts = [lay.x_u, *lay.fringe_v.tolist(), lay.x_max]
    yr = int(lay.ya[lay.river])
    cells = []
    for (ya, la), (yb, lb) in zip(roads.fringe_h[:-1], roads.fringe_h[1:], strict=True):
        if ya == yr - _RIVER_HALF_M and yb == yr + _RIVER_HALF_M:
            continue  # the river
        for xa_, xb_ in zip(xcuts[:-1], xcuts[1:], strict=True):
            cells.append((xa_, xb_, ya, yb, la, lb))
    pool = [s + t for s in _SURNAMES for t in _VILLAGE_TAILS]
    village_names = _Namer(pool, rng)
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
                v_tags.append(_T_VILLAGE_ROAD if r_ == 0 else _T_PATH)
            for xx in gxs:
                vx_pts += [xx] * ny
                vy_pts += gys
                v_counts.append(ny)
                v_tags.append(_T_PATH)
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
            v_tags.append(_T_TRACK)
            ways.attach(np.array([lbot, ltop]), np.array([tx, tx]), np.array([y0, y1]))
    ways.add_free(np.array(vx_pts, np.int64), np.array(vy_pts, np.int64), np.array(v_counts, np.int64), v_tags)
    return _Villages(cx=np.array(cx, float), cy=np.array(cy, float), site_x=np.array(sx, float),
                     site_y=np.array(sy, float), names=names)


def _winding(x: int, y_from: int, y_to: int, wiggle_m: int, rng: np.random.Generator) -> tuple[list[int], list[int]]:
    """A north-south country way from (x, y_from) to (x, y_to) with a bend every ~50 m."""
    n = max(2, abs(y_to - y_from) // 50 + 1)
    ys = np.rint(np.linspace(y_from, y_to, n)).astype(np.int64).tolist()
    xs = (x + rng.integers(-wiggle_m, wiggle_m, size=n, endpoint=True)).tolist()
    xs[0] = xs[-1] = x
    return xs, ys


# ----------------------------------------------------------------------------------------------
# metric frame -> WGS84


@dataclass(frozen=True)
class _Frame:
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


def _densify_ring(ring: list[tuple[int, int]], step: int = 50) -> np.ndarray:
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


# ----------------------------------------------------------------------------------------------
# ledger and population


def _facilities(lay: _Layout, built: _Built, villages: _Villages, block_ij: np.ndarray, frame: _Frame,
                rng: np.random.Generator, road_names: list[str]) -> pd.DataFrame:
    """The ledger: centres and child stations per street, stations/meal points/homes per community."""
    nu, nr = lay.nu, lay.nr
    n_blocks = nu * nr
    # communities (社区): one per urban block
    pool = [w + t for w in _ROAD_WORDS + _COMPOUND_HEADS for t in _COMMUNITY_TAILS]
    community = _Namer(pool, rng)
    comm_names = [community.next("") for _ in range(n_blocks)]
    bx = (lay.xa[block_ij[:, 0]] + lay.xa[block_ij[:, 0] + 1]) / 2
    by = (lay.ya[block_ij[:, 1]] + lay.ya[block_ij[:, 1] + 1]) / 2
    block_street = lay.street_of(bx, by)
    # the deliberate gap: the north-west corner has no station, meal point or children's home
    g = max(2, round(0.25 * nu))
    gap = (block_ij[:, 0] < g) & (block_ij[:, 1] >= nr - g)
    # a site per gate: just inside the gate, a few metres off the road
    ng = len(built.gate_x)
    depth = 5 + 8 * rng.random(ng)
    site_x = built.gate_x + built.gate_dx * depth
    site_y = built.gate_y + built.gate_dy * depth
    is_compound = built.kind[built.gate_parcel] == _COMPOUND
    gate_block = built.block[built.gate_parcel]
    # gates of compounds grouped by block, in gate order
    order = np.flatnonzero(is_compound)
    order = order[np.argsort(gate_block[order], kind="stable")]
    first = np.searchsorted(gate_block[order], np.arange(n_blocks), "left")
    last = np.searchsorted(gate_block[order], np.arange(n_blocks), "right")
    rows: list[tuple] = []

    def add(name: str, category: str, tier: str, gate: int, capacity: int, area: float, street: int) -> None:
        along = built.gate_x[gate] if built.gate_dy[gate] != 0 else built.gate_y[gate]
        number = 2 * (int(along) // 16) + (1 if built.gate_dx[gate] + built.gate_dy[gate] > 0 else 2)
        address = f"{_CITY}{STREETS[street][0]}{road_names[built.gate_line[gate]]}{number}号{_ADDRESS_TAG}"
        rows.append((name, category, tier, site_x[gate], site_y[gate], capacity, area, STREETS[street][0], address))

    # per street: one centre and one child-protection station near the middle of its built-up part
    gate_street = lay.street_of(site_x, site_y)   # the site, not the gate: a road may be the boundary
    rings = lay.street_rings()
    for s in range(3):
        in_street = gate_street == s
        cand = np.flatnonzero(is_compound & in_street & ~gap[gate_block])
        if len(cand) == 0:  # tiny districts: fall back to any gate of the street
            cand = np.flatnonzero(in_street)
        ring = np.array(rings[s], float)
        mx, my = ring[:, 0].mean(), ring[:, 1].mean()
        near = cand[np.argsort(np.hypot(site_x[cand] - mx, site_y[cand] - my), kind="stable")]
        other = near[built.gate_parcel[near] != built.gate_parcel[near[0]]]
        add(f"{STREETS[s][0]}综合养老服务中心", "elderly", "centre", int(near[0]),
            int(rng.integers(60, 151)), float(rng.integers(2000, 5001)), s)
        add(f"{STREETS[s][0]}未成年人保护工作站", "child", "station", int(other[0] if len(other) else near[0]),
            int(rng.integers(10, 31)), float(rng.integers(120, 401)), s)
    u = rng.random((n_blocks, 8)).tolist()
    for b in range(n_blocks):
        if gap[b] or first[b] == last[b]:
            continue
        uu, gates, s, cname = u[b], order[first[b]:last[b]], int(block_street[b]), comm_names[b]
        pick = [int(gates[int(uu[k] * len(gates))]) for k in (5, 6, 7)]
        if uu[0] < 0.5:
            if uu[1] < 0.3:
                add(f"{cname}社区日间照料中心", "elderly", "station", pick[0],
                    int(15 + uu[2] * 25), float(round(400 + uu[3] * 800)), s)
            else:
                add(f"{cname}社区养老服务站", "elderly", "station", pick[0],
                    int(8 + uu[2] * 22), float(round(300 + uu[3] * 700)), s)
        if uu[4] < 0.55:
            gate = pick[0] if uu[1] < 0.5 else pick[1]   # half the meal points share the station's site
            if uu[2] < 0.35:
                add(f"{cname}老年食堂", "meal", "point", gate, int(60 + uu[3] * 90), float(round(200 + uu[5] * 400)), s)
            else:
                add(f"{cname}社区老年助餐点", "meal", "point", gate, int(20 + uu[3] * 60), float(round(80 + uu[5] * 220)), s)
        if uu[7] < 0.35:
            add(f"{cname}社区儿童之家", "child", "home", pick[2], int(20 + uu[6] * 40), float(round(60 + uu[6] * 140)), s)
    # villages: a few 老饭桌, 互助养老点 and 儿童之家 — most villages have none (the fringe gap)
    uv = rng.random((len(villages.names), 4)).tolist()
    for k, vname in enumerate(villages.names):
        x, y = villages.site_x[k], villages.site_y[k]
        addr = f"{_CITY}示例镇{vname}{1 + int(uv[k][3] * 6)}组{_ADDRESS_TAG}"
        if uv[k][0] < 0.4:
            rows.append((f"{vname}农村老饭桌", "meal", "point", x + 6, y + 4, int(10 + uv[k][3] * 20),
                         float(round(40 + uv[k][3] * 80)), STREETS[2][0], addr))
        if uv[k][1] < 0.25:
            rows.append((f"{vname}互助养老点", "elderly", "station", x - 5, y + 8, int(5 + uv[k][3] * 10),
                         float(round(100 + uv[k][3] * 200)), STREETS[2][0], addr))
        if uv[k][2] < 0.3:
            rows.append((f"{vname}儿童之家", "child", "home", x + 4, y - 6, int(15 + uv[k][3] * 20),
                         float(round(50 + uv[k][3] * 80)), STREETS[2][0], addr))
    cols = ["name", "category", "tier", "x", "y", "capacity", "area_m2", "district", "address"]
    df = pd.DataFrame.from_records(rows, columns=cols)
    # a few geocoding slips: 40–150 m off in a random direction
    off = rng.random(len(df)) < 0.05
    ang = rng.random(len(df)) * 2 * np.pi
    dist = 40 + 110 * rng.random(len(df))
    x = df["x"].to_numpy(float) + np.where(off, dist * np.cos(ang), 0.0)
    y = df["y"].to_numpy(float) + np.where(off, dist * np.sin(ang), 0.0)
    lon, lat = frame.to_lonlat(x, y)
    df = df.drop(columns=["x", "y"])
    df.insert(3, "lon", np.round(lon, 7))
    df.insert(4, "lat", np.round(lat, 7))
    df["capacity"] = df["capacity"].astype(np.int64)
    df["area_m2"] = df["area_m2"].astype(np.float64)
    df.attrs["label"] = SAMPLE_LABEL
    return df


def _population(built: _Built, villages: _Villages, frame: _Frame, streets: gpd.GeoDataFrame,
                rng: np.random.Generator) -> pd.DataFrame:
    """One demand unit per compound (at its centre) and per village."""
    comp = np.flatnonzero(built.kind == _COMPOUND)
    area_ha = (built.ix1 - built.ix0)[comp] * (built.iy1 - built.iy0)[comp] / 1e4
    n_c, n_v = len(comp), len(villages.names)
    density = 300 + 200 * rng.random(n_c)          # residents per hectare of compound
    pop_c = np.clip(np.rint(area_ha * density), 500, 5000)
    pop_v = rng.integers(300, 1501, size=n_v).astype(float)
    share60 = np.concatenate([0.15 + 0.10 * rng.random(n_c), 0.20 + 0.10 * rng.random(n_v)])
    share17 = np.concatenate([0.15 + 0.07 * rng.random(n_c), 0.12 + 0.06 * rng.random(n_v)])
    pop = np.concatenate([pop_c, pop_v]).astype(np.int64)
    x = np.concatenate([(built.ix0 + built.ix1)[comp] / 2, villages.cx])
    y = np.concatenate([(built.iy0 + built.iy1)[comp] / 2, villages.cy])
    lon, lat = frame.to_lonlat(x, y)
    # compound names: head + tail; a repeat within one community becomes its 二期, 三期
    heads = rng.integers(0, len(_COMPOUND_HEADS), size=n_c).tolist()
    tails = rng.integers(0, len(_COMPOUND_TAILS), size=n_c).tolist()
    seen: dict[tuple[int, str], int] = {}
    names = []
    for h, t, b in zip(heads, tails, built.block[comp].tolist(), strict=True):
        base = _COMPOUND_HEADS[h] + _COMPOUND_TAILS[t]
        k = seen.get((b, base), 0) + 1
        seen[(b, base)] = k
        names.append(base if k == 1 else f"{base}{_cn_number(k)}期")
    names += villages.names
    district = np.full(len(pop), "", dtype=object)
    for street, geom in zip(streets["street"], streets.geometry, strict=True):
        district[shapely.contains_xy(geom, lon, lat)] = street
    width = max(4, len(str(len(pop))))
    df = pd.DataFrame({
        "demand_id": [f"示例-{i:0{width}d}" for i in range(1, len(pop) + 1)],
        "name": names,
        "lon": np.round(lon, 7),
        "lat": np.round(lat, 7),
        "population": pop,
        "pop_60plus": np.rint(pop * share60).astype(np.int64),
        "pop_0_17": np.rint(pop * share17).astype(np.int64),
        # 2.62 people per household: China's 2020 census average household size
        "households": np.rint(pop / 2.62).astype(np.int64),
        "district": district.astype(str),
    })
    df.attrs["label"] = SAMPLE_LABEL
    return df


# ----------------------------------------------------------------------------------------------
# public API


def make_sample(*, size: float = 1.0, seed: int = 2024) -> SampleDistrict:
    """Generate the synthetic sample district (示例数据): network, ledger, population, streets.

    Parameters
    ----------
    size
        Scale of the district: 1.0 is about 5,000 network nodes (after simplification to
        intersections) on about 3 km × 3 km; the area, and so the node count, grows linearly with
        `size` at the same density (200 ≈ 1 million nodes on about 45 km × 45 km).
    seed
        Seed of every random draw: the same seed gives the same district, byte for byte.

    Returns
    -------
    SampleDistrict
        Everything in WGS84 (EPSG:4326). Synthetic: not a real place.

    Examples
    --------
    >>> sample = make_sample(size=0.5, seed=7)
    >>> sorted(sample.facilities["category"].unique())
    ['child', 'elderly', 'meal']
    >>> sample.label
    '示例数据 (synthetic sample)'
    """
    if isinstance(size, bool) or not isinstance(size, (int, float)) or not math.isfinite(size) or size <= 0:
        raise CirclesError(f"`size` must be a positive number (1.0 ≈ 5,000 nodes, 200 ≈ 1 million); got {size!r}.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise CirclesError(f"`seed` must be a non-negative integer, e.g. seed=2024; got {seed!r}.")
    rng = np.random.default_rng(int(seed))
    lay = _plan(float(size), rng)
    ways = _Ways()
    roads = _build_roads(lay, ways, rng)
    parcels, block_ij = _build_blocks(lay, roads, ways, rng)
    built = _build_parcel_paths(parcels, ways, rng)
    villages = _build_fringe(lay, roads, ways, rng)
    frame = _Frame(cx=lay.x_max / 2, cy=float(lay.ya[-1]) / 2, rot=math.radians(rng.uniform(-8, 8)),
                   warp=(rng.uniform(1600, 2400), rng.uniform(1600, 2400),
                         rng.uniform(0, 2 * np.pi), rng.uniform(0, 2 * np.pi)))
    road_names = [t.get("name", "") for t in ways.tags]
    raw = _raw_ways(ways, frame)
    # streets
    polys = []
    for ring in lay.street_rings():
        pts = _densify_ring(ring)
        lon, lat = frame.to_lonlat(pts[:, 0], pts[:, 1])
        polys.append(shapely.orient_polygons(Polygon(np.column_stack([lon, lat]))))
    districts = gpd.GeoDataFrame(
        {"street": [s[0] for s in STREETS], "street_en": [s[1] for s in STREETS]},
        geometry=polys, crs="EPSG:4326",
    )
    districts.attrs["label"] = SAMPLE_LABEL
    boundary = shapely.union_all(polys)
    if not isinstance(boundary, Polygon):  # a bug in the generator, not a user error
        raise RuntimeError("sample generator: the streets do not form one polygon")
    facilities = _facilities(lay, built, villages, block_ij, frame, rng, road_names)
    population = _population(built, villages, frame, districts, rng)
    log.info("sample district (示例数据) size=%s seed=%s: %d nodes, %d ways, %d facilities, %d units",
             size, seed, len(raw.node_id), raw.n_ways, len(facilities), len(population))
    return SampleDistrict(ways=raw, facilities=facilities, population=population, districts=districts,
                          boundary=boundary, seed=int(seed), size=float(size))


def _raw_ways(ways: _Ways, frame: _Frame) -> RawWays:
    """Merge points with the same metric coordinates into one node; number nodes and ways from 1."""
    x, y, counts, tags = ways.assemble()
    off = np.int64(1 << 30)
    key = (x.astype(np.int64) + off) << np.int64(32)
    del x
    key |= y + off
    del y
    uniq, inverse = np.unique(key, return_inverse=True)
    del key
    ux = (uniq >> np.int64(32)) - off
    uy = (uniq & np.int64(0xFFFFFFFF)) - off
    lon, lat = frame.to_lonlat(ux, uy)
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return RawWays(
        node_id=np.arange(1, len(uniq) + 1, dtype=np.int64),
        node_lon=np.round(lon, 7),
        node_lat=np.round(lat, 7),
        way_id=np.arange(1, len(counts) + 1, dtype=np.int64),
        way_offsets=offsets,
        refs=inverse.astype(np.int64) + 1,
        way_tags=tags,
    )


def write_sample_files(sample: SampleDistrict, out_dir: Path) -> dict[str, Path]:
    """Write the sample as the files a planner would hand over (示例数据).

    Writes ``sample.osm.pbf`` (nodes then ways, ascending ids), ``facilities.csv`` and
    ``population.csv`` (Chinese headers, UTF-8 with BOM so Excel opens them) and
    ``streets.geojson`` (RFC 7946, WGS84). Each file is written to a temporary file in `out_dir`
    and moved into place, so a reader never sees half a file.

    Parameters
    ----------
    sample
        From `make_sample`.
    out_dir
        Folder to write into; created when missing.

    Returns
    -------
    dict
        ``{"osm": ..., "facilities": ..., "population": ..., "streets": ...}``: the paths written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "osm": out / "sample.osm.pbf",
        "facilities": out / "facilities.csv",
        "population": out / "population.csv",
        "streets": out / "streets.geojson",
    }
    _atomic(paths["osm"], lambda tmp: _write_pbf(sample, tmp))
    _atomic(paths["facilities"], lambda tmp: sample.facilities[list(FACILITY_HEADERS)]
            .rename(columns=FACILITY_HEADERS).to_csv(tmp, index=False, encoding="utf-8-sig"))
    _atomic(paths["population"], lambda tmp: sample.population[list(POPULATION_HEADERS)]
            .rename(columns=POPULATION_HEADERS).to_csv(tmp, index=False, encoding="utf-8-sig"))
    _atomic(paths["streets"], lambda tmp: tmp.write_text(_streets_geojson(sample), encoding="utf-8"))
    return paths


def _atomic(path: Path, write) -> None:
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_pbf(sample: SampleDistrict, tmp: Path) -> None:
    import osmium  # the only osmium use here; keeps `make_sample` free of it

    header = osmium.io.Header()
    header.set("generator", f"circles.sample — {SAMPLE_LABEL}")
    w = sample.ways
    writer = osmium.SimpleWriter(osmium.io.File(str(tmp), "pbf"), header=header, overwrite=True)
    try:
        node = osmium.osm.mutable.Node
        for i in np.argsort(w.node_id, kind="stable").tolist():
            writer.add_node(node(id=int(w.node_id[i]), location=(float(w.node_lon[i]), float(w.node_lat[i]))))
        way = osmium.osm.mutable.Way
        refs, off = w.refs.tolist(), w.way_offsets.tolist()
        for i in np.argsort(w.way_id, kind="stable").tolist():
            writer.add_way(way(id=int(w.way_id[i]), nodes=refs[off[i]:off[i + 1]], tags=w.way_tags[i]))
    finally:
        writer.close()


def _streets_geojson(sample: SampleDistrict) -> str:
    features = [
        {"type": "Feature",
         "properties": {"street": row.street, "street_en": row.street_en, "label": sample.label},
         "geometry": shapely.geometry.mapping(row.geometry)}
        for row in sample.districts.itertuples()
    ]
    fc = {"type": "FeatureCollection", "name": f"streets — {sample.label}", "description": sample.label,
          "features": features}
    return json.dumps(fc, ensure_ascii=False)
