"""The read pool's threads run each piece under the GDAL options the caller set for its own
thread (``Env``), and under none of them otherwise; a failed piece is raised only once every
piece has finished (a piece still running would use handles the caller may close). The caller
takes pieces itself, so a pool busy elsewhere cannot stall it; a lane is always the same thread."""

from __future__ import annotations

import threading
import time
from concurrent.futures import wait

import pytest
from osgeo import gdal

import geolargeimage
from geolargeimage.io.read_pool import READ_THREADS, pool_map, read_pool, submit


def seen(_: int) -> tuple[str | None, str | None]:
    return (gdal.GetConfigOption('GEOLARGEIMAGE_TEST_KEY'),
            gdal.GetConfigOption('GDAL_HTTP_TIMEOUT'))


def test_pieces_see_the_callers_thread_options_and_only_while_it_has_them():
    pieces = range(4 * READ_THREADS)
    with geolargeimage.Env(GEOLARGEIMAGE_TEST_KEY='inside', GDAL_HTTP_TIMEOUT=7):
        inside = set(pool_map(seen, pieces))
    after = set(pool_map(seen, pieces))
    assert inside == {('inside', '7')}
    assert after == {(None, gdal.GetGlobalConfigOption('GDAL_HTTP_TIMEOUT'))}


def test_process_wide_options_are_left_to_the_threads():
    gdal.SetConfigOption('GEOLARGEIMAGE_TEST_KEY', 'process')
    try:
        assert set(pool_map(seen, range(4))) == {('process', gdal.GetConfigOption(
            'GDAL_HTTP_TIMEOUT'))}
        with geolargeimage.Env(GEOLARGEIMAGE_TEST_KEY='thread'):
            assert {value for value, _ in pool_map(seen, range(4))} == {'thread'}
    finally:
        gdal.SetConfigOption('GEOLARGEIMAGE_TEST_KEY', None)


@pytest.mark.skipif(READ_THREADS < 2, reason='one core: pieces run one after another')
def test_a_failure_is_raised_only_when_the_running_pieces_have_finished():
    started, finished = threading.Event(), threading.Event()

    def piece(number: int) -> int:
        if number == 0:
            started.wait(10)
            raise ValueError('the first piece fails while the second runs')
        started.set()
        time.sleep(0.3)
        finished.set()
        return number

    with pytest.raises(ValueError, match='while the second runs'):
        pool_map(piece, range(2))
    assert finished.is_set()
    assert pool_map(lambda number: number * 2, range(5)) == [0, 2, 4, 6, 8]


def test_no_piece_starts_after_a_failure():
    ran = []

    def piece(number: int) -> None:
        ran.append(number)
        if number == 0:
            raise ValueError('the first piece fails')
        time.sleep(0.02)

    with pytest.raises(ValueError, match='first piece'):
        pool_map(piece, range(40))
    assert len(ran) <= 1 + READ_THREADS  # the failure, and what was running beside it


needs_two_cores = pytest.mark.skipif(READ_THREADS < 2, reason='one core: the caller reads alone')


@needs_two_cores
def test_the_caller_takes_pieces_beside_the_pool():
    # Two pieces that wait for each other finish only if two threads run them at once: with one
    # helper on the pool, the caller must be the other.
    both = threading.Barrier(2, timeout=10)
    threads = pool_map(lambda _: (both.wait(), threading.current_thread())[1], range(2))
    assert threading.current_thread() in threads


def test_a_busy_pool_leaves_the_pieces_to_the_caller():
    release = threading.Event()
    busy = [read_pool().submit(release.wait, 10) for _ in range(2 * READ_THREADS)]
    try:
        done = []
        worker = threading.Thread(target=lambda: done.append(pool_map(
            lambda number: (number, threading.current_thread().name), range(6))))
        worker.start()
        worker.join(10)
        assert done, 'pool_map waited on pool threads that were busy elsewhere'
        assert [number for number, _ in done[0]] == list(range(6))
        assert {name for _, name in done[0]} == {worker.name}
    finally:
        release.set()
        wait(busy)


def test_a_lane_is_one_thread_and_sees_the_callers_options():
    with geolargeimage.Env(GEOLARGEIMAGE_TEST_KEY='lane'):
        futures = [submit(lambda: (threading.current_thread(), seen(0)[0]), lane=number)
                   for number in range(4 * READ_THREADS)]
    results = [future.result() for future in futures]
    for number, (thread, value) in enumerate(results):
        assert value == 'lane'
        assert thread is results[number % READ_THREADS][0]
        assert thread.name.startswith('geolargeimage-lane')
    assert len({thread for thread, _ in results}) == READ_THREADS
