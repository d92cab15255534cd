"""Widget functions the pages share: language, one-line errors, the current run and its progress, the map.

The settings live in ``st.session_state`` under keys starting with ``cfg_`` (widget keys, kept
when their page is not shown, see `keep_settings`) and ``up_`` (paths of stored uploads).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from app_pages import support as sup
from app_pages.i18n import LANGS, text
from circles.options import RunOptions
from circles.errors import USER_ERRORS, CirclesError, CoordsUndecidedError

log = logging.getLogger("circles.app")

SETTINGS_PREFIX = "cfg_"
UPLOAD_PREFIX = "up_"
MAP_HEIGHT = 640


# ============================================================================ language and state
def lang() -> str:
    """The interface language: ``"zh"`` (default) or ``"en"``."""
    value = st.session_state.get("cfg_lang", "zh")
    return value if value in LANGS else "zh"


def t(key: str, **values: Any) -> str:
    """A label in the interface language."""
    return text(key, lang(), **values)


def labels(keys: dict[Any, str]) -> Callable[[Any], str]:
    """A ``format_func`` showing each option's label (``{option: text key}``) in the current language.

    The labels are looked up now: a format function may be called outside the script run, where
    the session (and so the language) is not at hand.
    """
    shown = {option: t(key) for option, key in keys.items()}
    return lambda option: shown.get(option, str(option))


def keep_settings() -> None:
    """Keep every setting when its page is not shown (Streamlit drops the state of unseen widgets)."""
    for key in list(st.session_state.keys()):
        if str(key).startswith(SETTINGS_PREFIX):
            st.session_state[key] = st.session_state[key]


def language_switch() -> str:
    """The 中文/English switch in the sidebar; returns the language."""
    st.sidebar.radio(text("language", "zh"), list(LANGS), format_func=LANGS.get, key="cfg_lang", horizontal=True)
    return lang()


def default(key: str, value: Any) -> None:
    """Give a kept setting its first value (widgets then take it from the session state, not a default)."""
    if key not in st.session_state:
        st.session_state[key] = value


def choice(key: str, options: list, default: Any = None) -> None:
    """Reset a kept setting whose value is no longer among the options (e.g. after a profile change)."""
    if key in st.session_state and st.session_state[key] not in options:
        st.session_state[key] = default if default in options else options[0]


def workdir() -> Path:
    """This session's temporary work folder for uploads."""
    if "workdir" not in st.session_state:
        st.session_state["workdir"] = tempfile.mkdtemp(prefix="circles-app-")
    return Path(st.session_state["workdir"])


# ============================================================================ errors and progress
@contextlib.contextmanager
def errors(*, stop: bool = True) -> Iterator[None]:
    """Show any failure as one line with ``st.error`` (no traceback); stop the page there when `stop`."""
    try:
        yield
    except CoordsUndecidedError as exc:  # ask for the ledger's coordinate system, with the evidence
        st.warning(t("coords_ask"))
        if exc.evidence is not None:
            st.caption(exc.evidence.describe(lang()))
        options = ["wgs84", "gcj02", "bd09"]
        best = getattr(exc.evidence, "best", "wgs84")
        st.radio(t("coords"), options, index=options.index(best), horizontal=True, key="w_coords_pick",
                 format_func=labels({c: f"coords_{c}" for c in options}))
        st.button(t("coords_use"), type="primary", on_click=_pick_coords)
        if stop:
            st.stop()
    except USER_ERRORS as exc:
        st.error(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        if stop:
            st.caption(t("go_data"))
            st.stop()
    except FileNotFoundError as exc:
        st.error(f"{exc.filename or exc}: file not found; check the path")
        if stop:
            st.stop()
    except Exception as exc:  # noqa: BLE001 - an unexpected failure: one line here, the traceback in the log
        log.exception("app page failed")
        first = (str(exc).splitlines() or [""])[0][:300]
        st.error(t("error_other", kind=type(exc).__name__, message=first))
        if stop:
            st.stop()


def _pick_coords() -> None:
    """Remember the chosen coordinate system for this session (the Data page shows it too)."""
    st.session_state["cfg_coords"] = st.session_state.get("w_coords_pick", "wgs84")


def run_with_progress(fn: Callable, *args: Any, label: str, **kwargs: Any) -> Any:
    """Call `fn(*args, _progress=callback, **kwargs)` and show its progress lines in ``st.status``.

    The call runs in a worker thread so that a cached function never touches a Streamlit block
    made outside it; a call answered from the cache returns at once, without a status box.
    """
    messages: queue.Queue[str] = queue.Queue()
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["value"] = fn(*args, _progress=messages.put, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the script thread below
            box["error"] = exc

    worker = threading.Thread(target=work, name="circles-work", daemon=True)
    add_script_run_ctx(worker, get_script_run_ctx())
    worker.start()
    worker.join(0.2)
    if worker.is_alive():
        slot = st.empty()  # the status shows while the work runs and goes when it is done
        with slot.status(label, expanded=True) as status:
            while worker.is_alive() or not messages.empty():
                try:
                    status.write(messages.get(timeout=0.1))
                except queue.Empty:
                    pass
            worker.join()
        slot.empty()
    if "error" in box:
        raise box["error"]
    return box["value"]


# ============================================================================ the current run
def current_spec() -> RunOptions:
    """The run the Data and Settings pages describe (defaults: the sample, profile 15min)."""
    s = st.session_state
    source = s.get("cfg_source", "sample")
    network = {"sample": None, "extract": s.get("cfg_extract"), "upload": s.get("up_network"),
               "place": (s.get("cfg_place") or "").strip() or None}.get(source)
    if source != "sample" and not network:
        raise CirclesError(t("need_network"))
    pop_kind = s.get("cfg_pop_kind", "default")
    zones, zone_col = (vector_path("zones"), s.get("cfg_zones_col")) if pop_kind == "zones" else (None, None)
    if pop_kind == "paired" and source == "extract" and s.get("cfg_pop_paired"):
        zones, zone_col = s["cfg_pop_paired"], s.get("cfg_pop_paired_col") or None
    elif source != "sample" and (pop_kind not in ("units", "zones") or (pop_kind == "units" and
                                                                        not s.get("up_population"))):
        raise CirclesError(t("need_population"))  # the sample's population belongs to the sample only
    speed = s.get("cfg_speed", "profile")
    speed_kmh = None if speed == "profile" else (s.get("cfg_speed_custom", 3.6) if speed == "custom" else float(speed))
    profile = s.get("cfg_profile", "15min")
    return RunOptions(
        sample=source == "sample", network=str(network) if network else None,
        facilities=s.get("up_facilities"),
        coords=None if s.get("cfg_coords", "auto") == "auto" else s.get("cfg_coords"),
        population=s.get("up_population") if pop_kind == "units" else None,
        population_zones=zones, zone_population_col=zone_col,
        districts=vector_path("districts"), district_col=_district_col() if vector_path("districts") else None,
        boundary=vector_path("boundary"), profile=str(profile),
        minutes=float(s.get("cfg_minutes", 15.0)) if s.get("cfg_minutes_on") else None,
        speed_kmh=float(speed_kmh) if speed_kmh is not None else None, mode=s.get("cfg_mode", "walk"),
        horizon_min=float(s.get("cfg_horizon", 60.0)), buffer_m=float(s.get("cfg_buffer", 1000.0)))


def _district_col() -> str | None:
    """The districts' name column, after its parent's (``county,street``) when names repeat across parents."""
    col, parent = st.session_state.get("cfg_districts_col"), st.session_state.get("cfg_districts_parent")
    return f"{parent},{col}" if col and parent and parent != col else col


def vector_path(name: str) -> str | None:
    """The vector file chosen for `name` (``zones``, ``districts``, ``boundary``): shared, uploaded or none."""
    value = st.session_state.get(f"cfg_{name}_file", "")
    if value == "upload":
        return st.session_state.get(f"up_{name}")
    return value or None


def current_result(analysis: Callable):
    """The analysis of the current run, computed with progress the first time (`analysis` is app.py's cached call)."""
    with errors():
        spec = current_spec()
        return spec, run_with_progress(analysis, spec, label=t("computing"))


def sidebar_status() -> None:
    """A line in the sidebar naming the data in use (nothing when the inputs are incomplete)."""
    try:
        st.sidebar.caption(t("using", what=source_label(current_spec())))
    except USER_ERRORS:
        pass


def source_label(spec: RunOptions) -> str:
    if spec.sample:
        return t("source_sample")
    return Path(spec.network).name if spec.network and Path(spec.network).exists() else str(spec.network)


# ============================================================================ shared widgets
def category_label(res: Any) -> str:
    return res.label_zh if lang() == "zh" else res.label_en


def metrics_row(report, *, categories: list[str] | None = None, demand_group: str | None = None) -> None:
    """One metric per category: coverage share, with uncovered people and facilities under it."""
    figures = sup.coverage_figures(report, lang=lang(), demand_group=demand_group, categories=categories)
    if figures.empty:
        return
    cols = st.columns(len(figures))
    for col, (cat_id, row) in zip(cols, figures.iterrows()):
        help_text = t("metric_help", covered=f"{row['demand_covered']:,.0f}", total=f"{row['demand_total']:,.0f}",
                      group=row["demand_column"], minutes=float(row["minutes"]), n=int(row["facilities"]))
        col.metric(row["category"], f"{row['coverage_pct']:.1f}%", help=help_text, border=True)
        col.caption(t("uncovered_caption", n=f"{row['uncovered']:,.0f}", group=row["demand_column"],
                      facilities=int(row["facilities"])))


def settings_categories(report) -> list[str]:
    """The categories chosen on the Settings page that the report has (all by default)."""
    ids = [c.category for c in report.categories]
    chosen = [c for c in st.session_state.get("cfg_categories", ids) if c in ids]
    return chosen or ids


def demand_group() -> str | None:
    value = st.session_state.get("cfg_group", "own")
    return None if value == "own" else value


def basemap_choices(result) -> list[str]:
    """The basemaps the map offers for this result (`circles.outputs.map.basemaps`): none first."""
    from circles.outputs.map import basemaps

    d = result.report.demand
    centre = (float(d["lon"].mean()), float(d["lat"].mean())) if len(d) else (0.0, 0.0)
    return [b["key"] for b in basemaps(lang(), centre=centre)[0]]


def show_map(m, *, key: str, clicks: bool = False, height: int = MAP_HEIGHT) -> dict | None:
    """Draw a folium map made offline by `app_pages.support.offline_leaflet`.

    Only ``last_clicked`` comes back, and only when `clicks`: panning and zooming never rerun
    the page.
    """
    from streamlit_folium import st_folium

    return st_folium(m, key=key, height=height, use_container_width=True,
                     returned_objects=["last_clicked"] if clicks else [])


def upload(kind: str, name: str, label: str, *, help: str | None = None) -> str | None:
    """A file uploader whose file is stored in the work folder; returns the stored path (kept in ``up_<name>``)."""
    state_key = f"{UPLOAD_PREFIX}{name}"
    generation = st.session_state.get(f"w_gen_{name}", 0)  # a new uploader after "remove"
    file = st.file_uploader(label, key=f"w_up_{name}_{generation}", help=help,
                            type=[s.lstrip(".").split(".")[-1] for s in sup.UPLOAD_SUFFIXES[kind]])
    if file is not None:
        with errors():
            path = sup.store_upload(file.getvalue(), file.name, kind=kind, workdir=workdir(),
                                    max_mb=float(st.get_option("server.maxUploadSize")))
        st.session_state[state_key] = str(path)
    current = st.session_state.get(state_key)
    if current:
        c1, c2 = st.columns([4, 1])
        c1.caption(t("in_use", name=Path(current).name))
        if c2.button(t("remove"), key=f"w_rm_{name}"):
            del st.session_state[state_key]
            st.session_state[f"w_gen_{name}"] = generation + 1
            st.rerun()
    return st.session_state.get(state_key)


def vector_picker(name: str, label: str, shared: dict[str, str], *, columns: Callable | None = None,
                  column_label: str | None = None, prefer: tuple[str, ...] = ()) -> str | None:
    """Choose a vector file (none, a shared extract or an upload) and, with `columns`, one of its columns.

    The file is kept in ``cfg_<name>_file`` (an upload in ``up_<name>``), the column in
    ``cfg_<name>_col``. `prefer` lists column names picked first when present.
    """
    names = {path: n for n, path in shared.items()}
    options = ["", *shared.values(), "upload"]
    file_key = f"cfg_{name}_file"
    default(file_key, "")
    choice(file_key, options, "")
    shown = {"": t("vector_none"), "upload": t("vector_upload"), **names}
    value = st.selectbox(label, options, key=file_key, format_func=lambda v: shown.get(v, v))
    if value == "upload":
        upload("vector", name, t("upload_vector"))
    path = vector_path(name)
    if path and columns is not None:
        with errors(stop=False):
            cols = list(columns(path))
            col_key = f"cfg_{name}_col"
            if cols:
                first = next((c for c in prefer if c in cols), cols[0])
                default(col_key, first)
                choice(col_key, cols, first)
                st.selectbox(column_label or "", cols, key=col_key)
    return path


def compare_row(base, report, *, categories: list[str], changed: bool) -> None:
    """Per category: the scenario's coverage share, with the change against the current state when `changed`."""
    cols = st.columns(len(categories))
    for col, cat_id in zip(cols, categories):
        before, after = base.category(cat_id), report.category(cat_id)
        change = 100.0 * (after.coverage - before.coverage)
        col.metric(category_label(after), f"{100.0 * after.coverage:.1f}%", border=True,
                   delta=f"{change:+.1f} " + ("个百分点" if lang() == "zh" else "pp") if changed else None)
        col.caption(t("before_after") + f": {100.0 * before.coverage:.1f}% → {100.0 * after.coverage:.1f}% · "
                    + t("uncovered_people", n=f"{after.demand_total - after.demand_covered:,.0f}"))
