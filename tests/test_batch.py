"""circles.batch: every district in one run — one folder each, failures recorded, resumable, local or Dask."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from conftest import shared_data

import circles.batch as batch
from circles.batch import DISTRICT_COLUMNS, DONE_MARKER, extract_ways, run_batch, safe_folder_name
from circles.batch.split import unique_folders
from network.extract import WayIndex
from circles.cli import batch_cmd
from circles.errors import CirclesError
from circles.options import RunOptions
from circles.outputs import RUN_MARKER
from circles.pipeline import analyse, prepare, reach_bbox
from circles.sample import make_sample, write_sample_files
from network.build import build_network
from network.modes import WALK_WAY_FACTORS, ModeRules

CORE_OUTPUTS = {"summary.json", "access.csv", "gaps.geojson", "summary.csv", "summary.xlsx", "districts.csv"}
COMBINED = ("districts.csv", "districts.xlsx", "districts.geojson", "errors.log")
CATEGORIES = ["elderly", "meal", "child"]
WUDAOKOU_BOUNDS = shapely.box(116.308, 39.991, 116.332, 40.012)  # the <bounds> of the openstreetmap.org export


def _files(folder: Path) -> dict[str, bytes]:
    """Every file of a batch output (relative path -> bytes), without the run-specific ones."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name not in (DONE_MARKER, "batch.json", RUN_MARKER)}


def _table(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "districts.csv", encoding="utf-8-sig")


# ---------------------------------------------------------------------------------------------
# the synthetic sample: 3 streets, plus districts made to fail
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_case(tmp_path_factory):
    """Sample files (size 0.3) with five districts: two fine, three failing for different reasons.

    - 示例镇: every ledger row naming it (所属街道) has its latitude erased: only bad ledger rows;
    - 远郊镇: a copy of 示例镇 moved 1° east: outside the data, left out (not a failure);
    - 空地/测试: a 30 m square inside 示例一街道 where nobody lives: empty.
    """
    root = tmp_path_factory.mktemp("batch_sample")
    sample = make_sample(size=0.3, seed=2024)
    paths = write_sample_files(sample, root)
    ledger = pd.read_csv(paths["facilities"], encoding="utf-8-sig", dtype=str)
    ledger.loc[ledger["所属街道"] == "示例镇", "纬度"] = ""
    ledger.to_csv(paths["facilities"], index=False, encoding="utf-8-sig")

    streets = sample.districts[["street", "geometry"]].copy()
    town = streets.loc[streets["street"] == "示例镇", "geometry"].iloc[0]
    c = shapely.centroid(streets.loc[streets["street"] == "示例一街道", "geometry"].iloc[0])
    people = shapely.points(sample.population[["lon", "lat"]].to_numpy())
    empty = None
    for dx in np.linspace(-0.004, 0.004, 17):  # a 30 m square without residents inside street 1
        cand = shapely.box(c.x + dx, c.y, c.x + dx + 0.0003, c.y + 0.00027)
        if not shapely.contains(cand, people).any() and shapely.contains(streets.geometry.iloc[0], cand):
            empty = cand
            break
    assert empty is not None
    extra = gpd.GeoDataFrame({"street": ["远郊镇", "空地/测试"]},
                             geometry=[shapely.affinity.translate(town, xoff=1.0), empty], crs="EPSG:4326")
    districts = pd.concat([streets, extra], ignore_index=True)
    districts_path = root / "districts.geojson"
    districts.to_file(districts_path, driver="GeoJSON")
    args = ["--network", str(paths["osm"]), "--districts", str(districts_path), "--district-col", "street",
            "--facilities", str(paths["facilities"]), "--coords", "wgs84", "--population", str(paths["population"])]
    out = root / "out"
    result = CliRunner().invoke(batch_cmd, [*args, "--out", str(out)])
    return {"root": root, "paths": paths, "districts": districts_path, "args": args, "out": out, "result": result,
            "sample": sample}


def test_batch_writes_a_folder_per_district_and_the_combined_tables(sample_case):
    out, result = sample_case["out"], sample_case["result"]
    assert result.exit_code == 1, result.output  # some districts failed on purpose
    assert "4: 2 done, 2 failed" in result.output
    assert "outside the data 数据范围外: 1 districts left out (远郊镇)" in result.output
    for name in COMBINED:
        assert (out / name).is_file()
    for street in ("示例一街道", "示例二街道"):
        files = {p.name for p in (out / street).iterdir()}
        assert CORE_OUTPUTS | {DONE_MARKER} <= files
        summary = json.loads((out / street / "summary.json").read_text(encoding="utf-8"))
        assert summary["inputs"]["district"] == street
        assert summary["inputs"]["boundary"].endswith(f"#{street}")
        done = json.loads((out / street / DONE_MARKER).read_text(encoding="utf-8"))
        assert set(done["files"]) == files - {DONE_MARKER, RUN_MARKER}
    table = _table(out)
    assert list(table.columns) == list(DISTRICT_COLUMNS)
    names = ["示例一街道", "示例二街道", "示例镇", "空地/测试"]
    assert table["district"].tolist() == [n for n in sorted(names) for _ in CATEGORIES]
    assert table["category"].tolist() == CATEGORIES * 4
    run = json.loads((out / "batch.json").read_text(encoding="utf-8"))
    assert run["districts_outside"] == ["远郊镇"] and not (out / "远郊镇").exists()
    ok = table[table["status"] == "ok"]
    assert set(ok["district"]) == {"示例一街道", "示例二街道"}
    assert ((ok["coverage"] >= 0) & (ok["coverage"] <= 1)).all()
    assert (ok["demand_total"] == ok["demand_covered"] + ok["uncovered"]).all()
    assert (out / "空地_测试").is_dir() is False  # failed: no folder kept
    assert (table["inside_share"] > 0.9).all() and not table["partial"].any()


def test_district_figures_agree_with_analyze_on_that_boundary(sample_case):
    """A batch district is `circles analyze --boundary <district>`: same figures, same output files."""
    out, paths, sample = sample_case["out"], sample_case["paths"], sample_case["sample"]
    street = sample.districts.set_index("street").loc["示例二街道", "geometry"]
    alone = analyse(prepare(RunOptions(network=str(paths["osm"]), facilities=str(paths["facilities"]), coords="wgs84",
                                       population=str(paths["population"])), boundary=street))
    ref = {c.category: c for c in alone.report.categories}
    summary = json.loads((out / "示例二街道" / "summary.json").read_text(encoding="utf-8"))
    for cat, fig in summary["categories"].items():
        assert fig["demand_total"] == ref[cat].demand_total
        assert fig["demand_covered"] == ref[cat].demand_covered
        assert fig["coverage"] == pytest.approx(ref[cat].coverage, abs=1e-6)
        assert [t["coverage"] for t in fig["tiers"].values()] == pytest.approx([t.coverage for t in ref[cat].tiers])
    written = alone.write(sample_case["root"] / "analyze_alone")
    assert {p.name for p in written} - {"districts.csv"} <= {p.name for p in (out / "示例二街道").iterdir()}


def test_failing_districts_are_recorded_with_one_line_causes(sample_case):
    out = sample_case["out"]
    lines = (out / "errors.log").read_text(encoding="utf-8").splitlines()
    causes = dict(line.split("\t") for line in lines)
    assert list(causes) == ["示例镇", "空地/测试"]
    assert "every ledger row of this district is unusable" in causes["示例镇"]
    assert "facilities.csv rows" in causes["示例镇"] and "--resume" in causes["示例镇"]
    assert "no resident" in causes["空地/测试"]
    table = _table(out)
    failed = table[table["status"] == "failed"]
    assert (failed["cause"] == failed["district"].map(causes)).all()
    assert failed["facilities"].isna().all() and failed["coverage"].isna().all()
    assert not (out / "示例镇" / DONE_MARKER).exists()
    assert "failed 失败: 示例镇:" in sample_case["result"].output


def test_combined_geojson_is_a_choropleth_layer(sample_case):
    out = sample_case["out"]
    fc = json.loads((out / "districts.geojson").read_text(encoding="utf-8"))
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 4
    props = {f["properties"]["district"]: f["properties"] for f in fc["features"]}
    table = _table(out).set_index(["district", "category"])
    for cat in CATEGORIES:
        assert props["示例一街道"][f"{cat}_coverage"] == table.loc[("示例一街道", cat), "coverage"]
    assert props["示例镇"]["status"] == "failed" and props["示例镇"]["elderly_coverage"] is None
    layer = gpd.read_file(out / "districts.geojson")
    assert layer.crs.to_epsg() == 4326 and len(layer) == 4
    ring = shapely.get_exterior_ring(layer.geometry.iloc[0])
    assert shapely.is_ccw(ring)  # RFC 7946: exterior rings counterclockwise


def test_resume_skips_complete_districts_and_reruns_the_rest(sample_case, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(sample_case["out"], out)
    before = _files(out)
    # a district whose marker belongs to other inputs, and one whose outputs lost a file
    marker = out / "示例一街道" / DONE_MARKER
    m = json.loads(marker.read_text(encoding="utf-8"))
    marker.write_text(json.dumps({**m, "fingerprint": "other inputs"}), encoding="utf-8")
    (out / "示例二街道" / "access.csv").unlink()
    inputs = RunOptions(network=str(sample_case["paths"]["osm"]), districts=str(sample_case["districts"]),
                        district_col="street", facilities=str(sample_case["paths"]["facilities"]), coords="wgs84",
                        population=str(sample_case["paths"]["population"]))
    again = run_batch(inputs, out, resume=True)
    status = {o.name: o.status for o in again.outcomes}
    assert status == {"示例一街道": "ok", "示例二街道": "ok", "示例镇": "failed", "空地/测试": "failed"}
    assert _files(out) == before
    skipped = run_batch(inputs, out, resume=True)
    assert skipped.counts() == {"ok": 0, "failed": 2, "skipped": 2}
    assert _files(out) == before
    # complete means: same options and same content of the district's extract, whatever the file times say
    ledger = sample_case["paths"]["facilities"]
    ledger.write_bytes(ledger.read_bytes())
    assert run_batch(inputs, out, resume=True).counts()["skipped"] == 2
    assert run_batch(replace(inputs, minutes=10.0), out, resume=True, progress=False).counts()["skipped"] == 0


def test_two_worker_processes_give_identical_outputs(sample_case, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(batch_cmd, [*sample_case["args"], "--out", str(out), "--workers", "2"])
    assert result.exit_code == 1, result.output
    assert _files(out) == _files(sample_case["out"])


def test_extract_ways_builds_the_same_network():
    """The per-district extract gives exactly the network that the whole file gives for that boundary."""
    sample = make_sample(size=0.3, seed=7)
    raw = sample.ways
    index = WayIndex(raw)
    x0, y0, x1, y1 = sample.boundary.bounds
    boxes = [shapely.box(x0 + (x1 - x0) * i / 3, y0 + (y1 - y0) * j / 3, x0 + (x1 - x0) * (i + 1) / 3,
                         y0 + (y1 - y0) * (j + 1) / 3) for i in range(3) for j in range(3)]
    for mode in ("walk", "drive"):
        rules = ModeRules(mode=mode, way_factors=WALK_WAY_FACTORS)
        for geom in [*sample.districts.geometry, *boxes]:
            for buffer_m in (0.0, 400.0):
                sub = extract_ways(raw, reach_bbox(geom, buffer_m), index=index)
                a = build_network(raw, rules=rules, boundary=geom, buffer_m=buffer_m).arrays()
                b = build_network(sub, rules=rules, boundary=geom, buffer_m=buffer_m).arrays()
                for key in a:
                    if key in ("highway_values", "edge_highway"):  # codes of the values seen; compare the values
                        continue
                    np.testing.assert_array_equal(a[key], b[key], err_msg=key)
                np.testing.assert_array_equal(a["highway_values"][a["edge_highway"]],
                                              b["highway_values"][b["edge_highway"]])


def test_extract_ways_far_away_is_empty():
    raw = make_sample(size=0.3, seed=7).ways
    sub = extract_ways(raw, (0.0, 0.0, 0.01, 0.01))
    assert sub.n_ways == 0 and len(sub.node_id) == 0 and sub.way_offsets.tolist() == [0]


@pytest.mark.parametrize(("name", "folder"), [
    ("海淀区/燕园街道", "海淀区_燕园街道"),
    ("  燕园街道 ", "燕园街道"),
    ('a\\b:c*d?"e<f>g|h', "a_b_c_d__e_f_g_h"),
    ("..", "district"),
    (".hidden", "hidden"),
    ("CON", "_CON"),
    ("街道\t一", "街道_一"),
    ("长" * 100, "长" * 80),
])
def test_safe_folder_name(name, folder):
    assert safe_folder_name(name) == folder


def test_folder_names_stay_unique():
    assert unique_folders(["a/b", "a_b", "A_B", "districts.csv"]) == ["a_b", "a_b~2", "A_B~3", "districts.csv~2"]


# ---------------------------------------------------------------------------------------------
# bad input: exit 2 with one line, before any district runs
# ---------------------------------------------------------------------------------------------


def test_bad_inputs_exit_2_with_one_line(sample_case, tmp_path):
    args = sample_case["args"]
    runner = CliRunner()

    def run(*extra: str, replace: dict[str, str] | None = None):
        a = list(args)
        for k, v in (replace or {}).items():
            a[a.index(k) + 1] = v
        return runner.invoke(batch_cmd, [*a, *extra, "--out", str(tmp_path / "bad")])

    r = run(replace={"--district-col": "name"})
    assert r.exit_code == 2 and "district column 'name' not found" in r.output and "street" in r.output
    assert "Traceback" not in r.output and r.output.strip().splitlines()[-1].startswith("error: ")
    dup = gpd.read_file(sample_case["districts"])
    dup["street"] = "同名街道"
    dup.to_file(tmp_path / "dup.geojson", driver="GeoJSON")
    r = run(replace={"--districts": str(tmp_path / "dup.geojson")})
    assert r.exit_code == 2 and "district names repeat (同名街道)" in r.output and "--district-col county,street" in r.output
    r = run(replace={"--network": str(sample_case["paths"]["facilities"])})
    assert r.exit_code == 2 and "batch runs need an OSM file" in r.output
    r = run(replace={"--facilities": str(tmp_path / "missing.csv")})
    assert r.exit_code == 2 and "missing.csv: facility ledger not found" in r.output
    r = runner.invoke(batch_cmd, ["--sample", "--out", str(tmp_path / "bad"), "--workers", "0"])
    assert r.exit_code == 2 and "--workers" in r.output
    assert not (tmp_path / "bad" / "districts.csv").exists()
    with pytest.raises(CirclesError, match="drop --boundary"):
        run_batch(RunOptions(sample=True, boundary="area.geojson"), tmp_path / "bad")


def test_district_col_joins_several_columns(tmp_path):
    streets = make_sample(size=0.3, seed=7).districts.copy()
    streets["county"] = "示例区"
    result = run_batch(RunOptions(sample=True, district_col="county,street", figures_only=True), tmp_path / "out",
                       districts=streets)
    assert [o.name for o in result.outcomes] == ["示例区/示例一街道", "示例区/示例二街道", "示例区/示例镇"]
    assert [o.folder for o in result.outcomes] == ["示例区_示例一街道", "示例区_示例二街道", "示例区_示例镇"]


# ---------------------------------------------------------------------------------------------
# the real case: Beijing streets over the Wudaokou extract, population spread from street totals
# ---------------------------------------------------------------------------------------------

# A sample ledger at real Wudaokou places (WGS84): name, category, tier, lon, lat, street.
BEIJING_LEDGER = """名称,类型,层级,经度,纬度,所属街道
清华园街道综合养老服务中心,养老服务设施,街道/乡镇综合养老服务中心,116.3262,40.0035,清华园街道
蓝旗营社区养老服务站,养老服务设施,社区养老服务站,116.3240,40.0000,清华园街道
燕园社区养老服务站,养老服务设施,社区养老服务站,116.3125,39.9945,燕园街道
五道口老年助餐点,老年助餐服务,老年助餐点,116.3375,39.9935,学院路街道
荷清苑长者食堂,老年助餐服务,老年食堂,116.3300,40.0075,东升镇
清华园未成年人保护工作站,未成年人保护服务,未成年人保护工作站,116.3270,40.0050,清华园街道
华清嘉园儿童之家,未成年人保护服务,儿童之家,116.3320,39.9945,学院路街道
成府路儿童之家,未成年人保护服务,儿童之家,116.3180,39.9960,燕园街道
"""


@pytest.fixture(scope="module")
def beijing_case(tmp_path_factory):
    osm = shared_data("osm/beijing_haidian_wudaokou.osm")
    zones_path = shared_data("population/beijing_streets/beijing_streets_worldpop.gpkg")
    root = tmp_path_factory.mktemp("batch_beijing")
    zones = gpd.read_file(zones_path)
    streets = zones[zones.intersects(WUDAOKOU_BOUNDS)]
    far = zones[zones["county"] == "延庆县"].head(1)  # 70 km away: made to fail (no network there)
    districts = pd.concat([streets, far])
    districts_path = root / "streets.gpkg"
    districts.to_file(districts_path)
    ledger = root / "ledger.csv"
    ledger.write_text(BEIJING_LEDGER, encoding="utf-8")
    args = ["--network", str(osm), "--districts", str(districts_path), "--district-col", "street",
            "--facilities", str(ledger), "--coords", "wgs84", "--population-zones", str(zones_path),
            "--zone-population-col", "population"]
    out = root / "out"
    result = CliRunner().invoke(batch_cmd, [*args, "--out", str(out)])
    inputs = RunOptions(network=str(osm), districts=str(districts_path), district_col="street",
                        facilities=str(ledger), coords="wgs84", population_zones=str(zones_path),
                        zone_population_col="population")
    return {"root": root, "args": args, "out": out, "result": result, "streets": streets, "far": far.iloc[0],
            "inputs": inputs}


@pytest.mark.shared_data
def test_beijing_streets(beijing_case):
    out, result, streets = beijing_case["out"], beijing_case["result"], beijing_case["streets"]
    far = beijing_case["far"]["street"]
    run = json.loads((out / "batch.json").read_text(encoding="utf-8"))
    assert far in run["districts_outside"]  # 70 km away: left out by name, not a failure
    table = _table(out)
    reached = set(table["district"])
    assert far not in reached and reached <= set(streets["street"])
    ok = table[table["status"] == "ok"]
    assert result.exit_code == (0 if len(ok) == len(table) else 1), result.output
    # Each street's people are placed only on the part of it inside the data: the 60+ demand is at most its
    # total × the profile's 18.7 % share × the share of its area inside the data (+ 25 %, the check's margin).
    elderly = ok[ok["category"] == "elderly"].set_index("district")
    total = streets.set_index("street")["population"]
    limit = 1.25 * total[elderly.index] * 0.187 * elderly["inside_share"] + 1.0
    assert (elderly["demand_total"] <= limit).all(), (elderly["demand_total"] - limit).to_dict()
    # The ledger: 清华园街道 has its centre and its child-protection station, so its rules are met.
    qhy = table[table["district"] == "清华园街道"].set_index("category")
    assert qhy.loc["elderly", "facilities"] == 2 and qhy.loc["elderly", "rules_ok"] == True  # noqa: E712
    assert qhy.loc["child", "rules_ok"] == True  # noqa: E712
    summary = json.loads((out / "清华园街道" / "summary.json").read_text(encoding="utf-8"))
    assert summary["inputs"]["network"].endswith("beijing_haidian_wudaokou.osm")
    assert any("清华园街道" in n or "zones" in n for n in summary["inputs"]["notes"])
    layer = gpd.read_file(out / "districts.geojson")
    assert len(layer) == len(reached)


@pytest.mark.shared_data
def test_beijing_resume_after_an_interrupted_run(beijing_case, tmp_path, monkeypatch):
    out = tmp_path / "out"
    commit, calls = batch.commit_district, []

    def interrupted(*args, **kwargs):
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C while the third district is being written
        calls.append(args[1].name)
        return commit(*args, **kwargs)

    monkeypatch.setattr(batch, "commit_district", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_batch(beijing_case["inputs"], out)
    monkeypatch.setattr(batch, "commit_district", commit)
    assert sorted(p.parent.name for p in out.glob(f"*/{DONE_MARKER}")) == sorted(calls)
    assert not (out / "districts.csv").exists()
    assert not list(out.glob(".*"))  # no staging folder left behind
    resumed = run_batch(beijing_case["inputs"], out, resume=True)
    assert resumed.counts()["skipped"] == 2
    assert {o.name for o in resumed.outcomes if o.status == "skipped"} == set(calls)
    assert _files(out) == _files(beijing_case["out"])


@pytest.mark.shared_data
@pytest.mark.allow_hosts(["127.0.0.1"])  # the local cluster only; every other address stays blocked
def test_dask_local_cluster_gives_the_same_outputs(beijing_case, tmp_path):
    from dask.distributed import LocalCluster

    out = tmp_path / "out"
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None,
                      host="127.0.0.1") as cluster:
        result = CliRunner().invoke(batch_cmd, [*beijing_case["args"], "--out", str(out),
                                                "--scheduler", cluster.scheduler_address])
    assert result.exit_code == beijing_case["result"].exit_code, result.output
    assert (out / "districts.csv").read_bytes() == (beijing_case["out"] / "districts.csv").read_bytes()
    assert _files(out) == _files(beijing_case["out"])
    run = json.loads((out / "batch.json").read_text(encoding="utf-8"))
    assert run["scheduler"].startswith("tcp://127.0.0.1:")
