"""open(), canRead(), source sharing, getMetadata and the introspection methods."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import (
    DEM_GEOTRANSFORM,
    DEM_NODATA,
    PALETTE,
    SAMPLES,
    UINT16_FACTOR,
    UTM_GEOTRANSFORM,
    dem_values,
    formula,
    gdal_pyramid_copy,
    paletted_values,
)
from factory import expected, make_raster
from osgeo import gdal
from PIL import Image
from pyproj import Geod, Transformer

import geolargeimage
from geolargeimage import errors

GEOD = Geod(ellps='WGS84')
REQUIRED_KEYS = ('levels', 'sizeX', 'sizeY', 'tileWidth', 'tileHeight', 'magnification', 'mm_x',
                 'mm_y', 'dtype', 'bandCount', 'geospatial')

# fixture, sizeX, sizeY, tile size, bandCount, dtype, geospatial
FIXTURE_FACTS = [
    ('rgb_tiled', 1000, 700, 256, 3, 'uint8', True),
    ('rgb_striped_no_overviews', 3000, 2000, 256, 3, 'uint8', False),
    ('dem_float32', 600, 400, 256, 1, 'float32', True),
    ('uint16_rgb', 400, 300, 256, 3, 'uint16', False),
    ('paletted', 500, 300, 256, 1, 'uint8', False),
    ('rgba', 500, 400, 256, 4, 'uint8', False),
    ('ungeoreferenced_gray', 700, 500, 256, 1, 'uint8', False),
    ('cog', 1500, 1100, 256, 3, 'uint8', False),
    ('tiled_512', 1300, 900, 512, 3, 'uint8', False),
]


def levels_formula(size_x: int, size_y: int, tile_w: int, tile_h: int) -> int:
    """large_image's level count, written out independently of the library."""
    return max(1, math.ceil(math.log2(max(size_x / tile_w, size_y / tile_h))) + 1)


def geodesic_pixel_mm(crs: str, x: float, y: float, dx: float, dy: float) -> tuple[float, float]:
    """Ground width and height (mm) of a pixel of ``dx`` × ``dy`` CRS units centred on (x, y)."""
    to_lonlat = Transformer.from_crs(crs, 'EPSG:4326', always_xy=True)
    west, east = to_lonlat.transform(x - dx / 2, y), to_lonlat.transform(x + dx / 2, y)
    north, south = to_lonlat.transform(x, y + dy / 2), to_lonlat.transform(x, y - dy / 2)
    return (GEOD.inv(*west, *east)[2] * 1000, GEOD.inv(*north, *south)[2] * 1000)


# -- open / canRead / sharing ---------------------------------------------------------------------

def test_formula_helper_matches_factory_expected():
    assert np.array_equal(formula(37, 23, 4), expected(slice(0, 23), slice(0, 37), 4))
    assert np.array_equal(formula(37, 23, 2, 'uint16'),
                          expected(slice(0, 23), slice(0, 37), 2, 'uint16'))


def test_open_returns_tile_source_with_base_size(rgb_tiled):
    source = geolargeimage.open(str(rgb_tiled))
    assert isinstance(source, geolargeimage.TileSource)
    assert (source.sizeX, source.sizeY) == (1000, 700)
    pixels, _ = source.getRegion(region={'left': 3, 'top': 5, 'width': 4, 'height': 2},
                                 format='numpy')
    assert np.array_equal(pixels, expected(slice(5, 7), slice(3, 7), 3))


def test_open_accepts_pathlib_path(rgb_tiled):
    source = geolargeimage.open(Path(rgb_tiled))
    assert source.largeImagePath == str(rgb_tiled)
    assert source.sizeX == 1000
    pixels, _ = source.getRegion(region={'left': 999, 'top': 699, 'width': 1, 'height': 1},
                                 format='numpy')
    assert np.array_equal(pixels, expected([699], [999], 3))


def test_get_tile_source_is_open(rgb_tiled):
    assert geolargeimage.getTileSource(rgb_tiled) is geolargeimage.open(rgb_tiled)


def test_identical_open_calls_share_one_source(rgb_tiled):
    first = geolargeimage.open(rgb_tiled, encoding='PNG')
    assert geolargeimage.open(rgb_tiled, encoding='PNG') is first
    assert geolargeimage.open(rgb_tiled, encoding='JPEG') is not first


def test_no_cache_returns_a_new_source(rgb_tiled):
    shared = geolargeimage.open(rgb_tiled)
    private = geolargeimage.open(rgb_tiled, noCache=True)
    assert private is not shared
    assert geolargeimage.open(rgb_tiled, noCache=True) is not private
    assert geolargeimage.open(rgb_tiled) is shared


def test_clear_cache_forgets_shared_sources(rgb_tiled):
    first = geolargeimage.open(rgb_tiled)
    geolargeimage.source.opening.clear_cache()
    assert geolargeimage.open(rgb_tiled) is not first


def test_rewritten_file_is_opened_again(tmp_path):
    path = make_raster(tmp_path / 'rewritten.tif', 300, 200, 1)
    old = geolargeimage.open(path)
    assert old.sizeX == 300
    data = np.full((210, 310, 1), 7, dtype=np.uint8)
    make_raster(path, 310, 210, 1, data=data)
    new = geolargeimage.open(path)
    assert new is not old
    assert (new.sizeX, new.sizeY) == (310, 210)
    pixels, _ = new.getRegion(format='numpy')
    assert np.array_equal(pixels, data)


def test_unknown_open_option_raises_options_error(rgb_tiled):
    with pytest.raises(errors.OptionsError, match='colour') as info:
        geolargeimage.open(rgb_tiled, colour='red')
    assert isinstance(info.value, ValueError)


def test_can_read(rgb_tiled, tmp_path):
    assert geolargeimage.canRead(rgb_tiled) is True
    assert geolargeimage.canRead(tmp_path / 'missing.tif') is False
    assert geolargeimage.canRead(SAMPLES / 'notanimage.txt') is False


def test_not_an_image_raises_source_error_naming_the_file():
    path = SAMPLES / 'notanimage.txt'
    with pytest.raises(errors.SourceError) as info:
        geolargeimage.open(path)
    assert isinstance(info.value, geolargeimage.TileSourceError)
    assert geolargeimage.TileSourceError is geolargeimage.SourceError
    assert str(path) in str(info.value)


# -- getMetadata ----------------------------------------------------------------------------------

@pytest.mark.parametrize('name, size_x, size_y, tile, bands, dtype, geospatial', FIXTURE_FACTS)
def test_metadata_of_fixtures(request, name, size_x, size_y, tile, bands, dtype, geospatial):
    source = geolargeimage.open(request.getfixturevalue(name))
    meta = source.getMetadata()
    assert set(REQUIRED_KEYS) <= set(meta)
    assert meta['sizeX'] == size_x and meta['sizeY'] == size_y
    assert meta['tileWidth'] == meta['tileHeight'] == tile
    assert meta['levels'] == levels_formula(size_x, size_y, tile, tile)
    assert meta['dtype'] == dtype and isinstance(meta['dtype'], str)
    assert meta['bandCount'] == bands
    assert meta['geospatial'] is geospatial
    # large_image's estimate 0.01 / mm_x, for the one raster whose resolution tags give a size
    assert meta['magnification'] == (pytest.approx(0.01 / 0.5) if name == 'ungeoreferenced_gray'
                                     else None)
    assert source.metadata == meta
    assert (source.sizeX, source.levels, source.bandCount) == (size_x, meta['levels'], bands)
    assert source.dtype == np.dtype(dtype)


def test_tile_size_follows_square_blocks_else_256(tiled_512, rgb_striped_no_overviews,
                                                  tmp_path):
    assert geolargeimage.open(tiled_512).getMetadata()['tileWidth'] == 512
    assert geolargeimage.open(rgb_striped_no_overviews).getMetadata()['tileWidth'] == 256
    tiny = make_raster(tmp_path / 'blocks32.tif', 300, 200, 1,
                       options=['TILED=YES', 'BLOCKXSIZE=32', 'BLOCKYSIZE=32'])
    assert geolargeimage.open(tiny).getMetadata()['tileWidth'] == 256
    oblong = make_raster(tmp_path / 'blocks_128x256.tif', 300, 600, 1,
                         options=['TILED=YES', 'BLOCKXSIZE=128', 'BLOCKYSIZE=256'])
    meta = geolargeimage.open(oblong).getMetadata()
    assert (meta['tileWidth'], meta['tileHeight']) == (256, 256)
    assert meta['levels'] == levels_formula(300, 600, 256, 256) == 3


def test_single_tile_image_has_one_level(tmp_path):
    path = make_raster(tmp_path / 'small.tif', 100, 60, 1)
    assert geolargeimage.open(path).getMetadata()['levels'] == 1


def test_metadata_is_json_serialisable(rgb_tiled, dem_float32):
    import json
    for path in (rgb_tiled, dem_float32):
        meta = geolargeimage.open(path).getMetadata()
        decoded = json.loads(json.dumps(meta))
        # JSON object keys are strings: band numbers come back as '1', '2', ...
        assert decoded.pop('bands') == {str(k): v for k, v in meta.pop('bands').items()}
        assert decoded == meta


def test_mm_of_utm_raster_is_geodesic_centre_pixel(rgb_tiled):
    meta = geolargeimage.open(rgb_tiled).getMetadata()
    x0, dx, _, y0, _, dy = UTM_GEOTRANSFORM
    centre = (x0 + 500 * dx, y0 + 350 * dy)
    mm_x, mm_y = geodesic_pixel_mm('EPSG:32618', *centre, dx, -dy)
    # UTM's central-meridian scale factor is 0.9996: 0.5 m of grid is 0.5 / 0.9996 m of ground.
    assert mm_x == pytest.approx(500 / 0.9996, rel=1e-5)
    assert meta['mm_x'] == pytest.approx(mm_x, rel=1e-6)
    assert meta['mm_y'] == pytest.approx(mm_y, rel=1e-6)


def test_mm_of_geographic_dem_is_geodesic_at_centre_latitude(dem_float32):
    meta = geolargeimage.open(dem_float32).getMetadata()
    x0, dx, _, y0, _, dy = DEM_GEOTRANSFORM
    lon, lat = x0 + 300 * dx, y0 + 200 * dy
    width = GEOD.inv(lon - dx / 2, lat, lon + dx / 2, lat)[2] * 1000
    height = GEOD.inv(lon, lat - dy / 2, lon, lat + dy / 2)[2] * 1000
    assert meta['mm_x'] == pytest.approx(width, rel=1e-5)
    assert meta['mm_y'] == pytest.approx(height, rel=1e-5)
    assert meta['mm_x'] < meta['mm_y']  # a degree of longitude is shorter at 39.8 N


def test_mm_from_tiff_resolution_tags_without_georeferencing(ungeoreferenced_gray):
    meta = geolargeimage.open(ungeoreferenced_gray).getMetadata()
    assert meta['geospatial'] is False
    assert meta['mm_x'] == pytest.approx(0.5)
    assert meta['mm_y'] == pytest.approx(0.5)


@pytest.mark.parametrize('name', ['rgb_striped_no_overviews', 'uint16_rgb', 'cog', 'tiled_512'])
def test_mm_is_none_without_georeferencing_or_resolution(request, name):
    meta = geolargeimage.open(request.getfixturevalue(name)).getMetadata()
    assert meta['mm_x'] is None and meta['mm_y'] is None


# -- magnification and levels -------------------------------------------------------------------

def test_native_magnification(rgb_tiled, uint16_rgb):
    source = geolargeimage.open(rgb_tiled)
    assert source.getNativeMagnification() == {
        'magnification': None, 'mm_x': source.mm_x, 'mm_y': source.mm_y}
    assert source.mm_x == pytest.approx(500.2, abs=0.05)
    assert geolargeimage.open(uint16_rgb).getNativeMagnification() == {
        'magnification': None, 'mm_x': None, 'mm_y': None}


def test_magnification_for_level_doubles_mm_per_level(ungeoreferenced_gray):
    source = geolargeimage.open(ungeoreferenced_gray)  # 3 levels, 0.5 mm pixels
    top = source.getMagnificationForLevel()
    assert top['level'] == 2 and top['scale'] == 1.0
    assert top['mm_x'] == pytest.approx(0.5) and top['magnification'] == pytest.approx(0.02)
    for level, scale in ((2, 1.0), (1, 2.0), (0, 4.0), (1.5, 2 ** 0.5)):
        info = source.getMagnificationForLevel(level)
        assert info['level'] == level
        assert info['scale'] == pytest.approx(scale)
        assert info['mm_x'] == pytest.approx(0.5 * scale)
        assert info['mm_y'] == pytest.approx(0.5 * scale)


def test_magnification_for_level_without_mm(uint16_rgb):
    info = geolargeimage.open(uint16_rgb).getMagnificationForLevel(0)
    assert info['scale'] == 2.0 and info['mm_x'] is None and info['mm_y'] is None


def test_level_for_magnification(ungeoreferenced_gray):
    source = geolargeimage.open(ungeoreferenced_gray)  # maxLevel 2, mm 0.5
    assert source.getLevelForMagnification(mm_x=0.5, mm_y=0.5) == 2
    assert source.getLevelForMagnification(mm_x=1.0, mm_y=1.0) == 1
    assert source.getLevelForMagnification(mm_x=2.0, mm_y=2.0) == 0
    assert source.getLevelForMagnification(mm_x=1.0) == 1
    # exact needs an integer level inside 0..maxLevel
    assert source.getLevelForMagnification(mm_x=1.0, mm_y=1.0, exact=True) == 1
    assert source.getLevelForMagnification(mm_x=0.75, mm_y=0.75, exact=True) is None
    assert source.getLevelForMagnification(mm_x=1.0, mm_y=2.0, exact=True) is None
    assert source.getLevelForMagnification(mm_x=4.0, mm_y=4.0, exact=True) is None
    # non-exact requests are clamped; rounding=False / None give floats
    assert source.getLevelForMagnification(mm_x=4.0, mm_y=4.0) == 0
    assert source.getLevelForMagnification(mm_x=0.125, mm_y=0.125) == 2
    assert source.getLevelForMagnification(mm_x=0.75, rounding=False) == pytest.approx(
        2 + round(math.log2(0.5 / 0.75), 4))
    assert source.getLevelForMagnification(mm_x=0.125, rounding=None) == pytest.approx(4)
    assert source.getLevelForMagnification(mm_x=0.75, rounding='ceil') == 2
    # nothing usable → maxLevel
    assert source.getLevelForMagnification() == 2


def test_level_for_magnification_of_geospatial_raster(rgb_tiled):
    source = geolargeimage.open(rgb_tiled)
    assert source.getLevelForMagnification(mm_x=source.mm_x * 2, mm_y=source.mm_y * 2,
                                           exact=True) == 1
    assert source.getLevelForMagnification(mm_x=source.mm_x * 4, mm_y=source.mm_y * 4,
                                           exact=True) == 0


def test_preferred_level_clamps(rgb_tiled):
    source = geolargeimage.open(rgb_tiled)  # levels 0..2
    assert [source.getPreferredLevel(level) for level in (-3, 0, 1, 2, 9)] == [0, 0, 1, 2, 2]


# -- band information ---------------------------------------------------------------------------

def _exact_stats(values: np.ndarray) -> dict[str, float]:
    values = values.astype(np.float64)
    return {'min': values.min(), 'max': values.max(), 'mean': values.mean()}


def test_band_information_rgb(rgb_tiled):
    info = geolargeimage.open(rgb_tiled).getBandInformation(statistics=True)
    assert sorted(info) == [1, 2, 3]
    data = formula(1000, 700, 3)
    for band, name in zip((1, 2, 3), ('red', 'green', 'blue')):
        entry = info[band]
        assert entry['interpretation'] == name
        assert 'nodata' not in entry and 'colortable' not in entry
        stats = _exact_stats(data[:, :, band - 1])
        assert entry['min'] == stats['min'] and entry['max'] == stats['max']
        assert entry['mean'] == pytest.approx(stats['mean'], rel=1e-9)


def test_band_information_dem_excludes_nodata(dem_float32):
    source = geolargeimage.open(dem_float32)
    entry = source.getBandInformation(statistics=True)[1]
    assert entry['interpretation'] == 'gray'
    assert entry['nodata'] == DEM_NODATA
    values = dem_values(600, 400)[:, :, 0]
    valid = values[values != DEM_NODATA]
    assert entry['min'] == pytest.approx(valid.min()) and entry['min'] > 0
    assert entry['max'] == pytest.approx(valid.max())
    assert entry['mean'] == pytest.approx(valid.astype(np.float64).mean(), rel=1e-6)
    assert source.getOneBandInformation(1, statistics=True) == entry
    assert source.getOneBandInformation(1) == source.getBandInformation()[1]
    assert 'min' not in source.getOneBandInformation(1)


def test_band_information_uint16(uint16_rgb):
    info = geolargeimage.open(uint16_rgb).getBandInformation(statistics=True)
    data = formula(400, 300, 3, 'uint16') * UINT16_FACTOR
    for band in (1, 2, 3):
        assert info[band]['min'] == data[:, :, band - 1].min()
        assert info[band]['max'] == data[:, :, band - 1].max() == 50000


def test_band_information_palette(paletted):
    entry = geolargeimage.open(paletted).getBandInformation(statistics=True)[1]
    assert entry['interpretation'] == 'palette'
    assert [tuple(c) for c in entry['colortable'][:4]] == list(PALETTE)
    values = paletted_values(500, 300)
    assert (entry['min'], entry['max']) == (values.min(), values.max()) == (0, 3)


def test_band_information_alpha(rgba):
    info = geolargeimage.open(rgba).getBandInformation(statistics=True)
    assert [info[b]['interpretation'] for b in (1, 2, 3, 4)] == ['red', 'green', 'blue', 'alpha']
    assert (info[4]['min'], info[4]['max']) == (0, 255)


def test_band_information_of_large_raster_is_approximate(rgb_striped_no_overviews):
    # 3000×2000 is larger than the statistics sample, so min/max come from a decimated read.
    info = geolargeimage.open(rgb_striped_no_overviews).getBandInformation(statistics=True)
    for band in (1, 2, 3):
        assert info[band]['min'] == pytest.approx(0, abs=1)
        assert info[band]['max'] == pytest.approx(250, abs=1)


def test_band_information_without_statistics(rgb_tiled):
    entry = geolargeimage.open(rgb_tiled).getBandInformation(statistics=False)[1]
    assert entry['interpretation'] == 'red'
    assert 'min' not in entry and 'max' not in entry


# -- internal metadata --------------------------------------------------------------------------

def test_internal_metadata(rgb_tiled, cog):
    meta = geolargeimage.open(rgb_tiled).getInternalMetadata()
    assert meta['driverShortName'] == 'GTiff'
    assert meta['driverLongName'] == gdal.GetDriverByName('GTiff').LongName
    assert (meta['RasterXSize'], meta['RasterYSize']) == (1000, 700)
    assert tuple(meta['GeoTransform']) == UTM_GEOTRANSFORM
    assert str(rgb_tiled) in meta['fileList']
    assert 'UTM zone 18N' in meta['Projection']
    cog_meta = geolargeimage.open(cog).getInternalMetadata()
    assert cog_meta['driverShortName'] == 'GTiff'
    assert cog_meta['Metadata_IMAGE_STRUCTURE']['LAYOUT'] == 'COG'
    assert cog_meta['GeoTransform'] is None


# -- shared samples -----------------------------------------------------------------------------

# file, sizeX, sizeY, dtype, bandCount, geospatial, tile size
SAMPLE_FACTS = [
    ('grey10kx5k.tif', 10000, 5000, 'uint8', 1, False, 256),
    ('yb10kx5k.zstd.tiff', 10000, 5000, 'uint8', 3, False, 1024),
    ('rgb_geotiff.tiff', 256, 256, 'uint16', 3, True, 256),
    ('rgba_geotiff.tiff', 600, 600, 'uint8', 4, True, 512),
    ('global_dem.tif', 360, 180, 'uint8', 3, True, 256),
]


def _fit(width: int, height: int, max_width: int, max_height: int) -> tuple[int, int]:
    """large_image's output-size rule for a thumbnail (§3), written out for the tests."""
    fit_width = max(1, int(width * max_height / height))
    fit_height = max(1, int(height * max_width / width))
    if fit_width == max_width or (max_width * height > max_height * width
                                  and fit_height != max_height):
        return fit_width, max_height
    return max_width, fit_height


@pytest.mark.parametrize('name, size_x, size_y, dtype, bands, geospatial, tile', SAMPLE_FACTS)
def test_sample_metadata(name, size_x, size_y, dtype, bands, geospatial, tile):
    meta = geolargeimage.open(SAMPLES / name).getMetadata()
    assert (meta['sizeX'], meta['sizeY']) == (size_x, size_y)
    assert meta['dtype'] == dtype and meta['bandCount'] == bands
    assert meta['geospatial'] is geospatial
    assert meta['tileWidth'] == tile
    assert meta['levels'] == levels_formula(size_x, size_y, tile, tile)


@pytest.mark.parametrize('name, size_x, size_y, dtype, bands, geospatial, tile', SAMPLE_FACTS)
def test_sample_thumbnail_matches_gdal_decimated_read(name, size_x, size_y, dtype, bands,
                                                      geospatial, tile, tmp_path):
    source = geolargeimage.open(SAMPLES / name)
    width, height = _fit(size_x, size_y, 256, 256)
    pixels, mime = source.getThumbnail(format='numpy')
    assert mime == 'numpy'
    assert pixels.shape == (height, width, bands) and pixels.dtype == np.dtype(dtype)
    path = SAMPLES / name
    if source._raster._pyramid is not None:
        # Synthesized levels are the overviews GDAL builds with AVERAGE: compare with those.
        path = gdal_pyramid_copy(path, tmp_path)
    dataset = gdal.Open(str(path))
    raw = dataset.ReadAsArray(buf_xsize=width, buf_ysize=height,
                              resample_alg=gdal.GRIORA_Average).reshape(bands, height, width)
    raw = raw.transpose(1, 2, 0).astype(np.int64)
    assert np.abs(pixels.astype(np.int64) - raw).max() <= 2
    assert raw.std() > 1  # the comparison is not between two blank images
    jpeg, mime = source.getThumbnail()
    assert mime == 'image/jpeg' and jpeg[:3] == b'\xff\xd8\xff'
    assert Image.open(io.BytesIO(jpeg)).size == (width, height)
    png, _ = source.getThumbnail(encoding='PNG')
    decoded = np.asarray(Image.open(io.BytesIO(png)))
    decoded = decoded.reshape(height, width, -1)
    colour = pixels[:, :, :3] if bands >= 3 else pixels[:, :, :1]
    if pixels.dtype != np.uint8:
        # The default style stretches 16-bit data from each band's min to its max.
        info = source.getBandInformation(statistics=True)
        low = np.array([info[b + 1]['min'] for b in range(colour.shape[2])])
        high = np.array([info[b + 1]['max'] for b in range(colour.shape[2])])
        colour = (colour - low) / (high - low) * 255
    assert np.abs(decoded[:, :, :colour.shape[2]].astype(np.float64) - colour).max() <= 2


def test_sample_mm_from_resolution_tags():
    grey = geolargeimage.open(SAMPLES / 'grey10kx5k.tif').getMetadata()
    assert grey['mm_x'] == pytest.approx(25.4 / 72)  # 72 pixels per inch
    zstd = geolargeimage.open(SAMPLES / 'yb10kx5k.zstd.tiff').getMetadata()
    assert zstd['mm_x'] == pytest.approx(10 / 28.34)  # 28.34 pixels per cm


def test_gcp_only_sample_is_geospatial_with_ground_size():
    path = SAMPLES / 'rgba_geotiff.tiff'
    dataset = gdal.Open(str(path))
    assert dataset.GetGeoTransform(can_return_null=True) is None and dataset.GetGCPCount() == 4
    source = geolargeimage.open(path)
    assert source.geospatial is True
    # gdal's GCP fit gives about 97.7 m web-mercator pixels at about 33.4 N: about 81.7 m
    assert 75_000 < source.mm_x < 90_000 and 75_000 < source.mm_y < 90_000
    assert source.getBandInformation(statistics=True)[4]['interpretation'] == 'alpha'


def test_mm_of_a_rotated_grid_is_the_transformers(tmp_path):
    # A sheared, rotated geotransform: the affine shortcut must give GDAL's transformer's corners.
    geotransform = (500000.0, 0.4, 0.3, 4400000.0, 0.2, -0.45)
    path = make_raster(tmp_path / 'rotated.tif', 300, 200, 1, epsg=32618,
                       geotransform=geotransform)
    dataset = gdal.Open(str(path))
    transformer = gdal.Transformer(dataset, None, [])
    to_lonlat = Transformer.from_crs('EPSG:32618', 'EPSG:4326', always_xy=True)
    corners = [to_lonlat.transform(*transformer.TransformPoint(0, px, py)[1][:2])
               for px, py in ((149.5, 100), (150.5, 100), (150, 99.5), (150, 100.5))]
    meta = geolargeimage.open(path, noCache=True).getMetadata()
    assert meta['mm_x'] == pytest.approx(GEOD.inv(*corners[0], *corners[1])[2] * 1000, rel=1e-9)
    assert meta['mm_y'] == pytest.approx(GEOD.inv(*corners[2], *corners[3])[2] * 1000, rel=1e-9)


def test_open_and_metadata_open_the_file_once(rgb_tiled, monkeypatch):
    # The layout's handle becomes the reader's: a second open would probe the file's pages and
    # sidecar files again (about a third of the time open + getMetadata takes).
    opened = []
    original = gdal.OpenEx

    def counting(path, *args, **kwargs):
        opened.append(str(path))
        return original(path, *args, **kwargs)
    monkeypatch.setattr(gdal, 'OpenEx', counting)
    source = geolargeimage.open(rgb_tiled, noCache=True)
    assert source.getMetadata()['sizeX'] == 1000
    np.testing.assert_array_equal(
        source.getRegion(region=dict(left=10, top=20, width=30, height=40), format='numpy')[0],
        expected(slice(20, 60), slice(10, 40), 3))
    assert opened.count(str(rgb_tiled)) == 1
