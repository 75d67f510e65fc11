"""The reader interface: what the facade reads pixels through.

A :class:`~geolargeimage.io.raster.Raster` (a file's pixels, at whichever stored or synthesized
level suits a read) and a :class:`~geolargeimage.geo.warped_view.WarpedView` (the same raster
warped into a tile grid) both offer it, so a projected source is the same facade over another
reader. Windows are in the reader's base pixels; results are ``(height, width, bands)`` arrays
of ``info.dtype``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from geolargeimage.enums import Resampling
from geolargeimage.grid import Window
from geolargeimage.raster_info import RasterInfo


@runtime_checkable
class PixelReader(Protocol):
    """Windowed reads of one frame.

    ``info`` describes the bands as read (a warp's alpha band included). ``read`` resamples
    ``window`` into ``out_width`` × ``out_height``; ``read_mask`` gives the no-data mask (0 = no
    data) that the bands do not carry themselves, or None when there is none; ``close`` frees
    what the reader holds (handles, virtual datasets). ``alpha_max`` is the opaque value of the
    alpha band the reader adds (a warp's, the last band), or None when it adds none.
    """

    alpha_max: int | None

    @property
    def info(self) -> RasterInfo: ...

    def read(self, window: Window, out_width: int, out_height: int, *,
             bands: list[int] | None = None,
             resampling: Resampling = Resampling.NEAREST) -> np.ndarray: ...

    def read_mask(self, window: Window, out_width: int,
                  out_height: int) -> np.ndarray | None: ...

    def close(self) -> None: ...
