"""The multi-frame part of the facade: frames, their axes, and associated images.

A mixin of :class:`~geolargeimage.source.TileSource`. Each frame is its own dataset (a TIFF
page, a subdataset, a one-band VRT of a netCDF time step), opened lazily as a
:class:`~geolargeimage.reader.Raster` — and warped, when the source has a projection — the
first time it is read.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from . import axes, errors
from .encode import encode_image, to_pil
from .frames import Layout
from .grid import Window, output_size
from .options import EncodeOptions, Resampling, TileFormat, parse_formats
from .projected import WarpedView
from .reader import Raster
from .render import display_plan, is_plain_picture
from .style import BandStats, apply_style, default_style, to_uint8


class FrameMethods:
    """Frames and associated images; expects ``_layout``, ``_raster`` and ``_view``."""

    _layout: Layout
    _raster: Raster
    _view: WarpedView | None

    def _init_frames(self) -> None:
        self._frame_lock = threading.Lock()
        self._frame_layers: dict[int, Raster | WarpedView] = {}
        self._associated_rasters: dict[str, Raster] = {}

    @property
    def frames(self) -> int:
        """Number of frames (at least 1)."""
        return len(self._layout.frames)

    def _check_frame(self, frame: int | None) -> int:
        """``frame`` as a valid frame number (None is 0); out of range → TileSourceXYZRangeError."""
        if frame is None:
            return 0
        if isinstance(frame, bool) or not isinstance(frame, (int, np.integer)) \
                or not 0 <= frame < self.frames:
            raise errors.TileRangeError(f'Frame does not exist: {frame!r} '
                                        f'(this source has {self.frames} frame(s))')
        return int(frame)

    def _layer_for(self, frame: int) -> Raster | WarpedView:
        """What reads of ``frame`` go to (opened, and warped if projected, on first use)."""
        if frame == 0:
            return self._raster if self._view is None else self._view
        layer = self._frame_layers.get(frame)
        if layer is None:
            with self._frame_lock:
                layer = self._frame_layers.get(frame)
                if layer is None:
                    raster = Raster(self._layout.frames[frame].path)
                    layer = raster if self._view is None else self._warp_frame(raster)
                    self._frame_layers[frame] = layer
        return layer

    def _frame_raster(self, frame: int) -> Raster:
        layer = self._layer_for(frame)
        return layer.source if isinstance(layer, WarpedView) else layer

    def _frames_metadata(self) -> dict[str, Any]:
        if self.frames < 2:
            return {}
        layout = self._layout
        positions = [frame.position or {} for frame in layout.frames]
        if not any(positions):
            return {'frames': [{'Frame': i, 'Index': i} for i in range(self.frames)]}
        return axes.frames_metadata(positions, layout.channel_names,
                                    [frame.values for frame in layout.frames], layout.units)

    @property
    def channelNames(self) -> list[str] | None:  # noqa: N802
        names = self._layout.channel_names
        return list(names) if names else None

    def frameToAxes(self, frame: int) -> dict[str, int]:  # noqa: N802
        """Axis positions of ``frame``, e.g. ``{'c': 1, 'z': 0}`` (``{'frame': n}`` without axes)."""
        return axes.frame_to_axes(self._frames_metadata(), self._check_frame(frame))

    def axesToFrame(self, **positions: int) -> int:  # noqa: N802
        """The frame at axis positions, e.g. ``axesToFrame(c=1, z=0)``."""
        return axes.axes_to_frame(self._frames_metadata(), self.frames, **positions)

    # -- associated images ----------------------------------------------------------------------
    def getAssociatedImagesList(self) -> list[str]:  # noqa: N802
        """Names of the images stored beside the main one (label, macro, thumbnail, ...)."""
        return sorted(self._layout.associated)

    def getAssociatedImage(self, imageKey: str, *args: Any, width: int | None = None,  # noqa: N802,N803
                           height: int | None = None, encoding: str = 'JPEG',
                           format: Any = (TileFormat.IMAGE.value,), **kwargs: Any
                           ) -> tuple[Any, str] | None:
        """An associated image, whole or fitted within ``width`` × ``height``; None if unknown."""
        path = self._layout.associated.get(imageKey)
        if path is None:
            return None
        options = EncodeOptions.parse(encoding, kwargs.pop('jpegQuality', 95),
                                      kwargs.pop('jpegSubsampling', 0),
                                      kwargs.pop('tiffCompression', 'raw'))
        raster = self._associated_rasters.get(imageKey)
        if raster is None:
            raster = self._associated_rasters.setdefault(imageKey, Raster(path, synthesize=False))
        info = raster.info
        out_w, out_h = output_size(info.width, info.height, width, height)
        pixels = raster.read(Window(0, 0, info.width, info.height), out_w, out_h,
                             resampling=Resampling.AUTO)
        fmt = parse_formats(format)
        if fmt is TileFormat.NUMPY:
            return pixels, TileFormat.NUMPY.value
        picture = to_pil(_default_picture(pixels, info))
        if fmt is TileFormat.PIL:
            return picture, TileFormat.PIL.value
        return encode_image(picture, options), options.encoding.mimetype


def _default_picture(pixels: np.ndarray, info: Any) -> np.ndarray:
    """An associated image's pixels under the default style, its own pixels as statistics."""
    if is_plain_picture(display_plan(info.bands), info.bands, info.dtype):
        return pixels
    stats = [BandStats.from_values(pixels[:, :, i], band.nodata) for i, band in enumerate(info.bands)]
    style = default_style([b.interpretation for b in info.bands], [b.nodata for b in info.bands],
                          info.bands[0].color_table)
    return to_uint8(apply_style(style, lambda f, b: pixels[:, :, b], frame=0,
                                band_count=info.band_count,
                                interpretations=[b.interpretation for b in info.bands],
                                dtype=info.dtype, stats=lambda f, b: stats[b]))
