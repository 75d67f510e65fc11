"""The last steps of a request: raw pixels handed back as numpy, a Pillow image or encoded
bytes; edge tiles padded; and stored tiles passed through undecoded where a tile is exactly a
stored block in the requested encoding."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

import numpy as np

from geolargeimage import errors
from geolargeimage.enums import TileFormat
from geolargeimage.grid import Window
from geolargeimage.io import stored_tiles
from geolargeimage.io.error_mapping import gdal_errors
from geolargeimage.io.raster import Raster
from geolargeimage.level_grid import LevelGrid
from geolargeimage.options import EncodeOptions, Fill
from geolargeimage.picture.composition import DisplayPlan, letterbox
from geolargeimage.picture.encode import encode_pixels, to_pil

#: Makes the 8-bit picture of raw pixels (styling, default rendering and mask applied).
Picturer = Callable[[np.ndarray], np.ndarray]


def deliver(pixels: np.ndarray, window: Window, fmt: TileFormat, encoding: EncodeOptions,
            picture: Picturer, fill: Fill | None = None) -> tuple[object, str]:
    """``pixels`` as numpy (the stored values), a Pillow image or encoded bytes (through
    ``picture``, letterboxed by ``fill``). Empty pixels are an empty array, and a RangeError for
    the other formats: no image format holds 0 pixels (large_image's 0-byte 'image/jpeg' is not
    a JPEG any reader opens)."""
    if fmt is TileFormat.NUMPY:
        return pixels, TileFormat.NUMPY.value
    if pixels.size == 0:
        wanted = 'a Pillow image' if fmt is TileFormat.PIL \
            else f'a {encoding.encoding.value} image'
        raise errors.RangeError(
            f'The region is empty: its {window.width} x {window.height} base pixels give '
            f'{pixels.shape[1]} x {pixels.shape[0]} output pixels, and {wanted} needs at '
            f"least one; use format='numpy' for an empty array")
    image = picture(pixels)
    if fill is not None:
        image = letterbox(image, fill.width, fill.height, fill.colour, fill.corner)
    if fmt is TileFormat.PIL:
        return to_pil(image), TileFormat.PIL.value
    return encode_pixels(image, encoding), encoding.encoding.mimetype


def pad(pixels: np.ndarray, width: int, height: int,
        colour: tuple[int, int, int] | None = None) -> np.ndarray:
    """``pixels`` padded at the right and bottom to ``height`` × ``width`` with zeros, or with an
    opaque ``colour`` (as grey luminance for 1–2 channel pictures).

    >>> pad(np.ones((1, 1, 1), np.uint8), 2, 1, (255, 255, 255))[0, :, 0].tolist()
    [1, 255]
    """
    if pixels.shape[0] >= height and pixels.shape[1] >= width:
        return pixels
    padded = np.zeros((height, width, pixels.shape[2]), dtype=pixels.dtype)
    if colour is not None:
        grey = (colour[0] * 299 + colour[1] * 587 + colour[2] * 114) // 1000
        fill = {1: [grey], 2: [grey, 255], 3: list(colour), 4: [*colour, 255]}[pixels.shape[2]]
        padded[...] = fill
    padded[:pixels.shape[0], :pixels.shape[1]] = pixels
    return padded


class PassThrough:
    """Stored tiles handed out as they are, when ``raster``'s blocks are the tiles of ``levels``
    and already hold the picture in the encoding asked for (8-bit grey or RGB GTiff blocks)."""

    def __init__(self, raster: Raster, levels: LevelGrid, encoding: EncodeOptions,
                 plan: Callable[[], DisplayPlan]):
        self._raster, self._levels = raster, levels
        self._encoding, self._plan = encoding, plan

    @cached_property
    def format(self) -> str | None:
        """The encoding the stored tiles are handed out in, or None when they cannot be."""
        return _stored_format(self._raster, self._levels, self._encoding, self._plan())

    def tile(self, x: int, y: int, z: int) -> bytes | None:
        """The stored compressed block that is exactly tile (x, y, z), if there is one."""
        if self.format is None:
            return None
        levels = self._levels
        dataset = self._raster.stored_level(1 << (levels.max_level - z))
        if dataset is None or (x + 1) * levels.tile_width > dataset.RasterXSize \
                or (y + 1) * levels.tile_height > dataset.RasterYSize:
            return None
        with gdal_errors(self._raster.path):
            return stored_tiles.read_compressed(
                dataset, self.format, x * levels.tile_width, y * levels.tile_height,
                levels.tile_width, levels.tile_height)


def _stored_format(raster: Raster, levels: LevelGrid, encoding: EncodeOptions,
                   plan: DisplayPlan) -> str | None:
    info = raster.info
    compression = info.structure.get('COMPRESSION', '').upper()
    stored = 'JPEG' if compression.endswith('JPEG') else compression
    if stored != encoding.encoding.value or info.driver != 'GTiff' \
            or info.dtype != np.uint8 or info.has_external_mask or plan.palette is not None \
            or plan.alpha_band is not None or plan.colour_bands not in ((0,), (0, 1, 2)) \
            or plan.colour_bands != tuple(range(info.band_count)) \
            or (info.block_width, info.block_height) != (levels.tile_width, levels.tile_height) \
            or not stored_tiles.available():
        return None
    return stored


def pixel_record(picture: np.ndarray, styled: np.ndarray | None) -> dict[str, Any]:
    """getPixel's channels of one picture pixel (``r``, ``g``, ``b``, ``a`` or ``l``, by the
    picture's mode) and its ``value``: the ``styled`` values when there is a style, else the
    picture's."""
    mode = to_pil(picture[None, None]).mode.lower()
    result: dict[str, Any] = dict(zip(mode, (int(v) for v in picture)))
    result['value'] = [float(v) for v in styled] if styled is not None \
        else [int(v) for v in picture]
    return result
