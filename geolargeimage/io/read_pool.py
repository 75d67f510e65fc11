"""The process-wide threads that read a large request's pieces in parallel.

GDAL decodes and resamples one ``RasterIO`` call on one thread, so large reads (row strips of a
shrinking read, the blocks of a statistics sample) are split and their pieces given to these
threads, the calling thread taking its share. They live as long as the process, so each keeps
its own handles on the rasters it read (:class:`~geolargeimage.io.raster.Raster` holds one per
thread), and with them GDAL's cached blocks, from one request to the next. Pieces never wait on
other pieces, and a caller never waits on a helper that has not started, so the pool cannot
deadlock on itself. :func:`pool_map` runs each piece under the GDAL options the caller set for
its own thread (an :class:`~geolargeimage.io.settings.Env`: credentials, endpoints, time-outs),
which the pool's threads would not otherwise see.
"""

from __future__ import annotations

import functools
import itertools
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from osgeo import gdal

#: Reading threads: the cores, at most 4.
READ_THREADS = max(1, min(4, os.cpu_count() or 1))
#: Pool threads that join a :func:`pool_map` caller, which takes pieces itself: one thread per
#: core in all (a third thread on two cores made whole-image reads about 8% slower).
HELPERS = READ_THREADS - 1


@functools.cache
def read_pool() -> ThreadPoolExecutor:
    """The pool, made at first use."""
    return ThreadPoolExecutor(READ_THREADS, thread_name_prefix='geolargeimage-read')


@functools.cache
def lanes() -> tuple[ThreadPoolExecutor, ...]:
    """:data:`READ_THREADS` threads, each with its own queue: work sent to the same lane each
    time reads through the same thread's handles, so it finds the blocks that thread's handle
    decoded before in GDAL's cache (each handle caches only its own reads)."""
    return tuple(ThreadPoolExecutor(1, thread_name_prefix=f'geolargeimage-lane{number}')
                 for number in range(READ_THREADS))


# A forked child has none of the parent's threads: it makes a pool of its own.
os.register_at_fork(after_in_child=read_pool.cache_clear)
os.register_at_fork(after_in_child=lanes.cache_clear)


def submit(function: Callable[..., Any], *args: Any, lane: int | None = None) -> Future:
    """``function(*args)`` on the pool (or on lane ``lane`` modulo the lanes), under the GDAL
    options set for the calling thread alone (those that differ from the process-wide ones)."""
    executor = read_pool() if lane is None else lanes()[lane % READ_THREADS]
    local = {key: value for key, value in (gdal.GetConfigOptions() or {}).items()
             if gdal.GetGlobalConfigOption(key) != value}
    if not local:
        return executor.submit(function, *args)

    def call() -> Any:
        with gdal.config_options(local, thread_local=True):
            return function(*args)
    return executor.submit(call)


def pool_map(function: Callable[..., Any], *iterables: Iterable[Any]) -> list[Any]:
    """``function`` over the ``iterables``, as ``map`` but returned as a list once every call
    has finished. The calling thread takes pieces too, beside up to :data:`HELPERS` pool
    threads, each taking the next piece not yet taken: the caller's handles are open already
    (a fresh source's first read opens one handle fewer) and no core waits while the caller
    sleeps. On the pool, each call runs under the caller's GDAL options (:func:`submit`). Once
    a piece fails no other starts; the failure (Ctrl-C first, else the first in order) is
    raised only when the running pieces are done: a piece still running after its read failed
    would use GDAL handles that the caller may close as soon as the error reaches it."""
    pieces = list(zip(*iterables))
    results: list[Any] = [None] * len(pieces)
    failures: list[BaseException | None] = [None] * len(pieces)
    taken = itertools.count()  # next() on a count is atomic: each piece is taken once

    failed = threading.Event()  # once a piece fails, no piece is started any more

    def drain() -> None:
        while not failed.is_set() and (index := next(taken)) < len(pieces):
            try:
                results[index] = function(*pieces[index])
            except BaseException as exc:  # noqa: BLE001 - raised in the caller, in order
                failures[index] = exc
                failed.set()

    helpers = [submit(drain) for _ in range(min(HELPERS, len(pieces) - 1))]
    drain()
    # A helper still queued (the pool busy with another request) has nothing left to take.
    # Only the running ones are waited for: ``wait`` counts a cancelled future as pending until
    # a pool thread dequeues it, which would hold the caller behind other requests' work, and
    # a pool thread mapping pieces of its own behind itself for ever.
    wait([future for future in helpers if not future.cancel()])
    # Ctrl-C (or an exit) on any thread goes first; then the first failure in order.
    for failure in sorted((f for f in failures if f is not None),
                          key=lambda f: isinstance(f, Exception)):
        raise failure
    return results
