"""``to_dask`` and ``to_xarray``: a source as a lazy dask array or an xarray ``DataArray``
(:mod:`geolargeimage.source.arrays` holds the pixel grid they read from).

dask and xarray are the ``geolargeimage[dask]`` extra: they are imported when called, and a
missing one gets an ``ImportError`` naming the extra.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from pyproj import CRS

from geolargeimage import axes
from geolargeimage.enums import Resampling
from geolargeimage.extras import optional
from geolargeimage.grid import Window
from geolargeimage.options import OutputSpec, RegionSpec
from geolargeimage.source.arrays import (
    LevelPixels,
    check_level,
    chunk_shape,
    coordinates,
    default_chunks,
    level_factor,
)

if TYPE_CHECKING:
    import dask.array
    import xarray


@dataclass(frozen=True)
class RawRead:
    """Raw values of a window of one frame of ``source`` (picklable: the source reopens)."""

    source: Any
    frame: int
    resampling: Resampling

    def __call__(self, window: Window, width: int, height: int) -> np.ndarray:
        return self.source._renderer.pixels(window, width, height, self.frame, self.resampling,
                                            None)


class ArrayAccess:
    """The lazy-array methods of :class:`~geolargeimage.source.tile_source.TileSource`."""

    def level_pixels(self, level: int | None = None, frame: int | None = None,
                     region: dict[str, Any] | None = None) -> LevelPixels:
        """The array-like grid of ``level`` (large_image's numbering; default: full
        resolution) over ``region`` (getRegion's ``region``; default: the whole image) of
        ``frame``, whose reads give raw values (styles are not applied)."""
        frame = self._frames.check(frame)
        max_level = self._levels.max_level
        level = check_level(level, max_level)
        window = self._planner.plan(RegionSpec.parse(region or {}), OutputSpec.parse(None),
                                    None, budget=False).window
        resampling = Resampling.NEAREST if level == max_level else self._tile_resampling
        return LevelPixels(window, level_factor(level, max_level), self.bandCount,
                           np.dtype(self.dtype), RawRead(self, frame, resampling))

    def to_dask(self, level: int | None = None, frame: int | None = None,
                region: dict[str, Any] | None = None, chunks: Any = None) -> dask.array.Array:
        """The raw values of a level as a lazy ``(rows, columns, bands)`` dask array.

        Parameters
        ----------
        level : int, optional
            large_image's level (0 is the coarsest); the full resolution by default.
        frame : int, optional
            The frame to read.
        region : dict, optional
            A getRegion ``region`` (any of its units); the whole image by default.
        chunks : optional
            dask's chunks; a number or (rows, columns) keeps the bands together. By default
            whole tiles about 2048 pixels across, aligned to the level's blocks.

        Returns
        -------
        dask.array.Array
            Shape and dtype known without reading; each chunk is one windowed read of the
            source (through its warped view for a projected source), on any scheduler.

        Examples
        --------
        >>> import geolargeimage
        >>> array = geolargeimage.open('data/sample.tif').to_dask(level=3)
        >>> array.shape, array.dtype.name
        ((1000, 1500, 3), 'uint8')
        """
        grid = self.level_pixels(level, frame, region)
        dask_array = optional('dask.array')
        chunks = chunk_shape(chunks, default_chunks(self.tileWidth, self.tileHeight,
                                                    self.bandCount))
        name = 'geolargeimage-' + optional('dask.base').tokenize(
            self.largeImagePath, self._open_options, grid.window, grid.factor,
            grid.read.frame, chunks)
        return dask_array.from_array(grid, chunks=chunks, name=name, asarray=False,
                                     fancy=False, meta=np.empty((0, 0, 0), grid.dtype))

    def to_xarray(self, level: int | None = None, frame: int | None = None,
                  region: dict[str, Any] | None = None, chunks: Any = None) -> xarray.DataArray:
        """The raw values of a level as a lazy xarray ``DataArray`` in rioxarray's conventions.

        Dims are ``('band', 'y', 'x')``, after the frame axes when no ``frame`` is given and
        the source has several (``t``, ``z``, ``c``, custom axes, in large_image's order, with
        their values and channel names as coordinates; ``frame`` when the frames have no axes
        or leave gaps in them), with ``x``/``y`` the pixel centres in the raster's
        CRS, the CRS as a CF ``spatial_ref`` coordinate (``crs_wkt``, ``spatial_ref``,
        ``GeoTransform`` and pyproj's CF grid-mapping attributes), nodata as ``_FillValue``,
        band descriptions as ``long_name``, and scales and offsets as ``scale_factor`` and
        ``add_offset``. The arguments are :meth:`to_dask`'s. A source opened with
        ``projection=`` gives its grid's pixels without ``x``/``y`` or a CRS yet (its levels are
        the world grid's; :meth:`to_dask` reads them).

        Examples
        --------
        >>> import geolargeimage
        >>> data = geolargeimage.open('data/sample.tif').to_xarray()
        >>> data.dims, data.spatial_ref.attrs['crs_wkt'][:6]
        (('band', 'y', 'x'), 'PROJCR')
        """
        xr = optional('xarray')
        frame_axes, frames = self._frame_grid() if frame is None else ({}, np.array(frame))
        arrays = [self.to_dask(level, int(number), region, chunks).transpose(2, 0, 1)
                  for number in frames.ravel()]
        array = optional('dask.array').stack(arrays).reshape(
            (*frames.shape, *arrays[0].shape)) if frame_axes else arrays[0]
        coords = {**frame_axes, **self.array_coordinates(self.level_pixels(level, frame, region))}
        if 'spatial_ref' in coords:
            coords['spatial_ref'] = xr.Variable(*coords['spatial_ref'])
        data = xr.DataArray(array, dims=(*frame_axes, 'band', 'y', 'x'), coords=coords,
                            attrs=self.band_attributes(), name='band_data')
        if 'spatial_ref' in coords:
            data.encoding['grid_mapping'] = 'spatial_ref'  # where rioxarray keeps it
        return data

    def _frame_grid(self) -> tuple[dict[str, Any], np.ndarray]:
        """The frame axes (name → coordinate values, in large_image's axis order) and the frame
        number at each of their positions; ``frame`` alone when the frames have no axes or do
        not fill them; none for a single frame."""
        if self.frames < 2:
            return {}, np.array(0)
        metadata = self._frames.metadata()
        ranges = metadata.get('IndexRange') or {}
        names = axes.ordered_axes([key[len('Index'):].lower() for key in ranges])
        shape = tuple(ranges[axes.axis_key(name)] for name in names)
        if not names or math.prod(shape) != self.frames:
            return {'frame': np.arange(self.frames)}, np.arange(self.frames)
        numbers = np.array([self.axesToFrame(**dict(zip(names, position)))
                            for position in np.ndindex(*shape)]).reshape(shape)
        values = {}
        for name, count in zip(names, shape):
            given = metadata.get('Value' + name.upper(), {}).get('values')
            values[name] = (list(self.channelNames) if name == 'c' and self.channelNames
                            else given if given and len(given) == count else np.arange(count))
        return values, numbers

    def array_coordinates(self, grid: LevelPixels) -> dict[str, Any]:
        """``band``, ``x`` and ``y`` (pixel centres in the CRS) of ``grid``, and the CF
        ``spatial_ref`` coordinate's ``(dims, value, attributes)`` when the file states a CRS."""
        coords: dict[str, Any] = {'band': np.arange(1, self.bandCount + 1)}
        if self._georeferencing.geotransform is None or self._world is not None:
            return coords
        x, y, transform = coordinates(self._georeferencing.geotransform, grid)
        coords.update(x=x, y=y)
        wkt = self._own_crs_wkt()
        if wkt is not None:
            coords['spatial_ref'] = ((), 0, _spatial_ref(wkt, transform))
        return coords

    def _own_crs_wkt(self) -> str | None:
        """The WKT of the CRS the file itself states (not one assumed for it)."""
        srs = self._raster.dataset().GetSpatialRef()
        return None if srs is None else srs.ExportToWkt(['FORMAT=WKT2_2019'])

    def band_attributes(self) -> dict[str, Any]:
        """``_FillValue``, ``long_name``, ``scale_factor`` and ``add_offset`` of the bands, as
        rioxarray sets them."""
        bands = self._raster.info.bands
        attrs: dict[str, Any] = {}
        nodata = {band.nodata for band in bands}
        if len(nodata) == 1 and None not in nodata:
            attrs['_FillValue'] = np.array(nodata.pop(), self.dtype).item()
        if any(band.description for band in bands):
            attrs['long_name'] = tuple(band.description or f'band {band.index}'
                                       for band in bands)
        scales = [band.scale if band.scale is not None else 1.0 for band in bands]
        offsets = [band.offset if band.offset is not None else 0.0 for band in bands]
        if any(scale != 1.0 for scale in scales) or any(offsets):
            attrs['scale_factor'] = scales[0] if len(set(scales)) == 1 else tuple(scales)
            attrs['add_offset'] = offsets[0] if len(set(offsets)) == 1 else tuple(offsets)
        return attrs


def _spatial_ref(wkt: str, transform: tuple[float, ...]) -> dict[str, Any]:
    """The attributes of a CF ``spatial_ref`` coordinate, as rioxarray writes and reads them."""
    attrs = CRS.from_wkt(wkt).to_cf()
    attrs.update(crs_wkt=wkt, spatial_ref=wkt,
                 GeoTransform=' '.join(repr(float(value)) for value in transform))
    return attrs
