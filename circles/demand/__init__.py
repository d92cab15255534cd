"""Population demand: units of residents with age groups, read from tables or spread from zone totals.

Every function returns a `Demand` (see `circles.demand.model`): one row per demand unit (a 小区,
a building, a stretch of road, a gate) with ``demand_id``, ``name``, ``lon``, ``lat`` (WGS84),
``population``, ``pop_60plus``, ``pop_0_17`` (people), ``district`` and a Point geometry, plus the
optional groups the file gives (``pop_80plus``, ``pop_disabled``, ``pop_dependent``, ``pop_home_visit`` ...;
`OPTIONAL_GROUPS`).

- `units`: `read_population` (CSV/XLSX/GIS files) and `demand_from_frame` (in-memory tables);
- `spread`: `spread_zone_totals`, street/township totals onto buildings, else roads;
- `buildings`: `estimate_from_buildings`, residents from floor area; the building weights;
- `apportion`: exact whole-people splits (largest remainder);
- `groups`: the need groups (80+, disabled, 特困/低保, 0–3): `complete_groups` estimates the missing
  ones from the profile's census shares and flags them (``estimated_<column>``);
- `values`: shared rules (column names `ALIASES`, counts, age shares, messages).
"""

from circles.demand.apportion import apportion
from circles.demand.buildings import DEFAULT_LEVELS, M2_PER_PERSON_DEFAULT, estimate_from_buildings
from circles.demand.groups import EXTRA_GROUPS, OPTIONAL_GROUPS, complete_groups, estimated_column, estimated_share
from circles.demand.model import AGE_COLUMNS, CENSUS_2020_AGE_SHARES, POPULATION_COLUMNS, Demand
from circles.demand.spread import spread_zone_totals
from circles.demand.units import demand_from_frame, read_population
from circles.demand.values import ALIASES

__all__ = [
    "AGE_COLUMNS", "ALIASES", "CENSUS_2020_AGE_SHARES", "DEFAULT_LEVELS", "EXTRA_GROUPS", "OPTIONAL_GROUPS", "Demand",
    "M2_PER_PERSON_DEFAULT", "POPULATION_COLUMNS", "apportion", "complete_groups", "demand_from_frame",
    "estimate_from_buildings", "estimated_column", "estimated_share", "read_population", "spread_zone_totals",
]
