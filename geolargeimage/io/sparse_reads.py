"""Coarse reads of rasters too large for synthesized overviews: how much such a read may decode,
and the reads of sparse rasters (most blocks never written), which decode only where blocks are
stored.

A GeoTIFF written with ``SPARSE_OK`` stores no block that holds only the fill value (nodata, or
0); GDAL reads an absent block as that value without decoding anything, and says which parts of
a window hold stored blocks (``GetDataCoverageStatus``). A whole-image read of a 100000² sparse
raster without overviews would still make GDAL's resampled ``RasterIO`` visit its 10¹⁰ pixels,
and fill a block cache of gigabytes. So such a read is cut into pieces of at most
:data:`PIECE_PIXELS` output pixels a side; a piece whose source holds no stored block is the
fill value, the others are read as usual. A piece's pixels are those of GDAL's read of the
piece's own window; GDAL's one read of the whole window, which this replaces because it cannot
be afforded, places them from another origin. Pieces start on whole source pixels where the
scale allows it (:func:`_step`), and an average then rounds differently from that one read in
rare pixels, by 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from osgeo import gdal

from geolargeimage import config, errors
from geolargeimage.grid import Window
from geolargeimage.raster_info import RasterInfo

#: Output pixels on a side of one piece of a sparse read, at most...
PIECE_PIXELS = 32
#: ...and fewer where a piece would read more source pixels than this on a side: a piece that
#: touches a stored block is read whole, absent blocks included.
PIECE_SOURCE_PIXELS = 2048


def stored_pixels(band: gdal.Band, window: Window) -> int:
    """About how many pixels of ``band`` under ``window`` (its own pixels) are in stored blocks
    (GDAL's data coverage: the whole window when the driver cannot tell)."""
    col, row = max(0, math.floor(window.col_off)), max(0, math.floor(window.row_off))
    cols = min(band.XSize, math.ceil(window.col_off + window.width)) - col
    rows = min(band.YSize, math.ceil(window.row_off + window.height)) - row
    flags, percent = band.GetDataCoverageStatus(col, row, cols, rows)
    if flags & gdal.GDAL_DATA_COVERAGE_STATUS_UNIMPLEMENTED:
        return cols * rows
    return math.ceil(cols * rows * percent / 100)


def too_large(info: RasterInfo, coarsest: tuple[int, int], window: Window, out_width: int,
              out_height: int, decoded: int) -> errors.OutputSizeError:
    """The error of a coarse read that would decode ``decoded`` stored pixels, over config
    ``max_output_pixels``, of a raster whose coarsest stored level is ``coarsest``."""
    return errors.OutputSizeError(
        f'{info.path} is {info.width}x{info.height} pixels and has no overviews coarser than '
        f'{coarsest[0]}x{coarsest[1]}: a read of {window.width:g}x{window.height:g} base pixels '
        f'into {out_width}x{out_height} would decode {decoded} stored pixels, over config '
        f'max_output_pixels ({config.getConfig("max_output_pixels")}), and overviews are '
        'synthesized only for rasters of at most config pyramid_max_pixels '
        f'({config.getConfig("pyramid_max_pixels")}) pixels; add overviews to the file '
        '(gdaladdo, or make it a COG), read a smaller region or raise a limit')


def read_sparse(read: Callable[[Window, int, int], np.ndarray],
                stored: Callable[[Window], int], window: Window, out_width: int,
                out_height: int, fills: list[float], dtype: np.dtype) -> np.ndarray:
    """``window`` (base pixels) into ``(out_height, out_width, bands)``, piece by piece:
    ``read(piece_window, width, height)`` reads a piece, ``stored(piece_window)`` says whether
    any of its source is stored; the others hold ``fills`` (each band's fill value)."""
    out = np.empty((out_height, out_width, len(fills)), dtype)
    out[...] = np.asarray(fills, dtype)
    scale_x, scale_y = window.width / out_width, window.height / out_height
    step_x = _step(window.width, out_width, PIECE_SOURCE_PIXELS / scale_x)
    step_y = _step(window.height, out_height, PIECE_SOURCE_PIXELS / scale_y)
    for top in range(0, out_height, step_y):
        bottom = min(out_height, top + step_y)
        for left in range(0, out_width, step_x):
            right = min(out_width, left + step_x)
            piece = Window(window.col_off + left * scale_x, window.row_off + top * scale_y,
                           (right - left) * scale_x, (bottom - top) * scale_y)
            if stored(piece):
                out[top:bottom, left:right] = read(piece, right - left, bottom - top)
    return out


def _step(source: float, out: int, most: float) -> int:
    """Output pixels a piece spans along an axis: a multiple of the exact step (the output
    pixels after which the source coordinate is whole again), so that each piece's read starts
    on a whole source pixel, as the whole read's pixels there do; when that step is far above
    what a piece should span, pieces start between source pixels and their averages there can
    differ from GDAL's one read by a few levels."""
    wanted = max(1, min(PIECE_PIXELS, int(most)))
    if abs(source - round(source)) > 1e-9:
        return wanted
    exact = out // math.gcd(round(source), out)
    if exact <= wanted:
        return exact * (wanted // exact)
    return exact if exact <= 4 * wanted else wanted


def padded(window: Window) -> Window:
    """``window`` with one more pixel on each side: the pixels a resampling kernel of GDAL's may
    touch."""
    return Window(window.col_off - 1, window.row_off - 1, window.width + 2, window.height + 2)
