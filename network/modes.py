"""Travel modes: which OSM ways each mode may use (osmnx's filters), one-way rules, speeds and way factors.

Modes and their speeds (every number with its source; a profile may override them, see
``circles/data/profiles/README.md``):

========  ==================================================================================
mode      speed
========  ==================================================================================
walk      a speed (km/h) given by the caller (a profile's speed preset) × `WALK_WAY_FACTORS`
bike      a speed given by the caller × the way factors (osmnx's bike filter)
ebike     electric bicycle / electric tricycle (电动自行车/电动三轮车): a speed given by the caller
          (the profiles' ``ebike`` preset: 15 km/h, the legal top speed of 《道路交通安全法》第五十八条)
          × `EBIKE_WAY_FACTORS` (tracks and paths slower); never on motorways (第六十七条)
drive     road speeds by highway class, `DRIVE_SPEED_KMH`, or the way's ``maxspeed``
========  ==================================================================================
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from network.errors import NetworkError

MODES: tuple[str, ...] = ("walk", "bike", "ebike", "drive")
#: Modes timed by road speeds by highway class (no speed from the caller).
CLASS_SPEED_MODES: tuple[str, ...] = ("drive",)

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
    # electric bicycles and tricycles (电动自行车/电动三轮车) are non-motor vehicles (非机动车): the bike
    # filter without pedestrian streets, bridleways and motor roads (机动车专用道); motorways are
    # closed to them (《道路交通安全法》第六十七条, "motor" matches motorway and motorway_link)
    "ebike": (
        ("area", "yes"),
        *_ACCESS,
        ("highway", "abandoned|bridleway|bus_guideway|construction|corridor|elevator|escalator|footway|motor|no|"
                    "pedestrian|planned|platform|proposed|raceway|razed|rest_area|services|steps"),
        ("bicycle", "no"),
        ("motorroad", "yes"),
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
#
# class           km/h  Chinese road (OSM China tagging: trunk..unclassified = G/S/X/Y/C routes)   sources
# motorway         100  高速公路; 城市快速路                                                       [1] 60–100, [2] 90
# trunk             80  国道 (G); 城市快速路                                                         [1] 60–100, [2] 85
# primary           60  省道 (S); 城市主干路                                                         [1] 40–60,  [2] 65
# secondary         50  县道 (X); 城市次干路                                                         [1] 30–50,  [2] 55
# tertiary          40  乡道 (Y); 城市支路                                                           [1] 20–40,  [2] 40
# unclassified      30  村道 (C)                                                                     [1] 20–40,  [2] 25
# residential       30  小区及街坊道路                                                                [1] 20–40,  [2] 25
# living_street     10  生活街道                                                                      [2] 10
# service           20  内部道路                                                                      [2] 15
# road              30  unknown class                                                                 as unclassified
# track             20  机耕路/田间道 (not in the drive filter; kept for profiles that add it)        [3]
#
# [1] CJJ 37-2012《城市道路工程设计规范》design speeds: 快速路 60–100, 主干路 40–60, 次干路 30–50,
#     支路 20–40 km/h; rural roads are given their class's typical operating speed within that range.
# [2] OSRM car profile (Project-OSRM/osrm-backend profiles/car.lua `speeds.highway`), for comparison.
# [3] A setting: OSRM's car profile caps tracktype grade2–3 at 30–40 km/h; 20 km/h is chosen for
#     unpaved farm tracks.
# OSM China tagging guidelines (wiki.openstreetmap.org/wiki/China_tagging_guidelines): national to village
# routes map in descending order from trunk to unclassified. `_link` roads take their parent class's speed.
# A profile overrides any class ([modes.drive] speeds_kmh; `ModeRules.speeds_kmh`).
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

# E-bike time factors by highway class, relative to the rider's speed on paved roads: tracks and paths
# (farm tracks 机耕路, village lanes) take 1.25 times as long, as in the OSRM bicycle profile
# (Project-OSRM/osrm-backend profiles/bicycle.lua: 15 km/h on roads, 12 km/h on track and path).
EBIKE_WAY_FACTORS: Mapping[str, float] = MappingProxyType({"track": 1.25, "path": 1.25})

DEFAULT_SPEED_KMH: Mapping[str, float] = MappingProxyType(
    {"walk": 4.8, "bike": 15.0, "ebike": 15.0, "drive": 30.0})


def default_way_factors(mode: str) -> Mapping[str, float]:
    """The way factors a mode uses unless told otherwise: `EBIKE_WAY_FACTORS` for ``ebike``, else `WALK_WAY_FACTORS`.

    (Bike and drive networks have no steps, so the walking factors leave them unchanged.)
    """
    return EBIKE_WAY_FACTORS if mode == "ebike" else WALK_WAY_FACTORS


@dataclass(frozen=True)
class ModeRules:
    """What a travel mode may use and how fast: the validated options of one network build.

    Attributes
    ----------
    mode
        One of `MODES`.
    way_factors
        Time factor per ``highway`` value for walk/bike/ebike (1.0 when not listed).
    speeds_kmh
        Road speeds (km/h) by ``highway`` class that replace `DRIVE_SPEED_KMH` entries (drive only),
        e.g. ``{"tertiary": 35}`` for a county's narrow township roads.
    """

    mode: str = "walk"
    way_factors: Mapping[str, float] = field(default_factory=lambda: WALK_WAY_FACTORS)
    speeds_kmh: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise NetworkError(f"mode {self.mode!r} is not known; use one of {', '.join(MODES)}")
        for k, v in self.way_factors.items():
            if not v > 0:
                raise NetworkError(f"way factor for highway={k} is {v}; factors must be > 0 (1.0 = no change)")
        if self.speeds_kmh and self.mode not in CLASS_SPEED_MODES:
            raise NetworkError(f"speeds_kmh {dict(self.speeds_kmh)} apply to the drive mode, not {self.mode!r}; "
                               f"give {self.mode} a speed (km/h) and way_factors instead")
        for k, v in self.speeds_kmh.items():
            if not (isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < float("inf")):
                raise NetworkError(f"speed for highway={k} is {v!r}; road speeds must be numbers > 0 km/h, "
                                   f"e.g. {k} = {DRIVE_SPEED_KMH.get(k, DRIVE_SPEED_FALLBACK_KMH):g}")

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
        if self.mode == "ebike" and tags.get("oneway:bicycle") == "no":
            return 0  # a one-way street open to (e-)bikes both ways
        oneway = tags.get("oneway")
        if oneway in ONEWAY_VALUES:
            return -1 if oneway in REVERSED_VALUES else 1
        if tags.get("junction") == "roundabout":
            return 1
        return 0

    def factor(self, highway: str) -> float:
        """Walking/cycling time factor of a way type (1.0 when not listed)."""
        return float(self.way_factors.get(highway, 1.0))


    def road_speed_kmh(self, tags: Mapping[str, str]) -> float:
        """Driving speed of a way (km/h): its ``maxspeed`` when parseable, else the class table with `speeds_kmh`."""
        return drive_speed_kmh(tags, self.speeds_kmh)


def drive_speed_kmh(tags: Mapping[str, str], speeds_kmh: Mapping[str, float] | None = None) -> float:
    """Driving speed of a way (km/h): its ``maxspeed`` when parseable, else the class table.

    Parameters
    ----------
    tags
        The way's OSM tags.
    speeds_kmh
        Speeds by ``highway`` class that replace those of `DRIVE_SPEED_KMH`.
    """
    raw = tags.get("maxspeed")
    if raw:
        m = re.match(r"^\s*(\d+(?:\.\d+)?)\s*(mph)?", raw)
        if m:
            v = float(m.group(1)) * (1.609344 if m.group(2) else 1.0)
            if v > 0:
                return v
    highway = (tags.get("highway") or "").removesuffix("_link")
    if speeds_kmh and highway in speeds_kmh:
        return float(speeds_kmh[highway])
    return DRIVE_SPEED_KMH.get(highway, DRIVE_SPEED_FALLBACK_KMH)
