"""The large_image-compatible facade: one class whose camelCase methods parse their keywords into
typed options and delegate to the planning, reading, rendering and encoding modules.

``getRegion`` is parse → plan → read → render → encode; ``getTile`` and ``tileIterator`` are the
same pipeline over different plans.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from . import config, errors, passthrough
from .encode import ImageBytes, encode_pixels, to_pil
from .env import gdal_errors
from .georef import ground_pixel_size_mm, is_georeferenced, resolution_tag_mm
from .grid import Window, level_count, output_size, read_level, tile_window, tiles_across
from .iterators import (AxisTile, IterationPlan, LazyTileDict, make_plan, select_position,
                        tile_records)
from .options import (EdgeMode, EncodeOptions, Fill, OutputSpec, RegionSpec, Resampling, ScaleSpec,
                      TileFormat, TilingSpec, parse_formats, parse_tile_position)
from .paths import is_virtual, to_gdal_path
from .reader import Raster
from .regions import resolve_region, unit_scale_for
from .render import (BandRange, display_plan, letterbox, sample_range, stretch_ranges,
                     to_display)

#: Longest side of the sample read for band statistics and display stretches.
STATISTICS_SAMPLE_SIZE = 1024
_OPEN_OPTIONS = ('encoding', 'jpegQuality', 'jpegSubsampling', 'tiffCompression', 'edge',
                 'noCache')


@dataclass(frozen=True)
class RegionPlan:
    """What a region request reads: a base-pixel window, the output size, the level it matches."""

    window: Window
    width: int
    height: int
    level: int


class TileSource:
    """A raster opened through GDAL and read with large_image's pixel API.

    Parameters mirror large_image: ``encoding`` (JPEG, PNG, WEBP, TIFF, ...) for ``getTile``,
    ``jpegQuality``, ``jpegSubsampling``, ``tiffCompression``, and ``edge`` (False pads edge tiles
    with zeros, True or 'crop' crops them, '#rrggbb' paints them).
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
        self._raster = Raster(self._gdal_path)
        info = self._raster.info
        self.sizeX, self.sizeY = info.width, info.height
        block = info.block_width if info.block_width == info.block_height else 0
        self.tileWidth = self.tileHeight = block if 64 <= block <= 1024 else 256
        self.levels = level_count(self.sizeX, self.sizeY, self.tileWidth, self.tileHeight)
        self._stats_lock = threading.Lock()
        self._georeference()

    def _georeference(self) -> None:
        with gdal_errors(self.largeImagePath):
            dataset = self._raster.dataset()
            self.geospatial = is_georeferenced(dataset)
            size = ground_pixel_size_mm(dataset) if self.geospatial else None
        size = size or resolution_tag_mm(self._raster.info.metadata)
        self.mm_x, self.mm_y = size if size else (None, None)

    def __repr__(self) -> str:
        return f'<{type(self).__name__} {self.largeImagePath!r} {self.sizeX}x{self.sizeY}>'

    def close(self) -> None:
        """Release GDAL handles and temporary pyramids now rather than at garbage collection."""
        self._raster.close()

    # -- metadata -------------------------------------------------------------------------------
    @property
    def dtype(self) -> np.dtype:
        return self._raster.info.dtype

    @property
    def bandCount(self) -> int:  # noqa: N802
        return self._raster.info.band_count

    @property
    def frames(self) -> int:
        return 1

    @property
    def metadata(self) -> dict[str, Any]:
        return self.getMetadata()

    def getMetadata(self) -> dict[str, Any]:  # noqa: N802
        """large_image's metadata dict: levels, size, tile size, pixel size, dtype, bands."""
        return {
            'levels': self.levels, 'sizeX': self.sizeX, 'sizeY': self.sizeY,
            'tileWidth': self.tileWidth, 'tileHeight': self.tileHeight,
            'magnification': None, 'mm_x': self.mm_x, 'mm_y': self.mm_y,
            'dtype': str(self.dtype), 'bandCount': self.bandCount,
            'geospatial': self.geospatial, 'sourceLevels': self.levels,
            'sourceSizeX': self.sizeX, 'sourceSizeY': self.sizeY,
        }

    def getInternalMetadata(self, **kwargs: Any) -> dict[str, Any]:  # noqa: N802
        """What GDAL says about the file: driver, files, size, metadata domains."""
        with gdal_errors(self.largeImagePath):
            dataset = self._raster.dataset()
            result: dict[str, Any] = {
                'driverShortName': dataset.GetDriver().ShortName,
                'driverLongName': dataset.GetDriver().LongName,
                'fileList': dataset.GetFileList(), 'RasterXSize': dataset.RasterXSize,
                'RasterYSize': dataset.RasterYSize,
                'GeoTransform': dataset.GetGeoTransform(can_return_null=True),
                'Projection': dataset.GetProjectionRef() or None,
                'Metadata': dataset.GetMetadata() or {},
            }
            for domain in dataset.GetMetadataDomainList() or []:
                if domain and domain not in ('DERIVED_SUBDATASETS',):
                    result['Metadata_' + domain] = dataset.GetMetadata(domain) or {}
        return result

    def getBandInformation(self, statistics: bool = True, **kwargs: Any) -> dict[int, dict]:  # noqa: N802
        """Per band (1-based): interpretation, dtype, nodata, scale/offset, units, colour table
        and min/max/mean/stdev from a sample of the whole image (cached)."""
        result = {}
        for band in self._raster.info.bands:
            entry = {'interpretation': band.interpretation, 'dtype': str(band.dtype),
                     'nodata': band.nodata, 'scale': band.scale, 'offset': band.offset,
                     'units': band.unit, 'description': band.description,
                     'colortable': list(band.color_table) if band.color_table else None,
                     'categories': list(band.categories) if band.categories else None}
            if statistics:
                entry.update(self._band_statistics[band.index - 1])
            result[band.index] = {k: v for k, v in entry.items() if v not in (None, '')}
        return result

    def getOneBandInformation(self, band: int) -> dict[str, Any]:  # noqa: N802
        return self.getBandInformation()[band]

    @cached_property
    def _band_statistics(self) -> list[dict[str, float]]:
        sample = self._statistics_sample
        stats = []
        for index, band in enumerate(self._raster.info.bands):
            values = sample[:, :, index]
            valid = values[np.isfinite(values)] if values.dtype.kind == 'f' else values.ravel()
            if band.nodata is not None:
                valid = valid[valid != band.nodata]
            if valid.size == 0:
                stats.append({})
                continue
            stats.append({'min': float(valid.min()), 'max': float(valid.max()),
                          'mean': float(valid.mean()), 'stdev': float(valid.std())})
        return stats

    @cached_property
    def _statistics_sample(self) -> np.ndarray:
        scale = min(1.0, STATISTICS_SAMPLE_SIZE / max(self.sizeX, self.sizeY))
        width, height = max(1, round(self.sizeX * scale)), max(1, round(self.sizeY * scale))
        return self._raster.read(Window(0, 0, self.sizeX, self.sizeY), width, height)

    @cached_property
    def _display_ranges(self) -> list[BandRange]:
        bands = self._raster.info.bands
        if self.dtype == np.uint8:
            return [BandRange(0, 255)] * len(bands)
        sample = self._statistics_sample
        ranges = [sample_range(sample[:, :, i], band.nodata) for i, band in enumerate(bands)]
        return stretch_ranges(ranges, self.dtype)

    # -- magnification and levels ---------------------------------------------------------------
    def getNativeMagnification(self) -> dict[str, float | None]:  # noqa: N802
        return {'magnification': None, 'mm_x': self.mm_x, 'mm_y': self.mm_y}

    def getMagnificationForLevel(self, level: float | None = None) -> dict[str, Any]:  # noqa: N802
        """Magnification and pixel size at ``level`` (None: full resolution)."""
        max_level = self.levels - 1
        level = max_level if level is None else level
        scale = 2.0 ** (max_level - level)
        has_mm = self.mm_x is not None and self.mm_y is not None
        return {'magnification': None, 'level': level, 'scale': scale,
                'mm_x': self.mm_x * scale if has_mm else None,
                'mm_y': self.mm_y * scale if has_mm else None}

    def getLevelForMagnification(self, magnification: float | None = None, exact: bool = False,  # noqa: N802
                                 mm_x: float | None = None, mm_y: float | None = None,
                                 rounding: Any = 'round', **kwargs: Any) -> float | int | None:
        """The level matching a magnification or a pixel size in mm (large_image's rules)."""
        max_level = self.levels - 1
        ratios = []
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
        self._check_frame(frame)
        window, width, height = self._tile_read(x, y, z)
        if self._passthrough_format and not (pilImageAllowed or numpyAllowed):
            stored = self._stored_tile(x, y, z)
            if stored is not None:
                return ImageBytes(stored, self.getTileMimeType())
        pixels = self._raster.read(window, width, height, resampling=Resampling.AUTO)
        if numpyAllowed:
            return pixels if self.edge.crop else _pad(pixels, self.tileWidth, self.tileHeight)
        picture = to_display(pixels, self._display_plan, self._display_ranges,
                             self._mask(window, width, height))
        if not self.edge.crop:
            picture = _pad(picture, self.tileWidth, self.tileHeight, self.edge.colour)
        if pilImageAllowed:
            return to_pil(picture)
        return encode_pixels(picture, self.encoding_options)

    def _tile_read(self, x: int, y: int, z: int) -> tuple[Window, int, int]:
        """The clipped base window of a tile and the buffer size it is read into."""
        if isinstance(z, bool) or not isinstance(z, (int, np.integer)) or not 0 <= z < self.levels:
            raise errors.TileRangeError(f'z layer does not exist: {z!r} (levels 0..{self.levels - 1})')
        max_level = self.levels - 1
        for name, value, size, tile in (('x', x, self.sizeX, self.tileWidth),
                                        ('y', y, self.sizeY, self.tileHeight)):
            count = tiles_across(size, tile, z, max_level)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
                    or not 0 <= value < count:
                raise errors.TileRangeError(f'{name} is outside layer: {value!r} '
                                            f'(0..{count - 1} at z={z})')
        full = tile_window(int(x), int(y), int(z), tile_width=self.tileWidth,
                           tile_height=self.tileHeight, max_level=max_level)
        window = full.intersection(Window(0, 0, self.sizeX, self.sizeY))
        factor = 1 << (max_level - z)
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
        request = _RegionRequest.parse(kwargs)
        self._check_frame(request.frame)
        plan = self._plan_region(request.region, request.output, request.scale)
        pixels = self._read_plan(plan, request.resampling)
        return self._deliver(pixels, plan.window, parse_formats(format), request.encoding,
                             request.fill)

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

    def _plan_region(self, region: RegionSpec, output: OutputSpec, scale: ScaleSpec | None,
                     *, budget: bool = True) -> RegionPlan:
        """Resolve a request to a base window, an output size and the level it matches; with
        ``budget`` the output must fit in config ``max_output_pixels``."""
        max_level = self.levels - 1
        scale_level = self._scale_level(scale) if scale is not None else None
        mag_factor = None if scale_level is None else 2.0 ** (max_level - scale_level)
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
            _check_budget(width, height)
        level = read_level(window.width, window.height, width, height, max_level) \
            if width and height else max_level
        return RegionPlan(window, width, height, level)

    def _scale_level(self, scale: ScaleSpec) -> float:
        if scale.level is not None:
            return scale.level
        if scale.magnification is not None and scale.mm_x is None and scale.mm_y is None:
            raise errors.OptionsError('scale magnification needs a magnification, which GDAL '
                                      'rasters do not have; use mm_x/mm_y or level')
        level = self.getLevelForMagnification(mm_x=scale.mm_x, mm_y=scale.mm_y,
                                              exact=scale.exact, rounding=None)
        if level is None:
            raise errors.RangeError(f'No level matches scale {scale} exactly')
        return level

    def _read_plan(self, plan: RegionPlan, resampling: Resampling) -> np.ndarray:
        if plan.window.empty or not plan.width or not plan.height:
            return np.zeros((0, 0, self.bandCount), dtype=self.dtype)
        return self._raster.read(plan.window, plan.width, plan.height, resampling=resampling)

    def _deliver(self, pixels: np.ndarray, window: Window, fmt: TileFormat,
                 encoding: EncodeOptions, fill: Fill | None = None) -> tuple[Any, str]:
        """Hand raw pixels back as numpy, a Pillow image or encoded bytes; ``fill`` letterboxes
        pictures (numpy keeps the stored values only)."""
        if fmt is TileFormat.NUMPY:
            return pixels, TileFormat.NUMPY.value
        if pixels.size == 0:
            if fmt is TileFormat.PIL:
                return to_pil(np.zeros(pixels.shape[:2] + (3,), np.uint8)), TileFormat.PIL.value
            return ImageBytes(b'', encoding.encoding.mimetype), encoding.encoding.mimetype
        mask = self._mask(window, pixels.shape[1], pixels.shape[0])
        picture = to_display(pixels, self._display_plan, self._display_ranges, mask)
        if fill is not None:
            picture = letterbox(picture, fill.width, fill.height, fill.colour, fill.corner)
        if fmt is TileFormat.PIL:
            return to_pil(picture), TileFormat.PIL.value
        return encode_pixels(picture, encoding), encoding.encoding.mimetype

    def _mask(self, window: Window, width: int, height: int) -> np.ndarray | None:
        if not self._raster.info.has_external_mask or window.empty:
            return None
        return self._raster.read_mask(window, width, height)

    @cached_property
    def _display_plan(self):
        return display_plan(self._raster.info.bands)

    def _check_frame(self, frame: int | None) -> None:
        if frame is not None and frame != 0:
            raise errors.TileRangeError(f'Frame does not exist: {frame!r} (this source has 1 frame)')

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


@dataclass(frozen=True)
class _RegionRequest:
    """getRegion's keywords, parsed."""

    region: RegionSpec
    output: OutputSpec
    scale: ScaleSpec | None
    encoding: EncodeOptions
    resampling: Resampling
    frame: int | None
    fill: Fill | None

    @classmethod
    def parse(cls, kwargs: dict[str, Any], *, allowed: tuple[str, ...] = ()) -> _RegionRequest:
        known = ('region', 'output', 'scale', 'encoding', 'jpegQuality', 'jpegSubsampling',
                 'tiffCompression', 'resample', 'frame', 'fill', *allowed)
        unknown = sorted(set(kwargs) - set(known))
        if unknown:
            raise errors.OptionsError(f'Unknown keyword(s) {", ".join(unknown)}; valid: '
                                      f'{", ".join(known)}')
        return cls(
            RegionSpec.parse(kwargs.get('region')), OutputSpec.parse(kwargs.get('output')),
            ScaleSpec.parse(kwargs.get('scale')),
            EncodeOptions.parse(kwargs.get('encoding', 'JPEG'), kwargs.get('jpegQuality', 95),
                                kwargs.get('jpegSubsampling', 0),
                                kwargs.get('tiffCompression', 'raw')),
            Resampling.parse(kwargs.get('resample', True)), kwargs.get('frame'),
            Fill.parse(kwargs.get('fill'), OutputSpec.parse(kwargs.get('output'))))


class TileIterator:
    """The tiles of one ``tileIterator`` call: ``len()``, ``.info`` and lazy records."""

    def __init__(self, source: TileSource, fmt: TileFormat, resample: Any, kwargs: dict[str, Any]):
        tiling_keys = ('tile_size', 'tile_overlap', 'tile_offset', 'tile_position')
        request = _RegionRequest.parse(kwargs, allowed=tiling_keys)
        source._check_frame(request.frame)
        if fmt is TileFormat.IMAGE and 'encoding' not in kwargs:
            raise errors.OptionsError('Invalid encoding "None": image tiles need encoding=')
        self._source, self._format, self._encoding = source, fmt, request.encoding
        self._resample = resample not in (False, None)
        self._resampling = Resampling.parse(resample) if self._resample else Resampling.NEAREST
        self._position = parse_tile_position(kwargs.get('tile_position'))
        self.plan = self._make_plan(source, request, TilingSpec.parse(
            kwargs.get('tile_size'), kwargs.get('tile_overlap'), kwargs.get('tile_offset')))
        self._indices = select_position(self.plan, self._position)

    def _make_plan(self, source: TileSource, request: _RegionRequest,
                   tiling: TilingSpec) -> IterationPlan:
        region = source._plan_region(request.region, request.output, request.scale, budget=False)
        _check_budget(tiling.tile_width or source.tileWidth, tiling.tile_height or source.tileHeight)
        window, max_level = region.window, source.levels - 1
        level_unit = 2.0 ** (max_level - region.level)
        common = {'level': region.level, 'tiling': tiling, 'level_unit': level_unit,
                  'default_tile': (source.tileWidth, source.tileHeight)}
        if (region.width, region.height) == (window.width, window.height):
            return make_plan(region=window, unit_x=1.0, unit_y=1.0, resampled=False, **common)
        unit_x = window.width / max(region.width, 1)
        unit_y = window.height / max(region.height, 1)
        if self._resample and round(unit_x / level_unit, 2) != 1:
            output = Window(round(window.col_off / unit_x), round(window.row_off / unit_y),
                            region.width, region.height)
            return make_plan(region=output, origin=(window.col_off, window.row_off), unit_x=unit_x,
                             unit_y=unit_y, resampled=True, **common)
        left, top = int(window.col_off / level_unit), int(window.row_off / level_unit)
        level_region = Window(left, top, max(int(window.right / level_unit), left + 1) - left,
                              max(int(window.bottom / level_unit), top + 1) - top)
        return make_plan(region=level_region, unit_x=level_unit, unit_y=level_unit,
                         resampled=False, **common)

    def __len__(self) -> int:
        return len(self._indices)

    @property
    def info(self) -> dict[str, Any] | None:
        """The iteration's overall figures, or None when nothing will be yielded."""
        if not self._indices:
            return None
        plan = self.plan
        return {'level': plan.level, 'region': plan.region, 'tile_count': plan.count,
                'resampled': plan.resampled, 'format': self._format.value,
                'sizeX': plan.region.right, 'sizeY': plan.region.bottom}

    def __iter__(self) -> Iterator[LazyTileDict]:
        return tile_records(self.plan, self._indices, self._describe, self._load)

    def _describe(self, plan: IterationPlan, col: AxisTile, row: AxisTile) -> dict[str, Any]:
        source = self._source
        scale = source.getMagnificationForLevel(plan.level)
        record = {
            'x': col.start, 'y': row.start, 'width': col.size, 'height': row.size,
            'level': plan.level, 'level_x': col.index, 'level_y': row.index,
            'magnification': None, 'mm_x': _times(source.mm_x, plan.unit_x),
            'mm_y': _times(source.mm_y, plan.unit_y),
            'tile_overlap': {'left': col.overlap_before, 'top': row.overlap_before,
                             'right': col.overlap_after, 'bottom': row.overlap_after},
            'gx': plan.base_x(col.start), 'gy': plan.base_y(row.start),
            'gwidth': col.size * plan.unit_x, 'gheight': row.size * plan.unit_y,
        }
        if plan.resampled:
            to_level_x, to_level_y = plan.unit_x / plan.level_unit, plan.unit_y / plan.level_unit
            record.update({
                'scaled': 1 / to_level_x, 'tile_x': col.start * to_level_x,
                'tile_y': row.start * to_level_y, 'tile_width': col.size * to_level_x,
                'tile_height': row.size * to_level_y, 'tile_magnification': None,
                'tile_mm_x': scale['mm_x'], 'tile_mm_y': scale['mm_y']})
        return record

    def _load(self, record: dict[str, Any]) -> tuple[Any, str]:
        source = self._source
        left, top = min(record['gx'], source.sizeX), min(record['gy'], source.sizeY)
        window = Window(left, top, min(record['gwidth'], source.sizeX - left),
                        min(record['gheight'], source.sizeY - top))
        pixels = source._raster.read(window, record['width'], record['height'],
                                     resampling=self._resampling)
        data, _mime = source._deliver(pixels, window, self._format, self._encoding)
        return data, self._format.value


def _check_budget(width: int, height: int) -> None:
    limit = config.getConfig('max_output_pixels')
    if width * height > limit:
        raise errors.OutputSizeError(
            f'A {width}x{height} output exceeds the budget of {limit} pixels; ask for a smaller '
            'output (output=, tile_size=) or raise config max_output_pixels')


def _times(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


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
