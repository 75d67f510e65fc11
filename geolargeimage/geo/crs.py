"""Coordinate reference systems: parse the strings users write, transform points and boxes.

Every ``osr.SpatialReference`` made here uses the traditional GIS axis order (x = easting or
longitude first), so transforms never swap axes behind the caller's back.
"""

from __future__ import annotations

import functools
import json
import math
import re

import mercantile
import numpy as np
import pyproj
from osgeo import gdal, osr

from geolargeimage.errors import OptionsError

#: (xmin, ymin, xmax, ymax).
Bounds = tuple[float, float, float, float]

#: Latitude where web mercator's square world ends (mercantile's tile 0/0/0).
WEB_MERCATOR_LAT_LIMIT = mercantile.bounds(0, 0, 0).north
#: Points per edge of a densified box (GDAL's and rio-tiler's default).
DENSIFY_POINTS = 21
#: Points per side of the grid that bounds a box whose corners are off the Earth.
SAMPLE_POINTS = 41
#: Bisection steps that find the edge of the part of a box that transforms (1/2**30 of a step).
BISECTIONS = 30
#: Names that mean WGS84 longitude/latitude.
WGS84_NAMES = ('wgs84', 'wgs 84', '4326', 'epsg:4326', 'crs84', 'ogc:crs84')
#: The other well-known datum names GDAL takes as a geographic CRS.
DATUM_NAMES = {'nad27': 'EPSG:4267', 'nad83': 'EPSG:4269', 'wgs72': 'EPSG:4322'}


#: Authorities whose codes name a CRS in PROJ's database (``pyproj.database.get_authorities``,
#: plus GDAL's short 'IAU').
AUTHORITIES = ('EPSG', 'ESRI', 'IAU', 'IAU_2015', 'IGNF', 'NKG', 'NRCAN', 'OGC', 'PROJ')
#: What :func:`parse_crs` accepts, for messages.
ACCEPTED_CRS = ("an authority code such as 'EPSG:4326' (authorities: " + ', '.join(AUTHORITIES)
                + "), an OGC URN 'urn:ogc:def:crs:EPSG::4326', WKT (1 or 2), PROJJSON, a PROJ "
                "string '+proj=...', '+init=epsg:n', or 'wgs84' (any of them may follow "
                "'proj4:'); no URL, path or file name")
_AUTHORITY_CODE = re.compile(r'(?P<authority>[A-Za-z][A-Za-z0-9_]*):(?P<code>[A-Za-z0-9_.+-]+)')
_URN = re.compile(r'urn:ogc:def:crs(?:,crs)?:[A-Za-z0-9_.,:+-]*', re.IGNORECASE)
#: Keywords a WKT 1 or WKT 2 CRS starts with.
_WKT = re.compile(r'(?:PROJCS|GEOGCS|GEOCCS|COMPD_CS|VERT_CS|LOCAL_CS|FITTED_CS|GEODCRS|'
                  r'GEODETICCRS|GEOGCRS|GEOGRAPHICCRS|PROJCRS|PROJECTEDCRS|VERTCRS|VERTICALCRS|'
                  r'COMPOUNDCRS|BOUNDCRS|ENGCRS|ENGINEERINGCRS|PARAMETRICCRS|TIMECRS|'
                  r'DERIVEDPROJCRS)\s*[\[(]', re.IGNORECASE)
#: PROJ takes its keys with or without the '+': 'init=' reads a file as '+init=' does.
_INIT = re.compile(r'(?:^|\s)\+?init\s*=\s*(\S*)', re.IGNORECASE)
_INIT_EPSG = re.compile(r'epsg:\d+', re.IGNORECASE)
#: Words that make PROJ read a file wherever they appear (a WKT PARAMETERFILE or PROJ4_GRIDS,
#: PROJJSON's parameter_file, a PROJ string's file keys)...
_FILE_WORDS = re.compile(r'PARAMETERFILE|PROJ4_GRIDS|parameter_file|(?:^|\s)\+?(?:file|filename|'
                         r'path)\s*=', re.IGNORECASE)
#: ...and grid keys, in a PROJ string or a WKT EXTENSION["PROJ4", ...]: only the null grid
#: (``+nadgrids=@null`` of Google's mercator) is data.
_GRIDS = re.compile(r'(?:nadgrids|geoidgrids|grids)\s*=\s*([^\s"\]]*)', re.IGNORECASE)
#: SetFromUserInput options: CRS text is data, never a download or a file to read.
_DATA_ONLY = ['ALLOW_NETWORK_ACCESS=NO', 'ALLOW_FILE_ACCESS=NO']


def crs_text_kind(text: str) -> tuple[str, str]:
    """(kind, text to parse) of a CRS string, by its syntax alone: no GDAL, PROJ or file
    system is asked, so the answer never depends on what exists on this machine.

    Kinds are 'authority', 'urn', 'wkt', 'projjson' and 'proj' (large_image's ``proj4:``
    prefix is dropped first). Raise
    :class:`~geolargeimage.errors.OptionsError` for anything else: URLs, paths, ``+init=``
    files and grid-shift files (text that ``SetFromUserInput`` would fetch or read).

    >>> crs_text_kind('wgs84'), crs_text_kind('proj4:+proj=longlat')
    (('authority', 'EPSG:4326'), ('proj', '+proj=longlat'))
    >>> crs_text_kind('/etc/passwd')
    Traceback (most recent call last):
    ...
    geolargeimage.errors.OptionsError: Unsupported CRS '/etc/passwd': ...
    """
    if not isinstance(text, str) or not text.strip():
        raise OptionsError(f'A CRS must be a non-empty string, not {text!r}')
    value = text.strip()
    lowered = value.lower()
    if lowered in WGS84_NAMES:
        return 'authority', 'EPSG:4326'
    if lowered in DATUM_NAMES:
        return 'authority', DATUM_NAMES[lowered]
    if value.isdigit():  # a bare EPSG code, as GDAL takes it
        return 'authority', f'EPSG:{value}'
    if lowered.startswith('proj4:'):
        return crs_text_kind(value[len('proj4:'):])
    if value.startswith('+') or _INIT.search(value):
        inits = _INIT.findall(value)
        if any(not _INIT_EPSG.fullmatch(init) for init in inits):
            raise _refused(text, "'+init=' only takes 'epsg:n' (init files are not read)")
        if inits and len(value.split()) == 1:
            return 'authority', 'EPSG:' + inits[0].split(':', 1)[1]
        kind = 'proj'
    elif value.startswith('{'):
        try:
            parsed = json.loads(value)
            if not isinstance(parsed, dict):
                raise ValueError('not an object')
        except ValueError as exc:
            raise _refused(text, f'not PROJJSON ({exc})') from None
        if _FILE_WORDS.search(json.dumps(parsed)):  # JSON escapes can spell the keys
            raise _refused(text, 'parameter files are not read')
        kind = 'projjson'
    elif _URN.fullmatch(value):
        kind = 'urn'
    elif (match := _AUTHORITY_CODE.fullmatch(value)) is not None:
        if match['authority'].upper() not in AUTHORITIES:
            raise _refused(text, f'unknown authority {match["authority"]!r}')
        kind = 'authority'
    elif _WKT.match(value):
        kind = 'wkt'
    else:
        raise _refused(text, 'not a recognised CRS syntax (URLs, paths and file names are '
                             'not read)')
    grids = [name.lstrip('@') for found in _GRIDS.findall(value) for name in found.split(',')]
    if _FILE_WORDS.search(value) or any(name.lower() != 'null' for name in grids):
        raise _refused(text, "grid-shift and parameter files are not read (only '@null')")
    return kind, value


def _refused(text: str, reason: str) -> OptionsError:
    shown = text if len(text) <= 200 else text[:200] + '...'
    return OptionsError(f'Unsupported CRS {shown!r}: {reason}; a CRS is {ACCEPTED_CRS}')


@functools.lru_cache(maxsize=64)
def _parse(kind: str, value: str) -> str:
    """WKT of ``value`` of ``kind`` (:func:`crs_text_kind`). PROJ strings and WKT go to their
    own importers; codes, URNs and PROJJSON (checked to be JSON, so GDAL never takes them for
    a file name) to ``SetFromUserInput`` with file and network access off."""
    srs = osr.SpatialReference()
    with gdal.quiet_errors():
        try:
            if kind == 'proj':
                srs.ImportFromProj4(value)
            elif kind == 'wkt':
                srs.ImportFromWkt(value)
            else:
                srs.SetFromUserInput(value, options=_DATA_ONLY)
        except RuntimeError as exc:
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else 'invalid'
            raise OptionsError(f'Unknown or malformed CRS {value!r}: {reason}') from None
    if not srs.ExportToWkt():
        raise OptionsError(f'Unknown or malformed CRS {value!r}')
    return srs.ExportToWkt()


def parse_crs(text: str) -> osr.SpatialReference:
    """A CRS from ``EPSG:n`` (any authority of PROJ's database), an OGC URN, WKT 1 or 2,
    PROJJSON, ``+proj=…`` (or ``proj4:+proj=…``), ``+init=epsg:n`` or ``wgs84``.

    CRS text is data: it is checked by :func:`crs_text_kind` first, and ``SetFromUserInput``
    runs with ``ALLOW_NETWORK_ACCESS=NO`` and ``ALLOW_FILE_ACCESS=NO``, so no URL is fetched
    and no file read; anything else is an :class:`~geolargeimage.errors.OptionsError`.

    >>> parse_crs('EPSG:3857').GetAuthorityCode(None)
    '3857'
    >>> parse_crs('wgs84').IsGeographic()
    1
    """
    return srs_from_wkt(_parse(*crs_text_kind(text)))


def set_network(enabled: bool) -> None:
    """Let PROJ download grids from its CDN, or not (``osr.SetPROJEnableNetwork`` and pyproj's
    ``set_network_enabled``; process-wide). The tile server turns it off.

    >>> set_network(False); osr.GetPROJEnableNetwork()
    False
    """
    osr.SetPROJEnableNetwork(enabled)
    pyproj.network.set_network_enabled(enabled)


def srs_from_wkt(wkt: str) -> osr.SpatialReference:
    """A SpatialReference in traditional axis order from WKT."""
    srs = osr.SpatialReference()
    srs.ImportFromWkt(wkt)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def horizontal(srs: osr.SpatialReference) -> osr.SpatialReference:
    """The horizontal part of a compound CRS (horizontal + vertical), else ``srs`` itself.

    Tiles and bounds are 2-D: a vertical datum only makes PROJ look for a 3-D operation, which
    degenerates boxes (``OSRStripVertical``).

    >>> horizontal(parse_crs('EPSG:32618+5703')).GetAuthorityCode(None)
    '32618'
    """
    if not srs.IsCompound():
        return srs
    flat = srs.Clone()
    flat.StripVertical()
    flat.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return flat


def describe(srs: osr.SpatialReference) -> str:
    """A short name of a CRS for messages: its authority code, else its name and PROJ string.

    >>> describe(parse_crs('EPSG:32618'))
    'EPSG:32618'
    >>> describe(parse_crs('+proj=eqc +R=3396190'))
    "'unknown' (+proj=eqc +lat_ts=0 ... +R=3396190 +units=m +no_defs)"
    """
    code = srs.GetAuthorityCode(None)
    name = srs.GetName() or 'unnamed CRS'
    return f'{srs.GetAuthorityName(None)}:{code}' if code else f'{name!r} ({proj4(srs)})'


def proj4(srs: osr.SpatialReference) -> str:
    """The PROJ.4 string of a CRS (large_image's ``srs`` in bounds); '' for a CRS that PROJ.4
    cannot express (``ExportToProj4`` fails, e.g. for an incomplete GeoTIFF CRS)."""
    with gdal.quiet_errors():
        try:
            return srs.ExportToProj4().strip()
        except RuntimeError:
            return ''


def wgs84() -> osr.SpatialReference:
    return srs_from_wkt(_parse('authority', 'EPSG:4326'))


@functools.lru_cache(maxsize=128)
def _transformation(source_wkt: str, target_wkt: str) -> osr.CoordinateTransformation:
    source, target = srs_from_wkt(source_wkt), srs_from_wkt(target_wkt)
    try:
        with gdal.quiet_errors():
            return osr.CoordinateTransformation(source, target)
    except RuntimeError as exc:
        # PROJ refuses, e.g., a Mars CRS to an Earth one; its last line says why.
        reason = str(exc).strip().splitlines()[-1].removeprefix('May be caused by: ')
        raise OptionsError(f'No coordinate operation from {describe(source)} to '
                           f'{describe(target)}: {reason}') from exc


def check_transformable(source: osr.SpatialReference, target: osr.SpatialReference) -> None:
    """Raise :class:`OptionsError` naming both CRSs when PROJ has no operation between them
    (CRSs of different celestial bodies, for one)."""
    _transformation(source.ExportToWkt(), target.ExportToWkt())


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
                     bounds: Bounds) -> Bounds:
    """(xmin, ymin, xmax, ymax) of ``bounds`` in ``target``, densified along the edges with
    :data:`DENSIFY_POINTS` points (``osr.CoordinateTransformation.TransformBounds``).

    GDAL's conventions hold: into a geographic CRS, a box crossing the antimeridian has
    ``xmin > xmax`` and one holding a pole reaches ±90. Where the box's corners are not on the
    Earth (a geostationary full disk), the edges say nothing, so a grid of
    :data:`SAMPLE_POINTS`² points over the box is transformed and the finite ones bound it.
    Into web mercator the box goes through longitude/latitude, clipped to ±85.0511°.
    """
    if is_mercator(target) and not is_mercator(source):
        west, south, east, north = transform_bounds(source, wgs84(), bounds)
        south = max(south, -WEB_MERCATOR_LAT_LIMIT)
        north = min(north, WEB_MERCATOR_LAT_LIMIT)
        if south >= north:
            return (math.nan,) * 4
        (x0, y0), (x1, y1) = transform_points(wgs84(), target, [(west, south), (east, north)])
        if west < east and x0 >= x1:  # east = 180 folds onto -180
            x1 = -x0
        return x0, y0, x1, y1
    transformation = _transformation(source.ExportToWkt(), target.ExportToWkt())
    xmin, ymin, xmax, ymax = bounds
    corners = transform_points(source, target, [(xmin, ymin), (xmin, ymax), (xmax, ymin),
                                                (xmax, ymax)])
    result = None
    if all(math.isfinite(x) for x, _ in corners):
        with gdal.quiet_errors():
            try:
                result = tuple(transformation.TransformBounds(*bounds, DENSIFY_POINTS))
            except RuntimeError:
                pass
    result = result or _sampled_bounds(source, target, bounds)
    return _wrapped_longitudes(result) if target.IsGeographic() else result


def _wrapped_longitudes(bounds: tuple[float, float, float, float]
                        ) -> tuple[float, float, float, float]:
    """Longitudes put in [-180, 180], so a box past ±180 crosses the antimeridian (west > east).

    >>> _wrapped_longitudes((170.0, 0.0, 190.0, 10.0)), _wrapped_longitudes((-180.5, 0, 179.5, 1))
    ((170.0, 0.0, -170.0, 10.0), (-180.0, 0, 180.0, 1))
    """
    west, south, east, north = bounds
    if east - west >= 360 - 1e-9:
        return -180.0, south, 180.0, north
    if west < -180:
        west += 360
    if east > 180:
        east -= 360
    return west, south, east, north


def _sampled_bounds(source: osr.SpatialReference, target: osr.SpatialReference,
                    bounds: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """Bounds of the part of ``bounds`` that transforms: a grid of :data:`SAMPLE_POINTS`²
    points, plus, between each point that transforms and a neighbour that does not, the edge
    of the transformable part found by bisection (the limb of a geostationary disk, which a
    grid alone misses by up to a step). NaN when no point transforms. Vectorized through
    pyproj, which returns infinity for a point it cannot transform."""
    to_target = _pyproj_transformer(source.ExportToWkt(), target.ExportToWkt())
    xmin, ymin, xmax, ymax = bounds
    xs, ys = np.meshgrid(np.linspace(xmin, xmax, SAMPLE_POINTS),
                         np.linspace(ymin, ymax, SAMPLE_POINTS))

    def valid(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        tx, ty = to_target.transform(x, y, errcheck=False)
        return np.isfinite(tx) & np.isfinite(ty), tx, ty

    ok, tx, ty = valid(xs, ys)
    if not ok.any():
        return (math.nan,) * 4
    found_x, found_y = [tx[ok]], [ty[ok]]
    index = np.arange(ok.size).reshape(ok.shape)
    for axis in (0, 1):
        for shift in (-1, 1):
            neighbour = np.roll(index, shift, axis=axis)
            edge = ok & ~ok.flat[neighbour]
            wrapped = [slice(None), slice(None)]
            wrapped[axis] = -1 if shift == -1 else 0  # np.roll wraps around: no neighbour
            edge[tuple(wrapped)] = False
            good_x, good_y = xs[edge], ys[edge]
            bad_x, bad_y = xs.flat[neighbour[edge]], ys.flat[neighbour[edge]]
            for _ in range(BISECTIONS):
                mid_x, mid_y = (good_x + bad_x) / 2, (good_y + bad_y) / 2
                mid_ok = valid(mid_x, mid_y)[0]
                good_x, bad_x = np.where(mid_ok, mid_x, good_x), np.where(mid_ok, bad_x, mid_x)
                good_y, bad_y = np.where(mid_ok, mid_y, good_y), np.where(mid_ok, bad_y, mid_y)
            edge_ok, edge_x, edge_y = valid(good_x, good_y)
            found_x.append(edge_x[edge_ok])
            found_y.append(edge_y[edge_ok])
    all_x, all_y = np.concatenate(found_x), np.concatenate(found_y)
    west, east = _longitude_span(all_x) if target.IsGeographic() \
        else (float(all_x.min()), float(all_x.max()))
    return west, float(all_y.min()), east, float(all_y.max())


def _longitude_span(longitudes: np.ndarray) -> tuple[float, float]:
    """West and east of a set of longitudes: the complement of the widest gap between them
    around the circle, so a set across the antimeridian has west > east.

    >>> _longitude_span(np.array([170.0, 175.0, -178.0])), _longitude_span(np.array([-10.0, 20.0]))
    ((170.0, -178.0), (-10.0, 20.0))
    """
    ordered = np.sort(((longitudes + 180) % 360) - 180)
    gaps = np.diff(np.append(ordered, ordered[0] + 360))
    widest = int(np.argmax(gaps))
    if widest == len(ordered) - 1 or gaps[widest] < 1e-9:  # the widest gap spans ±180
        return float(ordered[0]), float(ordered[-1])
    return float(ordered[widest + 1]), float(ordered[widest])


@functools.lru_cache(maxsize=64)
def _pyproj_transformer(source_wkt: str, target_wkt: str) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(pyproj.CRS.from_wkt(source_wkt),
                                       pyproj.CRS.from_wkt(target_wkt), always_xy=True)


def is_mercator(srs: osr.SpatialReference) -> bool:
    """Web mercator or another mercator whose world ends at ±85.0511° (large_image's grid)."""
    return '+proj=merc' in proj4(srs)
