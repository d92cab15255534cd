"""The standards engine: every rule of a profile checked per facility, community, street, county and city.

A profile's rules (`circles.standards.Rule`, read from its ``[rules.<id>]`` tables) are data: a
kind, a scope, the facilities they concern and a citation. `check_rules` evaluates them on the
facilities (with their floor area, floor, lift and service functions) and the residential units
(with households, new/existing area, community and need groups) and returns `RuleChecks`:

- ``units``: one row per rule × unit (community 社区, street 街道/乡镇, county 区/县, city 市):
  what was found (``value``), what the rule asks (``required``), whether it is met (``ok``: True,
  False, or None when the data cannot tell) and the citation; written as ``rules.csv``;
- ``facilities``: one row per rule × facility (the integrated-facility and lift rules); written
  as ``facility_rules.csv``.

Units: streets are the run's districts (``--districts``); counties are the districts' county part
(``"海淀区/燕园街道"``), or the districts themselves when they are counties (`district_level`), or
the whole area; the city is the whole area; communities come from the population file's 社区
column (without one, each residential unit stands for its community, and a note says so).
Facilities belong to a community by the ledger's 所属社区, else to the community of the nearest
residential unit within `COMMUNITY_REACH_M`.

Example
-------
>>> from circles.profiles import load_profile
>>> checks = check_rules(load_profile("15min"), facilities, demand, districts=streets,
...                      district_col="name")  # doctest: +SKIP
>>> checks.table("zh")[["rule_id", "unit", "value", "required", "ok"]]  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely

from circles.districts import (
    FACILITY_RULE_COLUMNS,
    RULE_COLUMNS,
    assign_districts,
    county_of,
    district_level,
)
from circles.facilities.attributes import function_ids
from circles.standards import Rule, function_label

log = logging.getLogger(__name__)

__all__ = ["COMMUNITY_REACH_M", "WHOLE_AREA", "RuleChecks", "Text", "check_rules", "step_free_ok"]

#: A facility without 所属社区 belongs to the community of the nearest residential unit within this (metres).
COMMUNITY_REACH_M = 500.0
#: The name of the unit that is the whole area (county or city scope without names).
WHOLE_AREA = "研究区 study area"
_ROW_KEYS = ("rule_id", "rule_zh", "rule_en", "unit", "scope", "value", "required", "ok", "citation", "category",
             "kind", "district", "tier")
_FACILITY_KEYS = ("facility", "name", "rule_id", "rule_zh", "rule_en", "value", "required", "ok", "citation",
                  "category", "tier", "district", "source_row")


@dataclass(frozen=True)
class Text:
    """A cell written in both languages (a rule's value or requirement in words); `RuleChecks.table` picks one."""

    zh: str
    en: str

    def __str__(self) -> str:
        return self.zh

    def pick(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


def _cell(value: Any, lang: str) -> Any:
    return value.pick(lang) if isinstance(value, Text) else value


@dataclass(frozen=True)
class RuleChecks:
    """The verdicts of every rule of a profile.

    Attributes
    ----------
    units
        One row per rule × unit: ``rule_id``, ``rule_zh``, ``rule_en``, ``unit`` (its name),
        ``scope``, ``value``, ``required``, ``ok`` (True/False/None), ``citation``, ``category``,
        ``kind``, ``district`` (the street the unit lies in, None for counties and the city) and
        ``tier``. Values are numbers (facilities, m² per 100 households, shares 0–1) or `Text`.
    facilities
        One row per rule × facility: ``facility`` (its row in the facility frame), ``name``,
        ``rule_id``, ``rule_zh``, ``rule_en``, ``value``, ``required``, ``ok``, ``citation``,
        ``category``, ``tier``, ``district`` and ``source_row`` (its ledger row).
    notes
        What the engine assumed or could not check (e.g. no districts for the street rules).
    """

    units: pd.DataFrame
    facilities: pd.DataFrame
    notes: tuple[str, ...] = ()

    def table(self, lang: str = "zh") -> pd.DataFrame:
        """rules.csv: `circles.districts.RULE_COLUMNS`, the rule and worded cells in `lang`."""
        return _lang_table(self.units, RULE_COLUMNS, lang)

    def facility_table(self, lang: str = "zh") -> pd.DataFrame:
        """facility_rules.csv: `circles.districts.FACILITY_RULE_COLUMNS`, in `lang`."""
        return _lang_table(self.facilities, FACILITY_RULE_COLUMNS, lang)

    def verdicts(self) -> dict[tuple[str, str], bool | None]:
        """Per (district, category): all its rules met (True), one not (False), or None when none could be judged.

        A district's rules are those of its own row and of the facilities and communities inside it.
        """
        out: dict[tuple[str, str], bool | None] = {}
        for frame in (self.units, self.facilities):
            for d, c, ok in zip(frame["district"], frame["category"], frame["ok"]):
                if d is None or (isinstance(d, float) and d != d):
                    continue
                key = (str(d), str(c))
                if ok is None or (isinstance(ok, float) and ok != ok):
                    out.setdefault(key, None)
                    continue
                out[key] = bool(ok) and out.get(key) is not False
        return out

    def summary(self) -> dict[str, Any]:
        """summary.json ``rules``: ``checks`` per rule (labels, citation, scopes, rows met) and ``notes``.

        ``met``, ``not_met`` and ``unknown`` count the rows of rules.csv and facility_rules.csv;
        ``not_met_units`` names up to 20 units (or facilities) that fail it.
        """
        out: dict[str, Any] = {}
        for frame, key in ((self.units, "unit"), (self.facilities, "name")):
            for rid, rows in frame.groupby("rule_id", sort=False):
                first = rows.iloc[0]
                ok = [None if v is None or (isinstance(v, float) and v != v) else bool(v) for v in rows["ok"]]
                entry = out.setdefault(str(rid), {"rule_zh": first["rule_zh"], "rule_en": first["rule_en"],
                                                  "kind": first["kind"] if "kind" in rows else None,
                                                  "category": first["category"], "citation": first["citation"],
                                                  "scopes": [], "met": 0, "not_met": 0, "unknown": 0,
                                                  "not_met_units": []})
                entry["scopes"] = list(dict.fromkeys([*entry["scopes"], *(rows["scope"] if "scope" in rows
                                                                          else ["facility"] * len(rows))]))
                entry["met"] += sum(v is True for v in ok)
                entry["not_met"] += sum(v is False for v in ok)
                entry["unknown"] += sum(v is None for v in ok)
                failed = [str(u) for u, v in zip(rows[key], ok) if v is False]
                entry["not_met_units"] = (entry["not_met_units"] + failed)[:20]
        return {"checks": out, "notes": list(self.notes)}


def _lang_table(frame: pd.DataFrame, columns: Sequence[str], lang: str) -> pd.DataFrame:
    out = frame.copy()
    out["rule"] = out[f"rule_{'zh' if lang == 'zh' else 'en'}"]
    for col in ("value", "required"):
        out[col] = pd.Series([_cell(v, lang) for v in out[col]], index=out.index, dtype=object)
    out["ok"] = pd.Series([None if v is None or (isinstance(v, float) and v != v) else bool(v) for v in out["ok"]],
                          index=out.index, dtype=object)
    return out.reindex(columns=list(columns)).reset_index(drop=True)


# ============================================================================ facilities a rule concerns
def _tiers(facilities: pd.DataFrame, profile: Any) -> np.ndarray:
    """Each facility's tier; a blank tier is its category's last (as `circles.coverage.assess` counts it)."""
    tiers = facilities["tier"].to_numpy(dtype=object) if "tier" in facilities else np.full(len(facilities), None)
    cats = facilities["category"].to_numpy(dtype=object) if "category" in facilities else np.full(len(facilities), None)
    last = {c.id: c.tiers[-1].id for c in profile.categories}
    return np.array([t if isinstance(t, str) else last.get(c) for t, c in zip(tiers, cats)], dtype=object)


def _concerns(rule: Rule, facilities: pd.DataFrame, tiers: np.ndarray) -> np.ndarray:
    """Facilities of the rule's category and tier (or substitute tiers)."""
    cats = facilities["category"].to_numpy(dtype=object) if "category" in facilities else np.full(len(facilities), None)
    mask = cats == rule.category
    wanted = rule.tiers()
    if wanted is not None:
        mask &= np.isin(tiers, list(wanted))
    return mask


def _column(frame: pd.DataFrame, col: str, default: Any = np.nan) -> np.ndarray:
    return frame[col].to_numpy() if col in frame else np.full(len(frame), default, dtype=object)


def step_free_ok(facilities: pd.DataFrame, profile: Any) -> np.ndarray:
    """Whether each facility may serve the step-free groups (80+, people with disabilities).

    False only where a ``lift`` rule of the profile concerns the facility, it lies above the ground
    floor (楼层 ≥ 2) or below ground, and the ledger says it has no lift (电梯 = 无): JGJ 450-2018
    §5.6.4. An unknown floor or lift does not exclude it (the facility rule says the data cannot tell).
    """
    ok = np.ones(len(facilities), dtype=bool)
    lifts = [r for r in getattr(profile, "rules", ()) if r.kind == "lift"]
    if not lifts or len(facilities) == 0 or "floor" not in facilities or "lift" not in facilities:
        return ok
    tiers = _tiers(facilities, profile)
    floor = pd.to_numeric(facilities["floor"], errors="coerce").to_numpy(float)
    no_lift = facilities["lift"].astype("boolean").fillna(True).to_numpy(bool) == False  # noqa: E712
    for rule in lifts:
        ok &= ~(_concerns(rule, facilities, tiers) & ((floor >= 2) | (floor <= -1)) & no_lift)
    return ok


# ============================================================================ units
@dataclass
class _Scope:
    """The units of one scope: their names, the unit of every residential unit and facility (-1: none)."""

    names: list[str]
    of_demand: np.ndarray
    of_facility: np.ndarray
    district: list[str | None]

    def counts(self, mask: np.ndarray) -> np.ndarray:
        return _bincount(self.of_facility, mask.astype(float), len(self.names))

    def sums(self, values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        v = np.where(np.isfinite(values), values, 0.0)
        return _bincount(self.of_demand, v if mask is None else np.where(mask, v, 0.0), len(self.names))


def _bincount(index: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    keep = index >= 0
    return np.bincount(index[keep], weights=weights[keep], minlength=n)[:n] if n else np.zeros(0)


def _index(values: np.ndarray, names: list[str]) -> np.ndarray:
    pos = {n: i for i, n in enumerate(names)}
    return np.array([pos.get(v, -1) if isinstance(v, str) else -1 for v in values], dtype=np.int64)


def _scopes(facilities: pd.DataFrame, demand: pd.DataFrame, *, districts: Any, district_col: str | None,
            area_name: str | None, level: str | None, boundary: Any, unit_districts: np.ndarray | None,
            facility_districts: np.ndarray | None, communities: bool, notes: list[str]
            ) -> tuple[dict[str, _Scope], str | None]:
    """The units of every scope, and the scope of the run's districts (None without districts).

    A unit's ``district`` is the run's district it lies in (None for wider units).
    """
    inside = demand["inside"].to_numpy(bool) if "inside" in demand else np.ones(len(demand), bool)
    flon, flat = (facilities[c].to_numpy(float) for c in ("lon", "lat"))
    scopes: dict[str, _Scope] = {}
    names: list[str] = []
    if districts is not None and district_col is not None:
        names = [str(n) for n in districts[district_col]]
        if unit_districts is None:
            unit_districts = assign_districts(demand["lon"].to_numpy(float), demand["lat"].to_numpy(float),
                                              districts, district_col)
        if facility_districts is None:
            facility_districts = assign_districts(flon, flat, districts, district_col)
    level = level or (district_level(names) if names else "street")
    whole = area_name or WHOLE_AREA
    in_area = np.ones(len(facilities), bool)
    if boundary is not None and len(facilities):
        in_area = shapely.contains_xy(boundary, flon, flat)
    if names:
        own = _Scope(names, np.where(inside, _index(unit_districts, names), -1), _index(facility_districts, names),
                     list(names))
        scopes[level] = own
        in_area = own.of_facility >= 0
        if level == "county":
            notes.append("the districts are counties: street rules are not checked (give street districts) "
                         "分区为区县，未检查按街道的规则")
    else:
        notes.append("no districts given: street rules are not checked (give --districts) "
                     "未提供街道/乡镇边界，未检查按街道的规则")
    if "county" not in scopes:
        counties = [county_of(n) for n in names]
        if names and all(c is not None for c in counties):
            cnames = list(dict.fromkeys(counties))
            to_county = np.array([cnames.index(c) for c in counties] + [-1], dtype=np.int64)
            street = scopes["street"]
            scopes["county"] = _Scope(cnames, to_county[street.of_demand], to_county[street.of_facility],
                                      [None] * len(cnames))
        else:
            scopes["county"] = _Scope([whole], np.where(inside, 0, -1), np.where(in_area, 0, -1), [None])
    scopes["city"] = _Scope([whole], np.where(inside, 0, -1), np.where(in_area, 0, -1), [None])
    if communities:
        scopes["community"] = _communities(facilities, demand, inside, scopes.get(level) if names else None, notes)
    return scopes, (level if names else None)


def _communities(facilities: pd.DataFrame, demand: pd.DataFrame, inside: np.ndarray, own: _Scope | None,
                 notes: list[str]) -> _Scope:
    """Communities from the population's 社区 column (or one per residential unit); facilities by 所属社区 or nearest."""
    from scipy.spatial import cKDTree

    from circles.facilities.checks import local_m

    if "community" in demand and demand["community"].notna().any():
        label = demand["community"].to_numpy(dtype=object)
    else:
        ids = demand["name"] if "name" in demand else demand.get("demand_id", pd.Series(range(len(demand))))
        label = np.array([str(v) for v in ids], dtype=object)
        notes.append("the population file has no 社区 (community) column: each residential unit stands for its "
                     "community in the community rules 人口数据无“社区”列，社区规则按小区计")
    label = np.where(inside, label, None)
    names = list(dict.fromkeys(v for v in label if isinstance(v, str) and v))
    of_demand = _index(label, names)
    of_facility = np.full(len(facilities), -1, dtype=np.int64)
    if "community" in facilities:
        of_facility = _index(facilities["community"].to_numpy(dtype=object), names)
    todo = np.flatnonzero(of_facility < 0)
    has = np.flatnonzero(of_demand >= 0)
    if len(todo) and len(has):
        lon = np.concatenate([demand["lon"].to_numpy(float)[has], facilities["lon"].to_numpy(float)[todo]])
        lat = np.concatenate([demand["lat"].to_numpy(float)[has], facilities["lat"].to_numpy(float)[todo]])
        x, y = local_m(lon, lat)
        tree = cKDTree(np.c_[x[:len(has)], y[:len(has)]])
        dist, near = tree.query(np.c_[x[len(has):], y[len(has):]], distance_upper_bound=COMMUNITY_REACH_M)
        found = np.isfinite(dist)
        of_facility[todo[found]] = of_demand[has[near[found]]]
    district: list[str | None] = [None] * len(names)
    if own is not None:  # the run's district holding the community's first residential unit
        for i, d in zip(of_demand, own.of_demand):
            if i >= 0 and d >= 0 and district[i] is None:
                district[i] = own.names[d]
    return _Scope(names, of_demand, of_facility, district)


# ============================================================================ the kinds
def _base(rule: Rule) -> dict[str, Any]:
    return {"rule_id": rule.id, "rule_zh": rule.label_zh, "rule_en": rule.label_en, "citation": rule.citation,
            "category": rule.category, "kind": rule.kind, "tier": rule.tier}


def _unit_rows(rule: Rule, scope: _Scope, scope_name: str, values: Sequence[Any], required: Sequence[Any],
               ok: Sequence[Any]) -> list[dict[str, Any]]:
    base = _base(rule)
    return [{**base, "unit": n, "scope": scope_name, "value": v, "required": r, "ok": k, "district": d}
            for n, v, r, k, d in zip(scope.names, values, required, ok, scope.district)]


def _min_facilities(rule: Rule, scope: _Scope, mask: np.ndarray, scope_name: str) -> list[dict[str, Any]]:
    n = scope.counts(mask).astype(int)
    need = rule.min_count or 1
    return _unit_rows(rule, scope, scope_name, n.tolist(), [need] * len(n), (n >= need).tolist())


def _area_per_households(rule: Rule, scope: _Scope, mask: np.ndarray, facilities: pd.DataFrame,
                         demand: pd.DataFrame) -> list[dict[str, Any]]:
    """Σ floor area ÷ Σ households × 100 per unit; required: the households-weighted threshold of its units."""
    hh = pd.to_numeric(demand["households"], errors="coerce").to_numpy(float) if "households" in demand \
        else np.full(len(demand), np.nan)
    known = np.isfinite(hh)
    kinds = _column(demand, "area_type", None)
    old, new = rule.min_area_m2_per_100_households, rule.min_area_m2_per_100_households_new
    need = np.array([(new if new is not None else old) if k == "new" else old for k in kinds], dtype=object)
    applies = np.array([t is not None for t in need]) & known
    threshold = np.array([float(t) if t is not None else 0.0 for t in need])
    households = scope.sums(hh, known)
    weighted = scope.sums(threshold * np.where(known, hh, 0.0))
    any_need = scope.sums(applies.astype(float)) > 0
    any_hh = scope.sums(known.astype(float)) > 0
    area = pd.to_numeric(facilities["area_m2"], errors="coerce").to_numpy(float) if "area_m2" in facilities \
        else np.full(len(facilities), np.nan)
    n_fac = scope.counts(mask)
    n_area = scope.counts(mask & np.isfinite(area))
    total_area = _bincount(scope.of_facility, np.where(mask & np.isfinite(area), area, 0.0), len(scope.names))
    values, required, ok = [], [], []
    for i in range(len(scope.names)):
        value = np.nan
        if any_hh[i] and households[i] > 0 and (n_fac[i] == 0 or n_area[i] > 0):
            value = round(100.0 * total_area[i] / households[i], 2)
        req = round(weighted[i] / households[i], 2) if any_need[i] and households[i] > 0 else None
        values.append(value)
        required.append(req)
        ok.append(bool(value >= req) if req is not None and np.isfinite(value) else None)
    return _unit_rows(rule, scope, rule.scope, values, required, ok)


def _coverage_target(rule: Rule, scopes: Mapping[str, _Scope], mask: np.ndarray) -> list[dict[str, Any]]:
    """Per unit of ``of_scope``: its facilities; per unit of ``scope``: the share of those units that have enough."""
    inner, outer = scopes.get(rule.of_scope), scopes.get(rule.scope)
    if inner is None or outer is None:
        return []
    rows = _min_facilities(rule, inner, mask, rule.of_scope)
    has = _parent(inner, outer)
    met = np.array([bool(r["ok"]) for r in rows])
    values, required, ok = [], [], []
    for j in range(len(outer.names)):
        members = has == j
        share = round(float(met[members].mean()), 4) if members.any() else np.nan
        values.append(share)
        required.append(rule.min_share)
        ok.append(bool(share >= rule.min_share) if np.isfinite(share) else None)
    return rows + _unit_rows(rule, outer, rule.scope, values, required, ok)


def _parent(inner: _Scope, outer: _Scope) -> np.ndarray:
    """The outer unit each inner unit belongs to (via their residential units and facilities), -1 when unknown."""
    parent = np.full(len(inner.names), -1, dtype=np.int64)
    for a, b in ((inner.of_demand, outer.of_demand), (inner.of_facility, outer.of_facility)):
        ok = (a >= 0) & (b >= 0)
        parent[a[ok]] = np.where(parent[a[ok]] >= 0, parent[a[ok]], b[ok])
    if len(outer.names) == 1:
        parent[:] = 0
    return parent


def _needs_functions(rule: Rule, scope: _Scope, mask: np.ndarray, facilities: pd.DataFrame, demand: pd.DataFrame,
                     profile: Any) -> list[dict[str, Any]]:
    """以需定供: where the group is large enough, the unit's facilities of the tier offer the group's functions."""
    group = profile.group(rule.group)
    people = scope.sums(demand[rule.group].to_numpy(float)) if rule.group in demand else np.zeros(len(scope.names))
    pop = scope.sums(demand["population"].to_numpy(float)) if "population" in demand else np.zeros(len(scope.names))
    flag = f"estimated_{rule.group}"
    guessed = scope.sums(demand[flag].to_numpy(bool).astype(float)) > 0 if flag in demand \
        else np.zeros(len(scope.names), bool)
    offered: list[set[str]] = [set() for _ in scope.names]
    cells = _column(facilities, "functions", None)
    for i in np.flatnonzero(mask & (scope.of_facility >= 0)):
        offered[scope.of_facility[i]] |= function_ids(cells[i])
    wanted = set(rule.functions)
    want_zh = "、".join(function_label(f, "zh") for f in rule.functions)
    want_en = ", ".join(function_label(f, "en") for f in rule.functions)
    values, required, ok = [], [], []
    for i in range(len(scope.names)):
        share = people[i] / pop[i] if pop[i] > 0 else 0.0
        applies = share >= rule.min_group_share if rule.min_group_share is not None \
            else people[i] >= (rule.min_group_people or 0)
        est_zh, est_en = ("（估算）", " (estimated)") if guessed[i] else ("", "")
        has_zh = "、".join(function_label(f, "zh") for f in sorted(offered[i])) or "无"
        has_en = ", ".join(function_label(f, "en") for f in sorted(offered[i])) or "none"
        values.append(Text(f"{group.label_zh} {people[i]:,.0f} 人（占 {share:.1%}）{est_zh}；已有功能：{has_zh}",
                           f"{group.label_en}: {people[i]:,.0f} ({share:.1%}){est_en}; functions offered: {has_en}"))
        required.append(Text(want_zh, want_en) if applies else Text("无此需求", "not needed"))
        ok.append(wanted <= offered[i] if applies else None)
    return _unit_rows(rule, scope, rule.scope, values, required, ok)


def _facility_rows(rule: Rule, facilities: pd.DataFrame, mask: np.ndarray, districts: np.ndarray,
                   judge) -> list[dict[str, Any]]:
    base = _base(rule)
    names = _column(facilities, "name", None)
    rows_ = _column(facilities, "source_row", None)
    tiers = _column(facilities, "tier", None)
    out = []
    for i in np.flatnonzero(mask):
        value, required, ok = judge(i)
        out.append({**base, "facility": int(i), "name": names[i], "tier": tiers[i], "district": districts[i],
                    "source_row": rows_[i], "value": value, "required": required, "ok": ok})
    return out


def _lift_judge(facilities: pd.DataFrame):
    floor = pd.to_numeric(_column(facilities, "floor"), errors="coerce").astype(float) if "floor" in facilities \
        else np.full(len(facilities), np.nan)
    lift = facilities["lift"].astype("boolean") if "lift" in facilities else pd.array([None] * len(facilities),
                                                                                       dtype="boolean")
    need = Text("二层及以上或地下设老年人用房须设电梯", "a lift when above the ground floor or below ground")

    def judge(i: int):
        f, has = floor[i], lift[i]
        if not np.isfinite(f):
            return Text("楼层未知", "floor unknown"), need, None
        if f == 1:
            return Text("首层", "ground floor"), need, True
        where_zh, where_en = (f"{int(f)}层", f"floor {int(f)}") if f >= 2 else (f"地下{-int(f)}层", f"basement {-int(f)}")
        if has is pd.NA:
            return Text(f"{where_zh}，电梯未知", f"{where_en}, lift unknown"), need, None
        return (Text(f"{where_zh}，{'有' if has else '无'}电梯", f"{where_en}, {'a lift' if has else 'no lift'}"),
                need, bool(has))

    return judge


def _integrated_judge(rule: Rule, facilities: pd.DataFrame):
    area = pd.to_numeric(_column(facilities, "area_m2"), errors="coerce").astype(float) if "area_m2" in facilities \
        else np.full(len(facilities), np.nan)
    cells = _column(facilities, "functions", None)
    core = set(rule.core_functions)
    core_zh = "、".join(function_label(f, "zh") for f in rule.core_functions)
    need = Text(f"建筑面积≥{rule.min_area_m2:g}㎡，服务功能≥{rule.min_functions}项，其中{core_zh}≥{rule.min_core_functions}项",
                f"≥ {rule.min_area_m2:g} m², ≥ {rule.min_functions} functions, ≥ {rule.min_core_functions} of "
                + ", ".join(function_label(f, "en") for f in rule.core_functions))

    def judge(i: int):
        fns = function_ids(cells[i])
        n, k, a = len(fns), len(fns & core), area[i]
        a_zh = f"{a:g}㎡" if np.isfinite(a) else "面积未知"
        a_en = f"{a:g} m²" if np.isfinite(a) else "area unknown"
        value = Text(f"{a_zh}，{n}项功能（核心{k}项）", f"{a_en}, {n} functions ({k} core)")
        if not np.isfinite(a) or cells[i] is None or (isinstance(cells[i], float) and cells[i] != cells[i]):
            met = False if (np.isfinite(a) and a < rule.min_area_m2) else None
            return value, need, met
        return value, need, bool(a >= rule.min_area_m2 and n >= rule.min_functions and k >= rule.min_core_functions)

    return judge


# ============================================================================ the engine
def check_rules(profile: Any, facilities: pd.DataFrame, demand: pd.DataFrame, *, districts: Any = None,
                district_col: str | None = None, area_name: str | None = None, level: str | None = None,
                boundary: shapely.Geometry | None = None, unit_districts: np.ndarray | None = None,
                facility_districts: np.ndarray | None = None) -> RuleChecks:
    """Check every rule of `profile` on the facilities and residential units.

    Parameters
    ----------
    profile
        The service profile (its ``rules`` and ``groups``).
    facilities
        The facility frame (`circles.facilities.FACILITY_COLUMNS`: ``category``, ``tier``,
        ``lon``/``lat`` WGS84, ``area_m2``, ``floor``, ``lift``, ``functions``, ``community`` ...).
    demand
        Residential units (``lon``/``lat`` WGS84, ``population``, ``households``, ``area_type``,
        ``community``, the group columns; ``inside``: counted in the study area).
    districts, district_col
        District polygons (WGS84) and their name column: the streets (or counties) of the rules.
    area_name
        The name of the whole area (the city unit); default `WHOLE_AREA`.
    level
        ``"street"`` or ``"county"``: what the districts are; default from their names (`district_level`).
    boundary
        The study area (WGS84): without districts, only facilities inside it count for the city.
    unit_districts, facility_districts
        Each unit's and facility's district name when already known (as `circles.coverage.assess` has them).

    Returns
    -------
    RuleChecks
    """
    from circles.demand.groups import complete_groups

    facilities = facilities.reset_index(drop=True)
    demand = demand.reset_index(drop=True)
    groups = [r.group for r in profile.rules if r.kind == "needs_functions" and r.group not in demand]
    if groups:
        demand, _ = complete_groups(demand, profile, groups)
    notes: list[str] = []
    communities = any(r.scope == "community" for r in profile.rules)
    scopes, own_scope = _scopes(facilities, demand, districts=districts, district_col=district_col,
                                area_name=area_name, level=level, boundary=boundary, unit_districts=unit_districts,
                                facility_districts=facility_districts, communities=communities, notes=notes)
    tiers = _tiers(facilities, profile)
    own = scopes.get(own_scope) if own_scope else None
    f_district = np.array([own.names[i] if own is not None and i >= 0 else None
                           for i in (own.of_facility if own is not None else [-1] * len(facilities))], dtype=object)
    units: list[dict[str, Any]] = []
    facs: list[dict[str, Any]] = []
    for rule in profile.rules:
        mask = _concerns(rule, facilities, tiers)
        scope = scopes.get(rule.scope)
        if rule.kind == "lift":
            facs += _facility_rows(rule, facilities, mask, f_district, _lift_judge(facilities))
        elif rule.kind == "integrated_facility":
            facs += _facility_rows(rule, facilities, mask, f_district, _integrated_judge(rule, facilities))
        elif rule.kind == "coverage_target":
            units += _coverage_target(rule, scopes, mask)
        elif scope is None:
            notes.append(f"rule {rule.id}: no {rule.scope} units in this run; not checked 无{rule.scope}单元，未检查")
        elif rule.kind == "min_facilities":
            units += _min_facilities(rule, scope, mask, rule.scope)
        elif rule.kind == "area_per_households":
            units += _area_per_households(rule, scope, mask, facilities, demand)
        elif rule.kind == "needs_functions":
            units += _needs_functions(rule, scope, mask, facilities, demand, profile)
    log.info("rules: %d unit rows, %d facility rows", len(units), len(facs))
    return RuleChecks(_frame(units, _ROW_KEYS), _frame(facs, _FACILITY_KEYS), tuple(dict.fromkeys(notes)))


def _frame(rows: list[dict[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    """Rows as a frame whose value, requirement and verdict cells keep their own types (1 stays 1, None stays None)."""
    return pd.DataFrame({c: pd.Series([r[c] for r in rows], dtype=object) for c in columns}, columns=list(columns))
