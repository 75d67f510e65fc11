"""Several bands are read band by band and handed out as an ``(h, w, bands)`` view, whether the
file stores them apart (``INTERLEAVE=BAND``) or together (``PIXEL``, JPEG's YCbCr included): the
values must be GDAL's pixel-interleaved read of the same window, for full-resolution and
resampled reads, for every band and for a subset of them."""

from __future__ import annotations

import numpy as np
import pytest
from osgeo import gdal

import geolargeimage
from geolargeimage.enums import Resampling
from geolargeimage.grid import Window
from geolargeimage.io.raster import Raster


def stored(folder, interleave: str, bands: int, dtype: int, options: list[str]) -> str:
    path = str(folder / f'{interleave}-{bands}.tif')
    rng = np.random.default_rng(4)
    mem = gdal.GetDriverByName('MEM').Create('', 900, 700, bands, dtype)
    for band in range(1, bands + 1):
        mem.GetRasterBand(band).WriteArray(
            rng.integers(0, 60000 if dtype == gdal.GDT_UInt16 else 256, (700, 900)))
    gdal.Translate(path, mem, creationOptions=['TILED=YES', f'INTERLEAVE={interleave}',
                                               *options])
    assert gdal.Open(path).GetMetadata('IMAGE_STRUCTURE')['INTERLEAVE'] == interleave
    return path


@pytest.fixture(scope='module')
def separate(tmp_path_factory) -> str:
    return stored(tmp_path_factory.mktemp('interleave'), 'BAND', 5, gdal.GDT_UInt16,
                  ['COMPRESS=DEFLATE'])


@pytest.fixture(scope='module', params=['BAND', 'PIXEL', 'JPEG'])
def any_interleave(request, tmp_path_factory, separate) -> str:
    folder = tmp_path_factory.mktemp('interleave')
    if request.param == 'BAND':
        return separate
    if request.param == 'PIXEL':
        return stored(folder, 'PIXEL', 5, gdal.GDT_UInt16, ['COMPRESS=DEFLATE'])
    return stored(folder, 'PIXEL', 3, gdal.GDT_Byte, ['COMPRESS=JPEG', 'PHOTOMETRIC=YCBCR'])


@pytest.mark.parametrize('bands', [None, [3, 2]])
@pytest.mark.parametrize('window, size, kernel', [
    ((37, 11, 500, 400), (500, 400), Resampling.NEAREST),
    ((0.5, 3.25, 800.0, 600.5), (333, 250), Resampling.NEAREST),
    ((0, 0, 900, 700), (600, 466), Resampling.CUBIC),
])
def test_band_by_band_reads_equal_gdals_pixel_interleaved_read(any_interleave, bands, window,
                                                               size, kernel):
    algorithms = {Resampling.NEAREST: gdal.GRIORA_NearestNeighbour,
                  Resampling.CUBIC: gdal.GRIORA_Cubic}
    ours = Raster(any_interleave).read(Window(*window), *size, bands=bands, resampling=kernel)
    theirs = gdal.Open(any_interleave).ReadAsArray(*window, buf_xsize=size[0], buf_ysize=size[1],
                                             band_list=bands, resample_alg=algorithms[kernel],
                                             interleave='pixel')
    theirs = theirs.reshape(size[1], size[0], -1)
    assert ours.shape == theirs.shape
    np.testing.assert_array_equal(ours, theirs)


def test_a_band_interleaved_region_encodes_like_its_values(separate):
    source = geolargeimage.open(separate, noCache=True,
                                style={'bands': [{'band': 3, 'palette': 'R', 'min': 0,
                                                  'max': 60000}]})
    raw = geolargeimage.open(separate, noCache=True)
    region = dict(left=100, top=50, width=300, height=200)
    values, _ = raw.getRegion(region=region, format='numpy')
    picture, _ = source.getRegion(region=region, format='numpy')
    dataset = gdal.Open(separate)
    expected = dataset.GetRasterBand(3).ReadAsArray(100, 50, 300, 200)
    np.testing.assert_array_equal(values[:, :, 2], expected)
    np.testing.assert_allclose(picture[:, :, 0], expected / 60000 * 255, atol=1)
