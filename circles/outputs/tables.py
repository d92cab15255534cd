"""The tables of an analysis: summary.json content, access.csv, summary.csv, and the workbook's and report's tables.

Tables keep canonical column names (``coverage``, ``lon_gcj02`` ...); their headers in Chinese or
English come from `circles.outputs.labels.header` where they are written.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from circles.coords import wgs84_to_bd09, wgs84_to_gcj02
from circles.coverage import CoverageReport, gap_areas
from circles.outputs.geojson import POP_COLUMNS, json_ready
from circles.outputs.labels import check_lang, group_label, header, label, yes_no

__all__ = ["FACILITY_COLUMNS", "GAP_COLUMNS", "SUGGESTION_COLUMNS", "SUMMARY_COLUMNS", "access_table",
           "added_site_table",
           "facility_table", "gap_table", "overview_table", "rule_citation", "suggestion_table", "suggestions_dict",
           "summary_dict", "summary_table"]

#: Columns of summary.csv/xlsx (headers by `circles.outputs.labels.header`).
SUMMARY_COLUMNS = ("category", "tier", "label", "facilities", "demand_column", "demand_total", "demand_covered",
                   "uncovered", "coverage", "minutes", "mode", "speed_kmh")
#: Columns of the suggested sites' table: coordinates in WGS84, GCJ-02 (Amap, Tencent) and BD-09 (Baidu).
SUGGESTION_COLUMNS = ("rank", "category", "label", "tier", "name", "added_covered", "coverage_before",
                      "coverage_after", "lon", "lat", "lon_gcj02", "lat_gcj02", "lon_bd09", "lat_bd09")
#: Columns of the gaps table: one row per gap area, worst first within each category.
GAP_COLUMNS = ("category", "label", "rank", "district", "demand_column", "demand_uncovered", "population", "units",
               "max_minutes", "lon", "lat", "lon_gcj02", "lat_gcj02")
#: Columns of the facilities table (the ledger as read and placed on the network).
FACILITY_COLUMNS = ("name", "category", "label", "tier", "district", "address", "capacity", "lon", "lat", "snap_m",
                    "off_network", "warnings")
#: Decimals of coordinates in tables (about 1 cm), as in summary.json.
COORD_DECIMALS = 7


def summary_dict(report: CoverageReport, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The content of summary.json: the run's inputs and, per category id, the coverage figures.

    Parameters
    ----------
    report
        The coverage report.
    inputs
        The record of the run's inputs (sources, profile, options).

    Returns
    -------
    dict
        JSON-ready (NaN as None, floats rounded to 6 decimals): ``inputs``, ``horizon_min``,
        ``categories`` (with ``tiers``, ``capacity`` and ``districts`` where present),
        ``warnings`` and, with districts, ``rules``.
    """
    cats = {}
    for c in report.categories:
        cats[c.category] = {
            "label_zh": c.label_zh, "label_en": c.label_en, "facilities": c.facilities,
            "demand_column": c.demand_column, "demand_total": c.demand_total, "demand_covered": c.demand_covered,
            "coverage": round(c.coverage, 6), "minutes": c.minutes, "speed_kmh": c.speed_kmh,
            "tiers": {t.tier: {"label_zh": t.label_zh, "label_en": t.label_en, "facilities": t.facilities,
                               "mode": t.mode, "minutes": t.minutes, "speed_kmh": t.speed_kmh,
                               "demand_total": t.demand_total, "demand_covered": t.demand_covered,
                               "coverage": round(t.coverage, 6)} for t in c.tiers},
        }
        if c.category in report.capacity:
            cats[c.category]["capacity"] = dict(report.capacity[c.category])
        if report.districts is not None:
            dt = report.districts
            rows = dt[(dt["category"] == c.category) & dt.get("rule", pd.Series(index=dt.index)).isna()]
            cats[c.category]["districts"] = {
                str(r["district"]): {"facilities": r["facilities"], "demand_total": r["demand_total"],
                                     "demand_covered": r["demand_covered"], "coverage": r["coverage"]}
                for r in rows.to_dict("records")}
    out = {"inputs": dict(inputs), "horizon_min": report.horizon_min, "categories": cats,
           "warnings": list(report.warnings)}
    if getattr(report, "rules", None) is not None:  # issue 16: the rules' verdicts (circles.rules)
        out["rules"] = report.rules.summary()  # issue 16
    from circles.equity import summary_sections  # issue 16: one_stop, equity.<category>, groups.<category>

    out.update(summary_sections(report))  # issue 16
    return json_ready(out)


def dropped_table(inputs: Mapping[str, Any], lang: str = "zh") -> pd.DataFrame | None:
    """The input rows a run did not use (summary.json ``inputs.facilities_dropped``, ``population_dropped``), or None.

    One row per row not used: which input, the spreadsheet row, the name on it and the reason in
    `lang` — the list a clerk fixes and sends back.
    """
    check_lang(lang)
    rows = []
    for key, what in (("facilities_dropped", "facilities"), ("population_dropped", "population")):
        for d in inputs.get(key) or ():
            rows.append({"input": label(f"table.input_{what}", lang), "row": d.get("row"), "name": d.get("name"),
                         "reason": d.get(f"reason_{lang}") or d.get("reason")})
    return pd.DataFrame(rows, columns=["input", "row", "name", "reason"]) if rows else None


def zone_table(inputs: Mapping[str, Any]) -> pd.DataFrame | None:
    """Where each zone's population went (``inputs["population_zones"]`` of summary.json), or None without zones.

    One row per zone, by name: its total, the share of its area inside the data, the people placed
    (on buildings, on roads), those outside the data (not placed) and those the density cap moved.
    """
    zones = inputs.get("population_zones")
    if not zones or not isinstance(zones, (list, tuple)):
        return None
    table = pd.DataFrame(list(zones))
    columns = ["zone", "total", "inside_share", "placed", "on_buildings", "on_roads", "outside", "moved_by_cap"]
    return table.reindex(columns=[c for c in columns if c in table])


def group_table(report: CoverageReport, lang: str = "zh") -> pd.DataFrame:
    """Coverage per category and need group (60+, 80+, 失能 …): people, covered, the share, whether the group
    needs step-free access (then only facilities passing the lift rule count) and the share estimated."""
    zh = check_lang(lang) == "zh"
    rows = [{"category": c.label_zh if zh else c.label_en, "group": g.label_zh if zh else g.label_en,
             "demand_total": g.demand_total, "demand_covered": g.demand_covered,
             "uncovered": g.demand_total - g.demand_covered, "coverage": g.coverage,
             "step_free": yes_no(g.step_free, lang), "estimated_share": g.estimated}
            for c in report.categories for g in c.groups]
    return pd.DataFrame(rows, columns=["category", "group", "demand_total", "demand_covered", "uncovered", "coverage",
                                       "step_free", "estimated_share"])


def equity_table(report: CoverageReport, lang: str = "zh") -> pd.DataFrame:
    """One-stop access and equity for reading (the workbook, the report, the app), from `circles.equity`.

    The first row is the one-stop share: residents who reach every category within its threshold.
    Then per category: its share covered, the population-weighted Gini of the minutes to the
    nearest facility (0 = everyone equally near), the share of people with no facility within the
    horizon, the mean minutes and the districts with most people uncovered. Canonical column names
    (`circles.outputs.labels.header` gives the words), words in cells in `lang`.
    """
    from circles.equity import equity, one_stop

    check_lang(lang)
    zh = lang == "zh"
    stop = one_stop(report)
    rows = [{"category": label("table.one_stop", lang), "demand_column": group_label(stop.demand_column, lang),
             "coverage": stop.coverage, "gini": None, "zero_access_share": None, "mean_minutes": None,
             "worst_districts": None}]
    figures = equity(report)
    sep = "、" if zh else ", "
    for c in report.categories:
        e = figures[c.category]
        rows.append({"category": c.label_zh if zh else c.label_en, "demand_column": group_label(c.demand_column, lang),
                     "coverage": c.coverage, "gini": e.gini, "zero_access_share": e.zero_access_share,
                     "mean_minutes": e.mean_minutes,
                     "worst_districts": sep.join(f"{d['district']} ({d['uncovered']:,.0f})"
                                                 for d in e.worst_districts[:5]) or None})
    return pd.DataFrame(rows, columns=["category", "demand_column", "coverage", "gini", "zero_access_share",
                                       "mean_minutes", "worst_districts"])


def suggestions_dict(suggestions: Iterable[Any]) -> dict[str, Any]:
    """summary.json ``suggestions``: per category, the sites and coverage before/after.

    `suggestions` are `circles.siting.SitingResult` objects; their timings are left out, so
    identical runs give identical files.
    """
    out = {}
    for r in suggestions:
        d = r.summary()
        for k in ("solve_s", "timings"):
            d.pop(k, None)
        out[r.category] = d
    return json_ready(out)


def access_table(report: CoverageReport) -> pd.DataFrame:
    """access.csv: one row per demand unit: id, lon, lat, population columns, minutes per category.

    Minutes are rounded to 0.01 and empty (NaN) where no facility is reached within the
    horizon; coordinates to 6 decimals (about 0.1 m).
    """
    d = report.demand
    cols = {"demand_id": d["demand_id"] if "demand_id" in d else pd.Series(np.arange(len(d)), index=d.index)}
    for c in ("name", "district"):
        if c in d:
            cols[c] = d[c]
    cols["lon"] = d["lon"].round(6)
    cols["lat"] = d["lat"].round(6)
    for c in (*POP_COLUMNS, "households"):
        if c in d:
            cols[c] = d[c]
    for c in report.categories:
        cols[f"minutes_{c.category}"] = d[f"minutes_{c.category}"].round(2)
    for c in report.categories:
        if f"capacity_per_1000_{c.category}" in d:
            cols[f"capacity_per_1000_{c.category}"] = d[f"capacity_per_1000_{c.category}"]
    cols["inside"] = d["inside"]
    cols["off_network"] = d["off_network"]
    return pd.DataFrame(cols)


def summary_table(report: CoverageReport, lang: str = "zh") -> pd.DataFrame:
    """summary.csv: one row per category and per tier, headers in `lang` (``"zh"`` or ``"en"``).

    Columns are `SUMMARY_COLUMNS`; a category's own row has an empty tier; coverage is a share
    (0–1) rounded to 4 decimals.
    """
    return overview_table(report, lang).rename(columns={c: header(c, lang) for c in SUMMARY_COLUMNS})


def overview_table(report: CoverageReport, lang: str = "zh") -> pd.DataFrame:
    """`summary_table` with its canonical column names (`SUMMARY_COLUMNS`), labels in `lang`."""
    zh = check_lang(lang) == "zh"
    rows = []
    for c in report.categories:
        modes = "/".join(dict.fromkeys(label(f"mode.{t.mode}", lang) for t in c.tiers))
        rows.append((c.category, "", c.label_zh if zh else c.label_en, c.facilities, c.demand_column,
                     c.demand_total, c.demand_covered, c.demand_total - c.demand_covered, round(c.coverage, 4),
                     c.minutes, modes, c.speed_kmh))
        for t in c.tiers:
            rows.append((c.category, t.tier, t.label_zh if zh else t.label_en, t.facilities, c.demand_column,
                         t.demand_total, t.demand_covered, t.demand_total - t.demand_covered,
                         round(t.coverage, 4), t.minutes, label(f"mode.{t.mode}", lang), t.speed_kmh))
    return pd.DataFrame.from_records(rows, columns=list(SUMMARY_COLUMNS))


def _coords(lon: Any, lat: Any) -> dict[str, np.ndarray]:
    """WGS84 lon/lat rounded to `COORD_DECIMALS`, and the same points in GCJ-02 and BD-09."""
    lon = np.round(np.asarray(lon, dtype=float), COORD_DECIMALS)
    lat = np.round(np.asarray(lat, dtype=float), COORD_DECIMALS)
    glon, glat = wgs84_to_gcj02(lon, lat)
    blon, blat = wgs84_to_bd09(lon, lat)
    r = (lambda a: np.round(np.asarray(a, dtype=float), COORD_DECIMALS))
    return {"lon": lon, "lat": lat, "lon_gcj02": r(glon), "lat_gcj02": r(glat), "lon_bd09": r(blon),
            "lat_bd09": r(blat)}


def suggestion_table(suggestions: Iterable[Any], *, profile: Any = None, lang: str = "zh",
                     named: bool = True) -> pd.DataFrame:
    """Suggested sites, one row per site (`SUGGESTION_COLUMNS`), rank order within each category.

    Parameters
    ----------
    suggestions
        `circles.siting.SitingResult` objects.
    profile
        The run's profile: category and tier labels (None: their ids).
    lang
        Language of the labels.
    named
        Keep the candidates' names (a premises list); False for points generated along the
        streets, whose names ("gap point 12") mean nothing to a reader: the site is its rank.

    Returns
    -------
    pandas.DataFrame
        ``coverage_before`` is the category's share before the site (after the sites ranked
        above it), ``coverage_after`` with it; coordinates in WGS84, GCJ-02 and BD-09.
    """
    zh = check_lang(lang) == "zh"
    frames = []
    for r in suggestions:
        sites = r.sites.sort_values("rank", kind="stable")
        if not len(sites):
            continue
        after = sites["coverage_after"].to_numpy(float)
        before = np.concatenate([[r.coverage_before], after[:-1]])
        cat_label, tier_label = _labels(profile, r.category, r.tier, zh)
        frames.append(pd.DataFrame({
            "rank": sites["rank"].astype(int).to_numpy(), "category": r.category, "label": cat_label,
            "tier": tier_label, "name": sites["name"].astype(str).to_numpy() if named else None,
            "added_covered": sites["added_covered"].to_numpy(float), "coverage_before": before,
            "coverage_after": after, **_coords(sites["lon"], sites["lat"])}))
    if not frames:
        return pd.DataFrame(columns=list(SUGGESTION_COLUMNS))
    return pd.concat(frames, ignore_index=True)[list(SUGGESTION_COLUMNS)]


def added_site_table(sites: pd.DataFrame, *, profile: Any = None, lang: str = "zh") -> pd.DataFrame:
    """Sites added to a scenario (``category``, ``tier``, ``rank``, ``name``, ``added_covered``, a point
    geometry or ``lon``/``lat``) in the columns of `suggestion_table` (no coverage before/after)."""
    zh = check_lang(lang) == "zh"
    if sites is None or not len(sites):
        return pd.DataFrame(columns=list(SUGGESTION_COLUMNS))
    if "lon" in sites and "lat" in sites:
        lon, lat = sites["lon"].to_numpy(float), sites["lat"].to_numpy(float)
    else:
        lon, lat = shapely.get_x(sites.geometry.values), shapely.get_y(sites.geometry.values)
    words = [_labels(profile, c, t if isinstance(t, str) else None, zh)
             for c, t in zip(sites["category"], sites["tier"] if "tier" in sites else [None] * len(sites))]
    col = (lambda name: sites[name].to_numpy() if name in sites else np.full(len(sites), np.nan))
    return pd.DataFrame({
        "rank": sites["rank"].to_numpy() if "rank" in sites else np.arange(1, len(sites) + 1),
        "category": sites["category"].to_numpy(), "label": [w[0] for w in words], "tier": [w[1] for w in words],
        "name": sites["name"].to_numpy() if "name" in sites else None, "added_covered": col("added_covered"),
        "coverage_before": np.nan, "coverage_after": np.nan, **_coords(lon, lat)})[list(SUGGESTION_COLUMNS)]


def _labels(profile: Any, category: str, tier: str | None, zh: bool) -> tuple[str, str | None]:
    """A category's and a tier's labels from the profile (their ids when the profile does not know them)."""
    try:
        cat = profile.category(category)
    except Exception:  # noqa: BLE001 - no profile, or a category it does not list
        return category, tier
    return (cat.label_zh if zh else cat.label_en), _tier_words(cat, tier, zh)


def gap_table(report: CoverageReport, *, lang: str = "zh", districts: gpd.GeoDataFrame | None = None,
              district_col: str = "name", top: int | None = None) -> pd.DataFrame:
    """Gap areas of every category, worst first (`GAP_COLUMNS`): the people left uncovered and where.

    Parameters
    ----------
    report
        The coverage report (`circles.coverage.gap_areas` per category).
    lang
        Language of the category labels.
    districts, district_col
        District polygons (WGS84) and their name column: each gap is named by the districts it
        lies in, most of its area first (joined by ``、``).
    top
        Keep only the `top` worst gaps of each category.

    Returns
    -------
    pandas.DataFrame
        ``lon``/``lat`` (and GCJ-02) of a point inside the gap area (`shapely.point_on_surface`).
    """
    zh = check_lang(lang) == "zh"
    frames = []
    for c in report.categories:
        gaps = gap_areas(report, c.category)
        if top is not None:
            gaps = gaps.head(top)
        if not len(gaps):
            continue
        points = shapely.point_on_surface(np.asarray(gaps.geometry.values, dtype=object))
        frames.append(pd.DataFrame({
            "category": c.category, "label": c.label_zh if zh else c.label_en, "rank": gaps["rank"].astype(int),
            "district": _districts_of(gaps.geometry, districts, district_col),
            "demand_column": c.demand_column, "demand_uncovered": gaps["demand_uncovered"].to_numpy(float),
            "population": gaps["population"].to_numpy(float) if "population" in gaps else np.nan,
            "units": gaps["units"].astype(int), "max_minutes": gaps["max_minutes"].to_numpy(float),
            **{k: v for k, v in _coords(shapely.get_x(points), shapely.get_y(points)).items() if "bd09" not in k}}))
    if not frames:
        return pd.DataFrame(columns=list(GAP_COLUMNS))
    return pd.concat(frames, ignore_index=True)[list(GAP_COLUMNS)]


def _districts_of(geoms: gpd.GeoSeries, districts: gpd.GeoDataFrame | None, col: str) -> list[str | None]:
    """The districts each geometry lies in, most of its area first (``、`` between), or None."""
    if districts is None or col not in districts or not len(geoms):
        return [None] * len(geoms)
    polys = districts.to_crs("EPSG:4326")
    names = polys[col].astype(str).tolist()
    tree = shapely.STRtree(np.asarray(polys.geometry.values, dtype=object))
    geom_arr = np.asarray(geoms.values, dtype=object)
    pairs = tree.query(geom_arr, predicate="intersects")
    found: dict[int, list[tuple[float, str]]] = {}
    for g, d in zip(pairs[0].tolist(), pairs[1].tolist()):
        area = shapely.area(shapely.intersection(geom_arr[g], polys.geometry.values[d]))
        found.setdefault(g, []).append((-float(area), names[d]))
    return ["、".join(n for _, n in sorted(found[i])) if i in found else None for i in range(len(geom_arr))]


def facility_table(report: CoverageReport, *, lang: str = "zh",
                   dropped: Iterable[Mapping[str, Any]] = ()) -> pd.DataFrame:
    """The facilities as read and placed (`FACILITY_COLUMNS`): category and tier in words, distance to the street.

    ``warnings`` says, per facility, what a planner should check: too far from the network to be
    counted, no tier given (counted as the category's lowest), the same place as another
    facility of the category, a category the profile does not assess.

    `dropped` are the ledger rows the run did not use (summary.json ``inputs.facilities_dropped``:
    `circles.inputs.DroppedRow.to_dict` records with ``row``, ``name``, ``reason_zh``,
    ``reason_en``). They follow the facilities with their name and, in ``warnings``, the row and
    why (``未使用：第 3 行 坐标为空``), so the table accounts for every row of the ledger.
    """
    zh = check_lang(lang) == "zh"
    fac = report.facilities
    n = len(fac)
    cats = {c.id: c for c in report.profile.categories} if report.profile is not None else {}
    col = (lambda name, default=None: fac[name].tolist() if name in fac else [default] * n)
    category, tier, snap = col("category"), col("tier"), col("snap_m", np.nan)
    off = [bool(v) for v in col("off_network", False)]
    lon, lat = fac["lon"].to_numpy(float), fac["lat"].to_numpy(float)
    dup = pd.DataFrame({"c": category, "x": np.round(lon, 5), "y": np.round(lat, 5)}).duplicated(keep=False)
    labels, tiers, warnings = [], [], []
    for k in range(n):
        cat = cats.get(category[k])
        labels.append((cat.label_zh if zh else cat.label_en) if cat else category[k])
        tiers.append(_tier_words(cat, tier[k], zh))
        notes = []
        if off[k]:
            notes.append(label("map.off_network", lang, m=float(snap[k])))
        if cat is None:
            notes.append(label("table.unassessed", lang))
        elif tier[k] is None or (isinstance(tier[k], float) and math.isnan(tier[k])):
            notes.append(label("table.no_tier", lang, tier=_tier_words(cat, cat.tiers[-1].id, zh)))
        if bool(dup.iloc[k]):
            notes.append(label("table.same_place", lang))
        warnings.append("；".join(notes) if zh else "; ".join(notes))
    used = pd.DataFrame({
        "name": col("name"), "category": category, "label": labels, "tier": tiers, "district": col("district"),
        "address": col("address"), "capacity": col("capacity", np.nan), "lon": np.round(lon, COORD_DECIMALS),
        "lat": np.round(lat, COORD_DECIMALS), "snap_m": np.round(np.asarray(snap, dtype=float), 1),
        "off_network": off, "warnings": warnings})[list(FACILITY_COLUMNS)]
    reason = "reason_zh" if zh else "reason_en"
    rows_not_used = [{"name": d.get("name") or None, "off_network": None,
                      "warnings": label("table.not_used", lang, row=d["row"], reason=d[reason])} for d in dropped]
    if not rows_not_used:
        return used
    return pd.concat([used, pd.DataFrame(rows_not_used, columns=list(FACILITY_COLUMNS))], ignore_index=True)


def _tier_words(cat: Any, tier_id: Any, zh: bool) -> Any:
    if cat is None or tier_id is None or (isinstance(tier_id, float) and math.isnan(tier_id)):
        return tier_id if isinstance(tier_id, str) else None
    for t in cat.tiers:
        if t.id == tier_id:
            return t.label_zh if zh else t.label_en
    return tier_id


def rule_citation(profile: Any, row: Mapping[str, Any]) -> str:
    """The standard or document a rule check cites: the row's own ``citation``, else the profile rule's source.

    The profile's rule is found by category, kind (``rule``) and label (Chinese or English), so
    rule tables with and without ids both work.
    """
    own = row.get("citation")
    if isinstance(own, str) and own:
        return own
    for rule in getattr(profile, "rules", ()):
        same_id = row.get("rule_id") is not None and getattr(rule, "id", None) == row.get("rule_id")
        same = rule.category == row.get("category") and rule.kind == row.get("rule") and \
            row.get("label") in (rule.label_zh, rule.label_en)
        if same_id or same:
            return rule.source
    return ""
