"""xarray's ``engine='geolargeimage'``: ``xarray.open_dataset(path, engine='geolargeimage')``
gives a Dataset with one variable, ``band_data`` ``('band', 'y', 'x')``, read lazily through a
geolargeimage source, in rioxarray's conventions (see
:meth:`~geolargeimage.source.tile_source.TileSource.to_xarray`); ``open_dataarray`` gives that
variable, and ``chunks={}`` chunks it by whole tiles. The entry point is registered under
``xarray.backends`` when the package is installed; xarray is the ``geolargeimage[dask]``
extra.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import xarray
from xarray.backends import BackendArray, BackendEntrypoint
from xarray.core import indexing

from geolargeimage import open as open_source
from geolargeimage.source.arrays import LevelPixels, default_chunks


class SourceArray(BackendArray):
    """A :class:`~geolargeimage.source.arrays.LevelPixels` as xarray's lazy ``(band, y, x)``
    array: each index is one read of the window under it."""

    def __init__(self, grid: LevelPixels):
        self.grid = grid
        rows, cols, bands = grid.shape
        self.shape, self.dtype = (bands, rows, cols), grid.dtype

    def __getitem__(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        return indexing.explicit_indexing_adapter(key, self.shape, indexing.IndexingSupport.BASIC,
                                                  self._read)

    def _read(self, key: tuple[Any, ...]) -> np.ndarray:
        """One read of the window under ``key`` (basic indexing in (band, y, x)): integers
        read a one-long span and drop it, steps read the whole span and take every step-th."""
        spans, picks = [], []
        for item, size in zip(key, self.shape):
            if isinstance(item, (int, np.integer)):
                spans.append(slice(int(item), int(item) + 1))
                picks.append(0)
            else:
                start, stop, step = item.indices(size)
                spans.append(slice(start, max(start, stop)) if step > 0 else slice(0, size))
                picks.append(slice(None, None, step) if step > 0 else item)
        band, rows, cols = spans
        values = self.grid[rows, cols, band].transpose(2, 0, 1)
        return values[tuple(picks)]


class GeoLargeImageBackend(BackendEntrypoint):
    """Rasters GDAL reads, through geolargeimage: levels, frames, regions, projections."""

    description = 'Rasters GDAL reads, through geolargeimage (levels, frames, projections)'
    url = 'https://github.com/geolargeimage/geolargeimage'
    open_dataset_parameters = ('filename_or_obj', 'drop_variables', 'level', 'frame', 'region',
                               'open_options')

    def open_dataset(self, filename_or_obj: Any, *, drop_variables: Any = None,
                     level: int | None = None, frame: int | None = None,
                     region: dict[str, Any] | None = None,
                     open_options: dict[str, Any] | None = None) -> xarray.Dataset:
        source = open_source(os.fspath(filename_or_obj), **{**(open_options or {}),
                                                            'noCache': True})
        grid = source.level_pixels(level, frame, region)
        coords = source.array_coordinates(grid)
        if 'spatial_ref' in coords:
            coords['spatial_ref'] = xarray.Variable(*coords['spatial_ref'])
        rows, cols, _ = default_chunks(source.tileWidth, source.tileHeight, source.bandCount)
        variable = xarray.Variable(
            ('band', 'y', 'x'), indexing.LazilyIndexedArray(SourceArray(grid)),
            attrs=source.band_attributes(),
            encoding={'preferred_chunks': {'band': source.bandCount, 'y': rows, 'x': cols},
                      **({'grid_mapping': 'spatial_ref'} if 'spatial_ref' in coords else {})})
        dataset = xarray.Dataset({'band_data': variable}, coords=coords)
        dataset.set_close(source.close)
        return dataset

    def guess_can_open(self, filename_or_obj: Any) -> bool:
        """Never: the engine is used when asked for by name, so installing the package does not
        change what ``xarray.open_dataset('x.tif')`` gives users of another engine."""
        return False
