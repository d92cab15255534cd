"""Tests for circles.profiles: built-in TOML profiles, matching, user overrides and validation."""

from __future__ import annotations

import dataclasses
import re
import tomllib

import pytest

from circles.errors import CirclesError
from circles.profiles import (
    Profile,
    builtin_profile_dir,
    list_profiles,
    load_profile,
    profile_from_dict,
)


@pytest.fixture(scope="module")
def default() -> Profile:
    return load_profile()


def write(tmp_path, text: str, name: str = "my.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- built-in profiles

def test_list_profiles():
    # the general profiles first, then the seeds' local systems built on them
    assert list_profiles() == ["15min", "gb50180", "rural", "beilun", "ningxia", "xian"]
    assert (builtin_profile_dir() / "15min.toml").is_file()


ALL = ["15min", "gb50180", "rural", "beilun", "ningxia", "xian"]


@pytest.mark.parametrize("name", ALL)
def test_builtin_loads_with_bilingual_labels_and_sources(name):
    profile = load_profile(name)
    assert profile.id == name
    assert [c.id for c in profile.categories] == ["elderly", "meal", "child"]
    assert profile.sources and profile.unverified
    for cat in profile.categories:
        assert cat.label_zh and cat.label_en and cat.source
        for tier in cat.tiers:
            assert tier.label_zh and tier.label_en and tier.source
            assert tier.threshold_minutes() > 0
    for preset in profile.speed_presets:
        assert preset.label_zh and preset.label_en and preset.source


def test_default_profile_values(default):
    assert default.id == "15min"
    speeds = {p.id: p.speed_kmh for p in default.speed_presets}
    assert speeds == {"elderly": 3.6, "frail": 2.7, "adult": 4.5}
    elderly, meal, child = (default.category(c) for c in ("elderly", "meal", "child"))
    assert [t.id for t in elderly.tiers] == ["centre", "station"]
    assert [t.id for t in meal.tiers] == ["point"]
    assert [t.id for t in child.tiers] == ["station", "home"]
    assert (elderly.demand_column, meal.demand_column, child.demand_column) == (
        "pop_60plus", "pop_60plus", "pop_0_17")
    for cat in (elderly, meal, child):
        assert cat.minutes == 15
        assert all(t.minutes == 15 and t.distance_m is None and t.mode == "walk" for t in cat.tiers)
    assert all(t.speed_preset == "elderly" and t.speed_kmh == 3.6 for t in elderly.tiers + meal.tiers)
    assert all(t.speed_preset == "adult" and t.speed_kmh == 4.5 for t in child.tiers)
    assert elderly.tier("station").label_zh == "社区养老服务站/日间照料中心"
    assert child.tier("home").label_zh == "儿童之家"
    assert "social_facility:for=senior" in [r.text for r in elderly.osm_tags]
    day_care = next(r for r in elderly.osm_tags if r.text.startswith("social_facility=day_care"))
    assert day_care.conditions == (("social_facility", "day_care", True), ("social_facility:for", "child", False),
                                   ("social_facility:for", "juvenile", False))


def test_default_age_shares_and_rules(default):
    assert default.age_shares["pop_60plus"] == pytest.approx(0.1870)
    assert default.age_shares["pop_0_17"] == pytest.approx(0.21, abs=0.005)
    assert "18.70%" in default.age_shares_source
    rules = {(r.kind, r.category, r.tier): r for r in default.rules}
    assert rules[("min_facilities", "elderly", "centre")].min_count == 1
    assert rules[("min_facilities", "child", "station")].min_count == 1
    area = rules[("area_per_households", "elderly", None)]
    assert area.min_area_m2_per_100_households == 20 and area.min_count is None


def test_gb50180_distances():
    profile = load_profile("gb50180")
    elderly = profile.category("elderly")
    assert elderly.tier("centre").distance_m == 1000 and elderly.tier("centre").minutes is None
    assert elderly.tier("station").distance_m == 300
    assert elderly.tier("centre").threshold_minutes() == pytest.approx(1000 / 1.0 / 60)
    assert profile.category("child").tier("home").threshold_minutes() == pytest.approx(4.0)
    assert elderly.minutes == pytest.approx(16.6667, abs=1e-3)


def test_rural_mixes_walk_ebike_and_drive():
    profile = load_profile("rural")
    elderly = profile.category("elderly")
    assert elderly.tier("station").mode == "walk" and elderly.tier("station").minutes == 15
    assert elderly.tier("centre").mode == "ebike" and elderly.tier("centre").speed_kmh == 15.0  # issue 18
    assert elderly.tier("county").mode == "drive" and elderly.tier("county").minutes > 0
    assert profile.category("child").tier("station").mode == "drive"


def test_profiles_are_frozen(default):
    with pytest.raises(dataclasses.FrozenInstanceError):
        default.id = "other"
    with pytest.raises(dataclasses.FrozenInstanceError):
        default.category("elderly").tier("centre").minutes = 5
    with pytest.raises(TypeError):
        default.age_shares["pop_60plus"] = 0.5


# ---------------------------------------------------------------- matching ledger values

@pytest.mark.parametrize("value, expected", [
    ("elderly", ("elderly", None)),
    ("  ELDERLY ", ("elderly", None)),
    ("养老服务设施", ("elderly", None)),
    ("Elderly-care facility", ("elderly", None)),
    ("elderly care", ("elderly", None)),
    ("Elderly  Care", ("elderly", None)),
    ("centre", ("elderly", "centre")),
    ("elderly.station", ("elderly", "station")),
    ("社区养老服务站/日间照料中心", ("elderly", "station")),
    ("日间照料中心", ("elderly", "station")),
    ("日间 照料中心 ", ("elderly", "station")),
    ("托老所", ("elderly", "station")),
    ("Street/township comprehensive elderly-service centre", ("elderly", "centre")),
    ("老年食堂", ("meal", "point")),
    ("农村老饭桌", ("meal", "point")),
    ("meal", ("meal", None)),
    ("home", ("child", "home")),
    ("儿童之家", ("child", "home")),
    ("未成年人保护工作站", ("child", "station")),
    ("Child Protection", ("child", None)),
])
def test_match_category(default, value, expected):
    assert default.match_category(value) == expected


def test_match_category_full_width_forms(default):
    assert default.match_category("ＥＬＤＥＲＬＹ") == ("elderly", None)


def test_match_category_unknown_lists_allowed(default):
    with pytest.raises(CirclesError, match="'老年大学' is not known") as info:
        default.match_category("老年大学")
    message = str(info.value)
    for allowed in ("elderly", "养老服务设施", "meal.point", "儿童之家", "aliases"):
        assert allowed in message


def test_match_category_shared_tier_id_is_ambiguous(default):
    with pytest.raises(CirclesError, match="ambiguous.*child.station, elderly.station"):
        default.match_category("station")


def test_same_ledger_value_works_across_profiles():
    for name in list_profiles():
        assert load_profile(name).match_category("日间照料中心") == ("elderly", "station")
        assert load_profile(name).match_category("儿童之家") == ("child", "home")


# The words bureaus write in their ledgers and policy documents (see ../shared/seeds/: Ningxia 2023,
# Dianjiang 2024, Beilun 2023, Ulanqab 2023, Xi'an 2024; and Beijing's, Guangzhou's and Shanghai's terms).
BUREAU_WORDS = {
    ("elderly", "centre"): [
        "街道综合养老服务中心", "镇街综合养老服务中心", "区域养老服务中心", "乡镇养老服务中心", "镇街养老服务中心",
        "县级养老服务中心", "乡级养老服务中心", "乡级综合服务中心", "居家养老服务中心", "养老照料中心", "颐康中心",
    ],
    ("elderly", "station"): [
        "养老驿站", "社区养老服务驿站", "社区养老服务站", "日间照料中心", "社区老年服务站", "农村互助幸福院",
        "互助幸福院", "幸福院", "村级养老服务站", "农村互助养老点", "农村养老互助点", "居家养老服务站点",
    ],
    ("meal", "point"): ["长者饭堂", "长者食堂", "幸福食堂", "老年餐桌", "老年助餐点", "老饭桌", "农村老饭桌", "老年食堂"],
    ("child", "station"): ["未保站", "未成年人保护工作站", "未保阵地", "未成年人保护工作阵地"],
    ("child", "home"): ["儿童关爱服务站", "儿童之家"],
}


RURAL_COUNTY_WORDS = {"县级养老服务中心"}  # the rural profile's county tier (issue 18) takes these


@pytest.mark.parametrize("name", ["15min", "gb50180", "rural"])
def test_every_profile_understands_the_bureaus_words(name):
    profile = load_profile(name)

    def expected(target, word):
        return ("elderly", "county") if name == "rural" and word in RURAL_COUNTY_WORDS else target

    wrong = {
        word: profile.lookup(word)
        for target, words in BUREAU_WORDS.items() for word in words
        if profile.lookup(word) != {expected(target, word)}
    }
    assert wrong == {}
    # full-width brackets and spaces fold like every other spelling
    assert profile.match_category(" 乡镇（街道）未成年人保护工作站 ") == ("child", "station")


def test_lookup_and_known_words(default):
    assert default.lookup("养老驿站") == {("elderly", "station")}
    assert default.lookup("station") == {("elderly", "station"), ("child", "station")}
    assert default.lookup("卫生院") == frozenset()
    words = default.known_words()
    assert "养老驿站" in words and "elderly.centre" in words and "日间照料中心" in words  # split from a label
    assert set(default.known_words("meal")) < set(words) and "养老驿站" not in default.known_words("meal")


def test_the_seeds_behind_the_words_are_cited():
    for name in ("15min", "gb50180", "rural"):
        text = (builtin_profile_dir() / f"{name}.toml").read_text(encoding="utf-8")
        sources = " ".join(load_profile(name).sources)
        for tag, source in (("宁夏 2023", "宁夏日报 2023-02-16"), ("垫江 2024", "重庆政协报 2024-01-19"),
                            ("北仑 2023", "北仑区民政局"), ("乌兰察布 2023", "乌兰察布市民政局"),
                            ("西安 2024", "西安新闻广播")):
            assert f"# {tag}" in text and source in sources, (name, tag)


def test_unknown_category_and_tier(default):
    with pytest.raises(CirclesError, match="no category 'elder'; valid categories: elderly, meal, child"):
        default.category("elder")
    with pytest.raises(CirclesError, match="no tier 'point'; valid tiers: centre, station"):
        default.category("elderly").tier("point")


# ---------------------------------------------------------------- overrides

def test_with_overrides(default):
    changed = default.with_overrides(minutes=10, speed_kmh=3.0)
    for cat in changed.categories:
        assert all(t.minutes == 10 and t.speed_kmh == 3.0 for t in cat.tiers)
    assert default.category("elderly").tier("centre").minutes == 15  # original untouched
    rural = load_profile("rural").with_overrides(speed_kmh=3.0)
    assert rural.category("elderly").tier("county").speed_kmh == 0.0  # drive keeps road speeds
    assert rural.category("elderly").tier("station").speed_kmh == 3.0


def test_with_overrides_replaces_distance_thresholds():
    gb = load_profile("gb50180")
    assert gb.with_overrides(speed_kmh=1.8).category("elderly").tier("station").threshold_minutes() \
        == pytest.approx(10.0)
    tier = gb.with_overrides(minutes=12).category("elderly").tier("centre")
    assert (tier.minutes, tier.distance_m, tier.threshold_minutes()) == (12, None, 12)


@pytest.mark.parametrize("kwargs", [{"minutes": 0}, {"minutes": -5}, {"speed_kmh": "fast"}])
def test_with_overrides_rejects_bad_values(default, kwargs):
    (name, value), = kwargs.items()
    with pytest.raises(CirclesError, match=f"{name} must be a number > 0, got {value!r}"):
        default.with_overrides(**kwargs)


def test_user_file_overrides_one_tier(tmp_path, default):
    path = write(tmp_path, 'base = "15min"\n[categories.elderly.tiers.station]\nminutes = 10\n')
    profile = load_profile(path)
    assert profile.id == "my"
    station = profile.category("elderly").tier("station")
    assert station.minutes == 10 and station.speed_kmh == 3.6
    assert "user override" in station.source
    assert profile.category("elderly").tier("centre") == default.category("elderly").tier("centre")
    assert profile.category("elderly").aliases == default.category("elderly").aliases
    assert profile.rules == default.rules


def test_user_file_switches_minutes_to_distance_and_disables_rule(tmp_path):
    path = write(tmp_path, """
base = "15min"
id = "city"
unverified = ["our own guess"]
[categories.meal.tiers.point]
distance_m = 500
source = "city plan"
[rules.elderly_area_per_100_households]
enabled = false
""")
    profile = load_profile(str(path))
    point = profile.category("meal").tier("point")
    assert (profile.id, point.minutes, point.distance_m, point.source) == ("city", None, 500, "city plan")
    assert point.threshold_minutes() == pytest.approx(500 / 1.0 / 60)
    assert [r.kind for r in profile.rules] == ["min_facilities", "min_facilities", "lift"]
    assert profile.unverified[-1] == "our own guess" and len(profile.unverified) > 1


def test_user_file_adds_a_category_with_its_own_preset(tmp_path):
    path = write(tmp_path, """
base = "gb50180"
[speed_presets.bike]
label_zh = "骑行"
label_en = "Cycling"
speed_kmh = 12
[categories.health]
label_zh = "社区卫生服务站"
label_en = "Community health station"
demand_column = "population"
[categories.health.tiers.station]
label_zh = "社区卫生服务站"
label_en = "Community health station"
minutes = 10
mode = "bike"
speed_preset = "bike"
""")
    profile = load_profile(path)
    assert profile.category("health").tier("station").speed_kmh == 12
    assert profile.category("health").source == str(path)  # default source: the file
    assert profile.match_category("社区卫生服务站") == ("health", "station")


def test_readme_examples_load():
    readme = (builtin_profile_dir() / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", readme, re.S)
    assert len(blocks) == 3  # the layout, a user profile, the rural tables (issue 18)
    for block in blocks:
        assert isinstance(profile_from_dict(tomllib.loads(block), source="README.md"), Profile)


# ---------------------------------------------------------------- validation errors

def test_typo_key_lists_valid_keys(tmp_path):
    path = write(tmp_path, 'base = "15min"\n[categories.elderly.tiers.station]\nminuts = 10\n')
    with pytest.raises(CirclesError) as info:
        load_profile(path)
    message = str(info.value)
    assert message.startswith(f"{path}: unknown key 'minuts' in [categories.elderly.tiers.station]")
    assert "valid keys: label_zh, label_en, minutes, distance_m, mode" in message


def test_typo_at_top_level(tmp_path):
    path = write(tmp_path, 'base = "15min"\nlabel_cn = "x"\n')
    with pytest.raises(CirclesError, match="unknown key 'label_cn' at top level; valid keys: id, label_zh"):
        load_profile(path)


@pytest.mark.parametrize("line, expected", [
    ("minutes = 0", r"\[categories.elderly.tiers.station\] minutes must be a number > 0, got 0"),
    ("minutes = -3", r"minutes must be a number > 0, got -3"),
    ('minutes = "15"', r"minutes must be a number > 0, got '15'"),
    ('mode = "fly"', r"\[categories.elderly.tiers.station\] mode must be one of walk, bike, ebike, drive, got 'fly'"),
    ('speed_preset = "runner"', r"speed_preset 'runner' is not defined; defined presets: elderly, frail, adult"),
    ("distance_m = 300\nminutes = 5", r"give exactly one of minutes or distance_m"),
    ('aliases = "托老所"', r"aliases must be a list of texts"),
])
def test_invalid_tier_values_name_the_key(tmp_path, line, expected):
    path = write(tmp_path, f'base = "15min"\n[categories.elderly.tiers.station]\n{line}\n')
    with pytest.raises(CirclesError, match=expected):
        load_profile(path)


@pytest.mark.parametrize("toml, expected", [
    ('[categories.elderly]\ndemand_column = "pop_90plus"', "demand_column must be one of population, pop_60plus"),
    ('[categories.elderly]\nosm_tags = ["amenity"]', 'must look like "key=value"'),
    ('[categories.elderly]\nosm_tags = ["amenity=social_facility & "]', 'with "&" between conditions'),
    ("[speed_presets.elderly]\nspeed_kmh = 0", r"\[speed_presets.elderly\] speed_kmh must be a number > 0"),
    ("[age_shares]\npop_60plus = 18.7", r"pop_60plus must be a number > 0 and < 1.0, got 18.7"),
    ('[rules.elderly_centre_per_street]\ntier = "hub"', "tier 'hub' is not a tier of category 'elderly'"),
    ("[rules.elderly_centre_per_street]\nmin_count = 0", "min_count must be a whole number >= 1, got 0"),
    ('[rules.x]\nkind = "max_distance"\ncategory = "elderly"\nlabel_zh = "x"\nlabel_en = "x"\ncitation = "x"',
     "kind must be one of min_facilities, area_per_households, integrated_facility, lift"),
    ('[categories.elderly.tiers.centre]\nmode = "drive"\ndistance_m = 900',
     "a drive tier needs minutes, not distance_m"),
    ('[categories.elderly]\nlabel_en = ""', "label_en must be a non-empty text"),
])
def test_invalid_values(tmp_path, toml, expected):
    path = write(tmp_path, f'base = "15min"\n{toml}\n')
    with pytest.raises(CirclesError, match=expected):
        load_profile(path)


def test_all_problems_reported_together(tmp_path):
    path = write(tmp_path, 'base = "15min"\n[categories.elderly.tiers.station]\nminutes = 0\n'
                           'mode = "fly"\ncolour = "red"\n')
    with pytest.raises(CirclesError, match=r"\(3 problems\)") as info:
        load_profile(path)
    assert all(word in str(info.value) for word in ("minutes", "mode", "colour"))


def test_profile_without_base_needs_labels_and_tiers():
    with pytest.raises(CirclesError) as info:
        profile_from_dict({"id": "x", "categories": {"elderly": {"demand_column": "pop_60plus"}}},
                          source="inline")
    message = str(info.value)
    assert message.startswith("inline")
    assert "label_zh must be a non-empty text" in message
    assert "needs at least one tier" in message


def test_duplicate_alias_across_categories_is_rejected(tmp_path):
    path = write(tmp_path, 'base = "15min"\n[categories.meal]\naliases = ["日间照料中心"]\n')
    with pytest.raises(CirclesError, match="names both elderly.station and meal"):
        load_profile(path)


def test_missing_profile_and_bad_toml(tmp_path):
    with pytest.raises(CirclesError, match=r"'nope' not found.*15min, gb50180, rural"):
        load_profile("nope")
    with pytest.raises(CirclesError, match="not found"):
        load_profile(write(tmp_path, 'base = "missing.toml"\n'))
    with pytest.raises(CirclesError, match="not valid TOML"):
        load_profile(write(tmp_path, "minutes = = 3\n", "broken.toml"))


def test_base_cycle_is_reported(tmp_path):
    write(tmp_path, 'base = "b.toml"\n', "a.toml")
    path = write(tmp_path, 'base = "a.toml"\n', "b.toml")
    with pytest.raises(CirclesError, match="leads back to itself"):
        load_profile(path)


def test_errors_are_value_errors(default):
    with pytest.raises(ValueError):
        default.match_category("")


def test_profiles_pickle_for_worker_processes():
    import pickle

    for name in ("15min", "gb50180", "rural"):
        p = load_profile(name)
        q = pickle.loads(pickle.dumps(p))
        assert q == p and q.category("elderly").tiers == p.category("elderly").tiers
        assert dict(q.age_shares) == dict(p.age_shares)
        with pytest.raises(TypeError):
            q.age_shares["pop_60plus"] = 0.5  # still read-only


# ---------------------------------------------------------------- need groups, rules as data, the seeds' systems

def test_need_groups_of_the_default_profile(default):
    assert default.category("elderly").groups == ("pop_60plus", "pop_80plus", "pop_disabled")
    assert default.category("meal").groups == ("pop_60plus", "pop_assistance")
    assert default.category("child").groups == ("pop_0_17",)
    assert [g.id for g in default.groups if g.step_free] == ["pop_80plus", "pop_disabled"]
    disabled = default.group("pop_disabled")
    assert disabled.share == pytest.approx(0.0634) and "6.34%" in disabled.source
    assert default.group("pop_60plus").label_zh == "60岁及以上老年人"  # built-in labels for the age columns
    assert load_profile("xian").category("child").groups == ("pop_0_17", "pop_0_3")
    with pytest.raises(CirclesError, match="no demand group 'pop_90plus'"):
        default.group("pop_90plus")


@pytest.mark.parametrize("toml, expected", [
    ('[groups.pop_90plus]\nlabel_zh = "x"', "unknown group 'pop_90plus'"),
    ('[groups.pop_80plus]\nshare = 0.03\nsource = ""', "a share needs its source"),
    ('[groups.pop_60plus]\nshare = 0.2\nsource = "x"', r"the share of pop_60plus is set in \[age_shares\]"),
    ('[categories.child]\ngroups = ["pop_0_17", "pop_teen"]', "'pop_teen' is not a demand group"),
    ('[groups.pop_0_3]\nshare = 0.03\nsource = "x"\nof = "pop_0_3"', "cannot be a share of itself"),
])
def test_invalid_groups(tmp_path, toml, expected):
    with pytest.raises(CirclesError, match=expected):
        load_profile(write(tmp_path, f'base = "15min"\n{toml}\n'))


def test_a_group_without_a_share_cannot_be_served(tmp_path):
    text = (builtin_profile_dir() / "15min.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    del data["groups"]["pop_80plus"]
    with pytest.raises(CirclesError, match=r"group 'pop_80plus' has no census share.*\[groups.pop_80plus\]"):
        profile_from_dict(data, source="x")


def test_rules_carry_id_scope_kind_and_citation(default):
    ids = [r.id for r in default.rules]
    assert ids == ["elderly_centre_per_street", "child_station_per_township", "elderly_area_per_100_households",
                   "elderly_lift"]
    centre, _, area, lift = default.rules
    assert (centre.scope, centre.kind, centre.tier, centre.substitutes) == ("street", "min_facilities", "centre", ())
    assert "每个城市街道办辖区至少建设1所" in centre.citation  # verbatim from the Xi'an seed
    assert (area.min_area_m2_per_100_households, area.min_area_m2_per_100_households_new) == (20, 30)
    assert "每百户不少于二十平方米" in area.citation  # verbatim from the Beilun seed
    assert (lift.kind, lift.scope) == ("lift", "facility") and "5.6.4" in lift.citation
    assert centre.source == centre.citation


def test_user_override_of_a_rule_is_marked(tmp_path):
    path = write(tmp_path, 'base = "15min"\n[rules.elderly_centre_per_street]\nmin_count = 2\n')
    rule = load_profile(path).rules[0]
    assert rule.min_count == 2 and rule.citation.startswith(f"{path} (user override; base: 西安市民政局")


def test_the_seeds_resolve_what_was_unverified():
    default = " ".join(load_profile("15min").unverified)
    assert "rules.elderly_centre_per_street" not in default  # Xi'an's one centre per street is quoted now
    assert "Ningbo Beilun source" not in default  # Beilun's 20 m² per 100 households is quoted now
    rural = " ".join(load_profile("rural").unverified)
    assert "Dianjiang" not in rural and "no citable text" not in rural
    assert not any("UNVERIFIED, no citable text retrieved" in s for s in load_profile("rural").sources)


@pytest.mark.parametrize("name, seed, tiers", [
    ("xian", "西安新闻广播", {"elderly": ["centre", "station", "embedded"]}),
    ("beilun", "北仑区民政局", {"elderly": ["centre", "station", "point"]}),
    ("ningxia", "宁夏", {"child": ["station", "home", "county", "city"]}),
])
def test_the_seeds_systems_as_profiles(name, seed, tiers):
    p = load_profile(name)
    assert p.id == name
    for cat, ids in tiers.items():
        assert [t.id for t in p.category(cat).tiers] == ids
    assert any(seed in r.citation for r in p.rules)
    # Ningxia's township workstations are a Ningxia rule, switched off in the other cities' profiles
    assert ("child_station_per_township" in [r.id for r in p.rules]) == (name == "ningxia")
    if name == "ningxia":
        target = next(r for r in p.rules if r.kind == "coverage_target")
        assert (target.scope, target.of_scope, target.min_share, target.deadline) == ("city", "county", 0.75,
                                                                                    "2024-12-31")
        assert "覆盖率达到75%" in target.citation
        rural = load_profile("rural").category("elderly").tier("centre")
        assert p.category("elderly").tier("centre").mode == rural.mode  # the rural tiers are issue 18's
    if name == "xian":
        complex_ = next(r for r in p.rules if r.kind == "integrated_facility")
        assert (complex_.min_area_m2, complex_.min_functions, complex_.min_core_functions) == (600, 3, 2)
        assert complex_.core_functions == ("elderly_care", "infant_care", "child_care", "meals")
        assert p.match_category("社区嵌入式服务综合体") == ("elderly", "embedded")
    if name == "beilun":
        assert p.match_category("居家养老服务网点") == ("elderly", "point")
