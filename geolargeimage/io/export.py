"""Regions written as georeferenced, tiled GeoTIFF files (large_image's ``encoding='TILED'``).

GDAL does the whole job: ``gdal.Translate`` of a pixel window (georeferencing, nodata and band
interpretation carried over) or ``gdal.Warp`` into a projection's bounds. The file is written
in a temporary folder beside its target and renamed into place, so a failure never leaves half a
file there, and the folder goes on every path.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from osgeo import gdal

from geolargeimage.errors import WriteError
from geolargeimage.io.error_mapping import gdal_errors
from geolargeimage.io.output_files import (
    WRITE_FOLDER_PREFIX,
    check_output_path,
    remove_folder,
    temporary_folder,
)

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


def _write_atomically(target: Path, write) -> Path:
    """Run ``write`` on a temporary path, in a folder of its own beside ``target`` (removed
    afterwards, on every path; those left by killed writes go first), then rename it into
    place."""
    try:
        scratch = temporary_folder(target.parent, WRITE_FOLDER_PREFIX.format(name=target.name))
    except OSError as exc:
        raise WriteError(f'Cannot write {target}: cannot make a temporary folder in '
                         f'{target.parent}: {exc.strerror or exc}') from exc
    try:
        temporary = scratch / target.name
        write(str(temporary))
        os.replace(temporary, target)
    except (RuntimeError, OSError) as exc:
        if isinstance(exc, WriteError):
            raise
        raise WriteError(f'Cannot write {target}: {exc}') from exc
    finally:
        remove_folder(scratch)
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
