"""getRegion: region units and edges, output sizes, resampling, dtypes, formats and encodings.

Every raster is made here with :mod:`factory`, so the pixels of any full-resolution window are
known (``expected``), and downsampled results are compared with a raw GDAL ``ReadAsArray`` of the
same window into the same buffer size (see "resampled pixel values" for when that is exact).
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from factory import expected, make_raster, pixel_value
from osgeo import gdal
from PIL import Image

import geolargeimage

gdal.UseExceptions()

RGB_W, RGB_H = 1000, 700
BIG_W, BIG_H = 10000, 5000


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope='module')
def rasters(tmp_path_factory):
    """Paths of the rasters of this module, made once."""
    folder = tmp_path_factory.mktemp('regions')
    stripes = ((np.arange(BIG_W) // 100) % 2 * 200).astype(np.uint8)
    big_data = np.broadcast_to(stripes[None, :, None], (BIG_H, BIG_W, 1))
    u16 = expected(slice(0, 300), slice(0, 400), 3, 'uint16') * 200 + 7
    f32 = expected(slice(0, 300), slice(0, 400), 1, 'float32') * 1.5 - 100.25
    rows, cols = np.arange(RGB_H)[:, None], np.arange(RGB_W)[None, :]
    gradient = np.stack([0.1 * rows + 0.12 * cols, 0.15 * rows + 0.05 * cols,
                         0.2 * rows + 0.02 * cols], axis=2).astype(np.uint8)
    return {
        'rgb': make_raster(folder / 'rgb.tif', RGB_W, RGB_H, 3, options=['TILED=YES'],
                           overviews=(2, 4)),
        # no overviews (strips)
        'plain': make_raster(folder / 'plain.tif', RGB_W, RGB_H, 3),
        # a gentle gradient, overviews 2 and 4
        'smooth': make_raster(folder / 'smooth.tif', RGB_W, RGB_H, 3, data=gradient,
                              options=['TILED=YES'], overviews=(2, 4)),
        'big': make_raster(folder / 'big.tif', BIG_W, BIG_H, 1, data=big_data,
                           options=['TILED=YES', 'COMPRESS=DEFLATE'],
                           overviews=(2, 4, 8, 16, 32)),
        'u16': make_raster(folder / 'u16.tif', 400, 300, 3, dtype='uint16', data=u16,
                           options=['TILED=YES']),
        'f32': make_raster(folder / 'f32.tif', 400, 300, 1, dtype='float32', data=f32,
                           options=['TILED=YES']),
        # 20 pixels per cm: a pixel is 0.5 mm square.
        'mm': make_raster(folder / 'mm.tif', 400, 300, 1, metadata={
            'TIFFTAG_XRESOLUTION': '20', 'TIFFTAG_YRESOLUTION': '20',
            'TIFFTAG_RESOLUTIONUNIT': '3'}),
    }


@pytest.fixture(scope='module')
def rgb(rasters):
    return geolargeimage.open(rasters['rgb'])


@pytest.fixture(scope='module')
def big(rasters):
    return geolargeimage.open(rasters['big'])


@pytest.fixture(scope='module')
def mm(rasters):
    source = geolargeimage.open(rasters['mm'])
    assert (source.mm_x, source.mm_y) == (0.5, 0.5)
    return source


def gdal_read(path, left, top, width, height, out_width, out_height,
              algorithm=gdal.GRIORA_Average):
    """A raw GDAL read of a window into a buffer, as (h, w, bands)."""
    dataset = gdal.Open(str(path))
    data = dataset.ReadAsArray(left, top, width, height, buf_xsize=out_width,
                               buf_ysize=out_height, resample_alg=algorithm)
    return (data[None] if data.ndim == 2 else data).transpose(1, 2, 0)


def numpy_region(source, **kwargs):
    data, fmt = source.getRegion(format='numpy', **kwargs)
    assert fmt == 'numpy'
    assert isinstance(data, np.ndarray)
    return data


# -- base pixels ------------------------------------------------------------------------------
@pytest.mark.parametrize('units', [None, 'base_pixels', 'base', 'base_pixel'])
@pytest.mark.parametrize('box', [(0, 0, 1000, 700), (10, 20, 110, 70), (255, 255, 257, 513),
                                 (999, 699, 1000, 700), (313, 0, 771, 700)])
def test_base_pixels_are_exact(rgb, units, box):
    left, top, right, bottom = box
    region = {'left': left, 'top': top, 'right': right, 'bottom': bottom}
    if units is not None:
        region['units'] = units
    data = numpy_region(rgb, region=region)
    assert data.dtype == np.uint8
    np.testing.assert_array_equal(data, expected(slice(top, bottom), slice(left, right), 3))


def test_default_region_is_the_whole_image(rgb):
    np.testing.assert_array_equal(numpy_region(rgb),
                                  expected(slice(0, RGB_H), slice(0, RGB_W), 3))


def test_right_and_bottom_are_exclusive(rgb):
    data = numpy_region(rgb, region={'left': 5, 'top': 8, 'right': 6, 'bottom': 9})
    assert data.shape == (1, 1, 3)
    assert data[0, 0].tolist() == [pixel_value(8, 5, b) for b in (1, 2, 3)]


@pytest.mark.parametrize('region, rows, cols', [
    ({'left': -100, 'top': -50}, slice(650, 700), slice(900, 1000)),
    ({'left': -100, 'right': -10, 'top': -50, 'bottom': -20}, slice(650, 680), slice(900, 990)),
    ({'left': 10, 'right': -890, 'top': 0, 'bottom': -600}, slice(0, 100), slice(10, 110)),
    ({'right': -100, 'width': 50, 'bottom': -100, 'height': 30}, slice(570, 600), slice(850, 900)),
])
def test_negative_edges_count_from_the_far_side(rgb, region, rows, cols):
    np.testing.assert_array_equal(numpy_region(rgb, region=region), expected(rows, cols, 3))


@pytest.mark.parametrize('region, rows, cols', [
    # width/height used when an edge is missing
    ({'left': 10, 'width': 30, 'top': 40, 'height': 5}, slice(40, 45), slice(10, 40)),
    ({'right': 100, 'width': 30, 'bottom': 50, 'height': 5}, slice(45, 50), slice(70, 100)),
    ({'width': 30, 'height': 5}, slice(0, 5), slice(0, 30)),
    ({'left': -100, 'width': 50, 'top': -7, 'height': 2}, slice(693, 695), slice(900, 950)),
    # both edges given: width/height ignored...
    ({'left': 10, 'right': 20, 'width': 500, 'top': 0, 'bottom': 3, 'height': 300},
     slice(0, 3), slice(10, 20)),
    # ...unless unitsWH is given, then they win over right/bottom
    ({'left': 10, 'right': 20, 'width': 50, 'top': 0, 'bottom': 3, 'height': 6,
      'unitsWH': 'base_pixels'}, slice(0, 6), slice(10, 60)),
])
def test_width_and_height(rgb, region, rows, cols):
    np.testing.assert_array_equal(numpy_region(rgb, region=region), expected(rows, cols, 3))


def test_fraction_units(rgb):
    data = numpy_region(rgb, region={'left': 0.1, 'top': 0.2, 'right': 0.5, 'bottom': 0.6,
                                     'units': 'fraction'})
    np.testing.assert_array_equal(data, expected(slice(140, 420), slice(100, 500), 3))


def test_fraction_edges_with_base_pixel_sizes(rgb):
    data = numpy_region(rgb, region={'left': 0.1, 'top': 0.1, 'width': 50, 'height': 40,
                                     'units': 'fraction', 'unitsWH': 'base_pixels'})
    np.testing.assert_array_equal(data, expected(slice(70, 110), slice(100, 150), 3))


@pytest.mark.parametrize('units, factor', [('mm', 1), ('millimeters', 1), ('um', 1000),
                                           ('micrometers', 1000), ('m', 0.001),
                                           ('meter', 0.001)])
def test_physical_units(mm, units, factor):
    # 0.5 mm pixels: 10 mm is 20 px, 5 mm is 10 px, 20 mm is 40 px
    region = {'left': 10 * factor, 'top': 5 * factor, 'width': 20 * factor,
              'height': 7.5 * factor, 'units': units}
    data = numpy_region(mm, region=region)
    np.testing.assert_array_equal(data, expected(slice(10, 25), slice(20, 60), 1))


def test_physical_units_with_pixel_sizes(mm):
    data = numpy_region(mm, region={'left': 10, 'top': 2, 'right': 30, 'bottom': 3,
                                    'width': 7, 'height': 11, 'units': 'mm',
                                    'unitsWH': 'base_pixels'})
    np.testing.assert_array_equal(data, expected(slice(4, 15), slice(20, 27), 1))


def test_fraction_sizes_with_base_pixel_edges(rgb):
    data = numpy_region(rgb, region={'left': 100, 'top': -70, 'width': 0.25, 'height': 0.1,
                                     'unitsWH': 'fraction'})
    np.testing.assert_array_equal(data, expected(slice(630, 700), slice(100, 350), 3))


def test_physical_units_need_a_pixel_size(rgb):
    with pytest.raises(ValueError):
        rgb.getRegion(format='numpy', region={'left': 1, 'right': 2, 'units': 'mm'})


def test_unknown_units_are_rejected(rgb):
    with pytest.raises(ValueError, match='(?i)units'):
        rgb.getRegion(format='numpy', region={'left': 1, 'right': 2, 'units': 'furlongs'})


def test_magnification_pixel_units(mm, rasters):
    # at mm_x = 1.0 a pixel is 2 base pixels: 10 px -> 20 base px, 30 px -> 60 base px
    data = numpy_region(mm, region={'left': 10, 'top': 5, 'width': 30, 'height': 20,
                                    'units': 'pixels'}, scale={'mm_x': 1.0})
    assert data.shape == (20, 30, 1)
    np.testing.assert_array_equal(data, gdal_read(rasters['mm'], 20, 10, 60, 40, 30, 20))


def test_magnification_pixel_units_at_full_scale(mm):
    data = numpy_region(mm, region={'left': 10, 'top': 5, 'width': 30, 'height': 20,
                                    'units': 'mag_pixels'}, scale={'mm_x': 0.5})
    np.testing.assert_array_equal(data, expected(slice(5, 25), slice(10, 40), 1))


def test_magnification_pixel_sizes_with_base_pixel_edges(mm, rasters):
    data = numpy_region(mm, region={'left': 10, 'top': 6, 'width': 30, 'height': 20,
                                    'unitsWH': 'pixels'}, scale={'mm_x': 1.0})
    # edges in base pixels, sizes in 2-base-pixel units; the output is at the scale (half size)
    assert data.shape == (20, 30, 1)
    np.testing.assert_array_equal(data, gdal_read(rasters['mm'], 10, 6, 60, 40, 30, 20))


def test_pixel_units_need_a_scale(mm):
    with pytest.raises(ValueError, match='No magnification'):
        mm.getRegion(format='numpy', region={'left': 10, 'right': 20, 'units': 'pixels'})


# -- rounding and clipping --------------------------------------------------------------------
@pytest.mark.parametrize('left, col', [(0.5, 0), (1.5, 2), (2.5, 2), (3.5, 4), (2.4999, 2),
                                       (2.5001, 3)])
def test_edges_use_bankers_rounding(rgb, left, col):
    data = numpy_region(rgb, region={'left': left, 'right': 10, 'top': 0, 'bottom': 1})
    assert data.shape == (1, 10 - col, 3)
    np.testing.assert_array_equal(data, expected(slice(0, 1), slice(col, 10), 3))


@pytest.mark.parametrize('right, col_end', [(5.5, 6), (6.5, 6), (7.5, 8)])
def test_far_edges_use_bankers_rounding(rgb, right, col_end):
    data = numpy_region(rgb, region={'left': 0, 'right': right, 'top': 0.5, 'bottom': 2.5})
    assert data.shape == (2, col_end, 3)
    np.testing.assert_array_equal(data, expected(slice(0, 2), slice(0, col_end), 3))


@pytest.mark.parametrize('region, rows, cols', [
    ({'left': 900, 'right': 1200, 'top': 650, 'bottom': 900}, slice(650, 700), slice(900, 1000)),
    ({'left': -2000, 'right': 50, 'top': -5000, 'bottom': 20}, slice(0, 20), slice(0, 50)),
    ({'left': 950, 'width': 100, 'top': 690, 'height': 100}, slice(690, 700), slice(950, 1000)),
    ({'left': -0.5, 'right': 1.5, 'top': 0, 'bottom': 1.1, 'units': 'fraction'},
     slice(0, 700), slice(500, 1000)),
])
def test_regions_are_clipped_to_the_image(rgb, region, rows, cols):
    np.testing.assert_array_equal(numpy_region(rgb, region=region), expected(rows, cols, 3))


@pytest.mark.parametrize('region', [
    {'left': 1200, 'right': 1300},
    {'top': 800, 'bottom': 900},
    {'left': 0, 'right': 100, 'top': 700, 'bottom': 701},
    {'left': 1.5, 'right': 2.0, 'units': 'fraction'},
])
def test_region_wholly_outside_raises_range_error(rgb, region):
    with pytest.raises(geolargeimage.RangeError):
        rgb.getRegion(format='numpy', region=region)
    with pytest.raises(ValueError):  # RangeError is also a ValueError (large_image's callers)
        rgb.getRegion(region=region)


@pytest.mark.parametrize('region', [{'left': 10, 'right': 10}, {'top': 5, 'bottom': 5},
                                    {'left': 10, 'width': 0}, {'top': 10, 'height': 0},
                                    {'left': 10, 'right': 10.4}])
@pytest.mark.parametrize('name, dtype, bands', [('rgb', np.uint8, 3), ('u16', np.uint16, 3),
                                                ('f32', np.float32, 1)])
def test_empty_region(rasters, region, name, dtype, bands):
    # numpy keeps the non-empty side (tests/test_empty_regions.py); no image format holds 0
    # pixels, so encoded output raises where large_image returns b''
    source = geolargeimage.open(rasters[name])
    data = numpy_region(source, region=region)
    assert 0 in data.shape[:2] and data.shape[2] == bands
    assert data.dtype == dtype
    with pytest.raises(geolargeimage.RangeError, match='empty'):
        source.getRegion(region=region)
    with pytest.raises(geolargeimage.RangeError, match='empty'):
        source.getRegion(region=region, encoding='PNG')


def test_empty_region_as_pil_raises(rgb):
    # large_image returns a 0 x 0 image here, which Pillow cannot save or show
    with pytest.raises(geolargeimage.RangeError, match='a Pillow image needs at least one'):
        rgb.getRegion(format='PIL', region={'left': 10, 'right': 10})


def test_empty_region_with_an_output_size(rgb):
    data = numpy_region(rgb, region={'left': 10, 'right': 10}, output={'maxWidth': 100})
    assert data.shape == (0, 0, 3)
    assert data.dtype == np.uint8


# -- output size ------------------------------------------------------------------------------
@pytest.mark.parametrize('region, output, shape', [
    ({'top': 0, 'height': 1000}, {'maxWidth': 1000}, (100, 1000, 1)),
    ({}, {'maxWidth': 256}, (128, 256, 1)),
    ({}, {'maxWidth': 256, 'maxHeight': 256}, (128, 256, 1)),
    ({}, {'maxHeight': 256}, (256, 512, 1)),
    ({}, {'maxWidth': 1000, 'maxHeight': 100}, (100, 200, 1)),
    # only one limit: the other is 16 times it
    ({'left': 0, 'width': 100}, {'maxWidth': 10}, (160, 3, 1)),
    ({'left': 0, 'width': 5000, 'top': 0, 'height': 100}, {'maxHeight': 10}, (3, 160, 1)),
    ({'left': 0, 'width': 5000, 'top': 0, 'height': 5000}, {'maxWidth': 300}, (300, 300, 1)),
    # upscaling is allowed
    ({'left': 9000, 'top': 10, 'width': 100, 'height': 50}, {'maxWidth': 400}, (200, 400, 1)),
    ({'left': 10, 'top': 10, 'width': 100, 'height': 50}, {'maxWidth': 400, 'maxHeight': 400},
     (200, 400, 1)),
])
def test_output_size(big, region, output, shape):
    assert numpy_region(big, region=region, output=output).shape == shape


def test_upscaled_rgb_region(rgb, rasters):
    data = numpy_region(rgb, region={'left': 100, 'top': 200, 'width': 100, 'height': 50},
                        output={'maxWidth': 400})
    assert data.shape == (200, 400, 3)
    assert data.dtype == np.uint8
    raw = gdal_read(rasters['rgb'], 100, 200, 100, 50, 400, 200, gdal.GRIORA_Cubic)
    assert np.abs(data.astype(int) - raw).max() <= 1
    nearest = numpy_region(rgb, region={'left': 100, 'top': 200, 'width': 100, 'height': 50},
                           output={'maxWidth': 400}, resample=None)
    np.testing.assert_array_equal(nearest, np.repeat(np.repeat(
        expected(slice(200, 250), slice(100, 200), 3), 4, axis=0), 4, axis=1))


def test_output_as_large_as_the_region_is_exact(rgb):
    data = numpy_region(rgb, region={'left': 10, 'top': 20, 'width': 300, 'height': 200},
                        output={'maxWidth': 300, 'maxHeight': 1000})
    np.testing.assert_array_equal(data, expected(slice(20, 220), slice(10, 310), 3))


@pytest.mark.parametrize('output', [{'maxWidth': -1}, {'maxHeight': -10}, {'maxWidth': 1.5},
                                    {'maxWidth': 'abc'}, {'maxWidth': 100, 'maxHeight': -1},
                                    {'maxWidth': True}, {'maxHeight': '100'},
                                    {'maxWidth': 255.5}], ids=str)
def test_invalid_output_raises_value_error(rgb, output):
    with pytest.raises(ValueError):
        rgb.getRegion(format='numpy', output=output)


@pytest.mark.parametrize('limit', [256, 256.0, np.int64(256), np.uint16(256)], ids=repr)
def test_whole_number_output_limits_of_any_type_are_accepted(rgb, limit):
    # Deliberately more lenient than large_image: numpy integers and integral floats are sizes.
    data, _ = rgb.getRegion(format='numpy', output={'maxWidth': limit})
    assert data.shape[1] == 256


# -- resampled pixel values -------------------------------------------------------------------
# Reference values are raw GDAL reads of the same window into the same buffer size. The library
# reads from "the coarsest level with at least the needed resolution" (large_image's rule; stored
# overviews, or overviews it synthesizes once for big shrink factors), while a plain GDAL read of
# the file lets GDAL pick the overview, which may be one level coarser. So:
#  * on a raster without overviews, at shrink factors below 4 (nothing is synthesized), and on a
#    raster with overviews at exact power-of-two factors, both read the same level: equal values;
#  * elsewhere the two reads may use different levels; on a smooth image (a gentle gradient) the
#    averages then differ by at most 1. (pixel_value's sawtooth wraps every 36 columns, so levels
#    built by averaging differ from it by up to ~50 there, which says nothing about correctness.)
FACTOR_BELOW_4 = [
    ((0, 0, 1000, 700), {'maxWidth': 300}, (300, 210)),
    ((37, 11, 874, 639), {'maxWidth': 333, 'maxHeight': 333}, (333, 243)),
    ((10, 10, 900, 600), {'maxWidth': 250}, (250, 166)),
    ((3, 5, 900, 600), {'maxHeight': 300}, (450, 300)),
    ((0, 0, 1000, 700), {'maxWidth': 256, 'maxHeight': 256}, (256, 179)),
]


@pytest.mark.parametrize('window, output, size', FACTOR_BELOW_4)
def test_downsampled_values_equal_gdal_average(rasters, window, output, size):
    source = geolargeimage.open(rasters['plain'])
    left, top, width, height = window
    region = {'left': left, 'top': top, 'width': width, 'height': height}
    raw = gdal_read(rasters['plain'], left, top, width, height, *size)
    for resample in ({}, {'resample': True}, {'resample': 'auto'}, {'resample': 'average'}):
        data = numpy_region(source, region=region, output=output, **resample)
        assert data.shape == (size[1], size[0], 3)
        np.testing.assert_array_equal(data, raw)


@pytest.mark.parametrize('window, output, size', [
    ((0, 0, 1000, 700), {'maxWidth': 500}, (500, 350)),
    ((100, 50, 800, 600), {'maxWidth': 200}, (200, 150)),
    ((0, 0, 1000, 700), {'maxWidth': 250}, (250, 175)),
    ((500, 300, 400, 400), {'maxHeight': 100}, (100, 100)),
])
def test_power_of_two_shrinks_read_the_overview(rgb, rasters, window, output, size):
    left, top, width, height = window
    data = numpy_region(rgb, region={'left': left, 'top': top, 'width': width, 'height': height},
                        output=output)
    assert data.shape == (size[1], size[0], 3)
    np.testing.assert_array_equal(data, gdal_read(rasters['rgb'], left, top, width, height, *size))


@pytest.mark.parametrize('window, output, size', [
    *FACTOR_BELOW_4,
    ((500, 300, 400, 400), {'maxHeight': 57}, (57, 57)),
    ((100, 50, 800, 600), {'maxWidth': 200}, (200, 150)),
    ((0, 0, 1000, 700), {'maxWidth': 100}, (100, 70)),
    ((1, 2, 997, 695), {'maxWidth': 61}, (61, 42)),
])
@pytest.mark.parametrize('resample, algorithm', [(True, gdal.GRIORA_Average),
                                                 (None, gdal.GRIORA_NearestNeighbour)])
def test_downsampled_values_near_gdal_with_overviews(rasters, window, output, size, resample,
                                                     algorithm):
    source = geolargeimage.open(rasters['smooth'])
    left, top, width, height = window
    data = numpy_region(source, region={'left': left, 'top': top, 'width': width,
                                        'height': height}, output=output, resample=resample)
    assert data.shape == (size[1], size[0], 3) and data.dtype == np.uint8
    raw = gdal_read(rasters['smooth'], left, top, width, height, *size, algorithm)
    assert np.abs(data.astype(int) - raw).max() <= 1


@pytest.mark.parametrize('resample', [None, False, 'nearest'])
def test_nearest_resampling_equals_gdal_nearest(rasters, resample):
    source = geolargeimage.open(rasters['plain'])
    region = {'left': 37, 'top': 11, 'width': 874, 'height': 639}
    data = numpy_region(source, region=region, output={'maxWidth': 333}, resample=resample)
    raw = gdal_read(rasters['plain'], 37, 11, 874, 639, 333, 243, gdal.GRIORA_NearestNeighbour)
    np.testing.assert_array_equal(data, raw)
    # nearest picks stored pixels, unlike the default average
    average = numpy_region(source, region=region, output={'maxWidth': 333})
    assert not np.array_equal(data, average)


@pytest.mark.parametrize('name, algorithm', [('lanczos', gdal.GRIORA_Lanczos),
                                             ('cubic', gdal.GRIORA_Cubic),
                                             ('bilinear', gdal.GRIORA_Bilinear),
                                             ('average', gdal.GRIORA_Average),
                                             ('nearest', gdal.GRIORA_NearestNeighbour),
                                             ('LANCZOS', gdal.GRIORA_Lanczos)])
def test_named_resampling(rasters, name, algorithm):
    source = geolargeimage.open(rasters['plain'])
    data = numpy_region(source, region={'left': 10, 'top': 10, 'width': 900, 'height': 600},
                        output={'maxWidth': 250}, resample=name)
    np.testing.assert_array_equal(data, gdal_read(rasters['plain'], 10, 10, 900, 600, 250, 166,
                                                  algorithm))


def test_unknown_resampling_is_rejected(rgb):
    with pytest.raises(ValueError):
        rgb.getRegion(format='numpy', output={'maxWidth': 100}, resample='sharpest')


@pytest.mark.parametrize('name, dtype, bands', [('u16', np.uint16, 3), ('f32', np.float32, 1)])
def test_dtype_and_bands_kept(rasters, name, dtype, bands):
    source = geolargeimage.open(rasters[name])
    full = numpy_region(source)
    assert full.dtype == dtype and full.shape == (300, 400, bands)
    stored = gdal_read(rasters[name], 0, 0, 400, 300, 400, 300)
    np.testing.assert_array_equal(full, stored)
    if name == 'u16':
        assert full.max() > 255  # no 8-bit round trip
    else:
        assert full.min() < 0 and (full % 1 != 0).any()
    small = numpy_region(source, region={'left': 13, 'top': 7, 'width': 350, 'height': 280},
                         output={'maxWidth': 120})
    assert small.dtype == dtype
    assert small.shape == (96, 120, bands)
    np.testing.assert_array_equal(small, gdal_read(rasters[name], 13, 7, 350, 280, 120, 96))
    if name == 'u16':
        assert small.max() > 255
    else:
        assert small.min() < 0


def test_scale_mm_sets_the_output_size(mm, rasters):
    data = numpy_region(mm, region={'left': 0, 'top': 0, 'width': 400, 'height': 200},
                        scale={'mm_x': 2.0})
    assert data.shape == (50, 100, 1)
    np.testing.assert_array_equal(data, gdal_read(rasters['mm'], 0, 0, 400, 200, 100, 50))
    whole = numpy_region(mm, scale={'mm_x': 1.0, 'mm_y': 1.0})
    assert whole.shape == (150, 200, 1)
    # truncated sizes: 399 / 4 -> 99
    assert numpy_region(mm, region={'left': 1, 'top': 1, 'width': 399, 'height': 299},
                        scale={'mm_x': 2.0}).shape == (74, 99, 1)


def test_output_wins_over_scale(mm):
    data = numpy_region(mm, scale={'mm_x': 2.0}, output={'maxWidth': 40})
    assert data.shape == (30, 40, 1)


# -- formats and encodings --------------------------------------------------------------------
WINDOW = {'left': 100, 'top': 50, 'width': 64, 'height': 48}


def test_numpy_format(rgb):
    data, fmt = rgb.getRegion(format=geolargeimage.TILE_FORMAT_NUMPY, region=WINDOW)
    assert fmt == 'numpy'
    np.testing.assert_array_equal(data, expected(slice(50, 98), slice(100, 164), 3))


def test_pil_format(rgb):
    image, fmt = rgb.getRegion(format='PIL', region=WINDOW)
    assert fmt == 'PIL'
    assert isinstance(image, Image.Image)
    assert image.mode == 'RGB' and image.size == (64, 48)
    np.testing.assert_array_equal(np.asarray(image), expected(slice(50, 98), slice(100, 164), 3))


def test_default_format_is_jpeg(rgb):
    data, mime = rgb.getRegion(region=WINDOW)
    assert mime == 'image/jpeg'
    assert isinstance(data, geolargeimage.ImageBytes) and isinstance(data, bytes)
    assert data.mimetype == 'image/jpeg'
    assert data[:3] == b'\xff\xd8\xff'
    decoded = Image.open(io.BytesIO(data))
    assert decoded.format == 'JPEG' and decoded.size == (64, 48)
    diff = np.abs(np.asarray(decoded.convert('RGB')).astype(int)
                  - expected(slice(50, 98), slice(100, 164), 3))
    assert diff.mean() < 4


@pytest.mark.parametrize('formats, expected_format', [
    (('image', 'PIL'), 'PIL'), (['image', 'PIL', 'numpy'], 'numpy'), ({'numpy', 'PIL'}, 'numpy'),
    (('image',), 'image/jpeg'),
])
def test_several_formats_prefer_numpy_then_pil(rgb, formats, expected_format):
    assert rgb.getRegion(format=formats, region=WINDOW)[1] == expected_format


def test_default_encoding_ignores_the_source_encoding(rasters):
    source = geolargeimage.open(rasters['rgb'], encoding='PNG')
    data, mime = source.getRegion(region=WINDOW)
    assert mime == 'image/jpeg'
    assert data[:3] == b'\xff\xd8\xff'
    assert source.getThumbnail()[1] == 'image/jpeg'


def test_png_encoding_is_lossless(rgb):
    data, mime = rgb.getRegion(region=WINDOW, encoding='PNG')
    assert mime == 'image/png' and data.mimetype == 'image/png'
    decoded = Image.open(io.BytesIO(data))
    assert decoded.format == 'PNG' and decoded.mode == 'RGB'
    np.testing.assert_array_equal(np.asarray(decoded), expected(slice(50, 98), slice(100, 164), 3))


def test_png_of_a_downsampled_region_equals_the_numpy_region(rgb):
    kwargs = {'region': {'left': 3, 'top': 5, 'width': 900, 'height': 600},
              'output': {'maxWidth': 200}}
    png, _ = rgb.getRegion(encoding='PNG', **kwargs)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(png))),
                                  numpy_region(rgb, **kwargs))


def test_invalid_encoding(rgb):
    with pytest.raises(ValueError, match='Invalid encoding'):
        rgb.getRegion(region=WINDOW, encoding='NOTANENCODING')


def test_unknown_keyword_is_rejected(rgb):
    with pytest.raises(ValueError):
        rgb.getRegion(format='numpy', regoin=WINDOW)
