"""Services that travel to people: meals driven from central kitchens, staff visiting homes.

`circles.delivery` times every meal point from its nearest central kitchen, `circles.visits`
every demand unit from its nearest station (what both share: `circles.outreach_base`). This
module puts both into one `Outreach` per analysis (`assess_outreach`), which summary.json, the
files, the workbook, the report and the map show (`circles.outputs.outreach`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from circles.delivery import meal_delivery
from circles.profiles import KITCHEN_CATEGORY
from circles.visits import home_visits

__all__ = ["Outreach", "assess_outreach"]


@dataclass(frozen=True)
class Outreach:
    """Meal delivery from central kitchens and home-visit reach of one analysis (either may not apply).

    Attributes
    ----------
    delivery
        `circles.delivery.DeliveryResult`, or None (the profile has no ``[delivery]`` or the ledger
        lists no central kitchen).
    visits
        `circles.visits.HomeVisitResult`, or None (the profile has no ``[home_visits]``).
    """

    delivery: Any = None
    visits: Any = None

    def figures(self) -> dict[str, Any]:
        """summary.json's ``delivery`` and ``home_visits`` (each key only when it applies)."""
        out: dict[str, Any] = {}
        if self.delivery is not None:
            out["delivery"] = self.delivery.figures()
        if self.visits is not None:
            out["home_visits"] = self.visits.figures()
        return out


def assess_outreach(report: Any, nets: Mapping[str, Any], *, area: Any = None) -> Outreach:
    """Meal delivery and home visits for one analysis.

    Parameters
    ----------
    report
        The `circles.coverage.CoverageReport` (its profile, facilities and demand).
    nets
        The analysis's networks by mode (as `circles.pipeline.analyse` builds them).
    area
        The area analysed (WGS84 polygon, e.g. a batch district) or None: only its meal points are
        listed (home visits count the report's ``inside`` units already).

    Returns
    -------
    Outreach
        Delivery when the profile has ``[delivery]`` and the ledger lists central kitchens; home
        visits when the profile has ``[home_visits]``.
    """
    profile = report.profile
    delivery = visits = None
    if profile.delivery is not None and "category" in report.facilities \
            and (report.facilities["category"] == KITCHEN_CATEGORY).any():
        delivery = meal_delivery(nets, report.facilities, profile, area=area)
    if profile.home_visits is not None:
        visits = home_visits(nets, report.facilities, report.demand, profile)
    return Outreach(delivery=delivery, visits=visits)
