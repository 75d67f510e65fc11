"""The default 8-bit rendering of raw pixels for image output (PNG, JPEG, Pillow images).

numpy output keeps the stored values; pictures need 8 bits and 1–4 channels. The bands shown are
chosen by colour interpretation (red/green/blue, else a paletted band through its colour table,
else the first band as grey), values outside 0–255 are stretched from the dataset's range, and
alpha comes from an alpha band or the nodata/mask.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .reader import BandInfo


@dataclass(frozen=True)
class BandRange:
    """Smallest and largest valid value of a band (from a sample of the whole image)."""

    low: float
    high: float


@dataclass(frozen=True)
class DisplayPlan:
    """Which bands make the picture: 0-based band positions and the colour table to expand."""

    colour_bands: tuple[int, ...]
    alpha_band: int | None
    palette: np.ndarray | None


def display_plan(bands: Sequence[BandInfo]) -> DisplayPlan:
    """Choose the bands shown for a raster's bands (by colour interpretation).

    >>> from types import SimpleNamespace as B
    >>> display_plan([B(interpretation=n, color_table=None) for n in ('blue', 'green', 'red', 'nir')])
    DisplayPlan(colour_bands=(2, 1, 0), alpha_band=None, palette=None)
    """
    names = [band.interpretation for band in bands]
    alpha = names.index('alpha') if 'alpha' in names else None
    if all(name in names for name in ('red', 'green', 'blue')):
        colour = tuple(names.index(name) for name in ('red', 'green', 'blue'))
        return DisplayPlan(colour, alpha, None)
    if bands[0].color_table:
        return DisplayPlan((0,), alpha, np.array(bands[0].color_table, dtype=np.uint8))
    others = [i for i in range(len(bands)) if i != alpha]
    if len(bands) == 3 and alpha is None:
        return DisplayPlan((0, 1, 2), None, None)
    if alpha is None and len(bands) == 2:
        # Two bands with no interpretation: grey plus alpha, as large_image reads them.
        return DisplayPlan((0,), 1, None)
    return DisplayPlan((others[0] if others else 0,), alpha, None)


def sample_range(values: np.ndarray, nodata: float | None) -> BandRange | None:
    """Valid minimum and maximum of a sample (nodata and NaN excluded), or None if none is valid.

    >>> sample_range(np.array([0, 5, 9, 255]), nodata=255)
    BandRange(low=0.0, high=9.0)
    """
    valid = values[np.isfinite(values)] if values.dtype.kind == 'f' else values.ravel()
    if nodata is not None:
        valid = valid[valid != nodata]
    if valid.size == 0:
        return None
    return BandRange(float(valid.min()), float(valid.max()))


def stretch_ranges(ranges: Sequence[BandRange | None], dtype: np.dtype) -> list[BandRange]:
    """The ranges mapped to 0–255: uint8 data is shown as stored; other data too when every band
    already lies within 0–255 (large_image's ``auto``), else each band's own range."""
    if dtype == np.uint8 or all(r is not None and 0 <= r.low <= 254 and 2 <= r.high <= 255
                                for r in ranges):
        return [BandRange(0, 255)] * len(ranges)
    return [r if r is not None else BandRange(0, 1) for r in ranges]


def to_display(pixels: np.ndarray, plan: DisplayPlan, ranges: Sequence[BandRange],
               mask: np.ndarray | None) -> np.ndarray:
    """8-bit ``(h, w, 1..4)`` pixels of raw ``(h, w, bands)`` data for encoding.

    ``ranges`` holds one stretch per band (see :func:`stretch_ranges`); ``mask`` (0 = no data)
    becomes alpha when the raster has no alpha band.
    """
    if plan.palette is not None:
        index = np.clip(pixels[:, :, plan.colour_bands[0]], 0, len(plan.palette) - 1)
        out = plan.palette[index.astype(np.intp)]
        if mask is not None:
            out[:, :, 3] = np.minimum(out[:, :, 3], mask)
        return out
    if pixels.dtype == np.uint8 and mask is None and plan.alpha_band is None \
            and plan.colour_bands == tuple(range(pixels.shape[2])) \
            and all(ranges[b] == BandRange(0, 255) for b in plan.colour_bands):
        return pixels  # already a picture: no copy
    channels = [_to_uint8(pixels[:, :, b], ranges[b]) for b in plan.colour_bands]
    if plan.alpha_band is not None:
        channels.append(_to_uint8(pixels[:, :, plan.alpha_band], ranges[plan.alpha_band]))
    elif mask is not None:
        channels.append(mask.astype(np.uint8, copy=False))
    return np.stack(channels, axis=2)


def _to_uint8(values: np.ndarray, band_range: BandRange) -> np.ndarray:
    if values.dtype == np.uint8 and band_range == BandRange(0, 255):
        return values
    span = band_range.high - band_range.low or 1.0
    scaled = (values.astype(np.float32) - band_range.low) * (255.0 / span)
    return np.nan_to_num(np.clip(scaled, 0, 255), nan=0).astype(np.uint8)


def letterbox(picture: np.ndarray, width: int, height: int, colour: tuple[int, ...],
              corner: bool) -> np.ndarray:
    """``picture`` placed on a ``width`` × ``height`` canvas of ``colour`` (RGBA), centred or at
    the top-left corner (large_image's ``fill``).

    >>> letterbox(np.full((1, 2, 3), 9, np.uint8), 2, 3, (1, 2, 3, 255), corner=False)[:, :, 0]
    array([[1, 1],
           [9, 9],
           [1, 1]], dtype=uint8)
    """
    channels = picture.shape[2]
    grey = (colour[0] * 299 + colour[1] * 587 + colour[2] * 114) // 1000
    fill = {1: (grey,), 2: (grey, colour[3]), 3: colour[:3], 4: colour}[channels]
    canvas = np.empty((height, width, channels), dtype=np.uint8)
    canvas[...] = fill
    top = 0 if corner else (height - picture.shape[0]) // 2
    left = 0 if corner else (width - picture.shape[1]) // 2
    canvas[top:top + picture.shape[0], left:left + picture.shape[1]] = picture
    return canvas
