"""A raster seen in a world tile grid: each zoom level is its own warped VRT, built on first use.

The rule every read keeps: a window of the grid read at ``out_width`` × ``out_height`` equals
``gdal.Warp`` of the source over that window's bounds at that size (``dstAlpha=True``, the
view's kernel and transformer error threshold). Windows on the pixel grid of a zoom level (every
tile, every region at a power-of-two scale) are read 1:1 from that zoom's warped VRT, which covers
the raster's footprint aligned to 256-pixel blocks: a zoom's VRT is built once and warps only the
blocks a read touches, so a tile is never resampled twice. Any other window is warped directly at
its own size. Where no data lies, every band is 0 (so alpha is transparent), and tiles outside
the footprint never fail.
"""

from __future__ import annotations

import contextlib
import functools
import math
import threading
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np
from osgeo import gdal, osr

from geolargeimage import config, errors
from geolargeimage.enums import Resampling
from geolargeimage.geo import crs
from geolargeimage.geo.tile_grid import TILE_SIZE, WorldGrid
from geolargeimage.grid import Window, coarsest_within
from geolargeimage.io.error_mapping import gdal_errors
from geolargeimage.io.levels import OVERVIEW_MARGIN
from geolargeimage.io.raster import Raster
from geolargeimage.io.settings import Env, read_options
from geolargeimage.io.vrt import build_warped_vrt, remove_virtual
from geolargeimage.raster_info import RasterInfo

#: World-pixel alignment of each zoom's warped VRTs (a block of that zoom).
ALIGNMENT = TILE_SIZE
#: Pixels around the densified footprint that are warped too (a bowed edge between two of its
#: points, GCP residuals).
MARGIN = 2
#: Largest side of a zoom's warped VRT; past it (deep zooms of large footprints) each read is
#: warped on its own. GDAL's raster sizes are 32-bit integers.
MAX_VRT_SIDE = 1 << 30


@dataclass(frozen=True)
class Piece:
    """One warped VRT of a zoom and where it lies in that zoom's pixels."""

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
    antimeridian of a world grid that wraps (web mercator, EPSG:4326); none when it lies
    outside the grid (beyond web mercator's latitudes).

    Bounds are densified (:func:`geolargeimage.geo.crs.transform_bounds`), so a bowed edge is not
    cut short.
    """
    target = grid.srs
    wraps = grid.lat_limit is not None or target.IsGeographic()
    if not wraps:
        bounds = crs.transform_bounds(native_srs, target, native_bounds)
        return [bounds] if all(map(math.isfinite, bounds)) else []
    west, south, east, north = crs.transform_bounds(native_srs, crs.wgs84(), native_bounds)
    limit = grid.lat_limit or 90.0
    south, north = max(south, -limit), min(north, limit)
    if not south < north:
        return []
    return [crs.transform_bounds(crs.wgs84(), target, (w, south, e, north))
            for w, e in lonlat_spans(west, east)]


def covering_window(bounds: tuple[float, float, float, float],
                    to_pixel: Callable[[float, float], tuple[float, float]], width: int,
                    height: int, align_x: int, align_y: int) -> Window:
    """Pixel window (of a grid ``width`` × ``height`` pixels, whose pixel of a point
    ``to_pixel`` gives) covering ``bounds`` and :data:`MARGIN` pixels more, aligned outward to
    ``align_x`` columns and ``align_y`` rows and clipped to the grid.

    >>> covering_window((10, 0, 20, 5), lambda x, y: (x, 5 - y), 1000, 1000, 256, 1)
    Window(col_off=0, row_off=0, width=256, height=7)
    """
    xmin, ymin, xmax, ymax = bounds
    col0, row0 = to_pixel(xmin, ymax)
    col1, row1 = to_pixel(xmax, ymin)
    col0 = max(0, math.floor((col0 - MARGIN) / align_x) * align_x)
    row0 = max(0, math.floor((row0 - MARGIN) / align_y) * align_y)
    col1 = min(width, math.ceil((col1 + MARGIN) / align_x) * align_x)
    row1 = min(height, math.ceil((row1 + MARGIN) / align_y) * align_y)
    return Window(col0, row0, max(0, col1 - col0), max(0, row1 - row0))


class WarpedView:
    """Reads of world windows of a raster warped into a :class:`WorldGrid`.

    Offers the reading interface of :class:`~geolargeimage.io.raster.Raster` (``info``, ``read``),
    with one more band: alpha. ``resampling`` is the open's kernel (``auto``: see
    :meth:`kernel`); ``native_resolution`` is the size of a source pixel in the grid's units.
    """

    def __init__(self, source: Raster, grid: WorldGrid, native_srs: osr.SpatialReference,
                 native_bounds: tuple[float, float, float, float], resampling: Resampling,
                 native_resolution: float | None = None):
        self.grid = grid
        self.source = source
        self.resampling = resampling
        self._native_resolution = native_resolution
        self.footprint = footprint(native_srs, native_bounds, grid)
        self.alpha_max = 65535 if source.info.dtype == np.uint16 else 255
        self._paletted = source.info.bands[0].color_table is not None
        self._source_bounds = _pole_clamped_bounds(native_srs, source)
        self._zooms: dict[tuple[int, Resampling, float], list[Piece] | None] = {}
        self._lock = threading.Lock()
        # The zooms' VRTs live in /vsimem: removed by close(), else when the view is collected.
        self._virtual_paths: list[str] = []
        weakref.finalize(self, _remove_all, self._virtual_paths)
        native = self._pieces(grid.max_level, self.kernel(grid.max_level, resampling))
        self.info: RasterInfo = native[0].raster.info if native else _with_alpha(source.info)

    @property
    def error_threshold(self) -> float:
        """The warper's transformer error threshold in pixels (config ``warp_error_threshold``;
        GDAL's default 0.125 is about 2.6× faster than the exact 0)."""
        return float(config.getConfig('warp_error_threshold'))

    def kernel(self, zoom: float, resampling: Resampling) -> Resampling:
        """The kernel a read at ``zoom`` (fractional for windows between zooms) warps with.

        ``auto`` is nearest at and past the native zoom (the grid's finest level). Below it,
        GDAL warps from the source level nearest the output's resolution; nearest is kept where
        that level is at most twice as fine as the output (an overview: already an average of
        the full resolution, so nearest does not alias, as rio-tiler serves COGs), and average
        is used where it is finer (a raster without overviews, whose nearest warp would
        alias). Paletted bands get nearest at every zoom: their values are categories."""
        if resampling is not Resampling.AUTO:
            return resampling
        if self._paletted or zoom >= self.grid.max_level - 1e-9 or not self._native_resolution:
            return Resampling.NEAREST
        ratio = self.grid.resolution(zoom) / self._native_resolution
        # GDAL's warper takes an overview within its margin of the output's resolution.
        level = self._warp_factors[coarsest_within(self._warp_factors,
                                                   ratio * (1 + OVERVIEW_MARGIN))]
        return Resampling.NEAREST if ratio <= 2 * level else Resampling.AVERAGE

    @functools.cached_property
    def _warp_factors(self) -> tuple[float, ...]:
        return self.source.warp_factors()

    @property
    def footprint_window(self) -> Window | None:
        """World-pixel window of all the data, to the nearest pixel (None when nothing lies in
        the grid)."""
        if not self.footprint:
            return None
        # Split at the antimeridian, the data lies at both ends of the world: the window is the
        # larger part (the two together would span the world).
        xmin, ymin, xmax, ymax = max(self.footprint, key=lambda box: box[2] - box[0])
        corners = [self.grid.to_pixel(x, y) for x, y in ((xmin, ymax), (xmax, ymin))]
        left = max(0, round(min(col for col, _ in corners)))
        top = max(0, round(min(row for _, row in corners)))
        right = min(self.grid.size_x, round(max(col for col, _ in corners)))
        bottom = min(self.grid.size_y, round(max(row for _, row in corners)))
        return Window(left, top, max(0, right - left), max(0, bottom - top))

    def read(self, window: Window, out_width: int, out_height: int, *,
             bands: list[int] | None = None,
             resampling: Resampling = Resampling.AUTO) -> np.ndarray:
        """``window`` (world pixels of the finest level; fractional past it) as
        ``(out_height, out_width, bands + alpha)``, equal to a direct warp of its bounds."""
        count = len(bands) if bands else self.info.band_count
        scale = window.width / out_width
        zoom = self.grid.max_level - math.log2(scale)
        kernel = self.kernel(zoom, self.resampling if resampling is Resampling.AUTO else resampling)
        if not self.footprint:
            return np.zeros((out_height, out_width, count), dtype=self.info.dtype)
        level = _grid_level(window, out_width, out_height, self.grid.max_level)
        pieces = None if level is None else self._pieces(level, kernel)
        if pieces is None:
            return self._warp_window(window, out_width, out_height, kernel, bands)
        out = np.zeros((out_height, out_width, count), dtype=self.info.dtype)
        col_off, row_off = round(window.col_off / scale), round(window.row_off / scale)
        wanted = Window(col_off, row_off, out_width, out_height)
        for piece in pieces:
            part = wanted.intersection(piece.window)
            if part.empty:
                continue
            local = Window(part.col_off - piece.window.col_off, part.row_off - piece.window.row_off,
                           part.width, part.height)
            with self._naming_damage(Window(part.col_off * scale, part.row_off * scale,
                                            part.width * scale, part.height * scale), part):
                out[part.row_off - row_off:part.bottom - row_off,
                    part.col_off - col_off:part.right - col_off] = piece.raster.read(
                        local, part.width, part.height, bands=bands,
                        resampling=Resampling.NEAREST)
        return out

    @contextlib.contextmanager
    def _naming_damage(self, world: Window, output: Window) -> Iterator[None]:
        """A warp of ``world`` (finest-level pixels) into ``output``'s size: when it fails, the
        error names the source's damaged blocks under it (GDAL's message names the warped
        VRT's block, not the file's)."""
        try:
            yield
        except errors.GDALError as exc:
            window = self._source_window(world)
            named = None if window is None else self.source.damage_under(
                window, output.width, output.height, exc)
            if named is None:
                raise
            raise named from exc

    def _source_window(self, world: Window) -> Window | None:
        """The source pixels under ``world`` (through GDAL's transformer, from a grid of points
        over it), clipped to the raster; None where none is."""
        steps = np.linspace(0.0, 1.0, 9)
        points = [self.grid.from_pixel(world.col_off + u * world.width,
                                       world.row_off + v * world.height)
                  for u in steps for v in steps]
        with gdal_errors(self.source.path), gdal.quiet_errors():
            transformer = gdal.Transformer(self.source.dataset(), None,
                                           [f'DST_SRS={self.grid.wkt}'])
            mapped, success = transformer.TransformPoints(1, points)
        pixels = [point for point, ok in zip(mapped, success) if ok]
        if not pixels:
            return None
        info = self.source.info
        left = max(0, math.floor(min(p[0] for p in pixels)) - MARGIN)
        top = max(0, math.floor(min(p[1] for p in pixels)) - MARGIN)
        right = min(info.width, math.ceil(max(p[0] for p in pixels)) + MARGIN)
        bottom = min(info.height, math.ceil(max(p[1] for p in pixels)) + MARGIN)
        if right <= left or bottom <= top:
            return None
        return Window(left, top, right - left, bottom - top)

    def _pieces(self, level: int, kernel: Resampling) -> list[Piece] | None:
        """The warped VRTs of zoom ``level`` with ``kernel`` and the current error threshold
        (built on first use), or None when one would be too large to be a GDAL raster."""
        key = (level, kernel, self.error_threshold)
        if key not in self._zooms:
            with self._lock:
                if key not in self._zooms:
                    self._zooms[key] = self._build_pieces(level, kernel)
        return self._zooms[key]

    def _build_pieces(self, level: int, kernel: Resampling) -> list[Piece] | None:
        size_x, size_y = self.grid.size_at(level)
        pieces = []
        for window in self._data_windows(lambda x, y: self.grid.to_pixel(x, y, level),
                                         size_x, size_y):
            if max(window.width, window.height) > MAX_VRT_SIDE:
                return None
            left, top = self.grid.from_pixel(window.col_off, window.row_off, level)
            right, bottom = self.grid.from_pixel(window.right, window.bottom, level)
            path = self._warped_vrt((left, bottom, right, top), window.width, window.height,
                                    kernel, block=True)
            self._virtual_paths.append(path)
            pieces.append(Piece(Raster(path, synthesize=False, remote=self.source.remote,
                                       view=self.source.path), window))
        return pieces

    def _data_windows(self, to_pixel: Callable[[float, float], tuple[float, float]],
                      width: int, height: int) -> list[Window]:
        """The windows of a ``width`` × ``height`` pixel grid that hold data: one per footprint
        box, aligned to blocks. Along an axis where the data is narrower than a block, the window
        is the data's own pixels instead: a whole block would reach far past the raster, into places
        its CRS maps wildly (a UTM zone seen from the other side of the Earth), where the
        approximate transformer, which checks one midpoint a row, interpolates source pixels."""
        windows = []
        for bounds in self.footprint:
            tight = covering_window(bounds, to_pixel, width, height, 1, 1)
            aligned = covering_window(bounds, to_pixel, width, height,
                                      ALIGNMENT if tight.width >= ALIGNMENT else 1,
                                      ALIGNMENT if tight.height >= ALIGNMENT else 1)
            if not aligned.empty:
                windows.append(aligned)
        return windows

    def _warped_vrt(self, bounds: tuple[float, float, float, float], width: int, height: int,
                    kernel: Resampling, *, block: bool) -> str:
        return build_warped_vrt(
            self.source.warp_source(), remote=self.source.remote, source_bounds=self._source_bounds,
            dst_wkt=self.grid.wkt, bounds=bounds, width=width, height=height,
            resampling=kernel.value, alpha_max=self.alpha_max,
            error_threshold=self.error_threshold, block=block)

    def _warp_window(self, window: Window, out_width: int, out_height: int, kernel: Resampling,
                     bands: list[int] | None) -> np.ndarray:
        """A window off every zoom's pixel grid, warped directly at its own size (the parts of
        it that hold data)."""
        count = len(bands) if bands else self.info.band_count
        out = np.zeros((out_height, out_width, count), dtype=self.info.dtype)
        scale_x, scale_y = window.width / out_width, window.height / out_height

        def to_output(x: float, y: float) -> tuple[float, float]:
            col, row = self.grid.to_pixel(x, y)
            return (col - window.col_off) / scale_x, (row - window.row_off) / scale_y

        for part in self._data_windows(to_output, out_width, out_height):
            left, top = self.grid.from_pixel(window.col_off + part.col_off * scale_x,
                                             window.row_off + part.row_off * scale_y)
            right, bottom = self.grid.from_pixel(window.col_off + part.right * scale_x,
                                                 window.row_off + part.bottom * scale_y)
            path = self._warped_vrt((left, bottom, right, top), part.width, part.height, kernel,
                                    block=False)
            world = Window(window.col_off + part.col_off * scale_x,
                           window.row_off + part.row_off * scale_y,
                           part.width * scale_x, part.height * scale_y)
            try:
                with self._naming_damage(world, part), gdal_errors(self.source.path), \
                        Env(**read_options(self.source.remote)):
                    dataset = gdal.Open(path)
                    data = dataset.ReadAsArray(band_list=bands, interleave='pixel')
                    dataset = None
            finally:
                remove_virtual(path)
            out[part.row_off:part.bottom, part.col_off:part.right] = data.reshape(
                part.height, part.width, count)
        return out

    def read_mask(self, window: Window, out_width: int, out_height: int) -> None:
        """None: the warp's alpha band carries where the data is."""
        return None

    def close(self) -> None:
        """Drop the zooms' VRTs (a later read builds them again)."""
        for pieces in self._zooms.values():
            for piece in pieces or ():
                piece.raster.close()
        self._zooms = {}
        _remove_all(self._virtual_paths)


def _grid_level(window: Window, out_width: int, out_height: int, max_level: int) -> int | None:
    """The zoom whose pixel grid ``window`` (finest-level pixels) lies on when read at this
    output size, or None when it lies on no zoom's grid (coarser than zoom 0 included, as a
    small thumbnail of the whole world is).

    >>> _grid_level(Window(512, 256, 512, 512), 256, 256, 10)
    9
    >>> print(_grid_level(Window(1, 0, 3, 3), 2, 2, 10))
    None
    >>> _grid_level(Window(0, 0, 1024, 1024), 128, 128, 2)
    """
    scale = window.width / out_width
    exponent = math.log2(scale)
    if abs(exponent - round(exponent)) > 1e-9 or \
            abs(window.height / out_height - scale) > 1e-9 * scale:
        return None
    col, row = window.col_off / scale, window.row_off / scale
    if abs(col - round(col)) > 1e-6 or abs(row - round(row)) > 1e-6:
        return None
    level = max_level - round(exponent)
    return level if level >= 0 else None


def _remove_all(paths: list[str]) -> None:
    """Remove the virtual datasets at ``paths`` (and forget them)."""
    while paths:
        remove_virtual(paths.pop())


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
