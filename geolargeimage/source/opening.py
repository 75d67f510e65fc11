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
    """Open a raster (a path, ``/vsi…`` path or URL) as a large_image-style tile source.

    Options: ``encoding``, ``jpegQuality``, ``jpegSubsampling``, ``tiffCompression``, ``edge``,
    ``noCache``. Raises :class:`~geolargeimage.errors.SourceNotFoundError` for a missing file and
    :class:`~geolargeimage.errors.SourceError` for anything GDAL cannot read as a raster.
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
    """Whether ``open(path, **options)`` would succeed."""
    try:
        open(path, **options)
    except (GeoLargeImageError, OSError):
        return False
    return True


def clear_cache() -> None:
    """Forget every shared source (their handles close when no longer referenced)."""
    with _cache_lock:
        _cache.clear()
