"""geolargeimage: any raster GDAL can read, through the large_image API.

>>> import geolargeimage
>>> source = geolargeimage.open('data/sample.tif')          # doctest: +SKIP
>>> source.getMetadata()['levels']                          # doctest: +SKIP
5
"""

from __future__ import annotations

__version__ = '0.1.0'

from geolargeimage import config, constants  # noqa: E402
from geolargeimage.constants import TILE_FORMAT_IMAGE, TILE_FORMAT_NUMPY, TILE_FORMAT_PIL  # noqa: E402
from geolargeimage.write.convert import COGValidation, convert, validateCOG  # noqa: E402
from geolargeimage.picture.encode import ImageBytes  # noqa: E402
from geolargeimage.io.network import NetworkStats, network_stats
from geolargeimage.io.settings import Env, clear_path_options, set_path_options
from geolargeimage.errors import *  # noqa: E402,F403
from geolargeimage.errors import __all__ as _error_names  # noqa: E402
from geolargeimage.source.opening import canRead, getTileSource, open  # noqa: E402,A004
from geolargeimage.source.tile_source import TileSource  # noqa: E402
from geolargeimage.write.sink import ImageSink, new  # noqa: E402

__all__ = ['open', 'getTileSource', 'canRead', 'TileSource', 'new', 'ImageSink', 'convert',
           'validateCOG', 'COGValidation', 'Env', 'network_stats',
           'NetworkStats', 'set_path_options', 'clear_path_options', 'ImageBytes', 'config',
           'constants', 'TILE_FORMAT_IMAGE', 'TILE_FORMAT_NUMPY', 'TILE_FORMAT_PIL',
           '__version__', *_error_names]
