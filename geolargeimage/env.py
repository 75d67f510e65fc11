"""GDAL settings scoped to a block of code, and the one place GDAL errors become ours.

:class:`Env` sets GDAL configuration options for the current thread only and restores them on
exit. :func:`gdal_errors` turns the ``RuntimeError`` that GDAL raises (with exceptions on) into
the matching class of :mod:`geolargeimage.errors`, keeping GDAL's message.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from osgeo import gdal

from . import errors

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
    ('InvalidCredentials', errors.RemoteAccessError),
    ('AccessDenied', errors.RemoteAccessError),
    ('CURL error', errors.RemoteAccessError),
    ('HTTP response code', errors.RemoteAccessError),
    ('Range downloading not supported', errors.RemoteAccessError),
    ('Access window out of range', errors.RangeError),
    ('Illegal band', errors.RangeError),
)


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
    to the original. GDAL's own printing is silenced inside the block: what matters reaches the
    caller as an exception, and warnings (PROJ's failed points at the edge of a warp, libtiff's
    unknown tags) are not ours to print.
    """
    try:
        with gdal.quiet_errors():
            yield
    except RuntimeError as exc:
        if isinstance(exc, errors.GeoLargeImageError):
            raise
        message = str(exc).strip() or gdal.GetLastErrorMsg()
        cls = error_class(message)
        if cls is errors.SourceNotFoundError:
            raise errors.SourceNotFoundError(path, message) from exc
        raise cls(f'Cannot {action} {path}: {message}') from exc
