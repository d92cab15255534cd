"""Plain-Python helpers of the Streamlit app: uploads, shared extracts, tables of figures, map options, files.

Nothing here imports Streamlit or caches: `app_pages.services` wraps the pipeline in
``st.cache_*`` and the pages only draw widgets around these helpers. Every bad input raises
`circles.errors.CirclesError` with a one-line message the app shows with ``st.error``.
"""

from __future__ import annotations

import base64
import copyreg
import hashlib
import io
import math
import re
import tempfile
import types
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from circles.errors import CirclesError
from circles.outputs.labels import LANGS, group_label, header, label, yes_no
from circles.outputs.tables import dropped_table, equity_table, rule_citation, zone_table

__all__ = [
    "DEMAND_GROUPS", "MAP_DETAIL", "MAX_UPLOAD_MB", "UPLOAD_SUFFIXES", "code_fingerprint", "coverage_figures",
    "district_change", "district_tables", "map_detail", "offline_leaflet", "paired_population",
    "register_pickling", "scenario_comparison", "shared_files", "shown_figures", "store_upload", "vector_columns",
    "zip_files",
]

MAX_UPLOAD_MB = 200  # also server.maxUploadSize in .streamlit/config.toml
DEMAND_GROUPS = ("pop_60plus", "pop_0_17", "population")

#: What each upload may be; anything else is refused before it is written to disk.
UPLOAD_SUFFIXES: dict[str, tuple[str, ...]] = {
    "network": (".osm", ".osm.pbf", ".pbf", ".osm.gz", ".osm.bz2", ".graphml"),
    "facilities": (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".geojson", ".json", ".gpkg", ".zip"),
    "population": (".csv", ".txt", ".xlsx", ".xlsm", ".geojson", ".json", ".gpkg"),
    "vector": (".geojson", ".json", ".gpkg", ".zip"),
    "profile": (".toml",),
    "candidates": (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".geojson", ".json", ".gpkg", ".zip"),
}


_SAFE_NAME = re.compile(r"[^\w.\-()（）\u4e00-\u9fff]+")


# ============================================================================ caching support
def _mappingproxy(items: dict) -> types.MappingProxyType:
    return types.MappingProxyType(items)


def _reduce_mappingproxy(proxy: types.MappingProxyType):
    return _mappingproxy, (dict(proxy),)


def register_pickling() -> None:
    """Let pickle copy read-only mappings (`types.MappingProxyType`), which profiles use.

    ``st.cache_data`` pickles what it caches; with this an `AnalysisResult` can be cached (and
    kept on disk) like any frame.
    """
    copyreg.pickle(types.MappingProxyType, _reduce_mappingproxy)


def code_fingerprint(root: Path) -> str:
    """A hash of the code and built-in profiles under `root` (``circles/``, ``network/``, ``app_pages/``).

    Part of the key of results kept on disk, so a new version never shows an old result.
    """
    h = hashlib.sha256()
    root = Path(root)
    for pattern in ("circles/**/*.py", "network/**/*.py", "app_pages/*.py", "circles/data/profiles/*.toml"):
        for p in sorted(root.glob(pattern)):
            h.update(p.relative_to(root).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


# ============================================================================ uploads and data files
def store_upload(data: bytes, file_name: str, *, kind: str, workdir: Path,
                 max_mb: float = MAX_UPLOAD_MB) -> Path:
    """Write an uploaded file into `workdir` and return its path; nothing is executed or unpickled.

    The file lands in a folder named by its content hash (so a path names one content, and
    a repeated upload reuses it), under its own name made safe for the file system.

    Parameters
    ----------
    data
        The file's bytes.
    file_name
        The name the browser sent (only its last part is used).
    kind
        ``"network"``, ``"facilities"``, ``"population"``, ``"vector"``, ``"profile"`` or
        ``"candidates"``: which suffixes are accepted (`UPLOAD_SUFFIXES`).
    workdir
        The session's temporary work folder.
    max_mb
        Largest accepted size (megabytes).
    """
    if kind not in UPLOAD_SUFFIXES:
        raise CirclesError(f"upload kind {kind!r} is unknown; use one of {', '.join(UPLOAD_SUFFIXES)}")
    base = Path(str(file_name).replace("\\", "/")).name
    size_mb = len(data) / 1e6
    if size_mb > max_mb:
        raise CirclesError(f"{base}: {size_mb:,.1f} MB is more than the {max_mb:g} MB upload limit; "
                           "cut the area smaller (e.g. osmium extract) or run `circles analyze` on it")
    if not data:
        raise CirclesError(f"{base}: the file is empty; upload it again")
    lower = base.lower()
    allowed = UPLOAD_SUFFIXES[kind]
    suffix = next((s for s in sorted(allowed, key=len, reverse=True) if lower.endswith(s)), None)
    if suffix is None:
        raise CirclesError(f"{base}: this file type is not accepted here; use {', '.join(allowed)}")
    stem = _SAFE_NAME.sub("_", base[: len(base) - len(suffix)]).strip("._") or "upload"
    folder = Path(workdir) / hashlib.sha256(data).hexdigest()[:20]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem[:80]}{suffix}"
    if not path.exists():
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)
    return path


def shared_files(data_dir: Path) -> dict[str, dict[str, Path]]:
    """The real extracts under ``../shared/data`` offered by name: OSM files and vector files.

    Returns ``{"osm": {name: path}, "vector": {name: path}}``; empty when the folder is absent.
    """
    data_dir = Path(data_dir)
    out: dict[str, dict[str, Path]] = {"osm": {}, "vector": {}}
    if not data_dir.is_dir():
        return out
    from network import is_osm_path

    for p in sorted(data_dir.rglob("*")):
        if not p.is_file():
            continue
        name = p.relative_to(data_dir).as_posix()
        if is_osm_path(p):
            out["osm"][name] = p
        elif p.suffix.lower() in (".gpkg", ".geojson"):
            out["vector"][name] = p
    return out


def paired_population(extract: str, vectors: Mapping[str, str]) -> str | None:
    """The population file that comes with a shared OSM extract, or None.

    A shared extract comes with its population when ``../shared/data/population/`` holds a file
    (or folder) named for the same place: the first word of the extract's name, e.g.
    ``osm/beijing_haidian_wudaokou.osm`` and ``population/beijing_streets/beijing_streets_worldpop.gpkg``,
    ``osm/helsinki_centre.osm.pbf`` and ``population/helsinki_grid_250m.gpkg``.

    Parameters
    ----------
    extract
        The extract's name or path.
    vectors
        The shared vector files, ``{name relative to the data folder: path}`` (`shared_files`).
    """
    place = re.split(r"[_.\-]", Path(str(extract)).name)[0].lower()
    for name, path in sorted(vectors.items()):
        parts = Path(name).parts
        if len(parts) > 1 and parts[0] == "population" and any(
                re.split(r"[_.\-]", part)[0].lower() == place for part in parts[1:]):
            return path
    return None


def vector_columns(path: Path) -> list[str]:
    """The attribute columns of a vector file (for choosing a name or population column)."""
    import pyogrio

    try:
        info = pyogrio.read_info(str(path))
    except Exception as exc:  # noqa: BLE001 - any reader failure becomes one line
        raise CirclesError(f"{Path(path).name}: not a readable vector file ({type(exc).__name__}); "
                           "save it as GeoJSON or GeoPackage") from None
    return [str(c) for c in info["fields"]]


# ============================================================================ scenarios
def scenario_comparison(base, scenarios: Mapping[str, Any], *, lang: str) -> pd.DataFrame:
    """One row per scenario (the baseline first): sites added and coverage share (%) per category."""
    current = "现状" if _lang(lang) == "zh" else "current"
    rows = []
    for name, (report, n_sites) in {current: (base, 0), **scenarios}.items():
        row = {header("scenario", lang): name, header("sites_added", lang): n_sites}
        for c in report.categories:
            row[c.label_zh if lang == "zh" else c.label_en] = round(100.0 * c.coverage, 1)
        rows.append(row)
    return pd.DataFrame(rows)


def district_change(base: Any, scenario: Any, *, lang: str) -> pd.DataFrame:
    """People covered per district and category before and after a scenario (the figures the pipeline gives).

    Without districts, one row per category. Columns (headers in `lang`): district, category,
    covered now, covered in the scenario, the change, coverage now and in the scenario (%).
    """
    before, _ = base.tables()
    after, _ = scenario.tables()
    if before is None or after is None:
        frame = pd.DataFrame([{"category": _label(a, lang), "covered_before": round(b.demand_covered),
                               "covered_after": round(a.demand_covered), "coverage_now": b.coverage,
                               "coverage_scenario": a.coverage}
                              for b, a in zip(base.report.categories, scenario.report.categories)])
    else:
        keys = ["district", "category"]
        merged = before[[*keys, "label", "demand_covered", "coverage"]].merge(
            after[[*keys, "demand_covered", "coverage"]], on=keys, suffixes=("_before", "_after"))
        frame = pd.DataFrame({"district": merged["district"], "category": merged["label"],
                              "covered_before": merged["demand_covered_before"].astype("Int64"),
                              "covered_after": merged["demand_covered_after"].astype("Int64"),
                              "coverage_now": merged["coverage_before"], "coverage_scenario": merged["coverage_after"]})
    frame.insert(frame.columns.get_loc("covered_after") + 1, "people_change",
                 frame["covered_after"] - frame["covered_before"])
    for c in ("coverage_now", "coverage_scenario"):
        frame[c] = (100.0 * pd.to_numeric(frame[c])).round(1)
    return _shown(frame, lang, percent=("coverage_now", "coverage_scenario"))


# ============================================================================ figures and tables
def _lang(lang: str) -> str:
    if lang not in LANGS:
        raise CirclesError(f"lang {lang!r} is not supported; use zh or en")
    return lang


def _label(obj: Any, lang: str) -> str:
    return obj.label_zh if lang == "zh" else obj.label_en


def _shown(frame: pd.DataFrame, lang: str, *, percent: Sequence[str] = ()) -> pd.DataFrame:
    """Headers in `lang` (`circles.outputs.labels.header`); shares shown in percent get a "(%)" header."""
    names = {c: header(c, lang) + ("(%)" if c in percent else "") for c in frame.columns}
    return frame.rename(columns=names)


def dropped_figures(inputs, *, lang: str) -> pd.DataFrame | None:
    """The input rows the run did not use (`circles.outputs.tables.dropped_table`, the workbook's 未使用的行), headers
    in `lang`; None when every row was used."""
    _lang(lang)
    table = dropped_table(inputs or {}, lang)
    return None if table is None else _shown(table.astype({"row": object}).fillna("–"), lang)


def zone_figures(inputs, *, lang: str) -> pd.DataFrame | None:
    """Where each zone's population went (`circles.outputs.tables.zone_table`, the workbook's 人口分配 sheet): people
    placed inside the data and outside it, by zone name; the share inside in percent; None without zones."""
    _lang(lang)
    table = zone_table(inputs or {})
    if table is None:
        return None
    if "inside_share" in table:
        table["inside_share"] = (100.0 * pd.to_numeric(table["inside_share"])).round(1)
    return _shown(table, lang, percent=("inside_share",))


def equity_figures(report, *, lang: str) -> pd.DataFrame:
    """One-stop share and per category the Gini, zero-access share and mean minutes (`circles.outputs.tables.
    equity_table`, as the workbook and the report show them); shares in percent, headers in `lang`."""
    _lang(lang)
    table = equity_table(report, lang)
    formats = {"coverage": "{:.1f}", "zero_access_share": "{:.1f}", "gini": "{:.3f}", "mean_minutes": "{:.1f}"}
    scale = {"coverage": 100.0, "zero_access_share": 100.0}
    for col, fmt in formats.items():  # text cells: one column may hold a figure or "–" (never a raw None)
        table[col] = ["–" if v is None or pd.isna(v) else fmt.format(scale.get(col, 1.0) * float(v))
                      for v in table[col]]
    table["worst_districts"] = table["worst_districts"].fillna("–")
    return _shown(table, lang, percent=("coverage", "zero_access_share"))


def coverage_figures(report, *, lang: str, demand_group: str | None = None,
                     categories: Sequence[str] | None = None) -> pd.DataFrame:
    """Per category: facilities, the demand group, people, covered, uncovered and the share (%).

    `demand_group` (``pop_60plus``, ``pop_0_17`` or ``population``) counts that group for every
    category instead of each category's own (e.g. all residents near meal points); None keeps
    the profile's. Canonical column names (``demand_total``, ``coverage_pct`` ...; shown with
    `shown_figures`); the category id is the index.
    """
    _lang(lang)
    if demand_group is not None and demand_group not in DEMAND_GROUPS:
        raise CirclesError(f"demand group {demand_group!r} is unknown; use one of {', '.join(DEMAND_GROUPS)}")
    d = report.demand
    inside = d["inside"].to_numpy(bool) if "inside" in d else np.ones(len(d), bool)
    rows = []
    for c in report.categories:
        if categories is not None and c.category not in categories:
            continue
        col = demand_group or c.demand_column
        if col == c.demand_column:
            total, covered = c.demand_total, c.demand_covered
        else:
            if col not in d:
                raise CirclesError(f"the demand units have no {col!r} column; choose another demand group")
            w = np.where(inside, d[col].to_numpy(float), 0.0)
            total, covered = float(w.sum()), float(w[d[f"covered_{c.category}"].to_numpy(bool)].sum())
        rows.append({"id": c.category, "category": _label(c, lang), "facilities": int(c.facilities),
                     "demand_column": group_label(col, lang), "demand_total": round(total),
                     "demand_covered": round(covered), "uncovered": round(total - covered),
                     "coverage_pct": round(100.0 * covered / total, 1) if total > 0 else 0.0, "minutes": c.minutes})
    columns = ["category", "facilities", "demand_column", "demand_total", "demand_covered", "uncovered",
               "coverage_pct", "minutes"]
    return pd.DataFrame(rows).set_index("id") if rows else pd.DataFrame(columns=columns)


def shown_figures(figures: pd.DataFrame, lang: str) -> pd.DataFrame:
    """`coverage_figures` with its headers in `lang`."""
    return _shown(figures, lang)


def district_tables(result, *, lang: str) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Per-district coverage and rule checks of the districts the data reaches, by name, headers in `lang`.

    From `AnalysisResult.tables` (the format `circles analyze` and `circles batch` write): shares in
    percent, partly covered districts marked, missing values as "–" (never a raw None), and each
    rule's citation.
    """
    table, rules = result.tables()
    if table is None or not len(table):
        return None, None
    dash = "–"
    coverage = pd.DataFrame({
        "district": table["district"], "category": table["label"],
        "facilities": table["facilities"], "demand_column": [group_label(g, lang) for g in table["demand_column"]],
        "demand_total": table["demand_total"], "demand_covered": table["demand_covered"],
        "uncovered": table["uncovered"], "coverage_pct": (100.0 * pd.to_numeric(table["coverage"])).round(1),
        "inside_share": (100.0 * pd.to_numeric(table["inside_share"])).round(0),
        "partial": [yes_no(v, lang) for v in table["partial"]]}).reset_index(drop=True)
    coverage = _shown(coverage, lang, percent=("inside_share",))
    shown_rules = None
    if rules is not None and len(rules):
        marks = {True: label("app.met", lang), False: label("app.not_met", lang)}
        shown_rules = _shown(pd.DataFrame({
            "district": rules["district"], "unit": rules["unit"], "rule": rules["rule"],
            "required": [dash if v is None or pd.isna(v) else v for v in rules["required"]],
            "value": [dash if v is None or pd.isna(v) else v for v in rules["value"]],
            "ok": [marks.get(v, label("app.no_data", lang)) if v is not None and not pd.isna(v)
                   else label("app.no_data", lang) for v in rules["ok"]],
            "citation": [c if isinstance(c, str) and c else rule_citation(result.report.profile, r)
                         for c, r in zip(rules["citation"], rules.to_dict("records"))]}).astype(
                {"required": str, "value": str}), lang)
    return coverage, shown_rules


# ============================================================================ the map
#: (network length above which, km) → map options; the first that applies is used.
MAP_DETAIL = (
    (3000.0, {"simplify_m": 30.0, "max_features": 2000, "per_facility": False}),  # a metro area (Porto: 9,700 km)
    (800.0, {"simplify_m": 15.0, "max_features": 5000, "per_facility": False}),  # a large district
    (0.0, {"simplify_m": 5.0, "max_features": 20000, "per_facility": True}),  # a district (sample: 374 km)
)


def map_detail(result: Any) -> dict[str, Any]:
    """Map options that keep big runs responsive: polygon simplification and the features per layer.

    Chosen by the length of the walking network: Porto (9,700 km of ways) draws its service areas
    simplified by 30 m and at most 2,000 points per layer (a 5.6 MB map instead of 34 MB); the
    sample district (374 km) keeps 5 m, every feature and the per-facility areas.
    """
    nets = (result.inputs.get("networks") or {}).values()
    length_km = max((float(n.get("length_km", 0.0)) for n in nets), default=0.0)
    return dict(next(options for above, options in MAP_DETAIL if length_km > above))


def offline_leaflet(m):
    """Point a folium map's scripts and styles at the Leaflet bundled with the project, as data URIs.

    streamlit-folium loads the map's ``default_js``/``default_css`` into its frame; folium's are
    CDN links (Leaflet, jQuery, Bootstrap, Font Awesome). The coverage maps need only Leaflet, so
    they are replaced by Leaflet itself, inlined: the map then draws with no internet at all.
    Returns the same map.
    """
    from circles.outputs.map import leaflet_assets

    js, css, _ = leaflet_assets()  # the same copy of Leaflet that map.html inlines
    m.default_js = [("leaflet", "data:text/javascript;base64," + base64.b64encode(js.encode()).decode("ascii"))]
    m.default_css = [("leaflet_css", "data:text/css;base64," + base64.b64encode(css.encode()).decode("ascii"))]
    return m



def zip_files(files: Mapping[str, bytes]) -> bytes:
    """All files in one zip (fixed timestamps, so equal files give an equal zip)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, files[name])
    return buf.getvalue()
