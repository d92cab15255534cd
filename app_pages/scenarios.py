"""Scenarios page: suggested sites (N sites or a target share), sites added on the map, saved scenarios compared.

A scenario is a list of added sites (kept per run in ``scen_drafts``); its coverage is the whole
analysis re-assessed with them (app.scenario). Saved scenarios (``scen_saved``) are compared.
"""

import pandas as pd
import streamlit as st

from app_pages import services as app
from app_pages import support as sup
from circles import scenarios as scen
from app_pages import scenario_widgets as w
from app_pages import ui
from circles.errors import USER_ERRORS, CirclesError

st.title(ui.t("scen_title"))
spec, result = ui.current_result(app.analysis)
base = result.report
categories = ui.settings_categories(base)
labels = {c.category: ui.category_label(c) for c in base.categories}
drafts = st.session_state.setdefault("scen_drafts", {})
saved = st.session_state.setdefault("scen_saved", {}).setdefault(spec, {})
draft = drafts.get(spec, scen.empty_sites())


def _add(rows: pd.DataFrame) -> None:
    """Add sites to the current scenario; a site off the streets becomes the page's error line."""
    try:
        scen.check_on_network(app.analysis(spec).walk, rows)
        drafts[spec] = scen.sites_frame([*drafts.get(spec, scen.empty_sites()).to_dict("records"),
                                        *rows.to_dict("records")])
        st.session_state.pop("scen_suggestion", None)
    except USER_ERRORS as exc:
        st.session_state["scen_error"] = str(exc)


def _add_picked() -> None:
    s = st.session_state
    name = (s.get("scen_name") or "").strip() or ui.t("new_site", n=len(drafts.get(spec, [])) + 1)
    _add(scen.sites_frame([{"category": s["scen_cat"], "tier": s["scen_tier"], "lon": s["scen_lon"],
                           "lat": s["scen_lat"], "name": name, "origin": "clicked"}]))
    s["scen_name"] = ""


def _save() -> None:
    name = (st.session_state.get("scen_save_name") or "").strip() or ui.t("scenario_name", n=len(saved) + 1)
    if name in saved:
        st.session_state["scen_error"] = ui.t("name_taken", name=name)
        return
    saved[name] = drafts.get(spec, scen.empty_sites())
    st.session_state["scen_save_name"] = ""


if "scen_error" in st.session_state:
    st.error(st.session_state.pop("scen_error"))
with ui.errors():
    report = ui.run_with_progress(app.scenario, spec, scen.sites_key(draft), label=ui.t("computing")).report
st.subheader(ui.t("current"))
ui.compare_row(base, report, categories=categories, changed=not draft.empty)

# a choice, not tabs: a map drawn in a hidden tab has no size, and Leaflet cannot fit it
ui.default("cfg_scen_how", "suggest")
how = st.segmented_control(ui.t("how"), ["suggest", "click", "compare"], key="cfg_scen_how", required=True,
                           format_func=ui.labels({"suggest": "suggest", "click": "click_title",
                                                  "compare": "compare_title"}))
if how == "suggest":
    request = w.suggest_form(categories, labels)
    if request is not None:
        with ui.errors(stop=False):
            siting = ui.run_with_progress(app.suggestion, spec, scen.sites_key(draft), **request,
                                          label=ui.t("suggesting"))
            st.session_state["scen_suggestion"] = (spec, scen.sites_key(draft), request, siting)
    shown = st.session_state.get("scen_suggestion")
    if shown is not None and shown[0] == spec:
        w.suggestion_view(shown[3], labels, on_add=_add)
        with ui.errors(stop=False):
            m = ui.run_with_progress(app.suggestion_map, spec, shown[1], ui.lang(), **shown[2],
                                     label=ui.t("computing"))
            ui.show_map(m, key="map_suggest")
elif how == "compare":
    w.before_after(spec, draft)
else:
    st.caption(ui.t("click_help"))
    with ui.errors():
        m = ui.run_with_progress(app.coverage_map, spec, scen.sites_key(draft), ui.lang(),
                                 st.session_state.get("scen_cat"), label=ui.t("computing"))
    clicked = (ui.show_map(m, key="map_click", clicks=True) or {}).get("last_clicked")
    st.caption(ui.t("areas_note"))
    w.site_picker(base, categories, labels, clicked=clicked, on_add=_add_picked)

st.subheader(ui.t("current_sites"))
if draft.empty:
    st.info(ui.t("no_sites"))
else:
    w.sites_table(draft, base.profile, labels)
    c1, c2, c3 = st.columns([3, 1, 1])
    c1.text_input(ui.t("save_as"), key="scen_save_name", placeholder=ui.t("scenario_name", n=len(saved) + 1))
    c2.button(ui.t("save"), on_click=_save, type="primary")
    c3.button(ui.t("clear"), on_click=lambda: drafts.pop(spec, None))

if saved:
    st.subheader(ui.t("saved"))
    with ui.errors():
        reports = {name: (ui.run_with_progress(app.scenario, spec, scen.sites_key(sites), label=ui.t("computing")).report,
                          len(sites)) for name, sites in saved.items()}
    if not draft.empty:
        reports[ui.t("current")] = (report, len(draft))
    st.markdown("**" + ui.t("compare") + "**")
    st.dataframe(sup.scenario_comparison(base, reports, lang=ui.lang()), hide_index=True, width="stretch")
    c1, c2 = st.columns([3, 1])
    gone = c1.selectbox(ui.t("delete"), list(saved), key="scen_delete", label_visibility="collapsed")
    c2.button(ui.t("delete"), on_click=lambda: saved.pop(gone, None))
