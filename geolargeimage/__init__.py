"""geolargeimage: any raster GDAL can read, through the large_image API.

>>> import geolargeimage
>>> source = geolargeimage.open('data/sample.tif')          # doctest: +SKIP
>>> source.getMetadata()['levels']                          # doctest: +SKIP
5
"""

from __future__ import annotations

__version__ = '0.1.0'

from . import config, constants  # noqa: E402
from .constants import TILE_FORMAT_IMAGE, TILE_FORMAT_NUMPY, TILE_FORMAT_PIL  # noqa: E402
from .convert import COGValidation, convert, validateCOG  # noqa: E402
from .encode import ImageBytes  # noqa: E402
from .env import (Env, NetworkStats, clear_path_options, network_stats,  # noqa: E402
                  set_path_options)
from .errors import *  # noqa: E402,F403
from .errors import __all__ as _error_names  # noqa: E402
from .opening import canRead, getTileSource, open  # noqa: E402,A004
from .source import TileSource  # noqa: E402
from .writers import ImageSink, new  # noqa: E402

__all__ = ['open', 'getTileSource', 'canRead', 'TileSource', 'new', 'ImageSink', 'convert',
           'validateCOG', 'COGValidation', 'Env', 'network_stats',
           'NetworkStats', 'set_path_options', 'clear_path_options', 'ImageBytes', 'config',
           'constants', 'TILE_FORMAT_IMAGE', 'TILE_FORMAT_NUMPY', 'TILE_FORMAT_PIL',
           '__version__', *_error_names]
