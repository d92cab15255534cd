"""`make_sample`: the sample district (示例数据) drawn from a seed, as a `SampleDistrict`."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Polygon

from circles.errors import InputError
from circles.sample.blocks import build_blocks, build_parcel_paths
from circles.sample.fringe import build_fringe
from circles.sample.layout import STREETS, Frame, Layout, densify_ring, plan
from circles.sample.names import SAMPLE_LABEL
from circles.sample.people import sample_ledger, sample_population
from circles.sample.roads import build_roads
from circles.sample.ways import Ways
from network.raw import RawWays

__all__ = ["SampleDistrict", "make_sample"]

log = logging.getLogger(__name__)


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
        raise InputError(f"`size` must be a positive number (1.0 ≈ 5,000 nodes, 200 ≈ 1 million); got {size!r}.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"`seed` must be a non-negative integer, e.g. seed=2024; got {seed!r}.")
    rng = np.random.default_rng(int(seed))
    lay = plan(float(size), rng)
    ways = Ways()
    roads = build_roads(lay, ways, rng)
    parcels, block_ij = build_blocks(lay, roads, ways, rng)
    built = build_parcel_paths(parcels, ways, rng)
    villages = build_fringe(lay, roads, ways, rng)
    frame = Frame(cx=lay.x_max / 2, cy=float(lay.ya[-1]) / 2, rot=math.radians(rng.uniform(-8, 8)),
                  warp=(rng.uniform(1600, 2400), rng.uniform(1600, 2400),
                        rng.uniform(0, 2 * np.pi), rng.uniform(0, 2 * np.pi)))
    road_names = [t.get("name", "") for t in ways.tags]
    raw = _raw_ways(ways, frame)
    districts, boundary = _streets(lay, frame)
    facilities = sample_ledger(lay, built, villages, block_ij, frame, rng, road_names)
    population = sample_population(built, villages, frame, districts, rng)
    log.info("sample district (示例数据) size=%s seed=%s: %d nodes, %d ways, %d facilities, %d units",
             size, seed, len(raw.node_id), raw.n_ways, len(facilities), len(population))
    return SampleDistrict(ways=raw, facilities=facilities, population=population, districts=districts,
                          boundary=boundary, seed=int(seed), size=float(size))


def _streets(lay: Layout, frame: Frame) -> tuple[gpd.GeoDataFrame, Polygon]:
    """The three streets (WGS84 polygons whose shared edges match) and their union, the district."""
    polys = []
    for ring in lay.street_rings():
        pts = densify_ring(ring)
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
    return districts, boundary


def _raw_ways(ways: Ways, frame: Frame) -> RawWays:
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
