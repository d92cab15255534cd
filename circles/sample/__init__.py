"""The built-in sample district: a seeded, synthetic (示例数据) Chinese-style district for demos and benchmarks.

Nothing here is a real place. `make_sample` draws a fictional district (示例区) centred near
lon 114.30, lat 30.60 from a seed: an arterial grid, gated residential compounds (小区) whose
internal paths reach the roads only through their 1–3 gates, schools and parks, a river crossed by a
couple of bridges, a village fringe (村) with sparse roads, three streets (街道/镇), a facility
ledger and population units. Every name, address and file it produces is labelled 示例数据.

Layout is drawn in a local metric frame (integer metres, x east, y north, origin at the south-west
corner), bent by a gentle smooth warp and a small rotation so the roads are not ruler-straight, then
converted to WGS84 with a transverse Mercator projection centred on the district (pyproj; lengths
are true to about 1e-5 over the 45 km of ``size=200``).

``size=1`` gives about 5,000 network nodes (way ends and nodes shared by two or more ways, i.e. the
nodes left after simplification to intersections) on roughly 3 km × 3 km; the area grows with
``size`` at constant density, so ``size=200`` gives about a million nodes. Everything is built with
vectorised numpy; per-object Python work is per block or per compound, never per node.

`write_sample_files` is the I/O edge: it writes the OSM-like network as ``.osm.pbf`` and the ledger,
population and streets as the files a planner would hand to the tool.

One module per stage, in the order `make_sample` runs them (each draws from the one seeded
generator, so the order is part of the output): `layout` (the plan and the metric frame → WGS84),
`ways` (the way store), `roads`, `blocks` (parcels, paths, gates), `fringe` (villages), `people`
(ledger and population), `district` (`make_sample`, `SampleDistrict`), `files` (`write_sample_files`);
`names` holds the word pools and the label.
"""

from __future__ import annotations

from circles.sample.district import SampleDistrict, make_sample
from circles.sample.files import FACILITY_HEADERS, POPULATION_HEADERS, write_sample_files
from circles.sample.layout import CENTRE_LAT, CENTRE_LON, STREETS
from circles.sample.names import SAMPLE_LABEL

__all__ = ["SAMPLE_LABEL", "SampleDistrict", "make_sample", "write_sample_files", "STREETS", "FACILITY_HEADERS",
           "POPULATION_HEADERS", "CENTRE_LON", "CENTRE_LAT"]
