"""tileIterator reads tiles ahead on the read pool's lanes while reads decode: the same pixels,
each tile on the lane of its position (so a second pass finds it in that lane's cache), no
read-ahead while reads come from the cache, at most READ_AHEAD tiles waiting, a failed read
raised at its own tile, and no read left running once the iteration stops.
"""

from __future__ import annotations

import gc
import math
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np
import pytest
from factory import expected, make_raster

import geolargeimage
from geolargeimage.io.read_pool import READ_THREADS, submit
from geolargeimage.source import iterator
from geolargeimage.source.iterator import READ_AHEAD, TileIterator

WIDTH, HEIGHT, TILE = 1024, 768, 128
COUNT = (WIDTH // TILE) * (HEIGHT // TILE)

needs_two_cores = pytest.mark.skipif(READ_THREADS < 2, reason='one core: nothing reads ahead')


@pytest.fixture(scope='module')
def source(tmp_path_factory):
    path = make_raster(tmp_path_factory.mktemp('ahead') / 'rgb.tif', WIDTH, HEIGHT, 3,
                       options=['TILED=YES', 'BLOCKXSIZE=128', 'BLOCKYSIZE=128',
                                'COMPRESS=DEFLATE'])
    opened = geolargeimage.open(str(path), noCache=True)
    yield opened
    opened.close()


@pytest.fixture
def loads(monkeypatch):
    """Every tile read: (position, thread, started) in the order they start."""
    seen: list[tuple[int, threading.Thread, float]] = []
    original = TileIterator._load

    def recording(self, record):
        seen.append((record['tile_position']['position'], threading.current_thread(),
                     time.perf_counter()))
        return original(self, record)
    monkeypatch.setattr(TileIterator, '_load', recording)
    return seen


def tiles(source):
    return source.tileIterator(tile_size=dict(width=TILE, height=TILE), format='numpy')


def check_pixels(record) -> None:
    top, left = record['y'], record['x']
    np.testing.assert_array_equal(
        record['tile'], expected(slice(top, top + TILE), slice(left, left + TILE), 3))


@needs_two_cores
def test_slow_reads_go_ahead_to_the_lane_of_their_position(source, loads, monkeypatch):
    monkeypatch.setattr(iterator, 'READ_AHEAD_MIN_SECONDS', 0.0)
    passes = []
    for _ in range(2):
        loads.clear()
        for record in tiles(source):
            check_pixels(record)
        passes.append({position: thread for position, thread, _ in loads})
    for threads in passes:
        assert sorted(threads) == list(range(COUNT))
        for position, thread in threads.items():
            assert (thread is threading.main_thread()) == (position % READ_THREADS == 0)
            assert thread.name.startswith('geolargeimage-lane') or position % READ_THREADS == 0
    assert passes[0] == passes[1]


def test_reads_from_the_cache_stay_on_the_callers_thread(source, loads, monkeypatch):
    monkeypatch.setattr(iterator, 'READ_AHEAD_MIN_SECONDS', math.inf)
    for record in tiles(source):
        check_pixels(record)
    assert len(loads) == COUNT
    assert {thread for _, thread, _ in loads} == {threading.main_thread()}


def test_at_most_read_ahead_tiles_wait_and_none_unasked(source, loads, monkeypatch):
    monkeypatch.setattr(iterator, 'READ_AHEAD_MIN_SECONDS', 0.0)
    for record in tiles(source):
        assert record['x'] >= 0  # the record's facts read no pixels
    assert loads == []
    for number, record in enumerate(tiles(source)):
        if number % 7 == 0:
            check_pixels(record)
        position = record['tile_position']['position']
        assert max((seen for seen, _, _ in loads), default=-1) <= position + READ_AHEAD


def test_records_hold_no_tiles_once_dropped(source, monkeypatch):
    monkeypatch.setattr(iterator, 'READ_AHEAD_MIN_SECONDS', 0.0)
    alive = []
    gc.disable()  # the tiles must go when their records do, not at a collection
    try:
        for record in tiles(source):
            alive.append(weakref.ref(record['tile']))
            del record
            assert sum(ref() is not None for ref in alive) <= READ_AHEAD + 1
    finally:
        gc.enable()


@needs_two_cores
def test_a_failed_read_ahead_is_raised_at_its_own_tile(source, monkeypatch):
    monkeypatch.setattr(iterator, 'READ_AHEAD_MIN_SECONDS', 0.0)
    original = TileIterator._load
    failing = 2 * READ_THREADS + 1  # a lane's

    def load(self, record):
        if record['tile_position']['position'] == failing:
            raise geolargeimage.CorruptDataError('block 3 is damaged')
        return original(self, record)
    monkeypatch.setattr(TileIterator, '_load', load)
    records = iter(tiles(source))
    for _ in range(failing):
        check_pixels(next(records))
    broken = next(records)
    with pytest.raises(geolargeimage.CorruptDataError, match='block 3'):
        broken['tile']
    check_pixels(next(records))


@needs_two_cores
def test_stopping_early_waits_for_reads_in_flight(source, monkeypatch):
    monkeypatch.setattr(iterator, 'READ_AHEAD_MIN_SECONDS', 0.0)
    original = TileIterator._load
    running = []

    def slow(self, record):
        running.append(record['tile_position']['position'])
        time.sleep(0.2)
        result = original(self, record)
        running.remove(record['tile_position']['position'])
        return result
    monkeypatch.setattr(TileIterator, '_load', slow)
    records = iter(tiles(source))
    check_pixels(next(records))
    deadline = time.monotonic() + 5
    while not running and time.monotonic() < deadline:  # the lane starts the next tile
        time.sleep(0.005)
    assert running
    records.close()
    assert running == []


def test_records_spread_over_the_callers_threads_are_read_once(source, loads, monkeypatch):
    monkeypatch.setattr(iterator, 'READ_AHEAD_MIN_SECONDS', 0.0)
    with ThreadPoolExecutor(4) as pool:  # map takes every record before reading any
        records = list(pool.map(lambda record: (record, record['tile']), tiles(source)))
    for record, _ in records:
        check_pixels(record)
    assert sorted(position for position, _, _ in loads) == list(range(COUNT))


@needs_two_cores
def test_a_record_whose_read_ahead_was_cancelled_reads_its_tile(source, monkeypatch):
    monkeypatch.setattr(iterator, 'READ_AHEAD_MIN_SECONDS', 0.0)
    release = threading.Event()
    busy = [submit(release.wait, 10, lane=lane) for lane in range(READ_THREADS)]
    try:
        records = iter(tiles(source))
        check_pixels(next(records))  # sends the next tiles to the lanes, busy: queued
        later = [next(records) for _ in range(READ_AHEAD)]
        records.close()  # cancels the reads not started
    finally:
        release.set()
        wait(busy)
    for record in later:
        check_pixels(record)
