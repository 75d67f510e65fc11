"""The level pyramid a source serves, in large_image's terms: the base (full-resolution) size,
the tile size, the number of levels, and which tiles exist.

A source over a raster has the raster's own pyramid; a source opened with a projection has the
world grid's (every tile of the world, and zooms past the finest level, as web maps ask for
them). The facade holds one :class:`LevelGrid`, built once; nothing overwrites it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geolargeimage.errors import TileRangeError
from geolargeimage.grid import Window, level_count, tile_window, tiles_across

#: Tile side of a raster whose blocks are not square or are outside 64..1024 pixels.
DEFAULT_TILE_SIZE = 256


@dataclass(frozen=True)
class LevelGrid:
    """Base size ``size_x`` × ``size_y``, tiles of ``tile_width`` × ``tile_height``, ``levels``
    levels (z = 0 holds the whole image in one tile) and ``top_z``, the deepest z served."""

    size_x: int
    size_y: int
    tile_width: int
    tile_height: int
    levels: int
    top_z: int

    @classmethod
    def for_raster(cls, width: int, height: int, block_width: int,
                   block_height: int) -> LevelGrid:
        """The pyramid of a raster: tiles the size of its square blocks (64..1024), else 256.

        >>> LevelGrid.for_raster(10000, 5000, 512, 512)
        LevelGrid(size_x=10000, size_y=5000, tile_width=512, tile_height=512, levels=6, top_z=5)
        >>> LevelGrid.for_raster(300, 200, 300, 1).tile_width
        256
        """
        block = block_width if block_width == block_height else 0
        tile = block if 64 <= block <= 1024 else DEFAULT_TILE_SIZE
        levels = level_count(width, height, tile, tile)
        return cls(width, height, tile, tile, levels, levels - 1)

    @property
    def max_level(self) -> int:
        """The full-resolution level."""
        return self.levels - 1

    def tile_read(self, x: int, y: int, z: int) -> tuple[Window, int, int]:
        """The base window of tile ``(x, y, z)`` clipped to the image, and the buffer size it is
        read into (past :attr:`max_level` the window is fractional: the tile is enlarged).

        >>> LevelGrid.for_raster(1000, 600, 256, 256).tile_read(1, 0, 1)
        (Window(col_off=512, row_off=0, width=488, height=512), 244, 256)
        >>> LevelGrid.for_raster(1000, 600, 256, 256).tile_read(0, 1, 0)
        Traceback (most recent call last):
        ...
        geolargeimage.errors.TileRangeError: y is outside layer: 1 (0..0 at z=0)
        """
        if not _is_index(z) or not 0 <= z <= self.top_z:
            raise TileRangeError(f'z layer does not exist: {z!r} (levels 0..{self.top_z})')
        for name, value, size, tile in (('x', x, self.size_x, self.tile_width),
                                        ('y', y, self.size_y, self.tile_height)):
            count = tiles_across(size, tile, z, self.max_level)
            if not _is_index(value) or not 0 <= value < count:
                raise TileRangeError(f'{name} is outside layer: {value!r} '
                                     f'(0..{count - 1} at z={z})')
        window = tile_window(int(x), int(y), int(z), tile_width=self.tile_width,
                             tile_height=self.tile_height, max_level=self.max_level)
        window = window.intersection(Window(0, 0, self.size_x, self.size_y))
        factor = 2.0 ** (self.max_level - z)
        return window, max(1, round(window.width / factor)), max(1, round(window.height / factor))


def _is_index(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
