"""The string choices of the API as documented enums: each parses any case and its aliases, and
fails with the list of valid values (encodings, resampling kernels, region units, result
formats)."""

from __future__ import annotations

import enum

from geolargeimage.errors import OptionsError


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
