"""Headless Chromium for the map and app tests: Debian's chromium driven by Playwright, with no internet.

Chromium resolves no host name (``--host-resolver-rules``), so a page that needed anything from the
internet would show it as a failed request or a console error. Needs Debian's Chromium
(``apt-get install -y chromium``) and Playwright (``pip install playwright==1.65.2``; its own
browser download is not needed).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Debian's /usr/bin/chromium is a shell wrapper; Playwright drives the binary itself
CHROMIUM_BINARY = Path("/usr/lib/chromium/chromium")
VIEW = {"width": 1280, "height": 800}
#: The most of the view the map's controls (layer list, legend, zoom, scale, attribution) may cover.
MAX_CONTROL_SHARE = 0.20

needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not found: install Debian's chromium "
                                    "(apt-get install -y chromium) to render in a real headless browser")


def sync_api() -> Any:
    return pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install "
                               "playwright==1.65.2 (the system Chromium is used, no browser download)")


@contextlib.contextmanager
def chromium(profile: Path, *, viewport: dict[str, int] | None = None, allow: str = "") -> Iterator[Any]:
    """A persistent headless Chromium context with a fresh profile that resolves no host name (but `allow`)."""
    api = sync_api()
    rules = "MAP * ~NOTFOUND" + (f", EXCLUDE {allow}" if allow else "")
    with api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM_BINARY if CHROMIUM_BINARY.exists() else CHROMIUM),
            headless=True, viewport=viewport or VIEW, locale="zh-CN",
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  f"--host-resolver-rules={rules}"])
        try:
            yield context
        finally:
            context.close()


def console_errors(page: Any) -> list[str]:
    """A list that fills with the page's console errors and uncaught exceptions."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    return errors


#: JavaScript: each Leaflet control's class and size on screen (in the given document).
CONTROL_BOXES = """(root) => Array.from(root.querySelectorAll('.leaflet-control')).map(e => {
    const r = e.getBoundingClientRect();
    return {cls: e.className, w: r.width, h: r.height, x: r.x, y: r.y}; })"""


def control_share(frame: Any, width: float, height: float) -> tuple[float, list[dict]]:
    """The share of a `width` × `height` view that the map's controls cover (clipped to the view), and the boxes."""
    boxes = _evaluate(frame, CONTROL_BOXES)
    area = 0.0
    for b in boxes:
        w = max(0.0, min(b["x"] + b["w"], width) - max(b["x"], 0.0))
        h = max(0.0, min(b["y"] + b["h"], height) - max(b["y"], 0.0))
        area += w * h
    return area / (width * height), boxes


def scale_texts(frame: Any) -> list[str]:
    """The texts of the scale bar's lines (one per unit system shown)."""
    return _evaluate(frame, "(root) => Array.from(root.querySelectorAll('.leaflet-control-scale-line'))"
                            ".map(e => e.innerText.trim())")


def overlay_names(frame: Any) -> list[str]:
    """The names of the layers in the layer control (groups folded or not)."""
    return _evaluate(frame, "(root) => Array.from(root.querySelectorAll('.leaflet-control-layers-overlays label'))"
                            ".map(e => e.textContent.trim())")


def _evaluate(frame: Any, js: str) -> Any:
    """`js` (a function of the document's root element) run in a page or a frame (a `FrameLocator` too)."""
    return frame.locator("html").evaluate(js)
