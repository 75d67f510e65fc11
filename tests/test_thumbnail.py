"""getThumbnail: default size and encoding, width/height rules, the documented aspect examples,
pixel values (a GDAL average read of the whole image) and dtypes of numpy thumbnails."""

from __future__ import annotations

import io

import numpy as np
import pytest
from factory import expected, make_raster
from osgeo import gdal
from PIL import Image

import geolargeimage

gdal.UseExceptions()


@pytest.fixture(scope='module')
def rasters(tmp_path_factory):
    folder = tmp_path_factory.mktemp('thumbnail')
    huge = folder / 'huge.tif'
    # 58368 x 12288, sparse (no block written, all zeros), with empty overviews: a few KB.
    dataset = gdal.GetDriverByName('GTiff').Create(
        str(huge), 58368, 12288, 1, gdal.GDT_Byte,
        options=['TILED=YES', 'SPARSE_OK=TRUE', 'COMPRESS=DEFLATE'])
    dataset.BuildOverviews('NONE', [2, 4, 8, 16, 32, 64, 128, 256])
    dataset = None
    u16 = expected(slice(0, 300), slice(0, 500), 3, 'uint16') * 250 + 3
    f32 = expected(slice(0, 300), slice(0, 500), 1, 'float32') / 4 - 20.5
    rows, cols = np.arange(700)[:, None], np.arange(1000)[None, :]
    gradient = np.stack([0.1 * rows + 0.12 * cols, 0.15 * rows + 0.05 * cols,
                         0.2 * rows + 0.02 * cols], axis=2).astype(np.uint8)
    return {
        'rgb': make_raster(folder / 'rgb.tif', 1000, 700, 3, options=['TILED=YES'],
                           overviews=(2, 4)),
        'plain': make_raster(folder / 'plain.tif', 1000, 700, 3),
        'smooth_ovr': make_raster(folder / 'smooth_ovr.tif', 1000, 700, 3, data=gradient,
                                  options=['TILED=YES'], overviews=(2, 4)),
        'square': make_raster(folder / 'square.tif', 600, 600, 3, options=['TILED=YES'],
                              overviews=(2,)),
        'tall': make_raster(folder / 'tall.tif', 300, 900, 1),
        'grey': make_raster(folder / 'grey.tif', 700, 400, 1, options=['TILED=YES'],
                            overviews=(2, 4)),
        # no overviews, and a gentle gradient (pixel_value's sawtooth would make average-of-
        # average and direct averages differ wherever it wraps)
        'smooth': make_raster(folder / 'smooth.tif', 1200, 800, 1, options=['TILED=YES'], data=(
            (np.arange(800)[:, None] * 0.1 + np.arange(1200)[None, :] * 0.12)
            .astype(np.uint8)[:, :, None])),
        'u16': make_raster(folder / 'u16.tif', 500, 300, 3, dtype='uint16', data=u16),
        'f32': make_raster(folder / 'f32.tif', 500, 300, 1, dtype='float32', data=f32),
        'huge': huge,
    }


@pytest.fixture(scope='module')
def rgb(rasters):
    return geolargeimage.open(rasters['rgb'])


def gdal_average(path, out_width, out_height):
    """GDAL's average read of the whole raster into a buffer, as (h, w, bands)."""
    dataset = gdal.Open(str(path))
    data = dataset.ReadAsArray(0, 0, dataset.RasterXSize, dataset.RasterYSize,
                               buf_xsize=out_width, buf_ysize=out_height,
                               resample_alg=gdal.GRIORA_Average)
    return (data[None] if data.ndim == 2 else data).transpose(1, 2, 0)


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_default_thumbnail_is_a_256_bound_jpeg(rgb):
    data, mime = rgb.getThumbnail()
    assert mime == 'image/jpeg'
    assert isinstance(data, geolargeimage.ImageBytes) and data.mimetype == 'image/jpeg'
    image = decode(data)
    assert image.format == 'JPEG' and image.mode == 'RGB'
    assert image.size == (256, 179)
    pixels, _ = rgb.getThumbnail(format='numpy')
    assert np.abs(np.asarray(image).astype(int) - pixels).mean() < 4


# Reference values are raw GDAL average reads of the whole raster into the thumbnail size. On a
# raster without overviews, at a shrink factor below 4 (1000 -> 256), the library and GDAL both
# average the stored pixels: equal. With overviews (or overviews the library synthesizes for big
# shrinks) the library reads the coarsest level with at least the needed resolution while GDAL may
# pick one level coarser; on a smooth gradient the two averages differ by at most 1.
def test_numpy_thumbnail_equals_gdal_average(rasters):
    source = geolargeimage.open(rasters['plain'])
    data, fmt = source.getThumbnail(format='numpy')
    assert fmt == 'numpy'
    assert data.shape == (179, 256, 3) and data.dtype == np.uint8
    np.testing.assert_array_equal(data, gdal_average(rasters['plain'], 256, 179))
    nearest, _ = source.getThumbnail(format='numpy', resample=None)
    dataset = gdal.Open(str(rasters['plain']))
    raw = dataset.ReadAsArray(0, 0, 1000, 700, buf_xsize=256, buf_ysize=179,
                              resample_alg=gdal.GRIORA_NearestNeighbour)
    np.testing.assert_array_equal(nearest, raw.transpose(1, 2, 0))


@pytest.mark.parametrize('width', [256, 100, 37])
def test_thumbnail_with_overviews_near_gdal_average(rasters, width):
    source = geolargeimage.open(rasters['smooth_ovr'])
    pixels, _ = source.getThumbnail(width=width, format='numpy')
    height = int(700 * width / 1000)
    assert pixels.shape == (height, width, 3)
    raw = gdal_average(rasters['smooth_ovr'], width, height)
    assert np.abs(pixels.astype(int) - raw).max() <= 1


def test_png_thumbnail_is_the_numpy_thumbnail(rgb):
    data, mime = rgb.getThumbnail(encoding='PNG')
    assert mime == 'image/png'
    image = decode(data)
    assert image.format == 'PNG'
    np.testing.assert_array_equal(np.asarray(image), rgb.getThumbnail(format='numpy')[0])


def test_pil_thumbnail(rgb):
    image, fmt = rgb.getThumbnail(width=100, format='PIL')
    assert fmt == 'PIL'
    assert isinstance(image, Image.Image) and image.size == (100, 70)
    np.testing.assert_array_equal(np.asarray(image), rgb.getThumbnail(100, format='numpy')[0])


@pytest.mark.parametrize('kwargs, size', [
    ({'width': 200}, (200, 140)),
    ({'height': 100}, (142, 100)),
    ({'width': 180, 'height': 180}, (180, 126)),
    ({'width': 400, 'height': 70}, (100, 70)),
    ({'width': 2}, (2, 1)),
    ({'width': 2000}, (2000, 1400)),  # enlarging is allowed
])
def test_thumbnail_sizes(rgb, kwargs, size):
    data, _ = rgb.getThumbnail(format='numpy', **kwargs)
    assert data.shape == (size[1], size[0], 3)


def test_thumbnail_size_positional(rgb):
    assert rgb.getThumbnail(300, 90, format='numpy')[0].shape == (90, 128, 3)


def test_width_only_on_a_tall_image(rasters):
    source = geolargeimage.open(rasters['tall'])
    # maxHeight becomes 16 x 50 = 800: 300 x 900 -> 50 x 150
    assert source.getThumbnail(width=50, format='numpy')[0].shape == (150, 50, 1)
    # height only: maxWidth = 16 x 60; 300 x 900 -> 20 x 60
    assert source.getThumbnail(height=60, format='numpy')[0].shape == (60, 20, 1)
    assert source.getThumbnail(format='numpy')[0].shape == (256, 85, 1)


@pytest.mark.parametrize('kwargs', [{'width': 1}, {'height': 1}, {'width': 0}, {'width': -5},
                                    {'width': 100, 'height': 1}, {'width': 1.5},
                                    {'width': '100'}])
def test_invalid_width_or_height(rgb, kwargs):
    with pytest.raises(ValueError, match='Invalid width or height'):
        rgb.getThumbnail(**kwargs)


def test_square_image_gives_a_square_thumbnail(rasters):
    source = geolargeimage.open(rasters['square'])
    data, mime = source.getThumbnail()
    assert mime == 'image/jpeg'
    assert decode(data).size == (256, 256)
    pixels, _ = source.getThumbnail(format='numpy')
    assert pixels.shape == (256, 256, 3)
    np.testing.assert_array_equal(pixels, gdal_average(rasters['square'], 256, 256))


def test_58368_by_12288_gives_256_by_53(rasters):
    source = geolargeimage.open(rasters['huge'])
    data, mime = source.getThumbnail()
    assert mime == 'image/jpeg'
    assert decode(data).size == (256, 53)
    pixels, _ = source.getThumbnail(format='numpy')
    assert pixels.shape == (53, 256, 1)
    assert not pixels.any()  # the sparse raster reads as zeros


def test_grey_thumbnail_is_a_one_channel_jpeg(rasters):
    source = geolargeimage.open(rasters['grey'])
    image = decode(source.getThumbnail(width=140)[0])
    assert image.mode == 'L' and image.size == (140, 80)
    pixels, _ = source.getThumbnail(width=140, format='numpy')
    np.testing.assert_array_equal(pixels, gdal_average(rasters['grey'], 140, 80))
    diff = np.abs(np.asarray(image).astype(int) - pixels[:, :, 0])
    assert diff.mean() < 4


@pytest.mark.parametrize('width', [256, 100, 37])
def test_thumbnail_of_a_raster_without_overviews(rasters, width):
    # GDAL averages the base pixels directly; the library may read through overviews it makes
    # itself (average of averages), which on a smooth image differs by at most 1.
    source = geolargeimage.open(rasters['smooth'])
    pixels, _ = source.getThumbnail(width=width, format='numpy')
    height = int(800 * width / 1200)
    assert pixels.shape == (height, width, 1)
    raw = gdal_average(rasters['smooth'], width, height)
    assert np.abs(pixels.astype(int) - raw).max() <= 1


@pytest.mark.parametrize('name, dtype, bands', [('u16', np.uint16, 3), ('f32', np.float32, 1)])
def test_numpy_thumbnail_keeps_dtype_and_bands(rasters, name, dtype, bands):
    source = geolargeimage.open(rasters[name])
    data, fmt = source.getThumbnail(width=200, format='numpy')
    assert fmt == 'numpy'
    assert data.dtype == dtype and data.shape == (120, 200, bands)
    np.testing.assert_array_equal(data, gdal_average(rasters[name], 200, 120))
    if name == 'u16':
        assert data.max() > 255
    else:
        assert data.min() < 0 and (data % 1 != 0).any()


def test_region_is_ignored(rgb):
    whole, _ = rgb.getThumbnail(format='numpy')
    cropped, _ = rgb.getThumbnail(format='numpy', region={'left': 10, 'right': 20})
    np.testing.assert_array_equal(cropped, whole)


def test_thumbnail_default_encoding_is_jpeg_for_a_png_source(rasters):
    source = geolargeimage.open(rasters['rgb'], encoding='PNG')
    data, mime = source.getThumbnail()
    assert mime == 'image/jpeg' and data[:3] == b'\xff\xd8\xff'
