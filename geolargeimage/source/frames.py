"""The frames of a source and the images stored beside them.

Each frame is its own dataset (a TIFF page, a subdataset, a one-band VRT of a netCDF time step),
opened as a :class:`~geolargeimage.io.raster.Raster` the first time it is read and handed to the
source's reader factory (which warps it when the source has a projection). Associated images
(label, macro, thumbnail) are read whole, under the default style.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from geolargeimage import axes, errors
from geolargeimage.enums import Resampling, TileFormat, parse_formats
from geolargeimage.grid import Window, output_size
from geolargeimage.io.layout import Layout
from geolargeimage.io.raster import Raster
from geolargeimage.options import EncodeOptions
from geolargeimage.picture.band_stats import BandStats
from geolargeimage.picture.composition import display_plan, is_plain_picture
from geolargeimage.picture.encode import encode_image, to_pil
from geolargeimage.picture.style import default_style
from geolargeimage.picture.styling import apply_style, to_uint8
from geolargeimage.pixel_reader import PixelReader
from geolargeimage.raster_info import RasterInfo

#: Makes the reader of a frame from its raster (the raster itself, or a warp of it).
ReaderFactory = Callable[[Raster], PixelReader]


class FrameSet:
    """The frames of ``layout``: frame 0 is ``first`` (opened already); each frame's reader
    comes from ``open_reader`` on first use."""

    def __init__(self, layout: Layout, first: Raster, open_reader: ReaderFactory):
        self.layout = layout
        self._open_reader = open_reader
        self._lock = threading.Lock()
        self._rasters: dict[int, Raster] = {0: first}
        self._readers: dict[int, PixelReader] = {0: open_reader(first)}

    @property
    def count(self) -> int:
        """Number of frames (at least 1)."""
        return len(self.layout.frames)

    def check(self, frame: int | None) -> int:
        """``frame`` as a valid frame number (None is 0); out of range → TileRangeError."""
        if frame is None:
            return 0
        if isinstance(frame, bool) or not isinstance(frame, (int, np.integer)) \
                or not 0 <= frame < self.count:
            raise errors.TileRangeError(f'Frame does not exist: {frame!r} '
                                        f'(this source has {self.count} frame(s))')
        return int(frame)

    def reader(self, frame: int) -> PixelReader:
        """What reads of ``frame`` go to (opened, and warped if projected, on first use)."""
        reader = self._readers.get(frame)
        if reader is None:
            with self._lock:
                reader = self._readers.get(frame)
                if reader is None:
                    raster = Raster(self.layout.frames[frame].path)
                    self._rasters[frame] = raster
                    reader = self._readers[frame] = self._open_reader(raster)
        return reader

    def raster(self, frame: int) -> Raster:
        """The native raster of ``frame`` (its stored values, whatever the reader shows)."""
        self.reader(frame)
        return self._rasters[frame]

    def info(self, frame: int = 0) -> RasterInfo:
        """The bands of ``frame`` as its reader gives them (a warp's alpha band included)."""
        return self.reader(frame).info

    def metadata(self) -> dict[str, Any]:
        """large_image's ``frames`` metadata (axes, values, channels); empty for one frame."""
        if self.count < 2:
            return {}
        layout = self.layout
        positions = [frame.position or {} for frame in layout.frames]
        if not any(positions):
            return {'frames': [{'Frame': i, 'Index': i} for i in range(self.count)]}
        return axes.frames_metadata(positions, layout.channel_names,
                                    [frame.values for frame in layout.frames], layout.units)

    def close(self) -> None:
        """Free every reader and raster opened so far."""
        for reader in self._readers.values():
            reader.close()
        for raster in self._rasters.values():
            raster.close()


class AssociatedImages:
    """The images stored beside the main one, by name, read on first use."""

    def __init__(self, paths: dict[str, str]):
        self._paths = paths
        self._rasters: dict[str, Raster] = {}

    def names(self) -> list[str]:
        """The names, sorted."""
        return sorted(self._paths)

    def get(self, key: str, *, width: int | None, height: int | None,
            encoding: EncodeOptions, fmt: object) -> tuple[Any, str] | None:
        """Image ``key`` fitted within ``width`` × ``height`` (None: whole) as ``fmt``; None if
        there is no such image."""
        path = self._paths.get(key)
        if path is None:
            return None
        raster = self._rasters.get(key)
        if raster is None:
            raster = self._rasters.setdefault(key, Raster(path, synthesize=False))
        info = raster.info
        out_w, out_h = output_size(info.width, info.height, width, height)
        pixels = raster.read(Window(0, 0, info.width, info.height), out_w, out_h,
                             resampling=Resampling.AUTO)
        kind = parse_formats(fmt)
        if kind is TileFormat.NUMPY:
            return pixels, TileFormat.NUMPY.value
        picture = to_pil(_default_picture(pixels, info))
        if kind is TileFormat.PIL:
            return picture, TileFormat.PIL.value
        return encode_image(picture, encoding), encoding.encoding.mimetype


def _default_picture(pixels: np.ndarray, info: RasterInfo) -> np.ndarray:
    """An associated image's pixels under the default style, its own pixels as statistics."""
    if is_plain_picture(display_plan(info.bands), info.bands, info.dtype):
        return pixels
    stats = [BandStats.from_values(pixels[:, :, i], band.nodata)
             for i, band in enumerate(info.bands)]
    interpretations = [band.interpretation for band in info.bands]
    style = default_style(interpretations, [b.nodata for b in info.bands],
                          info.bands[0].color_table)
    return to_uint8(apply_style(style, lambda f, b: pixels[:, :, b], frame=0,
                                band_count=info.band_count, interpretations=interpretations,
                                dtype=info.dtype, stats=lambda f, b: stats[b]))
