"""Candidate premises for new sites (available community rooms, 闲置用房): read like a ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from circles.coords import to_wgs84
from circles.errors import InputError
from circles.facilities.columns import ALIAS_INDEX
from circles.facilities.coordinates import parse_degrees
from circles.facilities.ledger import read_ledger_table
from circles.inputs.text import cell_text, norm_header, number_text

__all__ = ["CANDIDATE_COST_ALIASES", "read_candidates"]

#: Headers of a candidate-premises list (社区用房/闲置用房) beyond the ledger's own.
CANDIDATE_COST_ALIASES: tuple[str, ...] = ("成本", "费用", "造价", "改造费用", "租金", "cost")


def read_candidates(path: str | Path, *, coords: str = "wgs84", profile: Any = None) -> pd.DataFrame:
    """Read a list of candidate premises for new sites (available community rooms, 闲置用房).

    Same files, headers and coordinate systems as a ledger (`read_ledger`): ``名称``, ``经度``,
    ``纬度`` and optionally ``类型`` (a category; blank or absent serves every category), ``容量``,
    ``建筑面积`` and a cost column (成本/费用/造价/租金/cost).

    Parameters
    ----------
    path
        CSV/XLSX/GeoJSON/GPKG/SHP file.
    coords
        Coordinate system of the numbers: ``"wgs84"``, ``"gcj02"`` or ``"bd09"``.
    profile
        Optional service profile: maps the ``类型`` cells to category ids.

    Returns
    -------
    pandas.DataFrame
        ``name``, ``lon``, ``lat`` (WGS84), ``category`` (profile id or None), ``capacity``,
        ``area_m2``, ``cost``, ``source_row``; rows without usable coordinates are dropped.

    Examples
    --------
    >>> premises = read_candidates("闲置用房.xlsx", coords="gcj02")  # doctest: +SKIP
    """
    path = Path(path)
    table, first_row = read_ledger_table(path)
    cols = _candidate_columns(table)
    if "lon" not in cols or "lat" not in cols:
        raise InputError(f"{path.name}: no 经度/纬度 (lon/lat) columns in the candidate list (found: "
                         f"{', '.join(map(str, table.columns))}); rename the headers as in circles/data/templates/")
    lon, lat = parse_degrees(cols["lon"]), parse_degrees(cols["lat"])
    ok = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    if not ok.any():
        raise InputError(f"{path.name}: no candidate row has usable coordinates; check the 经度/纬度 columns")
    wlon, wlat = to_wgs84(lon[ok], lat[ok], coords)
    rows = np.arange(len(table))[ok] + first_row
    out = pd.DataFrame({
        "name": [(cell_text(v) or f"#{r}") for v, r in zip(cols["name"][ok], rows)] if "name" in cols
        else [f"#{r}" for r in rows],
        "lon": wlon, "lat": wlat, "category": None,
        "capacity": _numbers(cols.get("capacity"), ok), "area_m2": _numbers(cols.get("area_m2"), ok),
        "cost": _numbers(cols.get("cost"), ok), "source_row": rows,
    })
    if "category" in cols and profile is not None:
        values = [cell_text(v) for v in cols["category"][ok]]
        out["category"] = [profile.match_category(v)[0] if v else None for v in values]
    return out


def _candidate_columns(table: pd.DataFrame) -> dict[str, pd.Series]:
    """{canonical column: cells} by the ledger's headers, plus the cost column."""
    cost_keys = {norm_header(a) for a in CANDIDATE_COST_ALIASES}
    cols: dict[str, pd.Series] = {}
    for col in table.columns:
        key = norm_header(col)
        hit = ALIAS_INDEX.get(key)
        if hit is not None and hit[0] not in cols:
            cols[hit[0]] = table[col]
        elif key in cost_keys and "cost" not in cols:
            cols["cost"] = table[col]
    return cols


def _numbers(values: pd.Series | None, ok: np.ndarray) -> np.ndarray:
    if values is None:
        return np.full(int(ok.sum()), np.nan)
    text = values[ok].map(number_text)
    return pd.to_numeric(text.str.extract(r"^(-?\d+(?:\.\d+)?)")[0], errors="coerce").to_numpy(float)
