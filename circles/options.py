"""The options of a run, declared once: `circles analyze`, `circles batch` and the app all build a `RunOptions`.

Every field carries its command-line flag and its help text (Chinese first, then English) in
its metadata; `circles.cli` generates the click options of each command from these
declarations, and the app fills the same object from its widgets. A `RunOptions` holds only
plain values (paths as strings, numbers, flags), so it is hashable: the app caches on it and
batch workers receive it pickled.

Example
-------
>>> opts = RunOptions(sample=True, minutes=10)
>>> opts.validated().minutes
10.0
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields, replace
from typing import Any

from circles.errors import InputError

__all__ = ["RunOptions", "OptionSpec", "option_specs", "COORD_CHOICES", "LANGS", "WALK_MODES"]

COORD_CHOICES = ("wgs84", "gcj02", "bd09")
LANGS = ("zh", "en")
WALK_MODES = ("walk", "bike")

#: Commands that share an option: ``both`` = analyze and batch.
ANALYZE, BATCH = "analyze", "batch"
BOTH = (ANALYZE, BATCH)


@dataclass(frozen=True)
class OptionSpec:
    """How one `RunOptions` field appears on the command line.

    Attributes
    ----------
    flag
        The long flag, e.g. ``"--network"``.
    help_zh, help_en
        The help text, shown as ``"中文 / English"``.
    commands
        The commands that offer it (``"analyze"``, ``"batch"``).
    kind
        ``"text"``, ``"path"``, ``"float"``, ``"int"``, ``"flag"`` or ``"choice"``.
    choices
        For ``kind="choice"``.
    metavar
        Shown in the usage line.
    minimum, maximum, min_open
        Range checks of numbers (also checked by `RunOptions.validated`).
    """

    flag: str
    help_zh: str
    help_en: str
    commands: tuple[str, ...] = BOTH
    kind: str = "text"
    choices: tuple[str, ...] = ()
    metavar: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    min_open: bool = False

    @property
    def help(self) -> str:
        return f"{self.help_zh} / {self.help_en}"


def _opt(default: Any, flag: str, zh: str, en: str, **spec: Any) -> Any:
    return field(default=default, metadata={"spec": OptionSpec(flag, zh, en, **spec)})


@dataclass(frozen=True)
class RunOptions:
    """Everything a run can be given: data sources, analysis settings, site suggestions, outputs.

    Paths are strings (the app stores uploads under content-addressed paths, so equal options
    mean equal data). `validated` checks ranges and combinations before any long work.
    """

    # --- data -------------------------------------------------------------------------------
    network: str | None = _opt(
        None, "--network", "路网：OSM 文件（.osm/.osm.pbf/.osm.gz/.osm.bz2）、GraphML 或地名（需联网）",
        "OSM file (.osm/.osm.pbf/.osm.gz/.osm.bz2), GraphML file, or place name (online)", metavar="FILE|PLACE")
    sample: bool = _opt(False, "--sample", "使用内置示例区（合成数据）", "use the built-in synthetic sample district",
                        kind="flag")
    facilities: str | None = _opt(
        None, "--facilities", "设施台账（CSV/XLSX/GeoJSON/GPKG/SHP，中文表头）",
        "facility ledger (CSV/XLSX/GeoJSON/GPKG/SHP, Chinese headers)", kind="path", metavar="FILE")
    coords: str | None = _opt(
        None, "--coords", "台账坐标系：高德/腾讯 gcj02，百度 bd09，GPS/OSM wgs84；不给时按证据判断，不确定则报错",
        "coordinate system of the ledger (Amap/Tencent gcj02, Baidu bd09, GPS/OSM wgs84); when not given it is "
        "decided from evidence, or the run stops and asks", kind="choice", choices=COORD_CHOICES)
    population: str | None = _opt(
        None, "--population", "人口单元（小区等，CSV/XLSX/GeoJSON/GPKG/SHP）",
        "population units (compounds etc., CSV/XLSX/GeoJSON/GPKG/SHP)", kind="path", metavar="FILE")
    population_zones: str | None = _opt(
        None, "--population-zones", "分区人口总数（如各街道），分配到建筑或道路",
        "zones with population totals (e.g. per street), spread onto buildings or roads", kind="path",
        metavar="FILE")
    population_source: str | None = _opt(
        None, "--population-source", "人口数据来源（写入 summary.json 和地图署名），如 “WorldPop 2020, CC BY 4.0”",
        "where the population figures come from (summary.json, the map's attribution), e.g. \"WorldPop 2020, CC BY 4.0\"",
        metavar="TEXT")
    zone_population_col: str | None = _opt(
        None, "--zone-population-col", "--population-zones 的人口列", "population column of --population-zones",
        metavar="COL")
    districts: str | None = _opt(
        None, "--districts", "分区面（区县/街道），用于分区统计", "district polygons (区县/街道) for per-district figures",
        kind="path", metavar="FILE")
    district_col: str | None = _opt(
        None, "--district-col", "分区名称列；重名时用逗号连接多列，如 county,street",
        "name column of --districts; several joined by commas (county,street) when names repeat", metavar="COL")
    boundary: str | None = _opt(
        None, "--boundary", "研究范围面；只统计范围内居民，范围外道路和设施仍可服务",
        "study-area polygon; residents counted only inside, roads and facilities beyond still serve them",
        commands=(ANALYZE,), kind="path", metavar="FILE")
    # --- analysis ---------------------------------------------------------------------------
    profile: str = _opt(
        "15min", "--profile", "服务配置：内置名称（15min、gb50180、rural、xian、beilun、ningxia）或 TOML 文件",
        "service profile: built-in name (15min, gb50180, rural, xian, beilun, ningxia) or a TOML file")
    minutes: float | None = _opt(
        None, "--minutes", "统一的时间阈值（分钟），覆盖所有类别和层级", "one threshold (minutes) for every category and tier",
        kind="float", minimum=0.0, min_open=True)
    speed_kmh: float | None = _opt(
        None, "--speed-kmh", "统一步行速度（km/h，不计台阶等系数），用于与其他工具比较",
        "one plain walking speed (km/h) on every way, without way factors (for comparisons)", kind="float",
        minimum=0.0, min_open=True)
    mode: str = _opt("walk", "--mode", "步行层级使用的路网（驾车层级始终用道路）",
                     "network of the walking tiers (drive tiers always use roads)", kind="choice", choices=WALK_MODES)
    horizon_min: float = _opt(60.0, "--horizon-min", "报告时间的上限（分钟）", "report times up to this many minutes",
                              kind="float", minimum=0.0, min_open=True)
    buffer_m: float = _opt(1000.0, "--buffer-m", "范围外保留的路网宽度（米）", "network kept beyond the boundary (metres)",
                           kind="float", minimum=0.0)
    lang: str = _opt("zh", "--lang", "表格、地图和报告的语言", "language of tables, map and report", kind="choice",
                     choices=LANGS)
    strict: bool = _opt(False, "--strict", "有未使用的台账行、人口单元或分区时报错停止",
                        "stop with an error when any ledger row, population unit or district is not used", kind="flag")
    # --- site suggestions -------------------------------------------------------------------
    suggest: int | None = _opt(None, "--suggest", "每类建议新增 N 处（保留现有设施）",
                               "suggest N new sites per category (existing sites kept)", commands=(ANALYZE,),
                               kind="int", minimum=1)
    target_coverage: float | None = _opt(
        None, "--target-coverage", "或：达到该覆盖率所需最少新增点，如 0.9", "or: fewest new sites reaching this share, e.g. 0.9",
        commands=(ANALYZE,), kind="float", minimum=0.0, maximum=1.0, min_open=True)
    budget: float | None = _opt(None, "--budget", "或：总预算内的选址（需要候选点的成本列）",
                                "or: sites within this total budget (needs a cost column in --candidates)",
                                commands=(ANALYZE,), kind="float", minimum=0.0)
    capacitated: bool = _opt(False, "--capacitated", "每处最多服务其容量（需要容量列）",
                             "a site serves at most its capacity (needs a capacity column)", commands=(ANALYZE,),
                             kind="flag")
    candidates: str | None = _opt(
        None, "--candidates", "候选用房清单（表头同台账）；不给时沿缺口街道生成",
        "candidate premises (headers as the ledger); default: points along the streets of the gaps",
        commands=(ANALYZE,), kind="path", metavar="FILE")
    categories: tuple[str, ...] | None = _opt(
        None, "--categories", "选址的类别，逗号分隔（默认全部）", "category ids to suggest sites for, comma-separated (default: all)",
        commands=(ANALYZE,), metavar="IDS")
    time_limit_s: float = _opt(60.0, "--time-limit", "每类求解时间上限（秒）", "solver time limit per category (s)",
                               commands=(ANALYZE,), kind="float", minimum=0.0, min_open=True)
    # --- tiered siting under a budget (issue 18, part 4: circles.siting.suggest_tiered_sites) ------------------
    tiered: bool = _opt(False, "--tiered", "分级选址：同时选乡镇中心和村级点，村级点须在中心的车程内（配合 --budget 或 "
                        "--target-coverage）", "tiered siting: choose township centres and village points together, a "
                        "point only counting within the road time of a centre (with --budget or --target-coverage)",
                        commands=(ANALYZE,), kind="flag")
    link_minutes: float | None = _opt(
        None, "--link-minutes", "中心到村级点的最长车程（分钟），默认取中心层级的时间阈值",
        "most minutes from a centre to a village point by road; default the centre tier's threshold",
        commands=(ANALYZE,), kind="float", minimum=0.0, min_open=True)
    cost_new_yuan: float | None = _opt(
        None, "--cost-new", "新建一处的费用（元），默认 600000（西安 2024 新建社区养老服务站最高补助）",
        "cost of a new building (yuan); default 600000 (Xi'an 2024 subsidy for a new station, at most)",
        commands=(ANALYZE,), kind="float", minimum=0.0)
    cost_renovation_yuan: float | None = _opt(
        None, "--cost-renovation", "改造一处的费用（元），默认 300000（西安 2024 提升改造最高补助）",
        "cost of renovating a building (yuan); default 300000 (Xi'an 2024 subsidy for a renovation, at most)",
        commands=(ANALYZE,), kind="float", minimum=0.0)
    operating_yuan_per_year: float | None = _opt(
        None, "--operating-cost", "每处每年运营费用（元），默认 100000（西安 2024 运营补助 1.5万-10万元/年的上限）",
        "operating cost of a site per year (yuan); default 100000 (top of Xi'an's 15,000-100,000 a year)",
        commands=(ANALYZE,), kind="float", minimum=0.0)
    operating_years: float | None = _opt(
        None, "--operating-years", "预算中计入的运营年数，默认 0（预算只含一次性费用）",
        "years of operation counted in the budget; default 0 (the budget is the one-off cost)",
        commands=(ANALYZE,), kind="float", minimum=0.0)
    # --- end of tiered siting options -----------------------------------------------------------------------------
    # --- outputs ----------------------------------------------------------------------------
    figures_only: bool = _opt(False, "--figures-only", "只算指标：不绘制服务范围和地图（批处理、脚本）",
                              "figures only: no service areas and no map (for batch and scripts)", kind="flag")
    no_report: bool = _opt(False, "--no-report", "不写 Word 报告 report.docx（批处理时每个街道和全市都不写）",
                           "no Word report report.docx (in a batch: neither per district nor for the city)",
                           kind="flag")

    def validated(self, *, districts_given: bool = False) -> RunOptions:
        """These options with numbers as floats/ints, checked: ranges, choices and combinations.

        `districts_given`: district polygons come in memory (so ``--district-col`` needs no file).
        Raises `circles.errors.InputError` naming the option, the bad value and the fix.
        """
        changes: dict[str, Any] = {}
        for f in fields(self):
            spec: OptionSpec = f.metadata["spec"]
            value = getattr(self, f.name)
            if value is None:
                continue
            if spec.kind in ("float", "int"):
                value = _number(spec, value)
                changes[f.name] = value
            elif spec.kind == "choice" and value not in spec.choices:
                raise InputError(f"{spec.flag} {value!r} is not one of {', '.join(spec.choices)}; "
                                 f"e.g. {spec.flag} {spec.choices[0]}")
        if isinstance(self.categories, str):
            changes["categories"] = tuple(c.strip() for c in self.categories.split(",") if c.strip()) or None
        out = replace(self, **changes) if changes else self
        if out.sample == bool(out.network):
            raise InputError("give exactly one of --network FILE or --sample "
                             "(e.g. `circles analyze --sample --out out/sample`)")
        if out.population and out.population_zones:
            raise InputError("give either --population FILE (units) or --population-zones FILE (zone totals), not both")
        if out.population_zones and not out.zone_population_col:
            raise InputError("--population-zones needs --zone-population-col COL (the column with each zone's total)")
        if out.district_col and not out.districts and not out.sample and not districts_given:
            raise InputError("--district-col needs --districts FILE")
        if out.districts and not out.district_col:
            raise InputError(f"--districts {out.districts}: give --district-col COL (the column with the names)")
        siting = out.suggest is not None or out.target_coverage is not None or out.budget is not None
        if not siting and (out.candidates or out.categories or out.capacitated):
            raise InputError("--candidates/--categories/--capacitated need --suggest N, --target-coverage SHARE "
                             "or --budget AMOUNT")
        if sum(x is not None for x in (out.suggest, out.target_coverage, out.budget)) > 1:
            raise InputError("give one of --suggest N, --target-coverage SHARE or --budget AMOUNT")
        # --- tiered siting (issue 18, part 4) ---
        tiered_only = [f for f, v in (("--link-minutes", out.link_minutes), ("--cost-new", out.cost_new_yuan),
                                      ("--cost-renovation", out.cost_renovation_yuan),
                                      ("--operating-cost", out.operating_yuan_per_year),
                                      ("--operating-years", out.operating_years)) if v is not None]
        if tiered_only and not out.tiered:
            raise InputError(f"{', '.join(tiered_only)} only apply to tiered siting; add --tiered (with --budget "
                             "AMOUNT or --target-coverage SHARE)")
        if out.tiered and out.budget is None and out.target_coverage is None:
            raise InputError("--tiered needs --budget AMOUNT (yuan, e.g. --budget 3000000) or --target-coverage "
                             "SHARE (e.g. 0.9)")
        # --- end of tiered siting ---
        return out

    @property
    def wants_sites(self) -> bool:
        """True when site suggestions are asked for."""
        return self.suggest is not None or self.target_coverage is not None or self.budget is not None


def _number(spec: OptionSpec, value: Any) -> float | int:
    try:
        number = int(value) if spec.kind == "int" else float(value)
    except (TypeError, ValueError):
        raise InputError(f"{spec.flag} {value!r} is not a number; e.g. {spec.flag} "
                         f"{int(spec.minimum or 0) + 1 if spec.kind == 'int' else 15}") from None
    if spec.kind == "int" and float(value) != number:
        raise InputError(f"{spec.flag} {value!r} is not a whole number; e.g. {spec.flag} 5")
    if number != number or number in (float("inf"), float("-inf")):
        raise InputError(f"{spec.flag} {value!r} is not a finite number")
    low, high = spec.minimum, spec.maximum
    if low is not None and (number < low or (spec.min_open and number == low)):
        raise InputError(f"{spec.flag} {value!r} must be {'>' if spec.min_open else '>='} {low:g}")
    if high is not None and number > high:
        raise InputError(f"{spec.flag} {value!r} must be <= {high:g}")
    return number


def option_specs(command: str) -> list[tuple[str, OptionSpec, Any]]:
    """``(field name, spec, default)`` of every option the command offers, in declaration order."""
    out = []
    for f in fields(RunOptions):
        spec: OptionSpec = f.metadata["spec"]
        if command in spec.commands:
            out.append((f.name, spec, None if f.default is MISSING else f.default))
    return out
