"""geolargeimage: any raster GDAL can read, through the large_image API.

>>> import geolargeimage
>>> source = geolargeimage.open('data/sample.tif')          # doctest: +SKIP
>>> source.getMetadata()['levels']                          # doctest: +SKIP
5
"""

from __future__ import annotations

from geolargeimage import config, constants
from geolargeimage.constants import TILE_FORMAT_IMAGE, TILE_FORMAT_NUMPY, TILE_FORMAT_PIL
from geolargeimage.errors import (
                                  CorruptDataError,
                                  GDALError,
                                  GeoLargeImageError,
                                  NoOverviewsWarning,
                                  OptionsError,
                                  OutputSizeError,
                                  RangeError,
                                  RemoteAccessError,
                                  SourceError,
                                  SourceNotFoundError,
                                  TileGeneralError,
                                  TileRangeError,
                                  TileSourceError,
                                  TileSourceFileNotFoundError,
                                  TileSourceMalformedError,
                                  TileSourceRangeError,
                                  TileSourceXYZRangeError,
                                  WriteError,
)
from geolargeimage.io.network import NetworkStats, network_stats
from geolargeimage.io.settings import Env, clear_path_options, set_path_options
from geolargeimage.picture.encode import ImageBytes
from geolargeimage.source.opening import canRead, getTileSource, open
from geolargeimage.source.tile_source import TileSource
from geolargeimage.write.array_writer import write_array
from geolargeimage.write.cog_validation import COGValidation, validateCOG
from geolargeimage.write.convert import convert
from geolargeimage.write.sink import ImageSink, new

__version__ = '0.1.0'

__all__ = ['open', 'getTileSource', 'canRead', 'TileSource', 'new', 'ImageSink', 'convert',
           'write_array',
           'validateCOG', 'COGValidation', 'Env', 'network_stats',
           'NetworkStats', 'set_path_options', 'clear_path_options', 'ImageBytes', 'config',
           'constants', 'TILE_FORMAT_IMAGE', 'TILE_FORMAT_NUMPY', 'TILE_FORMAT_PIL',
           '__version__',
           # the exception hierarchy, as geolargeimage.errors.__all__ lists it
           'GeoLargeImageError', 'SourceError', 'SourceNotFoundError', 'RemoteAccessError',
           'GDALError', 'CorruptDataError', 'RangeError', 'TileRangeError', 'OptionsError',
           'OutputSizeError', 'WriteError', 'NoOverviewsWarning', 'TileGeneralError',
           'TileSourceError', 'TileSourceFileNotFoundError', 'TileSourceRangeError',
           'TileSourceXYZRangeError', 'TileSourceMalformedError']
