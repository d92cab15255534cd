"""circles.pipeline: one pipeline for analyze, batch and the app — and honest figures at the data's edges.

The real case: all 331 Beijing streets (WorldPop-derived totals) over the openstreetmap.org export of
Wudaokou, which reaches a part of six of them.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from conftest import shared_data

from circles.cli import main
from circles.options import RunOptions
from circles.pipeline import analyse, prepare

LEDGER = """名称,类型,层级,经度,纬度,所属街道
清华园街道综合养老服务中心,养老服务设施,街道/乡镇综合养老服务中心,116.3262,40.0035,清华园街道
蓝旗营社区养老服务站,养老驿站,,116.3240,40.0000,清华园街道
燕园社区养老服务站,社区养老服务驿站,,116.3125,39.9945,燕园街道
五道口长者饭堂,长者饭堂,,116.3270,39.9935,学院路街道
荷清苑长者食堂,长者食堂,,116.3300,40.0075,东升镇
清华园未保站,未保站,,116.3270,40.0050,清华园街道
华清嘉园儿童之家,儿童之家,,116.3220,39.9945,学院路街道
成府路儿童关爱服务站,儿童关爱服务站,,116.3180,39.9960,燕园街道
"""
SHARE_60 = 0.187


def _declared_bounds(path: Path) -> shapely.Polygon:
    """The export's <bounds> element, read here with a regex (independently of circles)."""
    import re

    head = path.read_bytes()[:2000].decode("utf-8")
    b = {k: float(v) for k, v in re.findall(r'(min(?:lat|lon)|max(?:lat|lon))="([-\d.]+)"', head)}
    return shapely.box(b["minlon"], b["minlat"], b["maxlon"], b["maxlat"])


@pytest.fixture(scope="module")
def beijing(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline_beijing")
    (root / "ledger.csv").write_text(LEDGER, encoding="utf-8")
    osm = shared_data("osm/beijing_haidian_wudaokou.osm")
    zones = shared_data("population/beijing_streets/beijing_streets_worldpop.gpkg")
    common = ["--network", str(osm), "--facilities", str(root / "ledger.csv"), "--coords", "wgs84",
              "--population-zones", str(zones), "--zone-population-col", "population",
              "--districts", str(zones), "--district-col", "street"]
    runner = CliRunner()
    batch = runner.invoke(main, ["batch", *common, "--figures-only", "--out", str(root / "batch")])
    analyze = runner.invoke(main, ["analyze", *common, "--out", str(root / "analyze")])
    return {"root": root, "osm": osm, "zones": zones, "batch": batch, "analyze": analyze, "common": common}


@pytest.mark.shared_data
def test_batch_and_analyze_give_the_same_figures_for_every_street(beijing):
    root = beijing["root"]
    assert beijing["batch"].exit_code == 0, beijing["batch"].output
    assert beijing["analyze"].exit_code == 0, beijing["analyze"].output
    b = pd.read_csv(root / "batch" / "districts.csv", encoding="utf-8-sig")
    a = pd.read_csv(root / "analyze" / "districts.csv", encoding="utf-8-sig")
    assert list(a.columns) == list(b.columns)  # one format in both commands
    merged = b.merge(a, on=["district", "category"], suffixes=("_b", "_a"))
    assert len(merged) == len(a) == len(b)
    for col in ("demand_total", "demand_covered", "facilities", "coverage", "inside_share"):
        np.testing.assert_allclose(merged[f"{col}_b"], merged[f"{col}_a"], rtol=0.01, err_msg=col)
    assert a["district"].str.endswith(("街道", "镇")).all()  # names, never row numbers
    rules_b = pd.read_csv(root / "batch" / "rules.csv", encoding="utf-8-sig")
    rules_a = pd.read_csv(root / "analyze" / "rules.csv", encoding="utf-8-sig")
    key = ["rule_id", "unit"]
    pd.testing.assert_frame_equal(rules_b.sort_values(key).reset_index(drop=True),
                                  rules_a.sort_values(key).reset_index(drop=True))  # the same rule checks
    access = pd.read_csv(root / "analyze" / "access.csv", encoding="utf-8-sig")
    assert not access["district"].astype(str).str.fullmatch(r"\d+").any()


@pytest.mark.shared_data
def test_the_city_file_on_a_small_extract_reports_only_the_streets_the_data_reaches(beijing):
    root = beijing["root"]
    streets = gpd.read_file(beijing["zones"])
    meet = set(streets.loc[streets.intersects(_declared_bounds(beijing["osm"])), "street"])
    table = pd.read_csv(root / "batch" / "districts.csv", encoding="utf-8-sig")
    reached = set(table["district"])
    assert reached <= meet and len(reached) >= len(meet) - 4  # at most a few more than the data reaches: none more
    run = json.loads((root / "batch" / "batch.json").read_text(encoding="utf-8"))
    assert len(run["districts_outside"]) + len(reached) == len(streets)
    assert "outside the data 数据范围外" in beijing["batch"].output
    partial = table.drop_duplicates("district").set_index("district")
    assert (partial["partial"] == (partial["inside_share"] < 0.5)).all()
    summary = json.loads((root / "analyze" / "summary.json").read_text(encoding="utf-8"))
    assert len(summary["inputs"]["districts_outside"]) == len(streets) - len(reached)


@pytest.mark.shared_data
def test_population_is_placed_only_on_the_part_inside_the_data(beijing):
    """60+ placed per street ≤ 1.25 × its total × 18.7 % × the share of its area inside the export's bounds."""
    root = beijing["root"]
    streets = gpd.read_file(beijing["zones"]).set_index("street")
    metric = streets.estimate_utm_crs()
    area = streets.geometry.to_crs(metric)
    inside = gpd.GeoSeries([_declared_bounds(beijing["osm"])], crs="EPSG:4326").to_crs(metric).iloc[0]
    share = area.intersection(inside).area / area.area  # computed here, independently of circles
    table = pd.read_csv(root / "analyze" / "districts.csv", encoding="utf-8-sig")
    elderly = table[table["category"] == "elderly"].set_index("district")["demand_total"]
    implied = streets.loc[elderly.index, "population"] * SHARE_60 * share[elderly.index]
    assert (elderly <= 1.25 * implied + 2).all(), (elderly / implied).to_dict()
    summary = json.loads((root / "analyze" / "summary.json").read_text(encoding="utf-8"))
    zones = pd.DataFrame(summary["inputs"]["population_zones"]).set_index("zone")
    assert (zones["total"] == zones["placed"] + zones["outside"] + zones["unplaced"]).all()
    assert zones.loc["学院路街道", "outside"] > 0.9 * zones.loc["学院路街道", "total"]
    assert summary["inputs"]["population_outside"] == int(zones["outside"].sum())
    assert "WorldPop" in summary["inputs"]["population_source"]
    assert "数据范围外的人口" in beijing["analyze"].output  # said on the command line, by zone


@pytest.mark.shared_data
def test_no_building_gets_more_than_the_density_cap(beijing):
    prepared = prepare(RunOptions(network=str(beijing["osm"]), facilities=str(beijing["root"] / "ledger.csv"),
                                  coords="wgs84", population_zones=str(beijing["zones"]),
                                  zone_population_col="population"))
    units = prepared.demand
    on_buildings = units[units["basis"] == "building"]
    cap = prepared.profile.max_people_per_m2_floor
    assert (on_buildings["population"] <= on_buildings["floor_area_m2"] * cap + 1).all()
    assert units["population"].max() < 20_000  # one building received 20,442 before the cap
    assert prepared.record["population_density_cap"]["moved"] > 0


# ---------------------------------------------------------------------------------------------- inputs


def _ledger_with_missing_coordinates(path: Path) -> None:
    from circles.sample import make_sample

    ledger = make_sample().facilities.head(12).copy()
    lat = next(c for c in ledger.columns if c in ("纬度", "lat"))
    ledger[lat] = ledger[lat].astype(object)
    ledger.loc[ledger.index[[1, 2, 4, 5, 6, 8, 9, 11]], lat] = ""
    ledger.to_csv(path, index=False, encoding="utf-8-sig")


def test_dropped_ledger_rows_are_reported_by_the_run_and_refused_with_strict(tmp_path):
    ledger = tmp_path / "台账.csv"
    _ledger_with_missing_coordinates(ledger)
    res = CliRunner().invoke(main, ["analyze", "--sample", "--facilities", str(ledger), "--coords", "wgs84",
                                    "--figures-only", "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert "8 行未使用：第 3、4、6、7、8、10、11、13 行 坐标为空" in res.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    dropped = summary["inputs"]["facilities_dropped"]
    assert [d["row"] for d in dropped] == [3, 4, 6, 7, 8, 10, 11, 13]
    assert {d["reason"] for d in dropped} == {"missing_coordinates"}
    assert all(d["name"] for d in dropped)
    strict = CliRunner().invoke(main, ["analyze", "--sample", "--facilities", str(ledger), "--coords", "wgs84",
                                       "--strict", "--out", str(tmp_path / "strict")])
    assert strict.exit_code == 2 and "--strict" in strict.output and "坐标为空" in strict.output
    assert "Traceback" not in strict.output and not (tmp_path / "strict").exists()


@pytest.mark.shared_data
def test_reruns_leave_only_the_last_runs_files_and_out_file_is_refused_before_work(beijing, tmp_path):
    out = tmp_path / "out"
    with_districts = [*beijing["common"], "--figures-only", "--out", str(out)]
    first = CliRunner().invoke(main, ["analyze", *with_districts])
    assert first.exit_code == 0 and (out / "districts.csv").exists() and (out / "rules.csv").exists()
    without = [a for a in with_districts if a not in ("--districts", "--district-col", "street", str(beijing["zones"]))]
    without = [*without[:without.index("--population-zones") + 1], str(beijing["zones"]),
               *without[without.index("--population-zones") + 1:]]
    second = CliRunner().invoke(main, ["analyze", *without])
    assert second.exit_code == 0, second.output
    assert not (out / "districts.csv").exists() and not (out / "rules.csv").exists()  # stale files went too
    a_file = tmp_path / "not_a_folder.txt"
    a_file.write_text("x")
    refused = CliRunner().invoke(main, ["analyze", "--sample", "--out", str(a_file)])
    assert refused.exit_code == 2 and "is a file" in refused.output and "Traceback" not in refused.output
    assert "sample district" not in refused.output  # refused before any work
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not_a_folder.txt", "out"]  # nothing hidden left


def test_prepared_cut_gives_the_same_figures_as_the_whole(tmp_path):
    """A batch district's cut of the prepared inputs analyses exactly like the whole with that area."""
    from circles.pipeline import Area

    prepared = prepare(RunOptions(sample=True, figures_only=True), parse_once=True)
    row = prepared.districts.iloc[0]
    area = Area(row["name"], row.geometry)
    whole = analyse(prepared, area)
    cut = analyse(prepared.cut(area), area)
    for a, b in zip(whole.report.categories, cut.report.categories):
        assert (a.demand_total, a.demand_covered, a.facilities) == (b.demand_total, b.demand_covered, b.facilities)


@pytest.mark.shared_data
def test_suggested_sites_lie_inside_the_data_and_the_districts(beijing, tmp_path):
    out = tmp_path / "suggest"
    res = CliRunner().invoke(main, ["analyze", *beijing["common"], "--figures-only", "--suggest", "2",
                                    "--categories", "elderly", "--out", str(out)])
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    sites = summary["suggestions"]["elderly"]["sites"]
    assert sites
    bounds = _declared_bounds(beijing["osm"])
    streets = gpd.read_file(beijing["zones"])
    reached = shapely.union_all(streets[streets.intersects(bounds)].geometry.to_numpy())
    for s in sites:
        point = shapely.Point(s["lon"], s["lat"])
        assert bounds.contains(point) and reached.contains(point), s
