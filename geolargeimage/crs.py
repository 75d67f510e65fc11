"""Coordinate reference systems: parse the strings users write, transform points and boxes.

Every ``osr.SpatialReference`` made here uses the traditional GIS axis order (x = easting or
longitude first), so transforms never swap axes behind the caller's back.
"""

from __future__ import annotations

import functools
import math

from osgeo import gdal, osr

from .errors import OptionsError

#: Latitude where web mercator's square world ends.
WEB_MERCATOR_LAT_LIMIT = 85.0511287798066
#: Names that mean WGS84 longitude/latitude.
WGS84_NAMES = ('wgs84', '4326', 'epsg:4326', 'crs84', 'ogc:crs84')


@functools.lru_cache(maxsize=64)
def _parse(text: str) -> str:
    srs = osr.SpatialReference()
    with gdal.quiet_errors():
        try:
            srs.SetFromUserInput(text)
        except RuntimeError as exc:
            raise OptionsError(f'Unknown or malformed CRS {text!r}: {exc}') from None
    if not srs.ExportToWkt():
        raise OptionsError(f'Unknown or malformed CRS {text!r}')
    return srs.ExportToWkt()


def parse_crs(text: str) -> osr.SpatialReference:
    """A CRS from ``EPSG:n``, ``proj4:…``, ``+proj=…``, ``+init=epsg:n``, ``wgs84``, WKT, ...

    >>> parse_crs('EPSG:3857').GetAuthorityCode(None)
    '3857'
    >>> parse_crs('wgs84').IsGeographic()
    1
    """
    if not isinstance(text, str) or not text.strip():
        raise OptionsError(f'A CRS must be a non-empty string, not {text!r}')
    value = text.strip()
    lowered = value.lower()
    if lowered in WGS84_NAMES:
        value = 'EPSG:4326'
    elif lowered.startswith('proj4:'):
        value = value[len('proj4:'):]
    elif lowered.startswith('+init=epsg:'):
        value = 'EPSG:' + value.split(':', 1)[1]
    return srs_from_wkt(_parse(value))


def srs_from_wkt(wkt: str) -> osr.SpatialReference:
    """A SpatialReference in traditional axis order from WKT."""
    srs = osr.SpatialReference()
    srs.ImportFromWkt(wkt)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def proj4(srs: osr.SpatialReference) -> str:
    """The PROJ.4 string of a CRS (large_image's ``srs`` in bounds)."""
    with gdal.quiet_errors():
        return srs.ExportToProj4().strip()


def wgs84() -> osr.SpatialReference:
    return srs_from_wkt(_parse('EPSG:4326'))


@functools.lru_cache(maxsize=128)
def _transformation(source_wkt: str, target_wkt: str) -> osr.CoordinateTransformation:
    return osr.CoordinateTransformation(srs_from_wkt(source_wkt), srs_from_wkt(target_wkt))


def transform_points(source: osr.SpatialReference, target: osr.SpatialReference,
                     points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """``points`` transformed from ``source`` to ``target`` (x, y order); a point that cannot be
    transformed comes back as (inf, inf)."""
    transformation = _transformation(source.ExportToWkt(), target.ExportToWkt())
    result = []
    with gdal.quiet_errors():
        for x, y in points:
            try:
                tx, ty, _ = transformation.TransformPoint(float(x), float(y))
            except RuntimeError:
                tx = ty = math.inf
            result.append((tx, ty) if math.isfinite(tx) and math.isfinite(ty)
                          else (math.inf, math.inf))
    return result


def transform_bounds(source: osr.SpatialReference, target: osr.SpatialReference,
                     bounds: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """(xmin, ymin, xmax, ymax) of ``bounds`` in ``target``, densified along the edges
    (``osr.CoordinateTransformation.TransformBounds``)."""
    transformation = _transformation(source.ExportToWkt(), target.ExportToWkt())
    with gdal.quiet_errors():
        return tuple(transformation.TransformBounds(*bounds, 21))


def same_crs(first: osr.SpatialReference, second: osr.SpatialReference) -> bool:
    return bool(first.IsSame(second))
