"""The demand model: `Demand` (population units and how they were made) and the age groups.

Every function returns a `Demand`: one row per demand unit (a 小区, a building, a stretch of
road, a gate) with the canonical columns

``demand_id`` (str, unique), ``name``, ``lon``, ``lat`` (WGS84 degrees), ``population``,
``pop_60plus``, ``pop_0_17`` (people), ``district`` (the street/zone, when known) and a Point
``geometry`` in EPSG:4326,

plus a few columns that say how a unit was made (``basis``, ``floor_area_m2`` ...). Where an
age group is not given it is estimated from shares of the population (`CENSUS_2020_AGE_SHARES`
unless the caller passes its own) and `Demand.notes` says so.

Sources of the defaults
-----------------------
- China 2020 census (第七次全国人口普查公报): people aged 60+ are 18.70 % of the population.
- NBS/UNICEF/UNFPA, 《2020年中国儿童人口状况：事实与数据》 (2023): children aged 0–17 are
  2.98 亿, 21.1 % of the population.
- 《中国人口普查年鉴-2020》: urban households' per-capita housing floor area (住房建筑面积)
  36.52 m² (Beijing 33.41 m²); `circles.demand.buildings.M2_PER_PERSON_DEFAULT` = 35 m² lies between.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import geopandas as gpd

from circles.inputs.dropped import DroppedRow

__all__ = ["AGE_COLUMNS", "CENSUS_2020_AGE_SHARES", "GROUP_COLUMNS", "POPULATION_COLUMNS", "Demand"]

AGE_COLUMNS: tuple[str, ...] = ("pop_60plus", "pop_0_17")
POPULATION_COLUMNS: tuple[str, ...] = ("population", *AGE_COLUMNS)
#: Optional counts kept when a population file gives them (NaN where blank), never estimated here:
#: people aged 80+, disabled (失能/半失能) people and people on a home-visit list (探访对象), for
#: `circles.visits`.
GROUP_COLUMNS: tuple[str, ...] = ("pop_80plus", "pop_disabled", "pop_home_visit")

#: Shares of the population by age group, China 2020 census (see the module docstring).
CENSUS_2020_AGE_SHARES: Mapping[str, float] = MappingProxyType({"pop_60plus": 0.1870, "pop_0_17": 0.211})


@dataclass(frozen=True)
class Demand:
    """Demand units and how they were made.

    Attributes
    ----------
    units
        One row per demand unit, EPSG:4326 points, canonical columns (see the module
        docstring). Population columns are int64 (people) unless the source gave fractional
        counts, then float64.
    notes
        Plain-language remarks for the report: which columns were estimated and how, which
        zones could not be placed, what was assumed.
    source
        Where the numbers came from (a file name, or a description of the spreading).
    dropped
        One `circles.inputs.DroppedRow` per row of the source not used (a total row 合计, a
        template example row), in row order; see `circles.inputs.format_dropped`.
    """

    units: gpd.GeoDataFrame
    notes: tuple[str, ...] = ()
    source: str = ""
    dropped: tuple[DroppedRow, ...] = ()

    def __len__(self) -> int:
        return len(self.units)

    @property
    def total_population(self) -> float:
        """Sum of ``population`` over all units (people)."""
        return _as_number(self.units["population"].sum())

    def totals(self) -> dict[str, float]:
        """Sum of each population column (people), e.g. ``{"population": 1200, ...}``."""
        return {c: _as_number(self.units[c].sum()) for c in POPULATION_COLUMNS}


def _as_number(x: Any) -> float:
    return x.item() if hasattr(x, "item") else x
