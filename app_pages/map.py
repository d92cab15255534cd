"""Map page: coverage figures, then the offline coverage map (facilities, service areas, gaps, districts)."""

import streamlit as st

from app_pages import services as app
from app_pages import support as sup
from app_pages import ui

st.title(ui.t("map_title"))
spec, result = ui.current_result(app.analysis)
st.caption(ui.t("using", what=ui.source_label(spec)))
categories = ui.settings_categories(result.report)
ui.metrics_row(result.report, categories=categories, demand_group=ui.demand_group())

options = categories + ["all"]
ui.choice("cfg_focus", options)
c1, c2, c3 = st.columns([2, 2, 2])
names = {c.category: ui.category_label(c) for c in result.report.categories} | {"all": ui.t("focus_all")}
focus = c1.selectbox(ui.t("focus"), options, key="cfg_focus", format_func=names.get)
small = sup.map_detail(result)["per_facility"]  # per-facility areas only where the map stays quick
ui.default("cfg_per_facility", True)
per_facility = c2.toggle(ui.t("per_facility"), key="cfg_per_facility", disabled=not small,
                         help=None if small else ui.t("per_facility_big")) and small
basemaps = ui.basemap_choices(result)
ui.choice("cfg_tiles", basemaps, "none")
tiles = c3.selectbox(ui.t("tiles"), basemaps, key="cfg_tiles", format_func=ui.labels({v: f"tiles_{v}" for v in basemaps}),
                     help=ui.t("tiles_help"))

with ui.errors():
    m = ui.run_with_progress(app.coverage_map, spec, (), ui.lang(), focus, per_facility,
                             None if tiles == "none" else tiles, label=ui.t("computing"))
ui.show_map(m, key="map_main")
st.caption(ui.t("map_help"))
