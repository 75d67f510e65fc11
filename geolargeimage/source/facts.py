"""The parts of a source and everything it says about itself without reading pixels.

:class:`SourceFacts` builds a source's parts once, in ``__init__``, and never replaces them: a
:class:`~geolargeimage.level_grid.LevelGrid` (the pyramid served), the frames and their readers
(a raster, or a warped view of it for a projection: the same
:class:`~geolargeimage.pixel_reader.PixelReader` interface), the georeferencing and the
placement of base pixels, a region planner, the renderer (statistics and styles) and the
stored-tile pass-through. It answers large_image's questions about sizes, levels, metadata,
bands, magnification, bounds, coordinates and frame axes.
:class:`~geolargeimage.source.tile_source.TileSource` adds the reads on top, as rasterio's
readers build on its dataset base.
"""

from __future__ import annotations

import os
from typing import Any

from geolargeimage import axes, errors
from geolargeimage.geo.georeferencing import Georeferencing, pixel_size
from geolargeimage.geo.internal_metadata import internal_metadata
from geolargeimage.geo.placement import Placement, World
from geolargeimage.geo.tile_grid import TILE_SIZE
from geolargeimage.geo.warped_view import WarpedView
from geolargeimage.io.error_mapping import gdal_errors
from geolargeimage.io.layout import discover, open_dataset
from geolargeimage.io.paths import is_virtual, to_gdal_path
from geolargeimage.io.raster import Raster
from geolargeimage.io.zarr_store import is_zarr_store, zarr_layout
from geolargeimage.io.zarr_store import release as release_zarr
from geolargeimage.level_grid import LevelGrid
from geolargeimage.magnification import level_for_magnification, magnification_for_level
from geolargeimage.options import OpenOptions
from geolargeimage.source.delivery import PassThrough
from geolargeimage.source.frames import AssociatedImages, FrameSet
from geolargeimage.source.metadata import band_information
from geolargeimage.source.planning import RegionPlanner
from geolargeimage.source.renderer import Renderer

#: Deepest zoom a projected source serves (web maps zoom past the data's resolution).
MAX_PROJECTED_ZOOM = 30


class SourceFacts:
    """A raster's parts and facts (see :class:`~geolargeimage.source.tile_source.TileSource`,
    which is what users open)."""

    def __init__(self, path: str | os.PathLike, **options: Any):
        opened = OpenOptions.parse(options)
        self._open_options = dict(options)
        self.largeImagePath = os.fspath(path)
        self._gdal_path = to_gdal_path(path)
        if not is_virtual(self._gdal_path) and not os.path.exists(self._gdal_path):
            raise errors.SourceNotFoundError(self.largeImagePath)
        self.encoding_options, self.edge = opened.encoding, opened.edge
        self._tile_resampling = opened.resampling
        if is_zarr_store(self._gdal_path):
            layout, dataset = zarr_layout(self._gdal_path), None
        else:
            dataset = open_dataset(self._gdal_path)
            layout = discover(self._gdal_path, dataset)
        first = layout.frames[0].path
        self._raster = Raster(first, level_paths=layout.levels,
                              handle=dataset if first == self._gdal_path else None)
        info = self._raster.info
        self._georeferencing = Georeferencing.read(self._raster)
        self._pixel = pixel_size(self._raster, self._georeferencing, layout_mm=layout.mm,
                                 layout_magnification=layout.magnification)
        self._source_levels = LevelGrid.for_raster(info.width, info.height, info.block_width,
                                                   info.block_height)
        self._world = None if not opened.projection else World.open(
            self._raster, self._georeferencing, opened.projection, opened.units_per_pixel)
        self._levels = self._source_levels if self._world is None else LevelGrid(
            self._world.grid.size_x, self._world.grid.size_y, TILE_SIZE, TILE_SIZE,
            self._world.grid.levels, MAX_PROJECTED_ZOOM)
        self._frames = FrameSet(layout, self._raster, self._reader_for)
        self._associated = AssociatedImages(layout.associated)
        self._placement = Placement(self._georeferencing, self._world and self._world.grid,
                                    (self.sizeX, self.sizeY), (self.mm_x, self.mm_y))
        reader = self._frames.reader(0)
        self._planner = RegionPlanner(
            self._levels, self._placement, (self.magnification, self.mm_x, self.mm_y),
            reader.footprint_window if isinstance(reader, WarpedView) else None)
        self._renderer = Renderer(self._frames, opened.style)
        self._stored = PassThrough(self._raster, self._levels, self.encoding_options,
                                   lambda: self._renderer.display_plan)
        self._shared = False  # set by geolargeimage.open for the sources it shares

    def _reader_for(self, raster: Raster) -> Raster | WarpedView:
        """A frame's reader: the raster, or its warp into the grid (frames share the first
        frame's georeferencing)."""
        if self._world is None:
            return raster
        return WarpedView(raster, self._world.grid, self._georeferencing.srs,
                          self._georeferencing.native_box(), self._tile_resampling,
                          self._world.native_resolution)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickled as its path and open options (the style as it is now): unpickling opens the
        file again, per process, so a source travels to dask workers and process pools. GDAL
        settings of an ``Env`` do not travel: set them where the source is unpickled."""
        options = dict(self._open_options)
        style = self._renderer.style_value if self._renderer.style is not None else None
        if style != options.get('style'):  # set since: the same options find a shared source
            options['style'] = style
        return reopen, (self.largeImagePath, options, self._shared)

    def __repr__(self) -> str:
        return f'<{type(self).__name__} {self.largeImagePath!r} {self.sizeX}x{self.sizeY}>'

    def close(self) -> None:
        """Release GDAL handles, warped views and temporary pyramids now rather than at garbage
        collection."""
        self._frames.close()
        release_zarr(self._frames.layout)

    # -- facts ------------------------------------------------------------------------------------
    sizeX = property(lambda self: self._levels.size_x, doc='Base width in pixels.')
    sizeY = property(lambda self: self._levels.size_y, doc='Base height in pixels.')
    tileWidth = property(lambda self: self._levels.tile_width, doc='Tile width.')
    tileHeight = property(lambda self: self._levels.tile_height, doc='Tile height.')
    levels = property(lambda self: self._levels.levels, doc='Number of levels (z = 0 .. levels-1).')
    mm_x = property(lambda self: self._pixel.mm_x, doc='Base pixel width in mm, or None.')
    mm_y = property(lambda self: self._pixel.mm_y, doc='Base pixel height in mm, or None.')
    magnification = property(lambda self: self._pixel.magnification,
                             doc='Objective magnification of the base level, or None.')
    geospatial = property(lambda self: self._georeferencing.georeferenced,
                          doc='Whether the file holds any georeferencing.')
    dtype = property(lambda self: self._raster.info.dtype, doc='numpy dtype of the bands.')
    bandCount = property(lambda self: self._raster.info.band_count,
                         doc='Number of bands of the file.')
    frames = property(lambda self: self._frames.count, doc='Number of frames (at least 1).')
    metadata = property(lambda self: self.getMetadata(), doc='getMetadata().')

    @property
    def projection(self) -> str | None:
        """The projection the source serves (EPSG codes in lower case), or None."""
        if self._world is None:
            return None
        projection = self._world.grid.projection
        return projection.lower() if projection.lower().startswith('epsg:') else projection

    @property
    def channelNames(self) -> list[str] | None:
        """Channel names of a multi-channel source, or None."""
        names = self._frames.layout.channel_names
        return list(names) if names else None

    @property
    def style(self) -> dict | str | None:
        """The style given at open (or set since), as given; None for the default rendering.

        Setting it parses the new style first (OptionsError leaves the old one); a source
        shared by :func:`geolargeimage.open` refuses (SourceError: open it with noCache=True).
        """
        return self._renderer.style_value if self._renderer.style is not None else None

    @style.setter
    def style(self, value: Any) -> None:
        if self._shared:
            raise errors.SourceError('Cannot set the style of a cached source; open it with '
                                     'noCache=True')
        self._renderer.set_style(value)

    # -- metadata ---------------------------------------------------------------------------------
    def getMetadata(self) -> dict[str, Any]:
        """large_image's metadata of the source.

        Returns
        -------
        dict
            ``levels``, ``sizeX``, ``sizeY``, ``tileWidth``, ``tileHeight``,
            ``magnification``, ``mm_x``, ``mm_y``, ``dtype``, ``bandCount``, ``geospatial``,
            ``projection``, ``sourceSizeX``, ``sourceSizeY``, ``sourceLevels``, ``bounds``
            (in the served projection), ``sourceBounds`` (in the file's CRS), ``bands``
            (:meth:`getBandInformation` without statistics: metadata decodes no pixels) and,
            for several frames, ``frames``,
            ``IndexRange``, ``IndexStride`` and ``channels``.

        Examples
        --------
        >>> from geolargeimage import open
        >>> open('data/sample.tif').getMetadata()['levels']
        5
        """
        return {'levels': self.levels, 'sizeX': self.sizeX, 'sizeY': self.sizeY,
                'tileWidth': self.tileWidth, 'tileHeight': self.tileHeight,
                'magnification': self.magnification, 'mm_x': self.mm_x, 'mm_y': self.mm_y,
                'dtype': str(self.dtype), 'bandCount': self.bandCount,
                'geospatial': self.geospatial, **self._geo_metadata(),
                'bands': self.getBandInformation(), **self._frames.metadata()}

    def _geo_metadata(self) -> dict[str, Any]:
        info = self._raster.info
        return {'projection': self.projection, 'sourceSizeX': info.width,
                'sourceSizeY': info.height, 'sourceLevels': self._source_levels.levels,
                'bounds': self.getBounds(self.projection), 'sourceBounds': self.getBounds()}

    def getInternalMetadata(self, **kwargs: Any) -> dict[str, Any]:
        """What GDAL says about the file (``gdal.Info``'s facts, bounded in size).

        Returns
        -------
        dict
            Driver, files, size, georeferencing (geotransform, projection, GCPs) and the
            metadata domains.

        Examples
        --------
        >>> from geolargeimage import open
        >>> open('data/sample.tif').getInternalMetadata()['driverShortName']
        'GTiff'
        """
        with gdal_errors(self.largeImagePath):
            return internal_metadata(self._raster.dataset(), gdal_path=self._gdal_path,
                                     remote=self._raster.remote)

    def getBandInformation(self, statistics: bool = False, frame: int | None = None,
                           **kwargs: Any) -> dict[int, dict]:
        """What each band is, and optionally its statistics.

        Parameters
        ----------
        statistics : bool
            Add min, max, mean and stdev of a sample of the whole frame (the numbers a
            style's 'auto', 'min' and 'max' use). Off by default, as in large_image's
            documented signature: the facts of the bands need no pixels, the statistics
            decode a sample (once per frame, then kept).
        frame : int, optional
            The frame whose bands are described (default 0).

        Returns
        -------
        dict
            Per band number (1-based): interpretation, dtype, nodata, scale, offset, units,
            colour table and the statistics.

        Raises
        ------
        TileRangeError
            The frame does not exist.

        Examples
        --------
        >>> from geolargeimage import open
        >>> open('data/sample.tif').getBandInformation()[1]['interpretation']
        'red'
        """
        frame = self._frames.check(frame)
        summary = self._renderer.band_summary(frame) if statistics else None
        return band_information(self._frames.raster(frame).info.bands, summary)

    def getOneBandInformation(self, band: int, statistics: bool = False) -> dict[str, Any]:
        """:meth:`getBandInformation` of one ``band`` (1-based); KeyError for another number."""
        return self.getBandInformation(statistics=statistics)[band]

    def getNativeMagnification(self) -> dict[str, float | None]:
        """Magnification and mm per pixel of the base level (None where unknown)."""
        return {'magnification': self.magnification, 'mm_x': self.mm_x, 'mm_y': self.mm_y}

    def getMagnificationForLevel(self, level: float | None = None) -> dict[str, Any]:
        """Magnification, scale and mm per pixel of a level.

        Parameters
        ----------
        level : float, optional
            The level (None: the base level, ``levels - 1``).

        Returns
        -------
        dict
            ``magnification``, ``mm_x``, ``mm_y`` (None where unknown), ``scale`` (base
            pixels per pixel) and ``level``.

        Examples
        --------
        >>> from geolargeimage import open
        >>> open('data/sample.tif').getMagnificationForLevel(2)['scale']
        4.0
        """
        max_level = self.levels - 1
        return magnification_for_level(max_level if level is None else level, max_level,
                                       self.magnification, self.mm_x, self.mm_y)

    def getLevelForMagnification(self, magnification: float | None = None,
                                 exact: bool = False, mm_x: float | None = None,
                                 mm_y: float | None = None, rounding: Any = 'round',
                                 **kwargs: Any) -> float | int | None:
        """The level of a magnification or a pixel size (large_image's rounding rules).

        Parameters
        ----------
        magnification : float, optional
            The objective magnification wanted.
        exact : bool
            Return None unless a level matches exactly.
        mm_x, mm_y : float, optional
            The pixel size wanted, in mm, instead of a magnification.
        rounding : str or bool
            'round', 'ceil', 'floor' or False (the fractional level).

        Returns
        -------
        int, float or None
            The level; None when ``exact`` and no level matches, or nothing is known of the
            source's pixel size.
        """
        pixel = self._pixel
        return level_for_magnification(
            self.levels - 1, (pixel.magnification, pixel.mm_x, pixel.mm_y),
            magnification=magnification, mm_x=mm_x, mm_y=mm_y, exact=exact, rounding=rounding)

    def getPreferredLevel(self, level: int) -> int:
        """``level`` clamped to the levels that exist (GDAL serves every level)."""
        return max(0, min(self.levels - 1, int(level)))

    # -- geospatial -------------------------------------------------------------------------------
    def getBounds(self, srs: str | None = None) -> dict[str, Any] | None:
        """The raster's bounds.

        Parameters
        ----------
        srs : str, optional
            The CRS to give them in (any string :func:`~geolargeimage.geo.crs.parse_crs`
            reads); None: the file's own CRS.

        Returns
        -------
        dict or None
            Corners ``ll``, ``ul``, ``lr``, ``ur`` (each ``{'x', 'y'}``), ``xmin``, ``xmax``,
            ``ymin``, ``ymax`` and ``srs``; None without georeferencing.

        Raises
        ------
        OptionsError
            ``srs`` does not parse.

        Examples
        --------
        >>> from geolargeimage import open
        >>> bounds = open('data/sample.tif').getBounds('EPSG:4326')
        >>> bounds['xmin'] < bounds['xmax'], bounds['srs']
        (True, 'EPSG:4326')
        """
        return self._georeferencing.bounds(srs)

    def getCenter(self, *args: Any, **kwargs: Any) -> tuple[float, float]:
        """(y, x) of the centre: native CRS coordinates when georeferenced, else pixels."""
        bounds = self.getBounds()
        if bounds is None:
            return self._raster.info.height / 2, self._raster.info.width / 2
        return (bounds['ymin'] + bounds['ymax']) / 2, (bounds['xmin'] + bounds['xmax']) / 2

    def pixelToProjection(self, x: float, y: float, level: float | None = None
                          ) -> tuple[float, float]:
        """The map coordinates of a pixel.

        Parameters
        ----------
        x, y : float
            Column and row in the pixels of ``level``.
        level : float, optional
            The level (None: the base level).

        Returns
        -------
        tuple of float
            (x, y) in the served projection, else the file's CRS, else base pixels.
        """
        max_level = self.levels - 1
        return self._placement.pixel_to_projection(x, y, max_level if level is None else level,
                                                   max_level)

    def toNativePixelCoordinates(self, x: float, y: float, proj: str | None = None,
                                 roundResults: bool = True) -> tuple[float, float]:
        """The file's own pixel under a map point.

        Parameters
        ----------
        x, y : float
            The point, in ``proj``.
        proj : str, optional
            Its CRS (default: the served projection, else the file's CRS).
        roundResults : bool
            Round to whole pixels.

        Returns
        -------
        tuple
            (column, row) in the file's base pixels.
        """
        col, row = self._placement.native_pixel_of(x, y, proj)
        return (int(round(col)), int(round(row))) if roundResults else (col, row)

    # -- frames -----------------------------------------------------------------------------------
    def frameToAxes(self, frame: int) -> dict[str, int]:
        """Axis positions of ``frame``, e.g. ``{'c': 1, 'z': 0}``; TileRangeError for a frame
        that does not exist."""
        return axes.frame_to_axes(self._frames.metadata(), self._frames.check(frame))

    def axesToFrame(self, **positions: int) -> int:
        """The frame at axis positions, e.g. ``axesToFrame(c=1, z=0)``; TileRangeError when
        there is none."""
        return axes.axes_to_frame(self._frames.metadata(), self.frames, **positions)

    def getAssociatedImagesList(self) -> list[str]:
        """Names of the images stored beside the main one (label, macro, thumbnail, ...)."""
        return self._associated.names()


def reopen(path: str, options: dict[str, Any], shared: bool) -> Any:
    """A pickled source opened again: through the shared-source cache if it came from it."""
    from geolargeimage.source.opening import open as open_source  # opening builds on this
    from geolargeimage.source.tile_source import TileSource
    options = {key: value for key, value in options.items() if key != 'noCache'}
    return open_source(path, **options) if shared else TileSource(path, **options)
