"""The large_image-compatible facade: :class:`TileSource`, whose camelCase methods parse their
keywords into typed options and delegate to the parts the source is composed of
(:class:`~geolargeimage.source.facts.SourceFacts` builds them and answers what needs no pixels).

``getRegion`` is parse → plan → read → render → encode; ``getTile`` and ``tileIterator`` are
the same pipeline over other plans.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from geolargeimage import errors
from geolargeimage.config import check_output_budget
from geolargeimage.enums import Encoding, Resampling, TileFormat, parse_formats
from geolargeimage.grid import Window
from geolargeimage.options import (
    ITERATOR_DEFAULTS,
    EncodeOptions,
    RegionRequest,
    RegionSpec,
    TilingSpec,
    parse_thumbnail_size,
    parse_tile_position,
)
from geolargeimage.picture.encode import ImageBytes, encode_pixels, to_pil
from geolargeimage.source.array_access import ArrayAccess
from geolargeimage.source.delivery import deliver, pad, pixel_record
from geolargeimage.source.facts import SourceFacts
from geolargeimage.source.iterator import LazyTileDict, PixelScale, TileIterator
from geolargeimage.tiling import plan_iteration


class TileSource(ArrayAccess, SourceFacts):
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

    def getAssociatedImage(self, imageKey: str, *args: Any, width: int | None = None,
                           height: int | None = None, encoding: str = 'JPEG',
                           format: Any = (TileFormat.IMAGE.value,),
                           **kwargs: Any) -> tuple[Any, str] | None:
        """An image stored beside the main one (a slide's label or macro, a thumbnail).

        Parameters
        ----------
        imageKey : str
            One of :meth:`getAssociatedImagesList`.
        width, height : int, optional
            Fit the image within this size (keeping its aspect); the whole image by default.
        encoding : str
            JPEG, PNG, WEBP, TIFF, ... for the 'image' format.
        format : str or tuple
            'image' (encoded bytes), 'PIL' or 'numpy'.

        Returns
        -------
        tuple or None
            ``(data, mime)``; None when the file has no such image.

        Examples
        --------
        >>> TileSource('data/sample.tif').getAssociatedImage('label') is None
        True
        """
        options = EncodeOptions.parse(encoding, kwargs.pop('jpegQuality', 95),
                                      kwargs.pop('jpegSubsampling', 0),
                                      kwargs.pop('tiffCompression', 'raw'))
        return self._associated.get(imageKey, width=width, height=height, encoding=options,
                                    fmt=format)

    # -- tiles ------------------------------------------------------------------------------------
    def getTileMimeType(self) -> str:
        """The mime type of :meth:`getTile`'s encoded tiles (from the ``encoding`` option).

        Examples
        --------
        >>> TileSource('data/sample.tif').getTileMimeType()
        'image/jpeg'
        """
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
        """The whole image fitted within ``width`` × ``height``.

        Parameters
        ----------
        width, height : int, optional
            The largest size (at least 2); 256 × 256 when neither is given, and a missing one
            is not limiting.
        **kwargs
            :meth:`getRegion`'s keywords (``encoding``, ``format``, ``frame``, ``style``,
            ...), except ``region``.

        Returns
        -------
        tuple
            As :meth:`getRegion` returns it.

        Raises
        ------
        OptionsError
            A width or height that is not an integer of at least 2.

        Examples
        --------
        >>> data, mime = TileSource('data/sample.tif').getThumbnail(128, format='numpy')
        >>> data.shape, mime
        ((85, 128, 3), 'numpy')
        """
        kwargs.pop('region', None)
        kwargs['output'] = parse_thumbnail_size(width, height)
        return self.getRegion(**kwargs)

    def getPixel(self, region: dict[str, Any] | None = None, frame: int | None = None,
                 style: Any = None) -> dict[str, Any]:
        """The values of one pixel.

        Parameters
        ----------
        region : dict
            ``left`` and ``top`` of the point, in ``units`` (getRegion's units: base pixels
            by default, or a CRS such as 'EPSG:4326' with left = longitude).
        frame : int, optional
            The frame to read.
        style : dict or str, optional
            A style for this call instead of the source's.

        Returns
        -------
        dict
            The 8-bit picture channels (``r``, ``g``, ``b``, ``a`` or ``l``), ``value`` (the
            styled values with a style, else the picture's) and ``bands``, the raw value of
            each band at the native pixel under the point; ``{}`` outside the image.

        Raises
        ------
        TileRangeError
            The frame does not exist.

        Examples
        --------
        >>> sorted(TileSource('data/sample.tif').getPixel(region={'left': 10, 'top': 10}))
        ['b', 'bands', 'g', 'r', 'value']
        """
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

        Parameters
        ----------
        format : str or tuple
            What each record's ``tile`` holds: 'numpy' (default), 'PIL' or 'image' (needs
            ``encoding``).
        resample : bool or str
            False (or None) iterates the stored level nearest the output instead of the
            output itself; True or a kernel name resamples to the output.
        **kwargs
            :meth:`getRegion`'s keywords, and ``tile_size`` ({'width', 'height'}),
            ``tile_overlap`` ({'x', 'y', 'edges'}), ``tile_offset`` ({'left', 'top',
            'auto'}) and ``tile_position`` (one tile by its index).

        Returns
        -------
        TileIterator
            Iterable, with ``len``; each record is a dict with ``x``, ``y``, ``level``,
            ``width``, ``height``, ``gx``, ``gy``, ``tile_overlap``, ... and the lazily read
            ``tile``.

        Raises
        ------
        OptionsError
            An unknown keyword or a bad value; image tiles without an encoding.
        RangeError
            The region lies outside the image.

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
        """The first record :meth:`tileIterator` would yield (its arguments), or None.

        Examples
        --------
        >>> TileSource('data/sample.tif').getSingleTile(tile_size={'width': 64})['width']
        64
        """
        return next(iter(self.tileIterator(*args, **kwargs)), None)

    def getTileCount(self, *args: Any, **kwargs: Any) -> int:
        """How many records :meth:`tileIterator` (its arguments, ``tile_position`` ignored)
        would yield.

        Examples
        --------
        >>> TileSource('data/sample.tif').getTileCount(tile_size={'width': 512})
        24
        """
        kwargs.pop('tile_position', None)
        return len(self.tileIterator(*args, **kwargs))
