"""The one owner of GDAL settings: thread-scoped configuration (:class:`Env`), the defaults
every read gets (:func:`read_options`), the time-outs of remote reads (:func:`deadline_options`,
from config ``remote_timeout``) and options for the paths under one prefix
(:func:`set_path_options`).
"""

from __future__ import annotations

import contextlib
import functools

from osgeo import gdal

from geolargeimage import config, errors
from geolargeimage.io import thread_failures
from geolargeimage.io.paths import to_gdal_path

gdal.UseExceptions()

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
        thread_failures.install_process_handler()
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
