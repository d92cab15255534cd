"""The maps' own JavaScript: unpacking geometries, the GCJ-02 shift for Amap tiles, grouped layers, streets.

`RUNTIME_JS` runs once, right after the map is created and before any data layer, in map.html
and in the app (streamlit-folium runs the map's scripts, not inline scripts of the page head, so
the runtime is an element of the map, not of the header). It defines ``window.circles``:

- ``circles.unpack(fc)``: packed geometries (`circles.outputs.map.packing`) back to GeoJSON;
- ``circles.latLng``: the ``coordsToLatLng`` of every data layer: WGS84 as it is, or shifted to
  GCJ-02 while an Amap basemap is shown (``circles.setDatum``), so data and tiles line up;
- ``circles.geoJson(layer, data, style)``: fills a layer and rebuilds it when the datum changes;
- ``circles.streets(group, streams, pane)``: the street network as light canvas polylines;
- ``circles.Layers``: Leaflet's layer control with collapsible groups (one per service category),
  a header that folds the whole list, and the basemaps in their own collapsed section.

The GCJ-02 formulas are those of `circles.coords.wgs84_to_gcj02` (tests compare both).
"""

from __future__ import annotations

__all__ = ["RUNTIME_JS"]

RUNTIME_JS = r"""
(function () {
  var C = window.circles = {datum: "wgs84", rebuilds: [], scale: 1e5};
  C.toGcj = function (lon, lat) {
    if (lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271) { return [lon, lat]; }
    var PI = Math.PI, A = 6378245.0, EE = 0.00669342162296594323;
    var x = lon - 105.0, y = lat - 35.0, s = Math.sqrt(Math.abs(x));
    var dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * s
      + (20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0 / 3.0
      + (20.0 * Math.sin(y * PI) + 40.0 * Math.sin(y / 3.0 * PI)) * 2.0 / 3.0
      + (160.0 * Math.sin(y / 12.0 * PI) + 320.0 * Math.sin(y * PI / 30.0)) * 2.0 / 3.0;
    var dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * s
      + (20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0 / 3.0
      + (20.0 * Math.sin(x * PI) + 40.0 * Math.sin(x / 3.0 * PI)) * 2.0 / 3.0
      + (150.0 * Math.sin(x / 12.0 * PI) + 300.0 * Math.sin(x / 30.0 * PI)) * 2.0 / 3.0;
    var rad = lat / 180.0 * PI, magic = 1.0 - EE * Math.sin(rad) * Math.sin(rad), sm = Math.sqrt(magic);
    dlat = dlat * 180.0 / ((A * (1.0 - EE)) / (magic * sm) * PI);
    dlon = dlon * 180.0 / (A / sm * Math.cos(rad) * PI);
    return [lon + dlon, lat + dlat];
  };
  C.latLng = function (c) {
    if (C.datum === "gcj02") { var g = C.toGcj(c[0], c[1]); return L.latLng(g[1], g[0]); }
    return L.latLng(c[1], c[0]);
  };
  C.setDatum = function (datum) {
    datum = datum || "wgs84";
    if (datum === C.datum) { return; }
    C.datum = datum;
    for (var i = 0; i < C.rebuilds.length; i++) { C.rebuilds[i](); }
  };
  // one encoded path: pairs of deltas (x, y); rings are closed by Leaflet
  C.path = function (s) {
    var out = [], x = 0, y = 0, i = 0, n = s.length, odd = false, sc = C.scale;
    while (i < n) {
      var r = 0, sh = 0, b;
      do { b = s.charCodeAt(i++) - 63; r |= (b & 31) << sh; sh += 5; } while (b >= 32);
      var v = (r & 1) ? ~(r >> 1) : (r >> 1);
      if (!odd) { x += v; } else { y += v; out.push([x / sc, y / sc]); }
      odd = !odd;
    }
    return out;
  };
  C.coords = function (type, enc) {
    if (type === "LineString") { return C.path(enc); }
    if (type === "MultiLineString" || type === "Polygon") { return enc.map(C.path); }
    return enc.map(function (p) { return p.map(C.path); });
  };
  C.unpack = function (fc) {
    var fs = fc.features || [];
    for (var i = 0; i < fs.length; i++) {
      var g = fs[i].geometry;
      if (g && g.enc !== undefined) { g.coordinates = C.coords(g.type, g.enc); delete g.enc; }
    }
    return fc;
  };
  C.geoJson = function (layer, data, style) {
    var fc = C.unpack(data);
    var build = function () {
      layer.clearLayers();
      layer.addData(fc);
      if (style) { layer.setStyle(style); }
    };
    build();
    C.rebuilds.push(build);
    return layer;
  };
  // a stream of lines: per line its vertex count, then its vertices as deltas from the previous vertex
  C.lines = function (s) {
    var lines = [], x = 0, y = 0, i = 0, n = s.length, sc = C.scale;
    var next = function () {
      var r = 0, sh = 0, b;
      do { b = s.charCodeAt(i++) - 63; r |= (b & 31) << sh; sh += 5; } while (b >= 32);
      return (r & 1) ? ~(r >> 1) : (r >> 1);
    };
    while (i < n) {
      var k = next(), line = [];
      for (var j = 0; j < k; j++) { x += next(); y += next(); line.push(C.latLng([x / sc, y / sc])); }
      lines.push(line);
    }
    return lines;
  };
  C.streets = function (group, streams, pane) {
    var renderer = L.canvas({pane: pane, padding: 0.3});
    var build = function () {
      group.clearLayers();
      for (var i = 0; i < streams.length; i++) {
        var opts = L.extend({interactive: false, pane: pane, renderer: renderer, smoothFactor: 1.5},
                            streams[i].style);
        group.addLayer(L.polyline(C.lines(streams[i].enc), opts));
      }
    };
    build();
    C.rebuilds.push(build);
  };
  C.Layers = L.Control.Layers.extend({
    options: {collapsed: false, groups: [], title: "", baseTitle: ""},
    _initLayout: function () {
      L.Control.Layers.prototype._initLayout.call(this);
      var box = this._container, self = this;
      L.DomUtil.addClass(box, "circles-layers");
      var head = L.DomUtil.create("div", "circles-layers-head");
      head.innerHTML = this.options.title;
      head.setAttribute("role", "button");
      head.title = this.options.title.replace(/<[^>]*>/g, "");
      box.insertBefore(head, box.firstChild);
      L.DomEvent.on(head, "click", function () {
        if (L.DomUtil.hasClass(box, "circles-folded")) { L.DomUtil.removeClass(box, "circles-folded"); }
        else { L.DomUtil.addClass(box, "circles-folded"); }
      });
      var base = L.DomUtil.create("details", "circles-base", this._section);
      base.innerHTML = "<summary>" + this.options.baseTitle + "</summary>";
      base.appendChild(this._baseLayersList);
      this._groupOpen = {};
      this._groupTitle = {};
      this.options.groups.forEach(function (g) { self._groupOpen[g.id] = g.open; self._groupTitle[g.id] = g.title; });
    },
    _update: function () {
      this._groupBoxes = {};
      return L.Control.Layers.prototype._update.call(this);
    },
    _addItem: function (obj) {
      var label = L.Control.Layers.prototype._addItem.call(this, obj);
      var id = obj.overlay && obj.layer.options ? obj.layer.options.circlesGroup : null;
      if (id && this._groupTitle[id] !== undefined) { this._groupBox(id).appendChild(label); }
      return label;
    },
    _groupBox: function (id) {
      var self = this;
      if (!this._groupBoxes[id]) {
        var box = L.DomUtil.create("details", "circles-group", this._overlaysList);
        box.open = !!this._groupOpen[id];
        box.innerHTML = "<summary>" + this._groupTitle[id] + "</summary>";
        box.addEventListener("toggle", function () { self._groupOpen[id] = box.open; });
        this._groupBoxes[id] = box;
      }
      return this._groupBoxes[id];
    }
  });
})();
"""
