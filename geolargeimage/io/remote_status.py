"""Why a remote read failed: the HTTP status behind a GDAL error.

GDAL reports a failed ranged read as a decoding error ("IReadBlock failed … Read error") and
puts the HTTP status, if anywhere, in warnings; S3 errors come as the service's text. This
module finds the status in what GDAL said, or asks the server once more with a fresh stat, so
the caller can raise :class:`~geolargeimage.errors.RemoteAccessError` (or
:class:`~geolargeimage.errors.SourceNotFoundError` for a 404) naming the URL and the status.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from osgeo import gdal

#: A status: three digits after GDAL's words for one, not part of a longer number or an address
#: (URLs are taken out first, see :func:`status_in`).
_STATUS = re.compile(r'(?:HTTP (?:error|response) code|response_code)\D{0,80}?'
                     r'(?<![\d.])(\d{3})(?![\d.])')
#: URLs in GDAL's messages (their host and port hold digits that are no status).
_URL = re.compile(r'[A-Za-z][A-Za-z0-9+.-]*://[^\s,;\'"]*')
#: Texts of GDAL and curl that mean the transfer itself failed (a connection dropped, reset or
#: timed out), whatever GDAL says next ('IReadBlock failed' reads like damaged data).
TRANSPORT_FAILURES: tuple[str, ...] = (
    'CURL error', 'transfer closed with', 'Connection reset', 'Connection refused',
    'Recv failure', 'Send failure', 'Empty reply from server', 'Operation timed out',
    'Failed to connect', 'failed with response_code', 'HTTP error code: 0',
)
#: libtiff's short read ('TIFFFillTile:Read error ... got 73718 bytes, expected 80753'): over the
#: network, a body that ended early (a connection dropped mid-response, or a file shorter than
#: its header says; both are failures of the remote file, not damaged pixels).
_SHORT_READ = re.compile(r'Read error.*got \d+ bytes, expected \d+')
_ORIGIN = re.compile(r'[A-Za-z][A-Za-z0-9+.-]*://[^/\s]+')
#: Texts of S3-style services → the HTTP status they come with.
_SERVICE_CODES = {
    'AccessDenied': 403, 'SignatureDoesNotMatch': 403, 'InvalidAccessKeyId': 403,
    'does not exist in our records': 403, 'InvalidCredentials': 403,
    'InternalError': 500, 'We encountered an internal error': 500,
    'SlowDown': 503, 'Please reduce your request rate': 503,
    'BucketNotFound': 404, 'NoSuchBucket': 404,
}
#: ``VSIGetLastErrorNo`` values (cpl_vsi_error.h) → HTTP status: AccessDenied, BucketNotFound,
#: ObjectNotFound, InvalidCredentials, SignatureDoesNotMatch.
_VSI_STATUS = {6: 403, 7: 404, 8: 404, 9: 403, 10: 403}


def status_in(texts: Sequence[str]) -> int | None:
    """The HTTP status the latest of ``texts`` mentions, or None.

    >>> status_in(['HTTP response code on https://h/a.tif: 503'])
    503
    >>> status_in(['ObjectNotFound', 'AccessDenied: Access Denied']), status_in(['Read error'])
    (403, None)
    >>> status_in(['HTTP error code: 0 - http://127.0.0.1:8000/a.tif. Retrying again in 1 s'])
    """
    for text in reversed(texts):
        text = _URL.sub('<url>', text)
        found = [code for code in _STATUS.findall(text) if int(code) >= 300]  # not 000, 206
        if found:
            return int(found[-1])
        for code, status in _SERVICE_CODES.items():
            if code in text:
                return status
    return None


def transport_failure(texts: Sequence[str]) -> bool:
    """Whether any of ``texts`` says the connection failed (:data:`TRANSPORT_FAILURES`).

    >>> transport_failure(['CURL error: transfer closed with 100 bytes remaining to read'])
    True
    """
    return any(failure in text for text in texts for failure in TRANSPORT_FAILURES) or any(
        _SHORT_READ.search(text) for text in texts)


def origin(gdal_path: str) -> str:
    """Where ``gdal_path``'s bytes come from, as GDAL's messages name it: the URL's
    ``scheme://host:port`` for /vsicurl/, else the bucket or container of a cloud path.

    >>> origin('/vsizip//vsicurl/http://127.0.0.1:8000/a.zip/x.tif'), origin('/vsis3/b/k.tif')
    ('http://127.0.0.1:8000', '/b/')
    """
    if (found := _ORIGIN.search(gdal_path)) is not None:
        return found.group(0)
    inner = re.sub(r'^(?:/vsi[a-z0-9_]+/)+', '', gdal_path)
    return '/' + inner.split('/', 1)[0] + '/' if inner else ''


def probe(gdal_path: str) -> tuple[int | None, str]:
    """(HTTP status or None, GDAL's message) of a fresh stat of ``gdal_path``; the message is
    empty when the stat succeeds. Clears GDAL's cached state of the path first."""
    gdal.VSICurlPartialClearCache(gdal_path)
    gdal.VSIErrorReset()
    with gdal.quiet_errors():
        gdal.VSIStatL(gdal_path, gdal.VSI_STAT_EXISTS_FLAG | gdal.VSI_STAT_SET_ERROR_FLAG)
    number, message = gdal.VSIGetLastErrorNo(), gdal.VSIGetLastErrorMsg()
    return _VSI_STATUS.get(number) or status_in([message]), message


def forget(gdal_path: str) -> None:
    """Drop what GDAL cached of ``gdal_path`` (so a failed open is tried again next time)."""
    gdal.VSICurlPartialClearCache(gdal_path)
