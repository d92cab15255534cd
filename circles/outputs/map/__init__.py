"""Maps: the coverage map (folium, streets, grouped layers, legend), the batch choropleth, and offline pages.

- `coverage_map` draws the street network as a light base layer (道路/Streets), then per service
  category the facilities (one layer per tier), the service areas, the gap areas and the
  uncovered demand units, plus suggested sites and district borders, each a `folium.FeatureGroup`
  named in Chinese or English, in a layer control grouped by category (collapsible) with the
  basemaps, a legend listing the coverage share of every category, and a metric scale bar.
  Lines and polygons travel packed (`packing`) and are unpacked by the page's own script
  (`runtime`); only Leaflet is needed.
- `analysis_map` is `coverage_map` fed from a pipeline result (map.html, the app, the report).
- `districts_map` colours each district of a batch run by its coverage share.
- `map_html` renders either as one self-contained page for intranets without internet: Leaflet's
  JS and CSS (`leaflet_assets`, from the ``django-js-lib-leaflet`` package) are inlined, folium's
  CDN links left out, element ids numbered, so identical inputs give a byte-identical page.

Every name from the planner's files is escaped (`circles.outputs.safety.html_text`) before it
reaches a tooltip, label, legend or layer name.

Basemap tiles are optional and off on opening: the map reads with the streets alone (offline).
The layer control offers OpenStreetMap, in China also 天地图 (with a key: ``tile_key`` or
``$CIRCLES_TIANDITU_KEY``) and Amap/高德, whose GCJ-02 tiles make the page draw every layer shifted
to GCJ-02 while they show; a ``{z}/{x}/{y}`` URL template can add an intranet tile server.

Example
-------
>>> from circles.options import RunOptions
>>> from circles.pipeline import analyse, prepare
>>> result = analyse(prepare(RunOptions(sample=True)))
>>> m = analysis_map(result)
>>> page = map_html(m)  # opens without internet
"""

from circles.outputs.map.coverage import SERVICE_AREA_KINDS, TIANDITU_KEY_ENV, TILE_CHOICES, basemaps, coverage_map
from circles.outputs.map.districts import COVERAGE_STEPS, coverage_colour, districts_map, districts_map_page
from circles.outputs.map.elements import GeoJsonLayer, Page
from circles.outputs.map.page import leaflet_assets, map_html
from circles.outputs.map.result import analysis_map, result_sites
from circles.outputs.map.style import PALETTE, category_colours

__all__ = ["COVERAGE_STEPS", "GeoJsonLayer", "PALETTE", "Page", "SERVICE_AREA_KINDS", "TIANDITU_KEY_ENV",
           "TILE_CHOICES", "analysis_map", "basemaps", "category_colours", "coverage_colour", "coverage_map",
           "districts_map", "districts_map_page", "leaflet_assets", "map_html", "result_sites"]
