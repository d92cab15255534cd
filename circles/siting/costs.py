"""What a new site costs: building new or renovating an existing building, plus years of operation.

The defaults are the figures Xi'an's civil-affairs bureau gave for its community elderly-care
stations (社区养老服务站) in 2024 — the city's one-off building subsidy and its yearly operating
subsidy — because they are the only cost figures in the policy documents this project started
from (``../shared/seeds/``). They are subsidies of one city, not a county's full costs, and the
documents give no figure for township centres: replace them with your own (`SiteCosts`, the
candidates' ``cost`` column, or ``--cost-new`` / ``--cost-renovation`` / ``--operating-cost``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from circles.errors import InputError

__all__ = ["BUILDS", "XIAN_2024", "XIAN_2024_SOURCE", "SiteCosts", "build_kind"]

#: Where the default figures come from (document, speaker, date, clause).
XIAN_2024_SOURCE = (
    "西安市民政局养老服务处处长任明，西安新闻广播《党风政风热线》，2024-09-20：根据《西安市推进养老服务高质量发展行动方案》"
    "《西安市养老服务扶持政策措施清单》，新建社区养老服务站市级给予最高60万元的一次性补助，提升改造的社区养老服务站市级给予"
    "最高30万元的一次性补助；对已运营的社区养老服务站每年给予1.5万-10万元的运营补助 / Xi'an Civil Affairs Bureau on Xi'an "
    "News Radio, 2024-09-20: one-off city subsidy of up to 600,000 yuan for a new community elderly-care station and up "
    "to 300,000 yuan for a renovated one; 15,000-100,000 yuan a year for running it"
)

#: The kinds of works a site needs, and the words a candidate list may use for them.
BUILDS: dict[str, tuple[str, ...]] = {
    "new": ("new", "new build", "build", "新建", "新建设"),
    "renovation": ("renovation", "renovate", "refit", "改造", "提升改造", "改建", "改扩建", "盘活", "利用现有"),
}


@dataclass(frozen=True)
class SiteCosts:
    """The cost of one new site (yuan), by the works it needs, plus its operation.

    A site's cost in the budget is its one-off cost (`new_yuan` or `renovation_yuan`, or the
    candidate's own ``cost``) plus ``operating_years × operating_yuan_per_year``.

    Attributes
    ----------
    new_yuan
        A new building (default 600,000: Xi'an's largest one-off subsidy for a new station).
    renovation_yuan
        Renovating an existing building (default 300,000: Xi'an's largest subsidy for a
        renovated station).
    operating_yuan_per_year
        Running the site for a year (default 100,000: the top of Xi'an's 15,000-100,000 yuan
        yearly operating subsidy).
    operating_years
        Years of operation counted in the budget (default 0: the budget is the one-off cost;
        the yearly bill of the chosen sites is reported beside it).
    source
        Where the figures come from.

    Examples
    --------
    >>> SiteCosts().cost("renovation")
    300000.0
    >>> SiteCosts(operating_years=3).cost("new")
    900000.0
    """

    new_yuan: float = 600_000.0
    renovation_yuan: float = 300_000.0
    operating_yuan_per_year: float = 100_000.0
    operating_years: float = 0.0
    source: str = XIAN_2024_SOURCE

    def __post_init__(self) -> None:
        for name in ("new_yuan", "renovation_yuan", "operating_yuan_per_year", "operating_years"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.number)) or not (np.isfinite(v) and v >= 0):
                raise InputError(f"SiteCosts.{name} is {v!r}; give a number >= 0 (yuan, or years), e.g. "
                                 f"{getattr(SiteCosts, name)!r}")

    def one_off(self, build: str) -> float:
        """The one-off cost of the works `build` (``"new"`` or ``"renovation"``; ``"existing"`` costs 0)."""
        if build == "existing":
            return 0.0
        return float(self.new_yuan if build_kind(build) == "new" else self.renovation_yuan)

    def cost(self, build: str, one_off: float | None = None) -> float:
        """The budget cost of a site: `one_off` (default: that of `build`) plus the counted years of operation.

        An existing site (``build="existing"``) costs nothing: it is already paid and running.
        """
        if build == "existing":
            return 0.0
        base = self.one_off(build) if one_off is None or not np.isfinite(one_off) else float(one_off)
        return base + self.operating_years * self.operating_yuan_per_year

    def with_overrides(self, **figures: float | None) -> SiteCosts:
        """A copy with the figures given (not None) replaced; the source says they were."""
        given = {k: float(v) for k, v in figures.items() if v is not None}
        if not given:
            return self
        said = ", ".join(f"{k}={v:g}" for k, v in given.items())
        return replace(self, **given, source=f"overridden ({said}); defaults: {self.source}")

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures (summary.json)."""
        return {"new_yuan": self.new_yuan, "renovation_yuan": self.renovation_yuan,
                "operating_yuan_per_year": self.operating_yuan_per_year, "operating_years": self.operating_years,
                "source": self.source}


#: The defaults: Xi'an 2024 (see `XIAN_2024_SOURCE`).
XIAN_2024 = SiteCosts()


def build_kind(value: Any, *, where: str = "build") -> str:
    """``"new"`` or ``"renovation"`` from a cell such as ``新建``, ``提升改造`` or ``renovation``.

    Raises
    ------
    InputError
        An unknown word, naming it and the words accepted.
    """
    text = str(value).strip().casefold()
    for kind, words in BUILDS.items():
        if text in words:
            return kind
    accepted = ", ".join(w for words in BUILDS.values() for w in words)
    raise InputError(f"{where}: {value!r} is not a kind of works; write one of {accepted} "
                     "(new = 新建, renovation = 改造)")
