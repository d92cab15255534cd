"""load_network: real OSM in (file, GraphML cache, place name), a compact travel network out."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path

import shapely

from network.errors import NetworkError
from network.osm_file import file_bounds, is_osm_path, read_highway_ways, refuse_osm_xml_entities
from network.build import build_network
from network.cache import cache_key, default_cache_dir, read_entry, write_entry
from network.compact import CompactNetwork
from network.modes import ModeRules, default_way_factors
from network.raw import RawWays
from network.xmlsafe import refuse_xml_entities

log = logging.getLogger(__name__)

DEFAULT_BUFFER_M = 1000.0


def load_network(
    source: str | os.PathLike | RawWays,
    *,
    mode: str = "walk",
    boundary: shapely.Geometry | None = None,
    buffer_m: float = DEFAULT_BUFFER_M,
    largest_component: bool = True,
    way_factors: Mapping[str, float] | None = None,
    speeds_kmh: Mapping[str, float] | None = None,
    cache: bool = True,
    cache_dir: Path | None = None,
) -> CompactNetwork:
    """Load a travel network from OSM data.

    Parameters
    ----------
    source
        An OSM file (``.osm``, ``.osm.gz``, ``.osm.bz2``, ``.osm.pbf``), a GraphML file (an osmnx
        graph saved with ``ox.save_graphml``), a `RawWays` object (the sample generator), or a
        place name such as ``"Haidian District, Beijing"`` fetched online through osmnx
        (optional; needs internet).
    mode
        ``"walk"`` (osmnx's walk filter, every way both directions), ``"bike"``, ``"ebike"``
        (electric bicycles and tricycles: roads and tracks, no motorways or footways; see
        `network.modes`) or ``"drive"`` (one-ways respected, speeds by highway class, see
        `network.modes.DRIVE_SPEED_KMH`).
    boundary
        Study-area polygon in WGS84 lon/lat. Ways are clipped to it plus `buffer_m`.
    buffer_m
        Buffer around `boundary` (metres), so that roads just beyond a district border still
        carry residents to facilities on the other side. Default 1,000 m: a 15-minute walk at
        the elderly speed of 3.6 km/h covers 900 m.
    largest_component
        Keep only the largest connected component (what was dropped is in ``net.report``).
    way_factors
        Time factor per highway value for walk/bike/ebike (default `network.modes.default_way_factors`:
        steps ×2 for elderly walkers, tracks and paths ×1.25 for e-bikes); ``{}`` for none.
    speeds_kmh
        Drive only: road speeds (km/h) by highway class replacing those of
        `network.modes.DRIVE_SPEED_KMH`, e.g. ``{"tertiary": 35}`` (ways with ``maxspeed`` keep it).
    cache, cache_dir
        Keep the built network in a cache keyed by the file's content and these options, so
        a second run on the same data skips parsing (default folder: `default_cache_dir`).
        Entries are verified on reading (see `network.cache`); a damaged one is rebuilt.

    Returns
    -------
    CompactNetwork
        Projected to the local UTM zone. ``net.report`` says what was read and dropped, and:
        ``"file_bounds"``, the box the OSM file declares (``[min lon, min lat, max lon, max
        lat]``, see `file_bounds`; None when it declares none or the source is not a file);
        ``"cache"``, ``"hit"``, ``"miss"`` or ``"rebuilt: <reason>"`` (OSM files with `cache`).

    Raises
    ------
    NetworkError
        A missing, empty, unreadable or non-OSM file; XML that declares entities; no usable
        ways (`OutsideDataError` when the boundary misses the data).

    Examples
    --------
    >>> net = load_network("../shared/data/osm/beijing_haidian_wudaokou.osm")  # doctest: +SKIP
    >>> net.summary()["length_km"]  # doctest: +SKIP
    """
    rules = ModeRules(mode=mode, way_factors=default_way_factors(mode) if way_factors is None else dict(way_factors),
                      speeds_kmh=dict(speeds_kmh or {}))
    if boundary is not None and (not isinstance(boundary, shapely.Geometry) or boundary.is_empty):
        raise NetworkError("boundary must be a non-empty shapely polygon in WGS84 lon/lat")
    if buffer_m < 0:
        raise NetworkError(f"buffer_m is {buffer_m}; the boundary buffer must be >= 0 metres")
    options = {
        "mode": mode, "buffer_m": float(buffer_m), "largest_component": bool(largest_component),
        "way_factors": sorted(rules.way_factors.items()),
        "boundary": shapely.to_wkb(boundary, hex=True) if boundary is not None else None,
    }
    if rules.speeds_kmh:  # only when given, so the keys of networks built before stay the same
        options["speeds_kmh"] = sorted((k, float(v)) for k, v in rules.speeds_kmh.items())
    if isinstance(source, RawWays):
        return _no_file_bounds(build_network(source, rules=rules, boundary=boundary, buffer_m=buffer_m,
                                             largest_component=largest_component, source="sample"))
    if isinstance(source, shapely.Geometry):
        return _no_file_bounds(_from_place(source, rules=rules))

    path = Path(source)
    if path.suffix.lower() == ".graphml":
        return _no_file_bounds(_from_graphml(path, rules=rules))
    if not path.exists():
        if is_osm_path(path) or os.sep in str(source) or path.suffix:
            raise NetworkError(f"{path}: file not found; check the path or use --sample for the built-in district")
        return _no_file_bounds(_from_place(str(source), rules=rules))
    if not is_osm_path(path):
        raise NetworkError(
            f"{path}: not an OSM file (expected .osm, .osm.gz, .osm.bz2, .osm.pbf or .graphml); "
            "export the area from openstreetmap.org or a Geofabrik extract"
        )
    _check_osm_header(path)

    key = cache_key(path, options) if cache else None
    cdir = cache_dir or default_cache_dir()
    status = "miss"
    if key is not None:
        hit, status = read_entry(cdir, key)
        if hit is not None:
            hit.report["cache"] = status
            return hit
    t0 = time.perf_counter()
    raw = read_highway_ways(path)
    if raw.n_ways == 0:
        raise NetworkError(f"{path}: the file has no highway ways; use an extract that includes streets")
    net = build_network(raw, rules=rules, boundary=boundary, buffer_m=buffer_m,
                        largest_component=largest_component, source=str(path))
    bounds = file_bounds(path)
    net.report["file_bounds"] = list(bounds) if bounds is not None else None
    net.report["build_s"] = round(time.perf_counter() - t0, 3)
    if key is not None:
        net.report["cache"] = status
        write_entry(net, cdir, key)
    return net


def _no_file_bounds(net: CompactNetwork) -> CompactNetwork:
    """Sources other than OSM files declare no bounds; the key is there all the same."""
    net.report.setdefault("file_bounds", None)
    return net


def _check_osm_header(path: Path) -> None:
    """Refuse files that are obviously not OSM, or XML that declares entities, before libosmium
    parses anything (and gives a cryptic message)."""
    with path.open("rb") as f:
        head = f.read(512)
    if not head:
        raise NetworkError(f"{path}: the file is empty; export the area again")
    refuse_osm_xml_entities(path)
    name = path.name.lower()
    if name.endswith((".osm", ".xml")) and b"<osm" not in head and b"<?xml" not in head:
        raise NetworkError(f"{path}: not OSM XML (no <osm> element at the start); export the area as .osm or .osm.pbf")
    if name.endswith(".pbf") and b"OSMHeader" not in head:
        raise NetworkError(f"{path}: not an OSM PBF file (no OSMHeader block); export it again as .osm.pbf")


def _from_graphml(path: Path, *, rules: ModeRules) -> CompactNetwork:
    if not path.exists():
        raise NetworkError(f"{path}: file not found; check the path of the GraphML cache")
    refuse_xml_entities(path, fix="remove the <!DOCTYPE ...> block, or save the graph again with osmnx.save_graphml")
    import osmnx as ox

    try:
        G = ox.load_graphml(path)
    except Exception as exc:  # noqa: BLE001 - any parse failure becomes one clear line
        raise NetworkError(f"{path}: not a readable osmnx GraphML file ({exc}); save it with osmnx.save_graphml") from None
    return from_graph(G, rules=rules, source=str(path))


def _from_place(place: str | shapely.Geometry, *, rules: ModeRules) -> CompactNetwork:
    """A place name or WGS84 polygon, downloaded through osmnx (online only)."""
    import osmnx as ox

    kind = "bike" if rules.mode == "ebike" else rules.mode  # osmnx has no e-bike filter: ours refines its bike ways
    try:
        if isinstance(place, shapely.Geometry):
            G = ox.graph_from_polygon(place, network_type=kind, simplify=True, retain_all=False)
        else:
            G = ox.graph_from_place(place, network_type=kind, simplify=True, retain_all=False)
    except Exception as exc:  # noqa: BLE001 - offline machines land here
        raise NetworkError(
            f"place {place if isinstance(place, str) else 'polygon'!r}: could not download it through osmnx/Overpass ({type(exc).__name__}); "
            "without internet, pass an OSM file with --network FILE (or a file path that exists)"
        ) from None
    return from_graph(G, rules=rules, source=f"place:{place}")


def from_graph(G, *, rules: ModeRules, source: str = "graph") -> CompactNetwork:
    """Convert an osmnx MultiDiGraph (unprojected, simplified or not) to a `CompactNetwork`.

    The edges' ``highway``, ``oneway`` and ``geometry`` (or the straight line between the end
    nodes) are kept; lengths are recomputed as great-circle lengths along the geometry.
    """
    nodes: dict[int, tuple[float, float]] = {}
    for n, d in G.nodes(data=True):
        lon, lat = d.get("lon", d.get("x")), d.get("lat", d.get("y"))
        nodes[int(n)] = (float(lon), float(lat))
    crs = str(G.graph.get("crs", "epsg:4326")).lower()
    if "4326" not in crs and "wgs84" not in crs:
        raise NetworkError(f"{source}: the graph is projected ({crs}); save the unprojected osmnx graph (EPSG:4326)")
    ways = []
    next_id = max(nodes) + 1 if nodes else 1
    seen: set[tuple[int, int, float]] = set()
    for k, (u, v, key, d) in enumerate(G.edges(keys=True, data=True)):
        if rules.bidirectional:  # osmnx stores each two-way street twice; keep one copy
            twin = (min(u, v), max(u, v), round(float(d.get("length", 0.0)), 1))
            if twin in seen:
                continue
            seen.add(twin)
        hw = d.get("highway", "unclassified")
        hw = hw[0] if isinstance(hw, list) else hw
        tags = {"highway": str(hw)}
        if not rules.bidirectional and d.get("oneway", False):
            tags["oneway"] = "yes"
        geom = d.get("geometry")
        ids = [int(u)]
        if geom is not None:
            coords = list(geom.coords)[1:-1]
            for c in coords:
                nodes[next_id] = (float(c[0]), float(c[1]))
                ids.append(next_id)
                next_id += 1
        ids.append(int(v))
        ways.append((k + 1, ids, tags))
    raw = RawWays.from_lists(nodes, ways)
    if not rules.bidirectional:
        # two-way streets appear as two directed edges: keep them as one-way pairs
        raw = RawWays(raw.node_id, raw.node_lon, raw.node_lat, raw.way_id, raw.way_offsets, raw.refs,
                      [{**t, "oneway": "yes"} for t in raw.way_tags])
    return build_network(raw, rules=rules, source=source, largest_component=True)
