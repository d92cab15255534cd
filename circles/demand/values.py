"""Shared rules of the demand readers: column names, counts of people, age shares, messages."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from circles.demand.model import AGE_COLUMNS, CENSUS_2020_AGE_SHARES
from circles.errors import InputError
from circles.inputs.text import norm_header, number_text

__all__ = [
    "ALIASES", "MAX_LISTED", "age_note", "all_whole", "check_age_shares", "check_gdf", "clean_text", "fmt_number",
    "has_geometry", "is_real", "list_columns", "parse_numbers", "problem_message", "resolve_columns",
]

MAX_LISTED = 5  # bad values quoted in one error message

#: Column aliases (compared after `circles.inputs.norm_header`): Chinese ledger headers and English names.
ALIASES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "demand_id": ("demand_id", "id", "编号", "小区编号", "unit_id"),
    "name": ("name", "名称", "小区名称", "小区", "行政村", "村名", "村名称", "村庄", "村庄名称"),
    "lon": ("lon", "lng", "x", "经度", "longitude"),
    "lat": ("lat", "y", "纬度", "latitude"),
    "population": ("population", "pop", "常住人口", "总人口", "人口", "人口数", "常住人口数"),
    "pop_60plus": (
        "pop_60plus", "60+", "60岁以上", "60岁及以上", "60岁以上人口", "60岁及以上人口",
        "老年人口", "老年人",
    ),
    "pop_0_17": (
        "pop_0_17", "0-17岁", "0～17岁", "0-17岁人口", "未成年人", "未成年人口", "儿童", "儿童人口",
    ),
    "district": ("district", "所属街道", "街道", "街道乡镇", "乡镇街道", "街乡", "乡镇", "所属乡镇"),
    "households": ("households", "户数", "总户数", "住户数", "家庭户数"),
    "pop_80plus": ("pop_80plus", "80+", "80岁以上", "80岁及以上", "80岁以上人口", "80岁及以上人口", "高龄老人",
                   "高龄老年人"),
    "pop_disabled": ("pop_disabled", "disabled", "残疾人", "残疾人口", "残疾人数", "持证残疾人"),
    "pop_assistance": ("pop_assistance", "特困/低保", "特困低保", "低保特困", "特困和低保", "低保和特困", "低保及特困",
                       "特困及低保", "特困人员和低保对象", "低保对象和特困人员", "低保", "低保人数", "低保对象"),
    "pop_0_3": ("pop_0_3", "0-3岁", "0～3岁", "0-3岁人口", "0-3岁婴幼儿", "3岁以下", "3岁以下婴幼儿", "婴幼儿",
                "婴幼儿人数"),
    "community": ("community", "社区", "所属社区", "社区名称", "居委会", "村委会", "社区(村)"),
    "area_type": ("area_type", "新建/既有", "新建既有", "新老小区", "区域类型", "小区类型", "建设类型", "新建或既有"),
    # for home visits (`circles.visits`): kept when given, never estimated
    "pop_dependent": ("pop_dependent", "失能", "失能老人", "失能老年人", "失能半失能", "失能半失能老人",
                      "失能半失能老年人", "失能人数"),
    "pop_home_visit": ("pop_home_visit", "探访对象", "探访关爱对象", "上门服务对象", "居家上门服务对象",
                       "特殊困难老年人"),
})


_ALIAS_INDEX: dict[str, str] = {norm_header(a): canon for canon, names in ALIASES.items() for a in names}


def resolve_columns(frame: pd.DataFrame, source_name: str, only: Sequence[str] | None = None) -> dict[str, str]:
    """{canonical column: the frame's column} by `ALIASES`; two columns naming one is an `InputError`."""
    found: dict[str, str] = {}
    geom_name = frame.geometry.name if has_geometry(frame) else None
    for col in frame.columns:
        if col == geom_name:
            continue
        canon = _ALIAS_INDEX.get(norm_header(col))
        if canon is None or (only is not None and canon not in only):
            continue
        if canon in found:
            raise InputError(
                f"{source_name}: columns '{found[canon]}' and '{col}' both look like the {canon} column; "
                "rename or drop one"
            )
        found[canon] = col
    return found


def has_geometry(frame: pd.DataFrame) -> bool:
    """True for a GeoDataFrame with an active geometry column."""
    if not isinstance(frame, gpd.GeoDataFrame):
        return False
    try:
        frame.geometry
    except AttributeError:  # a GeoDataFrame without an active geometry column
        return False
    return True


def parse_numbers(
    series: pd.Series, col: str, where: Callable[[int], str], problems: list[str], *, blank_ok: bool,
) -> np.ndarray:
    """Counts of people (≥ 0) from cells: numbers, ``"1,234"``, full-width digits; NaN where blank.

    Every bad cell appends a message to `problems` (``where(i)`` names the row); a blank cell
    does too unless `blank_ok`.
    """
    out = np.full(len(series), np.nan)
    for i, v in enumerate(series.to_numpy(dtype=object)):
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT:
            if not blank_ok:
                problems.append(f"{where(i)} column '{col}': value is blank; fill in the number of people")
            continue
        if isinstance(v, (bool, np.bool_)):
            f = math.nan
        elif isinstance(v, (int, float, np.integer, np.floating)):
            f = float(v)
        else:
            text = number_text(v)
            if not text:
                if not blank_ok:
                    problems.append(f"{where(i)} column '{col}': value is blank; fill in the number of people")
                continue
            try:
                f = float(text)
            except ValueError:
                f = math.nan
        if not math.isfinite(f):
            problems.append(f"{where(i)} column '{col}': {v!r} is not a number; write the count of people as digits")
        elif f < 0:
            problems.append(f"{where(i)} column '{col}': {v!r} is negative; counts of people must be ≥ 0")
        else:
            out[i] = f
    return out


def check_age_shares(age_shares: Mapping[str, float] | None) -> dict[str, float]:
    """The shares per age column: `CENSUS_2020_AGE_SHARES` updated with `age_shares` (validated)."""
    shares = dict(CENSUS_2020_AGE_SHARES)
    if age_shares is None:
        return shares
    if not isinstance(age_shares, Mapping):
        raise InputError(
            f"age_shares {age_shares!r} is not a mapping; pass e.g. {{'pop_60plus': 0.187, 'pop_0_17': 0.211}}"
        )
    for key, value in age_shares.items():
        if key not in AGE_COLUMNS:
            raise InputError(f"age_shares: unknown key {key!r}; use {' or '.join(AGE_COLUMNS)}")
        if not is_real(value) or not 0 <= value <= 1:
            raise InputError(
                f"age_shares[{key!r}] = {value!r} is not a share in [0, 1]; give a fraction, e.g. 0.187 for 18.7 %"
            )
        shares[key] = float(value)
    if sum(shares.values()) > 1:
        raise InputError(
            f"age_shares {shares} add up to more than 1; 60+ and 0-17 are disjoint shares of one population"
        )
    return shares


def age_note(
    age: str, n_missing: int, n_total: int, share: float, age_shares: Mapping[str, float] | None,
    source_name: str, *, column: str | None = None, unit_word: str = "units",
) -> str:
    """The note saying an age column was estimated: for how many units, with which share and from where."""
    label = {"pop_60plus": "60+", "pop_0_17": "0-17"}[age]
    origin = (
        "share given by the caller"
        if age_shares is not None and age in age_shares
        else "China 2020 census share"
    )
    scope = (
        f"all {n_total} {unit_word}" if n_missing == n_total
        else f"{n_missing} of {n_total} {unit_word} (blank cells)"
    )
    what = f"no {label} column" if column is None else f"column '{column}' is blank in places"
    return f"{source_name}: {what}; {age} estimated for {scope} as {share:.2%} of the population ({origin})"


def is_real(v: object) -> bool:
    """A real number that is not a bool."""
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


def clean_text(v: object) -> str | None:
    """A cell as stripped text, None when empty; whole floats lose their ``.0`` (ids read from Excel)."""
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))  # ids read from Excel as 12.0
    text = str(v).strip()
    return text or None


def all_whole(a: np.ndarray) -> bool:
    """True when every value is a finite whole number (counts of people kept as int64)."""
    a = np.asarray(a, dtype=np.float64)
    return bool(np.all(np.isfinite(a)) and np.all(a == np.floor(a)) and np.all(np.abs(a) < 2**53))


def fmt_number(x: float) -> str:
    """``"12"`` for whole numbers, ``"12.5"`` otherwise."""
    return f"{x:g}" if not float(x).is_integer() else f"{int(x)}"


def list_columns(frame: pd.DataFrame) -> str:
    """The frame's columns for a message: ``"['a', 'b', ...]"`` (at most 12)."""
    cols = [str(c) for c in frame.columns]
    shown = ", ".join(repr(c) for c in cols[:12])
    return f"[{shown}{', ...' if len(cols) > 12 else ''}]"


def problem_message(source_name: str, problems: list[str]) -> str:
    """One line gathering bad values: ``"pop.csv: 4 bad values: ...; and 1 more"``."""
    shown = "; ".join(problems[:MAX_LISTED])
    more = f"; and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
    plural = "s" if len(problems) > 1 else ""
    return f"{source_name}: {len(problems)} bad value{plural}: {shown}{more}"


def check_gdf(gdf: Any, what: str) -> None:
    """`InputError` unless `gdf` is a GeoDataFrame with a CRS."""
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError(f"{what}: expected a GeoDataFrame, got {type(gdf).__name__}; read it with geopandas")
    if gdf.crs is None:
        raise InputError(f"{what}: has no CRS; set one first, e.g. {what}.set_crs('EPSG:4326')")
