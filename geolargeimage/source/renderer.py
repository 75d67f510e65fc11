"""How a source's raw pixels become pictures: per-frame band statistics (one sample per frame,
shared by tiles, thumbnails and regions), the source's style, and the two ways pixels become a
picture — large_image's default rendering, or a style.
"""

from __future__ import annotations

import threading
from functools import cached_property
from typing import Any

import numpy as np

from geolargeimage import config, errors
from geolargeimage.enums import Resampling
from geolargeimage.grid import Window
from geolargeimage.picture.band_stats import BandStats, summarize
from geolargeimage.picture.composition import DisplayPlan, display_plan, is_plain_picture
from geolargeimage.picture.style import Style, check_style, default_style, parse_style
from geolargeimage.picture.styling import apply_style, to_uint8
from geolargeimage.regions import RegionPlan
from geolargeimage.source.frames import FrameSet

#: Longest side of the sample read for band statistics and display stretches.
STATISTICS_SAMPLE_SIZE = 1024


class Renderer:
    """Statistics and styles of the frames in ``frames``; ``style`` is the source's style as
    given (None: the default rendering)."""

    def __init__(self, frames: FrameSet, style: Any = None):
        self._frames = frames
        self._samples: dict[int, np.ndarray | Exception] = {}
        self._stats: dict[int, list[BandStats | None]] = {}
        self._lock = threading.Lock()
        self.style, self.style_value = self.parse(style), style

    # -- styles -----------------------------------------------------------------------------------
    def parse(self, value: Any) -> Style | None:
        """Parse a style, substitute the default style, resolve 'auto' nodata and check its
        bands and frames against the source."""
        style = parse_style(value)
        if style is None:
            return None
        info = self._frames.info(0)
        interpretations = [band.interpretation for band in info.bands]
        if style.is_default:
            style = self.default_style
        style = style.resolve_nodata([band.nodata for band in info.bands], interpretations)
        check_style(style, band_count=info.band_count, interpretations=interpretations,
                    frame_count=self._frames.count)
        return style

    def set_style(self, value: Any) -> None:
        """Make ``value`` the source's style (a bad style leaves the old one)."""
        style = self.parse(value)
        self.style, self.style_value = style, value

    def request_style(self, value: Any) -> Style | None:
        """The style of one call: its own ``style=`` if given, else the source's."""
        return self.style if value is None else self.parse(value)

    @cached_property
    def default_style(self) -> Style:
        """large_image's default style for the bands (a warp's alpha band included)."""
        native, info = self._frames.raster(0).info, self._frames.info(0)
        return default_style([b.interpretation for b in native.bands],
                             [b.nodata for b in native.bands], native.bands[0].color_table,
                             extra_alpha=info.band_count > native.band_count)

    @cached_property
    def display_plan(self) -> DisplayPlan:
        """Which bands the default rendering shows as colour, alpha or palette."""
        return display_plan(self._frames.info(0).bands)

    # -- statistics -------------------------------------------------------------------------------
    def sample(self, frame: int) -> np.ndarray:
        """Raw pixels of the whole frame, at most STATISTICS_SAMPLE_SIZE on a side, decoding at
        most config ``statistics_max_pixels`` stored pixels (:meth:`Raster.sample`; cached, a
        failure too, except a remote one, which may be transient); damaged blocks are left out
        (one of them must not make the metadata fail)."""
        sample = self._samples.get(frame)
        if sample is None:
            raster = self._frames.raster(frame)
            info = raster.info
            scale = min(1.0, STATISTICS_SAMPLE_SIZE / max(info.width, info.height))
            width, height = max(1, round(info.width * scale)), max(1, round(info.height * scale))
            try:
                sample = raster.sample(width, height,
                                       max_pixels=int(config.getConfig('statistics_max_pixels')))
            except errors.RemoteAccessError:
                raise
            except (errors.GDALError, errors.OutputSizeError) as exc:
                sample = exc
            with self._lock:
                sample = self._samples.setdefault(frame, sample)
        if isinstance(sample, Exception):
            raise sample
        return sample

    def band_stats(self, frame: int) -> list[BandStats | None]:
        """Statistics of each band read for ``frame`` (None for a warp's alpha band); computed
        once per frame."""
        stats = self._stats.get(frame)
        if stats is None:
            sample = self.sample(frame)
            bands = self._frames.raster(frame).info.bands
            stats = [BandStats.from_values(sample[:, :, i], band.nodata)
                     for i, band in enumerate(bands)]
            stats += [None] * (self._frames.info(frame).band_count - len(bands))
            with self._lock:
                stats = self._stats.setdefault(frame, stats)
        return stats

    def band_summary(self, frame: int) -> list[dict[str, Any]]:
        """min/max/mean/stdev of each band of ``frame`` (from its sample, in float64: float32
        sums overflow). When no part of the sample can be read (damaged blocks), each band
        says why in ``statisticsError`` instead: that fails only the statistics."""
        bands = self._frames.raster(frame).info.bands
        try:
            sample = self.sample(frame)
        except (errors.GDALError, errors.OutputSizeError) as exc:
            return [{'statisticsError': str(exc)} for _band in bands]
        return [summarize(sample[:, :, index], band.nodata) for index, band in enumerate(bands)]

    # -- pixels -----------------------------------------------------------------------------------
    def plan_pixels(self, plan: RegionPlan, frame: int, resampling: Resampling,
                    style: Style | None, image_size: tuple[int, int]) -> np.ndarray:
        """The pixels of ``plan`` (:meth:`pixels`); for a plan with no output pixels an empty
        array that keeps the other side's size, with the dtype and bands one pixel read through
        the same reader and style gives (a warp's alpha band, a style's RGBA). ``image_size``
        is the size of the grid the plan's window is in."""
        if not plan.empty:
            return self.pixels(plan.window, plan.width, plan.height, frame, resampling, style)
        rows = plan.height if plan.window.height else 0
        cols = plan.width if plan.window.width else 0
        corner = Window(min(plan.window.col_off, image_size[0] - 1),
                        min(plan.window.row_off, image_size[1] - 1), 1, 1)
        sample = self.pixels(corner, 1, 1, frame, Resampling.NEAREST, style)
        return np.zeros((rows, cols, sample.shape[2]), dtype=sample.dtype)

    def pixels(self, window: Window, width: int, height: int, frame: int,
               resampling: Resampling, style: Style | None) -> np.ndarray:
        """Raw pixels of a window of ``frame``, or, with a style, its styled float picture."""
        if style is None:
            return self._frames.reader(frame).read(window, width, height, resampling=resampling)
        frame = style.pinned_frame if style.pinned_frame is not None else frame
        reads: dict[int, np.ndarray] = {}

        def fetch(read_frame: int, band: int) -> np.ndarray:
            if read_frame not in reads:
                reads[read_frame] = self._frames.reader(read_frame).read(
                    window, width, height, resampling=resampling)
            return reads[read_frame][:, :, band]

        styled = self._apply(style, fetch, frame)
        reader = self._frames.reader(frame)
        if reader.alpha_max is not None and styled.shape[2] == 4:
            # Where the warp has no data, the picture is transparent whatever the style says.
            alpha = fetch(frame, reader.info.band_count - 1).astype(np.float32)
            np.minimum(styled[:, :, 3], alpha * (255 / reader.alpha_max), out=styled[:, :, 3])
        return styled

    def picture(self, pixels: np.ndarray, styled: bool, mask: np.ndarray | None,
                frame: int) -> np.ndarray:
        """8-bit ``(h, w, 1..4)`` pixels for encoding: the style's output, or for raw pixels
        large_image's default style (raw 8-bit RGB is already that picture); ``mask``
        (0 = no data) limits the alpha."""
        if not styled:
            if mask is None and is_plain_picture(self.display_plan,
                                                 self._frames.info(frame).bands, pixels.dtype):
                return pixels
            pixels = self._apply(self.default_style, lambda f, b: pixels[:, :, b], frame)
        picture = to_uint8(pixels)
        if mask is not None:
            if picture.shape[2] in (1, 3):
                picture = np.concatenate([picture, np.full_like(picture[:, :, :1], 255)], axis=2)
            picture = picture.copy() if picture is pixels else picture
            picture[:, :, -1] = np.minimum(picture[:, :, -1], mask)
        return picture

    def _apply(self, style: Style, fetch: Any, frame: int) -> np.ndarray:
        info = self._frames.info(frame)
        return apply_style(style, fetch, frame=frame, band_count=info.band_count,
                           interpretations=[band.interpretation for band in info.bands],
                           dtype=self._frames.raster(0).info.dtype,
                           stats=lambda f, b: self.band_stats(f)[b],
                           frame_count=self._frames.count)
