"""The VRT pixel function that reads a zarr array (:mod:`geolargeimage.io.zarr_store` writes the
VRTs naming it): GDAL calls :func:`read` for each window of a band, in whatever thread reads.

GDAL runs Python pixel functions only from modules it is told to trust
(``GDAL_VRT_PYTHON_TRUSTED_MODULES``); :func:`geolargeimage.io.zarr_store.trust_pixels` names
this one, and only it.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import numpy as np

from geolargeimage.extras import optional

MODULE = __name__


def zarr_array(store: str, name: str) -> Any:
    """Array ``name`` of the zarr store at ``store`` (a ``.zarr.zip`` file or a directory),
    opened once per process and per version of the store (a store written again at the same
    path is another file, and is opened again)."""
    stat = os.stat(store)
    return _opened(store, name, stat.st_ino, stat.st_mtime_ns)


def open_store(path: str | os.PathLike, *, write: bool = False) -> Any:
    """The zarr store at ``path``: a zip store for a ``.zip`` name, else a directory store."""
    storage = optional('zarr.storage')
    if os.fspath(path).lower().endswith('.zip'):
        return storage.ZipStore(path, mode='w' if write else 'r')
    return storage.LocalStore(path, read_only=not write)


@functools.lru_cache(maxsize=64)
def _opened(store: str, name: str, inode: int, mtime_ns: int) -> Any:
    return optional('zarr').open_array(open_store(store), path=name, mode='r')


def read(in_ar: Any, out_ar: np.ndarray, xoff: int, yoff: int, xsize: int, ysize: int,
         raster_xsize: int, raster_ysize: int, buf_radius: int, gt: Any,
         **kwargs: Any) -> None:
    """Fill ``out_ar`` with the window (``xoff``, ``yoff``, ``xsize``, ``ysize``) of the array
    the VRT band names (``store``, ``array``, and ``index``: the position on the array's axes
    before y and x). A buffer smaller than the window gets GDAL's nearest-neighbour pick."""
    text = {key: value.decode() if isinstance(value, bytes) else value  # GDAL passes bytes
            for key, value in kwargs.items()}
    array = zarr_array(text['store'], text['array'])
    index = tuple(int(value) for value in text['index'].split(',') if value != '')
    window = np.asarray(array[(*index, slice(yoff, yoff + ysize), slice(xoff, xoff + xsize))])
    rows, cols = out_ar.shape
    if (rows, cols) != window.shape:
        picked_rows = np.floor((np.arange(rows) + 0.5) * window.shape[0] / rows).astype(int)
        picked_cols = np.floor((np.arange(cols) + 0.5) * window.shape[1] / cols).astype(int)
        window = window[picked_rows[:, None], picked_cols[None, :]]
    out_ar[:] = window
