"""Downloads page: gaps.geojson, summary.xlsx, map.html and report.docx (and the other files of `circles analyze`)."""

import streamlit as st

from app_pages import services as app
from app_pages import support as sup
from app_pages import ui
from circles import scenarios as scen

st.title(ui.t("dl_title"))
spec, result = ui.current_result(app.analysis)
st.caption(ui.t("using", what=ui.source_label(spec)) + " · " + ui.t("dl_help"))

saved = st.session_state.get("scen_saved", {}).get(spec, {})
draft = st.session_state.get("scen_drafts", {}).get(spec)
choices = {"": scen.empty_sites()}
if draft is not None and not draft.empty:
    choices[ui.t("current")] = draft
choices.update(saved)
picked = st.selectbox(ui.t("dl_scenario"), list(choices), key="dl_scenario",
                      format_func=lambda k, current=ui.t("dl_current"): k or current)

with ui.errors():
    files = ui.run_with_progress(app.downloads, spec, scen.sites_key(choices[picked]), ui.lang(),
                                 label=ui.t("computing"))

mime = {"gaps.geojson": "application/geo+json",
        "summary.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "map.html": "text/html",
        "report.docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
main = [(n, k) for n, k in (("gaps.geojson", "dl_gaps"), ("summary.xlsx", "dl_xlsx"), ("map.html", "dl_map"),
                            ("report.docx", "dl_report")) if n in files]
for col, (name, key) in zip(st.columns(len(main)), main):
    col.download_button(ui.t(key), files[name], file_name=name, mime=mime[name], type="primary",
                        key=f"dl_{name}", width="stretch")

with st.expander(ui.t("dl_more")):
    for name in sorted(set(files) - set(mime)):
        st.download_button(name, files[name], file_name=name, key=f"dl_{name}")
    st.download_button(ui.t("dl_zip"), sup.zip_files(files), file_name="circles_outputs.zip",
                       mime="application/zip", key="dl_zip")
