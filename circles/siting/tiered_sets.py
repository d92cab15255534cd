"""The tiers of tiered siting, their networks, and what the existing sites cover and link.

Coverage follows `circles.coverage.assess`: each tier by its mode (road speeds by class for a
drive tier, else the tier's walking or cycling speed), existing sites serving from their nearest
street point. The link from a centre to a point runs on the centre tier's network and mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import sparse

from circles.access import CoverageSets, coverage_sets
from circles.errors import InputError
from circles.siting.candidates import SitingTier, siting_tier
from network.compact import CompactNetwork, Snap

if TYPE_CHECKING:
    from circles.coverage import CoverageReport

__all__ = ["ExistingSites", "ModelTiers", "covers_within", "existing_sites", "link_sets", "model_tiers",
           "on_network", "snap_points", "tier_network"]


# ============================================================================ the tiers and their networks
@dataclass(frozen=True)
class ModelTiers:
    """The tiers of a tiered model and the network of each.

    Attributes
    ----------
    centre
        The centre tier with its threshold and speed (None: the category has one tier, and
        points need no link).
    point
        The point tier.
    link
        The centre tier with the link minutes as its threshold: the mode, speed and edge costs
        of the trip from a centre to a point (None without centres).
    centre_net, point_net, link_net
        The network of each (the link runs on the centre tier's).
    nets
        Every network given, by mode (sites of a third tier use theirs).
    """

    centre: SitingTier | None
    point: SitingTier
    link: SitingTier | None
    centre_net: CompactNetwork | None
    point_net: CompactNetwork
    link_net: CompactNetwork | None
    nets: Mapping[str, CompactNetwork]

    def record(self) -> dict[str, dict[str, Any] | None]:
        """Per role (``centre``, ``point``, ``link``): tier id, mode, minutes, speed (km/h; None by road)."""
        def one(st: SitingTier | None) -> dict[str, Any] | None:
            if st is None:
                return None
            return {"tier": st.tier.id, "mode": st.mode, "minutes": round(st.minutes, 3),
                    "speed_kmh": None if st.by_road else st.speed_kmh}

        out = {"centre": one(self.centre), "point": one(self.point), "link": one(self.link)}
        if out["link"] is not None:
            out["link"]["direction"] = "centre → point"
        return out


def tier_network(nets: Mapping[str, CompactNetwork], st: SitingTier, category: str) -> CompactNetwork:
    """The network of the tier's mode among `nets`; `InputError` naming the mode when it is missing."""
    net = nets.get(st.mode)
    if net is None:
        raise InputError(f"tier {st.tier.id!r} of category {category!r} is reached by {st.mode}, and no {st.mode} "
                         f"network was given (have: {', '.join(nets) or 'none'}); pass nets={{'{st.mode}': ...}} as "
                         "circles.coverage.assess takes them")
    return net


def model_tiers(report: CoverageReport, nets: Mapping[str, CompactNetwork], category: str, centre_tier: str | None,
                point_tier: str | None, link_minutes: float | None) -> ModelTiers:
    """The tiers of the model, read from the profile, and the link.

    Parameters
    ----------
    report
        The `circles.coverage.CoverageReport` (its profile and plain speed).
    nets
        The networks by mode.
    category
        The category, e.g. ``"elderly"``.
    centre_tier, point_tier
        Tier ids; default the category's first tier (centres) and last tier (points).
    link_minutes
        Most minutes from a centre to a point by the centre tier's mode; default the centre
        tier's threshold.

    Raises
    ------
    InputError
        Equal tiers, a bad `link_minutes`, a missing network.
    """
    cat = report.profile.category(category)
    point = siting_tier(report, category, point_tier, roads=True)
    if centre_tier is None and len(cat.tiers) < 2:  # no centres: points need no link (link_minutes unused)
        return ModelTiers(None, point, None, None, tier_network(nets, point, category), None, nets)
    centre = siting_tier(report, category, centre_tier or cat.tiers[0].id, roads=True)
    if centre.tier.id == point.tier.id:
        raise InputError(f"centre_tier and point_tier are both {point.tier.id!r}; give two tiers of category "
                         f"{category!r} ({', '.join(t.id for t in cat.tiers)})")
    if link_minutes is not None and not (np.isfinite(link_minutes) and link_minutes > 0):
        raise InputError(f"link_minutes is {link_minutes}; give the most minutes from a centre to its points "
                         f"by {centre.mode} (> 0), e.g. 20")
    link = SitingTier(centre.tier, float(link_minutes if link_minutes is not None else centre.minutes),
                      centre.speed_kmh, centre.way_factors)
    centre_net = tier_network(nets, centre, category)
    return ModelTiers(centre, point, link, centre_net, tier_network(nets, point, category), centre_net, nets)


# ============================================================================ points and coverage
def on_network(snap: Snap) -> Snap:
    """The snap with every point on the network: a site serves from its nearest street point, however far,
    as `circles.coverage.assess` counts existing facilities."""
    return Snap(snap.edge, snap.offset_m, snap.fraction, snap.distance_m, snap.x, snap.y,
                np.zeros(len(snap), dtype=bool), snap.max_distance_m)


def snap_points(net: CompactNetwork, lon: Any, lat: Any, snap_max_m: float) -> Snap:
    """WGS84 points snapped onto `net`; farther than `snap_max_m` metres they are ``off_network``."""
    return net.snap(*net.to_xy(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)), max_distance_m=snap_max_m)


def covers_within(net: CompactNetwork, st: SitingTier, sites: Snap, units: Snap) -> sparse.csr_matrix:
    """Sites × units (CSR, boolean): the unit lies within the tier's threshold of the site, by its mode."""
    return coverage_sets(net, sites, units, st.edge_cost(net), threshold_s=st.minutes * 60.0).covers


def link_sets(t: ModelTiers, centres: pd.DataFrame, points: pd.DataFrame, snap_max_m: float) -> CoverageSets:
    """Centres × points within the link time, from the centre to the point by the centre tier's mode.

    Both join the road at their nearest road point (as existing sites serve in the assessment).
    """
    net = t.link_net
    c = on_network(snap_points(net, centres["lon"], centres["lat"], snap_max_m))
    p = on_network(snap_points(net, points["lon"], points["lat"], snap_max_m))
    return coverage_sets(net, c, p, t.link.edge_cost(net), threshold_s=t.link.minutes * 60.0)


# ============================================================================ the existing sites
@dataclass(frozen=True)
class ExistingSites:
    """What the existing sites of a category cover under the tiered rule.

    Attributes
    ----------
    before
        Per counted unit: covered before — within reach of an existing centre (or a site of a
        third tier), or of an existing point a centre links.
    any_tier
        Per counted unit: within reach of any existing site (the assessment's rule).
    centres, points
        The existing centres and points (rows of ``report.facilities``).
    point_covers
        Existing points × counted units (CSR, boolean).
    free
        Per existing point: an existing centre links it.
    """

    before: np.ndarray
    any_tier: np.ndarray
    centres: pd.DataFrame
    points: pd.DataFrame
    point_covers: sparse.csr_matrix
    free: np.ndarray


def existing_sites(report: CoverageReport, category: str, t: ModelTiers, units: pd.DataFrame,
                   snap_max_m: float) -> ExistingSites:
    """Coverage of the existing sites of `category` (each tier by its mode) and which points are linked.

    Parameters
    ----------
    report
        The `circles.coverage.CoverageReport`; its ``facilities`` are the existing sites
        (``tier`` blank: the category's last tier, as in the assessment).
    category
        The category.
    t
        The model's tiers (`model_tiers`).
    units
        The counted demand units (``lon``, ``lat``).
    snap_max_m
        Units farther than this from a tier's network are not reached by it (metres).
    """
    fac = report.facilities
    cat = report.profile.category(category)
    mine = fac[(fac["category"] == category).to_numpy()] if "category" in fac else fac.iloc[:0]
    tier_of = (mine["tier"].where(mine["tier"].notna(), cat.tiers[-1].id) if "tier" in mine
               else pd.Series(cat.tiers[-1].id, index=mine.index)).to_numpy()
    lon, lat = units["lon"].to_numpy(float), units["lat"].to_numpy(float)
    any_tier = np.zeros(len(units), dtype=bool)
    before = np.zeros(len(units), dtype=bool)
    point_covers = sparse.csr_matrix((0, len(units)), dtype=bool)
    for tier in cat.tiers:
        here = mine[tier_of == tier.id]
        if not len(here):
            continue
        st = siting_tier(report, category, tier.id, roads=True)
        net = tier_network(t.nets, st, category)
        sites = on_network(snap_points(net, here["lon"], here["lat"], snap_max_m))
        cov = covers_within(net, st, sites, snap_points(net, lon, lat, snap_max_m))
        hit = np.zeros(len(units), dtype=bool)
        hit[cov.indices] = True
        any_tier |= hit
        if tier.id == t.point.tier.id:
            point_covers = cov
        else:  # centres, and sites of other tiers, count without a link
            before |= hit
    centres = mine[tier_of == t.centre.tier.id] if t.centre is not None else mine.iloc[:0]
    points = mine[tier_of == t.point.tier.id]
    free = np.ones(len(points), dtype=bool)
    if t.centre is not None and len(points):
        free = np.asarray(link_sets(t, centres, points, snap_max_m).covers.sum(axis=0)).ravel() > 0
    if len(points):
        before[point_covers[np.flatnonzero(free)].indices] = True
    return ExistingSites(before, any_tier, centres, points, point_covers, free)
