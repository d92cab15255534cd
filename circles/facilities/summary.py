"""The ledger report as text (what `circles facilities check` prints) and its counts per category and tier."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from circles.facilities.ledger import Ledger
from circles.facilities.report import COORDS_LABEL, check_lang

__all__ = ["format_report", "report_counts"]


def report_counts(ledger: Ledger, *, profile: Any = None) -> pd.DataFrame:
    """Facilities per category and tier, with their total capacity.

    Parameters
    ----------
    ledger
        A read ledger.
    profile
        Optional: adds ``label_zh``/``label_en`` and lists every category and tier of the
        profile, with count 0 where the ledger has none (a gap worth seeing).

    Returns
    -------
    pandas.DataFrame
        Columns ``category``, ``tier`` (NaN for facilities without a tier), ``count``,
        ``capacity`` (sum, NaN when no row gives one) and, with a profile, ``label_zh`` and
        ``label_en``; profile order, else sorted.
    """
    fac = ledger.facilities
    grouped = (
        fac.assign(tier=fac["tier"].astype(object).where(fac["tier"].notna(), ""))
        .groupby(["category", "tier"], sort=True, dropna=False)
        .agg(count=("name", "size"), capacity=("capacity", lambda s: s.sum(min_count=1)))
        .reset_index()
    )
    if profile is not None:
        frame = _profile_rows(profile, grouped)
        extra = grouped.merge(frame[["category", "tier"]], how="left", indicator=True)
        extra = extra[extra["_merge"] == "left_only"].drop(columns="_merge")
        out = frame.merge(grouped, on=["category", "tier"], how="left")
        out = pd.concat([out, extra], ignore_index=True)
        out["count"] = out["count"].fillna(0).astype(np.int64)
    else:
        out = grouped
    out["tier"] = out["tier"].astype(object).where(out["tier"] != "", np.nan)
    cols = ["category", "tier", "count", "capacity"] + (["label_zh", "label_en"] if profile is not None else [])
    return out[cols].reset_index(drop=True)


def _profile_rows(profile: Any, grouped: pd.DataFrame) -> pd.DataFrame:
    """One row per category and tier of the profile (and one without a tier where the ledger has it)."""
    rows = []
    for cat in getattr(profile, "categories", ()):
        tiers = list(getattr(cat, "tiers", ()) or ())
        keys = [(t.id, getattr(t, "label_zh", t.id), getattr(t, "label_en", t.id)) for t in tiers]
        present = set(grouped.loc[grouped["category"] == cat.id, "tier"])
        if "" in present or not keys:
            keys = keys + [("", "", "")]
        for tid, tzh, ten in keys:
            rows.append({
                "category": cat.id, "tier": tid,
                "label_zh": " / ".join(x for x in (getattr(cat, "label_zh", cat.id), tzh) if x),
                "label_en": " / ".join(x for x in (getattr(cat, "label_en", cat.id), ten) if x),
            })
    from circles.profiles import KITCHEN_CATEGORY

    delivery = getattr(profile, "delivery", None)
    if delivery is not None and (grouped["category"] == KITCHEN_CATEGORY).any():  # central kitchens: a ledger
        rows.append({"category": KITCHEN_CATEGORY, "tier": "",                    # category no coverage counts
                     "label_zh": delivery.label_zh, "label_en": delivery.label_en})
    return pd.DataFrame(rows, columns=["category", "tier", "label_zh", "label_en"])


def format_report(ledger: Ledger, *, lang: str = "zh", profile: Any = None) -> str:
    """The text `circles facilities check` prints: counts, problems by row, rows not used, the hint.

    Parameters
    ----------
    ledger
        A read ledger.
    lang
        ``"zh"`` or ``"en"``.
    profile
        Optional: category labels and zero counts (see `report_counts`).

    Returns
    -------
    str
        Several lines, no trailing newline.
    """
    from circles.inputs.dropped import format_dropped

    zh = check_lang(lang) == "zh"
    rep = ledger.report
    lines = _report_heading(ledger, zh=zh)
    for rec in report_counts(ledger, profile=profile).itertuples(index=False):
        if profile is not None:
            what = rec.label_zh if zh else rec.label_en
            what = f"{what} [{rec.category}{'/' + rec.tier if isinstance(rec.tier, str) else ''}]"
        else:
            what = rec.category + (f" / {rec.tier}" if isinstance(rec.tier, str) else "")
        cap = ""
        if not pd.isna(rec.capacity):
            cap = f"（容量 {rec.capacity:g}）" if zh else f" (capacity {rec.capacity:g})"
        lines.append(f"  {what}: {rec.count}{cap}")
    listed = [p for p in rep.problems if p.kind != "coords_hint"]
    if listed:
        lines.append("问题：" if zh else "Problems:")
        for p in listed:
            sev = {"error": "错误", "warning": "警告"}[p.severity] if zh else p.severity
            where = (f"第 {p.row} 行" if zh else f"row {p.row}") if p.row is not None else ("全表" if zh else "file")
            lines.append(f"  {where} [{sev}] {p.message_zh if zh else p.message_en}")
    else:
        lines.append("未发现问题。" if zh else "No problems found.")
    if rep.dropped:
        lines.append(format_dropped(rep.dropped, lang=lang))
    hint = rep.of_kind("coords_hint")
    if hint:
        lines.append(("提示：" if zh else "Hint: ") + (hint[0].message_zh if zh else hint[0].message_en))
    return "\n".join(lines)


def _report_heading(ledger: Ledger, *, zh: bool) -> list[str]:
    rep = ledger.report
    label = COORDS_LABEL[ledger.coords]
    converted = "" if ledger.coords == "wgs84" else ("，已转换为 WGS84" if zh else ", converted to WGS84")
    if zh:
        return [
            f"设施台账 {ledger.source}（坐标系 {label}{converted}）",
            f"读取 {rep.n_rows} 行，导入 {rep.n_facilities} 个设施；{len(rep.errors)} 个错误（该行未导入），"
            f"{len(rep.warnings)} 个警告",
            "按类型统计：",
        ]
    return [
        f"Facility ledger {ledger.source} (coordinates {label}{converted})",
        f"{rep.n_rows} rows read, {rep.n_facilities} facilities imported; {len(rep.errors)} error(s) "
        f"(rows not imported), {len(rep.warnings)} warning(s)",
        "Facilities per category and tier:",
    ]
