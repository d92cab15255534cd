"""A profile's travel tables (issue 18): road speeds and way factors per mode, meal delivery, home visits.

``[modes.<mode>]`` sets the network of a travel mode (road speeds by class for ``drive``, way
factors for ``walk``/``bike``/``ebike``); ``[delivery]`` names the central kitchens (a ledger
category of their own, `KITCHEN_CATEGORY`) and the meal points they supply; ``[home_visits]``
says which facilities send staff to people's homes, how they travel and how far. `circles.profiles`
reads them with the rest of a profile (`travel_sections`); the layout is in
``circles/data/profiles/README.md``.

Example
-------
>>> from circles.profiles import load_profile
>>> rural = load_profile("rural")
>>> rural.delivery.mode, rural.delivery.minutes, rural.home_visits.mode
('drive', 30.0, 'ebike')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from circles.standards import GROUP_COLUMNS as DEMAND_COLUMNS
from network.modes import MODES

__all__ = ["KITCHEN_CATEGORY", "Delivery", "HomeVisits", "ModeSettings", "travel_sections"]

#: The ledger category of central kitchens (中心厨房/配餐中心): read from ledgers, counted by no coverage.
KITCHEN_CATEGORY = "kitchen"


@dataclass(frozen=True)
class ModeSettings:
    """A profile's network settings for one travel mode (``[modes.drive]``, ``[modes.ebike]`` ...).

    ``speeds_kmh``: road speeds (km/h) by ``highway`` class for the drive network, replacing those
    of `network.modes.DRIVE_SPEED_KMH`. ``way_factors``: time factors by ``highway`` class for
    walk/bike/ebike networks, replacing the mode's defaults (`network.modes.default_way_factors`);
    None keeps the defaults.
    """

    mode: str
    label_zh: str
    label_en: str
    speeds_kmh: tuple[tuple[str, float], ...]
    way_factors: tuple[tuple[str, float], ...] | None
    source: str


@dataclass(frozen=True)
class Delivery:
    """Meals cooked in central kitchens (中心厨房) and delivered to the facilities of a category.

    ``label_zh``/``label_en``/``aliases`` name the kitchens in a ledger (category
    `KITCHEN_CATEGORY`); ``category`` (and ``tiers``, None = all) are the receiving meal points;
    ``minutes`` is the delivery limit by ``mode`` (``speed_kmh`` for walk/bike/ebike, 0.0 for drive).
    """

    label_zh: str
    label_en: str
    aliases: tuple[str, ...]
    category: str
    tiers: tuple[str, ...] | None
    mode: str
    speed_preset: str
    speed_kmh: float
    minutes: float
    source: str


@dataclass(frozen=True)
class HomeVisits:
    """Staff of a category's facilities visiting the homes of people who cannot come (上门探访).

    ``category`` (and ``tiers``, None = all) are where staff start; ``minutes`` by ``mode`` is the
    reach. The home-visit demand of a unit is the first of ``demand_columns`` the demand has, else
    ``estimate_share`` × ``estimate_from`` (flagged as estimated, cited by ``estimate_source``).
    """

    label_zh: str
    label_en: str
    category: str
    tiers: tuple[str, ...] | None
    mode: str
    speed_preset: str
    speed_kmh: float
    minutes: float
    demand_columns: tuple[str, ...]
    estimate_from: str
    estimate_share: float
    estimate_source: str
    source: str


def travel_sections(ck: Any, top: dict, presets: Mapping[str, Any], categories: Mapping[str, Any]) -> dict[str, Any]:
    """The ``[modes.*]``, ``[delivery]`` and ``[home_visits]`` tables as `circles.profiles.Profile` fields.

    Parameters
    ----------
    ck
        The profile reader's checker (``table``, ``entries``, ``text``, ``texts``, ``number``,
        ``choice``, ``fail``): problems are gathered with the rest of the profile's.
    top
        The profile's top-level table.
    presets, categories
        The profile's speed presets and categories, by id.

    Returns
    -------
    dict
        ``modes`` (a tuple of `ModeSettings`) and, when given, ``delivery`` and ``home_visits``.
    """

    modes = []
    for mid, m, path in ck.entries(top.get("modes", {}), "modes", "mode"):
        if mid not in MODES:
            ck.fail(path, f"{mid!r} is not a travel mode; use one of {', '.join(MODES)}")
        speeds = _class_numbers(ck, m, "speeds_kmh", path)
        if speeds and mid != "drive":
            ck.fail(path, f"speeds_kmh apply to [modes.drive]; {mid} uses its tiers' speed_preset and way_factors")
        factors = _class_numbers(ck, m, "way_factors", path) if "way_factors" in m else None
        modes.append(ModeSettings(mid, ck.text(m, "label_zh", path), ck.text(m, "label_en", path), speeds,
                                  factors, ck.text(m, "source", path, ck.source)))
    out: dict[str, Any] = {"modes": tuple(modes)}
    if "delivery" in top:
        d = ck.table(top["delivery"], "delivery", "delivery")
        cat, tiers = _served(ck, d, "delivery", categories)
        mode, preset, speed = _travel(ck, d, "delivery", presets)
        out["delivery"] = Delivery(ck.text(d, "label_zh", "delivery"), ck.text(d, "label_en", "delivery"),
                                   ck.texts(d, "aliases", "delivery"), cat, tiers, mode, preset, speed,
                                   ck.number(d, "minutes", "delivery") or 0.0, ck.text(d, "source", "delivery"))
    if "home_visits" in top:
        h = ck.table(top["home_visits"], "home_visits", "home_visits")
        cat, tiers = _served(ck, h, "home_visits", categories)
        mode, preset, speed = _travel(ck, h, "home_visits", presets)
        out["home_visits"] = HomeVisits(
            ck.text(h, "label_zh", "home_visits"), ck.text(h, "label_en", "home_visits"), cat, tiers, mode, preset,
            speed, ck.number(h, "minutes", "home_visits") or 0.0, ck.texts(h, "demand_columns", "home_visits"),
            ck.choice(h, "estimate_from", "home_visits", DEMAND_COLUMNS, default="pop_60plus"),
            ck.number(h, "estimate_share", "home_visits", upper=1.0) or 0.0,
            ck.text(h, "estimate_source", "home_visits"), ck.text(h, "source", "home_visits"))
    return out


def _class_numbers(ck: Any, table: dict, key: str, path: str) -> tuple[tuple[str, float], ...]:
    """A table of numbers > 0 by highway class (``speeds_kmh = { primary = 60 }``), as sorted pairs."""
    value = table.get(key, {})
    if not isinstance(value, dict):
        ck.fail(path, f"{key} must be a table of highway class = number, e.g. {key} = {{ primary = 60 }}")
        return ()
    for k, v in value.items():
        if not (_is_number(v) and 0 < v < float("inf")):
            ck.fail(path, f"{key}.{k} must be a number > 0, got {v!r}")
    return tuple(sorted((str(k), float(v)) for k, v in value.items() if _is_number(v) and v > 0))


def _served(ck: Any, table: dict, path: str,
            categories: Mapping[str, Any]) -> tuple[str, tuple[str, ...] | None]:
    """``category`` (a category id of the profile) and optional ``tiers`` (tier ids of it)."""
    cid = ck.choice(table, "category", path, tuple(categories))
    if "tiers" not in table:
        return cid, None
    tiers = ck.texts(table, "tiers", path)
    valid = [t.id for t in categories[cid].tiers] if cid else []
    for t in tiers:
        if cid and t not in valid:
            ck.fail(path, f"tiers: {t!r} is not a tier of category '{cid}'; valid tiers: {', '.join(valid)}")
    return cid, tiers


def _travel(ck: Any, table: dict, path: str, presets: Mapping[str, Any]) -> tuple[str, str, float]:
    """``mode`` and, except for drive, the ``speed_preset`` with its speed (km/h)."""
    mode = ck.choice(table, "mode", path, MODES, default="drive")
    preset = ck.text(table, "speed_preset", path, default="" if mode == "drive" else None)
    if preset and preset not in presets:
        ck.fail(path, f"speed_preset {preset!r} is not defined; defined presets: {', '.join(presets) or 'none'}")
    return mode, preset, presets[preset].speed_kmh if preset in presets else 0.0


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
