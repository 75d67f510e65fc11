"""Which GDAL resampling kernel a read uses: ``auto`` resolved per read, and GDAL's codes."""

from __future__ import annotations

from osgeo import gdal

from geolargeimage.enums import Resampling
from geolargeimage.grid import Window
from geolargeimage.raster_info import RasterInfo

#: GDAL's RasterIO code of each kernel.
GDAL_KERNELS = {
    Resampling.NEAREST: gdal.GRIORA_NearestNeighbour, Resampling.BILINEAR: gdal.GRIORA_Bilinear,
    Resampling.CUBIC: gdal.GRIORA_Cubic, Resampling.CUBICSPLINE: gdal.GRIORA_CubicSpline,
    Resampling.LANCZOS: gdal.GRIORA_Lanczos, Resampling.AVERAGE: gdal.GRIORA_Average,
    Resampling.MODE: gdal.GRIORA_Mode, Resampling.GAUSS: gdal.GRIORA_Gauss,
    Resampling.RMS: gdal.GRIORA_RMS,
}


def resolve_kernel(info: RasterInfo, resampling: Resampling, window: Window, out_width: int,
                   out_height: int, band_list: list[int]) -> Resampling:
    """The kernel ``auto`` stands for in a read of ``window`` into ``out_width`` ×
    ``out_height``: nearest for no scaling or paletted data, average when shrinking; when
    enlarging, cubic, except where values must not blend (an alpha band, a mask or nodata:
    cubic would ring into them), which get nearest. Other kernels stand for themselves, except
    that a read at scale 1 is always nearest."""
    if out_width == window.width and out_height == window.height:
        return Resampling.NEAREST
    if resampling is not Resampling.AUTO:
        return resampling
    if any(info.bands[b - 1].color_table for b in band_list):
        return Resampling.NEAREST
    if out_width * out_height < window.width * window.height:
        return Resampling.AVERAGE
    masked = not info.mask_flags & gdal.GMF_ALL_VALID or any(
        band.interpretation == 'alpha' for band in info.bands)
    return Resampling.NEAREST if masked else Resampling.CUBIC
