"""Shrinking reads done in two steps: decode the level's window once, then resample each band of
it in memory, the pieces on the read pool.

GDAL resamples a multi-band ``RasterIO`` on one thread, and its kernels are slower on several
bands at once than on each band alone (an average of three interleaved bands costs about 1.5×
the three single-band averages). A native read of the window at the level's own resolution is
what GDAL decodes fastest (``GDAL_NUM_THREADS`` spreads its blocks over the cores), and the
resample that follows is one single-band ``RasterIO`` per band, on a MEM dataset over the
decoded array, the bands on the read pool. Both steps are GDAL's and each band is resampled
whole, so the pixels are those of one ``ReadAsArray`` of the file, bit for bit (row strips of a
band would not be: GDAL places a strip's pixels from the strip's own origin, and the rounding
of that sum differs from the whole read's in about one pixel in a million).
``tests/test_memory_resample.py`` checks it on generated windows and sizes. A single band is
left to the row strips of :meth:`~geolargeimage.io.raster.Raster.read`.

Only averages of several integer bands without nodata or mask qualify. GDAL sums floating-point
bands in another order on one band than on several (the last bit of a few pixels would differ),
and its average leaves masked and nodata pixels out, which a bare MEM dataset would not know
about. A nearest-neighbour read costs GDAL little more on interleaved bands than on one and
decodes only the blocks it samples: it keeps the row strips of
:meth:`~geolargeimage.io.raster.Raster.read`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from osgeo import gdal, gdal_array

from geolargeimage.enums import Resampling
from geolargeimage.io.kernels import GDAL_KERNELS
from geolargeimage.io.read_pool import READ_THREADS, read_pool
from geolargeimage.raster_info import RasterInfo

#: The decoded window may hold at most this many times the output's pixels (a level at most about
#: twice as fine on each axis, which the level rule gives whenever the pyramid is complete).
MAX_DECODED_RATIO = 4.5
#: Larger blocks (as declared) keep GDAL's own read: its multi-threaded decoder of a native read
#: aborts the process when a damaged file declares an absurd tile size (std::bad_alloc in a
#: worker thread), where a resampled read fails with an error.
MAX_BLOCK_PIXELS = 1 << 24
#: Reads of at least this many output pixels resample their pieces on the read pool.
POOL_MIN_PIXELS = 1 << 16

#: (col_off, row_off, width, height) in a level's pixels.
LevelWindow = tuple[float, float, float, float]


def qualifies(info: RasterInfo, band_list: list[int], kernel: Resampling,
              window: LevelWindow, out_width: int, out_height: int) -> bool:
    """Whether a read of ``window`` (level pixels) into ``out_width`` × ``out_height`` with
    ``kernel`` gives the same pixels through :func:`read_and_resample`."""
    _, _, width, height = window
    # A MEM band copies a read whose rounded window is the buffer's size and drops the window's
    # fractions, where GDAL's read of the file averages the pixels the fractions straddle.
    if kernel is not Resampling.AVERAGE or len(band_list) < 2 \
            or out_width > width or out_height > height \
            or (int(width + 0.5), int(height + 0.5)) == (out_width, out_height) \
            or math.ceil(width + 1) * math.ceil(height + 1) > \
            MAX_DECODED_RATIO * out_width * out_height:
        return False
    if info.block_width * info.block_height > MAX_BLOCK_PIXELS:
        return False
    bands = [info.bands[b - 1] for b in band_list]
    return all(band.dtype.kind in 'iu' and band.nodata is None
               and band.mask_flags == gdal.GMF_ALL_VALID for band in bands)


def covering(window: LevelWindow, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The whole pixels of a level of ``size`` under ``window``, and the window GDAL checks and
    reads for it: its offsets and sizes rounded, which may reach one pixel further."""
    def span(offset: float, length: float, limit: int) -> tuple[int, int]:
        rounded = int(offset + 0.5)
        start = min(math.floor(offset), rounded)
        end = max(math.ceil(offset + length - 1e-9), rounded + int(length + 0.5))
        return max(0, start), max(1, min(limit, end) - max(0, start))

    left, width = span(window[0], window[2], size[0])
    top, height = span(window[1], window[3], size[1])
    return left, top, width, height


def read_and_resample(decode: Callable[[tuple[int, int, int, int]], np.ndarray],
                      window: LevelWindow, size: tuple[int, int], out_width: int,
                      out_height: int, kernel: Resampling) -> np.ndarray:
    """``window`` of a level of ``size`` resampled to ``(out_height, out_width, bands)``.

    ``decode(cover)`` returns the level's pixels under ``cover`` (col, row, width, height) as a
    band-sequential ``(bands, rows, cols)`` array, each band contiguous (one native read).
    """
    cover = covering(window, size)
    decoded = decode(cover)
    col_off, row_off, width, height = window
    col_off, row_off = col_off - cover[0], row_off - cover[1]
    out = np.empty((out_height, out_width, decoded.shape[0]), decoded.dtype)
    algorithm = GDAL_KERNELS[kernel]

    def resample(band: int) -> None:
        mem = gdal_array.OpenArray(decoded[band])
        out[:, :, band] = mem.GetRasterBand(1).ReadAsArray(
            col_off, row_off, width, height, buf_xsize=out_width, buf_ysize=out_height,
            resample_alg=algorithm)

    if out_width * out_height < POOL_MIN_PIXELS or READ_THREADS == 1:
        for band in range(decoded.shape[0]):
            resample(band)
    else:
        list(read_pool().map(resample, range(decoded.shape[0])))
    return out
