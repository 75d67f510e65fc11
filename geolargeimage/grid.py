"""Pure level, tile and window arithmetic of the large_image pixel model.

Level ``z = 0`` holds the whole image in one tile; each level doubles the resolution up to
``max_level``, the full-resolution image. A tile of level z covers ``tile_size * 2**(max_level-z)``
base pixels. Windows are in base (full-resolution) pixels: ``col_off, row_off, width, height``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    """A rectangle in base pixels: column and row offset, width and height.

    The values are integers for windows of whole pixels and floats where a window does not fall
    on whole pixels (a tile past the full resolution, a region given in projected units).
    """

    col_off: float
    row_off: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.col_off + self.width

    @property
    def bottom(self) -> float:
        return self.row_off + self.height

    @property
    def empty(self) -> bool:
        return self.width <= 0 or self.height <= 0

    def intersection(self, other: Window) -> Window:
        """The overlap of two windows (zero-sized where they do not meet).

        >>> Window(0, 0, 10, 10).intersection(Window(5, 8, 10, 10))
        Window(col_off=5, row_off=8, width=5, height=2)
        """
        left, top = max(self.col_off, other.col_off), max(self.row_off, other.row_off)
        right, bottom = min(self.right, other.right), min(self.bottom, other.bottom)
        return Window(left, top, max(0, right - left), max(0, bottom - top))


def level_count(size_x: int, size_y: int, tile_width: int, tile_height: int) -> int:
    """Number of power-of-two levels until the image fits in one tile (large_image's formula).

    >>> [level_count(w, h, 256, 256) for w, h in ((10000, 5000), (256, 256), (1, 1))]
    [7, 1, 1]
    """
    ratio = max(size_x / tile_width, size_y / tile_height)
    return max(1, math.ceil(math.log2(ratio)) + 1) if ratio > 1 else 1


def level_factor(level: float, max_level: int) -> float:
    """Base pixels per pixel of ``level``."""
    return 2.0 ** (max_level - level)


def tiles_across(size: int, tile: int, level: int, max_level: int) -> int:
    """Number of tiles along one axis of ``level``.

    >>> tiles_across(10000, 256, 6, 6), tiles_across(10000, 256, 0, 6)
    (40, 1)
    """
    return max(1, math.ceil(size / level_factor(level, max_level) / tile))


def tile_window(x: int, y: int, z: int, *, tile_width: int, tile_height: int,
                max_level: int) -> Window:
    """The base-pixel window of tile ``(x, y, z)``, not clipped to the image (fractional for
    zooms past ``max_level``).

    >>> tile_window(1, 0, 5, tile_width=256, tile_height=256, max_level=6)
    Window(col_off=512, row_off=0, width=512, height=512)
    """
    scale = 1 << (max_level - z) if z <= max_level else 2.0 ** (max_level - z)
    return Window(x * tile_width * scale, y * tile_height * scale, tile_width * scale,
                  tile_height * scale)


def output_size(region_width: int, region_height: int, max_width: int | None,
                max_height: int | None) -> tuple[int, int]:
    """Largest size within the limits that keeps the region's aspect (large_image's rule).

    A missing limit is 16 times the other; results are truncated and at least 1; enlarging is
    allowed.

    >>> output_size(58368, 12288, 256, 256), output_size(10000, 1000, 1000, None)
    ((256, 53), (1000, 100))
    >>> output_size(100, 50, 400, None)
    (400, 200)
    """
    if max_width is None and max_height is None:
        return region_width, region_height
    if region_width <= 0 or region_height <= 0:
        return 0, 0
    max_width = max_width if max_width is not None else max_height * 16
    max_height = max_height if max_height is not None else max_width * 16
    fit_width = max(1, int(region_width * max_height / region_height))
    fit_height = max(1, int(region_height * max_width / region_width))
    if fit_width == max_width or (max_width * region_height > max_height * region_width
                                  and fit_height != max_height):
        return fit_width, max_height
    return max_width, fit_height


def coarsest_within(factors: Sequence[float], limit: float) -> int:
    """The index of the coarsest of ``factors`` (base pixels per pixel, finest first) that is at
    most ``limit``; 0 when none is. The one rule by which every read picks its level.

    >>> coarsest_within([1, 2, 4, 8], 7.9), coarsest_within([1, 2, 4], 0.5)
    (2, 0)
    """
    best = 0
    for index, factor in enumerate(factors):
        if factor <= limit:
            best = index
    return best


def read_level(region_width: float, region_height: float, out_width: int, out_height: int,
               max_level: int) -> int:
    """The coarsest level whose resolution is at least what the output needs along its most
    reduced axis (within 0.01%, so that rounding of the region does not cost a level).

    >>> read_level(10000, 5000, 1000, 500, 6), read_level(10000, 5000, 20000, 500, 6)
    (3, 3)
    """
    factor = max(region_width / out_width, region_height / out_height)
    factors = [level_factor(level, max_level) for level in range(max_level, -1, -1)]
    return max_level - coarsest_within(factors, factor * (1 + 1e-4))


def exact_row_cuts(source_rows: int, out_rows: int, parts: int) -> list[int]:
    """Output rows at which a resampled read of ``source_rows`` into ``out_rows`` can be split
    into about ``parts`` strips that each read whole source rows at the same scale (a cut ``r``
    where ``r * source_rows / out_rows`` is an integer), so the strips together give exactly the
    pixels of one read; [] when no such cut exists.

    >>> exact_row_cuts(1125, 768, 2), exact_row_cuts(1125, 768, 3), exact_row_cuts(1001, 500, 2)
    ([512], [256, 512], [])
    """
    step = out_rows // math.gcd(source_rows, out_rows)
    cuts = {round(k * out_rows / parts / step) * step for k in range(1, parts)}
    return sorted(cut for cut in cuts if 0 < cut < out_rows)
