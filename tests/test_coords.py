"""Tests of circles.coords against the independent `prcoords` implementation."""

from __future__ import annotations

import math
import warnings

import numpy as np
import prcoords
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from circles import CirclesError
from circles.coords import (
    CHINA_BBOX,
    bd09_to_gcj02,
    bd09_to_wgs84,
    check_coords,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    in_china,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

# WGS84 (lon, lat): Beijing Wudaokou, Shenzhen Nanshan, a village near Guixi (Jiangxi), Urumqi,
# Sanya, Harbin: the corners of the country as well as the study areas.
POINTS = [
    (116.3376, 39.9925),
    (113.9430, 22.5400),
    (117.1562, 28.2105),
    (87.6168, 43.8256),
    (109.5120, 18.2528),
    (126.6425, 45.7567),
]
LON = np.array([p[0] for p in POINTS])
LAT = np.array([p[1] for p in POINTS])

# China's land extent, a little inside the out-of-China rectangle.
china_lon = st.floats(min_value=73.5, max_value=135.0, allow_nan=False)
china_lat = st.floats(min_value=18.0, max_value=53.5, allow_nan=False)


def distance_m(lon1, lat1, lon2, lat2):
    """Haversine distance (metres) between arrays of points."""
    lon1, lat1, lon2, lat2 = map(np.radians, (lon1, lat1, lon2, lat2))
    hav = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6_371_000 * np.arcsin(np.sqrt(hav))


def _prc(fn, lon, lat):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = fn((lat, lon))
    return out.lon, out.lat


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (wgs84_to_gcj02, prcoords.wgs_gcj),
        (gcj02_to_bd09, prcoords.gcj_bd),
        (wgs84_to_bd09, prcoords.wgs_bd),
    ],
)
def test_forward_transforms_match_prcoords_to_a_millimetre(ours, theirs):
    lon, lat = ours(LON, LAT)
    expected = np.array([_prc(theirs, x, y) for x, y in POINTS])
    assert distance_m(lon, lat, expected[:, 0], expected[:, 1]).max() < 1e-3


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (gcj02_to_wgs84, prcoords.gcj_wgs_bored),
        (bd09_to_gcj02, prcoords.bd_gcj_bored),
        (bd09_to_wgs84, prcoords.bd_wgs_bored),
    ],
)
def test_inverse_transforms_match_prcoords_iterative_ones(ours, theirs):
    lon, lat = ours(LON, LAT)
    expected = np.array([_prc(theirs, x, y) for x, y in POINTS])
    # prcoords stops at 1e-5 degrees of residual; it is still within a decimetre.
    assert distance_m(lon, lat, expected[:, 0], expected[:, 1]).max() < 0.1


def test_inverses_beat_the_one_step_approximation():
    glon, glat = wgs84_to_gcj02(LON, LAT)
    rough = np.array([_prc(prcoords.gcj_wgs, x, y) for x, y in zip(glon, glat)])
    lon, lat = gcj02_to_wgs84(glon, glat)
    ours_m = distance_m(lon, lat, LON, LAT)
    rough_m = distance_m(rough[:, 0], rough[:, 1], LON, LAT)
    assert ours_m.max() < 0.01
    assert rough_m.max() > 0.1  # the one-step inverse is decimetres to metres off


def test_offsets_are_in_the_expected_ranges():
    glon, glat = wgs84_to_gcj02(LON[:3], LAT[:3])
    blon, blat = wgs84_to_bd09(LON[:3], LAT[:3])
    gcj_m = distance_m(LON[:3], LAT[:3], glon, glat)
    bd_m = distance_m(LON[:3], LAT[:3], blon, blat)
    assert ((gcj_m > 250) & (gcj_m < 700)).all(), gcj_m
    assert ((bd_m > 700) & (bd_m < 1500)).all(), bd_m


def test_scalars_give_floats_and_arrays_keep_their_shape():
    lon, lat = wgs84_to_gcj02(116.3376, 39.9925)
    assert isinstance(lon, float) and isinstance(lat, float)
    grid_lon, grid_lat = np.meshgrid(LON, LAT)
    out_lon, out_lat = bd09_to_wgs84(grid_lon, grid_lat)
    assert out_lon.shape == grid_lon.shape == out_lat.shape
    assert out_lon[0, 1] == pytest.approx(bd09_to_wgs84(LON[1], LAT[0])[0], abs=1e-12)


def test_points_outside_china_are_not_shifted_by_gcj02():
    porto = (-8.6110, 41.1496)
    helsinki = (24.9384, 60.1699)
    for lon, lat in (porto, helsinki):
        assert not in_china(lon, lat)
        assert wgs84_to_gcj02(lon, lat) == (lon, lat)
        assert gcj02_to_wgs84(lon, lat) == (lon, lat)
    # BD-09 shifts everywhere: Baidu applies its offset to any point.
    assert bd09_to_gcj02(*porto) != porto
    assert in_china(CHINA_BBOX[0] + 1, CHINA_BBOX[1] + 1)


def test_to_wgs84_dispatches_and_rejects_unknown_systems():
    glon, glat = wgs84_to_gcj02(LON, LAT)
    blon, blat = wgs84_to_bd09(LON, LAT)
    for lon, lat, name in ((glon, glat, "GCJ-02"), (blon, blat, "bd09"), (LON, LAT, "WGS84")):
        wlon, wlat = to_wgs84(lon, lat, name)
        assert distance_m(wlon, wlat, LON, LAT).max() < 0.01
    with pytest.raises(CirclesError, match="'utm'.*wgs84.*gcj02.*bd09"):
        to_wgs84(LON, LAT, "utm")
    assert check_coords("BD-09") == "bd09"


def test_nan_passes_through():
    lon, lat = gcj02_to_wgs84(np.array([116.3, np.nan]), np.array([39.9, np.nan]))
    assert np.isnan(lon[1]) and np.isnan(lat[1]) and np.isfinite(lon[0])


@settings(max_examples=100, deadline=None)
@given(lon=china_lon, lat=china_lat)
def test_gcj02_round_trip_is_sub_centimetre(lon, lat):
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert distance_m(back[0], back[1], lon, lat) < 0.01
    ahead = wgs84_to_gcj02(*gcj02_to_wgs84(lon, lat))
    assert distance_m(ahead[0], ahead[1], lon, lat) < 0.01


@settings(max_examples=100, deadline=None)
@given(lon=china_lon, lat=china_lat)
def test_bd09_round_trip_is_sub_centimetre(lon, lat):
    back = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    assert distance_m(back[0], back[1], lon, lat) < 0.01
    back_gcj = bd09_to_gcj02(*gcj02_to_bd09(lon, lat))
    assert distance_m(back_gcj[0], back_gcj[1], lon, lat) < 0.01


@settings(max_examples=100, deadline=None)
@given(lon=china_lon, lat=china_lat)
def test_forward_agrees_with_prcoords_everywhere_in_china(lon, lat):
    ours = wgs84_to_bd09(lon, lat)
    theirs = _prc(prcoords.wgs_bd, lon, lat)
    assert math.isclose(ours[0], theirs[0], abs_tol=1e-8)
    assert math.isclose(ours[1], theirs[1], abs_tol=1e-8)
