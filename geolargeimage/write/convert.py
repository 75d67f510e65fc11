"""``convert``: any raster the library reads, copied to a tiled GeoTIFF or a COG.

The source's frame is opened through the page layout (:mod:`geolargeimage.io.layout`), so a
multi-page or whole-slide file converts the frame asked for, and written by
:func:`~geolargeimage.write.raster_writer.write_raster`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from osgeo import gdal

from geolargeimage import errors
from geolargeimage.io.error_mapping import write_errors
from geolargeimage.io.layout import discover
from geolargeimage.io.output_files import check_output_path
from geolargeimage.io.paths import is_virtual, to_gdal_path
from geolargeimage.options import parse_keywords
from geolargeimage.write.options import WRITE_DEFAULTS, WriteOptions
from geolargeimage.write.raster_writer import write_raster

#: convert's options beyond the write options, and the write defaults it changes.
CONVERT_DEFAULTS = {'frame': 0, 'lossy': False}


def convert(src: str | os.PathLike, dest: str | os.PathLike, **options: Any) -> Path:
    """Copy any raster the library reads (a path, ``/vsi…`` path or URL; ``frame=`` picks a
    frame) to a tiled GeoTIFF with internal overviews, or to a COG with ``cog=True``.

    Georeferencing, nodata, the mask, the data type, band interpretations and colour tables are
    kept. Options: ``cog`` (False), ``lossy`` (False: lossless unless asked), ``compression``
    (deflate, zstd, lzw, jpeg, webp, lerc, lerc_deflate, lerc_zstd, none), ``quality`` (90),
    ``tileSize`` (256), ``resample`` (overview kernel: average, nearest for paletted bands),
    ``overviews`` (True), ``alpha`` (True; False drops an alpha band), ``overwriteAllowed``
    (True), ``progress`` (True: a bar on a terminal for long work), ``creationOptions`` (more
    GDAL creation options, checked). ``dest`` must be named .tif, .tiff, .ptif or .ptiff
    (OptionsError otherwise, before anything is read or written). Wraps ``gdal.Translate`` and
    ``BuildOverviews``.

    >>> import tempfile, pathlib
    >>> from geolargeimage import validateCOG
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = convert('data/sample.tif', pathlib.Path(folder) / 'cog.tif', cog=True)
    ...     path.name, validateCOG(path).valid
    ('cog.tif', True)
    """
    options = parse_keywords('', options, {**WRITE_DEFAULTS, **CONVERT_DEFAULTS},
                             kind='option')
    frame = options.pop('frame')
    parsed = WriteOptions.parse(options, what='convert')
    check_output_path(dest)
    gdal_path = to_gdal_path(src)
    if not is_virtual(gdal_path) and not os.path.exists(gdal_path):
        raise errors.SourceNotFoundError(os.fspath(src))
    frames = discover(gdal_path).frames
    if isinstance(frame, bool) or not isinstance(frame, (int, np.integer)) \
            or not 0 <= frame < len(frames):
        raise errors.TileRangeError(f'Frame does not exist: {frame!r} ({os.fspath(src)} has '
                                    f'{len(frames)} frame(s))')
    with write_errors(dest):
        dataset = gdal.OpenEx(frames[int(frame)].path, gdal.OF_RASTER | gdal.OF_READONLY)
    return write_raster(dest, [dataset], parsed, description='converting')
