"""What a write is asked for: compression, quality, tile size, overviews, creation options, and
the GDAL creation options that follow (checked against the driver's own list, since GDAL only
warns about a bad one and writes the file without it). Which names the writers write and where
their temporary files live is :mod:`geolargeimage.io.output_files`'s.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from osgeo import gdal

from geolargeimage import errors
from geolargeimage.enums import ChoiceEnum
from geolargeimage.options import parse_keywords

#: Smallest and largest tile (block) side of written files; GDAL wants multiples of 16.
MIN_TILE_SIZE, MAX_TILE_SIZE = 16, 4096
#: Default JPEG/WEBP quality (1–100).
DEFAULT_QUALITY = 90
#: Lossless compression when none is named (the most widely readable of the good ones).
DEFAULT_LOSSLESS = 'DEFLATE'
#: Estimated uncompressed bytes above which a multi-page file is made BigTIFF from the start
#: (GDAL decides IF_SAFER from the first page only, and a classic TIFF cannot pass 4 GiB).
BIGTIFF_BYTES = 2 << 30
#: Seconds of work before the progress bar appears.
PROGRESS_DELAY = 1.0
#: GDAL block cache while writing (bytes). Writes read and write every block once, so a large
#: cache only holds blocks that are never used again: GDAL's default (5 % of RAM) made a
#: 20000² write peak at 1.4 GB of RSS, 64 MiB keeps it near 200 MB at the same speed.
WRITE_CACHE_BYTES = 64 << 20



class Compression(ChoiceEnum):
    """Compression of written files; the values are GDAL's ``COMPRESS`` names."""

    NONE = 'NONE'
    DEFLATE = 'DEFLATE'
    ZSTD = 'ZSTD'
    LZW = 'LZW'
    JPEG = 'JPEG'
    WEBP = 'WEBP'
    LERC = 'LERC'
    LERC_DEFLATE = 'LERC_DEFLATE'
    LERC_ZSTD = 'LERC_ZSTD'

    @classmethod
    def _aliases(cls) -> dict[str, str]:
        return {**super()._aliases(), 'raw': 'NONE', 'zip': 'DEFLATE', 'jpg': 'JPEG'}

    @property
    def lossy(self) -> bool:
        return self in (Compression.JPEG, Compression.WEBP)

    @property
    def predicts(self) -> bool:
        """Whether a predictor helps (the lossless dictionary coders)."""
        return self in (Compression.DEFLATE, Compression.ZSTD, Compression.LZW)

    def check(self, dtype: np.dtype, band_count: int, paletted: bool) -> None:
        """Raise OptionsError when this compression cannot store such pixels.

        >>> Compression.JPEG.check(np.dtype('uint16'), 3, False)
        Traceback (most recent call last):
          ...
        geolargeimage.errors.OptionsError: JPEG compression needs uint8 pixels in 1 or 3 bands ...
        """
        bands = _LOSSY_BANDS.get(self)
        if bands and (dtype != np.uint8 or band_count not in bands or paletted):
            raise errors.OptionsError(
                f'{self.value} compression needs uint8 pixels in '
                f'{" or ".join(map(str, bands))} bands (not paletted); this image has '
                f'{band_count} {dtype} band(s)')


#: Band counts the lossy codecs store (JPEG: grey or RGB; WEBP: RGB or RGBA).
_LOSSY_BANDS = {Compression.JPEG: (1, 3), Compression.WEBP: (3, 4)}


class OverviewResampling(ChoiceEnum):
    """Kernels GDAL builds overviews with; large_image's ``ResampleMethod`` names also parse."""

    NEAREST = 'nearest'
    AVERAGE = 'average'
    BILINEAR = 'bilinear'
    CUBIC = 'cubic'
    CUBICSPLINE = 'cubicspline'
    LANCZOS = 'lanczos'
    GAUSS = 'gauss'
    MODE = 'mode'
    RMS = 'rms'

    @classmethod
    def _aliases(cls) -> dict[str, str]:
        return {**super()._aliases(), 'near': 'nearest', 'box': 'average', 'bicubic': 'cubic',
                'linear': 'bilinear', 'pil_nearest': 'nearest', 'np_nearest': 'nearest',
                'pil_lanczos': 'lanczos', 'pil_bilinear': 'bilinear', 'pil_bicubic': 'cubic',
                'pil_box': 'average', 'np_mean': 'average', 'np_mode': 'mode'}

    @classmethod
    def _label(cls) -> str:
        return 'overview resampling'

    @classmethod
    def parse(cls, value: object) -> OverviewResampling:
        return super().parse(getattr(value, 'name', value))  # type: ignore[return-value]


#: Every write option (large_image's ``write`` arguments plus ours) and its default.
WRITE_DEFAULTS: Mapping[str, Any] = {
    'lossy': True, 'alpha': True, 'overwriteAllowed': True, 'resample': None, 'cog': False,
    'compression': None, 'quality': DEFAULT_QUALITY, 'tileSize': 256, 'overviews': True,
    'progress': True, 'creationOptions': None}


@dataclass(frozen=True)
class WriteOptions:
    """How a raster is written (large_image's ``write`` arguments plus ours), parsed once.

    ``compression=None`` means JPEG when ``lossy`` and the pixels allow it (uint8, 1 or 3
    bands), else DEFLATE with a predictor; ``resampling=None`` means average (nearest for
    paletted bands).
    """

    cog: bool = False
    lossy: bool = True
    compression: Compression | None = None
    quality: int = DEFAULT_QUALITY
    tile_size: int = 256
    resampling: OverviewResampling | None = None
    overviews: bool = True
    alpha: bool = True
    overwrite: bool = True
    progress: bool = True
    creation_options: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, keywords: Mapping[str, Any] | None = None, *,
              what: str = 'write') -> WriteOptions:
        """The options of ``keywords`` (large_image's names, :data:`WRITE_DEFAULTS`' keys, with
        their defaults there); OptionsError naming an unknown keyword or a bad value.

        >>> WriteOptions.parse({'compression': 'zstd', 'tileSize': 512}).compression
        <Compression.ZSTD: 'ZSTD'>
        >>> WriteOptions.parse({'tileSize': 100})
        Traceback (most recent call last):
          ...
        geolargeimage.errors.OptionsError: tileSize must be a multiple of 16 ... not 100
        """
        given = parse_keywords(what, keywords, WRITE_DEFAULTS, kind='option')
        size, quality = given['tileSize'], given['quality']
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) \
                or not MIN_TILE_SIZE <= size <= MAX_TILE_SIZE or size % 16:
            raise errors.OptionsError(f'tileSize must be a multiple of 16 from {MIN_TILE_SIZE} '
                                      f'to {MAX_TILE_SIZE}, not {size!r}')
        if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)) \
                or not 1 <= quality <= 100:
            raise errors.OptionsError(f'quality must be an integer from 1 to 100, not {quality!r}')
        compression, resample = given['compression'], given['resample']
        return cls(
            cog=bool(given['cog']), lossy=bool(given['lossy']),
            compression=None if compression is None else Compression.parse(compression),
            quality=int(quality), tile_size=int(size),
            resampling=None if resample is None else OverviewResampling.parse(resample),
            overviews=bool(given['overviews']), alpha=bool(given['alpha']),
            overwrite=bool(given['overwriteAllowed']), progress=bool(given['progress']),
            creation_options=_option_pairs(given['creationOptions']))

    @property
    def driver(self) -> str:
        return 'COG' if self.cog else 'GTiff'


def _option_pairs(options: Mapping[str, Any] | Sequence[str] | None) -> tuple[tuple[str, str], ...]:
    """``{'KEY': value}`` or ``['KEY=value']`` as upper-case (key, text) pairs."""
    if options is None:
        return ()
    if isinstance(options, Mapping):
        items = list(options.items())
    elif isinstance(options, (list, tuple)) and all(isinstance(o, str) for o in options):
        items = [tuple(o.split('=', 1)) if '=' in o else (o, '') for o in options]
    else:
        raise errors.OptionsError('creationOptions must be a dict or a list of "KEY=VALUE" '
                                  f'strings, not {options!r}')
    pairs = []
    for key, value in items:
        if not isinstance(key, str) or not key.strip() or (isinstance(value, str) and not value):
            raise errors.OptionsError(f'Invalid creation option {key!r}={value!r}')
        text = ('YES' if value else 'NO') if isinstance(value, bool) else str(value)
        pairs.append((key.strip().upper(), text))
    return tuple(pairs)


# -- creation options -----------------------------------------------------------------------------
@lru_cache(maxsize=8)
def _driver_options(driver: str) -> dict[str, tuple[str, tuple[str, ...], str | None, str | None]]:
    """The driver's creation options: name → (type, allowed values, min, max)."""
    text = gdal.GetDriverByName(driver).GetMetadataItem('DMD_CREATIONOPTIONLIST') or '<x/>'
    table = {}
    for option in ElementTree.fromstring(text).iter('Option'):
        values = tuple(v.text.upper() for v in option.iter('Value') if v.text)
        values += tuple(v.get('alias').upper() for v in option.iter('Value') if v.get('alias'))
        table[option.get('name', '').upper()] = (option.get('type', 'string'), values,
                                                 option.get('min'), option.get('max'))
    return table


def check_creation_options(driver: str, options: Mapping[str, str]) -> None:
    """Raise OptionsError for a creation option the driver does not know or a value it would
    reject: GDAL itself only warns, then writes the file without the option.

    >>> check_creation_options('GTiff', {'COMPRESS': 'FOO'})
    Traceback (most recent call last):
      ...
    geolargeimage.errors.OptionsError: Invalid value 'FOO' for GTiff creation option COMPRESS; ...
    """
    table = _driver_options(driver)
    for key, value in options.items():
        if key not in table:
            raise errors.OptionsError(f'Unknown {driver} creation option {key}; valid options: '
                                      f'{", ".join(sorted(table))}')
        kind, values, low, high = table[key]
        if kind == 'string-select' and values and value.upper() not in values:
            raise errors.OptionsError(f'Invalid value {value!r} for {driver} creation option '
                                      f'{key}; valid values: {", ".join(values)}')
        if kind in ('int', 'integer', 'float'):
            try:
                number = float(value) if kind == 'float' else int(value)
            except ValueError:
                raise errors.OptionsError(f'{driver} creation option {key} must be a number, '
                                          f'not {value!r}') from None
            if (low is not None and number < float(low)) or \
                    (high is not None and number > float(high)):
                raise errors.OptionsError(f'{driver} creation option {key} must be from {low} to '
                                          f'{high}, not {value}')
        if kind == 'boolean' and value.upper() not in _BOOLEANS:
            raise errors.OptionsError(f'{driver} creation option {key} must be YES or NO, not '
                                      f'{value!r}')


_BOOLEANS = ('YES', 'NO', 'TRUE', 'FALSE', 'ON', 'OFF', '1', '0')


@dataclass(frozen=True)
class OutputPlan:
    """What :func:`write_raster` hands GDAL: driver, creation options, overview kernel."""

    driver: str
    compression: Compression
    creation_options: dict[str, str]
    resampling: OverviewResampling

    @property
    def option_list(self) -> list[str]:
        return [f'{key}={value}' for key, value in self.creation_options.items()]


def plan_output(options: WriteOptions, dtype: np.dtype, band_count: int, *,
                paletted: bool = False) -> OutputPlan:
    """Choose compression, predictor and creation options for pixels of ``dtype`` in
    ``band_count`` bands; user creation options override ours and are checked.

    >>> plan = plan_output(WriteOptions.parse({'lossy': False}), np.dtype('float32'), 1)
    >>> plan.compression.value, plan.creation_options['PREDICTOR']
    ('DEFLATE', '3')
    >>> plan_output(WriteOptions.parse({'cog': True}), np.dtype('uint8'), 3).option_list[:3]
    ['BLOCKSIZE=256', 'BIGTIFF=IF_SAFER', 'NUM_THREADS=ALL_CPUS']
    """
    compression = options.compression
    if compression is None:
        lossy_ok = options.lossy and dtype == np.uint8 and band_count in (1, 3) and not paletted
        compression = Compression.JPEG if lossy_ok else Compression.parse(DEFAULT_LOSSLESS)
    compression.check(dtype, band_count, paletted)
    resampling = options.resampling or (OverviewResampling.NEAREST if paletted
                                        else OverviewResampling.AVERAGE)
    size = str(options.tile_size)
    if options.cog:
        ours = {'BLOCKSIZE': size, 'BIGTIFF': 'IF_SAFER', 'NUM_THREADS': 'ALL_CPUS',
                'COMPRESS': compression.value,
                'OVERVIEWS': 'FORCE_USE_EXISTING' if options.overviews else 'NONE'}
        if compression.predicts:
            ours['PREDICTOR'] = 'YES'
        if compression.lossy:
            ours['QUALITY'] = str(options.quality)
    else:
        ours = {'TILED': 'YES', 'BLOCKXSIZE': size, 'BLOCKYSIZE': size, 'BIGTIFF': 'IF_SAFER',
                'NUM_THREADS': 'ALL_CPUS', 'COMPRESS': compression.value}
        if compression.predicts:
            ours['PREDICTOR'] = '3' if dtype.kind == 'f' else '2'
        if compression is Compression.JPEG:
            ours['JPEG_QUALITY'] = str(options.quality)
            if band_count == 3:
                ours['PHOTOMETRIC'] = 'YCBCR'
        if compression is Compression.WEBP:
            ours['WEBP_LEVEL'] = str(options.quality)
    merged = {**ours, **dict(options.creation_options)}
    check_creation_options(options.driver, merged)
    if options.creation_options:
        compression = Compression.parse(merged['COMPRESS'])
    return OutputPlan(options.driver, compression, merged, resampling)


def overview_factors(width: int, height: int, tile_size: int) -> list[int]:
    """Overview factors 2, 4, 8, … until the level fits in one tile (GDAL's COG rule).

    >>> overview_factors(3000, 2000, 256)
    [2, 4, 8, 16]
    """
    factors, factor = [], 1
    while max(width, height) / factor > tile_size:
        factor *= 2
        factors.append(factor)
    return factors
