"""Shrinking reads decode the level's window once and resample it in memory
(:mod:`geolargeimage.io.memory_resample`): nearest by numpy indexing, averages of several integer
bands by GDAL's kernel on each band. The pixels must be exactly those of GDAL's one
``ReadAsArray`` of the same window and size on the file, for generated sizes, windows that do not
fall on whole pixels, several data types, and levels that are overviews. Averages of bands with
nodata or a mask are left to GDAL's own read (its average leaves their invalid pixels out)."""

from __future__ import annotations

import numpy as np
import pytest
from osgeo import gdal

from geolargeimage.enums import Resampling
from geolargeimage.grid import Window
from geolargeimage.io import memory_resample
from geolargeimage.io.raster import Raster

DTYPES = {gdal.GDT_Byte: 250, gdal.GDT_UInt16: 60000, gdal.GDT_Int16: 30000, gdal.GDT_Float32: 1e6}


def make_raster(path: str, width: int, height: int, bands: int, dtype: int, seed: int, *,
                overviews: bool = False, nodata: float | None = None,
                mask: bool = False) -> None:
    rng = np.random.default_rng(seed)
    mem = gdal.GetDriverByName('MEM').Create('', width, height, bands, dtype)
    for band in range(1, bands + 1):
        values = rng.uniform(0, DTYPES[dtype], (height, width))
        mem.GetRasterBand(band).WriteArray(values)
        if nodata is not None:
            mem.GetRasterBand(band).SetNoDataValue(nodata)
            mem.GetRasterBand(band).WriteArray(np.full((height // 3, width // 3), nodata))
    if mask:
        mem.CreateMaskBand(gdal.GMF_PER_DATASET)
        valid = np.full((height, width), 255, np.uint8)
        valid[: height // 2, : width // 2] = 0
        mem.GetRasterBand(1).GetMaskBand().WriteArray(valid)
    gdal.Translate(path, mem, creationOptions=['TILED=YES', 'BLOCKXSIZE=128', 'BLOCKYSIZE=128',
                                               'COMPRESS=DEFLATE'])
    if overviews:
        dataset = gdal.Open(path, gdal.GA_Update)
        dataset.BuildOverviews('AVERAGE', [2, 4])
        dataset = None


def cases(count: int, seed: int = 11) -> list[tuple]:
    """(width, height, window, out_width, out_height): windows anywhere in the raster, with
    fractional offsets and sizes, some at the far edges, shrunk by factors between 1.05 and 1.95
    (one in four keeps its height: a 1:1 axis)."""
    rng = np.random.default_rng(seed)
    found = []
    while len(found) < count:
        width, height = (int(v) for v in rng.integers(400, 1400, 2))
        w, h = rng.uniform(0.3, 1.0) * width, rng.uniform(0.3, 1.0) * height
        left, top = rng.uniform(0, width - w), rng.uniform(0, height - h)
        if len(found) % 3 == 1:  # at the right and bottom edges
            left, top = width - w, height - h
        if len(found) % 2 == 0:  # half on whole pixels
            left, top, w, h = int(left), int(top), int(w), int(h)
        factor = rng.uniform(1.05, 1.95)
        out_height = max(1, int(h / factor)) if len(found) % 4 else int(h + 0.5)  # one axis 1:1
        found.append((width, height, (left, top, w, h), max(1, int(w / factor)), out_height))
    return found


def gdal_read(path: str, window: tuple, out_width: int, out_height: int,
              algorithm: int = gdal.GRIORA_Average) -> np.ndarray:
    data = gdal.Open(path).ReadAsArray(*window, buf_xsize=out_width, buf_ysize=out_height,
                                       resample_alg=algorithm, interleave='pixel')
    return data.reshape(out_height, out_width, -1)


def read_in_memory(monkeypatch, path: str, window: tuple, out_width: int, out_height: int,
                   kernel: Resampling) -> np.ndarray:
    """Our read of ``window``, failing unless it went through the in-memory resampling."""
    used = []
    original = memory_resample.read_and_resample
    monkeypatch.setattr(memory_resample, 'read_and_resample',
                        lambda *args: used.append(args) or original(*args))
    ours = Raster(path).read(Window(*window), out_width, out_height, resampling=kernel)
    assert used, f'the {kernel.value} read did not go through the in-memory resampling'
    return ours


@pytest.mark.parametrize('dtype', [gdal.GDT_Byte, gdal.GDT_UInt16, gdal.GDT_Int16])
@pytest.mark.parametrize('width, height, window, out_width, out_height', cases(8))
def test_average_equals_one_gdal_read(tmp_path, monkeypatch, dtype, width, height, window,
                                      out_width, out_height):
    path = str(tmp_path / 'r.tif')
    make_raster(path, width, height, 3, dtype, seed=width + height)
    ours = read_in_memory(monkeypatch, path, window, out_width, out_height, Resampling.AVERAGE)
    np.testing.assert_array_equal(ours, gdal_read(path, window, out_width, out_height))


def test_average_of_an_overview_equals_gdal_on_the_overview(tmp_path):
    path = str(tmp_path / 'o.tif')
    make_raster(path, 3000, 2250, 4, gdal.GDT_UInt16, seed=3, overviews=True)
    ours = Raster(path).read(Window(0, 0, 3000, 2250), 1024, 768,
                             resampling=Resampling.AVERAGE)
    overview = gdal.OpenEx(path, open_options=['OVERVIEW_LEVEL=0'])  # 1500 x 1125
    theirs = overview.ReadAsArray(buf_xsize=1024, buf_ysize=768,
                                  resample_alg=gdal.GRIORA_Average, interleave='pixel')
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize('kind', ['nodata', 'mask'])
def test_bands_with_invalid_pixels_keep_gdals_read(tmp_path, monkeypatch, kind):
    path = str(tmp_path / f'{kind}.tif')
    make_raster(path, 900, 700, 3, gdal.GDT_Byte, seed=5, nodata=0 if kind == 'nodata' else None,
                mask=kind == 'mask')
    raster = Raster(path)
    monkeypatch.setattr(memory_resample, 'read_and_resample', lambda *args: pytest.fail(
        'an average with invalid pixels went through a MEM dataset that ignores them'))
    ours = raster.read(Window(0, 0, 900, 700), 600, 450, resampling=Resampling.AVERAGE)
    np.testing.assert_array_equal(ours, gdal_read(path, (0, 0, 900, 700), 600, 450))


def test_nearest_and_modest_averages_of_several_valid_bands_qualify(tmp_path):
    path = str(tmp_path / 'q.tif')
    make_raster(path, 1000, 800, 2, gdal.GDT_Byte, seed=9)
    info = Raster(path).info
    window = (0.0, 0.0, 1000.0, 800.0)
    assert memory_resample.qualifies(info, [1, 2], Resampling.AVERAGE, window, 600, 500)
    assert memory_resample.qualifies(info, [1], Resampling.NEAREST, window, 600, 500)
    assert not memory_resample.qualifies(info, [1], Resampling.AVERAGE, window, 600, 500)
    assert not memory_resample.qualifies(info, [1, 2], Resampling.CUBIC, window, 600, 500)
    floats = tmp_path / 'f.tif'
    make_raster(str(floats), 1000, 800, 2, gdal.GDT_Float32, seed=9)
    float_info = Raster(str(floats)).info
    assert not memory_resample.qualifies(float_info, [1, 2], Resampling.AVERAGE, window, 600, 500)
    assert memory_resample.qualifies(float_info, [1, 2], Resampling.NEAREST, window, 600, 500)
    # a small average is GDAL's one read; a small nearest pick stays in memory
    assert not memory_resample.qualifies(info, [1, 2], Resampling.AVERAGE,
                                         (0.0, 0.0, 300.0, 200.0), 200, 150)
    assert memory_resample.qualifies(info, [1, 2], Resampling.NEAREST,
                                     (0.0, 0.0, 300.0, 200.0), 200, 150)
    # a window of the output's size once rounded (GDAL's MEM copies it, fractions dropped)
    assert not memory_resample.qualifies(info, [1, 2], Resampling.AVERAGE,
                                         (0.0, 0.5, 600.0, 500.0), 600, 500)
    # enlarging, or decoding far more than the output (a level far finer than needed)
    for kernel in (Resampling.NEAREST, Resampling.AVERAGE):
        assert not memory_resample.qualifies(info, [1, 2], kernel, window, 1200, 900)
        assert not memory_resample.qualifies(info, [1, 2], kernel, window, 300, 250)


@pytest.mark.parametrize('bands, dtype, nodata, mask', [
    (1, gdal.GDT_Byte, None, False), (3, gdal.GDT_UInt16, None, True),
    (2, gdal.GDT_Float32, -1.0, False)])
@pytest.mark.parametrize('width, height, window, out_width, out_height', cases(8, seed=23))
def test_nearest_equals_one_gdal_read(tmp_path, monkeypatch, bands, dtype, nodata, mask, width,
                                      height, window, out_width, out_height):
    path = str(tmp_path / 'n.tif')
    make_raster(path, width, height, bands, dtype, seed=width * 3 + height, nodata=nodata,
                mask=mask)
    ours = read_in_memory(monkeypatch, path, window, out_width, out_height, Resampling.NEAREST)
    np.testing.assert_array_equal(ours, gdal_read(path, window, out_width, out_height,
                                                  gdal.GRIORA_NearestNeighbour))


def test_covering_window_holds_every_pixel_under_a_fractional_window():
    assert memory_resample.covering((10.5, 3.25, 20.0, 7.5), (100, 50)) == (10, 3, 21, 8)
    assert memory_resample.covering((0.0, 0.0, 100.0, 50.0), (100, 50)) == (0, 0, 100, 50)
    # GDAL reads rows round(48.6) = 49 and round(1.4) = 1 more: row 49, which the window holds
    assert memory_resample.covering((95.5, 48.6, 4.5, 1.4), (100, 50)) == (95, 48, 5, 2)
    # rounded, the window reaches one pixel past the ones it touches: 0.5 + 10.4 -> [1, 11)
    assert memory_resample.covering((0.5, 0.0, 10.4, 5.0), (100, 50)) == (0, 0, 11, 5)
