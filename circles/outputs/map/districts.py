"""The batch choropleth: each district coloured by its coverage share, one layer per category, offline."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import folium
import numpy as np
import shapely

from circles.errors import InputError
from circles.outputs.labels import check_lang, label
from circles.outputs.map.coverage import new_map
from circles.outputs.map.elements import GeoJsonLayer, Header, Legend, Script
from circles.outputs.map.layers import features
from circles.outputs.map.legend import map_text, name_of
from circles.outputs.map.page import map_html
from circles.outputs.map.style import page_css
from circles.outputs.safety import Html, html_format

__all__ = ["COVERAGE_STEPS", "coverage_colour", "districts_map", "districts_map_page"]

#: (share below which, colour) of the choropleth; grey for a failed district or one without demand.
COVERAGE_STEPS = ((0.6, "#d7301f"), (0.8, "#fc8d59"), (0.9, "#fee08b"), (1.01, "#1a9850"))
FAILED_COLOUR = "#bdbdbd"
_STEP_NAMES = ("< 60%", "60–80%", "80–90%", "≥ 90%")


def coverage_colour(share: Any) -> str:
    """The choropleth colour of a coverage share (0–1); grey when it is missing."""
    if share is None or (isinstance(share, float) and not np.isfinite(share)):
        return FAILED_COLOUR
    return next(c for limit, c in COVERAGE_STEPS if float(share) < limit)


def districts_map(collection: Mapping[str, Any], profile: Any, *, lang: str = "zh") -> folium.Map:
    """Choropleth of a batch run: each district coloured by its coverage share, one layer per category.

    Parameters
    ----------
    collection
        The FeatureCollection of ``districts.geojson`` (`circles.outputs.geojson.districts_geojson`;
        WGS84; per district ``district``, ``<category>_coverage``, ``status``, ``cause``).
    profile
        The profile of the run (category ids and labels).
    lang
        ``"zh"`` or ``"en"``.

    Returns
    -------
    folium.Map
        District names and causes are escaped in the tooltips; render it with `map_html`.

    Raises
    ------
    InputError
        No district has a geometry.
    """
    check_lang(lang)
    drawn = [f for f in collection["features"] if f.get("geometry")]
    if not drawn:
        raise InputError("districts_map: no district has a geometry to draw")
    geoms = np.array([shapely.geometry.shape(f["geometry"]) for f in drawn], dtype=object)
    west, south, east, north = shapely.total_bounds(geoms)
    m = new_map(west, south, east, north, lang=lang, title=label("map.choropleth_title", lang), zoom_start=11)
    m.add_child(Header(page_css(0)[0]))
    for k, cat in enumerate(profile.categories):
        cat_label = name_of(cat, lang)
        tips, styles = [], []
        for f in drawn:
            p = f["properties"]
            share = p.get(f"{cat.id}_coverage")
            tips.append(map_text("map.choropleth_tip", lang, district=p.get("district"), cat=cat_label,
                                 share=f"{share:.1%}") if share is not None else
                        map_text("map.choropleth_failed", lang, district=p.get("district"), cat=cat_label,
                                 cause=p.get("cause") or ""))
            styles.append({"fillColor": coverage_colour(share), "color": "#555555", "weight": 1, "fillOpacity": 0.7})
        group = folium.FeatureGroup(name=map_text("map.choropleth_layer", lang, cat=cat_label), show=k == 0)
        GeoJsonLayer(features(geoms, {"tip": tips, "style": styles})).add_to(group)
        group.add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    m.add_child(Legend(_legend(lang)))
    m.add_child(Script('document.body.setAttribute("data-circles-map", "ready");'))  # drawn without an error
    return m


def _legend(lang: str) -> Html:
    rows = [html_format('<div><span class="circles-key" style="background:{c}"></span>{n}</div>', c=c, n=n)
            for n, (_, c) in zip(_STEP_NAMES, COVERAGE_STEPS)]
    rows.append(html_format('<div><span class="circles-key" style="background:{c}"></span>{n}</div>',
                            c=FAILED_COLOUR, n=label("map.choropleth_failed_key", lang)))
    return html_format("<b>{title}</b>{rows}<div class=\"circles-small\">{osm}</div>",
                       title=label("map.choropleth_title", lang), rows=Html("".join(rows)),
                       osm=label("map.attribution", lang))


def districts_map_page(collection: Mapping[str, Any], profile: Any, lang: str) -> str:
    """summary_map.html of a batch run: `districts_map` as an offline page (a note when nothing can be drawn).

    Parameters
    ----------
    collection
        The FeatureCollection of ``districts.geojson``.
    profile
        The run's profile.
    lang
        ``"zh"`` or ``"en"``.
    """
    if not any(f.get("geometry") for f in collection["features"]):
        return html_format("<!doctype html><p>{t}</p>", t=label("map.no_geometry", check_lang(lang)))
    return map_html(districts_map(collection, profile, lang=lang))
