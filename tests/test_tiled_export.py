"""getRegion(encoding='TILED'): a georeferenced, tiled GeoTIFF of the region, in the
projection when the source has one (issue #3).

Each file is opened again with GDAL: its geotransform is checked against the one computed here
from the source's geotransform or the world grid, its pixels against the factory formula or a
raw gdal.Warp of the same bounds.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import (
    DEM_GEOTRANSFORM,
    DEM_NODATA,
    SAMPLES,
    SMOOTH_GEOTRANSFORM,
    UTM_GEOTRANSFORM,
    dem_values,
    formula,
    gdal_warp,
    smooth_values,
)
from factory import expected
from osgeo import gdal, osr
from pyproj import CRS, Transformer

import geolargeimage

WORLD = 20037508.342789244
GLOBAL_DEM = SAMPLES / 'global_dem.tif'
UTM_TO_MERCATOR = Transformer.from_crs(32618, 3857, always_xy=True)


def read_back(path: Path) -> tuple[gdal.Dataset, np.ndarray]:
    dataset = gdal.Open(str(path))
    data = dataset.ReadAsArray().reshape(dataset.RasterCount, dataset.RasterYSize,
                                         dataset.RasterXSize)
    return dataset, data.transpose(1, 2, 0)


def file_bounds(dataset: gdal.Dataset) -> tuple[float, float, float, float]:
    gt = dataset.GetGeoTransform()
    return (gt[0], gt[3] + dataset.RasterYSize * gt[5], gt[0] + dataset.RasterXSize * gt[1],
            gt[3])


def crs_of(dataset: gdal.Dataset) -> CRS:
    return CRS.from_wkt(dataset.GetProjectionRef())


def assert_tiled(dataset: gdal.Dataset) -> None:
    band = dataset.GetRasterBand(1)
    assert band.GetBlockSize() == [256, 256]
    assert dataset.GetDriver().ShortName == 'GTiff'


@pytest.fixture
def exported(request):
    """Collects exported files and removes them after the test (the caller deletes them)."""
    paths: list[Path] = []
    yield paths
    for path in paths:
        if path.exists():
            path.unlink()


def export(source, exported, **kwargs) -> Path:
    path, mime = source.getRegion(encoding='TILED', **kwargs)
    exported.append(path)
    assert isinstance(path, Path) and mime == 'image/tiff'
    assert path.exists()
    return path


# -- unprojected sources --------------------------------------------------------------------------

def test_region_of_an_unprojected_source(rgb_tiled, exported):
    source = geolargeimage.open(rgb_tiled)
    path = export(source, exported, region={'left': 100, 'top': 50, 'right': 401, 'bottom': 251})
    assert path.name.startswith('tiledRegion_') and path.suffix == '.tiff'
    assert Path(tempfile.gettempdir()) in path.parents
    dataset, data = read_back(path)
    assert_tiled(dataset)
    gt = UTM_GEOTRANSFORM
    assert dataset.GetGeoTransform() == pytest.approx(
        (gt[0] + 100 * gt[1], gt[1], 0, gt[3] + 50 * gt[5], 0, gt[5]))
    assert crs_of(dataset).equals(CRS.from_epsg(32618))
    assert np.array_equal(data, expected(slice(50, 251), slice(100, 401), 3))
    interpretations = [dataset.GetRasterBand(b).GetColorInterpretation() for b in (1, 2, 3)]
    assert interpretations == [gdal.GCI_RedBand, gdal.GCI_GreenBand, gdal.GCI_BlueBand]


def test_output_path_is_used_and_its_folders_made(rgb_tiled, tmp_path):
    source = geolargeimage.open(rgb_tiled)
    target = tmp_path / 'a' / 'b' / 'region.tiff'
    path, mime = source.getRegion(encoding='TILED', output={'path': str(target)},
                                  region={'left': 0, 'top': 0, 'width': 300, 'height': 280})
    assert mime == 'image/tiff'
    assert Path(path) == target and target.exists()
    dataset, data = read_back(target)
    assert np.array_equal(data, expected(slice(0, 280), slice(0, 300), 3))
    assert [p.name for p in target.parent.iterdir()] == ['region.tiff']  # no leftovers


def test_whole_image_and_scaled_output(smooth_rgb, exported):
    source = geolargeimage.open(smooth_rgb)
    whole = export(source, exported)
    dataset, data = read_back(whole)
    assert (dataset.RasterXSize, dataset.RasterYSize) == (700, 500)
    assert dataset.GetGeoTransform() == pytest.approx(SMOOTH_GEOTRANSFORM)
    assert np.array_equal(data, np.round(smooth_values(700, 500, 3, 'float64')).astype('uint8'))
    half = export(source, exported, output={'maxWidth': 350})
    dataset, data = read_back(half)
    assert (dataset.RasterXSize, dataset.RasterYSize) == (350, 250)
    gt = SMOOTH_GEOTRANSFORM
    assert dataset.GetGeoTransform() == pytest.approx((gt[0], 2 * gt[1], 0, gt[3], 0, 2 * gt[5]))
    assert file_bounds(dataset) == pytest.approx(file_bounds(gdal.Open(str(smooth_rgb))))
    reference = gdal.Open(str(smooth_rgb)).ReadAsArray(
        buf_xsize=350, buf_ysize=250, resample_alg=gdal.GRIORA_Average).transpose(1, 2, 0)
    assert np.abs(data.astype(np.float64) - reference).mean() <= 1


def test_region_in_crs_units_of_an_unprojected_source(rgb_tiled, exported):
    source = geolargeimage.open(rgb_tiled)
    gt = UTM_GEOTRANSFORM
    left, top = gt[0] + 40 * gt[1], gt[3] + 60 * gt[5]
    right, bottom = gt[0] + 540 * gt[1], gt[3] + 360 * gt[5]
    path = export(source, exported, region={'left': left, 'top': top, 'right': right,
                                            'bottom': bottom, 'units': 'EPSG:32618'})
    dataset, data = read_back(path)
    assert file_bounds(dataset) == pytest.approx((left, bottom, right, top))
    assert np.array_equal(data, expected(slice(60, 360), slice(40, 540), 3))


def test_dem_keeps_dtype_and_nodata(dem_float32, exported):
    source = geolargeimage.open(dem_float32)
    path = export(source, exported, region={'left': 150, 'top': 80, 'right': 350, 'bottom': 180})
    dataset, data = read_back(path)
    band = dataset.GetRasterBand(1)
    assert data.dtype == np.float32
    assert band.GetNoDataValue() == DEM_NODATA
    assert np.array_equal(data, dem_values(600, 400)[80:180, 150:350])
    gt = DEM_GEOTRANSFORM
    assert dataset.GetGeoTransform() == pytest.approx(
        (gt[0] + 150 * gt[1], gt[1], 0, gt[3] + 80 * gt[5], 0, gt[5]))
    assert crs_of(dataset).equals(CRS.from_epsg(4326), ignore_axis_order=True)


def test_ungeoreferenced_raster_exports_plain_tiles(ungeoreferenced_gray, exported):
    source = geolargeimage.open(ungeoreferenced_gray)
    path = export(source, exported, region={'left': 10, 'top': 20, 'right': 310, 'bottom': 290})
    dataset, data = read_back(path)
    assert_tiled(dataset)
    assert np.array_equal(data, formula(700, 500, 1)[20:290, 10:310])


# -- projected sources ----------------------------------------------------------------------------

def _world_resolution(levels: int) -> float:
    return 2 * WORLD / 256 / 2 ** (levels - 1)


def test_projection_region_in_web_mercator(rgb_tiled, exported):
    source = geolargeimage.open(rgb_tiled, projection='EPSG:3857')
    resolution = _world_resolution(source.levels)
    cx, cy = UTM_TO_MERCATOR.transform(500250, 4499825)
    col, row = int((cx + WORLD) / resolution) - 150, int((WORLD - cy) / resolution) - 100
    left, top = -WORLD + col * resolution, WORLD - row * resolution
    right, bottom = left + 300 * resolution, top - 200 * resolution
    path = export(source, exported, region={'left': left, 'top': top, 'right': right,
                                            'bottom': bottom, 'units': 'projection'})
    dataset, data = read_back(path)
    assert_tiled(dataset)
    assert crs_of(dataset).equals(CRS.from_epsg(3857))
    assert (dataset.RasterXSize, dataset.RasterYSize) == (300, 200)
    assert file_bounds(dataset) == pytest.approx((left, bottom, right, top), rel=1e-12,
                                                 abs=1e-6 * resolution)
    assert dataset.RasterCount == 4
    assert dataset.GetRasterBand(4).GetColorInterpretation() == gdal.GCI_AlphaBand
    reference = gdal_warp(rgb_tiled, 'EPSG:3857', (left, bottom, right, top), 300, 200)
    alpha, reference_alpha = data[..., 3] > 0, reference[..., 3] > 0
    assert (alpha != reference_alpha).sum() <= 0.005 * alpha.size
    both = alpha & reference_alpha
    assert both.sum() > 50000
    assert (data[..., :3] == reference[..., :3]).all(axis=2)[both].mean() > 0.995
    # the file holds what getRegion returns as numpy for the same region
    pixels, _ = source.getRegion(region={'left': left, 'top': top, 'right': right,
                                         'bottom': bottom, 'units': 'projection'},
                                 format='numpy')
    assert (pixels == data).all(axis=2).mean() > 0.995


def test_unaligned_projection_region_snaps_to_world_pixels(rgb_tiled, exported):
    """large_image: a requested sub-region comes back within a pixel of the request."""
    source = geolargeimage.open(rgb_tiled, projection='EPSG:3857')
    resolution = _world_resolution(source.levels)
    cx, cy = UTM_TO_MERCATOR.transform(500250, 4499825)
    left, top, right, bottom = cx - 93.3, cy + 61.7, cx + 88.1, cy - 40.2
    path = export(source, exported, region={'left': left, 'top': top, 'right': right,
                                            'bottom': bottom, 'units': 'projection'})
    dataset, _ = read_back(path)
    for ours, wanted in zip(file_bounds(dataset), (left, bottom, right, top)):
        assert abs(ours - wanted) <= resolution
    assert dataset.GetGeoTransform()[1] == pytest.approx(resolution)


def test_whole_projected_source_is_its_footprint(rgb_tiled, exported):
    source = geolargeimage.open(rgb_tiled, projection='EPSG:3857')
    resolution = _world_resolution(source.levels)
    path = export(source, exported)
    dataset, data = read_back(path)
    corners = [UTM_TO_MERCATOR.transform(500000 + dx, 4500000 - dy)
               for dx in (0, 500) for dy in (0, 350)]
    xs, ys = zip(*corners)
    for ours, wanted in zip(file_bounds(dataset), (min(xs), min(ys), max(xs), max(ys))):
        assert abs(ours - wanted) <= resolution
    assert (data[..., 3] == 255).mean() > 0.98


def test_wgs84_region_of_a_projected_source(smooth_rgb, exported):
    source = geolargeimage.open(smooth_rgb, projection='EPSG:3857')
    resolution = _world_resolution(source.levels)
    to_lonlat = Transformer.from_crs(32618, 4326, always_xy=True)
    west, north = to_lonlat.transform(500000 + 30 * 100, 4500000 - 30 * 80)
    east, south = to_lonlat.transform(500000 + 30 * 500, 4500000 - 30 * 400)
    path = export(source, exported, region={'left': west, 'top': north, 'right': east,
                                            'bottom': south, 'units': 'EPSG:4326'})
    dataset, data = read_back(path)
    corners = [Transformer.from_crs(4326, 3857, always_xy=True).transform(lon, lat)
               for lon in (west, east) for lat in (north, south)]
    xs, ys = zip(*corners)
    for ours, wanted in zip(file_bounds(dataset), (min(xs), min(ys), max(xs), max(ys))):
        assert abs(ours - wanted) <= resolution
    reference = gdal_warp(smooth_rgb, 'EPSG:3857', file_bounds(dataset), dataset.RasterXSize,
                          dataset.RasterYSize)
    both = (data[..., 3] > 0) & (reference[..., 3] > 0)
    assert both.mean() > 0.9
    assert np.abs(data[..., :3].astype(np.float64) - reference[..., :3])[both].mean() <= 1


def test_scaled_projected_export(smooth_rgb, exported):
    source = geolargeimage.open(smooth_rgb, projection='EPSG:3857')
    path = export(source, exported, output={'maxWidth': 256, 'maxHeight': 256})
    dataset, data = read_back(path)
    assert max(dataset.RasterXSize, dataset.RasterYSize) == 256
    footprint = source.getBounds(srs='EPSG:3857')
    xmin, ymin, xmax, ymax = file_bounds(dataset)
    fine = _world_resolution(source.levels)
    assert abs(xmin - footprint['xmin']) <= fine and abs(ymax - footprint['ymax']) <= fine
    reference = gdal_warp(smooth_rgb, 'EPSG:3857', (xmin, ymin, xmax, ymax), dataset.RasterXSize,
                          dataset.RasterYSize)
    both = (data[..., 3] > 0) & (reference[..., 3] > 0)
    assert np.abs(data[..., :3].astype(np.float64) - reference[..., :3])[both].mean() <= 2


def test_crs84_export_of_the_global_dem(exported):
    source = geolargeimage.open(GLOBAL_DEM, projection='EPSG:4326')
    path = export(source, exported)
    dataset, data = read_back(path)
    srs = osr.SpatialReference(wkt=dataset.GetProjectionRef())
    assert srs.IsGeographic() and crs_of(dataset).equals(CRS.from_epsg(4326),
                                                          ignore_axis_order=True)
    xmin, ymin, xmax, ymax = file_bounds(dataset)
    assert (xmin, xmax, ymax) == pytest.approx((-180, 180, 90), abs=0.71)
    assert ymin == pytest.approx(-90, abs=0.71)
    reference = gdal_warp(GLOBAL_DEM, 'EPSG:4326', (xmin, ymin, xmax, ymax), dataset.RasterXSize,
                          dataset.RasterYSize)
    both = (data[..., 3] > 0) & (reference[..., 3] > 0)
    assert both.mean() > 0.95
    assert np.abs(data[..., :3].astype(np.float64) - reference[..., :3])[both].mean() <= 2


# -- errors ---------------------------------------------------------------------------------------

def test_region_outside_the_image_raises(rgb_tiled, tmp_path):
    source = geolargeimage.open(rgb_tiled)
    target = tmp_path / 'out.tiff'
    with pytest.raises(geolargeimage.TileSourceRangeError):
        source.getRegion(encoding='TILED', output={'path': str(target)},
                         region={'left': 5000, 'top': 0, 'right': 6000, 'bottom': 10})
    assert not target.exists()


def test_tiled_is_not_a_tile_encoding(rgb_tiled):
    with pytest.raises(ValueError, match='TILED'):
        geolargeimage.open(rgb_tiled, encoding='TILED')


def test_temporary_files_are_distinct(rgb_tiled, exported):
    source = geolargeimage.open(rgb_tiled)
    first = export(source, exported, region={'left': 0, 'top': 0, 'width': 10, 'height': 10})
    second = export(source, exported, region={'left': 0, 'top': 0, 'width': 10, 'height': 10})
    assert first != second
    assert os.path.getsize(first) > 0 and os.path.getsize(second) > 0


def test_tiled_region_of_another_frame_holds_that_frame(ome_channels, tmp_path):
    from conftest import plane_values
    source = geolargeimage.open(ome_channels)
    target = tmp_path / 'frame2.tif'
    path, mime = source.getRegion(frame=2, encoding='TILED', output={'path': target},
                                  region={'left': 10, 'top': 20, 'width': 50, 'height': 30})
    assert mime == 'image/tiff' and path == target
    width, height = source.sizeX, source.sizeY
    expected = plane_values(2, width, height)[20:50, 10:60]
    np.testing.assert_array_equal(gdal.Open(str(path)).ReadAsArray(), expected)


def test_tiled_region_refuses_a_style(rgb_tiled):
    with pytest.raises(ValueError, match='style'):
        geolargeimage.open(rgb_tiled).getRegion(encoding='TILED', style={'band': 1})
