"""CRS units: pixelToProjection, toNativePixelCoordinates, getPixel and regions written in
'projection', WGS84, EPSG codes or proj strings, sizes in metres walked along the geodesic, and
scale by ground pixel size, on sources opened with and without a projection (issue #3).

Expected windows come from pyproj (Transformer, Geod) and the geotransform; expected pixels from
the factory formula or a raw gdal.Warp.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import SAMPLES, UTM_GEOTRANSFORM, formula, gdal_warp
from factory import expected, pixel_value
from pyproj import Geod, Transformer

import geolargeimage

GEOD = Geod(ellps='WGS84')
WORLD = 20037508.342789244
RGB_SAMPLE = SAMPLES / 'rgb_geotiff.tiff'
#: Spellings of WGS84 longitude/latitude a region may use.
WGS84_SPELLINGS = ['wgs84', 'WGS84', '4326', 'EPSG:4326', 'epsg:4326', 'proj4:EPSG:4326',
                   '+proj=longlat +datum=WGS84 +no_defs']

UTM_TO_LONLAT = Transformer.from_crs(32618, 4326, always_xy=True)
LONLAT_TO_UTM = Transformer.from_crs(4326, 32618, always_xy=True)
UTM_TO_MERCATOR = Transformer.from_crs(32618, 3857, always_xy=True)
LONLAT_TO_MERCATOR = Transformer.from_crs(4326, 3857, always_xy=True)


def utm_of_pixel(col: float, row: float) -> tuple[float, float]:
    gt = UTM_GEOTRANSFORM
    return gt[0] + col * gt[1], gt[3] + row * gt[5]


def pixel_of_utm(x: float, y: float) -> tuple[float, float]:
    gt = UTM_GEOTRANSFORM
    return (x - gt[0]) / gt[1], (y - gt[3]) / gt[5]


def lonlat_of_pixel(col: float, row: float) -> tuple[float, float]:
    return UTM_TO_LONLAT.transform(*utm_of_pixel(col, row))


def world_resolution(levels: int) -> float:
    return 2 * WORLD / 256 / 2 ** (levels - 1)


def world_pixel(x: float, y: float, levels: int) -> tuple[float, float]:
    resolution = world_resolution(levels)
    return (x + WORLD) / resolution, (WORLD - y) / resolution


def envelope(points: list[tuple[float, float]]) -> tuple[int, int, int, int]:
    """Rounded (left, top, right, bottom) of points in pixels (large_image rounds edges)."""
    cols, rows = zip(*points)
    return round(min(cols)), round(min(rows)), round(max(cols)), round(max(rows))


# -- pixelToProjection / toNativePixelCoordinates -------------------------------------------------

def test_pixel_to_projection_unprojected(rgb_tiled):
    source = geolargeimage.open(rgb_tiled)
    max_level = source.levels - 1
    assert source.pixelToProjection(0, 0) == pytest.approx(utm_of_pixel(0, 0))
    assert source.pixelToProjection(1000, 700) == pytest.approx(utm_of_pixel(1000, 700))
    assert source.pixelToProjection(123.25, 45.5) == pytest.approx(utm_of_pixel(123.25, 45.5))
    scale = 2 ** (max_level - 0)
    assert source.pixelToProjection(10, 20, 0) == pytest.approx(utm_of_pixel(10 * scale,
                                                                               20 * scale))
    assert source.pixelToProjection(10, 20, max_level) == pytest.approx(utm_of_pixel(10, 20))


def test_pixel_to_projection_of_the_sample():
    source = geolargeimage.open(RGB_SAMPLE)
    assert source.pixelToProjection(0, 0) == pytest.approx((367185, 3788115))
    assert source.pixelToProjection(256, 256) == pytest.approx((597915, 3552885))


def test_pixel_to_projection_projected(rgb_tiled):
    source = geolargeimage.open(rgb_tiled, projection='EPSG:3857')
    levels = source.levels
    size = 256 * 2 ** (levels - 1)
    assert source.pixelToProjection(0, 0) == pytest.approx((-WORLD, WORLD), rel=1e-12)
    assert source.pixelToProjection(size / 2, size / 2) == pytest.approx((0, 0), abs=1e-6)
    assert source.pixelToProjection(size, size) == pytest.approx((WORLD, -WORLD), rel=1e-12)
    for level in (0, 3, levels - 1):
        x, y = 100.5, 37.25
        n = 256 * 2 ** level
        assert source.pixelToProjection(x, y, level) == pytest.approx(
            ((x / n - 0.5) * 2 * WORLD, (0.5 - y / n) * 2 * WORLD), rel=1e-12)


def test_to_native_pixel_coordinates(rgb_tiled):
    source = geolargeimage.open(rgb_tiled)
    col, row = 123.25, 456.75
    x, y = utm_of_pixel(col, row)
    assert source.toNativePixelCoordinates(x, y) == (123, 457)
    assert source.toNativePixelCoordinates(x, y, roundResults=False) == pytest.approx((col, row))
    lon, lat = lonlat_of_pixel(col, row)
    for proj in ('EPSG:4326', 'wgs84', '+proj=longlat +datum=WGS84 +no_defs'):
        assert source.toNativePixelCoordinates(lon, lat, proj) == (123, 457)
        assert source.toNativePixelCoordinates(lon, lat, proj, roundResults=False) == \
            pytest.approx((col, row), abs=1e-6)
    mx, my = UTM_TO_MERCATOR.transform(x, y)
    assert source.toNativePixelCoordinates(mx, my, 'EPSG:3857', False) == pytest.approx(
        (col, row), abs=1e-6)
    projected = geolargeimage.open(rgb_tiled, projection='EPSG:3857')
    # the default CRS of the point is the projection the source was opened with
    assert projected.toNativePixelCoordinates(mx, my) == (123, 457)
    assert projected.toNativePixelCoordinates(lon, lat, 'EPSG:4326') == (123, 457)


def test_to_native_pixel_coordinates_of_the_sample():
    source = geolargeimage.open(RGB_SAMPLE)
    assert source.toNativePixelCoordinates(-13132910, 4010586, 'EPSG:3857') == (47, 44)
    assert source.toNativePixelCoordinates(-117.975, 33.865, 'EPSG:4326') == (47, 44)
    unrounded = source.toNativePixelCoordinates(-117.975, 33.865, 'EPSG:4326',
                                                roundResults=False)
    assert unrounded == pytest.approx((47.30, 44.08), abs=0.01)
    projected = geolargeimage.open(RGB_SAMPLE, projection='EPSG:3857')
    assert projected.toNativePixelCoordinates(-13132910, 4010586) == (47, 44)


def test_coordinates_of_an_ungeoreferenced_raster_raise(ungeoreferenced_gray):
    source = geolargeimage.open(ungeoreferenced_gray)
    with pytest.raises((ValueError, geolargeimage.TileSourceError)):
        source.toNativePixelCoordinates(1, 2, 'EPSG:4326')
    with pytest.raises((ValueError, geolargeimage.TileSourceError)):
        source.pixelToProjection(1, 2)


# -- getPixel -------------------------------------------------------------------------------------

def test_get_pixel_of_the_sample_matches_the_reference():
    source = geolargeimage.open(RGB_SAMPLE)
    pixel = source.getPixel(region={'left': 212, 'top': 198})
    assert pixel['bands'] == {1: 62.0, 2: 65.0, 3: 66.0}
    assert source.getPixel(region={'left': 2120, 'top': 198}) == {}
    expected_bands = {1: 77.0, 2: 82.0, 3: 84.0}
    assert source.getPixel(region={'left': -13132910, 'top': 4010586,
                                   'units': 'EPSG:3857'})['bands'] == expected_bands
    projected = geolargeimage.open(RGB_SAMPLE, projection='EPSG:3857')
    for region in ({'left': -13132910, 'top': 4010586, 'units': 'projection'},
                   {'left': -13132910, 'top': 4010586, 'units': 'EPSG:3857'},
                   {'left': -117.975, 'top': 33.865, 'units': 'WGS84'}):
        pixel = projected.getPixel(region=region)
        assert pixel['bands'] == expected_bands
        assert pixel['a'] == 255


def test_get_pixel_bands_are_raw_floats(dem_float32):
    source = geolargeimage.open(dem_float32)
    pixel = source.getPixel(region={'left': 10, 'top': 20})
    assert pixel['bands'] == {1: pytest.approx(float(pixel_value(20, 10, 1)) + 0.25)}
    assert isinstance(pixel['bands'][1], float)


@pytest.mark.parametrize('units', WGS84_SPELLINGS)
@pytest.mark.parametrize('projection', [None, 'EPSG:3857'])
def test_get_pixel_in_wgs84(rgb_tiled, units, projection):
    source = geolargeimage.open(rgb_tiled, projection=projection)
    col, row = 123, 456
    lon, lat = lonlat_of_pixel(col + 0.5, row + 0.5)
    pixel = source.getPixel(region={'left': lon, 'top': lat, 'units': units})
    assert pixel['bands'] == {b: float(pixel_value(row, col, b)) for b in (1, 2, 3)}


@pytest.mark.parametrize('projection', [None, 'EPSG:3857'])
def test_get_pixel_in_other_crs(rgb_tiled, projection):
    source = geolargeimage.open(rgb_tiled, projection=projection)
    col, row = 801, 33
    x, y = utm_of_pixel(col + 0.5, row + 0.5)
    expected_bands = {b: float(pixel_value(row, col, b)) for b in (1, 2, 3)}
    assert source.getPixel(region={'left': x, 'top': y, 'units': 'EPSG:32618'})['bands'] == \
        expected_bands
    mx, my = UTM_TO_MERCATOR.transform(x, y)
    assert source.getPixel(region={'left': mx, 'top': my, 'units': 'EPSG:3857'})['bands'] == \
        expected_bands
    if projection:
        assert source.getPixel(region={'left': mx, 'top': my,
                                       'units': 'projection'})['bands'] == expected_bands


def test_get_pixel_outside_the_data_of_a_projected_source(rgb_tiled):
    source = geolargeimage.open(rgb_tiled, projection='EPSG:3857')
    x, y = UTM_TO_MERCATOR.transform(*utm_of_pixel(-50, 20))  # 25 m west of the raster
    pixel = source.getPixel(region={'left': x, 'top': y, 'units': 'projection'})
    assert 'bands' not in pixel and pixel.get('a') == 0
    assert source.getPixel(region={'left': 3 * WORLD, 'top': 0, 'units': 'projection'}) == {}


def test_get_pixel_outside_an_unprojected_raster(rgb_tiled):
    source = geolargeimage.open(rgb_tiled)
    lon, lat = lonlat_of_pixel(-10, 20)
    assert source.getPixel(region={'left': lon, 'top': lat, 'units': 'EPSG:4326'}) == {}


# -- regions in a CRS: unprojected sources --------------------------------------------------------

@pytest.mark.parametrize('units', WGS84_SPELLINGS)
def test_wgs84_region_on_an_unprojected_source(rgb_tiled, units):
    source = geolargeimage.open(rgb_tiled)
    west, north = lonlat_of_pixel(100.3, 80.2)
    east, south = lonlat_of_pixel(612.6, 455.1)
    corners = [pixel_of_utm(*LONLAT_TO_UTM.transform(lon, lat))
               for lon, lat in ((west, north), (east, south), (west, south), (east, north))]
    left, top, right, bottom = envelope(corners)
    pixels, _ = source.getRegion(region={'left': west, 'top': north, 'right': east,
                                         'bottom': south, 'units': units}, format='numpy')
    assert pixels.shape == (bottom - top, right - left, 3)
    assert np.array_equal(pixels, expected(slice(top, bottom), slice(left, right), 3))


def test_native_crs_region_on_an_unprojected_source(rgb_tiled):
    source = geolargeimage.open(rgb_tiled)
    (x0, y0), (x1, y1) = utm_of_pixel(30, 40), utm_of_pixel(290, 310)
    pixels, _ = source.getRegion(region={'left': x0, 'top': y0, 'right': x1, 'bottom': y1,
                                         'units': 'EPSG:32618'}, format='numpy')
    assert np.array_equal(pixels, expected(slice(40, 310), slice(30, 290), 3))


def test_sample_regions_match_the_reference():
    source = geolargeimage.open(RGB_SAMPLE)
    region = {'left': -117.975, 'top': 33.865, 'right': -117.5, 'bottom': 33.5,
              'units': 'EPSG:4326'}
    pixels, _ = source.getRegion(region=region, format='numpy')
    assert pixels.shape[:2] == (44, 49)
    projected = geolargeimage.open(RGB_SAMPLE, projection='EPSG:3857')
    pixels, _ = projected.getRegion(region=region, format='numpy')
    assert pixels.shape[:2] == (80, 87)
    # web-mercator edges on the unprojected sample: left 96, top 88, right 147, bottom 149
    from osgeo import gdal
    raw = gdal.Open(str(RGB_SAMPLE)).ReadAsArray().transpose(1, 2, 0)
    pixels, _ = source.getRegion(region={'left': -13080040, 'top': 3961860, 'right': -13024380,
                                         'bottom': 3895303, 'units': 'EPSG:3857'},
                                 format='numpy')
    assert np.array_equal(pixels, raw[88:149, 96:147])


@pytest.mark.parametrize('first_col, first_row', [(-40, 40), (30, -25), (-40, -25)])
def test_crs_region_partly_outside_the_raster_is_clipped(rgb_tiled, first_col, first_row):
    """A region reaching west or north of the raster is the part over the raster, as in base
    pixels, not a window counted from the far side."""
    source = geolargeimage.open(rgb_tiled)
    (x0, y0), (x1, y1) = utm_of_pixel(first_col, first_row), utm_of_pixel(230, 140)
    top, left = max(first_row, 0), max(first_col, 0)
    pixels, _ = source.getRegion(region={'left': x0, 'top': y0, 'right': x1, 'bottom': y1,
                                         'units': 'EPSG:32618'}, format='numpy')
    assert np.array_equal(pixels, expected(slice(top, 140), slice(left, 230), 3))
    lon0, lat0 = UTM_TO_LONLAT.transform(x0, y0)
    lon1, lat1 = UTM_TO_LONLAT.transform(x1, y1)
    pixels, _ = source.getRegion(region={'left': lon0, 'top': lat0, 'right': lon1,
                                         'bottom': lat1, 'units': 'EPSG:4326'}, format='numpy')
    assert pixels.shape[:2] == pytest.approx((140 - top, 230 - left), abs=1)


@pytest.mark.parametrize('units_wh, width, height', [('m', 100, 60), ('km', 0.1, 0.06),
                                                     ('mm', 100000, 60000)])
def test_geodesic_sizes_on_an_unprojected_source(rgb_tiled, units_wh, width, height):
    source = geolargeimage.open(rgb_tiled)
    lon, lat = lonlat_of_pixel(200.2, 100.4)
    metres = {'m': 1, 'km': 1000, 'mm': 0.001}[units_wh]
    east = GEOD.fwd(lon, lat, 90, width * metres)
    south = GEOD.fwd(lon, lat, 180, height * metres)
    anchor = pixel_of_utm(*LONLAT_TO_UTM.transform(lon, lat))
    east_col = pixel_of_utm(*LONLAT_TO_UTM.transform(east[0], east[1]))[0]
    south_row = pixel_of_utm(*LONLAT_TO_UTM.transform(south[0], south[1]))[1]
    left, top = round(anchor[0]), round(anchor[1])
    right = round(anchor[0] + abs(east_col - anchor[0]))
    bottom = round(anchor[1] + abs(south_row - anchor[1]))
    assert right - left == pytest.approx(200, abs=1)  # 100 m of 0.5 m pixels (UTM k ≈ 0.9996)
    pixels, _ = source.getRegion(region={'left': lon, 'top': lat, 'width': width,
                                         'height': height, 'units': 'EPSG:4326',
                                         'unitsWH': units_wh}, format='numpy')
    assert np.array_equal(pixels, expected(slice(top, bottom), slice(left, right), 3))


def test_geodesic_sizes_on_the_sample():
    """large_image: corner + 10 km × 5 km → 11 × 5 px (the sample's pixels are ~0.9 km)."""
    source = geolargeimage.open(RGB_SAMPLE)
    pixels, _ = source.getRegion(region={'left': -117.975, 'top': 33.865, 'width': 10,
                                         'height': 5, 'units': 'EPSG:4326', 'unitsWH': 'km'},
                                 format='numpy')
    assert pixels.shape[1] == 11
    assert pixels.shape[0] in (5, 6)


# -- regions in a CRS: projected sources ----------------------------------------------------------

def _aligned_box(source, col, row, width, height):
    """Projection bounds of a box of world pixels (left, top, right, bottom)."""
    resolution = world_resolution(source.levels)
    left, top = -WORLD + col * resolution, WORLD - row * resolution
    return left, top, left + width * resolution, top - height * resolution


def test_projection_units_on_a_projected_source(rgb_tiled):
    source = geolargeimage.open(rgb_tiled, projection='EPSG:3857')
    centre = world_pixel(*UTM_TO_MERCATOR.transform(*utm_of_pixel(500, 350)), source.levels)
    col, row = int(centre[0]) - 150, int(centre[1]) - 100
    left, top, right, bottom = _aligned_box(source, col, row, 300, 200)
    pixels, _ = source.getRegion(region={'left': left, 'top': top, 'right': right,
                                         'bottom': bottom, 'units': 'projection'},
                                 format='numpy')
    assert pixels.shape == (200, 300, 4)
    reference = gdal_warp(rgb_tiled, 'EPSG:3857', (left, bottom, right, top), 300, 200)
    assert ((pixels[..., 3] > 0) != (reference[..., 3] > 0)).sum() <= 0.005 * 60000
    both = (pixels[..., 3] > 0) & (reference[..., 3] > 0)
    assert both.sum() > 50000
    assert (pixels[..., :3] == reference[..., :3]).all(axis=2)[both].mean() > 0.995
    # 'proj' is the same unit; edges given in any order are reordered
    again, _ = source.getRegion(region={'left': left, 'top': bottom, 'right': right,
                                        'bottom': top, 'units': 'proj'}, format='numpy')
    assert np.array_equal(again, pixels)


@pytest.mark.parametrize('units, transform', [
    ('EPSG:4326', LONLAT_TO_MERCATOR), ('wgs84', LONLAT_TO_MERCATOR),
    ('EPSG:32618', UTM_TO_MERCATOR), ('+proj=utm +zone=18 +datum=WGS84 +units=m +no_defs',
                                      UTM_TO_MERCATOR)])
def test_crs_units_on_a_projected_source(rgb_tiled, units, transform):
    source = geolargeimage.open(rgb_tiled, projection='EPSG:3857')
    x0, y0 = utm_of_pixel(100.3, 80.2)
    x1, y1 = utm_of_pixel(612.6, 455.1)
    if transform is LONLAT_TO_MERCATOR:
        (x0, y0), (x1, y1) = UTM_TO_LONLAT.transform(x0, y0), UTM_TO_LONLAT.transform(x1, y1)
    corners = [world_pixel(*transform.transform(x, y), source.levels)
               for x, y in ((x0, y0), (x1, y1), (x0, y1), (x1, y0))]
    left, top, right, bottom = envelope(corners)
    pixels, _ = source.getRegion(region={'left': x0, 'top': y0, 'right': x1, 'bottom': y1,
                                         'units': units}, format='numpy')
    assert pixels.shape == (bottom - top, right - left, 4)
    assert (pixels[..., 3] == 255).mean() > 0.99


@pytest.mark.parametrize('units_wh, width, height', [('m', 120, 80), ('km', 0.12, 0.08)])
def test_geodesic_sizes_on_a_projected_source(rgb_tiled, units_wh, width, height):
    source = geolargeimage.open(rgb_tiled, projection='EPSG:3857')
    lon, lat = lonlat_of_pixel(200.2, 100.4)
    metres = {'m': 1, 'km': 1000}[units_wh]
    anchor = world_pixel(*LONLAT_TO_MERCATOR.transform(lon, lat), source.levels)
    east = GEOD.fwd(lon, lat, 90, width * metres)
    south = GEOD.fwd(lon, lat, 180, height * metres)
    east_col = world_pixel(*LONLAT_TO_MERCATOR.transform(east[0], east[1]), source.levels)[0]
    south_row = world_pixel(*LONLAT_TO_MERCATOR.transform(south[0], south[1]),
                            source.levels)[1]
    columns = round(anchor[0] + (east_col - anchor[0])) - round(anchor[0])
    rows = round(anchor[1] + (south_row - anchor[1])) - round(anchor[1])
    # 120 m on the ground is 120 / cos(latitude) web-mercator metres
    assert columns * world_resolution(source.levels) == pytest.approx(
        120 / math.cos(math.radians(lat)), rel=0.01)
    pixels, _ = source.getRegion(region={'left': lon, 'top': lat, 'width': width,
                                         'height': height, 'units': 'EPSG:4326',
                                         'unitsWH': units_wh}, format='numpy')
    assert pixels.shape == (rows, columns, 4)


# -- scale by ground pixel size -------------------------------------------------------------------

@pytest.mark.parametrize('factor', [2, 4])
def test_scale_mm_on_an_unprojected_source(rgb_tiled, factor):
    source = geolargeimage.open(rgb_tiled)
    (x0, y0), (x1, y1) = utm_of_pixel(40, 20), utm_of_pixel(440, 320)
    region = {'left': x0, 'top': y0, 'right': x1, 'bottom': y1, 'units': 'EPSG:32618'}
    pixels, _ = source.getRegion(region=region, scale={'mm_x': source.mm_x * factor},
                                 format='numpy')
    assert pixels.shape == (300 // factor, 400 // factor, 3)
    # an average of each factor×factor block of the formula (within the formula's wrap-around)
    full = formula(1000, 700, 3)[20:320, 40:440].astype(np.float64)
    blocks = full.reshape(300 // factor, factor, 400 // factor, factor, 3).mean(axis=(1, 3))
    assert np.median(np.abs(pixels - blocks)) <= 1


def test_scale_mm_on_a_projected_source(rgb_tiled):
    source = geolargeimage.open(rgb_tiled, projection='EPSG:3857')
    centre = world_pixel(*UTM_TO_MERCATOR.transform(*utm_of_pixel(500, 350)), source.levels)
    left, top, right, bottom = _aligned_box(source, int(centre[0]) - 200, int(centre[1]) - 100,
                                            400, 200)
    region = {'left': left, 'top': top, 'right': right, 'bottom': bottom, 'units': 'projection'}
    full, _ = source.getRegion(region=region, format='numpy')
    half, _ = source.getRegion(region=region, scale={'mm_x': source.mm_x * 2}, format='numpy')
    assert full.shape == (200, 400, 4)
    assert half.shape == (100, 200, 4)
    assert (half[..., 3] == 255).all()


# -- errors ---------------------------------------------------------------------------------------

def test_projection_units_need_a_projected_source(rgb_tiled):
    source = geolargeimage.open(rgb_tiled)
    with pytest.raises((ValueError, geolargeimage.TileSourceError), match='projection'):
        source.getRegion(region={'left': 0, 'top': 0, 'right': 10, 'bottom': 10,
                                 'units': 'projection'})


@pytest.mark.parametrize('units', ['EPSG:4326', 'wgs84', 'EPSG:3857'])
def test_crs_units_on_an_ungeoreferenced_raster(ungeoreferenced_gray, units):
    source = geolargeimage.open(ungeoreferenced_gray)
    with pytest.raises((ValueError, geolargeimage.TileSourceError)) as info:
        source.getRegion(region={'left': -75, 'top': 40, 'right': -74, 'bottom': 39,
                                 'units': units})
    assert units in str(info.value)
    with pytest.raises((ValueError, geolargeimage.TileSourceError)):
        source.getPixel(region={'left': -75, 'top': 40, 'units': units})


def test_crs_region_needs_a_horizontal_and_a_vertical_edge(rgb_tiled):
    source = geolargeimage.open(rgb_tiled)
    lon, lat = lonlat_of_pixel(10, 10)
    with pytest.raises(geolargeimage.TileSourceError, match='Cannot convert'):
        source.getRegion(region={'left': lon, 'right': lon + 0.001, 'units': 'EPSG:4326'})
    with pytest.raises(geolargeimage.TileSourceError, match='Cannot convert'):
        source.getRegion(region={'top': lat, 'bottom': lat - 0.001, 'units': 'EPSG:4326'})


@pytest.mark.parametrize('units', ['EPSG:999999', '+proj=bogus', 'furlongs'])
def test_unknown_units_raise_value_error_naming_them(rgb_tiled, units):
    source = geolargeimage.open(rgb_tiled, projection='EPSG:3857')
    with pytest.raises(ValueError) as info:
        source.getRegion(region={'left': 0, 'top': 0, 'right': 1, 'bottom': 1, 'units': units})
    assert units in str(info.value)


def test_crs_region_outside_the_raster_raises_range_error(rgb_tiled):
    source = geolargeimage.open(rgb_tiled)
    with pytest.raises(geolargeimage.TileSourceRangeError):
        source.getRegion(region={'left': 10, 'top': 10, 'right': 11, 'bottom': 9,
                                 'units': 'EPSG:4326'})
