"""The objects of the pipeline: the area analysed, the prepared inputs, the result — and their area helpers."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from circles.coverage import CoverageReport
from circles.options import RunOptions

log = logging.getLogger("circles.pipeline")

__all__ = ["Area", "AnalysisResult", "Prepared", "Progress", "SNAP_MARGIN_M", "Stopwatch", "data_extent_of",
           "demand_inside", "facilities_near", "reach_bbox"]

#: Facilities this far beyond an area's network (boundary + buffer, metres) may still snap onto
#: its edges (`circles.coverage.assess` snaps up to 200 m), so they are kept with the area.
SNAP_MARGIN_M = 250.0

Progress = Callable[[str], None]


class Stopwatch:
    """Wall seconds per stage of a run (``with watch("areas"): ...``), for benchmarks and ``-v``; never in outputs."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def __call__(self, stage: str):
        import contextlib
        import time

        @contextlib.contextmanager
        def timed():
            t0 = time.perf_counter()
            try:
                yield
            finally:
                self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - t0
                log.info("%s: %.2f s", stage, self.seconds[stage])

        return timed()


@dataclass(frozen=True, eq=False)
class Area:
    """The area one analysis counts residents in.

    Attributes
    ----------
    name
        A district's name (batch runs and per-district analyses), or None.
    geometry
        Polygon in WGS84 lon/lat; None: everything the data covers.
    """

    name: str | None = None
    geometry: shapely.Geometry | None = None


@dataclass(frozen=True, eq=False)
class Prepared:
    """The inputs of a run, read and checked once.

    Attributes
    ----------
    options
        The validated `RunOptions`.
    profile
        The service profile, with the run's overrides (minutes, speed) applied.
    source
        What `network.load_network` reads: an OSM/GraphML path, a place name, or a
        `network.RawWays` (the sample, a batch's parsed file or one district's ways).
    source_label
        The network's name in messages and summary.json.
    boundary
        The study area (WGS84) or None.
    extent
        The area the network data covers (WGS84; `network.data_extent`), or None.
    districts
        District polygons met by the data: ``name``, ``geometry`` (WGS84), ``inside_share`` (the
        share of the district's area the data covers) and ``partial`` (< 0.5), or None.
    districts_outside
        Names of the districts the data does not reach (left out, reported).
    facilities
        The checked ledger's facilities (WGS84, canonical columns).
    demand
        Demand units (WGS84 points, canonical population columns).
    notes
        Remarks for the run's outputs: estimated columns, zones placed in part, what was left out.
    record
        The summary.json ``inputs``: sources, options, what was read.
    ledger_lines
        The ledger's problems, one line each (all of them go into an analysis of the whole area).
    ledger_notes, ledger_causes
        Per district: the ledger problems of its rows, and why it cannot run (all its rows unusable).
    networks
        Networks already built for the whole data, by mode (reused by `analyse` for the whole area).
    """

    options: RunOptions
    profile: Any
    source: Any
    source_label: str
    boundary: shapely.Geometry | None
    extent: shapely.Geometry | None
    districts: gpd.GeoDataFrame | None
    districts_outside: tuple[str, ...]
    facilities: gpd.GeoDataFrame
    demand: gpd.GeoDataFrame
    notes: tuple[str, ...]
    record: Mapping[str, Any]
    ledger_lines: tuple[str, ...] = ()
    ledger_notes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    ledger_causes: Mapping[str, str] = field(default_factory=dict)
    networks: Mapping[str, Any] = field(default_factory=dict)
    timings: Mapping[str, float] = field(default_factory=dict, compare=False)

    def modes(self) -> list[str]:
        """The networks a run needs: the walking mode of the options and the profile's road modes."""
        from circles.outreach_base import outreach_modes  # meal delivery and home visits travel too

        modes = {t.mode for c in self.profile.categories for t in c.tiers} | outreach_modes(self.profile,
                                                                                             self.facilities)
        return sorted({self.options.mode if m == "walk" else m for m in modes})

    def cut(self, area: Area, *, way_index: Any = None) -> Prepared:
        """The part of these inputs `analyse` needs for `area`: small, picklable, self-contained.

        Ways within reach of the area plus the buffer (when the source is a `network.RawWays`),
        facilities within that plus `SNAP_MARGIN_M`, demand units inside the area. `analyse` on
        the cut gives exactly what it gives on the whole.
        """
        if area.geometry is None:
            return self
        source = self.source
        from network import RawWays

        if isinstance(source, RawWays):
            from network.extract import extract_ways

            source = extract_ways(source, reach_bbox(area.geometry, self.options.buffer_m), index=way_index)
        mine = {area.name: self.ledger_notes[area.name]} if area.name in self.ledger_notes else {}
        districts = None
        if self.districts is not None and area.name is not None:
            districts = self.districts[self.districts["name"] == area.name].reset_index(drop=True)
        return replace(self, source=source, facilities=facilities_near(self, area.geometry),
                       demand=demand_inside(self.demand, area.geometry), networks={}, districts=districts,
                       ledger_lines=(), ledger_notes=mine, ledger_causes={})


@dataclass(frozen=True, eq=False)
class AnalysisResult:
    """A finished analysis: the coverage report, the networks it ran on, its drawings and its record.

    Attributes
    ----------
    report
        The `circles.coverage.CoverageReport`.
    networks
        The networks by mode (``"walk"``, ``"drive"``), as built for the area.
    service_areas
        GeoDataFrame of service areas (`circles.isochrones`), or None for a figures-only run.
    inputs
        The summary.json ``inputs`` record.
    lang
        ``"zh"`` or ``"en"``.
    notes
        Remarks (also in ``inputs["notes"]``).
    area
        The area analysed.
    districts
        The district polygons with their figures' names (``name``, ``inside_share``, ``partial``).
    suggestions
        `circles.siting.SitingResult` per category, when asked for.
    extent
        The area the network data covers (WGS84).
    added_sites
        Sites added by a scenario (`circles.scenarios.scenario_result`), as a WGS84 layer.
    write_report
        Whether `files` includes report.docx (``--no-report`` turns it off).
    """

    report: CoverageReport
    networks: Mapping[str, Any]
    service_areas: Any
    inputs: dict[str, Any]
    lang: str
    notes: tuple[str, ...] = ()
    area: Area = field(default_factory=Area)
    districts: gpd.GeoDataFrame | None = None
    suggestions: tuple = ()
    extent: shapely.Geometry | None = None
    added_sites: gpd.GeoDataFrame | None = None
    timings: Mapping[str, float] = field(default_factory=dict, compare=False)
    write_report: bool = True
    _memo: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def outreach(self) -> Any:
        """Meal delivery and home visits of this analysis (`circles.outreach.Outreach`), computed once."""
        if "outreach" not in self._memo:
            from circles.outreach import assess_outreach

            watch = Stopwatch()
            with watch("outreach"):
                self._memo["outreach"] = assess_outreach(self.report, self.networks, area=self.area.geometry)
            if isinstance(self.timings, dict):
                self.timings.update(watch.seconds)
        return self._memo["outreach"]

    @property
    def district_col(self) -> str | None:
        return "name" if self.districts is not None else None

    @property
    def walk(self):
        """The network of the walking tiers."""
        return self.networks["walk"] if "walk" in self.networks else next(iter(self.networks.values()))

    def suggestion_frame(self) -> gpd.GeoDataFrame | None:
        """All suggested (or scenario-added) sites as one WGS84 GeoDataFrame, or None."""
        if not self.suggestions:
            return self.added_sites
        return gpd.GeoDataFrame(pd.concat([r.to_geodataframe() for r in self.suggestions], ignore_index=True),
                                geometry="geometry", crs="EPSG:4326")

    def map(self):
        """The folium map of this analysis: coverage, streets, sites, sources (`circles.outputs.map.analysis_map`);
        offline when written with `circles.outputs.map.map_html`."""
        from circles.outputs.map import analysis_map

        return analysis_map(self)

    def tables(self) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
        """The districts table (None without districts) and the rule checks (rules.csv, `circles.rules`)."""
        rules = self.report.rules.table(self.lang) if self.report.rules is not None else None
        if self.districts is None or self.report.districts is None:
            return None, rules  # rules are checked without districts too
        from circles.districts import district_rows, district_table

        rows = district_rows(self.report, self.districts, self.lang)
        return district_table(rows, self.report.profile), rules

    def files(self, *, lazy: bool = False) -> dict[str, Any]:
        """Every output of `circles analyze` as bytes by file name (map.html unless figures-only, report.docx
        unless ``--no-report``; meal delivery and home visits where the profile has them).

        `lazy`: the map and the GeoJSON files as functions that make and write them when the folder
        is written (`write` uses this: the same bytes, a smaller peak of memory).
        """
        from circles.outputs import result_files

        # the stages' seconds go into this result's timings (with lazy, the map's when it is written)
        return result_files(self, timings=self.timings if isinstance(self.timings, dict) else None, lazy=lazy)

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write every output of `circles analyze` into `out_dir`: the folder then holds exactly these files."""
        from circles.outputs import write_run

        return write_run(out_dir, self.files(lazy=True))


# ============================================================================ area helpers
def reach_bbox(geom: shapely.Geometry, metres: float) -> tuple[float, float, float, float]:
    """A lon/lat box that surely contains `geom` buffered by `metres` (with a safety margin)."""
    minx, miny, maxx, maxy = geom.bounds
    pad = metres * 1.05 + 50.0
    dlat = pad / 110_540.0  # the shortest degree of latitude, at the equator
    lat_far = min(max(abs(miny), abs(maxy)) + dlat, 89.0)
    dlon = pad / (111_320.0 * math.cos(math.radians(lat_far)))
    return minx - dlon, miny - dlat, maxx + dlon, maxy + dlat


def facilities_near(prepared: Prepared, geom) -> gpd.GeoDataFrame:
    """Facilities that can serve the area: within its buffered box plus the snapping margin."""
    fac = prepared.facilities
    if geom is None or len(fac) == 0:
        return fac.reset_index(drop=True)
    b = reach_bbox(geom, prepared.options.buffer_m + SNAP_MARGIN_M)
    lon, lat = fac["lon"].to_numpy(float), fac["lat"].to_numpy(float)
    keep = (lon >= b[0]) & (lon <= b[2]) & (lat >= b[1]) & (lat <= b[3])
    return fac[keep].reset_index(drop=True)


def demand_inside(demand: gpd.GeoDataFrame, geom) -> gpd.GeoDataFrame:
    """Demand units inside the area (all of them without an area), in their order."""
    if geom is None or len(demand) == 0:
        return demand.reset_index(drop=True)
    inside = shapely.contains_xy(geom, demand["lon"].to_numpy(float), demand["lat"].to_numpy(float))
    return demand[inside].reset_index(drop=True)


def data_extent_of(net, network: str | None) -> shapely.Geometry | None:
    """The area the network data covers (WGS84): its streets closed up, cut to the file's declared bounds.

    The bounds come from the file itself, so a network parsed once for a batch (which does not
    carry them) gets the same extent as one loaded from the file for `circles analyze`.
    """
    from network import data_extent, file_bounds, is_osm_path

    bounds = net.report.get("file_bounds")
    if bounds is None and network and is_osm_path(Path(network)) and Path(network).is_file():
        bounds = file_bounds(network)
    return data_extent(net, bounds=bounds)


