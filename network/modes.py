"""Travel modes: which OSM ways each mode may use (osmnx's filters), one-way rules, speeds and way factors."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from network.errors import NetworkError

MODES: tuple[str, ...] = ("walk", "bike", "drive")

# osmnx 2.x `_overpass._get_osm_filter`, transcribed. Overpass evaluates `[key!~"regex"]` as an
# unanchored, case-sensitive regular-expression search that also passes when the key is absent,
# and `[key]` as "the key is present"; we evaluate them the same way, so a file gives the same
# ways here as osmnx would ask Overpass for.
_ACCESS = (("access", "private"),)
_EXCLUDE: dict[str, tuple[tuple[str, str], ...]] = {
    "walk": (
        ("area", "yes"),
        *_ACCESS,
        ("highway", "abandoned|bus_guideway|construction|cycleway|motor|no|planned|platform|proposed|"
                    "raceway|razed|rest_area|services"),
        ("foot", "no"),
        ("service", "private"),
        ("sidewalk", "separate"),
        ("sidewalk:both", "separate"),
        ("sidewalk:left", "separate"),
        ("sidewalk:right", "separate"),
    ),
    "bike": (
        ("area", "yes"),
        *_ACCESS,
        ("highway", "abandoned|bus_guideway|construction|corridor|elevator|escalator|footway|motor|no|"
                    "planned|platform|proposed|raceway|razed|rest_area|services|steps"),
        ("bicycle", "no"),
        ("service", "private"),
    ),
    "drive": (
        ("area", "yes"),
        *_ACCESS,
        ("highway", "abandoned|bridleway|bus_guideway|construction|corridor|cycleway|elevator|escalator|"
                    "footway|no|path|pedestrian|planned|platform|proposed|raceway|razed|rest_area|service|"
                    "services|steps|track"),
        ("motor_vehicle", "no"),
        ("motorcar", "no"),
        ("service", "alley|driveway|emergency_access|parking|parking_aisle|private"),
    ),
}
_COMPILED = {m: tuple((k, re.compile(v)) for k, v in rules) for m, rules in _EXCLUDE.items()}
_KEEP_CACHE: dict[tuple[str, str], bool] = {}

# osmnx `_add_paths`: values of `oneway` that make a way one-way, and those that reverse it
ONEWAY_VALUES = frozenset({"yes", "true", "1", "-1", "reverse", "T", "F"})
REVERSED_VALUES = frozenset({"-1", "reverse", "T"})

# Default driving speeds (km/h) by highway class, used when a way has no parseable `maxspeed`.
# Chinese urban design speeds (CJJ 37-2012 城市道路工程设计规范: expressway 60–100, arterial 40–60,
# secondary arterial 30–50, branch 20–40) with rural roads at their typical operating speeds;
# `_link` roads take their parent class's speed.
DRIVE_SPEED_KMH: Mapping[str, float] = MappingProxyType({
    "motorway": 100.0, "trunk": 80.0, "primary": 60.0, "secondary": 50.0, "tertiary": 40.0,
    "unclassified": 30.0, "residential": 30.0, "living_street": 10.0, "service": 20.0, "road": 30.0,
    "track": 20.0,
})
DRIVE_SPEED_FALLBACK_KMH = 30.0

# Default walking-time factors by highway class: the time to walk a metre of this way type
# relative to level pavement. Older pedestrians take stairs at roughly half their level speed
# (stair descent/ascent of people over 65 measured near 0.4–0.5 m/s against ~0.9–1.0 m/s on the
# level), so `steps` count double. Everything else is 1.0.
WALK_WAY_FACTORS: Mapping[str, float] = MappingProxyType({"steps": 2.0})

DEFAULT_SPEED_KMH: Mapping[str, float] = MappingProxyType({"walk": 4.8, "bike": 15.0, "drive": 30.0})


@dataclass(frozen=True)
class ModeRules:
    """What a travel mode may use and how fast: the validated options of one network build."""

    mode: str = "walk"
    way_factors: Mapping[str, float] = field(default_factory=lambda: WALK_WAY_FACTORS)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise NetworkError(f"mode {self.mode!r} is not known; use one of {', '.join(MODES)}")
        for k, v in self.way_factors.items():
            if not v > 0:
                raise NetworkError(f"way factor for highway={k} is {v}; factors must be > 0 (1.0 = no change)")

    @property
    def bidirectional(self) -> bool:
        """osmnx treats only walking networks as bidirectional."""
        return self.mode == "walk"

    def keeps(self, tags: Mapping[str, str]) -> bool:
        """True when the way belongs to this mode's network (osmnx's filter)."""
        highway = tags.get("highway")
        if highway is None:
            return False
        if len(tags) == 1:  # most ways: only the highway value decides (memoised per value)
            hit = _KEEP_CACHE.get((self.mode, highway))
            if hit is None:
                hit = _KEEP_CACHE[(self.mode, highway)] = self._keeps(tags)
            return hit
        return self._keeps(tags)

    def _keeps(self, tags: Mapping[str, str]) -> bool:
        for key, rx in _COMPILED[self.mode]:
            value = tags.get(key)
            if value is not None and rx.search(value):
                return False
        return True

    def direction(self, tags: Mapping[str, str]) -> int:
        """0 for two-way, 1 for one-way along the node order, -1 for one-way against it."""
        if self.bidirectional:
            return 0
        oneway = tags.get("oneway")
        if oneway in ONEWAY_VALUES:
            return -1 if oneway in REVERSED_VALUES else 1
        if tags.get("junction") == "roundabout":
            return 1
        return 0

    def factor(self, highway: str) -> float:
        """Walking/cycling time factor of a way type (1.0 when not listed)."""
        return float(self.way_factors.get(highway, 1.0))


def drive_speed_kmh(tags: Mapping[str, str]) -> float:
    """Driving speed of a way: its ``maxspeed`` when parseable, else the class table."""
    raw = tags.get("maxspeed")
    if raw:
        m = re.match(r"^\s*(\d+(?:\.\d+)?)\s*(mph)?", raw)
        if m:
            v = float(m.group(1)) * (1.609344 if m.group(2) else 1.0)
            if v > 0:
                return v
    highway = (tags.get("highway") or "").removesuffix("_link")
    return DRIVE_SPEED_KMH.get(highway, DRIVE_SPEED_FALLBACK_KMH)
