"""The app in a real browser: `streamlit run app.py` on a free local port, headless Chromium, no internet.

Chromium resolves no host name at all (``--host-resolver-rules``), so the map drawing proves it
needs nothing from a CDN; every request the page makes is also checked to go to the local server.
Screenshots are saved in ``out/screenshots/`` (or ``$CIRCLES_SCREENSHOT_DIR``).

Needs Debian's Chromium (``apt-get install -y chromium``) and Playwright (``pip install
playwright==1.65.2``; its own browser download is not needed, the system Chromium is used).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT

CHROMIUM = Path("/usr/bin/chromium")
# Debian's /usr/bin/chromium is a shell wrapper; Playwright drives the binary itself
CHROMIUM_BINARY = Path("/usr/lib/chromium/chromium")
SCREENSHOTS = Path(os.environ.get("CIRCLES_SCREENSHOT_DIR", ROOT / "out" / "screenshots"))
MAP_FRAME = "iframe[title='streamlit_folium.st_folium']"
FIRST_RENDER_S = 240  # the cold first analysis of the sample plus imports; CI machines are slow

pytestmark = [
    pytest.mark.slow,
    # only localhost: the test talks to its own server, Chromium to nothing else
    pytest.mark.allow_hosts(["127.0.0.1"]),
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not found: install Debian's chromium "
                       "(apt-get install -y chromium) to run the app in a real headless browser"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: "
                               "pip install playwright==1.65.2 (the system Chromium is used, no browser download)")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`streamlit run app.py --server.headless true` on a free port; its log is kept for the assertions."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("server") / "streamlit.log"
    # a fresh home and network cache: nothing from earlier runs (~/.streamlit/cache) is reused
    env = {**os.environ, "HOME": str(tmp_path_factory.mktemp("home")), "PYTHONUNBUFFERED": "1",
           "CIRCLES_CACHE_DIR": str(tmp_path_factory.mktemp("cache"))}
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]
    with log_path.open("w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("streamlit did not start:\n" + log_path.read_text()[-3000:]) from None
                time.sleep(0.3)
        yield url, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture()
def browser(tmp_path):
    """Headless Chromium with a fresh profile that can resolve no host name (so: no internet)."""
    profile = tmp_path / "chromium-profile"
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM_BINARY if CHROMIUM_BINARY.exists() else CHROMIUM),
            headless=True, viewport={"width": 1440, "height": 1800}, locale="zh-CN",
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"])
        try:
            yield context
        finally:
            context.close()
    shutil.rmtree(profile, ignore_errors=True)


def _shot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 30_000
    return path


def _wait_for_map(page, timeout_s: float, legend: str | None = None):
    """The map's frame once Leaflet has drawn it (the newest frame: a rerun may briefly keep the old one)."""
    frame = page.frame_locator(MAP_FRAME).last
    frame.locator("body[data-circles-map=ready]").wait_for(state="attached", timeout=timeout_s * 1000)
    frame.locator(".leaflet-control-layers").wait_for(timeout=30_000)
    if legend is not None:
        frame.locator("#circles-legend", has_text=legend).wait_for(timeout=timeout_s * 1000)
    page.wait_for_function(f"document.querySelectorAll({MAP_FRAME!r}).length === 1", timeout=30_000)
    return frame


def _no_exception(page, log_path: Path) -> None:
    assert page.locator("[data-testid='stException']").count() == 0
    text = page.locator("body").inner_text()
    assert "Traceback" not in text and "Exception" not in text
    assert "Traceback" not in log_path.read_text()


def test_app_in_headless_chromium(server, browser):
    url, log_path = server
    page = browser.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    # 1. the first page: the sample's figures and the Leaflet map with its data layers
    t0 = time.monotonic()
    page.goto(url)
    frame = _wait_for_map(page, FIRST_RENDER_S)
    first_render_s = time.monotonic() - t0
    page.get_by_role("heading", name="覆盖地图").wait_for()
    metrics = page.locator("[data-testid='stMetric']")
    assert metrics.count() == 3
    values = [metrics.nth(i).locator("[data-testid='stMetricValue']").inner_text() for i in range(3)]
    labels = [metrics.nth(i).locator("[data-testid='stMetricLabel']").inner_text() for i in range(3)]
    assert labels == ["养老服务设施", "老年助餐服务", "未成年人保护服务"]
    assert all(re.fullmatch(r"\d{1,3}\.\d%", v) for v in values), values
    legend = frame.locator("#circles-legend").inner_text()
    for v in values:  # the map's legend shows the same coverage shares
        assert v in legend
    layers = frame.locator(".leaflet-control-layers-overlays").inner_text()
    for name in ("街道/乡镇边界", "养老服务设施：覆盖缺口", "养老服务设施：未覆盖居民点", "养老服务设施：15分钟服务范围",
                 "设施：社区养老服务站/日间照料中心", "老年助餐服务：覆盖缺口", "未成年人保护服务：未覆盖居民点"):
        assert name in layers, name
    assert frame.locator("path.leaflet-interactive").count() > 50  # service areas, gaps, facilities, residents
    assert frame.locator(".circles-district-label").count() == 3
    assert frame.locator("path.circles-gap-0").count() > 0
    _no_exception(page, log_path)
    _shot(page, "app_map_zh.png")

    # 2. the language switch changes labels, legend and layer names
    page.locator("[data-testid='stSidebar']").get_by_text("English").click()
    page.get_by_role("heading", name="Coverage map").wait_for(timeout=60_000)
    frame = _wait_for_map(page, 60, legend="Legend")  # the map is drawn again, in English
    page.get_by_text("Elderly-care facility", exact=True).first.wait_for()
    legend = frame.locator("#circles-legend").inner_text()
    assert "Legend" in legend and "图例" not in legend
    layers = frame.locator(".leaflet-control-layers-overlays").inner_text()
    assert "Elderly-care facility: coverage gaps" in layers and "覆盖缺口" not in layers
    assert page.locator("[data-testid='stSidebarNav']").get_by_text("Scenarios").count() == 1
    _no_exception(page, log_path)
    _shot(page, "app_map_en.png")

    # 3. figures page in English: the per-district table with rule checks
    page.locator("[data-testid='stSidebarNav']").get_by_text("Figures").click()
    page.get_by_role("heading", name="Coverage per district").wait_for(timeout=60_000)
    page.get_by_role("heading", name="Rule checks").wait_for()
    page.wait_for_function("document.querySelectorAll(\"[data-testid='data-grid-canvas']\").length >= 3 && "
                           "document.querySelector(\"[data-testid='stVegaLiteChart'] svg, [data-testid='stVegaLiteChart'] canvas\") !== null",
                           timeout=30_000)
    page.get_by_text("✓ met").first.wait_for(state="attached")  # a cell of the rule checks
    page.get_by_text("示例一街道").first.wait_for(state="attached")
    page.wait_for_timeout(500)
    _no_exception(page, log_path)
    _shot(page, "app_figures_en.png")

    # 4. back to Chinese; scenarios: click the map, add the site, see the coverage change
    page.locator("[data-testid='stSidebar']").get_by_text("中文").click()
    page.locator("[data-testid='stSidebarNav']").get_by_text("方案比选").click()
    page.get_by_role("radio", name="在地图上点击添加站点").click(timeout=60_000)
    frame = _wait_for_map(page, 60)
    lon = page.get_by_label("经度")
    before = lon.input_value()
    frame.locator("#map_div").click(position={"x": 420, "y": 260})
    page.wait_for_function("(v) => { const e = document.querySelector('input[aria-label=\"经度\"]'); "
                           "return e !== null && e.value !== v; }", arg=before, timeout=30_000)  # re-drawn inputs: null-safe
    assert lon.input_value() != before
    page.get_by_role("button", name="添加站点").click()
    page.get_by_text("手动添加").first.wait_for(state="attached", timeout=60_000)  # a cell of the sites table
    _wait_for_map(page, 60)
    _no_exception(page, log_path)
    _shot(page, "app_scenario_zh.png")

    assert errors == [], errors
    local = (url, "data:", "blob:", "about:")
    assert [r for r in requests if not r.startswith(local)] == []
    print(f"\nfirst render of the sample (cold server): {first_render_s:.1f} s; screenshots in {SCREENSHOTS}")
