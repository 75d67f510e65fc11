"""Reading the static facts of a raster (:class:`~geolargeimage.raster_info.RasterInfo`) from
an open GDAL dataset."""

from __future__ import annotations

import numpy as np
from osgeo import gdal, gdal_array

from geolargeimage import errors
from geolargeimage.io.levels import overview_sizes
from geolargeimage.raster_info import BandInfo, RasterInfo

_INTERPRETATIONS = {
    gdal.GCI_GrayIndex: 'gray', gdal.GCI_PaletteIndex: 'palette', gdal.GCI_RedBand: 'red',
    gdal.GCI_GreenBand: 'green', gdal.GCI_BlueBand: 'blue', gdal.GCI_AlphaBand: 'alpha',
    gdal.GCI_HueBand: 'hue', gdal.GCI_SaturationBand: 'saturation',
    gdal.GCI_LightnessBand: 'lightness', gdal.GCI_CyanBand: 'cyan',
    gdal.GCI_MagentaBand: 'magenta', gdal.GCI_YellowBand: 'yellow', gdal.GCI_BlackBand: 'black',
    gdal.GCI_YCbCr_YBand: 'Y', gdal.GCI_YCbCr_CbBand: 'Cb', gdal.GCI_YCbCr_CrBand: 'Cr',
    gdal.GCI_Undefined: 'undefined',
}


def read_info(path: str, dataset: gdal.Dataset, *, overviews: bool = True) -> RasterInfo:
    """The facts of ``dataset`` (opened from ``path``); ``overviews=False`` leaves out the
    overview sizes (a warped VRT's overviews are warps of their own, set up when asked for).

    Raises :class:`~geolargeimage.errors.SourceError` for a dataset without bands or size, and
    :class:`~geolargeimage.errors.CorruptDataError` for a YCbCr JPEG TIFF without 3 samples.
    """
    if dataset.RasterCount == 0:
        subdatasets = dataset.GetSubDatasets()
        hint = f' (it holds {len(subdatasets)} subdatasets)' if subdatasets else ''
        raise errors.SourceError(f'{path} has no raster bands{hint}')
    width, height = dataset.RasterXSize, dataset.RasterYSize
    if width <= 0 or height <= 0:
        raise errors.SourceError(f'{path} has no size ({width}x{height})')
    structure = dataset.GetMetadata('IMAGE_STRUCTURE') or {}
    if structure.get('COMPRESSION') == 'YCbCr JPEG' and dataset.RasterCount != 3:
        # TIFF 6.0: YCbCr has 3 samples. GDAL's multi-threaded decoder crashes on the others.
        raise errors.CorruptDataError(f'{path} is a YCbCr JPEG TIFF with {dataset.RasterCount} '
                                      'sample(s) per pixel; YCbCr needs 3')
    bands = tuple(_band_info(dataset.GetRasterBand(i), i)
                  for i in range(1, dataset.RasterCount + 1))
    first = dataset.GetRasterBand(1)
    block_width, block_height = first.GetBlockSize()
    sizes = tuple(overview_sizes(dataset)) if overviews else ()
    return RasterInfo(path, width, height, bands, block_width,
                      block_height, tuple(sorted(sizes, reverse=True)),
                      dataset.GetDriver().ShortName, dataset.GetMetadata() or {}, structure)


def _band_info(band: gdal.Band, index: int) -> BandInfo:
    table = band.GetColorTable()
    colors = (tuple(tuple(table.GetColorEntry(i)) for i in range(table.GetCount()))
              if table else None)
    categories = band.GetCategoryNames()
    return BandInfo(
        index=index,
        dtype=np.dtype(gdal_array.GDALTypeCodeToNumericTypeCode(band.DataType)),
        interpretation=_INTERPRETATIONS.get(band.GetColorInterpretation(), 'undefined'),
        nodata=_finite_or_none(band.GetNoDataValue()),
        scale=band.GetScale(), offset=band.GetOffset(), unit=band.GetUnitType() or None,
        description=band.GetDescription() or None, color_table=colors,
        categories=tuple(categories) if categories else None, mask_flags=band.GetMaskFlags())


def _finite_or_none(value: float | None) -> float | None:
    """Nodata as a float (NaN is a real nodata value and is kept)."""
    return None if value is None else float(value)
