"""Stored JPEG tiles are handed out without re-encoding, and only when that is exact."""

from __future__ import annotations

import io

import numpy as np
import pytest
from factory import make_raster
from osgeo import gdal
from PIL import Image

import geolargeimage


@pytest.fixture(scope='module')
def jpeg_tiff(tmp_path_factory):
    return make_raster(tmp_path_factory.mktemp('pass') / 'jpeg.tif', 1100, 700, 3,
                       options=['TILED=YES', 'COMPRESS=JPEG', 'JPEG_QUALITY=80'],
                       overviews=[2, 4])


def _decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def _stored_block(path, overview: int | None, col: int, row: int) -> np.ndarray:
    dataset = gdal.Open(str(path))
    band_owner = (dataset if overview is None
                  else dataset.GetRasterBand(1).GetOverview(overview).GetDataset())
    return band_owner.ReadAsArray(col * 256, row * 256, 256, 256, interleave='pixel')


@pytest.mark.parametrize(('z', 'x', 'y', 'overview'), [(3, 1, 1, None), (3, 3, 0, None),
                                                       (2, 1, 0, 0)])
def test_interior_jpeg_tiles_are_the_stored_blocks(jpeg_tiff, z, x, y, overview):
    source = geolargeimage.open(jpeg_tiff, noCache=True)
    assert source.levels == 4
    tile = source.getTile(x, y, z)
    assert tile.mimetype == 'image/jpeg'
    # Quality 80 stored, quality 95 re-encoded: only pass-through decodes to the stored pixels.
    np.testing.assert_array_equal(_decode(tile), _stored_block(jpeg_tiff, overview, x, y))


def test_edge_tiles_and_other_encodings_are_decoded(jpeg_tiff):
    source = geolargeimage.open(jpeg_tiff, noCache=True)
    edge = _decode(source.getTile(4, 2, 3))          # 1100 = 4*256 + 76: a partial block
    assert edge.shape == (256, 256, 3)
    # Re-encoded with zero padding (JPEG ringing aside), not the stored block's filler.
    assert edge[:, 80:].mean() < 1 and edge[192:].mean() < 1
    assert source._stored_tile(4, 2, 3) is None
    png = geolargeimage.open(jpeg_tiff, encoding='PNG', noCache=True).getTile(1, 1, 3)
    np.testing.assert_array_equal(_decode(png), _stored_block(jpeg_tiff, None, 1, 1))


def test_no_passthrough_for_deflate_or_masks(tmp_path):
    deflate = make_raster(tmp_path / 'deflate.tif', 600, 600, 3,
                          options=['TILED=YES', 'COMPRESS=DEFLATE'])
    source = geolargeimage.open(deflate)
    assert source._passthrough_format is None
    masked = make_raster(tmp_path / 'nodata.tif', 600, 600, 3, nodata=0,
                         options=['TILED=YES', 'COMPRESS=JPEG'])
    assert geolargeimage.open(masked)._passthrough_format is None
