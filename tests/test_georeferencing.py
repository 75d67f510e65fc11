"""Every georeferencing GDAL knows produces bounds and tiles (issue #11): the classes of
``georef_kinds``, the bounds rule at the edges of the world, CRSs of other planets, and small
rasters at their minimum zoom. Bounds are compared with GDAL's ``TransformBounds`` and tiles
with ``gdal.Warp``.
"""

from __future__ import annotations

import math

import mercantile
import numpy as np
import pytest
from georef_kinds import KINDS, sample_lonlat
from osgeo import gdal, osr
from test_warp_equivalence import expected_default_kernel, reference_tile

import geolargeimage
from geolargeimage import errors

WORLD = 20037508.342789244
MERCATOR_LAT_LIMIT = 85.0511287798066
MARS_WKT = ('PROJCS["Mars equirectangular",GEOGCS["Mars 2000",DATUM["D_Mars_2000",'
            'SPHEROID["Mars_2000_IAU_IAG",3396190,169.894447223612]],PRIMEM["Greenwich",0],'
            'UNIT["Decimal_Degree",0.0174532925199433]],PROJECTION["Equirectangular"],'
            'PARAMETER["standard_parallel_1",0],PARAMETER["central_meridian",0],'
            'PARAMETER["false_easting",0],PARAMETER["false_northing",0],UNIT["Meter",1]]')


@pytest.fixture(scope='module')
def kinds(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp('georef_kinds')
    return {name: make(folder) for name, make in KINDS.items()}


def srs_of(text: str) -> osr.SpatialReference:
    srs = osr.SpatialReference()
    srs.SetFromUserInput(text)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def gdal_bounds(path, target: str) -> tuple[float, float, float, float]:
    """GDAL's own densified bounds of a geotransformed raster (the horizontal CRS of a
    compound one)."""
    dataset = gdal.Open(str(path))
    gt, width, height = dataset.GetGeoTransform(), dataset.RasterXSize, dataset.RasterYSize
    xs = [gt[0] + c * gt[1] + r * gt[2] for c in (0, width) for r in (0, height)]
    ys = [gt[3] + c * gt[4] + r * gt[5] for c in (0, width) for r in (0, height)]
    native = dataset.GetSpatialRef().Clone()
    if native.IsCompound():
        native.StripVertical()
    native.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    transformation = osr.CoordinateTransformation(native, srs_of(target))
    return transformation.TransformBounds(min(xs), min(ys), max(xs), max(ys), 21)


def box(bounds: dict) -> tuple[float, float, float, float]:
    return bounds['xmin'], bounds['ymin'], bounds['xmax'], bounds['ymax']


def make(path, width: int, height: int, srs: str, geotransform, bands: int = 3,
         dtype: int = gdal.GDT_Byte, seed: int = 0) -> str:
    mem = gdal.GetDriverByName('MEM').Create('', width, height, bands, dtype)
    top = 255 if dtype == gdal.GDT_Byte else 65535
    mem.WriteArray(np.random.default_rng(seed).integers(1, top, (bands, height, width)))
    mem.SetSpatialRef(srs_of(srs))
    mem.SetGeoTransform(list(geotransform))
    gdal.Translate(str(path), mem).Close()
    return str(path)


@pytest.mark.parametrize('kind', ('utm', 'rotated', 'north_down', 'compound', 'global_lonlat',
                                  'polar', 'antimeridian_utm'))
def test_bounds_equal_gdal_transform_bounds(kinds, kind):
    source = geolargeimage.open(kinds[kind])
    assert box(source.getBounds('EPSG:4326')) == pytest.approx(
        gdal_bounds(kinds[kind], 'EPSG:4326'), abs=1e-9)


@pytest.mark.parametrize('kind', ('gcp_vrt', 'gcp_tiff'))
def test_gcp_bounds_are_where_gdal_warp_puts_the_data(kinds, kind):
    """GCP rasters: bounds hold the footprint of gdal.Warp's own output (to within a pixel of
    it), not a point near (-79.5°, 0°)."""
    bounds = box(geolargeimage.open(kinds[kind]).getBounds('EPSG:4326'))
    with gdal.quiet_errors():
        warped = gdal.Warp('', str(kinds[kind]), format='VRT', dstSRS='EPSG:4326')
    gt = warped.GetGeoTransform()
    expected = (gt[0], gt[3] + warped.RasterYSize * gt[5], gt[0] + warped.RasterXSize * gt[1],
                gt[3])
    assert bounds == pytest.approx(expected, abs=2 * gt[1])
    lon, lat = sample_lonlat(kinds[kind], 1, seed=0)[0]
    assert bounds[0] < lon < bounds[2] and bounds[1] < lat < bounds[3]


def test_compound_crs_uses_its_horizontal_part(kinds, tmp_path):
    compound = geolargeimage.open(kinds['compound'], projection='EPSG:3857')
    flat_path = tmp_path / 'flat.tif'
    gdal.Translate(str(flat_path), str(kinds['compound']), outputSRS='EPSG:32618').Close()
    flat = geolargeimage.open(flat_path, projection='EPSG:3857')
    assert compound.getMetadata()['bounds'] == flat.getMetadata()['bounds']
    assert compound.levels == flat.levels
    xmin, ymin, xmax, ymax = box(compound.getBounds('EPSG:3857'))
    assert xmax - xmin > 5000 and ymax - ymin > 5000  # not degenerate


def test_geostationary_full_disk_has_bounds_and_tiles(kinds):
    """The disk's corners are off the Earth, so the bounds come from the points on it."""
    path = kinds['geostationary']
    west, south, east, north = box(geolargeimage.open(path).getBounds('EPSG:4326'))
    assert west == pytest.approx(-75 - 81.3, abs=0.5) and east == pytest.approx(-75 + 81.3, abs=0.5)
    assert north == pytest.approx(-south) and 60 < north < 82
    source = geolargeimage.open(path, projection='EPSG:3857', resample='nearest')
    tile = mercantile.tile(-75, 0, source.levels - 1)
    pixels = source.getTile(tile.x, tile.y, tile.z, numpyAllowed='always')
    assert (pixels[..., -1] == 255).all()
    np.testing.assert_array_equal(pixels, reference_tile(path, tile, 'near', None))


def test_arctic_north_edge_is_not_cut_short(tmp_path):
    """A UTM scene at 78° N: its north edge bows northward between the corners."""
    path = make(tmp_path / 'svalbard.tif', 500, 500, 'EPSG:32633',
                (400000, 400, 0, 8800000, 0, -400))
    bounds = geolargeimage.open(path).getBounds('EPSG:4326')
    corner_north = max(bounds[key]['y'] for key in ('ul', 'ur', 'll', 'lr'))
    assert bounds['ymax'] > corner_north + 0.02
    assert box(bounds) == pytest.approx(gdal_bounds(path, 'EPSG:4326'), abs=1e-9)


def test_antimeridian_bounds_have_west_greater_than_east(kinds, tmp_path):
    """As GDAL and rio-tiler report them; in web mercator too, and in the TileJSON centre."""
    source = geolargeimage.open(kinds['antimeridian_utm'])
    west, _, east, _ = box(source.getBounds('EPSG:4326'))
    assert 179 < west < 180 and -179 < east < -177
    xmin, _, xmax, _ = box(source.getBounds('EPSG:3857'))
    assert xmin > WORLD * 0.99 and xmax < -WORLD * 0.98
    lonlat = make(tmp_path / 'lonlat.tif', 200, 100, 'EPSG:4326', (170, 0.1, 0, 10, 0, -0.1))
    west, south, east, north = box(geolargeimage.open(lonlat).getBounds('EPSG:4326'))
    assert (west, south, east, north) == pytest.approx((170, 0, -170, 10))
    projected = geolargeimage.open(lonlat, projection='EPSG:3857')
    assert projected.getMetadata()['bounds']['xmin'] > projected.getMetadata()['bounds']['xmax']


def test_web_mercator_bounds_are_clipped_to_its_latitudes(kinds):
    bounds = box(geolargeimage.open(kinds['global_lonlat']).getBounds('EPSG:3857'))
    assert bounds == pytest.approx((-WORLD, -WORLD, WORLD, WORLD), rel=1e-12)
    polar = box(geolargeimage.open(kinds['polar']).getBounds('EPSG:3857'))
    assert polar[3] == pytest.approx(WORLD) and polar[0] == pytest.approx(-WORLD)
    assert all(map(math.isfinite, polar))


def test_crs_of_another_planet(tmp_path):
    path = tmp_path / 'mars.tif'
    dataset = gdal.GetDriverByName('GTiff').Create(str(path), 120, 80, 1)
    values = np.random.default_rng(3).integers(0, 255, (80, 120), dtype=np.uint8)
    dataset.GetRasterBand(1).WriteArray(values)
    dataset.SetProjection(MARS_WKT)
    dataset.SetGeoTransform((0, 1000, 0, 0, 0, -1000))
    dataset = None
    with pytest.raises(errors.OptionsError, match='Mars equirectangular.*EPSG:3857.*celestial'):
        geolargeimage.open(path, projection='EPSG:3857')
    source = geolargeimage.open(path)
    assert source.getMetadata()['sizeX'] == 120
    region, _ = source.getRegion(region=dict(left=10, top=5, width=30, height=20),
                                 format='numpy')
    np.testing.assert_array_equal(region[..., 0], values[5:25, 10:40])
    assert source.getBounds()['xmax'] == 120000


def gdal_warp_of_data_pixels(path, tile: mercantile.Tile, ours: np.ndarray,
                             kernel: str) -> np.ndarray:
    """``gdal.Warp`` of just the pixels of ``tile`` that hold data in ``ours`` (and 2 more
    around them), placed in an empty tile: the same pixel grid as the whole tile's warp."""
    rows, cols = np.nonzero(ours[..., -1])
    row0, col0 = max(rows.min() - 2, 0), max(cols.min() - 2, 0)
    row1, col1 = min(rows.max() + 3, 256), min(cols.max() + 3, 256)
    box = mercantile.xy_bounds(tile)
    size = (box.right - box.left) / 256
    with gdal.quiet_errors():
        warped = gdal.Warp('', str(path), format='MEM', dstSRS='EPSG:3857', outputBounds=(
            box.left + col0 * size, box.top - row1 * size, box.left + col1 * size,
            box.top - row0 * size), width=col1 - col0, height=row1 - row0, resampleAlg=kernel,
            dstAlpha=True, errorThreshold=0)
    result = np.zeros_like(ours)
    result[row0:row1, col0:col1] = warped.ReadAsArray().transpose(1, 2, 0)
    return result


def test_small_raster_serves_every_zoom_from_zero(tmp_path, exact_transformer):
    """A 634×411 uint16 RGBA raster in UTM: every tile touching it, from zoom 0 past its
    native zoom, equals gdal.Warp; tiles beside it are transparent.

    Convention at the coarsest zooms: gdal.Warp of a whole tile finds its source window from a
    sample of the tile's edge points, and where the raster is a few pixels of a 256² tile the
    sample can miss it, so GDAL returns an empty tile. We keep the raster there: those tiles
    equal gdal.Warp of just the pixels around the data, on the same pixel grid."""
    mem = gdal.GetDriverByName('MEM').Create('', 634, 411, 4, gdal.GDT_UInt16)
    values = np.random.default_rng(5).integers(0, 65535, (4, 411, 634), dtype=np.uint16)
    values[3] = 65535
    values[3, :60, :80] = 0
    mem.WriteArray(values)
    mem.SetSpatialRef(srs_of('EPSG:32633'))
    mem.SetGeoTransform((400000, 30, 0, 5000000, 0, -30))
    mem.GetRasterBand(4).SetColorInterpretation(gdal.GCI_AlphaBand)
    path = tmp_path / 'small_rgba.tif'
    gdal.Translate(str(path), mem).Close()
    source = geolargeimage.open(path, projection='EPSG:3857')
    west, south, east, north = box(source.getBounds('EPSG:4326'))
    native = source.levels - 1
    for z in range(0, native + 2):
        kernel = expected_default_kernel(path, z, native)
        for tile in mercantile.tiles(west, south, east, north, z):
            mine = source.getTile(tile.x, tile.y, z, numpyAllowed='always')
            reference = reference_tile(path, tile, kernel, 0)
            if not reference[..., -1].any():
                assert z <= native - 5 and 0 < np.count_nonzero(mine[..., -1]) <= 16
                reference = gdal_warp_of_data_pixels(path, tile, mine, kernel)
            np.testing.assert_array_equal(mine, reference, err_msg=str(tile))
        beside = mercantile.tile(east + (east - west) * 2 + 0.01, north, z)
        if beside.x < 2 ** z and beside.x > mercantile.tile(east, north, z).x:
            assert not source.getTile(beside.x, beside.y, z,
                                      numpyAllowed='always')[..., -1].any()


@pytest.mark.parametrize('kind', ('global_lonlat', 'polar'))
def test_reads_coarser_than_zoom_zero(kinds, kind, exact_transformer):
    """The whole world at 128² is coarser than zoom 0 (256²): it is warped at its own size, as
    gdal.Warp of the world's bounds; the thumbnail of a global raster is such a read."""
    source = geolargeimage.open(kinds[kind], projection='EPSG:3857', resample='nearest')
    world, _ = source.getRegion(region=dict(left=-WORLD, top=WORLD, right=WORLD, bottom=-WORLD,
                                            units='EPSG:3857'),
                                output=dict(maxWidth=128, maxHeight=128), format='numpy')
    with gdal.quiet_errors():
        reference = gdal.Warp('', str(kinds[kind]), format='MEM', dstSRS='EPSG:3857',
                              outputBounds=(-WORLD, -WORLD, WORLD, WORLD), width=128,
                              height=128, resampleAlg='near', dstAlpha=True,
                              errorThreshold=0).ReadAsArray().transpose(1, 2, 0)
    np.testing.assert_array_equal(world, reference)
    thumbnail, _ = source.getThumbnail(width=128, height=128, format='numpy')
    assert max(thumbnail.shape[:2]) == 128 and thumbnail[..., -1].any()


def test_antimeridian_thumbnail_is_the_data_not_a_sliver(kinds):
    source = geolargeimage.open(kinds['antimeridian_utm'], projection='EPSG:3857')
    thumbnail, _ = source.getThumbnail(width=256, height=256, format='numpy')
    assert min(thumbnail.shape[:2]) > 64
    assert (thumbnail[..., -1] > 0).mean() > 0.3



def test_geostationary_disk_across_the_antimeridian(kinds, exact_transformer):
    """A disk over 140° E reaches past 180°: its bounds cross the antimeridian (west > east),
    and its tiles on both sides equal gdal.Warp."""
    path = kinds['geostationary_pacific']
    west, south, east, north = box(geolargeimage.open(path).getBounds('EPSG:4326'))
    assert west == pytest.approx(140 - 81.3, abs=0.5) and east == pytest.approx(
        140 + 81.3 - 360, abs=0.5)
    source = geolargeimage.open(path, projection='EPSG:3857', resample='nearest')
    z = source.levels - 1
    for lon in (150.0, -150.0):
        tile = mercantile.tile(lon, 10.0, z)
        pixels = source.getTile(tile.x, tile.y, z, numpyAllowed='always')
        reference = reference_tile(path, tile, 'near', 0)
        assert reference[..., -1].any()
        np.testing.assert_array_equal(pixels, reference)
