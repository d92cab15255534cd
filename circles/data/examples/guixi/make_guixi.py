"""Write the Guixi county example (run once after changing it; the outputs are committed).

    .venv/bin/python circles/data/examples/guixi/make_guixi.py [../shared/data/osm/jiangxi_guixi.osm]

Reads the places (``place=quarter|village``) of the OpenStreetMap extract of Guixi (贵溪市, Jiangxi)
and writes, beside this script:

- ``villages.geojson`` — one point per community (社区) and village (村), at its OSM place node
  (see `MAX_OFF_ROAD_M` for the few moved or left out), with made-up totals: 常住人口, 60岁及以上,
  80岁及以上, and its township (乡镇);
- ``townships.geojson`` — three hand-drawn township (街道) polygons with the totals of their units;
- ``ledger.csv`` — a made-up facility ledger (WGS84): county, township and village elderly care,
  meal points, two central kitchens (中心厨房), child protection; each facility sits on the point of
  the connected drivable roads nearest to the place it serves, so every travel mode reaches it.

Nothing here is an official figure: see PROVENANCE.md.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_OSM = HERE.parents[3].parent / "shared" / "data" / "osm" / "jiangxi_guixi.osm"

# Roads: the drivable ways a car can leave and return to (the largest strongly connected part of the
# drive network). Some one-way carriageways of the extract lead out of it and never back (their other
# carriageway lies beyond the export box). A place whose nearest road is such a carriageway moves onto
# the connected roads when they are within this many metres, else it is left out of the example.
MAX_OFF_ROAD_M = 200.0  # (城北社区 moves 108 m; 炼厂社区, 化肥厂社区 and 黄坑村 are not used, see PEOPLE)

# Township (街道) polygons, drawn by hand as lon bands over the extract (WGS84): not official boundaries.
LAT_S, LAT_N = 28.2780, 28.3360
TOWNSHIPS = [("雄石街道", 117.1900, 117.2080), ("东门街道", 117.2080, 117.2250), ("花园街道", 117.2250, 117.2560)]

# Made-up residents per OSM place: (常住人口, 60岁及以上, 80岁及以上). Communities of the town core hold
# 3,000–7,000 people with 15–19 % aged 60+; villages 1,800–2,600 with 22–26 % (rural China is older);
# 80+ about 13 % of the 60+.
PEOPLE = {
    "花园社区": (5200, 900, 115), "四建社区": (3600, 610, 80), "白果社区": (4800, 780, 98),
    "西街社区": (6100, 1150, 150), "南街社区": (5600, 1010, 135), "东街社区": (5900, 1060, 140),
    "北街社区": (6400, 1120, 146), "发电厂社区": (4100, 740, 96), "木丝岭社区": (4500, 720, 92),
    "城北社区": (6800, 1090, 138), "烧箕山社区": (3700, 640, 84), "江边社区": (4200, 800, 104),
    "雄石社区": (5300, 870, 112), "信江社区": (5000, 880, 118), "花园村": (2600, 640, 86),
    "柏里村": (1800, 470, 62), "大岩苏家": (1900, 460, 60),
}
# Not used: 炼厂社区, 化肥厂社区 and 黄坑村 lie 560–1,330 m from the connected roads (see `MAX_OFF_ROAD_M`).

# Made-up ledger: (名称, 类型, the OSM place it serves); each lands on the connected road nearest that place.
LEDGER = [
    ("贵溪市养老服务中心", "县级养老服务中心", "贵溪市"),
    ("雄石街道区域养老服务中心", "乡镇综合养老服务中心", "北街社区"),
    ("东门街道区域养老服务中心", "乡镇综合养老服务中心", "信江社区"),
    ("花园街道区域养老服务中心", "乡镇综合养老服务中心", "白果社区"),
    ("柏里村互助幸福院", "农村互助幸福院", "柏里村"),
    ("花园村互助幸福院", "农村互助幸福院", "花园村"),
    ("西街社区养老服务站", "社区养老服务站", "西街社区"),
    ("木丝岭社区养老服务站", "社区养老服务站", "木丝岭社区"),
    ("四建社区养老服务站", "社区养老服务站", "四建社区"),
    ("柏里村老饭桌", "农村老饭桌", "柏里村"),
    ("大岩苏家老饭桌", "农村老饭桌", "大岩苏家"),
    ("花园村助餐点", "老年助餐点", "花园村"),
    ("南街社区助餐点", "老年助餐点", "南街社区"),
    ("烧箕山社区老年食堂", "老年食堂", "烧箕山社区"),
    ("白果社区助餐点", "老年助餐点", "白果社区"),
    ("贵溪市老年助餐中心厨房", "中心厨房", "江边社区"),
    ("花园街道配餐中心", "配餐中心", "四建社区"),
    ("雄石街道未成年人保护工作站", "未成年人保护工作站", "雄石社区"),
    ("东门街道未成年人保护工作站", "未成年人保护工作站", "发电厂社区"),
    ("柏里村儿童之家", "儿童之家", "柏里村"),
    ("花园村儿童之家", "儿童之家", "花园村"),
    ("城北社区儿童之家", "儿童之家", "城北社区"),
]


def osm_places(osm: Path) -> dict[str, tuple[float, float]]:
    """``name -> (lon, lat)`` of the place nodes (city, quarter, village) of an OSM XML file."""
    text = osm.read_text(encoding="utf-8")
    places = {}
    for m in re.finditer(r'<node id="\d+"[^>]*?lat="([\d.]+)" lon="([\d.]+)"[^/]*?>(.*?)</node>', text, re.S):
        body = m.group(3)
        kind = re.search(r'k="place" v="([^"]+)"', body)
        name = re.search(r'k="name" v="([^"]+)"', body)
        if kind and name and kind.group(1) in ("city", "quarter", "village"):
            places[name.group(1)] = (float(m.group(2)), float(m.group(1)))
    return places


def township_of(lon: float) -> str:
    return next(name for name, west, east in TOWNSHIPS if west <= lon < east)


class Roads:
    """The drivable roads of the extract that a car can leave and come back to (its largest strongly
    connected part): points are put on them, so every travel mode reaches them both ways."""

    def __init__(self, osm: Path) -> None:
        import shapely
        from scipy.sparse import csgraph

        from network import load_network

        net = load_network(osm, mode="drive", cache=False)
        _, label = csgraph.connected_components(net.csr(net.travel_time_s()), directed=True, connection="strong")
        core = np.bincount(label).argmax()
        self.net, self.lines = net, net.edge_lines()
        self.in_core = (label[net.edge_u] == core) & (label[net.edge_v] == core)
        self.core = shapely.STRtree(self.lines[self.in_core])
        self.any = shapely.STRtree(self.lines)

    def place(self, lon: float, lat: float, dx_m: float = 0.0, dy_m: float = 0.0) -> tuple[float, float, float, bool]:
        """(lon, lat) of the nearest point of the core roads to the point moved by dx/dy metres, the distance
        (metres), and whether the nearest road of all is a core road."""
        import shapely

        x, y = self.net.to_xy([lon], [lat])
        pt = shapely.Point(x[0] + dx_m, y[0] + dy_m)
        line = self.lines[self.in_core][self.core.nearest(pt)]
        on = line.interpolate(line.project(pt))
        plon, plat = self.net.to_lonlat([on.x], [on.y])
        return round(float(plon[0]), 6), round(float(plat[0]), 6), pt.distance(line), \
            bool(self.in_core[self.any.nearest(pt)])


def build(osm: Path) -> tuple[dict[str, str], list[str]]:
    """The three files' text by file name, and the places left out (with why)."""
    places = osm_places(osm)
    roads = Roads(osm)
    units, left_out = [], []
    for name, (pop, p60, p80) in PEOPLE.items():
        lon, lat = places[name]
        plon, plat, dist, core_nearest = roads.place(lon, lat)
        if not core_nearest:  # its nearest road is a one-way carriageway cut off by the extract's edge
            if dist > MAX_OFF_ROAD_M:
                left_out.append(f"{name}: {dist:.0f} m from the connected roads")
                continue
            lon, lat = plon, plat
            places[name] = (lon, lat)
        units.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                      "properties": {"名称": name, "乡镇": township_of(lon), "常住人口": pop, "60岁及以上": p60,
                                     "80岁及以上": p80}})
    totals = {name: [0, 0, 0] for name, _, _ in TOWNSHIPS}
    for u in units:
        p = u["properties"]
        for k, col in enumerate(("常住人口", "60岁及以上", "80岁及以上")):
            totals[p["乡镇"]][k] += p[col]
    townships = [{"type": "Feature",
                  "geometry": {"type": "Polygon", "coordinates": [[[w, LAT_S], [e, LAT_S], [e, LAT_N], [w, LAT_N],
                                                                   [w, LAT_S]]]},
                  "properties": {"乡镇": name, "常住人口": totals[name][0], "60岁及以上": totals[name][1],
                                 "80岁及以上": totals[name][2]}} for name, w, e in TOWNSHIPS]
    rows = [["名称", "类型", "经度", "纬度", "所属乡镇", "备注"]]
    seen: dict[str, int] = {}
    for name, kind, anchor in LEDGER:
        k = seen[anchor] = seen.get(anchor, -1) + 1  # 25 m east, 15 m north of the place; a second one 80/50 m more
        lon, lat, _, _ = roads.place(*places[anchor], 25.0 + 80.0 * k, 15.0 + 50.0 * k)
        rows.append([name, kind, f"{lon:.6f}", f"{lat:.6f}", township_of(lon), "示意数据（虚构）"])
    files = {"villages.geojson": _collection(units), "townships.geojson": _collection(townships),
             "ledger.csv": _csv(rows)}
    return files, left_out


def _collection(features: list[dict]) -> str:
    lines = [json.dumps(f, ensure_ascii=False) for f in features]
    return '{"type": "FeatureCollection", "features": [\n' + ",\n".join(lines) + "\n]}\n"


def _csv(rows: list[list[str]]) -> str:
    import io

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return "\ufeff" + buf.getvalue()  # UTF-8 with BOM: Excel shows the Chinese headers


def main(argv: list[str]) -> int:
    osm = Path(argv[0]) if argv else DEFAULT_OSM
    files, left_out = build(osm)
    for name, text in files.items():
        (HERE / name).write_text(text, encoding="utf-8")
        print(f"wrote {HERE / name}")
    for line in left_out:
        print(f"left out {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
