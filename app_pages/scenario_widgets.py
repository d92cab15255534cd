"""Widgets of the Scenarios page: the suggestion form and its result, the site picker, the tables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from app_pages import ui
from circles import scenarios as scen
from circles.outputs.labels import header, label
from circles.scenarios import suggestion_sites


def suggest_form(categories: list[str], labels: dict[str, str]) -> dict[str, Any] | None:
    """The "suggest new sites" form; returns the request (category, n_sites, target, ...) when submitted."""
    with st.form("scen_suggest_form", border=False):
        c1, c2, c3 = st.columns(3)
        category = c1.selectbox(ui.t("category"), categories, format_func=labels.get, key="scen_s_cat")
        goal = c1.radio(ui.t("goal"), ["n", "target"], key="scen_goal", horizontal=True,
                        format_func=ui.labels({"n": "goal_n", "target": "goal_target"}))
        n_sites = c2.number_input(ui.t("n_sites"), min_value=1, max_value=200, value=3, step=1, key="scen_n")
        target = c2.slider(ui.t("target"), min_value=50, max_value=100, value=95, step=1, key="scen_target")
        spacing = c3.number_input(ui.t("spacing"), min_value=25, max_value=2000, value=150, step=25,
                                  key="scen_spacing")
        limit = c3.number_input(ui.t("time_limit"), min_value=5, max_value=600, value=60, step=5, key="scen_limit")
        if not st.form_submit_button(ui.t("run_suggest"), type="primary"):
            return None
    return {"category": category, "n_sites": int(n_sites) if goal == "n" else None,
            "target": target / 100.0 if goal == "target" else None, "spacing_m": float(spacing),
            "time_limit_s": float(limit)}


def suggestion_view(siting, labels: dict[str, str], *, on_add: Callable) -> None:
    """A suggestion's before → after, its sites (by rank, with coordinates), and the button that adds them."""
    from circles.outputs.tables import suggestion_table

    opt = ui.t("optimal") if siting.optimal else ui.t("not_optimal", gap=siting.gap)
    st.success(ui.t("suggest_result", n=siting.n_sites, cat=labels[siting.category],
                    before=100 * siting.coverage_before, after=100 * siting.coverage_after, opt=opt))
    table = suggestion_table([siting], lang=ui.lang(), named=False)
    sites = pd.DataFrame({
        "name": [label("map.site_title", ui.lang(), rank=int(r)) for r in table["rank"]],
        "added_covered": table["added_covered"].round(), "coverage_before": (100 * table["coverage_before"]).round(1),
        "coverage_after": (100 * table["coverage_after"]).round(1), "lon": table["lon"], "lat": table["lat"],
        "lon_gcj02": table["lon_gcj02"], "lat_gcj02": table["lat_gcj02"]})
    names = {c: header(c, ui.lang()) + ("(%)" if c.startswith("coverage") else "") for c in sites.columns}
    st.dataframe(sites.rename(columns=names), hide_index=True, width="stretch")
    st.button(ui.t("add_suggested"), on_click=on_add, args=(ranked_sites(siting),), type="primary",
              disabled=siting.n_sites == 0)


def ranked_sites(siting) -> pd.DataFrame:
    """A suggestion's sites as scenario rows, each named by its rank (建议新增 1), not by its generated point."""
    rows = suggestion_sites(siting)
    return rows.assign(name=[label("map.site_title", ui.lang(), rank=k + 1) for k in range(len(rows))])


def before_after(spec, draft: pd.DataFrame) -> None:
    """The scenario against the current state: one map at a time (a toggle), and the change per district."""
    from app_pages import services as app

    if draft.empty:
        st.info(ui.t("no_sites"))
        return
    ui.default("cfg_scen_view", "after")
    view = st.segmented_control(ui.t("view"), ["before", "after"], key="cfg_scen_view", required=True,
                                format_func=ui.labels({"before": "view_before", "after": "view_after"}))
    key = scen.sites_key(draft)
    with ui.errors():
        m = ui.run_with_progress(app.coverage_map, spec, key, ui.lang(), None, None, None, True, view == "before",
                                 label=ui.t("computing"))
    ui.show_map(m, key=f"map_{view}")
    st.caption(ui.t("view_help"))
    st.subheader(ui.t("change_title"))
    with ui.errors():
        change = ui.run_with_progress(app.district_change, spec, key, ui.lang(), label=ui.t("computing"))
    st.dataframe(change, hide_index=True, width="stretch")


def site_picker(report, categories: list[str], labels: dict[str, str], *, clicked: dict | None,
                on_add: Callable) -> None:
    """Category, tier, lon/lat (filled by the last map click) and name of a site to add by hand."""
    inside = report.demand[report.demand["inside"]] if "inside" in report.demand else report.demand
    ui.default("scen_lon", round(float(inside["lon"].mean()), 6))
    ui.default("scen_lat", round(float(inside["lat"].mean()), 6))
    if clicked and clicked != st.session_state.get("scen_last_click"):
        st.session_state["scen_last_click"] = clicked
        st.session_state["scen_lon"] = round(float(clicked["lng"]), 6)
        st.session_state["scen_lat"] = round(float(clicked["lat"]), 6)
    c1, c2, c3, c4 = st.columns(4)
    cat = c1.selectbox(ui.t("category"), categories, format_func=labels.get, key="scen_cat")
    tiers = report.profile.category(cat).tiers
    ui.default("scen_tier", tiers[-1].id)
    ui.choice("scen_tier", [x.id for x in tiers], tiers[-1].id)
    c1.selectbox(ui.t("tier"), [x.id for x in tiers], key="scen_tier",
                 format_func={x.id: ui.category_label(x) for x in tiers}.get)
    c2.number_input(ui.t("lon"), min_value=-180.0, max_value=180.0, format="%.6f", step=0.0005, key="scen_lon")
    c3.number_input(ui.t("lat"), min_value=-90.0, max_value=90.0, format="%.6f", step=0.0005, key="scen_lat")
    c4.text_input(ui.t("site_name"), key="scen_name")
    st.button(ui.t("add_site"), on_click=on_add, type="primary")


def sites_table(draft: pd.DataFrame, profile, labels: dict[str, str]) -> None:
    """The current scenario's added sites, labels and headers in the interface language."""
    tiers = {(c.id, x.id): ui.category_label(x) for c in profile.categories for x in c.tiers}
    origins = {"suggested": ui.t("origin_suggested"), "clicked": ui.t("origin_clicked")}
    table = draft.assign(tier=[tiers.get((c, x), x) for c, x in zip(draft["category"], draft["tier"])],
                         category=draft["category"].map(labels), origin=draft["origin"].map(origins))
    st.dataframe(table.rename(columns={c: ui.t(f"col_{c}") for c in table.columns}), hide_index=True,
                 width="stretch")
