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

_STATUS = re.compile(r'(?:HTTP (?:error|response) code|response_code)\D{0,80}?(\d{3})\b')
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
    """
    for text in reversed(texts):
        found = [code for code in _STATUS.findall(text) if code != '000']
        if found:
            return int(found[-1])
        for code, status in _SERVICE_CODES.items():
            if code in text:
                return status
    return None


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
