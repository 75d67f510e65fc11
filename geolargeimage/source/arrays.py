"""A source as a lazy array: the pixel grid of one level over a window of the image, read a
window at a time through the source's own read path.

:class:`LevelPixels` is array-like (``shape``, ``dtype``, ``ndim`` and ``__getitem__`` with
slices), so ``dask.array.from_array`` cuts it into chunks and xarray's lazy indexing reads from
it; each read is one ``(h, w, bands)`` raw-value read of the frame's reader (a raster, or its
warped view for a projected source), never styled. It pickles with its source (which reopens by
path and options), so a graph runs on threads, processes or a ``dask.distributed`` cluster.
:func:`coordinates` gives the pixel centres and CRS that an xarray ``DataArray`` of it carries,
in rioxarray's conventions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from geolargeimage import errors
from geolargeimage.grid import Window

#: A chunk is about this many pixels across by default (a whole number of tiles): each one is a
#: read that the read pool shares out, and dask's own overhead is per chunk.
CHUNK_PIXELS = 2048

#: Reads ``window`` (base pixels) into ``width`` × ``height`` raw values, ``(h, w, bands)``.
WindowReader = Callable[[Window, int, int], np.ndarray]


@dataclass(frozen=True)
class LevelPixels:
    """The pixels of base window ``window`` at ``factor`` times coarser than full resolution:
    ``shape`` (rows, columns, bands) of ``dtype``, read through ``read``.

    >>> grid = LevelPixels(Window(0, 0, 1000, 600), 2.0, 3, np.dtype('uint8'), None)
    >>> grid.shape, grid.base_window(slice(0, 100), slice(250, 500))
    ((300, 500, 3), Window(col_off=500.0, row_off=0.0, width=500.0, height=200.0))
    """

    window: Window
    factor: float
    bands: int
    dtype: np.dtype
    read: WindowReader | None

    @property
    def shape(self) -> tuple[int, int, int]:
        return (max(1, round(self.window.height / self.factor)),
                max(1, round(self.window.width / self.factor)), self.bands)

    @property
    def ndim(self) -> int:
        return 3

    def base_window(self, rows: slice, cols: slice) -> Window:
        """The base window under level rows ``rows`` and columns ``cols`` (steps of 1): the
        level's pixels split the window evenly, so chunks tile it exactly."""
        height, width, _ = self.shape
        scale_x, scale_y = self.window.width / width, self.window.height / height
        return Window(self.window.col_off + cols.start * scale_x,
                      self.window.row_off + rows.start * scale_y,
                      (cols.stop - cols.start) * scale_x, (rows.stop - rows.start) * scale_y)

    def __getitem__(self, key: Any) -> np.ndarray:
        """Basic indexing, numpy's rules (an integer drops its axis), steps of 1 on rows and
        columns; one read of the window under them."""
        rows, cols, bands, dropped = _slices(key, self.shape)
        out_height, out_width = rows.stop - rows.start, cols.stop - cols.start
        if out_height <= 0 or out_width <= 0:
            values = np.empty((out_height, out_width, self.bands), self.dtype)
        else:
            values = self.read(self.base_window(rows, cols), out_width, out_height)
        return values[(0 if 0 in dropped else slice(None), 0 if 1 in dropped else slice(None),
                       bands)]

    def __dask_tokenize__(self) -> tuple[Any, ...]:
        return (type(self).__name__, self.window, self.factor, self.bands, str(self.dtype),
                self.read)


def _slices(key: Any, shape: tuple[int, int, int]) -> tuple[slice, slice, Any, set[int]]:
    """Rows and columns (steps of 1), the band index of a basic index of ``shape``, and which
    of the first two axes an integer dropped."""
    key = key if isinstance(key, tuple) else (key,)
    if any(item is Ellipsis for item in key):
        at = key.index(Ellipsis)
        key = key[:at] + (slice(None),) * (len(shape) - len(key) + 1) + key[at + 1:]
    key = key + (slice(None),) * (len(shape) - len(key))
    axes, dropped = [], set()
    for axis, (item, size) in enumerate(zip(key[:2], shape[:2])):
        if isinstance(item, (int, np.integer)):
            dropped.add(axis)
            index = int(item) + size if item < 0 else int(item)
            if not 0 <= index < size:
                raise IndexError(f'index {item} is out of bounds for an axis of size {size}')
            item = slice(index, index + 1)
        start, stop, step = item.indices(size)
        if step != 1:
            raise errors.OptionsError(f'only steps of 1 are read from a source, not {step}')
        axes.append(slice(start, max(start, stop)))
    return axes[0], axes[1], key[2], dropped


def default_chunks(tile_width: int, tile_height: int, bands: int) -> tuple[int, int, int]:
    """Chunks of whole tiles (the level's blocks), about :data:`CHUNK_PIXELS` across.

    >>> default_chunks(512, 512, 3), default_chunks(256, 128, 1)
    ((2048, 2048, 3), (2048, 2048, 1))
    """
    return (tile_height * max(1, CHUNK_PIXELS // tile_height),
            tile_width * max(1, CHUNK_PIXELS // tile_width), bands)


def chunk_shape(chunks: Any, defaults: tuple[int, int, int]) -> Any:
    """``chunks`` as dask takes it for a (rows, columns, bands) array: None gives ``defaults``,
    a number or a (rows, columns) pair keeps the bands in one chunk."""
    if chunks is None:
        return defaults
    if isinstance(chunks, (int, np.integer)):
        return (int(chunks), int(chunks), defaults[2])
    if isinstance(chunks, (tuple, list)) and len(chunks) == 2:
        return (*chunks, defaults[2])
    return chunks


def coordinates(geotransform: tuple[float, ...], grid: LevelPixels
                ) -> tuple[np.ndarray, np.ndarray, tuple[float, ...]]:
    """The x and y of the pixel centres of ``grid`` in the CRS, and the level's geotransform
    (GDAL's order), from the base geotransform; a rotated grid has no 1-D coordinates.

    >>> grid = LevelPixels(Window(100, 0, 400, 200), 2.0, 1, np.dtype('uint8'), None)
    >>> x, y, transform = coordinates((1000.0, 0.5, 0.0, 5000.0, 0.0, -0.5), grid)
    >>> x[:2].tolist(), y[:2].tolist(), transform
    ([1050.5, 1051.5], [4999.5, 4998.5], (1050.0, 1.0, 0.0, 5000.0, 0.0, -1.0))
    """
    x0, dx, rx, y0, ry, dy = geotransform
    if rx or ry:
        raise errors.OptionsError('the raster\'s geotransform is rotated: its pixels have no '
                                  'x and y coordinates of their own (warp it, e.g. open it with '
                                  'projection=)')
    height, width, _ = grid.shape
    scale_x, scale_y = grid.window.width / width, grid.window.height / height
    cols = grid.window.col_off + (np.arange(width) + 0.5) * scale_x
    rows = grid.window.row_off + (np.arange(height) + 0.5) * scale_y
    transform = (x0 + grid.window.col_off * dx, dx * scale_x, 0.0,
                 y0 + grid.window.row_off * dy, 0.0, dy * scale_y)
    return x0 + cols * dx, y0 + rows * dy, transform


def check_level(level: int | None, max_level: int) -> int:
    """``level`` (large_image's: 0 is the coarsest) or the full resolution."""
    if level is None:
        return max_level
    if not isinstance(level, (int, np.integer)) or not 0 <= level <= max_level:
        raise errors.RangeError(f'level {level!r} does not exist (0..{max_level})')
    return int(level)


def level_factor(level: int, max_level: int) -> float:
    """How many base pixels one pixel of ``level`` spans."""
    return math.ldexp(1.0, max_level - level)
