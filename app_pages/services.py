"""The app's cached services: the pipeline run for the current options, scenarios, maps, files.

The one place where the app caches. Analyses of uploaded data, scenario reports and networks are
kept with ``st.cache_resource``; the sample's analysis is also kept on disk
(``~/.streamlit/cache``, keyed by the code's fingerprint), so a restarted server shows it at once;
maps, suggestions and download files are copied out with ``st.cache_data``. Set
``CIRCLES_APP_DISK_CACHE=0`` to keep nothing on disk. Every figure comes from
`circles.pipeline`, the code `circles analyze` runs.
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from app_pages import support as sup
from circles.options import RunOptions

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
CODE = sup.code_fingerprint(ROOT)  # a new version of the code or its profiles invalidates the disk cache
_DISK = "disk" if os.environ.get("CIRCLES_APP_DISK_CACHE", "1") != "0" else None
sup.register_pickling()  # profiles hold read-only mappings; let st.cache_data copy them


def _run(options: RunOptions, progress):
    from circles.pipeline import analyse, prepare

    return analyse(prepare(options, progress=progress), progress=progress)


def analysis(options: RunOptions, _progress=None):
    """`circles.pipeline` run on `options` (`_progress` receives its progress lines)."""
    if options.sample:
        return _sample_analysis(options, CODE, _progress)
    return _analysis(options, _progress)


@st.cache_data(persist=_DISK, max_entries=4, show_spinner=False)
def _sample_analysis(options: RunOptions, code: str, _progress=None):
    return _run(options, _progress)


@st.cache_resource(max_entries=8, show_spinner=False)
def _analysis(options: RunOptions, _progress=None):
    return _run(options, _progress)


@st.cache_resource(max_entries=32, show_spinner=False)
def scenario(options: RunOptions, sites: tuple, _progress=None):
    """The analysis with the added `sites` (rows of `circles.scenarios.SITE_COLUMNS`)."""
    from circles.scenarios import SITE_COLUMNS, scenario_result, sites_frame

    base = analysis(options, _progress)
    if not sites:
        return base
    return scenario_result(base, sites_frame(dict(zip(SITE_COLUMNS, row)) for row in sites))


@st.cache_data(max_entries=16, show_spinner=False)
def suggestion(options: RunOptions, sites: tuple, category: str, n_sites: int | None, target: float | None,
               spacing_m: float, time_limit_s: float, _progress=None):
    """`circles.siting.suggest_sites` on the scenario of `sites` (new sites on top of those)."""
    from circles.siting import suggest_sites

    result = scenario(options, sites, _progress)
    return suggest_sites(result.report, result.walk, category=category, n_sites=n_sites, target_coverage=target,
                         spacing_m=spacing_m, time_limit_s=time_limit_s)


@st.cache_data(max_entries=24, show_spinner=False)
def coverage_map(options: RunOptions, sites: tuple, lang: str, focus: str | None = None,
                 per_facility: bool | None = None, tiles: str | None = None, offline: bool = True,
                 before: bool = False, _progress=None):
    """The map of the scenario of `sites` (`circles.outputs.map.analysis_map`, as map.html draws it).

    `before`: the map of the current state instead, with the scenario's sites marked (the
    before/after view). With `offline`, Leaflet is inlined for streamlit-folium.
    """
    from circles.outputs.map import analysis_map, result_sites

    base = analysis(options)
    result = scenario(options, sites)
    detail = sup.map_detail(base)
    per_facility = detail["per_facility"] if per_facility is None else per_facility
    shown = base if before else result
    m = analysis_map(shown, lang=lang, service_areas=base.service_areas, per_facility=per_facility,
                     sites=result_sites(result), focus=focus, tiles=tiles, compact=True,
                     simplify_m=detail["simplify_m"], max_features=detail["max_features"])
    return sup.offline_leaflet(m) if offline else m


@st.cache_data(max_entries=16, show_spinner=False)
def suggestion_map(options: RunOptions, sites: tuple, lang: str, category: str, n_sites: int | None,
                   target: float | None, spacing_m: float, time_limit_s: float, _progress=None):
    """The scenario's map with a suggestion's sites on it (numbered stars, 建议新增 1 …)."""
    import geopandas as gpd

    from circles.outputs.map import analysis_map
    from circles.outputs.tables import suggestion_table

    result = scenario(options, sites, _progress)
    siting = suggestion(options, sites, category, n_sites, target, spacing_m, time_limit_s, _progress)
    detail = sup.map_detail(analysis(options))
    table = suggestion_table([siting], profile=result.report.profile, lang=lang, named=False)
    points = gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(table["lon"], table["lat"]), crs="EPSG:4326")
    m = analysis_map(result, lang=lang, service_areas=analysis(options).service_areas, per_facility=False,
                     sites=points if len(points) else None, focus=category, compact=True,
                     simplify_m=detail["simplify_m"], max_features=detail["max_features"])
    return sup.offline_leaflet(m)


@st.cache_data(max_entries=16, show_spinner=False)
def lorenz(options: RunOptions, lang: str, _progress=None) -> bytes:
    """The Lorenz curves of the analysis of `options` (`circles.outputs.pictures.lorenz_png`, as in report.docx)."""
    from circles.outputs.pictures import lorenz_png

    return lorenz_png(analysis(options, _progress).report, lang=lang)


@st.cache_data(max_entries=16, show_spinner=False)
def district_change(options: RunOptions, sites: tuple, lang: str, _progress=None):
    """People covered per district before and after the scenario of `sites` (`app_pages.support.district_change`)."""
    return sup.district_change(analysis(options, _progress), scenario(options, sites, _progress), lang=lang)


@st.cache_data(max_entries=16, show_spinner=False)
def downloads(options: RunOptions, sites: tuple, lang: str, _progress=None) -> dict[str, bytes]:
    """The files of `circles analyze` for the scenario of `sites` (the same writers)."""
    from dataclasses import replace

    return replace(scenario(options, sites, _progress), lang=lang).files()


@st.cache_resource(max_entries=16, show_spinner=False)
def profile(name: str):
    """A service profile by name or TOML path (`circles.profiles.load_profile`)."""
    from circles.profiles import load_profile

    return load_profile(name)


@st.cache_data(max_entries=16, show_spinner=False)
def ledger_check(path: str, coords: str, profile_name: str, lang: str) -> str:
    """The ledger report `circles facilities check` prints, without a network."""
    from circles.facilities import format_report, read_ledger

    prof = profile(profile_name)
    return format_report(read_ledger(path, coords=coords, profile=prof), lang=lang, profile=prof)


@st.cache_data(max_entries=32, show_spinner=False)
def columns(path: str) -> list[str]:
    """The attribute columns of a vector file."""
    return sup.vector_columns(Path(path))


@st.cache_data(ttl=600, show_spinner=False)
def shared() -> dict[str, dict[str, str]]:
    """The extracts under ``../shared/data`` by name (OSM files, vector files)."""
    return {k: {n: str(p) for n, p in v.items()} for k, v in sup.shared_files(SHARED_DATA).items()}
