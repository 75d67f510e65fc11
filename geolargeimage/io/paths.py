"""Turn the addresses users write (paths, ``s3://`` and ``https://`` URLs) into GDAL paths.

Pure string work, no I/O: the one table :data:`SCHEMES` says which URL scheme becomes which GDAL
virtual file system.
"""

from __future__ import annotations

import os
from urllib.parse import unquote

#: URL scheme prefix → GDAL virtual file system prefix (the rest of the URL is kept).
SCHEMES: dict[str, str] = {
    's3://': '/vsis3/',
    'gs://': '/vsigs/',
    'az://': '/vsiaz/',
    'azure://': '/vsiaz/',
    'oss://': '/vsioss/',
}
#: Schemes whose whole URL is handed to /vsicurl/.
CURL_SCHEMES = ('http://', 'https://', 'ftp://')
#: Archive wrappers: ``zip+https://host/a.zip!/inner.tif`` → ``/vsizip//vsicurl/https://…/a.zip/inner.tif``.
ARCHIVE_SCHEMES: dict[str, str] = {'zip+': '/vsizip/', 'tar+': '/vsitar/', 'gzip+': '/vsigzip/'}
#: GDAL path prefixes that read over the network.
REMOTE_PREFIXES = ('/vsis3', '/vsigs', '/vsiaz', '/vsiadls', '/vsioss', '/vsicurl', '/vsiswift',
                   '/vsiwebhdfs', '/vsihdfs')


def to_gdal_path(address: str | os.PathLike) -> str:
    """Return the GDAL path for a local path, a ``/vsi…`` path or a URL.

    >>> to_gdal_path('s3://bucket/key.tif')
    '/vsis3/bucket/key.tif'
    >>> to_gdal_path('https://example.com/a.tif')
    '/vsicurl/https://example.com/a.tif'
    >>> to_gdal_path('zip+s3://bucket/a.zip!/inner.tif')
    '/vsizip//vsis3/bucket/a.zip/inner.tif'
    """
    text = os.fspath(address)
    for wrapper, prefix in ARCHIVE_SCHEMES.items():
        if text.startswith(wrapper) and '://' in text:
            outer, _, inner = text[len(wrapper):].partition('!')
            return prefix + to_gdal_path(outer) + ('/' + inner.lstrip('/') if inner else '')
    if text.startswith('file://'):
        return unquote(text[len('file://'):])
    for scheme, prefix in SCHEMES.items():
        if text.startswith(scheme):
            return prefix + text[len(scheme):]
    if text.startswith(CURL_SCHEMES):
        return '/vsicurl/' + text
    return text


def is_remote(gdal_path: str) -> bool:
    """Whether reading ``gdal_path`` goes over the network.

    >>> is_remote('/vsizip//vsis3/b/a.zip/x.tif'), is_remote('/tmp/x.tif')
    (True, False)
    """
    return any(part in gdal_path for part in REMOTE_PREFIXES)


def is_virtual(gdal_path: str) -> bool:
    """Whether ``gdal_path`` names a GDAL virtual file (``/vsi…``) rather than a local file."""
    return gdal_path.startswith('/vsi')
