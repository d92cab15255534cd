"""Every user-facing word of the outputs in Chinese and English: table headers, demand groups, status words, map text.

One table, `LABELS`, maps a key to its ``(中文, English)`` pair. Keys are grouped by a prefix:

- ``header.<column>``: column headers of tables and workbooks (summary, districts, the app's tables);
- ``group.<demand column>``: the demand groups (``pop_60plus`` → 60岁及以上老人 / people aged 60+);
- ``status.<status>``, ``yes``, ``no``: words in cells;
- ``sheet.<name>``: worksheet names;
- ``map.<key>``: the coverage map and the batch choropleth (layer names, legend, tooltips);
  ``{name}`` fields are filled by `label`.

A demand group reads the same in a header cell and inside a sentence ("1,200 名60岁及以上老人在15分钟内可达"),
so there is one wording per group. Labels are plain text: what reaches HTML is escaped by
`circles.outputs.safety.html_text` where it is used, and what reaches CSV/XLSX is neutralised there.

Example
-------
>>> header("demand_covered", "zh"), group_label("pop_60plus", "en"), label("status.failed", "zh")
('覆盖人口', 'people aged 60+', '失败')
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

import pandas as pd

from circles.errors import InputError

__all__ = ["LABELS", "LANGS", "check_lang", "group_label", "header", "headers", "label", "sheet_name",
           "status_label", "yes_no"]

LANGS = ("zh", "en")
OSM_ATTRIBUTION = "© OpenStreetMap contributors"

_LABELS: dict[str, tuple[str, str]] = {
    # ---------------------------------------------------------------- column headers (tables, workbooks, app)
    "header.district": ("区划", "district"),
    "header.category": ("类别", "category"),
    "header.tier": ("层级", "tier"),
    "header.label": ("名称", "label"),
    "header.status": ("状态", "status"),
    "header.facilities": ("设施数", "facilities"),
    "header.demand_column": ("服务人群", "demand group"),
    "header.demand_total": ("服务人口", "demand total"),
    "header.demand_covered": ("覆盖人口", "demand covered"),
    "header.uncovered": ("未覆盖人口", "uncovered"),
    "header.coverage": ("覆盖率", "coverage"),  # a share 0–1
    "header.coverage_pct": ("覆盖率(%)", "coverage (%)"),  # the same in percent
    "header.minutes": ("时间阈值(分钟)", "minutes"),
    "header.speed_kmh": ("步速(km/h)", "speed (km/h)"),
    "header.rule": ("规则", "rule"),
    "header.required": ("要求", "required"),
    "header.value": ("实际", "value"),
    "header.rule_ok": ("是否达标", "met"),
    "header.rules_ok": ("规则达标", "rules met"),
    "header.rules": ("规则检查", "rule checks"),
    "header.cause": ("失败原因", "cause"),
    "header.folder": ("输出文件夹", "folder"),
    "header.inside_share": ("数据覆盖比例", "share inside the data"),
    "header.partial": ("部分在数据外", "partly outside the data"),
    "header.ok": ("是否达标", "met"),
    # ---------------------------------------------------------------- demand groups (one wording everywhere)
    "group.pop_60plus": ("60岁及以上老人", "people aged 60+"),
    "group.pop_0_17": ("0–17岁儿童", "children aged 0–17"),
    "group.population": ("常住人口", "residents"),
    # ---------------------------------------------------------------- words in cells
    "status.ok": ("完成", "ok"),
    "status.failed": ("失败", "failed"),
    "status.skipped": ("已完成（续跑跳过）", "skipped"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    # ---------------------------------------------------------------- worksheet names (at most 31 characters)
    "sheet.summary": ("汇总", "summary"),
    "sheet.districts": ("分街道", "districts"),
    "sheet.batch": ("分区汇总", "districts"),
    # ---------------------------------------------------------------- the coverage map
    "map.title": ("15分钟服务圈：覆盖情况", "15-minute service circles: coverage"),
    "map.legend": ("图例", "Legend"),
    "map.districts": ("街道/乡镇边界", "District borders"),
    "map.facilities": ("设施：{tier}", "Facilities: {tier}"),
    "map.other_facilities": ("其他设施", "Other facilities"),
    "map.areas": ("{cat}：{minutes}分钟服务范围", "{cat}: {minutes}-min service area"),
    "map.catchments": ("{cat}：服务片区（就近设施）", "{cat}: catchments (nearest facility)"),
    "map.facility_areas": ("{cat}：各设施服务范围", "{cat}: per-facility service areas"),
    "map.gaps": ("{cat}：覆盖缺口", "{cat}: coverage gaps"),
    "map.uncovered": ("{cat}：未覆盖居民点", "{cat}: uncovered residents"),
    "map.suggestions": ("建议新增站点", "Suggested new sites"),
    "map.coverage": ("{share}：{covered} / {total} 名{group}在{minutes}分钟内可达，{n} 处设施",
                     "{share}: {covered} of {total} {group} within {minutes} min, {n} facilities"),
    "map.sym_facility": ("设施（圆越大层级越高）", "Facility (larger = higher tier)"),
    "map.sym_unit": ("未覆盖居民点（圆面积∝人数）", "Uncovered residents (circle area ∝ people)"),
    "map.sym_gap": ("覆盖缺口（未覆盖居民点周边）", "Coverage gap (around uncovered residents)"),
    "map.sym_area": ("步行服务范围", "Walking service area"),
    "map.sym_site": ("建议新增站点（数字为排序）", "Suggested new site (number = rank)"),
    "map.sym_district": ("街道/乡镇边界", "District border"),
    "map.capped": ("{layer}：仅显示最重要的 {shown} 个，共 {total} 个",
                   "{layer}: showing the {shown} most important of {total}"),
    "map.roads": ("道路数据 " + OSM_ATTRIBUTION, "Road data " + OSM_ATTRIBUTION),
    "map.tier": ("层级", "tier"),
    "map.capacity": ("容量", "capacity"),
    "map.district": ("所属", "district"),
    "map.field": ("{field}：{value}", "{field}: {value}"),
    "map.off_network": ("距路网 {m:.0f} 米，未计入", "{m:.0f} m from the road network, not counted"),
    "map.minutes_to": ("最近设施：步行 {minutes:.1f} 分钟", "nearest facility: {minutes:.1f} min walk"),
    "map.unreachable": ("{horizon:g} 分钟内无可达设施", "no facility within {horizon:g} min"),
    "map.people": ("{group}：{n} 人", "{group}: {n}"),
    "map.population": ("常住人口：{n} 人", "residents: {n}"),
    "map.gap_title": ("{cat} 覆盖缺口 第{rank}名", "{cat} gap #{rank}"),
    "map.gap_people": ("未覆盖{group}：{n} 人（{units} 个居民点）", "uncovered {group}: {n} ({units} units)"),
    "map.gap_minutes": ("最远步行 {minutes:.1f} 分钟", "longest walk {minutes:.1f} min"),
    "map.gap_far": ("部分居民点 {horizon:g} 分钟内无可达设施", "some units have no facility within {horizon:g} min"),
    "map.area_union": ("{cat}：{minutes}分钟步行可达范围", "{cat}: reached within {minutes} min walk"),
    "map.area_ring": ("{cat}：步行 {minutes} 分钟", "{cat}: {minutes} min walk"),
    "map.area_catchment": ("{name}：服务片区（离此设施最近）", "{name}: catchment (nearest facility)"),
    "map.area_facility": ("{name}：{minutes}分钟步行可达范围", "{name}: reached within {minutes} min walk"),
    "map.site_title": ("建议新增 第{rank}名：{cat}", "Suggested site #{rank}: {cat}"),
    "map.site_added": ("可新增覆盖 {n} 名{group}", "adds {n} {group} covered"),
    "map.unnamed": ("（未命名）", "(unnamed)"),
    "map.tiles_tianditu": ("天地图", "Tianditu"),
    # ---------------------------------------------------------------- the batch choropleth
    "map.choropleth_title": ("各街道（乡镇）覆盖率", "Coverage by district"),
    "map.choropleth_layer": ("{cat}覆盖率", "{cat} coverage"),
    "map.choropleth_tip": ("{district}：{cat} {share}", "{district}: {cat} {share}"),
    "map.choropleth_failed": ("{district}：{cat} 失败 {cause}", "{district}: {cat} failed {cause}"),
    "map.choropleth_failed_key": ("分析失败", "failed"),
    "map.attribution": (OSM_ATTRIBUTION, OSM_ATTRIBUTION),
    "map.no_geometry": ("没有可绘制的区划边界", "no district geometry"),
}

#: key → (中文, English); read-only.
LABELS: Mapping[str, tuple[str, str]] = MappingProxyType(_LABELS)


def check_lang(lang: Any) -> str:
    """`lang` when it is ``"zh"`` or ``"en"``; otherwise `InputError` naming the value and the choices."""
    if lang not in LANGS:
        raise InputError(f"lang {lang!r} is not supported; use zh or en (e.g. --lang zh)")
    return lang


def label(key: str, lang: str, **values: Any) -> str:
    """The label `key` in `lang`, with ``{name}`` fields filled from `values`.

    Parameters
    ----------
    key
        A key of `LABELS`, e.g. ``"map.gaps"`` or ``"header.coverage"``.
    lang
        ``"zh"`` or ``"en"``.
    **values
        Values of the ``{name}`` fields (formatted with `str.format`, so ``{m:.0f}`` works).

    Returns
    -------
    str
        Plain text: escape it with `circles.outputs.safety.html_text` before it goes into HTML.

    Examples
    --------
    >>> label("map.gaps", "en", cat="Meal points")
    'Meal points: coverage gaps'
    """
    pair = _LABELS[key]
    text = pair[0] if check_lang(lang) == "zh" else pair[1]
    return text.format(**values) if values else text


def header(column: str, lang: str) -> str:
    """The header of table column `column` in `lang`; a column without a label keeps its name.

    >>> header("coverage", "zh"), header("minutes_elderly", "zh")
    ('覆盖率', 'minutes_elderly')
    """
    return _label_or(f"header.{column}", lang, column)


def headers(columns: Iterable[str], lang: str) -> dict[str, str]:
    """``{column: header}`` for `columns` (for `pandas.DataFrame.rename`)."""
    return {c: header(c, lang) for c in columns}


def group_label(demand_column: str, lang: str) -> str:
    """The demand group of `demand_column` (``pop_60plus``, ``pop_0_17``, ``population``) in `lang`.

    Any other column (a profile may count its own) is shown by its name.

    >>> group_label("pop_0_17", "zh")
    '0–17岁儿童'
    """
    return _label_or(f"group.{demand_column}", lang, demand_column)


def status_label(status: str, lang: str) -> str:
    """A batch district's status (``ok``, ``failed``, ``skipped``) in `lang`."""
    return _label_or(f"status.{status}", lang, status)


def yes_no(value: Any, lang: str) -> str:
    """``是``/``否`` (``yes``/``no``) for a truth value; ``""`` for None or a missing value."""
    check_lang(lang)
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    return label("yes" if bool(value) else "no", lang)


def sheet_name(key: str, lang: str) -> str:
    """A worksheet name (``summary``, ``districts``, ``batch``) in `lang`."""
    return label(f"sheet.{key}", lang)


def _label_or(key: str, lang: str, fallback: Any) -> str:
    check_lang(lang)
    return label(key, lang) if key in _LABELS else str(fallback)
