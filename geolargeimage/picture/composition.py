"""Band composition for display: which bands of a raster make its picture, and in what order.

Nothing here renders: styling pixels is :mod:`geolargeimage.picture.styling` (with
large_image's default style, :func:`geolargeimage.picture.style.default_style`, when none is
given). This module answers the cheap questions around that: which bands a raster shows
(:func:`display_plan`), whether its raw pixels already are the default picture (8-bit red,
green, blue in order: no work to do, :func:`is_plain_picture`), and fitting a picture to a
canvas (:func:`letterbox`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from geolargeimage.raster_info import BandInfo


@dataclass(frozen=True)
class DisplayPlan:
    """Which bands make the picture: 0-based band positions and the colour table to expand."""

    colour_bands: tuple[int, ...]
    alpha_band: int | None
    palette: np.ndarray | None


def display_plan(bands: Sequence[BandInfo]) -> DisplayPlan:
    """Choose the bands shown for a raster's bands (by colour interpretation).

    >>> from types import SimpleNamespace as B
    >>> display_plan([B(interpretation=n, color_table=None)
    ...               for n in ('blue', 'green', 'red', 'nir')])
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


def is_plain_picture(plan: DisplayPlan, bands: Sequence[BandInfo], dtype: np.dtype) -> bool:
    """Whether raw pixels are their own default-style picture: 8-bit grey or red, green, blue
    in band order, optionally followed by alpha, with no nodata (the default style maps such
    values to themselves).

    >>> from types import SimpleNamespace as B
    >>> rgba = [B(interpretation=n, color_table=None, nodata=None)
    ...         for n in ('red', 'green', 'blue', 'alpha')]
    >>> is_plain_picture(display_plan(rgba), rgba, np.dtype('uint8'))
    True
    """
    colours = len(bands) - (plan.alpha_band is not None)
    return (np.dtype(dtype) == np.uint8 and plan.palette is None and colours in (1, 3)
            and plan.colour_bands == tuple(range(colours))
            and plan.alpha_band in (None, len(bands) - 1)
            and all(band.nodata is None for band in bands))


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
