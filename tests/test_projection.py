"""Sources opened with a projection: the world tile grid, tiles from warped VRTs, transparency,
the EPSG:4326 grid, the antimeridian, the poles, resampling kernels and bad projections
(issue #3).

Every tile is compared with an independent ``gdal.Warp`` of the same tile bounds (computed with
mercantile or the grid formula), or with the factory formula evaluated at the tile's pixel
centres through pyproj.
"""

from __future__ import annotations

import io
import math

import mercantile
import numpy as np
import pytest
from conftest import (
    DEM_GEOTRANSFORM,
    DEM_NODATA,
    SAMPLES,
    SMOOTH_SIZE,
    UTM_GEOTRANSFORM,
    gdal_warp,
    smooth_values,
)
from factory import make_raster, pixel_value
from osgeo import gdal, osr
from PIL import Image
from pyproj import CRS, Transformer

import geolargeimage

WORLD = 20037508.342789244
EQUATOR = 2 * WORLD
MERCATOR_LAT_LIMIT = 85.0511287798066
RGB_SAMPLE = SAMPLES / 'rgb_geotiff.tiff'
RGBA_SAMPLE = SAMPLES / 'rgba_geotiff.tiff'
GLOBAL_DEM = SAMPLES / 'global_dem.tif'
#: The antimeridian raster: 200×100 at 0.1° from 170 E (to 190 = -170) and 10 N to 0.
ANTIMERIDIAN_GEOTRANSFORM = (170.0, 0.1, 0.0, 10.0, 0.0, -0.1)


# -- independent helpers --------------------------------------------------------------------------

def native_resolution(path, target: str) -> float:
    """The raster's centre pixel size in ``target`` units (the shorter side), via pyproj."""
    dataset = gdal.Open(str(path))
    gt = dataset.GetGeoTransform()
    transformer = Transformer.from_crs(CRS.from_wkt(dataset.GetProjectionRef()), target,
                                       always_xy=True)
    cx, cy = dataset.RasterXSize / 2, dataset.RasterYSize / 2
    points = [transformer.transform(gt[0] + c * gt[1] + r * gt[2], gt[3] + c * gt[4] + r * gt[5])
              for c, r in ((cx, cy), (cx + 1, cy), (cx, cy + 1))]
    (x0, y0), (x1, y1), (x2, y2) = points
    return min(math.hypot(x1 - x0, y1 - y0), math.hypot(x2 - x0, y2 - y0))


def expected_levels(span: float, resolution: float) -> int:
    """large_image's rule: enough power-of-two levels of 256 px tiles for the native pixel."""
    ratio = math.log2(span / resolution / 256)
    assert abs(ratio - round(ratio)) > 0.01, 'choose a raster away from a level boundary'
    return max(math.ceil(ratio) + 1, 1)


def grid_tile_bounds(span: float, x: int, y: int, z: int) -> tuple[float, float, float, float]:
    """(xmin, ymin, xmax, ymax) of tile (x, y, z) of a square world ``span`` wide centred on 0."""
    n = 2 ** z
    return (span * (-0.5 + x / n), span * (0.5 - (y + 1) / n),
            span * (-0.5 + (x + 1) / n), span * (0.5 - y / n))


def crs84_tile_bounds(x: int, y: int, z: int) -> tuple[float, float, float, float]:
    """WorldCRS84Quad: two 180° tiles at z = 0."""
    size = 180.0 / 2 ** z
    return (-180 + x * size, 90 - (y + 1) * size, -180 + (x + 1) * size, 90 - y * size)


def lonlat_of(path, col: float, row: float) -> tuple[float, float]:
    dataset = gdal.Open(str(path))
    gt = dataset.GetGeoTransform()
    transformer = Transformer.from_crs(CRS.from_wkt(dataset.GetProjectionRef()), 4326,
                                       always_xy=True)
    return transformer.transform(gt[0] + col * gt[1] + row * gt[2],
                                 gt[3] + col * gt[4] + row * gt[5])


def tile(source, x: int, y: int, z: int) -> np.ndarray:
    return source.getTile(x, y, z, numpyAllowed='always')


def compare(ours: np.ndarray, reference: np.ndarray, *, mean_tolerance: float,
            alpha_mismatch: float = 0.01) -> None:
    """Alpha masks agree on all but ``alpha_mismatch`` of the data pixels, and the values where
    both have data differ by at most ``mean_tolerance`` on average."""
    assert ours.shape == reference.shape
    ours_alpha, reference_alpha = ours[..., -1] > 0, reference[..., -1] > 0
    assert reference_alpha.sum() > 100, 'the reference tile must hold data'
    mismatch = (ours_alpha != reference_alpha).sum()
    assert mismatch <= alpha_mismatch * reference_alpha.sum(), mismatch
    both = ours_alpha & reference_alpha
    diff = np.abs(ours[..., :-1].astype(np.float64) - reference[..., :-1].astype(np.float64))
    assert diff[both].mean() <= mean_tolerance


def pixel_centres_lonlat(bounds, target: str | int, size: int = 256):
    """Lon/lat of the pixel centres of a ``size``² tile over ``bounds`` in ``target``."""
    xmin, ymin, xmax, ymax = bounds
    xs = xmin + (np.arange(size) + 0.5) * (xmax - xmin) / size
    ys = ymax - (np.arange(size) + 0.5) * (ymax - ymin) / size
    grid_x, grid_y = np.meshgrid(xs, ys)
    if target == 4326:
        return grid_x, grid_y
    return Transformer.from_crs(target, 4326, always_xy=True).transform(grid_x, grid_y)


@pytest.fixture(scope='module')
def antimeridian(tmp_path_factory):
    path = tmp_path_factory.mktemp('antimeridian') / 'antimeridian.tif'
    return make_raster(path, 200, 100, 3, epsg=4326, geotransform=ANTIMERIDIAN_GEOTRANSFORM)


# -- the world grid -------------------------------------------------------------------------------

def test_web_mercator_grid_metadata(rgb_tiled):
    source = geolargeimage.open(rgb_tiled, projection='EPSG:3857')
    meta = source.getMetadata()
    levels = expected_levels(EQUATOR, native_resolution(rgb_tiled, 'EPSG:3857'))
    assert meta['levels'] == levels == source.levels
    assert meta['sizeX'] == meta['sizeY'] == 256 * 2 ** (levels - 1)
    assert (meta['tileWidth'], meta['tileHeight']) == (256, 256)
    assert meta['projection'] == 'epsg:3857'
    assert (meta['sourceSizeX'], meta['sourceSizeY']) == (1000, 700)


def test_sample_in_web_mercator_matches_the_reference():
    source = geolargeimage.open(RGB_SAMPLE, projection='EPSG:3857')
    meta = source.getMetadata()
    assert (meta['sizeX'], meta['sizeY'], meta['levels']) == (65536, 65536, 9)
    assert meta['levels'] == expected_levels(EQUATOR, native_resolution(RGB_SAMPLE, 'EPSG:3857'))
    bounds = meta['bounds']
    # Densified edges (GDAL's TransformBounds, 21 points): the north edge bows up 620 m past
    # the corners large_image reports (4059661).
    dataset = gdal.Open(str(RGB_SAMPLE))
    gt, width, height = dataset.GetGeoTransform(), dataset.RasterXSize, dataset.RasterYSize
    native = dataset.GetSpatialRef()
    native.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    mercator = osr.SpatialReference()
    mercator.ImportFromEPSG(3857)
    expected = osr.CoordinateTransformation(native, mercator).TransformBounds(
        gt[0], gt[3] + height * gt[5], gt[0] + width * gt[1], gt[3], 21)
    assert (bounds['xmin'], bounds['ymin'], bounds['xmax'], bounds['ymax']) == \
        pytest.approx(expected, abs=1e-6)
    assert bounds['ymax'] == pytest.approx(4060281, abs=1)
    assert bounds['xmin'] == pytest.approx(-13184900, abs=1)
    assert bounds['srs'].lower() == 'epsg:3857'
    native = geolargeimage.open(RGB_SAMPLE).getMetadata()
    assert meta['dtype'] == native['dtype'] == 'uint16'  # the data's type, not the (0, 0) pixel's
    assert (meta['mm_x'], meta['mm_y']) == (native['mm_x'], native['mm_y'])
    assert meta['bandCount'] == 3
    assert source.pixelToProjection(0, 0) == pytest.approx((-WORLD, WORLD), rel=1e-9)
    assert source.pixelToProjection(32768, 32768) == pytest.approx((0, 0), abs=1e-6)


def test_sample_thumbnail_has_the_footprint_aspect():
    """The footprint is taller than wide in web mercator, so the thumbnail is 256 high (large_image
    reports 256×252; 252 wide × 256 high is the geometry)."""
    bounds = geolargeimage.open(RGB_SAMPLE).getBounds(srs='EPSG:3857')
    width, height = bounds['xmax'] - bounds['xmin'], bounds['ymax'] - bounds['ymin']
    assert height > width
    source = geolargeimage.open(RGB_SAMPLE, projection='EPSG:3857')
    pixels, _ = source.getThumbnail(format='numpy')
    assert pixels.shape == (256, int(256 * width / height), 4)
    assert pixels.shape[1] == 252
    assert (pixels[..., 3] > 0).mean() > 0.95


def test_units_per_pixel_sets_the_grid():
    source = geolargeimage.open(RGB_SAMPLE, projection='EPSG:3857', unitsPerPixel=100)
    assert source.levels == 1 and source.sizeX == source.sizeY == 256
    assert source.pixelToProjection(0, 0) == pytest.approx((-12800, 12800))


def test_polar_stereographic_needs_units_per_pixel():
    with pytest.raises(geolargeimage.TileSourceError, match='unitsPerPixel') as info:
        geolargeimage.open(RGB_SAMPLE, projection='EPSG:3411')
    assert 'EPSG:3411' in str(info.value)
    source = geolargeimage.open(RGB_SAMPLE, projection='EPSG:3411', unitsPerPixel=150000)
    span = 150000 * 256
    levels = expected_levels(span, native_resolution(RGB_SAMPLE, 'EPSG:3411'))
    assert source.levels == levels and source.sizeX == 256 * 2 ** (levels - 1)
    assert source.pixelToProjection(0, 0) == pytest.approx((-span / 2, span / 2))
    # the max-level tile holding the centre equals a raw warp of its grid bounds
    centre_x, centre_y = Transformer.from_crs(32611, 3411, always_xy=True).transform(482550,
                                                                                   3670500)
    z = levels - 1
    x, y = int((centre_x + span / 2) / span * 2 ** z), int((span / 2 - centre_y) / span * 2 ** z)
    ours = tile(source, x, y, z)
    assert ours.dtype == np.uint16 and ours.shape == (256, 256, 4)
    reference = gdal_warp(RGB_SAMPLE, 'EPSG:3411', grid_tile_bounds(span, x, y, z), 256, 256)
    compare(ours, reference, mean_tolerance=0.5)


def test_other_projected_crs_with_units_per_pixel(smooth_float):
    """Any projected CRS: EPSG:5070 (CONUS Albers) with a 40 km level-0 pixel."""
    span = 40000 * 256
    source = geolargeimage.open(smooth_float, projection='EPSG:5070', unitsPerPixel=40000)
    levels = expected_levels(span, native_resolution(smooth_float, 'EPSG:5070'))
    assert source.levels == levels
    width, height = SMOOTH_SIZE
    lon, lat = lonlat_of(smooth_float, width / 2, height / 2)
    cx, cy = Transformer.from_crs(4326, 5070, always_xy=True).transform(lon, lat)
    for z in (levels - 1, levels - 3):
        x, y = int((cx + span / 2) / span * 2 ** z), int((span / 2 - cy) / span * 2 ** z)
        reference = gdal_warp(smooth_float, 'EPSG:5070', grid_tile_bounds(span, x, y, z), 256, 256)
        compare(tile(source, x, y, z), reference, mean_tolerance=1.0, alpha_mismatch=0.02)


def test_proj_string_projection_equals_epsg(rgb_tiled):
    merc = ('+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 +units=m '
            '+nadgrids=@null +wktext +no_defs')
    by_string = geolargeimage.open(rgb_tiled, projection=merc)
    by_code = geolargeimage.open(rgb_tiled, projection='EPSG:3857')
    assert (by_string.levels, by_string.sizeX) == (by_code.levels, by_code.sizeX)
    assert by_string.getMetadata()['projection'] == merc
    lon, lat = lonlat_of(rgb_tiled, 500, 350)
    t = mercantile.tile(lon, lat, by_code.levels - 1)
    assert np.array_equal(tile(by_string, t.x, t.y, t.z), tile(by_code, t.x, t.y, t.z))


# -- tiles from warped VRTs -----------------------------------------------------------------------

def test_finest_tiles_equal_a_raw_warp(rgb_tiled):
    """At the finest level the warp is nearest-neighbour on the tile's own pixel grid."""
    source = geolargeimage.open(rgb_tiled, projection='EPSG:3857')
    z = source.levels - 1
    for col, row in ((500, 350), (3, 4), (995, 690)):
        t = mercantile.tile(*lonlat_of(rgb_tiled, col, row), z)
        ours = tile(source, t.x, t.y, z)
        assert ours.shape == (256, 256, 4) and ours.dtype == np.uint8
        reference = gdal_warp(rgb_tiled, 'EPSG:3857', mercantile.xy_bounds(t), 256, 256)
        compare(ours, reference, mean_tolerance=0.1, alpha_mismatch=0.005)


def test_sample_tile_equals_a_raw_warp():
    source = geolargeimage.open(RGB_SAMPLE, projection='EPSG:3857')
    z = source.levels - 1
    t = mercantile.tile(-117.975, 33.865, z)
    ours = tile(source, t.x, t.y, z)
    assert ours.dtype == np.uint16 and ours.shape == (256, 256, 4)
    assert set(np.unique(ours[..., 3])) <= {0, 65535}
    compare(ours, gdal_warp(RGB_SAMPLE, 'EPSG:3857', mercantile.xy_bounds(t), 256, 256),
            mean_tolerance=0.5)


@pytest.mark.parametrize('drop', [1, 2, 4])
def test_coarser_tiles_are_close_to_a_raw_warp(smooth_rgb, drop):
    source = geolargeimage.open(smooth_rgb, projection='EPSG:3857')
    z = source.levels - 1 - drop
    width, height = SMOOTH_SIZE
    t = mercantile.tile(*lonlat_of(smooth_rgb, width / 2, height / 2), z)
    reference = gdal_warp(smooth_rgb, 'EPSG:3857', mercantile.xy_bounds(t), 256, 256)
    compare(tile(source, t.x, t.y, z), reference, mean_tolerance=2, alpha_mismatch=0.03)


def test_world_tile_covers_the_whole_world():
    source = geolargeimage.open(GLOBAL_DEM, projection='EPSG:3857', resample='average')
    ours = tile(source, 0, 0, 0)
    # With the average kernel (explicit: the DEM's 1-pixel-per-tile-pixel ratio keeps nearest the
    # default at z = 0). The DEM overshoots the poles by half
    # a pixel, which we clamp to ±90 (PROJ fails beyond them) rather than drop: its rows stretch
    # by that sliver, so values move by a few hundredths against gdal.Warp of the file.
    reference = gdal_warp(GLOBAL_DEM, 'EPSG:3857', (-WORLD, -WORLD, WORLD, WORLD), 256, 256,
                          resample='average')
    compare(ours, reference, mean_tolerance=0.1, alpha_mismatch=0)
    assert (ours[..., 3] == 255).all()


def test_tiles_outside_the_data_are_transparent_and_never_raise(rgb_tiled):
    source = geolargeimage.open(rgb_tiled, projection='EPSG:3857', encoding='PNG')
    z = source.levels - 1
    t = mercantile.tile(*lonlat_of(rgb_tiled, 500, 350), z)
    for x, y, zoom in ((t.x + 5, t.y, z), (t.x, t.y - 3, z), (0, 0, 3), (2 ** z - 1, 2 ** z - 1, z),
                       (0, 0, 0)):
        pixels = tile(source, x, y, zoom)
        assert pixels.shape == (256, 256, 4)
        if zoom > 0:
            assert not pixels.any()
        png = source.getTile(x, y, zoom)
        assert png.mimetype == 'image/png'
        decoded = np.asarray(Image.open(io.BytesIO(png)).convert('RGBA'))
        assert np.array_equal(decoded[..., 3] > 0, pixels[..., 3] > 0)


def test_nodata_is_transparent_in_numpy_and_png(dem_float32):
    source = geolargeimage.open(dem_float32, projection='EPSG:3857', encoding='PNG')
    z = source.levels - 1
    # the nodata block: rows 100..150, cols 200..300; a tile on its north-west corner
    t = mercantile.tile(*lonlat_of(dem_float32, 200, 100), z)
    ours = tile(source, t.x, t.y, z)
    assert ours.shape == (256, 256, 2) and ours.dtype == np.float32
    reference = gdal_warp(dem_float32, 'EPSG:3857', mercantile.xy_bounds(t), 256, 256)
    transparent = reference[..., 1] == 0
    assert 1000 < transparent.sum() < 256 * 256 - 1000  # data and nodata both in the tile
    compare(ours, reference, mean_tolerance=0.01, alpha_mismatch=0.005)
    assert (ours[..., 0][ours[..., 1] > 0] != DEM_NODATA).all()
    decoded = np.asarray(Image.open(io.BytesIO(source.getTile(t.x, t.y, z))))
    assert decoded.shape[2] in (2, 4)
    assert np.array_equal(decoded[..., -1] > 0, ours[..., 1] > 0)


def test_projected_numpy_regions_have_bands_and_alpha(rgb_tiled, dem_float32):
    for path, bands, dtype in ((rgb_tiled, 3, np.uint8), (dem_float32, 1, np.float32)):
        source = geolargeimage.open(path, projection='EPSG:3857')
        region, _ = source.getRegion(format='numpy', output={'maxWidth': 200})
        assert region.shape[2] == bands + 1 and region.dtype == dtype
        assert (region[..., -1] > 0).mean() > 0.5


def test_out_of_range_tiles_raise(rgb_tiled):
    source = geolargeimage.open(rgb_tiled, projection='EPSG:3857')
    for x, y, z in ((-1, 0, 0), (1, 0, 0), (0, 1, 0), (0, 4, 2), (4, 0, 2)):
        with pytest.raises(geolargeimage.TileSourceXYZRangeError):
            source.getTile(x, y, z)
    for z in (-1, 31, 'abc'):
        with pytest.raises(geolargeimage.TileSourceXYZRangeError):
            source.getTile(0, 0, z)


def test_deep_zooms_are_served_up_to_30(rgb_tiled):
    """A z=30 tile is 4 cm wide: with nearest it holds the source pixels under it, as gdal.Warp
    says (at most two colours where it straddles a pixel edge). Tiles at three places in turn,
    so a stale or uninitialised buffer cannot pass for the right colour."""
    source = geolargeimage.open(rgb_tiled, projection='EPSG:3857', resample='nearest')
    for z in (26, 30):
        for col, row in ((100, 100), (600, 300), (900, 600)):
            t = mercantile.tile(*lonlat_of(rgb_tiled, col + 0.5, row + 0.5), z)
            pixels = tile(source, t.x, t.y, z)
            assert pixels.shape == (256, 256, 4)
            assert (pixels[..., 3] == 255).all(), (z, col, row)
            reference = gdal_warp(rgb_tiled, 'EPSG:3857', mercantile.xy_bounds(t), 256, 256)
            assert (pixels != reference).any(axis=2).mean() <= 0.005, (z, col, row)
            candidates = [tuple(int(pixel_value(row + dr, col + dc, b)) for b in (1, 2, 3))
                          for dr in (-1, 0, 1) for dc in (-1, 0, 1)]
            assert tuple(int(v) for v in pixels[128, 128, :3]) in candidates, (z, col, row)


def near_boundary(mask: np.ndarray, distance: int) -> np.ndarray:
    """Pixels within ``distance`` (Chebyshev) of a pixel where ``mask`` differs."""
    grown, shrunk = mask.copy(), mask.copy()
    padded = np.pad(mask, distance, mode='edge')
    size = mask.shape
    for dr in range(-distance, distance + 1):
        for dc in range(-distance, distance + 1):
            shifted = padded[distance + dr:distance + dr + size[0],
                             distance + dc:distance + dc + size[1]]
            grown |= shifted
            shrunk &= shifted
    return grown & ~shrunk


@pytest.mark.parametrize('extra', [1, 3])
def test_zooms_past_the_finest_level_are_enlarged(smooth_rgb, extra):
    """Values are those of a direct warp, and the data's edge is where the finest level puts it:
    within half a finest-level pixel (2**extra / 2 tile pixels) of the direct warp's edge."""
    source = geolargeimage.open(smooth_rgb, projection='EPSG:3857')
    z = source.levels - 1 + extra
    width, height = SMOOTH_SIZE
    for col, row in ((width / 2, height / 2), (0.5, 0.5)):
        t = mercantile.tile(*lonlat_of(smooth_rgb, col, row), z)
        reference = gdal_warp(smooth_rgb, 'EPSG:3857', mercantile.xy_bounds(t), 256, 256)
        ours = tile(source, t.x, t.y, z)
        compare(ours, reference, mean_tolerance=1.0, alpha_mismatch=0.1)
        mismatch = (ours[..., 3] > 0) != (reference[..., 3] > 0)
        allowed = near_boundary(reference[..., 3] > 0, 2 ** extra // 2 + 1)
        assert not (mismatch & ~allowed).any(), (mismatch & ~allowed).sum()


def test_enlarged_tiles_keep_nodata_out_of_valid_pixels(tmp_path):
    """Past the finest level a pixel with alpha holds a value of the data, and alpha stays within
    0..255 (no kernel may mix the transparent area's zeros into valid pixels)."""
    data = np.full((400, 600, 1), 1000.0, dtype=np.float32) + smooth_values(600, 400)
    data[100:150, 200:300, 0] = DEM_NODATA
    path = make_raster(tmp_path / 'dem_smooth.tif', 600, 400, 1, dtype='float32', data=data,
                       nodata=DEM_NODATA, epsg=4326, geotransform=DEM_GEOTRANSFORM)
    valid = data[data != DEM_NODATA]
    source = geolargeimage.open(path, projection='EPSG:3857')
    z = source.levels + 1
    t = mercantile.tile(*lonlat_of(path, 200, 100), z)  # the nodata block's corner
    ours = tile(source, t.x, t.y, z)
    reference = gdal_warp(path, 'EPSG:3857', mercantile.xy_bounds(t), 256, 256)
    assert 1000 < (reference[..., 1] == 0).sum() < 256 * 256 - 1000
    assert ours[..., 1].min() >= 0 and ours[..., 1].max() <= 255
    shown = ours[..., 0][ours[..., 1] > 0]
    assert shown.min() >= valid.min() - 1 and shown.max() <= valid.max() + 1
    compare(ours, reference, mean_tolerance=1.0, alpha_mismatch=0.03)


# -- the EPSG:4326 grid (WorldCRS84Quad) ----------------------------------------------------------

def test_crs84_grid_has_two_tiles_at_zoom_zero(dem_float32):
    source = geolargeimage.open(dem_float32, projection='EPSG:4326')
    assert source.sizeX == 2 * source.sizeY
    assert source.sizeX == 512 * 2 ** (source.levels - 1)
    levels = expected_levels(180.0, native_resolution(dem_float32, 'EPSG:4326'))
    assert source.levels == levels
    assert source.pixelToProjection(0, 0) == pytest.approx((-180, 90))
    assert source.pixelToProjection(source.sizeX, source.sizeY) == pytest.approx((180, -90))
    assert tile(source, 0, 0, 0).shape == tile(source, 1, 0, 0).shape == (256, 256, 2)
    with pytest.raises(geolargeimage.TileSourceXYZRangeError):
        source.getTile(2, 0, 0)
    with pytest.raises(geolargeimage.TileSourceXYZRangeError):
        source.getTile(0, 1, 0)


@pytest.mark.parametrize('drop', [0, 2])
def test_crs84_tiles_equal_a_raw_warp(dem_float32, drop):
    source = geolargeimage.open(dem_float32, projection='EPSG:4326')
    z = source.levels - 1 - drop
    lon, lat = lonlat_of(dem_float32, 250, 120)
    size = 180.0 / 2 ** z
    x, y = int((lon + 180) / size), int((90 - lat) / size)
    reference = gdal_warp(dem_float32, 'EPSG:4326', crs84_tile_bounds(x, y, z), 256, 256)
    ours = tile(source, x, y, z)
    if drop == 0:
        compare(ours, reference, mean_tolerance=0.01, alpha_mismatch=0.005)
    else:  # the formula is not smooth: compare the masks, and the mean level of the values
        compare(ours, reference, mean_tolerance=100, alpha_mismatch=0.03)
        both = (ours[..., 1] > 0) & (reference[..., 1] > 0)
        assert abs(ours[..., 0][both].mean() - reference[..., 0][both].mean()) < 5


# -- antimeridian and poles -----------------------------------------------------------------------

def _expected_antimeridian(bounds, target) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = pixel_centres_lonlat(bounds, target)
    col = np.floor(((lon - 170.0) % 360) / 0.1 + 1e-9).astype(int)
    row = np.floor((10.0 - lat) / 0.1 + 1e-9).astype(int)
    inside = (col >= 0) & (col < 200) & (row >= 0) & (row < 100)
    values = np.stack([pixel_value(row, col, band) for band in (1, 2, 3)], axis=2)
    return inside, values.astype(np.uint8)


def _check_against_formula(ours, inside, values):
    ours_alpha = ours[..., 3] > 0
    assert inside.sum() > 1000
    assert (ours_alpha != inside).sum() <= 0.01 * inside.sum()
    both = ours_alpha & inside
    assert (ours[..., :3] == values).all(axis=2)[both].mean() >= 0.99


def _matches_a_neighbour(ours, row, col, inside) -> float:
    """Share of the data pixels holding the formula of (row, col) or of one of its 8 neighbours
    (the warp's approximate transformer may move a sample by a fraction of a pixel)."""
    matched = np.zeros(inside.shape, dtype=bool)
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            values = np.stack([pixel_value(row + dr, col + dc, b) for b in (1, 2, 3)], axis=2)
            matched |= (ours[..., :3] == values.astype(np.uint8)).all(axis=2)
    return matched[inside & (ours[..., 3] > 0)].mean()


def test_antimeridian_in_web_mercator(antimeridian):
    source = geolargeimage.open(antimeridian, projection='EPSG:3857')
    z = 2
    row = mercantile.tile(180, 5, z).y
    alpha = [(tile(source, x, row, z)[..., 3] > 0).sum() for x in range(4)]
    assert alpha[0] > 0 and alpha[3] > 0  # both sides of ±180
    assert alpha[1] == 0 and alpha[2] == 0  # no smear across the world
    assert alpha[0] == pytest.approx(alpha[3], rel=0.05)  # 10° on each side
    z = source.levels - 1
    for lon in (175.0, -175.0):
        t = mercantile.tile(lon, 5, z)
        inside, values = _expected_antimeridian(mercantile.xy_bounds(t), 3857)
        _check_against_formula(tile(source, t.x, t.y, z), inside, values)


def test_antimeridian_in_crs84(antimeridian):
    source = geolargeimage.open(antimeridian, projection='EPSG:4326')
    z = 2
    alpha = [(tile(source, x, 1, z)[..., 3] > 0).sum() for x in range(8)]
    assert alpha[0] > 0 and alpha[7] > 0
    assert sum(alpha[1:7]) == 0
    z = source.levels - 1
    size = 180.0 / 2 ** z
    for lon in (175.0, -175.0):
        x, y = int((lon + 180) / size), int((90 - 5) / size)
        inside, values = _expected_antimeridian(crs84_tile_bounds(x, y, z), 4326)
        _check_against_formula(tile(source, x, y, z), inside, values)


def test_projected_raster_crossing_the_antimeridian(tmp_path):
    """A UTM zone 60 raster from 179.3 E to 179.3 W."""
    to_utm = Transformer.from_crs(4326, 32660, always_xy=True)
    x0, y0 = to_utm.transform(179.5, 10)
    geotransform = (x0 - 20000, 500.0, 0.0, y0, 0.0, -500.0)
    path = make_raster(tmp_path / 'utm60.tif', 300, 200, 3, epsg=32660, geotransform=geotransform)
    source = geolargeimage.open(path, projection='EPSG:3857')
    z = source.levels - 1
    to_native = Transformer.from_crs(4326, 32660, always_xy=True)
    for lon in (179.8, -179.8):
        t = mercantile.tile(lon, 9.5, z)
        lons, lats = pixel_centres_lonlat(mercantile.xy_bounds(t), 3857)
        xs, ys = to_native.transform(lons, lats)
        col = np.floor((xs - geotransform[0]) / 500).astype(int)
        row = np.floor((geotransform[3] - ys) / 500).astype(int)
        inside = (col >= 0) & (col < 300) & (row >= 0) & (row < 200)
        ours = tile(source, t.x, t.y, z)
        assert inside.sum() > 1000
        assert ((ours[..., 3] > 0) != inside).sum() <= 0.01 * inside.sum()
        assert _matches_a_neighbour(ours, row, col, inside) == 1.0
        reference = gdal_warp(path, 'EPSG:3857', mercantile.xy_bounds(t), 256, 256)
        compare(ours, reference, mean_tolerance=0.1, alpha_mismatch=0.005)
    middle = tile(source, 0, 0, 0)
    assert (middle[..., 3] > 0).sum() <= 4  # at z=0 the raster is about one pixel wide


@pytest.mark.parametrize('projection, tiles', [('EPSG:3857', ((0, 0, 0), (1, 0, 1), (0, 1, 1))),
                                               ('EPSG:4326', ((0, 0, 0), (1, 0, 0)))])
def test_global_dem_serves_tiles_with_data(projection, tiles):
    source = geolargeimage.open(GLOBAL_DEM, projection=projection)
    for x, y, z in tiles:
        pixels = tile(source, x, y, z)
        assert pixels.shape == (256, 256, 4)
        assert (pixels[..., 3] == 255).mean() > 0.99
        assert pixels[..., :3].std() > 10


def test_global_dem_in_web_mercator_equals_a_raw_warp():
    source = geolargeimage.open(GLOBAL_DEM, projection='EPSG:3857')
    assert source.levels == expected_levels(EQUATOR, native_resolution(GLOBAL_DEM, 'EPSG:3857'))
    for x, y in ((0, 0), (1, 1)):
        ours = tile(source, x, y, 1)
        reference = gdal_warp(GLOBAL_DEM, 'EPSG:3857', grid_tile_bounds(EQUATOR, x, y, 1), 256, 256)
        assert (reference[..., 3] == 255).all()
        # the world is covered to its edge: no transparent row at the latitude limit
        assert np.array_equal(ours[..., 3], reference[..., 3])
        compare(ours, reference, mean_tolerance=1)


def test_global_dem_in_crs84_equals_a_raw_warp():
    source = geolargeimage.open(GLOBAL_DEM, projection='EPSG:4326')
    for x in (0, 1):
        ours = tile(source, x, 0, 0)
        reference = gdal_warp(GLOBAL_DEM, 'EPSG:4326', crs84_tile_bounds(x, 0, 0), 256, 256)
        assert (reference[..., 3] == 255).all()
        # the first source row (89.0 to 90.004 N) holds data up to the pole
        assert np.array_equal(ours[..., 3], reference[..., 3])
        compare(ours, reference, mean_tolerance=1)


def test_polar_cap_is_clamped_to_the_mercator_limit(tmp_path):
    path = make_raster(tmp_path / 'arctic.tif', 360, 30, 3, epsg=4326,
                       geotransform=(-180.0, 1.0, 0.0, 90.0, 0.0, -1.0))
    bounds = (-WORLD, -WORLD, WORLD, WORLD)
    source = geolargeimage.open(path, projection='EPSG:3857', resample='nearest')
    ours = tile(source, 0, 0, 0)
    lon, lat = pixel_centres_lonlat(bounds, 3857)
    col, row = np.floor(lon + 180).astype(int), np.floor(90 - lat).astype(int)
    inside = (row >= 0) & (row < 30) & (col >= 0) & (col < 360)
    values = np.stack([pixel_value(row, col, b) for b in (1, 2, 3)], axis=2).astype(np.uint8)
    _check_against_formula(ours, inside, values)
    # Convention: we follow gdal.Warp, whose nearest kernel (the default here: one source pixel
    # per tile pixel) leaves the top row, centred 0.16° below the mercator limit and so inside
    # the data, transparent; with the average kernel it is filled, as by gdal.Warp's average.
    np.testing.assert_array_equal(ours, gdal_warp(path, 'EPSG:3857', bounds, 256, 256))
    averaged = tile(geolargeimage.open(path, projection='EPSG:3857', resample='average'), 0, 0, 0)
    np.testing.assert_array_equal(averaged, gdal_warp(path, 'EPSG:3857', bounds, 256, 256,
                                                      resample='average'))
    assert (averaged[0, :, 3] > 0).all()  # data up to the top of the world


def test_raster_beyond_the_mercator_limit_gives_transparent_tiles(tmp_path):
    path = make_raster(tmp_path / 'pole.tif', 360, 4, 3, epsg=4326,
                       geotransform=(-180.0, 1.0, 0.0, 90.0, 0.0, -1.0))
    source = geolargeimage.open(path, projection='EPSG:3857')
    pixels = tile(source, 0, 0, 0)
    assert pixels.shape == (256, 256, 4)  # bands + alpha, like every projected tile
    assert not pixels.any()


# -- the GCP sample -------------------------------------------------------------------------------

def test_gcp_sample_in_web_mercator():
    source = geolargeimage.open(RGBA_SAMPLE, projection='EPSG:3857')
    assert source.levels == 12
    dataset = gdal.Open(str(RGBA_SAMPLE))
    fitted = gdal.GCPsToGeoTransform(dataset.GetGCPs())
    assert source.levels == expected_levels(EQUATOR, min(abs(fitted[1]), abs(fitted[5])))
    pixels, _ = source.getThumbnail(format='numpy')
    assert (pixels[..., 3] == 255).sum() > 30000


# -- resampling -----------------------------------------------------------------------------------

def _seam_pair(path, source, z):
    """Two tiles side by side whose shared edge is the tile edge nearest the raster centre."""
    width, height = SMOOTH_SIZE
    lon, lat = lonlat_of(path, width / 2, height / 2)
    x, y = mercantile.tile(lon, lat, z).x, mercantile.tile(lon, lat, z).y
    west = mercantile.xy_bounds(mercantile.Tile(x, y, z))
    cx = Transformer.from_crs(4326, 3857, always_xy=True).transform(lon, lat)[0]
    if cx - west.left < west.right - cx:
        x -= 1
    left = mercantile.xy_bounds(mercantile.Tile(x, y, z))
    right = mercantile.xy_bounds(mercantile.Tile(x + 1, y, z))
    pair = np.concatenate([tile(source, x, y, z), tile(source, x + 1, y, z)], axis=1)
    return pair, (left.left, left.bottom, right.right, left.top)


@pytest.mark.parametrize('kernel, warp_kernel', [('bilinear', 'bilinear'), ('cubic', 'cubic'),
                                                 ('average', 'average'), ('nearest', 'near')])
@pytest.mark.parametrize('drop', [0, 1])
def test_resampling_kernels_have_no_seams(smooth_float, kernel, warp_kernel, drop):
    source = geolargeimage.open(smooth_float, projection='EPSG:3857', resample=kernel)
    z = source.levels - 1 - drop
    pair, bounds = _seam_pair(smooth_float, source, z)
    reference = gdal_warp(smooth_float, 'EPSG:3857', bounds, 512, 256, warp_kernel)
    both = (pair[..., 1] > 0) & (reference[..., 1] > 0)
    assert both[:, 250:262].all(axis=1).sum() > 50, 'the seam must cross the data'
    diff = np.abs(pair[..., 0].astype(np.float64) - reference[..., 0])
    diff[~both] = np.nan
    tolerance = 0.1 if drop == 0 and warp_kernel != 'near' else 0.6
    assert np.nanmean(diff) <= tolerance
    # the columns on either side of the seam are as close to the single warp as the rest
    seam = diff[:, 254:258]
    assert np.nanmean(seam) <= max(2 * np.nanmean(diff), tolerance)
    # and continuous: the step across the seam is like the steps next to it
    steps = np.abs(np.diff(pair[..., 0].astype(np.float64), axis=1))
    rows = both[:, 250:262].all(axis=1)
    assert steps[rows, 255].mean() <= 2 * steps[rows][:, [250, 251, 252, 258, 259, 260]].mean()


def test_resampling_kernel_is_used(smooth_float):
    sources = {kernel: geolargeimage.open(smooth_float, projection='EPSG:3857', resample=kernel)
               for kernel in ('nearest', 'bilinear')}
    z = sources['nearest'].levels - 1
    t = mercantile.tile(*lonlat_of(smooth_float, 350, 250), z)
    nearest, bilinear = (tile(sources[k], t.x, t.y, z) for k in ('nearest', 'bilinear'))
    assert not np.array_equal(nearest[..., 0], bilinear[..., 0])
    bounds = mercantile.xy_bounds(t)
    for ours, kernel in ((nearest, 'near'), (bilinear, 'bilinear')):
        reference = gdal_warp(smooth_float, 'EPSG:3857', bounds, 256, 256, kernel)
        compare(ours, reference, mean_tolerance=0.1, alpha_mismatch=0.005)


def test_unknown_resampling_is_rejected(smooth_float):
    with pytest.raises(ValueError, match='sideways'):
        geolargeimage.open(smooth_float, projection='EPSG:3857', resample='sideways')


# -- bad projections ------------------------------------------------------------------------------

@pytest.mark.parametrize('projection', ['EPSG:999999', 'nonsense', 'EPSG:4269', '+proj=bogus'])
def test_bad_projection_raises_value_error_naming_it(rgb_tiled, projection):
    with pytest.raises((ValueError, geolargeimage.TileSourceError)) as info:
        geolargeimage.open(rgb_tiled, projection=projection)
    assert projection in str(info.value)


def test_projection_of_an_ungeoreferenced_raster(ungeoreferenced_gray):
    with pytest.raises((ValueError, geolargeimage.TileSourceError)) as info:
        geolargeimage.open(ungeoreferenced_gray, projection='EPSG:3857')
    assert 'EPSG:3857' in str(info.value) and 'georeferenc' in str(info.value)


@pytest.mark.parametrize('units_per_pixel', [0, -5, 'ten'])
def test_bad_units_per_pixel(rgb_tiled, units_per_pixel):
    with pytest.raises(ValueError, match='unitsPerPixel'):
        geolargeimage.open(rgb_tiled, projection='EPSG:3857', unitsPerPixel=units_per_pixel)


def test_units_per_pixel_without_projection_is_ignored(rgb_tiled):
    source = geolargeimage.open(rgb_tiled, unitsPerPixel=100)
    assert (source.sizeX, source.sizeY, source.projection) == (1000, 700, None)
    assert tuple(UTM_GEOTRANSFORM[:1]) == (source.getBounds()['xmin'],)
