"""The 15-minute service-circle planner in the browser: ``streamlit run app.py``.

This script only configures the app and routes to its pages in ``app_pages/``; the pages draw
widgets around the cached services of `app_pages.services`, which run `circles.pipeline`.
"""

from __future__ import annotations

import streamlit as st

from app_pages import ui

PAGES = ("map", "figures", "scenarios", "data", "settings", "downloads")


def main() -> None:
    # no page_icon: a Material icon there is fetched from fonts.gstatic.com, and the app stays offline
    st.set_page_config(page_title="15分钟服务圈 · circles", layout="wide")
    ui.keep_settings()
    ui.language_switch()
    # no page icons: the active page's icon becomes the favicon, fetched from fonts.gstatic.com
    pages = [st.Page(f"app_pages/{name}.py", title=ui.t(f"page_{name}"), url_path=name, default=name == "map")
             for name in PAGES]
    st.sidebar.caption(ui.t("app_title"))
    ui.sidebar_status()
    st.navigation(pages).run()


if __name__ == "__main__":
    main()
