"""Chinese coordinate systems: WGS84, GCJ-02 (Amap, Tencent, Google China) and BD-09 (Baidu).

Facility ledgers geocoded with Chinese map services carry GCJ-02 or BD-09 coordinates: 300–600 m
(GCJ-02) and up to ~1.4 km (BD-09) away from the WGS84 coordinates of OpenStreetMap. Every
function here is vectorised: it takes scalars or numpy arrays (any shape) of longitude and
latitude in degrees and returns ``(lon, lat)`` of the same shape (plain floats for scalar input).

The forward transforms (WGS84 → GCJ-02 → BD-09) are the published closed forms. The inverses
(GCJ-02 → WGS84, BD-09 → GCJ-02) have no closed form; they start from the one-step
approximation and iterate the forward transform to a fixed point, to better than 1e-9 degrees
(0.1 mm), instead of stopping at the one-step approximation (1–2 m of error).

Out-of-China rule: GCJ-02 leaves points outside China unshifted. Like most implementations
(eviltransform, PRCoords), this module uses the rectangle longitude 72.004–137.8347 E,
latitude 0.8293–55.8271 N (`CHINA_BBOX`): points outside it pass through GCJ-02 unchanged.
The rectangle also covers parts of neighbouring countries; the study areas of this tool are
inside China, where the rule never matters. BD-09 has no such rule: Baidu shifts every point.
"""

from __future__ import annotations

import numpy as np

from circles.errors import CirclesError

__all__ = [
    "CHINA_BBOX",
    "COORD_SYSTEMS",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "in_china",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

#: The coordinate systems a ledger can be in (values of ``--coords``).
COORD_SYSTEMS: tuple[str, ...] = ("wgs84", "gcj02", "bd09")

#: (min lon, min lat, max lon, max lat) in degrees: the out-of-China rule of GCJ-02.
CHINA_BBOX: tuple[float, float, float, float] = (72.004, 0.8293, 137.8347, 55.8271)

# Krasovsky 1940 ellipsoid, as used by the GCJ-02 formulas.
_GCJ_A_M = 6378245.0
_GCJ_EE = 0.00669342162296594323
# Baidu's constant offsets and angular factor.
_BD_DLON = 0.0065
_BD_DLAT = 0.006
_BD_X_PI = np.pi * 3000.0 / 180.0

_TOLERANCE_DEG = 1e-9  # ~0.1 mm: stop the inverse iterations below this
_MAX_ITERATIONS = 30


def _as_arrays(lon, lat) -> tuple[np.ndarray, np.ndarray, bool]:
    lon_a = np.asarray(lon, dtype=np.float64)
    lat_a = np.asarray(lat, dtype=np.float64)
    if lon_a.shape != lat_a.shape:
        lon_a, lat_a = np.broadcast_arrays(lon_a, lat_a)
    scalar = lon_a.ndim == 0
    return lon_a, lat_a, scalar


def _out(lon: np.ndarray, lat: np.ndarray, scalar: bool):
    if scalar:
        return float(lon), float(lat)
    return lon, lat


def in_china(lon, lat) -> np.ndarray | bool:
    """Whether points fall inside `CHINA_BBOX`, the rectangle where GCJ-02 shifts points.

    Parameters
    ----------
    lon, lat
        Longitude and latitude (degrees), scalars or arrays.

    Returns
    -------
    numpy.ndarray or bool
        Boolean mask of the same shape (a plain bool for scalar input).

    Examples
    --------
    >>> in_china(116.39, 39.91), in_china(-8.61, 41.15)
    (True, False)
    """
    lon_a, lat_a, scalar = _as_arrays(lon, lat)
    inside = (
        (lon_a >= CHINA_BBOX[0]) & (lon_a <= CHINA_BBOX[2])
        & (lat_a >= CHINA_BBOX[1]) & (lat_a <= CHINA_BBOX[3])
    )
    return bool(inside) if scalar else inside


def _gcj_delta_deg(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 shift (degrees) at WGS84 points, with no out-of-China rule."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    # The published distortion series, in metres of arc.
    dlat_m = (
        -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    )
    dlon_m = (
        300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    )
    rad_lat = np.radians(lat)
    magic = 1.0 - _GCJ_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat_deg = dlat_m * 180.0 / ((_GCJ_A_M * (1.0 - _GCJ_EE)) / (magic * sqrt_magic) * np.pi)
    dlon_deg = dlon_m * 180.0 / (_GCJ_A_M / sqrt_magic * np.cos(rad_lat) * np.pi)
    return dlon_deg, dlat_deg


def _wgs_to_gcj_unchecked(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dlon, dlat = _gcj_delta_deg(lon, lat)
    return lon + dlon, lat + dlat


def wgs84_to_gcj02(lon, lat):
    """Convert WGS84 to GCJ-02 (Amap, Tencent, Google China).

    Points outside `CHINA_BBOX` are returned unchanged (the out-of-China rule).

    Parameters
    ----------
    lon, lat
        WGS84 longitude and latitude (degrees), scalars or arrays of the same shape.

    Returns
    -------
    tuple
        GCJ-02 ``(lon, lat)`` in degrees: floats for scalar input, arrays otherwise.

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02(116.3975, 39.9087)   # Tiananmen
    >>> round(lon, 4), round(lat, 4)
    (116.4037, 39.9101)
    """
    lon_a, lat_a, scalar = _as_arrays(lon, lat)
    glon, glat = _wgs_to_gcj_unchecked(lon_a, lat_a)
    inside = in_china(lon_a, lat_a)
    glon = np.where(inside, glon, lon_a)
    glat = np.where(inside, glat, lat_a)
    return _out(glon, glat, scalar)


def gcj02_to_wgs84(lon, lat):
    """Convert GCJ-02 to WGS84 by fixed-point iteration, to better than 1e-9 degrees (0.1 mm).

    Starts from the one-step inverse ``wgs ≈ gcj - shift(gcj)`` and repeats
    ``wgs -= forward(wgs) - gcj`` until the change is below 1e-9 degrees (typically 3–4
    rounds). The shift varies by ~1e-5 per metre, so the iteration contracts fast. Points
    outside `CHINA_BBOX` are returned unchanged.

    Parameters
    ----------
    lon, lat
        GCJ-02 longitude and latitude (degrees), scalars or arrays of the same shape.

    Returns
    -------
    tuple
        WGS84 ``(lon, lat)`` in degrees: floats for scalar input, arrays otherwise.

    Examples
    --------
    >>> lon, lat = gcj02_to_wgs84(*wgs84_to_gcj02(114.0579, 22.5431))
    >>> round(lon, 9), round(lat, 9)
    (114.0579, 22.5431)
    """
    lon_a, lat_a, scalar = _as_arrays(lon, lat)
    dlon, dlat = _gcj_delta_deg(lon_a, lat_a)
    wlon, wlat = lon_a - dlon, lat_a - dlat
    for _ in range(_MAX_ITERATIONS):
        flon, flat = _wgs_to_gcj_unchecked(wlon, wlat)
        elon, elat = flon - lon_a, flat - lat_a
        wlon = wlon - elon
        wlat = wlat - elat
        if not np.any(np.abs(elon) > _TOLERANCE_DEG) and not np.any(np.abs(elat) > _TOLERANCE_DEG):
            break
    inside = in_china(lon_a, lat_a)
    wlon = np.where(inside, wlon, lon_a)
    wlat = np.where(inside, wlat, lat_a)
    return _out(wlon, wlat, scalar)


def _gcj_to_bd(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _BD_X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _BD_X_PI)
    return z * np.cos(theta) + _BD_DLON, z * np.sin(theta) + _BD_DLAT


def gcj02_to_bd09(lon, lat):
    """Convert GCJ-02 to BD-09 (Baidu).

    Parameters
    ----------
    lon, lat
        GCJ-02 longitude and latitude (degrees), scalars or arrays of the same shape.

    Returns
    -------
    tuple
        BD-09 ``(lon, lat)`` in degrees.

    Examples
    --------
    >>> lon, lat = gcj02_to_bd09(116.4037, 39.9101)
    >>> round(lon, 4), round(lat, 4)
    (116.4101, 39.9164)
    """
    lon_a, lat_a, scalar = _as_arrays(lon, lat)
    return _out(*_gcj_to_bd(lon_a, lat_a), scalar)


def bd09_to_gcj02(lon, lat):
    """Convert BD-09 (Baidu) to GCJ-02, iterating to better than 1e-9 degrees (0.1 mm).

    Starts from Baidu's published one-step inverse (about 1e-6 degrees off, decimetres) and
    corrects it with the forward transform until the change is below 1e-9 degrees.

    Parameters
    ----------
    lon, lat
        BD-09 longitude and latitude (degrees), scalars or arrays of the same shape.

    Returns
    -------
    tuple
        GCJ-02 ``(lon, lat)`` in degrees.
    """
    lon_a, lat_a, scalar = _as_arrays(lon, lat)
    x = lon_a - _BD_DLON
    y = lat_a - _BD_DLAT
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_X_PI)
    glon, glat = z * np.cos(theta), z * np.sin(theta)
    for _ in range(_MAX_ITERATIONS):
        blon, blat = _gcj_to_bd(glon, glat)
        elon, elat = blon - lon_a, blat - lat_a
        glon = glon - elon
        glat = glat - elat
        if not np.any(np.abs(elon) > _TOLERANCE_DEG) and not np.any(np.abs(elat) > _TOLERANCE_DEG):
            break
    return _out(glon, glat, scalar)


def wgs84_to_bd09(lon, lat):
    """Convert WGS84 to BD-09 (Baidu), through GCJ-02.

    Parameters
    ----------
    lon, lat
        WGS84 longitude and latitude (degrees), scalars or arrays of the same shape.

    Returns
    -------
    tuple
        BD-09 ``(lon, lat)`` in degrees.
    """
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon, lat):
    """Convert BD-09 (Baidu) to WGS84, through GCJ-02; both steps iterate to 0.1 mm.

    Parameters
    ----------
    lon, lat
        BD-09 longitude and latitude (degrees), scalars or arrays of the same shape.

    Returns
    -------
    tuple
        WGS84 ``(lon, lat)`` in degrees.
    """
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def check_coords(coords: str, *, name: str = "coords") -> str:
    """Normalise a coordinate-system name, or raise a `CirclesError` listing the valid ones.

    Accepts the names of `COORD_SYSTEMS` in any case, with or without a dash or an
    underscore (``"GCJ-02"``, ``"bd_09"``, ``"WGS-84"``).

    Parameters
    ----------
    coords
        The name to check.
    name
        What to call the argument in the error message (``"--coords"`` for the CLI).

    Returns
    -------
    str
        One of ``"wgs84"``, ``"gcj02"``, ``"bd09"``.

    Examples
    --------
    >>> check_coords("GCJ-02")
    'gcj02'
    """
    key = str(coords).strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    if key not in COORD_SYSTEMS:
        raise CirclesError(
            f"{name} {coords!r} is not a known coordinate system; use one of "
            "wgs84 (GPS, OpenStreetMap), gcj02 (Amap/Tencent), bd09 (Baidu)"
        )
    return key


def to_wgs84(lon, lat, coords: str):
    """Convert coordinates in the named system to WGS84.

    Parameters
    ----------
    lon, lat
        Longitude and latitude (degrees) in the system `coords`, scalars or arrays.
    coords
        ``"wgs84"`` (returned unchanged, as float arrays), ``"gcj02"`` (Amap, Tencent) or
        ``"bd09"`` (Baidu); case, dashes and underscores are ignored.

    Returns
    -------
    tuple
        WGS84 ``(lon, lat)`` in degrees.

    Raises
    ------
    CirclesError
        When `coords` is not one of the three systems.

    Examples
    --------
    >>> lon, lat = to_wgs84(116.4101, 39.9165, "bd09")
    >>> round(lon, 3), round(lat, 3)
    (116.397, 39.909)
    """
    system = check_coords(coords)
    if system == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if system == "bd09":
        return bd09_to_wgs84(lon, lat)
    lon_a, lat_a, scalar = _as_arrays(lon, lat)
    return _out(lon_a.copy(), lat_a.copy(), scalar)
