"""Which coordinate system a ledger uses (WGS84, GCJ-02 or BD-09), decided from evidence in the OSM data.

Chinese ledgers are geocoded with Amap/Tencent (GCJ-02) or Baidu (BD-09); read as WGS84 their
points lie 300–1,400 m off, more than a five-minute walk. When a ledger inside China comes
without ``--coords``, each row's numbers are read the three ways and weighed against the OSM
data with a likelihood model built from the file itself:

- **Reference places** stand for where facilities really are: the named places of the OSM file
  (buildings, amenities, shops, with 15 m of geocoding noise added), or, in files without them,
  points beside its streets.
- Under "the ledger is in system *s*", reading *s* of a row is a true place and every other
  reading *t* is a true place displaced by the conversion error between *s* and *t*. So the
  distance from each reading to the nearest walkable street is scored against the distances of
  the reference places themselves, and of the reference places displaced exactly as the wrong
  readings are. Because the displaced places are the file's own, a county town's clustering is in
  the model: a shift that keeps points in town is not mistaken for evidence.
- A row whose name contains the name of a unique named OSM place (or the other way round)
  supports the readings that put it within 200 m of that place.

Rows count only where all three readings lie inside the data; each row's weight is capped, so
a few mis-geocoded rows cannot decide alone. A reading is accepted only when it beats the next
by `DECISION_MARGIN` (a likelihood ratio of about 3,000 : 1); otherwise the run stops before
any work and asks for ``--coords`` with the evidence (`CoordsEvidence.describe`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely

from circles.coords import COORD_SYSTEMS, in_china, to_wgs84, wgs84_to_bd09, wgs84_to_gcj02

__all__ = ["CoordsEvidence", "coords_evidence", "DECISION_MARGIN", "LABELS"]

#: Log-likelihood by which the best reading must beat the next to be accepted (ln 3000 ≈ 8.0).
DECISION_MARGIN = float(np.log(3000.0))
#: Largest weight one row can give against a reading (ln 8): a few odd rows never decide alone.
ROW_CAP = float(np.log(8.0))
#: Support of one name match within `NAME_RADIUS_M` of its OSM place (ln 20).
NAME_SCORE = float(np.log(20.0))
NAME_RADIUS_M = 200.0
#: Distance bins (metres) of the street-distance distributions.
BINS = np.array([0.0, 5.0, 10.0, 20.0, 35.0, 60.0, 100.0, 170.0, 300.0, 500.0, np.inf])
MIN_PLACES = 100
MAX_PLACES = 3000
PLACE_NOISE_M = 15.0
STREET_SIDE_M = 25.0  # synthetic places without named places: this far from a street (half-normal scale)
LABELS = {"wgs84": "WGS84", "gcj02": "GCJ-02", "bd09": "BD-09"}
_SEARCH_M = 5000.0
_FROM_WGS84 = {"wgs84": lambda lon, lat: (np.asarray(lon, float), np.asarray(lat, float)),
               "gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}


@dataclass(frozen=True)
class CoordsEvidence:
    """What the OSM data says about a ledger's coordinate system.

    Attributes
    ----------
    n_rows
        Rows with coordinates inside China.
    n_weighed
        Rows whose three readings all lie inside the data (the rows that give evidence).
    scores
        Log-likelihood of each reading (``wgs84``, ``gcj02``, ``bd09``), relative to the best.
    median_street_m
        Median distance from the rows to the nearest walkable street, for each reading.
    inside
        Rows inside the data, for each reading.
    name_matches
        Rows placed within `NAME_RADIUS_M` of the OSM place their name names, for each reading.
    decided
        The accepted reading, or None when no reading wins by `DECISION_MARGIN`.
    margin
        Log-likelihood by which the best reading beats the next.
    """

    n_rows: int
    n_weighed: int
    scores: dict[str, float]
    median_street_m: dict[str, float]
    inside: dict[str, int]
    name_matches: dict[str, int] = field(default_factory=dict)
    decided: str | None = None
    margin: float = 0.0

    @property
    def best(self) -> str:
        return max(self.scores, key=self.scores.get)

    def describe(self, lang: str = "en") -> str:
        """One line of evidence, e.g. ``"as WGS84: median 31 m to a street ...; as GCJ-02: 9 m ..."``."""
        parts = []
        for s in COORD_SYSTEMS:
            med = self.median_street_m.get(s, float("nan"))
            med_text = "–" if not np.isfinite(med) else f"{med:.0f}"
            names = self.name_matches.get(s, 0)
            if lang == "zh":
                parts.append(f"按 {LABELS[s]} 读：到道路距离中位数 {med_text} 米，{self.inside.get(s, 0)} 行在数据范围内"
                             + (f"，{names} 行与 OSM 同名地点相符" if names else ""))
            else:
                parts.append(f"as {LABELS[s]}: median {med_text} m to a street, {self.inside.get(s, 0)} rows inside "
                             "the data" + (f", {names} rows at the OSM place they name" if names else ""))
        odds = f"{np.exp(min(self.margin, 30.0)):,.0f}"
        best = LABELS[self.best]
        tail = (f"（{best} 最可能，但与次佳之比仅约 {odds}:1）" if lang == "zh"
                else f" ({best} fits best, but only about {odds}:1 against the next)")
        if self.decided:
            tail = (f"（{best} 与次佳之比约 {odds}:1）" if lang == "zh" else f" ({best}: about {odds}:1 against the next)")
        return ("；" if lang == "zh" else "; ").join(parts) + tail

    def record(self) -> dict[str, Any]:
        """For summary.json ``inputs.coords_evidence``."""
        return {"rows": self.n_rows, "rows_weighed": self.n_weighed, "decided": self.decided,
                "log_likelihood_margin": round(self.margin, 2),
                "scores": {k: round(v, 2) for k, v in self.scores.items()},
                "median_street_m": {k: (round(v, 1) if np.isfinite(v) else None)
                                    for k, v in self.median_street_m.items()},
                "rows_inside_data": dict(self.inside), "name_matches": dict(self.name_matches)}


def _distances(net: Any, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    if len(lon) == 0:
        return np.zeros(0)
    x, y = net.to_xy(lon, lat)
    return np.asarray(net.snap(x, y, max_distance_m=_SEARCH_M).distance_m, dtype=float)


def _log_density(d: np.ndarray) -> np.ndarray:
    """Log-probability of each distance bin (add-one smoothing: no empty bin)."""
    h = np.histogram(d[np.isfinite(d)], BINS)[0].astype(float) + 1.0
    return np.log(h / h.sum())


def _bin(d: np.ndarray) -> np.ndarray:
    return np.clip(np.digitize(d, BINS) - 1, 0, len(BINS) - 2)


def _shift(lon: np.ndarray, lat: np.ndarray, metres: np.ndarray, rng: np.random.Generator):
    ang = rng.uniform(0.0, 2.0 * np.pi, len(lon))
    return (lon + metres * np.cos(ang) / (111_320.0 * np.cos(np.radians(lat))),
            lat + metres * np.sin(ang) / 110_540.0)


def _reference_places(net: Any, places: Any, extent: Any, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Where facilities really are: the file's named places (+ geocoding noise), else points beside its streets."""
    lon = lat = np.zeros(0)
    if places is not None and len(places):
        pts = places.geometry.representative_point()
        lon, lat = pts.x.to_numpy(float), pts.y.to_numpy(float)
        ok = shapely.contains_xy(extent, lon, lat)
        lon, lat = lon[ok], lat[ok]
    if len(lon) >= MIN_PLACES:
        if len(lon) > MAX_PLACES:
            k = rng.choice(len(lon), MAX_PLACES, replace=False)
            lon, lat = lon[k], lat[k]
        return _shift(lon, lat, np.abs(rng.normal(0.0, PLACE_NOISE_M, len(lon))), rng)
    # no named places: points on random streets (by length), moved a little off them
    lines = net.edge_lines()
    length = shapely.length(lines)
    k = rng.choice(len(lines), MAX_PLACES, p=length / length.sum())
    pts = shapely.line_interpolate_point(lines[k], rng.uniform(0.0, 1.0, MAX_PLACES), normalized=True)
    lon, lat = net.to_lonlat(shapely.get_x(pts), shapely.get_y(pts))
    return _shift(np.asarray(lon), np.asarray(lat), np.abs(rng.normal(0.0, STREET_SIDE_M, MAX_PLACES)), rng)


def _models(net: Any, ref_lon: np.ndarray, ref_lat: np.ndarray, extent: Any) -> dict[tuple[str, str], np.ndarray]:
    """Log-densities of street distance: (s, s) for a true place, (s, t) for a place read as t when it is in s."""
    models = {}
    for s in COORD_SYSTEMS:
        raw_lon, raw_lat = _FROM_WGS84[s](ref_lon, ref_lat)  # the numbers a ledger in s holds for these places
        for t in COORD_SYSTEMS:
            lon, lat = (ref_lon, ref_lat) if s == t else to_wgs84(raw_lon, raw_lat, t)
            lon, lat = np.atleast_1d(lon), np.atleast_1d(lat)
            inside = shapely.contains_xy(extent, lon, lat)
            models[(s, t)] = _log_density(_distances(net, lon[inside], lat[inside]))
    return models


def _name_support(names: Sequence[Any] | None, places: Any, readings: dict[str, tuple[np.ndarray, np.ndarray]]
                  ) -> dict[str, np.ndarray]:
    """Per reading, the rows within `NAME_RADIUS_M` of the unique OSM place their name names."""
    out = {s: np.zeros(len(r[0]), dtype=bool) for s, r in readings.items()}
    if names is None or places is None or "name" not in places or len(places) == 0:
        return out
    place_names = places["name"].astype(object).to_numpy()
    by_name: dict[str, list[int]] = {}
    for i, n in enumerate(place_names):
        if isinstance(n, str) and len(n.strip()) >= 3:
            by_name.setdefault(n.strip(), []).append(i)
    unique = {n: ix[0] for n, ix in by_name.items() if len(ix) == 1}
    if not unique:
        return out
    pts = places.geometry.representative_point()
    plon, plat = pts.x.to_numpy(float), pts.y.to_numpy(float)
    for row, name in enumerate(names):
        if not isinstance(name, str) or len(name.strip()) < 3:
            continue
        text = name.strip()
        hits = [i for n, i in unique.items() if n in text or text in n]
        if len(hits) != 1:
            continue
        i = hits[0]
        for s, (lon, lat) in readings.items():
            dx = (lon[row] - plon[i]) * 111_320.0 * np.cos(np.radians(plat[i]))
            dy = (lat[row] - plat[i]) * 110_540.0
            out[s][row] = bool(np.hypot(dx, dy) <= NAME_RADIUS_M)
    return out


def coords_evidence(raw_lon: np.ndarray, raw_lat: np.ndarray, *, net: Any, extent: Any = None,
                    places: Any = None, names: Sequence[Any] | None = None, seed: int = 0) -> CoordsEvidence:
    """Weigh the three readings of a ledger's numbers against the OSM data (see the module notes).

    Parameters
    ----------
    raw_lon, raw_lat
        The ledger's numbers as given (degrees), one per row.
    net
        The walking network of the data (`network.CompactNetwork`).
    extent
        The area the data covers (WGS84; `network.data_extent`); default the network's box.
    places
        Named places of the OSM file (a GeoDataFrame with ``name`` and geometry, WGS84), e.g.
        `network.features.read_osm_features`; optional.
    names
        The ledger's facility names, row-aligned with the numbers; optional.
    seed
        Seed of the random draws (the decision is reproducible).

    Returns
    -------
    CoordsEvidence
        With ``decided`` set when one reading wins by `DECISION_MARGIN`.
    """
    raw_lon = np.asarray(raw_lon, dtype=float)
    raw_lat = np.asarray(raw_lat, dtype=float)
    ok = np.isfinite(raw_lon) & np.isfinite(raw_lat)
    ok[ok] = np.asarray(in_china(raw_lon[ok], raw_lat[ok]), dtype=bool)
    lon0, lat0 = raw_lon[ok], raw_lat[ok]
    row_names = [n for n, k in zip(names, ok) if k] if names is not None else None
    extent = extent if extent is not None else shapely.box(*net.bbox_lonlat)
    shapely.prepare(extent)
    rng = np.random.default_rng(seed)
    readings = {s: tuple(np.atleast_1d(v).astype(float) for v in to_wgs84(lon0, lat0, s)) for s in COORD_SYSTEMS}
    within = {s: shapely.contains_xy(extent, *readings[s]) for s in COORD_SYSTEMS}
    usable = np.logical_and.reduce([within[s] for s in COORD_SYSTEMS]) if len(lon0) else np.zeros(0, bool)
    dist = {}
    for s, (lon, lat) in readings.items():
        d = np.full(len(lon), np.nan)
        d[within[s]] = _distances(net, lon[within[s]], lat[within[s]])
        dist[s] = d
    scores = {s: 0.0 for s in COORD_SYSTEMS}
    if usable.any():
        ref_lon, ref_lat = _reference_places(net, places, extent, rng)
        models = _models(net, ref_lon, ref_lat, extent)
        bins = {t: _bin(dist[t][usable]) for t in COORD_SYSTEMS}
        per_row = np.column_stack([sum(models[(s, t)][bins[t]] for t in COORD_SYSTEMS) for s in COORD_SYSTEMS])
        per_row = np.maximum(per_row - per_row.max(axis=1, keepdims=True), -ROW_CAP)  # cap each row's weight
        for k, s in enumerate(COORD_SYSTEMS):
            scores[s] = float(per_row[:, k].sum())
    support = _name_support(row_names, places, readings)
    for s in COORD_SYSTEMS:
        scores[s] += NAME_SCORE * float(support[s].sum())
    top = max(scores.values())
    scores = {s: v - top for s, v in scores.items()}
    order = sorted(scores, key=scores.get, reverse=True)
    margin = scores[order[0]] - scores[order[1]]
    return CoordsEvidence(
        n_rows=int(ok.sum()), n_weighed=int(usable.sum()), scores=scores,
        median_street_m={s: float(np.nanmedian(dist[s])) if within[s].any() else float("nan") for s in COORD_SYSTEMS},
        inside={s: int(within[s].sum()) for s in COORD_SYSTEMS},
        name_matches={s: int(support[s].sum()) for s in COORD_SYSTEMS},
        decided=order[0] if margin >= DECISION_MARGIN else None, margin=float(margin))

