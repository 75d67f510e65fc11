"""Coarse reads of a sparse raster (most blocks never written) that is too large for synthesized
overviews decode only where blocks are stored (:mod:`geolargeimage.io.sparse_reads`): the
pictures must be GDAL's own whole-window read of the file, pixel for pixel (an average may round
differently by 1 in rare pixels: each piece is GDAL's read of its own window), absent parts the
fill value, and a raster whose stored blocks are too many still refused at once."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from osgeo import gdal

import geolargeimage
from geolargeimage import config, errors

SIZE = (9000, 7000)
#: (column, row) of the stored 256² blocks, in blocks.
STORED = [(3, 2), (4, 2), (20, 17), (34, 26), (0, 0)]


@pytest.fixture
def small_limits():
    """Make the 9000×7000 raster "too large": no synthesized overviews, and a direct read of
    all its pixels over the budget, while its stored blocks fit."""
    config.setConfig('pyramid_max_pixels', 1 << 20)
    config.setConfig('max_output_pixels', 1 << 22)
    yield
    config.setConfig('pyramid_max_pixels', None)
    config.setConfig('max_output_pixels', None)


def make_sparse(path: str, nodata: float | None, bands: int = 3) -> str:
    dataset = gdal.GetDriverByName('GTiff').Create(
        path, *SIZE, bands, gdal.GDT_Byte,
        ['TILED=YES', 'BLOCKXSIZE=256', 'BLOCKYSIZE=256', 'COMPRESS=DEFLATE', 'SPARSE_OK=YES'])
    rng = np.random.default_rng(2)
    for band in range(1, bands + 1):
        if nodata is not None:
            dataset.GetRasterBand(band).SetNoDataValue(nodata)
        for col, row in STORED:
            dataset.GetRasterBand(band).WriteArray(
                rng.integers(1, 250, (256, 256)).astype(np.uint8), col * 256, row * 256)
    dataset.Close()
    return path


def gdal_whole(path: str, width: int, height: int, algorithm: int) -> np.ndarray:
    data = gdal.Open(path).ReadAsArray(buf_xsize=width, buf_ysize=height,
                                       resample_alg=algorithm, interleave='pixel')
    return data.reshape(height, width, -1)


@pytest.mark.parametrize('nodata', [None, 0])
@pytest.mark.parametrize('resample, algorithm', [('nearest', gdal.GRIORA_NearestNeighbour),
                                                 ('average', gdal.GRIORA_Average)])
def test_whole_image_reads_equal_gdals_read(tmp_path, small_limits, nodata, resample,
                                            algorithm):
    path = make_sparse(str(tmp_path / 'sparse.tif'), nodata)
    source = geolargeimage.open(path, noCache=True)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', errors.NoOverviewsWarning)
        ours, _ = source.getRegion(output=dict(maxWidth=1000), format='numpy',
                                   resample=resample)
    theirs = gdal_whole(path, ours.shape[1], ours.shape[0], algorithm)
    assert ours.shape == theirs.shape == (777, 1000, 3)
    differ = ours.astype(int) - theirs
    assert np.abs(differ).max() <= (0 if resample == 'nearest' else 1)
    assert np.count_nonzero(differ) <= differ.size * 1e-4
    assert np.count_nonzero(theirs) > 0  # the stored blocks show


def test_the_thumbnail_shows_the_stored_blocks_where_they_are(tmp_path, small_limits):
    path = make_sparse(str(tmp_path / 'sparse.tif'), None)
    source = geolargeimage.open(path, noCache=True)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', errors.NoOverviewsWarning)
        thumbnail, _ = source.getThumbnail(256, 256, format='numpy', resample='nearest')
    theirs = gdal_whole(path, thumbnail.shape[1], thumbnail.shape[0],
                        gdal.GRIORA_NearestNeighbour)
    np.testing.assert_array_equal(thumbnail, theirs)
    rows, cols = np.nonzero(thumbnail[:, :, 0])
    scale = thumbnail.shape[1] / SIZE[0]
    for col, row in ((c, r) for c, r in STORED if (c, r) != (0, 0)):
        assert ((np.abs(cols - (col + 0.5) * 256 * scale) < 8)
                & (np.abs(rows - (row + 0.5) * 256 * scale) < 8)).any(), (col, row)


def test_a_raster_whose_stored_blocks_exceed_the_budget_is_refused_at_once(tmp_path,
                                                                           small_limits):
    path = str(tmp_path / 'dense.tif')
    dataset = gdal.GetDriverByName('GTiff').Create(path, *SIZE, 1, gdal.GDT_Byte,
                                                   ['TILED=YES', 'COMPRESS=DEFLATE'])
    dataset.GetRasterBand(1).Fill(7)
    dataset.Close()
    source = geolargeimage.open(path, noCache=True)
    with pytest.raises(errors.OutputSizeError, match='would decode 63000000 stored pixels'):
        source.getThumbnail(256, 256, format='numpy')
