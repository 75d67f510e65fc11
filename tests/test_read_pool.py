"""The read pool's threads run each piece under the GDAL options the caller set for its own
thread (``Env``), and under none of them otherwise; a failed piece is raised only once every
piece has finished (a piece still running would use handles the caller may close)."""

from __future__ import annotations

import threading
import time

import pytest
from osgeo import gdal

import geolargeimage
from geolargeimage.io.read_pool import READ_THREADS, pool_map


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


def test_a_failure_is_raised_only_when_every_piece_has_finished():
    finished = threading.Event()

    def piece(number: int) -> int:
        if number == 0:
            raise ValueError('the first piece fails at once')
        time.sleep(0.3)
        finished.set()
        return number

    with pytest.raises(ValueError, match='fails at once'):
        pool_map(piece, range(2))
    assert finished.is_set()
    assert pool_map(lambda number: number * 2, range(5)) == [0, 2, 4, 6, 8]
