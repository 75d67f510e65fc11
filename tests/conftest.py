"""Shared fixtures: small rasters with known pixels, made once per session by ``factory``.

Every raster stores ``factory.pixel_value(row, col, band)`` (or a documented variant of it), and
no size is a multiple of 256, so edge tiles are always partial.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import tifffile
from factory import make_raster
from osgeo import gdal, osr

import geolargeimage.source.opening


#: Where the shared sample files live (read-only).
def _samples_folder() -> Path:
    """The shared real-world samples: $GEOLARGEIMAGE_SAMPLES, or ``shared/samples`` beside the
    repository (where CI and the developers' machines have it)."""
    if os.environ.get('GEOLARGEIMAGE_SAMPLES'):
        return Path(os.environ['GEOLARGEIMAGE_SAMPLES'])
    beside = Path(__file__).resolve().parents[2] / 'shared' / 'samples'
    return beside if beside.is_dir() else Path('/work/shared/samples')


SAMPLES = _samples_folder()

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
    geolargeimage.source.opening.clear_cache()


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


# -- geospatial fixtures and helpers (projections, CRS units, TILED export) ----------------------

#: The smooth rasters' geotransform: 30 m pixels in EPSG:32618 (about 74.4 W, 40.6 N).
SMOOTH_GEOTRANSFORM = (500000.0, 30.0, 0.0, 4500000.0, 0.0, -30.0)
SMOOTH_SIZE = (700, 500)


def smooth_values(width: int, height: int, bands: int = 1, dtype: str = 'float32') -> np.ndarray:
    """A smooth field (a tilted plane plus gentle waves, a few units per 10 pixels), band b
    offset by 20·b, so warps that differ by a sub-pixel shift differ by a fraction of a unit."""
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float64)
    plane = 0.15 * rows + 0.1 * cols + 5 * np.sin(cols / 40.0) + 3 * np.cos(rows / 35.0) + 10
    return np.stack([plane + 20 * band for band in range(bands)], axis=2).astype(dtype)


@pytest.fixture(scope='session')
def smooth_float(raster_dir: Path) -> Path:
    """700×500 float32 smooth field (smooth_values) in EPSG:32618, 30 m, overviews 2 and 4."""
    width, height = SMOOTH_SIZE
    return make_raster(raster_dir / 'smooth_float.tif', width, height, 1, dtype='float32',
                       data=smooth_values(width, height), epsg=32618,
                       geotransform=SMOOTH_GEOTRANSFORM, options=['TILED=YES'],
                       overviews=[2, 4])


@pytest.fixture(scope='session')
def smooth_rgb(raster_dir: Path) -> Path:
    """700×500 RGB uint8 smooth field (smooth_values) in EPSG:32618, 30 m, overviews 2 and 4."""
    width, height = SMOOTH_SIZE
    return make_raster(raster_dir / 'smooth_rgb.tif', width, height, 3, dtype='uint8',
                       data=np.round(smooth_values(width, height, 3, 'float64')).astype('uint8'),
                       epsg=32618, geotransform=SMOOTH_GEOTRANSFORM, options=['TILED=YES'],
                       overviews=[2, 4], interpretations=RGB_INTERPRETATIONS)


def gdal_warp(path, dst_srs: str, bounds, width: int, height: int,
              resample: str = 'near') -> np.ndarray:
    """Independent reference: ``gdal.Warp`` of ``path`` into ``dst_srs`` over ``bounds``
    (xmin, ymin, xmax, ymax) at ``width`` × ``height`` with a destination alpha, as an
    ``(h, w, bands + 1)`` array."""
    with gdal.quiet_errors():  # PROJ warns about every row beyond web mercator's latitudes
        warped = gdal.Warp('', str(path), format='MEM', dstSRS=dst_srs,
                           outputBounds=tuple(bounds), width=width, height=height,
                           resampleAlg=resample, dstAlpha=True)
    data = warped.ReadAsArray()
    return data.reshape(-1, height, width).transpose(1, 2, 0)


# -- multi-frame, OME-TIFF, whole-slide and netCDF fixtures (frames and associated images) --------

#: Size of the synthetic Aperio slide's base page; its pyramid pages are 4 and 16 times smaller.
SVS_SIZE = (1600, 1200)
SVS_DESCRIPTION = ('Aperio Image Library v12.0.15 \r\n1600x1200 [0,0 1600x1200] (256x256) RAW Q=70'
                   '|AppMag = 20|StripeWidth = 1000|ScanScope ID = SS1234|MPP = 0.4990')
#: Label and macro sizes (width, height): another aspect than the slide's.
SVS_LABEL_SIZE = (210, 200)
SVS_MACRO_SIZE = (400, 150)
#: Size and channel names of the 3-channel OME-TIFF; plane c holds ``plane_values(c, ...)``.
OME_SIZE = (700, 500)
OME_CHANNELS = ('DAPI', 'FITC', 'TRITC')
#: Size of the C=2 Z=3 OME-TIFFs; plane (c, z) holds ``plane_values(c * 3 + z, ...)``.
OME_CZ_SIZE = (300, 260)
#: Size of the multi-page RGB GeoTIFF's frame pages (and of its one odd-sized page).
MULTIPAGE_SIZE = (500, 300)
MULTIPAGE_ODD_SIZE = (200, 200)
MULTIPAGE_PAGES = 3
#: The multi-page GeoTIFF's pages: 30 m pixels in EPSG:32618 (about 74.9 W, 40.6 N).
MULTIPAGE_GEOTRANSFORM = (500000.0, 30.0, 0.0, 4500000.0, 0.0, -30.0)
#: Pages of the writer-metadata TIFF: (c, z) in file order, channel names and z values (µm).
WRITER_SIZE = (300, 200)
WRITER_POSITIONS = ((0, 0), (1, 0), (0, 1), (1, 1))
WRITER_CHANNELS = ('DAPI', 'CY5')
WRITER_Z_VALUES = (0.0, 2.5)
#: The netCDF grids: two variables of one grid, and one variable with three time steps.
NETCDF_SIZE = (300, 200)
NETCDF_VARIABLES = ('temp', 'precip')
NETCDF_TIMES = (0.0, 24.0, 48.0)


def plane_values(plane: int, width: int, height: int, dtype: str = 'uint16') -> np.ndarray:
    """Plane ``plane`` of the multi-frame fixtures: ``plane * 1000 + row + col``, (h, w)."""
    rows = np.arange(height, dtype=np.int64)[:, None]
    cols = np.arange(width, dtype=np.int64)[None, :]
    return (plane * 1000 + rows + cols).astype(dtype)


def multipage_values(page: int, width: int, height: int) -> np.ndarray:
    """Page ``page`` (0-based) of the multi-page RGB GeoTIFF:
    ``(page * 60 + row + 2 * col + band * 20) % 256``, (h, w, 3) uint8."""
    rows = np.arange(height)[:, None, None]
    cols = np.arange(width)[None, :, None]
    bands = np.arange(3)[None, None, :]
    return ((page * 60 + rows + 2 * cols + bands * 20) % 256).astype(np.uint8)


def svs_base_values(width: int, height: int) -> np.ndarray:
    """The slide: smooth ramps (R down the rows, G across the columns, B diagonally) plus a ±3
    checkerboard, so decimations by any method agree within a few levels, (h, w, 3) uint8."""
    rows = np.arange(height)[:, None]
    cols = np.arange(width)[None, :]
    checker = ((rows + cols) % 2) * 6 - 3
    red = 30 + rows * 180 // height + checker
    green = 30 + cols * 180 // width + checker
    blue = 60 + (rows + cols) * 120 // (width + height) + checker
    return np.stack(np.broadcast_arrays(red, green, blue), axis=2).astype(np.uint8)


def block_mean(pixels: np.ndarray, factor: int) -> np.ndarray:
    """``pixels`` reduced ``factor`` times by the floor of each block's mean."""
    height, width = pixels.shape[0] // factor, pixels.shape[1] // factor
    blocks = pixels[:height * factor, :width * factor].reshape(height, factor, width, factor, -1)
    return (blocks.astype(np.uint32).sum(axis=(1, 3)) // (factor * factor)).astype(pixels.dtype)


def svs_label_values() -> np.ndarray:
    """The label: near-white with a navy box (mean far from the slide's)."""
    width, height = SVS_LABEL_SIZE
    label = np.full((height, width, 3), 250, np.uint8)
    label[50:150, 40:170] = (20, 20, 120)
    label[0, 0] = (0, 0, 0)
    return label


def svs_macro_values() -> np.ndarray:
    """The macro: columns ramp in R, rows in G, a constant 90 in B."""
    width, height = SVS_MACRO_SIZE
    rows, cols = np.mgrid[0:height, 0:width]
    return np.stack([cols * 255 // width, rows * 255 // height, np.full_like(rows, 90)],
                    axis=2).astype(np.uint8)


def write_svs(path: Path, *, describe_associated: bool = True) -> Path:
    """Write the Aperio-SVS-like TIFF (uncompressed), pages in SVS order:

    1. base 1600×1200 RGB (svs_base_values), tiled 256, description SVS_DESCRIPTION;
    2. thumbnail 200×150, stripped (block_mean 8);
    3. pyramid page 400×300, tiled 256 (block_mean 4 of the base);
    4. pyramid page 100×75, tiled 256 (block_mean 16 of the base);
    5. label 210×200, stripped, NewSubfileType 1, description '...\\r\\nlabel 210x200';
    6. macro 400×150, stripped, NewSubfileType 9, description '...\\r\\nmacro 400x150'.

    Without ``describe_associated`` the label and macro have no description (only their
    NewSubfileType tells them apart).
    """
    width, height = SVS_SIZE
    base = svs_base_values(width, height)
    head = 'Aperio Image Library v12.0.15 \r\n'
    common = {'photometric': 'rgb', 'metadata': None}
    with tifffile.TiffWriter(path) as tif:
        tif.write(base, tile=(256, 256), description=SVS_DESCRIPTION, **common)
        tif.write(block_mean(base, 8), rowsperstrip=16, **common,
                  description=head + f'{width}x{height} -> 200x150 - |AppMag = 20|MPP = 0.4990')
        for factor in (4, 16):
            tif.write(block_mean(base, factor), tile=(256, 256), **common,
                      description=head + f'{width}x{height} [0,0 {width}x{height}] (256x256) -> '
                      f'{width // factor}x{height // factor} RAW Q=70|AppMag = 20|MPP = 0.4990')
        for pixels, subfiletype, name, size in ((svs_label_values(), 1, 'label', SVS_LABEL_SIZE),
                                                (svs_macro_values(), 9, 'macro', SVS_MACRO_SIZE)):
            description = head + '%s %dx%d' % (name, *size) if describe_associated else None
            tif.write(pixels, subfiletype=subfiletype, rowsperstrip=16, description=description,
                      **common)
    return path


@pytest.fixture(scope='session')
def whole_slide_svs(raster_dir: Path) -> Path:
    """The Aperio-SVS-like TIFF of write_svs: slide, thumbnail, two pyramid pages, label, macro."""
    return write_svs(raster_dir / 'slide.svs')


@pytest.fixture(scope='session')
def whole_slide_svs_undescribed(raster_dir: Path) -> Path:
    """write_svs with a label and macro known only by NewSubfileType (1 and 9)."""
    return write_svs(raster_dir / 'slide-undescribed.svs', describe_associated=False)


@pytest.fixture(scope='session')
def ome_channels(raster_dir: Path) -> Path:
    """OME-TIFF, CYX uint16 700×500, channels DAPI/FITC/TRITC (plane c = plane_values(c)),
    PhysicalSizeX/Y 0.325 µm, tiled 256, a SubIFD pyramid of ::2 and ::4 decimations."""
    path = raster_dir / 'channels.ome.tif'
    width, height = OME_SIZE
    data = np.stack([plane_values(c, width, height) for c in range(len(OME_CHANNELS))])
    metadata = {'axes': 'CYX', 'Channel': {'Name': list(OME_CHANNELS)},
                'PhysicalSizeX': 0.325, 'PhysicalSizeXUnit': 'µm',
                'PhysicalSizeY': 0.325, 'PhysicalSizeYUnit': 'µm'}
    with tifffile.TiffWriter(path, ome=True) as tif:
        tif.write(data, subifds=2, tile=(256, 256), metadata=metadata)
        tif.write(data[:, ::2, ::2], subfiletype=1, tile=(256, 256))
        tif.write(data[:, ::4, ::4], subfiletype=1, tile=(256, 256))
    return path


@pytest.fixture(scope='session', params=['CZYX', 'ZCYX'])
def ome_cz(request: pytest.FixtureRequest, raster_dir: Path) -> Path:
    """OME-TIFF with C=2 (channels 'A', 'B') and Z=3, uint16 300×260, stored in the order of the
    param (DimensionOrder XYZCT for CZYX, XYCZT for ZCYX); plane (c, z) = plane_values(3c + z)."""
    axes = request.param
    path = raster_dir / f'cz-{axes.lower()}.ome.tif'
    width, height = OME_CZ_SIZE
    data = np.stack([np.stack([plane_values(3 * c + z, width, height) for z in range(3)])
                     for c in range(2)])
    if axes == 'ZCYX':
        data = np.ascontiguousarray(data.transpose(1, 0, 2, 3))
    tifffile.imwrite(path, data, ome=True, tile=(256, 256),
                     metadata={'axes': axes, 'Channel': {'Name': ['A', 'B']}})
    return path


def _append_pages(path: Path, pages: list[gdal.Dataset], options: list[str]) -> Path:
    """Write MEM datasets as the pages of one GTiff (``APPEND_SUBDATASET`` after the first)."""
    for number, page in enumerate(pages):
        extra = ['APPEND_SUBDATASET=YES'] if number else []
        gdal.Translate(str(path), page, format='GTiff', creationOptions=options + extra).Close()
    return path


def _mem(pixels: np.ndarray, **metadata: str) -> gdal.Dataset:
    """A MEM dataset of ``pixels`` ((h, w) or (h, w, bands)) with ``metadata`` items."""
    pixels = pixels if pixels.ndim == 3 else pixels[:, :, None]
    height, width, bands = pixels.shape
    gdal_type = gdal.GDT_Byte if pixels.dtype == np.uint8 else gdal.GDT_UInt16
    mem = gdal.GetDriverByName('MEM').Create('', width, height, bands, gdal_type)
    for band in range(bands):
        mem.GetRasterBand(band + 1).WriteArray(pixels[:, :, band])
    for key, value in metadata.items():
        mem.SetMetadataItem(key, value)
    return mem


@pytest.fixture(scope='session')
def multipage_rgb(raster_dir: Path) -> Path:
    """A GDAL multi-page GeoTIFF: 3 RGB uint8 pages of 500×300 (multipage_values(page)), tiled,
    EPSG:32618 30 m, then one 200×200 RGB page (not a frame)."""
    width, height = MULTIPAGE_SIZE
    pages = []
    for page in range(MULTIPAGE_PAGES):
        mem = _mem(multipage_values(page, width, height))
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(32618)
        mem.SetSpatialRef(srs)
        mem.SetGeoTransform(list(MULTIPAGE_GEOTRANSFORM))
        for band, interpretation in enumerate(RGB_INTERPRETATIONS, start=1):
            mem.GetRasterBand(band).SetColorInterpretation(interpretation)
        pages.append(mem)
    odd_width, odd_height = MULTIPAGE_ODD_SIZE
    pages.append(_mem(multipage_values(9, odd_width, odd_height)))
    return _append_pages(raster_dir / 'multipage.tif', pages, ['TILED=YES', 'COMPRESS=DEFLATE'])


@pytest.fixture(scope='session')
def writer_frames(raster_dir: Path) -> Path:
    """A multi-page uint16 TIFF whose pages carry our writer's GEOLARGEIMAGE_FRAME metadata:
    page i is at (c, z) = WRITER_POSITIONS[i], named WRITER_CHANNELS[c], z value
    WRITER_Z_VALUES[z], and holds plane_values(i)."""
    width, height = WRITER_SIZE
    pages = []
    for number, (c, z) in enumerate(WRITER_POSITIONS):
        record = {'axes': {'c': c, 'z': z}, 'values': {'z': WRITER_Z_VALUES[z]},
                  'channel': WRITER_CHANNELS[c]}
        pages.append(_mem(plane_values(number, width, height),
                          GEOLARGEIMAGE_FRAME=json.dumps(record)))
    return _append_pages(raster_dir / 'writer-frames.tif', pages, ['TILED=YES'])


def _netcdf_root(path: Path):
    dataset = gdal.GetDriverByName('netCDF').CreateMultiDimensional(str(path))
    return dataset, dataset.GetRootGroup()


@pytest.fixture(scope='session')
def netcdf_variables(raster_dir: Path) -> Path:
    """netCDF with float32 variables 'temp' (plane_values(0)) and 'precip' (plane_values(1)) on
    one 300×200 y/x grid, then 'other' (plane_values(5)) on a 40×30 grid (not a frame)."""
    path = raster_dir / 'variables.nc'
    width, height = NETCDF_SIZE
    dataset, root = _netcdf_root(path)
    dim_y = root.CreateDimension('y', None, None, height)
    dim_x = root.CreateDimension('x', None, None, width)
    float32 = gdal.ExtendedDataType.Create(gdal.GDT_Float32)
    for number, name in enumerate(NETCDF_VARIABLES):
        root.CreateMDArray(name, [dim_y, dim_x], float32).Write(
            plane_values(number, width, height, 'float32'))
    small_y = root.CreateDimension('y2', None, None, 30)
    small_x = root.CreateDimension('x2', None, None, 40)
    root.CreateMDArray('other', [small_y, small_x], float32).Write(
        plane_values(5, 40, 30, 'float32'))
    del root, dataset
    return path


@pytest.fixture(scope='session')
def netcdf_time(raster_dir: Path) -> Path:
    """netCDF with a float32 variable 'temp' on time/y/x (3 × 200 × 300): time step t holds
    plane_values(t); the 'time' coordinate is NETCDF_TIMES hours since 2000-01-01."""
    path = raster_dir / 'time.nc'
    width, height = NETCDF_SIZE
    dataset, root = _netcdf_root(path)
    dim_t = root.CreateDimension('time', None, None, len(NETCDF_TIMES))
    dim_y = root.CreateDimension('y', None, None, height)
    dim_x = root.CreateDimension('x', None, None, width)
    times = root.CreateMDArray('time', [dim_t], gdal.ExtendedDataType.Create(gdal.GDT_Float64))
    times.Write(np.array(NETCDF_TIMES))
    times.SetUnit('hours since 2000-01-01')
    temp = root.CreateMDArray('temp', [dim_t, dim_y, dim_x],
                              gdal.ExtendedDataType.Create(gdal.GDT_Float32))
    temp.Write(np.stack([plane_values(t, width, height, 'float32')
                         for t in range(len(NETCDF_TIMES))]))
    del temp, times, root, dataset
    return path


@pytest.fixture(scope='session')
def netcdf_variables_time(raster_dir: Path) -> Path:
    """netCDF with float32 variables 'temp' and 'precip', each on time/y/x (3 × 40 × 60): variable
    c at time step t holds plane_values(10 * c + t)."""
    path = raster_dir / 'variables-time.nc'
    dataset, root = _netcdf_root(path)
    dim_t = root.CreateDimension('time', None, None, len(NETCDF_TIMES))
    dim_y = root.CreateDimension('y', None, None, 40)
    dim_x = root.CreateDimension('x', None, None, 60)
    times = root.CreateMDArray('time', [dim_t], gdal.ExtendedDataType.Create(gdal.GDT_Float64))
    times.Write(np.array(NETCDF_TIMES))
    times.SetUnit('hours since 2000-01-01')
    float32 = gdal.ExtendedDataType.Create(gdal.GDT_Float32)
    for c, name in enumerate(NETCDF_VARIABLES):
        root.CreateMDArray(name, [dim_t, dim_y, dim_x], float32).Write(
            np.stack([plane_values(10 * c + t, 60, 40, 'float32')
                      for t in range(len(NETCDF_TIMES))]))
    del times, root, dataset
    return path


@pytest.fixture
def exact_transformer():
    """Warps with the exact transformer (config ``warp_error_threshold`` 0) during the test."""
    geolargeimage.config.setConfig('warp_error_threshold', 0)
    yield
    geolargeimage.config.setConfig('warp_error_threshold', None)


@pytest.fixture
def terminal(monkeypatch):
    """stderr looks like a terminal and progress bars show at once; the progress module."""
    import importlib
    progress = importlib.import_module('geolargeimage.write.progress')
    monkeypatch.setattr(progress, 'PROGRESS_DELAY', 0)
    monkeypatch.setattr(type(progress.sys.stderr), 'isatty', lambda stream: True, raising=False)
    return progress
