"""Styles through the public API (reference §8, §9, §13): ``style=`` at open and per call, on every
pixel method, with the expected pixels computed here with numpy from the stored values (the
factory formulas), never from the library's style engine.

Palettes used for the hand computations (n = (v − min) / (max − min)):

- ``THREE_STOPS`` (blue, green, red): each channel ``np.interp`` over stops at 0, ½, 1 (clamped);
  alpha a constant 255.
- ``'#f00'`` = black → red: red ``n · 255`` *unclipped* (a two-stop channel from 0), green and blue
  0, alpha 255. Likewise ``'#0f0'`` and ``'#00f'``.
"""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
from conftest import (
    DEM_NODATA_COLS,
    DEM_NODATA_ROWS,
    MULTIPAGE_SIZE,
    OME_SIZE,
    SAMPLES,
    UINT16_FACTOR,
    dem_values,
    formula,
    multipage_values,
    plane_values,
    rgba_values,
)
from factory import make_raster
from PIL import Image

import geolargeimage
from geolargeimage import TileSourceError

RGB_SAMPLE = SAMPLES / 'rgb_geotiff.tiff'
THREE_STOPS = ['#0000ff', '#00ff00', '#ff0000']
#: rgb_tiled: 1000 × 700 RGB uint8 holding formula(1000, 700, 3); three levels.
RGB_SIZE = (1000, 700)
#: The gradient raster: 600 × 400 uint16, 1000 + 10·row + 20·col, tiled 256.
GRADIENT_SIZE = (600, 400)
GRADIENT_MIN, GRADIENT_MAX = 1000, 1000 + 10 * 399 + 20 * 599
#: Pixel (212, 198) of rgb_geotiff.tiff (raw 62, 65, 66) and the 3857 point of §13.
SAMPLE_PIXEL = {'left': 212, 'top': 198}
SAMPLE_3857 = {'left': -13132910, 'top': 4010586, 'units': 'projection'}
#: The §13 web-mercator tile whose pixel [0, 0] lies north of the data (raw warp alpha 0).
OUTSIDE_TILE = (22, 51, 7)


# -- helpers --------------------------------------------------------------------------------------

def normal(values, low, high) -> np.ndarray:
    return (np.asarray(values, dtype=np.float64) - low) / (high - low)


def three_stops(n: np.ndarray) -> np.ndarray:
    """THREE_STOPS at n: (h, w, 4)."""
    stops = [0, 0.5, 1]
    return np.stack([np.interp(n, stops, [0, 0, 255]), np.interp(n, stops, [0, 255, 0]),
                     np.interp(n, stops, [255, 0, 0]), np.full(n.shape, 255.0)], axis=2)


def ramp(n: np.ndarray, channel: int) -> np.ndarray:
    """A black → pure-colour palette ('#f00', '#0f0', '#00f' for channel 0, 1, 2) at n."""
    out = np.zeros(n.shape + (4,))
    out[:, :, channel] = n * 255
    out[:, :, 3] = 255
    return out


def picture(data: bytes) -> np.ndarray:
    """Decoded PNG bytes as an array."""
    return np.asarray(Image.open(io.BytesIO(data)))


def clip_truncate(styled: np.ndarray) -> np.ndarray:
    """What a styled float array becomes in an 8-bit picture: clipped to 0–255, truncated."""
    return np.clip(styled, 0, 255).astype(np.uint8)


def close(actual, expected, atol=1e-3):
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected, rtol=0, atol=atol)


def rgb_raw():
    width, height = RGB_SIZE
    return formula(width, height, 3)


def gradient_values(width: int, height: int) -> np.ndarray:
    rows = np.arange(height)[:, None]
    cols = np.arange(width)[None, :]
    return (1000 + 10 * rows + 20 * cols).astype(np.uint16)


def ome_plane(channel: int) -> np.ndarray:
    width, height = OME_SIZE
    return plane_values(channel, width, height)


@pytest.fixture(scope='session')
def gradient16(raster_dir):
    """600 × 400 one-band uint16 gradient (gradient_values): each 256 tile has its own min/max."""
    width, height = GRADIENT_SIZE
    return make_raster(raster_dir / 'gradient16.tif', width, height, 1, dtype='uint16',
                       data=gradient_values(width, height)[:, :, None], options=['TILED=YES'],
                       overviews=[2, 4])


#: Band 2 from 10 to 200 over THREE_STOPS: the style most pixel-method tests use on rgb_tiled.
BAND2 = {'band': 2, 'min': 10, 'max': 200, 'palette': THREE_STOPS}
#: Band 2 from 10 to 200 on black → red: numpy values run below 0 and above 255.
RED2 = {'band': 2, 'min': 10, 'max': 200, 'palette': '#f00'}


def band2_expected(raw: np.ndarray) -> np.ndarray:
    return three_stops(normal(raw[:, :, 1], 10, 200))


def red2_expected(raw: np.ndarray) -> np.ndarray:
    return ramp(normal(raw[:, :, 1], 10, 200), 0)


# -- open(style=...) and every pixel method -------------------------------------------------------

def test_style_as_a_dict_and_as_json_text_give_the_same_pixels(rgb_tiled):
    as_dict = geolargeimage.open(rgb_tiled, style=BAND2)
    as_text = geolargeimage.open(rgb_tiled, style=json.dumps(BAND2))
    assert as_dict.style == BAND2 and as_text.style == json.dumps(BAND2)
    np.testing.assert_array_equal(as_dict.getTile(1, 1, 2, numpyAllowed=True),
                                  as_text.getTile(1, 1, 2, numpyAllowed=True))


def test_styled_numpy_tile_is_float32_rgba(rgb_tiled):
    tile = geolargeimage.open(rgb_tiled, style=BAND2).getTile(1, 1, 2, numpyAllowed=True)
    assert tile.dtype == np.float32 and tile.shape == (256, 256, 4)
    close(tile, band2_expected(rgb_raw()[256:512, 256:512]))


def test_png_tile_is_the_numpy_tile_clipped_and_truncated(rgb_tiled):
    source = geolargeimage.open(rgb_tiled, style=RED2, encoding='PNG')
    tile = source.getTile(1, 1, 2, numpyAllowed=True)
    expected = red2_expected(rgb_raw()[256:512, 256:512])
    close(tile, expected)
    assert tile[:, :, 0].min() < 0 and tile[:, :, 0].max() > 255  # numpy is not clipped
    png = picture(source.getTile(1, 1, 2))
    assert png.shape == (256, 256, 4)
    np.testing.assert_array_equal(png, clip_truncate(tile))


def test_region_honours_the_source_style(rgb_tiled):
    source = geolargeimage.open(rgb_tiled, style=BAND2)
    region = dict(left=123, top=45, right=789, bottom=601)
    data, mime = source.getRegion(region=region, format='numpy')
    assert mime == 'numpy' and data.dtype == np.float32
    close(data, band2_expected(rgb_raw()[45:601, 123:789]))
    png, mime = source.getRegion(region=region, encoding='PNG')
    assert mime == 'image/png'
    np.testing.assert_array_equal(picture(png), clip_truncate(data))


def test_thumbnail_is_the_style_applied_to_the_raw_thumbnail(rgb_tiled):
    """A reduced picture is styled after reduction: the style of the raw (style={}) thumbnail."""
    source = geolargeimage.open(rgb_tiled, style=BAND2)
    styled, _ = source.getThumbnail(format='numpy')
    raw, _ = source.getThumbnail(format='numpy', style={})
    assert raw.dtype == np.uint8 and raw.shape == (179, 256, 3)
    assert styled.shape == (179, 256, 4)
    close(styled, band2_expected(raw))
    png, _ = source.getThumbnail(encoding='PNG')
    np.testing.assert_array_equal(picture(png), clip_truncate(styled))


def test_tile_iterator_honours_the_source_style(rgb_tiled):
    source = geolargeimage.open(rgb_tiled, style=BAND2)
    raw = rgb_raw()
    count = 0
    for tile in source.tileIterator(tile_size=dict(width=300, height=200)):
        x, y, w, h = tile['x'], tile['y'], tile['width'], tile['height']
        assert tile['tile'].dtype == np.float32 and tile['tile'].shape == (h, w, 4)
        close(tile['tile'], band2_expected(raw[y:y + h, x:x + w]))
        count += 1
    assert count == 16


def test_encoded_iterator_tiles_are_the_numpy_tiles_clipped(rgb_tiled):
    source = geolargeimage.open(rgb_tiled, style=RED2)
    numpy_tiles = list(source.tileIterator(tile_size=dict(width=400, height=300)))
    png_tiles = list(source.tileIterator(tile_size=dict(width=400, height=300), format='image',
                                         encoding='PNG'))
    assert len(numpy_tiles) == len(png_tiles) == 9
    for numpy_tile, png_tile in zip(numpy_tiles, png_tiles):
        np.testing.assert_array_equal(picture(png_tile['tile']), clip_truncate(numpy_tile['tile']))


def test_pixel_value_is_the_styled_float_value(rgb_tiled):
    raw = rgb_raw()
    for style, expected in ((BAND2, band2_expected), (RED2, red2_expected)):
        pixel = geolargeimage.open(rgb_tiled, style=style).getPixel(region=dict(left=420, top=300))
        want = expected(raw[300:301, 420:421])[0, 0]
        close(pixel['value'], want)
        assert all(isinstance(value, float) for value in pixel['value'])
        assert [pixel[key] for key in 'rgba'] == [int(v) for v in np.clip(want, 0, 255)]
        assert pixel['bands'] == {b + 1: float(raw[300, 420, b]) for b in range(3)}


def test_pixel_value_unstyled_is_the_picture(rgb_tiled):
    pixel = geolargeimage.open(rgb_tiled).getPixel(region=dict(left=420, top=300))
    assert pixel['value'] == [int(v) for v in rgb_raw()[300, 420]]


# -- per-call styles ------------------------------------------------------------------------------

def test_per_call_style_overrides_the_source_style(rgb_tiled):
    source = geolargeimage.open(rgb_tiled, style=BAND2)
    other = geolargeimage.open(rgb_tiled, style=RED2)
    region = dict(left=100, top=200, width=300, height=250)
    region_styled, _ = source.getRegion(region=region, format='numpy', style=RED2)
    np.testing.assert_array_equal(region_styled,
                                  other.getRegion(region=region, format='numpy')[0])
    close(region_styled, red2_expected(rgb_raw()[200:450, 100:400]))
    np.testing.assert_array_equal(source.getThumbnail(format='numpy', style=RED2)[0],
                                  other.getThumbnail(format='numpy')[0])
    tiles = source.tileIterator(tile_size=dict(width=500, height=350), style=RED2)
    for tile, expected in zip(tiles, other.tileIterator(tile_size=dict(width=500, height=350))):
        np.testing.assert_array_equal(tile['tile'], expected['tile'])
    # The source keeps its own style; style=None in a call means the source's.
    assert source.style == BAND2
    close(source.getRegion(region=region, format='numpy', style=None)[0],
          band2_expected(rgb_raw()[200:450, 100:400]))


def test_per_call_empty_style_gives_raw_data(uint16_rgb):
    source = geolargeimage.open(uint16_rgb, style=RED2)
    data, _ = source.getRegion(region=dict(left=10, top=20, width=50, height=40), format='numpy',
                               style={})
    assert data.dtype == np.uint16
    expected = formula(400, 300, 3, 'uint16')[20:60, 10:60] * UINT16_FACTOR
    np.testing.assert_array_equal(data, expected)


def test_get_pixel_does_not_silently_ignore_a_style(rgb_tiled):
    """getPixel takes no per-call style here; if it accepts one, it must use it — never return
    the source style's values for another style (design: unknown keywords are errors)."""
    source = geolargeimage.open(rgb_tiled, style=BAND2)
    try:
        pixel = source.getPixel(region=dict(left=420, top=300), style=RED2)
    except ValueError:
        return
    close(pixel['value'], red2_expected(rgb_raw()[300:301, 420:421])[0, 0])


# -- default style and raw data -------------------------------------------------------------------

@pytest.mark.parametrize('style', [{'band': -1}, {'bands': []}, '{"bands": []}'])
def test_default_style_requests_on_uint8_rgb(rgb_tiled, style):
    """The default style of a red/green/blue uint8 raster: each band on its ramp, 'auto' 0..255."""
    tile = geolargeimage.open(rgb_tiled, style=style).getTile(1, 1, 2, numpyAllowed=True)
    assert tile.dtype == np.float32 and tile.shape == (256, 256, 4)
    raw = rgb_raw()[256:512, 256:512]
    close(tile[:, :, :3], raw)
    assert (tile[:, :, 3] == 255).all()


@pytest.mark.parametrize('style', [{'band': -1}, {'bands': []}])
def test_default_style_of_uint16_stretches_to_the_band_range(gradient16, style):
    source = geolargeimage.open(gradient16, style=style)
    tile = source.getTile(1, 0, 2, numpyAllowed=True)
    width, height = GRADIENT_SIZE
    raw = gradient_values(width, height)[0:256, 256:512]
    close(tile[:, :, 0], normal(raw, GRADIENT_MIN, GRADIENT_MAX) * 255)


@pytest.mark.parametrize('fixture', ['rgb_tiled', 'gradient16', 'uint16_rgb', 'rgb_sample'])
def test_unstyled_picture_is_the_default_style_picture(fixture, request):
    """style=None keeps numpy raw, but its picture is large_image's default style, which
    {'band': -1} asks for explicitly: both PNG tiles show the same colours."""
    path = RGB_SAMPLE if fixture == 'rgb_sample' else request.getfixturevalue(fixture)
    plain = picture(geolargeimage.open(path, encoding='PNG').getTile(0, 0, 0))
    default = picture(geolargeimage.open(path, encoding='PNG', style={'band': -1}).getTile(0, 0, 0))
    if plain.ndim == 2:
        plain = plain[:, :, None]
    if default.ndim == 2:
        default = default[:, :, None]
    colours = 3 if plain.shape[2] >= 3 and default.shape[2] >= 3 else 1
    assert plain.shape[:2] == default.shape[:2]
    difference = np.abs(plain[:, :, :colours].astype(int) - default[:, :, :colours])
    assert difference.max() <= 1, \
        f'{difference.max()} levels apart at {(difference > 1).sum()} values'


@pytest.mark.parametrize('style', [None, {}, '', '{}', {'icc': False}])
def test_none_and_empty_styles_give_raw_data(uint16_rgb, style):
    source = geolargeimage.open(uint16_rgb, style=style)
    assert source.style is None
    tile = source.getTile(0, 0, 1, numpyAllowed=True)
    assert tile.dtype == np.uint16 and tile.shape == (256, 256, 3)
    np.testing.assert_array_equal(tile, formula(400, 300, 3, 'uint16')[:256, :256] * UINT16_FACTOR)
    data, _ = source.getRegion(format='numpy')
    assert data.dtype == np.uint16 and data.shape == (300, 400, 3)


# -- statistics: one set per frame, shared by tiles, thumbnails and regions -----------------------

@pytest.mark.parametrize('limits', [('min', 'max'), ('auto', 'auto')])
def test_limits_use_the_frame_statistics_everywhere(gradient16, limits):
    """Tile (1, 1) alone spans 1000 + 10·256 + 20·256 upward; its pixels still use the raster's
    min/max, as do the thumbnail and a scaled region (styled from their own raw reads)."""
    low, high = limits
    style = {'min': low, 'max': high, 'palette': '#0f0'}
    source = geolargeimage.open(gradient16, style=style, noCache=True)
    width, height = GRADIENT_SIZE
    values = gradient_values(width, height)
    tile = source.getTile(1, 1, 2, numpyAllowed=True)  # first read: no statistics yet
    raw_tile = values[256:400, 256:512]
    assert raw_tile.min() > GRADIENT_MIN and raw_tile.max() < GRADIENT_MAX
    close(tile[:144, :256], ramp(normal(raw_tile, GRADIENT_MIN, GRADIENT_MAX), 1))
    thumbnail, _ = source.getThumbnail(width=200, format='numpy')
    raw_thumbnail, _ = source.getThumbnail(width=200, format='numpy', style={})
    close(thumbnail, ramp(normal(raw_thumbnail[:, :, 0], GRADIENT_MIN, GRADIENT_MAX), 1))
    region = dict(left=300, top=100, right=600, bottom=400)
    styled_region, _ = source.getRegion(region=region, output=dict(maxWidth=100), format='numpy')
    raw_region, _ = source.getRegion(region=region, output=dict(maxWidth=100), format='numpy',
                                     style={})
    assert styled_region.shape == (100, 100, 4)
    close(styled_region, ramp(normal(raw_region[:, :, 0], GRADIENT_MIN, GRADIENT_MAX), 1))
    pixel = source.getPixel(region=dict(left=10, top=10))
    close(pixel['value'], [0, normal(1300, GRADIENT_MIN, GRADIENT_MAX) * 255, 0, 255])
    band = source.getBandInformation(statistics=True)[1]
    assert (band['min'], band['max']) == (GRADIENT_MIN, GRADIENT_MAX)


def test_uint8_auto_keeps_0_to_255(rgb_tiled):
    tile = geolargeimage.open(rgb_tiled, style={'band': 3, 'palette': '#00f'}).getTile(
        0, 0, 2, numpyAllowed=True)
    close(tile, ramp(rgb_raw()[:256, :256, 2] / 255, 2))


def test_min_max_are_per_frame(ome_channels):
    source = geolargeimage.open(ome_channels, style={'min': 'min', 'max': 'max', 'palette': '#0f0'})
    width, height = OME_SIZE
    for frame in range(3):
        low, high = frame * 1000, frame * 1000 + width + height - 2
        band = source.getBandInformation(statistics=True, frame=frame)[1]
        assert (band['min'], band['max']) == (low, high)
        data, _ = source.getRegion(frame=frame, format='numpy')
        close(data, ramp(normal(ome_plane(frame), low, high), 1))
        tile = source.getTile(1, 1, source.levels - 1, numpyAllowed=True, frame=frame)
        close(tile[:244], ramp(normal(ome_plane(frame)[256:500, 256:512], low, high), 1))


# -- frames: false colour, pinning, framedelta ---------------------------------------------------

#: Frames 2, 0, 1 of the OME-TIFF into red, green, blue, each stretched from 0 to 3000.
OME_FALSE_COLOUR = {'bands': [
    {'frame': 2, 'min': 0, 'max': 3000, 'palette': '#f00'},
    {'frame': 0, 'min': 0, 'max': 3000, 'palette': '#0f0'},
    {'frame': 1, 'min': 0, 'max': 3000, 'palette': '#00f'},
]}


def ome_false_colour(rows=slice(None), cols=slice(None)) -> np.ndarray:
    red, green, blue = (ome_plane(f)[rows, cols] / 3000 * 255 for f in (2, 0, 1))
    return np.stack([red, green, blue, np.full(red.shape, 255.0)], axis=2)


def test_false_colour_composite_of_ome_frames(ome_channels):
    source = geolargeimage.open(ome_channels, style=OME_FALSE_COLOUR, encoding='PNG')
    data, _ = source.getRegion(format='numpy')
    assert data.dtype == np.float32 and data.shape == OME_SIZE[::-1] + (4,)
    close(data, ome_false_colour())
    tile = source.getTile(1, 1, source.levels - 1, numpyAllowed=True)
    assert tile.shape == (256, 256, 4)  # rows 500.. pad the edge tile
    close(tile[:244], ome_false_colour(slice(256, 500), slice(256, 512)))
    np.testing.assert_array_equal(picture(source.getRegion(encoding='PNG')[0]),
                                  clip_truncate(data))
    np.testing.assert_array_equal(picture(source.getTile(1, 1, source.levels - 1))[:244],
                                  clip_truncate(tile)[:244])


def test_false_colour_composite_of_multipage_tiff_bands(multipage_rgb):
    """One band of each page: page 0's red, page 1's green, page 2's blue (uint8: 'auto' is
    0..255)."""
    style = {'bands': [{'frame': 0, 'band': 1, 'palette': '#f00'},
                       {'frame': 1, 'band': 2, 'palette': '#0f0'},
                       {'frame': 2, 'band': 3, 'palette': '#00f'}]}
    source = geolargeimage.open(multipage_rgb, style=style)
    width, height = MULTIPAGE_SIZE
    expected = np.stack([multipage_values(page, width, height)[:, :, page] for page in range(3)]
                        + [np.full((height, width), 255)], axis=2)
    data, _ = source.getRegion(format='numpy')
    close(data, expected)
    pixel = source.getPixel(region=dict(left=123, top=45))
    close(pixel['value'], expected[45, 123])


def test_a_style_whose_entries_all_name_frames_pins_the_frame(ome_channels):
    source = geolargeimage.open(ome_channels, style=OME_FALSE_COLOUR)
    regions = [source.getRegion(format='numpy', frame=frame, region=dict(
        left=300, top=200, width=150, height=100))[0] for frame in range(3)]
    for region in regions:
        close(region, ome_false_colour(slice(200, 300), slice(300, 450)))
    top = source.levels - 1
    tiles = [source.getTile(0, 1, top, numpyAllowed=True, frame=frame) for frame in range(3)]
    np.testing.assert_array_equal(tiles[0], tiles[1])
    np.testing.assert_array_equal(tiles[0], tiles[2])
    thumbnails = [source.getThumbnail(format='numpy', frame=frame)[0] for frame in (0, 2)]
    np.testing.assert_array_equal(*thumbnails)


def test_entries_without_a_frame_follow_the_requested_frame(ome_channels):
    style = {'bands': [{'frame': 0, 'min': 0, 'max': 3000, 'palette': '#f00'},
                       {'min': 0, 'max': 3000, 'palette': '#0f0'}]}
    source = geolargeimage.open(ome_channels, style=style)
    for frame in range(3):
        data, _ = source.getRegion(format='numpy', frame=frame)
        close(data[:, :, 0], ome_plane(0) / 3000 * 255)
        close(data[:, :, 1], ome_plane(frame) / 3000 * 255)


def test_framedelta_reads_a_frame_relative_to_the_requested_one(ome_channels):
    style = {'bands': [{'min': 0, 'max': 3000, 'palette': '#f00'},
                       {'framedelta': 1, 'min': 0, 'max': 3000, 'palette': '#0f0'}]}
    source = geolargeimage.open(ome_channels, style=style)
    for frame in (0, 1):
        data, _ = source.getRegion(format='numpy', frame=frame)
        close(data[:, :, 0], ome_plane(frame) / 3000 * 255)
        close(data[:, :, 1], ome_plane(frame + 1) / 3000 * 255)
        assert (data[:, :, 2] == 0).all() and (data[:, :, 3] == 255).all()
    with pytest.raises((ValueError, TileSourceError), match='frame 3'):
        source.getRegion(format='numpy', frame=2)


def test_framedelta_with_min_max_uses_the_other_frame_s_statistics(ome_channels):
    style = {'bands': [{'framedelta': 1, 'min': 'min', 'max': 'max', 'palette': '#0f0'}]}
    data, _ = geolargeimage.open(ome_channels, style=style).getRegion(format='numpy', frame=1)
    width, height = OME_SIZE
    close(data, ramp(normal(ome_plane(2), 2000, 2000 + width + height - 2), 1))


# -- nodata, clamp and alpha ---------------------------------------------------------------------

def dem_blue_red(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """['#0000ff', '#ff0000'] at (values − low) / (high − low): red n·255 (unclipped, from 0),
    blue interpolated 255 → 0 (clamped), alpha 255."""
    n = normal(values, low, high)
    return np.stack([n * 255, np.zeros(n.shape), np.interp(n, [0, 1], [255, 0]),
                     np.full(n.shape, 255.0)], axis=2)


@pytest.mark.parametrize('nodata', ['auto', -9999])
def test_nodata_pixels_are_transparent_and_left_out_of_the_statistics(dem_float32, nodata):
    style = {'min': 'min', 'max': 'max', 'palette': ['#0000ff', '#ff0000'], 'nodata': nodata}
    source = geolargeimage.open(dem_float32, style=style, encoding='PNG')
    values = dem_values(600, 400)[:, :, 0]
    low, high = 0.25, 250.25  # the formula's range; -9999 is not a value
    band = source.getBandInformation(statistics=True)[1]
    assert (band['min'], band['max']) == (low, high)
    data, _ = source.getRegion(format='numpy')
    expected = dem_blue_red(values, low, high)
    expected[DEM_NODATA_ROWS, DEM_NODATA_COLS] = 0
    close(data, expected)
    png = picture(source.getRegion(encoding='PNG')[0])
    assert (png[DEM_NODATA_ROWS, DEM_NODATA_COLS, 3] == 0).all()
    assert (png[:100, :, 3] == 255).all()
    assert source.getPixel(region=dict(left=250, top=120))['a'] == 0


def test_without_nodata_in_the_style_the_value_is_styled(dem_float32):
    """An entry masks only the nodata it names; -9999 still stays out of the statistics."""
    style = {'min': 'min', 'max': 'max', 'palette': ['#0000ff', '#ff0000']}
    data, _ = geolargeimage.open(dem_float32, style=style).getRegion(
        region=dict(left=200, top=100, width=100, height=50), format='numpy')
    close(data, dem_blue_red(np.full((50, 100), -9999.0), 0.25, 250.25), atol=1e-2)


def test_clamp_false_masks_values_outside_min_max(rgb_tiled):
    style = {'band': 1, 'min': 50, 'max': 100, 'clamp': False, 'palette': '#f00'}
    tile = geolargeimage.open(rgb_tiled, style=style).getTile(0, 0, 2, numpyAllowed=True)
    raw = rgb_raw()[:256, :256, 0].astype(float)
    expected = ramp(normal(raw, 50, 100), 0)
    expected[(raw < 50) | (raw > 100)] = 0
    close(tile, expected)


def test_alpha_band_multiplies(rgba):
    style = {'bands': [{'band': 'red', 'palette': '#f00'}, {'band': 'green', 'palette': '#0f0'},
                       {'band': 'blue', 'palette': '#00f'}, {'band': 'alpha'}]}
    source = geolargeimage.open(rgba, style=style, encoding='PNG')
    data, _ = source.getRegion(format='numpy')
    raw = rgba_values(500, 400)
    close(data, raw)
    png = picture(source.getRegion(encoding='PNG')[0])
    np.testing.assert_array_equal(png, raw)
    assert (png[:, :125, 3] == 0).all() and (png[:, 125:, 3] == 255).all()


# -- output dtype and axis ------------------------------------------------------------------------

@pytest.mark.parametrize('dtype, numpy_dtype, scale', [
    ('uint8', np.uint8, None), ('uint16', np.uint16, 65535 / 255), ('float', np.float32, 1 / 255),
    ('source', np.uint16, 65535 / 255)])
def test_style_dtype(uint16_rgb, dtype, numpy_dtype, scale):
    style = {'band': 1, 'min': 0, 'max': 50000, 'palette': '#f00', 'dtype': dtype}
    data, _ = geolargeimage.open(uint16_rgb, style=style).getRegion(format='numpy')
    assert data.dtype == numpy_dtype
    red = normal(formula(400, 300, 1, 'uint16')[:, :, 0] * UINT16_FACTOR, 0, 50000) * 255
    if scale is None:
        close(data[:, :, 0], np.clip(red, 0, 255).astype(np.uint8))
    elif numpy_dtype == np.uint16:
        close(data[:, :, 0], np.clip(red * scale, 0, 65535).astype(np.uint16), atol=1)
        assert (data[:, :, 3] == 65535).all()
    else:
        close(data[:, :, 0], red * scale, atol=1e-5)


def test_style_axis_keeps_one_channel(rgb_tiled):
    style = dict(BAND2, axis=1)
    tile = geolargeimage.open(rgb_tiled, style=style).getTile(1, 1, 2, numpyAllowed=True)
    assert tile.shape == (256, 256, 1)
    close(tile[:, :, 0], band2_expected(rgb_raw()[256:512, 256:512])[:, :, 1])


# -- the worked examples of §9/§13 on rgb_geotiff.tiff -------------------------------------------

@pytest.mark.parametrize('style, value', [
    ({'band': 1, 'min': 0, 'max': 100, 'palette': THREE_STOPS}, [61.2, 193.8, 0, 255]),
    ({'band': 1, 'min': 0, 'max': 100, 'palette': THREE_STOPS, 'scheme': 'discrete'},
     [0, 255, 0, 255]),
    ({'band': 1, 'min': 0, 'max': 30, 'clamp': False}, [0, 0, 0, 0]),
    ({'band': 1, 'nodata': 62}, [0, 0, 0, 0]),
    ({'palette': '#f00', 'dtype': 'uint16'}, [16929, 0, 0, 65535]),
])
def test_sample_pixel_examples(style, value):
    pixel = geolargeimage.open(RGB_SAMPLE, style=style).getPixel(region=SAMPLE_PIXEL)
    close(pixel['value'], value, atol=1e-3)
    assert pixel['bands'] == {1: 62.0, 2: 65.0, 3: 66.0}


@pytest.mark.parametrize('palette, rgba', [('matplotlib.Plasma_6', (247, 156, 60, 255)),
                                           (THREE_STOPS, (137, 117, 0, 255))])
def test_projected_sample_pixel_examples(palette, rgba):
    style = {'band': 1, 'min': 0, 'max': 100, 'palette': palette}
    source = geolargeimage.open(RGB_SAMPLE, projection='EPSG:3857', style=json.dumps(style))
    pixel = source.getPixel(region=SAMPLE_3857)
    assert tuple(pixel[key] for key in 'rgba') == rgba
    assert pixel['bands'] == {1: 77.0, 2: 82.0, 3: 84.0}


VIRIDIS_BAND1 = {'band': 1, 'min': 0, 'max': 100, 'palette': 'viridis'}


def test_projected_styled_tile_is_transparent_outside_the_data_png():
    """§13: pixel [0, 0] of tile (22, 51, 7) is [68, 1, 84, 0] in large_image — viridis' first
    colour, but transparent, as it lies north of the raster (the raw warp's alpha is 0 there).
    What matters is the alpha: transparent exactly where the warp has no data."""
    raw = geolargeimage.open(RGB_SAMPLE, projection='EPSG:3857', style={}).getTile(
        *OUTSIDE_TILE, numpyAllowed=True)
    assert raw[0, 0, 3] == 0 and raw[128, 128, 3] > 0
    source = geolargeimage.open(RGB_SAMPLE, projection='EPSG:3857', style=VIRIDIS_BAND1,
                                encoding='PNG')
    png = picture(source.getTile(*OUTSIDE_TILE))
    assert png[128, 128, 3] == 255
    assert png[0, 0, 3] == 0
    assert ((png[:, :, 3] == 0) == (raw[:, :, 3] == 0)).all()


def test_projected_styled_numpy_tile_is_transparent_outside_the_data():
    raw = geolargeimage.open(RGB_SAMPLE, projection='EPSG:3857', style={}).getTile(
        *OUTSIDE_TILE, numpyAllowed=True)
    tile = geolargeimage.open(RGB_SAMPLE, projection='EPSG:3857', style=VIRIDIS_BAND1).getTile(
        *OUTSIDE_TILE, numpyAllowed=True)
    assert tile[128, 128, 3] == 255
    assert ((tile[:, :, 3] == 0) == (raw[:, :, 3] == 0)).all()


def test_projected_styled_thumbnail_is_transparent_outside_the_data():
    raw, _ = geolargeimage.open(RGB_SAMPLE, projection='EPSG:3857').getThumbnail(format='numpy')
    styled, _ = geolargeimage.open(RGB_SAMPLE, projection='EPSG:3857',
                                   style=VIRIDIS_BAND1).getThumbnail(format='numpy')
    outside = raw[:, :, 3] == 0
    assert outside.any() and styled.shape == raw.shape
    assert (styled[:, :, 3][outside] == 0).all()


# -- the style property ---------------------------------------------------------------------------

def test_style_setter_on_an_uncached_source_takes_effect(rgb_tiled):
    source = geolargeimage.open(rgb_tiled, noCache=True)
    region = dict(left=0, top=0, width=200, height=100)
    assert source.getRegion(region=region, format='numpy')[0].dtype == np.uint8
    thumbnail = source.getThumbnail(encoding='PNG')[0]
    source.style = BAND2
    assert source.style == BAND2
    close(source.getRegion(region=region, format='numpy')[0], band2_expected(rgb_raw()[:100, :200]))
    close(source.getTile(1, 1, 2, numpyAllowed=True), band2_expected(rgb_raw()[256:512, 256:512]))
    close(source.getPixel(region=dict(left=5, top=6))['value'],
          band2_expected(rgb_raw()[6:7, 5:6])[0, 0])
    assert source.getThumbnail(encoding='PNG')[0] != thumbnail
    source.style = json.dumps(RED2)
    close(source.getRegion(region=region, format='numpy')[0], red2_expected(rgb_raw()[:100, :200]))
    source.style = None
    assert source.style is None
    np.testing.assert_array_equal(source.getRegion(region=region, format='numpy')[0],
                                  rgb_raw()[:100, :200])
    assert source.getThumbnail(encoding='PNG')[0] == thumbnail


def test_style_setter_on_a_shared_source_raises(rgb_tiled):
    source = geolargeimage.open(rgb_tiled, style=BAND2)
    with pytest.raises(TileSourceError, match='noCache'):
        source.style = RED2
    assert source.style == BAND2
    close(source.getTile(1, 1, 2, numpyAllowed=True), band2_expected(rgb_raw()[256:512, 256:512]))


def test_a_rejected_style_leaves_the_source_as_it_was(rgb_tiled):
    source = geolargeimage.open(rgb_tiled, style=BAND2, noCache=True)
    with pytest.raises((ValueError, TileSourceError), match='500'):
        source.style = {'band': 500}
    close(source.getTile(1, 1, 2, numpyAllowed=True), band2_expected(rgb_raw()[256:512, 256:512]))
    assert source.style == BAND2


def test_sources_opened_with_different_styles_are_different(rgb_tiled):
    first = geolargeimage.open(rgb_tiled, style=BAND2)
    assert geolargeimage.open(rgb_tiled, style=BAND2) is first
    second = geolargeimage.open(rgb_tiled, style=RED2)
    assert second is not first and second.style == RED2 and first.style == BAND2


# -- bad styles: clear errors at open -------------------------------------------------------------

@pytest.mark.parametrize('style, named', [
    ('{"band": 1', '{"band": 1'),                            # not JSON
    ('["style"]', 'style'),                                  # JSON, but a list
    (['style'], 'style'),
    (42, '42'),
    ({'band': 1, 'colour': 'red'}, 'colour'),                # unknown key
    ({'bands': [{'band': 1, 'minimum': 0}]}, 'minimum'),
    ({'band': 500}, '500'),                                  # no such band
    ({'bands': [{'band': 1}, {'band': 4}]}, '4'),
    ({'band': 'nir'}, 'nir'),                                # no band so interpreted
    ({'band': 1.5}, '1.5'),
    ({'palette': 'nonexistent.palette'}, 'nonexistent.palette'),
    ({'palette': ['#zzzzzz', '#fff']}, '#zzzzzz'),
    ({'scheme': 'wavy'}, 'wavy'),
])
def test_bad_styles_raise_at_open_naming_the_value(rgb_tiled, style, named):
    with pytest.raises((ValueError, TileSourceError), match=re.escape(named)):
        geolargeimage.open(rgb_tiled, style=style)
    assert not geolargeimage.canRead(rgb_tiled, style=style)


@pytest.mark.parametrize('style', [{'frame': 9}, {'bands': [{'frame': 0}, {'frame': 9}]}])
def test_a_style_frame_the_source_lacks_raises_at_open(ome_channels, style):
    with pytest.raises((ValueError, TileSourceError), match='9'):
        geolargeimage.open(ome_channels, style=style)


def test_a_bad_per_call_style_raises(rgb_tiled):
    source = geolargeimage.open(rgb_tiled)
    with pytest.raises((ValueError, TileSourceError), match='500'):
        source.getRegion(format='numpy', style={'band': 500})
    with pytest.raises((ValueError, TileSourceError), match='nir'):
        source.tileIterator(style={'band': 'nir'})
    with pytest.raises((ValueError, TileSourceError), match='nonexistent'):
        source.getThumbnail(style={'palette': 'nonexistent.palette'})


@pytest.mark.parametrize('fixture, projection', [('rgba', None), ('rgb_tiled', 'EPSG:3857')])
def test_raw_rgba_pictures_equal_the_default_style_alpha_included(fixture, projection, request):
    """8-bit RGBA (and RGB warped with an alpha band) skips the default style's work: the
    picture must still be exactly what the default style gives, alpha included."""
    import mercantile
    path = request.getfixturevalue(fixture)
    kwargs = {'encoding': 'PNG', 'projection': projection}
    plain = geolargeimage.open(path, noCache=True, **kwargs)
    styled = geolargeimage.open(path, noCache=True, style={'band': -1}, **kwargs)
    tiles = [(0, 0, plain.levels - 1)]
    if projection:
        bounds = plain.getBounds('EPSG:4326')
        centre = mercantile.tile((bounds['xmin'] + bounds['xmax']) / 2,
                                 (bounds['ymin'] + bounds['ymax']) / 2, plain.levels - 2)
        tiles = [(centre.x, centre.y, centre.z), (centre.x + 1, centre.y + 1, centre.z)]
    opaque = 0
    for x, y, z in tiles:
        a, b = picture(plain.getTile(x, y, z)), picture(styled.getTile(x, y, z))
        assert a.shape == b.shape and a.shape[2] == 4
        assert np.abs(a.astype(int) - b).max() <= 1
        opaque += (a[:, :, 3] == 255).sum()
    assert opaque > 1000
