"""Large shrinking reads are split into row strips decoded on several threads; the strips must
give exactly the pixels of GDAL's one ``ReadAsArray`` of the same window and size, for every
size the cut rule accepts (generated), for nearest and average, with and without overviews."""

from __future__ import annotations

import numpy as np
import pytest
from osgeo import gdal

from geolargeimage.enums import Resampling
from geolargeimage.grid import Window, exact_row_cuts
from geolargeimage.io import raster as raster_module
from geolargeimage.io.raster import Raster

GDAL_CODES = {Resampling.NEAREST: gdal.GRIORA_NearestNeighbour,
              Resampling.AVERAGE: gdal.GRIORA_Average}


def make_raster(path: str, width: int, height: int, bands: int, dtype: int, seed: int,
                overviews: bool) -> None:
    rng = np.random.default_rng(seed)
    mem = gdal.GetDriverByName('MEM').Create('', width, height, bands, dtype)
    for band in range(1, bands + 1):
        values = rng.integers(0, 250, (height, width)) + np.arange(width)[None, :] % 7
        mem.GetRasterBand(band).WriteArray(values)
    gdal.Translate(path, mem, creationOptions=['TILED=YES', 'BLOCKXSIZE=128',
                                               'BLOCKYSIZE=128', 'COMPRESS=DEFLATE'])
    if overviews:
        dataset = gdal.Open(path, gdal.GA_Update)
        dataset.BuildOverviews('AVERAGE', [2, 4])
        dataset = None


def sizes(count: int, seed: int = 7) -> list[tuple[int, int, int, int]]:
    """(width, height, out_width, out_height) of shrinking reads large enough to be split, with
    at least one exact cut."""
    rng = np.random.default_rng(seed)
    found = []
    while len(found) < count:
        out_height = int(rng.integers(512, 900))
        out_width = int(rng.integers(512, 700))
        height = int(out_height * rng.uniform(1.05, 3.5))
        width = int(out_width * rng.uniform(1.05, 3.5))
        if out_width * out_height >= raster_module.STRIP_MIN_PIXELS \
                and exact_row_cuts(height, out_height, 2):
            found.append((width, height, out_width, out_height))
    return found


@pytest.mark.parametrize('width, height, out_width, out_height', sizes(4))
@pytest.mark.parametrize('kernel', [Resampling.NEAREST, Resampling.AVERAGE])
def test_strips_equal_one_gdal_read(tmp_path, width, height, out_width, out_height, kernel):
    path = str(tmp_path / 'r.tif')
    make_raster(path, width, height, 3, gdal.GDT_Byte, seed=width, overviews=False)
    ours = Raster(path).read(Window(0, 0, width, height), out_width, out_height,
                             resampling=kernel)
    theirs = gdal.Open(path).ReadAsArray(buf_xsize=out_width, buf_ysize=out_height,
                                         resample_alg=GDAL_CODES[kernel], interleave='pixel')
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize('kernel', [Resampling.NEAREST, Resampling.AVERAGE])
def test_strips_of_an_overview_equal_gdal(tmp_path, kernel):
    path = str(tmp_path / 'o.tif')
    make_raster(path, 3000, 2250, 2, gdal.GDT_UInt16, seed=3, overviews=True)
    # 3000x2250 → 1024x768 reads the 2x overview (1500x1125), split at exact rows.
    ours = Raster(path).read(Window(0, 0, 3000, 2250), 1024, 768, resampling=kernel)
    overview = gdal.OpenEx(path, open_options=['OVERVIEW_LEVEL=0'])
    assert exact_row_cuts(overview.RasterYSize, 768, 2)
    theirs = overview.ReadAsArray(buf_xsize=1024, buf_ysize=768,
                                  resample_alg=GDAL_CODES[kernel], interleave='pixel')
    np.testing.assert_array_equal(ours, theirs)


def test_reads_are_split_only_where_a_cut_is_exact(tmp_path, monkeypatch):
    path = str(tmp_path / 'c.tif')
    make_raster(path, 1600, 1125, 1, gdal.GDT_Byte, seed=5, overviews=False)
    split = []
    original = Raster._read_level

    def counting(self, *args, **kwargs):
        split.append(args[3])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Raster, '_read_level', counting)
    raster = Raster(path)
    raster.read(Window(0, 0, 1600, 1125), 1024, 768, resampling=Resampling.AVERAGE)
    assert sorted(split) == [256, 512]  # cut at 512: strips of 512 and 256 rows
    split.clear()
    raster.read(Window(0, 0, 1600, 1125), 1024, 767, resampling=Resampling.AVERAGE)
    assert split == [767]  # gcd(1125, 767) = 1: no exact cut, one read
