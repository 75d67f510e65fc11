"""The large_image-compatible facade: :class:`TileSource`, whose camelCase methods parse their
keywords into typed options and delegate to the parts the source is composed of.

The parts, built once in ``__init__`` and never replaced: a :class:`~geolargeimage.level_grid.
LevelGrid` (the pyramid served), the frames and their readers (a raster, or a warped view of it
for a projection: the same :class:`~geolargeimage.pixel_reader.PixelReader` interface), the
georeferencing and the placement of base pixels, a region planner, and the renderer (statistics
and styles). ``getRegion`` is parse → plan → read → render → encode; ``getTile`` and
``tileIterator`` are the same pipeline over other plans.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from geolargeimage import axes, errors
from geolargeimage.config import check_output_budget
from geolargeimage.enums import Encoding, Resampling, TileFormat, parse_formats
from geolargeimage.geo.georeferencing import Georeferencing, pixel_size
from geolargeimage.geo.internal_metadata import internal_metadata
from geolargeimage.geo.placement import Placement, World
from geolargeimage.geo.tile_grid import TILE_SIZE
from geolargeimage.geo.warped_view import WarpedView
from geolargeimage.grid import Window
from geolargeimage.io.error_mapping import gdal_errors
from geolargeimage.io.layout import discover
from geolargeimage.io.paths import is_virtual, to_gdal_path
from geolargeimage.io.raster import Raster
from geolargeimage.level_grid import LevelGrid
from geolargeimage.magnification import level_for_magnification, magnification_for_level
from geolargeimage.options import (
    ITERATOR_DEFAULTS,
    EncodeOptions,
    OpenOptions,
    RegionRequest,
    RegionSpec,
    TilingSpec,
    parse_thumbnail_size,
    parse_tile_position,
)
from geolargeimage.picture.encode import ImageBytes, encode_pixels, to_pil
from geolargeimage.source.delivery import PassThrough, deliver, pad, pixel_record
from geolargeimage.source.frames import AssociatedImages, FrameSet
from geolargeimage.source.iterator import LazyTileDict, PixelScale, TileIterator
from geolargeimage.source.metadata import band_information
from geolargeimage.source.planning import RegionPlanner
from geolargeimage.source.renderer import Renderer
from geolargeimage.tiling import plan_iteration

#: Deepest zoom a projected source serves (web maps zoom past the data's resolution).
MAX_PROJECTED_ZOOM = 30


class TileSource:
    """A raster opened through GDAL and read with large_image's pixel API.

    Parameters
    ----------
    path : str or os.PathLike
        A file, a ``/vsi…`` path or a URL (``s3://``, ``https://``).
    **options
        ``encoding`` (JPEG, PNG, WEBP, TIFF, ...) of ``getTile``; ``jpegQuality``,
        ``jpegSubsampling``, ``tiffCompression``; ``edge`` (False pads edge tiles with zeros,
        True or 'crop' crops them, '#rrggbb' paints them); ``projection`` (serve the raster in
        that CRS's world tile grid, e.g. 'EPSG:3857'); ``unitsPerPixel`` (that grid's level-0
        pixel size); ``resample`` (tile kernel: 'auto' by default; nearest, bilinear, cubic,
        average, ...); ``style`` (a large_image style).

    Raises
    ------
    SourceNotFoundError
        The file does not exist.
    SourceError
        GDAL cannot read it as a raster (or it is damaged beyond reading).
    OptionsError
        An unknown option or a bad value (the message lists the valid ones).

    Examples
    --------
    >>> source = TileSource('data/sample.tif', encoding='PNG')
    >>> source.getMetadata()['sizeX'], source.getTileMimeType()
    (3000, 'image/png')
    """

    name = 'gdal'

    def __init__(self, path: str | os.PathLike, **options: Any):
        opened = OpenOptions.parse(options)
        self.largeImagePath = os.fspath(path)
        self._gdal_path = to_gdal_path(path)
        if not is_virtual(self._gdal_path) and not os.path.exists(self._gdal_path):
            raise errors.SourceNotFoundError(self.largeImagePath)
        self.encoding_options, self.edge = opened.encoding, opened.edge
        self._tile_resampling = opened.resampling
        layout = discover(self._gdal_path)
        self._raster = Raster(layout.frames[0].path, level_paths=layout.levels)
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

    def __repr__(self) -> str:
        return f'<{type(self).__name__} {self.largeImagePath!r} {self.sizeX}x{self.sizeY}>'

    def close(self) -> None:
        """Release GDAL handles, warped views and temporary pyramids now rather than at garbage
        collection."""
        self._frames.close()

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
        """The style given at open (or set since), as given; None for the default rendering."""
        return self._renderer.style_value if self._renderer.style is not None else None

    @style.setter
    def style(self, value: Any) -> None:
        if self._shared:
            raise errors.SourceError('Cannot set the style of a cached source; open it with '
                                     'noCache=True')
        self._renderer.set_style(value)

    # -- metadata ---------------------------------------------------------------------------------
    def getMetadata(self) -> dict[str, Any]:
        """large_image's metadata: levels, size, tile size, pixel size, dtype, bands, bounds,
        frames.

        Examples
        --------
        >>> TileSource('data/sample.tif').getMetadata()['levels']
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
        """What GDAL says about the file: driver, files, size, georeferencing, metadata
        domains."""
        with gdal_errors(self.largeImagePath):
            return internal_metadata(self._raster.dataset(), gdal_path=self._gdal_path,
                                     remote=self._raster.remote)

    def getBandInformation(self, statistics: bool = True, frame: int | None = None,
                           **kwargs: Any) -> dict[int, dict]:
        """Per band (1-based): interpretation, dtype, nodata, scale/offset, units, colour table,
        and with ``statistics`` min/max/mean/stdev of a sample of the whole frame (the numbers
        a style's 'auto', 'min' and 'max' use)."""
        frame = self._frames.check(frame)
        summary = self._renderer.band_summary(frame) if statistics else None
        return band_information(self._frames.raster(frame).info.bands, summary)

    def getOneBandInformation(self, band: int) -> dict[str, Any]:
        """getBandInformation() of one band (1-based)."""
        return self.getBandInformation()[band]

    def getNativeMagnification(self) -> dict[str, float | None]:
        """Magnification and mm per pixel of the base level."""
        return {'magnification': self.magnification, 'mm_x': self.mm_x, 'mm_y': self.mm_y}

    def getMagnificationForLevel(self, level: float | None = None) -> dict[str, Any]:
        """Magnification, scale and mm per pixel of ``level`` (None: the base level)."""
        max_level = self.levels - 1
        return magnification_for_level(max_level if level is None else level, max_level,
                                       self.magnification, self.mm_x, self.mm_y)

    def getLevelForMagnification(self, magnification: float | None = None,
                                 exact: bool = False, mm_x: float | None = None,
                                 mm_y: float | None = None, rounding: Any = 'round',
                                 **kwargs: Any) -> float | int | None:
        """The level matching a magnification or mm per pixel (large_image's rounding rules);
        None when ``exact`` and no level matches."""
        pixel = self._pixel
        return level_for_magnification(
            self.levels - 1, (pixel.magnification, pixel.mm_x, pixel.mm_y),
            magnification=magnification, mm_x=mm_x, mm_y=mm_y, exact=exact, rounding=rounding)

    def getPreferredLevel(self, level: int) -> int:
        """``level`` clamped to the levels that exist (GDAL serves every level)."""
        return max(0, min(self.levels - 1, int(level)))

    # -- geospatial -------------------------------------------------------------------------------
    def getBounds(self, srs: str | None = None) -> dict[str, Any] | None:
        """Corners (ll, ul, lr, ur), xmin/xmax/ymin/ymax and srs of the raster, in its own CRS
        (``srs=None``) or reprojected to ``srs``; None without georeferencing."""
        return self._georeferencing.bounds(srs)

    def getCenter(self, *args: Any, **kwargs: Any) -> tuple[float, float]:
        """(y, x) of the centre: native CRS coordinates when georeferenced, else pixels."""
        bounds = self.getBounds()
        if bounds is None:
            return self._raster.info.height / 2, self._raster.info.width / 2
        return (bounds['ymin'] + bounds['ymax']) / 2, (bounds['xmin'] + bounds['xmax']) / 2

    def pixelToProjection(self, x: float, y: float, level: float | None = None
                          ) -> tuple[float, float]:
        """Projection (or native CRS) coordinates of pixel (x, y) of ``level``."""
        max_level = self.levels - 1
        return self._placement.pixel_to_projection(x, y, max_level if level is None else level,
                                                   max_level)

    def toNativePixelCoordinates(self, x: float, y: float, proj: str | None = None,
                                 roundResults: bool = True) -> tuple[float, float]:
        """Native pixel (column, row) of point (x, y) in ``proj`` (default: the source's
        projection, else its own CRS)."""
        col, row = self._placement.native_pixel_of(x, y, proj)
        return (int(round(col)), int(round(row))) if roundResults else (col, row)

    # -- frames -----------------------------------------------------------------------------------
    def frameToAxes(self, frame: int) -> dict[str, int]:
        """Axis positions of ``frame``, e.g. ``{'c': 1, 'z': 0}``."""
        return axes.frame_to_axes(self._frames.metadata(), self._frames.check(frame))

    def axesToFrame(self, **positions: int) -> int:
        """The frame at axis positions, e.g. ``axesToFrame(c=1, z=0)``."""
        return axes.axes_to_frame(self._frames.metadata(), self.frames, **positions)

    def getAssociatedImagesList(self) -> list[str]:
        """Names of the images stored beside the main one (label, macro, thumbnail, ...)."""
        return self._associated.names()

    def getAssociatedImage(self, imageKey: str, *args: Any, width: int | None = None,
                           height: int | None = None, encoding: str = 'JPEG',
                           format: Any = (TileFormat.IMAGE.value,),
                           **kwargs: Any) -> tuple[Any, str] | None:
        """An associated image, whole or fitted within ``width`` × ``height``, as
        ``(data, mime)``; None if there is no such image."""
        options = EncodeOptions.parse(encoding, kwargs.pop('jpegQuality', 95),
                                      kwargs.pop('jpegSubsampling', 0),
                                      kwargs.pop('tiffCompression', 'raw'))
        return self._associated.get(imageKey, width=width, height=height, encoding=options,
                                    fmt=format)

    # -- tiles ------------------------------------------------------------------------------------
    def getTileMimeType(self) -> str:
        """The mime type of ``getTile``'s encoded tiles."""
        return self.encoding_options.encoding.mimetype

    def getTile(self, x: int, y: int, z: int, pilImageAllowed: bool = False,
                numpyAllowed: bool | str = False, sparseFallback: bool = False,
                frame: int | None = None) -> Any:
        """Tile ``(x, y)`` of level ``z`` (0 = the whole image in one tile).

        Parameters
        ----------
        x, y, z : int
            Tile column, row and level.
        pilImageAllowed, numpyAllowed : bool
            Return a Pillow image, or the raw pixels as an ``(h, w, bands)`` array.
        frame : int, optional
            The frame to read.

        Returns
        -------
        bytes, PIL.Image.Image or numpy.ndarray
            Encoded bytes (an :class:`ImageBytes` with a ``mimetype``) by default.

        Raises
        ------
        TileRangeError
            x, y or z lies outside the level, or the frame does not exist.

        Examples
        --------
        >>> TileSource('data/sample.tif').getTile(0, 0, 0, numpyAllowed=True).shape
        (256, 256, 3)
        """
        frame = self._frames.check(frame)
        window, width, height = self._levels.tile_read(x, y, z)
        style = self._renderer.style
        if style is None and not (pilImageAllowed or numpyAllowed or frame):
            stored = self._stored.tile(x, y, z)
            if stored is not None:
                return ImageBytes(stored, self.getTileMimeType())
        pixels = self._renderer.pixels(window, width, height, frame, self._tile_resampling, style)
        if numpyAllowed:
            return pixels if self.edge.crop else pad(pixels, self.tileWidth, self.tileHeight)
        picture = self._picture(pixels, window, frame, style is not None)
        if not self.edge.crop:
            picture = pad(picture, self.tileWidth, self.tileHeight, self.edge.colour)
        return to_pil(picture) if pilImageAllowed else encode_pixels(picture,
                                                                     self.encoding_options)

    @property
    def _passthrough_format(self) -> str | None:
        return self._stored.format

    def _stored_tile(self, x: int, y: int, z: int) -> bytes | None:
        return self._stored.tile(x, y, z)

    # -- regions ----------------------------------------------------------------------------------
    def getRegion(self, format: Any = (TileFormat.IMAGE.value,),
                  **kwargs: Any) -> tuple[Any, str]:
        """A region at full resolution, at ``scale=`` or fitted to ``output=``.

        Parameters
        ----------
        format : str or tuple
            'image' (encoded bytes), 'PIL' or 'numpy'.
        **kwargs
            ``region`` (left/top/right/bottom/width/height in ``units``: base_pixels, fraction,
            mm, m, a CRS such as 'EPSG:4326', or 'projection'), ``output`` (maxWidth,
            maxHeight), ``scale``, ``encoding``, ``resample``, ``frame``, ``fill``, ``style``.

        Returns
        -------
        tuple
            ``(data, mime)``, ``(Pillow image, 'PIL')`` or ``(array, 'numpy')``; with
            ``encoding='TILED'`` the path of a georeferenced GeoTIFF.

        Raises
        ------
        RangeError
            The region lies outside the image, or is empty for an image format.
        OutputSizeError
            The output is larger than config ``max_output_pixels``.

        Examples
        --------
        >>> data, mime = TileSource('data/sample.tif').getRegion(
        ...     region={'left': 0, 'top': 0, 'width': 100, 'height': 50}, format='numpy')
        >>> data.shape, mime
        ((50, 100, 3), 'numpy')
        """
        request = RegionRequest.parse(kwargs)
        frame = self._frames.check(request.frame)
        plan = self._planner.plan(request.region, request.output, request.scale)
        if request.encoding.encoding is Encoding.TILED:
            if request.style is not None:
                raise errors.OptionsError('A TILED region holds the stored values: it cannot '
                                          'take a style')
            return self._placement.export(
                self._frames.raster(frame), plan.window, plan.width, plan.height,
                request.resampling, request.output.path), Encoding.TILED.mimetype
        style = self._renderer.request_style(request.style)
        pixels = self._renderer.plan_pixels(plan, frame, request.resampling, style,
                                             (self.sizeX, self.sizeY))
        return deliver(pixels, plan.window, parse_formats(format), request.encoding,
                       lambda raw: self._picture(raw, plan.window, frame, style is not None),
                       request.fill)

    def getThumbnail(self, width: int | None = None, height: int | None = None,
                     **kwargs: Any) -> tuple[Any, str]:
        """The whole image fitted within ``width`` × ``height`` (256 × 256 by default), as
        getRegion returns it."""
        kwargs.pop('region', None)
        kwargs['output'] = parse_thumbnail_size(width, height)
        return self.getRegion(**kwargs)

    def getPixel(self, region: dict[str, Any] | None = None, frame: int | None = None,
                 style: Any = None) -> dict[str, Any]:
        """The pixel at ``region``'s left/top (in any unit): its 8-bit picture channels (``r``,
        ``g``, ``b``, ``a`` or ``l``), ``value`` (the styled values with a style, else the
        picture's) and ``bands``, the raw value of each band at the native pixel under it;
        ``{}`` outside the image. ``style`` replaces the source's for this call."""
        frame = self._frames.check(frame)
        spec = RegionSpec.parse({key: value for key, value in (region or {}).items()
                                 if key in ('left', 'top', 'units')})
        col, row = self._placement.point_to_base(spec)
        if not (0 <= col < self.sizeX and 0 <= row < self.sizeY):
            return {}
        window = Window(col, row, 1, 1)
        style = self._renderer.request_style(style)
        pixels = self._renderer.pixels(window, 1, 1, frame, Resampling.NEAREST, style)
        picture = self._picture(pixels, window, frame, style is not None)[0, 0]
        result = pixel_record(picture, pixels[0, 0] if style is not None else None)
        native = self._placement.native_pixel(col, row)
        if native is not None:
            raw = self._frames.raster(frame).read(Window(native[0], native[1], 1, 1), 1, 1)
            result['bands'] = {index + 1: float(value) for index, value in enumerate(raw[0, 0])}
        return result

    def _picture(self, pixels: np.ndarray, window: Window, frame: int,
                 styled: bool) -> np.ndarray:
        """The 8-bit picture of pixels read from ``window``, the reader's mask applied."""
        mask = None if window.empty else self._frames.reader(frame).read_mask(
            window, pixels.shape[1], pixels.shape[0])
        return self._renderer.picture(pixels, styled, mask, frame)

    # -- iteration --------------------------------------------------------------------------------
    def tileIterator(self, format: Any = (TileFormat.NUMPY.value,),
                     resample: Any = True, **kwargs: Any) -> TileIterator:
        """Iterate over the tiles of a region: large_image's tile records, read lazily.

        Takes getRegion's keywords and ``tile_size``, ``tile_overlap``, ``tile_offset``,
        ``tile_position``; ``resample=False`` iterates the level read instead of the output.

        Examples
        --------
        >>> len(TileSource('data/sample.tif').tileIterator(tile_size={'width': 512}))
        24
        """
        fmt = parse_formats(format)
        request = RegionRequest.parse(kwargs, what='tileIterator', defaults=ITERATOR_DEFAULTS)
        frame = self._frames.check(request.frame)
        style = self._renderer.request_style(request.style)
        if fmt is TileFormat.IMAGE and 'encoding' not in kwargs:
            raise errors.OptionsError('Invalid encoding "None": image tiles need encoding=')
        resampled = resample not in (False, None)
        resampling = Resampling.parse(resample) if resampled else Resampling.NEAREST
        region = self._planner.plan(request.region, request.output, request.scale, budget=False)
        tiling = TilingSpec.parse(kwargs.get('tile_size'), kwargs.get('tile_overlap'),
                                  kwargs.get('tile_offset'))
        check_output_budget(tiling.tile_width or self.tileWidth,
                            tiling.tile_height or self.tileHeight)
        plan = plan_iteration(region, max_level=self.levels - 1, tiling=tiling,
                              default_tile=(self.tileWidth, self.tileHeight), resample=resampled)

        def read(window: Window, width: int, height: int) -> tuple[Any, str]:
            pixels = self._renderer.pixels(window, width, height, frame, resampling, style)
            return deliver(pixels, window, fmt, request.encoding,
                           lambda raw: self._picture(raw, window, frame, style is not None))

        return TileIterator(plan, fmt=fmt, position=parse_tile_position(
            kwargs.get('tile_position')), read=read, level_scale=self.getMagnificationForLevel,
            scale=PixelScale(self.magnification, self.mm_x, self.mm_y, self.sizeX, self.sizeY))

    def getSingleTile(self, *args: Any, **kwargs: Any) -> LazyTileDict | None:
        """The first tile ``tileIterator`` would yield, or None."""
        return next(iter(self.tileIterator(*args, **kwargs)), None)

    def getTileCount(self, *args: Any, **kwargs: Any) -> int:
        """How many tiles ``tileIterator`` would yield over the whole region."""
        kwargs.pop('tile_position', None)
        return len(self.tileIterator(*args, **kwargs))
