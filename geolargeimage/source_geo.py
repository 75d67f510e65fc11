"""The geospatial half of the facade: projections, bounds, coordinate conversions, pixel values.

A mixin of :class:`~geolargeimage.source.TileSource`: it reads the raster's georeferencing once,
builds the world grid and its warped view when a ``projection`` is asked for, and turns regions
written in CRS units into base pixels.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from pyproj import Geod

from . import crs, errors, export
from .env import gdal_errors
from .georef import gcp_outline, native_geotransform, resolution_in, spatial_ref
from .grid import Window
from .options import RegionSpec, Resampling, Units
from .projected import WarpedView
from .reader import Raster
from .regions import unit_scale_for
from .world import TILE_SIZE, WorldGrid, make_grid

_GEOD = Geod(ellps='WGS84')
#: Region units that name a CRS rather than a length.
_PROJECTION_UNITS = ('projection', 'proj')


class GeoMethods:
    """Bounds, projections and CRS units; expects ``_raster``, ``levels``, ``sizeX``, ``sizeY``."""

    _raster: Raster
    _view: WarpedView | None
    levels: int
    sizeX: int  # noqa: N815
    sizeY: int  # noqa: N815

    # -- set-up ---------------------------------------------------------------------------------
    def _read_georeference(self) -> None:
        """The native CRS and geotransform (fitted to GCPs when that is all there is)."""
        with gdal_errors(self._raster.path):
            dataset = self._raster.dataset()
            srs = spatial_ref(dataset)
            self._geotransform = native_geotransform(dataset)
            self._gcp_outline = gcp_outline(dataset)
        if srs is None and self._geotransform is not None:
            srs = crs.wgs84()  # a bare geotransform is taken as longitude/latitude, as large_image
        if self._geotransform is None and self._gcp_outline is None:
            # A CRS without a geotransform or GCPs places no pixel anywhere (gdalinfo gives no
            # corner coordinates): not georeferenced for bounds, units or projections.
            srs = None
        self._native_srs = None if srs is None \
            else crs.horizontal(crs.srs_from_wkt(srs.ExportToWkt()))
        self._bounds_cache: dict[str | None, dict[str, Any] | None] = {}
        self.projection: str | None = None
        self._grid: WorldGrid | None = None

    def _open_projection(self, projection: str, units_per_pixel: float | None,
                         resampling: Resampling) -> None:
        """Serve the raster in ``projection``'s world grid through a warped view."""
        if self._native_srs is None or self._geotransform is None:
            raise errors.OptionsError(f'{self._raster.path} has no georeferencing, so it cannot be '
                                      f'served in projection {projection!r}; open it without one')
        target = crs.parse_crs(projection)
        crs.check_transformable(self._native_srs, target)
        with gdal_errors(self._raster.path):
            resolution = resolution_in(self._raster.dataset(), target.ExportToWkt())
        self._grid = make_grid(projection, native_resolution=resolution,
                               units_per_pixel=units_per_pixel)
        self._native_resolution = resolution
        self._warp_kernel = resampling
        self._view = self._warp_frame(self._raster)
        self.projection = projection.lower() if projection.lower().startswith('epsg:') \
            else projection
        self.sizeX, self.sizeY = self._grid.size_x, self._grid.size_y
        self.tileWidth = self.tileHeight = TILE_SIZE
        self.levels = self._grid.levels

    def _warp_frame(self, raster: Raster) -> WarpedView:
        """A frame's raster warped into the grid (frames share the first frame's georeferencing)."""
        return WarpedView(raster, self._grid, self._native_srs, self._native_bounds_box(),
                          self._warp_kernel, self._native_resolution)

    # -- bounds ---------------------------------------------------------------------------------
    def _native_corners(self) -> dict[str, tuple[float, float]]:
        if self._gcp_outline is not None:
            return dict(self._gcp_outline[0])
        gt = self._geotransform
        width, height = self._raster.info.width, self._raster.info.height
        ul = (gt[0], gt[3])
        return {'ul': ul, 'ur': (ul[0] + width * gt[1], ul[1] + width * gt[4]),
                'll': (ul[0] + height * gt[2], ul[1] + height * gt[5]),
                'lr': (ul[0] + width * gt[1] + height * gt[2], ul[1] + width * gt[4] + height * gt[5])}

    def _native_bounds_box(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) in the native CRS; on the globe for longitude/latitude."""
        points = self._gcp_outline[1] if self._gcp_outline else self._native_corners().values()
        xs, ys = zip(*points)
        xmin, ymin, xmax, ymax = min(xs), min(ys), max(xs), max(ys)
        if self._native_srs.IsGeographic():
            ymin, ymax = max(ymin, -90.0), min(ymax, 90.0)
            if xmax - xmin >= 360:
                xmin, xmax = -180.0, 180.0
        return xmin, ymin, xmax, ymax

    def getBounds(self, srs: str | None = None) -> dict[str, Any] | None:  # noqa: N802
        """Corners (ll, ul, lr, ur), xmin/xmax/ymin/ymax and srs of the raster, in its own CRS
        (``srs=None``) or reprojected to ``srs``; None without georeferencing."""
        if self._native_srs is None:
            return None
        if srs not in self._bounds_cache:
            corners = self._native_corners()
            outline = self._gcp_outline[1] if self._gcp_outline else list(corners.values())
            xs, ys = zip(*outline)
            box = min(xs), min(ys), max(xs), max(ys)
            if srs:
                target = crs.parse_crs(srs)
                if self._native_srs.IsGeographic():
                    corners = _clamp_geographic(corners)
                points = crs.transform_points(self._native_srs, target, list(corners.values()))
                corners = dict(zip(corners, points))
                if self._gcp_outline:  # the outline itself: a GCP raster is no box anywhere
                    xs, ys = zip(*crs.transform_points(self._native_srs, target, outline))
                    box = min(xs), min(ys), max(xs), max(ys)
                else:
                    box = crs.transform_bounds(self._native_srs, target,
                                               self._native_bounds_box())
                if not all(map(math.isfinite, box)):
                    xs, ys = zip(*corners.values())
                    box = min(xs), min(ys), max(xs), max(ys)
            bounds = {key: {'x': x, 'y': y} for key, (x, y) in corners.items()}
            bounds.update({'xmin': box[0], 'xmax': box[2], 'ymin': box[1], 'ymax': box[3],
                           'srs': srs if srs else crs.proj4(self._native_srs)})
            self._bounds_cache[srs] = bounds
        result = self._bounds_cache[srs]
        return None if result is None else {k: (dict(v) if isinstance(v, dict) else v)
                                            for k, v in result.items()}

    def getCenter(self, *args: Any, **kwargs: Any) -> tuple[float, float]:  # noqa: N802
        """(y, x) of the centre: native CRS coordinates on georeferenced rasters, else pixels."""
        bounds = self.getBounds()
        if bounds is None:
            return self._raster.info.height / 2, self._raster.info.width / 2
        return (bounds['ymin'] + bounds['ymax']) / 2, (bounds['xmin'] + bounds['xmax']) / 2

    def _geo_metadata(self) -> dict[str, Any]:
        info = self._raster.info
        return {
            'projection': self.projection, 'sourceSizeX': info.width, 'sourceSizeY': info.height,
            'sourceLevels': self._source_levels,
            'bounds': self.getBounds(self.projection) if self.projection else self.getBounds(),
            'sourceBounds': self.getBounds(),
        }

    # -- coordinates ----------------------------------------------------------------------------
    def pixelToProjection(self, x: float, y: float, level: float | None = None  # noqa: N802
                          ) -> tuple[float, float]:
        """Projection (or native CRS) coordinates of pixel (x, y) of ``level``."""
        level = self.levels - 1 if level is None else level
        if self._grid is not None:
            return self._grid.from_pixel(x, y, level)
        if self._geotransform is None:
            raise errors.OptionsError(f'{self._raster.path} has no georeferencing')
        scale = 2.0 ** (self.levels - 1 - level)
        return _apply(self._geotransform, x * scale, y * scale)

    def toNativePixelCoordinates(self, x: float, y: float, proj: str | None = None,  # noqa: N802
                                 roundResults: bool = True) -> tuple[float, float]:  # noqa: N803
        """Native pixel (column, row) of point (x, y) in ``proj`` (default: the projection the
        source was opened with, else its own CRS)."""
        if self._native_srs is None or self._geotransform is None:
            raise errors.OptionsError(f'{self._raster.path} has no georeferencing')
        source = crs.parse_crs(proj) if proj else (self._grid.srs if self._grid else None)
        if source is not None:
            ((x, y),) = crs.transform_points(source, self._native_srs, [(x, y)])
        col, row = _apply(_invert(self._geotransform), x, y)
        return (int(round(col)), int(round(row))) if roundResults else (col, row)

    def _crs_to_base(self, units: str, points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        """Base pixels of points written in ``units`` (a CRS name or 'projection')."""
        if units.lower() in _PROJECTION_UNITS:
            if self._grid is None:
                raise errors.OptionsError('Units "projection" need a source opened with a '
                                          'projection')
            return [self._grid.to_pixel(x, y) for x, y in points]
        if self._native_srs is None:
            raise errors.OptionsError(f'Units {units!r} need a georeferenced raster')
        source = crs.parse_crs(units)
        working = self._grid.srs if self._grid is not None else self._native_srs
        projected = crs.transform_points(source, working, points)
        if self._grid is not None:
            return [self._grid.to_pixel(x, y) for x, y in projected]
        inverse = _invert(self._geotransform)
        return [_apply(inverse, x, y) for x, y in projected]

    def _base_to_lonlat(self, col: float, row: float) -> tuple[float, float]:
        if self._grid is not None:
            point, working = self._grid.from_pixel(col, row), self._grid.srs
        else:
            point, working = _apply(self._geotransform, col, row), self._native_srs
        ((lon, lat),) = crs.transform_points(working, crs.wgs84(), [point])
        return lon, lat

    def _geo_region(self, spec: RegionSpec) -> RegionSpec:
        """``spec`` with edges in a CRS turned into a base-pixel region, clipped to the image
        (sizes in ``unitsWH`` lengths are walked along the WGS84 geodesic from the corner)."""
        units = spec.units
        if units is None or not _is_crs_units(units):
            return spec
        sizes_in_crs = spec.units_wh is None
        left, right = _span(spec.left, spec.right, spec.width if sizes_in_crs else None)
        top, bottom = _span(spec.top, spec.bottom, spec.height if sizes_in_crs else None)
        if (left is None and right is None) or (top is None and bottom is None):
            raise errors.SourceError(f'Cannot convert from projection {units!r}: the region needs '
                                     'at least one of left/right and one of top/bottom')
        corner = (left if left is not None else right, top if top is not None else bottom)
        anchor = self._crs_to_base(units, [corner])[0]
        if not sizes_in_crs and (spec.width is not None or spec.height is not None):
            return self._clipped(*self._box_from_sizes(anchor, spec))
        if None in (left, right, top, bottom):
            return self._clipped(anchor[0], anchor[1], None, None)
        points = self._crs_to_base(units, [(left, top), (right, bottom), (left, bottom),
                                           (right, top)])
        cols, rows = [p[0] for p in points], [p[1] for p in points]
        return self._clipped(min(cols), min(rows), max(cols), max(rows))

    def _clipped(self, left: float, top: float, right: float | None,
                 bottom: float | None) -> RegionSpec:
        """An absolute base-pixel box (None: the image's far edge) clipped to the image;
        :class:`RangeError` when it lies wholly outside."""
        right = self.sizeX if right is None else right
        bottom = self.sizeY if bottom is None else bottom
        if right <= 0 or left >= self.sizeX or bottom <= 0 or top >= self.sizeY:
            raise errors.RangeError(f'Region ({left:g}, {top:g})-({right:g}, {bottom:g}) in base '
                                    f'pixels lies outside the image (0, 0, {self.sizeX}, '
                                    f'{self.sizeY})')
        return RegionSpec(left=max(0.0, left), top=max(0.0, top), right=min(self.sizeX, right),
                          bottom=min(self.sizeY, bottom))

    def _box_from_sizes(self, anchor: tuple[float, float],
                        spec: RegionSpec) -> tuple[float, float, float | None, float | None]:
        """(left, top, right, bottom) from a base-pixel corner and sizes in ``unitsWH``."""
        units = Units.parse(spec.units_wh)
        if units.millimeters is None:
            scale = unit_scale_for(self.sizeX, self.sizeY, mm_x=self.mm_x, mm_y=self.mm_y,
                                   mag_factor=None)(units)
            width = None if spec.width is None else spec.width * scale[0]
            height = None if spec.height is None else spec.height * scale[1]
        else:
            meters = units.millimeters / 1000
            lon, lat = self._base_to_lonlat(*anchor)
            width = height = None
            if spec.width is not None:
                east = _GEOD.fwd(lon, lat, 90, spec.width * meters)[:2]
                width = abs(self._crs_to_base('EPSG:4326', [east])[0][0] - anchor[0])
            if spec.height is not None:
                south = _GEOD.fwd(lon, lat, 180, spec.height * meters)[:2]
                height = abs(self._crs_to_base('EPSG:4326', [south])[0][1] - anchor[1])
        return (anchor[0], anchor[1], None if width is None else anchor[0] + width,
                None if height is None else anchor[1] + height)

    def _point_to_base(self, spec: RegionSpec) -> tuple[int, int]:
        """Base pixel (column, row) of a region's left/top corner in any unit."""
        if spec.left is None or spec.top is None:
            raise errors.OptionsError('getPixel needs region left and top')
        if spec.units is not None and _is_crs_units(spec.units):
            ((col, row),) = self._crs_to_base(spec.units, [(spec.left, spec.top)])
            return math.floor(col), math.floor(row)
        scale = unit_scale_for(self.sizeX, self.sizeY, mm_x=self.mm_x, mm_y=self.mm_y,
                               mag_factor=None)(Units.parse(spec.units))
        left = spec.left + self.sizeX if spec.left < 0 else spec.left
        top = spec.top + self.sizeY if spec.top < 0 else spec.top
        return math.floor(left * scale[0]), math.floor(top * scale[1])

    def _native_pixel(self, col: int, row: int) -> tuple[int, int] | None:
        """The native pixel under base pixel (col, row), or None outside the raster."""
        if self._grid is None:
            return col, row
        x, y = self._grid.from_pixel(col + 0.5, row + 0.5)
        native_col, native_row = self.toNativePixelCoordinates(x, y, roundResults=False)
        native_col, native_row = math.floor(native_col), math.floor(native_row)
        info = self._raster.info
        if 0 <= native_col < info.width and 0 <= native_row < info.height:
            return native_col, native_row
        return None

    def _export_region(self, window: Window, width: int, height: int, resampling: Resampling,
                       path: str | None, frame: int = 0) -> Path:
        """Write the region of ``frame`` as a georeferenced tiled GeoTIFF (in the projection,
        if any)."""
        raster = self._frame_raster(frame)
        if window.empty or not width or not height:
            raise errors.RangeError('An empty region cannot be written as a TILED file')
        bands = list(range(1, raster.info.band_count + 1))
        kernel = raster.resolve_resampling(resampling, window, width, height, bands).value
        target = export.target_path(path)
        if self._grid is None:
            return export.translate_window(
                raster.path, target, width=width, height=height, resampling=kernel,
                window=(window.col_off, window.row_off, window.width, window.height))
        left, top = self._grid.from_pixel(window.col_off, window.row_off)
        right, bottom = self._grid.from_pixel(window.right, window.bottom)
        return export.warp_bounds(raster.warp_source(), target, dst_wkt=self._grid.wkt,
                                  bounds=(left, bottom, right, top), width=width, height=height,
                                  resampling=kernel)

    @property
    def _default_window(self) -> Window | None:
        """What a region with no edges covers: the footprint of the data in a projection (not the
        whole world), else the whole image."""
        if self._view is not None:
            return self._view.footprint_window
        return None


def _span(low: float | None, high: float | None,
          length: float | None) -> tuple[float | None, float | None]:
    """Both ends of one axis from what was given (a missing end from the other and the length)."""
    if low is None and high is not None and length is not None:
        low = high - length
    if high is None and low is not None and length is not None:
        high = low + length
    return low, high


def _is_crs_units(units: str) -> bool:
    lowered = units.lower()
    return (lowered in _PROJECTION_UNITS or lowered in crs.WGS84_NAMES
            or lowered.startswith(('epsg:', 'proj4:', '+proj=', '+init=')))


def _clamp_geographic(corners: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """Latitudes clamped to ±90; longitudes shifted so the westmost lies in [-180, 180), and a
    raster then reaching 180 spans -180 to 180 (large_image's rule: a global grid that overshoots
    by half a pixel still reprojects)."""
    shift = -360.0 * math.floor((min(lon for lon, _ in corners.values()) + 180) / 360)
    clamped = {key: (lon + shift, max(-90.0, min(90.0, lat)))
               for key, (lon, lat) in corners.items()}
    if any(lon >= 180 for lon, _ in clamped.values()):
        for key, lon in (('ul', -180.0), ('ll', -180.0), ('ur', 180.0), ('lr', 180.0)):
            clamped[key] = (lon, clamped[key][1])
    return clamped


def _apply(gt: tuple[float, ...], col: float, row: float) -> tuple[float, float]:
    return gt[0] + col * gt[1] + row * gt[2], gt[3] + col * gt[4] + row * gt[5]


def _invert(gt: tuple[float, ...]) -> tuple[float, ...]:
    det = gt[1] * gt[5] - gt[2] * gt[4]
    if not det:
        raise errors.SourceError('The geotransform cannot be inverted')
    return (
        (gt[2] * gt[3] - gt[0] * gt[5]) / det, gt[5] / det, -gt[2] / det,
        (gt[0] * gt[4] - gt[1] * gt[3]) / det, -gt[4] / det, gt[1] / det,
    )

