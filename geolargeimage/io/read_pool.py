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
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
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


def pool_map(function: Callable[..., Any], *iterables: Iterable[Any]) -> Iterator[Any]:
    """``read_pool().map(function, *iterables)``, each call under the GDAL options set for the
    calling thread alone (those that differ from the process-wide ones)."""
    local = {key: value for key, value in (gdal.GetConfigOptions() or {}).items()
             if gdal.GetGlobalConfigOption(key) != value}
    if not local:
        return read_pool().map(function, *iterables)

    def call(*args: Any) -> Any:
        with gdal.config_options(local, thread_local=True):
            return function(*args)
    return read_pool().map(call, *iterables)
