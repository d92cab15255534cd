"""A folium map as one self-contained HTML page that works offline, identical for identical maps.

`map_html` renders a copy of the map's page after three changes made on the element tree (never
on the rendered text): folium's CDN links (Leaflet, jQuery, Bootstrap, awesome-markers) are
dropped, Leaflet itself (from the ``django-js-lib-leaflet`` package, `leaflet_assets`) is put
into the page header, and every element gets an id numbered in tree order instead of folium's
random one. A map that loads anything else from the internet (a plugin) is refused.
"""

from __future__ import annotations

import base64
import copy
import functools
import importlib.resources
import re
from collections.abc import Iterator

import folium
from branca.element import CssLink, Element, Figure, JavascriptLink
from folium.elements import JSCSSMixin

from circles.errors import InputError, OutputError

__all__ = ["leaflet_assets", "map_html"]

#: What folium's pages load from CDNs: Leaflet (inlined instead) and jQuery, Bootstrap, awesome-markers
#: (not used by these maps). Any other external script or stylesheet is an error, not silently dropped.
_FOLIUM_CDN = frozenset(url for _, url in (*folium.Map.default_js, *folium.Map.default_css))


@functools.cache
def leaflet_assets() -> tuple[str, str, str]:
    """Leaflet's JavaScript, its CSS with the images inlined as data URIs, and its version.

    Read from the ``django-js-lib-leaflet`` package (a dependency), so maps need no CDN. The
    JavaScript is safe inside a ``<script>`` element (``</script`` escaped) and has no source-map
    comment (the ``.map`` file is not shipped with a page).

    Returns
    -------
    tuple of str
        ``(js, css, version)``, e.g. version ``"1.9.4"``.

    Raises
    ------
    OutputError
        The package is not installed.
    """
    try:
        root = importlib.resources.files("js_lib_leaflet") / "static" / "js_lib_leaflet"
        js = (root / "leaflet.js").read_text(encoding="utf-8")
        css = (root / "leaflet.css").read_text(encoding="utf-8")
        images = {p.name: p.read_bytes() for p in (root / "images").iterdir() if p.name.endswith(".png")}
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise OutputError("Leaflet is not installed (package django-js-lib-leaflet); install the project's "
                          "dependencies (pip install -e .) to write offline maps") from exc
    for name, data in sorted(images.items()):
        css = css.replace(f"url(images/{name})", "url(data:image/png;base64," + base64.b64encode(data).decode() + ")")
    js = re.sub(r"//# sourceMappingURL=\S+\s*$", "", js)
    version = re.search(r"Leaflet (\d+\.\d+\.\d+)", js)
    return js.replace("</script", "<\\/script"), css, version.group(1) if version else "unknown"


class _Leaflet(Element):
    """Leaflet's CSS and JavaScript inlined in the page header."""

    def render(self, **kwargs: object) -> str:
        js, css, version = leaflet_assets()
        return (f"<script>/* Leaflet {version}, inlined for offline use */\n{js}\n</script>\n"
                f"<style>/* Leaflet {version} */\n{css}\n</style>\n")


def map_html(m: folium.Map) -> str:
    """The map as one self-contained HTML page that works offline, identical for identical maps.

    Leaflet's JS and CSS are inlined; folium's CDN links (Leaflet, jQuery, Bootstrap,
    awesome-markers) are left out; element ids are numbered in tree order (``map_1`` …) instead
    of folium's random ones. Basemap tiles, when the map has them, still come from their
    servers. The map itself is not changed (a copy is rendered).

    Parameters
    ----------
    m
        A folium map, e.g. from `circles.outputs.map.coverage_map`.

    Returns
    -------
    str
        The page (UTF-8 text).

    Raises
    ------
    InputError
        The map uses a plugin that loads other scripts or stylesheets from the internet.
    """
    # folium adds elements to the tree while rendering (a second render repeats them): render a copy,
    # so the page is the same however often it is asked for and `m` stays as the caller built it
    root = copy.deepcopy(m.get_root())
    if not isinstance(root, Figure):
        raise InputError("map_html needs a map inside a page (a folium.Map is; got a bare element)")
    _drop_cdn_links(root)
    root.header.add_child(_Leaflet(), name="circles_leaflet", index=1)  # after the charset <meta>
    for number, element in enumerate(_walk(root)):
        element._id = str(number)  # Figure 0, the map 1, then its layers in order
    return root.render()


def _walk(root: Element) -> Iterator[Element]:
    """Every element of the tree once, depth first in order (children, then a page's header/html/script)."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        el = stack.pop()
        if id(el) in seen:
            continue
        seen.add(id(el))
        yield el
        parts = [getattr(el, attr, None) for attr in ("header", "html", "script")]
        stack.extend(reversed([*el._children.values(), *(p for p in parts if isinstance(p, Element))]))


def _drop_cdn_links(root: Figure) -> None:
    """Leave out folium's CDN scripts and styles; refuse any other external resource."""
    foreign: list[str] = []
    for el in _walk(root):
        if isinstance(el, folium.Map):
            el.default_js, el.default_css = [], []  # Leaflet is inlined instead (set on this copy only)
        elif isinstance(el, JSCSSMixin):
            foreign += [url for _, url in (*el.default_js, *el.default_css) if _external(url)]
    for name, child in list(root.header._children.items()):  # links left by an earlier render of the map
        if isinstance(child, (JavascriptLink, CssLink)) and _external(child.url):
            if child.url in _FOLIUM_CDN:
                del root.header._children[name]
            else:
                foreign.append(child.url)
    if foreign:
        raise InputError(f"the map loads {foreign[0]} from the internet, which an offline page cannot; "
                         "use only folium's core layers (GeoJson, CircleMarker, DivIcon markers)")


def _external(url: str) -> bool:
    return url.startswith(("http://", "https://", "//"))

