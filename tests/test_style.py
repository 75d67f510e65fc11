"""The style engine (pure numpy): parsing, palettes, limits, the §9 pipeline and its numbers.

The worked examples are large_image's own [run] facts for rgb_geotiff's pixel (212, 198), whose raw
values are (62, 65, 66) in a uint16 raster; here the pixel is rebuilt from those numbers.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from geolargeimage import config
from geolargeimage.errors import OptionsError
from geolargeimage.picture.band_stats import BandStats
from geolargeimage.picture.palettes import parse_palette
from geolargeimage.picture.style import (
    BandStyle,
    Composite,
    OutputDtype,
    Scheme,
    Style,
    check_style,
    default_style,
    parse_style,
)
from geolargeimage.picture.styling import apply_style, resolve_limits, to_uint8

RGB = ['red', 'green', 'blue']


def render(style, frames, *, interpretations=None, stats=None, frame=0, dtype=None):
    """Style ``frames`` (a list of frames, each a list of 2-D bands) as the facade would.

    ``stats`` maps (frame, band) → BandStats; by default each band's own values are sampled.
    """
    if isinstance(style, (dict, str)):
        style = parse_style(style)
    band_count = len(frames[0])
    dtype = np.dtype(dtype or frames[0][0].dtype)
    sampled = {(f, b): BandStats.from_values(frames[f][b]) for f in range(len(frames))
               for b in range(band_count)}
    sampled.update(stats or {})
    return apply_style(style, lambda f, b: frames[f][b], frame=frame, band_count=band_count,
                       interpretations=interpretations or ['gray'] * band_count, dtype=dtype,
                       stats=lambda f, b: sampled.get((f, b)), frame_count=len(frames))


def pixel(values, dtype=np.uint16):
    """One frame of 1×1 bands with these raw values."""
    return [[np.array([[v]], dtype=dtype) for v in values]]


# rgb_geotiff's sampled band ranges: exact (scan) and GDAL's approximate statistics.
EXACT = {(0, 0): BandStats(0, 240), (0, 1): BandStats(0, 241), (0, 2): BandStats(0, 240)}
APPROX = {(0, 0): BandStats(0, 208), (0, 1): BandStats(0, 212), (0, 2): BandStats(0, 216)}
THREE_STOPS = ['#0000ff', '#00ff00', '#ff0000']


# -- the worked examples --------------------------------------------------------------------

def test_linear_palette_example():
    out = render({'band': 1, 'min': 0, 'max': 100, 'palette': THREE_STOPS}, pixel([62, 65, 66]),
                 interpretations=RGB, stats=EXACT)
    assert out.dtype == np.float32 and out.shape == (1, 1, 4)
    assert out[0, 0] == pytest.approx([61.2, 193.8, 0, 255], abs=1e-4)


def test_discrete_palette_example():
    out = render({'band': 1, 'min': 0, 'max': 100, 'palette': THREE_STOPS, 'scheme': 'discrete'},
                 pixel([62, 65, 66]), interpretations=RGB, stats=EXACT)
    assert out[0, 0].tolist() == [0, 255, 0, 255]


@pytest.mark.parametrize('style', [{'band': 1, 'min': 0, 'max': 30, 'clamp': False},
                                   {'band': 1, 'nodata': 62}])
def test_masked_pixel_is_all_zero(style):
    out = render(style, pixel([62, 65, 66]), interpretations=RGB, stats=EXACT)
    assert out[0, 0].tolist() == [0, 0, 0, 0]


def test_single_colour_with_uint16_dtype_example():
    out = render({'palette': '#f00', 'dtype': 'uint16'}, pixel([62, 65, 66]),
                 interpretations=RGB, stats=EXACT)
    assert out.dtype == np.uint16
    assert out[0, 0].tolist() == [16929, 0, 0, 65535]


def test_viridis_at_the_minimum():
    out = render({'band': 1, 'min': 0, 'palette': 'viridis'}, pixel([0, 9, 9]), interpretations=RGB,
                 stats=EXACT)
    assert to_uint8(out)[0, 0].tolist() == [68, 1, 84, 255]


def test_default_style_pixel_uses_the_approximate_statistics():
    style = default_style(RGB, [None] * 3, None)
    out = render(style, pixel([62, 65, 66]), interpretations=RGB, stats=APPROX)
    assert to_uint8(out)[0, 0].tolist() == [76, 78, 77, 255]


@pytest.mark.parametrize('palette, expected', [('matplotlib.Plasma_6', [247, 156, 60, 255]),
                                               (THREE_STOPS, [137, 117, 0, 255])])
def test_projected_pixel_examples(palette, expected):
    out = render({'band': 1, 'min': 0, 'max': 100, 'palette': palette}, pixel([77, 82, 84]),
                 interpretations=RGB, stats=EXACT)
    assert to_uint8(out)[0, 0].tolist() == expected


# -- parse_style ----------------------------------------------------------------------------

@pytest.mark.parametrize('value', [None, '', '  ', {}, '{}', {'icc': False}, '{"icc": true}'])
def test_raw_data_styles_parse_to_none(value):
    assert parse_style(value) is None


def test_json_text_and_dict_parse_alike():
    value = {'band': 2, 'min': 'min', 'max': '100', 'palette': ['#000', 'R'], 'scheme': 'Discrete',
             'nodata': '0', 'composite': 'MULTIPLY', 'clamp': False, 'dtype': 'UINT8', 'axis': 1}
    style = parse_style(json.dumps(value))
    assert style == parse_style(value)
    entry = style.bands[0]
    assert (entry.band, entry.min, entry.max, entry.nodata, entry.clamp) == (2, 'min', 100.0, 0.0,
                                                                              False)
    assert entry.scheme is Scheme.DISCRETE and entry.composite is Composite.MULTIPLY
    assert style.dtype is OutputDtype.UINT8 and style.dtype == 'uint8' and style.axis == 1
    assert entry.palette.tolist() == [[0, 0, 0, 255], [255, 0, 0, 255]]


def test_one_definition_equals_a_one_entry_list():
    assert parse_style({'band': 3, 'max': 7}) == parse_style({'bands': [{'band': 3, 'max': 7}]})


def test_defaults_of_an_entry():
    entry = parse_style({'band': 1}).bands[0]
    assert (entry.frame, entry.framedelta, entry.min, entry.max, entry.nodata) == (
        None, None, 'auto', 'auto', None)
    assert entry.palette.tolist() == [[0, 0, 0, 255], [255, 255, 255, 255]]
    assert entry.scheme is Scheme.LINEAR and entry.composite is Composite.LIGHTEN and entry.clamp
    alpha = parse_style({'band': 'alpha'}).bands[0]
    assert alpha.palette.tolist() == [[255, 255, 255, 0], [255, 255, 255, 255]]
    assert alpha.composite is Composite.MULTIPLY


def test_top_level_dtype_and_axis_win_over_the_first_entry_s():
    style = parse_style({'bands': [{'band': 1, 'dtype': 'float', 'axis': 2},
                                   {'band': 2, 'dtype': 'uint16', 'axis': 0}], 'dtype': 'source'})
    assert (style.dtype, style.axis) == (OutputDtype.SOURCE, 2)


@pytest.mark.parametrize('value', [{'bands': []}, {'band': -1}, {'band': 0}, '{"bands": []}',
                                   {'bands': [{'band': -1}], 'dtype': 'uint8'}])
def test_default_style_requests(value):
    assert parse_style(value) == Style((), is_default=True)


def test_band_minus_one_among_others_is_not_the_default_style():
    style = parse_style({'bands': [{'band': -1}, {'band': 1}]})
    assert not style.is_default and len(style.bands) == 2


def test_icc_is_accepted_and_ignored():
    assert parse_style({'band': 1, 'icc': True}) == parse_style({'band': 1})
    assert parse_style({'bands': [{'band': 1}], 'icc': 'perceptual', 'function': None}) \
        == parse_style({'bands': [{'band': 1}]})


@pytest.mark.parametrize('value, message', [
    ('{nope', 'not a valid json object'),
    ('["style"]', 'not a valid json object'),
    (['style'], 'not a valid json object'),
    (42, 'not a valid json object'),
    ({'band': 1, 'colour': 'red'}, r'Unknown style key\(s\) colour; valid keys: band, frame'),
    ({'bands': [{'band': 1}], 'min': 0}, r'Unknown style key\(s\) min; valid keys: bands, dtype'),
    ({'bands': [{'band': 1, 'pallete': 'red'}]}, r'Unknown style band key\(s\) pallete'),
    ({'bands': {'band': 1}}, 'must be a list of objects'),
    ({'band': 1, 'palette': 'nonexistent.palette'}, 'cannot be used as a color palette'),
    ({'band': 1.1}, 'Band has to be a positive integer, -1, or a band interpretation'),
    ({'band': True}, 'Band has to be a positive integer'),
    ({'band': 1, 'scheme': 'stepped'}, r"Invalid style scheme 'stepped'; valid choices: linear, "
                                        'discrete'),
    ({'band': 1, 'composite': 'screen'}, 'Invalid style composite .*lighten, multiply'),
    ({'band': 1, 'dtype': 'int8'}, 'Invalid style outputdtype .*uint8, uint16, float, source'),
    ({'band': 1, 'function': 'large_image.tilesource.stylefuncs.maskPixelValues'},
     'Style functions are not supported'),
    ({'bands': [{'band': 1, 'function': {'name': 'x.y'}}]}, 'Style functions are not supported'),
    ({'band': 1, 'frame': -2}, 'style frame must be an integer >= 0'),
    ({'band': 1, 'framedelta': 0.5}, 'style framedelta must be an integer'),
    ({'band': 1, 'axis': -1}, 'style axis must be an integer >= 0'),
    ({'band': 1, 'clamp': 'no'}, 'style clamp must be true or false'),
    ({'band': 1, 'nodata': 'none'}, 'style nodata must be a number or "auto"'),
])
def test_bad_styles_raise(value, message):
    with pytest.raises(OptionsError, match=message):
        parse_style(value)


@pytest.mark.parametrize('value', ['lowest', 'min:2', 'max:x', float('nan'), True])
def test_a_bad_limit_raises_and_means_auto_only_when_lenient(value):
    """Issue #12: a bad limit is an OptionsError; large_image's warning and 'auto' are the
    opt-in lenient mode (config lenient_styles)."""
    with pytest.raises(OptionsError, match='min'):
        parse_style({'band': 1, 'min': value})
    config.setConfig('lenient_styles', True)
    try:
        with pytest.warns(UserWarning, match='not valid; using "auto"'):
            style = parse_style({'band': 1, 'min': value})
    finally:
        config.setConfig('lenient_styles', None)
    assert style.bands[0].min == 'auto'


@pytest.mark.parametrize('value, parsed', [('AUTO', 'auto'), ('full', 'full'),
                                           ('Min:0.02', 'min:0.02'), ('max:1', 'max:1'),
                                           (' 12.5 ', 12.5), (3, 3.0)])
def test_limit_spellings(value, parsed):
    assert parse_style({'band': 1, 'max': value}).bands[0].max == parsed


def test_band_spellings():
    assert [parse_style({'band': v}).bands[0].band for v in (2, 2.0, '2', 'Green')] == [2, 2, 2,
                                                                                         'Green']


def test_values_are_frozen_and_hashable():
    style = parse_style({'bands': [{'band': 1, 'palette': 'viridis'}, {'band': 2}]})
    assert hash(style) == hash(parse_style({'bands': [{'band': 1, 'palette': 'viridis'},
                                                      {'band': 2}]}))
    assert style.bands[0] != style.bands[1]
    with pytest.raises(dataclasses.FrozenInstanceError):
        style.bands[0].band = 3
    with pytest.raises(ValueError):
        style.bands[0].palette[0, 0] = 1  # shared stops are read-only


def test_band_style_constructor_parses_its_arguments():
    entry = BandStyle('3', min='0', palette=['#000', 'B'], scheme='DISCRETE', composite='Lighten')
    assert entry == parse_style({'band': 3, 'min': 0, 'palette': ['#000', 'B'],
                                 'scheme': 'discrete'}).bands[0]


def test_frames_of_a_style():
    style = parse_style({'bands': [{'frame': 2}, {'framedelta': -1}, {'band': 2}]})
    assert style.frames == {2}
    assert style.frames_for(4) == {2, 3, 4}
    assert style.pinned_frame is None
    assert parse_style({'bands': [{'frame': 2}, {'frame': 0}]}).pinned_frame == 2


# -- parse_palette --------------------------------------------------------------------------

@pytest.mark.parametrize('colour, rgba', [
    ('#f00', [255, 0, 0, 255]), ('#f008', [255, 0, 0, 136]), ('#00ff00', [0, 255, 0, 255]),
    ('#0000ff80', [0, 0, 255, 128]), ('rgb(1, 2, 3)', [1, 2, 3, 255]),
    ('rgba(1, 2, 3, 4)', [1, 2, 3, 4]), ('hsl(120, 100%, 25%)', [0, 128, 0, 255]),
    ('orange', [255, 165, 0, 255]), ('green', [0, 128, 0, 255]), ('GREEN', [0, 255, 0, 255]),
    ('G', [0, 255, 0, 255]), ('R', [255, 0, 0, 255]), ('BLUE', [0, 0, 255, 255]),
    ((0.5, 0, 1), [127, 0, 255, 255]), ([0, 0, 1, 0.5], [0, 0, 255, 127]),
])
def test_palette_colours(colour, rgba):
    assert parse_palette([colour, colour]).tolist() == [rgba, rgba]
    if isinstance(colour, str):
        assert parse_palette(colour).tolist() == [[0, 0, 0, 255], rgba]


def test_named_palettes():
    viridis = parse_palette('viridis')
    assert viridis.shape == (256, 4)
    assert viridis[0].tolist() == [0x44, 0x01, 0x54, 255]
    assert viridis[-1].tolist() == [0xfd, 0xe7, 0x25, 255]
    assert parse_palette('Viridis_r')[0].tolist() == viridis[-1].tolist()
    assert [len(parse_palette(n)) for n in ('plasma', 'inferno', 'magma', 'cividis', 'greys',
                                            'reds', 'greens', 'blues', 'spectral', 'rdylgn',
                                            'terrain')] == [256] * 4 + [9, 9, 9, 9, 11, 11, 6]
    assert parse_palette('greys')[[0, -1]].tolist() == [[255, 255, 255, 255], [0, 0, 0, 255]]
    assert parse_palette('terrain')[0].tolist() == [0x33, 0x33, 0x99, 255]
    # 'gray' is a CSS colour before it could be a palette name, as in large_image.
    assert parse_palette('gray').tolist() == [[0, 0, 0, 255], [128, 128, 128, 255]]


def test_palettable_style_names_sample_the_base_map():
    hexes = ['0d0887', '6a00a8', 'b12a90', 'e16462', 'fca636', 'f0f921']  # palettable's Plasma_6
    expected = [[int(h[i:i + 2], 16) for i in (0, 2, 4)] + [255] for h in hexes]
    assert parse_palette('matplotlib.Plasma_6').tolist() == expected
    assert parse_palette('matplotlib.Plasma_6_r').tolist() == expected[::-1]
    # Viridis_5 picks entries round(i * 255 / 4): 0, 64, 128 (127.5, half to even), 191, 255.
    assert parse_palette('matplotlib.Viridis_5').tolist() == parse_palette('viridis')[
        [0, 64, 128, 191, 255]].tolist()


def test_array_palettes_are_taken_as_stops():
    assert parse_palette(np.array([[0, 0, 0], [10, 20, 30]])).tolist() == [[0, 0, 0, 255],
                                                                           [10, 20, 30, 255]]


@pytest.mark.parametrize('value', ['nonexistent.palette', 'matplotlib.Viridis_1',
                                   'matplotlib.Reds_5', [], ['#zzzzzz'], [(1, 0)], 7, None,
                                   (1, 0, 0), np.zeros((2, 5))])
def test_bad_palettes(value):
    with pytest.raises(OptionsError, match='cannot be used as a color palette'):
        parse_palette(value)


def test_matplotlib_names_when_installed():
    mpl = pytest.importorskip('matplotlib')
    assert parse_palette('xkcd:blue').tolist() == [[0, 0, 0, 0], [3, 67, 223, 255]]
    # A listed map gives every entry; a segmented one its segment stops, as large_image does.
    assert len(parse_palette('tab10')) == mpl.colormaps['tab10'].N == 10
    assert parse_palette('coolwarm')[0].tolist() == [59, 76, 192, 255]
    assert parse_palette(['red', 'xkcd:blue'])[1].tolist() == [3, 67, 223, 255]


# -- statistics and limits ------------------------------------------------------------------

def test_band_stats_leave_out_nan_and_nodata():
    stats = BandStats.from_values(np.array([np.nan, -9999, 2.0, 6.0], np.float32), nodata=-9999)
    assert (stats.min, stats.max, stats.samples) == (2.0, 6.0, 2)
    assert len(stats.histogram) == 256 and stats.bin_edges[[0, -1]].tolist() == [2.0, 7.0]
    assert BandStats.from_values(np.array([7, 7]), nodata=7) is None


def limits(entry_limits, values, dtype, others=()):
    stats = BandStats.from_values(np.asarray(values))
    all_stats = [stats, *others]
    return resolve_limits(BandStyle(1, min=entry_limits[0], max=entry_limits[1]), stats,
                          np.dtype(dtype), all_stats)


@pytest.mark.parametrize('dtype, full', [('uint8', 255), ('uint16', 65535), ('float32', 1),
                                         ('int16', 255)])
def test_full_limits(dtype, full):
    assert limits(('full', 'full'), [3, 9], dtype) == (0, full)


def test_numeric_and_min_max_limits():
    assert limits((5, 50.5), [3, 9], 'uint8') == (5, 50.5)
    assert limits(('min', 'max'), [3, 9], 'uint8') == (3, 9)


def test_limits_without_statistics():
    entry = BandStyle(1, min='min', max='max')
    assert resolve_limits(entry, None, np.dtype('uint16'), [None]) == (0, 65535)
    assert resolve_limits(entry, None, np.dtype('float32'), []) == (0, 1)
    auto = BandStyle(1)
    assert resolve_limits(auto, None, np.dtype('uint8'), [None]) == (0, 255)


def test_auto_keeps_uint8_data_and_stretches_uint16_and_float():
    values = [10, 200]
    assert limits(('auto', 'auto'), values, 'uint8') == (0, 255)
    assert limits(('auto', 'auto'), values, 'uint16') == (10, 200)
    assert limits(('auto', 'auto'), values, 'float32') == (10, 200)


def test_auto_looks_at_every_band():
    assert limits(('auto', 'auto'), [10, 200], 'uint8', [BandStats(0, 1)]) == (10, 200)
    assert limits(('auto', 'auto'), [10, 200], 'uint8', [BandStats(0, 255), None]) == (0, 255)


HUNDRED = np.arange(100)  # 0..99 once each: 256 bins of width 100/256 over [0, 100]


@pytest.mark.parametrize('spec, expected', [
    (('min:0.02', 'max:0.02'), (5 * 100 / 256, 249 * 100 / 256)),
    (('min:0.02', 'max:0.98'), (1.953125, 1.171875)),  # 'max:t' excludes t from the top
    # From the bottom the first bin already exceeds: the band min. From the top the first bins
    # are empty ([min, max + 1] leaves room above 99), so the max is an edge too.
    (('min:0.001', 'max:0.001'), (0, 254 * 100 / 256)),
    (('min:0', 'max:0'), (0, 99)),
    (('min:1', 'max:1'), (100, 0)),  # never exceeded: the last edge walked
])
def test_quantile_limits(spec, expected):
    assert limits(spec, HUNDRED, 'uint16') == pytest.approx(expected)


def test_auto_quantiles_apply_only_when_auto_stretches():
    assert limits(('auto:0.02', 'auto:0.02'), HUNDRED, 'uint16') == pytest.approx(
        (1.953125, 97.265625))
    assert limits(('auto:0.02', 'auto:0.02'), HUNDRED + 2, 'uint8') == (0, 255)


def test_quantiles_without_a_histogram_use_min_max():
    entry = BandStyle(1, min='min:0.3', max='max:0.3')
    assert resolve_limits(entry, BandStats(4, 8), np.dtype('uint16'), [BandStats(4, 8)]) == (4, 8)


# -- apply_style ----------------------------------------------------------------------------

def test_linear_interpolation_over_evenly_spaced_stops():
    band = np.array([[0, 25, 50, 75, 100]], np.uint8)
    out = render({'min': 0, 'max': 100, 'palette': ['#000', '#f00', '#fff']}, [[band, band]])
    assert out[0, :, 0].tolist() == [0, 127.5, 255, 255, 255]
    assert out[0, :, 1].tolist() == [0, 0, 0, 127.5, 255]


def test_discrete_index_is_floor_of_n_times_length_clipped():
    band = np.array([[-50, 0, 32, 34, 99, 100, 500]], np.int16)
    out = render({'min': 0, 'max': 100, 'scheme': 'discrete', 'palette': ['#100', '#200', '#300']},
                 [[band, band]])
    assert out[0, :, 0].tolist() == [0x11, 0x11, 0x11, 0x22, 0x33, 0x33, 0x33]


def test_two_stop_palettes_from_zero_are_not_clipped():
    band = np.array([[-50, 0, 200]], np.int16)
    out = render({'min': 0, 'max': 100, 'palette': '#f00'}, [[band, band]])
    assert out[0, :, 0].tolist() == [-127.5, 0, 510]
    out = render({'min': 0, 'max': 100, 'palette': ['#800', '#f00']}, [[band, band]])
    assert out[0, :, 0].tolist() == [0x88, 0x88, 255]  # interpolation clips at the ends
    assert to_uint8(render({'min': 0, 'max': 100, 'palette': '#f00'}, [[band, band]]))[
        0, :, 0].tolist() == [0, 0, 255]


def test_equal_limits_divide_by_one():
    band = np.array([[4, 5]], np.uint8)
    out = render({'min': 4, 'max': 4, 'palette': '#f00'}, [[band, band]])
    assert out[0, :, 0].tolist() == [0, 255]


def test_constant_palette_channels():
    band = np.array([[0, 100]], np.uint8)
    out = render({'palette': ['#80808040', '#80ff8040']}, [[band, band]])
    assert out[0, :, 0].tolist() == [128, 128] and out[0, :, 3].tolist() == [64, 64]
    masked = render({'palette': '#f00', 'nodata': 0}, [[band, band]])
    assert masked[0, 0].tolist() == [0, 0, 0, 0] and masked[0, 1, 3] == 255


def test_lighten_takes_the_maximum_and_masked_pixels_add_nothing():
    a = np.array([[100, 10, 50]], np.uint8)
    b = np.array([[20, 200, 50]], np.uint8)
    style = {'bands': [{'band': 1, 'palette': '#fff'},
                       {'band': 2, 'palette': '#fff', 'nodata': 50}]}
    out = render(style, [[a, b]])
    assert out[0, :, 0].tolist() == [100, 200, 50]
    assert out[0, :, 3].tolist() == [255, 255, 255]
    everywhere_masked = render({'bands': [{'band': 1, 'nodata': 50, 'palette': '#f00'},
                                          {'band': 2, 'nodata': 50, 'palette': '#00f'}]}, [[a, b]])
    assert everywhere_masked[0, 2].tolist() == [0, 0, 0, 0]


def rgba_frames():
    colour = np.array([[10, 200]], np.uint8)
    alpha = np.array([[255, 51]], np.uint8)
    return [[colour, colour, colour, alpha]]


def test_multiply_with_an_alpha_band():
    style = default_style(RGB + ['alpha'], [None] * 4, None)
    out = render(style, rgba_frames(), interpretations=RGB + ['alpha'])
    assert out[0, :, :3].tolist() == [[10] * 3, [200] * 3]  # colour channels kept
    assert out[0, :, 3].tolist() == [255, 51]


def test_lighten_with_an_alpha_band_paints_white():
    style = {'bands': [{'band': 1}, {'band': 'alpha', 'composite': 'lighten'}]}
    out = render(style, rgba_frames(), interpretations=RGB + ['alpha'])
    assert out[0].tolist() == [[255] * 4, [255] * 4]


def test_multiply_first_does_nothing_and_masked_multiply_keeps_the_value():
    frames = rgba_frames()
    only = render({'band': 4, 'palette': ['#fff0', '#ffff'], 'composite': 'multiply'}, frames)
    assert not only.any()
    style = {'bands': [{'band': 1, 'palette': '#fff'},
                       {'band': 4, 'palette': '#0000', 'composite': 'multiply', 'nodata': 51}]}
    out = render(style, frames)
    assert out[0, 0].tolist() == [0, 0, 0, 0] and out[0, 1].tolist() == [200, 200, 200, 255]


def test_false_colour_composite_of_three_frames():
    frames = [[np.array([[10, 20]], np.uint8)], [np.array([[30, 40]], np.uint8)],
              [np.array([[50, 60]], np.uint8)]]
    style = {'bands': [{'frame': 0, 'palette': '#f00'}, {'frame': 1, 'palette': '#0f0'},
                       {'frame': 2, 'palette': '#00f'}]}
    for frame in (0, 2):  # absolute frames: the same picture whatever the current frame
        out = render(style, frames, frame=frame)
        assert out.shape == (1, 2, 4)
        assert out[0].tolist() == [[10, 30, 50, 255], [20, 40, 60, 255]]


def test_frame_delta():
    frames = [[np.array([[10]], np.uint8)], [np.array([[30]], np.uint8)]]
    style = {'bands': [{'palette': '#f00'}, {'framedelta': -1, 'palette': '#0f0'}]}
    assert render(style, frames, frame=1)[0, 0].tolist() == [30, 10, 0, 255]
    with pytest.raises(OptionsError, match='frame -1 does not exist'):
        render(style, frames, frame=0)


def test_missing_frames_and_bands_raise():
    frames = [[np.zeros((1, 1), np.uint8)] * 3] * 3
    with pytest.raises(OptionsError, match=r'frame 7 does not exist; the source has 3 frame\(s\)'):
        render({'band': 1, 'frame': 7}, frames)
    for band in (500, 'nir', 0, -2):
        with pytest.raises(OptionsError, match=f'Band has to be .* not {band!r}'):
            render({'bands': [{'band': 1}, {'band': band}]}, frames)


def test_check_style_reports_bad_bands_and_frames_up_front():
    check_style(parse_style({'band': 'Red', 'frame': 2}), band_count=3, interpretations=RGB,
                frame_count=3)
    with pytest.raises(OptionsError, match='not 500'):
        check_style(parse_style({'band': 500}), band_count=3, interpretations=RGB)
    with pytest.raises(OptionsError, match='frame 7 does not exist'):
        check_style(parse_style({'frame': 7}), band_count=3, interpretations=RGB, frame_count=3)


def test_band_names_resolve_against_interpretations():
    frames = [[np.full((1, 1), v, np.uint8) for v in (10, 20, 30)]]
    names = ['gray', 'undefined', 'Green']
    out = render({'band': 'GREEN', 'palette': '#f00'}, frames, interpretations=names)
    assert out[0, 0, 0] == 30
    # -1 inside a list falls back to large_image's base rule: band 2 of three or more.
    assert render({'bands': [{'band': -1, 'palette': '#f00'}, {'band': 1, 'palette': '#00f'}]},
                  frames)[0, 0].tolist() == [20, 0, 10, 255]


def test_output_channels():
    one = [[np.array([[7]], np.uint8)]]
    assert render({'min': 0}, one).shape == (1, 1, 1)
    assert render({'palette': '#f00'}, one).shape == (1, 1, 4)
    assert render({'band': 1}, [one[0] * 3]).shape == (1, 1, 4)
    assert render({'bands': [{'band': 1}, {'band': 1}]}, one).shape == (1, 1, 4)


@pytest.mark.parametrize('source, dtype, expected_type, expected', [
    (np.uint8, 'uint8', np.uint8, [127, 0, 0, 255]),
    (np.uint8, 'float', np.float32, [0.5, 0, 0, 1]),
    (np.uint8, 'source', np.float32, [127.5, 0, 0, 255]),
    (np.uint16, 'source', np.uint16, [32767, 0, 0, 65535]),
    (np.float32, 'source', np.float32, [0.5, 0, 0, 1]),
    (np.float64, None, np.float64, [127.5, 0, 0, 255]),
])
def test_output_dtype(source, dtype, expected_type, expected):
    band = np.array([[50]], source)
    style = {'min': 0, 'max': 100, 'palette': '#f00', **({'dtype': dtype} if dtype else {})}
    out = render(style, [[band]])
    assert out.dtype == expected_type
    assert out[0, 0].tolist() == pytest.approx(expected)


def test_uint8_dtype_clips_before_truncating():
    band = np.array([[-10, 300]], np.int16)
    out = render({'min': 0, 'max': 100, 'palette': '#f00', 'dtype': 'uint8'}, [[band]])
    assert out[0, :, 0].tolist() == [0, 255]


def test_axis_keeps_one_channel():
    band = np.array([[50]], np.uint8)
    out = render({'bands': [{'palette': '#f0f'}], 'axis': 2}, [[band, band]])
    assert out.shape == (1, 1, 1) and out[0, 0, 0] == 50
    with pytest.raises(OptionsError, match='axis 4 is out of range for 4 output channel'):
        render({'palette': '#f0f', 'axis': 4}, [[band, band]])


def test_nan_values_and_nan_nodata():
    band = np.array([[np.nan, 0.5]], np.float32)
    assert to_uint8(render({'min': 0, 'max': 1, 'palette': '#f00'}, [[band]]))[0, 0, 0] == 0
    out = render({'min': 0, 'max': 1, 'palette': '#f00', 'nodata': 'nan'}, [[band]])
    assert out[0, 0].tolist() == [0, 0, 0, 0] and out[0, 1].tolist() == [127.5, 0, 0, 255]


def test_nodata_auto_resolves_to_the_band_s_own():
    style = parse_style({'bands': [{'band': 'red', 'nodata': 'auto'}, {'band': 2, 'palette': 'G'}]})
    resolved = style.resolve_nodata([62, None, None], RGB)
    assert [b.nodata for b in resolved.bands] == [62.0, None]
    assert render(resolved, pixel([62, 65, 66]), interpretations=RGB, stats=EXACT)[0, 0, 0] == 0


def test_an_empty_style_is_a_transparent_canvas():
    out = render(Style((), is_default=True), pixel([1, 2, 3]))
    assert out.shape == (1, 1, 4) and not out.any()


# -- default_style --------------------------------------------------------------------------

def describe(style):
    return [(b.band, b.palette.astype(int).tolist(), b.min, b.max, b.composite.value, b.nodata,
             b.scheme.value) for b in style.bands]


def test_default_style_of_rgb_with_alpha():
    assert describe(default_style(['Red', 'green', 'blue', 'alpha'], [0, 0, 0, None], None)) == [
        (1, [[0, 0, 0, 255], [255, 0, 0, 255]], 'auto', 'auto', 'lighten', 0, 'linear'),
        (2, [[0, 0, 0, 255], [0, 255, 0, 255]], 'auto', 'auto', 'lighten', 0, 'linear'),
        (3, [[0, 0, 0, 255], [0, 0, 255, 255]], 'auto', 'auto', 'lighten', 0, 'linear'),
        (4, [[255, 255, 255, 0], [255, 255, 255, 255]], 'auto', 'auto', 'multiply', None,
         'linear')]


def test_default_style_bands_in_colour_order():
    assert [b.band for b in default_style(['blue', 'green', 'red', 'gray'], [None] * 4,
                                          None).bands] == [3, 2, 1]


def test_default_style_gray_only_without_rgb():
    style = default_style(['gray', 'undefined', 'alpha'], [-1, None, None], None)
    assert describe(style)[0] == (1, [[0, 0, 0, 255], [255, 255, 255, 255]], 'auto', 'auto',
                                  'lighten', -1, 'linear')
    assert [b.band for b in style.bands] == [1, 3]


def test_default_style_palette_band_when_nothing_else_applies():
    table = [(0, 0, 0, 255), (255, 0, 0, 255), (0, 255, 0, 128)]
    style = default_style(['palette'], [None], table)
    assert describe(style) == [(1, [list(c) for c in table], 0, 2, 'lighten', None, 'discrete')]
    band = np.array([[0, 1, 2]], np.uint8)
    out = render(style, [[band]], interpretations=['palette'])
    assert out[0].tolist() == [list(c) for c in table]
    assert [b.band for b in default_style(['gray', 'palette'], [None] * 2, table).bands] == [1]


def test_default_style_alpha_only_alongside_others():
    assert describe(default_style(['alpha'], [None], None)) == [
        (1, [[0, 0, 0, 255], [255, 255, 255, 255]], 'auto', 'auto', 'lighten', None, 'linear')]


def test_default_style_without_known_interpretations_shows_band_1_as_gray():
    assert [b.band for b in default_style(['undefined', 'undefined'], [5, None], None).bands] \
        == [1]


def test_default_style_extra_warp_alpha():
    style = default_style(RGB, [None] * 3, None, extra_alpha=True)
    assert describe(style)[-1] == (4, [[255, 255, 255, 0], [255, 255, 255, 255]], 0, 'auto',
                                   'multiply', None, 'linear')
    assert len(default_style(RGB + ['alpha'], [None] * 4, None, extra_alpha=True).bands) == 4
    # The warp alpha has no statistics: 'auto' gives the dtype's maximum for uint16.
    data = [np.full((1, 2), 100, np.uint16)] * 3 + [np.array([[0, 65535]], np.uint16)]
    out = render(style, [data], interpretations=RGB + ['undefined'],
                 stats={**EXACT, (0, 3): None})
    assert out[0, :, 3].tolist() == [0, 255]


def test_default_style_one_gray_band_is_one_channel():
    style = default_style(['gray'], [None], None)
    assert render(style, [[np.array([[9]], np.uint8)]]).shape == (1, 1, 1)


# -- to_uint8 -------------------------------------------------------------------------------

def test_to_uint8():
    styled = np.array([[[-1.0], [0.99], [254.99], [1e9], [np.nan]]], np.float32)
    assert to_uint8(styled)[0, :, 0].tolist() == [0, 0, 254, 255, 0]
    assert to_uint8(styled).shape == (1, 5, 1)
    assert to_uint8(np.array([[[65535, 256, 255]]], np.uint16)).tolist() == [[[255, 1, 0]]]
    pixels = np.zeros((1, 1, 4), np.uint8)
    assert to_uint8(pixels) is pixels
