"""Where a source's base pixels lie: the raster's own pixels (placed by its georeferencing), or,
for a source opened with a projection, the world pixels of a tile grid.

A :class:`Placement` turns coordinates in any CRS (or in the grid's projection) into base
pixels and back, resolves regions written in CRS units, finds the native pixel under a base
pixel, and writes regions as georeferenced files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from pyproj import Geod

from geolargeimage import errors
from geolargeimage.enums import Resampling, Units
from geolargeimage.geo import crs
from geolargeimage.geo.georeferencing import Georeferencing
from geolargeimage.geo.ground_size import resolution_in
from geolargeimage.geo.tile_grid import WorldGrid, make_grid
from geolargeimage.grid import Window
from geolargeimage.io import export
from geolargeimage.io.error_mapping import gdal_errors
from geolargeimage.io.raster import Raster
from geolargeimage.options import RegionSpec
from geolargeimage.regions import unit_scale_for

_GEOD = Geod(ellps='WGS84')
#: Region units that name the grid's projection rather than a CRS.
PROJECTION_UNITS = ('projection', 'proj')


@dataclass(frozen=True)
class World:
    """A tile grid a raster is served in, and the raster's pixel size in the grid's units."""

    grid: WorldGrid
    native_resolution: float | None

    @classmethod
    def open(cls, raster: Raster, georeferencing: Georeferencing, projection: str,
             units_per_pixel: float | None) -> World:
        """The grid of ``projection`` for ``raster``; OptionsError when the raster is placed
        nowhere or cannot be transformed into it."""
        if not georeferencing.located:
            raise errors.OptionsError(f'{raster.path} has no georeferencing, so it cannot be '
                                      f'served in projection {projection!r}; open it without one')
        target = crs.parse_crs(projection)
        crs.check_transformable(georeferencing.srs, target)
        with gdal_errors(raster.path):
            resolution = resolution_in(raster.dataset(), target.ExportToWkt())
        return cls(make_grid(projection, native_resolution=resolution,
                             units_per_pixel=units_per_pixel), resolution)


def is_crs_units(units: str) -> bool:
    """Whether region ``units`` name a CRS (or the grid's projection) rather than a length."""
    lowered = units.lower()
    return (lowered in PROJECTION_UNITS or lowered in crs.WGS84_NAMES
            or lowered.startswith(('epsg:', 'proj4:', '+proj=', '+init=')))


class Placement:
    """Coordinates of the base pixels of a ``size_x`` × ``size_y`` source.

    Parameters
    ----------
    georeferencing : Georeferencing
        The raster's own georeferencing.
    grid : WorldGrid or None
        The grid base pixels belong to (a projected source), or None for native pixels.
    size : tuple of int
        The source's base size.
    mm : tuple
        Base pixel size in mm (None where unknown), for sizes in length units.
    """

    def __init__(self, georeferencing: Georeferencing, grid: WorldGrid | None,
                 size: tuple[int, int], mm: tuple[float | None, float | None]):
        self.georeferencing, self.grid = georeferencing, grid
        self.size_x, self.size_y = size
        self.mm_x, self.mm_y = mm

    # -- points -----------------------------------------------------------------------------------
    def pixel_to_projection(self, x: float, y: float, level: float, max_level: int
                            ) -> tuple[float, float]:
        """Projection (or native CRS) coordinates of pixel (x, y) of ``level``."""
        if self.grid is not None:
            return self.grid.from_pixel(x, y, level)
        scale = 2.0 ** (max_level - level)
        return self.georeferencing.pixel_to_native(x * scale, y * scale)

    def native_pixel_of(self, x: float, y: float, proj: str | None) -> tuple[float, float]:
        """Native pixel of point (x, y) in ``proj`` (default: the grid's projection, else the
        native CRS)."""
        geo = self.georeferencing
        geo.require()
        source = crs.parse_crs(proj) if proj else (self.grid.srs if self.grid else None)
        if source is not None:
            ((x, y),) = crs.transform_points(source, geo.srs, [(x, y)])
        return geo.native_to_pixel(x, y)

    def crs_to_base(self, units: str, points: list[tuple[float, float]]
                    ) -> list[tuple[float, float]]:
        """Base pixels of points written in ``units`` (a CRS name or 'projection')."""
        if units.lower() in PROJECTION_UNITS:
            if self.grid is None:
                raise errors.OptionsError('Units "projection" need a source opened with a '
                                          'projection')
            return [self.grid.to_pixel(x, y) for x, y in points]
        geo = self.georeferencing
        if geo.srs is None:
            raise errors.OptionsError(f'Units {units!r} need a georeferenced raster')
        working = self.grid.srs if self.grid is not None else geo.srs
        projected = crs.transform_points(crs.parse_crs(units), working, points)
        if self.grid is not None:
            return [self.grid.to_pixel(x, y) for x, y in projected]
        return [geo.native_to_pixel(x, y) for x, y in projected]

    def base_to_lonlat(self, col: float, row: float) -> tuple[float, float]:
        """Longitude and latitude of base pixel (col, row)."""
        if self.grid is not None:
            point, working = self.grid.from_pixel(col, row), self.grid.srs
        else:
            point, working = self.georeferencing.pixel_to_native(col, row), \
                self.georeferencing.srs
        ((lon, lat),) = crs.transform_points(working, crs.wgs84(), [point])
        return lon, lat

    def native_pixel(self, col: int, row: int) -> tuple[int, int] | None:
        """The native pixel under base pixel (col, row), or None outside the raster."""
        if self.grid is None:
            return col, row
        x, y = self.grid.from_pixel(col + 0.5, row + 0.5)
        native_col, native_row = self.native_pixel_of(x, y, None)
        native_col, native_row = math.floor(native_col), math.floor(native_row)
        geo = self.georeferencing
        if 0 <= native_col < geo.width and 0 <= native_row < geo.height:
            return native_col, native_row
        return None

    def point_to_base(self, spec: RegionSpec) -> tuple[int, int]:
        """Base pixel (column, row) of a region's left/top corner in any unit."""
        if spec.left is None or spec.top is None:
            raise errors.OptionsError('getPixel needs region left and top')
        if spec.units is not None and is_crs_units(spec.units):
            ((col, row),) = self.crs_to_base(spec.units, [(spec.left, spec.top)])
            return math.floor(col), math.floor(row)
        scale = self._unit_scale(Units.parse(spec.units))
        left = spec.left + self.size_x if spec.left < 0 else spec.left
        top = spec.top + self.size_y if spec.top < 0 else spec.top
        return math.floor(left * scale[0]), math.floor(top * scale[1])

    # -- regions ----------------------------------------------------------------------------------
    def region_to_base(self, spec: RegionSpec) -> RegionSpec:
        """``spec`` with edges in a CRS turned into a base-pixel region, clipped to the image
        (sizes in ``unitsWH`` lengths are walked along the WGS84 geodesic from the corner);
        other regions are returned as they are."""
        units = spec.units
        if units is None or not is_crs_units(units):
            return spec
        sizes_in_crs = spec.units_wh is None
        left, right = _span(spec.left, spec.right, spec.width if sizes_in_crs else None)
        top, bottom = _span(spec.top, spec.bottom, spec.height if sizes_in_crs else None)
        if (left is None and right is None) or (top is None and bottom is None):
            raise errors.SourceError(f'Cannot convert from projection {units!r}: the region needs '
                                     'at least one of left/right and one of top/bottom')
        corner = (left if left is not None else right, top if top is not None else bottom)
        anchor = self.crs_to_base(units, [corner])[0]
        if not sizes_in_crs and (spec.width is not None or spec.height is not None):
            return self._clipped(*self._box_from_sizes(anchor, spec))
        if None in (left, right, top, bottom):
            return self._clipped(anchor[0], anchor[1], None, None)
        points = self.crs_to_base(units, [(left, top), (right, bottom), (left, bottom),
                                          (right, top)])
        cols, rows = [p[0] for p in points], [p[1] for p in points]
        return self._clipped(min(cols), min(rows), max(cols), max(rows))

    def _clipped(self, left: float, top: float, right: float | None,
                 bottom: float | None) -> RegionSpec:
        """An absolute base-pixel box (None: the image's far edge) clipped to the image;
        :class:`RangeError` when it lies wholly outside."""
        right = self.size_x if right is None else right
        bottom = self.size_y if bottom is None else bottom
        if right <= 0 or left >= self.size_x or bottom <= 0 or top >= self.size_y:
            raise errors.RangeError(f'Region ({left:g}, {top:g})-({right:g}, {bottom:g}) in base '
                                    f'pixels lies outside the image (0, 0, {self.size_x}, '
                                    f'{self.size_y})')
        return RegionSpec(left=max(0.0, left), top=max(0.0, top), right=min(self.size_x, right),
                          bottom=min(self.size_y, bottom))

    def _box_from_sizes(self, anchor: tuple[float, float],
                        spec: RegionSpec) -> tuple[float, float, float | None, float | None]:
        """(left, top, right, bottom) from a base-pixel corner and sizes in ``unitsWH``."""
        units = Units.parse(spec.units_wh)
        if units.millimeters is None:
            scale = self._unit_scale(units)
            width = None if spec.width is None else spec.width * scale[0]
            height = None if spec.height is None else spec.height * scale[1]
        else:
            meters = units.millimeters / 1000
            lon, lat = self.base_to_lonlat(*anchor)
            width = height = None
            if spec.width is not None:
                east = _GEOD.fwd(lon, lat, 90, spec.width * meters)[:2]
                width = abs(self.crs_to_base('EPSG:4326', [east])[0][0] - anchor[0])
            if spec.height is not None:
                south = _GEOD.fwd(lon, lat, 180, spec.height * meters)[:2]
                height = abs(self.crs_to_base('EPSG:4326', [south])[0][1] - anchor[1])
        return (anchor[0], anchor[1], None if width is None else anchor[0] + width,
                None if height is None else anchor[1] + height)

    def _unit_scale(self, units: Units) -> tuple[float, float]:
        return unit_scale_for(self.size_x, self.size_y, mm_x=self.mm_x, mm_y=self.mm_y,
                              mag_factor=None)(units)

    # -- files ------------------------------------------------------------------------------------
    def export(self, raster: Raster, window: Window, width: int, height: int,
               resampling: Resampling, path: str | None) -> Path:
        """Write base window ``window`` of ``raster`` at ``width`` × ``height`` as a
        georeferenced tiled GeoTIFF (warped into the grid's projection, if any)."""
        if window.empty or not width or not height:
            raise errors.RangeError('An empty region cannot be written as a TILED file')
        bands = list(range(1, raster.info.band_count + 1))
        kernel = raster.resolve_resampling(resampling, window, width, height, bands).value
        target = export.target_path(path)
        if self.grid is None:
            return export.translate_window(
                raster.path, target, width=width, height=height, resampling=kernel,
                window=(window.col_off, window.row_off, window.width, window.height))
        left, top = self.grid.from_pixel(window.col_off, window.row_off)
        right, bottom = self.grid.from_pixel(window.right, window.bottom)
        return export.warp_bounds(raster.warp_source(), target, dst_wkt=self.grid.wkt,
                                  bounds=(left, bottom, right, top), width=width, height=height,
                                  resampling=kernel)


def _span(low: float | None, high: float | None,
          length: float | None) -> tuple[float | None, float | None]:
    """Both ends of one axis from what was given (a missing end from the other and the length)."""
    if low is None and high is not None and length is not None:
        low = high - length
    if high is None and low is not None and length is not None:
        high = low + length
    return low, high
