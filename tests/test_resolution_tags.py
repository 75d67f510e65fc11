"""Magnification from TIFF resolution tags (issue 11, item 7).

A TIFF without georeferencing that states XResolution/YResolution in pixels per inch or per
centimetre has a physical pixel size (mm_x = mm per unit / resolution) and, by large_image's rule
for images that state no objective, ``magnification = 0.01 / mm_x`` (10x is 1 µm pixels). Then
``scale={'magnification': ...}`` and ``units='mag_pixels'`` work in getRegion. Georeferenced
rasters keep ``magnification`` None (large_image's GDAL source reports none); their mm is the
ground size.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import UTM_GEOTRANSFORM
from factory import expected, make_raster
from osgeo import gdal

import geolargeimage

pytestmark = pytest.mark.filterwarnings('ignore::geolargeimage.errors.NoOverviewsWarning')

SIZE = (700, 500)


def tagged(path, x_resolution: str, y_resolution: str, unit: str, **options):
    """A 700×500 one-band uint8 TIFF of the factory formula with resolution tags (GDAL writes
    TIFFTAG_* metadata items as the tags)."""
    return make_raster(path, *SIZE, 1, metadata={
        'TIFFTAG_XRESOLUTION': x_resolution, 'TIFFTAG_YRESOLUTION': y_resolution,
        'TIFFTAG_RESOLUTIONUNIT': unit}, **options)


def gdal_read(path, window, out_width: int, out_height: int) -> np.ndarray:
    """GDAL's average read of ``window`` into the buffer, as (h, w, 1)."""
    data = gdal.Open(str(path)).ReadAsArray(*window, buf_xsize=out_width, buf_ysize=out_height,
                                            resample_alg=gdal.GRIORA_Average)
    return data[:, :, None]


@pytest.mark.parametrize('x_resolution, y_resolution, unit, mm_x, mm_y', [
    ('2540', '2540', '2', 0.01, 0.01),          # 2540 pixels per inch: 10 µm pixels
    ('2000', '2000', '3', 0.005, 0.005),        # 2000 pixels per cm: 5 µm pixels
    ('40000', '20000', '3', 0.00025, 0.0005),   # anisotropic: 2.5 µm by 5 µm
])
def test_pixel_size_and_magnification_come_from_the_tags(tmp_path, x_resolution, y_resolution,
                                                         unit, mm_x, mm_y):
    path = tagged(tmp_path / 'tagged.tif', x_resolution, y_resolution, unit)
    source = geolargeimage.open(path)
    metadata = source.getMetadata()
    assert metadata['geospatial'] is False
    assert metadata['mm_x'] == pytest.approx(mm_x) and metadata['mm_y'] == pytest.approx(mm_y)
    assert metadata['magnification'] == pytest.approx(0.01 / mm_x)
    assert source.getNativeMagnification() == pytest.approx(
        {'magnification': 0.01 / mm_x, 'mm_x': mm_x, 'mm_y': mm_y})
    max_level = source.levels - 1
    level = source.getMagnificationForLevel(max_level - 1)
    assert level['magnification'] == pytest.approx(0.01 / mm_x / 2)
    assert level['mm_x'] == pytest.approx(mm_x * 2)
    assert source.getLevelForMagnification(0.01 / mm_x / 2) == max_level - 1
    assert source.getLevelForMagnification(0.01 / mm_x, exact=True) == max_level
    assert source.getLevelForMagnification(0.01 / mm_x / 3, exact=True) is None


def test_magnification_needs_an_absolute_unit_and_no_georeferencing(tmp_path):
    """The same tags give magnification 1 on a plain TIFF, but none without an absolute unit
    (ResolutionUnit 1) or tags, and none on a georeferenced raster (whose mm is the ground's)."""
    plain = geolargeimage.open(tagged(tmp_path / 'plain.tif', '2540', '2540', '2'))
    assert (plain.mm_x, plain.magnification) == (pytest.approx(0.01), pytest.approx(1.0))
    unitless = [make_raster(tmp_path / 'unitless.tif', *SIZE, 1, metadata={
        'TIFFTAG_XRESOLUTION': '300', 'TIFFTAG_YRESOLUTION': '300',
        'TIFFTAG_RESOLUTIONUNIT': '1'}), make_raster(tmp_path / 'untagged.tif', *SIZE, 1)]
    for path in unitless:
        source = geolargeimage.open(path)
        assert (source.mm_x, source.mm_y, source.magnification) == (None, None, None)
        with pytest.raises(ValueError, match='magnification'):
            source.getRegion(format='numpy', scale={'magnification': 1})
    geo = geolargeimage.open(tagged(tmp_path / 'geo.tif', '2540', '2540', '2', epsg=32618,
                                    geotransform=UTM_GEOTRANSFORM))
    assert geo.geospatial is True and geo.magnification is None
    assert geo.getMetadata()['magnification'] is None
    assert geo.mm_x == pytest.approx(500.2, abs=0.5)  # the ground size, not the tags'
    with pytest.raises(ValueError, match='magnification'):
        geo.getRegion(format='numpy', scale={'magnification': 1})


@pytest.fixture
def ten_micron(tmp_path):
    """Magnification 1 (10 µm pixels, 2540 pixels per inch)."""
    path = tagged(tmp_path / 'ten-micron.tif', '2540', '2540', '2')
    source = geolargeimage.open(path)
    assert source.magnification == pytest.approx(1.0)
    return path, source


def test_region_at_the_native_magnification_is_full_resolution(ten_micron):
    path, source = ten_micron
    pixels, _ = source.getRegion(format='numpy', scale={'magnification': 1},
                                 region={'left': 30, 'top': 20, 'width': 300, 'height': 200})
    np.testing.assert_array_equal(pixels, expected(slice(20, 220), slice(30, 330), 1))


@pytest.mark.parametrize('magnification, factor', [(0.5, 2), (0.25, 4)])
def test_region_at_a_lower_magnification_is_reduced(ten_micron, magnification, factor):
    path, source = ten_micron
    pixels, _ = source.getRegion(format='numpy', scale={'magnification': magnification},
                                 region={'left': 40, 'top': 20, 'width': 400, 'height': 320})
    assert pixels.shape == (320 // factor, 400 // factor, 1)
    np.testing.assert_array_equal(
        pixels, gdal_read(path, (40, 20, 400, 320), 400 // factor, 320 // factor))


def test_whole_image_at_half_magnification(ten_micron):
    path, source = ten_micron
    pixels, _ = source.getRegion(format='numpy', scale={'magnification': 0.5})
    assert pixels.shape == (250, 350, 1)
    np.testing.assert_array_equal(pixels, gdal_read(path, (0, 0, *SIZE), 350, 250))


def test_mag_pixel_units_are_pixels_at_the_scale(ten_micron):
    path, source = ten_micron
    # at magnification 0.5 a pixel is 2 base pixels: the region is base (20, 40, 60, 80)
    pixels, _ = source.getRegion(format='numpy', scale={'magnification': 0.5}, region={
        'left': 10, 'top': 20, 'width': 30, 'height': 40, 'units': 'mag_pixels'})
    assert pixels.shape == (40, 30, 1)
    np.testing.assert_array_equal(pixels, gdal_read(path, (20, 40, 60, 80), 30, 40))
    # at the native magnification they are base pixels
    pixels, _ = source.getRegion(format='numpy', scale={'magnification': 1}, region={
        'left': 10, 'top': 20, 'width': 30, 'height': 40, 'units': 'mag_pixels'})
    np.testing.assert_array_equal(pixels, expected(slice(20, 60), slice(10, 40), 1))
