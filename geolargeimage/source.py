"""The large_image-compatible facade: one class whose camelCase methods parse their keywords into
typed options and delegate to the planning, reading, rendering and encoding modules.

``getRegion`` is parse → plan → read → render → encode; ``getTile`` and ``tileIterator`` are the
same pipeline over different plans.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from . import config, crs, errors, passthrough
from .encode import ImageBytes, encode_pixels, to_pil
from .env import gdal_errors
from .georef import ground_pixel_size_mm, is_georeferenced, resolution_tag_mm
from .grid import Window, level_count, output_size, read_level, tile_window, tiles_across
from .iterators import LazyTileDict, TileIterator
from .options import (EdgeMode, EncodeOptions, Encoding, Fill, OutputSpec, RegionRequest, RegionSpec,
                      Resampling, ScaleSpec, TileFormat, parse_formats)
from .frames import discover
from .paths import is_virtual, to_gdal_path
from .projected import WarpedView
from .reader import Raster
from .regions import resolve_region, unit_scale_for
from .render import display_plan, letterbox
from .source_frames import FrameMethods
from .source_geo import GeoMethods
from .source_style import StyleMethods

#: Deepest zoom a projected source serves (web maps zoom past the data's resolution).
MAX_PROJECTED_ZOOM = 30
_OPEN_OPTIONS = ('encoding', 'jpegQuality', 'jpegSubsampling', 'tiffCompression', 'edge',
                 'noCache', 'projection', 'unitsPerPixel', 'resample', 'style')


@dataclass(frozen=True)
class RegionPlan:
    """What a region request reads: a base-pixel window, the output size, the level it matches."""

    window: Window
    width: int
    height: int
    level: int


class TileSource(GeoMethods, FrameMethods, StyleMethods):
    """A raster opened through GDAL and read with large_image's pixel API.

    Parameters mirror large_image: ``encoding`` (JPEG, PNG, WEBP, TIFF, ...) for ``getTile``,
    ``jpegQuality``, ``jpegSubsampling``, ``tiffCompression``, ``edge`` (False pads edge tiles
    with zeros, True or 'crop' crops them, '#rrggbb' paints them), ``projection`` (serve the
    raster in that CRS's world tile grid, e.g. 'EPSG:3857'), ``unitsPerPixel`` (the grid's
    level-0 pixel size) and ``resample`` (tile kernel: nearest for warps and average for pixel
    tiles by default; bilinear, cubic, lanczos, average, ...).
    """

    name = 'gdal'

    def __init__(self, path: str | os.PathLike, **options: Any):
        unknown = sorted(set(options) - set(_OPEN_OPTIONS))
        if unknown:
            raise errors.OptionsError(f'Unknown option(s) {", ".join(unknown)}; valid options: '
                                      f'{", ".join(_OPEN_OPTIONS)}')
        self.largeImagePath = os.fspath(path)
        self._gdal_path = to_gdal_path(path)
        if not is_virtual(self._gdal_path) and not os.path.exists(self._gdal_path):
            raise errors.SourceNotFoundError(self.largeImagePath)
        self.encoding_options = EncodeOptions.parse(
            options.get('encoding', 'JPEG'), options.get('jpegQuality', 95),
            options.get('jpegSubsampling', 0), options.get('tiffCompression', 'raw'))
        self.edge = EdgeMode.parse(options.get('edge', False))
        if self.encoding_options.encoding is Encoding.TILED:
            raise errors.OptionsError('Encoding TILED writes files: use it with getRegion only')
        self._layout = discover(self._gdal_path)
        self._raster = Raster(self._layout.frames[0].path, level_paths=self._layout.levels)
        self._init_frames()
        info = self._raster.info
        self.sizeX, self.sizeY = info.width, info.height
        block = info.block_width if info.block_width == info.block_height else 0
        self.tileWidth = self.tileHeight = block if 64 <= block <= 1024 else 256
        self.levels = level_count(self.sizeX, self.sizeY, self.tileWidth, self.tileHeight)
        self._view: WarpedView | None = None
        self._georeference()
        self._read_georeference()
        self._source_levels = self.levels
        self._tile_resampling = Resampling.parse(options.get('resample', True))
        if options.get('projection'):
            self._open_projection(options['projection'], options.get('unitsPerPixel'),
                                  self._tile_resampling)
        self._init_style(options.get('style'))

    def _georeference(self) -> None:
        with gdal_errors(self.largeImagePath):
            dataset = self._raster.dataset()
            self.geospatial = is_georeferenced(dataset)
            size = ground_pixel_size_mm(dataset) if self.geospatial else None
        size = size or self._layout.mm or resolution_tag_mm(self._raster.info.metadata)
        self.mm_x, self.mm_y = size if size else (None, None)
        self.magnification = self._layout.magnification
        if self.magnification is None and self.mm_x and not self.geospatial:
            # large_image's estimate for microscope images that state a pixel size but no
            # objective: 10x is 1 µm pixels. Ground pixels have no magnification.
            self.magnification = 0.01 / self.mm_x

    def __repr__(self) -> str:
        return f'<{type(self).__name__} {self.largeImagePath!r} {self.sizeX}x{self.sizeY}>'

    def close(self) -> None:
        """Release GDAL handles and temporary pyramids now rather than at garbage collection."""
        self._raster.close()
        if self._view is not None:
            self._view.close()
        for layer in self._frame_layers.values():
            layer.close()

    # -- metadata -------------------------------------------------------------------------------
    @property
    def dtype(self) -> np.dtype:
        return self._raster.info.dtype

    @property
    def bandCount(self) -> int:  # noqa: N802
        return self._raster.info.band_count

    @property
    def metadata(self) -> dict[str, Any]:
        return self.getMetadata()

    def getMetadata(self) -> dict[str, Any]:  # noqa: N802
        """large_image's metadata dict: levels, size, tile size, pixel size, dtype, bands."""
        return {
            'levels': self.levels, 'sizeX': self.sizeX, 'sizeY': self.sizeY,
            'tileWidth': self.tileWidth, 'tileHeight': self.tileHeight,
            'magnification': self.magnification, 'mm_x': self.mm_x, 'mm_y': self.mm_y,
            'dtype': str(self.dtype), 'bandCount': self.bandCount,
            'geospatial': self.geospatial, **self._geo_metadata(),
            'bands': self.getBandInformation(), **self._frames_metadata(),
        }

    def getInternalMetadata(self, **kwargs: Any) -> dict[str, Any]:  # noqa: N802
        """What GDAL says about the file: driver, files, size, metadata domains."""
        with gdal_errors(self.largeImagePath):
            dataset = self._raster.dataset()
            result: dict[str, Any] = {
                'driverShortName': dataset.GetDriver().ShortName,
                'driverLongName': dataset.GetDriver().LongName,
                # Listing files probes for sidecars: a bucket LIST or HEADs on remote paths.
                'fileList': [self._gdal_path] if self._raster.remote else dataset.GetFileList(),
                'RasterXSize': dataset.RasterXSize,
                'RasterYSize': dataset.RasterYSize,
                'GeoTransform': dataset.GetGeoTransform(can_return_null=True),
                'Projection': dataset.GetProjectionRef() or None,
                'proj4Projection': crs.proj4(dataset.GetSpatialRef())
                if dataset.GetSpatialRef() else None,
                'GCPProjection': dataset.GetGCPProjection() or None,
                'GCPs': [{'id': gcp.Id, 'info': gcp.Info, 'x': gcp.GCPX, 'y': gcp.GCPY,
                          'z': gcp.GCPZ, 'pixel': gcp.GCPPixel, 'line': gcp.GCPLine}
                         for gcp in dataset.GetGCPs()] or None,
                'Metadata': dataset.GetMetadata() or {},
            }
            for domain in dataset.GetMetadataDomainList() or []:
                if domain and domain not in ('DERIVED_SUBDATASETS',):
                    result['Metadata_' + domain] = dataset.GetMetadata(domain) or {}
        return result

    def getBandInformation(self, statistics: bool = True, frame: int | None = None,  # noqa: N802
                           **kwargs: Any) -> dict[int, dict]:
        """Per band (1-based): interpretation, dtype, nodata, scale/offset, units, colour table
        and min/max/mean/stdev from a sample of the whole frame (cached; the same numbers the
        'auto', 'min' and 'max' of styles use)."""
        frame = self._check_frame(frame)
        summary = self._band_summary(frame) if statistics else None
        result = {}
        for band in self._frame_raster(frame).info.bands:
            entry = {'interpretation': band.interpretation, 'dtype': str(band.dtype),
                     'nodata': band.nodata, 'scale': band.scale, 'offset': band.offset,
                     'units': band.unit, 'description': band.description,
                     'colortable': list(band.color_table) if band.color_table else None,
                     'categories': list(band.categories) if band.categories else None}
            if summary is not None:
                entry.update(summary[band.index - 1])
            result[band.index] = {k: v for k, v in entry.items() if v not in (None, '')}
        return result

    def getOneBandInformation(self, band: int) -> dict[str, Any]:  # noqa: N802
        return self.getBandInformation()[band]

    # -- magnification and levels ---------------------------------------------------------------
    def getNativeMagnification(self) -> dict[str, float | None]:  # noqa: N802
        return {'magnification': self.magnification, 'mm_x': self.mm_x, 'mm_y': self.mm_y}

    def getMagnificationForLevel(self, level: float | None = None) -> dict[str, Any]:  # noqa: N802
        """Magnification and pixel size at ``level`` (None: full resolution)."""
        max_level = self.levels - 1
        level = max_level if level is None else level
        scale = 2.0 ** (max_level - level)
        has_mm = self.mm_x is not None and self.mm_y is not None
        return {'magnification': self.magnification / scale if self.magnification else None,
                'level': level, 'scale': scale,
                'mm_x': self.mm_x * scale if has_mm else None,
                'mm_y': self.mm_y * scale if has_mm else None}

    def getLevelForMagnification(self, magnification: float | None = None, exact: bool = False,  # noqa: N802
                                 mm_x: float | None = None, mm_y: float | None = None,
                                 rounding: Any = 'round', **kwargs: Any) -> float | int | None:
        """The level matching a magnification or a pixel size in mm (large_image's rules)."""
        max_level = self.levels - 1
        ratios = []
        if magnification and self.magnification:
            ratios.append(round(math.log2(magnification / self.magnification), 4))
        for wanted, native in ((mm_x, self.mm_x), (mm_y, self.mm_y)):
            if wanted and native:
                ratios.append(round(math.log2(native / wanted), 4))
        if exact and (not ratios or any(r != ratios[0] or r != int(r) for r in ratios)):
            return None
        level = max_level + (sum(ratios) / len(ratios) if ratios else 0)
        if rounding is None:
            return level
        if rounding == 'ceil':
            level = math.ceil(level)
            if exact and level > max_level:
                return None
        elif rounding:
            level = round(level)
        if exact and not 0 <= level <= max_level:
            return None
        return max(0, min(max_level, level))

    def getPreferredLevel(self, level: int) -> int:  # noqa: N802
        """``level`` clamped to the levels that exist (GDAL serves every level)."""
        return max(0, min(self.levels - 1, int(level)))

    # -- tiles ----------------------------------------------------------------------------------
    def getTileMimeType(self) -> str:  # noqa: N802
        return self.encoding_options.encoding.mimetype

    def getTile(self, x: int, y: int, z: int, pilImageAllowed: bool = False,  # noqa: N803,N802
                numpyAllowed: bool | str = False, sparseFallback: bool = False,
                frame: int | None = None) -> Any:
        """Tile ``(x, y)`` of level ``z`` (0 = whole image in one tile), encoded, as a Pillow
        image (``pilImageAllowed``) or as a raw numpy array (``numpyAllowed``)."""
        frame = self._check_frame(frame)
        window, width, height = self._tile_read(x, y, z)
        if self._passthrough_format and self._style is None \
                and not (pilImageAllowed or numpyAllowed or frame):
            stored = self._stored_tile(x, y, z)
            if stored is not None:
                return ImageBytes(stored, self.getTileMimeType())
        pixels = self._pixels(window, width, height, frame, self._tile_resampling, self._style)
        if numpyAllowed:
            return pixels if self.edge.crop else _pad(pixels, self.tileWidth, self.tileHeight)
        picture = self._picture(pixels, self._style is not None,
                                self._mask(window, width, height, frame), frame)
        if not self.edge.crop:
            picture = _pad(picture, self.tileWidth, self.tileHeight, self.edge.colour)
        if pilImageAllowed:
            return to_pil(picture)
        return encode_pixels(picture, self.encoding_options)

    def _tile_read(self, x: int, y: int, z: int) -> tuple[Window, int, int]:
        """The clipped base window of a tile and the buffer size it is read into. A projected
        source also serves zooms past its finest level (enlarged), as web maps ask for them."""
        top_z = MAX_PROJECTED_ZOOM if self._grid is not None else self.levels - 1
        if isinstance(z, bool) or not isinstance(z, (int, np.integer)) or not 0 <= z <= top_z:
            raise errors.TileRangeError(f'z layer does not exist: {z!r} (levels 0..{top_z})')
        max_level = self.levels - 1
        for name, value, size, tile in (('x', x, self.sizeX, self.tileWidth),
                                        ('y', y, self.sizeY, self.tileHeight)):
            count = tiles_across(size, tile, z, max_level)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
                    or not 0 <= value < count:
                raise errors.TileRangeError(f'{name} is outside layer: {value!r} '
                                            f'(0..{count - 1} at z={z})')
        window = tile_window(int(x), int(y), int(z), tile_width=self.tileWidth,
                             tile_height=self.tileHeight, max_level=max_level)
        window = window.intersection(Window(0, 0, self.sizeX, self.sizeY))
        factor = 2.0 ** (max_level - z)
        return window, max(1, round(window.width / factor)), max(1, round(window.height / factor))

    @cached_property
    def _passthrough_format(self) -> str | None:
        """The encoding whose stored tiles getTile can hand out as they are, or None."""
        info, plan = self._raster.info, self._display_plan
        compression = info.structure.get('COMPRESSION', '').upper()
        stored = 'JPEG' if compression.endswith('JPEG') else compression
        if stored != self.encoding_options.encoding.value or info.driver != 'GTiff' \
                or info.dtype != np.uint8 or info.has_external_mask or plan.palette is not None \
                or plan.alpha_band is not None or plan.colour_bands not in ((0,), (0, 1, 2)) \
                or plan.colour_bands != tuple(range(info.band_count)) \
                or (info.block_width, info.block_height) != (self.tileWidth, self.tileHeight) \
                or not passthrough.available():
            return None
        return stored

    def _stored_tile(self, x: int, y: int, z: int) -> bytes | None:
        """The stored compressed block that is exactly tile (x, y, z), if there is one."""
        dataset = self._raster.stored_level(1 << (self.levels - 1 - z))
        if dataset is None or (x + 1) * self.tileWidth > dataset.RasterXSize \
                or (y + 1) * self.tileHeight > dataset.RasterYSize:
            return None
        with gdal_errors(self.largeImagePath):
            return passthrough.read_compressed(dataset, self._passthrough_format, x * self.tileWidth,
                                               y * self.tileHeight, self.tileWidth, self.tileHeight)

    # -- regions --------------------------------------------------------------------------------
    def getRegion(self, format: Any = (TileFormat.IMAGE.value,), **kwargs: Any) -> tuple[Any, str]:  # noqa: A002
        """A region (``region=``, in any unit) at full resolution, at ``scale=`` or fitted to
        ``output=``, as ``(data, mime)``, ``(Pillow image, 'PIL')`` or ``(array, 'numpy')``."""
        request = RegionRequest.parse(kwargs)
        frame = self._check_frame(request.frame)
        plan = self._plan_region(request.region, request.output, request.scale)
        if request.encoding.encoding is Encoding.TILED:
            if request.style is not None:
                raise errors.OptionsError('A TILED region holds the stored values: it cannot '
                                          'take a style')
            return self._export_region(plan.window, plan.width, plan.height, request.resampling,
                                       request.output.path, frame), Encoding.TILED.mimetype
        style = self._request_style(request.style)
        pixels = self._read_plan(plan, request.resampling, frame, style)
        return self._deliver(pixels, plan.window, parse_formats(format), request.encoding,
                             request.fill, frame, styled=style is not None)

    def getThumbnail(self, width: int | None = None, height: int | None = None,  # noqa: N802
                     **kwargs: Any) -> tuple[Any, str]:
        """The whole image fitted within ``width`` × ``height`` (256 × 256 by default)."""
        for value in (width, height):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                      or value < 2):
                raise errors.OptionsError('Invalid width or height.  Minimum value is 2.')
        if width is None and height is None:
            width = height = 256
        kwargs.pop('region', None)
        kwargs['output'] = {'maxWidth': width, 'maxHeight': height}
        return self.getRegion(**kwargs)

    def getPixel(self, region: dict[str, Any] | None = None, frame: int | None = None,  # noqa: N802
                 style: Any = None) -> dict[str, Any]:
        """The pixel at ``region``'s left/top (in any unit): its 8-bit picture channels (``r``,
        ``g``, ``b``, ``a`` or ``l``), ``value`` (the styled values with a style, else the
        picture's) and ``bands``, the raw value of each band at the matching native pixel;
        ``{}`` outside the image. ``style`` replaces the source's for this call."""
        frame = self._check_frame(frame)
        spec = RegionSpec.parse({key: value for key, value in (region or {}).items()
                                 if key in ('left', 'top', 'units')})
        col, row = self._point_to_base(spec)
        if not (0 <= col < self.sizeX and 0 <= row < self.sizeY):
            return {}
        window = Window(col, row, 1, 1)
        style = self._request_style(style)
        pixels = self._pixels(window, 1, 1, frame, Resampling.NEAREST, style)
        picture = self._picture(pixels, style is not None,
                                self._mask(window, 1, 1, frame), frame)[0, 0]
        mode = to_pil(picture[None, None]).mode.lower()
        result: dict[str, Any] = dict(zip(mode, (int(v) for v in picture)))
        result['value'] = [float(v) for v in pixels[0, 0]] if style is not None \
            else [int(v) for v in picture]
        native = self._native_pixel(col, row)
        if native is not None:
            raw = self._frame_raster(frame).read(Window(native[0], native[1], 1, 1), 1, 1)[0, 0]
            result['bands'] = {index + 1: float(value) for index, value in enumerate(raw)}
        return result

    def _plan_region(self, region: RegionSpec, output: OutputSpec, scale: ScaleSpec | None,
                     *, budget: bool = True) -> RegionPlan:
        """Resolve a request to a base window, an output size and the level it matches; with
        ``budget`` the output must fit in config ``max_output_pixels``."""
        max_level = self.levels - 1
        scale_level = self._scale_level(scale) if scale is not None else None
        mag_factor = None if scale_level is None else 2.0 ** (max_level - scale_level)
        region = self._geo_region(region)
        if region == RegionSpec() and self._default_window is not None:
            window = self._default_window
        else:
            window = resolve_region(region, self.sizeX, self.sizeY, unit_scale_for(
                self.sizeX, self.sizeY, mm_x=self.mm_x, mm_y=self.mm_y, mag_factor=mag_factor))
        if output.given:
            width, height = output_size(window.width, window.height, output.max_width,
                                        output.max_height)
        elif mag_factor is not None:
            width, height = int(window.width / mag_factor), int(window.height / mag_factor)
        else:
            width, height = window.width, window.height
        if budget:
            config.check_output_budget(width, height)
        level = read_level(window.width, window.height, width, height, max_level) \
            if width and height else max_level
        return RegionPlan(window, width, height, level)

    def _scale_level(self, scale: ScaleSpec) -> float:
        if scale.level is not None:
            return scale.level
        if scale.magnification is not None and self.magnification is None \
                and scale.mm_x is None and scale.mm_y is None:
            raise errors.OptionsError(
                f'scale magnification {scale.magnification:g} needs the image\'s magnification, '
                'which this image does not have (no objective or pixel size is stated, or it is '
                'georeferenced); use mm_x/mm_y or level')
        level = self.getLevelForMagnification(scale.magnification, mm_x=scale.mm_x,
                                              mm_y=scale.mm_y, exact=scale.exact, rounding=None)
        if level is None:
            raise errors.RangeError(f'No level matches scale {scale} exactly')
        return level

    def _read_plan(self, plan: RegionPlan, resampling: Resampling, frame: int,
                   style: Any) -> np.ndarray:
        """The pixels of ``plan``. A plan with no output pixels (a region 0 wide or high, or
        narrower than one output pixel) gives an empty array that keeps the other side's size,
        with the dtype and bands of what a read gives: those of one pixel read through the same
        layer and style, so projected alpha bands and styled RGBA are right too."""
        if not (plan.window.empty or not plan.width or not plan.height):
            return self._pixels(plan.window, plan.width, plan.height, frame, resampling, style)
        rows = plan.height if plan.window.height else 0
        cols = plan.width if plan.window.width else 0
        corner = Window(min(plan.window.col_off, self.sizeX - 1),
                        min(plan.window.row_off, self.sizeY - 1), 1, 1)
        sample = self._pixels(corner, 1, 1, frame, Resampling.NEAREST, style)
        return np.zeros((rows, cols, sample.shape[2]), dtype=sample.dtype)

    def _deliver(self, pixels: np.ndarray, window: Window, fmt: TileFormat,
                 encoding: EncodeOptions, fill: Fill | None = None, frame: int = 0,
                 styled: bool = False) -> tuple[Any, str]:
        """Hand raw pixels back as numpy, a Pillow image or encoded bytes; ``fill`` letterboxes
        pictures (numpy keeps the stored values only). Empty pixels are an empty array, and a
        RangeError for the other formats: no image format holds 0 pixels (large_image's
        0-byte 'image/jpeg' is not a JPEG any reader opens)."""
        if fmt is TileFormat.NUMPY:
            return pixels, TileFormat.NUMPY.value
        if pixels.size == 0:
            wanted = 'a Pillow image' if fmt is TileFormat.PIL \
                else f'a {encoding.encoding.value} image'
            raise errors.RangeError(
                f'The region is empty: its {window.width} x {window.height} base pixels give '
                f'{pixels.shape[1]} x {pixels.shape[0]} output pixels, and {wanted} needs at '
                f"least one; use format='numpy' for an empty array")
        mask = self._mask(window, pixels.shape[1], pixels.shape[0], frame)
        picture = self._picture(pixels, styled, mask, frame)
        if fill is not None:
            picture = letterbox(picture, fill.width, fill.height, fill.colour, fill.corner)
        if fmt is TileFormat.PIL:
            return to_pil(picture), TileFormat.PIL.value
        return encode_pixels(picture, encoding), encoding.encoding.mimetype

    def _mask(self, window: Window, width: int, height: int, frame: int = 0) -> np.ndarray | None:
        if self._view is not None or window.empty:
            return None
        raster = self._frame_raster(frame)
        if not raster.info.has_external_mask:
            return None
        return raster.read_mask(window, width, height)

    @cached_property
    def _display_plan(self):
        return display_plan(self._layer_for(0).info.bands)


    # -- iteration ------------------------------------------------------------------------------
    def tileIterator(self, format: Any = (TileFormat.NUMPY.value,), resample: Any = True,  # noqa: A002,N802
                     **kwargs: Any) -> TileIterator:
        """Iterate over the tiles of a region (large_image's tile records, lazily read)."""
        return TileIterator(self, parse_formats(format), resample, kwargs)

    def getSingleTile(self, *args: Any, **kwargs: Any) -> LazyTileDict | None:  # noqa: N802
        """The first tile ``tileIterator`` would yield, or None."""
        return next(iter(self.tileIterator(*args, **kwargs)), None)

    def getTileCount(self, *args: Any, **kwargs: Any) -> int:  # noqa: N802
        """How many tiles ``tileIterator`` would yield over the whole region."""
        kwargs.pop('tile_position', None)
        return len(self.tileIterator(*args, **kwargs))


def _pad(pixels: np.ndarray, width: int, height: int,
         colour: tuple[int, int, int] | None = None) -> np.ndarray:
    """``pixels`` padded at the right and bottom to ``height`` × ``width`` with zeros, or with an
    opaque ``colour`` (as grey luminance for 1–2 channel pictures)."""
    if pixels.shape[0] >= height and pixels.shape[1] >= width:
        return pixels
    padded = np.zeros((height, width, pixels.shape[2]), dtype=pixels.dtype)
    if colour is not None:
        grey = (colour[0] * 299 + colour[1] * 587 + colour[2] * 114) // 1000
        fill = {1: [grey], 2: [grey, 255], 3: list(colour), 4: [*colour, 255]}[pixels.shape[2]]
        padded[...] = fill
    padded[:pixels.shape[0], :pixels.shape[1]] = pixels
    return padded
