"""Extreme and bad values (issue 12, items 4, 7 and 9).

* Valid float rasters whose values span ±3.4e38 (all of float32) render: the statistics and the
  stretch are computed in float64, and tiles and thumbnails are the linear stretch min..max.
* ``output`` maxWidth/maxHeight that are not whole numbers from 1 to 2³¹−1 (NaN, ±inf, 0,
  negatives, bools, fractions, huge) raise OptionsError naming the value.
* A style ``min``/``max`` that is not a limit, and a style band below -1, raise OptionsError
  naming the value and the valid choices; config ``lenient_styles`` restores large_image's
  warning and 'auto' (and its default style for such a band).
"""

from __future__ import annotations

import io
import math
import re

import numpy as np
import pytest
from factory import make_raster
from PIL import Image

import geolargeimage
from geolargeimage import config, errors

FLOAT32_MAX = float(np.finfo(np.float32).max)
WIDTH, HEIGHT = 300, 200


def decode(data: bytes) -> np.ndarray:
    picture = np.asarray(Image.open(io.BytesIO(data)))
    return picture if picture.ndim == 3 else picture[:, :, None]


def stretch(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """large_image's linear stretch onto 0..255, truncated, computed in float64."""
    normal = (values.astype(np.float64) - low) / (high - low)
    return np.clip(normal * 255, 0, 255).astype(np.uint8)


@pytest.fixture
def lenient():
    config.setConfig('lenient_styles', True)
    yield
    config.setConfig('lenient_styles', None)


# -- item 4: float values spanning all of float32 ------------------------------------------------

@pytest.fixture(scope='module')
def full_range(tmp_path_factory):
    """float32 rising along each row from -FLOAT32_MAX (column 0) to +FLOAT32_MAX (the last)."""
    ramp = np.linspace(-FLOAT32_MAX, FLOAT32_MAX, WIDTH).astype(np.float32)
    values = np.broadcast_to(ramp, (HEIGHT, WIDTH))[:, :, None].copy()
    path = make_raster(tmp_path_factory.mktemp('range') / 'full_range.tif', WIDTH, HEIGHT, 1,
                       dtype='float32', data=values)
    return path, values


def test_statistics_of_the_whole_float32_range(full_range):
    path, values = full_range
    band = geolargeimage.open(path, noCache=True).getBandInformation(statistics=True)[1]
    assert (band['min'], band['max']) == (-FLOAT32_MAX, FLOAT32_MAX)
    assert all(math.isfinite(band[key]) for key in ('mean', 'stdev'))
    assert band['mean'] == pytest.approx(float(values.astype(np.float64).mean()), abs=1e32)
    assert band['stdev'] == pytest.approx(float(values.astype(np.float64).std()), rel=1e-6)


def test_an_encoded_tile_of_the_whole_float32_range_is_the_linear_stretch(full_range):
    path, values = full_range
    source = geolargeimage.open(path, noCache=True, encoding='PNG')
    tile = decode(source.getTile(0, 0, source.levels - 1))
    expected = stretch(values[:, :256, 0], -FLOAT32_MAX, FLOAT32_MAX)
    assert tile.shape[:2] == (256, 256)
    assert np.abs(tile[:HEIGHT, :, 0].astype(int) - expected).max() <= 1
    assert tile[0, 0, 0] == 0 and tile[0, 128, 0] in (109, 110)


def test_a_thumbnail_of_the_whole_float32_range_is_the_linear_stretch(full_range):
    path, values = full_range
    data, mime = geolargeimage.open(path, noCache=True).getThumbnail(width=150, encoding='PNG')
    thumbnail = decode(data)
    assert mime == 'image/png' and thumbnail.shape[:2] == (100, 150)
    # Each thumbnail pixel averages 2x2 pixels; rows are equal.
    averaged = values[::2, :, 0].astype(np.float64).reshape(100, 150, 2).mean(axis=2)
    expected = stretch(averaged, -FLOAT32_MAX, FLOAT32_MAX)
    assert np.abs(thumbnail[:, :, 0].astype(int) - expected).max() <= 1
    assert thumbnail[:, :, 0].min() == 0 and thumbnail[:, :, 0].max() >= 254


def test_a_style_with_explicit_extreme_limits(full_range):
    path, values = full_range
    style = {'band': 1, 'min': -FLOAT32_MAX, 'max': FLOAT32_MAX, 'palette': ['#000', '#f00']}
    region, _ = geolargeimage.open(path, noCache=True).getRegion(style=style, format='numpy')
    expected = ((values[:, :, 0].astype(np.float64) + FLOAT32_MAX) / (2 * FLOAT32_MAX)) * 255
    assert np.allclose(region[:, :, 0], expected, atol=1e-3)


@pytest.mark.parametrize('value', [1e38, -FLOAT32_MAX, 3e38])
def test_a_constant_raster_of_a_huge_value_renders(tmp_path, value):
    values = np.full((HEIGHT, WIDTH, 1), value, np.float32)
    path = make_raster(tmp_path / 'constant.tif', WIDTH, HEIGHT, 1, dtype='float32', data=values)
    source = geolargeimage.open(path, noCache=True, encoding='PNG')
    assert decode(source.getTile(0, 0, 0)).shape[:2] == (256, 256)
    assert source.getBandInformation(statistics=True)[1]['min'] == float(np.float32(value))


# -- item 7: output sizes ------------------------------------------------------------------------

BAD_SIZES = [math.nan, np.float64('nan'), math.inf, -math.inf, np.float32('inf'), -1, 0, 0.0,
             True, False, np.bool_(True), 1e30, 10**30, 2**31, 2.5, np.float64(7.25)]


@pytest.mark.parametrize('key', ['maxWidth', 'maxHeight'])
@pytest.mark.parametrize('value', BAD_SIZES, ids=repr)
def test_a_bad_output_size_is_an_options_error_naming_it(tmp_path_factory, full_range, key,
                                                         value):
    source = geolargeimage.open(full_range[0], noCache=True)
    pattern = f'output {key} .*1 to 2147483647, not {re.escape(repr(value))}'
    with pytest.raises(errors.OptionsError, match=pattern):
        source.getRegion(output={key: value}, format='numpy')
    with pytest.raises(errors.OptionsError, match=pattern):
        source.tileIterator(output={key: value}, format='numpy')


@pytest.mark.parametrize('value', [1, 150, 150.0, np.int32(150), np.float64(150)], ids=repr)
def test_whole_output_sizes_are_accepted(full_range, value):
    data, _ = geolargeimage.open(full_range[0], noCache=True).getRegion(
        output={'maxWidth': value}, format='numpy')
    assert data.shape[1] == int(value)


# -- item 9: bad style values --------------------------------------------------------------------

@pytest.fixture(scope='module')
def gray(tmp_path_factory):
    return make_raster(tmp_path_factory.mktemp('gray') / 'gray.tif', WIDTH, HEIGHT, 1)


LIMIT_CHOICES = "a number, 'auto', 'min', 'max', 'full'"


@pytest.mark.parametrize('style, bad', [
    ({'min': 'banana'}, "min value 'banana'"),
    ({'band': 1, 'max': 'banana'}, "max value 'banana'"),
    ({'bands': [{'band': 1, 'min': 'min:2'}]}, "min value 'min:2'"),
    ({'band': 1, 'max': math.nan}, 'max value nan'),
    ({'band': 1, 'min': True}, 'min value True'),
])
def test_a_bad_style_limit_is_an_options_error(gray, style, bad):
    source = geolargeimage.open(gray, noCache=True)
    for call in (lambda: source.getRegion(style=style, format='numpy'),
                 lambda: source.getPixel(region={'left': 1, 'top': 1}, style=style),
                 lambda: geolargeimage.open(gray, noCache=True, style=style).getTile(0, 0, 0)):
        with pytest.raises(errors.OptionsError) as caught:
            call()
        assert bad in str(caught.value) and LIMIT_CHOICES in str(caught.value)


@pytest.mark.parametrize('style', [{'band': -7}, {'bands': [{'band': -7}]}, {'band': -2},
                                   {'bands': [{'band': 1}, {'band': -7}]}])
def test_a_style_band_below_minus_one_is_an_options_error(gray, style):
    source = geolargeimage.open(gray, noCache=True)
    message = r'Band has to be a positive integer, -1, or a band interpretation.*not -[27]'
    with pytest.raises(errors.OptionsError, match=message):
        source.getRegion(style=style, format='numpy')
    with pytest.raises(errors.OptionsError, match=message):
        geolargeimage.open(gray, noCache=True, style=style).getTile(0, 0, 0)


@pytest.mark.parametrize('band', [-1, 0])
def test_band_minus_one_and_zero_still_ask_for_the_default_style(gray, band):
    source = geolargeimage.open(gray, noCache=True, encoding='PNG')
    default = geolargeimage.open(gray, noCache=True, encoding='PNG').getTile(0, 0, 1)
    styled = geolargeimage.open(gray, noCache=True, encoding='PNG', style={'band': band})
    assert styled.getTile(0, 0, 1) == default
    assert source.getRegion(style={'band': band}, format='numpy')[0].shape[:2] == (HEIGHT, WIDTH)


def test_lenient_styles_take_a_bad_limit_as_auto_with_a_warning(gray, lenient):
    source = geolargeimage.open(gray, noCache=True)
    with pytest.warns(UserWarning, match='''min value 'banana' is not valid; using "auto"'''):
        bad, _ = source.getRegion(style={'band': 1, 'min': 'banana'}, format='numpy')
    auto, _ = source.getRegion(style={'band': 1, 'min': 'auto'}, format='numpy')
    assert np.array_equal(bad, auto)


def test_lenient_styles_take_a_band_below_minus_one_as_the_default(gray, lenient):
    source = geolargeimage.open(gray, noCache=True)
    seven, _ = source.getRegion(style={'band': -7}, format='numpy')
    default, _ = source.getRegion(style={'band': -1}, format='numpy')
    assert np.array_equal(seven, default)


def test_lenient_styles_is_read_from_the_environment(gray, monkeypatch):
    monkeypatch.setenv('GEOLARGEIMAGE_LENIENT_STYLES', 'true')
    with pytest.warns(UserWarning, match='using "auto"'):
        geolargeimage.open(gray, noCache=True).getRegion(style={'max': 'x'}, format='numpy')
    monkeypatch.setenv('GEOLARGEIMAGE_LENIENT_STYLES', 'false')
    with pytest.raises(errors.OptionsError, match="max value 'x'"):
        geolargeimage.open(gray, noCache=True).getRegion(style={'max': 'x'}, format='numpy')
