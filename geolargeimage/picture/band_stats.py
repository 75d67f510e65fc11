"""Valid-value statistics of one band of one frame: what ``min``/``max`` limits resolve from.

The caller samples the band (at most 1024² pixels) and builds a :class:`BandStats` with
:meth:`BandStats.from_values`; :func:`geolargeimage.picture.styling.resolve_limits` reads it.
Pure numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ['BandStats', 'summarize']

#: Integer pixel types summarized through a histogram of every value (exact and about 10x
#: faster than float64 arithmetic on a copy of the sample).
_COUNTED_KINDS = ('u', 'i')
_COUNTED_MAX_ITEMSIZE = 2


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


def summarize(values: np.ndarray, nodata: float | None = None) -> dict[str, float]:
    """min, max, mean and stdev (population) of the valid values of a sample, in float64;
    ``{}`` when none is valid. NaN and ``nodata`` values are not valid.

    8- and 16-bit integers are counted with one ``np.bincount`` and summarized from the counts,
    which is exact (integer sums below 2**53) and avoids a float64 copy of the sample.

    >>> summarize(np.array([[0, 2], [4, 255]], np.uint8), nodata=255)
    {'min': 0.0, 'max': 4.0, 'mean': 2.0, 'stdev': 1.632993161855452}
    """
    flat = np.asarray(values).ravel()
    if flat.dtype.kind in _COUNTED_KINDS and flat.dtype.itemsize <= _COUNTED_MAX_ITEMSIZE:
        return _counted_summary(flat, nodata)
    valid = flat[np.isfinite(flat)] if flat.dtype.kind == 'f' else flat
    if nodata is not None:
        valid = valid[valid != nodata]
    if not valid.size:
        return {}
    valid = valid.astype(np.float64)
    return {'min': float(valid.min()), 'max': float(valid.max()), 'mean': float(valid.mean()),
            'stdev': float(valid.std())}


def _counted_summary(flat: np.ndarray, nodata: float | None) -> dict[str, float]:
    """:func:`summarize` of 8- or 16-bit integers, from the count of each value."""
    offset = int(np.iinfo(flat.dtype).min)
    counts = np.bincount((flat.astype(np.int32) - offset) if offset else flat,
                         minlength=1 << (8 * flat.dtype.itemsize))
    if nodata is not None and float(nodata).is_integer() \
            and 0 <= int(nodata) - offset < counts.size:
        counts[int(nodata) - offset] = 0
    present = np.flatnonzero(counts)
    if not present.size:
        return {}
    numbers = present.astype(np.float64) + offset
    weights = counts[present].astype(np.float64)
    total = weights.sum()
    mean = float((numbers * weights).sum() / total)
    variance = float((weights * (numbers - mean) ** 2).sum() / total)
    return {'min': float(numbers[0]), 'max': float(numbers[-1]), 'mean': mean,
            'stdev': math.sqrt(variance)}
