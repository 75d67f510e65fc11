"""large_image's magnification arithmetic: the magnification and pixel size of a level, and the
level that matches a magnification or pixel size. Level ``max_level`` is full resolution; each
level below halves it."""

from __future__ import annotations

import math
from typing import Any


def magnification_for_level(level: float, max_level: int, magnification: float | None,
                            mm_x: float | None, mm_y: float | None) -> dict[str, Any]:
    """Magnification and pixel size at ``level`` of an image with these full-resolution ones.

    >>> magnification_for_level(1, 3, 40.0, 0.00025, 0.00025)
    {'magnification': 10.0, 'level': 1, 'scale': 4.0, 'mm_x': 0.001, 'mm_y': 0.001}
    """
    scale = 2.0 ** (max_level - level)
    has_mm = mm_x is not None and mm_y is not None
    return {'magnification': magnification / scale if magnification else None,
            'level': level, 'scale': scale,
            'mm_x': mm_x * scale if has_mm else None,
            'mm_y': mm_y * scale if has_mm else None}


def level_for_magnification(max_level: int,
                            native: tuple[float | None, float | None, float | None], *,
                            magnification: float | None = None, mm_x: float | None = None,
                            mm_y: float | None = None, exact: bool = False,
                            rounding: Any = 'round') -> float | int | None:
    """The level matching a magnification or a pixel size in mm (large_image's rules), for an
    image whose full-resolution (magnification, mm_x, mm_y) are ``native``.

    >>> level_for_magnification(3, (40.0, None, None), magnification=10)
    1
    >>> level_for_magnification(3, (40.0, None, None), magnification=15, exact=True) is None
    True
    """
    ratios = []
    if magnification and native[0]:
        ratios.append(round(math.log2(magnification / native[0]), 4))
    for wanted, have in ((mm_x, native[1]), (mm_y, native[2])):
        if wanted and have:
            ratios.append(round(math.log2(have / wanted), 4))
    if exact and (not ratios or any(r != ratios[0] or r != int(r) for r in ratios)):
        return None
    level = max_level + (sum(ratios) / len(ratios) if ratios else 0)
    if rounding is None:
        return level
    if rounding == 'ceil':
        level = math.ceil(level)
        if exact and level > max_level:
            return None
    elif rounding:
        level = round(level)
    if exact and not 0 <= level <= max_level:
        return None
    return max(0, min(max_level, level))
