"""network.cache: damaged entries are detected and rebuilt, writes are atomic, clear_cache counts."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import numpy as np
import pytest

from netfixtures import grid_ways
from network import clear_cache, load_network
from network.cache import CACHE_VERSION, arrays_sha256, write_entry
from osmfixtures import write_osm


@pytest.fixture
def grid_osm(tmp_path) -> Path:
    return write_osm(tmp_path / "grid.osm", grid_ways(9, 80.0))


def _entry(cache_dir: Path) -> tuple[Path, Path]:
    (npz,) = cache_dir.glob("*.npz")
    return npz, npz.with_suffix(".json")


def _assert_same_network(a, b) -> None:
    arr_a, arr_b = a.arrays(), b.arrays()
    assert sorted(arr_a) == sorted(arr_b)
    for k in arr_a:
        np.testing.assert_array_equal(arr_a[k], arr_b[k], err_msg=k)
        assert arr_a[k].dtype == arr_b[k].dtype, k


def _truncate(npz: Path, index: Path) -> None:
    npz.write_bytes(npz.read_bytes()[: npz.stat().st_size // 2])


def _empty(npz: Path, index: Path) -> None:
    npz.write_bytes(b"")


def _not_a_zip(npz: Path, index: Path) -> None:
    npz.write_bytes(b"these are not the arrays you are looking for")


def _lengths_x5(npz: Path, index: Path) -> None:
    """The tester's edit: a consistent npz (same names, dtypes, shapes) with edge lengths ×5."""
    with np.load(npz) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["edge_length_m"] = arrays["edge_length_m"] * 5
    with npz.open("wb") as f:
        np.savez(f, **arrays)


def _array_dropped(npz: Path, index: Path) -> None:
    with np.load(npz) as data:
        arrays = {k: data[k] for k in data.files if k != "geom_y"}
    with npz.open("wb") as f:
        np.savez(f, **arrays)


def _out_of_range_with_valid_checksum(npz: Path, index: Path) -> None:
    """Arrays and index rewritten together, checksum recomputed: only the structure check can tell."""
    with np.load(npz) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["edge_u"] = arrays["edge_u"].copy()
    arrays["edge_u"][0] = len(arrays["node_x"]) + 7
    with npz.open("wb") as f:
        np.savez(f, **arrays)
    doc = json.loads(index.read_text(encoding="utf-8"))
    doc["sha256"] = arrays_sha256(arrays)
    index.write_text(json.dumps(doc), encoding="utf-8")


def _index_truncated(npz: Path, index: Path) -> None:
    index.write_bytes(index.read_bytes()[:40])


def _index_empty(npz: Path, index: Path) -> None:
    index.write_bytes(b"")


def _index_a_list(npz: Path, index: Path) -> None:
    index.write_text("[]", encoding="utf-8")


def _index_wrong_types(npz: Path, index: Path) -> None:
    doc = json.loads(index.read_text(encoding="utf-8"))
    doc["arrays"] = {k: {"dtype": 8, "shape": "many"} for k in doc["arrays"]}
    doc["report"] = ["not", "a", "dict"]
    index.write_text(json.dumps(doc), encoding="utf-8")


def _index_not_utf8(npz: Path, index: Path) -> None:
    index.write_bytes(b"\xff\xfe\x00garbage")


def _index_old_version(npz: Path, index: Path) -> None:
    doc = json.loads(index.read_text(encoding="utf-8"))
    doc["cache_version"] = CACHE_VERSION - 1
    index.write_text(json.dumps(doc), encoding="utf-8")


def _index_missing(npz: Path, index: Path) -> None:
    index.unlink()


def _report_edited(npz: Path, index: Path) -> None:
    doc = json.loads(index.read_text(encoding="utf-8"))
    doc["report"]["file_bounds"] = [0.0, 0.0, 1.0, 1.0]
    index.write_text(json.dumps(doc), encoding="utf-8")


DAMAGE = {
    "truncated npz": (_truncate, "unreadable"),
    "empty npz": (_empty, "empty"),
    "npz not a zip": (_not_a_zip, "unreadable"),
    "edge lengths x5": (_lengths_x5, "checksum"),
    "array dropped": (_array_dropped, "does not match its index"),
    "edge index out of range": (_out_of_range_with_valid_checksum, "inconsistent arrays"),
    "index truncated": (_index_truncated, "not valid JSON"),
    "index empty": (_index_empty, "empty"),
    "index a list": (_index_a_list, "not an object"),
    "index wrong types": (_index_wrong_types, "malformed fields: arrays, report"),
    "index not utf-8": (_index_not_utf8, "not valid JSON"),
    "index of an older version": (_index_old_version, "cache version"),
    "index missing": (_index_missing, "missing"),
    "report edited": (_report_edited, "build report does not match"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_entry_is_detected_and_rebuilt(damage, grid_osm, tmp_path, caplog):
    harm, reason = DAMAGE[damage]
    cache_dir = tmp_path / "cache"
    clean = load_network(grid_osm, cache=False)
    first = load_network(grid_osm, cache_dir=cache_dir)
    assert first.report["cache"] == "miss"
    harm(*_entry(cache_dir))

    with caplog.at_level(logging.WARNING, logger="network.cache"):
        rebuilt = load_network(grid_osm, cache_dir=cache_dir)
    status = rebuilt.report["cache"]
    assert status.startswith("rebuilt: ") and reason in status, status
    assert "\n" not in status
    assert any("ignored" in r.getMessage() for r in caplog.records)
    _assert_same_network(rebuilt, clean)
    assert rebuilt.report["file_bounds"] == clean.report["file_bounds"]

    again = load_network(grid_osm, cache_dir=cache_dir)  # the rebuilt entry was written back
    assert again.report["cache"] == "hit"
    _assert_same_network(again, clean)
    assert not list(cache_dir.glob("*.tmp"))


def test_hit_returns_the_same_arrays_and_report(grid_osm, tmp_path):
    first = load_network(grid_osm, cache_dir=tmp_path)
    second = load_network(grid_osm, cache_dir=tmp_path)
    assert (first.report["cache"], second.report["cache"]) == ("miss", "hit")
    _assert_same_network(first, second)
    assert {k: v for k, v in second.report.items() if k != "cache"} == \
        {k: v for k, v in first.report.items() if k != "cache"}


def test_failed_write_leaves_no_temporary_file(grid_osm, tmp_path, caplog):
    net = load_network(grid_osm, cache=False)
    cache_dir = tmp_path / "cache"
    (cache_dir / ("a" * 32 + ".npz")).mkdir(parents=True)  # os.replace onto a folder fails
    with caplog.at_level(logging.WARNING, logger="network.cache"):
        write_entry(net, cache_dir, "a" * 32)
    assert "could not write the network cache" in caplog.text
    assert sorted(p.name for p in cache_dir.iterdir()) == ["a" * 32 + ".npz"]


def test_stale_temporary_files_of_killed_writers_are_removed(grid_osm, tmp_path):
    stale = tmp_path / f".{'b' * 32}.x1y2.tmp"
    old_style = tmp_path / "tmpq9w8.tmp"  # cache version 3 named them like this
    fresh = tmp_path / f".{'c' * 32}.z3.tmp"  # a writer still at work
    for p in (stale, old_style, fresh):
        p.write_bytes(b"half an npz")
    hour_ago = time.time() - 3600
    for p in (stale, old_style):
        os.utime(p, (hour_ago, hour_ago))
    load_network(grid_osm, cache_dir=tmp_path)
    assert not stale.exists() and not old_style.exists()
    assert fresh.exists()


def test_clear_cache_removes_entries_and_counts(grid_osm, tmp_path, monkeypatch):
    cache_dir = tmp_path / "cache"
    load_network(grid_osm, cache_dir=cache_dir)
    load_network(grid_osm, mode="drive", cache_dir=cache_dir)
    tmp = cache_dir / f".{'d' * 32}.k.tmp"
    tmp.write_bytes(b"12345")
    notes = cache_dir / "notes.txt"  # not the cache's: left alone
    notes.write_text("keep me", encoding="utf-8")
    ours = [p for p in cache_dir.iterdir() if p != notes]
    assert len(ours) == 5  # two entries of two files, one temporary file
    expected_bytes = sum(p.stat().st_size for p in ours)

    assert clear_cache(cache_dir) == (5, expected_bytes)
    assert sorted(p.name for p in cache_dir.iterdir()) == ["notes.txt"]
    assert clear_cache(cache_dir) == (0, 0)
    assert clear_cache(tmp_path / "never-created") == (0, 0)
    assert load_network(grid_osm, cache_dir=cache_dir).report["cache"] == "miss"

    monkeypatch.setenv("CIRCLES_CACHE_DIR", str(cache_dir))  # the default folder
    files, freed = clear_cache()
    assert files == 2 and freed > 0
