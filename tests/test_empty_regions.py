"""Regions with no output pixels: a region 0 pixels wide or high, one narrower than a pixel at
the asked scale, or one whose output size rounds to 0. ``format='numpy'`` gives an empty array
of the right dtype and band count (keeping the other side's size); an encoded image or a Pillow
image cannot be empty, so those raise RangeError saying why."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import UINT16_FACTOR
from factory import expected

import geolargeimage
from geolargeimage import errors

WIDTH_ZERO = {'left': 10, 'top': 20, 'width': 0, 'height': 30}
HEIGHT_ZERO = {'left': 10, 'top': 20, 'width': 30, 'height': 0}


@pytest.fixture
def sources(rgb_tiled, uint16_rgb, dem_float32):
    return {'uint8': geolargeimage.open(rgb_tiled), 'uint16': geolargeimage.open(uint16_rgb),
            'float32': geolargeimage.open(dem_float32)}


def numpy_region(source, **kwargs) -> np.ndarray:
    data, kind = source.getRegion(format='numpy', **kwargs)
    assert kind == 'numpy'
    return data


@pytest.mark.parametrize('name, bands', [('uint8', 3), ('uint16', 3), ('float32', 1)])
def test_zero_width_or_height_gives_an_empty_array_of_the_source_dtype(sources, name, bands):
    source = sources[name]
    narrow = numpy_region(source, region=WIDTH_ZERO)
    assert narrow.shape == (30, 0, bands) and narrow.dtype == np.dtype(name)
    flat = numpy_region(source, region=HEIGHT_ZERO)
    assert flat.shape == (0, 30, bands) and flat.dtype == np.dtype(name)
    one = numpy_region(source, region={**WIDTH_ZERO, 'width': 1})  # one column more: the pixels
    values = expected(slice(20, 50), slice(10, 11), bands, 'float32')
    if name == 'uint16':
        values = values * UINT16_FACTOR
    if name == 'float32':
        values = values + 0.25
    np.testing.assert_array_equal(one, values.astype(name))


def test_a_region_narrower_than_a_pixel_at_the_scale_is_empty(sources):
    source = sources['uint8']  # 0.5 m pixels; at 2 m a pixel is 4 base pixels
    scale = {'mm_x': source.mm_x * 4, 'mm_y': source.mm_y * 4}
    region = {'left': 25, 'top': 10, 'width': 0.3, 'height': 40, 'units': 'pixels'}
    data = numpy_region(source, region=region, scale=scale)
    assert data.shape == (40, 0, 3) and data.dtype == np.uint8
    whole = numpy_region(source, region={**region, 'width': 2}, scale=scale)
    assert whole.shape == (40, 2, 3)
    with pytest.raises(errors.RangeError, match='empty'):
        source.getRegion(region=region, scale=scale)


def test_an_output_size_of_an_empty_region_is_empty(sources):
    source = sources['uint16']
    data = numpy_region(source, region=HEIGHT_ZERO, output={'maxWidth': 100})
    assert data.shape[0] == 0 and data.shape[2] == 3 and data.dtype == np.uint16
    with pytest.raises(errors.RangeError, match='empty'):
        source.getRegion(region=HEIGHT_ZERO, output={'maxWidth': 100}, encoding='PNG')


@pytest.mark.parametrize('kwargs', [{}, {'encoding': 'PNG'}, {'encoding': 'TIFF'},
                                    {'format': 'PIL'}])
@pytest.mark.parametrize('region', [WIDTH_ZERO, HEIGHT_ZERO, {'left': 10, 'right': 10.4}])
def test_encoded_and_pillow_regions_cannot_be_empty(sources, kwargs, region):
    with pytest.raises(errors.RangeError, match=r'empty.*0 ') as caught:
        sources['float32'].getRegion(region=region, **kwargs)
    assert isinstance(caught.value, ValueError)
    assert 'numpy' in str(caught.value)


def test_a_styled_empty_region_has_the_styled_dtype_and_bands(sources):
    style = {'band': 1, 'palette': ['#000', '#f00'], 'min': 0, 'max': 250}
    source = sources['float32']
    one = numpy_region(source, region={**WIDTH_ZERO, 'width': 1}, style=style)
    empty = numpy_region(source, region=WIDTH_ZERO, style=style)
    assert empty.shape == (30, 0, one.shape[2]) and empty.dtype == one.dtype
    assert one[0, 0, 0] == pytest.approx(((20 * 3 + 10 * 7 + 50) % 251 + 0.25) / 250 * 255, abs=1)


def test_a_projected_empty_region_has_the_bands_of_its_pixels(rgb_tiled):
    source = geolargeimage.open(rgb_tiled, projection='EPSG:3857')
    bounds = source.getBounds()
    region = {'left': (bounds['xmin'] + bounds['xmax']) / 2, 'top': bounds['ymax'] - 50,
              'bottom': bounds['ymax'] - 100, 'units': 'projection'}
    one = numpy_region(source, region={**region, 'width': 1, 'unitsWH': 'base_pixels'})
    empty = numpy_region(source, region={**region, 'width': 0, 'unitsWH': 'base_pixels'})
    assert empty.shape[1] == 0 and empty.shape[0] == one.shape[0] > 50
    assert empty.shape[2] == one.shape[2] and empty.dtype == one.dtype
