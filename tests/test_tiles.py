"""getTile: windows and levels, edges, output types, encodings, ranges, synthesized levels."""

from __future__ import annotations

import io
import math
import warnings

import numpy as np
import pytest
from conftest import PALETTE, UINT16_FACTOR, dem_values, formula, gdal_pyramid_copy, rgba_values
from factory import expected
from osgeo import gdal
from PIL import Image

import geolargeimage
from geolargeimage import errors


def tile_layout(size_x: int, size_y: int, tile: int, levels: int, z: int):
    """Yield ``(x, y, (x0, y0, w, h), (buf_w, buf_h))`` for every tile of level ``z``, from
    large_image's tile formula (reference §4): tile (x, y, z) covers base pixels
    [x·tw·2^(maxLevel−z), (x+1)·tw·2^(maxLevel−z)), clipped to the image, read into
    round(extent / 2^(maxLevel−z)) pixels."""
    factor = 2 ** (levels - 1 - z)
    for y in range(math.ceil(size_y / factor / tile)):
        for x in range(math.ceil(size_x / factor / tile)):
            x0, y0 = x * tile * factor, y * tile * factor
            w, h = min(tile * factor, size_x - x0), min(tile * factor, size_y - y0)
            yield x, y, (x0, y0, w, h), (max(1, round(w / factor)), max(1, round(h / factor)))


def raw_read(path, window, buffer, resample_alg=None) -> np.ndarray:
    """A plain GDAL windowed read as ``(h, w, bands)``."""
    dataset = gdal.Open(str(path))
    kwargs = {} if resample_alg is None else {'resample_alg': resample_alg}
    data = dataset.ReadAsArray(*window, buf_xsize=buffer[0], buf_ysize=buffer[1], **kwargs)
    return data.reshape(-1, buffer[1], buffer[0]).transpose(1, 2, 0)


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def padded(pixels: np.ndarray, size: int = 256) -> np.ndarray:
    out = np.zeros((size, size, pixels.shape[2]), dtype=pixels.dtype)
    out[:pixels.shape[0], :pixels.shape[1]] = pixels
    return out


# -- windows and levels -------------------------------------------------------------------------

def test_every_tile_of_every_level_matches_raw_gdal_read(rgb_tiled):
    source = geolargeimage.open(rgb_tiled, encoding='PNG')
    assert source.levels == 3
    seen = 0
    for z in range(source.levels):
        for x, y, window, buffer in tile_layout(1000, 700, 256, 3, z):
            raw = raw_read(rgb_tiled, window, buffer)
            tile = source.getTile(x, y, z, numpyAllowed=True)
            assert tile.shape == (256, 256, 3) and tile.dtype == np.uint8
            assert np.array_equal(tile, padded(raw)), (x, y, z)
            png = decode(source.getTile(x, y, z))
            assert np.array_equal(png, padded(raw)), (x, y, z)
            seen += 1
    assert seen == 1 + 4 + 12


def test_full_resolution_tiles_equal_formula(rgb_tiled):
    source = geolargeimage.open(rgb_tiled)
    for x, y, (x0, y0, w, h), _ in tile_layout(1000, 700, 256, 3, 2):
        tile = source.getTile(x, y, 2, numpyAllowed=True)
        want = expected(slice(y0, y0 + h), slice(x0, x0 + w), 3)
        assert np.array_equal(tile[:h, :w], want), (x, y)


def test_tiles_of_512_blocks_match_raw_read(tiled_512):
    source = geolargeimage.open(tiled_512)
    assert (source.tileWidth, source.levels) == (512, 3)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', errors.NoOverviewsWarning)
        for z in range(3):
            for x, y, (x0, y0, w, h), buffer in tile_layout(1300, 900, 512, 3, z):
                tile = source.getTile(x, y, z, numpyAllowed=True)
                assert tile.shape == (512, 512, 3)
                got = tile[:buffer[1], :buffer[0]]
                if z == 2:
                    assert np.array_equal(got, expected(slice(y0, y0 + h), slice(x0, x0 + w), 3))
                else:
                    want = raw_read(tiled_512, (x0, y0, w, h), buffer, gdal.GRIORA_Average)
                    assert np.abs(got.astype(np.int16) - want).max() <= 1, (x, y, z)
                assert not tile[buffer[1]:].any() and not tile[:, buffer[0]:].any()


def test_cog_tiles_match_raw_average_read(cog):
    source = geolargeimage.open(cog)
    assert source.levels == 4
    for z in range(4):
        for x, y, window, buffer in tile_layout(1500, 1100, 256, 4, z):
            tile = source.getTile(x, y, z, numpyAllowed=True)
            want = raw_read(cog, window, buffer, gdal.GRIORA_Average).astype(np.int16)
            assert np.abs(tile[:buffer[1], :buffer[0]] - want).max() <= 1, (x, y, z)
            assert want.std() > 1


def test_corner_tiles_of_every_level_are_valid(rgb_tiled):
    source = geolargeimage.open(rgb_tiled)
    for z in range(source.levels):
        nx = math.ceil(1000 / 2 ** (2 - z) / 256)
        ny = math.ceil(700 / 2 ** (2 - z) / 256)
        for x, y in ((0, 0), (nx - 1, 0), (0, ny - 1), (nx - 1, ny - 1)):
            assert source.getTile(x, y, z, numpyAllowed=True).any()


# -- edges --------------------------------------------------------------------------------------

def test_edge_tiles_are_zero_padded_by_default(rgb_tiled):
    source = geolargeimage.open(rgb_tiled)
    corner = source.getTile(3, 2, 2, numpyAllowed=True)
    assert corner.shape == (256, 256, 3)
    assert np.array_equal(corner[:188, :232], expected(slice(512, 700), slice(768, 1000), 3))
    assert not corner[188:].any() and not corner[:, 232:].any()
    whole = source.getTile(0, 0, 0, numpyAllowed=True)
    assert whole.shape == (256, 256, 3)
    assert whole[:175, :250].any() and not whole[175:].any() and not whole[:, 250:].any()


@pytest.mark.parametrize('edge', ['crop', True])
def test_edge_crop_returns_exact_sizes(rgb_tiled, edge):
    source = geolargeimage.open(rgb_tiled, edge=edge)
    assert source.getTile(3, 0, 2, numpyAllowed=True).shape == (256, 1000 - 3 * 256, 3)
    assert source.getTile(0, 2, 2, numpyAllowed=True).shape == (700 - 2 * 256, 256, 3)
    assert source.getTile(1, 1, 1, numpyAllowed=True).shape == (94, 244, 3)
    assert source.getTile(0, 0, 0, numpyAllowed=True).shape == (175, 250, 3)
    corner = source.getTile(3, 2, 2, numpyAllowed=True)
    assert np.array_equal(corner, expected(slice(512, 700), slice(768, 1000), 3))
    png = decode(geolargeimage.open(rgb_tiled, edge=edge, encoding='PNG').getTile(3, 2, 2))
    assert np.array_equal(png, corner)
    inner = source.getTile(1, 1, 2, numpyAllowed=True)
    assert np.array_equal(inner, expected(slice(256, 512), slice(256, 512), 3))


def test_edge_colour_paints_outside_area(rgb_tiled):
    source = geolargeimage.open(rgb_tiled, edge='#ff0000', encoding='PNG')
    png = decode(source.getTile(3, 2, 2))
    assert png.shape == (256, 256, 3)
    assert np.array_equal(png[:188, :232], expected(slice(512, 700), slice(768, 1000), 3))
    assert (png[:, 232:] == [255, 0, 0]).all()
    assert (png[188:, :] == [255, 0, 0]).all()
    # a tile wholly inside the image is not painted
    assert np.array_equal(decode(source.getTile(1, 1, 2)),
                          expected(slice(256, 512), slice(256, 512), 3))
    top = decode(source.getTile(0, 0, 0))
    assert (top[:, 250:] == [255, 0, 0]).all() and (top[175:] == [255, 0, 0]).all()
    assert np.array_equal(top[:175, :250], raw_read(rgb_tiled, (0, 0, 1000, 700), (250, 175)))


# -- output types -------------------------------------------------------------------------------

def test_numpy_tile_keeps_uint16_values(uint16_rgb):
    source = geolargeimage.open(uint16_rgb)  # 400×300 → 2 levels
    tile = source.getTile(1, 0, 1, numpyAllowed=True)
    assert tile.shape == (256, 256, 3) and tile.dtype == np.uint16
    want = expected(slice(0, 256), slice(256, 400), 3, 'uint16') * UINT16_FACTOR
    assert np.array_equal(tile[:, :144], want)
    assert tile.max() > 255
    top = source.getTile(0, 0, 0, numpyAllowed=True)
    assert top.dtype == np.uint16
    raw = raw_read(uint16_rgb, (0, 0, 400, 300), (200, 150), gdal.GRIORA_Average)
    assert np.array_equal(top[:150, :200], raw)


def test_numpy_tile_keeps_float32_and_nodata(dem_float32):
    source = geolargeimage.open(dem_float32, edge='crop')
    tile = source.getTile(0, 0, 2, numpyAllowed=True)
    assert tile.dtype == np.float32 and tile.shape == (256, 256, 1)
    assert np.array_equal(tile, dem_values(600, 400)[:256, :256])
    assert (tile[100:150, 200:256] == -9999).all()


def test_numpy_always_returns_array(rgb_tiled):
    tile = geolargeimage.open(rgb_tiled).getTile(1, 1, 2, numpyAllowed='always')
    assert isinstance(tile, np.ndarray)
    assert np.array_equal(tile, expected(slice(256, 512), slice(256, 512), 3))


def test_pil_image_allowed_returns_pil_image(rgb_tiled):
    image = geolargeimage.open(rgb_tiled).getTile(2, 1, 2, pilImageAllowed=True)
    assert isinstance(image, Image.Image)
    assert image.mode == 'RGB' and image.size == (256, 256)
    assert np.array_equal(np.asarray(image), expected(slice(256, 512), slice(512, 768), 3))


# -- encodings ----------------------------------------------------------------------------------

@pytest.mark.parametrize('encoding, mime, magic', [
    ('JPEG', 'image/jpeg', (b'\xff\xd8\xff',)),
    ('PNG', 'image/png', (b'\x89PNG\r\n\x1a\n',)),
    ('WEBP', 'image/webp', (b'RIFF',)),
    ('TIFF', 'image/tiff', (b'II*\x00', b'MM\x00*')),
])
def test_encodings_magic_bytes_and_mimetype(rgb_tiled, encoding, mime, magic):
    source = geolargeimage.open(rgb_tiled, encoding=encoding)
    data = source.getTile(1, 1, 2)
    assert isinstance(data, bytes) and isinstance(data, geolargeimage.ImageBytes)
    assert data.startswith(magic)
    if encoding == 'WEBP':
        assert data[8:12] == b'WEBP'
    assert data.mimetype == mime == source.getTileMimeType()
    pixels = decode(data).astype(np.int16)
    want = expected(slice(256, 512), slice(256, 512), 3).astype(np.int16)
    assert pixels.shape == (256, 256, 3)
    if encoding in ('PNG', 'TIFF'):
        assert np.array_equal(pixels, want)
    else:  # lossy, but the same picture
        assert np.abs(pixels - want).mean() < 12


def test_default_encoding_is_jpeg(rgb_tiled):
    source = geolargeimage.open(rgb_tiled)
    assert source.getTileMimeType() == 'image/jpeg'
    assert source.getTile(0, 0, 0).startswith(b'\xff\xd8\xff')


def test_png_tile_of_rgba_keeps_alpha(rgba):
    source = geolargeimage.open(rgba, encoding='PNG')
    assert source.levels == 2
    data = rgba_values(500, 400)
    left = decode(source.getTile(0, 0, 1))
    assert left.shape == (256, 256, 4)
    assert np.array_equal(left, data[:256, :256])
    assert (left[:, :125, 3] == 0).all() and (left[:, 125:, 3] == 255).all()
    right = decode(source.getTile(1, 0, 1))
    assert np.array_equal(right[:, :244], data[:256, 256:500])
    assert (right[:, 244:, 3] == 0).all()  # the padding is transparent
    image = source.getTile(0, 0, 1, pilImageAllowed=True)
    assert image.mode == 'RGBA'


def test_png_tile_of_paletted_raster_shows_table_colours(paletted):
    source = geolargeimage.open(paletted, encoding='PNG')
    table = np.array(PALETTE, dtype=np.uint8)
    indices = formula(500, 300, 1)[:, :, 0] % 4
    full = decode(source.getTile(0, 0, 1))
    assert full.shape[:2] == (256, 256)
    assert np.array_equal(full[:, :, :3], table[indices[:256, :256]][:, :, :3])
    if full.shape[2] == 4:
        assert (full[:, :, 3] == 255).all()
    # the coarse level picks palette entries (nearest), never blends them
    top = decode(source.getTile(0, 0, 0))[:150, :250, :3]
    raw = raw_read(paletted, (0, 0, 500, 300), (250, 150))[:, :, 0]
    assert np.array_equal(top, table[raw][:, :, :3])
    raw_indices = source.getTile(0, 0, 1, numpyAllowed=True)
    assert np.array_equal(raw_indices[:, :, 0], indices[:256, :256])


# -- ranges -------------------------------------------------------------------------------------

@pytest.mark.parametrize('x, y, z', [
    (-1, 0, 2), (4, 0, 2), (0, -1, 2), (0, 3, 2),
    (2, 0, 1), (0, 2, 1), (1, 0, 0), (0, 1, 0),
    (0, 0, 3), (0, 0, -1), (0, 0, 'abc'), (0, 0, True), (True, 0, 2), (0, False, 2),
    (0.5, 0, 2), (0, 0, None),
])
def test_out_of_range_tiles_raise_xyz_range_error(rgb_tiled, x, y, z):
    source = geolargeimage.open(rgb_tiled)
    with pytest.raises(errors.TileRangeError) as info:
        source.getTile(x, y, z)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, geolargeimage.TileSourceXYZRangeError)
    assert isinstance(info.value, geolargeimage.TileSourceRangeError)
    assert isinstance(info.value, geolargeimage.TileSourceError)


def test_range_error_messages_name_the_axis(rgb_tiled):
    source = geolargeimage.open(rgb_tiled)
    with pytest.raises(errors.TileRangeError, match='z layer does not exist'):
        source.getTile(0, 0, 3)
    with pytest.raises(errors.TileRangeError, match='x is outside layer'):
        source.getTile(4, 0, 2)
    with pytest.raises(errors.TileRangeError, match='y is outside layer'):
        source.getTile(0, 3, 2)


def test_last_valid_tiles_do_not_raise(rgb_tiled):
    source = geolargeimage.open(rgb_tiled)
    assert np.array_equal(source.getTile(3, 2, 2, numpyAllowed=True)[:188, :232],
                          expected(slice(512, 700), slice(768, 1000), 3))
    assert source.getTile(np.int64(1), np.int64(1), np.int64(1), numpyAllowed=True).any()


def test_frame_other_than_zero_raises(rgb_tiled):
    source = geolargeimage.open(rgb_tiled)
    with pytest.raises(errors.TileRangeError, match='Frame'):
        source.getTile(0, 0, 0, frame=1)
    with pytest.raises(errors.TileRangeError):
        source.getTile(0, 0, 0, frame=-1)
    tile = source.getTile(1, 1, 2, frame=0, numpyAllowed=True)
    assert np.array_equal(tile, expected(slice(256, 512), slice(256, 512), 3))


# -- rasters without overviews ------------------------------------------------------------------

def _no_overview_warnings(records) -> list:
    return [r for r in records if issubclass(r.category, errors.NoOverviewsWarning)]


def test_no_overviews_warns_once_and_serves_z0(rgb_striped_no_overviews, tmp_path):
    source = geolargeimage.open(rgb_striped_no_overviews, noCache=True)
    assert source.levels == 5
    with pytest.warns(errors.NoOverviewsWarning):
        tile = source.getTile(0, 0, 0, numpyAllowed=True)
    # The synthesized levels are the overviews GDAL itself builds with AVERAGE.
    reference = gdal_pyramid_copy(rgb_striped_no_overviews, tmp_path)
    raw = raw_read(reference, (0, 0, 3000, 2000), (188, 125), gdal.GRIORA_Average)
    assert raw.std() > 1
    np.testing.assert_array_equal(tile[:125, :188], raw)
    assert not tile[125:].any() and not tile[:, 188:].any()
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter('always')
        again = source.getTile(0, 0, 0, numpyAllowed=True)
        source.getTile(0, 0, 1, numpyAllowed=True)
    assert _no_overview_warnings(records) == []
    assert np.array_equal(again, tile)


def test_no_overviews_warning_is_per_source(rgb_striped_no_overviews):
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter('always')
        for _ in range(2):
            source = geolargeimage.open(rgb_striped_no_overviews, noCache=True)
            for _ in range(3):
                source.getTile(0, 0, 0)
                source.getTile(1, 0, 1)
    assert len(_no_overview_warnings(records)) == 2


def test_no_overviews_coarse_levels_match_raw_average_read(rgb_striped_no_overviews):
    source = geolargeimage.open(rgb_striped_no_overviews, noCache=True)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', errors.NoOverviewsWarning)
        for z in (1, 2):
            for x, y, window, buffer in tile_layout(3000, 2000, 256, 5, z):
                tile = source.getTile(x, y, z, numpyAllowed=True)
                raw = raw_read(rgb_striped_no_overviews, window, buffer,
                               gdal.GRIORA_Average).astype(np.int16)
                assert np.abs(tile[:buffer[1], :buffer[0]] - raw).max() <= 2, (x, y, z)
        full = source.getTile(11, 7, 4, numpyAllowed=True)
    assert np.array_equal(full[:208, :184], expected(slice(1792, 2000), slice(2816, 3000), 3))


def test_tiled_raster_without_overviews_warns_once(tiled_512):
    source = geolargeimage.open(tiled_512, noCache=True)
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter('always')
        first = source.getTile(0, 0, 0, numpyAllowed=True)
        second = source.getTile(0, 0, 0, numpyAllowed=True)
        source.getTile(1, 0, 1, numpyAllowed=True)
    assert len(_no_overview_warnings(records)) == 1
    assert np.array_equal(first, second)
    raw = raw_read(tiled_512, (0, 0, 1300, 900), (325, 225), gdal.GRIORA_Average).astype(np.int16)
    assert np.abs(first[:225, :325] - raw).max() <= 2
