"""large_image styles as values: parse the style JSON into a :class:`Style` of :class:`BandStyle`.

A style picks bands (of this or another frame), stretches each from ``min``..``max`` onto a
palette, masks nodata and composites the results into one picture. This module is the
description only: parsing and checking it, GDAL's default style, and which band and frame each
entry names. Applying a style to pixels is :mod:`geolargeimage.picture.styling`; the band
statistics that ``'auto'``/``'min'``/``'max'`` limits need are
:class:`~geolargeimage.picture.band_stats.BandStats`; palettes live in
:mod:`geolargeimage.picture.palettes`.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace

import numpy as np

from geolargeimage import config
from geolargeimage.enums import ChoiceEnum
from geolargeimage.errors import OptionsError
from geolargeimage.options import check_keys
from geolargeimage.picture.palettes import parse_palette

__all__ = ['ALPHA_RAMP', 'BLACK_WHITE', 'BandStyle', 'Composite', 'OutputDtype', 'Scheme',
           'Style', 'band_index', 'check_frame', 'check_style', 'default_style', 'entry_frame',
           'parse_style']

class _Choice(str, ChoiceEnum):
    """A style choice; as a ``str`` it also compares equal to its plain name."""

    @classmethod
    def _label(cls) -> str:
        return 'style ' + cls.__name__.lower()


class Scheme(_Choice):
    """How a normalised value picks its colour: blend the neighbouring stops, or take one."""

    LINEAR = 'linear'
    DISCRETE = 'discrete'


class Composite(_Choice):
    """How an entry combines with the entries before it."""

    LIGHTEN = 'lighten'
    MULTIPLY = 'multiply'


class OutputDtype(_Choice):
    """The styled array's type; 'source' is uint16/float like the source, else float32."""

    UINT8 = 'uint8'
    UINT16 = 'uint16'
    FLOAT = 'float'
    SOURCE = 'source'


BLACK_WHITE = parse_palette(['#000', '#fff'])
ALPHA_RAMP = parse_palette(['#FFF0', '#FFFF'])
_BAND_KEYS = ('band', 'frame', 'framedelta', 'min', 'max', 'palette', 'scheme', 'nodata',
              'composite', 'clamp', 'dtype', 'axis', 'function')
_STYLE_KEYS = ('bands', 'dtype', 'axis', 'icc', 'function')
_BAD_BAND = 'Band has to be a positive integer, -1, or a band interpretation found in the source'
_LIMIT_CHOICES = ("a number, 'auto', 'min', 'max', 'full', or 'auto:t', 'min:t', 'max:t' "
                  'with 0 <= t <= 1')


@dataclass(frozen=True, eq=False)
class BandStyle:
    """One style entry: which band, how to stretch it, how to colour and composite it.

    ``band`` is 1-based, an interpretation name or None (band 1); ``min``/``max`` are numbers or
    ``'auto'``, ``'min'``, ``'max'``, ``'full'``, ``'min:t'``, ``'max:t'``, ``'auto:t'``;
    ``nodata`` may be ``'auto'`` until :meth:`Style.resolve_nodata`. Constructor arguments are
    parsed (palette values as :func:`parse_palette` takes them, choices from any case).
    """

    band: int | str | None = None
    frame: int | None = None
    framedelta: int | None = None
    min: float | str = 'auto'
    max: float | str = 'auto'
    palette: np.ndarray = field(default_factory=lambda: BLACK_WHITE)
    scheme: Scheme = Scheme.LINEAR
    nodata: float | str | None = None
    composite: Composite = Composite.LIGHTEN
    clamp: bool = True

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise once, here
        set_(self, 'band', _parse_band(self.band))
        set_(self, 'frame', _parse_int('frame', self.frame, low=0))
        set_(self, 'framedelta', _parse_int('framedelta', self.framedelta))
        set_(self, 'min', _parse_limit('min', self.min))
        set_(self, 'max', _parse_limit('max', self.max))
        set_(self, 'palette', parse_palette(self.palette))
        set_(self, 'scheme', Scheme.parse(self.scheme))
        set_(self, 'composite', Composite.parse(self.composite))
        set_(self, 'nodata', _parse_nodata(self.nodata))
        if self.clamp not in (True, False):
            raise OptionsError(f'style clamp must be true or false, not {self.clamp!r}')
        set_(self, 'clamp', bool(self.clamp))

    def _key(self) -> tuple:
        return tuple(self.palette.tobytes() if f.name == 'palette' else getattr(self, f.name)
                     for f in fields(self))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BandStyle) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    @property
    def is_alpha_name(self) -> bool:
        """True for ``band: 'alpha'``, whose palette and composite defaults differ."""
        return isinstance(self.band, str) and self.band.lower() == 'alpha'


@dataclass(frozen=True)
class Style:
    """A parsed style. ``is_default`` marks large_image's request for the default style
    (``{'bands': []}`` or ``{'band': -1}``): substitute :func:`default_style`."""

    bands: tuple[BandStyle, ...]
    dtype: OutputDtype | None = None
    axis: int | None = None
    is_default: bool = False

    @property
    def frames(self) -> frozenset[int]:
        """Absolute frames named by entries (:meth:`frames_for` adds the ``framedelta`` ones)."""
        return frozenset(b.frame for b in self.bands if b.frame is not None)

    @property
    def pinned_frame(self) -> int | None:
        """large_image's frame for every read when *all* entries name one: the first's."""
        if self.bands and all(b.frame is not None for b in self.bands):
            return self.bands[0].frame
        return None

    def frames_for(self, frame: int) -> frozenset[int]:
        """Every frame read when rendering ``frame``.

        >>> parse_style({'bands': [{'frame': 2}, {'framedelta': -1}]}).frames_for(4)
        frozenset({2, 3})
        """
        return frozenset(entry_frame(b, frame) for b in self.bands)

    def resolve_nodata(self, nodata: Sequence[float | None],
                       interpretations: Sequence[str]) -> Style:
        """This style with every ``nodata: 'auto'`` replaced by its band's nodata value."""
        def resolved(entry: BandStyle) -> BandStyle:
            if entry.nodata != 'auto':
                return entry
            index = band_index(entry.band, len(interpretations), interpretations)
            return replace(entry, nodata=nodata[index] if index < len(nodata) else None)
        return replace(self, bands=tuple(resolved(entry) for entry in self.bands))

def parse_style(value: str | Mapping | None) -> Style | None:
    """Parse a large_image style (a dict or its JSON text); None means raw, unstyled data.

    None, ``''``, ``{}`` and ``{'icc': ...}`` alone give None. Otherwise the value is one band
    definition or ``{'bands': [...]}`` with top-level ``dtype`` and ``axis`` (an entry's own
    count when the top level has none: the first found wins). ``icc`` is accepted and ignored
    (GDAL rasters carry no ICC profiles). Style function hooks are not supported: a non-empty
    ``function`` raises. ``{'bands': []}`` or one entry with band -1 or 0 gives
    ``Style((), is_default=True)``; like large_image, it drops ``dtype`` and ``axis``.

    With config ``lenient_styles`` (off by default) a bad ``min``/``max`` is taken as ``'auto'``
    with a warning, and one entry with a band below -1 as the default style, as large_image
    does; otherwise both raise.

    Raises
    ------
    OptionsError
        Not a JSON object, an unknown key (the message lists the valid ones), or a bad value.

    >>> style = parse_style('{"band": 2, "min": 0, "max": 100, "palette": "#f00"}')
    >>> style.bands[0].band, style.bands[0].max, style.bands[0].palette[1].tolist()
    (2, 100.0, [255.0, 0.0, 0.0, 255.0])
    >>> parse_style({'band': -1}).is_default
    True
    """
    value = _load_json(value)
    if not value or set(value) == {'icc'}:
        return None
    entries = _checked_entries(value)
    band = entries[0].get('band', 1) if entries else 0
    if len(entries) <= 1 and isinstance(band, int) and not isinstance(band, bool) and band <= 0:
        if band < -1 and not _lenient():
            raise OptionsError(f'{_BAD_BAND} (or 0: both ask for the default style), not '
                               f'{band!r}')
        return Style((), is_default=True)
    bands = tuple(_parse_entry(entry) for entry in entries)
    dtype = next((s['dtype'] for s in (value, *entries) if s.get('dtype') is not None), None)
    axis = next((s['axis'] for s in (value, *entries) if s.get('axis') is not None), None)
    return Style(bands, None if dtype is None else OutputDtype.parse(dtype),
                 _parse_int('axis', axis, low=0))


def default_style(interpretations: Sequence[str], nodata: Sequence[float | None],
                  color_table: Sequence[tuple] | None, *, extra_alpha: bool = False) -> Style:
    """GDAL's default style (large_image's, for ``style=None``) from the bands' interpretations.

    Red, green and blue bands become black → pure-colour ramps, lightened, with their nodata; a
    gray band (black → white) is used only without them; a palette band (``color_table`` as
    stops, 0..len−1, discrete) only when nothing else applies; an alpha band (transparent →
    opaque white, multiply) only alongside others. ``extra_alpha`` (a warp appended an alpha
    band) adds such an entry for band ``len(interpretations) + 1`` unless an alpha band is used.
    With nothing recognisable, band 1 is shown as gray (where large_image returns raw data).

    >>> style = default_style(['red', 'green', 'blue', 'alpha'], [None] * 4, None)
    >>> [(b.band, b.composite.value) for b in style.bands]
    [(1, 'lighten'), (2, 'lighten'), (3, 'lighten'), (4, 'multiply')]
    """
    names = [str(name).lower() for name in interpretations]
    ramps = {'red': '#f00', 'green': '#0f0', 'blue': '#00f', 'gray': '#fff'}
    bands: list[BandStyle] = []
    for interp in ('red', 'green', 'blue', 'gray', 'palette', 'alpha'):
        if interp not in names or (interp == 'alpha' and not bands) \
                or (interp in ('gray', 'palette') and bands):
            continue
        index = names.index(interp)
        band_nodata = nodata[index] if index < len(nodata) else None
        if interp == 'palette' and color_table:
            bands.append(BandStyle(index + 1, min=0, max=len(color_table) - 1, scheme='discrete',
                                   palette=np.array(color_table, dtype=np.float64)))
        elif interp == 'alpha':
            bands.append(BandStyle(index + 1, palette=ALPHA_RAMP, nodata=band_nodata,
                                   composite='multiply'))
        elif interp in ramps:
            bands.append(BandStyle(index + 1, palette=ramps[interp], nodata=band_nodata))
    if not bands:
        bands.append(BandStyle(1, nodata=nodata[0] if nodata else None))
    if extra_alpha and 'alpha' not in [names[b.band - 1] for b in bands if b.band <= len(names)]:
        bands.append(BandStyle(len(names) + 1, min=0, palette=ALPHA_RAMP, composite='multiply'))
    return Style(tuple(bands))

def check_style(style: Style, *, band_count: int, interpretations: Sequence[str],
                frame_count: int = 1) -> None:
    """Raise :class:`OptionsError` for a band or absolute frame the source lacks (at open).

    >>> check_style(parse_style({'band': 500}), band_count=3, interpretations=['gray'] * 3)
    Traceback (most recent call last):
    ...
    geolargeimage.errors.OptionsError: Band has to be a positive integer, ... not 500 (3 bands)
    """
    for entry in style.bands:
        band_index(entry.band, band_count, interpretations)
        if entry.frame is not None:
            check_frame(entry.frame, frame_count)

# -- parsing ----------------------------------------------------------------------------------

def _load_json(value: str | bytes | Mapping | None) -> Mapping | None:
    """The style as a mapping (JSON text decoded); None for None or blank text."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, (str, bytes)):
        try:
            value = json.loads(value)
        except ValueError as exc:
            text = value if len(value) <= 80 else value[:77] + '...'
            raise OptionsError(f'Style is not a valid json object: {text!r} ({exc})') from exc
    if not isinstance(value, Mapping):
        raise OptionsError(f'Style is not a valid json object: {value!r}')
    return value


def _checked_entries(value: Mapping) -> list[Mapping]:
    """The band definitions of a style mapping, every key checked; no style functions."""
    if 'bands' in value:
        check_keys('style', value, _STYLE_KEYS)
        entries = value['bands']
        if not isinstance(entries, (list, tuple)) \
                or not all(isinstance(e, Mapping) for e in entries):
            raise OptionsError(f'Style bands must be a list of objects, not {entries!r}')
        for entry in entries:
            check_keys('style band', entry, _BAND_KEYS)
    else:
        check_keys('style', value, _BAND_KEYS + ('icc',))
        entries = [value]
    functions = [s['function'] for s in (value, *entries) if s.get('function')]
    if functions:
        raise OptionsError(f'Style functions are not supported: {functions[0]!r}')
    return list(entries)

def _parse_entry(entry: Mapping) -> BandStyle:
    alpha = isinstance(entry.get('band'), str) and entry['band'].strip().lower() == 'alpha'
    given = {key: entry[key] for key in ('band', 'frame', 'framedelta', 'min', 'max', 'scheme',
                                         'nodata', 'clamp') if entry.get(key) is not None}
    return BandStyle(**given, palette=entry.get('palette', ALPHA_RAMP if alpha else BLACK_WHITE),
                     composite=entry.get('composite', 'multiply' if alpha else 'lighten'))


def _parse_band(band: object) -> int | str | None:
    if band is None or isinstance(band, str) and not band.strip().isdigit():
        return band.strip() if isinstance(band, str) else None
    try:
        number = float(band)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(band, bool) or not number.is_integer():
        raise OptionsError(f'{_BAD_BAND}, not {band!r}')
    return int(number)


def _parse_int(name: str, value: object, low: int | None = None) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lstrip('-').isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or (low is not None and value < low):
        floor = '' if low is None else f' >= {low}'
        raise OptionsError(f'style {name} must be an integer{floor}, not {value!r}')
    return int(value)


def _parse_limit(name: str, value: object) -> float | str:
    text = str(value).strip().lower()
    word, _, threshold = text.partition(':')
    if text in ('auto', 'min', 'max', 'full'):
        return text
    try:
        if threshold and word in ('auto', 'min', 'max') and 0 <= float(threshold) <= 1:
            return f'{word}:{float(threshold):g}'
        if not isinstance(value, bool) and math.isfinite(float(text)):
            return float(text)
    except ValueError:
        pass
    if not _lenient():
        raise OptionsError(f'Style {name} value {value!r} is not valid; valid values: '
                           f'{_LIMIT_CHOICES} (config lenient_styles takes it as "auto")')
    # large_image's rule, kept as an opt-in: a bad limit is logged and taken as 'auto'.
    warnings.warn(f'Style {name} value {value!r} is not valid; using "auto"',
                  skip_file_prefixes=(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),))
    return 'auto'


def _lenient() -> bool:
    """Config ``lenient_styles``: large_image's warning and 'auto' for bad values."""
    return config.getConfig('lenient_styles') in (True, 'true', 'True', '1', 1)


def _parse_nodata(value: object) -> float | str | None:
    if value is None or (isinstance(value, str) and value.strip().lower() == 'auto'):
        return None if value is None else 'auto'
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise OptionsError(f'style nodata must be a number or "auto", not {value!r}') from None


# -- which band and frame an entry names ------------------------------------------------------

def entry_frame(entry: BandStyle, frame: int) -> int:
    """The 0-based frame an entry reads when rendering ``frame``: its own, or ``frame`` moved by
    its ``framedelta``.

    >>> entry_frame(BandStyle(framedelta=-1), 4), entry_frame(BandStyle(frame=2), 4)
    (3, 2)
    """
    return entry.frame if entry.frame is not None else frame + (entry.framedelta or 0)


def check_frame(frame: int, frame_count: int) -> None:
    """Raise :class:`OptionsError` unless ``0 <= frame < frame_count``.

    >>> check_frame(3, 2)
    Traceback (most recent call last):
    ...
    geolargeimage.errors.OptionsError: Style frame 3 does not exist; the source has 2 frame(s), 0..1
    """
    if not 0 <= frame < frame_count:
        raise OptionsError(f'Style frame {frame} does not exist; the source has {frame_count} '
                           f'frame(s), 0..{frame_count - 1}')


def band_index(band: int | str | None, band_count: int, interpretations: Sequence[str]) -> int:
    """0-based band of an entry: None → band 1, a number, or the first band so interpreted.

    Raises :class:`OptionsError` for a band the source lacks.

    >>> band_index('Green', 3, ['red', 'green', 'blue']), band_index(None, 3, ['gray'] * 3)
    (1, 0)
    """
    names = [str(name).lower() for name in interpretations]
    if band is None:
        return 0
    if band == -1:
        # Kept by large_image in a multi-entry style, where its base rule then picks a band.
        return 0 if band_count <= 2 else 1
    if isinstance(band, int) and 1 <= band <= band_count:
        return band - 1
    if isinstance(band, str) and band.lower() in names:
        return names.index(band.lower())
    raise OptionsError(f'{_BAD_BAND}, not {band!r} ({band_count} bands)')

