"""The command line: outputs of `circles analyze`, bad input as one line and exit 2, atomic writes."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from circles.cli import main
from conftest import shared_data


@pytest.fixture(scope="module")
def sample_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "sample"
    res = CliRunner().invoke(main, ["analyze", "--sample", "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out, res


def test_analyze_sample_writes_the_contract(sample_out):
    out, res = sample_out
    names = {p.name for p in out.iterdir()}
    assert {"summary.json", "access.csv", "gaps.geojson", "isochrones.geojson", "summary.csv", "summary.xlsx"} <= names
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["inputs"]["profile"] == "15min" and s["inputs"]["network"] == "sample"
    for cat in ("elderly", "meal", "child"):
        c = s["categories"][cat]
        assert {"facilities", "demand_column", "demand_total", "demand_covered", "coverage", "minutes", "speed_kmh"} <= set(c)
        assert 0 <= c["coverage"] <= 1 and c["demand_covered"] <= c["demand_total"]
        assert c["coverage"] == pytest.approx(c["demand_covered"] / c["demand_total"], abs=1e-6)
    assert s["categories"]["elderly"]["demand_column"] == "pop_60plus"
    assert s["categories"]["child"]["speed_kmh"] == 4.5
    access = pd.read_csv(out / "access.csv", encoding="utf-8-sig")
    assert {"demand_id", "lon", "lat", "population", "pop_60plus", "pop_0_17", "minutes_elderly", "minutes_meal",
            "minutes_child"} <= set(access.columns)
    covered = access["minutes_elderly"] <= 15
    share = access.loc[covered & access["inside"], "pop_60plus"].sum() / access.loc[access["inside"], "pop_60plus"].sum()
    assert share == pytest.approx(s["categories"]["elderly"]["coverage"], abs=1e-6)
    assert "elderly" in res.output


def test_gaps_geojson_is_rfc7946(sample_out):
    out, _ = sample_out
    doc = json.loads((out / "gaps.geojson").read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection" and "crs" not in doc
    kinds = {f["properties"]["kind"] for f in doc["features"]}
    assert {"gap_area", "uncovered_unit"} <= kinds
    for f in doc["features"]:
        assert f["properties"]["category"] in ("elderly", "meal", "child")
        g = shapely.geometry.shape(f["geometry"])
        lo0, la0, lo1, la1 = g.bounds
        assert -180 <= lo0 <= lo1 <= 180 and -90 <= la0 <= la1 <= 90
        if g.geom_type == "Polygon":
            assert shapely.Polygon(f["geometry"]["coordinates"][0]).exterior.is_ccw  # right-hand rule
    back = gpd.read_file(out / "gaps.geojson")
    assert back.crs.to_epsg() == 4326 and len(back) == len(doc["features"])
    iso = gpd.read_file(out / "isochrones.geojson")
    assert {"union", "ring", "catchment", "facility_area"} <= set(iso["kind"])


def test_second_identical_run_gives_identical_files(sample_out, tmp_path):
    out, _ = sample_out
    again = tmp_path / "again"
    assert CliRunner().invoke(main, ["analyze", "--sample", "--out", str(again)]).exit_code == 0
    for p in out.iterdir():
        assert p.read_bytes() == (again / p.name).read_bytes(), p.name


def test_english_tables(tmp_path):
    res = CliRunner().invoke(main, ["analyze", "--sample", "--lang", "en", "--out", str(tmp_path / "en")])
    assert res.exit_code == 0
    header = (tmp_path / "en" / "summary.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.startswith("category,tier,label,facilities")


def test_failed_run_leaves_no_partial_files(tmp_path):
    out = tmp_path / "out"
    bad = tmp_path / "ledger.csv"
    bad.write_text("名称,类型,经度,纬度\n某站,elderly,114.3,95.0\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["analyze", "--sample", "--facilities", str(bad), "--out", str(out)])
    assert res.exit_code == 2
    assert not out.exists() or not any(out.iterdir())
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


@pytest.mark.parametrize("args, message", [
    (["network", "--network", "missing.osm.pbf"], "missing.osm.pbf: file not found"),
    (["network"], "give exactly one of --network FILE or --sample"),
    (["analyze", "--out", "x"], "give exactly one of --network FILE or --sample"),
    (["analyze", "--sample", "--profile", "nope", "--out", "x"], "nope"),
    (["facilities", "check", "--facilities", "nope.csv"], "nope.csv"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2, res.output
    assert message in res.output
    assert "Traceback" not in res.output
    assert len([ln for ln in res.output.splitlines() if ln.startswith("error:")]) == 1


def test_network_summary_on_real_data():
    src = shared_data("osm/jiangxi_guixi.osm")
    res = CliRunner().invoke(main, ["network", "--network", str(src), "--json"])
    assert res.exit_code == 0
    s = json.loads(res.output)
    assert s["nodes"] == 297 and s["crs"] == "EPSG:32650" and s["length_km"] == pytest.approx(115.606, abs=0.01)


def test_facilities_check_reports_rows(tmp_path):
    p = tmp_path / "台账.csv"
    p.write_text("名称,类型,层级,经度,纬度\n东站,养老服务设施,station,114.30,30.60\n西站,elderly,station,30.60,114.30\n",
                 encoding="gbk")
    res = CliRunner().invoke(main, ["facilities", "check", "--facilities", str(p), "--lang", "en"])
    assert res.exit_code == 0, res.output
    assert "row 3" in res.output and "elderly" in res.output


def test_suggest_sites_with_a_premises_list(tmp_path):
    from circles.sample import make_sample

    s = make_sample()
    lo0, la0, lo1, la1 = s.boundary.bounds
    rows = ["名称,类型,经度,纬度,建筑面积,成本"]
    for i, (fx, fy) in enumerate([(0.1, 0.9), (0.2, 0.8), (0.5, 0.5), (0.9, 0.1), (0.85, 0.6)]):
        rows.append(f"闲置用房{i},,{lo0 + fx * (lo1 - lo0):.6f},{la0 + fy * (la1 - la0):.6f},120,{10 + i}")
    cand = tmp_path / "社区用房.csv"
    cand.write_text("\n".join(rows) + "\n", encoding="gbk")
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["analyze", "--sample", "--suggest", "2", "--candidates", str(cand),
                                    "--categories", "elderly", "--out", str(out)])
    assert res.exit_code == 0, res.output
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    sug = s["suggestions"]["elderly"]
    assert set(s["suggestions"]) == {"elderly"} and len(sug["sites"]) <= 2
    assert sug["coverage_after"] >= sug["coverage_before"] == pytest.approx(s["categories"]["elderly"]["coverage"], abs=1e-6)
    assert all(site["name"].startswith("闲置用房") for site in sug["sites"])
    doc = json.loads((out / "gaps.geojson").read_text(encoding="utf-8"))
    assert sum(f["properties"]["kind"] == "suggested_site" for f in doc["features"]) == len(sug["sites"])
    too_many = CliRunner().invoke(main, ["analyze", "--sample", "--suggest", "9", "--candidates", str(cand),
                                         "--categories", "elderly", "--out", str(tmp_path / "x")])
    assert too_many.exit_code == 2 and "Traceback" not in too_many.output
