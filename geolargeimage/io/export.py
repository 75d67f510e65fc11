"""Regions written as georeferenced, tiled GeoTIFF files (large_image's ``encoding='TILED'``).

GDAL does the whole job: ``gdal.Translate`` of a pixel window (georeferencing, nodata and band
interpretation carried over) or ``gdal.Warp`` into a projection's bounds. The file is written
in a temporary folder beside its target and renamed into place, so a failure never leaves half a
file there, and the folder goes on every path.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from osgeo import gdal

from geolargeimage.errors import WriteError
from geolargeimage.io.error_mapping import gdal_errors
from geolargeimage.io.output_files import atomic_output, check_output_path

#: Creation options of exported regions: tiled, lossless, large files allowed.
CREATION_OPTIONS = ['TILED=YES', 'BLOCKXSIZE=256', 'BLOCKYSIZE=256', 'COMPRESS=LZW',
                    'BIGTIFF=IF_SAFER']


def target_path(path: str | os.PathLike | None) -> Path:
    """Where to write: ``path`` (its folders created), or a new temporary ``tiledRegion_*.tiff``
    the caller deletes. OptionsError, before any folder is made, when ``path`` is not named as a
    TIFF file."""
    if path is None:
        handle, name = tempfile.mkstemp(prefix='tiledRegion_', suffix='.tiff')
        os.close(handle)
        return Path(name)
    check_output_path(path)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def _write_atomically(target: Path, write: Callable[[str], None]) -> Path:
    """Run ``write`` on the temporary path of :func:`atomic_output`; its failure is a
    WriteError naming ``target``."""
    with atomic_output(target) as temporary:
        try:
            write(temporary)
        except (RuntimeError, OSError) as exc:
            if isinstance(exc, WriteError):
                raise
            raise WriteError(f'Cannot write {target}: {exc}') from exc
    return target


def translate_window(source: str, target: Path, *, window: tuple[float, float, float, float],
                     width: int, height: int, resampling: str) -> Path:
    """Write pixel ``window`` (col, row, width, height) of ``source`` at ``width`` × ``height``."""
    def write(temporary: str) -> None:
        with gdal_errors(source, 'export'):
            gdal.Translate(temporary, source, format='GTiff', srcWin=list(window), width=width,
                           height=height, resampleAlg=resampling,
                           creationOptions=CREATION_OPTIONS).Close()
    return _write_atomically(target, write)


def warp_bounds(source: str, target: Path, *, dst_wkt: str,
                bounds: tuple[float, float, float, float], width: int, height: int,
                resampling: str) -> Path:
    """Write ``source`` warped into ``dst_wkt`` over ``bounds`` (xmin, ymin, xmax, ymax) at
    ``width`` × ``height``, with an alpha band where there is no data."""
    def write(temporary: str) -> None:
        with gdal_errors(source, 'export'):
            gdal.Warp(temporary, source, format='GTiff', dstSRS=dst_wkt, outputBounds=bounds,
                      width=width, height=height, resampleAlg=resampling, dstAlpha=True,
                      creationOptions=CREATION_OPTIONS).Close()
    return _write_atomically(target, write)
