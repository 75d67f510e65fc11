"""Shrinking reads done in two steps: decode the level's window once, at its own resolution, then
resample it in memory.

A native read of the window is what GDAL decodes fastest: ``GDAL_NUM_THREADS`` spreads its
blocks over the cores, each decoded once, where a decimated ``RasterIO`` decodes and resamples
on one thread (and row strips of it on several threads decode the blocks they share twice).
What follows depends on the kernel, and gives GDAL's pixels of one ``ReadAsArray`` of the file,
bit for bit (``tests/test_memory_resample.py`` checks both on generated windows and sizes):

- **nearest** picks the source pixel under each output pixel's centre with numpy indexing, the
  rule of GDAL's decimating read (pixel ``floor(offset + (i + 0.5) * size / buffer)``), for any
  bands, each piece of a large read picked where it was decoded; the result is an
  ``(h, w, bands)`` view of the band-sequential pick.
- **average** runs GDAL's own kernel, one single-band ``RasterIO`` per band on a MEM dataset over
  the decoded array, the bands on the read pool: GDAL averages several interleaved bands about
  1.5× slower than each band alone. Each band is resampled whole (row strips of a band would
  not give the same pixels: GDAL places a strip's pixels from the strip's own origin, and that
  sum rounds differently from the whole read's in about one pixel in a million). Only integer
  bands without nodata or mask qualify, two or more: GDAL sums floating-point bands in another
  order on one band than on several (the last bit of a few pixels would differ), and its average
  leaves masked and nodata pixels out, which a bare MEM dataset would not know about. A single
  band keeps the row strips of :meth:`~geolargeimage.io.raster.Raster.read`.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

import numpy as np
from osgeo import gdal, gdal_array

from geolargeimage.enums import Resampling
from geolargeimage.io.read_pool import READ_THREADS, pool_map
from geolargeimage.raster_info import RasterInfo

#: The decoded window may hold at most this many times the output's pixels (a level at most about
#: twice as fine on each axis, which the level rule gives whenever the pyramid is complete).
MAX_DECODED_RATIO = 4.5
#: Larger blocks (as declared) keep GDAL's own read: its multi-threaded decoder of a native read
#: aborts the process when a damaged file declares an absurd tile size (std::bad_alloc in a
#: worker thread), where a resampled read fails with an error.
MAX_BLOCK_PIXELS = 1 << 24
#: Largest working array a thread keeps between reads.
MAX_SCRATCH_BYTES = 64 << 20
#: Most pieces a decode is cut into...
MAX_PIECES = 64
#: ...and a nearest-neighbour read, whose pieces each pay their pick's Python on the GIL.
NEAREST_PIECES = 4 * READ_THREADS
#: Reads of at least this many output pixels decode and resample their pieces on the read pool;
#: smaller ones (a tile) decode their window in one read on the calling thread.
POOL_MIN_PIXELS = 1 << 16

#: (col_off, row_off, width, height) in a level's pixels.
LevelWindow = tuple[float, float, float, float]


def qualifies(info: RasterInfo, band_list: list[int], kernel: Resampling,
              window: LevelWindow, out_width: int, out_height: int) -> bool:
    """Whether a read of ``window`` (level pixels) into ``out_width`` × ``out_height`` with
    ``kernel`` gives the same pixels through :func:`read_and_resample`, and is worth it: an
    average of fewer than :data:`POOL_MIN_PIXELS` has no pool to share and is faster as GDAL's
    one read (a 256 thumbnail: 0.83-0.96× the time), where a small nearest pick stays faster
    than GDAL's decimation from its cache (0.5-0.8×)."""
    _, _, width, height = window
    # A MEM band copies a read whose rounded window is the buffer's size and drops the window's
    # fractions, where GDAL's read of the file averages the pixels the fractions straddle.
    if kernel not in (Resampling.NEAREST, Resampling.AVERAGE) \
            or out_width > width or out_height > height \
            or (int(width + 0.5), int(height + 0.5)) == (out_width, out_height) \
            or math.ceil(width + 1) * math.ceil(height + 1) > \
            MAX_DECODED_RATIO * out_width * out_height \
            or info.block_width * info.block_height > MAX_BLOCK_PIXELS:
        return False
    if kernel is Resampling.NEAREST:
        return True
    bands = [info.bands[b - 1] for b in band_list]
    return out_width * out_height >= POOL_MIN_PIXELS and len(bands) > 1 and all(
        band.dtype.kind in 'iu' and band.nodata is None and band.mask_flags == gdal.GMF_ALL_VALID
        for band in bands)


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


def read_and_resample(read: Callable[[tuple[int, int, int, int], np.ndarray], None],
                      window: LevelWindow, size: tuple[int, int], block: tuple[int, int],
                      bands: int, dtype: np.dtype, out_width: int, out_height: int,
                      kernel: Resampling) -> np.ndarray:
    """``window`` of a level of ``size`` (stored in blocks of ``block``) resampled to
    ``(out_height, out_width, bands)``.

    ``read(piece, out)`` reads the level's pixels under ``piece`` (col, row, width, height) at
    the level's resolution into ``out``, a band-sequential ``(bands, rows, cols)`` view, on the
    calling thread's own handle: :func:`decode` calls it from the read pool.
    """
    cover = covering(window, size)
    pooled = out_width * out_height >= POOL_MIN_PIXELS
    if kernel is Resampling.NEAREST and pooled:
        return _nearest_by_piece(read, window, cover, block, bands, dtype, out_width, out_height)
    decoded = _scratch('decoded', (bands, cover[3], cover[2]), dtype)
    if pooled:
        decode(read, cover, block, decoded)
    else:
        read(cover, decoded)
    if kernel is Resampling.NEAREST:
        return _nearest(decoded, window, cover, out_width, out_height)
    return _average(decoded, window, cover, out_width, out_height)


def decode(read: Callable[[tuple[int, int, int, int], np.ndarray], None],
           cover: tuple[int, int, int, int], block: tuple[int, int],
           decoded: np.ndarray) -> None:
    """``cover`` (level pixels) decoded block by block on the read pool into ``decoded``
    (band-sequential). GDAL's own multi-threaded decoding (``GDAL_NUM_THREADS``) gains nothing
    on an overview's read here (a 1500×1125 DEFLATE overview: 22 ms, against 21 on one thread
    and 15 for its blocks on two), so the blocks are shared out as the decode floor of the
    benchmark shares them, each read straight into its place."""
    pieces = block_pieces(cover, block)
    left, top = cover[0], cover[1]

    def place(piece: tuple[int, int, int, int]) -> None:
        col, row, cols, rows = piece
        read(piece, decoded[:, row - top:row - top + rows, col - left:col - left + cols])

    if len(pieces) == 1 or READ_THREADS == 1:
        for piece in pieces:
            place(piece)
    else:
        pool_map(place, pieces)


_scratch_space = threading.local()


def _scratch(name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A working array of ``shape`` kept by this thread for the next read of its kind: a fresh
    array of megabytes costs its page faults on every read (as much as the nearest-neighbour
    pick itself on this machine). Arrays over :data:`MAX_SCRATCH_BYTES` are not kept."""
    dtype = np.dtype(dtype)
    size = math.prod(shape)
    if size * dtype.itemsize > MAX_SCRATCH_BYTES:
        return np.empty(shape, dtype)
    kept = getattr(_scratch_space, name, None)
    if kept is None or kept.dtype != dtype or kept.size < size:
        kept = np.empty(size, dtype)
        setattr(_scratch_space, name, kept)
    return kept[:size].reshape(shape)


def block_pieces(cover: tuple[int, int, int, int], block: tuple[int, int],
                 max_pieces: int = MAX_PIECES) -> list[tuple[int, int, int, int]]:
    """``cover`` cut at the level's block edges into pieces of whole blocks: one block each, or
    several when that would make more than ``max_pieces`` pieces (striped files have
    thousands of one-row blocks).

    >>> block_pieces((100, 0, 400, 300), (256, 256))
    [(100, 0, 156, 256), (256, 0, 244, 256), (100, 256, 156, 44), (256, 256, 244, 44)]
    """
    left, top, width, height = cover
    block_w, block_h = max(1, block[0]), max(1, block[1])
    across = -(-(left + width) // block_w) - left // block_w
    down = -(-(top + height) // block_h) - top // block_h
    group_x = group_y = 1  # blocks per piece, across and down
    if across > max_pieces:
        group_x, group_y = math.ceil(across / max_pieces), down
    elif across * down > max_pieces:
        group_y = math.ceil(down / (max_pieces // across))
    step_x, step_y = block_w * group_x, block_h * group_y
    cols = _cuts(left, width, step_x)
    rows = _cuts(top, height, step_y)
    return [(c0, r0, c1 - c0, r1 - r0) for r0, r1 in rows for c0, c1 in cols]


def _cuts(start: int, length: int, step: int) -> list[tuple[int, int]]:
    """[start, start + length) cut at the multiples of ``step``."""
    edges = [start, *range((start // step + 1) * step, start + length, step), start + length]
    return list(zip(edges[:-1], edges[1:]))


def _picks(window: LevelWindow, cover: tuple[int, int, int, int], out_width: int,
           out_height: int) -> tuple[np.ndarray, np.ndarray]:
    """The columns and rows (from ``cover``'s corner) of the pixel under each output pixel's
    centre, as GDAL's decimating read picks them: both ascend."""
    col_off, row_off, width, height = window
    cols = np.floor(col_off + (np.arange(out_width) + 0.5) * (width / out_width))
    rows = np.floor(row_off + (np.arange(out_height) + 0.5) * (height / out_height))
    return (np.clip(cols.astype(np.intp) - cover[0], 0, cover[2] - 1),
            np.clip(rows.astype(np.intp) - cover[1], 0, cover[3] - 1))


def _nearest_by_piece(read: Callable[[tuple[int, int, int, int], np.ndarray], None],
                      window: LevelWindow, cover: tuple[int, int, int, int],
                      block: tuple[int, int], bands: int, dtype: np.dtype, out_width: int,
                      out_height: int) -> np.ndarray:
    """:func:`_nearest` with each piece of :func:`block_pieces` picked on the pool thread that
    read it, while it is in that core's cache, into the output: no decoded copy of the whole
    window, and no serial pick after the last block. Whole 12000×9000 images to 1024 wide
    from GDAL's cache: 0.56-0.88× the time of decoding the window and then picking; from the
    file: 0.95-1.08×. Pieces under no output pixel's centre are not read, as GDAL's own
    decimating read does not read their blocks."""
    cols, rows = _picks(window, cover, out_width, out_height)
    out = np.empty((bands, out_height, out_width), dtype)

    def pick(piece: tuple[int, int, int, int]) -> None:
        col, row, width, height = (piece[0] - cover[0], piece[1] - cover[1], *piece[2:])
        top, bottom = np.searchsorted(rows, (row, row + height))
        left, right = np.searchsorted(cols, (col, col + width))
        if top == bottom or left == right:
            return
        decoded = _scratch('piece', (bands, height, width), dtype)
        read(piece, decoded)
        picked_rows = np.take(decoded, rows[top:bottom] - row, axis=1,
                              out=_scratch('rows', (bands, bottom - top, width), dtype))
        out[:, top:bottom, left:right] = picked_rows[:, :, cols[left:right] - col]

    pieces = block_pieces(cover, block, NEAREST_PIECES)
    if len(pieces) == 1 or READ_THREADS == 1:
        for piece in pieces:
            pick(piece)
    else:
        pool_map(pick, pieces)
    return out.transpose(1, 2, 0)


def _nearest(decoded: np.ndarray, window: LevelWindow, cover: tuple[int, int, int, int],
             out_width: int, out_height: int) -> np.ndarray:
    """The decoded pixel under each output pixel's centre, as GDAL's decimating read picks it."""
    cols, rows = _picks(window, cover, out_width, out_height)
    picked_rows = np.take(decoded, rows, axis=1,
                          out=_scratch('rows', (decoded.shape[0], out_height, decoded.shape[2]),
                                       decoded.dtype))
    return picked_rows[:, :, cols].transpose(1, 2, 0)


def _average(decoded: np.ndarray, window: LevelWindow, cover: tuple[int, int, int, int],
             out_width: int, out_height: int) -> np.ndarray:
    """GDAL's average of each decoded band (a MEM dataset over it), the bands on the pool."""
    col_off, row_off, width, height = window
    col_off, row_off = col_off - cover[0], row_off - cover[1]
    out = np.empty((out_height, out_width, decoded.shape[0]), decoded.dtype)

    def resample(band: int) -> None:
        mem = gdal_array.OpenArray(decoded[band])
        mem.GetRasterBand(1).ReadAsArray(col_off, row_off, width, height,
                                         buf_xsize=out_width, buf_ysize=out_height,
                                         buf_obj=out[:, :, band],
                                         resample_alg=gdal.GRIORA_Average)

    if READ_THREADS == 1:
        for band in range(decoded.shape[0]):
            resample(band)
    else:
        pool_map(resample, range(decoded.shape[0]))
    return out
