"""Valid-value statistics of one band of one frame: what ``min``/``max`` limits resolve from.

The caller samples the band (at most 1024² pixels) and builds a :class:`BandStats` with
:meth:`BandStats.from_values`; :func:`geolargeimage.picture.styling.resolve_limits` reads it.
Pure numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ['BandStats']


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
