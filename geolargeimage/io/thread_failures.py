"""Transport failures that GDAL reports on its own worker threads (the threads that fetch a
read's ranges), where no handler of ours is pushed: GDAL's process-wide handler becomes ours at
the first remote read, prints as GDAL's default does, and remembers them so that the failed read
can be told what happened to it (:func:`geolargeimage.io.error_mapping.gdal_errors`).
"""

from __future__ import annotations

import collections
import sys
import threading
import time

from osgeo import gdal

from geolargeimage.io import remote_status

#: Transport failures GDAL reported on threads that have no handler of ours (the worker
#: threads that fetch a read's ranges): (time.monotonic(), message), the latest ones.
_THREAD_FAILURES: collections.deque[tuple[float, str]] = collections.deque(maxlen=256)
_THREAD_FAILURES_LOCK = threading.Lock()
_PRINTED = {gdal.CE_Warning: 'Warning', gdal.CE_Failure: 'ERROR', gdal.CE_Fatal: 'FATAL'}


def _process_handler(kind: int, number: int, message: str) -> None:
    """GDAL's process-wide error handler: prints as GDAL's default one does, and remembers
    transport failures, which :func:`~geolargeimage.io.error_mapping.gdal_errors` of the read
    they belong to looks up."""
    if remote_status.transport_failure([message]):
        with _THREAD_FAILURES_LOCK:
            _THREAD_FAILURES.append((time.monotonic(), message))
    if kind in _PRINTED:
        print(f'{_PRINTED[kind]} {number}: {message}', file=sys.stderr)
    elif kind == gdal.CE_Debug:
        print(message, file=sys.stderr)


_handler_installed = False


def install_process_handler() -> None:
    """Make :func:`_process_handler` GDAL's process-wide handler, once, at the first remote
    read: a process that reads only local files keeps its own handler."""
    global _handler_installed
    if not _handler_installed:
        with _THREAD_FAILURES_LOCK:
            if not _handler_installed:
                gdal.SetErrorHandler(_process_handler)
                _handler_installed = True


def reported_since(gdal_path: str, since: float) -> list[str]:
    """Transport failures about ``gdal_path``'s server reported on other threads since
    ``since`` (matched by the URL's origin, or the bucket of a cloud path)."""
    origin = remote_status.origin(gdal_path)
    with _THREAD_FAILURES_LOCK:
        return [message for when, message in _THREAD_FAILURES
                if when >= since and origin and origin in message]
