"""Tile iteration's results: the lazy tile records large_image yields, and the iterator that
hands them out over a plan (:mod:`geolargeimage.tiling`) and a read callable given by the
facade.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError, Future, wait
from dataclasses import dataclass
from typing import Any

from geolargeimage.enums import TileFormat
from geolargeimage.grid import Window
from geolargeimage.io.read_pool import READ_THREADS, submit
from geolargeimage.tiling import AxisTile, IterationPlan, select_position

#: Tiles read ahead of the one the caller is working on...
READ_AHEAD = READ_THREADS
#: ...while reads take this long: a 512² tile in GDAL's cache takes 0.1 ms, about what handing
#: it to another thread costs, a decoded one 1-2 ms.
READ_AHEAD_MIN_SECONDS = 0.5e-3

#: Reads base window ``window`` into ``width`` × ``height`` and returns ``(data, format)``.
TileReader = Callable[[Window, int, int], tuple[Any, str]]


@dataclass(frozen=True)
class PixelScale:
    """The physical size of a source's base pixels (None where unknown) and its extent."""

    magnification: float | None
    mm_x: float | None
    mm_y: float | None
    size_x: int
    size_y: int


class LazyTileDict(dict):
    """A tile record whose ``tile`` and ``format`` are read on first access.

    ``release()`` drops the pixels (they are read again if asked for).
    """

    def __init__(self, record: dict[str, Any],
                 loader: Callable[[LazyTileDict], tuple[Any, str]]):
        super().__init__(record, tile=None, format=None)
        self._loader = loader
        self._loaded = False

    def _load(self) -> None:
        if not self._loaded:
            tile, fmt = self._loader(self)  # not a closure over self: no cycle keeps tiles
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
                 load: Callable[[dict[str, Any]], tuple[Any, str]],
                 read_ahead: int = READ_AHEAD, lanes: int = READ_THREADS
                 ) -> Iterator[LazyTileDict]:
    """Yield a :class:`LazyTileDict` per planned tile, in row-major order, their tiles read
    ahead while reads decode (:class:`_ReadAhead`)."""
    def make(position: int) -> LazyTileDict:
        row, col = indices[position]
        record = describe(plan, plan.cols[col], plan.rows[row])
        record['tile_position'] = {
            'level_x': plan.cols[col].index, 'level_y': plan.rows[row].index,
            'region_x': col, 'region_y': row, 'position': col + row * len(plan.cols)}
        record['iterator_range'] = {
            'level_x_min': plan.cols[0].index, 'level_y_min': plan.rows[0].index,
            'level_x_max': plan.cols[-1].index + 1, 'level_y_max': plan.rows[-1].index + 1,
            'region_x_max': len(plan.cols), 'region_y_max': len(plan.rows),
            'position': plan.count}
        return LazyTileDict(record, lambda made: ahead.loaded(position, made))

    ahead = _ReadAhead(len(indices), make, load, read_ahead, lanes)
    try:
        for position in range(len(indices)):
            yield ahead.hand_out(position)
    finally:
        ahead.close()


class _ReadAhead:
    """The read-ahead of one iteration over ``count`` records made by ``make(position)``.

    A tile's decode (and encode) runs on one core, so while tile reads decode (the last one
    took at least :data:`READ_AHEAD_MIN_SECONDS`), the next ``read_ahead`` tiles are read on
    the read pool's lanes as the caller works. Positions are dealt out by ``lanes``: every
    ``lanes``-th tile is the caller's own, the others always go to the same lane, so iterating
    again finds each tile's blocks in the GDAL cache of the thread that decoded them (each
    handle caches only its own reads). Reads from the cache stay on the caller's thread, where
    handing a tile over costs as much as the copy. A record holds its tile read ahead until it
    is asked for or dropped: at most ``read_ahead`` tiles wait, none is read ahead of a tile
    nobody asked for or of a record handed out already (a caller spreading the records over
    threads of its own reads them there), and reads still running when the iteration ends are
    waited for (:meth:`close`).
    """

    def __init__(self, count: int, make: Callable[[int], LazyTileDict],
                 load: Callable[[dict[str, Any]], tuple[Any, str]], read_ahead: int,
                 lanes: int):
        self._count, self._make, self._load = count, make, load
        self._read_ahead, self._lanes = read_ahead, lanes
        self._upcoming: dict[int, LazyTileDict] = {}  # made before their turn, read ahead
        self._running: set[Future] = set()
        self._next = 0  # the first position not yet considered for reading ahead
        self._handed_out = 0  # the first position not yet handed out
        self._lock = threading.Lock()  # the records may be read from several threads
        self._closed = False

    def hand_out(self, position: int) -> LazyTileDict:
        with self._lock:
            self._handed_out = position + 1
            record = self._upcoming.pop(position, None)
            return record if record is not None else self._make(position)

    def _timed(self, record: dict[str, Any]) -> tuple[tuple[Any, str], float]:
        started = time.perf_counter()
        return self._load(record), time.perf_counter() - started

    def loaded(self, position: int, record: LazyTileDict) -> tuple[Any, str]:
        """The tile of ``record`` (at ``position``): read ahead, or read now."""
        future = record.__dict__.pop('_ahead', None)
        try:
            result, seconds = self._timed(record) if future is None else future.result()
        except CancelledError:  # the iteration ended before the read began: read it now
            result, seconds = self._timed(record)
        if seconds < READ_AHEAD_MIN_SECONDS:
            return result
        with self._lock:
            if self._closed:  # the iteration ended: nobody will ask for the tiles after
                return result
            for later in range(max(self._next, position + 1, self._handed_out),
                               min(self._count, position + 1 + self._read_ahead)):
                self._next = later + 1
                if later % self._lanes:  # the others are the caller's own
                    ahead = self._upcoming[later] = self._make(later)
                    ahead._ahead = submit(self._timed, ahead, lane=later)
                    self._running.add(ahead._ahead)
                    ahead._ahead.add_done_callback(self._running.discard)
        return result

    def close(self) -> None:
        """Cancel the reads not started (a record handed out reads its tile when asked), wait
        for those running, and read nothing ahead any more."""
        with self._lock:
            self._closed = True
            self._upcoming.clear()
        wait([future for future in list(self._running) if not future.cancel()])


class TileIterator:
    """The tiles of one ``tileIterator`` call: ``len()``, ``.info`` and lazy records.

    Parameters
    ----------
    plan : IterationPlan
        The tiles to cover.
    fmt : TileFormat
        What each tile holds.
    position : dict or None
        The one tile to yield (parsed ``tile_position``), or None for all.
    read : TileReader
        Reads one tile's base window into its size.
    scale : PixelScale
        The source's pixel size, for the records' magnification and mm fields.
    level_scale : callable
        The magnification and pixel size of a level (``getMagnificationForLevel``).
    """

    def __init__(self, plan: IterationPlan, *, fmt: TileFormat, position: dict[str, int] | None,
                 read: TileReader, scale: PixelScale,
                 level_scale: Callable[[int], dict[str, Any]]):
        self.plan = plan
        self._format, self._read, self._scale, self._level_scale = fmt, read, scale, level_scale
        self._indices = select_position(plan, position)

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
        scale = self._scale
        record = {
            'x': col.start, 'y': row.start, 'width': col.size, 'height': row.size,
            'level': plan.level, 'level_x': col.index, 'level_y': row.index,
            'magnification': _times(scale.magnification, 1 / plan.unit_x),
            'mm_x': _times(scale.mm_x, plan.unit_x),
            'mm_y': _times(scale.mm_y, plan.unit_y),
            'tile_overlap': {'left': col.overlap_before, 'top': row.overlap_before,
                             'right': col.overlap_after, 'bottom': row.overlap_after},
            'gx': plan.base_x(col.start), 'gy': plan.base_y(row.start),
            'gwidth': col.size * plan.unit_x, 'gheight': row.size * plan.unit_y,
        }
        if plan.resampled:
            level = self._level_scale(plan.level)
            to_level_x, to_level_y = plan.unit_x / plan.level_unit, plan.unit_y / plan.level_unit
            record.update({
                'scaled': 1 / to_level_x, 'tile_x': col.start * to_level_x,
                'tile_y': row.start * to_level_y, 'tile_width': col.size * to_level_x,
                'tile_height': row.size * to_level_y, 'tile_magnification': level['magnification'],
                'tile_mm_x': level['mm_x'], 'tile_mm_y': level['mm_y']})
        return record

    def _load(self, record: dict[str, Any]) -> tuple[Any, str]:
        size_x, size_y = self._scale.size_x, self._scale.size_y
        left, top = min(record['gx'], size_x), min(record['gy'], size_y)
        window = Window(left, top, min(record['gwidth'], size_x - left),
                        min(record['gheight'], size_y - top))
        data, _mime = self._read(window, record['width'], record['height'])
        return data, self._format.value


def _times(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor
