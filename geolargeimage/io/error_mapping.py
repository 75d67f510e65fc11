"""The one place GDAL errors become ours: :func:`gdal_errors` turns the ``RuntimeError`` that
GDAL raises (with exceptions on) into the matching class of :mod:`geolargeimage.errors`, keeping
GDAL's message; remote failures get their HTTP status; warnings that mean damaged data fail the
call.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator

from osgeo import gdal

from geolargeimage import errors
from geolargeimage.io import remote_status, thread_failures
from geolargeimage.io.paths import is_remote, to_gdal_path
from geolargeimage.io.settings import Env, read_options

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
    *((text, errors.RemoteAccessError) for text in remote_status.TRANSPORT_FAILURES),
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
    status (:mod:`geolargeimage.io.remote_status`), and GDAL forgets the failed path so the next
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
            collected.extend(thread_failures.reported_since(gdal_path, started))
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
    transport = [text for text in [*collected, message] if remote_status.transport_failure([text])]
    if transport:
        cls = errors.RemoteAccessError
    status = remote_status.status_in([*collected, message])
    detail = transport[-1].splitlines()[-1] if transport else (
        message.splitlines()[-1] if message else '')
    probed = ''
    if status is None and (cls is not errors.SourceNotFoundError or 'Bucket' in message):
        # The read's own Env has been undone by now: the probe gets the time-outs again, and
        # makes one attempt.
        with Env(**{**read_options(True), 'GDAL_HTTP_MAX_RETRY': 0}):
            status, probed = remote_status.probe(gdal_path)
        detail = probed or detail
    remote_status.forget(gdal_path)
    if status == 404 or (status is None and cls is errors.SourceNotFoundError):
        return errors.SourceNotFoundError(path, detail)
    timed_out = 'timed out' in ' '.join([message, *collected, detail]).lower()
    if status is not None or timed_out or probed or cls is errors.RemoteAccessError:
        what = f'HTTP {status}' if status else ('timed out' if timed_out else (
            'connection failed' if transport else 'failed'))
        return errors.RemoteAccessError(f'Cannot {action} {path}: {what} ({detail})')
    return cls(f'Cannot {action} {path}: {message}')


@contextlib.contextmanager
def write_errors(target: str | os.PathLike,
                 interrupted: Callable[[], None] | None = None) -> Iterator[None]:
    """Turn GDAL's ``RuntimeError`` and OS errors into :class:`WriteError` naming ``target``
    (a source that cannot be read keeps its reading class, e.g. CorruptDataError). ``interrupted``
    raises an exception a progress callback kept (an interrupt) instead, if there is one."""
    try:
        with gdal.quiet_errors():
            yield
    except errors.GeoLargeImageError:
        raise
    except (RuntimeError, OSError) as exc:
        if interrupted is not None:
            interrupted()
        message = str(exc).strip() or gdal.GetLastErrorMsg()
        cls = error_class(message) if isinstance(exc, RuntimeError) else errors.WriteError
        if cls in (errors.CorruptDataError, errors.RemoteAccessError):
            raise cls(f'Cannot read while writing {target}: {message}') from exc
        raise errors.WriteError(f'Cannot write {target}: {message}') from exc
