"""Typed, frozen option values and the parsers that build them from large_image's keyword dicts.

The facade parses ``region=``, ``output=``, ``scale=`` and the open options here, at once, and
passes these values inward; nothing deeper sees a raw ``**kwargs``. Every parser rejects unknown
keys and bad values with an :class:`~geolargeimage.errors.OptionsError` naming the valid choices.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import ImageColor

from geolargeimage.enums import Encoding, Resampling
from geolargeimage.errors import OptionsError


def parse_keywords(what: str, given: Mapping[str, Any] | None, defaults: Mapping[str, Any], *,
                   kind: str = 'key', aliases: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The one keyword check: ``given`` with aliases resolved and every keyword it lacks at its
    default from ``defaults`` (the table that lists the valid names, and the only place their
    defaults are written).

    Parameters
    ----------
    what : str
        What the keywords belong to, for messages ('region', 'style band', '' for open options).
    given : Mapping or None
        The caller's keywords (None: none given).
    defaults : Mapping
        Every valid keyword and its default.
    kind : str
        What a keyword is called in messages: 'key', 'option', 'keyword'.
    aliases : Mapping, optional
        Other names callers may use, and the keyword each stands for.

    Returns
    -------
    dict
        One entry per keyword of ``defaults``.

    Raises
    ------
    OptionsError
        ``given`` is not a mapping, names a keyword twice (through an alias), or names keywords
        not in ``defaults`` (the message lists the valid ones).

    Examples
    --------
    >>> parse_keywords('tile_size', {'width': 128}, {'width': None, 'height': None})
    {'width': 128, 'height': None}
    >>> parse_keywords('output', {'maxwidth': 1}, {'maxWidth': None})
    Traceback (most recent call last):
    ...
    geolargeimage.errors.OptionsError: Unknown output key(s) maxwidth; valid keys: maxWidth
    """
    label = f'{what} {kind}' if what else kind
    if given is None:
        given = {}
    if not isinstance(given, Mapping):
        raise OptionsError(f'{what or "options"} must be a dict, not {type(given).__name__}')
    aliases = aliases or {}
    result = dict(defaults)
    unknown = []
    for key, value in given.items():
        name = aliases.get(key, key)
        if name not in defaults:
            unknown.append(str(key))
        elif name != key and key in given and name in given:
            raise OptionsError(f'{label} {name} is given twice (as {name} and {key})')
        else:
            result[name] = value
    if unknown:
        raise OptionsError(f'Unknown {label}(s) {", ".join(sorted(unknown))}; valid {kind}s: '
                           f'{", ".join(defaults)}')
    return result


def check_keys(name: str, given: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    """:func:`parse_keywords` for a dict whose keys have no defaults (a style, a band entry)."""
    parse_keywords(name, given, dict.fromkeys(allowed))


def parse_thumbnail_size(width: object, height: object) -> dict[str, int | None]:
    """getThumbnail's ``width`` and ``height`` (integers >= 2, 256 × 256 when neither is given)
    as an ``output`` dict.

    >>> parse_thumbnail_size(None, 100)
    {'maxWidth': None, 'maxHeight': 100}
    """
    for value in (width, height):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or value < 2):
            raise OptionsError('Invalid width or height.  Minimum value is 2.')
    if width is None and height is None:
        width = height = 256
    return {'maxWidth': width, 'maxHeight': height}


def _number(name: str, value: object, *, allow_none: bool = True) -> float | None:
    if value is None and allow_none:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise OptionsError(f'{name} must be a number, not {value!r}') from None
    if not math.isfinite(number):
        raise OptionsError(f'{name} must be finite, not {value!r}')
    return number


@dataclass(frozen=True)
class RegionSpec:
    """A region as the caller wrote it: edges in ``units``, sizes in ``units_wh``."""

    left: float | None = None
    top: float | None = None
    right: float | None = None
    bottom: float | None = None
    width: float | None = None
    height: float | None = None
    units: str | None = None
    units_wh: str | None = None

    @classmethod
    def parse(cls, region: Mapping[str, Any] | None) -> RegionSpec:
        """Build from large_image's ``region=`` dict (``unitsWH`` for the size units)."""
        given = parse_keywords('region', region, dict.fromkeys(
            ('left', 'top', 'right', 'bottom', 'width', 'height', 'units', 'unitsWH')))
        values = {key: _number(key, given[key])
                  for key in ('left', 'top', 'right', 'bottom', 'width', 'height')}
        for key in ('width', 'height'):
            if values[key] is not None and values[key] < 0:
                raise OptionsError(f'region {key} must not be negative, not {values[key]}')
        return cls(**values, units=given['units'], units_wh=given['unitsWH'])


#: Largest ``output`` maxWidth/maxHeight: GDAL's buffer sizes are C ints.
MAX_OUTPUT_SIDE = 2**31 - 1


@dataclass(frozen=True)
class OutputSpec:
    """Largest output size; either limit may be None.

    >>> OutputSpec.parse({'maxWidth': 256.0}).max_width
    256
    >>> OutputSpec.parse({'maxWidth': float('nan')})
    Traceback (most recent call last):
    ...
    geolargeimage.errors.OptionsError: output maxWidth must be an integer from 1 to ..., not nan
    """

    max_width: int | None = None
    max_height: int | None = None
    path: str | None = None

    @classmethod
    def parse(cls, output: Mapping[str, Any] | None) -> OutputSpec:
        output = parse_keywords('output', output, dict.fromkeys(('maxWidth', 'maxHeight', 'path')))
        sizes = {}
        for key in ('maxWidth', 'maxHeight'):
            value = output[key]
            if value is not None:
                # Whole numbers of any numeric type; NaN, ±inf, 0, negatives, bools, fractions
                # and sizes no image has are refused before any int() conversion.
                if isinstance(value, (bool, np.bool_)) \
                        or not isinstance(value, (int, float, np.integer, np.floating)) \
                        or not math.isfinite(value) or not 1 <= value <= MAX_OUTPUT_SIDE \
                        or value != math.floor(value):
                    raise OptionsError(f'output {key} must be an integer from 1 to '
                                       f'{MAX_OUTPUT_SIDE}, not {value!r}')
                value = int(value)
            sizes[key] = value
        path = output['path']
        return cls(sizes['maxWidth'], sizes['maxHeight'], None if path is None else str(path))

    @property
    def given(self) -> bool:
        return self.max_width is not None or self.max_height is not None


@dataclass(frozen=True)
class ScaleSpec:
    """A target scale: a magnification, a physical pixel size, or a level."""

    magnification: float | None = None
    mm_x: float | None = None
    mm_y: float | None = None
    level: float | None = None
    exact: bool = False

    @classmethod
    def parse(cls, scale: Mapping[str, Any] | None) -> ScaleSpec | None:
        if scale is None:
            return None
        scale = parse_keywords('scale', scale, {'magnification': None, 'mm_x': None,
                                                'mm_y': None, 'level': None, 'exact': False})
        values = {key: _number(key, scale[key]) for key in ('magnification', 'mm_x', 'mm_y',
                                                            'level')}
        for key, value in values.items():
            if value is not None and value <= 0 and key != 'level':
                raise OptionsError(f'scale {key} must be positive, not {value}')
        return cls(**values, exact=bool(scale['exact']))


_COLOUR = re.compile(r'#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})')


@dataclass(frozen=True)
class EdgeMode:
    """What getTile does with the part of an edge tile outside the image."""

    crop: bool = False
    colour: tuple[int, int, int] | None = None

    @classmethod
    def parse(cls, edge: object) -> EdgeMode:
        """``False`` pads with zeros, ``True``/``'crop'`` crops, ``'#rrggbb'`` paints."""
        if edge is None or edge is False:
            return cls()
        if edge is True or (isinstance(edge, str) and edge.lower() == 'crop'):
            return cls(crop=True)
        if isinstance(edge, str) and _COLOUR.fullmatch(edge):
            digits = edge[1:]
            if len(digits) == 3:
                digits = ''.join(ch * 2 for ch in digits)
            return cls(colour=(int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)))
        raise OptionsError(f'Invalid edge {edge!r}; use False, True, "crop" or "#rrggbb"')


@dataclass(frozen=True)
class Fill:
    """Letterboxing of a picture to exactly the output size (large_image's ``fill``)."""

    width: int
    height: int
    colour: tuple[int, int, int, int]
    corner: bool

    @classmethod
    def parse(cls, fill: object, output: OutputSpec) -> Fill | None:
        """``'#rgb'``/colour names centre the picture, ``'corner:<colour>'`` pins it top-left,
        None or ``'none'`` turn filling off. Needs both output limits (else it is ignored)."""
        if fill is None or str(fill).lower() == 'none':
            return None
        if output.max_width is None or output.max_height is None:
            return None
        text = str(fill)
        corner = text.lower().startswith('corner:')
        name = text[len('corner:'):] if corner else text
        name = {'r': 'red', 'g': 'lime', 'b': 'blue', 'green': 'lime'}.get(name.lower(), name)
        try:
            colour = ImageColor.getcolor(name, 'RGBA')
        except ValueError:
            raise OptionsError(f'Invalid fill colour {fill!r}') from None
        return cls(output.max_width, output.max_height, tuple(colour), corner)


@dataclass(frozen=True)
class EncodeOptions:
    """How images are encoded (large_image's jpegQuality, jpegSubsampling, tiffCompression)."""

    encoding: Encoding = Encoding.JPEG
    jpeg_quality: int = 95
    jpeg_subsampling: int = 0
    tiff_compression: str = 'raw'

    @classmethod
    def from_keywords(cls, keywords: Mapping[str, Any]) -> EncodeOptions:
        """Build from a keyword dict holding (at least) the keys of :data:`ENCODE_DEFAULTS`."""
        return cls.parse(*(keywords[key] for key in ENCODE_DEFAULTS))

    @classmethod
    def parse(cls, encoding: object = 'JPEG', jpegQuality: object = 95,
              jpegSubsampling: object = 0, tiffCompression: object = 'raw') -> EncodeOptions:
        quality = _integer('jpegQuality', jpegQuality, 0, 100)
        subsampling = _integer('jpegSubsampling', jpegSubsampling, 0, 2)
        compression = str(tiffCompression).lower()
        if compression not in TIFF_COMPRESSIONS:
            raise OptionsError(f'Invalid tiffCompression {tiffCompression!r}; valid choices: '
                               f'{", ".join(TIFF_COMPRESSIONS)}')
        return cls(Encoding.parse(encoding), quality, subsampling, compression)


#: large_image's encoding keywords and their defaults.
ENCODE_DEFAULTS: dict[str, Any] = {'encoding': 'JPEG', 'jpegQuality': 95, 'jpegSubsampling': 0,
                                   'tiffCompression': 'raw'}

#: tiffCompression values → Pillow's TIFF compression names.
TIFF_COMPRESSIONS = {'raw': 'raw', 'none': 'raw', 'lzw': 'tiff_lzw',
                     'deflate': 'tiff_adobe_deflate', 'zip': 'tiff_adobe_deflate',
                     'jpeg': 'jpeg', 'packbits': 'packbits'}


def _integer(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer)) \
            or int(value) != value \
            or not low <= value <= high:
        raise OptionsError(f'{name} must be an integer from {low} to {high}, not {value!r}')
    return int(value)


@dataclass(frozen=True)
class TilingSpec:
    """tileIterator's tile size, overlap and offset, in output pixels."""

    tile_width: int | None = None
    tile_height: int | None = None
    overlap_x: int = 0
    overlap_y: int = 0
    overlap_edges: bool = False
    offset_left: int = 0
    offset_top: int = 0
    offset_auto: bool = False

    @classmethod
    def parse(cls, tile_size: Mapping[str, Any] | None = None,
              tile_overlap: Mapping[str, Any] | None = None,
              tile_offset: Mapping[str, Any] | None = None) -> TilingSpec:
        size = parse_keywords('tile_size', tile_size, {'width': None, 'height': None})
        width, height = size['width'], size['height']
        width, height = (width if width is not None else height,
                         height if height is not None else width)
        for key, value in (('width', width), ('height', height)):
            if value is not None:
                _integer(f'tile_size {key}', value, 1, 1 << 20)
        overlap = parse_keywords('tile_overlap', tile_overlap, {'x': 0, 'y': 0, 'edges': False})
        offset = parse_keywords('tile_offset', tile_offset, {'left': 0, 'top': 0, 'auto': False})
        return cls(
            None if width is None else int(width), None if height is None else int(height),
            _integer('tile_overlap x', overlap['x'], 0, 1 << 20),
            _integer('tile_overlap y', overlap['y'], 0, 1 << 20),
            bool(overlap['edges']),
            _integer('tile_offset left', offset['left'], 0, 1 << 40),
            _integer('tile_offset top', offset['top'], 0, 1 << 40),
            bool(offset['auto']),
        )


def parse_tile_position(position: object) -> dict[str, int] | None:
    """Normalise large_image's ``tile_position`` (an int or a dict) to a dict, or None."""
    if position is None:
        return None
    if isinstance(position, bool):
        raise OptionsError(f'Invalid tile_position {position!r}')
    if isinstance(position, int):
        return {'position': position}
    if isinstance(position, Mapping):
        for keys in (('position',), ('region_x', 'region_y'), ('level_x', 'level_y')):
            if all(key in position for key in keys):
                return {key: int(position[key]) for key in keys}
    raise OptionsError(f'Invalid tile_position {position!r}; use an int, {{"position": n}}, '
                       '{"region_x", "region_y"} or {"level_x", "level_y"}')


#: getRegion's keywords and their defaults.
REGION_DEFAULTS: dict[str, Any] = {
    'region': None, 'output': None, 'scale': None, **ENCODE_DEFAULTS, 'resample': True,
    'frame': None, 'fill': None, 'style': None}
#: tileIterator's keywords: getRegion's and the tiling ones.
ITERATOR_DEFAULTS: dict[str, Any] = {
    **REGION_DEFAULTS, 'tile_size': None, 'tile_overlap': None, 'tile_offset': None,
    'tile_position': None}


@dataclass(frozen=True)
class RegionRequest:
    """getRegion's keywords, parsed."""

    region: RegionSpec
    output: OutputSpec
    scale: ScaleSpec | None
    encoding: EncodeOptions
    resampling: Resampling
    frame: int | None
    fill: Fill | None
    style: Any = None

    @classmethod
    def parse(cls, kwargs: Mapping[str, Any], *, what: str = 'getRegion',
              defaults: Mapping[str, Any] = REGION_DEFAULTS) -> RegionRequest:
        """Build from getRegion's keywords (``defaults``: the table of the call they are for,
        e.g. :data:`ITERATOR_DEFAULTS`, whose extra keys the caller reads itself)."""
        given = parse_keywords(what, kwargs, defaults, kind='keyword')
        output = OutputSpec.parse(given['output'])
        return cls(
            RegionSpec.parse(given['region']), output, ScaleSpec.parse(given['scale']),
            EncodeOptions.from_keywords(given), Resampling.parse(given['resample']),
            given['frame'], Fill.parse(given['fill'], output), given['style'])


#: The options of ``open`` / ``TileSource`` and their defaults.
OPEN_DEFAULTS: dict[str, Any] = {
    **ENCODE_DEFAULTS, 'edge': False, 'noCache': None, 'projection': None,
    'unitsPerPixel': None, 'resample': True, 'style': None}


@dataclass(frozen=True)
class OpenOptions:
    """The options a source is opened with, parsed (``noCache`` is :func:`open`'s own)."""

    encoding: EncodeOptions
    edge: EdgeMode
    projection: str | None
    units_per_pixel: float | None
    resampling: Resampling
    style: Any

    @classmethod
    def parse(cls, options: Mapping[str, Any]) -> OpenOptions:
        """Build from ``open``'s keywords.

        >>> OpenOptions.parse({'encoding': 'png'}).encoding.encoding
        <Encoding.PNG: 'PNG'>
        """
        given = parse_keywords('', options, OPEN_DEFAULTS, kind='option')
        encoding = EncodeOptions.from_keywords(given)
        if encoding.encoding is Encoding.TILED:
            raise OptionsError('Encoding TILED writes files: use it with getRegion only')
        return cls(encoding, EdgeMode.parse(given['edge']), given['projection'] or None,
                   given['unitsPerPixel'], Resampling.parse(given['resample']), given['style'])
