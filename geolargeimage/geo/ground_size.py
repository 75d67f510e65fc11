"""How large a pixel is on the ground, from whatever georeferencing GDAL understands.

The size is geodesic (on the WGS84 ellipsoid) and taken at the image centre, so a web-mercator
pixel reports its true size rather than its nominal one; without georeferencing, the TIFF
resolution tags give the physical size of scanned or microscope images.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from osgeo import gdal, osr
from pyproj import Geod

from geolargeimage.geo.crs import DENSIFY_POINTS

_GEOD = Geod(ellps='WGS84')
_WGS84 = osr.SpatialReference()
_WGS84.ImportFromEPSG(4326)
_WGS84.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
#: TIFF ResolutionUnit → millimetres per unit (1 = no absolute unit).
_RESOLUTION_UNIT_MM = {'2': 25.4, '3': 10.0}


def spatial_ref(dataset: gdal.Dataset) -> osr.SpatialReference | None:
    """The CRS of the dataset's georeferencing (its own, or that of its GCPs)."""
    srs = dataset.GetSpatialRef()
    if srs is None and dataset.GetGCPCount():
        srs = dataset.GetGCPSpatialRef()
    return srs


def is_georeferenced(dataset: gdal.Dataset) -> bool:
    """A CRS, GCPs, RPCs, or a geotransform other than GDAL's default."""
    return bool(spatial_ref(dataset) is not None or dataset.GetGCPCount()
                or dataset.GetMetadata('RPC')
                or dataset.GetGeoTransform(can_return_null=True) is not None)


def ground_pixel_size_mm(dataset: gdal.Dataset) -> tuple[float, float] | None:
    """Width and height of the centre pixel on the ground in millimetres, or None.

    Pixel corners go through ``gdal.Transformer`` (geotransform, GCPs or RPCs) into the raster's
    CRS, then to WGS84, and ``pyproj.Geod.inv`` measures them.
    """
    srs = spatial_ref(dataset)
    if srs is None or not (srs.IsProjected() or srs.IsGeographic()):
        return None
    srs = srs.Clone()
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    cx, cy = dataset.RasterXSize / 2, dataset.RasterYSize / 2
    points = [(cx - 0.5, cy), (cx + 0.5, cy), (cx, cy - 0.5), (cx, cy + 0.5)]
    try:
        to_crs = _pixel_to_crs(dataset)
        to_wgs84 = osr.CoordinateTransformation(srs, _WGS84)
        lonlat = []
        for px, py in points:
            crs_point = to_crs(px, py)
            if crs_point is None:
                return None
            lon, lat, _ = to_wgs84.TransformPoint(*crs_point)
            lonlat.append((lon, lat))
    except RuntimeError:
        return None
    width = _GEOD.inv(*lonlat[0], *lonlat[1])[2]
    height = _GEOD.inv(*lonlat[2], *lonlat[3])[2]
    if not width or not height:
        return None
    return width * 1000.0, height * 1000.0


def _pixel_to_crs(dataset: gdal.Dataset) -> Callable[[float, float], tuple[float, float] | None]:
    """Pixel → CRS coordinates: the geotransform alone when that is all the georeferencing
    (setting up a ``gdal.Transformer`` costs as much as the rest of opening a file), else
    GDAL's transformer, which knows GCPs and RPCs."""
    geotransform = dataset.GetGeoTransform(can_return_null=True)
    if geotransform is not None and not dataset.GetGCPCount() and not dataset.GetMetadata('RPC'):
        return lambda px, py: gdal.ApplyGeoTransform(geotransform, px, py)
    transformer = gdal.Transformer(dataset, None, [])

    def transform(px: float, py: float) -> tuple[float, float] | None:
        ok, (x, y, _z) = transformer.TransformPoint(0, px, py)
        return (x, y) if ok else None
    return transform


def resolution_tag_mm(metadata: dict[str, str]) -> tuple[float, float] | None:
    """Pixel size in mm from TIFF ``X/YRESOLUTION`` and ``RESOLUTIONUNIT`` tags, or None.

    >>> resolution_tag_mm({'TIFFTAG_XRESOLUTION': '20', 'TIFFTAG_YRESOLUTION': '40',
    ...                    'TIFFTAG_RESOLUTIONUNIT': '3 (pixels/cm)'})
    (0.5, 0.25)
    """
    unit = metadata.get('TIFFTAG_RESOLUTIONUNIT', '').split(' ')[0]
    mm_per_unit = _RESOLUTION_UNIT_MM.get(unit)
    try:
        x_res = float(metadata['TIFFTAG_XRESOLUTION'])
        y_res = float(metadata.get('TIFFTAG_YRESOLUTION', x_res))
    except (KeyError, ValueError):
        return None
    if mm_per_unit is None or x_res <= 0 or y_res <= 0:
        return None
    return mm_per_unit / x_res, mm_per_unit / y_res


def native_geotransform(dataset: gdal.Dataset) -> tuple[float, ...] | None:
    """The geotransform, or for GCP-only rasters the affine one fitted to the GCPs
    (``gdal.GCPsToGeoTransform``); None without either."""
    geotransform = dataset.GetGeoTransform(can_return_null=True)
    if geotransform is None and dataset.GetGCPCount():
        geotransform = gdal.GCPsToGeoTransform(dataset.GetGCPs())
    return tuple(geotransform) if geotransform else None


def gcp_outline(dataset: gdal.Dataset, points_per_edge: int = DENSIFY_POINTS
                ) -> tuple[dict[str, tuple[float, float]], list[tuple[float, float]]] | None:
    """For a raster georeferenced by GCPs only: its corners (ul, ur, ll, lr) and its outline
    (``points_per_edge`` points on each pixel edge) in the GCPs' CRS, through the GCP
    transformer ``gdal.Warp`` uses (``gdal.Transformer``: a polynomial of the order the GCP
    count allows), not the affine fit. None for other rasters.
    """
    if dataset.GetGeoTransform(can_return_null=True) is not None or not dataset.GetGCPCount():
        return None
    width, height = dataset.RasterXSize, dataset.RasterYSize
    steps = [i / (points_per_edge - 1) for i in range(points_per_edge)]
    edge = ([(u * width, 0.0) for u in steps] + [(u * width, float(height)) for u in steps]
            + [(0.0, v * height) for v in steps] + [(float(width), v * height) for v in steps])
    corners = {'ul': (0.0, 0.0), 'ur': (float(width), 0.0), 'll': (0.0, float(height)),
               'lr': (float(width), float(height))}
    try:
        with gdal.quiet_errors():
            transformer = gdal.Transformer(dataset, None, [])
            mapped, success = transformer.TransformPoints(0, list(corners.values()) + edge)
    except RuntimeError:
        return None
    if not all(success):
        return None
    points = [(x, y) for x, y, *_ in mapped]
    return dict(zip(corners, points[:4])), points[4:]


def resolution_in(dataset: gdal.Dataset, target_wkt: str) -> float | None:
    """Size of a native pixel in ``target_wkt`` units, or None.

    The finer of two estimates, each of which fails on a class of files: the centre pixel's
    shorter side (wrong where the centre is a pole of the target, as in a polar scene in web
    mercator) and the resolution of GDAL's suggested warp output (``gdal.Warp`` to a VRT with
    no bounds; far too coarse for a raster crossing the antimeridian, whose suggested extent is
    the whole world). Both go through ``gdal.Transformer``, so GCPs and RPCs are honoured.
    """
    estimates = [size for size in (_centre_pixel_size(dataset, target_wkt),
                                   _suggested_resolution(dataset, target_wkt))
                 if size is not None and math.isfinite(size) and size > 0]
    return min(estimates) if estimates else None


def _centre_pixel_size(dataset: gdal.Dataset, target_wkt: str) -> float | None:
    try:
        with gdal.quiet_errors():
            transformer = gdal.Transformer(dataset, None, [f'DST_SRS={target_wkt}'])
            cx, cy = dataset.RasterXSize / 2, dataset.RasterYSize / 2
            points = [transformer.TransformPoint(0, px, py)
                      for px, py in ((cx, cy), (cx + 1, cy), (cx, cy + 1))]
    except RuntimeError:
        return None
    if not all(ok for ok, _ in points):
        return None
    (x0, y0, _), (x1, y1, _), (x2, y2, _) = (point for _, point in points)
    sides = [math.hypot(x1 - x0, y1 - y0), math.hypot(x2 - x0, y2 - y0)]
    return min(sides) or None


def _suggested_resolution(dataset: gdal.Dataset, target_wkt: str) -> float | None:
    try:
        with gdal.quiet_errors():
            suggested = gdal.Warp('', dataset, format='VRT', dstSRS=target_wkt)
    except RuntimeError:
        return None
    geotransform = suggested.GetGeoTransform()
    return min(abs(geotransform[1]), abs(geotransform[5]))
