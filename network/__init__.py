"""Everything that reads OSM or builds graphs, and the fast compact form all routing runs on.

Names are loaded on first use (`__getattr__`), so ``import network.errors`` — which every
`circles` module does — costs nothing, and a command that builds no network loads no scipy.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "file_bounds": "osm_file", "is_osm_path": "osm_file", "read_highway_ways": "osm_file",
    "clear_cache": "cache", "default_cache_dir": "cache",
    "CompactNetwork": "compact", "Snap": "compact",
    "data_extent": "extent",
    "WayIndex": "extract", "extract_ways": "extract",
    "from_graph": "load", "load_network": "load",
    "DRIVE_SPEED_KMH": "modes", "MODES": "modes", "WALK_WAY_FACTORS": "modes", "ModeRules": "modes",
    "EBIKE_WAY_FACTORS": "modes", "default_way_factors": "modes",
    "RawWays": "raw",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(f"network.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'network' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
