"""Associated images are never pyramid levels (issue 11, item 6).

GDAL calls every page of a TIFF flagged as a reduced-resolution image (NewSubfileType 1, or 9 for
a macro) an overview of the first page. Here the label, macro and thumbnail of an Aperio-like slide
have exactly the slide's aspect ratio and carry that flag, in several page orders, so an overview
list taken at its word puts them into the pyramid. Each holds pixels far from the slide's, so
reading one as a level shows at once.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import tifffile
from conftest import SVS_DESCRIPTION, SVS_SIZE, block_mean, svs_base_values
from osgeo import gdal
from PIL import Image

import geolargeimage

HEAD = 'Aperio Image Library v12.0.15 \r\n'
WIDTH, HEIGHT = SVS_SIZE  # 1600 x 1200, aspect 4:3


def label_pixels() -> np.ndarray:
    """320×240 (the slide's aspect, 5× smaller): near white with a navy box."""
    label = np.full((240, 320, 3), 250, np.uint8)
    label[60:180, 40:280] = (20, 20, 120)
    return label


def macro_pixels() -> np.ndarray:
    """480×360 (the slide's aspect, 10/3× smaller): a ramp across the columns, dark rows."""
    rows, cols = np.mgrid[0:360, 0:480]
    return np.stack([cols * 255 // 480, np.full_like(rows, 10), 240 - rows * 200 // 360],
                    axis=2).astype(np.uint8)


def thumbnail_pixels() -> np.ndarray:
    """200×150 (8× smaller, as a level 0 tile would be): magenta with a black frame."""
    thumbnail = np.zeros((150, 200, 3), np.uint8)
    thumbnail[10:140, 10:190] = (230, 20, 220)
    return thumbnail


#: kind → (pixels, NewSubfileType, description line, tiled)
def _pages() -> dict[str, tuple[np.ndarray, int, str | None, bool]]:
    base = svs_base_values(WIDTH, HEIGHT)
    return {
        'pyramid4': (block_mean(base, 4), 0, '1600x1200 -> 400x300 RAW Q=70', True),
        'pyramid16': (block_mean(base, 16), 0, '1600x1200 -> 100x75 RAW Q=70', True),
        'thumbnail': (thumbnail_pixels(), 1, 'thumbnail 200x150', False),
        'label': (label_pixels(), 1, 'label 320x240', False),
        'macro': (macro_pixels(), 9, 'macro 480x360', False),
    }


#: Page orders after the base page; '-reduced' flags the pyramid pages too (then GDAL lists no
#: page apart from the base: every other one is an "overview"); '-undescribed' leaves the
#: label and macro without a description (NewSubfileType names them).
ORDERS = {
    'aperio': ('thumbnail', 'pyramid4', 'pyramid16', 'label', 'macro'),
    'associated-first': ('label', 'macro', 'thumbnail', 'pyramid4', 'pyramid16'),
    'interleaved': ('pyramid4', 'label', 'pyramid16', 'macro', 'thumbnail'),
    'aperio-reduced': ('thumbnail', 'pyramid4', 'pyramid16', 'label', 'macro'),
    'aperio-undescribed': ('thumbnail', 'pyramid4', 'pyramid16', 'label', 'macro'),
}


def write_slide(path, order: str) -> dict[str, int]:
    """Write the slide with its pages in ``order``; returns each kind's page number (1-based,
    as in GTIFF_DIR:n)."""
    pages = _pages()
    common = {'photometric': 'rgb', 'metadata': None}
    numbers = {'base': 1}
    with tifffile.TiffWriter(path) as tif:
        tif.write(svs_base_values(WIDTH, HEIGHT), tile=(256, 256), description=SVS_DESCRIPTION,
                  **common)
        for number, kind in enumerate(ORDERS[order], start=2):
            pixels, subfiletype, line, tiled = pages[kind]
            if kind.startswith('pyramid') and order.endswith('-reduced'):
                subfiletype = 1
            description = HEAD + line + '|AppMag = 20|MPP = 0.4990'
            if order.endswith('-undescribed') and kind in ('label', 'macro'):
                description = None
            layout = {'tile': (256, 256)} if tiled else {'rowsperstrip': 16}
            tif.write(pixels, subfiletype=subfiletype, description=description, **layout,
                      **common)
            numbers[kind] = number
    return numbers


@pytest.fixture(scope='module', params=list(ORDERS))
def slide(request, tmp_path_factory):
    path = tmp_path_factory.mktemp('slides') / f'{request.param}.svs'
    return path, write_slide(path, request.param)


def page_read(path, number: int, window: tuple[int, int, int, int], out_width: int,
              out_height: int) -> np.ndarray:
    """GDAL's average read of ``window`` of page ``number`` alone (GTIFF_DIR) into the buffer."""
    dataset = gdal.Open(f'GTIFF_DIR:{number}:{path}')
    assert dataset.GetRasterBand(1).GetOverviewCount() == 0
    data = dataset.ReadAsArray(*window, buf_xsize=out_width, buf_ysize=out_height,
                               resample_alg=gdal.GRIORA_Average)
    return data.transpose(1, 2, 0)


def far_from(pixels: np.ndarray, other: np.ndarray) -> bool:
    """Whether the band means of two pictures differ by more than 30 in some band."""
    return bool(np.abs(pixels.mean(axis=(0, 1)) - other.mean(axis=(0, 1))).max() > 30)


def gdal_overview_sizes(path) -> set[tuple[int, int]]:
    dataset = gdal.Open(str(path))
    band = dataset.GetRasterBand(1)
    return {(band.GetOverview(i).XSize, band.GetOverview(i).YSize)
            for i in range(band.GetOverviewCount())}


def test_associated_images_are_listed_and_read_as_themselves(slide):
    path, numbers = slide
    source = geolargeimage.open(path)
    assert source.getAssociatedImagesList() == ['label', 'macro', 'thumbnail']
    for kind, wanted in (('label', label_pixels()), ('macro', macro_pixels()),
                         ('thumbnail', thumbnail_pixels())):
        data, mime = source.getAssociatedImage(kind, encoding='PNG')
        assert mime == 'image/png'
        np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(data))), wanted)


def test_thumbnail_is_the_slide_not_an_associated_image(slide):
    path, numbers = slide
    # the trap: GDAL's overviews include label, macro and thumbnail, all of the slide's shape
    assert {(320, 240), (480, 360), (200, 150)} <= gdal_overview_sizes(path)
    thumbnail, _ = geolargeimage.open(path).getThumbnail(format='numpy')
    assert thumbnail.shape == (192, 256, 3)
    # 6.25x smaller: read from the 4x pyramid page, averaged
    np.testing.assert_array_equal(
        thumbnail, page_read(path, numbers['pyramid4'], (0, 0, 400, 300), 256, 192))
    assert np.abs(thumbnail.astype(int) - page_read(path, 1, (0, 0, WIDTH, HEIGHT), 256, 192)
                  ).mean() < 3
    assert far_from(thumbnail, label_pixels())


def test_tile_zero_is_the_slide_not_the_thumbnail_page(slide):
    path, numbers = slide
    tile = geolargeimage.open(path).getTile(0, 0, 0, numpyAllowed=True)
    # level 0 is 8x smaller (200x150): from the 4x page
    np.testing.assert_array_equal(
        tile[:150, :200], page_read(path, numbers['pyramid4'], (0, 0, 400, 300), 200, 150))
    reference = block_mean(svs_base_values(WIDTH, HEIGHT), 8)
    assert np.abs(tile[:150, :200].astype(int) - reference).mean() < 3
    assert far_from(tile[:150, :200], thumbnail_pixels())


@pytest.mark.parametrize('region, out_width, page, window', [
    # 5x smaller (the label's factor): the 4x page
    ({'left': 400, 'top': 300, 'width': 800, 'height': 600}, 160, 'pyramid4',
     (100, 75, 200, 150)),
    # 3.4x smaller (just coarser than the macro's 10/3): full resolution
    ({}, 470, 'base', (0, 0, WIDTH, HEIGHT)),
    # 16x smaller: the 16x page itself
    ({}, 100, 'pyramid16', (0, 0, 100, 75)),
])
def test_downsampled_regions_read_the_slide(slide, region, out_width, page, window):
    path, numbers = slide
    pixels, _ = geolargeimage.open(path).getRegion(format='numpy', region=region,
                                                   output={'maxWidth': out_width})
    out_height = pixels.shape[0]
    assert pixels.shape[1] == out_width
    np.testing.assert_array_equal(
        pixels, page_read(path, numbers[page], window, out_width, out_height))
