"""The sample district's facility ledger and population units (示例数据)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from circles.sample.blocks import COMPOUND, Built
from circles.sample.fringe import Villages
from circles.sample.layout import STREETS, Frame, Layout
from circles.sample.names import (
    ADDRESS_TAG,
    CITY,
    COMMUNITY_TAILS,
    COMPOUND_HEADS,
    COMPOUND_TAILS,
    ROAD_WORDS,
    SAMPLE_LABEL,
    Namer,
    cn_number,
)

__all__ = ["sample_ledger", "sample_population"]


def sample_ledger(lay: Layout, built: Built, villages: Villages, block_ij: np.ndarray, frame: Frame,
                  rng: np.random.Generator, road_names: list[str]) -> pd.DataFrame:
    """The ledger: centres and child stations per street, stations/meal points/homes per community,
    a few village points; WGS84, with a few geocoding slips."""
    nu, nr = lay.nu, lay.nr
    n_blocks = nu * nr
    # communities (社区): one per urban block
    pool = [w + t for w in ROAD_WORDS + COMPOUND_HEADS for t in COMMUNITY_TAILS]
    community = Namer(pool, rng)
    comm_names = [community.next("") for _ in range(n_blocks)]
    bx = (lay.xa[block_ij[:, 0]] + lay.xa[block_ij[:, 0] + 1]) / 2
    by = (lay.ya[block_ij[:, 1]] + lay.ya[block_ij[:, 1] + 1]) / 2
    block_street = lay.street_of(bx, by)
    # the deliberate gap: the north-west corner has no station, meal point or children's home
    g = max(2, round(0.25 * nu))
    gap = (block_ij[:, 0] < g) & (block_ij[:, 1] >= nr - g)
    sites = _GateSites(built, road_names, depth=5 + 8 * rng.random(len(built.gate_x)))
    _street_sites(sites, lay, gap, rng)
    _community_sites(sites, block_street, gap, comm_names, rng)
    return _ledger_frame(sites.rows + _village_sites(villages, rng), frame, rng)


class _GateSites:
    """A site per gate, just inside it a few metres off the road, and the ledger rows placed at them."""

    def __init__(self, built: Built, road_names: list[str], *, depth: np.ndarray) -> None:
        self.built = built
        self.road_names = road_names
        self.x = built.gate_x + built.gate_dx * depth
        self.y = built.gate_y + built.gate_dy * depth
        self.is_compound = built.kind[built.gate_parcel] == COMPOUND
        self.block = built.block[built.gate_parcel]
        self.rows: list[tuple] = []

    def add(self, name: str, category: str, tier: str, gate: int, capacity: int, area: float, street: int) -> None:
        b = self.built
        along = b.gate_x[gate] if b.gate_dy[gate] != 0 else b.gate_y[gate]
        number = 2 * (int(along) // 16) + (1 if b.gate_dx[gate] + b.gate_dy[gate] > 0 else 2)
        address = f"{CITY}{STREETS[street][0]}{self.road_names[b.gate_line[gate]]}{number}号{ADDRESS_TAG}"
        self.rows.append((name, category, tier, self.x[gate], self.y[gate], capacity, area, STREETS[street][0],
                          address))


def _street_sites(sites: _GateSites, lay: Layout, gap: np.ndarray, rng: np.random.Generator) -> None:
    """Per street: one centre and one child-protection station near the middle of its built-up part."""
    gate_street = lay.street_of(sites.x, sites.y)   # the site, not the gate: a road may be the boundary
    rings = lay.street_rings()
    parcel = sites.built.gate_parcel
    for s in range(3):
        in_street = gate_street == s
        cand = np.flatnonzero(sites.is_compound & in_street & ~gap[sites.block])
        if len(cand) == 0:  # tiny districts: fall back to any gate of the street
            cand = np.flatnonzero(in_street)
        ring = np.array(rings[s], float)
        mx, my = ring[:, 0].mean(), ring[:, 1].mean()
        near = cand[np.argsort(np.hypot(sites.x[cand] - mx, sites.y[cand] - my), kind="stable")]
        other = near[parcel[near] != parcel[near[0]]]
        sites.add(f"{STREETS[s][0]}综合养老服务中心", "elderly", "centre", int(near[0]),
                  int(rng.integers(60, 151)), float(rng.integers(2000, 5001)), s)
        sites.add(f"{STREETS[s][0]}未成年人保护工作站", "child", "station", int(other[0] if len(other) else near[0]),
                  int(rng.integers(10, 31)), float(rng.integers(120, 401)), s)


def _community_sites(sites: _GateSites, block_street: np.ndarray, gap: np.ndarray, comm_names: list[str],
                     rng: np.random.Generator) -> None:
    """Per community outside the gap: maybe a station, a meal point, a children's home, at its compounds' gates."""
    n_blocks = len(block_street)
    # gates of compounds grouped by block, in gate order
    order = np.flatnonzero(sites.is_compound)
    order = order[np.argsort(sites.block[order], kind="stable")]
    first = np.searchsorted(sites.block[order], np.arange(n_blocks), "left")
    last = np.searchsorted(sites.block[order], np.arange(n_blocks), "right")
    add = sites.add
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


def _village_sites(villages: Villages, rng: np.random.Generator) -> list[tuple]:
    """Villages: a few 老饭桌, 互助养老点 and 儿童之家 — most villages have none (the fringe gap)."""
    rows: list[tuple] = []
    uv = rng.random((len(villages.names), 4)).tolist()
    for k, vname in enumerate(villages.names):
        x, y = villages.site_x[k], villages.site_y[k]
        addr = f"{CITY}示例镇{vname}{1 + int(uv[k][3] * 6)}组{ADDRESS_TAG}"
        if uv[k][0] < 0.4:
            rows.append((f"{vname}农村老饭桌", "meal", "point", x + 6, y + 4, int(10 + uv[k][3] * 20),
                         float(round(40 + uv[k][3] * 80)), STREETS[2][0], addr))
        if uv[k][1] < 0.25:
            rows.append((f"{vname}互助养老点", "elderly", "station", x - 5, y + 8, int(5 + uv[k][3] * 10),
                         float(round(100 + uv[k][3] * 200)), STREETS[2][0], addr))
        if uv[k][2] < 0.3:
            rows.append((f"{vname}儿童之家", "child", "home", x + 4, y - 6, int(15 + uv[k][3] * 20),
                         float(round(50 + uv[k][3] * 80)), STREETS[2][0], addr))
    return rows


def _ledger_frame(rows: list[tuple], frame: Frame, rng: np.random.Generator) -> pd.DataFrame:
    """The ledger table in WGS84, with a few geocoding slips: 40–150 m off in a random direction."""
    cols = ["name", "category", "tier", "x", "y", "capacity", "area_m2", "district", "address"]
    df = pd.DataFrame.from_records(rows, columns=cols)
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


def sample_population(built: Built, villages: Villages, frame: Frame, streets: gpd.GeoDataFrame,
                      rng: np.random.Generator) -> pd.DataFrame:
    """One demand unit per compound (at its centre) and per village."""
    comp = np.flatnonzero(built.kind == COMPOUND)
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
    heads = rng.integers(0, len(COMPOUND_HEADS), size=n_c).tolist()
    tails = rng.integers(0, len(COMPOUND_TAILS), size=n_c).tolist()
    seen: dict[tuple[int, str], int] = {}
    names = []
    for h, t, b in zip(heads, tails, built.block[comp].tolist(), strict=True):
        base = COMPOUND_HEADS[h] + COMPOUND_TAILS[t]
        k = seen.get((b, base), 0) + 1
        seen[(b, base)] = k
        names.append(base if k == 1 else f"{base}{cn_number(k)}期")
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
