"""Whole-slide TIFFs and associated images (reference §7): the pyramid pages of an Aperio-SVS-like
file are its levels (GDAL takes the label and macro for overviews instead), its label, macro and
thumbnail are associated images, and its description gives magnification and pixel size."""

from __future__ import annotations

import io

import numpy as np
import pytest
import tifffile
from conftest import SVS_LABEL_SIZE, SVS_MACRO_SIZE, SVS_SIZE
from osgeo import gdal
from PIL import Image

import geolargeimage


def page(path, number: int) -> np.ndarray:
    """TIFF page ``number`` (1-based, as in ``GTIFF_DIR:n``) as tifffile decodes it."""
    return tifffile.imread(path, key=number - 1)


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def raw_slide_read(path, width: int, height: int) -> np.ndarray:
    """The whole base page read into ``width`` × ``height`` with GDAL's average, ignoring the
    overviews GDAL would otherwise pick (the label and macro), as ``(h, w, 3)``."""
    dataset = gdal.OpenEx(str(path), gdal.OF_RASTER, open_options=['OVERVIEW_LEVEL=NONE'])
    data = dataset.ReadAsArray(buf_xsize=width, buf_ysize=height,
                               resample_alg=gdal.GRIORA_Average)
    return data.transpose(1, 2, 0)


# -- a plain raster -----------------------------------------------------------------------------

def test_plain_raster_has_no_associated_images(rgb_tiled):
    source = geolargeimage.open(rgb_tiled)
    assert source.getAssociatedImagesList() == []
    assert source.getAssociatedImage('label') is None
    assert source.getAssociatedImage('thumbnail') is None
    assert source.frames == 1
    assert 'frames' not in source.getMetadata()


def test_ome_tiff_has_no_associated_images(ome_channels):
    assert geolargeimage.open(ome_channels).getAssociatedImagesList() == []


# -- the whole-slide file as an image -------------------------------------------------------------

def test_svs_is_one_frame_of_the_base_page(whole_slide_svs):
    source = geolargeimage.open(whole_slide_svs)
    metadata = source.getMetadata()
    assert source.frames == 1
    assert 'frames' not in metadata
    assert (metadata['sizeX'], metadata['sizeY']) == SVS_SIZE
    assert metadata['bandCount'] == 3
    assert metadata['levels'] == 4
    assert metadata['geospatial'] is False
    region, _ = source.getRegion(format='numpy', region={'left': 1000, 'top': 900,
                                                          'width': 600, 'height': 300})
    np.testing.assert_array_equal(region, page(whole_slide_svs, 1)[900:1200, 1000:1600])


def test_svs_magnification_and_pixel_size_come_from_the_description(whole_slide_svs):
    source = geolargeimage.open(whole_slide_svs)
    metadata = source.getMetadata()
    assert metadata['magnification'] == 20
    assert metadata['mm_x'] == pytest.approx(0.000499)
    assert metadata['mm_y'] == pytest.approx(0.000499)
    native = source.getNativeMagnification()
    assert native['magnification'] == 20
    assert native['mm_x'] == pytest.approx(0.000499)
    level = source.getMagnificationForLevel(source.levels - 3)
    assert level['magnification'] == 5
    assert level['mm_x'] == pytest.approx(0.000499 * 4)


def test_gdal_alone_takes_the_label_for_an_overview(whole_slide_svs):
    """The trap the library must avoid: GDAL's overviews of this file are the label and macro."""
    dataset = gdal.Open(str(whole_slide_svs))
    band = dataset.GetRasterBand(1)
    overviews = {(band.GetOverview(i).XSize, band.GetOverview(i).YSize)
                 for i in range(band.GetOverviewCount())}
    assert overviews == {SVS_LABEL_SIZE, SVS_MACRO_SIZE}


def test_svs_thumbnail_is_made_from_the_slide_not_the_label(whole_slide_svs):
    source = geolargeimage.open(whole_slide_svs)
    thumbnail, _ = source.getThumbnail(format='numpy')
    assert thumbnail.shape == (192, 256, 3)
    raw = raw_slide_read(whole_slide_svs, 256, 192)
    label = page(whole_slide_svs, 5)
    for band in range(3):
        assert abs(thumbnail[:, :, band].mean() - raw[:, :, band].mean()) < 2
        assert abs(thumbnail[:, :, band].mean() - label[:, :, band].mean()) > 30
    assert np.abs(thumbnail.astype(int) - raw).mean() < 3
    encoded, mime = source.getThumbnail(encoding='PNG')
    assert mime == 'image/png'
    assert abs(decode(encoded)[:, :, :3].mean() - raw.mean()) < 2


@pytest.mark.parametrize('number,factor', [(3, 4), (4, 16)])
def test_svs_levels_are_its_pyramid_pages(whole_slide_svs, number, factor):
    """A region reduced by a pyramid page's factor is that page's pixels (the page holds the floor
    of each block's mean; GDAL's average of the base page rounds, so it differs)."""
    source = geolargeimage.open(whole_slide_svs)
    stored = page(whole_slide_svs, number)
    width, height = SVS_SIZE[0] // factor, SVS_SIZE[1] // factor
    assert stored.shape == (height, width, 3)
    assert not np.array_equal(raw_slide_read(whole_slide_svs, width, height), stored)
    region, _ = source.getRegion(format='numpy', output={'maxWidth': width})
    assert region.shape == stored.shape
    np.testing.assert_array_equal(region, stored)


def test_svs_tiles_of_the_quarter_level_are_page_three(whole_slide_svs):
    source = geolargeimage.open(whole_slide_svs)
    quarter = page(whole_slide_svs, 3)
    z = source.levels - 3
    for x, y in ((0, 0), (1, 0), (0, 1), (1, 1)):
        tile = source.getTile(x, y, z, numpyAllowed=True)
        block = quarter[y * 256:(y + 1) * 256, x * 256:(x + 1) * 256]
        np.testing.assert_array_equal(tile[:block.shape[0], :block.shape[1]], block)


# -- associated images -----------------------------------------------------------------------------

def test_svs_associated_images_list(whole_slide_svs):
    assert geolargeimage.open(whole_slide_svs).getAssociatedImagesList() == \
        ['label', 'macro', 'thumbnail']


@pytest.mark.parametrize('name,number', [('label', 5), ('macro', 6), ('thumbnail', 2)])
def test_associated_image_as_numpy_is_the_page(whole_slide_svs, name, number):
    data, mime = geolargeimage.open(whole_slide_svs).getAssociatedImage(name, format='numpy')
    assert mime == 'numpy'
    expected = page(whole_slide_svs, number)
    assert data.dtype == np.uint8
    assert data.shape == expected.shape
    np.testing.assert_array_equal(data, expected)


def test_associated_label_png_decodes_to_the_label(whole_slide_svs):
    data, mime = geolargeimage.open(whole_slide_svs).getAssociatedImage('label', encoding='PNG')
    assert mime == 'image/png'
    assert data[:8] == b'\x89PNG\r\n\x1a\n'
    np.testing.assert_array_equal(decode(data), page(whole_slide_svs, 5))


def test_associated_image_default_is_jpeg(whole_slide_svs):
    data, mime = geolargeimage.open(whole_slide_svs).getAssociatedImage('macro')
    assert mime == 'image/jpeg'
    picture = decode(data)
    assert picture.shape == (SVS_MACRO_SIZE[1], SVS_MACRO_SIZE[0], 3)
    assert np.abs(picture.astype(int) - page(whole_slide_svs, 6)).mean() < 3


def test_associated_image_as_pil(whole_slide_svs):
    picture, mime = geolargeimage.open(whole_slide_svs).getAssociatedImage('label', format='PIL')
    assert mime == 'PIL'
    assert isinstance(picture, Image.Image)
    assert picture.size == SVS_LABEL_SIZE
    np.testing.assert_array_equal(np.asarray(picture.convert('RGB')), page(whole_slide_svs, 5))


@pytest.mark.parametrize('name,size,expected', [
    ('label', {'width': 105}, (105, 100)),
    ('label', {'height': 100}, (105, 100)),
    ('label', {'width': 100, 'height': 100}, (100, 95)),
    ('macro', {'width': 200, 'height': 200}, (200, 75)),
    ('macro', {'height': 30}, (80, 30)),
])
def test_associated_image_fits_width_and_height_keeping_aspect(whole_slide_svs, name, size,
                                                                expected):
    source = geolargeimage.open(whole_slide_svs)
    whole, _ = source.getAssociatedImage(name, format='numpy')
    data, _ = source.getAssociatedImage(name, format='numpy', **size)
    assert (data.shape[1], data.shape[0]) == expected
    assert data.shape[2] == 3
    for band in range(3):
        assert abs(data[:, :, band].mean() - whole[:, :, band].mean()) < 4
    encoded, mime = source.getAssociatedImage(name, encoding='PNG', **size)
    assert mime == 'image/png'
    assert decode(encoded).shape[:2] == data.shape[:2]


def test_unknown_associated_image_is_none(whole_slide_svs):
    source = geolargeimage.open(whole_slide_svs)
    assert source.getAssociatedImage('nosuchimage') is None
    assert source.getAssociatedImage('Label') is None
    assert source.getAssociatedImage('nosuchimage', format='numpy') is None


def test_label_and_macro_without_description_are_named_by_subfiletype(
        whole_slide_svs_undescribed):
    """§7: without a description, NewSubfileType 1 is the label and 9 the macro."""
    source = geolargeimage.open(whole_slide_svs_undescribed)
    assert {'label', 'macro'} <= set(source.getAssociatedImagesList())
    label, _ = source.getAssociatedImage('label', format='numpy')
    np.testing.assert_array_equal(label, page(whole_slide_svs_undescribed, 5))
    macro, _ = source.getAssociatedImage('macro', format='numpy')
    np.testing.assert_array_equal(macro, page(whole_slide_svs_undescribed, 6))
