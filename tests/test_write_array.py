"""``write_array``: numpy, dask and xarray arrays written as tiled GeoTIFFs and COGs, their
chunks written where the scheduler computes them (threads, and a 2-worker ``LocalCluster`` on
127.0.0.1, whose file must equal the single-process one byte for byte), georeferencing from the
arguments or the DataArray, and bad input: a clear error, and no target or parts left behind.
"""

from __future__ import annotations

import numpy as np
import pytest
from factory import expected, make_raster
from osgeo import gdal, osr

import geolargeimage
from geolargeimage import errors

da = pytest.importorskip('dask.array')

GEOTRANSFORM = (500000.0, 2.0, 0.0, 4500000.0, 0.0, -2.0)


def values(height: int = 1100, width: int = 1500, bands: int = 3) -> np.ndarray:
    return expected(slice(0, height), slice(0, width), bands)


def read_back(path) -> tuple[np.ndarray, tuple[float, ...], osr.SpatialReference | None]:
    dataset = gdal.Open(str(path))
    pixels = dataset.ReadAsArray()
    pixels = pixels[:, :, None] if pixels.ndim == 2 else pixels.transpose(1, 2, 0)
    return pixels, dataset.GetGeoTransform(), dataset.GetSpatialRef()


def left_behind(folder) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


@pytest.mark.parametrize('kind', ['numpy', 'dask'])
def test_arrays_are_written_with_their_georeferencing(tmp_path, kind):
    data = values()
    array = data if kind == 'numpy' else da.from_array(data, chunks=(300, 512, 3))
    path = geolargeimage.write_array(array, tmp_path / 'out.tif', crs='EPSG:32618',
                                     transform=GEOTRANSFORM, cog=True)
    pixels, geotransform, srs = read_back(path)
    np.testing.assert_array_equal(pixels, data)
    assert geotransform == GEOTRANSFORM and srs.GetAuthorityCode(None) == '32618'
    assert geolargeimage.validateCOG(path).valid
    assert gdal.Open(str(path)).GetRasterBand(1).GetOverviewCount() >= 2
    assert left_behind(tmp_path) == ['out.tif']


def test_a_data_array_brings_its_own_georeferencing(tmp_path):
    pytest.importorskip('xarray')
    source_path = make_raster(tmp_path / 'src.tif', 700, 500, 2, dtype='uint16', epsg=32618,
                              geotransform=GEOTRANSFORM, options=['TILED=YES'])
    source = geolargeimage.open(source_path, noCache=True)
    path = geolargeimage.write_array(source.to_xarray(chunks=256), tmp_path / 'again.tif')
    pixels, geotransform, srs = read_back(path)
    np.testing.assert_array_equal(pixels, expected(slice(0, 500), slice(0, 700), 2, 'uint16'))
    assert geotransform == GEOTRANSFORM and srs.GetAuthorityCode(None) == '32618'
    part = source.to_xarray()[:, 100:300, 200:500]  # keeps the whole's spatial_ref
    pixels, geotransform, _ = read_back(geolargeimage.write_array(part, tmp_path / 'part.tif'))
    np.testing.assert_array_equal(pixels, expected(slice(100, 300), slice(200, 500), 2, 'uint16'))
    assert geotransform == (GEOTRANSFORM[0] + 200 * 2, 2.0, 0.0, GEOTRANSFORM[3] - 100 * 2, 0.0,
                            -2.0)
    half = source.to_xarray(level=source.levels - 2)
    _, geotransform, _ = read_back(geolargeimage.write_array(half, tmp_path / 'half.tif'))
    assert geotransform == (GEOTRANSFORM[0], 4.0, 0.0, GEOTRANSFORM[3], 0.0, -4.0)


def test_a_cluster_writes_the_single_process_file(tmp_path):
    distributed = pytest.importorskip('distributed')
    # a lazily computed array: no chunk exists before a worker computes it
    rows = da.arange(2300, chunks=512, dtype=np.uint32)[:, None, None]
    cols = da.arange(1900, chunks=512, dtype=np.uint32)[None, :, None]
    bands = (da.arange(3, dtype=np.uint32) + 1) * 50
    array = ((rows * 3 + cols * 7 + bands) % 251).astype(np.uint8)
    alone = geolargeimage.write_array(array, tmp_path / 'alone.tif', crs='EPSG:4326',
                                      transform=(10, 0.001, 0, 50, 0, -0.001), cog=True)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host='127.0.0.1', dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        spread = geolargeimage.write_array(array, tmp_path / 'cluster.tif', crs='EPSG:4326',
                                           transform=(10, 0.001, 0, 50, 0, -0.001), cog=True)
    assert spread.read_bytes() == alone.read_bytes()
    np.testing.assert_array_equal(read_back(spread)[0], values(2300, 1900, 3))


def test_no_georeferencing_gives_a_plain_cog(tmp_path):
    path = geolargeimage.write_array(values(300, 400, 1)[:, :, 0], tmp_path / 'plain.tif',
                                     cog=True, nodata=0)
    dataset = gdal.Open(str(path))
    assert dataset.GetSpatialRef() is None
    assert dataset.GetGeoTransform(can_return_null=True) is None
    assert dataset.GetRasterBand(1).GetNoDataValue() == 0
    assert geolargeimage.validateCOG(path).valid


def failing_array(location: tuple[int, int]):
    """600² zeros in 256² chunks whose chunk at ``location`` raises when computed (a closure:
    cloudpickle sends it to cluster workers by value)."""
    def compute(block, block_info=None):
        if block_info[0]['chunk-location'][:2] == location:
            raise ValueError(f'chunk {location} cannot be computed')
        return block
    return da.zeros((600, 600, 1), chunks=(256, 256, 1), dtype=np.uint8).map_blocks(
        compute, dtype=np.uint8)


def test_a_failing_chunk_raises_and_leaves_nothing(tmp_path):
    array = failing_array((1, 1))
    with pytest.raises(ValueError, match=r'chunk \(1, 1\)'):
        geolargeimage.write_array(array, tmp_path / 'broken.tif')
    assert left_behind(tmp_path) == []


@pytest.mark.parametrize('array, keywords, message', [
    (np.zeros((2, 3, 4, 5), np.uint8), {}, 'dimensions'),
    (np.zeros((20, 30), np.complex64), {}, 'cannot store'),
    (np.zeros((20, 30), np.uint8), {'crs': 'EPSG:4326'}, 'transform='),
    (np.zeros((20, 30), np.uint8), {'crs': 'not a crs', 'transform': GEOTRANSFORM}, 'crs'),
    (np.zeros((20, 30), np.uint8), {'transform': (1, 2, 3)}, '6 numbers'),
    (np.zeros((20, 30), np.uint8), {'compression': 'nope'}, 'compression'),
])
def test_bad_input_is_an_options_error(tmp_path, array, keywords, message):
    with pytest.raises(errors.OptionsError, match=message):
        geolargeimage.write_array(array, tmp_path / 'bad.tif', **keywords)
    assert left_behind(tmp_path) == []


@pytest.mark.parametrize('progress', [True, False])
def test_chunks_done_show_on_a_terminal_unless_silenced(tmp_path, capsys, monkeypatch,
                                                       terminal, progress):
    progress_module = terminal
    bars = []
    writer = __import__('geolargeimage.write.array_writer', fromlist=['x'])
    monkeypatch.setattr(writer, 'chunk_bar', lambda *args: bars.append(
        progress_module.chunk_bar(*args)) or bars[-1])
    array = da.zeros((600, 700, 1), chunks=(256, 256, 1), dtype=np.uint8)
    geolargeimage.write_array(array, tmp_path / 'bar.tif', progress=progress)
    err = capsys.readouterr().err
    assert ('writing chunks' in err) == progress and bars[0].n == (9 if progress else 0)
    assert ('bar.tif' in err) == progress  # the final write's own bar


def test_a_failing_chunk_on_a_cluster_names_its_window(tmp_path):
    distributed = pytest.importorskip('distributed')
    array = failing_array((1, 0))
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  host='127.0.0.1', dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        with pytest.raises(ValueError, match='cannot be computed') as caught:
            geolargeimage.write_array(array, tmp_path / 'broken.tif')
    assert 'in the chunk at rows 256..512, columns 0..256' in caught.value.__notes__
    assert left_behind(tmp_path) == []
