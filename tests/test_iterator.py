"""tileIterator and friends: record keys, tiling arithmetic (large_image's worked examples),
resampled and level iterations, tile_position, lazy loading and formats.

Rasters are made here with :mod:`factory`; full-resolution tiles are compared with ``expected``,
downsampled ones with getRegion or with raw GDAL reads of the same window.
"""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
from factory import expected, make_raster
from osgeo import gdal
from PIL import Image

import geolargeimage

gdal.UseExceptions()

RGB_W, RGB_H = 1000, 700
BIG_W, BIG_H = 10000, 5000
HUGE_W, HUGE_H = 58368, 12288

RECORD_KEYS = {'x', 'y', 'width', 'height', 'level', 'level_x', 'level_y', 'magnification',
               'mm_x', 'mm_y', 'tile_position', 'iterator_range', 'tile_overlap', 'gx', 'gy',
               'gwidth', 'gheight', 'tile', 'format'}
RESAMPLED_KEYS = {'scaled', 'tile_x', 'tile_y', 'tile_width', 'tile_height', 'tile_mm_x',
                  'tile_mm_y'}


def big_values(rows: slice, cols: slice) -> np.ndarray:
    """Pixels of the 10000 x 5000 raster (a cheap formula with 5 x 7 pixel blocks)."""
    r = (np.arange(rows.start, rows.stop, dtype=np.uint16) // 7 * 3 % 251)[:, None]
    c = (np.arange(cols.start, cols.stop, dtype=np.uint16) // 5 * 7 % 251)[None, :]
    return ((r + c) % 251).astype(np.uint8)[:, :, None]


@pytest.fixture(scope='module')
def rasters(tmp_path_factory):
    folder = tmp_path_factory.mktemp('iterator')
    huge = folder / 'huge.tif'
    # Sparse: no block is written, so every pixel reads as 0 and the file is a few KB.
    dataset = gdal.GetDriverByName('GTiff').Create(
        str(huge), HUGE_W, HUGE_H, 1, gdal.GDT_Byte,
        options=['TILED=YES', 'SPARSE_OK=TRUE', 'COMPRESS=DEFLATE'])
    dataset.BuildOverviews('NONE', [2, 4, 8, 16, 32, 64, 128, 256])
    dataset = None
    rows, cols = np.arange(RGB_H)[:, None], np.arange(RGB_W)[None, :]
    gradient = np.stack([0.1 * rows + 0.12 * cols, 0.15 * rows + 0.05 * cols,
                         0.2 * rows + 0.02 * cols], axis=2).astype(np.uint8)
    return {
        'rgb': make_raster(folder / 'rgb.tif', RGB_W, RGB_H, 3, options=['TILED=YES'],
                           overviews=(2, 4)),
        'smooth': make_raster(folder / 'smooth.tif', RGB_W, RGB_H, 3, data=gradient,
                              options=['TILED=YES'], overviews=(2, 4)),
        'big': make_raster(folder / 'big.tif', BIG_W, BIG_H, 1,
                           data=big_values(slice(0, BIG_H), slice(0, BIG_W)),
                           options=['TILED=YES', 'COMPRESS=DEFLATE'],
                           overviews=(2, 4, 8, 16, 32)),
        'huge': huge,
        'mm': make_raster(folder / 'mm.tif', 400, 300, 1, metadata={
            'TIFFTAG_XRESOLUTION': '20', 'TIFFTAG_YRESOLUTION': '20',
            'TIFFTAG_RESOLUTIONUNIT': '3'}),
    }


@pytest.fixture(scope='module')
def rgb(rasters):
    return geolargeimage.open(rasters['rgb'])


@pytest.fixture(scope='module')
def big(rasters):
    return geolargeimage.open(rasters['big'])


@pytest.fixture(scope='module')
def huge(rasters):
    return geolargeimage.open(rasters['huge'])


@pytest.fixture(scope='module')
def mm(rasters):
    return geolargeimage.open(rasters['mm'])


def gdal_read(path, left, top, width, height, out_width, out_height,
              algorithm=gdal.GRIORA_Average):
    dataset = gdal.Open(str(path))
    data = dataset.ReadAsArray(left, top, width, height, buf_xsize=out_width,
                               buf_ysize=out_height, resample_alg=algorithm)
    return (data[None] if data.ndim == 2 else data).transpose(1, 2, 0)


def without_pixels(record) -> dict:
    return {key: record[key] for key in record.keys() if key not in ('tile', 'format')}


# -- records ----------------------------------------------------------------------------------
def test_records_are_row_major_with_every_key(rgb):
    iterator = rgb.tileIterator(format='numpy')
    records = list(iterator)
    assert len(records) == len(iterator) == 12
    assert [(r['level_y'], r['level_x']) for r in records] == \
        [(y, x) for y in range(3) for x in range(4)]
    for index, record in enumerate(records):
        assert set(record.keys()) >= RECORD_KEYS
        assert not set(record.keys()) & RESAMPLED_KEYS
        col, row = record['level_x'], record['level_y']
        assert (record['x'], record['y']) == (col * 256, row * 256)
        assert record['width'] == (232 if col == 3 else 256)
        assert record['height'] == (188 if row == 2 else 256)
        assert record['level'] == 2
        assert record['magnification'] is None
        assert record['mm_x'] is None and record['mm_y'] is None
        assert (record['gx'], record['gy'], record['gwidth'], record['gheight']) == \
            (record['x'], record['y'], record['width'], record['height'])
        assert record['tile_position'] == {'level_x': col, 'level_y': row, 'region_x': col,
                                           'region_y': row, 'position': index}
        assert record['iterator_range'] == {
            'level_x_min': 0, 'level_y_min': 0, 'level_x_max': 4, 'level_y_max': 3,
            'region_x_max': 4, 'region_y_max': 3, 'position': 12}
        assert record['tile_overlap'] == {'left': 0, 'top': 0, 'right': 0, 'bottom': 0}
        assert record['format'] == 'numpy'
        y, x, h, w = record['y'], record['x'], record['height'], record['width']
        np.testing.assert_array_equal(record['tile'], expected(slice(y, y + h), slice(x, x + w), 3))


def test_tiles_cover_a_region_exactly_and_match_get_region(rgb):
    region = {'left': 37, 'top': 11, 'right': 911, 'bottom': 650}
    whole, _ = rgb.getRegion(format='numpy', region=region)
    records = list(rgb.tileIterator(region=region, tile_size={'width': 200, 'height': 150},
                                    tile_overlap={'x': 20, 'y': 10}))
    assert records[0]['x'] == 37 and records[0]['y'] == 11
    assert max(r['x'] + r['width'] for r in records) == 911
    assert max(r['y'] + r['height'] for r in records) == 650
    covered = np.zeros(whole.shape[:2], bool)
    for record in records:
        x, y, w, h = record['x'], record['y'], record['width'], record['height']
        assert record['tile'].shape == (h, w, 3)
        np.testing.assert_array_equal(record['tile'], expected(slice(y, y + h), slice(x, x + w), 3))
        np.testing.assert_array_equal(record['tile'], whole[y - 11:y - 11 + h, x - 37:x - 37 + w])
        crop, _ = rgb.getRegion(format='numpy', region={'left': x, 'top': y, 'width': w,
                                                        'height': h})
        np.testing.assert_array_equal(record['tile'], crop)
        covered[y - 11:y - 11 + h, x - 37:x - 37 + w] = True
    assert covered.all()


def test_default_tiles_are_anchored_at_the_image_origin(rgb):
    records = list(rgb.tileIterator(region={'left': 300, 'top': 600, 'right': 800, 'bottom': 700}))
    assert [(r['x'], r['width'], r['level_x']) for r in records if r['level_y'] == 2] == \
        [(300, 212, 1), (512, 256, 2), (768, 32, 3)]
    assert {(r['y'], r['height'], r['level_y']) for r in records} == {(600, 100, 2)}
    assert records[0]['iterator_range'] == {
        'level_x_min': 1, 'level_y_min': 2, 'level_x_max': 4, 'level_y_max': 3,
        'region_x_max': 3, 'region_y_max': 1, 'position': 3}
    assert [r['tile_position']['region_x'] for r in records] == [0, 1, 2]
    for r in records:
        np.testing.assert_array_equal(
            r['tile'], expected(slice(600, 700), slice(r['x'], r['x'] + r['width']), 3))


# -- tiling arithmetic: the reference's worked examples --------------------------------------
EXAMPLE_120 = {
    False: [(0, 75, 75, 0, 30), (15, 90, 75, 30, 30), (30, 105, 75, 30, 30),
            (45, 120, 75, 30, 0)],
    True: [(0, 45, 45, 0, 30), (0, 60, 60, 15, 30), (0, 75, 75, 30, 30), (15, 90, 75, 30, 30),
           (30, 105, 75, 30, 30), (45, 120, 75, 30, 30), (60, 120, 60, 30, 15),
           (75, 120, 45, 30, 0)],
}


@pytest.mark.parametrize('edges', [False, True])
@pytest.mark.parametrize('left, top', [(0, 0), (300, 150)])
def test_overlap_example_120_pixels(rgb, edges, left, top):
    records = list(rgb.tileIterator(
        region={'left': left, 'top': top, 'width': 120, 'height': 120},
        tile_size={'width': 75}, tile_overlap={'x': 60, 'y': 60, 'edges': edges}))
    columns = [(r['x'] - left, r['x'] - left + r['width'], r['width'], r['tile_overlap']['left'],
                r['tile_overlap']['right']) for r in records if r['tile_position']['region_y'] == 0]
    rows = [(r['y'] - top, r['y'] - top + r['height'], r['height'], r['tile_overlap']['top'],
             r['tile_overlap']['bottom']) for r in records if r['tile_position']['region_x'] == 0]
    assert columns == EXAMPLE_120[edges]
    assert rows == EXAMPLE_120[edges]
    assert len(records) == len(EXAMPLE_120[edges]) ** 2
    for r in records:
        np.testing.assert_array_equal(r['tile'], expected(
            slice(r['y'], r['y'] + r['height']), slice(r['x'], r['x'] + r['width']), 3))


@pytest.mark.parametrize('edges, columns', [
    (False, ['01234', '12345', '23456', '34567']),
    (True, ['012', '0123', '01234', '12345', '23456', '34567', '4567', '567']),
])
def test_overlap_example_8_pixels(rgb, edges, columns):
    records = list(rgb.tileIterator(region={'left': 0, 'top': 0, 'width': 8, 'height': 1},
                                    tile_size={'width': 5}, tile_overlap={'x': 4, 'edges': edges}))
    assert [''.join(str(c) for c in range(r['x'], r['x'] + r['width'])) for r in records] == columns
    for r in records:
        assert r['height'] == 1
        np.testing.assert_array_equal(r['tile'], expected(
            slice(0, 1), slice(r['x'], r['x'] + r['width']), 3))


def test_large_image_example_58368_by_12288(huge):
    iterator = huge.tileIterator(tile_size={'width': 2048}, tile_overlap={'x': 128, 'y': 128})
    records = list(iterator)
    assert len(iterator) == len(records) == 217
    xs = sorted({r['x'] for r in records})
    ys = sorted({r['y'] for r in records})
    assert xs == list(range(0, 57601, 1920)) and len(xs) == 31
    assert ys == list(range(0, 11521, 1920)) and len(ys) == 7
    for r in records:
        assert r['width'] == (768 if r['x'] == 57600 else 2048)
        assert r['height'] == (768 if r['y'] == 11520 else 2048)
        overlap = r['tile_overlap']
        assert overlap['left'] == (0 if r['x'] == 0 else 64)
        assert overlap['right'] == (0 if r['x'] == 57600 else 64)
        assert overlap['top'] == (0 if r['y'] == 0 else 64)
        assert overlap['bottom'] == (0 if r['y'] == 11520 else 64)
    assert records[0]['iterator_range']['position'] == 217
    assert (records[0]['iterator_range']['region_x_max'],
            records[0]['iterator_range']['region_y_max']) == (31, 7)
    # a few tiles' pixels only (the raster is sparse: zeros)
    bottom_row = [r for r in records if r['y'] == 11520]
    for record, shape in ((records[0], (2048, 2048, 1)), (bottom_row[0], (768, 2048, 1)),
                          (records[-1], (768, 768, 1))):
        assert record['tile'].shape == shape
        assert record['tile'].dtype == np.uint8
        assert not record['tile'].any()


def test_large_image_example_58368_by_12288_tile_512(huge):
    records = list(huge.tileIterator(tile_size={'width': 512}))
    assert len(records) == 114 * 24
    assert sorted({r['x'] for r in records}) == list(range(0, 57857, 512))
    assert sorted({r['y'] for r in records}) == list(range(0, 11777, 512))
    assert {(r['width'], r['height']) for r in records} == {(512, 512)}


def test_large_image_example_10000_by_5000_overlap(big):
    records = list(big.tileIterator(tile_size={'width': 2048}, tile_overlap={'x': 128, 'y': 128}))
    assert len(records) == 18
    last_column = [r for r in records if r['tile_position']['region_x'] == 5]
    last_row = [r for r in records if r['tile_position']['region_y'] == 2]
    assert {(r['x'], r['width']) for r in last_column} == {(9600, 400)}
    assert {(r['y'], r['height']) for r in last_row} == {(3840, 1160)}
    last = records[-1]
    assert (last['x'], last['y'], last['width'], last['height']) == (9600, 3840, 400, 1160)
    np.testing.assert_array_equal(last['tile'], big_values(slice(3840, 5000), slice(9600, 10000)))


# -- resampled and level iterations -----------------------------------------------------------
def test_resampled_iteration_example(big):
    iterator = big.tileIterator(output={'maxWidth': 1000}, tile_size={'width': 256})
    records = list(iterator)
    assert len(records) == len(iterator) == 8
    for r in records:
        assert set(r.keys()) >= RECORD_KEYS | RESAMPLED_KEYS
        assert r['level'] == 3
        assert r['scaled'] == pytest.approx(0.8)
        col, row = r['tile_position']['region_x'], r['tile_position']['region_y']
        # x/y/width/height in output pixels; tile_* at level 3; g* in base pixels
        assert (r['x'], r['y']) == (256 * col, 256 * row)
        assert r['tile_x'] == pytest.approx(320 * col) and r['tile_y'] == pytest.approx(320 * row)
        assert r['gx'] == pytest.approx(2560 * col) and r['gy'] == pytest.approx(2560 * row)
        assert r['gwidth'] == pytest.approx(r['width'] * 10)
        assert r['gheight'] == pytest.approx(r['height'] * 10)
        assert r['tile_width'] == pytest.approx(r['width'] * 1.25)
        assert r['tile_height'] == pytest.approx(r['height'] * 1.25)
    second = records[1]
    assert (second['x'], second['width'], second['tile_width'], second['gx']) == \
        (256, 256, 320, 2560)
    last = records[-1]
    assert (last['width'], last['height']) == (232, 244)
    assert last['tile'].shape == (244, 232, 1)
    assert records[0]['tile'].shape == (256, 256, 1)


def test_resampled_tiles_equal_the_resampled_region(rgb, rasters):
    # 2.5 base pixels per output pixel; tiles of 128 output pixels start on whole base pixels,
    # so each tile is the same GDAL average read as the matching part of getRegion's output.
    for region in ({}, {'left': 100, 'top': 50, 'width': 800, 'height': 600}):
        output = {'maxWidth': 400 if not region else 320}
        whole, _ = rgb.getRegion(format='numpy', region=region or None, output=output)
        records = list(rgb.tileIterator(region=region or None, output=output,
                                        tile_size={'width': 128}))
        x0, y0 = records[0]['x'], records[0]['y']
        assert records[0]['gx'] == region.get('left', 0)
        assert records[0]['gy'] == region.get('top', 0)
        assert records[0]['scaled'] == pytest.approx(0.8)
        mosaic = np.zeros_like(whole)
        for r in records:
            assert r['tile'].shape == (r['height'], r['width'], 3)
            raw = gdal_read(rasters['rgb'], r['gx'], r['gy'], r['gwidth'], r['gheight'],
                            r['width'], r['height'])
            np.testing.assert_array_equal(r['tile'], raw)
            mosaic[r['y'] - y0:r['y'] - y0 + r['height'], r['x'] - x0:r['x'] - x0 + r['width']] = \
                r['tile']
        assert (records[-1]['y'] - y0 + records[-1]['height'],
                records[-1]['x'] - x0 + records[-1]['width']) == whole.shape[:2]
        np.testing.assert_array_equal(mosaic, whole)


def test_resampled_tiles_of_an_unaligned_region(rasters):
    # 874 x 639 base pixels -> 333 x 243: 2.62 base pixels per output pixel, so tiles start at
    # fractional base positions. The tiles still cover exactly the region, and stitched together
    # they give getRegion's output (on a smooth image: within 1, as GDAL's fractional-window
    # averages at the seams may weigh the edge rows slightly differently).
    source = geolargeimage.open(rasters['smooth'])
    region, output = {'left': 37, 'top': 11, 'width': 874, 'height': 639}, {'maxWidth': 333}
    whole, _ = source.getRegion(format='numpy', region=region, output=output)
    assert whole.shape == (243, 333, 3)
    records = list(source.tileIterator(region=region, output=output, tile_size={'width': 128}))
    assert len(records) == 3 * 2
    assert records[0]['gx'] == pytest.approx(37) and records[0]['gy'] == pytest.approx(11)
    assert records[-1]['gx'] + records[-1]['gwidth'] == pytest.approx(911)
    assert records[-1]['gy'] + records[-1]['gheight'] == pytest.approx(650)
    assert sum(r['width'] for r in records if r['tile_position']['region_y'] == 0) == 333
    assert sum(r['height'] for r in records if r['tile_position']['region_x'] == 0) == 243
    x0, y0 = records[0]['x'], records[0]['y']
    mosaic = np.zeros_like(whole)
    for r in records:
        assert r['gwidth'] == pytest.approx(r['width'] * 874 / 333)
        mosaic[r['y'] - y0:r['y'] - y0 + r['height'], r['x'] - x0:r['x'] - x0 + r['width']] = \
            r['tile']
    assert np.abs(mosaic.astype(int) - whole).max() <= 1


@pytest.mark.parametrize('resample', [False, None])
def test_unresampled_iteration_gives_native_level_pixels(big, rasters, resample):
    records = list(big.tileIterator(output={'maxWidth': 1000}, tile_size={'width': 256},
                                    resample=resample))
    assert len(records) == 5 * 3  # level 3 is 1250 x 625
    second = records[1]
    assert (second['x'], second['y'], second['width'], second['height']) == (256, 0, 256, 256)
    assert (second['gx'], second['gwidth']) == (2048, 2048)
    assert not set(second.keys()) & RESAMPLED_KEYS
    assert {r['level'] for r in records} == {3}
    last = records[-1]
    assert (last['x'], last['y'], last['width'], last['height']) == (1024, 512, 226, 113)
    dataset = gdal.Open(str(rasters['big']))
    level3 = dataset.GetRasterBand(1).GetOverview(2)
    assert (level3.XSize, level3.YSize) == (1250, 625)
    for r in (records[0], second, last):
        np.testing.assert_array_equal(
            r['tile'][:, :, 0], level3.ReadAsArray(r['x'], r['y'], r['width'], r['height']))


def test_level_iteration_matches_get_region(rgb):
    # maxWidth 500 is exactly level 1: tiles are level pixels and getRegion gives the same level
    output = {'maxWidth': 500}
    whole, _ = rgb.getRegion(format='numpy', output=output)
    assert whole.shape == (350, 500, 3)
    records = list(rgb.tileIterator(output=output, tile_size={'width': 128}))
    assert len(records) == 4 * 3
    for r in records:
        assert r['level'] == 1
        assert (r['gx'], r['gy'], r['gwidth'], r['gheight']) == \
            (2 * r['x'], 2 * r['y'], 2 * r['width'], 2 * r['height'])
        np.testing.assert_array_equal(
            r['tile'], whole[r['y']:r['y'] + r['height'], r['x']:r['x'] + r['width']])


def test_pixel_sizes_in_records(mm):
    full = mm.getSingleTile()
    assert (full['mm_x'], full['mm_y']) == (0.5, 0.5)
    half = mm.getSingleTile(output={'maxWidth': 200})
    assert half['level'] == 0 and (half['mm_x'], half['mm_y']) == (1.0, 1.0)
    assert half['gwidth'] == 2 * half['width']
    scaled = mm.getSingleTile(output={'maxWidth': 160}, tile_size={'width': 64})
    assert scaled['scaled'] == pytest.approx(0.8)
    assert scaled['mm_x'] == pytest.approx(1.25) and scaled['mm_y'] == pytest.approx(1.25)
    assert scaled['tile_mm_x'] == pytest.approx(1.0)


def test_iteration_at_a_scale(mm, rasters):
    # mm_x 1.0 is level 0 exactly: level pixels, no resampling
    level = list(mm.tileIterator(scale={'mm_x': 1.0}, tile_size={'width': 64}))
    assert len(level) == 4 * 3  # 200 x 150
    assert {r['level'] for r in level} == {0}
    assert not set(level[0].keys()) & RESAMPLED_KEYS
    assert (level[0]['mm_x'], level[0]['gwidth']) == (1.0, 128)
    # mm_x 1.25 needs 2.5 base pixels per output pixel: resampled from level 0
    scaled = list(mm.tileIterator(scale={'mm_x': 1.25}, tile_size={'width': 64}))
    assert len(scaled) == 3 * 2  # 160 x 120
    assert scaled[0]['scaled'] == pytest.approx(0.8)
    assert scaled[0]['mm_x'] == pytest.approx(1.25)
    for r in scaled:
        assert (r['gx'], r['gwidth']) == (2.5 * r['x'], 2.5 * r['width'])
        np.testing.assert_array_equal(r['tile'], gdal_read(
            rasters['mm'], r['gx'], r['gy'], r['gwidth'], r['gheight'], r['width'], r['height']))


def test_resampled_overlap_is_in_output_pixels(rgb):
    records = list(rgb.tileIterator(output={'maxWidth': 400}, tile_size={'width': 128},
                                    tile_overlap={'x': 16, 'y': 16}))
    first_row = [(r['x'], r['width'], r['tile_overlap']['left'], r['tile_overlap']['right'],
                  r['gx'], r['gwidth']) for r in records if r['tile_position']['region_y'] == 0]
    assert first_row == [(0, 128, 0, 8, 0, 320), (112, 128, 8, 8, 280, 320),
                         (224, 128, 8, 8, 560, 320), (336, 64, 8, 0, 840, 160)]


def test_resampled_tile_position(rgb):
    everything = list(rgb.tileIterator(output={'maxWidth': 400}, tile_size={'width': 128}))
    record = rgb.getSingleTile(output={'maxWidth': 400}, tile_size={'width': 128},
                               tile_position=5)
    assert without_pixels(record) == without_pixels(everything[5])
    assert (record['x'], record['y'], record['scaled']) == (128, 128, pytest.approx(0.8))
    np.testing.assert_array_equal(record['tile'], everything[5]['tile'])


def test_only_a_tile_height_gives_square_tiles(rgb):
    record = rgb.getSingleTile(tile_size={'height': 100})
    assert (record['width'], record['height']) == (100, 100)
    assert rgb.getTileCount(tile_size={'height': 100}) == 70


def test_region_outside_the_image_raises(rgb):
    with pytest.raises(geolargeimage.RangeError):
        rgb.tileIterator(region={'left': 2000, 'right': 3000})


# -- tile_position, getSingleTile, getTileCount ---------------------------------------------
@pytest.mark.parametrize('position', [5, {'position': 5}, {'region_x': 1, 'region_y': 1},
                                      {'level_x': 1, 'level_y': 1}])
def test_tile_position_selects_one_tile(rgb, position):
    everything = list(rgb.tileIterator())
    iterator = rgb.tileIterator(tile_position=position)
    records = list(iterator)
    assert len(iterator) == len(records) == 1
    record = records[0]
    assert without_pixels(record) == without_pixels(everything[5])
    assert record['tile_position'] == {'level_x': 1, 'level_y': 1, 'region_x': 1, 'region_y': 1,
                                       'position': 5}
    np.testing.assert_array_equal(record['tile'], expected(slice(256, 512), slice(256, 512), 3))


def test_tile_position_in_an_offset_region(rgb):
    region = {'left': 300, 'top': 300, 'right': 1000, 'bottom': 700}
    by_level = rgb.getSingleTile(region=region, tile_position={'level_x': 2, 'level_y': 1})
    assert by_level['tile_position'] == {'level_x': 2, 'level_y': 1, 'region_x': 1,
                                         'region_y': 0, 'position': 1}
    by_region = rgb.getSingleTile(region=region, tile_position={'region_x': 1, 'region_y': 0})
    assert without_pixels(by_level) == without_pixels(by_region)
    assert (by_level['x'], by_level['y'], by_level['width'], by_level['height']) == \
        (512, 300, 256, 212)
    np.testing.assert_array_equal(by_level['tile'], expected(slice(300, 512), slice(512, 768), 3))


@pytest.mark.parametrize('position', [12, -1, {'position': 99}, {'region_x': 4, 'region_y': 0},
                                      {'region_x': 0, 'region_y': 3}, {'level_x': 0, 'level_y': 5}])
def test_tile_position_out_of_range_yields_nothing(rgb, position):
    iterator = rgb.tileIterator(tile_position=position)
    assert len(iterator) == 0
    assert iterator.info is None
    assert list(iterator) == []
    assert rgb.getSingleTile(tile_position=position) is None


def test_get_single_tile(rgb):
    first = rgb.getSingleTile(region={'left': 20, 'top': 30}, tile_size={'width': 100})
    assert (first['x'], first['y'], first['width'], first['height']) == (20, 30, 80, 70)
    np.testing.assert_array_equal(first['tile'], expected(slice(30, 100), slice(20, 100), 3))
    seventh = rgb.getSingleTile(tile_position=7)
    assert (seventh['level_x'], seventh['level_y']) == (3, 1)
    assert seventh['tile'].shape == (256, 232, 3)


def test_get_tile_count(rgb):
    assert rgb.getTileCount() == 12
    assert rgb.getTileCount(tile_position=3) == 12
    assert rgb.getTileCount(tile_size={'width': 100}) == 10 * 7
    assert rgb.getTileCount(tile_size={'width': 75}, tile_overlap={'x': 60, 'y': 60},
                            region={'width': 120, 'height': 120}) == 16
    assert rgb.getTileCount(region={'left': 10, 'right': 10}) == 0


def test_len_and_info(rgb):
    iterator = rgb.tileIterator(tile_size={'width': 300})
    assert len(iterator) == 4 * 3
    assert iterator.info is not None
    assert len(list(iterator)) == 12
    empty = rgb.tileIterator(region={'top': 5, 'bottom': 5})
    assert len(empty) == 0 and empty.info is None and list(empty) == []


# -- lazy records -----------------------------------------------------------------------------
def test_tiles_load_lazily_and_release(rgb):
    records = list(rgb.tileIterator(tile_size={'width': 300}))
    for record in records:
        assert dict.__getitem__(record, 'tile') is None  # not read yet
        assert 'tile' in record and 'format' in record
    record = records[4]
    tile = record['tile']
    assert dict.__getitem__(record, 'tile') is tile
    assert record['tile'] is tile  # read once
    np.testing.assert_array_equal(tile, expected(slice(300, 600), slice(0, 300), 3))
    record.release()
    assert dict.__getitem__(record, 'tile') is None
    again = record['tile']
    assert again is not tile
    np.testing.assert_array_equal(again, tile)
    assert dict.__getitem__(records[5], 'tile') is None  # the others stay unread


def test_format_key_loads_the_tile(rgb):
    record = rgb.getSingleTile(tile_size={'width': 50})
    assert record['format'] == 'numpy'
    assert dict.__getitem__(record, 'tile') is not None


def test_records_pickle_as_plain_dicts(rgb):
    record = rgb.getSingleTile(tile_size={'width': 50})
    copy = pickle.loads(pickle.dumps(record))
    assert without_pixels(copy) == without_pixels(record)
    np.testing.assert_array_equal(copy['tile'], expected(slice(0, 50), slice(0, 50), 3))


# -- formats ----------------------------------------------------------------------------------
def test_image_format_needs_an_encoding(rgb):
    with pytest.raises(ValueError, match='Invalid encoding'):
        rgb.tileIterator(format='image')


def test_image_format_with_png(rgb):
    records = list(rgb.tileIterator(format='image', encoding='PNG', tile_size={'width': 300},
                                    region={'left': 100, 'top': 100, 'width': 400, 'height': 300}))
    assert len(records) == 4
    for r in records:
        assert isinstance(r['tile'], geolargeimage.ImageBytes)
        assert r['tile'].mimetype == 'image/png'
        assert r['format'] == geolargeimage.TILE_FORMAT_IMAGE
        decoded = Image.open(io.BytesIO(r['tile']))
        assert decoded.format == 'PNG' and decoded.size == (r['width'], r['height'])
        np.testing.assert_array_equal(np.asarray(decoded), expected(
            slice(r['y'], r['y'] + r['height']), slice(r['x'], r['x'] + r['width']), 3))


def test_pil_format(rgb):
    record = rgb.getSingleTile(format='PIL', tile_size={'width': 40, 'height': 30},
                               region={'left': 7, 'top': 9})
    assert record['format'] == geolargeimage.TILE_FORMAT_PIL
    assert isinstance(record['tile'], Image.Image) and record['tile'].size == (33, 21)
    np.testing.assert_array_equal(np.asarray(record['tile']),
                                  expected(slice(9, 30), slice(7, 40), 3))


# -- tile_offset and invalid tiling -----------------------------------------------------------
REGION = {'left': 37, 'top': 11, 'width': 500, 'height': 400}


def test_tile_offset_auto_aligns_to_the_region(rgb):
    records = list(rgb.tileIterator(region=REGION, tile_size={'width': 128},
                                    tile_offset={'auto': True}))
    assert (records[0]['x'], records[0]['y'], records[0]['width'], records[0]['height']) == \
        (37, 11, 128, 128)
    assert sorted({r['x'] for r in records}) == [37, 165, 293, 421]
    assert sorted({r['width'] for r in records}) == [116, 128]
    np.testing.assert_array_equal(records[0]['tile'], expected(slice(11, 139), slice(37, 165), 3))


def test_tile_offset_default_and_explicit(rgb):
    default = list(rgb.tileIterator(region=REGION, tile_size={'width': 128}))
    assert (default[0]['x'], default[0]['width']) == (37, 91)
    assert sorted({r['x'] for r in default}) == [37, 128, 256, 384, 512]
    explicit = list(rgb.tileIterator(region=REGION, tile_size={'width': 128},
                                     tile_offset={'left': 10, 'top': 5}))
    assert sorted({r['x'] for r in explicit}) == [37, 138, 266, 394, 522]
    assert sorted({r['y'] for r in explicit}) == [11, 133, 261, 389]
    # an offset beyond the region's left is replaced by left - left % stride (here 0)
    beyond = list(rgb.tileIterator(region=REGION, tile_size={'width': 128},
                                   tile_offset={'left': 100, 'top': 100}))
    assert [without_pixels(r) for r in beyond] == [without_pixels(r) for r in default]
    for r in explicit:
        np.testing.assert_array_equal(r['tile'], expected(
            slice(r['y'], r['y'] + r['height']), slice(r['x'], r['x'] + r['width']), 3))


def test_auto_offset_ignored_for_a_region_smaller_than_a_tile(rgb):
    records = list(rgb.tileIterator(region={'left': 37, 'top': 11, 'width': 100, 'height': 50},
                                    tile_size={'width': 128}, tile_offset={'auto': True}))
    assert [(r['x'], r['width']) for r in records] == [(37, 91), (128, 9)]


@pytest.mark.parametrize('tile_size, overlap', [({'width': 10}, {'x': 10}),
                                                ({'width': 10}, {'x': 20}),
                                                ({'width': 100, 'height': 20}, {'y': 20})])
def test_overlap_not_smaller_than_the_tile_is_rejected(rgb, tile_size, overlap):
    with pytest.raises(ValueError):
        rgb.tileIterator(tile_size=tile_size, tile_overlap=overlap)
