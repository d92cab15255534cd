"""The map of an analysis: `coverage_map` fed from a `circles.pipeline.AnalysisResult` (map.html, the app, reports).

One function decides what a result's map shows: its report, its service areas, its suggested
(or scenario-added) sites with coverage before/after, its districts, its walking network as the
streets layer, and its inputs' sample note and population source. `circles analyze` (through
``AnalysisResult.map``), the app and the report all call it.
"""

from __future__ import annotations

from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from circles.outputs.map.coverage import coverage_map

__all__ = ["analysis_map", "result_bounds", "result_sites"]


def analysis_map(result: Any, *, lang: str | None = None, service_areas: Any = "result", per_facility: bool = True,
                 sites: Any = "result", focus: str | None = None, tiles: str | None = None,
                 tile_key: str | None = None, compact: bool = False, simplify_m: float = 5.0,
                 max_features: int = 20000) -> folium.Map:
    """The coverage map of `result`, with its streets, districts, sites and sources.

    Parameters
    ----------
    result
        A `circles.pipeline.AnalysisResult` (or a scenario of one, `circles.scenarios.scenario_result`).
    lang
        ``"zh"`` or ``"en"``; default the result's.
    service_areas
        The areas to draw; default the result's (``None``: none).
    per_facility
        Draw each facility's catchment and own area too (hidden on opening; heavy on big networks).
    sites
        Suggested or added sites; default `result_sites` of the result (``None``: none).
    focus, tiles, tile_key, compact, simplify_m, max_features
        As in `circles.outputs.map.coverage_map`.
    """
    areas = result.service_areas if isinstance(service_areas, str) and service_areas == "result" else service_areas
    if areas is not None and not per_facility:
        areas = areas[areas["kind"].isin(["union", "ring"])]
    if isinstance(sites, str) and sites == "result":
        sites = result_sites(result)
    inputs = result.inputs or {}
    return coverage_map(result.report, service_areas=areas, suggestions=sites, districts=result.districts,
                        district_col=result.district_col, streets=result.walk if result.networks else None,
                        lang=lang or result.lang, tiles=tiles, tile_key=tile_key, note=inputs.get("sample_label"),
                        population_source=inputs.get("population_source"), focus=focus, compact=compact,
                        simplify_m=simplify_m, max_features=max_features, bounds=result_bounds(result),
                        outreach=result.outreach() if hasattr(result, "outreach") else None)


def result_bounds(result: Any) -> tuple[float, float, float, float]:
    """West, south, east, north (degrees) a result's map and pictures open on: the area analysed.

    The residents counted and the facilities, and the districts' parts inside the data (a
    city's street file on a small extract would otherwise show the whole city around it).
    """
    d = result.report.demand
    geoms = list((d.geometry[d["inside"]] if "inside" in d else d.geometry).values)
    geoms += list(result.report.facilities.geometry.values)
    if result.districts is not None and len(result.districts):
        polys = np.asarray(result.districts.to_crs("EPSG:4326").geometry.values, dtype=object)
        if result.extent is not None:
            polys = shapely.intersection(polys, result.extent)
        geoms += list(polys)
    geoms = [g for g in geoms if g is not None and not g.is_empty]
    west, south, east, north = shapely.total_bounds(np.asarray(geoms, dtype=object))
    return float(west), float(south), float(east), float(north)


def result_sites(result: Any) -> gpd.GeoDataFrame | None:
    """The result's suggested sites (`circles.outputs.tables.suggestion_table`) or scenario-added sites, as points.

    Generated candidates ("gap point 12") carry no name: a site is known by its rank (建议新增 1).
    """
    from circles.outputs.tables import suggestion_table

    if result.suggestions:
        named = (result.inputs or {}).get("candidates") not in (None, "generated in gaps")
        table = suggestion_table(result.suggestions, profile=result.report.profile, lang=result.lang, named=named)
    elif result.added_sites is not None and len(result.added_sites):
        table = pd.DataFrame(result.added_sites.drop(columns="geometry", errors="ignore"))
    else:
        return None
    return gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(table["lon"], table["lat"]), crs="EPSG:4326")
