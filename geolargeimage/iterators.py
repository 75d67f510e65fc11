"""Tile iteration: pure planning of the tile grid (large_image's arithmetic) and the lazy records.

A plan is made in one pixel space: base pixels, the pixels of a level, or, when the output is
resampled, the pixels of the output. Each planned tile maps back to a base-pixel rectangle that
one GDAL read turns into that tile.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from . import config
from .errors import OptionsError
from .grid import Window
from .options import (RegionRequest, Resampling, TileFormat, TilingSpec,
                      parse_tile_position)


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


class LazyTileDict(dict):
    """A tile record whose ``tile`` and ``format`` are read on first access.

    ``release()`` drops the pixels (they are read again if asked for).
    """

    def __init__(self, record: dict[str, Any], loader: Callable[[], tuple[Any, str]]):
        super().__init__(record, tile=None, format=None)
        self._loader = loader
        self._loaded = False

    def _load(self) -> None:
        if not self._loaded:
            tile, fmt = self._loader()
            dict.__setitem__(self, 'tile', tile)
            dict.__setitem__(self, 'format', fmt)
            self._loaded = True

    def __getitem__(self, key: str) -> Any:
        if key in ('tile', 'format'):
            self._load()
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default

    def values(self):  # type: ignore[override]
        self._load()
        return super().values()

    def items(self):  # type: ignore[override]
        self._load()
        return super().items()

    def release(self) -> None:
        """Forget the pixels; the next access reads them again."""
        dict.__setitem__(self, 'tile', None)
        dict.__setitem__(self, 'format', None)
        self._loaded = False

    def __reduce__(self):
        return (dict, (dict(self.items()),))


def tile_records(plan: IterationPlan, indices: list[tuple[int, int]],
                 describe: Callable[[IterationPlan, AxisTile, AxisTile], dict[str, Any]],
                 load: Callable[[dict[str, Any]], tuple[Any, str]]) -> Iterator[LazyTileDict]:
    """Yield a :class:`LazyTileDict` per planned tile, in row-major order."""
    for row, col in indices:
        record = describe(plan, plan.cols[col], plan.rows[row])
        record['tile_position'] = {
            'level_x': plan.cols[col].index, 'level_y': plan.rows[row].index,
            'region_x': col, 'region_y': row, 'position': col + row * len(plan.cols)}
        record['iterator_range'] = {
            'level_x_min': plan.cols[0].index, 'level_y_min': plan.rows[0].index,
            'level_x_max': plan.cols[-1].index + 1, 'level_y_max': plan.rows[-1].index + 1,
            'region_x_max': len(plan.cols), 'region_y_max': len(plan.rows),
            'position': plan.count}
        yield LazyTileDict(record, lambda record=record: load(record))


class TileIterator:
    """The tiles of one ``tileIterator`` call: ``len()``, ``.info`` and lazy records."""

    def __init__(self, source: Any, fmt: TileFormat, resample: Any, kwargs: dict[str, Any]):
        tiling_keys = ('tile_size', 'tile_overlap', 'tile_offset', 'tile_position')
        request = RegionRequest.parse(kwargs, allowed=tiling_keys)
        self._frame = source._check_frame(request.frame)
        self._style = source._request_style(request.style)
        if fmt is TileFormat.IMAGE and 'encoding' not in kwargs:
            raise OptionsError('Invalid encoding "None": image tiles need encoding=')
        self._source, self._format, self._encoding = source, fmt, request.encoding
        self._resample = resample not in (False, None)
        self._resampling = Resampling.parse(resample) if self._resample else Resampling.NEAREST
        self._position = parse_tile_position(kwargs.get('tile_position'))
        self.plan = self._make_plan(source, request, TilingSpec.parse(
            kwargs.get('tile_size'), kwargs.get('tile_overlap'), kwargs.get('tile_offset')))
        self._indices = select_position(self.plan, self._position)

    def _make_plan(self, source: Any, request: RegionRequest,
                   tiling: TilingSpec) -> IterationPlan:
        region = source._plan_region(request.region, request.output, request.scale, budget=False)
        config.check_output_budget(tiling.tile_width or source.tileWidth, tiling.tile_height or source.tileHeight)
        window, max_level = region.window, source.levels - 1
        level_unit = 2.0 ** (max_level - region.level)
        common = {'level': region.level, 'tiling': tiling, 'level_unit': level_unit,
                  'default_tile': (source.tileWidth, source.tileHeight)}
        if (region.width, region.height) == (window.width, window.height):
            return make_plan(region=window, unit_x=1.0, unit_y=1.0, resampled=False, **common)
        unit_x = window.width / max(region.width, 1)
        unit_y = window.height / max(region.height, 1)
        if self._resample and round(unit_x / level_unit, 2) != 1:
            output = Window(round(window.col_off / unit_x), round(window.row_off / unit_y),
                            region.width, region.height)
            return make_plan(region=output, origin=(window.col_off, window.row_off), unit_x=unit_x,
                             unit_y=unit_y, resampled=True, **common)
        left, top = int(window.col_off / level_unit), int(window.row_off / level_unit)
        level_region = Window(left, top, max(int(window.right / level_unit), left + 1) - left,
                              max(int(window.bottom / level_unit), top + 1) - top)
        return make_plan(region=level_region, unit_x=level_unit, unit_y=level_unit,
                         resampled=False, **common)

    def __len__(self) -> int:
        return len(self._indices)

    @property
    def info(self) -> dict[str, Any] | None:
        """The iteration's overall figures, or None when nothing will be yielded."""
        if not self._indices:
            return None
        plan = self.plan
        return {'level': plan.level, 'region': plan.region, 'tile_count': plan.count,
                'resampled': plan.resampled, 'format': self._format.value,
                'sizeX': plan.region.right, 'sizeY': plan.region.bottom}

    def __iter__(self) -> Iterator[LazyTileDict]:
        return tile_records(self.plan, self._indices, self._describe, self._load)

    def _describe(self, plan: IterationPlan, col: AxisTile, row: AxisTile) -> dict[str, Any]:
        source = self._source
        scale = source.getMagnificationForLevel(plan.level)
        record = {
            'x': col.start, 'y': row.start, 'width': col.size, 'height': row.size,
            'level': plan.level, 'level_x': col.index, 'level_y': row.index,
            'magnification': _times(source.magnification, 1 / plan.unit_x),
            'mm_x': _times(source.mm_x, plan.unit_x),
            'mm_y': _times(source.mm_y, plan.unit_y),
            'tile_overlap': {'left': col.overlap_before, 'top': row.overlap_before,
                             'right': col.overlap_after, 'bottom': row.overlap_after},
            'gx': plan.base_x(col.start), 'gy': plan.base_y(row.start),
            'gwidth': col.size * plan.unit_x, 'gheight': row.size * plan.unit_y,
        }
        if plan.resampled:
            to_level_x, to_level_y = plan.unit_x / plan.level_unit, plan.unit_y / plan.level_unit
            record.update({
                'scaled': 1 / to_level_x, 'tile_x': col.start * to_level_x,
                'tile_y': row.start * to_level_y, 'tile_width': col.size * to_level_x,
                'tile_height': row.size * to_level_y, 'tile_magnification': scale['magnification'],
                'tile_mm_x': scale['mm_x'], 'tile_mm_y': scale['mm_y']})
        return record

    def _load(self, record: dict[str, Any]) -> tuple[Any, str]:
        source = self._source
        left, top = min(record['gx'], source.sizeX), min(record['gy'], source.sizeY)
        window = Window(left, top, min(record['gwidth'], source.sizeX - left),
                        min(record['gheight'], source.sizeY - top))
        pixels = source._pixels(window, record['width'], record['height'], self._frame,
                                self._resampling, self._style)
        data, _mime = source._deliver(pixels, window, self._format, self._encoding,
                                      frame=self._frame, styled=self._style is not None)
        return data, self._format.value


def _times(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor
