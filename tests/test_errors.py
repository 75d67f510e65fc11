"""Errors: missing and unreadable files, damaged data, bad options, budgets and ranges."""

from __future__ import annotations

import errno
import math

import numpy as np
import pytest
from conftest import SAMPLES
from factory import expected, make_raster
from osgeo import gdal

import geolargeimage
from geolargeimage import config, errors


def full_resolution_tiles(source):
    """Yield ``(x, y, rows, cols)`` of every full-resolution tile."""
    z = source.levels - 1
    for y in range(math.ceil(source.sizeY / source.tileHeight)):
        for x in range(math.ceil(source.sizeX / source.tileWidth)):
            rows = slice(y * 256, min(source.sizeY, (y + 1) * 256))
            cols = slice(x * 256, min(source.sizeX, (x + 1) * 256))
            yield x, y, z, rows, cols


@pytest.fixture
def deflate_tiff(tmp_path):
    """A 1000×700 RGB tiled DEFLATE TIFF without overviews (so every tile is its own block)."""
    return make_raster(tmp_path / 'deflate.tif', 1000, 700, 3,
                       options=['TILED=YES', 'BLOCKXSIZE=256', 'BLOCKYSIZE=256',
                                'COMPRESS=DEFLATE'])


@pytest.fixture
def pixel_budget():
    """Set config max_output_pixels for one test and restore the default afterwards."""
    default = config.getConfig('max_output_pixels')
    yield lambda value: config.setConfig('max_output_pixels', value)
    config.setConfig('max_output_pixels', None)
    assert config.getConfig('max_output_pixels') == default


# -- opening --------------------------------------------------------------------------------------

@pytest.mark.parametrize('as_path', [str, lambda p: p])
def test_missing_path_raises_file_not_found(tmp_path, as_path):
    path = tmp_path / 'nowhere' / 'missing.tif'
    with pytest.raises(errors.SourceNotFoundError) as info:
        geolargeimage.open(as_path(path))
    error = info.value
    assert isinstance(error, FileNotFoundError)
    assert isinstance(error, geolargeimage.TileSourceFileNotFoundError)
    assert isinstance(error, geolargeimage.TileSourceError)
    assert error.errno == errno.ENOENT
    assert str(path) in str(error)


def test_text_file_raises_tile_source_error(tmp_path):
    path = tmp_path / 'notes.tif'
    path.write_text('this is not a raster, whatever its name says\n')
    for target in (path, SAMPLES / 'notanimage.txt'):
        with pytest.raises(geolargeimage.TileSourceError) as info:
            geolargeimage.open(target)
        assert not isinstance(info.value, FileNotFoundError)
        assert str(target) in str(info.value)


def test_empty_file_raises_source_error(tmp_path):
    path = tmp_path / 'empty.tif'
    path.write_bytes(b'')
    with pytest.raises(errors.SourceError):
        geolargeimage.open(path)


@pytest.mark.parametrize('fraction', [0.4, 0.9])
def test_truncated_tiff_raises_source_error_never_blank_tiles(deflate_tiff, fraction):
    data = deflate_tiff.read_bytes()
    deflate_tiff.write_bytes(data[:int(len(data) * fraction)])
    read = 0
    with pytest.raises(errors.SourceError):
        source = geolargeimage.open(deflate_tiff)
        for x, y, z, rows, cols in full_resolution_tiles(source):
            tile = source.getTile(x, y, z, numpyAllowed=True)
            # whatever does come back must be the real pixels, never a blank stand-in
            assert np.array_equal(tile[:rows.stop - rows.start, :cols.stop - cols.start],
                                  expected(rows, cols, 3)), (x, y)
            read += 1
        source.getThumbnail(format='numpy')
    assert read < 12


def _corrupt_block(path, x_block: int, y_block: int) -> None:
    dataset = gdal.Open(str(path))
    band = dataset.GetRasterBand(1)
    offset = int(band.GetMetadataItem(f'BLOCK_OFFSET_{x_block}_{y_block}', 'TIFF'))
    size = int(band.GetMetadataItem(f'BLOCK_SIZE_{x_block}_{y_block}', 'TIFF'))
    dataset = None
    assert size > 16
    with open(path, 'r+b') as handle:
        handle.seek(offset + size // 4)
        handle.write(b'\xff' * (size // 2))


def test_corrupted_tile_raises_corrupt_data_error(deflate_tiff):
    _corrupt_block(deflate_tiff, 0, 0)
    source = geolargeimage.open(deflate_tiff)
    for _ in range(2):  # a failed read is not cached as a blank tile
        with pytest.raises(errors.CorruptDataError) as info:
            source.getTile(0, 0, 2)
        assert isinstance(info.value, errors.SourceError)
        assert isinstance(info.value, geolargeimage.TileSourceMalformedError)
        assert str(deflate_tiff) in str(info.value)
    with pytest.raises(errors.SourceError):
        source.getTile(0, 0, 2, numpyAllowed=True)
    with pytest.raises(errors.SourceError):
        source.getRegion(region={'left': 10, 'top': 10, 'width': 20, 'height': 20},
                         format='numpy')
    # the other tiles still read, with their real pixels
    for x, y, z, rows, cols in full_resolution_tiles(source):
        if (x, y) == (0, 0):
            continue
        tile = source.getTile(x, y, z, numpyAllowed=True)
        assert np.array_equal(tile[:rows.stop - rows.start, :cols.stop - cols.start],
                              expected(rows, cols, 3)), (x, y)
    pixels, _ = source.getRegion(region={'left': 300, 'top': 300, 'width': 50, 'height': 40},
                                 format='numpy')
    assert np.array_equal(pixels, expected(slice(300, 340), slice(300, 350), 3))


# -- options ------------------------------------------------------------------------------------

@pytest.mark.parametrize('bad', ['BOGUS', 'jpeg2001', ''])
def test_bad_encoding_raises_value_error_naming_it(rgb_tiled, bad):
    with pytest.raises(ValueError, match=f'"{bad}"') as info:
        geolargeimage.open(rgb_tiled, encoding=bad)
    assert isinstance(info.value, errors.OptionsError)
    with pytest.raises(ValueError, match=f'"{bad}"'):
        geolargeimage.open(rgb_tiled).getRegion(encoding=bad)


@pytest.mark.parametrize('quality', [101, -1, 'high', 50.5, None])
def test_bad_jpeg_quality_raises_value_error(rgb_tiled, quality):
    with pytest.raises(ValueError, match='jpegQuality'):
        geolargeimage.open(rgb_tiled, jpegQuality=quality)
    with pytest.raises(ValueError, match='jpegQuality'):
        geolargeimage.open(rgb_tiled).getRegion(jpegQuality=quality)


def test_valid_jpeg_quality_changes_output(rgb_tiled):
    low = geolargeimage.open(rgb_tiled, jpegQuality=5).getTile(1, 1, 2)
    high = geolargeimage.open(rgb_tiled, jpegQuality=100).getTile(1, 1, 2)
    assert low.startswith(b'\xff\xd8') and high.startswith(b'\xff\xd8')
    assert len(low) < len(high)


def test_output_budget_raises_output_size_error(rgb_tiled, pixel_budget):
    source = geolargeimage.open(rgb_tiled)
    pixel_budget(1000)
    with pytest.raises(errors.OutputSizeError, match='1000') as info:
        source.getRegion(region={'left': 0, 'top': 0, 'width': 100, 'height': 100},
                         format='numpy')
    assert isinstance(info.value, ValueError)
    with pytest.raises(errors.OutputSizeError):
        source.getRegion(format='numpy')
    with pytest.raises(errors.OutputSizeError):
        source.getThumbnail()
    small, _ = source.getRegion(region={'left': 5, 'top': 7, 'width': 40, 'height': 25},
                                format='numpy')
    assert np.array_equal(small, expected(slice(7, 32), slice(5, 45), 3))
    fitted, _ = source.getRegion(output={'maxWidth': 30, 'maxHeight': 30}, format='numpy')
    assert fitted.shape == (21, 30, 3)
    pixel_budget(None)
    whole, _ = source.getRegion(format='numpy')
    assert whole.shape == (700, 1000, 3)


# -- regions ------------------------------------------------------------------------------------

@pytest.mark.parametrize('region', [
    {'left': 1000, 'top': 0, 'width': 10, 'height': 10},
    {'left': 5000, 'top': 5000, 'right': 6000, 'bottom': 6000},
    {'left': 0, 'top': 700, 'width': 10, 'height': 10},
    {'left': -5000, 'right': -4000, 'top': 0, 'bottom': 10},
    {'left': 2, 'top': 2, 'width': 0.5, 'height': 0.5, 'units': 'fraction'},
])
def test_region_wholly_outside_raises_range_error(rgb_tiled, region):
    with pytest.raises(errors.RangeError) as info:
        geolargeimage.open(rgb_tiled).getRegion(region=region, format='numpy')
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, geolargeimage.TileSourceRangeError)


def test_region_partly_outside_is_clipped(rgb_tiled):
    pixels, _ = geolargeimage.open(rgb_tiled).getRegion(
        region={'left': 980, 'top': 690, 'width': 100, 'height': 100}, format='numpy')
    assert np.array_equal(pixels, expected(slice(690, 700), slice(980, 1000), 3))


@pytest.mark.parametrize('region', [
    {'left': 0, 'top': 0, 'width': -5, 'height': 10},
    {'left': 0, 'top': 0, 'width': 5, 'height': -1},
])
def test_negative_region_size_raises_value_error(rgb_tiled, region):
    with pytest.raises(ValueError, match='negative'):
        geolargeimage.open(rgb_tiled).getRegion(region=region, format='numpy')


def test_unknown_region_key_raises_value_error(rgb_tiled):
    source = geolargeimage.open(rgb_tiled)
    with pytest.raises(ValueError, match='wdth'):
        source.getRegion(region={'left': 0, 'top': 0, 'wdth': 10}, format='numpy')
    with pytest.raises(ValueError, match='regoin'):
        source.getRegion(regoin={'left': 0}, format='numpy')
    with pytest.raises(ValueError, match='maxWdth'):
        source.getRegion(output={'maxWdth': 10}, format='numpy')


def test_bad_units_raise_value_error(rgb_tiled):
    with pytest.raises(ValueError, match='furlongs'):
        geolargeimage.open(rgb_tiled).getRegion(
            region={'left': 0, 'top': 0, 'width': 1, 'height': 1, 'units': 'furlongs'},
            format='numpy')
