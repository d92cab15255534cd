"""Shared test fixtures: no network access, and the real extracts in ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def shared_data(relpath: str = "") -> Path:
    """Path of a file under ``../shared/data``; skip (or fail under CI) when it is absent.

    Locally, on a clone without ``../shared`` beside it, tests that need the real extracts skip
    with the reason. When the ``CI`` environment variable is set, a missing file is a failure:
    CI always has the data, so a skip there would hide a broken path.
    """
    path = SHARED_DATA / relpath
    if not path.exists():
        msg = (
            f"real data not found at {path}: clone the project next to ../shared "
            "(see ../shared/data/PROVENANCE.md) to run this test"
        )
        if os.environ.get("CI"):
            pytest.fail(msg + " (CI is set, so the data must be present)")
        pytest.skip(msg)
    return path


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Keep the network cache of every test in a temporary folder."""
    monkeypatch.setenv("CIRCLES_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))
