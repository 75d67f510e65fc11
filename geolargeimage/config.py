"""Process-wide settings (large_image's ``config.getConfig``/``setConfig``).

Each key can also be set through the environment as ``GEOLARGEIMAGE_<KEY>`` (upper case), read
when first asked for.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

from geolargeimage.errors import OutputSizeError

#: Defaults: the largest output a request may produce (pixels), whether ``open`` shares sources,
#: how many sources it keeps, and the error threshold (pixels) of the transformer projected reads
#: warp with (GDAL's default; 0 is exact).
#: ``statistics_max_pixels``: the most stored pixels (whole blocks) band statistics decode; when
#: no stored level fits, whole blocks spread over the image are sampled.
#: ``pyramid_max_pixels``: the largest raster (pixels of its coarsest stored level) whose missing
#: overviews are synthesized; a coarse read of a larger one decodes the stored pixels when they
#: are at most ``max_output_pixels``, and raises OutputSizeError otherwise.
#: ``lenient_styles``: take a bad style ``min``/``max`` as 'auto' with a warning, and one entry
#: with a band below -1 as the default style, as large_image does, instead of raising.
DEFAULTS: dict[str, Any] = {
    'max_output_pixels': 1 << 28,
    'cache_sources': True,
    'cache_tilesource_maximum': 64,
    'warp_error_threshold': 0.125,
    'remote_timeout': 60,  # seconds one remote operation may take, retries included (env.py)
    'statistics_max_pixels': 1 << 25,
    'pyramid_max_pixels': 1 << 30,
    'lenient_styles': False,
}
_values: dict[str, Any] = {}
_lock = threading.Lock()


def getConfig(key: str | None = None, default: Any = None) -> Any:
    """The value of ``key`` (or a dict of all values when ``key`` is None).

    >>> getConfig('cache_sources')
    True
    """
    if key is None:
        return {name: getConfig(name) for name in DEFAULTS}
    with _lock:
        if key in _values:
            return _values[key]
    raw = os.environ.get('GEOLARGEIMAGE_' + key.upper())
    if raw is not None:
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return DEFAULTS.get(key, default)


def setConfig(key: str, value: Any) -> None:
    """Set ``key`` for this process; ``None`` restores the default."""
    with _lock:
        if value is None:
            _values.pop(key, None)
        else:
            _values[key] = value


def check_output_budget(width: int, height: int) -> None:
    """Raise :class:`~geolargeimage.errors.OutputSizeError` when a ``width`` × ``height`` output
    exceeds ``max_output_pixels``."""
    limit = getConfig('max_output_pixels')
    if width * height > limit:
        raise OutputSizeError(
            f'A {width}x{height} output exceeds the budget of {limit} pixels; ask for a smaller '
            'output (output=, tile_size=) or raise config max_output_pixels')
