"""The projected-tile rule (issue #11): a tile or region of a source opened with a projection
equals ``gdal.Warp`` of the file over the same bounds at the same size, at every zoom, on every
kind of georeferencing (``georef_kinds``).

With the exact transformer on both sides (config ``warp_error_threshold=0`` and
``errorThreshold=0``) nearest tiles match bit for bit. With GDAL's default approximate
transformer at most 0.5% of the pixels may differ (ties on pixel edges, where the
approximation over a 256² VRT block and over one tile differs by a hair).
"""

from __future__ import annotations

import mercantile
import numpy as np
import pytest
from georef_kinds import KINDS, sample_lonlat
from osgeo import gdal

import geolargeimage

#: Kinds the random-tile property test runs on (the issue's five, and more).
PROPERTY_KINDS = ('utm', 'global_lonlat', 'polar', 'geostationary', 'gcp_vrt', 'gcp_tiff',
                  'rotated', 'north_down', 'compound', 'antimeridian_utm', 'utm_no_overviews')
#: Zooms tested around the native one.
ZOOM_OFFSETS = (-2, -1, 0, 1, 2)
#: Share of pixels that may differ with the approximate transformer.
APPROXIMATE_SHARE = 0.005


@pytest.fixture(scope='module')
def kinds(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp('kinds')
    return {name: make(folder) for name, make in KINDS.items()}


def reference_tile(path, tile: mercantile.Tile, resample: str, error_threshold: float | None
                   ) -> np.ndarray:
    """GDAL's own answer: ``gdal.Warp`` of the tile's bounds at 256², (h, w, bands + alpha)."""
    bounds = mercantile.xy_bounds(tile)
    options = {} if error_threshold is None else {'errorThreshold': error_threshold}
    with gdal.quiet_errors():
        warped = gdal.Warp('', str(path), format='MEM', dstSRS='EPSG:3857',
                           outputBounds=(bounds.left, bounds.bottom, bounds.right, bounds.top),
                           width=256, height=256, resampleAlg=resample, dstAlpha=True, **options)
    return warped.ReadAsArray().reshape(-1, 256, 256).transpose(1, 2, 0)


def random_tiles(path, source, count: int, seed: int) -> list[mercantile.Tile]:
    """Tiles under random points of the data, at zooms below, at and above the native one."""
    native = source.levels - 1
    rng = np.random.default_rng(seed)
    tiles = []
    for lon, lat in sample_lonlat(path, count, seed):
        z = int(np.clip(native + rng.choice(ZOOM_OFFSETS), 0, 30))
        tiles.append(mercantile.tile(lon, lat, z))
    return tiles


def ours(source, tile: mercantile.Tile) -> np.ndarray:
    return source.getTile(tile.x, tile.y, tile.z, numpyAllowed='always')


@pytest.mark.parametrize('kind', PROPERTY_KINDS)
def test_random_nearest_tiles_equal_gdal_warp_bit_for_bit(kinds, kind, exact_transformer):
    source = geolargeimage.open(kinds[kind], projection='EPSG:3857', resample='nearest')
    for tile in random_tiles(kinds[kind], source, 6, seed=len(kind)):
        reference = reference_tile(kinds[kind], tile, 'near', 0)
        assert (reference[..., -1] > 0).any(), tile
        np.testing.assert_array_equal(ours(source, tile), reference, err_msg=str(tile))


@pytest.mark.parametrize('kind', ('utm', 'polar', 'geostationary', 'gcp_vrt', 'antimeridian_utm'))
def test_approximate_transformer_differs_only_at_ties(kinds, kind):
    source = geolargeimage.open(kinds[kind], projection='EPSG:3857', resample='nearest')
    for tile in random_tiles(kinds[kind], source, 4, seed=7):
        reference = reference_tile(kinds[kind], tile, 'near', None)
        differ = (ours(source, tile) != reference).any(axis=2)
        assert differ.mean() <= APPROXIMATE_SHARE, (tile, differ.mean())


def expected_default_kernel(path, z: int, native_z: int) -> str:
    """The documented default: nearest at and past the native zoom; below it nearest where the
    file has a level (itself or an overview) at most twice as fine as the tile, else average.
    Computed here from GDAL's own numbers: the file's overview sizes, and its centre pixel's
    size in web-mercator metres through gdal.Transformer."""
    if z >= native_z:
        return 'near'
    dataset = gdal.Open(str(path))
    band = dataset.GetRasterBand(1)
    factors = [1.0] + [dataset.RasterXSize / band.GetOverview(i).XSize
                       for i in range(band.GetOverviewCount())]
    transformer = gdal.Transformer(dataset, None, ['DST_SRS=EPSG:3857'])
    cx, cy = dataset.RasterXSize / 2, dataset.RasterYSize / 2
    (x0, y0, _), (x1, y1, _), (x2, y2, _) = (transformer.TransformPoint(0, px, py)[1]
                                             for px, py in ((cx, cy), (cx + 1, cy), (cx, cy + 1)))
    pixel = min(np.hypot(x1 - x0, y1 - y0), np.hypot(x2 - x0, y2 - y0))
    ratio = 2 * 20037508.342789244 / 256 / 2 ** z / pixel
    level = max(f for f in factors if f <= ratio * 1.1)
    return 'near' if ratio <= 2 * level else 'average'


@pytest.mark.parametrize('kind', ('utm', 'utm_no_overviews'))
@pytest.mark.parametrize('offset', (-4, -3, -2, -1, 0, 1, 2))
def test_default_kernel_per_zoom_side(kinds, kind, offset, exact_transformer):
    """``resample`` left alone: nearest at and past the native zoom; below it, nearest from an
    overview near the tile's resolution, average where the file has none (no aliasing)."""
    path = kinds[kind]
    source = geolargeimage.open(path, projection='EPSG:3857')
    lon, lat = sample_lonlat(path, 1, seed=3)[0]
    native = source.levels - 1
    tile = mercantile.tile(lon, lat, native + offset)
    kernel = expected_default_kernel(path, tile.z, native)
    if kind == 'utm':  # overviews 2 and 4: nearest down to 3 zooms out
        assert kernel == ('average' if offset <= -4 else 'near')
    else:
        assert kernel == ('average' if offset <= -2 else 'near')
    np.testing.assert_array_equal(ours(source, tile), reference_tile(path, tile, kernel, 0))


@pytest.mark.parametrize('kernel', ('bilinear', 'cubic', 'lanczos', 'average'))
def test_other_kernels_equal_gdal_warp_within_a_unit(kinds, kernel, exact_transformer):
    """Interpolating kernels: at most 0.25% of the pixels differ, by at most 1 (the warper's
    chunk borders round a weight differently)."""
    path = kinds['utm']
    source = geolargeimage.open(path, projection='EPSG:3857', resample=kernel)
    for tile in random_tiles(path, source, 6, seed=11):
        mine, reference = ours(source, tile), reference_tile(path, tile, kernel, 0)
        assert (mine != reference).any(axis=2).mean() <= 0.0025, tile
        assert np.abs(mine.astype(int) - reference).max() <= 1, tile


def test_regions_equal_a_direct_warp_at_their_own_size(kinds, exact_transformer):
    """A region off every zoom's grid (an odd output size) is warped at its own resolution."""
    path = kinds['utm']
    source = geolargeimage.open(path, projection='EPSG:3857', resample='nearest')
    bounds = source.getBounds('EPSG:3857')
    col0, row0 = (int(v) for v in _world_pixel(source, bounds['xmin'], bounds['ymax']))
    col1, row1 = (int(v) for v in _world_pixel(source, bounds['xmax'], bounds['ymin']))
    left, top = col0 + (col1 - col0) // 5, row0 + (row1 - row0) // 7
    width, height = (col1 - col0) // 2, (row1 - row0) // 2
    region, _ = source.getRegion(region=dict(left=left, top=top, width=width, height=height),
                                 output=dict(maxWidth=333, maxHeight=333), format='numpy')
    out_height, out_width = region.shape[:2]
    assert 333 in (out_width, out_height) and region.shape[2] == 4
    xmin, ymax = source.pixelToProjection(left, top)
    xmax, ymin = source.pixelToProjection(left + width, top + height)
    with gdal.quiet_errors():
        reference = gdal.Warp('', str(path), format='MEM', dstSRS='EPSG:3857',
                              outputBounds=(xmin, ymin, xmax, ymax), width=out_width,
                              height=out_height, resampleAlg='near', dstAlpha=True,
                              errorThreshold=0).ReadAsArray().transpose(1, 2, 0)
    np.testing.assert_array_equal(region, reference)


def _world_pixel(source, x: float, y: float) -> tuple[float, float]:
    """World pixel of a web-mercator point, from the grid's own corner and pixel size."""
    origin_x, origin_y = source.pixelToProjection(0, 0)
    resolution = source.pixelToProjection(1, 0)[0] - origin_x
    return (x - origin_x) / resolution, (origin_y - y) / resolution


def test_tiles_outside_every_kind_are_transparent(kinds):
    for kind in ('polar', 'geostationary', 'gcp_vrt'):
        source = geolargeimage.open(kinds[kind], projection='EPSG:3857')
        z = max(source.levels - 1, 4)
        far = mercantile.tile(100.0, -60.0, z)  # the Southern Ocean south of Asia
        assert not ours(source, far)[..., -1].any(), kind


def crs84_tile(lon: float, lat: float, z: int) -> tuple[int, int, tuple[float, ...]]:
    """WorldCRS84Quad tile under a point: two 180° tiles at z = 0; (x, y, bounds)."""
    span = 180.0 / 2 ** z
    x, y = int((lon + 180) // span), int((90 - lat) // span)
    return x, y, (-180 + x * span, 90 - (y + 1) * span, -180 + (x + 1) * span, 90 - y * span)


@pytest.mark.parametrize('kind', ('utm', 'polar', 'gcp_tiff', 'antimeridian_utm', 'north_down'))
def test_crs84_grid_tiles_equal_gdal_warp_bit_for_bit(kinds, kind, exact_transformer):
    """The rule holds in the EPSG:4326 (WorldCRS84Quad) grid too."""
    path = kinds[kind]
    source = geolargeimage.open(path, projection='EPSG:4326', resample='nearest')
    rng = np.random.default_rng(5)
    for lon, lat in sample_lonlat(path, 4, seed=5):
        z = int(np.clip(source.levels - 1 + rng.choice(ZOOM_OFFSETS), 0, 30))
        x, y, bounds = crs84_tile(lon, lat, z)
        with gdal.quiet_errors():
            reference = gdal.Warp('', str(path), format='MEM', dstSRS='EPSG:4326',
                                  outputBounds=bounds, width=256, height=256, resampleAlg='near',
                                  dstAlpha=True, errorThreshold=0).ReadAsArray()
        reference = reference.reshape(-1, 256, 256).transpose(1, 2, 0)
        assert reference[..., -1].any()
        np.testing.assert_array_equal(source.getTile(x, y, z, numpyAllowed='always'), reference,
                                      err_msg=f'{kind} {x} {y} {z}')
