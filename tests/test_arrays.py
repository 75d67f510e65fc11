"""A source as a lazy dask array and an xarray DataArray (``to_dask``, ``to_xarray``, the
``geolargeimage`` xarray engine): shapes known without reading, chunks on the level's blocks,
values equal to the source's own getRegion (full resolution, levels, regions, frames), sources
that pickle and reopen, graphs run on threads, processes and a ``distributed.LocalCluster`` on
127.0.0.1, and georeferencing in rioxarray's conventions checked against GDAL's geotransform.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from conftest import (
    DEM_GEOTRANSFORM,
    DEM_NODATA,
    MULTIPAGE_PAGES,
    UTM_GEOTRANSFORM,
    multipage_values,
)
from factory import expected, make_raster
from osgeo import gdal
from pyproj import CRS

import geolargeimage
from geolargeimage import errors
from geolargeimage.io.raster import Raster

da = pytest.importorskip('dask.array')
xr = pytest.importorskip('xarray')

WIDTH, HEIGHT = 1536, 1024  # level factors 2 and 4 fall on whole pixels


@pytest.fixture(scope='module')
def rgb(tmp_path_factory):
    return make_raster(tmp_path_factory.mktemp('arrays') / 'rgb.tif', WIDTH, HEIGHT, 3,
                       options=['TILED=YES', 'COMPRESS=DEFLATE'], overviews=(2, 4),
                       epsg=32618, geotransform=UTM_GEOTRANSFORM)


def whole_region(source, width: int, height: int, resample: str = 'nearest') -> np.ndarray:
    return source.getRegion(output=dict(maxWidth=width, maxHeight=height), format='numpy',
                            resample=resample)[0]


def test_shape_and_chunks_are_known_without_reading(rgb, monkeypatch):
    source = geolargeimage.open(rgb, noCache=True)
    monkeypatch.setattr(Raster, 'read', lambda *args, **kwargs: pytest.fail('read a pixel'))
    array = source.to_dask()
    assert array.shape == (HEIGHT, WIDTH, 3) and array.dtype == np.uint8
    assert array.chunks == ((1024,), (1536,), (3,))  # whole 256² blocks, ~2048 across
    small = source.to_dask(chunks=(300, 512))
    assert small.chunks[:2] == ((300, 300, 300, 124), (512, 512, 512))
    assert source.to_dask(level=1).shape == (HEIGHT // 4, WIDTH // 4, 3)


def test_full_resolution_chunks_hold_the_files_pixels(rgb):
    source = geolargeimage.open(rgb, noCache=True)
    array = source.to_dask(chunks=(256, 384))
    np.testing.assert_array_equal(array.compute(), expected(slice(0, HEIGHT), slice(0, WIDTH), 3))
    np.testing.assert_array_equal(array[100:300, 700:710].compute(),
                                  expected(slice(100, 300), slice(700, 710), 3))


@pytest.mark.parametrize('resample', ['nearest', 'average'])
def test_a_level_equals_get_region_at_its_size(rgb, resample):
    source = geolargeimage.open(rgb, noCache=True, resample=resample)
    top = source.levels - 1
    for level, factor in ((top - 1, 2), (top - 2, 4)):
        array = source.to_dask(level=level, chunks=(128, 128))
        np.testing.assert_array_equal(
            array.compute(), whole_region(source, WIDTH // factor, HEIGHT // factor, resample))


def test_a_region_in_any_units(rgb):
    source = geolargeimage.open(rgb, noCache=True)
    region = dict(left=0.25, top=0.5, right=0.75, bottom=1.0, units='fraction')
    array = source.to_dask(region=region, chunks=200)
    np.testing.assert_array_equal(array.compute(), source.getRegion(region=region,
                                                                    format='numpy')[0])
    assert array.shape == (HEIGHT // 2, WIDTH // 2, 3)


def test_frames(multipage_rgb):
    source = geolargeimage.open(multipage_rgb, noCache=True)
    for frame in range(MULTIPAGE_PAGES):
        values = source.to_dask(frame=frame).compute()
        np.testing.assert_array_equal(values, multipage_values(frame, *values.shape[1::-1]))
    with pytest.raises(errors.RangeError):
        source.to_dask(frame=MULTIPAGE_PAGES)


def test_bad_levels_and_strided_reads_raise(rgb):
    source = geolargeimage.open(rgb, noCache=True)
    with pytest.raises(errors.RangeError, match='level 9'):
        source.to_dask(level=9)
    grid = source.level_pixels()
    with pytest.raises(errors.OptionsError, match='steps of 1'):
        grid[::2, :]
    np.testing.assert_array_equal(grid[5, 7:9, 1], expected(slice(5, 6), slice(7, 9), 3)[0, :, 1])


def test_a_source_pickles_as_its_path_and_options(rgb):
    source = geolargeimage.open(rgb, noCache=True, style={'band': 2})
    again = pickle.loads(pickle.dumps(source))
    assert again is not source and again.style == {'band': 2}
    region = dict(left=10, top=20, width=64, height=32)
    np.testing.assert_array_equal(again.getRegion(region=region, format='numpy')[0],
                                  source.getRegion(region=region, format='numpy')[0])
    shared = geolargeimage.open(rgb)
    assert pickle.loads(pickle.dumps(shared)) is shared  # the same process's shared source


def test_processes_and_a_local_cluster_give_the_threads_result(rgb):
    distributed = pytest.importorskip('distributed')
    source = geolargeimage.open(rgb, noCache=True)
    array = source.to_dask(chunks=(256, 512)).astype(np.int64)
    threads = array.sum(axis=(0, 1)).compute(scheduler='threads')
    assert threads.tolist() == expected(slice(0, HEIGHT), slice(0, WIDTH), 3).sum(
        axis=(0, 1), dtype=np.int64).tolist()
    np.testing.assert_array_equal(array.sum(axis=(0, 1)).compute(scheduler='processes'),
                                  threads)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host='127.0.0.1', dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        np.testing.assert_array_equal(client.compute(array.sum(axis=(0, 1))).result(),
                                      threads)


def test_xarray_coordinates_crs_and_values(rgb):
    source = geolargeimage.open(rgb, noCache=True)
    data = source.to_xarray(level=source.levels - 2)
    assert data.dims == ('band', 'y', 'x') and data.shape == (3, HEIGHT // 2, WIDTH // 2)
    x0, dx, _, y0, _, dy = gdal.Open(str(rgb)).GetGeoTransform()
    np.testing.assert_allclose(data.x.values, x0 + (np.arange(WIDTH // 2) + 0.5) * 2 * dx)
    np.testing.assert_allclose(data.y.values, y0 + (np.arange(HEIGHT // 2) + 0.5) * 2 * dy)
    ref = data.spatial_ref.attrs
    assert CRS.from_wkt(ref['crs_wkt']) == CRS.from_epsg(32618)
    assert CRS.from_cf(ref) == CRS.from_epsg(32618)
    assert [float(v) for v in ref['GeoTransform'].split()] == [x0, 2 * dx, 0, y0, 0, 2 * dy]
    assert data.encoding['grid_mapping'] == 'spatial_ref'
    np.testing.assert_array_equal(data.values.transpose(1, 2, 0),
                                  whole_region(source, WIDTH // 2, HEIGHT // 2, 'average'))


def test_xarray_nodata_names_and_rotation(dem_float32, tmp_path):
    data = geolargeimage.open(dem_float32, noCache=True).to_xarray()
    assert data.attrs['_FillValue'] == DEM_NODATA
    assert data.x.values[0] == pytest.approx(DEM_GEOTRANSFORM[0] + DEM_GEOTRANSFORM[1] / 2)
    named = make_raster(tmp_path / 'named.tif', 300, 200, 2, epsg=4326,
                        geotransform=(10, 0.01, 0, 50, 0, -0.01))
    dataset = gdal.Open(str(named), gdal.GA_Update)
    for band, name in ((1, 'red edge'), (2, 'nir')):
        dataset.GetRasterBand(band).SetDescription(name)
    dataset.GetRasterBand(1).SetScale(0.5)
    dataset = None
    attrs = geolargeimage.open(named, noCache=True).to_xarray().attrs
    assert attrs['long_name'] == ('red edge', 'nir')
    assert attrs['scale_factor'] == (0.5, 1.0) and attrs['add_offset'] == 0.0
    rotated = make_raster(tmp_path / 'rotated.tif', 100, 100, 1, epsg=32618,
                          geotransform=(500000, 0.5, 0.1, 4500000, 0.1, -0.5))
    with pytest.raises(errors.OptionsError, match='rotated'):
        geolargeimage.open(rotated, noCache=True).to_xarray()


def test_the_xarray_engine(rgb):
    data = xr.open_dataarray(rgb, engine='geolargeimage', chunks={})
    assert data.chunks == ((3,), (1024,), (1536,))
    assert data.spatial_ref.attrs['GeoTransform'].split()[1] == repr(UTM_GEOTRANSFORM[1])
    np.testing.assert_array_equal(data[:, 100:200, 300:350].values.transpose(1, 2, 0),
                                  expected(slice(100, 200), slice(300, 350), 3))
    lazy = xr.open_dataarray(rgb, engine='geolargeimage')
    assert int(lazy[1, 60, 110]) == expected(slice(60, 61), slice(110, 111), 3)[0, 0, 1]
    assert lazy[:, 5, 7:10].shape == (3, 3)
    level = xr.open_dataset(rgb, engine='geolargeimage', level=1)
    assert level.band_data.shape == (3, HEIGHT // 4, WIDTH // 4)
    assert not xr.backends.list_engines()['geolargeimage'].guess_can_open(str(rgb))
    np.testing.assert_array_equal(lazy[:, ::7, 3:40:4].values.transpose(1, 2, 0),
                                  expected(range(0, HEIGHT, 7), range(3, 40, 4), 3))
    assert lazy.thin(x=16, y=16).shape == (3, HEIGHT // 16, WIDTH // 16)


def test_frame_axes_become_dims(writer_frames, multipage_rgb):
    from conftest import WRITER_CHANNELS, WRITER_POSITIONS, WRITER_Z_VALUES, plane_values
    source = geolargeimage.open(writer_frames, noCache=True)
    data = source.to_xarray()
    assert data.dims == ('c', 'z', 'band', 'y', 'x')  # large_image's axis order
    assert list(data.c.values) == list(WRITER_CHANNELS)
    assert list(data.z.values) == list(WRITER_Z_VALUES)
    for number, (c, z) in enumerate(WRITER_POSITIONS):
        values = data.isel(z=z, c=c).values.transpose(1, 2, 0)
        np.testing.assert_array_equal(values[:, :, 0], plane_values(number, *values.shape[1::-1]))
    assert source.to_xarray(frame=1).dims == ('band', 'y', 'x')
    pages = geolargeimage.open(multipage_rgb, noCache=True).to_xarray()
    assert pages.dims[0] in ('frame', 'c', 'z', 't') and pages.shape[0] == MULTIPAGE_PAGES
    np.testing.assert_array_equal(pages[2].values.transpose(1, 2, 0),
                                  multipage_values(2, *pages.shape[:1:-1]))
