"""Everything that reads OSM or builds graphs, and the fast compact form all routing runs on."""

from network._osm_file import file_bounds, is_osm_path, read_highway_ways
from network.cache import clear_cache, default_cache_dir
from network.compact import CompactNetwork, Snap
from network.extent import data_extent
from network.load import from_graph, load_network
from network.modes import DRIVE_SPEED_KMH, EBIKE_WAY_FACTORS, MODES, WALK_WAY_FACTORS, ModeRules, default_way_factors
from network.raw import RawWays

__all__ = [
    "CompactNetwork", "Snap", "load_network", "from_graph", "default_cache_dir", "clear_cache", "file_bounds",
    "data_extent", "is_osm_path", "read_highway_ways", "ModeRules", "MODES", "DRIVE_SPEED_KMH", "WALK_WAY_FACTORS", "RawWays",
    "EBIKE_WAY_FACTORS", "default_way_factors",
]
