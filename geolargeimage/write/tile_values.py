"""Checking what the sink is given: tiles, masks, placements on named axes, property values.

Each function turns one large_image-style argument into a checked value or raises
:class:`~geolargeimage.errors.OptionsError` naming it.
"""

from __future__ import annotations

import io
import json
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from PIL import Image

from geolargeimage import errors
from geolargeimage.geo.crs import parse_crs
from geolargeimage.write.spill import FrameKey

#: Pixel types the sink stores: what GTiff stores, less complex numbers and float16 (GDAL
#: cannot build its overviews).
SUPPORTED_DTYPES = tuple(np.dtype(name) for name in (
    'uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'uint64', 'int64', 'float32',
    'float64'))
#: Names that cannot be frame axes.
RESERVED_AXES = ('x', 'y', 's', 'level', 'frame', 'mask', 'axes')
_AXIS_NAME = re.compile(r'[a-z][a-z0-9]*\Z')
#: Pillow modes stored as they are; others are converted to RGB (or RGBA with transparency).
_PIL_MODES = ('L', 'LA', 'RGB', 'RGBA', 'I;16', 'I;16B', 'I', 'F')


def as_pixels(tile: Any, axes: str | Sequence[str] | None) -> np.ndarray:
    """A tile as a ``(rows, columns, bands)`` array."""
    if isinstance(tile, (bytes, bytearray, memoryview)):
        try:
            tile = Image.open(io.BytesIO(bytes(tile)))
            tile.load()
        except (OSError, ValueError) as exc:
            raise errors.OptionsError(f'Cannot decode the tile bytes as an image: {exc}') from None
    if isinstance(tile, Image.Image):
        if tile.mode not in _PIL_MODES:
            transparent = tile.mode in ('PA', 'RGBa', 'La') or 'transparency' in tile.info
            tile = tile.convert('RGBA' if transparent else 'RGB')
        tile = np.asarray(tile)
    if not isinstance(tile, np.ndarray):
        raise errors.OptionsError(f'A tile must be a numpy array, a Pillow image or encoded image '
                                  f'bytes, not {type(tile).__name__}')
    if axes is not None:
        tile = transpose(tile, axes)
    if tile.ndim == 2:
        tile = tile[:, :, None]
    if tile.ndim != 3:
        raise errors.OptionsError(f'A tile must have 2 dimensions (rows, columns) or 3 (rows, '
                                  f'columns, bands), not shape {tile.shape}')
    if tile.dtype not in SUPPORTED_DTYPES:
        raise errors.OptionsError(f'Unsupported tile dtype {tile.dtype}; supported: '
                                  f'{", ".join(str(d) for d in SUPPORTED_DTYPES)}')
    if tile.shape[2] < 1:
        raise errors.OptionsError('A tile must have at least one band')
    return tile


def transpose(tile: np.ndarray, axes: str | Sequence[str]) -> np.ndarray:
    names = [str(a).lower() for a in axes]
    if sorted(names) not in (['x', 'y'], ['s', 'x', 'y']) or len(names) != tile.ndim:
        raise errors.OptionsError(f'axes must name the tile\'s {tile.ndim} dimensions with y, x '
                                  f'and optionally s (bands), e.g. "yxs"; not {axes!r}')
    order = [names.index(a) for a in ('y', 'x', 's') if a in names]
    return np.transpose(tile, order)


def pixel_offset(name: str, value: Any) -> int:
    """A tile's ``x`` or ``y``: an integer >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise errors.OptionsError(f'{name} must be an integer >= 0, not {value!r}')
    return int(value)


def as_mask(mask: Any, shape: tuple[int, int]) -> np.ndarray | None:
    """addTile's ``mask`` as a boolean ``shape`` array (None: the whole tile)."""
    if mask is None:
        return None
    array = np.asarray(mask)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.shape != shape:
        raise errors.OptionsError(f'The mask has shape {array.shape}; the tile needs {shape} '
                                  f'(or {shape + (1,)})')
    return array.astype(bool)


def axis_name(name: Any) -> str:
    """A frame axis name, lower case: letters and digits, not a reserved name."""
    if not isinstance(name, str) or not _AXIS_NAME.match(name.lower()) \
            or name.lower() in RESERVED_AXES:
        raise errors.OptionsError(f'Invalid axis name {name!r}: use letters and digits, '
                                  f'starting with a letter, other than {", ".join(RESERVED_AXES)}')
    return name.lower()


def axis_placement(kwargs: Mapping[str, Any]) -> tuple[dict[str, int], dict[str, Any]]:
    """Axis positions and real values from addTile's extra keywords."""
    positions, values = {}, {}
    for key, value in kwargs.items():
        if key.endswith('_value'):
            values[axis_name(key[:-len('_value')])] = frame_value(value)
            continue
        axis = axis_name(key)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise errors.OptionsError(f'Axis {key} must be an integer index >= 0, not {value!r}')
        positions[axis] = int(value)
    unplaced = sorted(set(values) - set(positions))
    if unplaced:
        raise errors.OptionsError(f'{unplaced[0]}_value needs the index too ({unplaced[0]}=...)')
    return positions, values


def frame_key(positions: Mapping[str, int]) -> FrameKey:
    """The spill's key of the frame at ``positions`` (axes at 0 left out)."""
    return tuple(sorted((axis, position) for axis, position in positions.items() if position))


def frame_value(value: Any) -> Any:
    """The real value of an axis position: a number or a string."""
    if isinstance(value, np.generic):
        value = value.item()
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise errors.OptionsError(f'Frame values must be numbers or strings, not {value!r}')
    return value


def string_value(name: str, value: Any) -> str:
    """A property that must be a string."""
    if not isinstance(value, str):
        raise errors.OptionsError(f'{name} must be a string, not {value!r}')
    return value


def json_serialisable(name: str, value: Any) -> Any:
    """A property that must survive ``json.dumps``."""
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        raise errors.OptionsError(f'{name} must be JSON-serialisable, not {value!r}') from None
    return value


def string_list(name: str, value: Any) -> list[str]:
    """A property that must be a list of strings."""
    if isinstance(value, str) or not all(isinstance(item, str) for item in value):
        raise errors.OptionsError(f'{name} must be a list of strings, not {value!r}')
    return list(value)


def axis_units(value: Any) -> dict[str, str]:
    """frameUnits: axis names (lower case) to unit strings."""
    if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise errors.OptionsError(f'frameUnits must map axis names to unit strings, not {value!r}')
    return {k.lower(): v for k, v in value.items()}


def crs_string(value: Any) -> str:
    """A CRS string :func:`~geolargeimage.geo.crs.parse_crs` reads, kept as given."""
    parse_crs(value)
    return value


def affine_coefficients(value: Any) -> tuple[float, ...]:
    """GDAL's six geotransform coefficients, finite and invertible."""
    try:
        numbers = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        numbers = ()
    if len(numbers) != 6 or not all(map(math.isfinite, numbers)) \
            or numbers[1] * numbers[5] - numbers[2] * numbers[4] == 0:
        raise errors.OptionsError(f'geotransform must be 6 finite numbers of an invertible '
                                  f'affine transform, not {value!r}')
    return numbers


def positive_number(name: str, value: Any) -> float:
    """A property that must be a finite number > 0."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float('nan')
    if not math.isfinite(number) or number <= 0:
        raise errors.OptionsError(f'{name} must be a positive number or None, not {value!r}')
    return number


def cast_lossless(pixels: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``pixels`` as ``dtype`` when nothing is lost (safe casts, integers in range, float to
    float, integer to float); OptionsError otherwise."""
    if pixels.dtype == dtype:
        return pixels
    kinds = pixels.dtype.kind + dtype.kind
    fits = np.can_cast(pixels.dtype, dtype, 'safe') or kinds in ('ff', 'if', 'uf')
    if not fits and kinds in ('ii', 'iu', 'ui', 'uu') and pixels.size:
        limits = np.iinfo(dtype)
        fits = limits.min <= pixels.min() and pixels.max() <= limits.max
    if not fits:
        raise errors.OptionsError(f'A {pixels.dtype} tile cannot be stored without loss in this '
                                  f'{dtype} image (the first tile fixed the dtype)')
    return pixels.astype(dtype)


def gcp_points(value: Any) -> tuple[tuple[float, float, float, float], ...]:
    """large_image's gcps: (proj_x, proj_y, px, py) tuples or a string of such numbers."""
    try:
        numbers = [float(v) for v in value.split()] if isinstance(value, str) else \
            [float(v) for point in value for v in point]
        points = [tuple(numbers[i:i + 4]) for i in range(0, len(numbers), 4)]
    except (TypeError, ValueError):
        points = []
    if not points or any(len(p) != 4 or not all(map(math.isfinite, p)) for p in points):
        raise errors.OptionsError('gcps must be (proj_x, proj_y, pixel_x, pixel_y) points, as '
                                  f'tuples or a space-separated string; not {value!r}')
    unique = list(dict.fromkeys(points))
    if len(unique) < len(points):
        warnings.warn('Duplicate gcps were dropped', UserWarning, stacklevel=3)
    if len(unique) < 2:
        raise errors.OptionsError('At least two distinct gcps are needed')
    return tuple(unique)
