"""Tile iteration planning, pure arithmetic (large_image's): which tiles cover a region, with
what overlap, and how each maps back to a base-pixel rectangle that one read turns into it.

A plan is made in one pixel space: base pixels, the pixels of a level, or, when the output is
resampled, the pixels of the output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from geolargeimage.errors import OptionsError
from geolargeimage.grid import Window
from geolargeimage.options import TilingSpec
from geolargeimage.regions import RegionPlan


@dataclass(frozen=True)
class AxisTile:
    """One tile along one axis: grid index, start and size (clipped), and the pixels it shares
    with the tile before and after it."""

    index: int
    start: int
    size: int
    overlap_before: int
    overlap_after: int


def plan_axis(start: int, end: int, tile: int, overlap: int, *, edges: bool,
              offset: int) -> list[AxisTile]:
    """Tiles covering ``[start, end)`` with ``tile``-sized steps of ``tile - overlap``.

    ``edges=False`` keeps every tile inside the range (the first and last start flush with it);
    ``edges=True`` centres the overlap on the range's edges too, so border tiles shrink.

    >>> [(t.start, t.size, t.overlap_before, t.overlap_after) for t in
    ...  plan_axis(0, 120, 75, 60, edges=False, offset=0)]
    [(0, 75, 0, 30), (15, 75, 30, 30), (30, 75, 30, 30), (45, 75, 30, 0)]
    >>> [(t.start, t.size) for t in plan_axis(0, 8, 5, 4, edges=True, offset=0)]
    [(0, 3), (0, 4), (0, 5), (1, 5), (2, 5), (3, 5), (4, 4), (5, 3)]
    """
    stride = tile - overlap
    if stride <= 0:
        raise OptionsError(f'tile_overlap ({overlap}) must be smaller than the tile size ({tile})')
    before, after = overlap // 2, overlap - overlap // 2
    if edges:
        first, last = int((start - offset) / stride), math.ceil((end - offset) / stride)
        shift = -before
    else:
        first = int((start - offset) / stride)
        last = max(math.ceil((end - offset - overlap) / stride), first + 1)
        shift = 0
    tiles = []
    for index in range(first, last):
        raw_start = index * stride + shift + offset
        raw_end = raw_start + tile
        low, high = max(raw_start, start), min(raw_end, end)
        if high <= low:
            continue
        if edges:
            lap_before = max(0, before - (low - raw_start))
            lap_after = max(0, after - (raw_end - high))
        else:
            lap_before = 0 if index == first else before
            lap_after = 0 if index == last - 1 else after
        tiles.append(AxisTile(index, low, high - low, min(lap_before, high - low),
                              min(lap_after, high - low)))
    return tiles


@dataclass(frozen=True)
class IterationPlan:
    """The tile grid of one iteration and how its pixel space maps to base pixels.

    ``region`` is in plan pixels and its top-left corner lies at base pixel ``origin``; a plan
    pixel is ``unit_x`` × ``unit_y`` base pixels; ``level_unit`` is base pixels per pixel of
    ``level`` (the level read).
    """

    level: int
    region: Window
    origin: tuple[float, float]
    unit_x: float
    unit_y: float
    level_unit: float
    resampled: bool
    cols: tuple[AxisTile, ...]
    rows: tuple[AxisTile, ...]

    @property
    def count(self) -> int:
        return len(self.cols) * len(self.rows)

    def base_x(self, x: float) -> float:
        """Base-pixel column of plan column ``x``."""
        return self.origin[0] + (x - self.region.col_off) * self.unit_x

    def base_y(self, y: float) -> float:
        """Base-pixel row of plan row ``y``."""
        return self.origin[1] + (y - self.region.row_off) * self.unit_y


def make_plan(*, level: int, region: Window, origin: tuple[float, float] | None = None,
              unit_x: float, unit_y: float, level_unit: float, resampled: bool,
              tiling: TilingSpec, default_tile: tuple[int, int]) -> IterationPlan:
    """Plan the tiles of ``region`` (plan pixels, whose corner is at base pixel ``origin``,
    by default its own offset times the unit) with the caller's tile size, overlap, offset."""
    origin = origin or (region.col_off * unit_x, region.row_off * unit_y)
    tile_width = tiling.tile_width or default_tile[0]
    tile_height = tiling.tile_height or default_tile[1]
    offset_x, offset_y = tiling.offset_left, tiling.offset_top
    if tiling.offset_auto and region.width >= tile_width and region.height >= tile_height:
        offset_x, offset_y = region.col_off, region.row_off
    stride_x, stride_y = tile_width - tiling.overlap_x, tile_height - tiling.overlap_y
    if stride_x > 0 and offset_x > region.col_off:
        offset_x = region.col_off - region.col_off % stride_x
    if stride_y > 0 and offset_y > region.row_off:
        offset_y = region.row_off - region.row_off % stride_y
    cols = plan_axis(region.col_off, region.right, tile_width, tiling.overlap_x,
                     edges=tiling.overlap_edges, offset=offset_x)
    rows = plan_axis(region.row_off, region.bottom, tile_height, tiling.overlap_y,
                     edges=tiling.overlap_edges, offset=offset_y)
    if region.empty:
        cols, rows = [], []
    return IterationPlan(level, region, origin, unit_x, unit_y, level_unit, resampled,
                         tuple(cols), tuple(rows))


def select_position(plan: IterationPlan, position: dict[str, int] | None) -> list[tuple[int, int]]:
    """(row, col) indices into the plan to yield: all, or the one ``tile_position`` names."""
    n_cols = len(plan.cols)
    if position is None:
        return [(r, c) for r in range(len(plan.rows)) for c in range(n_cols)]
    if 'position' in position:
        row, col = divmod(position['position'], n_cols) if n_cols else (-1, -1)
    elif 'region_x' in position:
        row, col = position['region_y'], position['region_x']
    else:
        col = position['level_x'] - (plan.cols[0].index if plan.cols else 0)
        row = position['level_y'] - (plan.rows[0].index if plan.rows else 0)
    if 0 <= row < len(plan.rows) and 0 <= col < n_cols:
        return [(row, col)]
    return []


def plan_iteration(region: RegionPlan, *, max_level: int, tiling: TilingSpec,
                   default_tile: tuple[int, int], resample: bool) -> IterationPlan:
    """The tile plan of ``region`` (a resolved request) in the pixel space its output lives in:
    base pixels at full resolution, the pixels of the level read when the output is a level
    (or ``resample`` is off), else the output's own pixels."""
    window = region.window
    level_unit = 2.0 ** (max_level - region.level)
    common = {'level': region.level, 'tiling': tiling, 'level_unit': level_unit,
              'default_tile': default_tile}
    if (region.width, region.height) == (window.width, window.height):
        return make_plan(region=window, unit_x=1.0, unit_y=1.0, resampled=False, **common)
    unit_x = window.width / max(region.width, 1)
    unit_y = window.height / max(region.height, 1)
    if resample and round(unit_x / level_unit, 2) != 1:
        output = Window(round(window.col_off / unit_x), round(window.row_off / unit_y),
                        region.width, region.height)
        return make_plan(region=output, origin=(window.col_off, window.row_off), unit_x=unit_x,
                         unit_y=unit_y, resampled=True, **common)
    left, top = int(window.col_off / level_unit), int(window.row_off / level_unit)
    level_region = Window(left, top, max(int(window.right / level_unit), left + 1) - left,
                          max(int(window.bottom / level_unit), top + 1) - top)
    return make_plan(region=level_region, unit_x=level_unit, unit_y=level_unit,
                     resampled=False, **common)
