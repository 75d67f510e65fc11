"""Output paths: the writers make GeoTIFF (and COG) files only, so a path named for another
format is refused with an OptionsError listing the extensions they write, before anything is
written; every TIFF name writes the file."""

from __future__ import annotations

import numpy as np
import pytest
from factory import expected
from osgeo import gdal

import geolargeimage
from geolargeimage import errors

# .zarr and .zarr.zip are the sink's zarr stores (tests/test_zarr.py); convert refuses them.
BAD_NAMES = ['out.png', 'out.jpg', 'out.db', 'out', 'out.tif.gz', 'out.zip']
GOOD_NAMES = ['out.tif', 'out.tiff', 'OUT.TIF', 'out.ptif', 'out.ptiff', 'out.ome.tif']


def formula_sink() -> geolargeimage.ImageSink:
    sink = geolargeimage.new()
    sink.addTile(expected(slice(0, 70), slice(0, 90), 3))
    return sink


def gdal_pixels(path) -> np.ndarray:
    return gdal.Open(str(path)).ReadAsArray().transpose(1, 2, 0)


@pytest.mark.parametrize('name, good', list(zip(BAD_NAMES, GOOD_NAMES + GOOD_NAMES)))
def test_the_sink_refuses_other_formats_and_writes_nothing(tmp_path, name, good):
    folder = tmp_path / 'out'
    folder.mkdir()
    sink = formula_sink()
    with pytest.raises(errors.OptionsError, match=r'\.tif, \.tiff') as caught:
        sink.write(folder / name)
    assert name in str(caught.value)
    assert list(folder.iterdir()) == []
    sink.write(folder / good, lossy=False)  # every TIFF name is written
    assert [path.name for path in folder.iterdir()] == [good]
    np.testing.assert_array_equal(gdal_pixels(folder / good),
                                  expected(slice(0, 70), slice(0, 90), 3))


@pytest.mark.parametrize('name', ['copy.zarr.zip', 'copy.png', 'copy'])
def test_convert_refuses_other_formats_and_writes_nothing(tmp_path, rgb_tiled, name):
    folder = tmp_path / 'out'
    folder.mkdir()
    with pytest.raises(errors.OptionsError, match=r'\.tif, \.tiff'):
        geolargeimage.convert(rgb_tiled, folder / name)
    with pytest.raises(errors.OptionsError, match=r'\.tif, \.tiff'):
        geolargeimage.convert(rgb_tiled, folder / name, cog=True)
    assert list(folder.iterdir()) == []
    target = geolargeimage.convert(rgb_tiled, folder / 'copy.ptif')
    np.testing.assert_array_equal(gdal_pixels(target)[100:110, 200:220],
                                  expected(slice(100, 110), slice(200, 220), 3))


@pytest.mark.parametrize('name', ['region.png', 'region.zarr.zip', 'region'])
def test_tiled_regions_refuse_other_formats_and_create_nothing(tmp_path, rgb_tiled, name):
    source = geolargeimage.open(rgb_tiled)
    region = {'left': 100, 'top': 50, 'width': 40, 'height': 30}
    with pytest.raises(errors.OptionsError, match=r'\.tif, \.tiff'):
        source.getRegion(encoding='TILED', region=region,
                         output={'path': str(tmp_path / 'sub' / name)})
    assert list(tmp_path.iterdir()) == []
    path, mime = source.getRegion(encoding='TILED', region=region,
                                  output={'path': str(tmp_path / 'sub' / 'region.tif')})
    assert mime == 'image/tiff'
    np.testing.assert_array_equal(gdal_pixels(path), expected(slice(50, 80), slice(100, 140), 3))
