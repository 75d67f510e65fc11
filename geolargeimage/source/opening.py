"""``open`` and ``canRead``, with large_image's source sharing: identical ``open`` calls return
the same source (unless ``noCache=True``), so handles, pyramids and statistics are reused.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import Any

from geolargeimage import config
from geolargeimage.errors import GeoLargeImageError
from geolargeimage.io.paths import is_virtual, to_gdal_path
from geolargeimage.source.tile_source import TileSource

_cache: OrderedDict[tuple, TileSource] = OrderedDict()
_cache_lock = threading.Lock()


def _cache_key(path: str | os.PathLike, options: dict[str, Any]) -> tuple:
    gdal_path = to_gdal_path(path)
    stamp: tuple = ()
    if not is_virtual(gdal_path):
        try:
            stat = os.stat(gdal_path)
            stamp = (stat.st_mtime_ns, stat.st_size)  # a rewritten file is opened again
        except OSError:
            stamp = ()
    return (gdal_path, stamp, repr(sorted(options.items())))


def open(path: str | os.PathLike, **options: Any) -> TileSource:
    """Open a raster as a large_image-style tile source, shared with identical calls.

    Parameters
    ----------
    path : str or os.PathLike
        A file, a ``/vsi…`` path or a URL (``s3://``, ``gs://``, ``az://``, ``https://``).
    **options
        :class:`~geolargeimage.source.tile_source.TileSource`'s options (``encoding``,
        ``projection``, ``style``, ``edge``, ...), and ``noCache=True`` for a source of
        one's own (needed to set its ``style`` later).

    Returns
    -------
    TileSource
        The same object for the same path (unchanged on disk) and options, unless
        ``noCache`` or config ``cache_sources`` is off.

    Raises
    ------
    SourceNotFoundError
        The file does not exist.
    SourceError
        GDAL cannot read it as a raster.
    OptionsError
        An unknown option or a bad value.

    Examples
    --------
    >>> source = open('data/sample.tif')
    >>> source is open('data/sample.tif'), source.sizeX
    (True, 3000)
    """
    if options.get('noCache') or not config.getConfig('cache_sources'):
        return TileSource(path, **options)
    key = _cache_key(path, options)
    with _cache_lock:
        source = _cache.get(key)
        if source is not None:
            _cache.move_to_end(key)
            return source
    source = TileSource(path, **options)
    source._shared = True
    with _cache_lock:
        source = _cache.setdefault(key, source)
        while len(_cache) > max(1, int(config.getConfig('cache_tilesource_maximum'))):
            _cache.popitem(last=False)
    return source


getTileSource = open


def canRead(path: str | os.PathLike, **options: Any) -> bool:
    """Whether :func:`open` would succeed with these arguments.

    Parameters
    ----------
    path : str or os.PathLike
        What to try.
    **options
        :func:`open`'s options.

    Returns
    -------
    bool
        False for anything that fails with the library's errors or an OSError.

    Examples
    --------
    >>> canRead('data/sample.tif'), canRead('README.md')
    (True, False)
    """
    try:
        open(path, **options)
    except (GeoLargeImageError, OSError):
        return False
    return True


def clear_cache() -> None:
    """Forget every shared source (their handles close when no longer referenced)."""
    with _cache_lock:
        _cache.clear()
