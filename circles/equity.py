"""One-stop access and equity: who reaches every service, how unevenly access is shared, who is left furthest behind.

- `one_stop`: the people (of a demand column, default all residents) who have every category of a
  set within its threshold, in all and per district; `one_stop_units` the units as a map layer.
- `weighted_gini`: the population-weighted Gini coefficient of the minutes to the nearest
  facility, ``G = Σi Σj wi wj |xi − xj| / (2 W² μ)``, computed in O(n log n) by sorting; units
  beyond the horizon count as the horizon.
- `equity`: per category the Gini, the share of people with no facility within the horizon and
  the ten districts with most uncovered people; `lorenz_curve` the curve
  (`circles.outputs.pictures.lorenz_png` draws it).
- `summary_sections`: the summary.json ``one_stop``, ``equity`` and ``groups`` sections.

Example
-------
>>> float(weighted_gini([0.0, 10.0], [1.0, 1.0]))  # two people: one at 0, one at 10 minutes
0.5
>>> float(weighted_gini([5.0, 5.0, 5.0], [1.0, 2.0, 3.0]))
0.0
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from circles.demand.groups import estimated_share
from circles.errors import CirclesError

log = logging.getLogger(__name__)

__all__ = ["WORST_DISTRICTS", "Equity", "OneStop", "equity", "lorenz_curve", "minutes_and_weights",
           "one_stop", "one_stop_units", "summary_sections", "weighted_gini"]

#: How many districts `equity` lists as the worst served (most uncovered people).
WORST_DISTRICTS = 10

# ============================================================================ one-stop
@dataclass(frozen=True)
class OneStop:
    """People who reach every category of `categories` within its threshold.

    Attributes
    ----------
    categories
        The categories that must all be in reach.
    demand_column
        Whose people are counted (``population`` by default).
    demand_total, demand_covered
        People counted in the study area, and those with every category in reach.
    districts
        Per district: ``demand_total``, ``demand_covered``, ``coverage`` (empty without districts).
    estimated
        Share (0–1) of `demand_column`'s people whose number was estimated (not given).
    """

    categories: tuple[str, ...]
    demand_column: str
    demand_total: float
    demand_covered: float
    districts: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    estimated: float = 0.0

    @property
    def coverage(self) -> float:
        return self.demand_covered / self.demand_total if self.demand_total > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """summary.json ``one_stop``."""
        return {"categories": list(self.categories), "demand_column": self.demand_column,
                "demand_total": self.demand_total, "demand_covered": self.demand_covered,
                "coverage": round(self.coverage, 6), "estimated": self.estimated,
                "districts": {k: dict(v) for k, v in self.districts.items()}}


def _one_stop_mask(report: Any, categories: Sequence[str] | None) -> tuple[tuple[str, ...], np.ndarray]:
    cats = tuple(categories) if categories else tuple(c.category for c in report.categories)
    for c in cats:
        report.category(c)  # unknown ids: one line listing the valid ones
    d = report.demand
    covered = np.ones(len(d), dtype=bool)
    for c in cats:
        covered &= d[f"covered_{c}"].to_numpy(bool)
    return cats, covered


def _weights(report: Any, column: str) -> np.ndarray:
    d = report.demand
    if column not in d:
        raise CirclesError(f"the demand units have no {column!r} column; choose population or a group the "
                           "profile counts (e.g. pop_60plus)")
    inside = d["inside"].to_numpy(bool) if "inside" in d else np.ones(len(d), bool)
    w = d[column].to_numpy(float)
    return np.where(inside & np.isfinite(w), w, 0.0)


def one_stop(report: Any, *, categories: Sequence[str] | None = None, demand_column: str = "population") -> OneStop:
    """The share of people with every category of `categories` (default: all) within its threshold.

    Parameters
    ----------
    report
        A `circles.coverage.CoverageReport`.
    categories
        Category ids that must all be in reach; default every category of the profile.
    demand_column
        The people counted: ``population`` (default), ``pop_60plus`` ...

    Returns
    -------
    OneStop
        In all, and per district when the report has districts.
    """
    cats, covered = _one_stop_mask(report, categories)
    w = _weights(report, demand_column)
    per: dict[str, dict[str, float]] = {}
    names = getattr(report, "unit_districts", None)
    if names is not None and report.districts is not None:
        for name in dict.fromkeys(report.districts["district"]):
            m = names == name
            total, got = float(w[m].sum()), float(w[m & covered].sum())
            per[str(name)] = {"demand_total": total, "demand_covered": got,
                              "coverage": round(got / total, 6) if total > 0 else 0.0}
    inside = report.demand["inside"].to_numpy(bool) if "inside" in report.demand else np.ones(len(w), bool)
    est = round(estimated_share(report.demand[inside], demand_column), 4) if demand_column in report.demand else 0.0
    return OneStop(cats, demand_column, float(w.sum()), float(w[covered].sum()), per, est)


def one_stop_units(report: Any, *, categories: Sequence[str] | None = None,
                   demand_column: str = "population") -> gpd.GeoDataFrame:
    """The one-stop map layer: each residential unit in the study area, whether it reaches every category.

    Columns: ``demand_id``, ``name`` (when known), `demand_column`, ``one_stop`` (every category
    in reach), ``reached`` (how many of them are), ``missing_zh``/``missing_en`` (the categories out
    of reach, by label) and the point ``geometry`` (WGS84). Draw ``one_stop`` True/False in two
    colours, sized by the people.
    """
    cats, covered = _one_stop_mask(report, categories)
    d = report.demand
    inside = d["inside"].to_numpy(bool) if "inside" in d else np.ones(len(d), bool)
    reach = {c: d[f"covered_{c}"].to_numpy(bool) for c in cats}
    res = {c: report.category(c) for c in cats}
    missing_zh = ["、".join(res[c].label_zh for c in cats if not reach[c][i]) for i in range(len(d))]
    missing_en = [", ".join(res[c].label_en for c in cats if not reach[c][i]) for i in range(len(d))]
    layer = pd.DataFrame({
        "demand_id": d["demand_id"] if "demand_id" in d else np.arange(len(d)).astype(str),
        **({"name": d["name"]} if "name" in d else {}),
        demand_column: _weights(report, demand_column),
        "one_stop": covered, "reached": np.sum([reach[c] for c in cats], axis=0).astype(int) if cats else 0,
        "missing_zh": missing_zh, "missing_en": missing_en,
    }, index=d.index)
    return gpd.GeoDataFrame(layer[inside], geometry=d.geometry[inside], crs="EPSG:4326").reset_index(drop=True)


# ============================================================================ equity
def weighted_gini(values: Sequence[float] | np.ndarray, weights: Sequence[float] | np.ndarray) -> float:
    """The weighted Gini coefficient ``Σi Σj wi wj |xi − xj| / (2 W² μ)`` in O(n log n).

    Sorted by `values`, the double sum is ``2 Σj wj (xj Sj − Tj)`` with ``Sj``, ``Tj`` the sums of
    ``w`` and ``w x`` over the values before ``j``. 0 when everyone has the same value (or μ = 0);
    NaN when the weights sum to 0.

    Parameters
    ----------
    values
        One value per unit (e.g. minutes to the nearest facility), finite and ≥ 0.
    weights
        People per unit (≥ 0).
    """
    x = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    keep = w > 0
    x, w = x[keep], w[keep]
    total = float(w.sum())
    if total <= 0:
        return float("nan")
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    wx = w * x
    mass = float(wx.sum())
    if mass <= 0:
        return 0.0
    before_w = np.cumsum(w) - w
    before_wx = np.cumsum(wx) - wx
    return float(np.sum(w * (x * before_w - before_wx)) / (total * mass))


def lorenz_curve(values: Sequence[float] | np.ndarray, weights: Sequence[float] | np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The Lorenz curve of `values` weighted by `weights`: cumulative shares of people and of the values.

    People are taken from the shortest to the longest value; both arrays start at 0 and end at 1.
    Twice the area between the curve and the diagonal is `weighted_gini`.
    """
    x = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    keep = w > 0
    order = np.argsort(x[keep], kind="stable")
    x, w = x[keep][order], w[keep][order]
    people = np.concatenate([[0.0], np.cumsum(w)])
    amount = np.concatenate([[0.0], np.cumsum(w * x)])
    people = people / people[-1] if people[-1] > 0 else people
    amount = amount / amount[-1] if amount[-1] > 0 else people
    return people, amount


@dataclass(frozen=True)
class Equity:
    """How evenly one category's access is shared among its people.

    Attributes
    ----------
    category, demand_column
        The category and the people weighed (its demand column).
    gini
        Population-weighted Gini of the minutes to the nearest facility (beyond the horizon: the horizon).
    zero_access_share
        Share of the people with no facility within the horizon.
    mean_minutes
        People-weighted mean of those minutes.
    worst_districts
        The districts with most uncovered people (at most `WORST_DISTRICTS`), most first:
        ``district``, ``uncovered``, ``demand_total``, ``coverage``.
    """

    category: str
    demand_column: str
    gini: float
    zero_access_share: float
    mean_minutes: float
    worst_districts: tuple[Mapping[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """summary.json ``equity.<category>``."""
        return {"demand_column": self.demand_column, "gini": _round(self.gini), "zero_access_share":
                _round(self.zero_access_share), "mean_minutes": _round(self.mean_minutes),
                "worst_districts": [dict(d) for d in self.worst_districts]}


def _round(v: float) -> float | None:
    return None if v is None or not np.isfinite(v) else round(float(v), 6)


def minutes_and_weights(report: Any, category: str) -> tuple[np.ndarray, np.ndarray]:
    """Minutes to the nearest facility (beyond the horizon: the horizon) and people, of the units in the study area."""
    res = report.category(category)
    d = report.demand
    w = _weights(report, res.demand_column)
    minutes = d[f"minutes_{category}"].to_numpy(float)
    horizon = float(report.horizon_min)
    x = np.where(np.isfinite(minutes), np.minimum(minutes, horizon), horizon)
    keep = w > 0
    return x[keep], w[keep]


def equity(report: Any, *, n_worst: int = WORST_DISTRICTS) -> dict[str, Equity]:
    """Per category: the Gini of the minutes, the share without access and the worst-served districts.

    Examples
    --------
    >>> figures = equity(report)  # doctest: +SKIP
    >>> figures["elderly"].gini, figures["elderly"].zero_access_share  # doctest: +SKIP
    """
    out = {}
    for c in report.categories:
        x, w = minutes_and_weights(report, c.category)
        minutes = report.demand[f"minutes_{c.category}"].to_numpy(float)
        weights = _weights(report, c.demand_column)
        total = float(weights.sum())
        none = float(weights[~np.isfinite(minutes)].sum())
        out[c.category] = Equity(c.category, c.demand_column, weighted_gini(x, w),
                                 none / total if total > 0 else float("nan"),
                                 float(np.sum(w * x) / w.sum()) if w.sum() > 0 else float("nan"),
                                 _worst(report, c.category, n_worst))
    return out


def _worst(report: Any, category: str, n: int) -> tuple[dict[str, Any], ...]:
    dt = report.districts
    if dt is None or not len(dt):
        return ()
    rows = dt[(dt["category"] == category) & (dt["rule"].isna() if "rule" in dt else True)]
    uncovered = rows["demand_total"].to_numpy(float) - rows["demand_covered"].to_numpy(float)
    order = np.argsort(-uncovered, kind="stable")[:n]
    return tuple({"district": str(rows["district"].iloc[i]), "uncovered": round(float(uncovered[i]), 3),
                  "demand_total": round(float(rows["demand_total"].iloc[i]), 3),
                  "coverage": round(float(rows["coverage"].iloc[i]), 4)} for i in order if uncovered[i] > 0)


# ============================================================================ summary.json
def summary_sections(report: Any, *, one_stop_categories: Sequence[str] | None = None,
                     demand_column: str = "population") -> dict[str, Any]:
    """summary.json ``one_stop``, ``equity`` (per category) and ``groups`` (per category, per need group)."""
    groups = {c.category: {g.group: {"label_zh": g.label_zh, "label_en": g.label_en, "demand_total": g.demand_total,
                                     "demand_covered": g.demand_covered, "coverage": round(g.coverage, 6),
                                     "step_free": g.step_free, "estimated": g.estimated}
                           for g in c.groups} for c in report.categories}
    return {"one_stop": one_stop(report, categories=one_stop_categories, demand_column=demand_column).to_dict(),
            "equity": {k: v.to_dict() for k, v in equity(report).items()},
            "groups": groups}
