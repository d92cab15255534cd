"""Maps: the coverage map (folium, toggleable layers, legend), the batch choropleth, and offline pages.

- `coverage_map` draws, per service category, the facilities (one layer per tier), the service
  areas, the gap areas and the uncovered demand units, plus suggested sites and district borders,
  each a `folium.FeatureGroup` named in Chinese or English, with a layer control and a legend
  listing the coverage share of every category. Only Leaflet is needed: points are
  ``L.circleMarker`` or ``L.divIcon`` markers inside ``L.geoJson`` layers.
- `districts_map` colours each district of a batch run by its coverage share.
- `map_html` renders either as one self-contained page for intranets without internet: Leaflet's
  JS and CSS (`leaflet_assets`, from the ``django-js-lib-leaflet`` package) are inlined, folium's
  CDN links left out, element ids numbered, so identical inputs give a byte-identical page.

Every name from the planner's files is escaped (`circles.outputs.safety.html_text`) before it
reaches a tooltip, label, legend or layer name.

Basemap tiles are optional: ``tiles=None`` draws the data on a plain light background (offline);
``"osm"`` (OpenStreetMap) and ``"tianditu"`` (天地图, needs a key) load tiles from the internet, and a
``{z}/{x}/{y}`` URL template can point at an intranet tile server. Amap/Baidu tiles are not offered:
they are drawn in GCJ-02/BD-09 and would sit 300–1,400 m off the WGS84 data.

Example
-------
>>> from circles.options import RunOptions
>>> from circles.pipeline import analyse, prepare
>>> result = analyse(prepare(RunOptions(sample=True)))
>>> m = coverage_map(result.report, lang="zh", note=result.inputs.get("sample_label"))
>>> page = map_html(m)  # opens without internet
"""

from circles.outputs.map.coverage import SERVICE_AREA_KINDS, TILE_CHOICES, coverage_map
from circles.outputs.map.districts import COVERAGE_STEPS, coverage_colour, districts_map, districts_map_page
from circles.outputs.map.elements import GeoJsonLayer, Page
from circles.outputs.map.page import leaflet_assets, map_html
from circles.outputs.map.style import PALETTE, category_colours

__all__ = ["COVERAGE_STEPS", "GeoJsonLayer", "PALETTE", "Page", "SERVICE_AREA_KINDS", "TILE_CHOICES",
           "category_colours", "coverage_colour", "coverage_map", "districts_map", "districts_map_page",
           "leaflet_assets", "map_html"]
