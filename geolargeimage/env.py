"""GDAL settings scoped to a block of code, and the one place GDAL errors become ours.

:class:`Env` sets GDAL configuration options for the current thread only and restores them on
exit. :func:`gdal_errors` turns the ``RuntimeError`` that GDAL raises (with exceptions on) into
the matching class of :mod:`geolargeimage.errors`, keeping GDAL's message. From the first remote
read on, GDAL's process-wide error handler is ours too: it prints as GDAL's default does and
remembers the transport failures that GDAL's worker threads report, so a dropped connection is
reported as one.
:func:`deadline_options` turns config ``remote_timeout`` into the time-outs of remote reads.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import json
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from osgeo import gdal

from . import config, errors
from . import remote_errors
from .paths import is_remote, to_gdal_path

gdal.UseExceptions()

# (text in GDAL's message, our class); the first match wins, so specific texts come first.
_MESSAGE_CLASSES: tuple[tuple[str, type[errors.GeoLargeImageError]], ...] = (
    ('No such file or directory', errors.SourceNotFoundError),
    ('does not exist in the file system', errors.SourceNotFoundError),
    ('ObjectNotFound', errors.SourceNotFoundError),
    ('HTTP response code: 404', errors.SourceNotFoundError),
    ('not recognized as being in a supported file format', errors.SourceError),
    ('not recognised as a supported file format', errors.SourceError),
    ('IReadBlock failed', errors.CorruptDataError),
    ('TIFFFillTile', errors.CorruptDataError),
    ('TIFFFillStrip', errors.CorruptDataError),
    ('TIFFReadEncoded', errors.CorruptDataError),
    ('Read error', errors.CorruptDataError),
    ('Decompression error', errors.CorruptDataError),
    # What the decoders say when GDAL decodes blocks on several threads (no IReadBlock then).
    ('Decode:', errors.CorruptDataError),
    ('Decoding error', errors.CorruptDataError),
    ('Using code not yet in table', errors.CorruptDataError),
    ('Data corruption detected', errors.CorruptDataError),
    ('JPEGLib:', errors.CorruptDataError),
    ('Corrupt JPEG data', errors.CorruptDataError),
    # A connection dropped or timed out mid-body: GDAL then also says 'IReadBlock failed', so
    # these texts are looked for in every message first (_remote_error).
    *((text, errors.RemoteAccessError) for text in remote_errors.TRANSPORT_FAILURES),
    ('InvalidCredentials', errors.RemoteAccessError),
    ('AccessDenied', errors.RemoteAccessError),
    ('CURL error', errors.RemoteAccessError),
    ('HTTP response code', errors.RemoteAccessError),
    ('Range downloading not supported', errors.RemoteAccessError),
    ('Access window out of range', errors.RangeError),
    ('Illegal band', errors.RangeError),
)

#: Texts of GDAL *warnings* that mean a decoder met damaged data and made up the rest of the
#: block (libjpeg fills it with grey and only warns): the pixels are not the stored ones, so the
#: call that gave them failed. Other warnings (PROJ's failed points at a warp's edge, libtiff's
#: unknown tags, HTTP retries) leave the result right and stay warnings.
DAMAGE_WARNINGS: tuple[str, ...] = (
    'Corrupt JPEG data', 'Premature end of JPEG file', 'Invalid SOS parameters',
    'Inconsistent progression sequence',
)

#: Settings every read gets unless the caller set them: decode the blocks of one request on
#: all cores (GDAL releases the GIL, and the GTiff driver decodes blocks in parallel).
READ_DEFAULTS: dict[str, str] = {'GDAL_NUM_THREADS': 'ALL_CPUS'}
#: ...and reads over the network: no directory listing or sidecar probing on open, a header read
#: sized for COGs, merged ranges, retries with back-off on 429/5xx, time-outs, and no PAM, so
#: closing a dataset never writes an .aux.xml into the user's bucket.
REMOTE_DEFAULTS: dict[str, str] = {
    'GDAL_DISABLE_READDIR_ON_OPEN': 'EMPTY_DIR',
    'GDAL_INGESTED_BYTES_AT_OPEN': '65536',
    'GDAL_HTTP_MERGE_CONSECUTIVE_RANGES': 'YES',
    'GDAL_HTTP_MULTIPLEX': 'YES',
    'GDAL_HTTP_MAX_RETRY': '3',
    'GDAL_PAM_ENABLED': 'NO',
    'CPL_VSIL_CURL_CHUNK_SIZE': '65536',
}
#: HTTP attempts one remote operation makes one after another when every attempt times out,
#: with a margin for the back-off and the work between attempts. Measured against a server that
#: accepts and never answers: an open asks for the file 4 times and a tile reads a failing
#: block 3 times, each request with 1 + ``GDAL_HTTP_MAX_RETRY`` attempts, and the status probe
#: after a failure makes 1 more: 17 at most.
REMOTE_ATTEMPTS = 20


def deadline_options(total: float | None = None) -> dict[str, str]:
    """The HTTP settings of the deadline ``total`` (default: config ``remote_timeout``); see
    :func:`_deadline_options`."""
    value = config.getConfig('remote_timeout') if total is None else total
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise errors.OptionsError(f'remote_timeout must be a positive number of seconds, '
                                  f'not {value!r}') from None
    return dict(_deadline_options(seconds))


@functools.lru_cache(maxsize=16)
def _deadline_options(total: float) -> tuple[tuple[str, str], ...]:
    """Per-attempt HTTP settings that keep one remote operation within ``total`` seconds
    (config ``remote_timeout``, 60 by default), retries and their back-off included. The retry
    delay is a tenth of ``total / REMOTE_ATTEMPTS`` (at most 0.5 s); each of the
    :data:`REMOTE_ATTEMPTS` attempts gets an equal share of what the back-off leaves, as its
    time-out and connect time-out (``GDAL_HTTP_TIMEOUT`` bounds a whole request, so one
    request may take at most that long: raise ``remote_timeout`` for slow links).

    >>> deadline_options(32)['GDAL_HTTP_TIMEOUT'], deadline_options(32)['GDAL_HTTP_RETRY_DELAY']
    ('1.18', '0.16')
    """
    if not total > 0:
        raise errors.OptionsError(f'remote_timeout must be a positive number of seconds, '
                                  f'not {total!r}')
    delay = min(0.5, total / REMOTE_ATTEMPTS / 10)
    # Retries wait the delay, then up to 3x longer each time: 3 retries wait at most 13 delays,
    # for each of the 4 requests an open makes.
    attempt = max(0.05, (total - 4 * 13 * delay) / REMOTE_ATTEMPTS)
    return (('GDAL_HTTP_TIMEOUT', f'{attempt:.3g}'), ('GDAL_HTTP_CONNECTTIMEOUT', f'{attempt:.3g}'),
            ('GDAL_HTTP_LOW_SPEED_TIME', str(max(1, int(attempt)))),
            ('GDAL_HTTP_LOW_SPEED_LIMIT', '1'), ('GDAL_HTTP_RETRY_DELAY', f'{delay:.3g}'))


# The time-outs of the default deadline, for readers of the table (read_options recomputes them
# from the configured remote_timeout at every call).
REMOTE_DEFAULTS.update(deadline_options(config.DEFAULTS['remote_timeout']))


def read_options(remote: bool) -> dict[str, str]:
    """The defaults a read applies, less those the caller set (an :class:`Env`, the process
    configuration or the environment win). Remote reads get :data:`REMOTE_DEFAULTS` and the
    time-outs of :func:`deadline_options`."""
    if remote:
        _install_process_handler()
    defaults = {**READ_DEFAULTS, **REMOTE_DEFAULTS, **deadline_options()} if remote \
        else READ_DEFAULTS
    return {key: value for key, value in defaults.items() if gdal.GetConfigOption(key) is None}


class Env:
    """Set GDAL configuration options for the current thread inside a ``with`` block.

    Options are GDAL config keys (``GDAL_CACHEMAX``, ``AWS_S3_ENDPOINT``, ...); values are
    converted to strings (``True``/``False`` become ``YES``/``NO``). Wraps
    ``gdal.config_options(..., thread_local=True)``.

    >>> with Env(GDAL_HTTP_TIMEOUT=5):
    ...     gdal.GetConfigOption('GDAL_HTTP_TIMEOUT')
    '5'
    """

    def __init__(self, **options: object):
        self.options = {key: _config_value(value) for key, value in options.items()}
        self._context: contextlib.AbstractContextManager | None = None

    def __enter__(self) -> Env:
        self._context = gdal.config_options(self.options, thread_local=True)
        self._context.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._context is not None
        self._context.__exit__(*exc_info)
        self._context = None


def _config_value(value: object) -> str:
    if isinstance(value, bool):
        return 'YES' if value else 'NO'
    return str(value)


#: Transport failures GDAL reported on threads that have no handler of ours (the worker
#: threads that fetch a read's ranges): (time.monotonic(), message), the latest ones.
_THREAD_FAILURES: collections.deque[tuple[float, str]] = collections.deque(maxlen=256)
_THREAD_FAILURES_LOCK = threading.Lock()
_PRINTED = {gdal.CE_Warning: 'Warning', gdal.CE_Failure: 'ERROR', gdal.CE_Fatal: 'FATAL'}


def _process_handler(kind: int, number: int, message: str) -> None:
    """GDAL's process-wide error handler: prints as GDAL's default one does, and remembers
    transport failures, which :func:`gdal_errors` of the read they belong to looks up."""
    if remote_errors.transport_failure([message]):
        with _THREAD_FAILURES_LOCK:
            _THREAD_FAILURES.append((time.monotonic(), message))
    if kind in _PRINTED:
        print(f'{_PRINTED[kind]} {number}: {message}', file=sys.stderr)
    elif kind == gdal.CE_Debug:
        print(message, file=sys.stderr)


_handler_installed = False


def _install_process_handler() -> None:
    """Make :func:`_process_handler` GDAL's process-wide handler, once, at the first remote
    read: a process that reads only local files keeps its own handler."""
    global _handler_installed
    if not _handler_installed:
        with _THREAD_FAILURES_LOCK:
            if not _handler_installed:
                gdal.SetErrorHandler(_process_handler)
                _handler_installed = True


def _thread_failures(gdal_path: str, since: float) -> list[str]:
    """Transport failures about ``gdal_path``'s server reported on other threads since
    ``since`` (matched by the URL's origin, or the bucket of a cloud path)."""
    origin = remote_errors.origin(gdal_path)
    with _THREAD_FAILURES_LOCK:
        return [message for when, message in _THREAD_FAILURES
                if when >= since and origin and origin in message]


def error_class(message: str) -> type[errors.GeoLargeImageError]:
    """The class of :mod:`geolargeimage.errors` that a GDAL error message belongs to.

    >>> error_class('x.tif: No such file or directory').__name__
    'SourceNotFoundError'
    """
    for text, cls in _MESSAGE_CLASSES:
        if text in message:
            return cls
    return errors.GDALError


@contextlib.contextmanager
def gdal_errors(path: str, action: str = 'read') -> Iterator[None]:
    """Translate GDAL's ``RuntimeError`` inside the block into our exception tree.

    The new exception names ``path`` and what was being done, keeps GDAL's message, and is chained
    to the original. GDAL's own printing is silenced inside the block (its messages are
    collected instead: what matters reaches the caller as an exception, and warnings — PROJ's
    failed points at the edge of a warp, libtiff's unknown tags — are not ours to print). A
    remote failure becomes :class:`~geolargeimage.errors.RemoteAccessError` with its HTTP
    status (:mod:`geolargeimage.remote_errors`), and GDAL forgets the failed path so the next
    call asks the server again. A warning that a decoder met damaged data
    (:data:`DAMAGE_WARNINGS`, e.g. libjpeg's 'Corrupt JPEG data') fails the block with
    :class:`~geolargeimage.errors.CorruptDataError`: GDAL returns made-up pixels then.
    """
    collected: list[str] = []
    warned: list[str] = []

    def handler(kind: int, _number: int, message: str) -> None:
        collected.append(message)
        if kind == gdal.CE_Warning:
            warned.append(message)

    started = time.monotonic()
    gdal.PushErrorHandler(handler)
    try:
        yield
    except RuntimeError as exc:
        if isinstance(exc, errors.GeoLargeImageError):
            raise
        message = str(exc).strip() or gdal.GetLastErrorMsg()
        gdal_path = to_gdal_path(path)
        if is_remote(gdal_path):
            collected.extend(_thread_failures(gdal_path, started))
            raise _remote_error(path, gdal_path, action, message, collected) from exc
        cls = error_class(message)
        if cls is errors.SourceNotFoundError:
            raise errors.SourceNotFoundError(path, message) from exc
        raise cls(f'Cannot {action} {path}: {message}') from exc
    else:
        damage = next((message for message in warned if any(
            text in message for text in DAMAGE_WARNINGS)), None)
        if damage is not None:
            raise errors.CorruptDataError(f'Cannot {action} {path}: {damage}')
    finally:
        gdal.PopErrorHandler()


def _remote_error(path: str, gdal_path: str, action: str, message: str,
                  collected: list[str]) -> errors.GeoLargeImageError:
    """The exception for a failed remote call: not found, a remote access error with the HTTP
    status (found in GDAL's messages, else by asking the server once), or GDAL's own class."""
    cls = error_class(message)
    transport = [text for text in [*collected, message] if remote_errors.transport_failure([text])]
    if transport:
        cls = errors.RemoteAccessError
    status = remote_errors.status_in([*collected, message])
    detail = transport[-1].splitlines()[-1] if transport else (
        message.splitlines()[-1] if message else '')
    probed = ''
    if status is None and (cls is not errors.SourceNotFoundError or 'Bucket' in message):
        # The read's own Env has been undone by now: the probe gets the time-outs again, and
        # makes one attempt.
        with Env(**{**read_options(True), 'GDAL_HTTP_MAX_RETRY': 0}):
            status, probed = remote_errors.probe(gdal_path)
        detail = probed or detail
    remote_errors.forget(gdal_path)
    if status == 404 or (status is None and cls is errors.SourceNotFoundError):
        return errors.SourceNotFoundError(path, detail)
    timed_out = 'timed out' in ' '.join([message, *collected, detail]).lower()
    if status is not None or timed_out or probed or cls is errors.RemoteAccessError:
        what = f'HTTP {status}' if status else ('timed out' if timed_out else (
            'connection failed' if transport else 'failed'))
        return errors.RemoteAccessError(f'Cannot {action} {path}: {what} ({detail})')
    return cls(f'Cannot {action} {path}: {message}')


@dataclass
class NetworkStats:
    """HTTP requests and bytes GDAL made inside a :func:`network_stats` block."""

    requests: int = 0
    downloaded_bytes: int = 0
    methods: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, method: str) -> int:
        """Requests of one HTTP method ('GET', 'HEAD', ...)."""
        return self.methods.get(method.upper(), {}).get('count', 0)


@contextlib.contextmanager
def network_stats() -> Iterator[NetworkStats]:
    """Count the HTTP requests and bytes of the calls inside the block (GDAL's network
    statistics, ``gdal.NetworkStatsGetAsSerializedJSON``). The counters are process-wide: reads
    in other threads at the same time are counted too (and GDAL counts a prefetch of several
    ranges on its own threads as one GET).

    >>> with network_stats() as stats:
    ...     pass
    >>> stats.requests
    0
    """
    stats = NetworkStats()
    # Process-wide, not thread-local: GDAL prefetches ranges on its own worker threads.
    previous = gdal.GetGlobalConfigOption('CPL_VSIL_NETWORK_STATS_ENABLED')
    gdal.SetConfigOption('CPL_VSIL_NETWORK_STATS_ENABLED', 'YES')
    gdal.NetworkStatsReset()
    try:
        yield stats
    finally:
        record = json.loads(gdal.NetworkStatsGetAsSerializedJSON() or '{}')
        gdal.SetConfigOption('CPL_VSIL_NETWORK_STATS_ENABLED', previous)
        methods = record.get('methods', {})
        stats.methods = {name: dict(values) for name, values in methods.items()}
        stats.requests = sum(values.get('count', 0) for values in methods.values())
        stats.downloaded_bytes = sum(values.get('downloaded_bytes', 0)
                                     for values in methods.values())


def set_path_options(prefix: str, **options: object) -> None:
    """Set GDAL options for every path under ``prefix`` (``s3://bucket/``, ``/vsis3/bucket/``,
    ``https://host/``): endpoints and credentials of one S3-compatible server, say, without
    touching other paths (``gdal.SetPathSpecificOption``). They win over thread and process
    settings for those paths.

    A trailing slash is dropped: GDAL also asks about ``/vsis3/my-bucket`` itself, which the
    options must cover (GDAL matches plain string prefixes, so they also cover
    ``/vsis3/my-bucket-2``).

    >>> set_path_options('s3://my-bucket/', AWS_S3_ENDPOINT='127.0.0.1:9000', AWS_HTTPS=False)
    >>> gdal.GetPathSpecificOption('/vsis3/my-bucket/a.tif', 'AWS_HTTPS')
    'NO'
    >>> clear_path_options('s3://my-bucket/')
    """
    gdal_prefix = to_gdal_path(prefix).rstrip('/')
    for key, value in options.items():
        gdal.SetPathSpecificOption(gdal_prefix, key, _config_value(value))


def clear_path_options(prefix: str | None = None) -> None:
    """Forget the options set for ``prefix`` (every prefix when None)."""
    gdal.ClearPathSpecificOptions(None if prefix is None else to_gdal_path(prefix).rstrip('/'))
