"""The viewer page in headless Chromium (Debian's ``chromium``, driven by Playwright with the
system browser): the page loads, its tile requests reach the server, the map shows the raster's
colours, a click shows the pixel value getPixel gives, and the frame slider changes the tiles.

Skipped, with the reason, when Chromium or Playwright is missing (``apt-get install chromium``;
Playwright's own browser download is not used).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from conftest import RGB_INTERPRETATIONS
from factory import make_raster
from PIL import Image

import geolargeimage

server_api = pytest.importorskip('geolargeimage.server',
                                 reason="the server extra (fastapi) is not installed")
playwright = pytest.importorskip('playwright.sync_api',
                                 reason='playwright is not installed (test extra)')
CHROMIUM = os.environ.get('GEOLARGEIMAGE_CHROMIUM') or shutil.which('chromium') \
    or '/usr/bin/chromium'
if not os.path.exists(CHROMIUM):
    pytest.skip(f'Chromium not found at {CHROMIUM} (apt-get install chromium, or set '
                'GEOLARGEIMAGE_CHROMIUM): the viewer tests need a headless browser',
                allow_module_level=True)

sync_playwright = playwright.sync_playwright
BackgroundServer, create_app = server_api.BackgroundServer, server_api.create_app

pytestmark = pytest.mark.filterwarnings('ignore::geolargeimage.NoOverviewsWarning')

CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                 '--disable-background-networking', '--disable-component-update',
                 '--disable-sync']
#: The two halves of the test rasters, and how close a screenshot pixel must come to them.
LEFT, RIGHT = (220, 30, 30), (30, 40, 210)
TOLERANCE = 12
SIZE = (1000, 600)
#: 2 m pixels in UTM 18N (about 74.4 W, 40.6 N).
GEOTRANSFORM = (500000.0, 2.0, 0.0, 4500000.0, 0.0, -2.0)
TIMEOUT_MS = 10_000
SCREENSHOTS = Path(os.environ.get('GEOLARGEIMAGE_SCREENSHOTS', '/tmp'))


def halves(width: int, height: int) -> np.ndarray:
    data = np.empty((height, width, 3), np.uint8)
    data[:, :width // 2] = LEFT
    data[:, width // 2:] = RIGHT
    return data


class RequestLog:
    """ASGI wrapper recording the path and query of every HTTP request the server gets."""

    def __init__(self, app):
        self.app = app
        self.requests: list[str] = []

    async def __call__(self, scope, receive, send):
        if scope['type'] == 'http':
            query = scope['query_string'].decode()
            self.requests.append(scope['path'] + ('?' + query if query else ''))
        await self.app(scope, receive, send)

    def tiles(self, source: str) -> list[str]:
        return [r for r in self.requests if r.startswith(f'/sources/{source}/tiles/')]


@pytest.fixture(scope='module')
def rasters(tmp_path_factory, multipage_rgb) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp('viewer')
    width, height = SIZE
    return {
        'geo': make_raster(folder / 'geo.tif', width, height, 3, data=halves(width, height),
                           epsg=32618, geotransform=GEOTRANSFORM, options=['TILED=YES'],
                           overviews=[2, 4], interpretations=RGB_INTERPRETATIONS),
        'plain': make_raster(folder / 'plain.tif', width, height, 3, data=halves(width, height),
                             options=['TILED=YES'], interpretations=RGB_INTERPRETATIONS),
        'multipage': multipage_rgb,
    }


@pytest.fixture(scope='module')
def server(rasters):
    log = RequestLog(create_app([str(path) for path in rasters.values()]))
    with BackgroundServer(log) as running:
        running.log = log
        yield running


@pytest.fixture(scope='module')
def browser(tmp_path_factory):
    profile = tmp_path_factory.mktemp('chromium-profile')  # a new, empty user data dir
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={'width': 900, 'height': 600})
        yield context
        context.close()


@pytest.fixture
def page(browser):
    page = browser.new_page()
    errors: list[str] = []
    page.on('pageerror', lambda error: errors.append(str(error)))
    page.errors = errors
    yield page
    page.close()
    assert not errors, errors


def open_viewer(page, server, source: str):
    page.goto(f'{server.url}?source={source}')
    page.wait_for_selector('body[data-ready][data-tiles-loaded]', timeout=TIMEOUT_MS)
    settle(page)


def settle(page):
    """Wait until Leaflet has faded the loaded tiles in (its fade lasts 200 ms)."""
    page.wait_for_function("[...document.querySelectorAll('.leaflet-tile-loaded')]"
                           ".every(t => !t.style.opacity || t.style.opacity === '1')",
                           timeout=TIMEOUT_MS)
    page.wait_for_timeout(250)


def map_pixels(page) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(page.locator('#map').screenshot())).convert('RGB'))


def near(pixels: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    return np.abs(pixels.astype(int) - colour).max(axis=2) <= TOLERANCE


def click_at(page, lat: float, lng: float) -> dict:
    """Click the map at (lat, lng) and return the viewer's pixel query and result."""
    point = page.evaluate('([lat, lng]) => geolargeimageViewer.map.latLngToContainerPoint('
                          '[lat, lng])', [lat, lng])
    box = page.locator('#map').bounding_box()
    page.mouse.click(box['x'] + point['x'], box['y'] + point['y'])
    page.wait_for_function("document.getElementById('pixel-value').dataset.result",
                           timeout=TIMEOUT_MS)
    element = page.locator('#pixel-value')
    return {'query': parse_qs(element.get_attribute('data-query')),
            'result': json.loads(element.get_attribute('data-result')),
            'text': element.inner_text()}


def wait_for(condition, timeout: float = TIMEOUT_MS / 1000):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, 'timed out'
        time.sleep(0.05)


@pytest.mark.parametrize('source', ['geo', 'plain'])
def test_page_loads_requests_tiles_and_draws_the_raster(page, server, source):
    before = len(server.log.tiles(source))
    open_viewer(page, server, source)
    requested = server.log.tiles(source)[before:]
    assert len(requested) >= 1
    assert all(r.split('?')[0].endswith('.png') for r in requested)
    if source == 'plain':
        assert all('edge=crop' in r for r in requested)
    static = [r for r in server.log.requests if r.startswith('/static/leaflet/')]
    assert '/static/leaflet/leaflet.js' in static
    pixels = map_pixels(page)
    Image.fromarray(pixels).save(SCREENSHOTS / f'viewer-{source}.png')
    left, right = near(pixels, LEFT), near(pixels, RIGHT)
    area = pixels.shape[0] * pixels.shape[1]
    assert left.sum() > 0.05 * area and right.sum() > 0.05 * area
    assert np.nonzero(left)[1].mean() < np.nonzero(right)[1].mean()  # red half on the left
    # Outside the raster: the map's background, not black padding or stretched tiles.
    assert (near(pixels, LEFT) | near(pixels, RIGHT)).sum() < 0.95 * area
    assert not near(pixels[100:], (0, 0, 0)).any()  # (the zoom buttons' glyphs are black)


def test_click_on_a_georeferenced_map_shows_getpixel(page, server, rasters):
    open_viewer(page, server, 'geo')
    native = geolargeimage.open(rasters['geo'])
    bounds = native.getBounds('EPSG:4326')
    lat = (bounds['ymin'] + bounds['ymax']) / 2
    lng = bounds['xmin'] + (bounds['xmax'] - bounds['xmin']) * 0.25
    clicked = click_at(page, lat, lng)
    query = clicked['query']
    assert query['units'] == ['EPSG:4326']
    expected = native.getPixel(region={'left': float(query['x'][0]),
                                       'top': float(query['y'][0]), 'units': 'EPSG:4326'})
    assert clicked['result'] == json.loads(json.dumps(expected))
    assert expected['bands'] == {1: LEFT[0], 2: LEFT[1], 3: LEFT[2]}
    assert f'band 1 (red): {LEFT[0]}' in clicked['text']
    assert f'band 3 (blue): {LEFT[2]}' in clicked['text']


def test_click_on_a_pixel_map_shows_getpixel(page, server, rasters):
    open_viewer(page, server, 'plain')
    scale = 2 ** (geolargeimage.open(rasters['plain']).levels - 1)
    clicked = click_at(page, -450 / scale, 800 / scale)  # base pixel (800, 450)
    query = clicked['query']
    x, y = int(query['x'][0]), int(query['y'][0])
    assert abs(x - 800) <= scale and abs(y - 450) <= scale
    expected = geolargeimage.open(rasters['plain']).getPixel(region={'left': x, 'top': y})
    assert clicked['result'] == json.loads(json.dumps(expected))
    assert f'band 1 (red): {RIGHT[0]}' in clicked['text']


def test_frame_slider_changes_the_tile_urls(page, server, rasters):
    open_viewer(page, server, 'multipage')
    slider = page.locator('#frame')
    assert slider.is_visible() and slider.get_attribute('max') == '2'
    assert all('frame=0' in r for r in server.log.tiles('multipage'))
    shown = map_pixels(page)
    before = len(server.log.tiles('multipage'))
    page.evaluate("() => { const s = document.getElementById('frame'); s.value = '2';"
                  " s.dispatchEvent(new Event('change')); }")
    wait_for(lambda: any('frame=2' in r for r in server.log.tiles('multipage')[before:]))
    page.wait_for_function("[...document.querySelectorAll('.leaflet-tile-loaded')]"
                           ".some(t => t.src.includes('frame=2'))", timeout=TIMEOUT_MS)
    assert '3 / 3' in page.locator('#frame-label').inner_text()
    urls = page.evaluate("[...document.querySelectorAll('.leaflet-tile')].map(t => t.src)")
    assert urls and all(parse_qs(urlsplit(url).query)['frame'] == ['2'] for url in urls)
    settle(page)
    assert not np.array_equal(map_pixels(page), shown)


def test_single_frame_sources_hide_the_slider_and_palette_restyles(page, server):
    open_viewer(page, server, 'plain')
    assert not page.locator('#frame').is_visible()
    options = page.locator('#palette option').all_inner_texts()
    assert 'viridis' in options
    before = len(server.log.tiles('plain'))
    page.select_option('#band', '1')
    page.select_option('#palette', 'viridis')
    wait_for(lambda: any('palette=viridis' in r and 'band=1' in r
                         for r in server.log.tiles('plain')[before:]))
    page.fill('#max', '100')
    page.dispatch_event('#max', 'change')
    wait_for(lambda: any('max=100' in r for r in server.log.tiles('plain')[before:]))
    page.wait_for_function("[...document.querySelectorAll('.leaflet-tile-loaded')]"
                           ".some(t => t.src.includes('max=100'))", timeout=TIMEOUT_MS)
    settle(page)
    pixels = map_pixels(page)
    assert not near(pixels, LEFT).any()  # no longer the raw colours
    assert page.locator('#status').inner_text() == ''
