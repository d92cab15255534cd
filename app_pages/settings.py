"""Settings page: profile, categories shown, threshold, walking speed, demand group, mode and limits."""

from pathlib import Path

import pandas as pd
import streamlit as st

from app_pages import services as app
from app_pages import ui
from circles.profiles import list_profiles

st.title(ui.t("settings_title"))

uploaded = st.session_state.get("up_profile")
options = list_profiles() + ([uploaded] if uploaded else [])
ui.default("cfg_profile", "15min")
if "w_new_profile" in st.session_state:  # a profile just uploaded below: select it
    st.session_state["cfg_profile"] = st.session_state.pop("w_new_profile")
ui.choice("cfg_profile", options, "15min")


def _profile_label(name: str) -> str:
    if name == uploaded:
        return ui.t("profile_uploaded", name=Path(name).name)
    prof = app.profile(name)  # a built-in profile
    return f"{name}: {prof.label_zh if ui.lang() == 'zh' else prof.label_en}"


name = st.selectbox(ui.t("profile"), options, key="cfg_profile",
                    format_func={n: _profile_label(n) for n in options}.get)
with st.expander(ui.t("upload_profile")):
    new = ui.upload("profile", "profile", ui.t("upload_profile"))
    if new != uploaded:
        if new:
            st.session_state["w_new_profile"] = new
        st.rerun()
with ui.errors():
    profile = app.profile(name)

cats = [c.id for c in profile.categories]
labels = {c.id: c.label_zh if ui.lang() == "zh" else c.label_en for c in profile.categories}
ui.default("cfg_categories", cats)
st.session_state["cfg_categories"] = [c for c in st.session_state["cfg_categories"] if c in cats] or cats
st.multiselect(ui.t("categories"), cats, key="cfg_categories", format_func=labels.get)

c1, c2 = st.columns(2)
ui.default("cfg_minutes_on", False)
ui.default("cfg_minutes", 15.0)
on = c1.toggle(ui.t("minutes_on"), key="cfg_minutes_on")
c1.number_input(ui.t("minutes"), min_value=1.0, max_value=120.0, step=1.0, key="cfg_minutes", disabled=not on)

presets = {p.speed_kmh: p for p in profile.speed_presets}
speeds = ["profile", *presets, "custom"]
ui.default("cfg_speed", "profile")
ui.choice("cfg_speed", speeds, "profile")
ui.default("cfg_speed_custom", 3.6)


def _speed_label(v) -> str:
    if v in ("profile", "custom"):
        return ui.t(f"speed_{v}")
    p = presets[v]
    return f"{p.label_zh if ui.lang() == 'zh' else p.label_en}: {v:g} km/h"


speed = c2.selectbox(ui.t("speed"), speeds, key="cfg_speed", format_func={v: _speed_label(v) for v in speeds}.get)
c2.number_input(ui.t("speed_kmh"), min_value=0.5, max_value=30.0, step=0.1, key="cfg_speed_custom",
                disabled=speed != "custom")
if speed != "profile":
    c2.caption(ui.t("speed_note"))

groups = ["own", "pop_60plus", "pop_0_17", "population"]
ui.default("cfg_group", "own")
st.selectbox(ui.t("group"), groups, key="cfg_group", format_func=ui.labels({g: f"group_{g}" for g in groups}))
st.caption(ui.t("group_note"))

with st.expander(ui.t("advanced")):
    ui.default("cfg_mode", "walk")
    ui.default("cfg_horizon", 60.0)
    ui.default("cfg_buffer", 1000.0)
    st.radio(ui.t("mode"), ["walk", "bike"], key="cfg_mode", horizontal=True,
             format_func=ui.labels({m: f"mode_{m}" for m in ("walk", "bike")}))
    st.number_input(ui.t("horizon"), min_value=5.0, max_value=240.0, step=5.0, key="cfg_horizon")
    st.number_input(ui.t("buffer"), min_value=0.0, max_value=10000.0, step=100.0, key="cfg_buffer")

st.subheader(ui.t("tiers_table"))
rows = []
for c in profile.categories:
    for tier in c.tiers:
        threshold = (f"{tier.minutes:g} min" if tier.minutes is not None else f"{tier.distance_m:g} m") + \
            (f" · {tier.speed_kmh:g} km/h" if tier.mode != "drive" else f" · {tier.mode}")
        rows.append({ui.t("category"): labels[c.id], ui.t("tier"): ui.category_label(tier),
                     ui.t("threshold"): threshold, ui.t("source_ref"): tier.source})
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
