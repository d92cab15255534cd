"""circles.coordsys: a ledger's coordinate system decided from the OSM data, or asked for — never guessed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from conftest import shared_data

from circles.cli import main
from circles.coords import wgs84_to_bd09, wgs84_to_gcj02
from circles.coordsys import DECISION_MARGIN, coords_evidence

SYSTEMS = ("wgs84", "gcj02", "bd09")
ENCODE = {"wgs84": lambda lon, lat: (lon, lat), "gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}


@pytest.fixture(scope="module")
def haidian():
    from network import load_network
    from network.features import read_osm_features

    path = shared_data("osm/beijing_haidian_wudaokou.osm")
    net = load_network(path)
    feats = read_osm_features(path)
    pts = feats.geometry.representative_point()
    ext = shapely.box(*net.bbox_lonlat)
    inside = shapely.contains_xy(ext, pts.x.to_numpy(), pts.y.to_numpy())
    return {"path": path, "net": net, "extent": ext, "feats": feats[inside].reset_index(drop=True)}


@pytest.mark.shared_data
def test_no_wrong_decision_on_real_places(haidian):
    """Ledgers made of real places (half of the file's places; the other half is the reference), 20 m of
    geocoding noise, in each system: a decision, when taken, is always right; 30 rows are often decided."""
    rng = np.random.default_rng(11)
    feats = haidian["feats"]
    half = rng.random(len(feats)) < 0.5
    places, truth = feats[half], feats[~half]
    pts = truth.geometry.representative_point()
    lon, lat = pts.x.to_numpy(), pts.y.to_numpy()
    decided = 0
    for system in SYSTEMS:
        for trial in range(8):
            k = rng.choice(len(lon), 30, replace=False)
            jitter = rng.normal(0.0, 20.0, (2, 30))
            tl = lon[k] + jitter[0] / (111_320 * np.cos(np.radians(lat[k])))
            tt = lat[k] + jitter[1] / 110_540
            ev = coords_evidence(*ENCODE[system](tl, tt), net=haidian["net"], extent=haidian["extent"], places=places,
                                 seed=trial)
            assert ev.decided in (None, system), ev.describe()
            assert (ev.decided is None) == (ev.margin < DECISION_MARGIN)
            decided += ev.decided == system
    assert decided >= 6  # of 24: the evidence does decide clear cases


@pytest.mark.shared_data
def test_names_matching_osm_places_decide(haidian):
    """Rows named after unique OSM places and geocoded at them (GCJ-02): decided GCJ-02 by the names."""
    feats = haidian["feats"]
    named = feats[feats["name"].notna() & (feats["name"].str.len() >= 4)].drop_duplicates("name", keep=False)
    sample = named.sample(12, random_state=3)
    pts = sample.geometry.representative_point()
    lon, lat = wgs84_to_gcj02(pts.x.to_numpy(), pts.y.to_numpy())
    ev = coords_evidence(lon, lat, net=haidian["net"], extent=haidian["extent"], places=feats,
                         names=[f"{n}社区养老服务站" for n in sample["name"]])
    assert ev.decided == "gcj02" and ev.name_matches["gcj02"] >= 6 and ev.name_matches["wgs84"] <= 1


@pytest.mark.shared_data
def test_a_small_gcj02_ledger_without_coords_is_converted_or_refused(tmp_path, haidian):
    """The check of the issue: 12 GCJ-02 rows without --coords: coverage equal to the WGS84 run, or a refusal."""
    rng = np.random.default_rng(4)
    feats = haidian["feats"][haidian["feats"]["kind"] == "building"]
    pts = feats.geometry.representative_point()
    k = rng.choice(len(pts), 12, replace=False)
    lon, lat = pts.x.to_numpy()[k], pts.y.to_numpy()[k]
    cats = ["养老服务站", "老年助餐点", "儿童之家"] * 4
    wgs = pd.DataFrame({"名称": [f"设施{i}" for i in range(12)], "类型": cats, "经度": lon, "纬度": lat})
    gx, gy = wgs84_to_gcj02(lon, lat)
    gcj = wgs.assign(经度=gx, 纬度=gy)
    wgs.to_csv(tmp_path / "wgs.csv", index=False)
    gcj.to_csv(tmp_path / "gcj.csv", index=False)
    common = ["analyze", "--network", str(haidian["path"]), "--figures-only",
         "--population-zones", str(shared_data("population/beijing_streets/beijing_streets_worldpop.gpkg")),
         "--zone-population-col", "population"]
    ref = CliRunner().invoke(main, [*common, "--facilities", str(tmp_path / "wgs.csv"), "--coords", "wgs84",
                                    "--out", str(tmp_path / "ref")])
    assert ref.exit_code == 0, ref.output
    got = CliRunner().invoke(main, [*common, "--facilities", str(tmp_path / "gcj.csv"), "--out", str(tmp_path / "got")])
    if got.exit_code == 0:
        import json

        a = json.loads((tmp_path / "ref" / "summary.json").read_text(encoding="utf-8"))["categories"]
        b = json.loads((tmp_path / "got" / "summary.json").read_text(encoding="utf-8"))["categories"]
        for cat in a:
            assert abs(a[cat]["coverage"] - b[cat]["coverage"]) <= 0.005
        assert "decided from the OSM data" in got.output
    else:
        assert got.exit_code == 2 and "--coords wgs84|gcj02|bd09" in got.output
        assert "Traceback" not in got.output and not (tmp_path / "got").exists()


def test_outside_china_needs_no_evidence():
    """Numbers outside China: no offset system applies, nothing is weighed."""
    from circles.sample import make_sample
    from network import load_network

    net = load_network(make_sample(size=0.3).ways)
    ev = coords_evidence(np.array([-8.61, -8.60]), np.array([41.15, 41.16]), net=net)
    assert ev.n_rows == 0 and ev.decided is None
