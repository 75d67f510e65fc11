"""A raster seen in a world tile grid: warped VRTs built once, read window by window.

The raster's footprint in the grid's projection is covered by one warped VRT (two when it
crosses the antimeridian), aligned to 256-pixel blocks of the finest level. A read of any world
window reads the parts that touch data and leaves the rest transparent (alpha 0), so tiles
outside the data never fail and tiles inside are seamless for every kernel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from osgeo import osr

from . import crs
from .grid import Window
from .options import Resampling
from .reader import Raster, RasterInfo
from .vrt import build_warped_vrt
from .world import TILE_SIZE, WorldGrid

#: World-pixel alignment of the warped VRTs (a block of the finest level).
ALIGNMENT = TILE_SIZE


@dataclass(frozen=True)
class Piece:
    """One warped VRT and where it lies in world pixels."""

    raster: Raster
    window: Window


def lonlat_spans(west: float, east: float) -> list[tuple[float, float]]:
    """Longitude spans within [-180, 180] of a box from ``west`` to ``east`` that may cross the
    antimeridian (``west > east``, or beyond ±180).

    >>> lonlat_spans(170, 190), lonlat_spans(170, -170), lonlat_spans(-10, 10)
    ([(170, 180), (-180, -170)], [(170, 180), (-180, -170)], [(-10, 10)])
    """
    if east - west >= 360:
        return [(-180.0, 180.0)]
    if west > east:
        east += 360
    if west < -180:
        west, east = west + 360, east + 360
    if east <= 180:
        return [(west, east)]
    if west >= 180:
        return [(west - 360, east - 360)]
    return [(west, 180), (-180, east - 360)]


def footprint(native_srs: osr.SpatialReference, native_bounds: tuple[float, float, float, float],
              grid: WorldGrid) -> list[tuple[float, float, float, float]]:
    """The raster's footprint in the grid's projection as one box, or two when it crosses the
    antimeridian of a world grid that wraps (web mercator, EPSG:4326)."""
    target = grid.srs
    wraps = grid.lat_limit is not None or target.IsGeographic()
    if not wraps:
        return [crs.transform_bounds(native_srs, target, native_bounds)]
    if native_srs.IsGeographic() and native_srs.IsSame(crs.wgs84()):
        west, south, east, north = native_bounds
    else:
        west, south, east, north = crs.transform_bounds(native_srs, crs.wgs84(), native_bounds)
    limit = grid.lat_limit or 90.0
    south, north = max(south, -limit), min(north, limit)
    if south >= north:
        return []
    return [crs.transform_bounds(crs.wgs84(), target, (w, south, e, north))
            for w, e in lonlat_spans(west, east)]


def aligned_window(bounds: tuple[float, float, float, float], grid: WorldGrid) -> Window:
    """World-pixel window covering ``bounds``, aligned outward to :data:`ALIGNMENT` pixels and
    clipped to the world."""
    xmin, ymin, xmax, ymax = bounds
    col0, row0 = grid.to_pixel(xmin, ymax)
    col1, row1 = grid.to_pixel(xmax, ymin)
    col0 = max(0, math.floor(col0 / ALIGNMENT) * ALIGNMENT)
    row0 = max(0, math.floor(row0 / ALIGNMENT) * ALIGNMENT)
    col1 = min(grid.size_x, math.ceil(col1 / ALIGNMENT) * ALIGNMENT)
    row1 = min(grid.size_y, math.ceil(row1 / ALIGNMENT) * ALIGNMENT)
    return Window(col0, row0, max(0, col1 - col0), max(0, row1 - row0))


class WarpedView:
    """Reads of world windows of a raster warped into a :class:`WorldGrid`.

    Offers the reading interface of :class:`~geolargeimage.reader.Raster` (``info``, ``read``),
    with one more band: alpha.
    """

    def __init__(self, source: Raster, grid: WorldGrid, native_srs: osr.SpatialReference,
                 native_bounds: tuple[float, float, float, float], resampling: Resampling):
        self.grid = grid
        self.source = source
        self.pieces: list[Piece] = []
        self.footprint = footprint(native_srs, native_bounds, grid)
        alpha_max = self.alpha_max = 65535 if source.info.dtype == np.uint16 else 255
        warp_source = source.warp_source()
        source_bounds = _pole_clamped_bounds(native_srs, source)
        for bounds in self.footprint:
            window = aligned_window(bounds, grid)
            if window.empty:
                continue
            left, top = grid.from_pixel(window.col_off, window.row_off)
            right, bottom = grid.from_pixel(window.right, window.bottom)
            path = build_warped_vrt(warp_source, remote=source.remote, source_bounds=source_bounds, dst_wkt=grid.wkt,
                                    bounds=(left, bottom, right, top),
                                    resolution=grid.resolution(), resampling=resampling.value,
                                    alpha_max=alpha_max)
            self.pieces.append(Piece(Raster(path, synthesize=False, remote=source.remote), window))
        self.info: RasterInfo = self.pieces[0].raster.info if self.pieces \
            else _with_alpha(source.info)

    @property
    def footprint_window(self) -> Window | None:
        """World-pixel window of all the data, to the nearest pixel (None when nothing lies in
        the grid)."""
        if not self.footprint:
            return None
        corners = [self.grid.to_pixel(x, y) for xmin, ymin, xmax, ymax in self.footprint
                   for x, y in ((xmin, ymax), (xmax, ymin))]
        left = max(0, round(min(col for col, _ in corners)))
        top = max(0, round(min(row for _, row in corners)))
        right = min(self.grid.size_x, round(max(col for col, _ in corners)))
        bottom = min(self.grid.size_y, round(max(row for _, row in corners)))
        return Window(left, top, max(0, right - left), max(0, bottom - top))

    def read(self, window: Window, out_width: int, out_height: int, *,
             bands: list[int] | None = None,
             resampling: Resampling = Resampling.NEAREST) -> np.ndarray:
        """``window`` (world pixels) as ``(out_height, out_width, bands + alpha)``; where no data
        lies, every band is 0 (so alpha is transparent)."""
        count = len(bands) if bands else self.info.band_count
        out = np.zeros((out_height, out_width, count), dtype=self.info.dtype)
        scale_x, scale_y = window.width / out_width, window.height / out_height
        for piece in self.pieces:
            part = window.intersection(piece.window)
            if part.empty:
                continue
            col0 = round((part.col_off - window.col_off) / scale_x)
            col1 = round((part.right - window.col_off) / scale_x)
            row0 = round((part.row_off - window.row_off) / scale_y)
            row1 = round((part.bottom - window.row_off) / scale_y)
            if col1 <= col0 or row1 <= row0:
                continue
            local = Window(part.col_off - piece.window.col_off, part.row_off - piece.window.row_off,
                           part.width, part.height)
            out[row0:row1, col0:col1] = piece.raster.read(local, col1 - col0, row1 - row0,
                                                          bands=bands, resampling=resampling)
        return out

    def close(self) -> None:
        for piece in self.pieces:
            piece.raster.close()


def _pole_clamped_bounds(native_srs: osr.SpatialReference,
                         source: Raster) -> tuple[float, float, float, float] | None:
    """(ulx, uly, lrx, lry) for a north-up longitude/latitude raster that overshoots the poles
    (a global grid offset by half a pixel), with latitudes clamped to ±90; None when it does not.
    Its rows are then stretched by that sliver rather than dropped: PROJ fails on every point
    beyond a pole."""
    geotransform = source.dataset().GetGeoTransform(can_return_null=True)
    if not native_srs.IsGeographic() or geotransform is None or geotransform[2] or \
            geotransform[4] or geotransform[5] >= 0:
        return None
    top = geotransform[3]
    bottom = top + source.info.height * geotransform[5]
    if top <= 90 and bottom >= -90:
        return None
    right = geotransform[0] + source.info.width * geotransform[1]
    return geotransform[0], min(top, 90.0), right, max(bottom, -90.0)


def _with_alpha(info: RasterInfo) -> RasterInfo:
    """``info`` as a warp with an alpha band would present it (for a grid with no data in it)."""
    if any(band.interpretation == 'alpha' for band in info.bands):
        return info
    alpha = replace(info.bands[-1], index=info.band_count + 1, interpretation='alpha',
                    nodata=None, color_table=None, categories=None, description=None)
    return replace(info, bands=(*info.bands, alpha))
