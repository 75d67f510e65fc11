"""Shared fixtures: small rasters with known pixels, made once per session by ``factory``.

Every raster stores ``factory.pixel_value(row, col, band)`` (or a documented variant of it), and
no size is a multiple of 256, so edge tiles are always partial.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from factory import make_raster  # noqa: E402

import geolargeimage.opening  # noqa: E402

#: Where the shared sample files live (read-only).
SAMPLES = Path('/work/shared/samples')

UTM_GEOTRANSFORM = (500000.0, 0.5, 0.0, 4500000.0, 0.0, -0.5)
DEM_GEOTRANSFORM = (-75.0, 0.001, 0.0, 40.0, 0.0, -0.001)
DEM_NODATA = -9999.0
#: Rows and columns of the DEM's nodata block.
DEM_NODATA_ROWS = slice(100, 150)
DEM_NODATA_COLS = slice(200, 300)
#: The four entries of the paletted raster's colour table.
PALETTE = ((255, 0, 0, 255), (0, 255, 0, 255), (0, 0, 255, 255), (255, 255, 0, 255))
#: Factor between the factory formula and the uint16 raster's values.
UINT16_FACTOR = 200
RGB_INTERPRETATIONS = (gdal.GCI_RedBand, gdal.GCI_GreenBand, gdal.GCI_BlueBand)
RGBA_INTERPRETATIONS = (*RGB_INTERPRETATIONS, gdal.GCI_AlphaBand)


def formula(width: int, height: int, bands: int, dtype: str = 'uint8') -> np.ndarray:
    """``factory.expected`` of a whole ``height`` × ``width`` raster, computed fast (broadcast
    int32 arithmetic instead of meshgrids); the tests check it equals ``expected``."""
    rows = np.arange(height, dtype=np.uint32)[:, None, None] * 3
    cols = np.arange(width, dtype=np.uint32)[None, :, None] * 7
    band = np.arange(1, bands + 1, dtype=np.uint32)[None, None, :] * 50
    return ((rows + cols + band) % 251).astype(dtype)


def rgba_values(width: int, height: int) -> np.ndarray:
    """The rgba raster: the formula in R, G, B; alpha 0 in the left quarter, 255 elsewhere."""
    data = formula(width, height, 4)
    data[:, :, 3] = 255
    data[:, :width // 4, 3] = 0
    return data


def dem_values(width: int, height: int) -> np.ndarray:
    """The DEM: the formula of band 1 as float32 plus 0.25, with a block of nodata."""
    data = formula(width, height, 1, 'float32') + np.float32(0.25)
    data[DEM_NODATA_ROWS, DEM_NODATA_COLS, 0] = DEM_NODATA
    return data


def paletted_values(width: int, height: int) -> np.ndarray:
    """The paletted raster: the formula of band 1 modulo 4 (indices into PALETTE)."""
    return formula(width, height, 1) % 4


@pytest.fixture(scope='session')
def raster_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp('rasters')


@pytest.fixture(scope='session')
def rgb_tiled(raster_dir: Path) -> Path:
    """1000×700 RGB uint8, 256 tiles, overviews 2 and 4, EPSG:32618 with 0.5 m pixels."""
    return make_raster(raster_dir / 'rgb_tiled.tif', 1000, 700, 3,
                       options=['TILED=YES', 'BLOCKXSIZE=256', 'BLOCKYSIZE=256'],
                       overviews=[2, 4], epsg=32618, geotransform=UTM_GEOTRANSFORM,
                       interpretations=RGB_INTERPRETATIONS)


@pytest.fixture(scope='session')
def rgb_striped_no_overviews(raster_dir: Path) -> Path:
    """3000×2000 RGB uint8 in strips, no overviews, no georeferencing."""
    return make_raster(raster_dir / 'rgb_striped.tif', 3000, 2000, 3, data=formula(3000, 2000, 3),
                       interpretations=RGB_INTERPRETATIONS)


@pytest.fixture(scope='session')
def dem_float32(raster_dir: Path) -> Path:
    """600×400 float32 DEM in EPSG:4326 with nodata -9999 in a block (see dem_values)."""
    return make_raster(raster_dir / 'dem.tif', 600, 400, 1, dtype='float32',
                       data=dem_values(600, 400), nodata=DEM_NODATA, epsg=4326,
                       geotransform=DEM_GEOTRANSFORM, options=['TILED=YES'])


@pytest.fixture(scope='session')
def uint16_rgb(raster_dir: Path) -> Path:
    """400×300 uint16 RGB holding the formula × 200."""
    data = formula(400, 300, 3, 'uint16') * UINT16_FACTOR
    return make_raster(raster_dir / 'uint16.tif', 400, 300, 3, dtype='uint16', data=data)


@pytest.fixture(scope='session')
def paletted(raster_dir: Path) -> Path:
    """500×300 uint8 indices 0..3 with a 4-entry colour table (PALETTE)."""
    return make_raster(raster_dir / 'paletted.tif', 500, 300, 1,
                       data=paletted_values(500, 300), color_table=PALETTE)


@pytest.fixture(scope='session')
def rgba(raster_dir: Path) -> Path:
    """500×400 RGBA uint8 (interpretations R, G, B, Alpha); alpha 0 in the left quarter."""
    return make_raster(raster_dir / 'rgba.tif', 500, 400, 4, data=rgba_values(500, 400),
                       interpretations=RGBA_INTERPRETATIONS)


@pytest.fixture(scope='session')
def ungeoreferenced_gray(raster_dir: Path) -> Path:
    """700×500 one-band uint8, no georeferencing, TIFF resolution 20 px/cm (0.5 mm pixels)."""
    return make_raster(raster_dir / 'gray.tif', 700, 500, 1,
                       metadata={'TIFFTAG_XRESOLUTION': '20', 'TIFFTAG_YRESOLUTION': '20',
                                 'TIFFTAG_RESOLUTIONUNIT': '3'})


@pytest.fixture(scope='session')
def cog(raster_dir: Path) -> Path:
    """1500×1100 RGB uint8 COG with 256 blocks (the COG driver builds the overviews)."""
    return make_raster(raster_dir / 'cog.tif', 1500, 1100, 3, driver='COG',
                       data=formula(1500, 1100, 3), options=['BLOCKSIZE=256'],
                       interpretations=RGB_INTERPRETATIONS)


@pytest.fixture(scope='session')
def tiled_512(raster_dir: Path) -> Path:
    """1300×900 RGB uint8 tiled with 512×512 blocks."""
    return make_raster(raster_dir / 'tiled_512.tif', 1300, 900, 3, data=formula(1300, 900, 3),
                       options=['TILED=YES', 'BLOCKXSIZE=512', 'BLOCKYSIZE=512'],
                       interpretations=RGB_INTERPRETATIONS)


@pytest.fixture(autouse=True)
def _clear_source_cache():
    """Each test starts and ends with no shared sources."""
    yield
    geolargeimage.opening.clear_cache()


def gdal_pyramid_copy(path, folder) -> Path:
    """A GTiff copy of ``path`` with the overviews ``gdaladdo -r average 4 8 16 …`` would build
    (down to ~128 px): what the library's synthesized pyramid promises to equal."""
    copy = Path(folder) / ('pyramid-' + Path(path).name)
    gdal.Translate(str(copy), str(path), format='GTiff').Close()
    dataset = gdal.Open(str(copy), gdal.GA_Update)
    factors, factor = [], 2
    while max(dataset.RasterXSize, dataset.RasterYSize) / factor > 128:
        factor *= 2
        factors.append(factor)
    dataset.BuildOverviews('AVERAGE', factors)
    dataset.Close()
    return copy
