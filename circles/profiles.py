"""Service profiles: categories, tiers, walking speeds and rules, read from TOML into frozen objects.

A profile says, per service category (elderly care, meals, child protection), which facility tiers
count, how far (minutes or metres) and how fast (km/h) residents travel to them, which demand
groups it serves (60+, 80+, people with disabilities ...; `circles.standards.Group`), which ledger
strings and OSM tags mean the category, and which standards planners are held to (rules with their
citations, `circles.standards.Rule`, checked by `circles.rules`). Every number carries a ``source``;
what could not be verified is listed in ``Profile.unverified``. The TOML layout is described in
``circles/data/profiles/README.md``.

Example
-------
>>> profile = load_profile("15min")
>>> profile.category("elderly").tier("station").threshold_minutes()
15.0
>>> profile.match_category("日间照料中心")
('elderly', 'station')
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from circles.errors import CirclesError
from circles.standards import (
    GROUP_COLUMNS,
    GROUP_KEYS,
    LEGACY_GROUPS,
    RULE_KEYS,
    RULE_KINDS,
    Group,
    Rule,
    TableChecker,
    default_group,
    group_from_table,
    is_number,
    rule_from_table,
)
from circles.profile_travel import KITCHEN_CATEGORY, Delivery, HomeVisits, ModeSettings, travel_sections

__all__ = [
    "SpeedPreset", "Tier", "Rule", "Group", "Category", "Profile",
    "builtin_profile_dir", "list_profiles", "load_profile", "profile_from_dict",
    "ModeSettings", "Delivery", "HomeVisits", "KITCHEN_CATEGORY",
]

MODES = ("walk", "bike", "ebike", "drive")
#: The columns a category may count as its demand (its first group); see `circles.standards.GROUP_COLUMNS`.
DEMAND_COLUMNS = GROUP_COLUMNS
_KEYS = {  # the valid keys of every table of the TOML layout
    "profile": ("id", "label_zh", "label_en", "base", "sources", "unverified", "age_shares",
                "speed_presets", "groups", "categories", "rules", "demand"),
    "demand": ("max_people_per_m2_floor", "source"),
    "age_shares": ("pop_60plus", "pop_0_17", "source"),
    "speed_preset": ("speed_kmh", "label_zh", "label_en", "source"),
    "category": ("label_zh", "label_en", "demand_column", "groups", "osm_tags", "aliases", "source", "tiers"),
    "tier": ("label_zh", "label_en", "minutes", "distance_m", "mode", "speed_preset", "aliases",
             "source"),
    "rule": RULE_KEYS,
    "group": GROUP_KEYS,
    # --- modes, meal delivery and home visits (`circles.profile_travel`)
    "mode": ("label_zh", "label_en", "speeds_kmh", "way_factors", "source"),
    "delivery": ("label_zh", "label_en", "aliases", "category", "tiers", "mode", "speed_preset", "minutes",
                 "source"),
    "home_visits": ("label_zh", "label_en", "category", "tiers", "mode", "speed_preset", "minutes",
                    "demand_columns", "estimate_from", "estimate_share", "estimate_source", "source"),
}
_KEYS["profile"] = (*_KEYS["profile"], "modes", "delivery", "home_visits")


@dataclass(frozen=True)
class SpeedPreset:
    """A named travel speed (km/h) with its citation, e.g. ``elderly`` = 3.6 km/h (1.0 m/s)."""

    id: str
    speed_kmh: float
    label_zh: str
    label_en: str
    source: str


@dataclass(frozen=True)
class Tier:
    """One level of a category (e.g. street centre, community station) and its travel threshold.

    The threshold is given either in ``minutes`` or as a walking ``distance_m`` (metres, as
    GB 50180-2018 states it); ``speed_kmh`` is the travel speed resolved from ``speed_preset``.
    Drive tiers use road speeds by class: their ``speed_kmh`` is 0.0 unless a preset is named.
    """

    id: str
    label_zh: str
    label_en: str
    minutes: float | None
    distance_m: float | None
    mode: str
    speed_preset: str
    speed_kmh: float
    aliases: tuple[str, ...]
    source: str

    def threshold_minutes(self) -> float:
        """Travel-time threshold (minutes): ``minutes``, or ``distance_m`` walked at ``speed_kmh``.

        Examples
        --------
        A 1,000 m GB 50180 circle walked at 3.6 km/h (1.0 m/s) is 1000 / 1.0 / 60 = 16.7 minutes.
        """
        if self.minutes is not None:
            return float(self.minutes)
        return float(self.distance_m) / (self.speed_kmh / 3.6) / 60.0


@dataclass(frozen=True)
class OsmRule:
    """One ``osm_tags`` rule: every condition must hold (``"k=v & k2!=v2"`` in the TOML).

    A condition is ``(key, value, wanted)``: with ``wanted`` the tag has `value` among its
    ``;``-separated parts (``*``: the key is present with any value); without it the tag does not
    (``k!=*``: the key is absent).
    """

    conditions: tuple[tuple[str, str, bool], ...]
    text: str

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(k for k, _, _ in self.conditions)


@dataclass(frozen=True)
class Category:
    """A service category (``elderly``, ``meal``, ``child``) with its tiers, demand and aliases.

    ``osm_tags`` are `OsmRule`s, any of which marks an OSM feature as this category; they are a
    fallback, since OSM in China has few such features. ``groups`` are the demand groups the
    category serves, ``demand_column`` first (e.g. 60+, then 80+ and people with disabilities).
    """

    id: str
    label_zh: str
    label_en: str
    tiers: tuple[Tier, ...]
    demand_column: str
    osm_tags: tuple[OsmRule, ...]
    aliases: tuple[str, ...]
    source: str
    groups: tuple[str, ...] = ()

    def tier(self, tier_id: str) -> Tier:
        """The tier with id ``tier_id``; `CirclesError` listing the valid ids when unknown."""
        for tier in self.tiers:
            if tier.id == tier_id:
                return tier
        valid = ", ".join(t.id for t in self.tiers)
        raise CirclesError(f"category '{self.id}' has no tier {tier_id!r}; valid tiers: {valid}")

    @property
    def minutes(self) -> float:
        """The largest tier threshold (minutes)."""
        return max(t.threshold_minutes() for t in self.tiers)


def _norm(value: str) -> str:
    """Fold full-width forms, case and all whitespace, so ledger spellings compare equal."""
    return "".join(unicodedata.normalize("NFKC", str(value)).casefold().split())


@dataclass(frozen=True)
class Profile:
    """A complete, validated service profile; build it with `load_profile` or `profile_from_dict`.

    ``age_shares`` maps demand columns to population shares (e.g. ``{"pop_60plus": 0.187}``),
    used when only total population is known; ``age_shares_source`` cites them. ``groups`` holds
    the demand groups' labels, census shares (for groups a population file does not give) and
    whether they need step-free access; ``rules`` the standards checked by `circles.rules`.
    ``max_people_per_m2_floor`` caps the residents one building can receive when zone totals are
    spread onto buildings (people per m² of floor area, ``[demand]`` table; cited by
    ``max_people_per_m2_source``).
    """

    id: str
    label_zh: str
    label_en: str
    categories: tuple[Category, ...]
    speed_presets: tuple[SpeedPreset, ...]
    rules: tuple[Rule, ...]
    age_shares: Mapping[str, float]
    unverified: tuple[str, ...]
    sources: tuple[str, ...]
    age_shares_source: str = ""
    groups: tuple[Group, ...] = ()
    max_people_per_m2_floor: float = 0.1
    max_people_per_m2_source: str = ""
    modes: tuple[ModeSettings, ...] = ()  # network settings, meal delivery, home visits
    delivery: Delivery | None = None
    home_visits: HomeVisits | None = None
    _lookup: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        lookup: dict[str, set[tuple[str, str | None]]] = {}
        for cat in self.categories:
            for name in (cat.id, cat.label_zh, cat.label_en, *cat.aliases):
                lookup.setdefault(_norm(name), set()).add((cat.id, None))
            for tier in cat.tiers:
                for name in (f"{cat.id}.{tier.id}", tier.id, tier.label_zh, tier.label_en,
                             *tier.aliases):
                    lookup.setdefault(_norm(name), set()).add((cat.id, tier.id))
        if self.delivery is not None:  # issue 18: central kitchens, a ledger category no coverage counts
            d = self.delivery
            for name in (KITCHEN_CATEGORY, d.label_zh, d.label_en, *d.aliases):
                lookup.setdefault(_norm(name), set()).add((KITCHEN_CATEGORY, None))
        tier_ids = {_norm(t.id) for c in self.categories for t in c.tiers}
        for key, targets in lookup.items():
            if len(targets) > 1 and len({c for c, _ in targets}) == 1:  # category + its own tier
                tiers = {t for _, t in targets if t is not None}
                if len(tiers) == 1:
                    targets.discard((next(iter(targets))[0], None))
            if len(targets) > 1 and key not in tier_ids:
                names = " and ".join(sorted(f"{c}.{t}" if t else c for c, t in targets))
                raise CirclesError(f"profile '{self.id}': the label or alias {key!r} names both "
                                   f"{names}; make labels and aliases unique per category")
        object.__setattr__(self, "_lookup", lookup)

    def __reduce__(self):
        # pickled for worker processes: the read-only age-share mapping travels as a plain dict
        state = {f.name: getattr(self, f.name) for f in fields(self) if f.init}
        state["age_shares"] = dict(self.age_shares)
        return (_rebuild_profile, (state,))

    def category(self, category_id: str) -> Category:
        """The category with id ``category_id``; `CirclesError` listing the valid ids when unknown."""
        for cat in self.categories:
            if cat.id == category_id:
                return cat
        valid = ", ".join(c.id for c in self.categories)
        raise CirclesError(f"profile '{self.id}' has no category {category_id!r}; "
                           f"valid categories: {valid}")

    def group(self, group_id: str) -> Group:
        """The demand group `group_id` (its labels, share and step-free need); built-in labels when not in the profile.

        Examples
        --------
        >>> load_profile("15min").group("pop_80plus").step_free
        True
        """
        for g in self.groups:
            if g.id == group_id:
                return g
        if group_id in GROUP_COLUMNS:
            return default_group(group_id)
        raise CirclesError(f"profile '{self.id}' has no demand group {group_id!r}; valid groups: "
                           + ", ".join(GROUP_COLUMNS))

    def lookup(self, value: str) -> frozenset[tuple[str, str | None]]:
        """Every ``(category_id, tier_id or None)`` a ledger value names, without raising.

        One pair for a known value, none for an unknown one, several for an ambiguous one
        (`match_category` raises for the last two).

        Examples
        --------
        >>> sorted(load_profile("15min").lookup("station"))
        [('child', 'station'), ('elderly', 'station')]
        """
        return frozenset(self._lookup.get(_norm(value), ()))

    def known_words(self, category_id: str | None = None) -> tuple[str, ...]:
        """The words a ledger may use, as written in the profile: ids, labels, tier labels, aliases.

        With `category_id`: the words naming that category's tiers only (for a tier column).
        Labels such as ``"社区养老服务站/日间照料中心"`` are also split at ``/`` and ``、``.

        Examples
        --------
        >>> "养老驿站" in load_profile("15min").known_words("elderly")
        True
        """
        words: list[str] = []
        for cat in self.categories:
            if category_id is not None and cat.id != category_id:
                continue
            if category_id is None:
                words += [cat.id, cat.label_zh, cat.label_en, *cat.aliases]
            for tier in cat.tiers:
                words += [tier.id, tier.label_zh, tier.label_en, *tier.aliases]
                if category_id is None:
                    words.append(f"{cat.id}.{tier.id}")
        if self.delivery is not None and category_id in (None, KITCHEN_CATEGORY):  # issue 18: kitchens
            words += [KITCHEN_CATEGORY, self.delivery.label_zh, self.delivery.label_en, *self.delivery.aliases]
        parts = [p.strip() for w in words for p in w.replace("、", "/").split("/") if "/" in w or "、" in w]
        return tuple(dict.fromkeys(w for w in [*words, *parts] if w))

    def match_category(self, value: str) -> tuple[str, str | None]:
        """Map a ledger value to ``(category_id, tier_id or None)``.

        ``value`` may be a category id, Chinese or English label, a tier id (``"centre"`` or
        ``"elderly.centre"``), a tier label or an alias; case, full-width forms and whitespace
        are ignored. Unknown or ambiguous values raise `CirclesError` listing the allowed values.

        Examples
        --------
        >>> load_profile("15min").match_category("  Elderly ")
        ('elderly', None)
        """
        targets = self.lookup(value)
        if len(targets) == 1:
            return next(iter(targets))
        if targets:
            names = ", ".join(sorted(f"{c}.{t}" for c, t in targets))
            raise CirclesError(f"category value {value!r} is ambiguous in profile '{self.id}': "
                               f"it names {names}; write one of these instead")
        allowed = []
        for cat in self.categories:
            allowed += [cat.id, cat.label_zh, cat.label_en]
            for tier in cat.tiers:
                allowed += [f"{cat.id}.{tier.id}", tier.label_zh, tier.label_en]
        raise CirclesError(f"category value {value!r} is not known to profile '{self.id}'; "
                           f"allowed values: {', '.join(allowed)} (or one of their aliases); "
                           f"add it to `aliases` in a profile TOML to accept it")

    def mode_settings(self, mode: str) -> ModeSettings | None:
        """The profile's ``[modes.<mode>]`` settings, or None (the network's defaults apply)."""
        return next((m for m in self.modes if m.mode == mode), None)

    def network_options(self, mode: str) -> dict[str, Any]:
        """Keyword arguments of `network.load_network` for `mode`: the profile's road speeds and way factors.

        Empty when the profile sets nothing for the mode, so the network is built as without a profile.

        Examples
        --------
        >>> load_profile("15min").network_options("walk")
        {}
        """
        settings = self.mode_settings(mode)
        if settings is None:
            return {}
        out: dict[str, Any] = {}
        if settings.speeds_kmh:
            out["speeds_kmh"] = dict(settings.speeds_kmh)
        if settings.way_factors is not None:
            out["way_factors"] = dict(settings.way_factors)
        return out

    def with_overrides(self, *, minutes: float | None = None,
                       speed_kmh: float | None = None) -> Profile:
        """A copy where every tier's threshold is ``minutes`` and walk/bike speeds are ``speed_kmh``.

        Parameters
        ----------
        minutes
            Threshold (minutes) for every tier of every category; replaces distance thresholds.
        speed_kmh
            Travel speed (km/h) for every walking and cycling tier; drive tiers keep road speeds.
        """
        for name, number in (("minutes", minutes), ("speed_kmh", speed_kmh)):
            if number is not None and not (is_number(number) and number > 0):
                raise CirclesError(f"with_overrides: {name} must be a number > 0, got {number!r}; "
                                   f"e.g. {name}={15 if name == 'minutes' else 3.6}")
        categories = []
        for cat in self.categories:
            tiers = []
            for tier in cat.tiers:
                changes: dict[str, Any] = {}
                if minutes is not None:
                    changes.update(minutes=float(minutes), distance_m=None)
                if speed_kmh is not None and tier.mode != "drive":
                    changes.update(speed_kmh=float(speed_kmh))
                if changes:
                    said = ", ".join(f"{k}={v}" for k, v in changes.items() if v is not None)
                    changes["source"] = f"overridden ({said}); was: {tier.source}"
                tiers.append(dataclasses.replace(tier, **changes))
            categories.append(dataclasses.replace(cat, tiers=tuple(tiers)))
        return dataclasses.replace(self, categories=tuple(categories))


def _rebuild_profile(state: dict) -> Profile:
    return Profile(**{**state, "age_shares": MappingProxyType(dict(state["age_shares"]))})


def _osm_tags(ck: TableChecker, table: dict, path: str) -> tuple[OsmRule, ...]:
    rules = []
    for text in ck.texts(table, "osm_tags", path):
        conditions = []
        for part in text.split("&"):
            key, sep, value = (p.strip() for p in part.partition("="))
            negate = key.endswith("!")
            key = key[:-1].strip() if negate else key
            if not (key and sep and value):
                ck.fail(path, f"osm_tags entry {text!r} must look like \"key=value\", with \"&\" between "
                              "conditions and != for \"not\" (value * = any), e.g. \"amenity=nursing_home\" or "
                              "\"social_facility=day_care & social_facility:for!=child\"")
                break
            conditions.append((key, value, not negate))
        rules.append(OsmRule(tuple(conditions), text.strip()))
    return tuple(rules)


def _tier(ck: TableChecker, tid: str, t: dict, path: str, presets: dict[str, SpeedPreset]) -> Tier:
    if ("minutes" in t) == ("distance_m" in t):
        ck.fail(path, "give exactly one of minutes or distance_m, e.g. minutes = 15")
    minutes = ck.number(t, "minutes", path, required=False)
    distance_m = ck.number(t, "distance_m", path, required=False)
    mode = ck.choice(t, "mode", path, MODES, default="walk")
    if mode == "drive" and "distance_m" in t:
        ck.fail(path, "a drive tier needs minutes, not distance_m (road speeds vary by class)")
    preset = ck.text(t, "speed_preset", path, default="" if mode == "drive" else None)
    speed_kmh = 0.0
    if preset and preset in presets:
        speed_kmh = presets[preset].speed_kmh
    elif preset:
        ck.fail(path, f"speed_preset {preset!r} is not defined; defined presets: "
                      f"{', '.join(presets) or 'none'}; add [speed_presets.{preset}] or use one")
    return Tier(tid, ck.text(t, "label_zh", path), ck.text(t, "label_en", path), minutes,
                distance_m, mode, preset, speed_kmh, ck.texts(t, "aliases", path),
                ck.text(t, "source", path, default=ck.source))


def _groups(ck: TableChecker, top: dict, categories: dict[str, Category]) -> tuple[Group, ...]:
    """The ``[groups]`` tables; every group a category counts must be estimable (a share) when not given."""
    groups = {gid: group_from_table(ck, gid, g, path)
              for gid, g, path in ck.entries(top.get("groups", {}), "groups", "group")}
    for cat in categories.values():
        for gid in cat.groups:
            if gid not in GROUP_COLUMNS:
                ck.fail(f"categories.{cat.id}", f"groups: {gid!r} is not a demand group; use "
                                                + ", ".join(GROUP_COLUMNS))
            elif gid not in LEGACY_GROUPS and (gid not in groups or groups[gid].share is None):
                ck.fail(f"categories.{cat.id}", f"group {gid!r} has no census share to estimate it where a "
                                                f"population file lacks it; add [groups.{gid}] with share and source")
    for g in groups.values():
        if g.of not in LEGACY_GROUPS and g.of not in groups:
            ck.fail(f"groups.{g.id}", f"of = {g.of!r} is not a group of this profile; e.g. of = \"population\"")
    return tuple(groups.values())


def _category(ck: TableChecker, cid: str, c: dict, path: str, presets: dict[str, SpeedPreset],
              source: str) -> Category:
    tiers = tuple(_tier(ck, tid, t, tpath, presets)
                  for tid, t, tpath in ck.entries(c.get("tiers", {}), f"{path}.tiers", "tier"))
    if not tiers:
        ck.fail(path, f"needs at least one tier, e.g. [{path}.tiers.station] with minutes = 15")
    demand = ck.choice(c, "demand_column", path, DEMAND_COLUMNS)
    groups = tuple(dict.fromkeys((demand, *ck.texts(c, "groups", path)))) if demand else ()
    return Category(cid, ck.text(c, "label_zh", path), ck.text(c, "label_en", path), tiers, demand,
                    _osm_tags(ck, c, path), ck.texts(c, "aliases", path), ck.text(c, "source", path, source),
                    groups)


def profile_from_dict(data: Mapping[str, Any], *, source: str) -> Profile:
    """Validate a parsed profile (the TOML layout as nested dicts) and build a `Profile`.

    Parameters
    ----------
    data
        The profile tables; ``base = "15min"`` (a built-in name or a path) merges ``data``
        over that profile first.
    source
        Name of the input (file path) used in error messages and as the default ``source``.

    Raises
    ------
    CirclesError
        Listing every unknown key and invalid value, each with its table and the fix.
    """
    if not isinstance(data, Mapping):
        raise CirclesError(f"{source}: a profile must be a table of keys, got {type(data).__name__}")
    data = _apply_base(dict(data), source, frozenset())
    ck = TableChecker(source, _KEYS)
    top = ck.table(data, "", "profile")
    presets = {}
    for pid, p, path in ck.entries(top.get("speed_presets", {}), "speed_presets", "speed_preset"):
        presets[pid] = SpeedPreset(pid, ck.number(p, "speed_kmh", path), ck.text(p, "label_zh", path),
                                   ck.text(p, "label_en", path), ck.text(p, "source", path, source))
    categories = {cid: _category(ck, cid, c, path, presets, source)
                  for cid, c, path in ck.entries(top.get("categories", {}), "categories", "category")}
    if not top.get("categories"):
        ck.fail("", "no categories; add at least one table such as [categories.elderly]")
    dem = ck.table(top.get("demand", {}), "demand", "demand")
    density = ck.number(dem, "max_people_per_m2_floor", "demand", required=False, upper=10.0)
    ages = ck.table(top.get("age_shares", {}), "age_shares", "age_shares")
    shares = {k: ck.number(ages, k, "age_shares", upper=1.0) for k in ("pop_60plus", "pop_0_17")
              if k in ages}
    groups = _groups(ck, top, categories)
    tier_ids = {cid: tuple(t.id for t in c.tiers) for cid, c in categories.items()}
    known_groups = {g: None for g in (*LEGACY_GROUPS, *(g.id for g in groups))}
    rules = []
    for rid, r, path in ck.entries(top.get("rules", {}), "rules", "rule"):
        rule = rule_from_table(ck, rid, r, path, tier_ids, known_groups)
        if ck.flag(r, "enabled", path, default=True):
            rules.append(rule)
    fields = dict(
        id=ck.text(top, "id", ""), label_zh=ck.text(top, "label_zh", ""),
        label_en=ck.text(top, "label_en", ""), categories=tuple(categories.values()),
        speed_presets=tuple(presets.values()), rules=tuple(rules),
        age_shares=MappingProxyType(shares), unverified=ck.texts(top, "unverified", ""),
        sources=ck.texts(top, "sources", ""),
        age_shares_source=ck.text(ages, "source", "age_shares", source), groups=groups,
        max_people_per_m2_floor=density if density is not None else 0.1,
        max_people_per_m2_source=ck.text(dem, "source", "demand", source) if dem else "",
        **travel_sections(ck, top, presets, categories))
    if ck.problems:
        more = f" ({len(ck.problems)} problems)" if len(ck.problems) > 1 else ""
        raise CirclesError(f"{source}{more}: " + " | ".join(ck.problems))
    return Profile(**fields)


def _merge(base: dict, over: dict, source: str) -> dict:
    """Deep-merge ``over`` onto ``base``: tables by key (ids), other values replaced.

    ``sources`` and ``unverified`` lists are appended. A table whose values are overridden
    without a new ``source`` gets one saying so; ``minutes`` replaces ``distance_m`` and back.
    """
    out = dict(base)
    for key, value in over.items():
        old = out.get(key)
        if isinstance(value, dict) and isinstance(old, dict):
            old = {k: v for k, v in old.items()
                   if not (k == "distance_m" and "minutes" in value)
                   and not (k == "minutes" and "distance_m" in value)}
            for cite in ("source", "citation"):  # a changed table without its own citation says whose it is
                if cite not in value and cite in old and any(
                        not isinstance(v, dict) for k, v in value.items() if k != "enabled"):
                    value = {**value, cite: f"{source} (user override; base: {old[cite]})"}
            out[key] = _merge(old, value, source)
        elif key in ("sources", "unverified") and isinstance(value, list) and isinstance(old, list):
            out[key] = old + [v for v in value if v not in old]
        else:
            out[key] = value
    return out


def _apply_base(data: dict, source: str, seen: frozenset[Path]) -> dict:
    if "base" not in data:
        return data
    base = data.pop("base")
    if not isinstance(base, str) or not base.strip():
        raise CirclesError(f"{source}: base must be a profile name or path, got {base!r}; "
                           f"e.g. base = \"15min\"")
    path = _locate(base, Path(source).parent).resolve()
    if path in seen:
        raise CirclesError(f"{source}: base {base!r} leads back to itself; remove the cycle")
    base_data = _apply_base(_read_toml(path), str(path), seen | {path})
    return _merge(base_data, data, source)


def builtin_profile_dir() -> Path:
    """The folder holding the built-in profiles: package data (``circles/data/profiles``), so a wheel has them."""
    from importlib.resources import files

    return Path(str(files("circles") / "data" / "profiles"))


def list_profiles() -> list[str]:
    """Names of the built-in profiles: the general ones, then the local systems built on them.

    ``["15min", "gb50180", "rural", "beilun", "ningxia", "xian"]``: a profile with a ``base``
    (a city's or region's system, from the seed documents) comes after the general profiles.
    """
    paths = sorted(builtin_profile_dir().glob("*.toml"))
    derived = {p.stem for p in paths if re.search(r"^base\s*=", p.read_text(encoding="utf-8"), re.MULTILINE)}
    return [p.stem for p in paths if p.stem not in derived] + sorted(derived)


def _locate(name_or_path: str | Path, relative_to: Path | None = None) -> Path:
    if isinstance(name_or_path, str) and name_or_path in list_profiles():
        return builtin_profile_dir() / f"{name_or_path}.toml"
    path = Path(name_or_path).expanduser()
    if relative_to is not None and not path.is_absolute() and not path.is_file():
        path = relative_to / path
    if path.is_file():
        return path
    raise CirclesError(f"profile {str(name_or_path)!r} not found: it is neither a built-in "
                       f"profile ({', '.join(list_profiles())}) nor an existing file; pass a "
                       f"built-in name or the path of a TOML file, e.g. my_profile.toml")


def _read_toml(path: Path) -> dict:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise CirclesError(f"{path}: not valid TOML ({exc}); check quotes, brackets and "
                           f"commas there") from None
    except OSError as exc:
        raise CirclesError(f"{path}: cannot be read ({exc.strerror}); check the path") from None


def load_profile(name_or_path: str | Path = "15min") -> Profile:
    """Load a built-in profile by name, or a user profile from a TOML file.

    Parameters
    ----------
    name_or_path
        A built-in name (see `list_profiles`) or the path of a TOML file. A user file may set
        ``base = "15min"`` and override any field of the base: tables merge by key, so
        categories match by id and tiers by id. Without ``id`` it is named after the file.

    Examples
    --------
    >>> load_profile("gb50180").category("elderly").tier("centre").distance_m
    1000.0
    """
    path = _locate(name_or_path)
    data = _read_toml(path)
    if path.parent != builtin_profile_dir():
        data.setdefault("id", path.stem)
    return profile_from_dict(data, source=str(path))
