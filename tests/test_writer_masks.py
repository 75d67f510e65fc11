"""Masks of the writable image: pixels no tile wrote (outside every tile, or masked out of every
tile that covered them) are written as no data, through a per-dataset GDAL mask, for every dtype
and band count. Files are read back with GDAL directly (values and mask) and with
``geolargeimage.open`` (transparent PNG pixels)."""

from __future__ import annotations

import importlib
import io
import warnings

import numpy as np
import pytest
from osgeo import gdal
from PIL import Image

import geolargeimage

WIDTH, HEIGHT = 300, 260


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    """Spill chunks of 256 px, so every image here spans several chunk files (and masks)."""
    monkeypatch.setattr(importlib.import_module('geolargeimage.write.spill'), 'CHUNK_SIZE', 256)


def random_image(height: int, width: int, bands: int, dtype: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == 'f':
        return (rng.standard_normal((height, width, bands)) * 1000).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, (height, width, bands), dtype=dtype, endpoint=True)


def masked_sink(dtype: str, bands: int) -> tuple[geolargeimage.ImageSink, np.ndarray, np.ndarray]:
    """A sink of three tiles, and the expected values and validity of every pixel.

    Tile 1 (rows 0-199, all columns) is masked by a pattern; tile 2 (rows 150-259, columns
    0-179) has no mask; tile 3 (rows and columns 0-99) writes only its even columns, so its odd
    columns keep what tile 1 left (a value, or no data). Rows 200-259 of columns 180-299 are
    never written.
    """
    first = random_image(200, WIDTH, bands, dtype, seed=1)
    second = random_image(110, 180, bands, dtype, seed=2)
    third = random_image(100, 100, bands, dtype, seed=3)
    if bands in (2, 4):  # an opaque alpha band, so the picture's alpha is the mask alone
        for tile in (first, second, third):
            tile[:, :, -1] = np.iinfo(dtype).max
    rows, cols = np.indices((200, WIDTH))
    first_mask = (rows // 7 + cols // 11) % 3 != 0
    third_mask = np.indices((100, 100))[1] % 2 == 0
    sink = geolargeimage.new()
    sink.addTile(first, 0, 0, mask=first_mask)
    sink.addTile(second, 0, 150)
    sink.addTile(third, 0, 0, mask=third_mask[:, :, None])
    values = np.zeros((HEIGHT, WIDTH, bands), dtype)
    valid = np.zeros((HEIGHT, WIDTH), bool)
    values[:200][first_mask] = first[first_mask]
    valid[:200] |= first_mask
    values[150:, :180] = second
    valid[150:, :180] = True
    values[:100, :100][third_mask] = third[third_mask]
    valid[:100, :100] |= third_mask
    return sink, values, valid


def gdal_file(path) -> tuple[np.ndarray, np.ndarray, int]:
    """(values (h, w, bands), mask (h, w), mask flags) as GDAL alone reads them."""
    dataset = gdal.Open(str(path))
    data = dataset.ReadAsArray()
    data = data[:, :, None] if data.ndim == 2 else data.transpose(1, 2, 0)
    band = dataset.GetRasterBand(1)
    return data, band.GetMaskBand().ReadAsArray(), band.GetMaskFlags()


def png_alpha(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert('RGBA'))[:, :, 3]


@pytest.mark.parametrize('dtype, bands', [
    ('uint8', 1), ('uint8', 2), ('uint8', 3), ('uint8', 4), ('uint16', 1), ('uint16', 3),
    ('int16', 1), ('int16', 3), ('float32', 1), ('float32', 3), ('float64', 1), ('float64', 5)])
def test_masked_and_unwritten_pixels_are_no_data_in_the_file(tmp_path, dtype, bands):
    sink, values, valid = masked_sink(dtype, bands)
    target = tmp_path / 'masked.tif'
    sink.write(target, lossy=False)
    data, mask, flags = gdal_file(target)
    assert flags == gdal.GMF_PER_DATASET
    np.testing.assert_array_equal(mask, np.where(valid, 255, 0))
    np.testing.assert_array_equal(data[valid], values[valid])
    source = geolargeimage.open(target, noCache=True)
    np.testing.assert_array_equal(source.getRegion(format='numpy')[0][valid], values[valid])
    picture, mime = source.getRegion(encoding='PNG')
    assert mime == 'image/png'
    np.testing.assert_array_equal(png_alpha(picture), np.where(valid, 255, 0))
    tiles = geolargeimage.open(target, noCache=True, encoding='PNG')
    tile = png_alpha(tiles.getTile(0, 0, tiles.levels - 1))
    np.testing.assert_array_equal(tile, np.where(valid[:256, :256], 255, 0))


def test_the_sink_reads_its_gaps_as_transparent():
    sink, values, valid = masked_sink('float32', 1)
    np.testing.assert_array_equal(sink.getRegion(format='numpy')[0][valid], values[valid])
    np.testing.assert_array_equal(png_alpha(sink.getRegion(encoding='PNG')[0]),
                                  np.where(valid, 255, 0))


def test_lossy_and_cog_files_keep_the_mask_and_its_overviews(tmp_path):
    rgb = np.empty((520, 600, 3), np.uint8)
    rgb[:] = (40, 120, 200)  # one colour, which JPEG keeps (bar a seam next to the no data)
    split = 304  # columns left of this are never written
    sink = geolargeimage.new()
    sink.addTile(rgb[:, split:], split, 0)
    sink.addTile(rgb[:, :split], 0, 0, mask=np.zeros((520, split), bool))
    valid = np.zeros((520, 600), bool)
    valid[:, split:] = True
    for name, options in (('jpeg.tif', {}), ('cog.tif', {'cog': True})):
        target = tmp_path / name
        sink.write(target, tileSize=128, **options)
        data, mask, flags = gdal_file(target)
        assert flags == gdal.GMF_PER_DATASET
        np.testing.assert_array_equal(mask, np.where(valid, 255, 0))
        assert np.abs(data[:, split + 8:].astype(int) - rgb[:, split + 8:]).max() <= 4
        dataset = gdal.Open(str(target))
        overview_mask = dataset.GetRasterBand(1).GetOverview(0).GetMaskBand().ReadAsArray()
        assert overview_mask.shape == (260, 300)
        assert (overview_mask[:, :split // 2 - 2] == 0).all()
        assert (overview_mask[:, split // 2 + 2:] == 255).all()
    assert geolargeimage.validateCOG(tmp_path / 'cog.tif').valid


def test_a_mask_is_written_only_where_there_is_no_data_to_mark(tmp_path):
    sink, values, valid = masked_sink('int16', 1)
    sink.write(tmp_path / 'gaps.tif', lossy=False)
    assert gdal_file(tmp_path / 'gaps.tif')[2] == gdal.GMF_PER_DATASET
    sink.write(tmp_path / 'no-alpha.tif', lossy=False, alpha=False)  # no transparency at all
    data, _mask, flags = gdal_file(tmp_path / 'no-alpha.tif')
    assert flags == gdal.GMF_ALL_VALID
    np.testing.assert_array_equal(data, values)
    sink.addTile(np.full((HEIGHT, WIDTH), 9, np.int16), mask=~valid)  # fills every gap
    sink.write(tmp_path / 'full.tif', lossy=False)
    data, _mask, flags = gdal_file(tmp_path / 'full.tif')
    assert flags == gdal.GMF_ALL_VALID
    np.testing.assert_array_equal(data[:, :, 0], np.where(valid, values[:, :, 0], 9))


def test_multi_page_files_warn_that_they_carry_no_mask(tmp_path):
    sink = geolargeimage.new()
    values = random_image(100, 120, 1, 'float32', seed=5)
    sink.addTile(values, 0, 0, z=0)
    sink.addTile(values[:50], 0, 0, z=1)  # rows 50-99 of frame 1 are never written
    with pytest.warns(UserWarning, match='no mask'):
        sink.write(tmp_path / 'frames.tif', lossy=False)
    source = geolargeimage.open(tmp_path / 'frames.tif', noCache=True)
    assert source.frames == 2
    np.testing.assert_array_equal(source.getRegion(format='numpy', frame=1)[0][:50], values[:50])
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        sink.write(tmp_path / 'opaque.tif', lossy=False, alpha=False)
    labelled = geolargeimage.new()
    labelled.addTile(values[:50], 0, 0)
    labelled.addTile(values[50:, :60], 0, 50)  # the rest of rows 50-99 is never written
    labelled.addAssociatedImage(np.full((20, 30, 3), 80, np.uint8), 'label')
    with pytest.warns(UserWarning, match='no mask'):
        labelled.write(tmp_path / 'labelled.tif', lossy=False)
    source = geolargeimage.open(tmp_path / 'labelled.tif', noCache=True)
    assert source.frames == 1 and source.getAssociatedImagesList() == ['label']
    np.testing.assert_array_equal(source.getRegion(format='numpy')[0][50:, :60], values[50:, :60])
