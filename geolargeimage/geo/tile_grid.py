"""The world tile grid of a projection: large_image's quadtree for projected CRSs (web mercator
and any other), and the WorldCRS84Quad grid for EPSG:4326 (two tiles at z = 0).

Pure arithmetic once built: projection units ↔ world pixels ↔ tiles. World pixels are the
pixels of the finest level, ``(0, 0)`` at the grid's top-left corner.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mercantile
from osgeo import osr

from geolargeimage.errors import OptionsError, SourceError
from geolargeimage.geo import crs

TILE_SIZE = 256


@dataclass(frozen=True)
class WorldGrid:
    """A tile matrix: ``matrix_width`` × ``matrix_height`` tiles at z = 0, each ``tile_span``
    projection units wide, starting at (``x_origin``, ``y_origin``), the top-left corner."""

    projection: str
    wkt: str
    x_origin: float
    y_origin: float
    tile_span: float
    matrix_width: int
    matrix_height: int
    levels: int
    lat_limit: float | None

    @property
    def srs(self) -> osr.SpatialReference:
        return crs.srs_from_wkt(self.wkt)

    @property
    def max_level(self) -> int:
        return self.levels - 1

    @property
    def size_x(self) -> int:
        return self.size_at(self.max_level)[0]

    @property
    def size_y(self) -> int:
        return self.size_at(self.max_level)[1]

    def size_at(self, level: int) -> tuple[int, int]:
        """Width and height in pixels of the whole world at ``level``."""
        return self.matrix_width * TILE_SIZE << level, self.matrix_height * TILE_SIZE << level

    def resolution(self, level: float | None = None) -> float:
        """Projection units per pixel of ``level`` (default: the finest)."""
        level = self.max_level if level is None else level
        return self.tile_span / TILE_SIZE / 2.0 ** level

    def tile_bounds(self, x: int, y: int, z: int) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of tile (x, y, z) in projection units.

        >>> grid = web_mercator_like('EPSG:3857', crs.parse_crs('EPSG:3857').ExportToWkt(), 1)
        >>> [round(v, 2) for v in grid.tile_bounds(0, 0, 0)]
        [-20037508.34, -20037508.34, 20037508.34, 20037508.34]
        """
        span = self.tile_span / 2.0 ** z
        return (self.x_origin + x * span, self.y_origin - (y + 1) * span,
                self.x_origin + (x + 1) * span, self.y_origin - y * span)

    def to_pixel(self, x: float, y: float, level: float | None = None) -> tuple[float, float]:
        """World pixel (column, row) of projection point (x, y) at ``level``."""
        resolution = self.resolution(level)
        return (x - self.x_origin) / resolution, (self.y_origin - y) / resolution

    def from_pixel(self, col: float, row: float, level: float | None = None) -> tuple[float, float]:
        """Projection point of world pixel (column, row) at ``level``."""
        resolution = self.resolution(level)
        return self.x_origin + col * resolution, self.y_origin - row * resolution


def web_mercator_like(projection: str, wkt: str, levels: int,
                      units_per_pixel: float | None = None) -> WorldGrid:
    """large_image's grid: one square tile at z = 0 centred on the CRS origin, as wide as the
    equator (or ``units_per_pixel`` × 256); web mercator's is mercantile's tile 0/0/0.

    >>> grid = web_mercator_like('EPSG:3857', crs.parse_crs('EPSG:3857').ExportToWkt(), 3)
    >>> all(math.isclose(ours, theirs) for ours, theirs in
    ...     zip(grid.tile_bounds(5, 2, 3), mercantile.xy_bounds(5, 2, 3)))
    True
    """
    srs = crs.srs_from_wkt(wkt)
    if units_per_pixel is not None:
        span = units_per_pixel * TILE_SIZE
    elif srs.IsSame(crs.parse_crs('EPSG:3857')):
        world = mercantile.xy_bounds(0, 0, 0)
        span = world.right - world.left
    else:
        (west, _), (east, _) = crs.transform_points(crs.wgs84(), srs, [(-180, 0), (180, 0)])
        span = east - west
        if not math.isfinite(span) or span <= 0:
            raise SourceError(f'unitsPerPixel must be specified for this projection '
                              f'({projection}): its equator has no width')
    lat_limit = crs.WEB_MERCATOR_LAT_LIMIT if 'merc' in crs.proj4(srs) else None
    return WorldGrid(projection, wkt, -span / 2, span / 2, span, 1, 1, levels, lat_limit)


def make_grid(projection: str, *, native_resolution: float | None,
              units_per_pixel: float | None = None) -> WorldGrid:
    """The grid of ``projection`` with enough levels for ``native_resolution`` (the raster's
    pixel size in projection units)."""
    srs = crs.parse_crs(projection)
    if units_per_pixel is not None and (not isinstance(units_per_pixel, (int, float))
                                        or not units_per_pixel > 0):
        raise OptionsError(f'unitsPerPixel must be a positive number, not {units_per_pixel!r}')
    if srs.IsGeographic():
        if not srs.IsSame(crs.wgs84()):
            raise OptionsError(f'Projection must not be geographic ({projection}); EPSG:4326 is '
                               'served as the WorldCRS84Quad grid, other geographic CRSs are not')
        grid = WorldGrid(projection, srs.ExportToWkt(), -180.0, 90.0, 180.0, 2, 1, 1, None)
    else:
        grid = web_mercator_like(projection, srs.ExportToWkt(), 1, units_per_pixel)
    if native_resolution and native_resolution > 0:
        levels = max(math.ceil(round(math.log2(grid.tile_span / native_resolution / TILE_SIZE),
                                     6)) + 1, 1)
    else:
        levels = 1
    return WorldGrid(grid.projection, grid.wkt, grid.x_origin, grid.y_origin, grid.tile_span,
                     grid.matrix_width, grid.matrix_height, levels, grid.lat_limit)
