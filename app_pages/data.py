"""Data page: the network (sample, shared extract, upload, place name), ledger, population, districts, boundary."""

from pathlib import Path

import streamlit as st

from app_pages import services as app
from app_pages import support as sup
from app_pages import ui

st.title(ui.t("data_title"))
shared = app.shared()

ui.default("cfg_source", "sample")
source = st.radio(ui.t("source"), ["sample", "extract", "upload", "place"], key="cfg_source", horizontal=True,
                  format_func=ui.labels({s: f"source_{s}" for s in ("sample", "extract", "upload", "place")}))
if source == "sample":
    st.info(ui.t("sample_info"))
elif source == "extract":
    if not shared["osm"]:
        st.warning(ui.t("no_shared"))
    else:
        names = {p: n for n, p in shared["osm"].items()}
        # a shared extract comes with its population where the shared data has one for the same place
        paired = {p: sup.paired_population(n, shared["vector"]) for n, p in shared["osm"].items()}
        ui.default("cfg_extract", next((p for p in names if paired[p]), next(iter(names))))
        ui.choice("cfg_extract", list(names))
        extract = st.selectbox(ui.t("extract"), list(names), key="cfg_extract", format_func=names.get)
        st.session_state["cfg_pop_paired"] = paired.get(extract) or ""
elif source == "upload":
    ui.upload("network", "network", ui.t("upload_network"))
else:
    st.text_input(ui.t("place"), key="cfg_place", help=ui.t("place_help"))

st.subheader(ui.t("facilities"))
st.caption(ui.t("facilities_help"))
ledger = ui.upload("facilities", "facilities", ui.t("upload_facilities"))
ui.default("cfg_coords", "auto")
coords = st.radio(ui.t("coords"), ["auto", "wgs84", "gcj02", "bd09"], key="cfg_coords", horizontal=True,
                  format_func=ui.labels({c: f"coords_{c}" for c in ("auto", "wgs84", "gcj02", "bd09")}))
if ledger:
    with st.expander(ui.t("ledger_check"), expanded=True), ui.errors(stop=False):
        st.code(app.ledger_check(ledger, "wgs84" if coords == "auto" else coords,
                                 st.session_state.get("cfg_profile", "15min"), ui.lang()),
                language=None)

st.subheader(ui.t("population"))
paired = st.session_state.get("cfg_pop_paired") if source == "extract" else ""
kinds = ["default"] if source == "sample" else (["paired"] if paired else [])
kinds += ["units", "zones"]
ui.default("cfg_pop_kind", kinds[0])
ui.choice("cfg_pop_kind", kinds, kinds[0])
kind = st.radio(ui.t("pop_kind"), kinds, key="cfg_pop_kind", horizontal=True,
                format_func=ui.labels({k: f"pop_{k}" for k in ("default", "paired", "units", "zones")}))
if kind == "paired":
    with ui.errors(stop=False):
        cols = app.columns(paired)
        st.session_state["cfg_pop_paired_col"] = next((c for c in ("population", "人口", "常住人口") if c in cols), "")
    st.caption(ui.t("pop_paired_note", name=Path(paired).name))
elif source != "sample" and (kind == "units" and not st.session_state.get("up_population")):
    st.warning(ui.t("need_population"))
if kind == "units":
    ui.upload("population", "population", ui.t("upload_population"))
elif kind == "zones":
    ui.vector_picker("zones", ui.t("zones_file"), shared["vector"], columns=app.columns,
                     column_label=ui.t("zone_col"), prefer=("population", "人口", "常住人口"))

st.subheader(ui.t("districts"))
districts = ui.vector_picker("districts", ui.t("districts_file"), shared["vector"], columns=app.columns,
                             column_label=ui.t("district_col"), prefer=("street", "街道", "name", "county"))
if districts:
    with ui.errors(stop=False):
        parents = ["", *app.columns(districts)]
        ui.default("cfg_districts_parent", "")
        ui.choice("cfg_districts_parent", parents, "")
        st.selectbox(ui.t("district_parent"), parents, key="cfg_districts_parent", help=ui.t("district_parent_help"),
                     format_func=lambda c: c or ui.t("vector_none"))

st.subheader(ui.t("boundary"))
ui.vector_picker("boundary", ui.t("boundary_file"), shared["vector"])

