"""Metadata is cheap and bounded (issue 12, items 3 and 5).

``getMetadata`` decodes at most config ``statistics_max_pixels`` stored pixels for its band
statistics and never synthesizes overviews; a damaged block fails only the statistics (reported
per band as ``statisticsError``); a raster too large to synthesize overviews for (config
``pyramid_max_pixels``) fails a coarse read at once with OutputSizeError instead of decoding for
minutes. A GeoTIFF with a CRS but no geotransform has no bounds.

The huge raster is a sparse tiled GeoTIFF that declares 200000 x 200000 float32 pixels and stores
none of them (a few hundred KB); GDAL reads its missing blocks as 0.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest
from factory import make_raster
from osgeo import gdal

import geolargeimage
from geolargeimage import config, errors

HUGE = 200_000
METADATA_KEYS = {'levels', 'sizeX', 'sizeY', 'tileWidth', 'tileHeight', 'magnification', 'mm_x',
                 'mm_y', 'dtype', 'bandCount', 'geospatial', 'projection', 'sourceSizeX',
                 'sourceSizeY', 'sourceLevels', 'bounds', 'sourceBounds', 'bands'}
STATISTICS = {'min', 'max', 'mean', 'stdev'}


@pytest.fixture(scope='module')
def huge_sparse(tmp_path_factory) -> str:
    """200000² float32, tiled 512, DEFLATE, SPARSE_OK, no overviews, no stored block."""
    path = str(tmp_path_factory.mktemp('huge') / 'huge_sparse.tif')
    gdal.GetDriverByName('GTiff').Create(
        path, HUGE, HUGE, 1, gdal.GDT_Float32,
        ['TILED=YES', 'BLOCKXSIZE=512', 'BLOCKYSIZE=512', 'COMPRESS=DEFLATE',
         'SPARSE_OK=TRUE']).Close()
    return path


@pytest.fixture
def limits():
    """Set config keys for one test; restored afterwards."""
    changed = []

    def set_(key, value):
        changed.append(key)
        config.setConfig(key, value)
    yield set_
    for key in changed:
        config.setConfig(key, None)


def no_overview_warnings(records) -> list:
    return [r for r in records if issubclass(r.category, errors.NoOverviewsWarning)]


# -- item 3: bounded metadata -----------------------------------------------------------------

def test_metadata_of_a_huge_sparse_raster_is_quick_complete_and_builds_no_pyramid(huge_sparse):
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter('always')
        start = time.monotonic()
        source = geolargeimage.open(huge_sparse, noCache=True)
        metadata = source.getMetadata()
        elapsed = time.monotonic() - start
    assert elapsed < 5, f'getMetadata took {elapsed:.1f} s'
    assert set(metadata) >= METADATA_KEYS
    assert (metadata['sizeX'], metadata['sizeY'], metadata['dtype']) == (HUGE, HUGE, 'float32')
    band = source.getBandInformation(statistics=True)[1]
    elapsed = time.monotonic() - start
    assert elapsed < 5, f'getMetadata and the statistics took {elapsed:.1f} s'
    assert band['interpretation'] == 'gray'
    assert {key: band[key] for key in STATISTICS} == {'min': 0, 'max': 0, 'mean': 0, 'stdev': 0}
    # Synthesizing overviews warns; no warning means no pyramid was built.
    assert no_overview_warnings(records) == []


def test_coarse_reads_of_a_huge_sparse_raster_without_overviews_read_no_absent_block(
        huge_sparse):
    """No block is stored: the coarse reads are the fill value, at once and without a pyramid
    (a raster whose stored blocks exceed the budget is refused: test_sparse_reads.py)."""
    source = geolargeimage.open(huge_sparse, noCache=True)
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter('always')
        start = time.monotonic()
        tile = source.getTile(0, 0, 0, numpyAllowed=True)
        thumbnail, _ = source.getThumbnail(format='numpy')
        region, _ = source.getRegion(output={'maxWidth': 1000}, format='numpy')
        assert time.monotonic() - start < 5
    assert region.shape == (1000, 1000, 1) and not region.any() and not tile[:, :, 0].any()
    assert thumbnail.shape[:2] == (256, 256)
    assert [str(r.message) for r in no_overview_warnings(records)
            if 'synthesizing' in str(r.message)] == []


def test_fine_reads_of_a_huge_raster_still_work(huge_sparse):
    source = geolargeimage.open(huge_sparse, noCache=True)
    start = time.monotonic()
    tile = source.getTile(10, 20, source.levels - 1, numpyAllowed=True)
    with pytest.warns(errors.NoOverviewsWarning, match='pyramid_max_pixels'):
        # Twice as coarse as a factor a pyramid would serve: read from the stored level.
        coarser = source.getTile(3, 3, source.levels - 3, numpyAllowed=True)
    assert time.monotonic() - start < 5
    assert tile.shape == (512, 512, 1) and not tile.any()
    assert coarser.shape == (512, 512, 1) and not coarser.any()


def test_the_largest_raster_whose_overviews_are_synthesized_is_a_setting(tmp_path, limits):
    """Over config pyramid_max_pixels a coarse read decodes the stored pixels (with a warning)
    while they fit in config max_output_pixels, and raises OutputSizeError beyond."""
    path = str(make_raster(tmp_path / 'plain.tif', 1300, 900, 1,
                           options=['TILED=YES', 'BLOCKXSIZE=256', 'BLOCKYSIZE=256']))
    limits('pyramid_max_pixels', 1300 * 900 - 1)
    source = geolargeimage.open(path, noCache=True)
    with pytest.warns(errors.NoOverviewsWarning, match='pyramid_max_pixels'):
        region, _ = source.getRegion(output={'maxWidth': 325}, format='numpy')
    raw = gdal.Open(path).ReadAsArray(0, 0, 1300, 900, buf_xsize=325, buf_ysize=225,
                                      resample_alg=gdal.GRIORA_Average)
    assert np.array_equal(region[:, :, 0], raw)
    limits('max_output_pixels', 1300 * 900 - 1)
    with pytest.raises(errors.OutputSizeError, match='max_output_pixels'):
        geolargeimage.open(path, noCache=True).getTile(0, 0, 0)
    config.setConfig('pyramid_max_pixels', None)
    with pytest.warns(errors.NoOverviewsWarning, match='synthesizing'):
        geolargeimage.open(path, noCache=True).getTile(0, 0, 0)


def block_values(width: int, height: int, block: int) -> np.ndarray:
    """uint16 whose every pixel holds its block's number, ``row * 100 + column``."""
    rows, cols = np.mgrid[0:height, 0:width]
    return ((rows // block) * 100 + cols // block).astype(np.uint16)[:, :, None]


def test_statistics_decode_at_most_the_configured_pixels(tmp_path, limits):
    """A 2600x2600 raster of 11x11 blocks of 256, each holding its block number: statistics
    within a budget of 4 blocks see only some blocks, those within the default budget all."""
    path = make_raster(tmp_path / 'blocks.tif', 2600, 2600, 1, dtype='uint16',
                       data=block_values(2600, 2600, 256),
                       options=['TILED=YES', 'BLOCKXSIZE=256', 'BLOCKYSIZE=256'])
    everything = geolargeimage.open(path, noCache=True).getBandInformation(statistics=True)[1]
    assert (everything['min'], everything['max']) == (0, 1010)
    limits('statistics_max_pixels', 4 * 256 * 256)
    source = geolargeimage.open(path, noCache=True)
    band = source.getBandInformation(statistics=True)[1]
    assert STATISTICS <= set(band)
    seen_blocks = {int(band['min']), int(band['max'])}
    assert seen_blocks <= set(np.unique(block_values(2600, 2600, 256)).tolist())
    assert band['min'] > 0 and band['max'] < 1010
    # 'auto' styles use these statistics: the tile stretches min..max of the sample.
    styled = geolargeimage.open(path, noCache=True, style={'band': 1})
    tile = styled.getTile(5, 5, styled.levels - 1, numpyAllowed=True)  # block (5, 5): 505
    expected = np.clip((505 - band['min']) / (band['max'] - band['min']) * 255, 0, 255)
    assert np.allclose(tile[:, :, 0], expected)


def damage_band_block(path: str, band_number: int, block_x: int, block_y: int) -> None:
    """Overwrite the stored bytes of one block of one band (band-interleaved file) with 0."""
    dataset = gdal.Open(path)
    band = dataset.GetRasterBand(band_number)
    offset = int(band.GetMetadataItem(f'BLOCK_OFFSET_{block_x}_{block_y}', 'TIFF'))
    size = int(band.GetMetadataItem(f'BLOCK_SIZE_{block_x}_{block_y}', 'TIFF'))
    dataset = None
    with open(path, 'r+b') as handle:
        handle.seek(offset)
        handle.write(b'\0' * size)


def test_a_damaged_block_fails_only_the_statistics(tmp_path):
    """Band 2's only block is damaged: the file opens (the open probe reads band 1) and its
    metadata is complete, with the statistics' failure in the band information."""
    path = str(make_raster(tmp_path / 'damaged.tif', 300, 200, 2,
                           options=['TILED=YES', 'BLOCKXSIZE=512', 'BLOCKYSIZE=512',
                                    'COMPRESS=DEFLATE', 'INTERLEAVE=BAND']))
    damage_band_block(path, 2, 0, 0)
    source = geolargeimage.open(path, noCache=True)
    metadata = source.getMetadata()
    assert set(metadata) >= METADATA_KEYS
    statistics = source.getBandInformation(statistics=True)
    for band in (1, 2):
        entry = statistics[band]
        assert entry['dtype'] == 'uint8' and not STATISTICS & set(entry)
        assert path in entry['statisticsError']
        assert metadata['bands'][band]['dtype'] == 'uint8'
    # A read of the pixels stays an error.
    with pytest.raises(errors.CorruptDataError):
        source.getTile(0, 0, 0)


def test_statistics_of_a_normal_file_are_those_of_its_pixels(tmp_path):
    values = np.linspace(-50, 950, 700 * 500, dtype=np.float32).reshape(500, 700, 1)
    path = make_raster(tmp_path / 'ramp.tif', 700, 500, 1, dtype='float32', data=values)
    band = geolargeimage.open(path, noCache=True).getBandInformation(statistics=True)[1]
    assert band['min'] == -50 and band['max'] == 950
    assert band['mean'] == pytest.approx(float(values.astype(np.float64).mean()))
    assert band['stdev'] == pytest.approx(float(values.astype(np.float64).std()), rel=1e-6)


# -- item 5: a CRS without a geotransform -----------------------------------------------------

def test_a_crs_without_a_geotransform_has_no_bounds(tmp_path):
    path = make_raster(tmp_path / 'crs_only.tif', 300, 200, 1, epsg=32633)
    assert gdal.Open(str(path)).GetGeoTransform(can_return_null=True) is None
    source = geolargeimage.open(path, noCache=True)
    metadata = source.getMetadata()
    assert set(metadata) >= METADATA_KEYS
    assert metadata['bounds'] is None and metadata['sourceBounds'] is None
    assert source.getBounds('EPSG:4326') is None
    assert source.getCenter() == (100, 150)
    assert source.getRegion(format='numpy')[0].shape == (200, 300, 1)
    with pytest.raises(errors.OptionsError, match='no georeferencing'):
        geolargeimage.open(path, noCache=True, projection='EPSG:3857')
    with pytest.raises(errors.OptionsError, match='georeferenced'):
        source.getRegion(region={'left': 0, 'top': 0, 'right': 1, 'bottom': 1,
                                 'units': 'EPSG:4326'}, format='numpy')
