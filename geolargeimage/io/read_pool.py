"""The process-wide threads that read a large request's pieces in parallel.

GDAL decodes and resamples one ``RasterIO`` call on one thread, so large reads (row strips of a
shrinking read, the blocks of a statistics sample) are split and their pieces given to these
threads. They live as long as the process, so each keeps its own handles on the rasters it read
(:class:`~geolargeimage.io.raster.Raster` holds one per thread), and with them GDAL's cached
blocks, from one request to the next. Pieces never wait on other pieces, so the pool cannot
deadlock on itself. :func:`pool_map` runs each piece under the GDAL options the caller set for
its own thread (an :class:`~geolargeimage.io.settings.Env`: credentials, endpoints, time-outs),
which the pool's threads would not otherwise see.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

from osgeo import gdal

#: Reading threads: the cores, at most 4.
READ_THREADS = max(1, min(4, os.cpu_count() or 1))


@functools.cache
def read_pool() -> ThreadPoolExecutor:
    """The pool, made at first use."""
    return ThreadPoolExecutor(READ_THREADS, thread_name_prefix='geolargeimage-read')


# A forked child has none of the parent's threads: it makes a pool of its own.
os.register_at_fork(after_in_child=read_pool.cache_clear)


def pool_map(function: Callable[..., Any], *iterables: Iterable[Any]) -> list[Any]:
    """``function`` over the ``iterables`` on the pool, as ``map`` but returned as a list once
    every call has finished, each under the GDAL options set for the calling thread alone (those
    that differ from the process-wide ones). A failure is raised (the first in order) only when
    every call is done: a piece still running after its read failed would use GDAL handles that
    the caller may close as soon as the error reaches it."""
    local = {key: value for key, value in (gdal.GetConfigOptions() or {}).items()
             if gdal.GetGlobalConfigOption(key) != value}

    def call(*args: Any) -> Any:
        if not local:
            return function(*args)
        with gdal.config_options(local, thread_local=True):
            return function(*args)
    futures = [read_pool().submit(call, *args) for args in zip(*iterables)]
    wait(futures)
    return [future.result() for future in futures]
