"""Figures page: coverage share, uncovered people and facilities per category; districts with rule checks."""

import streamlit as st

from app_pages import support as sup
from app_pages import services as app
from app_pages import ui
from circles.outputs.labels import header

st.title(ui.t("figures_title"))
spec, result = ui.current_result(app.analysis)
report = result.report
st.caption(ui.t("using", what=ui.source_label(spec)))
categories = ui.settings_categories(report)
ui.metrics_row(report, categories=categories, demand_group=ui.demand_group())

figures = sup.shown_figures(sup.coverage_figures(report, lang=ui.lang(), demand_group=ui.demand_group(),
                                                 categories=categories), ui.lang())
share, label = header("coverage_pct", ui.lang()), header("category", ui.lang())
st.subheader(ui.t("share_chart"))
st.bar_chart(figures.set_index(label)[[share]], horizontal=True, sort=False, y_label="", x_label=share)
st.dataframe(figures, hide_index=True, width="stretch")

st.subheader(ui.t("per_district"))
coverage, rules = sup.district_tables(result, lang=ui.lang())
if coverage is None:
    st.info(ui.t("no_districts"))
else:
    outside = result.inputs.get("districts_outside") or []
    if outside:  # a city-wide file on a small extract: only the districts the data reaches are listed
        st.caption(ui.t("districts_outside", n=len(outside)))
    st.dataframe(coverage, hide_index=True, width="stretch")
    if rules is not None:
        st.subheader(ui.t("rules"))
        st.dataframe(rules, hide_index=True, width="stretch")

dropped = sup.dropped_figures(result.inputs, lang=ui.lang())
if dropped is not None:  # rows of the ledger or the population file the run did not use, by row and name
    st.subheader(ui.t("dropped"))
    st.warning(ui.t("dropped_help", n=len(dropped)))
    st.dataframe(dropped, hide_index=True, width="stretch")

zones = sup.zone_figures(result.inputs, lang=ui.lang())
if zones is not None:
    st.subheader(ui.t("zones"))
    st.caption(ui.t("zones_help"))
    outside = result.inputs.get("population_outside") or 0
    if outside:
        st.warning(ui.t("zones_outside", n=f"{outside:,.0f}"))
    st.dataframe(zones, hide_index=True, width="stretch")

if len(report.categories) > 1:
    st.subheader(ui.t("equity"))
    st.caption(ui.t("equity_help"))
    st.dataframe(sup.equity_figures(report, lang=ui.lang()), hide_index=True, width="stretch")
    st.image(app.lorenz(spec, ui.lang()))

with st.expander(ui.t("warnings"), expanded=bool(report.warnings)):
    lines = [*report.warnings, *result.notes]
    st.markdown("\n".join(f"- {line}" for line in lines) if lines else ui.t("no_warnings"))
