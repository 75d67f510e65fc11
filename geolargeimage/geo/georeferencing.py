"""Where a raster's pixels lie on Earth: its horizontal CRS, its geotransform (or one fitted to
its GCPs) and its GCP outline, read once; its bounds in any CRS; and the pixel size and
magnification that follow from it (or from the file's resolution tags).

A :class:`Georeferencing` knows nothing of tiles or of the facade: the facade holds one and
asks it for bounds, and :class:`~geolargeimage.geo.placement.Placement` uses it to turn
coordinates into pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from osgeo import osr

from geolargeimage import errors
from geolargeimage.geo import crs
from geolargeimage.geo.ground_size import (
    gcp_outline,
    ground_pixel_size_mm,
    is_georeferenced,
    native_geotransform,
    resolution_tag_mm,
    spatial_ref,
)
from geolargeimage.io.error_mapping import gdal_errors
from geolargeimage.io.raster import Raster

#: A GCP outline: the four corners by name (ul, ur, ll, lr), and the densified edge points.
Outline = tuple[dict[str, tuple[float, float]], list[tuple[float, float]]]


@dataclass(frozen=True)
class PixelSize:
    """The physical size of a base pixel in mm (None when unknown) and the magnification."""

    mm_x: float | None
    mm_y: float | None
    magnification: float | None


@dataclass
class Georeferencing:
    """The georeferencing of a ``width`` × ``height`` raster at ``path``.

    ``srs`` is None when the raster is placed nowhere (no CRS, or a CRS without a geotransform or
    GCPs). A geotransform without a CRS is taken as longitude/latitude, as large_image does.
    """

    path: str
    width: int
    height: int
    srs: osr.SpatialReference | None
    geotransform: tuple[float, ...] | None
    outline: Outline | None
    georeferenced: bool = False
    _bounds: dict[str | None, dict[str, Any]] = field(default_factory=dict, repr=False)

    @classmethod
    def read(cls, raster: Raster) -> Georeferencing:
        """Read the georeferencing of ``raster`` (``GetSpatialRef``, ``GetGeoTransform``,
        ``GetGCPs``)."""
        with gdal_errors(raster.path):
            dataset = raster.dataset()
            srs = spatial_ref(dataset)
            geotransform = native_geotransform(dataset)
            outline = gcp_outline(dataset)
            georeferenced = is_georeferenced(dataset)
        if srs is None and geotransform is not None:
            srs = crs.wgs84()
        if geotransform is None and outline is None:
            # A CRS without a geotransform or GCPs places no pixel anywhere (gdalinfo gives no
            # corner coordinates): not georeferenced for bounds, units or projections.
            srs = None
        native = None if srs is None else crs.horizontal(crs.srs_from_wkt(srs.ExportToWkt()))
        return cls(raster.path, raster.info.width, raster.info.height, native, geotransform,
                   outline, georeferenced)

    @property
    def located(self) -> bool:
        """Whether pixels have coordinates (a CRS and a geotransform)."""
        return self.srs is not None and self.geotransform is not None

    def require(self) -> None:
        """Raise OptionsError unless pixels have coordinates."""
        if not self.located:
            raise errors.OptionsError(f'{self.path} has no georeferencing')

    # -- pixels and coordinates -------------------------------------------------------------------
    def pixel_to_native(self, col: float, row: float) -> tuple[float, float]:
        """Native CRS coordinates of native pixel (col, row)."""
        self.require()
        return _apply(self.geotransform, col, row)

    def native_to_pixel(self, x: float, y: float) -> tuple[float, float]:
        """Native pixel (col, row) of native CRS point (x, y)."""
        self.require()
        return _apply(_invert(self.geotransform), x, y)

    # -- bounds -----------------------------------------------------------------------------------
    def corners(self) -> dict[str, tuple[float, float]]:
        """The raster's corners (ul, ur, ll, lr) in its CRS."""
        if self.outline is not None:
            return dict(self.outline[0])
        gt, width, height = self.geotransform, self.width, self.height
        ul = (gt[0], gt[3])
        return {'ul': ul, 'ur': (ul[0] + width * gt[1], ul[1] + width * gt[4]),
                'll': (ul[0] + height * gt[2], ul[1] + height * gt[5]),
                'lr': (ul[0] + width * gt[1] + height * gt[2],
                       ul[1] + width * gt[4] + height * gt[5])}

    def native_box(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) in the native CRS; on the globe for longitude/latitude."""
        points = self.outline[1] if self.outline else self.corners().values()
        xs, ys = zip(*points)
        xmin, ymin, xmax, ymax = min(xs), min(ys), max(xs), max(ys)
        if self.srs.IsGeographic():
            ymin, ymax = max(ymin, -90.0), min(ymax, 90.0)
            if xmax - xmin >= 360:
                xmin, xmax = -180.0, 180.0
        return xmin, ymin, xmax, ymax

    def bounds(self, srs: str | None = None) -> dict[str, Any] | None:
        """Corners (ll, ul, lr, ur), xmin/xmax/ymin/ymax and srs, in the native CRS
        (``srs=None``) or reprojected to ``srs`` (densified); None when placed nowhere. A copy
        of a cached result."""
        if self.srs is None:
            return None
        if srs not in self._bounds:
            self._bounds[srs] = self._compute_bounds(srs)
        return {key: (dict(value) if isinstance(value, dict) else value)
                for key, value in self._bounds[srs].items()}

    def _compute_bounds(self, srs: str | None) -> dict[str, Any]:
        corners = self.corners()
        outline = self.outline[1] if self.outline else list(corners.values())
        xs, ys = zip(*outline)
        box = min(xs), min(ys), max(xs), max(ys)
        if srs:
            target = crs.parse_crs(srs)
            if self.srs.IsGeographic():
                corners = _clamp_geographic(corners)
            corners = dict(zip(corners, crs.transform_points(self.srs, target,
                                                             list(corners.values()))))
            if self.outline:  # the outline itself: a GCP raster is no box anywhere
                xs, ys = zip(*crs.transform_points(self.srs, target, outline))
                box = min(xs), min(ys), max(xs), max(ys)
            else:
                box = crs.transform_bounds(self.srs, target, self.native_box())
            if not all(map(math.isfinite, box)):
                xs, ys = zip(*corners.values())
                box = min(xs), min(ys), max(xs), max(ys)
        bounds: dict[str, Any] = {key: {'x': x, 'y': y} for key, (x, y) in corners.items()}
        bounds.update({'xmin': box[0], 'xmax': box[2], 'ymin': box[1], 'ymax': box[3],
                       'srs': srs if srs else crs.proj4(self.srs)})
        return bounds


def pixel_size(raster: Raster, georeferencing: Georeferencing, *,
               layout_mm: tuple[float, float] | None,
               layout_magnification: float | None) -> PixelSize:
    """The physical pixel size of ``raster``: on the ground when georeferenced, else the page
    layout's (a slide's description) or the TIFF resolution tags; and its magnification."""
    size = None
    if georeferencing.georeferenced:
        with gdal_errors(raster.path):
            size = ground_pixel_size_mm(raster.dataset())
    size = size or layout_mm or resolution_tag_mm(raster.info.metadata)
    mm_x, mm_y = size if size else (None, None)
    magnification = layout_magnification
    if magnification is None and mm_x and not georeferencing.georeferenced:
        # large_image's estimate for microscope images that state a pixel size but no
        # objective: 10x is 1 µm pixels. Ground pixels have no magnification.
        magnification = 0.01 / mm_x
    return PixelSize(mm_x, mm_y, magnification)


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
