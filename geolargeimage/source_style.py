"""The statistics and styling part of the facade: per-frame band statistics (one sample per
frame, shared by tiles, thumbnails and regions) and the two ways raw pixels become a picture —
the default rendering, or a large_image style.

A mixin of :class:`~geolargeimage.source.TileSource`.
"""

from __future__ import annotations

import threading
from functools import cached_property
from typing import Any

import numpy as np

from . import config, errors
from .grid import Window
from .options import Resampling
from .reader import Raster
from .projected import WarpedView
from .render import is_plain_picture
from .style import (BandStats, Style, apply_style, check_style, default_style, parse_style,
                    to_uint8)

#: Longest side of the sample read for band statistics and display stretches.
STATISTICS_SAMPLE_SIZE = 1024


class StyleMethods:
    """Statistics and styles; expects ``_frame_raster``, ``_layer_for``, ``frames``, ``dtype``."""

    _style: Style | None

    def _init_style(self, style: Any) -> None:
        self._samples: dict[int, np.ndarray] = {}
        self._stats: dict[int, list[BandStats | None]] = {}
        self._sample_lock = threading.Lock()
        self._shared = False  # set by geolargeimage.open for sources it shares
        self._style, self._style_value = self._parse_style(style), style

    # -- style ----------------------------------------------------------------------------------
    @property
    def style(self) -> dict | str | None:
        """The style given at open (or set since), as given."""
        return self._style_value if self._style is not None else None

    @style.setter
    def style(self, value: Any) -> None:
        if self._shared:
            raise errors.SourceError('Cannot set the style of a cached source; open it with '
                                     'noCache=True')
        style = self._parse_style(value)  # a bad style leaves the source as it was
        self._style, self._style_value = style, value

    def _parse_style(self, value: Any) -> Style | None:
        """Parse, substitute the default style, resolve 'auto' nodata and check bands/frames."""
        style = parse_style(value)
        if style is None:
            return None
        info = self._layer_for(0).info
        interpretations = [band.interpretation for band in info.bands]
        if style.is_default:
            style = self._default_style
        style = style.resolve_nodata([band.nodata for band in info.bands], interpretations)
        check_style(style, band_count=info.band_count, interpretations=interpretations,
                    frame_count=self.frames)
        return style

    def _request_style(self, value: Any) -> Style | None:
        """The style of one call: its own ``style=`` if given, else the source's."""
        return self._style if value is None else self._parse_style(value)

    # -- statistics -----------------------------------------------------------------------------
    def _frame_sample(self, frame: int) -> np.ndarray:
        """Raw pixels of the whole frame, at most STATISTICS_SAMPLE_SIZE on a side, decoding at
        most config ``statistics_max_pixels`` stored pixels (:meth:`Raster.sample`; cached, a
        failure too); damaged blocks are left out (one of them must not make the metadata
        fail)."""
        sample = self._samples.get(frame)
        if sample is None:
            raster: Raster = self._frame_raster(frame)
            info = raster.info
            scale = min(1.0, STATISTICS_SAMPLE_SIZE / max(info.width, info.height))
            width, height = max(1, round(info.width * scale)), max(1, round(info.height * scale))
            try:
                sample = raster.sample(width, height,
                                       max_pixels=int(config.getConfig('statistics_max_pixels')))
            except errors.RemoteAccessError:
                raise  # may be transient: not remembered
            except (errors.GDALError, errors.OutputSizeError) as exc:
                sample = exc
            with self._sample_lock:
                sample = self._samples.setdefault(frame, sample)
        if isinstance(sample, Exception):
            raise sample
        return sample

    def _band_stats(self, frame: int) -> list[BandStats | None]:
        """Statistics of each band read for ``frame`` (None for a warp's alpha band); computed
        once per frame."""
        stats = self._stats.get(frame)
        if stats is None:
            sample = self._frame_sample(frame)
            bands = self._frame_raster(frame).info.bands
            stats = [BandStats.from_values(sample[:, :, i], band.nodata)
                     for i, band in enumerate(bands)]
            stats += [None] * (self._layer_for(frame).info.band_count - len(bands))
            with self._sample_lock:
                stats = self._stats.setdefault(frame, stats)
        return stats

    def _band_summary(self, frame: int) -> list[dict[str, Any]]:
        """min/max/mean/stdev of each band of ``frame`` (from its sample, in float64: float32
        sums overflow). When no part of the sample can be read (damaged blocks), each band
        says why in ``statisticsError`` instead: that fails only the statistics."""
        bands = self._frame_raster(frame).info.bands
        try:
            sample = self._frame_sample(frame)
        except (errors.GDALError, errors.OutputSizeError) as exc:
            return [{'statisticsError': str(exc)} for _band in bands]
        summary = []
        for index, band in enumerate(bands):
            values = sample[:, :, index]
            valid = values[np.isfinite(values)] if values.dtype.kind == 'f' else values.ravel()
            if band.nodata is not None:
                valid = valid[valid != band.nodata]
            valid = valid.astype(np.float64)
            summary.append({} if valid.size == 0 else {
                'min': float(valid.min()), 'max': float(valid.max()),
                'mean': float(valid.mean()), 'stdev': float(valid.std())})
        return summary

    # -- pixels -----------------------------------------------------------------------------------
    def _pixels(self, window: Window, width: int, height: int, frame: int,
                resampling: Resampling, style: Style | None) -> np.ndarray:
        """Raw pixels of a window of ``frame``, or, with a style, its styled float picture."""
        if style is None:
            return self._layer_for(frame).read(window, width, height, resampling=resampling)
        frame = style.pinned_frame if style.pinned_frame is not None else frame
        reads: dict[int, np.ndarray] = {}

        def fetch(read_frame: int, band: int) -> np.ndarray:
            if read_frame not in reads:
                reads[read_frame] = self._layer_for(read_frame).read(
                    window, width, height, resampling=resampling)
            return reads[read_frame][:, :, band]

        styled = self._apply(style, fetch, frame)
        warp = self._layer_for(frame)
        if isinstance(warp, WarpedView) and styled.shape[2] == 4:
            # Where the warp has no data, the picture is transparent whatever the style says.
            alpha = fetch(frame, warp.info.band_count - 1).astype(np.float32)
            np.minimum(styled[:, :, 3], alpha * (255 / warp.alpha_max), out=styled[:, :, 3])
        return styled

    def _apply(self, style: Style, fetch: Any, frame: int) -> np.ndarray:
        info = self._layer_for(frame).info
        return apply_style(style, fetch, frame=frame, band_count=info.band_count,
                           interpretations=[band.interpretation for band in info.bands],
                           dtype=self.dtype, stats=lambda f, b: self._band_stats(f)[b],
                           frame_count=self.frames)

    @cached_property
    def _default_style(self) -> Style:
        """large_image's default style for this source's bands (a warp's alpha band included)."""
        native, info = self._frame_raster(0).info, self._layer_for(0).info
        return default_style([b.interpretation for b in native.bands],
                             [b.nodata for b in native.bands], native.bands[0].color_table,
                             extra_alpha=info.band_count > native.band_count)

    def _picture(self, pixels: np.ndarray, styled: bool, mask: np.ndarray | None,
                 frame: int) -> np.ndarray:
        """8-bit ``(h, w, 1..4)`` pixels for encoding: the style's output, or for raw pixels
        large_image's default style (raw 8-bit RGB is already that picture); ``mask``
        (0 = no data) limits the alpha."""
        if not styled:
            if mask is None and is_plain_picture(self._display_plan, self._layer_for(frame).info.bands,
                                                 pixels.dtype):
                return pixels
            pixels = self._apply(self._default_style, lambda f, b: pixels[:, :, b], frame)
        picture = to_uint8(pixels)
        if mask is not None:
            if picture.shape[2] in (1, 3):
                picture = np.concatenate([picture, np.full_like(picture[:, :, :1], 255)], axis=2)
            picture = picture.copy() if picture is pixels else picture
            picture[:, :, -1] = np.minimum(picture[:, :, -1], mask)
        return picture
