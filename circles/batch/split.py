"""Splitting a batch: each district becomes a self-contained task (its cut of the prepared inputs)."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely

from network.extract import WayIndex, extract_ways
from network.raw import RawWays

__all__ = ["DistrictTask", "WayIndex", "extract_ways", "safe_folder_name", "unique_folders", "make_tasks",
           "fingerprint", "RESERVED_NAMES"]

#: File names of a batch's top level: no district folder may take one of them.
RESERVED_NAMES = frozenset({"districts.csv", "districts.xlsx", "districts.geojson", "rules.csv", "errors.log",
                            "batch.json", "summary_map.html"})
_WINDOWS_RESERVED = frozenset({"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                               *(f"LPT{i}" for i in range(1, 10))})


@dataclass(frozen=True, eq=False)
class DistrictTask:
    """One district's share of the batch: everything `circles.batch.execute.run_district` needs.

    Attributes
    ----------
    name, folder
        The district's name and its output folder under the batch's out dir.
    prepared
        The district's cut of the prepared inputs (`circles.pipeline.Prepared.cut`), or None
        when the district cannot run at all (then `cause` says why).
    area
        The district as a `circles.pipeline.Area`.
    inside_share
        The share of the district's area the data covers.
    cause
        Set when the district cannot run (no polygon, only unusable ledger rows).
    """

    name: str
    folder: str
    prepared: Any
    area: Any
    inside_share: float = 1.0
    cause: str | None = None


def safe_folder_name(name: str) -> str:
    """A folder name for a district: Chinese and other letters kept, path separators replaced.

    Replaces ``/ \\ : * ? " < > |`` and control characters with ``_``, trims spaces and dots
    at the ends (a leading dot would hide the folder), avoids Windows device names and keeps
    at most 80 characters.

    Examples
    --------
    >>> safe_folder_name("海淀区/燕园街道")
    '海淀区_燕园街道'
    >>> safe_folder_name("..")
    'district'
    """
    s = unicodedata.normalize("NFC", str(name))
    s = "".join("_" if (c in '/\\:*?"<>|' or unicodedata.category(c).startswith("C")) else c for c in s)
    s = s.strip(" .")
    if not s:
        return "district"
    if s.split(".")[0].upper() in _WINDOWS_RESERVED:
        s = "_" + s
    return s[:80].rstrip(" .") or "district"


def unique_folders(names: Sequence[str]) -> list[str]:
    """A distinct folder per name (case-insensitively), none taking a top-level file's name."""
    seen: set[str] = set()
    out = []
    for name in names:
        base = safe_folder_name(name)
        cand, k = base, 1
        while cand.casefold() in seen or cand in RESERVED_NAMES:
            k += 1
            cand = f"{base}~{k}"
        seen.add(cand.casefold())
        out.append(cand)
    return out


def make_tasks(prepared: Any, rows: Sequence[Any], index: WayIndex | None) -> Iterator[DistrictTask]:
    """One task per district row (``name``, ``folder``, ``geometry``, ``inside_share``), cut lazily."""
    from circles.pipeline import Area

    for row in rows:
        yield make_task(prepared, row, index)


def make_task(prepared: Any, row: Any, index: WayIndex | None) -> DistrictTask:
    """Cut one district's task out of the prepared inputs."""
    from circles.pipeline import Area

    name, folder, geom = row.name, row.folder, row.geometry
    share = float(getattr(row, "inside_share", 1.0))
    area = Area(name, geom)
    if geom is None or geom.geom_type not in ("Polygon", "MultiPolygon"):
        what = "no geometry" if geom is None else f"a {geom.geom_type}, not a polygon"
        return DistrictTask(name, folder, None, area, share,
                            cause=f"the districts file gives {name!r} {what}; draw its polygon")
    if name in prepared.ledger_causes:
        return DistrictTask(name, folder, None, area, share, cause=prepared.ledger_causes[name])
    return DistrictTask(name, folder, prepared.cut(area, way_index=index), area, share)


def fingerprint(base: str, task: DistrictTask) -> str:
    """What the district's outputs depend on: the shared options (`base`) and everything in its task."""
    h = hashlib.sha256(base.encode())
    h.update(json.dumps([task.name, task.folder, task.cause, task.inside_share], ensure_ascii=False).encode())
    geom = task.area.geometry
    h.update(shapely.to_wkb(geom) if geom is not None else b"-")
    p = task.prepared
    if p is not None:
        h.update(json.dumps(list(p.notes) + list(p.ledger_notes.get(task.name, ())), ensure_ascii=False).encode())
        w = p.source
        if isinstance(w, RawWays):
            for a in (w.node_id, w.node_lon, w.node_lat, w.way_id, w.way_offsets, w.refs):
                h.update(np.ascontiguousarray(a).tobytes())
            h.update(json.dumps(w.way_tags, sort_keys=True, ensure_ascii=False).encode())
        else:
            h.update(str(w).encode())
        for frame in (p.facilities, p.demand):
            plain = pd.DataFrame(frame).drop(columns="geometry", errors="ignore")
            h.update(json.dumps([str(c) for c in plain.columns]).encode())
            h.update(pd.util.hash_pandas_object(plain, index=False).to_numpy().tobytes())
    return h.hexdigest()[:32]
