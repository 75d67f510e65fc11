"""Resolve a region written in any unit into a window of base pixels (large_image's rules).

Edges are scaled by their unit, negative edges count from the far side, missing edges default to
the whole image, and the result is rounded (banker's rounding, as large_image) and clipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from geolargeimage.enums import Units
from geolargeimage.errors import OptionsError, RangeError
from geolargeimage.grid import Window
from geolargeimage.options import RegionSpec


@dataclass(frozen=True)
class RegionPlan:
    """What a region request reads: a base-pixel window, the output size, and the large_image
    level whose resolution the output matches."""

    window: Window
    width: int
    height: int
    level: int

    @property
    def empty(self) -> bool:
        """Whether the plan gives no output pixels (a region 0 wide or high, or narrower than
        one output pixel)."""
        return self.window.empty or not self.width or not self.height


#: (units) → base pixels per unit along x and y.
UnitScale = Callable[[Units], tuple[float, float]]


def unit_scale_for(size_x: int, size_y: int, *, mm_x: float | None, mm_y: float | None,
                   mag_factor: float | None) -> UnitScale:
    """A :data:`UnitScale` for an image of this size and pixel size.

    ``mag_factor`` is base pixels per pixel at the requested ``scale`` (None without one).

    >>> scale = unit_scale_for(1000, 500, mm_x=0.5, mm_y=0.25, mag_factor=None)
    >>> scale(Units.FRACTION), scale(Units.MILLIMETERS), scale(Units.METERS)
    ((1000, 500), (2.0, 4.0), (2000.0, 4000.0))
    """
    def scale(units: Units) -> tuple[float, float]:
        if units is Units.BASE_PIXELS:
            return 1.0, 1.0
        if units is Units.FRACTION:
            return size_x, size_y
        if units is Units.MAG_PIXELS:
            if mag_factor is None:
                raise OptionsError('No magnification to use for units "pixels": pass scale= '
                                   '(magnification, mm_x/mm_y or level)')
            return mag_factor, mag_factor
        if not mm_x or not mm_y:
            raise OptionsError(f'Units "{units.value}" need the physical pixel size, '
                               'which this image does not have (mm_x/mm_y are None)')
        millimeters = units.millimeters
        assert millimeters is not None
        return millimeters / mm_x, millimeters / mm_y
    return scale


def _edges(low: float | None, high: float | None, length: float | None, size: int,
           length_wins: bool) -> tuple[float, float]:
    """Resolve one axis: negative offsets, defaults, then the length rule."""
    low = low + size if low is not None and low < 0 else low
    high = high + size if high is not None and high < 0 else high
    if low is None:
        low = high - length if high is not None and length is not None else 0
    if high is None or (length_wins and length is not None):
        high = low + length if length is not None else size
    return low, high


def resolve_region(spec: RegionSpec, size_x: int, size_y: int, scale_of: UnitScale) -> Window:
    """The base-pixel window of ``spec`` on an image of ``size_x`` × ``size_y``.

    Raises :class:`RangeError` when a non-empty region lies wholly outside the image.

    >>> scale = unit_scale_for(1000, 500, mm_x=None, mm_y=None, mag_factor=None)
    >>> resolve_region(RegionSpec(left=-100, top=0.5, height=0.25, units='fraction',
    ...                           units_wh='fraction'), 1000, 500, scale)
    Window(col_off=0, row_off=250, width=1000, height=125)
    """
    edge_scale = scale_of(Units.parse(spec.units))
    size_scale = scale_of(Units.parse(spec.units_wh)) if spec.units_wh is not None else edge_scale

    def scaled(value: float | None, factor: float) -> float | None:
        return None if value is None else value * factor

    left, right = _edges(scaled(spec.left, edge_scale[0]), scaled(spec.right, edge_scale[0]),
                         scaled(spec.width, size_scale[0]), size_x, spec.units_wh is not None)
    top, bottom = _edges(scaled(spec.top, edge_scale[1]), scaled(spec.bottom, edge_scale[1]),
                         scaled(spec.height, size_scale[1]), size_y, spec.units_wh is not None)
    if (right > left and (right <= 0 or left >= size_x)) or \
            (bottom > top and (bottom <= 0 or top >= size_y)):
        raise RangeError(f'Region left={left:g}, top={top:g}, right={right:g}, bottom={bottom:g} '
                         f'(base pixels) lies outside the image (0, 0, {size_x}, {size_y})')
    col_off = min(max(round(left), 0), size_x)
    row_off = min(max(round(top), 0), size_y)
    col_end = min(max(round(right), col_off), size_x)
    row_end = min(max(round(bottom), row_off), size_y)
    return Window(col_off, row_off, col_end - col_off, row_end - row_off)
