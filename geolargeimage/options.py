"""Typed, frozen option values and the parsers that build them from large_image's keyword dicts.

The facade parses ``region=``, ``output=``, ``scale=`` and the open options here, at once, and
passes these values inward; nothing deeper sees a raw ``**kwargs``. Every parser rejects unknown
keys and bad values with an :class:`~geolargeimage.errors.OptionsError` naming the valid choices.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import ImageColor

from .errors import OptionsError


class ChoiceEnum(enum.Enum):
    """An enum whose members parse from any case and from a table of aliases."""

    @classmethod
    def parse(cls, value: object) -> ChoiceEnum:
        if isinstance(value, cls):
            return value
        key = str(value).strip().lower()
        member = cls._aliases().get(key)
        if member is None:
            choices = ', '.join(cls._aliases())
            raise OptionsError(f'Invalid {cls._label()} {value!r}; valid choices: {choices}')
        return cls(member)

    @classmethod
    def _aliases(cls) -> dict[str, str]:
        return {member.value.lower(): member.value for member in cls}

    @classmethod
    def _label(cls) -> str:
        return cls.__name__.lower()


class Encoding(ChoiceEnum):
    """Image encodings; the value is Pillow's format name."""

    JPEG = 'JPEG'
    PNG = 'PNG'
    WEBP = 'WEBP'
    TIFF = 'TIFF'
    GIF = 'GIF'
    BMP = 'BMP'
    #: A georeferenced tiled GeoTIFF file (getRegion only; returns its path).
    TILED = 'TILED'

    @classmethod
    def _aliases(cls) -> dict[str, str]:
        return {**super()._aliases(), 'jpg': 'JPEG', 'jfif': 'JPEG', 'tif': 'TIFF'}

    @property
    def mimetype(self) -> str:
        return 'image/tiff' if self is Encoding.TILED else 'image/' + self.value.lower()

    @classmethod
    def parse(cls, value: object) -> Encoding:
        try:
            return super().parse(value)  # type: ignore[return-value]
        except OptionsError:
            # large_image's wording, which callers match on.
            raise OptionsError(f'Invalid encoding "{value}"; valid choices: '
                               f'{", ".join(m.value for m in cls)}') from None


class Resampling(ChoiceEnum):
    """Resampling kernels; the values are GDAL's names. ``auto`` picks per request.

    ``auto`` is average (anti-aliased) when shrinking, cubic when enlarging and nearest for
    paletted bands, whose values are categories.
    """

    AUTO = 'auto'
    NEAREST = 'nearest'
    BILINEAR = 'bilinear'
    CUBIC = 'cubic'
    CUBICSPLINE = 'cubicspline'
    LANCZOS = 'lanczos'
    AVERAGE = 'average'
    MODE = 'mode'
    GAUSS = 'gauss'
    RMS = 'rms'

    @classmethod
    def _aliases(cls) -> dict[str, str]:
        # Pillow's names, so large_image's resample=PIL.Image.LANCZOS style values parse.
        return {**super()._aliases(), 'box': 'average', 'bicubic': 'cubic', 'near': 'nearest',
                'linear': 'bilinear'}

    @classmethod
    def parse(cls, value: object) -> Resampling:
        if value is True:
            return cls.AUTO
        if value is None or value is False:
            return cls.NEAREST
        if isinstance(value, int) and not isinstance(value, enum.Enum) and value in _PIL_RESAMPLE:
            return cls(_PIL_RESAMPLE[value])
        name = getattr(value, 'name', value)  # PIL.Image.Resampling members
        return super().parse(name)  # type: ignore[return-value]


# Pillow's integer constants (Image.NEAREST = 0, LANCZOS = 1, BILINEAR = 2, BICUBIC = 3, BOX = 4).
_PIL_RESAMPLE = {0: 'nearest', 1: 'lanczos', 2: 'bilinear', 3: 'cubic', 4: 'average'}


class Units(ChoiceEnum):
    """Units of a region's edges."""

    BASE_PIXELS = 'base_pixels'
    MAG_PIXELS = 'mag_pixels'
    FRACTION = 'fraction'
    NANOMETERS = 'nm'
    MICROMETERS = 'um'
    MILLIMETERS = 'mm'
    METERS = 'm'
    KILOMETERS = 'km'

    @classmethod
    def _aliases(cls) -> dict[str, str]:
        table = {'base': 'base_pixels', 'base_pixel': 'base_pixels', 'base_pixels': 'base_pixels',
                 'pixel': 'mag_pixels', 'pixels': 'mag_pixels', 'mag_pixel': 'mag_pixels',
                 'mag_pixels': 'mag_pixels', 'magnification_pixel': 'mag_pixels',
                 'magnification_pixels': 'mag_pixels', 'fraction': 'fraction'}
        for value, names in _DISTANCE_NAMES.items():
            table.update({name: value for name in names})
        return table

    @classmethod
    def parse(cls, value: object) -> Units:
        if value is None:
            return cls.BASE_PIXELS
        return super().parse(value)  # type: ignore[return-value]

    @property
    def millimeters(self) -> float | None:
        """Millimetres in one unit, for distance units; None otherwise."""
        return _DISTANCE_MM.get(self.value)


_DISTANCE_NAMES = {
    'nm': ('nm', 'nanometer', 'nanometers', 'nanometre', 'nanometres'),
    'um': ('um', '\u00b5m', '\u03bcm', 'micrometer', 'micrometers', 'micrometre', 'micrometres',
           'micron', 'microns'),
    'mm': ('mm', 'millimeter', 'millimeters', 'millimetre', 'millimetres'),
    'm': ('m', 'meter', 'meters', 'metre', 'metres'),
    'km': ('km', 'kilometer', 'kilometers', 'kilometre', 'kilometres'),
}
_DISTANCE_MM = {'nm': 1e-6, 'um': 1e-3, 'mm': 1.0, 'm': 1e3, 'km': 1e6}


class TileFormat(ChoiceEnum):
    """What pixel methods return: encoded bytes, a Pillow image or a numpy array."""

    IMAGE = 'image'
    PIL = 'PIL'
    NUMPY = 'numpy'


def parse_formats(value: object) -> TileFormat:
    """The format to produce from one value or a collection; numpy beats PIL beats image.

    >>> parse_formats(('image', 'numpy'))
    <TileFormat.NUMPY: 'numpy'>
    """
    values = value if isinstance(value, (tuple, list, set, frozenset)) else (value,)
    if not values:
        raise OptionsError('format must name at least one of image, PIL, numpy')
    parsed = {TileFormat.parse(v) for v in values}
    for choice in (TileFormat.NUMPY, TileFormat.PIL, TileFormat.IMAGE):
        if choice in parsed:
            return choice
    raise AssertionError('unreachable')


def check_keys(name: str, given: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    """Raise :class:`OptionsError` for a non-dict or for keys outside ``allowed``, listing them."""
    if not isinstance(given, Mapping):
        raise OptionsError(f'{name} must be a dict, not {type(given).__name__}')
    unknown = sorted(str(key) for key in set(given) - set(allowed))
    if unknown:
        raise OptionsError(f'Unknown {name} key(s) {", ".join(unknown)}; valid keys: '
                           f'{", ".join(allowed)}')


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
        if region is None:
            return cls()
        check_keys('region', region, ('left', 'top', 'right', 'bottom', 'width', 'height',
                                       'units', 'unitsWH'))
        values = {key: _number(key, region.get(key))
                  for key in ('left', 'top', 'right', 'bottom', 'width', 'height')}
        for key in ('width', 'height'):
            if values[key] is not None and values[key] < 0:
                raise OptionsError(f'region {key} must not be negative, not {values[key]}')
        return cls(**values, units=region.get('units'), units_wh=region.get('unitsWH'))


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
        if output is None:
            return cls()
        check_keys('output', output, ('maxWidth', 'maxHeight', 'path'))
        sizes = {}
        for key in ('maxWidth', 'maxHeight'):
            value = output.get(key)
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
        path = output.get('path')
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
        check_keys('scale', scale, ('magnification', 'mm_x', 'mm_y', 'level', 'exact'))
        values = {key: _number(key, scale.get(key)) for key in ('magnification', 'mm_x', 'mm_y',
                                                                'level')}
        for key, value in values.items():
            if value is not None and value <= 0 and key != 'level':
                raise OptionsError(f'scale {key} must be positive, not {value}')
        return cls(**values, exact=bool(scale.get('exact', False)))


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
    def parse(cls, encoding: object = 'JPEG', jpegQuality: object = 95,  # noqa: N803
              jpegSubsampling: object = 0, tiffCompression: object = 'raw') -> EncodeOptions:
        quality = _integer('jpegQuality', jpegQuality, 0, 100)
        subsampling = _integer('jpegSubsampling', jpegSubsampling, 0, 2)
        compression = str(tiffCompression).lower()
        if compression not in TIFF_COMPRESSIONS:
            raise OptionsError(f'Invalid tiffCompression {tiffCompression!r}; valid choices: '
                               f'{", ".join(TIFF_COMPRESSIONS)}')
        return cls(Encoding.parse(encoding), quality, subsampling, compression)


#: tiffCompression values → Pillow's TIFF compression names.
TIFF_COMPRESSIONS = {'raw': 'raw', 'none': 'raw', 'lzw': 'tiff_lzw', 'deflate': 'tiff_adobe_deflate',
                     'zip': 'tiff_adobe_deflate', 'jpeg': 'jpeg', 'packbits': 'packbits'}


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
        size = dict(tile_size or {})
        check_keys('tile_size', size, ('width', 'height'))
        width, height = size.get('width'), size.get('height')
        width, height = (width if width is not None else height), (height if height is not None else width)
        for key, value in (('width', width), ('height', height)):
            if value is not None:
                _integer(f'tile_size {key}', value, 1, 1 << 20)
        overlap = dict(tile_overlap or {})
        check_keys('tile_overlap', overlap, ('x', 'y', 'edges'))
        offset = dict(tile_offset or {})
        check_keys('tile_offset', offset, ('left', 'top', 'auto'))
        return cls(
            None if width is None else int(width), None if height is None else int(height),
            _integer('tile_overlap x', overlap.get('x', 0), 0, 1 << 20),
            _integer('tile_overlap y', overlap.get('y', 0), 0, 1 << 20),
            bool(overlap.get('edges', False)),
            _integer('tile_offset left', offset.get('left', 0), 0, 1 << 40),
            _integer('tile_offset top', offset.get('top', 0), 0, 1 << 40),
            bool(offset.get('auto', False)),
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
    def parse(cls, kwargs: dict[str, Any], *, allowed: tuple[str, ...] = ()) -> RegionRequest:
        known = ('region', 'output', 'scale', 'encoding', 'jpegQuality', 'jpegSubsampling',
                 'tiffCompression', 'resample', 'frame', 'fill', 'style', *allowed)
        unknown = sorted(set(kwargs) - set(known))
        if unknown:
            raise OptionsError(f'Unknown keyword(s) {", ".join(unknown)}; valid: '
                                      f'{", ".join(known)}')
        return cls(
            RegionSpec.parse(kwargs.get('region')), OutputSpec.parse(kwargs.get('output')),
            ScaleSpec.parse(kwargs.get('scale')),
            EncodeOptions.parse(kwargs.get('encoding', 'JPEG'), kwargs.get('jpegQuality', 95),
                                kwargs.get('jpegSubsampling', 0),
                                kwargs.get('tiffCompression', 'raw')),
            Resampling.parse(kwargs.get('resample', True)), kwargs.get('frame'),
            Fill.parse(kwargs.get('fill'), OutputSpec.parse(kwargs.get('output'))),
            kwargs.get('style'))
