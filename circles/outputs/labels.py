"""Every user-facing word of the outputs in Chinese and English: table headers, demand groups, status words, map text.

One table, `LABELS`, maps a key to its ``(中文, English)`` pair. Keys are grouped by a prefix:

- ``header.<column>``: column headers of tables and workbooks (summary, districts, the app's tables);
- ``group.<demand column>``: the demand groups (``pop_60plus`` → 60岁及以上老人 / people aged 60+);
- ``status.<status>``, ``yes``, ``no``: words in cells;
- ``sheet.<name>``: worksheet names;
- ``map.<key>``: the coverage map and the batch choropleth (layer names, legend, tooltips);
- ``table.<key>``, ``app.<key>``: words in table cells (the workbook's, the app's);
- ``report.<key>``: the Word reports' headings and sentences.
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
    "header.speed_kmh": ("速度(km/h，空=按道路等级)", "speed (km/h; blank = by road class)"),
    "header.mode": ("出行方式", "travel mode"),
    "mode.walk": ("步行", "walk"),
    "mode.bike": ("自行车", "bicycle"),
    "mode.ebike": ("电动自行车/三轮车", "e-bike / e-tricycle"),
    "mode.drive": ("驾车/公交（道路）", "car / bus (roads)"),
    "header.rule": ("规则", "rule"),
    "header.zone": ("人口分区", "zone"),
    "header.input": ("输入文件", "input"),
    "header.row": ("行号", "row"),
    "header.total": ("总人口", "total"),
    "header.placed": ("已分配（数据范围内）", "placed (inside the data)"),
    "header.on_buildings": ("分配到建筑", "on buildings"),
    "header.on_roads": ("分配到道路", "on roads"),
    "header.outside": ("数据范围外（未分配）", "outside the data (not placed)"),
    "header.moved_by_cap": ("超密度上限改按道路分配", "moved by the density cap"),
    "header.group": ("服务人群", "group"),
    "header.step_free": ("需无障碍（电梯）", "needs step-free access"),
    "header.estimated_share": ("估算比例", "share estimated"),
    "header.gini": ("基尼系数（步行时间）", "Gini of minutes"),
    "header.zero_access_share": ("无设施可达人口比例", "share with no facility in reach"),
    "header.mean_minutes": ("平均时间(分钟)", "mean minutes"),
    "header.worst_districts": ("未覆盖人口最多的街道（人数）", "districts with most uncovered (people)"),
    "header.meal_point": ("助餐点", "meal point"),
    "header.kitchen": ("中央厨房", "central kitchen"),
    "header.reason": ("原因", "reason"),
    "header.travel_minutes": ("用时(分钟)", "minutes"),
    "header.visit_demand": ("需上门探访人数", "people needing visits"),
    "header.estimated": ("是否估算", "estimated"),
    "header.station": ("最近站点", "nearest station"),
    "header.unit": ("检查对象", "checked unit"),
    "header.scope": ("检查范围", "scope"),
    "header.scope.facility": ("设施", "facility"),
    "header.scope.community": ("社区", "community"),
    "header.scope.street": ("街道（乡镇）", "street / township"),
    "header.scope.county": ("县（区）", "county / district"),
    "header.scope.city": ("市", "city"),
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
    "header.rank": ("排序", "rank"),
    "header.name": ("名称", "name"),
    "header.lon": ("经度（WGS84）", "longitude (WGS84)"),
    "header.lat": ("纬度（WGS84）", "latitude (WGS84)"),
    "header.lon_gcj02": ("经度（GCJ-02 高德/腾讯）", "longitude (GCJ-02, Amap/Tencent)"),
    "header.lat_gcj02": ("纬度（GCJ-02 高德/腾讯）", "latitude (GCJ-02, Amap/Tencent)"),
    "header.lon_bd09": ("经度（BD-09 百度）", "longitude (BD-09, Baidu)"),
    "header.lat_bd09": ("纬度（BD-09 百度）", "latitude (BD-09, Baidu)"),
    "header.added_covered": ("新增覆盖人数", "people newly covered"),
    "header.coverage_before": ("新增前覆盖率", "coverage before"),
    "header.coverage_after": ("新增后覆盖率", "coverage after"),
    "header.demand_uncovered": ("未覆盖人口", "people uncovered"),
    "header.population": ("常住人口", "residents"),
    "header.units": ("居民点数", "units"),
    "header.max_minutes": ("最远步行(分钟)", "longest walk (min)"),
    "header.address": ("地址", "address"),
    "header.capacity": ("容量", "capacity"),
    "header.snap_m": ("距道路(米)", "distance to the street (m)"),
    "header.off_network": ("未接入路网", "off the network"),
    "header.warnings": ("提示", "warnings"),
    "header.citation": ("依据（标准条款）", "standard cited"),
    "header.location_wgs84": ("位置（WGS84）", "location (WGS84)"),
    "header.location_gcj02": ("位置（GCJ-02 高德/腾讯）", "location (GCJ-02, Amap/Tencent)"),
    "header.location_bd09": ("位置（BD-09 百度）", "location (BD-09, Baidu)"),
    "header.people_change": ("覆盖人数变化", "change in people covered"),
    "header.covered_before": ("现状覆盖人口", "covered now"),
    "header.covered_after": ("方案覆盖人口", "covered in the scenario"),
    "header.coverage_now": ("现状覆盖率", "coverage now"),
    "header.coverage_scenario": ("方案覆盖率", "coverage in the scenario"),
    "header.scenario": ("方案", "scenario"),
    "header.sites_added": ("新增站点", "sites added"),
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
    "table.one_stop": ("一站式（全部类别）", "one-stop (every category)"),
    "table.input_facilities": ("设施台账", "facility ledger"),
    "table.input_population": ("人口数据", "population"),
    "sheet.summary": ("总览", "overview"),
    "sheet.districts": ("分街道", "districts"),
    "sheet.batch": ("分街道", "districts"),
    "sheet.gaps": ("缺口", "gaps"),
    "sheet.suggestions": ("建议选址", "suggested sites"),
    "sheet.facilities": ("设施", "facilities"),
    "sheet.rules": ("规则检查", "rule checks"),
    "sheet.groups": ("分人群", "need groups"),
    "sheet.equity": ("一站式与公平", "one-stop and equity"),
    "sheet.zones": ("人口分配", "population by zone"),
    "sheet.dropped": ("未使用的行", "rows not used"),
    "sheet.delivery": ("送餐配送", "meal delivery"),
    "sheet.home_visits": ("上门探访", "home visits"),
    # ---------------------------------------------------------------- words in table cells
    "table.unassessed": ("类别未在配置中评估", "category not assessed by the profile"),
    "table.no_tier": ("未填层级，按{tier}计", "no tier given: counted as {tier}"),
    "table.same_place": ("与同类设施位置重复", "same place as another facility of the category"),
    "table.not_used": ("未使用：第 {row} 行 {reason}", "not used: row {row}, {reason}"),
    "table.partial": ("部分在数据范围外", "partly outside the data"),
    "table.no_data": ("无数据", "no data"),
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
    "map.one_stop": ("未能一站式可达的居民点（缺少某类设施）", "Residents without one-stop access"),
    "map.one_stop_no": ("{n} 人；时限内缺：{missing}", "{n} residents; out of reach: {missing}"),
    "map.one_stop_cell": ("{n} 人（{units} 个居民点，{cell} 米网格）；时限内最多缺 {k} 类设施",
                          "{n} residents ({units} units, {cell} m cell); up to {k} services out of reach"),
    "map.delivery_links": ("送餐配送（中央厨房→助餐点）", "Meal delivery (kitchen → meal point)"),
    "map.delivery_gaps": ("配送范围外的助餐点", "Meal points beyond delivery reach"),
    "map.visit_gaps": ("上门探访范围外的居民点", "Homes beyond home-visit reach"),
    "map.delivery_tip": ("中央厨房：{kitchen}，车程 {minutes} 分钟", "Kitchen: {kitchen}, {minutes} min by road"),
    "map.delivery_gap_tip": ("未能按时配送：{reason}（{minutes} 分钟）", "Not reached in time: {reason} ({minutes} min)"),
    "map.visit_tip": ("需上门探访 {n} 人，最近站点 {minutes} 分钟", "{n} people needing visits, nearest station {minutes} min"),
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
    "map.site_title": ("建议新增 {rank}", "Suggested site {rank}"),
    "map.site_added": ("可新增覆盖 {n} 名{group}", "adds {n} {group} covered"),
    "map.site_candidate": ("候选点：{name}", "candidate: {name}"),
    "map.site_coverage": ("覆盖率 {before} → {after}", "coverage {before} → {after}"),
    "map.site_wgs84": ("WGS84（GPS、天地图）：{lon}, {lat}", "WGS84 (GPS, Tianditu): {lon}, {lat}"),
    "map.site_gcj02": ("GCJ-02（高德、腾讯）：{lon}, {lat}", "GCJ-02 (Amap, Tencent): {lon}, {lat}"),
    "map.site_bd09": ("BD-09（百度）：{lon}, {lat}", "BD-09 (Baidu): {lon}, {lat}"),
    "map.unnamed": ("（未命名）", "(unnamed)"),
    "map.tiles_tianditu": ("天地图", "Tianditu"),
    "map.streets": ("道路", "Streets"),
    "map.layers": ("图层", "Layers"),
    "map.group_general": ("道路、边界与站点", "Streets, borders, sites"),
    "map.group_outreach": ("一站式、送餐与探访", "One-stop, meal delivery, home visits"),
    "map.basemaps": ("底图（需联网）", "Basemaps (online)"),
    "map.base_none": ("无底图（离线）", "None (offline)"),
    "map.base_osm": ("OpenStreetMap", "OpenStreetMap"),
    "map.base_tianditu": ("天地图", "Tianditu 天地图"),
    "map.base_amap": ("高德地图（图层按GCJ-02偏移）", "Amap 高德 (layers shifted to GCJ-02)"),
    "map.base_custom": ("自定义底图", "Custom basemap"),
    "map.tianditu_key": ("天地图需密钥：设置环境变量 CIRCLES_TIANDITU_KEY",
                         "Tianditu needs a key: set CIRCLES_TIANDITU_KEY"),
    "map.symbols": ("符号说明", "Symbols"),
    "map.units_merged": ("{layer}：{total} 个居民点按约 {cell} 米网格合并为 {shown} 个圆",
                         "{layer}: {total} units merged into {shown} circles on a ~{cell} m grid"),
    "map.merged_title": ("{units} 个未覆盖居民点（约 {cell} 米内）", "{units} uncovered units (within ~{cell} m)"),
    "map.population_source": ("人口数据：{source}", "Population: {source}"),
    # ---------------------------------------------------------------- the batch choropleth
    "map.choropleth_title": ("各街道（乡镇）覆盖率", "Coverage by district"),
    "map.choropleth_layer": ("{cat}覆盖率", "{cat} coverage"),
    "map.choropleth_tip": ("{district}：{cat} {share}", "{district}: {cat} {share}"),
    "map.choropleth_failed": ("{district}：{cat} 失败 {cause}", "{district}: {cat} failed {cause}"),
    "map.choropleth_failed_key": ("分析失败", "failed"),
    "map.attribution": (OSM_ATTRIBUTION, OSM_ATTRIBUTION),
    "map.no_geometry": ("没有可绘制的区划边界", "no district geometry"),
    # ---------------------------------------------------------------- words the app shows in its tables
    "app.met": ("✓ 达标", "✓ met"),
    "app.not_met": ("✗ 未达标", "✗ not met"),
    "app.no_data": ("– 无数据", "– no data"),
    # ---------------------------------------------------------------- the Word reports
    "report.title": ("{area}15分钟服务圈评估报告", "15-minute service circles: {area}"),
    "report.city_title": ("{area}各街道（乡镇）15分钟服务圈评估报告", "15-minute service circles by district: {area}"),
    "report.subtitle": ("生成日期：{date}　服务配置：{profile}", "Date: {date} · Profile: {profile}"),
    "report.sample": ("注意：本报告使用合成示例数据，不代表任何真实地区。",
                      "Note: this report uses a synthetic sample, not a real place."),
    "report.sample_area": ("示例区", "the sample district"),
    "report.h_summary": ("一、总体情况", "1. Summary"),
    "report.summary_line": ("{cat}：覆盖率 {share}，{covered} / {total} 名{group}在{minutes}分钟服务范围内，现有设施 {n} 处。",
                            "{cat}: {share} coverage, {covered} of {total} {group} within {minutes} minutes, "
                            "{n} facilities."),
    "report.summary_partial": ("{n} 个街道（乡镇）只有部分位于路网数据范围内，其数字只计数据范围内的人口。",
                               "{n} districts lie only partly inside the network data; their figures count only "
                               "the people inside it."),
    "report.h_maps": ("二、覆盖地图", "2. Maps"),
    "report.map_caption": ("图{n}　{cat}：{minutes}分钟服务范围、覆盖缺口与建议新增站点（道路 © OpenStreetMap 贡献者）",
                           "Figure {n}. {cat}: {minutes}-minute service area, gaps and suggested sites "
                           "(streets © OpenStreetMap contributors)"),
    "report.h_coverage": ("三、分类别与层级覆盖", "3. Coverage by category and tier"),
    "report.h_districts": ("四、分街道（乡镇）覆盖", "4. Coverage by district"),
    "report.no_districts": ("未提供街道（乡镇）边界，无分街道数字。", "No districts were given: no per-district figures."),
    "report.h_rules": ("五、规则检查", "5. Rule checks"),
    "report.rules_intro": ("按配置中的规则逐街道检查，列出依据的标准和条款。",
                           "Each district is checked against the profile's rules; the standard and clause are cited."),
    "report.no_rules": ("本配置没有按街道检查的规则，或未提供街道边界。",
                        "The profile has no per-district rules, or no districts were given."),
    "report.h_gaps": ("六、主要覆盖缺口", "6. The largest gaps"),
    "report.gaps_intro": ("每类列出未覆盖人数最多的 {n} 处缺口；位置为缺口内一点。",
                          "For each category, the {n} gaps with most people uncovered; the location is a point inside "
                          "the gap."),
    "report.no_gaps": ("{cat}：无覆盖缺口。", "{cat}: no gaps."),
    "report.h_sites": ("七、建议新增站点", "7. Suggested new sites"),
    "report.sites_intro": ("按排序依次新增；坐标分别适用于 GPS/天地图（WGS84）、高德/腾讯（GCJ-02）和百度（BD-09）。",
                           "Added in rank order; coordinates for GPS/Tianditu (WGS84), Amap/Tencent (GCJ-02) and "
                           "Baidu (BD-09)."),
    "report.no_sites": ("本次未计算选址建议（命令行加 --suggest N 可得）。",
                        "No site suggestions were asked for (add --suggest N)."),
    "report.h_equity": ("一站式与公平性", "One-stop access and equity"),
    "report.equity_intro": ("一站式覆盖率：{share} 的常住人口（{covered} / {total} 人）在各自时限内可达全部类别的设施。"
                            "基尼系数衡量步行时间在人群中的不均衡（0 为完全均等），超出时间上限者按上限计。",
                            "One-stop share: {share} of residents ({covered} of {total}) reach every category "
                            "within its threshold. The Gini coefficient measures how unevenly walking time is "
                            "shared (0 = equal); people beyond the horizon count at the horizon."),
    "report.lorenz_caption": ("图{n}　步行可达时间的洛伦兹曲线", "Figure {n}. Lorenz curves of walking time"),
    "report.h_outreach": ("八、送餐与上门探访", "8. Meal delivery and home visits"),
    "report.delivery_line": ("{label}：{points} 个助餐点中 {within} 个在中央厨房 {limit} 分钟配送范围内（{share}）。",
                             "{label}: {within} of {points} meal points within {limit} minutes of a central kitchen "
                             "({share})."),
    "report.delivery_beyond": ("配送范围外的助餐点：{names}", "Meal points beyond reach: {names}"),
    "report.visits_line": ("{label}：{total} 名需上门探访的老人中 {within} 名在站点 {limit} 分钟可达范围内（{share}）。",
                           "{label}: {within} of {total} people needing home visits within {limit} minutes of a "
                           "station ({share})."),
    "report.visits_estimated": ("其中 {demand} 人为估算（{estimate}）。", "Of these, {demand} are estimated ({estimate})."),
    "report.h_sources": ("九、数据来源与方法", "9. Data sources and method"),
    "report.src_network": ("路网：{name}（© OpenStreetMap 贡献者，ODbL 许可）",
                           "Streets: {name} (© OpenStreetMap contributors, ODbL)"),
    "report.src_facilities": ("设施台账：{name}（坐标系 {coords}）", "Facility ledger: {name} (coordinates {coords})"),
    "report.src_population": ("人口：{name}", "Population: {name}"),
    "report.src_population_source": ("人口数据来源：{source}", "Population source: {source}"),
    "report.src_districts": ("街道（乡镇）边界：{name}", "Districts: {name}"),
    "report.src_profile": ("服务配置：{name}", "Profile: {name}"),
    "report.method_tier": ("{cat}·{tier}：{threshold}，{speed}；依据：{source}",
                           "{cat} · {tier}: {threshold}, {speed}; source: {source}"),
    "report.method_minutes": ("步行{minutes}分钟", "{minutes}-minute walk"),
    "report.method_distance": ("{distance}米", "{distance} m"),
    "report.method_speed": ("步速 {speed} km/h", "walking {speed} km/h"),
    "report.method_drive": ("驾车", "by road"),
    "report.method": ("方法：以 OpenStreetMap 步行路网计算每个居民点到最近设施的步行时间（按类别和层级的步速与阈值，"
                      "台阶等道路按系数计），阈值内即为覆盖；服务范围为阈值内可达的路网两侧区域；缺口为未覆盖居民点周边区域；"
                      "时间统计上限 {horizon} 分钟。",
                      "Method: walking times from every residential unit to its nearest facility along the "
                      "OpenStreetMap "
                      "walking network (speeds and thresholds per category and tier, steps and similar ways weighted); "
                      "a unit within the threshold is covered; service areas are the land along the ways reached "
                      "within the threshold; gaps are the surroundings of uncovered units; times are reported up to "
                      "{horizon} minutes."),
    "report.profile_sources": ("配置引用的文件", "Documents the profile cites"),
    "report.notes": ("说明与提示", "Notes and warnings"),
    "report.city_h_table": ("一、各街道（乡镇）覆盖情况", "1. Coverage by district"),
    "report.city_h_maps": ("二、各街道覆盖率分布图", "2. Coverage maps"),
    "report.city_map_caption": ("图{n}　{cat}：各街道（乡镇）覆盖率", "Figure {n}. {cat}: coverage by district"),
    "report.city_h_rules": ("三、规则检查", "3. Rule checks"),
    "report.city_failed": ("分析失败的街道（乡镇）：{names}", "Districts whose analysis failed: {names}"),
    "report.city_totals": ("{cat}：全部街道合计覆盖率 {share}（{covered} / {total} 名{group}）。",
                           "{cat}: {share} across all districts ({covered} of {total} {group})."),
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
