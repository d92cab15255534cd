"""The page elements the maps are built from, with templates we own (branca/folium `MacroElement`s).

- `Page`: the document (a branca `Figure`) with its language on ``<html lang>`` and an escaped title;
- `GeoJsonLayer`: one data layer, ``L.geoJson`` with our tooltip/icon hook, point markers and
  per-feature styles, its data embedded as script-safe JSON text (no re-encoding by jinja);
- `Header`, `Script`, `Legend`, `Raw`: CSS and SVG patterns, a piece of JavaScript, the legend box,
  text put into the page as it is;
- `Runtime`: the maps' own JavaScript (unpacking, the GCJ-02 shift, grouped layers, streets),
  run first; `Streets`: the street network's packed streams; `LayerPanel`: the layer control
  with basemaps and collapsible groups.

Everything here renders without compiling its output as a template again (branca does that for
`MacroElement`; with megabytes of inlined data that costs seconds).
"""

from __future__ import annotations

import functools
import json
from typing import Any

from branca.element import Element, Figure, MacroElement
from folium.template import Template
from folium.utilities import JsCode

from circles.outputs.safety import html_text, script_json

__all__ = ["ON_EACH_FEATURE", "GeoJsonLayer", "GeoJsonText", "Header", "LayerPanel", "Legend", "Page", "Raw", "Runtime",
           "Script", "Streets"]

#: One onEachFeature for every data layer: tooltips, district labels, site icons and popups from the properties.
#: ``tip``, ``label``, ``icon`` and ``popup`` are HTML built by the map from escaped text (Leaflet inserts them
#: as HTML).
ON_EACH_FEATURE = JsCode(
    """function (feature, layer) {
        var p = feature.properties || {};
        if (p.tip) {
            layer.bindTooltip(p.tip, {sticky: typeof layer.getBounds === "function"});
        }
        if (p.label) {
            layer.bindTooltip(p.label, {permanent: true, direction: "center", className: "circles-district-label"});
        }
        if (p.icon && layer.setIcon) {
            layer.setIcon(L.divIcon({html: p.icon, className: "circles-site",
                                     iconSize: [26, 26], iconAnchor: [13, 13]}));
        }
        if (p.popup) {
            layer.bindPopup(p.popup, {maxWidth: 340, autoPanPaddingTopLeft: [50, 20],
                                      autoPanPaddingBottomRight: [330, 20]});
        }
    }"""
)


class Raw(Element):
    """Text put into the page as it is (a branca `Element` would compile it as a Jinja template first)."""

    def __init__(self, text: str):
        super().__init__()
        self.text = text

    def render(self, **kwargs: Any) -> str:
        return self.text


class RawMacro(MacroElement):
    """`MacroElement` whose rendered macros go into the page as `Raw` text."""

    def render(self, **kwargs: Any) -> None:
        figure = self.get_root()
        module = self._template.module
        for part, target in (("header", figure.header), ("html", figure.html), ("script", figure.script)):
            macro = module.__dict__.get(part)
            if macro is not None:
                target.add_child(Raw(macro(self, kwargs)), name=self.get_name())
        for element in self._children.values():
            element.render(**kwargs)


class Page(Figure):
    """The HTML document of a map: ``<html lang>`` set, the title escaped (`html_text`).

    Parameters
    ----------
    lang
        ``"zh"`` (written as ``zh-CN``: browsers pick CJK glyphs by it) or ``"en"``; None: unset.
    title
        The page title (plain text).
    """

    _template = Template(
        "<!DOCTYPE html>\n"
        "<html{% if this.lang %} lang=\"{{ this.lang }}\"{% endif %}>\n"
        "<head>\n"
        "{% if this.title %}<title>{{ this.safe_title }}</title>{% endif %}"
        "    {{this.header.render(**kwargs)}}\n"
        "</head>\n"
        "<body>\n"
        "    {{this.html.render(**kwargs)}}\n"
        "</body>\n"
        "<script>\n"
        "    {{this.script.render(**kwargs)}}\n"
        "</script>\n"
        "</html>\n",
    )

    def __init__(self, *, lang: str | None = None, title: str | None = None):
        super().__init__(title=title)
        self._name = "Page"
        self.lang = {"zh": "zh-CN", "en": "en"}.get(lang or "", lang)

    @property
    def safe_title(self) -> str:
        return html_text(self.title)


class GeoJsonText:
    """GeoJSON kept as the text the page embeds; reading it like a dict (``data["features"]``) parses it once."""

    def __init__(self, text: str):
        self.text = text

    @functools.cached_property
    def parsed(self) -> dict[str, Any]:
        return json.loads(self.text)

    @functools.cached_property
    def script_text(self) -> str:
        """The text made safe inside a ``<script>`` element (`script_json`)."""
        return script_json(self.text)

    def __getitem__(self, key: str) -> Any:
        return self.parsed[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.parsed.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self.parsed

    def __deepcopy__(self, memo: dict) -> GeoJsonText:
        return self  # never changed after it is made


class GeoJsonLayer(RawMacro):
    """A GeoJSON data layer inside a folium `FeatureGroup` (added to it, never to the layer control).

    Parameters
    ----------
    data
        The FeatureCollection (`GeoJsonText`). Feature properties ``tip``, ``label`` and
        ``icon`` (HTML from escaped text) become tooltips, permanent labels and marker icons;
        ``style`` (a dict of Leaflet path options) styles each feature.
    point
        How points are drawn: None (Leaflet's default marker), ``("circle", options)`` for
        ``L.circleMarker`` or ``("icon", options)`` for an ``L.marker`` with an ``L.divIcon``
        (options in Leaflet's names; `folium.utilities.JsCode` values are inserted as code).
    **options
        Options of ``L.geoJson`` and of the paths it draws (``pane``, ``color``, ``weight``,
        ``fill_color`` … in snake or camel case).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJson(null, {
            onEachFeature: {{ this.on_each_feature.js_code }},
            coordsToLatLng: circles.latLng,
        {%- if this.point %}
            pointToLayer: function (feature, latlng) {
        {%- if this.point[0] == "circle" %}
                return L.circleMarker(latlng, {{ this.point[1] | tojavascript }});
        {%- else %}
                return L.marker(latlng, {icon: L.divIcon({{ this.point[1] | tojavascript }})});
        {%- endif %}
            },
        {%- endif %}
            ...{{ this.options | tojavascript }}
        });
        circles.geoJson({{ this.get_name() }}, {{ this.data.script_text }},
                        function (feature) { return feature.properties.style; });
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, data: GeoJsonText, *, point: tuple[str, dict[str, Any]] | None = None,
                 on_each_feature: JsCode = ON_EACH_FEATURE, **options: Any):
        super().__init__()
        self._name = "GeoJson"
        if point is not None and point[0] not in ("circle", "icon"):
            raise ValueError(f"point {point[0]!r} must be 'circle' or 'icon'")
        self.data = data
        self.point = point
        self.on_each_feature = on_each_feature
        self.options = {k: v for k, v in options.items() if v is not None}


class Header(RawMacro):
    """The page's own CSS (in the header) and SVG definitions (in the body), both our own markup."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
            <style>{{ this.css }}</style>
        {% endmacro %}
        {% macro html(this, kwargs) %}
            {{ this.body }}
        {% endmacro %}
        """
    )

    def __init__(self, css: str, body: str = ""):
        super().__init__()
        self._name = "CirclesHeader"
        self.css = css
        self.body = body


class Script(RawMacro):
    """A piece of JavaScript run after the map exists (``{map}`` is replaced by the map's variable)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            {{ this.code.replace("{map}", this._parent.get_name()) }}
        {% endmacro %}
        """
    )

    def __init__(self, code: str):
        super().__init__()
        self._name = "CirclesScript"
        self.code = code


class Legend(RawMacro):
    """The legend: an HTML box (our markup, texts escaped) that a Leaflet control at `position` takes in."""

    _template = Template(
        """
        {% macro html(this, kwargs) %}
            <div id="circles-legend" class="{{ this.css_class }}">{{ this.content }}</div>
        {% endmacro %}
        {% macro script(this, kwargs) %}
            var circles_legend = L.control({position: {{ this.position | tojson }}});
            circles_legend.onAdd = function () {
                var box = document.getElementById("circles-legend");
                L.DomEvent.disableClickPropagation(box);
                L.DomEvent.disableScrollPropagation(box);
                return box;
            };
            circles_legend.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, content: str, *, position: str = "bottomleft", css_class: str = "circles-legend"):
        super().__init__()
        self._name = "CirclesLegend"
        self.content = content
        self.position = position
        self.css_class = css_class


class Runtime(RawMacro):
    """The maps' JavaScript (`circles.outputs.map.runtime`), run before any data layer.

    Parameters
    ----------
    datum
        ``"wgs84"``, or ``"gcj02"`` when the map opens on Amap tiles (the layers are then drawn shifted).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            {{ this.code }}
        {% endmacro %}
        """
    )

    def __init__(self, datum: str = "wgs84"):
        super().__init__()
        from circles.outputs.map.runtime import RUNTIME_JS

        if datum not in ("wgs84", "gcj02"):
            raise ValueError(f"datum {datum!r} must be 'wgs84' or 'gcj02'")
        self._name = "CirclesRuntime"
        self.code = RUNTIME_JS + f'circles.datum = "{datum}";\n'


class Streets(RawMacro):
    """The street network inside a `FeatureGroup`: packed line streams drawn by ``circles.streets``.

    Parameters
    ----------
    streams
        ``[{"enc": str, "style": dict}, ...]`` (`circles.outputs.map.streets.street_streams`).
    pane
        The map pane the streets are drawn in (below every data layer).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            circles.streets({{ this._parent.get_name() }}, {{ this.streams_text }}, {{ this.pane | tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, streams: list[dict[str, Any]], *, pane: str):
        super().__init__()
        self._name = "CirclesStreets"
        self.streams_text = script_json(json.dumps(streams, ensure_ascii=False, separators=(",", ":")))
        self.pane = pane


class LayerPanel(RawMacro):
    """The layer control: basemaps (a blank one first) and the map's layers in collapsible groups.

    Parameters
    ----------
    overlays
        ``(layer, name, group)`` per data layer in order: a `folium.FeatureGroup` of the map, its
        name as HTML (escaped text and our symbols), and the id of its group (None: ungrouped).
    groups
        ``{"id", "title" (HTML), "open"}`` per group, in order.
    basemaps
        ``{"name" (HTML), "datum", "layers": [{"url", "options"}]}`` per basemap; the first is
        the blank one (no tiles).
    start
        Index of the basemap shown on opening.
    title, base_title, base_note
        The header that folds the control, the basemaps' section title and a note under it (HTML).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = new circles.Layers({}, {}, {{ this.js(this.options) }});
            (function (ctl, map) {
                var bases = {{ this.js(this.basemaps) }};
                bases.forEach(function (b, k) {
                    var tiles = b.layers.map(function (t) { return L.tileLayer(t.url, t.options); });
                    var layer = L.layerGroup(tiles, {circlesDatum: b.datum});
                    ctl.addBaseLayer(layer, b.name);
                    if (k === {{ this.start }}) { layer.addTo(map); }
                });
            {%- for layer, name, group in this.overlays %}
                {{ layer.get_name() }}.options.circlesGroup = {{ this.js(group) }};
                ctl.addOverlay({{ layer.get_name() }}, {{ this.js(name) }});
            {%- endfor %}
                ctl.addTo(map);
                map.on("baselayerchange", function (e) { circles.setDatum(e.layer.options.circlesDatum); });
            })({{ this.get_name() }}, {{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, *, overlays: list[tuple[Any, str, str | None]], groups: list[dict[str, Any]],
                 basemaps: list[dict[str, Any]], start: int = 0, title: str = "", base_title: str = "",
                 base_note: str = "", position: str = "topright"):
        super().__init__()
        self._name = "CirclesLayers"
        self.overlays = overlays
        self.basemaps = basemaps
        self.start = int(start)
        self.options = {"position": position, "collapsed": False, "groups": groups, "title": str(title),
                        "baseTitle": str(base_title) + (f'<div class="circles-small">{base_note}</div>'
                                                        if base_note else "")}

    @staticmethod
    def js(value: Any) -> str:
        """`value` as JavaScript: JSON with the text kept (not \\u-escaped), safe inside ``<script>``."""
        return script_json(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
