"""Raw OSM ways as flat numpy arrays: what every source (file, sample generator) hands the builder."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# The way tags the filters, one-way logic and travel-time factors read; everything else is dropped.
WAY_TAGS: tuple[str, ...] = (
    "highway", "area", "access", "foot", "bicycle", "motor_vehicle", "motorcar", "service",
    "sidewalk", "sidewalk:both", "sidewalk:left", "sidewalk:right", "oneway", "junction",
    "maxspeed", "name", "motorroad", "oneway:bicycle",  # the last two for e-bikes (network.modes)
)


@dataclass(frozen=True)
class RawWays:
    """Ways with node references and node locations, before any filtering or graph building.

    Attributes
    ----------
    node_id, node_lon, node_lat
        Every node a way refers to that has a location: OSM id (int64, unique, any order) and
        WGS84 lon/lat (degrees, float64).
    way_id
        OSM id of each way (int64), length ``n_ways``.
    way_offsets
        ``refs[way_offsets[i]:way_offsets[i + 1]]`` are the node ids of way ``i`` (int64,
        length ``n_ways + 1``).
    refs
        Node ids of all ways, concatenated (int64). A reference to a node without a location
        splits the way there.
    way_tags
        One dict per way with the keys of `WAY_TAGS` that the way carries.
    """

    node_id: np.ndarray
    node_lon: np.ndarray
    node_lat: np.ndarray
    way_id: np.ndarray
    way_offsets: np.ndarray
    refs: np.ndarray
    way_tags: list[dict[str, str]] = field(repr=False)

    @property
    def n_ways(self) -> int:
        return len(self.way_id)

    @classmethod
    def from_lists(
        cls,
        nodes: dict[int, tuple[float, float]],
        ways: list[tuple[int, list[int], dict[str, str]]],
    ) -> RawWays:
        """Build from ``{node_id: (lon, lat)}`` and ``[(way_id, [node ids], tags), ...]`` (small data, tests)."""
        ids = np.fromiter(nodes.keys(), dtype=np.int64, count=len(nodes))
        lonlat = np.array(list(nodes.values()), dtype=np.float64).reshape(-1, 2)
        lengths = [len(w[1]) for w in ways]
        offsets = np.zeros(len(ways) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        refs = np.array([r for w in ways for r in w[1]], dtype=np.int64)
        return cls(
            node_id=ids,
            node_lon=lonlat[:, 0].copy(),
            node_lat=lonlat[:, 1].copy(),
            way_id=np.array([w[0] for w in ways], dtype=np.int64),
            way_offsets=offsets,
            refs=refs,
            way_tags=[{k: v for k, v in w[2].items() if k in WAY_TAGS} for w in ways],
        )
