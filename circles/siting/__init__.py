"""Siting: where new facilities should go — maximal coverage, set cover to a target, budgets and capacities.

Planners ask "we can afford N new stations (or must reach 90 % coverage): where?". This package
answers on walking times, for the people a category serves, with the existing facilities kept.
One module per stage:

1. **Candidates** (`circles.siting.candidates`): a premises list (community rooms 社区用房 /
   闲置用房, with optional ``cost``, ``capacity``, ``area_m2``), OSM buildings or amenities (a
   GeoDataFrame), or — when no list is given — points generated along the network near the gaps
   (`candidates_in_gaps`). Candidates outside ``within`` (the study area and the data) are left out.
2. **Coverage sets** (`coverage_sets`, from `circles.access`): one truncated shortest-path search
   from every candidate point (points on edges, exactly as `circles.access` measures), giving a
   sparse candidates × demand-units matrix: True where the walk is within the threshold.
3. **Model reduction** (`circles.siting.reduce`): demand units already covered, or that no
   candidate reaches, are dropped; units with identical coverage sets are merged (their demand
   summed); candidates whose coverage set is contained in another's (at no lower cost) are dropped.
4. **Greedy** (`circles.siting.greedy`): the lazy greedy, the MIP's warm start and the fallback
   for models beyond `MAX_MIP_NONZEROS` or when the solver fails, with an upper bound.
5. **Exact solving** (`circles.siting.mip`): a sparse MIP solved by HiGHS (highspy) or CBC
   (through PuLP), neither printing anything.
6. **The calls** (`circles.siting.api`): `suggest_sites` → `SitingResult` (the sites in greedy
   order with each one's marginal gain, coverage before and after, optimal flag, MIP gap, solver
   and time limit); `solve_mclp` / `solve_set_cover` → `Selection` on any coverage matrix.

Models
------
``mclp``
    Maximal covering: choose at most ``n_sites`` new sites maximising the newly covered demand.
``budget``
    The same with a cost per site and a total budget (optionally also at most ``n_sites``).
``set_cover``
    The fewest new sites that reach a target coverage share; among those, the placement that
    covers the most. When the candidates cannot reach the target, the best reachable share is
    reported (``target_met`` False) with the fewest sites that reach it.
Each can be *capacitated*: a site serves at most its ``capacity`` people of the demand group
(meal seats, beds); the assignment of people to sites respects it. A demand unit's people may
be split between sites (the assignment is fractional, the choice of sites is not).

Errors: `circles.errors.InputError` for bad candidate tables and options, `SolverError` when the
request cannot be solved (no usable candidate, more sites than candidates, a budget below every
cost, an unknown solver), `ExtentError` for an empty ``within``.

Example
-------
>>> from circles.siting import suggest_sites
>>> result = suggest_sites(report, net, premises, category="elderly", n_sites=5)  # doctest: +SKIP
>>> result.coverage_before, result.coverage_after  # doctest: +SKIP
(0.776, 0.912)
"""

from __future__ import annotations

from circles.access import CoverageSets, coverage_sets
from circles.siting.api import Selection, SitingResult, solve_mclp, solve_set_cover, suggest_sites
from circles.siting.candidates import (
    DEFAULT_SPACING_M,
    SitingTier,
    candidates_in_gaps,
    check_within,
    prepare_candidates,
    siting_tier,
    uncovered_demand,
)
from circles.siting.costs import XIAN_2024, XIAN_2024_SOURCE, SiteCosts
from circles.siting.mip import DEFAULT_TIME_LIMIT_S, MAX_MIP_NONZEROS, SOLVERS
from circles.siting.reduce import ReducedModel, reduce_model
from circles.siting.tiered import DEFAULT_CENTRE_SPACING_M, TieredSitingResult, suggest_tiered_sites
from circles.siting.tiered_model import TieredModel, reduce_tiered
from circles.siting.tiered_solve import TieredSelection, solve_tiered

__all__ = [
    "CoverageSets", "ReducedModel", "Selection", "SitingResult", "SitingTier",
    "coverage_sets", "reduce_model", "solve_mclp", "solve_set_cover",
    "candidates_in_gaps", "check_within", "prepare_candidates", "siting_tier", "suggest_sites", "uncovered_demand",
    "DEFAULT_SPACING_M", "DEFAULT_TIME_LIMIT_S", "MAX_MIP_NONZEROS", "SOLVERS",
    # tiered siting under a budget (issue 18, part 4)
    "SiteCosts", "TieredModel", "TieredSelection", "TieredSitingResult", "reduce_tiered", "solve_tiered",
    "suggest_tiered_sites", "DEFAULT_CENTRE_SPACING_M", "XIAN_2024", "XIAN_2024_SOURCE",
]
