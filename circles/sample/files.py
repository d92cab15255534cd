"""`write_sample_files`: the sample district as the files a planner would hand over (示例数据).

The I/O edge of `circles.sample`: ``.osm.pbf`` network, ledger and population CSVs with Chinese
headers (UTF-8 with BOM for Excel), streets as GeoJSON; each written atomically.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import shapely

from circles.sample.district import SampleDistrict
from circles.sample.names import SAMPLE_LABEL

__all__ = ["FACILITY_HEADERS", "POPULATION_HEADERS", "write_sample_files"]

# Column headers of the files a planner receives (canonical name -> Chinese header).
FACILITY_HEADERS: dict[str, str] = {
    "name": "名称", "category": "类型", "tier": "层级", "lon": "经度", "lat": "纬度",
    "capacity": "容量", "area_m2": "建筑面积", "district": "所属街道", "address": "地址",
}
POPULATION_HEADERS: dict[str, str] = {
    "demand_id": "编号", "name": "小区名称", "lon": "经度", "lat": "纬度", "population": "常住人口",
    "pop_60plus": "60岁以上", "pop_0_17": "0-17岁", "households": "户数", "district": "所属街道",
}


def write_sample_files(sample: SampleDistrict, out_dir: Path) -> dict[str, Path]:
    """Write the sample as the files a planner would hand over (示例数据).

    Writes ``sample.osm.pbf`` (nodes then ways, ascending ids), ``facilities.csv`` and
    ``population.csv`` (Chinese headers, UTF-8 with BOM so Excel opens them) and
    ``streets.geojson`` (RFC 7946, WGS84). Each file is written to a temporary file in `out_dir`
    and moved into place, so a reader never sees half a file.

    Parameters
    ----------
    sample
        From `make_sample`.
    out_dir
        Folder to write into; created when missing.

    Returns
    -------
    dict
        ``{"osm": ..., "facilities": ..., "population": ..., "streets": ...}``: the paths written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "osm": out / "sample.osm.pbf",
        "facilities": out / "facilities.csv",
        "population": out / "population.csv",
        "streets": out / "streets.geojson",
    }
    _atomic(paths["osm"], lambda tmp: _write_pbf(sample, tmp))
    _atomic(paths["facilities"], lambda tmp: sample.facilities[list(FACILITY_HEADERS)]
            .rename(columns=FACILITY_HEADERS).to_csv(tmp, index=False, encoding="utf-8-sig"))
    _atomic(paths["population"], lambda tmp: sample.population[list(POPULATION_HEADERS)]
            .rename(columns=POPULATION_HEADERS).to_csv(tmp, index=False, encoding="utf-8-sig"))
    _atomic(paths["streets"], lambda tmp: tmp.write_text(_streets_geojson(sample), encoding="utf-8"))
    return paths


def _atomic(path: Path, write: Callable[[Path], object]) -> None:
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_pbf(sample: SampleDistrict, tmp: Path) -> None:
    import osmium  # the only osmium use here; keeps `make_sample` free of it

    header = osmium.io.Header()
    header.set("generator", f"circles.sample — {SAMPLE_LABEL}")
    w = sample.ways
    writer = osmium.SimpleWriter(osmium.io.File(str(tmp), "pbf"), header=header, overwrite=True)
    try:
        node = osmium.osm.mutable.Node
        for i in np.argsort(w.node_id, kind="stable").tolist():
            writer.add_node(node(id=int(w.node_id[i]), location=(float(w.node_lon[i]), float(w.node_lat[i]))))
        way = osmium.osm.mutable.Way
        refs, off = w.refs.tolist(), w.way_offsets.tolist()
        for i in np.argsort(w.way_id, kind="stable").tolist():
            writer.add_way(way(id=int(w.way_id[i]), nodes=refs[off[i]:off[i + 1]], tags=w.way_tags[i]))
    finally:
        writer.close()


def _streets_geojson(sample: SampleDistrict) -> str:
    features = [
        {"type": "Feature",
         "properties": {"street": row.street, "street_en": row.street_en, "label": sample.label},
         "geometry": shapely.geometry.mapping(row.geometry)}
        for row in sample.districts.itertuples()
    ]
    fc = {"type": "FeatureCollection", "name": f"streets — {sample.label}", "description": sample.label,
          "features": features}
    return json.dumps(fc, ensure_ascii=False)
