"""A raster with a per-dataset mask and no overviews (issue #11: a failed read or no data is
never a picture): the overviews geolargeimage synthesizes carry no mask, so coarse pictures
take the mask from the stored level, and warps read the file itself. Compared with GDAL's own
decimated read of the mask."""

from __future__ import annotations

import io
import warnings

import mercantile
import numpy as np
import pytest
from osgeo import gdal
from PIL import Image
from test_warp_equivalence import reference_tile

import geolargeimage
from geolargeimage.io.raster import WARP_PYRAMID_MIN_SIZE


def masked_raster(path, width: int, height: int) -> tuple[str, np.ndarray]:
    """RGB noise with an internal mask whose no-data part is an off-centre disc and a stripe."""
    rng = np.random.default_rng(8)
    rows, cols = np.mgrid[0:height, 0:width]
    valid = ((rows - height * 0.4) ** 2 + (cols - width * 0.6) ** 2 > (height * 0.3) ** 2) \
        & (cols % 997 > 100)
    with gdal.config_options({'GDAL_TIFF_INTERNAL_MASK': 'YES'}):
        dataset = gdal.GetDriverByName('GTiff').Create(
            str(path), width, height, 3, options=['TILED=YES', 'COMPRESS=DEFLATE'])
        dataset.WriteArray(rng.integers(1, 255, (3, height, width), dtype=np.uint8))
        dataset.SetGeoTransform((583000, 0.5, 0, 4507000, 0, -0.5))
        dataset.SetProjection('EPSG:32618')
        dataset.CreateMaskBand(gdal.GMF_PER_DATASET)
        dataset.GetRasterBand(1).GetMaskBand().WriteArray(valid.astype(np.uint8) * 255)
        dataset = None
    return str(path), valid


@pytest.fixture(scope='module')
def masked(tmp_path_factory):
    return masked_raster(tmp_path_factory.mktemp('masked') / 'masked.tif',
                         WARP_PYRAMID_MIN_SIZE + 904, 3000)


def gdal_mask(path: str, width: int, height: int) -> np.ndarray:
    dataset = gdal.Open(path)
    return dataset.GetRasterBand(1).GetMaskBand().ReadAsArray(
        buf_xsize=width, buf_ysize=height)


def test_coarse_pictures_keep_the_mask(masked):
    path, _ = masked
    source = geolargeimage.open(path, encoding='PNG')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', geolargeimage.NoOverviewsWarning)
        thumbnail = np.asarray(Image.open(io.BytesIO(source.getThumbnail(encoding='PNG')[0])))
        tile = np.asarray(Image.open(io.BytesIO(source.getTile(0, 0, 0))))
    height, width = thumbnail.shape[:2]
    np.testing.assert_array_equal(thumbnail[..., 3], gdal_mask(path, width, height))
    assert (thumbnail[..., 3] == 0).mean() > 0.2
    tile_height, tile_width = (round(3000 / 2 ** (source.levels - 1)),
                               round(source.sizeX / 2 ** (source.levels - 1)))
    np.testing.assert_array_equal(tile[:tile_height, :tile_width, 3],
                                  gdal_mask(path, tile_width, tile_height))


def test_zoomed_out_web_mercator_tiles_keep_the_mask(masked):
    """A warp of the masked file at a coarse zoom equals gdal.Warp of the file, no-data
    transparent (it is not warped from the maskless synthesized overviews)."""
    path, _ = masked
    source = geolargeimage.open(path, projection='EPSG:3857', resample='nearest')
    bounds = source.getBounds('EPSG:4326')
    lon = (bounds['xmin'] + bounds['xmax']) / 2
    lat = (bounds['ymin'] + bounds['ymax']) / 2
    tile = mercantile.tile(lon, lat, source.levels - 4)
    ours = source.getTile(tile.x, tile.y, tile.z, numpyAllowed='always')
    reference = reference_tile(path, tile, 'near', None)
    assert (reference[..., 3] == 0).sum() > (reference[..., 3] == 255).sum() * 0.05
    assert (ours != reference).any(axis=2).mean() <= 0.005
