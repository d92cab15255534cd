"""The 15-minute service-circle planner in the browser: ``streamlit run app.py``.

This script configures the app and routes to the pages in ``circles/app_pages/``; the work is done
by ``circles``. It is also the one place where the app caches: the pages import the cached
services below (``import app``) and draw widgets around them. Networks, analyses of uploaded data
and scenario reports are kept with ``st.cache_resource``; the sample's analysis is also kept on
disk (``~/.streamlit/cache``, keyed by the code's fingerprint), so a restarted server shows it at
once; maps, suggestions and download files are copied out with ``st.cache_data``.
Set ``CIRCLES_APP_DISK_CACHE=0`` to keep nothing on disk.
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from circles import app_support as sup

ROOT = Path(__file__).resolve().parent
SHARED_DATA = ROOT.parent / "shared" / "data"
PAGES = ("map", "figures", "scenarios", "data", "settings", "downloads")
CODE = sup.code_fingerprint(ROOT)  # a new version of circles/ or its profiles invalidates the disk cache
_DISK = "disk" if os.environ.get("CIRCLES_APP_DISK_CACHE", "1") != "0" else None
sup.register_pickling()  # profiles hold read-only mappings; let st.cache_data copy them


# ============================================================================ cached services
def analysis(spec: sup.RunSpec, _progress=None):
    """`circles.analysis.run_analysis` of `spec` (`_progress` receives its progress lines)."""
    if spec.sample:
        return _sample_analysis(spec, CODE, _progress)
    return _analysis(spec, _progress)


@st.cache_data(persist=_DISK, max_entries=4, show_spinner=False)
def _sample_analysis(spec: sup.RunSpec, code: str, _progress=None):
    from circles.analysis import run_analysis

    return run_analysis(spec.inputs(), progress=_progress)


@st.cache_resource(max_entries=8, show_spinner=False)
def _analysis(spec: sup.RunSpec, _progress=None):
    from circles.analysis import run_analysis

    return run_analysis(spec.inputs(), progress=_progress)


@st.cache_resource(max_entries=4, show_spinner=False)
def context(spec: sup.RunSpec, _progress=None) -> sup.AnalysisContext:
    """The networks, boundary and districts of `spec` (for scenarios, suggestions and the map)."""
    return sup.analysis_context(spec.inputs(), analysis(spec, _progress).report.profile)


@st.cache_resource(max_entries=32, show_spinner=False)
def scenario(spec: sup.RunSpec, sites: tuple, _progress=None):
    """The coverage report with the added `sites` (rows of `circles.app_support.SITE_COLUMNS`)."""
    base = analysis(spec, _progress)
    if not sites:
        return base.report
    rows = (dict(zip(sup.SITE_COLUMNS, row)) for row in sites)
    return sup.scenario_report(base, context(spec, _progress), sup.sites_frame(rows))


@st.cache_data(max_entries=16, show_spinner=False)
def suggestion(spec: sup.RunSpec, sites: tuple, category: str, n_sites: int | None, target: float | None,
               spacing_m: float, time_limit_s: float, _progress=None):
    """`circles.siting.suggest_sites` on the scenario of `sites` (new sites on top of those)."""
    from circles.siting import suggest_sites

    report = scenario(spec, sites, _progress)
    return suggest_sites(report, context(spec).walk, category=category, n_sites=n_sites, target_coverage=target,
                         spacing_m=spacing_m, time_limit_s=time_limit_s)


@st.cache_data(max_entries=24, show_spinner=False)
def coverage_map(spec: sup.RunSpec, sites: tuple, lang: str, focus: str | None = None,
                 per_facility: bool | None = None, tiles: str | None = None, offline: bool = True, _progress=None):
    """The folium map of the scenario of `sites`; with `offline`, Leaflet is inlined for streamlit-folium."""
    from circles.outputs.map import coverage_map as draw

    base = analysis(spec)
    report = scenario(spec, sites)
    ctx = context(spec)
    detail = sup.map_detail(base)
    per_facility = detail["per_facility"] if per_facility is None else per_facility
    added = sup.sites_frame(dict(zip(sup.SITE_COLUMNS, row)) for row in sites)
    m = draw(report, service_areas=sup.display_areas(base.service_areas, per_facility=per_facility),
             suggestions=sup.suggestions_layer(added, base.report, report), districts=ctx.districts,
             district_col=ctx.district_col, lang=lang, tiles=tiles, focus=focus,
             max_features=detail["max_features"], simplify_m=detail["simplify_m"],
             note=base.inputs.get("sample_label"))
    return sup.offline_leaflet(m) if offline else m


@st.cache_data(max_entries=16, show_spinner=False)
def downloads(spec: sup.RunSpec, sites: tuple, lang: str, _progress=None) -> dict[str, bytes]:
    """The files of `circles analyze` for the scenario of `sites`, plus the offline ``map.html``."""
    from circles.outputs.map import map_html

    base = analysis(spec, _progress)
    report = scenario(spec, sites, _progress)
    added = sup.sites_frame(dict(zip(sup.SITE_COLUMNS, row)) for row in sites)
    page = map_html(coverage_map(spec, sites, lang, offline=False))
    return sup.download_files(report, inputs=base.inputs, lang=lang, service_areas=base.service_areas,
                              map_page=page, suggestions=sup.suggestions_layer(added, base.report, report))


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


# ============================================================================ configuration and routing
def main() -> None:
    from circles.app_pages import ui

    # no page_icon: a Material icon there is fetched from fonts.gstatic.com, and the app stays offline
    st.set_page_config(page_title="15分钟服务圈 · circles", layout="wide")
    ui.keep_settings()
    ui.language_switch()
    # no page icons: the active page's icon becomes the favicon, fetched from fonts.gstatic.com
    pages = [st.Page(f"circles/app_pages/{name}.py", title=ui.t(f"page_{name}"), url_path=name,
                     default=name == "map") for name in PAGES]
    st.sidebar.caption(ui.t("app_title"))
    ui.sidebar_status()
    st.navigation(pages).run()


if __name__ == "__main__":
    main()
