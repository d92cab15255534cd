"""The standards a profile states as data: rules with citations, need groups and service functions.

A profile's ``[rules.<id>]`` tables become `Rule` objects, its ``[groups.<id>]`` tables `Group`
objects; `circles.rules` evaluates the rules, `circles.coverage` counts the groups. This module
holds their schema and validation (`rule_from_table`, `group_from_table`), the vocabulary of
service functions (服务功能) a ledger may list, and the reader that gathers every problem of a
TOML table before raising once (`TableChecker`).

Rule kinds (`RULE_KINDS`) and the scopes they are judged at (`SCOPES`):

- ``min_facilities``: at least ``min_count`` facilities of a category (and tier) per unit
  (community, street, county or city); higher tiers do not stand in for the named one unless
  the rule lists them in ``substitutes`` (GB 50180-2018 sets each level's facilities apart);
- ``area_per_households``: floor area (m²) per 100 households per unit, with a threshold for
  existing areas and, where given, another for new ones (each population unit says which);
- ``integrated_facility``: a 综合体 of at least ``min_area_m2`` with at least ``min_functions``
  service functions, ``min_core_functions`` of them among ``core_functions``;
- ``lift``: a facility above the ground floor needs a lift (JGJ 450-2018 §5.6.4); one without
  is flagged and does not serve the step-free groups (`Group.step_free`);
- ``coverage_target``: at least ``min_share`` of the units of ``of_scope`` (e.g. counties) in
  the unit of ``scope`` (e.g. the city) have ``min_count`` facilities of the tier;
- ``needs_functions``: where a group's share (or count) reaches a threshold, the community's
  facilities of the tier offer the group's functions (以需定供).

Example
-------
>>> function_id("老年助餐"), function_label("meals", "zh")
('meals', '社区助餐')
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from circles.errors import CirclesError

__all__ = [
    "AREA_TYPES", "CORE_FUNCTIONS", "FUNCTIONS", "GROUP_COLUMNS", "GROUP_KEYS", "KIND_SCOPES", "LEGACY_GROUPS",
    "RULE_KEYS", "RULE_KINDS", "SCOPES", "Group", "Rule", "TableChecker", "area_type", "default_group",
    "function_id", "function_label", "group_from_table", "is_number", "rule_from_table",
]

#: Where a rule is judged: each facility, each community (社区), street/township (街道/乡镇), county (区/县),
#: or the whole run (city 市).
SCOPES: tuple[str, ...] = ("facility", "community", "street", "county", "city")
RULE_KINDS: tuple[str, ...] = ("min_facilities", "area_per_households", "integrated_facility", "lift",
                               "coverage_target", "needs_functions")
#: Scopes each kind may use, the first being its default.
KIND_SCOPES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "min_facilities": ("street", "community", "county", "city"),
    "area_per_households": ("street", "community", "county", "city"),
    "integrated_facility": ("facility",),
    "lift": ("facility",),
    "coverage_target": ("city", "county"),
    "needs_functions": ("community", "street"),
})
#: The population columns a profile may count as demand groups (`circles.demand` reads them).
GROUP_COLUMNS: tuple[str, ...] = ("population", "pop_60plus", "pop_0_17", "pop_80plus", "pop_disabled",
                                  "pop_assistance", "pop_0_3")
#: Groups whose shares live in ``[age_shares]`` (or that need none: ``population``).
LEGACY_GROUPS: tuple[str, ...] = ("population", "pop_60plus", "pop_0_17")
#: The built-in labels of every group column (a profile's ``[groups.<id>]`` may reword them).
_DEFAULT_LABELS: Mapping[str, tuple[str, str]] = MappingProxyType({
    "population": ("常住人口", "residents"),
    "pop_60plus": ("60岁及以上老年人", "people aged 60+"),
    "pop_0_17": ("0–17岁未成年人", "children aged 0–17"),
    "pop_80plus": ("80岁及以上高龄老年人", "people aged 80+"),
    "pop_disabled": ("残疾人", "people with disabilities"),
    "pop_assistance": ("特困人员和低保对象", "people on subsistence or extreme-poverty assistance"),
    "pop_0_3": ("0–3岁婴幼儿", "infants aged 0–3"),
})
#: A population unit (or a community) is a new area (新建) or an existing one (既有); the words accepted.
AREA_TYPES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "new": ("new", "新建", "新", "新建小区", "新建住宅", "新建居住区", "新区", "新建区"),
    "existing": ("existing", "old", "既有", "已建", "已建成", "建成", "老旧", "老旧小区", "旧", "老城区", "老区",
                 "既有小区", "已建成小区"),
})

#: Service functions (服务功能) by id: (中文, English, accepted words). The nine functions of the national
#: guideline for community embedded facilities, as Xi'an lists them (西安新闻广播 2024-09-20), with the finer
#: services ledgers write (日间照料, 助浴, 康复 ...; Ulanqab's 六助: 助餐、助医、助洁、助浴、助购、助娱).
FUNCTIONS: Mapping[str, tuple[str, str, tuple[str, ...]]] = MappingProxyType({
    "elderly_care": ("养老服务", "elderly care", (
        "养老", "养老服务", "为老服务", "全托", "日托", "日间照料", "日间照护", "短期托养", "长期托养", "托养", "喘息服务",
        "上门服务", "居家上门", "家庭养老床位", "生活照料", "助浴", "助行", "助急", "康复", "康复护理", "康复训练",
        "护理", "辅具租赁", "elderly care", "day care", "bathing", "rehabilitation")),
    "infant_care": ("婴幼儿托育", "infant care (0–3)", (
        "托育", "婴幼儿托育", "婴幼儿照护", "托班", "宝宝屋", "托育服务", "infant care", "childcare 0-3")),
    "child_care": ("儿童托管", "after-school care", (
        "儿童托管", "托管", "课后托管", "四点半课堂", "假期托管", "儿童托管服务", "after-school care")),
    "meals": ("社区助餐", "meals", (
        "助餐", "老年助餐", "社区助餐", "老年食堂", "长者食堂", "社区食堂", "助餐服务", "营养膳食", "meals", "meal")),
    "housekeeping": ("家政便民", "housekeeping", (
        "家政", "家政便民", "助洁", "助购", "保洁", "便民服务", "housekeeping")),
    "health": ("健康服务", "health", (
        "健康", "健康服务", "助医", "医疗", "医务室", "医疗保健", "家庭医生", "health", "medical")),
    "fitness": ("体育健身", "fitness", ("体育", "体育健身", "健身", "运动", "fitness", "sport")),
    "culture": ("文化休闲", "culture and leisure", (
        "文化", "文化休闲", "文化娱乐", "助娱", "精神慰藉", "老年大学", "阅览", "culture", "leisure")),
    "play": ("儿童游憩", "children's play", ("儿童游憩", "游憩", "儿童游乐", "儿童活动", "play")),
})
#: The functions the integrated-facility rule counts as core: 养老服务、婴幼儿托育、儿童托管、社区助餐.
CORE_FUNCTIONS: tuple[str, ...] = ("elderly_care", "infant_care", "child_care", "meals")


def _fold(value: Any) -> str:
    return "".join(unicodedata.normalize("NFKC", str(value)).casefold().split())


_FUNCTION_INDEX: dict[str, str] = {}
for _fid, (_zh, _en, _words) in FUNCTIONS.items():
    for _w in (_fid, _zh, _en, *_words):
        _FUNCTION_INDEX.setdefault(_fold(_w), _fid)


def function_id(word: str) -> str | None:
    """The function id a word names (``"老年助餐"`` → ``"meals"``), or None for an unknown word."""
    return _FUNCTION_INDEX.get(_fold(word))


def function_label(fid: str, lang: str) -> str:
    """A function's name in ``"zh"`` or ``"en"``."""
    zh, en, _ = FUNCTIONS[fid]
    return zh if lang == "zh" else en


def area_type(word: Any) -> str | None:
    """``"new"`` or ``"existing"`` for a unit's area type word (新建/既有 ...), None for an unknown one."""
    key = _fold(word)
    for kind, words in AREA_TYPES.items():
        if key in {_fold(w) for w in words}:
            return kind
    return None


@dataclass(frozen=True)
class Group:
    """A demand group (需求人群): its labels, the census share that estimates it, whether it needs step-free access.

    ``share`` is the share of the ``of`` column (``population`` unless said) used when a
    population file does not give the group; ``source`` cites it. Step-free groups (80+,
    disabled) are served only by facilities that pass the lift rule.
    """

    id: str
    label_zh: str
    label_en: str
    share: float | None = None
    of: str = "population"
    step_free: bool = False
    source: str = ""

    def label(self, lang: str) -> str:
        return self.label_zh if lang == "zh" else self.label_en


def default_group(group_id: str) -> Group:
    """The built-in labels of a group column, without a share."""
    zh, en = _DEFAULT_LABELS[group_id]
    return Group(group_id, zh, en)


@dataclass(frozen=True)
class Rule:
    """One standard a profile holds planners to, with its citation; see the module docstring for the kinds.

    Attributes
    ----------
    id
        The rule's key in the profile (``[rules.<id>]``).
    kind, scope
        One of `RULE_KINDS`; one of `SCOPES` (where it is judged).
    category, tier
        The facilities it concerns (tier None: every tier of the category).
    label_zh, label_en, citation
        The rule as written in outputs, and its source: document and clause.
    substitutes
        Tiers that also count for ``min_facilities``/``coverage_target`` (none by default).
    """

    id: str
    kind: str
    scope: str
    category: str
    tier: str | None
    label_zh: str
    label_en: str
    citation: str
    min_count: int | None = None
    substitutes: tuple[str, ...] = ()
    min_area_m2_per_100_households: float | None = None
    min_area_m2_per_100_households_new: float | None = None
    min_area_m2: float | None = None
    min_functions: int | None = None
    core_functions: tuple[str, ...] = ()
    min_core_functions: int | None = None
    min_share: float | None = None
    of_scope: str | None = None
    deadline: str | None = None
    group: str | None = None
    min_group_share: float | None = None
    min_group_people: float | None = None
    functions: tuple[str, ...] = ()

    @property
    def source(self) -> str:
        """The citation (the key profiles used before rules carried `citation`)."""
        return self.citation

    def label(self, lang: str) -> str:
        return self.label_zh if lang == "zh" else self.label_en

    def tiers(self) -> tuple[str, ...] | None:
        """The tiers whose facilities count (the rule's own and its substitutes), None for every tier."""
        return None if self.tier is None else (self.tier, *self.substitutes)


# ============================================================================ reading TOML tables
def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class TableChecker:
    """Reads values out of TOML tables, gathering every problem so that they are raised at once.

    `keys` maps a kind of table (``"tier"``, ``"rule"`` ...) to its valid keys.
    """

    def __init__(self, source: str, keys: Mapping[str, tuple[str, ...]]) -> None:
        self.source = source
        self.keys = keys
        self.problems: list[str] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"[{path}] {message}" if path else message)

    def table(self, value: Any, path: str, kind: str | None = None) -> dict:
        if not isinstance(value, dict):
            self.fail(path, f"must be a table, got {value!r}; write it as [{path}]")
            return {}
        for key in value if kind else ():
            if key not in self.keys[kind]:
                where = f"in [{path}]" if path else "at top level"
                self.problems.append(f"unknown key {key!r} {where}; valid keys: {', '.join(self.keys[kind])}")
        return value

    def entries(self, value: Any, path: str, kind: str) -> list[tuple[str, dict, str]]:
        """``(id, table, path)`` of every sub-table of the table at ``path``, e.g. each tier."""
        return [(name, self.table(value, f"{path}.{name}", kind), f"{path}.{name}")
                for name, value in self.table(value, path).items()]

    def text(self, table: dict, key: str, path: str, default: str | None = None) -> str:
        value = table.get(key, default)
        if not isinstance(value, str) or (default is None and not value.strip()):
            self.fail(path, f"{key} must be a non-empty text, got {value!r}; e.g. {key} = \"...\"")
            return ""
        return value

    def texts(self, table: dict, key: str, path: str) -> tuple[str, ...]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(path, f"{key} must be a list of texts, got {value!r}; "
                            f"e.g. {key} = [\"日间照料中心\", \"day care\"]")
            return ()
        return tuple(value)

    def number(self, table: dict, key: str, path: str, *, required: bool = True,
               upper: float | None = None, inclusive: bool = False) -> float | None:
        if key not in table:
            if required:
                self.fail(path, f"{key} is missing; add e.g. {key} = 15")
            return None
        value = table[key]
        too_big = upper is not None and (value > upper if inclusive else value >= upper) if is_number(value) else False
        if not is_number(value) or value <= 0 or too_big:
            bound = f"> 0 and {'<=' if inclusive else '<'} {upper}" if upper is not None else "> 0"
            self.fail(path, f"{key} must be a number {bound}, got {value!r}")
            return None
        return float(value)

    def whole(self, table: dict, key: str, path: str, *, required: bool = True) -> int | None:
        if key not in table:
            if required:
                self.fail(path, f"{key} is missing; add e.g. {key} = 1")
            return None
        value = table[key]
        if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
            self.fail(path, f"{key} must be a whole number >= 1, got {value!r}; e.g. {key} = 1")
            return None
        return value

    def choice(self, table: dict, key: str, path: str, allowed: tuple[str, ...],
               default: str | None = None) -> str:
        value = table.get(key, default)
        if value not in allowed:
            self.fail(path, f"{key} must be one of {', '.join(allowed)}, got {value!r}")
            return ""
        return value

    def flag(self, table: dict, key: str, path: str, default: bool = False) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            self.fail(path, f"{key} must be true or false, got {value!r}")
            return default
        return value


#: Valid keys of a ``[rules.<id>]`` table and of a ``[groups.<id>]`` table.
RULE_KEYS: tuple[str, ...] = (
    "kind", "scope", "category", "tier", "label_zh", "label_en", "citation", "source", "enabled", "min_count",
    "substitutes", "min_area_m2_per_100_households", "min_area_m2_per_100_households_new", "min_area_m2",
    "min_functions", "core_functions", "min_core_functions", "min_share", "of_scope", "deadline", "group",
    "min_group_share", "min_group_people", "functions",
)
GROUP_KEYS: tuple[str, ...] = ("label_zh", "label_en", "share", "of", "step_free", "source")
#: The keys each kind needs (besides kind, category, labels and citation) and those it may have.
_KIND_KEYS: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = MappingProxyType({
    "min_facilities": (("min_count",), ("substitutes",)),
    "area_per_households": ((), ("min_area_m2_per_100_households", "min_area_m2_per_100_households_new")),
    "integrated_facility": (("min_area_m2", "min_functions", "min_core_functions"), ("core_functions",)),
    "lift": ((), ()),
    "coverage_target": (("min_share", "of_scope"), ("min_count", "substitutes", "deadline")),
    "needs_functions": (("group", "functions"), ("min_group_share", "min_group_people")),
})
_COMMON_KEYS = frozenset({"kind", "scope", "category", "tier", "label_zh", "label_en", "citation", "source",
                          "enabled"})
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _function_ids(ck: TableChecker, table: dict, key: str, path: str) -> tuple[str, ...]:
    out = []
    for word in ck.texts(table, key, path):
        fid = function_id(word)
        if fid is None:
            ck.fail(path, f"{key}: {word!r} is not a service function; use one of "
                          + ", ".join(f"{zh} ({i})" for i, (zh, _, _) in FUNCTIONS.items()))
        else:
            out.append(fid)
    return tuple(dict.fromkeys(out))


def rule_from_table(ck: TableChecker, rid: str, r: dict, path: str, tiers: Mapping[str, tuple[str, ...]],
                    groups: Mapping[str, Any]) -> Rule:
    """Validate one ``[rules.<id>]`` table; `tiers` maps category ids to their tier ids, `groups` the known groups."""
    kind = ck.choice(r, "kind", path, RULE_KINDS)
    cid = ck.choice(r, "category", path, tuple(tiers))
    tier = r.get("tier")
    valid_tiers = tiers.get(cid, ())
    if tier is not None and cid and tier not in valid_tiers:
        ck.fail(path, f"tier {tier!r} is not a tier of category '{cid}'; valid tiers: {', '.join(valid_tiers)}")
    scope = ck.choice(r, "scope", path, KIND_SCOPES.get(kind, SCOPES), default=KIND_SCOPES.get(kind, SCOPES)[0])
    need, may = _KIND_KEYS.get(kind, ((), ()))
    for key in r:
        if key in RULE_KEYS and key not in _COMMON_KEYS and key not in need and key not in may:
            ck.fail(path, f"{key} does not apply to kind = {kind!r}; remove it")
    citation = r.get("citation", r.get("source"))
    if not isinstance(citation, str) or not citation.strip():
        ck.fail(path, f"citation must be a non-empty text (document and clause), got {citation!r}; "
                      "e.g. citation = \"GB 50180-2018 第5.0.2条\"")
        citation = ""
    values: dict[str, Any] = {}
    if kind in ("min_facilities", "coverage_target"):
        values["min_count"] = ck.whole(r, "min_count", path, required=kind == "min_facilities") or 1
        subs = ck.texts(r, "substitutes", path)
        for s in subs:
            if cid and s not in valid_tiers:
                ck.fail(path, f"substitutes: {s!r} is not a tier of category '{cid}'; valid tiers: "
                              f"{', '.join(valid_tiers)}")
        if subs and tier is None:
            ck.fail(path, "substitutes needs a tier: name the tier the others stand in for")
        values["substitutes"] = subs
    if kind == "area_per_households":
        old = ck.number(r, "min_area_m2_per_100_households", path, required=False)
        new = ck.number(r, "min_area_m2_per_100_households_new", path, required=False)
        if old is None and new is None:
            ck.fail(path, "give min_area_m2_per_100_households (existing areas, and new ones unless set) and/or "
                          "min_area_m2_per_100_households_new, e.g. min_area_m2_per_100_households = 20")
        values.update(min_area_m2_per_100_households=old, min_area_m2_per_100_households_new=new)
    if kind == "integrated_facility":
        core = _function_ids(ck, r, "core_functions", path) if "core_functions" in r else CORE_FUNCTIONS
        values.update(min_area_m2=ck.number(r, "min_area_m2", path), min_functions=ck.whole(r, "min_functions", path),
                      core_functions=core, min_core_functions=ck.whole(r, "min_core_functions", path))
    if kind == "coverage_target":
        values["min_share"] = ck.number(r, "min_share", path, upper=1.0, inclusive=True)
        finer = tuple(s for s in ("street", "county") if scope in SCOPES and SCOPES.index(s) < SCOPES.index(scope))
        values["of_scope"] = ck.choice(r, "of_scope", path, finer or ("street", "county"))
        deadline = r.get("deadline")
        if deadline is not None and not (isinstance(deadline, str) and _DATE.match(deadline)):
            ck.fail(path, f"deadline must be a date written YYYY-MM-DD, got {deadline!r}")
        values["deadline"] = deadline
    if kind == "needs_functions":
        group = ck.choice(r, "group", path, tuple(groups))
        share = ck.number(r, "min_group_share", path, required=False, upper=1.0, inclusive=True)
        people = ck.number(r, "min_group_people", path, required=False)
        if (share is None) == (people is None):
            ck.fail(path, "give exactly one of min_group_share (e.g. 0.3) or min_group_people (e.g. 50)")
        values.update(group=group, min_group_share=share, min_group_people=people,
                      functions=_function_ids(ck, r, "functions", path))
    return Rule(rid, kind, scope, cid, tier, ck.text(r, "label_zh", path), ck.text(r, "label_en", path), citation,
                **values)


def group_from_table(ck: TableChecker, gid: str, g: dict, path: str) -> Group:
    """Validate one ``[groups.<id>]`` table (labels, census share and its source, step-free)."""
    if gid not in GROUP_COLUMNS:
        ck.fail(path, f"unknown group {gid!r}; groups are population columns: {', '.join(GROUP_COLUMNS)}")
        return Group(gid, gid, gid)
    base = default_group(gid)
    share = ck.number(g, "share", path, required=False, upper=1.0)
    if share is not None and gid in LEGACY_GROUPS:
        ck.fail(path, f"the share of {gid} is set in [age_shares]; remove share here")
    of = ck.choice(g, "of", path, GROUP_COLUMNS, default="population")
    if of == gid:
        ck.fail(path, f"of = {of!r}: a group cannot be a share of itself; e.g. of = \"population\"")
    source = g.get("source", "")
    if share is not None and not (isinstance(source, str) and source.strip()):
        ck.fail(path, "a share needs its source (the census table or survey it comes from)")
    return Group(gid, ck.text(g, "label_zh", path, base.label_zh), ck.text(g, "label_en", path, base.label_en),
                 share, of, ck.flag(g, "step_free", path), source if isinstance(source, str) else "")
