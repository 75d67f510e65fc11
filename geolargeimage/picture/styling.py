"""Applying a style to pixels: band windows in, one float RGBA picture on a 0–255 scale out.

Each entry of a :class:`~geolargeimage.picture.style.Style` is stretched from its resolved
``min``..``max``, masked, coloured through its palette and composited, matching large_image's
GDAL source value for value; then the style's ``dtype`` and ``axis`` apply. Pure numpy: the
caller reads the windows and computes the band statistics
(:class:`~geolargeimage.picture.band_stats.BandStats`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from geolargeimage.errors import OptionsError
from geolargeimage.picture.band_stats import BandStats
from geolargeimage.picture.style import (
    BLACK_WHITE,
    BandStyle,
    Composite,
    OutputDtype,
    Scheme,
    Style,
    band_index,
    check_frame,
    entry_frame,
)

__all__ = ['apply_style', 'resolve_limits', 'to_uint8']


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

    >>> from geolargeimage.picture.style import parse_style
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
    output = None
    frame_stats: dict[int, list[BandStats | None]] = {}
    for position, entry in enumerate(style.bands):
        read_frame = entry_frame(entry, frame)
        check_frame(read_frame, frame_count)
        index = band_index(entry.band, band_count, interpretations)
        values = _plane(fetch(read_frame, index))
        if output is None:
            output = np.zeros(values.shape + (_channel_count(style, band_count),),
                              np.float64 if dtype == np.float64 else np.float32)
        if read_frame not in frame_stats:
            frame_stats[read_frame] = [stats(read_frame, b) for b in range(band_count)]
        low, high = resolve_limits(entry, frame_stats[read_frame][index], dtype,
                                   frame_stats[read_frame])
        # Another frame's window is cropped to the main one, as large_image crops its tile.
        values = values[:output.shape[0], :output.shape[1]]
        _composite(output, entry, values, low, high, first=position == 0)
    return _finish(output, style, dtype)


def _plane(values: np.ndarray) -> np.ndarray:
    """The ``(h, w)`` values of a fetched band, which may come as ``(h, w, 1)``."""
    values = np.asarray(values)
    return values[:, :, 0] if values.ndim == 3 else values


def _channel_count(style: Style, band_count: int) -> int:
    """1 for exactly one non-alpha entry with a black → white palette on a 1-band source, else 4
    (RGBA)."""
    entry = style.bands[0]
    one_channel = (len(style.bands) == 1 and band_count == 1 and not entry.is_alpha_name
                   and np.array_equal(entry.palette, BLACK_WHITE))
    return 1 if one_channel else 4


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

# -- numbers ----------------------------------------------------------------------------------

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
