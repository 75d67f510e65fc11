"""The tile server (geolargeimage.server): every route through FastAPI's TestClient, and a real
uvicorn server on a free port of 127.0.0.1 for raw paths and concurrent clients. Responses are
compared with what the library returns for the same request."""

from __future__ import annotations

import http.client
import inspect
import io
import json
import os
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import mercantile
import numpy as np
import pytest
from conftest import DEM_GEOTRANSFORM, UTM_GEOTRANSFORM
from factory import make_raster
from PIL import Image

import geolargeimage

server_api = pytest.importorskip('geolargeimage.server',
                                 reason="the server extra (fastapi) is not installed")
pytest.importorskip('httpx', reason='FastAPI TestClient needs httpx')
TestClient = pytest.importorskip('fastapi.testclient').TestClient
BackgroundServer, create_app = server_api.BackgroundServer, server_api.create_app


pytestmark = pytest.mark.filterwarnings('ignore::geolargeimage.NoOverviewsWarning')


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


@pytest.fixture(scope='module')
def files(rgb_tiled, ungeoreferenced_gray, multipage_rgb, dem_float32) -> dict[str, Path]:
    """id → path of the files the module's server serves."""
    return {'rgb_tiled': rgb_tiled, 'gray': ungeoreferenced_gray, 'multipage': multipage_rgb,
            'dem': dem_float32}


@pytest.fixture(scope='module')
def app(files):
    return create_app([str(path) for path in files.values()])


@pytest.fixture(scope='module')
def client(app) -> TestClient:
    return TestClient(app)


@pytest.fixture(scope='module')
def live(app):
    """The same app behind a real uvicorn server on a free port of 127.0.0.1."""
    with BackgroundServer(app) as server:
        yield server


def inner_tiles(path: Path, z: int, count: int, *, inside: bool = True) -> list[mercantile.Tile]:
    """``count`` web-mercator tiles of zoom ``z`` wholly inside the raster's footprint (or,
    with ``inside=False``, touching it)."""
    bounds = geolargeimage.open(path).getBounds('EPSG:4326')
    tiles = [tile for tile in mercantile.tiles(bounds['xmin'], bounds['ymin'], bounds['xmax'],
                                               bounds['ymax'], [z])
             if not inside or _inside(mercantile.bounds(tile), bounds)]
    assert len(tiles) >= count
    return tiles[:: max(1, len(tiles) // count)][:count]


def _inside(box, bounds) -> bool:
    return (box.west > bounds['xmin'] and box.east < bounds['xmax']
            and box.south > bounds['ymin'] and box.north < bounds['ymax'])


# -- listing and static files ---------------------------------------------------------------------
def test_sources_lists_each_file_with_its_grid(client, files):
    listing = client.get('/sources').json()
    by_id = {entry['id']: entry for entry in listing}
    assert list(by_id) == list(files)
    assert by_id['rgb_tiled']['crs'] == 'EPSG:3857'
    assert by_id['gray']['crs'] == 'pixel'
    gray = geolargeimage.open(files['gray'])
    assert (by_id['gray']['sizeX'], by_id['gray']['sizeY']) == (gray.sizeX, gray.sizeY)
    assert by_id['gray']['maxzoom'] == gray.levels - 1
    projected = geolargeimage.open(files['rgb_tiled'], projection='EPSG:3857')
    assert by_id['rgb_tiled']['maxzoom'] == projected.levels - 1
    bounds = geolargeimage.open(files['rgb_tiled']).getBounds('EPSG:4326')
    assert by_id['rgb_tiled']['bounds'] == pytest.approx(
        [bounds['xmin'], bounds['ymin'], bounds['xmax'], bounds['ymax']])
    assert by_id['multipage']['frames'] == 3
    assert by_id['rgb_tiled']['bands'] == ['red', 'green', 'blue']
    assert client.get('/sources/gray').json() == by_id['gray']


def test_ids_are_unique_slugs(tmp_path):
    first = make_raster(tmp_path / 'My Scan.tif', 300, 200, 1)
    (tmp_path / 'b').mkdir()
    second = make_raster(tmp_path / 'b' / 'My Scan.tif', 300, 200, 1)
    listing = TestClient(create_app([str(first), str(second)])).get('/sources').json()
    assert [entry['id'] for entry in listing] == ['my-scan', 'my-scan-2']


def test_viewer_page_and_leaflet_are_served_locally(client):
    page = client.get('/')
    assert page.status_code == 200 and page.headers['content-type'].startswith('text/html')
    assert 'static/leaflet/leaflet.js' in page.text and 'viewer.js' in page.text
    for url in ('/static/leaflet/leaflet.js', '/static/leaflet/leaflet.css',
                '/static/leaflet/images/marker-icon.png', '/viewer.js', '/viewer.css'):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers['cache-control'].startswith('public')
    for text in (page.text, client.get('/viewer.js').text):
        assert 'http://' not in text and 'https://' not in text and '//unpkg' not in text
    assert client.get('/static/leaflet/missing.js').status_code == 404
    assert client.get('/palettes').json()[:3] == ['blues', 'cividis', 'greens']


# -- tiles ----------------------------------------------------------------------------------------
def test_web_mercator_png_tiles_equal_the_library(client, files):
    source = geolargeimage.open(files['rgb_tiled'], projection='EPSG:3857', encoding='PNG')
    native_z = source.levels - 1
    for z, inside in ((native_z, True), (native_z - 3, False)):
        for tile in inner_tiles(files['rgb_tiled'], z, 3 if inside else 1, inside=inside):
            response = client.get(f'/sources/rgb_tiled/tiles/{z}/{tile.x}/{tile.y}.png')
            assert response.status_code == 200
            assert response.headers['content-type'] == 'image/png'
            expected = decode(source.getTile(tile.x, tile.y, z))
            assert np.array_equal(decode(response.content), expected)
            assert expected[..., 3].max() == 255
            if inside:  # wholly inside the footprint: opaque data
                assert expected[..., 3].min() == 255


def test_web_mercator_tile_outside_the_data_is_transparent(client):
    response = client.get('/sources/rgb_tiled/tiles/3/0/0.png')
    assert response.status_code == 200
    assert decode(response.content)[..., 3].max() == 0


def test_pixel_grid_tiles_equal_the_library(client, files):
    source = geolargeimage.open(files['gray'], encoding='PNG')
    for x, y, z in ((0, 0, 0), (1, 0, 2), (2, 1, 2)):
        response = client.get(f'/sources/gray/tiles/{z}/{x}/{y}.png')
        assert response.status_code == 200
        assert np.array_equal(decode(response.content), decode(source.getTile(x, y, z)))


def test_edge_crop_crops_pixel_grid_edge_tiles(client, files):
    padded = decode(client.get('/sources/gray/tiles/2/2/1.png').content)
    cropped = decode(client.get('/sources/gray/tiles/2/2/1.png?edge=crop').content)
    assert padded.shape[:2] == (256, 256)
    assert cropped.shape[:2] == (500 - 256, 700 - 512)
    assert np.array_equal(cropped, padded[:cropped.shape[0], :cropped.shape[1]])
    assert client.get('/sources/gray/tiles/0/0/0.png?edge=bogus').status_code == 400


@pytest.mark.parametrize('ext, mime, encoding', [('jpg', 'image/jpeg', 'JPEG'),
                                                 ('jpeg', 'image/jpeg', 'JPEG'),
                                                 ('webp', 'image/webp', 'WEBP')])
def test_tile_formats(client, files, ext, mime, encoding):
    response = client.get(f'/sources/gray/tiles/1/0/0.{ext}')
    assert response.status_code == 200 and response.headers['content-type'] == mime
    expected = geolargeimage.open(files['gray'], encoding=encoding).getTile(0, 0, 1)
    assert response.content == bytes(expected)


def test_frames_route_and_frame_tiles(client, files):
    frames = client.get('/sources/multipage/frames').json()
    assert frames['count'] == 3 and len(frames['frames']) == 3
    assert client.get('/sources/gray/frames').json() == {
        'count': 1, 'frames': [{'Frame': 0, 'Index': 0}]}
    source = geolargeimage.open(files['multipage'], projection='EPSG:3857', encoding='PNG')
    z = source.levels - 1
    tile = inner_tiles(files['multipage'], z, 1)[0]
    tiles = []
    for frame in range(3):
        response = client.get(f'/sources/multipage/tiles/{z}/{tile.x}/{tile.y}.png?frame={frame}')
        assert response.status_code == 200
        tiles.append(decode(response.content))
        assert np.array_equal(tiles[-1], decode(source.getTile(tile.x, tile.y, z, frame=frame)))
    assert not np.array_equal(tiles[0], tiles[1])
    assert client.get(f'/sources/multipage/tiles/{z}/{tile.x}/{tile.y}.png?frame=3'
                      ).status_code == 404


# -- styles ---------------------------------------------------------------------------------------
def test_style_shortcuts_and_style_json_equal_the_library(client, files):
    z, x, y = 0, 0, 0
    style = {'band': 1, 'min': 10, 'max': 200, 'palette': 'viridis'}
    expected = decode(geolargeimage.open(files['gray'], encoding='PNG', style=style
                                         ).getTile(x, y, z))
    by_shortcuts = client.get(f'/sources/gray/tiles/{z}/{x}/{y}.png?min=10&max=200'
                              '&palette=viridis')
    by_json = client.get(f'/sources/gray/tiles/{z}/{x}/{y}.png?style=' + quote(json.dumps(style)))
    for response in (by_shortcuts, by_json):
        assert response.status_code == 200
        assert np.array_equal(decode(response.content), expected)
    plain = decode(client.get(f'/sources/gray/tiles/{z}/{x}/{y}.png').content)
    assert not np.array_equal(plain[..., :1], expected[..., :1])


def test_min_max_on_an_rgb_file_stretch_each_colour_band(client, files):
    source = geolargeimage.open(files['rgb_tiled'], projection='EPSG:3857')
    z = source.levels - 1
    tile = inner_tiles(files['rgb_tiled'], z, 1)[0]
    url = f'/sources/rgb_tiled/tiles/{z}/{tile.x}/{tile.y}.png'
    plain = decode(client.get(url).content).astype(int)
    stretched = decode(client.get(url + '?min=0&max=127').content).astype(int)
    assert np.all(stretched[..., :3] >= np.minimum(plain[..., :3] * 2 - 2, 255))
    one_band = decode(client.get(url + '?band=2&min=0&max=127').content)
    assert np.array_equal(one_band[..., 0], one_band[..., 1])  # grey ramp of band 2


def test_float_file_with_a_palette_in_pixel_values(client, files):
    """A float DEM: the pixel route reports raw values; the style's value follows min/max."""
    col, row = 10, 20
    lon = DEM_GEOTRANSFORM[0] + (col + 0.5) * DEM_GEOTRANSFORM[1]
    lat = DEM_GEOTRANSFORM[3] + (row + 0.5) * DEM_GEOTRANSFORM[5]
    result = client.get(f'/sources/dem/pixel?x={lon}&y={lat}&units=EPSG:4326'
                        '&min=0&max=250&palette=terrain').json()
    expected = geolargeimage.open(files['dem']).getPixel(
        region={'left': lon, 'top': lat, 'units': 'EPSG:4326'},
        style={'band': 1, 'min': 0, 'max': 250, 'palette': 'terrain'})
    assert result['bands'] == {'1': expected['bands'][1]}
    assert result['value'] == pytest.approx(expected['value'])
    assert result['bands']['1'] == pytest.approx((row * 3 + col * 7 + 50) % 251 + 0.25)


@pytest.mark.parametrize('query, message', [
    ('palette=no-such-palette', 'no-such-palette'),
    ('style=' + quote('{"band": 1, "bogus": 2}'), 'bogus'),
    ('style=' + quote('{not json'), 'not valid JSON'),
    ('style=' + quote('{"band": 1}') + '&min=3', 'either style'),
    ('band=9', '9'),
    ('frame=x', 'frame'),
    ('frame=-1', 'frame'),
])
def test_bad_parameters_are_400_with_the_message(client, query, message):
    response = client.get(f'/sources/gray/tiles/0/0/0.png?{query}')
    assert response.status_code == 400
    detail = response.json()['detail']
    assert message in detail and 'Traceback' not in detail


# -- other routes ---------------------------------------------------------------------------------
def test_tilejson(client, files):
    doc = client.get('/sources/rgb_tiled/tilejson.json?format=webp&frame=0&min=5').json()
    assert doc['tilejson'] == '3.0.0' and doc['scheme'] == 'xyz'
    assert doc['tiles'] == ['http://testserver/sources/rgb_tiled/tiles/{z}/{x}/{y}.webp'
                            '?frame=0&min=5']
    projected = geolargeimage.open(files['rgb_tiled'], projection='EPSG:3857')
    assert (doc['minzoom'], doc['maxzoom']) == (0, projected.levels - 1)
    west, south, east, north = doc['bounds']
    lon, lat, zoom = doc['center']
    assert west < lon < east and south < lat < north and 0 <= zoom <= doc['maxzoom']
    plain = client.get('/sources/gray/tilejson.json').json()
    assert plain['crs'] == 'pixel' and 'bounds' not in plain
    assert plain['tiles'][0].endswith('/sources/gray/tiles/{z}/{x}/{y}.png')
    assert client.get('/sources/gray/tilejson.json?format=gif').status_code == 404


def test_metadata_is_the_files_own(client, files):
    metadata = client.get('/sources/dem/metadata').json()
    expected = geolargeimage.open(files['dem']).getMetadata()
    assert metadata['sizeX'] == expected['sizeX'] == 600
    assert metadata['levels'] == expected['levels']
    statistics = geolargeimage.open(files['dem']).getBandInformation(statistics=True)
    assert metadata['bands']['1']['min'] == pytest.approx(statistics[1]['min'])
    assert metadata['bounds']['xmin'] == pytest.approx(expected['bounds']['xmin'])
    assert client.get('/sources/multipage/metadata').json()['frames'][2]['Frame'] == 2


def test_thumbnail_equals_the_library(client, files):
    response = client.get('/sources/rgb_tiled/thumbnail.png?width=200&height=100')
    assert response.status_code == 200 and response.headers['content-type'] == 'image/png'
    expected, _ = geolargeimage.open(files['rgb_tiled']).getThumbnail(200, 100, encoding='PNG')
    assert np.array_equal(decode(response.content), decode(expected))
    expected, _ = geolargeimage.open(files['gray']).getThumbnail(encoding='JPEG')
    assert client.get('/sources/gray/thumbnail.jpg').content == bytes(expected)
    framed = client.get('/sources/multipage/thumbnail.png?frame=2').content
    expected, _ = geolargeimage.open(files['multipage']).getThumbnail(encoding='PNG', frame=2)
    assert np.array_equal(decode(framed), decode(expected))
    assert client.get('/sources/gray/thumbnail.png?width=1').status_code == 400
    assert client.get('/sources/gray/thumbnail.png?width=100000').status_code == 400


def test_region_equals_the_library(client, files):
    source = geolargeimage.open(files['rgb_tiled'])
    response = client.get('/sources/rgb_tiled/region.png?left=100&top=50&right=612&bottom=306'
                          '&width=256')
    assert response.status_code == 200
    expected, _ = source.getRegion(region=dict(left=100, top=50, right=612, bottom=306),
                                   output=dict(maxWidth=256), encoding='PNG')
    assert decode(response.content).shape == (128, 256, 3)
    assert np.array_equal(decode(response.content), decode(expected))
    full = decode(client.get('/sources/rgb_tiled/region.png?left=10&top=20&regionWidth=30'
                             '&regionHeight=40').content)
    assert np.array_equal(full, source.getRegion(region=dict(left=10, top=20, width=30,
                                                             height=40), format='numpy')[0])
    west = UTM_GEOTRANSFORM[0] + 100 * UTM_GEOTRANSFORM[1]
    north = UTM_GEOTRANSFORM[3] + 50 * UTM_GEOTRANSFORM[5]
    in_crs = client.get(f'/sources/rgb_tiled/region.png?left={west}&top={north}'
                        f'&right={west + 100}&bottom={north - 50}&units=EPSG:32618')
    assert decode(in_crs.content).shape == (100, 200, 3)


def test_region_errors(client):
    outside = client.get('/sources/gray/region.png?left=5000&top=0&regionWidth=10'
                         '&regionHeight=10')
    assert outside.status_code == 404 and 'outside the image' in outside.json()['detail']
    assert client.get('/sources/gray/region.png?units=furlongs').status_code == 400
    assert client.get('/sources/gray/region.png?width=9000').status_code == 400
    assert client.get('/sources/gray/region.tif').status_code == 404


def test_pixel_values_equal_getpixel(client, files):
    source = geolargeimage.open(files['rgb_tiled'])
    result = client.get('/sources/rgb_tiled/pixel?x=123&y=45').json()
    expected = source.getPixel(region={'left': 123, 'top': 45})
    assert result == json.loads(json.dumps(expected))
    assert result['bands'] == {'1': (45 * 3 + 123 * 7 + 50) % 251,
                               '2': (45 * 3 + 123 * 7 + 100) % 251,
                               '3': (45 * 3 + 123 * 7 + 150) % 251}
    bounds = source.getBounds('EPSG:4326')
    lon, lat = (bounds['xmin'] + bounds['xmax']) / 2, (bounds['ymin'] + bounds['ymax']) / 2
    by_lonlat = client.get(f'/sources/rgb_tiled/pixel?x={lon}&y={lat}&units=EPSG:4326').json()
    assert by_lonlat == json.loads(json.dumps(source.getPixel(
        region={'left': lon, 'top': lat, 'units': 'EPSG:4326'})))
    assert client.get('/sources/rgb_tiled/pixel?x=5000&y=1').json() == {}
    assert client.get('/sources/rgb_tiled/pixel?x=1').status_code == 400
    framed = client.get('/sources/multipage/pixel?x=3&y=4&frame=1').json()
    assert framed == json.loads(json.dumps(geolargeimage.open(files['multipage']).getPixel(
        region={'left': 3, 'top': 4}, frame=1)))


# -- caching --------------------------------------------------------------------------------------
def test_etag_and_304(client):
    url = '/sources/gray/tiles/1/0/0.png'
    first = client.get(url)
    tag = first.headers['etag']
    assert tag.startswith('"') and first.headers['cache-control'] == 'public, max-age=3600'
    assert client.get(url).headers['etag'] == tag
    again = client.get(url, headers={'If-None-Match': tag})
    assert again.status_code == 304 and again.content == b''
    assert again.headers['etag'] == tag
    assert client.get(url, headers={'If-None-Match': f'"other", W/{tag}'}).status_code == 304
    assert client.get(url, headers={'If-None-Match': '"other"'}).status_code == 200
    assert client.get(url + '?frame=0').headers['etag'] != tag
    assert client.get('/sources/gray/tiles/1/1/0.png').headers['etag'] != tag
    metadata = client.get('/sources/gray/metadata')
    assert metadata.headers['cache-control'] == 'no-cache'
    assert client.get('/sources/gray/metadata', headers={
        'If-None-Match': metadata.headers['etag']}).status_code == 304
    static = client.get('/viewer.js')
    assert client.get('/viewer.js', headers={
        'If-None-Match': static.headers['etag']}).status_code == 304


def test_etag_changes_when_the_file_changes(tmp_path, files):
    path = Path(shutil.copy(files['gray'], tmp_path / 'copy.tif'))
    client = TestClient(create_app([str(path)], max_age=60))
    first = client.get('/sources/copy/tiles/0/0/0.png')
    assert first.headers['cache-control'] == 'public, max-age=60'
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    second = client.get('/sources/copy/tiles/0/0/0.png',
                        headers={'If-None-Match': first.headers['etag']})
    assert second.status_code == 200 and second.headers['etag'] != first.headers['etag']


# -- errors ---------------------------------------------------------------------------------------
@pytest.mark.parametrize('url', [
    '/sources/nope/metadata', '/sources/nope/tiles/0/0/0.png', '/sources/gray/tiles/0/1/0.png',
    '/sources/gray/tiles/9/0/0.png', '/sources/gray/tiles/0/0/0.gif',
    '/sources/gray/tiles/a/0/0.png', '/sources/gray/tiles/0/0/-1.png', '/sources/gray/nothing',
    '/sources/rgb_tiled/tiles/31/0/0.png', '/sources/rgb_tiled/tiles/2/4/0.png',
])
def test_not_found(client, url):
    response = client.get(url)
    assert response.status_code == 404
    assert 'Traceback' not in response.text


def test_read_failure_is_500_with_the_message(tmp_path):
    path = make_raster(tmp_path / 'broken.tif', 300, 200, 3)
    client = TestClient(create_app([str(path)]))
    assert client.get('/sources/broken/tiles/0/0/0.png').status_code == 200
    path.write_bytes(b'not a raster any more')
    response = client.get('/sources/broken/tiles/0/0/0.png')
    assert response.status_code == 500
    detail = response.json()['detail']
    assert 'broken.tif' in detail and 'Traceback' not in response.text


def _raw_get(server: BackgroundServer, target: str) -> tuple[int, bytes]:
    """GET ``target`` exactly as written (no client-side normalisation of '..')."""
    connection = http.client.HTTPConnection('127.0.0.1', server.port, timeout=10)
    try:
        connection.putrequest('GET', target, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize('target', [
    '/sources/../../etc/passwd', '/sources/../../../../../../etc/passwd/metadata',
    '/sources/..%2f..%2f..%2fetc%2fpasswd/metadata', '/static/leaflet/../../../../etc/passwd',
    '/static/leaflet/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2fetc/passwd',
    '/sources/%2Fetc%2Fpasswd/metadata', '/static/leaflet//etc/passwd',
])
def test_no_path_from_the_url_reaches_the_file_system(live, target):
    status, body = _raw_get(live, target)
    assert status == 404
    assert b'root:' not in body


def test_live_server_serves_tiles(live, files):
    status, body = _raw_get(live, '/sources/gray/tiles/0/0/0.png')
    expected = geolargeimage.open(files['gray'], encoding='PNG').getTile(0, 0, 0)
    assert status == 200 and body == bytes(expected)


def test_small_responses_are_not_delayed(live):
    """Small answers on a keep-alive connection take about a millisecond, not the client's
    40 ms delayed ACK each (the server's sockets have TCP_NODELAY)."""
    connection = http.client.HTTPConnection('127.0.0.1', live.port, timeout=10)
    try:
        started = time.perf_counter()
        for _ in range(30):
            connection.request('GET', '/palettes')
            response = connection.getresponse()
            assert response.status == 200 and response.read()
        assert time.perf_counter() - started < 0.6
    finally:
        connection.close()


def test_concurrent_requests_are_correct_and_parallel(live, files, monkeypatch):
    """16 client threads, 48 distinct tiles: every answer equals the library's, and the
    server read them on several threads at once."""
    source = geolargeimage.open(files['rgb_tiled'], projection='EPSG:3857', encoding='PNG')
    z = source.levels - 1
    tiles = (inner_tiles(files['rgb_tiled'], z + 1, 40, inside=False)
             + inner_tiles(files['rgb_tiled'], z, 8, inside=False))
    expected = {tile: decode(source.getTile(tile.x, tile.y, tile.z)) for tile in tiles}
    active, peak, lock = [0], [0], threading.Lock()
    get_tile = geolargeimage.TileSource.getTile

    def counting(self, *args, **kwargs):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        try:
            time.sleep(0.02)  # long enough for requests to overlap if they can
            return get_tile(self, *args, **kwargs)
        finally:
            with lock:
                active[0] -= 1
    monkeypatch.setattr(geolargeimage.TileSource, 'getTile', counting)
    local = threading.local()

    def fetch(tile):
        if not hasattr(local, 'connection'):  # one keep-alive connection per client thread
            local.connection = http.client.HTTPConnection('127.0.0.1', live.port, timeout=30)
        local.connection.request('GET', f'/sources/rgb_tiled/tiles/{tile.z}/{tile.x}/{tile.y}.png')
        response = local.connection.getresponse()
        return tile, response.status, response.read()

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(fetch, tiles))
    assert len(results) == len(tiles)
    for tile, status, body in results:
        assert status == 200
        assert np.array_equal(decode(body), expected[tile]), tile
    assert peak[0] > 1


# -- creating and serving -------------------------------------------------------------------------
def test_create_app_fails_at_once_for_bad_files(tmp_path, files):
    with pytest.raises(geolargeimage.SourceNotFoundError):
        create_app([str(tmp_path / 'missing.tif')])
    with pytest.raises(geolargeimage.OptionsError):
        create_app([str(files['gray'])], projection='EPSG:3857')
    with pytest.raises(geolargeimage.OptionsError):
        create_app([str(files['gray'])], projection='EPSG:4326')
    with pytest.raises(geolargeimage.OptionsError):
        create_app([])


def test_projection_none_serves_georeferenced_files_in_pixels(files):
    client = TestClient(create_app([str(files['rgb_tiled'])], projection=None))
    entry = client.get('/sources').json()[0]
    assert entry['crs'] == 'pixel' and entry['sizeX'] == 1000
    source = geolargeimage.open(files['rgb_tiled'], encoding='PNG')
    assert np.array_equal(decode(client.get('/sources/rgb_tiled/tiles/1/1/0.png').content),
                          decode(source.getTile(1, 0, 1)))


def test_serve_binds_loopback_by_default(monkeypatch, files, capsys):
    calls = []
    monkeypatch.setattr(server_api.uvicorn, 'run',
                        lambda app, **kwargs: calls.append((app, kwargs)))
    server_api.serve([files['gray']])
    (app, kwargs), = calls
    assert kwargs['host'] == '127.0.0.1' and kwargs['port'] == 8000
    assert 'http://127.0.0.1:8000/' in capsys.readouterr().err
    assert inspect.signature(BackgroundServer).parameters['host'].default == '127.0.0.1'
    client = TestClient(app, base_url='http://127.0.0.1:8000')
    assert client.get('/sources').status_code == 200
    assert client.get('/sources', headers={'Host': 'localhost:8000'}).status_code == 200
    assert client.get('/sources', headers={'Host': '[::1]:8000'}).status_code == 200
    rebound = client.get('/sources', headers={'Host': 'evil.example:8000'})
    assert rebound.status_code == 400 and rebound.json() == {'detail': 'Invalid Host header'}
    server_api.serve([files['gray']], host='0.0.0.0', port=9)
    assert calls[-1][1]['host'] == '0.0.0.0'
    assert TestClient(calls[-1][0]).get('/sources').json()[0]['id'] == 'gray'  # any Host
    assert 'anyone who can reach it' in capsys.readouterr().err



def test_tilejson_of_a_raster_across_the_antimeridian(tmp_path):
    """Bounds keep west > east (TileJSON's convention) and the centre lies on the data, near
    180°, not on the other side of the Earth."""
    path = make_raster(tmp_path / 'dateline.tif', 200, 100, 3, epsg=4326,
                       geotransform=(170.0, 0.1, 0.0, 10.0, 0.0, -0.1))
    client = TestClient(create_app([str(path)]))
    doc = client.get('/sources/dateline/tilejson.json').json()
    west, south, east, north = doc['bounds']
    assert (west, east) == pytest.approx((170.0, -170.0)) and south < north
    lon, lat, _ = doc['center']
    assert abs(abs(lon) - 180.0) < 1e-6 and lat == pytest.approx((south + north) / 2)
    listing = client.get('/sources').json()
    assert listing[0]['bounds'][0] > listing[0]['bounds'][2]
