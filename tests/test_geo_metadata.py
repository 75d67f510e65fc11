"""Metadata of georeferenced sources: bounds, projection, source grid, band information,
getBounds, getCenter and getInternalMetadata (issue #3).

Expected values are computed here from the geotransform with pyproj, and the band statistics
with numpy from the factory's formula, never read back from the library.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import (
    DEM_GEOTRANSFORM,
    DEM_NODATA,
    PALETTE,
    SAMPLES,
    UTM_GEOTRANSFORM,
    dem_values,
    formula,
    paletted_values,
)
from factory import make_raster
from osgeo import gdal
from pyproj import CRS, Transformer

import geolargeimage

CORNERS = ('ul', 'ur', 'll', 'lr')
RGB_SAMPLE = SAMPLES / 'rgb_geotiff.tiff'
RGBA_SAMPLE = SAMPLES / 'rgba_geotiff.tiff'
GLOBAL_DEM = SAMPLES / 'global_dem.tif'


def corners_of(geotransform, width: int, height: int) -> dict[str, tuple[float, float]]:
    """The four corners of a ``width`` × ``height`` raster (GDAL's affine geotransform)."""
    def at(col, row):
        gt = geotransform
        return gt[0] + col * gt[1] + row * gt[2], gt[3] + col * gt[4] + row * gt[5]
    return {'ul': at(0, 0), 'ur': at(width, 0), 'll': at(0, height), 'lr': at(width, height)}


def reprojected(corners: dict[str, tuple[float, float]], source: str | int,
                target: str | int) -> dict[str, tuple[float, float]]:
    transformer = Transformer.from_crs(source, target, always_xy=True)
    return {key: transformer.transform(x, y) for key, (x, y) in corners.items()}


def assert_bounds(bounds: dict, corners: dict[str, tuple[float, float]], rel: float = 1e-9,
                  abs_: float = 1e-6) -> None:
    """``bounds`` has exactly these corners and the min/max of them."""
    for key in CORNERS:
        assert bounds[key]['x'] == pytest.approx(corners[key][0], rel=rel, abs=abs_), key
        assert bounds[key]['y'] == pytest.approx(corners[key][1], rel=rel, abs=abs_), key
    xs = [x for x, _ in corners.values()]
    ys = [y for _, y in corners.values()]
    assert bounds['xmin'] == pytest.approx(min(xs), rel=rel, abs=abs_)
    assert bounds['xmax'] == pytest.approx(max(xs), rel=rel, abs=abs_)
    assert bounds['ymin'] == pytest.approx(min(ys), rel=rel, abs=abs_)
    assert bounds['ymax'] == pytest.approx(max(ys), rel=rel, abs=abs_)


def same_crs(text: str, epsg: int) -> bool:
    return CRS.from_user_input(text).equals(CRS.from_epsg(epsg), ignore_axis_order=True)


def levels_formula(size_x: int, size_y: int, tile: int = 256) -> int:
    return max(1, math.ceil(math.log2(max(size_x / tile, size_y / tile))) + 1)


# -- bounds and the native grid -------------------------------------------------------------------

def test_unprojected_metadata_has_native_bounds_and_grid(rgb_tiled):
    meta = geolargeimage.open(rgb_tiled).getMetadata()
    corners = corners_of(UTM_GEOTRANSFORM, 1000, 700)
    assert meta['geospatial'] is True
    assert meta['projection'] is None
    assert_bounds(meta['bounds'], corners)
    assert_bounds(meta['sourceBounds'], corners)
    assert same_crs(meta['bounds']['srs'], 32618)
    assert meta['bounds']['srs'] == meta['sourceBounds']['srs']
    assert meta['bounds']['srs'].startswith('+proj=utm')
    assert (meta['sourceSizeX'], meta['sourceSizeY']) == (1000, 700)
    assert meta['sourceLevels'] == levels_formula(1000, 700) == meta['levels']


def test_sample_native_bounds_and_srs_string():
    meta = geolargeimage.open(RGB_SAMPLE).getMetadata()
    bounds = meta['bounds']
    assert (bounds['xmin'], bounds['xmax']) == (367185.0, 597915.0)
    assert (bounds['ymin'], bounds['ymax']) == (3552885.0, 3788115.0)
    assert bounds['srs'] == '+proj=utm +zone=11 +datum=WGS84 +units=m +no_defs'
    dataset = gdal.Open(str(RGB_SAMPLE))
    assert_bounds(bounds, corners_of(dataset.GetGeoTransform(), 256, 256))


def test_projected_metadata_has_projected_bounds_and_native_source_bounds(rgb_tiled):
    meta = geolargeimage.open(rgb_tiled, projection='EPSG:3857').getMetadata()
    native = corners_of(UTM_GEOTRANSFORM, 1000, 700)
    assert meta['projection'] == 'epsg:3857'
    assert meta['bounds']['srs'].lower() == 'epsg:3857'
    assert_bounds(meta['bounds'], reprojected(native, 32618, 3857))
    assert_bounds(meta['sourceBounds'], native)
    assert same_crs(meta['sourceBounds']['srs'], 32618)
    assert (meta['sourceSizeX'], meta['sourceSizeY']) == (1000, 700)
    assert meta['sourceLevels'] == levels_formula(1000, 700)
    assert meta['geospatial'] is True


def test_rotated_geotransform_corners(tmp_path):
    geotransform = (1000.0, 2.0, 0.5, 5000.0, 0.25, -2.0)
    path = make_raster(tmp_path / 'rotated.tif', 300, 200, 1, epsg=32618,
                       geotransform=geotransform)
    source = geolargeimage.open(path)
    corners = corners_of(geotransform, 300, 200)
    assert corners['ur'] == (1600.0, 5075.0) and corners['ll'] == (1100.0, 4600.0)
    assert_bounds(source.getBounds(), corners)
    lonlat = source.getBounds(srs='EPSG:4326')
    assert_bounds(lonlat, reprojected(corners, 32618, 4326))
    assert lonlat['srs'] == 'EPSG:4326'


@pytest.mark.parametrize('srs, epsg', [('EPSG:4326', 4326), ('EPSG:3857', 3857),
                                       ('EPSG:32617', 32617)])
def test_get_bounds_in_another_crs(rgb_tiled, srs, epsg):
    source = geolargeimage.open(rgb_tiled)
    bounds = source.getBounds(srs=srs)
    assert_bounds(bounds, reprojected(corners_of(UTM_GEOTRANSFORM, 1000, 700), 32618, epsg))
    assert bounds['srs'] == srs


def test_get_bounds_none_is_native_even_when_projected(rgb_tiled):
    source = geolargeimage.open(rgb_tiled, projection='EPSG:3857')
    assert_bounds(source.getBounds(), corners_of(UTM_GEOTRANSFORM, 1000, 700))
    assert same_crs(source.getBounds()['srs'], 32618)


def test_get_bounds_result_is_a_copy(rgb_tiled):
    source = geolargeimage.open(rgb_tiled)
    bounds = source.getBounds(srs='EPSG:4326')
    bounds['ul']['x'] = 0
    bounds['xmin'] = 0
    assert source.getBounds(srs='EPSG:4326')['xmin'] != 0
    assert source.getBounds(srs='EPSG:4326')['ul']['x'] != 0


def test_geographic_dem_bounds(dem_float32):
    source = geolargeimage.open(dem_float32)
    corners = corners_of(DEM_GEOTRANSFORM, 600, 400)
    assert_bounds(source.getBounds(), corners)
    assert same_crs(source.getBounds()['srs'], 4326)
    assert_bounds(source.getBounds(srs='EPSG:3857'), reprojected(corners, 4326, 3857))


def test_global_dem_bounds_clamp_to_the_globe():
    source = geolargeimage.open(GLOBAL_DEM)
    clamped = source.getBounds(srs='EPSG:4326')
    assert clamped['xmin'] == pytest.approx(-180)
    assert clamped['xmax'] == pytest.approx(180)
    assert clamped['ymin'] == pytest.approx(-89.99583333)
    assert clamped['ymax'] == pytest.approx(90)
    native = source.getBounds()
    gt = gdal.Open(str(GLOBAL_DEM)).GetGeoTransform()
    assert_bounds(native, corners_of(gt, 360, 180))
    assert native['xmin'] == pytest.approx(-180.00416667)
    assert native['ymax'] == pytest.approx(90.00416667)


def test_geotransform_without_crs_is_taken_as_lonlat(tmp_path):
    geotransform = (10.0, 0.01, 0.0, 50.0, 0.0, -0.01)
    path = make_raster(tmp_path / 'no_crs.tif', 300, 200, 1, geotransform=geotransform)
    assert gdal.Open(str(path)).GetSpatialRef() is None
    source = geolargeimage.open(path)
    meta = source.getMetadata()
    assert meta['geospatial'] is True
    assert_bounds(meta['bounds'], corners_of(geotransform, 300, 200))
    assert same_crs(meta['bounds']['srs'], 4326)
    corners = corners_of(geotransform, 300, 200)
    assert_bounds(source.getBounds(srs='EPSG:3857'), reprojected(corners, 4326, 3857))


def test_gcp_only_sample_uses_the_fitted_geotransform():
    dataset = gdal.Open(str(RGBA_SAMPLE))
    assert dataset.GetGeoTransform(can_return_null=True) is None
    fitted = gdal.GCPsToGeoTransform(dataset.GetGCPs())
    corners = corners_of(fitted, dataset.RasterXSize, dataset.RasterYSize)
    source = geolargeimage.open(RGBA_SAMPLE)
    assert_bounds(source.getBounds(), corners)
    assert same_crs(source.getBounds()['srs'], 3857)
    projected = geolargeimage.open(RGBA_SAMPLE, projection='EPSG:3857').getMetadata()
    assert_bounds(projected['bounds'], corners, rel=1e-9, abs_=1e-3)
    assert_bounds(projected['sourceBounds'], corners)


def test_ungeoreferenced_raster_has_no_bounds(ungeoreferenced_gray):
    source = geolargeimage.open(ungeoreferenced_gray)
    meta = source.getMetadata()
    assert meta['geospatial'] is False
    assert meta['bounds'] is None and meta['sourceBounds'] is None
    assert meta['projection'] is None
    assert source.getBounds() is None and source.getBounds(srs='EPSG:4326') is None
    assert (meta['sourceSizeX'], meta['sourceSizeY']) == (700, 500)


def test_metadata_is_json_serialisable(rgb_tiled, dem_float32):
    import json
    for source in (geolargeimage.open(rgb_tiled, projection='EPSG:3857'),
                   geolargeimage.open(dem_float32)):
        text = json.dumps(source.getMetadata())
        assert json.loads(text)['sourceSizeX'] == source.getMetadata()['sourceSizeX']


# -- getCenter ------------------------------------------------------------------------------------

def test_center_is_y_x_of_the_native_bounds(rgb_tiled):
    corners = corners_of(UTM_GEOTRANSFORM, 1000, 700)
    expected = ((corners['ul'][1] + corners['lr'][1]) / 2,
                (corners['ul'][0] + corners['lr'][0]) / 2)
    assert geolargeimage.open(rgb_tiled).getCenter() == pytest.approx(expected)
    projected = geolargeimage.open(rgb_tiled, projection='EPSG:3857')
    assert projected.getCenter() == pytest.approx(expected)


def test_center_of_the_sample():
    assert geolargeimage.open(RGB_SAMPLE).getCenter() == pytest.approx(
        ((3552885.0 + 3788115.0) / 2, (367185.0 + 597915.0) / 2))


# -- band information -----------------------------------------------------------------------------

def _stats(values: np.ndarray) -> dict[str, float]:
    values = values.astype(np.float64)
    return {'min': values.min(), 'max': values.max(), 'mean': values.mean(),
            'stdev': values.std()}


def test_band_information_of_rgb(rgb_tiled):
    source = geolargeimage.open(rgb_tiled)
    info = source.getBandInformation(statistics=True)
    data = formula(1000, 700, 3)
    assert sorted(info) == [1, 2, 3]
    for band, name in zip((1, 2, 3), ('red', 'green', 'blue')):
        assert info[band]['interpretation'] == name
        for key, value in _stats(data[:, :, band - 1]).items():
            assert info[band][key] == pytest.approx(value, rel=1e-6), (band, key)
        assert 'nodata' not in info[band] and 'colortable' not in info[band]
    # The metadata's bands are the same facts, without the statistics (no pixel decoded).
    assert source.getMetadata()['bands'] == source.getBandInformation(statistics=False) == {
        band: {key: value for key, value in entry.items()
               if key not in ('min', 'max', 'mean', 'stdev')} for band, entry in info.items()}
    projected = geolargeimage.open(rgb_tiled, projection='EPSG:3857')
    assert projected.getBandInformation(statistics=True) == info


def test_band_information_of_dem_skips_nodata(dem_float32):
    info = geolargeimage.open(dem_float32).getBandInformation(statistics=True)
    values = dem_values(600, 400)[:, :, 0]
    valid = values[values != DEM_NODATA]
    assert valid.size < values.size
    assert info[1]['nodata'] == DEM_NODATA
    assert info[1]['interpretation'] == 'gray'
    for key, value in _stats(valid).items():
        assert info[1][key] == pytest.approx(value, rel=1e-5), key
    assert info[1]['min'] > DEM_NODATA


def test_band_information_of_paletted(paletted):
    info = geolargeimage.open(paletted).getBandInformation(statistics=True)
    assert info[1]['interpretation'] == 'palette'
    dataset = gdal.Open(str(paletted))
    table = dataset.GetRasterBand(1).GetColorTable()
    # GTiff stores a full 256-entry table: the first four entries are PALETTE
    assert [tuple(entry) for entry in info[1]['colortable']] == [
        tuple(table.GetColorEntry(i)) for i in range(table.GetCount())]
    assert [tuple(entry) for entry in info[1]['colortable'][:4]] == list(PALETTE)
    values = paletted_values(500, 300)[:, :, 0]
    assert (info[1]['min'], info[1]['max']) == (values.min(), values.max())


def test_band_scale_offset_and_units(tmp_path):
    path = make_raster(tmp_path / 'scaled.tif', 300, 200, 2, dtype='int16', epsg=32618,
                       geotransform=UTM_GEOTRANSFORM)
    dataset = gdal.Open(str(path), gdal.GA_Update)
    dataset.GetRasterBand(1).SetScale(0.01)
    dataset.GetRasterBand(1).SetOffset(-5.0)
    dataset.GetRasterBand(1).SetUnitType('m')
    dataset.GetRasterBand(2).SetNoDataValue(7)
    dataset.Close()
    info = geolargeimage.open(path).getBandInformation(statistics=True)
    assert info[1]['scale'] == pytest.approx(0.01)
    assert info[1]['offset'] == pytest.approx(-5.0)
    assert info[1]['units'] == 'm'
    assert info[2]['nodata'] == 7
    assert 'units' not in info[2]  # None and '' values are dropped
    band2 = formula(300, 200, 2, 'int16')[:, :, 1]
    assert info[2]['min'] == band2[band2 != 7].min()


def test_sample_band_information():
    info = geolargeimage.open(RGB_SAMPLE).getBandInformation(statistics=True)
    assert [info[b]['interpretation'] for b in (1, 2, 3)] == ['red', 'green', 'blue']
    data = gdal.Open(str(RGB_SAMPLE)).ReadAsArray()
    for band in (1, 2, 3):
        assert info[band]['min'] == data[band - 1].min()
        # large_image reports GDAL's approximate statistic (212 for green); exact is allowed
        assert 200 <= info[band]['max'] <= data[band - 1].max()
    rgba = geolargeimage.open(RGBA_SAMPLE).getBandInformation(statistics=True)
    assert rgba[4]['interpretation'] == 'alpha'


# -- internal metadata ----------------------------------------------------------------------------

def test_internal_metadata_of_a_geotiff(rgb_tiled):
    internal = geolargeimage.open(rgb_tiled).getInternalMetadata()
    dataset = gdal.Open(str(rgb_tiled))
    assert internal['driverShortName'] == 'GTiff'
    assert internal['driverLongName'] == dataset.GetDriver().LongName
    assert (internal['RasterXSize'], internal['RasterYSize']) == (1000, 700)
    assert tuple(internal['GeoTransform']) == pytest.approx(UTM_GEOTRANSFORM)
    assert internal['Projection'] == dataset.GetProjectionRef()
    assert same_crs(internal['Projection'], 32618)
    assert str(rgb_tiled) in internal['fileList']
    assert internal['Metadata_IMAGE_STRUCTURE'] == dataset.GetMetadata('IMAGE_STRUCTURE')


def test_internal_metadata_has_proj4_and_gcps():
    """large_image's keys (reference §2.2): proj4Projection, GCPProjection, GCPs."""
    internal = geolargeimage.open(RGB_SAMPLE).getInternalMetadata()
    assert CRS.from_proj4(internal['proj4Projection']).equals(CRS.from_epsg(32611))
    dataset = gdal.Open(str(RGBA_SAMPLE))
    internal = geolargeimage.open(RGBA_SAMPLE).getInternalMetadata()
    assert internal['GeoTransform'] is None
    assert same_crs(internal['GCPProjection'], 3857)
    gcps = internal['GCPs']
    assert len(gcps) == dataset.GetGCPCount() == 4
    for ours, theirs in zip(gcps, dataset.GetGCPs()):
        values = ours.values() if isinstance(ours, dict) else ours
        for expected in (theirs.GCPPixel, theirs.GCPLine, theirs.GCPX, theirs.GCPY):
            assert any(isinstance(v, (int, float)) and v == pytest.approx(expected)
                       for v in values)
