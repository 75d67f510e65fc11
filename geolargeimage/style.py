"""large_image styles: parse the style JSON into :class:`Style` and apply it to band arrays.

A style picks bands (of this or another frame), stretches each from ``min``..``max`` onto a
palette, masks nodata and composites the results into one float RGBA picture on a 0–255 scale,
matching large_image's GDAL source value for value. Pure numpy: the caller reads the windows and
computes the band statistics (:class:`BandStats`); palettes live in :mod:`.palettes`.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace

import numpy as np

from . import config
from .errors import OptionsError
from .options import ChoiceEnum, check_keys
from .palettes import parse_palette

__all__ = ['BandStats', 'BandStyle', 'Composite', 'OutputDtype', 'Scheme', 'Style', 'apply_style',
           'check_style', 'default_style', 'parse_palette', 'parse_style', 'resolve_limits',
           'to_uint8']


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
class BandStats:
    """Valid-value statistics of one band of one frame (the caller samples ≤1024² pixels).

    ``histogram``/``bin_edges`` (256 bins over ``[min, max + 1]``) serve only the ``':t'``
    limits, which fall back to ``min``/``max`` without them.
    """

    min: float
    max: float
    histogram: np.ndarray | None = None
    bin_edges: np.ndarray | None = None
    samples: int = 0

    @classmethod
    def from_values(cls, values: np.ndarray, nodata: float | None = None) -> BandStats | None:
        """Statistics of a sample without NaN and ``nodata`` values; None if none is valid.

        >>> BandStats.from_values(np.array([0, 5, 9, 255]), nodata=255).max
        9.0
        """
        valid = np.asarray(values).ravel()
        if valid.dtype.kind == 'f':
            valid = valid[np.isfinite(valid)]
        if nodata is not None and not math.isnan(nodata):
            valid = valid[valid != nodata]
        if not valid.size:
            return None
        # In float64: the histogram of float32 values near ±3.4e38 overflows in float32.
        valid = valid.astype(np.float64, copy=False)
        low, high = float(valid.min()), float(valid.max())
        # [min, max + 1], widened where 1 is below float64's resolution at max.
        top = high + max(1.0, abs(high) * 1e-12)
        try:
            histogram, edges = np.histogram(valid, bins=256, range=(low, top))
        except ValueError:  # a range beyond float64: no ':t' thresholds
            return cls(low, high, samples=int(valid.size))
        return cls(low, high, histogram, edges, int(histogram.sum()))


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
        return frozenset(_entry_frame(b, frame) for b in self.bands)

    def resolve_nodata(self, nodata: Sequence[float | None],
                       interpretations: Sequence[str]) -> Style:
        """This style with every ``nodata: 'auto'`` replaced by its band's nodata value."""
        def resolved(entry: BandStyle) -> BandStyle:
            if entry.nodata != 'auto':
                return entry
            index = _band_index(entry.band, len(interpretations), interpretations)
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
    if not value or set(value) == {'icc'}:
        return None
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


def resolve_limits(entry: BandStyle, stats: BandStats | None, dtype: np.dtype,
                   all_stats: Sequence[BandStats | None]) -> tuple[float, float]:
    """The numeric ``(min, max)`` of an entry, by large_image's GDAL rules.

    ``'full'`` is 0..65535 for uint16, 0..1 for float, else 0..255. ``'min'``/``'max'`` are the
    band's sampled values (0 and the full maximum without ``stats``). ``'auto'`` is 0/255 when
    every band of ``all_stats`` — plus the dtype's own range, which GDAL appends (0..255 uint8,
    0..65535 uint16, 0..1 float) — has its minimum in 0..254 and maximum in 2..255, else the
    band's min/max: uint8 stays 0–255 while uint16 and float data stretch. ``':t'`` walks the
    histogram from that end to the bin where the count first exceeds ``t`` × samples and gives
    its edge (the band min/max when that is the first bin). ``'auto:t'`` thresholds only when
    ``'auto'`` stretches.

    >>> stats = [BandStats(10, 200), BandStats(0, 255)]
    >>> resolve_limits(BandStyle(1), stats[0], np.dtype('uint8'), stats)
    (0.0, 255.0)
    >>> resolve_limits(BandStyle(1), stats[0], np.dtype('uint16'), stats)
    (10.0, 200.0)
    """
    dtype = np.dtype(dtype)
    return (_limit('min', entry.min, stats, dtype, all_stats),
            _limit('max', entry.max, stats, dtype, all_stats))


def check_style(style: Style, *, band_count: int, interpretations: Sequence[str],
                frame_count: int = 1) -> None:
    """Raise :class:`OptionsError` for a band or absolute frame the source lacks (at open).

    >>> check_style(parse_style({'band': 500}), band_count=3, interpretations=['gray'] * 3)
    Traceback (most recent call last):
    ...
    geolargeimage.errors.OptionsError: Band has to be a positive integer, ... not 500 (3 bands)
    """
    for entry in style.bands:
        _band_index(entry.band, band_count, interpretations)
        if entry.frame is not None:
            _check_frame(entry.frame, frame_count)


def apply_style(style: Style, fetch: Callable[[int, int], np.ndarray], *, frame: int,
                band_count: int, interpretations: Sequence[str], dtype: np.dtype,
                stats: Callable[[int, int], BandStats | None], frame_count: int = 1) -> np.ndarray:
    """The styled picture of one window: ``(h, w, 4)`` RGBA floats on a 0–255 scale.

    ``fetch(frame, band)`` gives the ``(h, w)`` raw values of a 0-based band of a frame for the
    window, ``stats(frame, band)`` its :class:`BandStats` (or None). The buffer is float32
    (float64 for float64 data) and ``(h, w, 1)`` for exactly one non-alpha entry with a black →
    white palette on a 1-band source. Each entry, in order:

    1. picks its frame (``frame``, or the current one + ``framedelta``) and band;
    2. resolves ``min``/``max`` (:func:`resolve_limits`); ``n = (v − min) / (max − min)``
       (divisor 1 when equal);
    3. masks pixels equal to ``nodata`` and, with ``clamp`` off, those with ``n`` outside 0..1;
    4. colours each channel by linear interpolation over evenly spaced stops, or ``discrete``
       (stop ``floor(n · len)``, clipped); a 2-stop channel from 0 is ``n · stop``, unclipped;
    5. composites: ``lighten`` assigns for the first entry, then takes the maximum (masked → 0);
       ``multiply`` does nothing for the first entry, then scales by colour / 255 (masked → as
       is). A palette-constant channel is skipped when 0 under lighten or 255 under multiply.

    Then the style's ``dtype`` ('uint8' clips and truncates, 'uint16' scales by 65535 / 255,
    'float' divides by 255, 'source' is uint16/float like the source) and ``axis`` apply. An
    empty (default) style gives a transparent canvas: substitute :func:`default_style` first.

    Raises
    ------
    OptionsError
        A band or frame that does not exist, or an ``axis`` beyond the output channels.

    >>> style = parse_style({'band': 1, 'min': 0, 'max': 100,
    ...                      'palette': ['#0000ff', '#00ff00', '#ff0000']})
    >>> picture = apply_style(style, lambda f, b: np.array([[62]]), frame=0, band_count=1,
    ...                       interpretations=['gray'], dtype=np.dtype('uint8'),
    ...                       stats=lambda f, b: None)
    >>> picture[0, 0].astype(float).round(1).tolist()
    [61.2, 193.8, 0.0, 255.0]
    """
    dtype = np.dtype(dtype)
    if not style.bands:
        return np.zeros(np.shape(fetch(frame, 0))[:2] + (4,), np.float32)
    one_channel = (len(style.bands) == 1 and band_count == 1 and not style.bands[0].is_alpha_name
                   and np.array_equal(style.bands[0].palette, BLACK_WHITE))
    output = None
    frame_stats: dict[int, list[BandStats | None]] = {}
    for position, entry in enumerate(style.bands):
        entry_frame = _entry_frame(entry, frame)
        _check_frame(entry_frame, frame_count)
        index = _band_index(entry.band, band_count, interpretations)
        values = np.asarray(fetch(entry_frame, index))
        values = values[:, :, 0] if values.ndim == 3 else values
        if output is None:
            output = np.zeros(values.shape + (1 if one_channel else 4,),
                              np.float64 if dtype == np.float64 else np.float32)
        if entry_frame not in frame_stats:
            frame_stats[entry_frame] = [stats(entry_frame, b) for b in range(band_count)]
        low, high = resolve_limits(entry, frame_stats[entry_frame][index], dtype,
                                   frame_stats[entry_frame])
        # Another frame's window is cropped to the main one, as large_image crops its tile.
        values = values[:output.shape[0], :output.shape[1]]
        _composite(output, entry, values, low, high, first=position == 0)
    return _finish(output, style, dtype)


def to_uint8(styled: np.ndarray) -> np.ndarray:
    """8-bit pixels of a styled array for encoding: clipped to 0–255 and truncated, NaN → 0;
    uint16 keeps its high byte (as large_image converts it); channels are kept.

    >>> to_uint8(np.array([[[300.0, -4.0, 127.9, np.nan]]], np.float32)).tolist()
    [[[255, 0, 127, 0]]]
    """
    if styled.dtype == np.uint8:
        return styled
    if styled.dtype == np.uint16:
        return (styled >> 8).astype(np.uint8)
    clipped = np.clip(styled, 0, 255)
    clipped[np.isnan(clipped)] = 0
    return clipped.astype(np.uint8)


# -- parsing ----------------------------------------------------------------------------------

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
    warnings.warn(f'Style {name} value {value!r} is not valid; using "auto"', stacklevel=6)
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


# -- application ------------------------------------------------------------------------------

def _entry_frame(entry: BandStyle, frame: int) -> int:
    return entry.frame if entry.frame is not None else frame + (entry.framedelta or 0)


def _check_frame(frame: int, frame_count: int) -> None:
    if not 0 <= frame < frame_count:
        raise OptionsError(f'Style frame {frame} does not exist; the source has {frame_count} '
                           f'frame(s), 0..{frame_count - 1}')


def _band_index(band: int | str | None, band_count: int, interpretations: Sequence[str]) -> int:
    """0-based band of an entry: None → band 1, a number, or the first band so interpreted."""
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


def _limit(which: str, value: float | str, stats: BandStats | None, dtype: np.dtype,
           all_stats: Sequence[BandStats | None]) -> float:
    if not isinstance(value, str):
        return float(value)
    full = 65535.0 if dtype == np.uint16 else 1.0 if dtype.kind == 'f' else 255.0
    if value == 'full':
        return 0.0 if which == 'min' else full
    word, _, text = value.partition(':')
    threshold = float(text or 0)
    if word == 'auto':
        range_max = float(np.iinfo(dtype).max) if dtype.kind in 'iu' else 1.0
        ranges = [(s.min, s.max) for s in all_stats if s is not None] + [(0.0, range_max)]
        if all(0 <= low <= 254 and 2 <= high <= 255 for low, high in ranges):
            return 0.0 if which == 'min' else 255.0
        word = which
    if stats is None:
        return 0.0 if word == 'min' else full
    if threshold and stats.histogram is not None and stats.bin_edges is not None:
        return _threshold(stats, threshold, from_max=word == 'max')
    return float(stats.min if word == 'min' else stats.max)


def _threshold(stats: BandStats, threshold: float, from_max: bool) -> float:
    """Edge of the first bin, from one end, where the cumulative count exceeds t × samples."""
    step = -1 if from_max else 1
    counts, edges = np.asarray(stats.histogram)[::step], np.asarray(stats.bin_edges)[::step]
    over = np.nonzero(np.cumsum(counts) > threshold * (stats.samples or counts.sum()))[0]
    if not over.size:
        return float(edges[-1])
    if over[0] == 0:
        return float(stats.max if from_max else stats.min)
    return float(edges[over[0]])


def _composite(output: np.ndarray, entry: BandStyle, values: np.ndarray, low: float,
               high: float, *, first: bool) -> None:
    """Colour one entry's normalised values and combine them into ``output`` in place."""
    # Integers become float64; float32 data stays float32, as in large_image.
    band = values if values.dtype.kind == 'f' else values.astype(np.float64)
    mask = None
    if isinstance(entry.nodata, float):
        mask = ~np.isnan(band) if math.isnan(entry.nodata) else band != entry.nodata
    palette, multiply = entry.palette, entry.composite is Composite.MULTIPLY
    lookup = _lookup(values, low, high)
    needs_normal = lookup is None or not entry.clamp or entry.scheme is Scheme.DISCRETE or any(
        len(palette) == 2 and palette[0, c] == 0 for c in range(output.shape[2]))
    normal = _normalise(band, low, high) if needs_normal else None
    if not entry.clamp:
        inside = (normal >= 0) & (normal <= 1)
        mask = inside if mask is None else mask & inside
    index = None
    if entry.scheme is Scheme.DISCRETE:
        index = np.clip(np.floor(normal * len(palette)), 0, len(palette) - 1)
        index = np.nan_to_num(index).astype(np.intp)
    for channel in range(output.shape[2]):
        column = palette[:, channel]
        if np.all(column == column[0]):
            if column[0] == (255 if multiply else 0):
                continue  # the identity of this composite
            colour = np.full(band.shape, column[0], dtype=band.dtype)
        elif index is not None:
            colour = column[index]
        elif len(column) == 2 and column[0] == 0:
            colour = normal * column[1]  # large_image's shortcut, unclipped outside 0..1
        elif lookup is not None:
            domain_normal, offsets = lookup
            colour = np.interp(domain_normal, np.linspace(0, 1, len(palette)), column)[offsets]
        else:
            colour = np.interp(normal, np.linspace(0, 1, len(palette)), column)
        target = output[:, :, channel]
        if multiply:
            if not first:
                target *= colour / 255 if mask is None else np.where(mask, colour / 255, 1)
        elif first:
            target[...] = colour if mask is None else np.where(mask, colour, 0)
        else:
            np.maximum(target, colour if mask is None else np.where(mask, colour, 0), out=target)


def _normalise(band: np.ndarray, low: float, high: float) -> np.ndarray:
    """``(band - low) / (high - low)`` (divisor 1 when equal), in the band's float type unless
    that overflows: float32 values and limits spanning more than float32 holds (±3.4e38) are
    normalised in float64, and float64 ones spanning more than float64 holds at half scale.

    >>> big = 2.0 ** 127  # float32 holds ±3.4e38: the span of ±big does not fit
    >>> _normalise(np.array([-big, 0, big], np.float32), -big, big).tolist()
    [0.0, 0.5, 1.0]
    """
    span = high - low if high != low else 1.0
    limit = float(np.finfo(band.dtype).max) / 2 if band.dtype.kind == 'f' else math.inf
    if max(abs(low), abs(high), abs(span)) < limit:
        return (band - low) / span
    if band.dtype.itemsize < 8:
        band = band.astype(np.float64)
    if math.isfinite(span):
        return (band - low) / span
    return (band / 2 - low / 2) / (high / 2 - low / 2)


def _lookup(values: np.ndarray, low: float, high: float) -> tuple[np.ndarray, np.ndarray] | None:
    """For 8- and 16-bit integers: the normalised value of each integer in the window's range
    and each pixel's offset into it. Interpolating the few distinct values and indexing gives
    the same numbers as interpolating every pixel, several times faster."""
    if values.dtype.kind not in 'ui' or values.dtype.itemsize > 2 or values.size < 4096:
        return None
    smallest = int(values.min())
    domain = np.arange(smallest, int(values.max()) + 1, dtype=np.float64)
    return (domain - low) / (high - low if high != low else 1), values - smallest


def _finish(output: np.ndarray, style: Style, dtype: np.dtype) -> np.ndarray:
    target = style.dtype
    if target is OutputDtype.SOURCE:
        target = (OutputDtype.UINT16 if dtype == np.uint16
                  else OutputDtype.FLOAT if dtype.kind == 'f' else None)
    if target is OutputDtype.UINT8:
        # Clipped first: large_image's bare cast wraps (or is undefined) outside 0..255.
        output = np.nan_to_num(np.clip(output, 0, 255), nan=0).astype(np.uint8)
    elif target is OutputDtype.UINT16:
        output = np.nan_to_num(np.clip(output * 65535 / 255, 0, 65535), nan=0).astype(np.uint16)
    elif target is OutputDtype.FLOAT:
        output = output / 255
    if style.axis is not None:
        if style.axis >= output.shape[2]:
            raise OptionsError(f'style axis {style.axis} is out of range for '
                               f'{output.shape[2]} output channel(s)')
        output = output[:, :, style.axis:style.axis + 1]
    return output
